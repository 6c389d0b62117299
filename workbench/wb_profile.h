/*
 * wb_profile.h: the workbench profile (spec sec. 5), a registration a front end makes on
 * its own host: the package reducers counter, calculator and greeter; the shared domains
 * counter-summary and greeter-profile; the derived, read-only domains runtime-registry
 * and runtime-metrics; and the grants of the example manifests beside
 * examples/plugins/NAME.js (embedded at build time).
 *
 * It is front-end code, not library code: written against include/airlock.h only
 * (al_register_reducer, al_register_domain, al_package_register), so libairlock holds no
 * demo and any host can bring its own profile the same way. The CLI, the workbench
 * server, the bench and the tests link it (libairlock_workbench).
 */
#ifndef WB_PROFILE_H
#define WB_PROFILE_H

#include "airlock.h"

/* Registers the whole profile on `h`, which must have no reducer, domain or package
 * registered under the profile's names yet (INVALID_ARGUMENT otherwise, and what was
 * registered before the clash stays). Host thread, like every al_host call; `err` may
 * be NULL. Returns 0 or a negative AL_E* code. */
int wb_profile_register(al_host *h, al_error *err);

#endif
