// Todo list: two widgets over one local state, using only the generic reducers.
//
// No package reducer and no plugin reducer handles these actions, so they reach the
// host's generic reducer: `state/merge` (shallow merge) and `state/replace` (whole state).
// State: {draft: string, items: [{id, text, done}], nextId: number}.
//
//   build/airlock run examples/plugins/todo.js \
//     --event 'list:edit:{"value":"buy milk"}' --event list:add --event 'list:toggle:1'
definePlugin(({ ui }) => {
  const itemsOf = (s) => (Array.isArray(s?.items) ? s.items : []);
  const idOf = (args) => Number(args);

  return {
    id: "todo",
    title: "Todo",
    description: "Add, tick off and remove tasks",
    initialState: { draft: "", items: [], nextId: 1 },
    widgets: {
      list: {
        render({ pluginState }) {
          const items = itemsOf(pluginState);
          const lines = items.map((it) => ui.row([
            ui.text((it.done ? "[x] " : "[ ] ") + it.text),
            ui.button(it.done ? "Undo" : "Done", { onClick: { handler: "toggle", args: it.id }, variant: "secondary" }),
            ui.button("Remove", { onClick: { handler: "remove", args: it.id }, variant: "destructive" }),
          ]));
          return ui.panel([
            ui.row([
              ui.input(String(pluginState?.draft ?? ""), { placeholder: "What needs doing?", onChange: { handler: "edit" } }),
              ui.button("Add", { onClick: { handler: "add" } }),
            ]),
            ui.column(lines.length ? lines : [ui.text("Nothing to do")]),
            ui.button("Clear completed", { onClick: { handler: "clearDone" }, variant: "outline" }),
          ]);
        },
        handlers: {
          edit({ dispatchPluginAction }, args) {
            dispatchPluginAction("state/merge", { draft: String(args?.value ?? "") });
          },
          add({ pluginState, dispatchPluginAction }) {
            const text = String(pluginState?.draft ?? "").trim();
            if (!text) return; // nothing dispatched: the event applies no action
            const id = Number(pluginState?.nextId ?? 1);
            dispatchPluginAction("state/merge", {
              draft: "",
              items: itemsOf(pluginState).concat([{ id, text, done: false }]),
              nextId: id + 1,
            });
          },
          toggle({ pluginState, dispatchPluginAction }, args) {
            const id = idOf(args);
            dispatchPluginAction("state/merge", {
              items: itemsOf(pluginState).map((it) => (it.id === id ? { ...it, done: !it.done } : it)),
            });
          },
          remove({ pluginState, dispatchPluginAction }, args) {
            const id = idOf(args);
            dispatchPluginAction("state/merge", { items: itemsOf(pluginState).filter((it) => it.id !== id) });
          },
          clearDone({ pluginState, dispatchPluginAction }) {
            // state/replace swaps the whole state, so carry every field over.
            dispatchPluginAction("state/replace", {
              draft: String(pluginState?.draft ?? ""),
              items: itemsOf(pluginState).filter((it) => !it.done),
              nextId: Number(pluginState?.nextId ?? 1),
            });
          },
        },
      },
      summary: {
        render({ pluginState }) {
          const items = itemsOf(pluginState);
          const open = items.filter((it) => !it.done).length;
          return ui.panel([
            ui.row([ui.badge(open + " open"), ui.badge(items.length - open + " done")]),
            ui.table(items.map((it) => [String(it.id), it.text, it.done ? "done" : "open"]),
                     { headers: ["#", "Task", "Status"] }),
          ]);
        },
      },
    },
  };
});
