/* textui.c: see textui.h. Every string in a tree is the plugin's, so each goes through
 * the terminal escaper (al_term_escape, airlock_pkg.h) before it is measured or written. */
#include <stdlib.h>
#include <string.h>

#include "airlock_pkg.h"
#include "textui.h"
#include "util.h"

/* Plugin text, escaped for the terminal. */
static void put_text(FILE *out, const char *s) { al_term_fputs(s, 0, out); }

static const char *kind_of(const json_t *n) { return json_string_value(json_object_get(n, "kind")); }

static bool is_container(const char *k) {
  return k && (!strcmp(k, "panel") || !strcmp(k, "row") || !strcmp(k, "column"));
}

static void scalar_text(const json_t *v, char *buf, size_t cap) {
  if (json_is_number(v)) {
    cli_format_number(json_number_value(v), buf, cap);
    return;
  }
  /* Strings, and other values as JSON (which escapes C0 controls but leaves C1 and bidi
   * controls raw), escaped alike; null and a missing cell are empty. */
  char *json = v && !json_is_string(v) && !json_is_null(v) ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  char *t = al_term_escape(json_is_string(v) ? json_string_value(v) : json, 0);
  snprintf(buf, cap, "%s", t ? t : "");
  al_free(t);
  free(json);
}

/* One-line form of a leaf node. */
static void leaf(FILE *out, const json_t *n) {
  const char *k = kind_of(n);
  const json_t *props = json_object_get(n, "props");
  char num[64];
  if (!strcmp(k, "text")) put_text(out, json_string_value(json_object_get(n, "text")));
  else if (!strcmp(k, "badge")) {
    fputc('(', out);
    put_text(out, json_string_value(json_object_get(n, "text")));
    fputc(')', out);
  } else if (!strcmp(k, "button")) {
    fputc('[', out);
    put_text(out, json_string_value(json_object_get(props, "label")));
    fputc(']', out);
  } else if (!strcmp(k, "input")) {
    const char *v = json_string_value(json_object_get(props, "value"));
    const char *ph = json_string_value(json_object_get(props, "placeholder"));
    if (v && *v) {
      fputc('[', out);
      put_text(out, v);
      fputs("____]", out);
    } else if (ph && *ph) {
      fputs("[____] ", out);
      put_text(out, ph);
    } else {
      fputs("[____]", out);
    }
  } else if (!strcmp(k, "counter")) {
    cli_format_number(json_number_value(json_object_get(props, "value")), num, sizeof num);
    fprintf(out, "[-] %s [+]", num);
  }
}

static void indent_to(FILE *out, int indent) {
  for (int i = 0; i < indent; i++) fputc(' ', out);
}

/* Display width of UTF-8 text, counting code points (good enough for alignment). */
static size_t width(const char *s) {
  size_t w = 0;
  for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
  return w;
}

static void draw_table(FILE *out, const json_t *n, int indent) {
  const json_t *props = json_object_get(n, "props");
  const json_t *headers = json_object_get(props, "headers"), *rows = json_object_get(props, "rows");
  size_t ncols = json_array_size(headers), i, j;
  const json_t *row, *cell;
  json_array_foreach(rows, i, row) if (json_array_size(row) > ncols) ncols = json_array_size(row);
  if (ncols == 0) {
    indent_to(out, indent);
    fputs("(empty table)\n", out);
    return;
  }
  size_t *w = calloc(ncols, sizeof *w);
  if (!w) return;
  char buf[256];
  for (j = 0; j < json_array_size(headers); j++) {
    scalar_text(json_array_get(headers, j), buf, sizeof buf);
    if (width(buf) > w[j]) w[j] = width(buf);
  }
  json_array_foreach(rows, i, row) json_array_foreach(row, j, cell) {
    scalar_text(cell, buf, sizeof buf);
    if (width(buf) > w[j]) w[j] = width(buf);
  }
  if (json_array_size(headers)) {
    indent_to(out, indent);
    for (j = 0; j < ncols; j++) {
      scalar_text(json_array_get(headers, j), buf, sizeof buf);
      fprintf(out, "%s%*s", buf, (int)(w[j] - width(buf) + (j + 1 < ncols ? 2 : 0)), "");
    }
    fputc('\n', out);
    indent_to(out, indent);
    for (j = 0; j < ncols; j++) {
      for (size_t k = 0; k < w[j]; k++) fputc('-', out);
      if (j + 1 < ncols) fputs("  ", out);
    }
    fputc('\n', out);
  }
  json_array_foreach(rows, i, row) {
    indent_to(out, indent);
    for (j = 0; j < ncols; j++) {
      scalar_text(json_array_get(row, j), buf, sizeof buf);
      fprintf(out, "%s%*s", buf, (int)(w[j] - width(buf) + (j + 1 < ncols ? 2 : 0)), "");
    }
    fputc('\n', out);
  }
  free(w);
}

void textui_draw(FILE *out, const json_t *n, int indent) {
  const char *k = kind_of(n);
  if (!k) return;
  const json_t *children = json_object_get(n, "children");
  size_t i;
  const json_t *c;
  if (is_container(k)) {
    bool inline_row = !strcmp(k, "row");
    json_array_foreach(children, i, c) {
      const char *ck = kind_of(c);
      if (is_container(ck) || (ck && !strcmp(ck, "table"))) inline_row = false;
    }
    if (inline_row && json_array_size(children)) {
      indent_to(out, indent);
      json_array_foreach(children, i, c) {
        if (i) fputs("  ", out);
        leaf(out, c);
      }
      fputc('\n', out);
      return;
    }
    json_array_foreach(children, i, c) textui_draw(out, c, indent + (strcmp(k, "panel") ? 0 : 2));
    return;
  }
  if (!strcmp(k, "table")) {
    draw_table(out, n, indent);
    return;
  }
  indent_to(out, indent);
  leaf(out, n);
  fputc('\n', out);
}

static void flatten(const json_t *n, json_t *out) {
  const char *k = kind_of(n);
  if (!k) return;
  const json_t *props = json_object_get(n, "props");
  char buf[128];
  char *s = NULL;
  if (is_container(k)) {
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(n, "children"), i, c) flatten(c, out);
    return;
  }
  if (!strcmp(k, "text") || !strcmp(k, "badge")) {
    json_array_append_new(out, json_sprintf("%s:%s", k, json_string_value(json_object_get(n, "text"))));
  } else if (!strcmp(k, "button")) {
    json_array_append_new(out, json_sprintf("button:%s", json_string_value(json_object_get(props, "label"))));
  } else if (!strcmp(k, "input")) {
    s = json_dumps(json_object_get(props, "value"), JSON_COMPACT | JSON_ENCODE_ANY);
    json_array_append_new(out, json_sprintf("input:%s", s ? s : ""));
  } else if (!strcmp(k, "counter")) {
    cli_format_number(json_number_value(json_object_get(props, "value")), buf, sizeof buf);
    json_array_append_new(out, json_sprintf("counter:%s", buf));
  } else if (!strcmp(k, "table")) {
    s = json_dumps(props, JSON_COMPACT);
    json_array_append_new(out, json_sprintf("table:%s", s ? s : ""));
  }
  free(s);
}

json_t *textui_texts(const json_t *tree) {
  json_t *out = json_array();
  if (out) flatten(tree, out);
  return out;
}
