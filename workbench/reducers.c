/*
 * reducers.c: the workbench's package reducers, with the semantics of the system Airlock
 * replaces. Each returns AL_REDUCE_UNSUPPORTED for actions it does not know, so the store
 * falls through to the plugin's own reducers and then the generic ones. Numbers follow
 * JavaScript: Number() coercion in, String() text out (js_number_text), because the
 * plugins they stand in for were JavaScript and the calculator shows what String(x) does.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock.h"
#include "wb_impl.h"

double wb_number(const json_t *v) {
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

json_t *wb_number_json(double d) {
  if (!isfinite(d)) return json_null();
  if (d == floor(d) && fabs(d) < 9007199254740992.0) return json_integer((json_int_t)d);
  return json_real(d);
}

/* JavaScript's Number::toString (ECMA-262, 6.1.6.1.20) into buf (>= 32 bytes): the
 * shortest digit string that reads back as d, placed as JS places it (plain up to 21
 * integer digits, "0.000001" down to 1e-6, exponent form outside that), so the C reducers
 * show what the original's String(x) shows: "0.30000000000000004", "Infinity", "1e+21". */
static void js_number_text(double d, char *buf, size_t size) {
  if (isnan(d)) { snprintf(buf, size, "NaN"); return; }
  if (isinf(d)) { snprintf(buf, size, d < 0 ? "-Infinity" : "Infinity"); return; }
  if (d == 0) { snprintf(buf, size, "0"); return; } /* -0 too */
  char sci[40];
  for (int prec = 1; prec <= 17; prec++) { /* the shortest that round-trips */
    snprintf(sci, sizeof sci, "%.*e", prec - 1, d);
    if (strtod(sci, NULL) == d) break;
  }
  /* sci is "[-]D[.DDD]e[+-]X": split into digits and the exponent n of 0.DIGITS x 10^n */
  char digits[24];
  int k = 0, neg = sci[0] == '-';
  const char *p = sci + neg;
  for (; *p && *p != 'e'; p++) /* digits only: the radix character follows the locale */
    if (*p >= '0' && *p <= '9') digits[k++] = *p;
  while (k > 1 && digits[k - 1] == '0') k--;
  digits[k] = '\0';
  int n = atoi(p + 1) + 1;
  char *o = buf, *end = buf + size - 1;
#define PUT(c) do { if (o < end) *o++ = (c); } while (0)
  if (neg) PUT('-');
  if (k <= n && n <= 21) {
    for (int i = 0; i < k; i++) PUT(digits[i]);
    for (int i = k; i < n; i++) PUT('0');
  } else if (0 < n && n <= 21) {
    for (int i = 0; i < k; i++) {
      if (i == n) PUT('.');
      PUT(digits[i]);
    }
  } else if (-6 < n && n <= 0) {
    PUT('0');
    PUT('.');
    for (int i = 0; i < -n; i++) PUT('0');
    for (int i = 0; i < k; i++) PUT(digits[i]);
  } else {
    PUT(digits[0]);
    if (k > 1) PUT('.');
    for (int i = 1; i < k; i++) PUT(digits[i]);
    o += snprintf(o, (size_t)(end - o) + 1, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
    if (o > end) o = end;
  }
#undef PUT
  *o = '\0';
}

char *wb_string(const json_t *v) {
  char buf[64];
  if (!v || json_is_null(v)) return strdup("");
  if (json_is_string(v)) return strdup(json_string_value(v));
  if (json_is_integer(v)) {
    snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    return strdup(buf);
  }
  if (json_is_real(v)) {
    js_number_text(json_real_value(v), buf, sizeof buf);
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

int wb_counter_reduce(void *user, const char *action, const json_t *state,
                      const json_t *payload, json_t **next) {
  (void)user;
  (void)payload;
  double v = wb_number(json_object_get(state, "value"));
  if (!strcmp(action, "increment")) v += 1;
  else if (!strcmp(action, "decrement")) v -= 1;
  else if (!strcmp(action, "reset")) v = 0;
  else return AL_REDUCE_UNSUPPORTED;
  *next = with_field(state, "value", wb_number_json(v));
  return *next ? AL_REDUCE_APPLIED : AL_ENO_MEMORY;
}

/* The original shows String(result): 8 / 0 is "Infinity", 0.1 + 0.2 "0.30000000000000004". */
static json_t *calc_display(double d) {
  char buf[64];
  js_number_text(d, buf, sizeof buf);
  return json_string(buf);
}

static double calc_apply(double a, const char *op, double b) {
  if (!strcmp(op, "+")) return a + b;
  if (!strcmp(op, "-")) return a - b;
  if (!strcmp(op, "*") || !strcmp(op, "x") || !strcmp(op, "\xc3\x97")) return a * b;
  if (!strcmp(op, "/") || !strcmp(op, "\xc3\xb7")) return a / b; /* IEEE, as JS: 8 / 0 is Infinity, 0 / 0 NaN */
  return b;
}

/* payload may be the value itself or {key: value}. */
static const json_t *arg_of(const json_t *payload, const char *key) {
  return json_is_object(payload) ? json_object_get(payload, key) : payload;
}

int wb_calculator_reduce(void *user, const char *action, const json_t *state,
                         const json_t *payload, json_t **next) {
  (void)user;
  const char *display = json_string_value(json_object_get(state, "display"));
  if (!display) display = "0";
  const json_t *acc = json_object_get(state, "accumulator");
  const char *op = json_string_value(json_object_get(state, "operation"));
  json_t *n = json_is_object(state) ? json_deep_copy(state) : json_object();
  if (!n) return AL_ENO_MEMORY;

  if (!strcmp(action, "digit")) {
    char *d = wb_string(arg_of(payload, "digit"));
    if (!d) goto nomem;
    bool valid = strlen(d) == 1 && ((d[0] >= '0' && d[0] <= '9') || d[0] == '.');
    if (valid && !(d[0] == '.' && strchr(display, '.'))) {
      size_t dl = strlen(display);
      char *nd = malloc(dl + 2);
      if (!nd) { free(d); goto nomem; }
      if (!strcmp(display, "0") && d[0] != '.') {
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
    char *o = wb_string(arg_of(payload, "operation"));
    if (!o) goto nomem;
    double cur = wb_number(json_object_get(n, "display"));
    double a = (op && json_is_number(acc)) ? calc_apply(json_number_value(acc), op, cur) : cur;
    json_object_set_new(n, "accumulator", wb_number_json(a));
    json_object_set_new(n, "operation", json_string(o));
    json_object_set_new(n, "display", json_string("0"));
    free(o);
  } else if (!strcmp(action, "equals")) {
    if (op && json_is_number(acc)) {
      double r = calc_apply(json_number_value(acc), op, wb_number(json_object_get(n, "display")));
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

int wb_greeter_reduce(void *user, const char *action, const json_t *state,
                      const json_t *payload, json_t **next) {
  (void)user;
  if (strcmp(action, "nameChanged")) return AL_REDUCE_UNSUPPORTED;
  const json_t *v = payload;
  if (json_is_object(payload))
    v = json_object_get(payload, "name") ? json_object_get(payload, "name")
                                         : json_object_get(payload, "value");
  char *name = wb_string(v);
  if (!name) return AL_ENO_MEMORY;
  *next = with_field(state, "name", json_string(name));
  free(name);
  return *next ? AL_REDUCE_APPLIED : AL_ENO_MEMORY;
}
