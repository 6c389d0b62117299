/* fuzz_pi.c: what a pi extension's worker can hand the host (hooks/pi_vet.h): a
 * registrations report, the intents, pi.events emits and errors of a hook, tool or command
 * answer, and a chain result for any of pi's events. Byte 0 picks the event; the rest is the JSON.
 * Properties: a vetted registry holds only the seven kinds, each within its bound and with
 * names of the right form; intents never exceed the bound and every one kept has a
 * string type; an error is always attributed to the name the host gave; an action is one
 * of pi's and only stops the chain where pi's runner would. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "hooks/pi_vet.h"

static bool action_ok(const char *a) {
  static const char *ok[] = {"continue", "block", "cancel", "transform", "handled"};
  for (size_t i = 0; a && i < sizeof ok / sizeof ok[0]; i++)
    if (!strcmp(a, ok[i])) return true;
  return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  json_t *v = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
  if (!v) return 0;
  char why[200];
  json_t *reg = pv_registry(v, why, sizeof why);
  if (reg) {
    CHECK(json_object_size(reg) == 7);
    const char *k;
    json_t *list;
    json_object_foreach(reg, k, list) {
      CHECK(json_is_array(list) && json_array_size(list) <= PV_MAX_REG);
      size_t i;
      json_t *e;
      json_array_foreach(list, i, e) {
        const json_t *n = json_is_object(e) ? json_object_get(e, "name") : e;
        CHECK(json_is_string(n) && json_string_length(n) > 0 && json_string_length(n) <= PV_MAX_NAME);
      }
    }
    json_decref(reg);
  } else {
    CHECK(why[0]);
  }
  json_t *into = json_array(), *errs = json_array();
  if (pv_intents(json_object_get(v, "intents"), into, why, sizeof why)) {
    CHECK(json_array_size(into) <= PV_MAX_INTENTS);
    size_t i;
    json_t *e;
    json_array_foreach(into, i, e) CHECK(json_is_string(json_object_get(e, "type")));
  }
  json_t *bus = json_array();
  if (pv_bus(json_object_get(v, "bus"), bus, why, sizeof why)) {
    CHECK(json_array_size(bus) <= PV_MAX_BUS);
    size_t i;
    json_t *e;
    json_array_foreach(bus, i, e) {
      const json_t *c = json_object_get(e, "channel");
      CHECK(json_object_size(e) == 2 && json_is_string(c) && json_string_length(c) > 0 &&
            json_string_length(c) <= PV_MAX_NAME);
    }
  } else {
    CHECK(why[0]);
  }
  json_decref(bus);
  if (pv_errors(json_object_get(v, "errors"), errs, "host-name", why, sizeof why)) {
    size_t i;
    json_t *e;
    json_array_foreach(errs, i, e) CHECK(!strcmp(json_string_value(json_object_get(e, "extension")), "host-name"));
    CHECK(json_array_size(errs) <= PV_MAX_ERRORS);
  }
  const char *event = pv_events[data[0] % pv_nevents], *reason = NULL;
  const char *a = pv_action(event, json_object_get(v, "result"), &reason);
  CHECK(action_ok(a));
  if (!strcmp(a, "block")) CHECK(!strcmp(event, "tool_call"));
  if (!strcmp(a, "cancel")) CHECK(!strncmp(event, "session_before_", 15));
  if (!strcmp(a, "transform") || !strcmp(a, "handled")) CHECK(!strcmp(event, "input"));
  if (strcmp(a, "continue") && strcmp(a, "transform")) CHECK(pv_stops(event, a, json_object_get(v, "result")));
  json_decref(into);
  json_decref(errs);
  json_decref(v);
  return 0;
}
