// devtools/errors.js: every failed load, reload, render and event, newest first, and below
// them the plugins' own log lines (pi.logger), newest first, tagged with plugin and level.
//
// Log lines are plugin-chosen text; like everything else here they only ever reach the
// DOM through textContent (util.js).

import { h, clock } from "./util.js";

const count = (n, what) => n + " " + what + (n === 1 ? "" : "s");

export class ErrorsPanel {
  constructor(root, store) {
    this.root = root;
    this.store = store;
    store.on("errors", () => this.draw());
    store.on("logs", () => this.draw());
    store.on("instances", () => this.draw());
    this.draw();
  }

  draw() {
    const dropped = this.store.logsDropped;
    this.root.replaceChildren(
      h("div", { cls: "panel-controls muted", text: count(this.store.errors.length, "error") + ", " + count(this.store.logs.length, "log line")
        + (dropped ? " (" + dropped + " lines dropped: a plugin logged faster than the page could be told)" : "") }),
      h("div", { cls: "scroll" }, [this.errorsTable(), h("h3", { cls: "panel-heading", text: "Plugin logs" }), this.logsTable()]));
  }

  errorsTable() {
    const list = this.store.errors;
    if (list.length === 0) return h("p", { cls: "muted", text: "No errors." });
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
    return h("table", { cls: "grid" }, [h("thead", {}, [head]), h("tbody", {}, rows)]);
  }

  logsTable() {
    const list = this.store.logs;
    if (list.length === 0) return h("p", { cls: "muted", text: "No log lines. A plugin writes here with pi.logger.info(...)." });
    const head = h("tr", {}, ["time", "plugin", "instance", "level", "message"].map((c) => h("th", { text: c })));
    // The host names a log line's package, not its instance: the line is tagged with the
    // instance when exactly one of that package runs (each New plugin tab has its own
    // package id), else with how many could have written it.
    const byPkg = new Map();
    for (const i of this.store.instances.values()) byPkg.set(i.packageId, [...(byPkg.get(i.packageId) ?? []), i.instanceId]);
    const rows = [];
    for (let i = list.length - 1; i >= 0; i--) {
      const l = list[i];
      const ids = byPkg.get(l.pluginId) ?? [];
      const inst = l.instanceId ?? (ids.length === 1 ? ids[0] : null);
      rows.push(h("tr", { data: { testid: "log-row", level: l.level, plugin: l.pluginId, instance: inst ?? undefined } }, [
        h("td", { cls: "mono", text: clock(l.time) }),
        h("td", { cls: "mono", text: l.pluginId }),
        h("td", { cls: "mono", text: inst ?? (ids.length > 1 ? "one of " + ids.length : "-") }),
        h("td", {}, [h("span", { cls: "level level--" + String(l.level), text: l.level })]),
        h("td", { cls: "wrap", text: l.message }),
      ]));
    }
    return h("table", { cls: "grid" }, [h("thead", {}, [head]), h("tbody", {}, rows)]);
  }
}
