/*
 * assets.h: the files the workbench serves and runs, embedded in the binary at build time
 * (cmake/EmbedAssets.cmake): everything under `web/` (the page), `docs/plugin-authoring.md` (the Docs
 * tab) and the `.js` files in `examples/plugins/` (the catalog). Names are repository paths.
 *
 * For development, AIRLOCK_WEB_DIR=<dir> makes asset_http() read the page from that
 * directory instead, so the page can change without a rebuild; `web/vendor/` (CodeMirror,
 * made at build time by cmake/FetchEditor.cmake) still comes from the binary when the
 * directory has no `vendor/` copy.
 *
 * Threading: the table is constant; asset_http() touches only its arguments.
 */
#ifndef AL_SERVER_ASSETS_H
#define AL_SERVER_ASSETS_H

#include <stddef.h>

typedef struct asset_file {
  const char *name; /* "web/index.html", "examples/plugins/counter.js" */
  const unsigned char *data;
  size_t len;
} asset_file;

extern const asset_file asset_table[];
extern const size_t asset_count;

/* An embedded file by repository path, or NULL. */
const asset_file *asset_find(const char *name);

/* A response body: `data` points into the table, or at `owned` (malloc()ed) when it was
 * read from AIRLOCK_WEB_DIR; free with asset_body_free(). */
typedef struct asset_body {
  const unsigned char *data;
  size_t len;
  const char *mime;
  unsigned char *owned;
} asset_body;

/* Maps a URL path ("/", "/js/main.js", "/docs/plugin-authoring.md") to its body. Returns
 * 0, or -1 when there is no such file or the path is not a plain relative one (no "..",
 * no empty or hidden segments, only [A-Za-z0-9._-/]). `web_dir` may be NULL. */
int asset_http(const char *url_path, const char *web_dir, asset_body *out);
void asset_body_free(asset_body *b);

/* The Content-Type for a file name, by extension; application/octet-stream if unknown. */
const char *asset_mime(const char *name);

#endif
