/*
 * hc_impl.h: the insides of hc_services, shared by the files of the hostcall layer and by
 * nothing else (hostcall.h is its interface):
 *   hostcall.c  the services object, logging and audit, the dispatcher and its methods
 *   hc_ident.c  who is calling: the instances' hostcall identities and their subscriptions
 *   approval.c  questions put to a person through the host's ask callback
 *
 * An identity (hc_ident) is what the host decided about one VM when it was loaded: the
 * plugin it runs, the manifest's capabilities, its resolved settings and $PLUGIN_DATA. It
 * is immutable once made, except for the approved subscription counts, and refcounted: a
 * hostcall takes a reference under the services' mutex and then reads it without any
 * lock, so an unload during the call frees nothing under it. The table that finds one by
 * its VM's instance id is the only thing the mutex guards besides the tools and the open
 * questions.
 */
#ifndef AL_HOOKS_HC_IMPL_H
#define AL_HOOKS_HC_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "contract/idmap.h"
#include "hooks/capability.h"
#include "hooks/hostcall.h"
#include "hooks/killswitch.h"

typedef struct hc_ident {
  atomic_uint refs;
  char vm_id[AL_INSTANCE_ID_MAX + 24]; /* the VM's id: the instance's, or a reload's stage */
  char owner[AL_INSTANCE_ID_MAX];      /* the instance this VM acts for */
  char plugin_id[AL_INSTANCE_ID_MAX];
  json_t *caps, *settings, *settings_env; /* never modified, never shared with a reader's count */
  char *data_dir;                         /* $PLUGIN_DATA; NULL without a database */
  json_t *subs; /* {event: approved events.subscribe calls}, only under the services' mu */
} hc_ident;

struct hc_services {
  hc_config cfg;
  hk_policy *policy;
  struct hk_audit *audit;
  struct pkg_db *db;
  hk_switches sw;
  pthread_mutex_t mu;       /* ids, tools, staged, asks */
  pthread_mutex_t approve;  /* serialises the host's approve callback */
  idmap ids;                /* VM id -> hc_ident (one reference each) */
  json_t *tools;            /* name -> {name, pluginId, instanceId, description, parameters} */
  json_t *staged;           /* reload VM id -> {name -> tool}: see hc_plugin_stage */
  struct al_approval *asks; /* questions waiting for the ask callback's answer (under mu) */
  bool closing;             /* hc_close_questions ran: no more questions */
  char *home_env, *cwd;
};

/* One call's view of its caller: a reference on its identity, held for the call. */
typedef struct hc_rec {
  const char *instance_id;    /* the VM's id, as the call named it */
  hc_ident *who;
  const char *plugin_id, *owner, *data_dir; /* who's */
  const json_t *caps, *settings, *settings_env;
  uint32_t timeout_ms;        /* what is left of the calling call's deadline */
  const hostcall_hold *hold;  /* asynchronous calls: pauses that deadline for a person */
} hc_rec;

/* ---- hc_ident.c ------------------------------------------------------------------------ */

/* Frees every identity left (hc_free; no call can be running). */
void hc_ids_clear(idmap *t);
/* Fills `r` for a call from `instance_id`: AL_EINSTANCE_NOT_FOUND when the host gave that
 * id no identity (a forged or stale id). Thread-safe; hc_rec_clear gives it back. */
int hc_rec_get(hc_services *s, const char *instance_id, hc_rec *r, al_error *err);
void hc_rec_clear(hc_rec *r);
/* Counts one approved events.subscribe of `event` for the VM `instance_id`. */
int hc_subs_add(hc_services *s, const char *instance_id, const char *event, al_error *err);

/* ---- approval.c ------------------------------------------------------------------------ */

/* Asks through the ask callback and waits for the answer, at most `ms`. Sets *answered.
 * Returns AL_APPROVE_ALLOW or AL_APPROVE_DENY. Any thread. */
int hc_ask(hc_services *s, const hc_rec *r, const char *action, const char *resource,
           uint32_t ms, bool *answered);
/* The same for a question that wants text (ui.select, ui.input, ui.editor): *text (the
 * caller frees it) is the front end's al_approval_answer_text, or NULL when it was
 * dismissed, answered yes/no, not answered in time, or the host is closing. */
int hc_ask_text(hc_services *s, const hc_rec *r, const char *action, const char *resource, uint32_t ms,
                bool *answered, char **text);

/* ---- hostcall.c ------------------------------------------------------------------------ */

/* Writes one log line for `plugin` through the host's log callback, else to stderr,
 * escaped. Any thread. */
void hc_log_line(hc_services *s, const char *plugin, const char *level, const char *msg);

#endif
