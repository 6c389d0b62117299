// Greeter: the workbench's `greeter` package.
//
// Typing into the input sends the handler `{value: <new text>}`. The handler dispatches the
// package action `nameChanged` with payload {name} (the host's `greeter` reducer stores it
// as state.name) and publishes the raw name to the shared `greeter-profile` domain, which
// needs write:greeter-profile.
//
//   build/airlock run examples/plugins/greeter.js \
//     --grant read:greeter-profile --grant write:greeter-profile \
//     --event 'greeter:nameChanged:{"value":"Ada"}'
definePlugin(({ ui }) => ({
  id: "greeter",
  title: "Greeter",
  description: "Greets whoever types their name",
  initialState: { name: "" },
  widgets: {
    greeter: {
      render({ pluginState }) {
        const name = String(pluginState?.name ?? "");
        return ui.panel([
          ui.text("Hello, " + (name || "stranger") + "!"),
          ui.input(name, { placeholder: "Your name", onChange: { handler: "nameChanged" } }),
        ]);
      },
      handlers: {
        nameChanged({ dispatchPluginAction, dispatchSharedAction }, args) {
          const name = String(args?.value ?? "");
          dispatchPluginAction("nameChanged", { name });
          dispatchSharedAction("greeter-profile", "set-name", name);
        },
      },
    },
  },
}));
