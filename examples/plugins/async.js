// Async handlers and renders.
//
// The original runtime never ran the promise job queue, so anything after an `await` was
// lost. Airlock runs pending jobs until the returned promise settles (or the call's
// deadline passes), so intents dispatched after an await count. There are still no
// timers: `await` only yields to other promise jobs, it never waits for time.
//
//   build/airlock run examples/plugins/async.js --event main:run --event main:run
definePlugin(({ ui }) => {
  // An async helper: each await is one trip through the job queue.
  async function sumSlowly(values) {
    let total = 0;
    for (const v of values) {
      await null;
      total += v;
    }
    return total;
  }

  return {
    id: "async",
    title: "Async Steps",
    description: "Handlers that await before they dispatch",
    initialState: { runs: 0, steps: [] },
    widgets: {
      main: {
        render({ pluginState }) {
          const steps = Array.isArray(pluginState?.steps) ? pluginState.steps : [];
          return ui.panel([
            ui.text("Runs: " + Number(pluginState?.runs ?? 0)),
            ui.text(steps.length ? "Last run: " + steps.join(", ") : "Last run: none"),
            ui.row([
              ui.button("Run", { onClick: { handler: "run" } }),
              ui.button("Fail late", { onClick: { handler: "failLate" }, variant: "destructive" }),
            ]),
          ]);
        },
        handlers: {
          async run({ pluginState, dispatchPluginAction }) {
            const steps = [];
            for (let i = 1; i <= 3; i++) {
              await null;
              steps.push("tick " + i);
            }
            steps.push("sum " + (await sumSlowly([1, 2, 3])));
            // Dispatched after six awaits: still part of this event's result.
            dispatchPluginAction("state/merge", { runs: Number(pluginState?.runs ?? 0) + 1, steps });
          },
          async failLate({ dispatchPluginAction }) {
            dispatchPluginAction("state/merge", { steps: ["never applied"] });
            await null;
            // A rejection fails the event like a throw: none of its intents are applied.
            throw new Error("late failure");
          },
        },
      },
      // Renders may be async too; the tree is what the promise resolves to.
      status: {
        async render({ pluginState }) {
          const runs = await Promise.resolve(Number(pluginState?.runs ?? 0));
          return ui.badge(runs ? "ran " + runs + (runs === 1 ? " time" : " times") : "idle");
        },
      },
    },
  };
});
