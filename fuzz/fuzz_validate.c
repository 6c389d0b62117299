/* fuzz_validate.c: arbitrary JSON through every host-side validator (trees, intents,
 * metadata, grants). None may crash, leak or read out of bounds, whatever the input. */
#include <stddef.h>
#include <stdint.h>

#include "contract/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
  if (!v) return 0;
  al_budgets b = {.max_depth = 64, .max_nodes = 10000, .max_bytes = 1u << 20};
  al_error err;
  ui_validate_tree(v, &b, &err);
  al_budgets tight = {.max_depth = 3, .max_nodes = 5, .max_bytes = 100};
  ui_validate_tree(v, &tight, NULL);
  ui_validate_intents(v, &err);
  ui_validate_metadata(v, &err);
  ui_validate_grants(v, &err);
  json_decref(v);
  return 0;
}
