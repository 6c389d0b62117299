/*
 * killswitch.c: reading the kill switches from the environment (killswitch.h).
 *
 * The accepted spellings are exactly "1" and "true" in any case; everything else is off,
 * so "0", "false" or an empty value never turns a switch on by accident. The mode
 * variable is the one switch with a value space of its own, and a wrong value there fails
 * closed (mode none) and is reported.
 */
#include "hooks/killswitch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hooks/capability.h"

bool hk_switch_value_on(const char *v) {
  return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0);
}

int hk_switches_from_env(hk_switches *s, al_error *err) {
  if (!s) return err_set(err, AL_EINVALID_ARGUMENT, NULL, "switches: NULL");
  memset(s, 0, sizeof *s);
  s->mode = -1;
  s->disable = hk_switch_value_on(getenv("AIRLOCK_DISABLE_PLUGINS"));
  s->skip = hk_switch_value_on(getenv("AIRLOCK_SKIP_PLUGINS"));
  s->force_deny = hk_switch_value_on(getenv("AIRLOCK_FORCE_DENY"));
  const char *m = getenv("AIRLOCK_PLUGIN_MODE");
  if (!m) return 0;
  hk_mode mode;
  if (hk_mode_parse(m, &mode)) {
    s->mode = (int)mode;
    return 0;
  }
  snprintf(s->bad_mode, sizeof s->bad_mode, "%s", m);
  s->mode = HK_MODE_NONE;
  return err_set(err, AL_EINVALID_ARGUMENT, NULL,
                 "AIRLOCK_PLUGIN_MODE: '%.60s' is not all, trusted, interactive or none; "
                 "plugins run in mode 'none' until it is fixed",
                 m);
}

json_t *hk_switches_json(const hk_switches *s) {
  if (!s) return NULL;
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "disable", json_boolean(s->disable));
  json_object_set_new(o, "skip", json_boolean(s->skip));
  json_object_set_new(o, "forceDeny", json_boolean(s->force_deny));
  json_object_set_new(o, "mode", s->mode >= 0 ? json_string(hk_mode_name((hk_mode)s->mode))
                                              : json_null());
  if (s->bad_mode[0]) json_object_set_new(o, "invalidMode", json_string(s->bad_mode));
  return o;
}
