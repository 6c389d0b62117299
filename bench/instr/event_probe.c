/* event_probe.c: the counter example in inline isolation with the workbench profile, N
 * increments (the event and its re-render) through the public API, for
 * bench/instructions.sh (per increment: the N = 51 run minus the N = 1 run, over 50).
 * Built with -DAL_PROFILE_FIELD for trees before the profile left the library (they
 * selected it with al_config.profile). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "airlock.h"
#ifndef AL_PROFILE_FIELD
#include "wb_profile.h"
#endif
static char *slurp(const char *p) {
  FILE *f = fopen(p, "rb"); if (!f) return NULL;
  fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
  char *b = malloc(n + 1); fread(b, 1, n, f); b[n] = 0; fclose(f); return b;
}
int main(int argc, char **argv) {
  int n = atoi(argv[2]);
  al_config cfg; al_config_init(&cfg);
  cfg.isolation = AL_ISOLATION_INLINE;
#ifdef AL_PROFILE_FIELD
  cfg.profile = AL_PROFILE_WORKBENCH;
#endif
  al_host *h; al_error e;
  if (al_host_new(&cfg, &h, &e)) { fprintf(stderr, "%s\n", e.message); return 1; }
#ifndef AL_PROFILE_FIELD
  if (wb_profile_register(h, &e)) { fprintf(stderr, "%s\n", e.message); return 1; }
#endif
  char *src = slurp(argv[1]); char id[96];
  if (al_load(h, "counter", src, strlen(src), NULL, id, sizeof id, &e)) { fprintf(stderr, "%s\n", e.message); return 1; }
  char *out = NULL;
  for (int i = 0; i < n; i++) {
    if (al_event(h, id, "counter", "increment", NULL, &out, &e)) { fprintf(stderr, "ev %s\n", e.message); return 1; }
    al_free(out);
    if (al_render(h, id, "counter", &out, &e)) { fprintf(stderr, "r %s\n", e.message); return 1; }
    al_free(out);
  }
  al_host_free(h); free(src); return 0;
}
