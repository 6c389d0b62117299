/*
 * reducers.c: the workbench's package reducers, with the semantics of the system Airlock
 * replaces. Each returns AL_REDUCE_UNSUPPORTED for actions it does not know, so the store
 * falls through to the plugin's own reducers and then the generic ones.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

double profile_number(const json_t *v) {
  if (json_is_number(v)) return json_number_value(v);
  if (json_is_true(v)) return 1;
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    while (*s == ' ' || *s == '\t' || *s == '\n') s++;
    if (!*s) return 0;
    char *end;
    double d = strtod(s, &end);
    while (*end == ' ' || *end == '\t' || *end == '\n') end++;
    return *end ? NAN : d;
  }
  return (!v || json_is_null(v) || json_is_false(v)) ? 0 : NAN;
}

json_t *profile_number_json(double d) {
  if (!isfinite(d)) return json_null();
  if (d == floor(d) && fabs(d) < 9007199254740992.0) return json_integer((json_int_t)d);
  return json_real(d);
}

char *profile_string(const json_t *v) {
  char buf[64];
  if (!v || json_is_null(v)) return strdup("");
  if (json_is_string(v)) return strdup(json_string_value(v));
  if (json_is_integer(v)) {
    snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    return strdup(buf);
  }
  if (json_is_real(v)) {
    snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
    return strdup(buf);
  }
  if (json_is_boolean(v)) return strdup(json_is_true(v) ? "true" : "false");
  return strdup(json_is_array(v) ? "" : "[object Object]");
}

static json_t *with_field(const json_t *state, const char *key, json_t *value) {
  json_t *next = json_is_object(state) ? json_deep_copy(state) : json_object();
  if (!next || !value || json_object_set_new(next, key, value)) {
    json_decref(next);
    return NULL;
  }
  return next;
}

static int counter_reduce(void *user, const char *action, const json_t *state,
                          const json_t *payload, json_t **next) {
  (void)user;
  (void)payload;
  double v = profile_number(json_object_get(state, "value"));
  if (!strcmp(action, "increment")) v += 1;
  else if (!strcmp(action, "decrement")) v -= 1;
  else if (!strcmp(action, "reset")) v = 0;
  else return AL_REDUCE_UNSUPPORTED;
  *next = with_field(state, "value", profile_number_json(v));
  return *next ? AL_REDUCE_APPLIED : AL_ENO_MEMORY;
}

static json_t *calc_display(double d) {
  if (!isfinite(d)) return json_string("Error");
  char buf[64];
  if (d == floor(d) && fabs(d) < 1e15) snprintf(buf, sizeof buf, "%.0f", d == 0 ? 0.0 : d);
  else snprintf(buf, sizeof buf, "%.12g", d);
  return json_string(buf);
}

static double calc_apply(double a, const char *op, double b) {
  if (!strcmp(op, "+")) return a + b;
  if (!strcmp(op, "-")) return a - b;
  if (!strcmp(op, "*") || !strcmp(op, "x") || !strcmp(op, "\xc3\x97")) return a * b;
  if (!strcmp(op, "/") || !strcmp(op, "\xc3\xb7")) return b == 0 ? NAN : a / b;
  return b;
}

/* payload may be the value itself or {key: value}. */
static const json_t *arg_of(const json_t *payload, const char *key) {
  return json_is_object(payload) ? json_object_get(payload, key) : payload;
}

static int calculator_reduce(void *user, const char *action, const json_t *state,
                             const json_t *payload, json_t **next) {
  (void)user;
  const char *display = json_string_value(json_object_get(state, "display"));
  if (!display) display = "0";
  const json_t *acc = json_object_get(state, "accumulator");
  const char *op = json_string_value(json_object_get(state, "operation"));
  json_t *n = json_is_object(state) ? json_deep_copy(state) : json_object();
  if (!n) return AL_ENO_MEMORY;

  if (!strcmp(action, "digit")) {
    char *d = profile_string(arg_of(payload, "digit"));
    if (!d) goto nomem;
    bool valid = strlen(d) == 1 && ((d[0] >= '0' && d[0] <= '9') || d[0] == '.');
    if (valid && !(d[0] == '.' && strchr(display, '.'))) {
      size_t dl = strlen(display);
      char *nd = malloc(dl + 2);
      if (!nd) { free(d); goto nomem; }
      if ((!strcmp(display, "0") || !strcmp(display, "Error")) && d[0] != '.') {
        nd[0] = d[0];
        nd[1] = '\0';
      } else {
        memcpy(nd, display, dl);
        nd[dl] = d[0];
        nd[dl + 1] = '\0';
      }
      json_object_set_new(n, "display", json_string(nd));
      free(nd);
    }
    free(d);
  } else if (!strcmp(action, "operation")) {
    char *o = profile_string(arg_of(payload, "operation"));
    if (!o) goto nomem;
    double cur = profile_number(json_object_get(n, "display"));
    double a = (op && json_is_number(acc)) ? calc_apply(json_number_value(acc), op, cur) : cur;
    json_object_set_new(n, "accumulator", profile_number_json(a));
    json_object_set_new(n, "operation", json_string(o));
    json_object_set_new(n, "display", json_string("0"));
    free(o);
  } else if (!strcmp(action, "equals")) {
    if (op && json_is_number(acc)) {
      double r = calc_apply(json_number_value(acc), op, profile_number(json_object_get(n, "display")));
      json_object_set_new(n, "display", calc_display(r));
      json_object_set_new(n, "accumulator", json_null());
      json_object_set_new(n, "operation", json_null());
    }
  } else if (!strcmp(action, "clear")) {
    json_object_set_new(n, "display", json_string("0"));
    json_object_set_new(n, "accumulator", json_null());
    json_object_set_new(n, "operation", json_null());
  } else {
    json_decref(n);
    return AL_REDUCE_UNSUPPORTED;
  }
  *next = n;
  return AL_REDUCE_APPLIED;
nomem:
  json_decref(n);
  return AL_ENO_MEMORY;
}

static int greeter_reduce(void *user, const char *action, const json_t *state,
                          const json_t *payload, json_t **next) {
  (void)user;
  if (strcmp(action, "nameChanged")) return AL_REDUCE_UNSUPPORTED;
  const json_t *v = payload;
  if (json_is_object(payload))
    v = json_object_get(payload, "name") ? json_object_get(payload, "name")
                                         : json_object_get(payload, "value");
  char *name = profile_string(v);
  if (!name) return AL_ENO_MEMORY;
  *next = with_field(state, "name", json_string(name));
  free(name);
  return *next ? AL_REDUCE_APPLIED : AL_ENO_MEMORY;
}

int profile_reducers(store *s, al_error *err) {
  int rc;
  if ((rc = store_register_reducer(s, "counter", counter_reduce, NULL, NULL, err))) return rc;
  if ((rc = store_register_reducer(s, "calculator", calculator_reduce, NULL, NULL, err))) return rc;
  return store_register_reducer(s, "greeter", greeter_reduce, NULL, NULL, err);
}
