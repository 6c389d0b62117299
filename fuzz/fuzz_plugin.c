/* fuzz_plugin.c: arbitrary bytes as plugin source: load, render every widget, fire one
 * handler, unload. Exercises the bootstrap, JS->JSON conversion and every validator on
 * whatever a plugin can return. One host is reused, so state leaking between instances
 * would show up too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "airlock.h"
#include "wb_profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static al_host *host;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!host) {
    al_config cfg;
    al_config_init(&cfg);
    cfg.limits = (al_limits){.memory_bytes = 8u << 20, .stack_bytes = 256u << 10, .load_ms = 50,
                             .render_ms = 20, .event_ms = 20};
    if (al_host_new(&cfg, &host, NULL) || wb_profile_register(host, NULL)) abort();
  }
  char id[AL_INSTANCE_ID_MAX];
  if (al_load(host, "fuzz", (const char *)data, size, NULL, id, sizeof id, NULL)) return 0;
  char *info = NULL;
  al_plugin_info(host, id, &info, NULL);
  json_t *meta = info ? json_loads(info, 0, NULL) : NULL;
  al_free(info);
  size_t i;
  json_t *w;
  json_array_foreach(json_object_get(meta, "widgets"), i, w) {
    char *tree = NULL;
    al_render(host, id, json_string_value(w), &tree, NULL);
    al_free(tree);
    char *res = NULL;
    al_event(host, id, json_string_value(w), "onClick", "{\"value\":\"x\"}", &res, NULL);
    al_free(res);
  }
  json_decref(meta);
  if (al_unload(host, id, NULL)) abort();
  return 0;
}
