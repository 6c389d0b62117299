// Status dashboard: a read-only view over three shared domains.
//
// The manifest grants read:counter-summary, read:runtime-metrics and read:runtime-registry.
// A domain the instance may not read is simply absent from globalState.shared, so every
// section checks for it and shows "no access" instead of failing.
//
//   build/airlock run examples/plugins/status-dashboard.js --package status-dashboard \
//     --grant read:counter-summary --grant read:runtime-metrics --grant read:runtime-registry
definePlugin(({ ui }) => {
  const show = (x) => (x === null || x === undefined || x === "" ? "-" : String(x));
  const noAccess = (domain) => ui.row([ui.text(domain), ui.badge("no access")]);

  function counterSection(summary) {
    if (!summary) return noAccess("counter-summary");
    return ui.column([
      ui.text("counter-summary"),
      ui.table([
        ["Total value", show(Number(summary.totalValue ?? 0))],
        ["Instances", show(Number(summary.instanceCount ?? 0))],
        ["Last writer", show(summary.lastUpdatedInstanceId)],
      ], { headers: ["Metric", "Value"] }),
    ]);
  }

  function metricsSection(m) {
    if (!m) return noAccess("runtime-metrics");
    return ui.column([
      ui.text("runtime-metrics"),
      ui.table([
        ["Plugins", show(m.pluginCount)],
        ["Dispatches", show(m.dispatchCount)],
        ["Last scope", show(m.lastScope)],
        ["Last action", show(m.lastActionType)],
        ["Last outcome", show(m.lastOutcome)],
        ["Last reason", show(m.lastReason)],
      ], { headers: ["Metric", "Value"] }),
    ]);
  }

  function registrySection(registry) {
    if (!Array.isArray(registry)) return noAccess("runtime-registry");
    // Sorted so the table does not depend on the host's iteration order.
    const rows = registry
      .map((p) => [show(p?.instanceId ?? p?.id), show(p?.packageId), show(p?.title),
                   show(p?.status), p?.enabled ? "yes" : "no", show(p?.widgets)])
      .sort((a, b) => (a[1] + "\u0000" + a[0] < b[1] + "\u0000" + b[0] ? -1 : 1));
    return ui.column([
      ui.text("runtime-registry"),
      ui.table(rows, { headers: ["Instance", "Package", "Title", "Status", "Enabled", "Widgets"] }),
    ]);
  }

  return {
    id: "status-dashboard",
    title: "Status Dashboard",
    description: "Shared counter total, dispatch metrics and the instance registry",
    widgets: {
      status: {
        render({ globalState }) {
          const shared = globalState?.shared ?? {};
          const summary = shared["counter-summary"];
          const metrics = shared["runtime-metrics"];
          const registry = shared["runtime-registry"];
          return ui.panel([
            ui.text("System Status"),
            ui.row([
              ui.badge("Plugins: " + (metrics ? show(metrics.pluginCount) : "n/a")),
              ui.badge("Dispatches: " + (metrics ? show(metrics.dispatchCount) : "n/a")),
              ui.badge("Shared total: " + (summary ? show(Number(summary.totalValue ?? 0)) : "n/a")),
            ]),
            counterSection(summary),
            metricsSection(metrics),
            registrySection(registry),
          ]);
        },
      },
      // The volatile part (ids and clock) lives in its own widget, so `status` stays
      // stable enough to compare in tests.
      lastDispatch: {
        render({ globalState }) {
          const m = globalState?.shared?.["runtime-metrics"];
          if (!m) return noAccess("runtime-metrics");
          const when = typeof m.lastTimestamp === "number" ? new Date(m.lastTimestamp).toISOString() : "-";
          return ui.table([["Dispatch id", show(m.lastDispatchId)], ["Timestamp", when]],
                          { headers: ["Last dispatch", "Value"] });
        },
      },
    },
  };
});
