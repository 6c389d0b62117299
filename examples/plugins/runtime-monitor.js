// Runtime monitor: a table of every instance the host runs, from the read-only
// `runtime-registry` domain (needs read:runtime-registry).
//
//   build/airlock run examples/plugins/runtime-monitor.js --grant read:runtime-registry
definePlugin(({ ui }) => ({
  id: "runtime-monitor",
  title: "Runtime Monitor",
  description: "Lists loaded instances from runtime-registry",
  widgets: {
    monitor: {
      render({ globalState }) {
        const registry = globalState?.shared?.["runtime-registry"];
        if (!Array.isArray(registry)) {
          return ui.panel([ui.text("Plugin Registry"), ui.badge("no access")]);
        }
        const count = (status) => registry.filter((p) => p?.status === status).length;
        // Sorted by package, then instance: the host's own order is not part of the contract.
        const rows = registry
          .map((p) => [String(p?.instanceId ?? p?.id ?? ""), String(p?.packageId ?? ""),
                       String(p?.title ?? ""), String(p?.status ?? ""),
                       p?.enabled ? "yes" : "no", String(p?.widgets ?? 0)])
          .sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        return ui.panel([
          ui.text("Plugin Registry"),
          ui.row([
            ui.badge("Instances: " + registry.length),
            ui.badge("Loaded: " + count("loaded")),
            ui.badge(count("error") ? "Errors: " + count("error") : "No errors"),
          ]),
          ui.table(rows, { headers: ["Instance", "Package", "Title", "Status", "Enabled", "Widgets"] }),
        ]);
      },
    },
  },
}));
