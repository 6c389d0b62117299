/*
 * assets.c: URL paths to embedded (or, in development, on-disk) files, and MIME types.
 *
 * The table is generated sorted by name, so lookups are a binary search. URL paths are
 * checked against a strict character set before they are mapped to anything: with
 * AIRLOCK_WEB_DIR they become file names, and no path the check lets through can leave
 * that directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"

const asset_file *asset_find(const char *name) {
  size_t lo = 0, hi = asset_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(name, asset_table[mid].name);
    if (!c) return &asset_table[mid];
    if (c < 0) hi = mid;
    else lo = mid + 1;
  }
  return NULL;
}

const char *asset_mime(const char *name) {
  static const struct {
    const char *ext, *mime;
  } types[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".md", "text/markdown; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
  };
  const char *dot = strrchr(name, '.');
  if (dot && !strchr(dot, '/'))
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
      if (!strcmp(dot, types[i].ext)) return types[i].mime;
  return "application/octet-stream";
}

/* A relative path of plain segments: no "..", no hidden files, nothing a shell or a
 * file system would read specially. */
static int plain_path(const char *p) {
  if (!*p || strlen(p) > 200) return 0;
  const char *seg = p;
  for (const char *c = p;; c++) {
    if (*c == '/' || !*c) {
      if (c == seg || *seg == '.') return 0; /* empty, ".", ".." or hidden */
      if (!*c) return 1;
      seg = c + 1;
    } else if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                 (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-')) {
      return 0;
    }
  }
}

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 65536;
      unsigned char *nb = cap <= ((size_t)64 << 20) ? realloc(buf, cap) : NULL;
      if (!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

int asset_http(const char *url_path, const char *web_dir, asset_body *out) {
  memset(out, 0, sizeof *out);
  if (!url_path || url_path[0] != '/') return -1;
  const char *rel = url_path + 1;
  if (!*rel) rel = "index.html";
  if (!plain_path(rel)) return -1;
  char name[256];
  if (!strncmp(rel, "docs/", 5)) {
    /* The guide is the repository's, not the page's: always the embedded copy. */
    snprintf(name, sizeof name, "%s", rel);
  } else {
    snprintf(name, sizeof name, "web/%s", rel);
    if (web_dir && *web_dir) {
      char path[4096];
      if ((size_t)snprintf(path, sizeof path, "%s/%s", web_dir, rel) >= sizeof path) return -1;
      out->owned = read_file(path, &out->len);
      if (out->owned) {
        out->data = out->owned;
        out->mime = asset_mime(rel);
        return 0;
      }
      /* vendor/ (CodeMirror) is made at build time, not kept in web/: served from the
       * binary when the directory has no copy. */
      if (strncmp(rel, "vendor/", 7)) return -1;
    }
  }
  const asset_file *a = asset_find(name);
  if (!a) return -1;
  out->data = a->data;
  out->len = a->len;
  out->mime = asset_mime(name);
  return 0;
}

void asset_body_free(asset_body *b) {
  if (!b) return;
  free(b->owned);
  memset(b, 0, sizeof *b);
}
