/* vm_probe.c: N x (vm_new, vm_load of a small counter plugin, vm_free) on the internal VM
 * API, for bench/instructions.sh: run under callgrind with N = 1 and N = 21, the
 * difference over 20 is what one VM costs, the N = 1 run minus that the one-time cost per
 * process. Instruction counts do not depend on the machine's load, so two builds compare
 * in the same way on a busy machine as on an idle one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vm/vm.h"
static const char *SRC = "definePlugin(({ ui }) => ({ initialState: { count: 0 }, widgets: { main: { render({ pluginState }) { return ui.panel([ui.text('n=' + pluginState.count), ui.button('+', { onClick: { handler: 'inc' } })]); }, handlers: { inc({ dispatchPluginAction }) { dispatchPluginAction('state/merge', {}); } } } } }));";
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 50;
  for (int i = 0; i < n; i++) {
    vm_config vc = {.limits = {.memory_bytes = 32u << 20, .stack_bytes = 1u << 20, .load_ms = 1000, .render_ms = 100, .event_ms = 100},
                    .max_value_bytes = 16u << 20, .max_tree_bytes = 1u << 20, .instance_id = "c@1"};
    vm_instance *vm; al_error e;
    if (vm_new(&vc, &vm, &e)) { fprintf(stderr, "new: %s\n", e.message); return 1; }
    json_t *meta = NULL;
    if (vm_load(vm, SRC, strlen(SRC), "c.js", &meta, &e)) { fprintf(stderr, "load: %s\n", e.message); return 1; }
    json_decref(meta);
    vm_free(vm);
  }
  return 0;
}
