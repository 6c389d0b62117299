/*
 * error.c: the one error table (AL_ERROR_TABLE in airlock.h) turned into lookups, and the
 * helper every module uses to fill an al_error. Messages are truncated, never overflowed.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "contract/utf8.h"

typedef struct err_row {
  int code;
  const char *name;
  const char *desc;
} err_row;

static const err_row err_rows[] = {
#define AL_X_(name, value, str, desc) {value, str, desc},
    AL_ERROR_TABLE(AL_X_)
#undef AL_X_
};

static const err_row *err_find(int code) {
  for (size_t i = 0; i < sizeof err_rows / sizeof err_rows[0]; i++)
    if (err_rows[i].code == code) return &err_rows[i];
  return NULL;
}

const char *al_err_name(int code) {
  const err_row *r = err_find(code);
  return r ? r->name : "UNKNOWN";
}

const char *al_strerror(int code) {
  const err_row *r = err_find(code);
  return r ? r->desc : "unknown error";
}

int al_err_from_name(const char *name) {
  if (!name) return AL_EINTERNAL;
  for (size_t i = 0; i < sizeof err_rows / sizeof err_rows[0]; i++)
    if (strcmp(err_rows[i].name, name) == 0) return err_rows[i].code;
  return AL_EINTERNAL;
}

const char *al_version(void) { return AL_VERSION; }

void al_free(void *p) { free(p); }

/* Messages quote plugin strings and are cut to a fixed size, possibly inside a character;
 * they travel as JSON (worker responses, the workbench), so every byte that does not
 * decode becomes '?' and a character cut at the end is dropped. */
static void utf8_scrub(char *text) {
  unsigned char *s = (unsigned char *)text;
  size_t len = strlen(text);
  for (size_t i = 0; i < len;) {
    size_t n = utf8_decode(s + i, len - i, NULL);
    if (n) {
      i += n;
    } else if (len - i < 4 && s[i] >= 0xC0) { /* a lead byte whose character was cut off */
      s[i] = 0;
      return;
    } else {
      s[i++] = '?';
    }
  }
}

int err_set(al_error *err, int code, const char *path, const char *fmt, ...) {
  if (!err) return code;
  memset(err, 0, sizeof *err);
  err->code = code;
  if (path) snprintf(err->path, sizeof err->path, "%s", path);
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  } else {
    snprintf(err->message, sizeof err->message, "%s", al_strerror(code));
  }
  utf8_scrub(err->message);
  utf8_scrub(err->path);
  return code;
}

void err_instance(al_error *err, const char *instance_id) {
  if (err && instance_id && !err->instance_id[0])
    snprintf(err->instance_id, sizeof err->instance_id, "%s", instance_id);
}

void err_copy(al_error *dst, const al_error *src) {
  if (dst && src && dst != src) *dst = *src;
}

json_t *err_json(const al_error *e) {
  json_t *o = json_pack("{s:s,s:s}", "code", al_err_name(e->code), "message", e->message);
  /* set fields only: an error names a path, a line or an instance when it has one */
  if (o && ((e->path[0] && json_object_set_new(o, "path", json_string(e->path))) ||
            (e->line > 0 && json_object_set_new(o, "line", json_integer(e->line))) ||
            (e->instance_id[0] && json_object_set_new(o, "instanceId", json_string(e->instance_id))))) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

char *al_error_json(const al_error *e) {
  if (!e) return NULL;
  json_t *o = err_json(e);
  char *text = o ? json_text(o) : NULL;
  json_decref(o);
  return text;
}

uint64_t clock_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t clock_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
