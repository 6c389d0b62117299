/* fuzz_modules.c: the pure parsers of ES module plugins. Byte 0 picks one:
 *   even: package.json "exports" resolution (pkg_exports_target): the rest is the package
 *         document, NUL, the subpath. A target found must be a "./" path that fits.
 *   odd:  the error-stack reader (vm_stack_where) on the rest as text: a line found is
 *         positive, and its file is a non-empty string that occurs in the text.
 * Both read text a plugin package controls (its node_modules' package.json files; the
 * stack of an error its code threw). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "pkg/modgraph.h"
#include "vm/module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  char *text = malloc(size);
  if (!text) return 0;
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  if ((data[0] & 1) == 0) {
    size_t jn = strlen(text);
    const char *sub = jn + 1 < size - 1 ? text + jn + 1 : ".";
    json_t *pkg = json_loads(text, 0, NULL);
    char out[256];
    if (pkg_exports_target(pkg, sub, out, sizeof out) == 0) {
      CHECK(strncmp(out, "./", 2) == 0);
      CHECK(strlen(out) < sizeof out);
    }
    /* a tiny buffer never overflows */
    char small[4];
    if (pkg_exports_target(pkg, sub, small, sizeof small) == 0) CHECK(strlen(small) < sizeof small);
    json_decref(pkg);
  } else {
    char file[64];
    int line = vm_stack_where(text, file, sizeof file);
    if (line) {
      CHECK(line > 0);
      CHECK(file[0] && strstr(text, file));
    }
  }
  free(text);
  return 0;
}
