/*
 * airlock_jansson.h: package reducers and shared domains over jansson values, for C hosts
 * that use jansson already. libairlock is built on jansson and links it; these are the
 * same contracts as al_register_reducer and al_register_domain in airlock.h, without
 * turning every state and payload into text and the result back: a counter's click then
 * costs no JSON printing or parsing in the reducer at all. The host and the caller must
 * use the one jansson the process links (it is libairlock's dependency either way).
 *
 * Ownership: `state` and `payload` are borrowed for the call and must not be changed (the
 * host still holds them); *next is a new reference the host takes (return
 * AL_REDUCE_APPLIED), never one of the arguments' own members unless increfed. A
 * projection returns a new reference (NULL: out of memory, answered as null).
 *
 * Threading: the callbacks run on the host thread, inside whichever call applies an
 * intent or needs a projection, and must not call back into the host. Register before
 * loading instances, from the host thread.
 */
#ifndef AIRLOCK_JANSSON_H
#define AIRLOCK_JANSSON_H

#include <jansson.h>

#include "airlock.h"

#ifdef __cplusplus
extern "C" {
#endif

/* As al_reducer_fn, over values. */
typedef int (*al_reducer_jansson_fn)(void *user, const char *action_type, const json_t *state,
                                     const json_t *payload, json_t **next);

/* As al_register_reducer. `user` is passed back to fn and never freed. */
AL_API int al_register_reducer_jansson(al_host *h, const char *package_id, al_reducer_jansson_fn fn,
                                       void *user, al_error *err);

/* As al_domain_def, over values. `initial_state` is borrowed (the host copies it; NULL:
 * null). A derived domain (derive != 0) takes only `project`, which receives the host's
 * view (airlock.h, AL_DOMAIN_DERIVE_*) as `state`. */
typedef struct al_domain_jansson_def {
  const char *name;
  const json_t *initial_state;
  int (*reduce)(void *user, const char *writer_instance_id, const char *action_type,
                const json_t *state, const json_t *payload, json_t **next);
  json_t *(*project)(void *user, const json_t *state);
  int (*on_unload)(void *user, const char *instance_id, const json_t *state, json_t **next);
  void *user;
  unsigned derive;
} al_domain_jansson_def;

/* As al_register_domain; the definition is copied, `user` is the caller's to keep alive. */
AL_API int al_register_domain_jansson(al_host *h, const al_domain_jansson_def *def, al_error *err);

#ifdef __cplusplus
}
#endif

#endif
