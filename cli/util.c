/* util.c: see util.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock_pkg.h"
#include "util.h"

char *cli_read_file(const char *path, size_t *len) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t r = fread(buf + n, 1, cap - n - 1, f);
    n += r;
    if (r == 0) break;
    if (n + 1 == cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  int failed = ferror(f);
  if (f != stdin) fclose(f);
  if (!buf) {
    errno = ENOMEM;
    return NULL;
  }
  if (failed) {
    free(buf);
    errno = EIO;
    return NULL;
  }
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

void cli_print_error(const al_error *err) {
  /* the message may quote a plugin's own text (what it threw, a key it used) */
  fprintf(stderr, "error: %s: ", al_err_name(err->code));
  al_term_fputs(err->message, 1, stderr);
  if (err->line > 0) fprintf(stderr, " (line %d)", err->line);
  fputc('\n', stderr);
}

void cli_format_number(double d, char *buf, size_t cap) {
  if (isnan(d)) {
    snprintf(buf, cap, "NaN");
    return;
  }
  if (isinf(d)) {
    snprintf(buf, cap, d < 0 ? "-Infinity" : "Infinity");
    return;
  }
  if (d == 0) {
    snprintf(buf, cap, "0");
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) break;
  }
}

json_t *cli_take_json(char *text) {
  json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
  free(text);
  return v;
}

json_t *cli_error_json(const al_error *e) {
  json_t *o = cli_take_json(al_error_json(e));
  return json_is_object(o) ? o : (json_decref(o), json_object());
}

char *cli_basename_noext(const char *path) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  size_t n = strlen(b);
  if (n > 3 && strcmp(b + n - 3, ".js") == 0) n -= 3;
  char *out = malloc(n + 1);
  if (!out) return NULL;
  memcpy(out, b, n);
  out[n] = '\0';
  return out;
}

int cli_isolation(const char *name, al_isolation *out) {
  if (!strcmp(name, "thread")) *out = AL_ISOLATION_THREAD;
  else if (!strcmp(name, "inline")) *out = AL_ISOLATION_INLINE;
  else if (!strcmp(name, "process")) *out = AL_ISOLATION_PROCESS;
  else {
    fprintf(stderr, "error: INVALID_ARGUMENT: --isolation takes thread, inline or process, not '%s'\n", name);
    return -1;
  }
  return 0;
}

const char *cli_e(cli_esc *e, const char *text) {
  if (e->n == CLI_ESC_MAX) return "?";
  char *t = al_term_escape(text, 0);
  if (!t) return "?";
  e->s[e->n++] = t;
  return t;
}

void cli_esc_free(cli_esc *e) {
  for (size_t i = 0; i < e->n; i++) al_free(e->s[i]);
  e->n = 0;
}
