/*
 * semver.h: semantic versions (semver.org 2.0.0) and npm-style ranges, enough for
 * `engines.airlock`. Versions are MAJOR.MINOR.PATCH[-pre][+build] with no leading zeros;
 * precedence compares pre-release identifiers numerically or lexically and ignores build
 * metadata. Ranges: `||` alternatives of space-separated comparator sets; comparators
 * `=`, `>`, `>=`, `<`, `<=`, bare versions, `^`, `~`, partial versions and `x`/`X`/`*`
 * wildcards (`1.2.x`, `1`, `*`), and hyphen ranges `1.2.3 - 2.3.4`. As in npm, a
 * pre-release version only satisfies a range whose comparators name a pre-release of the
 * same MAJOR.MINOR.PATCH.
 *
 * Pure functions, thread-safe.
 */
#ifndef AL_PKG_SEMVER_H
#define AL_PKG_SEMVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct semver {
  uint64_t major, minor, patch;
  char pre[128];   /* pre-release identifiers without the '-', "" if none */
} semver;

/* Parses a full version ("1.2.3-rc.1+b5"); a leading 'v' or '=' is not accepted here.
 * Returns true on success. */
bool semver_parse(const char *s, semver *out);
/* <0, 0, >0 by semver precedence. */
int semver_cmp(const semver *a, const semver *b);
/* True when `range` is syntactically valid. */
bool semver_range_valid(const char *range);
/* True when `version` (a full version) satisfies `range`; false for invalid input. */
bool semver_satisfies(const char *version, const char *range);

#endif
