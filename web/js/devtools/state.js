// devtools/state.js: one instance's local state and the exact globalState it sees.
//
// Both come from the server (`state.get`, then `state` pushes whenever the instance's
// render inputs change), so what is shown is what the host would pass to the plugin's
// next render, grant-filtered projection included: not a page-side reconstruction.

import { h, pretty, select, instanceOptions } from "./util.js";

export class StatePanel {
  /** fetch(instanceId): asks the server for {state, globalState} (it lands in the store). */
  constructor(root, store, fetch) {
    this.root = root;
    this.store = store;
    this.fetch = fetch;
    store.on("select", () => { this.refetch(); this.draw(); });
    store.on("instances", () => this.draw());
    store.on("state", (id) => { if (id === store.selected) this.draw(); });
    this.draw();
  }

  refetch() { if (this.store.selected) this.fetch(this.store.selected); }

  draw() {
    const id = this.store.selected;
    const opts = instanceOptions(this.store);
    if (!id || opts.length === 0) {
      this.root.replaceChildren(h("p", { cls: "muted", text: "No instance running." }));
      return;
    }
    const s = this.store.states.get(id);
    this.root.replaceChildren(
      h("div", { cls: "panel-controls" }, [select(opts, id, (v) => this.store.select(v), "state-instance", "Instance")]),
      h("div", { cls: "two-col" }, [
        h("div", {}, [h("h3", { text: "Local state" }), h("pre", { cls: "json", data: { testid: "local-state" }, text: s ? pretty(s.state) : "loading\u2026" })]),
        h("div", {}, [h("h3", { text: "globalState (as the instance sees it)" }), h("pre", { cls: "json", data: { testid: "global-state" }, text: s && s.globalState !== undefined ? pretty(s.globalState) : "loading\u2026" })]),
      ]),
    );
  }
}
