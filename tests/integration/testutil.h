/* testutil.h: helpers for the integration tests, which drive only the public API. */
#ifndef AL_TESTUTIL_H
#define AL_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock.h"
#include "wb_profile.h"

/* The hosts the tests make: bare, or with the workbench profile registered (the
 * reducers, domains and example grants the CLI and the server register). */
enum { T_BARE = 0, T_WORKBENCH = 1 };

static inline al_host *t_host(int profile) {
  al_config cfg;
  al_config_init(&cfg);
  /* Sanitized builds convert results several times slower than release ones; tests that
   * are not about the watchdog must not depend on that. */
  cfg.watchdog_grace_ms = 5000;
  al_host *h = NULL;
  al_error err;
  int rc = al_host_new(&cfg, &h, &err);
  assert_int_equal(rc, 0);
  if (profile == T_WORKBENCH) assert_int_equal(wb_profile_register(h, &err), 0);
  return h;
}

/* Loads `src` as `pkg` with `grants` (NULL: none); asserts success; returns the id
 * in a static-free buffer the caller provides. */
static inline void t_load(al_host *h, const char *pkg, const char *src, const char *grants,
                          char *id) {
  al_load_opts o = {.grants_json = grants ? grants : "{}"};
  al_error err;
  int rc = al_load(h, pkg, src, strlen(src), &o, id, AL_INSTANCE_ID_MAX, &err);
  if (rc) fail_msg("load failed: %s: %s", al_err_name(rc), err.message);
}

static inline json_t *t_json(char *text) {
  assert_non_null(text);
  json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
  al_free(text);
  assert_non_null(v);
  return v;
}

/* Renders and returns the tree (asserting success). */
static inline json_t *t_render(al_host *h, const char *id, const char *widget) {
  char *text = NULL;
  al_error err;
  int rc = al_render(h, id, widget, &text, &err);
  if (rc) fail_msg("render failed: %s: %s", al_err_name(rc), err.message);
  return t_json(text);
}

static inline json_t *t_event(al_host *h, const char *id, const char *widget,
                              const char *handler, const char *args) {
  char *text = NULL;
  al_error err;
  int rc = al_event(h, id, widget, handler, args, &text, &err);
  if (rc) fail_msg("event failed: %s: %s", al_err_name(rc), err.message);
  return t_json(text);
}

static inline json_t *t_state(al_host *h, const char *id) {
  char *text = NULL;
  assert_int_equal(al_state_get(h, id, &text, NULL), 0);
  return t_json(text);
}

/* Emits `event` with `payload` (NULL: {}) and returns the aggregate (asserting success). */
static inline json_t *t_emit(al_host *h, const char *event, const char *payload) {
  char *out = NULL;
  al_error err;
  int rc = al_emit(h, event, payload, &out, &err);
  if (rc) fail_msg("emit %s failed: %s: %s", event, al_err_name(rc), err.message);
  return t_json(out);
}

/* How many worker processes the host has started so far (al_health's workerEvents). */
static inline unsigned t_worker_starts(al_host *h) {
  char *text = NULL;
  assert_int_equal(al_health(h, &text, NULL), 0);
  json_t *hj = t_json(text);
  unsigned n = (unsigned)json_integer_value(json_object_get(json_object_get(hj, "workerEvents"), "starts"));
  json_decref(hj);
  return n;
}

/* Asserts JSON equality with an expected JSON text. */
static inline void t_assert_json(const json_t *got, const char *want_text) {
  json_t *want = json_loads(want_text, JSON_DECODE_ANY, NULL);
  assert_non_null(want);
  if (!json_equal(want, got)) {
    char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
    fail_msg("expected %s got %s", want_text, g ? g : "(null)");
  }
  json_decref(want);
}

/* A one-widget plugin whose render body is `body` (JS statements using ui). */
#define T_PLUGIN(body) \
  "definePlugin(({ ui }) => ({ widgets: { main: { render({pluginState, globalState}) {" body "} } } }));"

#endif
