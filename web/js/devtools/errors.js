// devtools/errors.js: every failed load, reload, render and event, newest first.

import { h, clock } from "./util.js";

export class ErrorsPanel {
  constructor(root, store) {
    this.root = root;
    this.store = store;
    store.on("errors", () => this.draw());
    this.draw();
  }

  draw() {
    const list = this.store.errors;
    if (list.length === 0) {
      this.root.replaceChildren(h("p", { cls: "muted", text: "No errors." }));
      return;
    }
    const head = h("tr", {}, ["time", "op", "instance", "where", "code", "line", "message"].map((c) => h("th", { text: c })));
    const rows = [];
    for (let i = list.length - 1; i >= 0; i--) {
      const e = list[i];
      const where = [e.widgetId, e.handler].filter(Boolean).join(".") || e.path || "";
      rows.push(h("tr", { data: { testid: "error-row", code: e.code, instance: e.instanceId } }, [
        h("td", { cls: "mono", text: clock(e.time) }),
        h("td", { text: e.op }),
        h("td", { cls: "mono", text: e.instanceId ?? e.packageId ?? "" }),
        h("td", { cls: "mono", text: where }),
        h("td", {}, [h("span", { cls: "code", text: e.code })]),
        h("td", { text: e.line ?? "" }),
        h("td", { cls: "wrap", text: e.message }),
      ]));
    }
    this.root.replaceChildren(h("div", { cls: "scroll" }, [h("table", { cls: "grid" }, [h("thead", {}, [head]), h("tbody", {}, rows)])]));
  }
}
