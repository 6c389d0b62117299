/*
 * fuzz_check.h: what every fuzz target shares. CHECK states a property the code under test
 * must keep for every input (a round trip, an invariant between two answers); a broken one
 * aborts, which libFuzzer reports as a crash with the input saved, like any memory error.
 */
#ifndef AL_FUZZ_CHECK_H
#define AL_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                           \
  do {                                                                                     \
    if (!(c)) {                                                                            \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                \
      abort();                                                                             \
    }                                                                                      \
  } while (0)

#endif
