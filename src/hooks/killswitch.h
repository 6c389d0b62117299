/*
 * killswitch.h: the environment kill switches of hooks-and-security.md sec. 7, read once
 * when a host starts:
 *   AIRLOCK_DISABLE_PLUGINS   no plugin loads; plugin operations answer PLUGINS_DISABLED
 *   AIRLOCK_SKIP_PLUGINS      plugins load, emits run no handler, tools answer
 *                             PLUGINS_DISABLED
 *   AIRLOCK_FORCE_DENY        every capability check is denied
 *   AIRLOCK_PLUGIN_MODE=<m>   overrides the configured mode (all|trusted|interactive|none)
 * A boolean switch is on for "1" or "true" in any case; any other value (including "0",
 * "yes", "") is off. An AIRLOCK_PLUGIN_MODE that is not a mode is not ignored: it is
 * reported, and the mode becomes "none", because someone who set the variable meant to
 * restrict or change plugins and a typo must not leave them fully enabled.
 *
 * Threading: hk_switches_from_env reads the environment (getenv), so call it from the
 * thread that starts the host, not while another thread calls setenv.
 */
#ifndef AL_HK_KILLSWITCH_H
#define AL_HK_KILLSWITCH_H

#include "common.h"

typedef struct hk_switches {
  bool disable, skip, force_deny;
  int mode;                /* -1 unset, else an hk_mode */
  char bad_mode[64];       /* the rejected AIRLOCK_PLUGIN_MODE value, "" when none */
} hk_switches;

/* Fills *s from the environment. Returns 0, or AL_EINVALID_ARGUMENT (with err filled:
 * "AIRLOCK_PLUGIN_MODE: 'x' is not all, trusted, interactive or none") when the mode
 * variable was invalid; *s is complete either way (mode then HK_MODE_NONE). */
int hk_switches_from_env(hk_switches *s, al_error *err);

/* {disable, skip, forceDeny, mode: "<mode>"|null, invalidMode?: "<value>"} for doctor
 * and the audit trail. New reference; NULL only when out of memory. */
json_t *hk_switches_json(const hk_switches *s);

/* True for "1" / "true" (any case); NULL false. */
bool hk_switch_value_on(const char *v);

#endif
