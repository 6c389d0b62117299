// Counter: the workbench's `counter` package.
//
// Local state {value} belongs to the host's `counter` package reducer, so the handlers
// dispatch the bare actions `increment`, `decrement` and `reset` and let the host compute
// the new state. Each handler also mirrors the value it expects into the shared
// `counter-summary` domain; that needs a write grant (the counter manifest has one;
// custom code gets none, and the shared write is then `denied`, not thrown).
//
//   build/airlock run examples/plugins/counter.js \
//     --grant read:counter-summary --grant write:counter-summary \
//     --event counter:increment --event counter:increment
definePlugin(({ ui }) => {
  // Kept inside the factory so nothing leaks into the VM's global scope.
  function step(ctx, actionType, next) {
    ctx.dispatchPluginAction(actionType);
    ctx.dispatchSharedAction("counter-summary", "set-instance", { value: next });
  }
  const current = (pluginState) => Number(pluginState?.value ?? 0);

  return {
    id: "counter",
    title: "Counter",
    description: "A local counter mirrored into the shared counter-summary domain",
    initialState: { value: 0 },
    widgets: {
      counter: {
        render({ pluginState, globalState }) {
          const value = current(pluginState);
          const summary = globalState?.shared?.["counter-summary"];
          const shared = summary
            ? [ui.badge("Shared total: " + Number(summary.totalValue ?? 0)),
               ui.badge("Instances: " + Number(summary.instanceCount ?? 0))]
            : [ui.badge("Shared: no access")];
          return ui.panel([
            ui.text("Counter: " + value),
            ui.row(shared),
            ui.row([
              ui.button("Increment", { onClick: { handler: "increment" } }),
              ui.button("Decrement", { onClick: { handler: "decrement" }, variant: "secondary" }),
              ui.button("Reset", { onClick: { handler: "reset" }, variant: "destructive" }),
            ]),
          ]);
        },
        handlers: {
          increment(ctx) { step(ctx, "increment", current(ctx.pluginState) + 1); },
          decrement(ctx) { step(ctx, "decrement", current(ctx.pluginState) - 1); },
          reset(ctx) { step(ctx, "reset", 0); },
        },
      },
    },
  };
});
