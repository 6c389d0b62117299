// devtools/shared.js: every shared domain's public projection, as the host holds it.
//
// This is the host's view (what a fully granted reader would see); what one instance
// actually sees is in the State panel's globalState.

import { h, pretty } from "./util.js";

export class SharedPanel {
  constructor(root, store) {
    this.root = root;
    this.store = store;
    store.on("shared", () => this.draw());
    this.draw();
  }

  draw() {
    const names = Object.keys(this.store.shared).sort();
    if (names.length === 0) {
      this.root.replaceChildren(h("p", { cls: "muted", text: "No shared domains." }));
      return;
    }
    this.root.replaceChildren(h("div", { cls: "domains" }, names.map((name) =>
      h("section", { cls: "domain", data: { testid: "domain-" + name } }, [
        h("h3", { cls: "mono", text: name }),
        h("pre", { cls: "json", text: pretty(this.store.shared[name]) }),
      ]))));
  }
}
