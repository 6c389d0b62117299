/*
 * install_impl.h: what the files of an install share, and nothing else includes:
 *   install.c  the install itself: staging, the package's root, the copy, the swap
 *   fetch.c    where the bytes come from and whether to trust them: npm pack, the
 *              tarball's integrity, registry and publisher signatures
 *   run.c      running a helper program (npm, ssh-keygen) without a shell
 * Files are read with pkg_read_file (paths.h).
 */
#ifndef AL_PKG_INSTALL_IMPL_H
#define AL_PKG_INSTALL_IMPL_H

#include "pkg/install.h"

/* the most a package file read whole may have (pkg_read_file) */
#define PKG_READ_MAX ((size_t)256 << 20)

/* snprintf into a path buffer; false when it did not fit (never silently truncated). */
bool pkg_fmt_path(char *out, size_t cap, const char *fmt, ...) AL_PRINTF(3, 4);

/* What `npm pack` gave: the tarball (verified against `integrity`) and the exact name
 * and version it resolved the spec to, which `npm view` is then asked about. */
typedef struct pkg_fetched {
  char *tgz, *name, *version, *integrity;
} pkg_fetched;

void pkg_fetched_free(pkg_fetched *f);

/* An npm spec we are willing to hand to `npm pack`: [@scope/]name[@version-or-range]. */
bool pkg_npm_spec_ok(const char *s);
/* npm pack <spec> into staging; f filled (the tarball's path, name, version, integrity),
 * the tarball checked against the integrity npm reported. */
int pkg_npm_fetch(const char *spec, const char *staging, pkg_fetched *f, al_error *err);
/* Checks every signature there is to check for the package from `source` (tarball: the
 * file to verify; f: what npm fetched, or NULL), before any of its bytes are extracted;
 * *verification = the record. Refuses when a publisher signature given does not verify
 * or a requirement is not met. */
int pkg_verify(const char *source, const char *tarball, const pkg_fetched *f, const char *staging,
               const pkg_install_opts *o, json_t **verification, al_error *err);

#endif
