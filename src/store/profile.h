/*
 * profile.h: the workbench profile (spec sec. 5): the package reducers counter,
 * calculator and greeter; the shared domains counter-summary, greeter-profile,
 * runtime-registry and runtime-metrics; and the example manifests' grants.
 */
#ifndef AL_PROFILE_H
#define AL_PROFILE_H

#include "store.h"

int profile_workbench(store *s, al_error *err);
/* The two halves profile_workbench() registers (reducers.c, domains.c). */
int profile_reducers(store *s, al_error *err);
int profile_domains(store *s, al_error *err);

/* JS-like coercions the reducers share (Number(x ?? 0), String(x ?? "")). */
double profile_number(const json_t *v);
json_t *profile_number_json(double d);
char *profile_string(const json_t *v); /* malloc()ed */

#endif
