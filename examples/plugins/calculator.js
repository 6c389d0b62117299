// Calculator: the workbench's `calculator` package.
//
// State {display, accumulator, operation} belongs to the host's `calculator` package
// reducer. Every key is a button whose EventRef carries its value in `args`; the handlers
// turn that into the package actions:
//   digit     {digit: "0".."9" | "."}
//   operation {operation: "+" | "-" | "*" | "/"}
//   equals    (no payload)
//   clear     (no payload)
//
//   build/airlock run examples/plugins/calculator.js \
//     --event 'calculator:digit:"1"' --event 'calculator:digit:"2"' \
//     --event 'calculator:operation:"+"' --event 'calculator:digit:"3"' \
//     --event calculator:equals
definePlugin(({ ui }) => {
  const digit = (d) => ui.button(d, { onClick: { handler: "digit", args: d } });
  const op = (o) => ui.button(o, { onClick: { handler: "operation", args: o }, variant: "secondary" });

  return {
    id: "calculator",
    title: "Calculator",
    description: "Basic arithmetic with + - * /",
    initialState: { display: "0", accumulator: null, operation: null },
    widgets: {
      calculator: {
        render({ pluginState }) {
          const display = String(pluginState?.display ?? "0");
          const pending = pluginState?.operation
            ? "Pending: " + String(pluginState?.accumulator ?? "") + " " + String(pluginState.operation)
            : "Ready";
          return ui.panel([
            ui.text("Display: " + display),
            ui.badge(pending),
            ui.row([digit("7"), digit("8"), digit("9"), op("/")]),
            ui.row([digit("4"), digit("5"), digit("6"), op("*")]),
            ui.row([digit("1"), digit("2"), digit("3"), op("-")]),
            ui.row([digit("0"), digit("."), op("+"),
                    ui.button("=", { onClick: { handler: "equals" }, variant: "default" })]),
            ui.row([ui.button("C", { onClick: { handler: "clear" }, variant: "destructive" })]),
          ]);
        },
        handlers: {
          digit({ dispatchPluginAction }, d) {
            dispatchPluginAction("digit", { digit: String(d ?? "") });
          },
          operation({ dispatchPluginAction }, o) {
            dispatchPluginAction("operation", { operation: String(o ?? "") });
          },
          equals({ dispatchPluginAction }) { dispatchPluginAction("equals"); },
          clear({ dispatchPluginAction }) { dispatchPluginAction("clear"); },
        },
      },
    },
  };
});
