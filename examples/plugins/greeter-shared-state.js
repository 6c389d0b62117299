// Greeter shared state: shows what any greeter last published to `greeter-profile`.
// Needs read:greeter-profile; without it the domain is absent and the widget says so.
//
//   build/airlock run examples/plugins/greeter-shared-state.js --grant read:greeter-profile
definePlugin(({ ui }) => ({
  id: "greeter-shared-state",
  title: "Greeter Shared State",
  description: "Reads globalState.shared['greeter-profile']",
  widgets: {
    sharedGreeter: {
      render({ globalState }) {
        const profile = globalState?.shared?.["greeter-profile"];
        if (!profile) {
          return ui.panel([ui.text("greeter-profile"), ui.badge("no access")]);
        }
        const name = String(profile.name ?? "");
        const by = profile.lastUpdatedInstanceId;
        return ui.panel([
          ui.text(name ? "Shared greeting: Hello, " + name + "!" : "Shared greeting: (empty)"),
          ui.row([ui.badge(name ? "SYNCED" : "NO NAME"),
                  ui.text("Last updated by"),
                  ui.badge(by === null || by === undefined ? "nobody" : String(by))]),
        ]);
      },
    },
  },
}));
