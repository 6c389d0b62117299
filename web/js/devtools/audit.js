// devtools/audit.js: the host's audit trail, newest first, and the approval answers this
// server remembers.
//
// Every capability decision, preflight result, grant change, crash and worker restart is
// a record {timestamp, plugin_id, action, resource, decision, reason} kept by the host
// (docs/security.md sec. 5); the server pushes the new ones as they appear. The decision
// filter only hides rows. Remembered answers are what a person said to an approval prompt
// (approvals.js); they apply to later calls until the server stops or Revoke is pressed,
// after which the next such call asks again.

import { h, select } from "./util.js";

const KEEP = 1000;  // records kept on the page, like the host's ring buffer
// Error codes shown as audit rows, and the decision they are shown with.
const FAILURES = new Map([["VM_TIMEOUT", "timeout"], ["PLUGIN_CRASHED", "crashed"], ["VM_OUT_OF_MEMORY", "out-of-memory"]]);

export class AuditPanel {
  /** revoke(key) -> Promise: sends approval.revoke. */
  constructor(root, store, view, revoke) {
    this.root = root;
    this.store = store;
    this.view = view;
    this.revoke = revoke;
    this.filter = view?.get("auditFilter", "all") ?? "all";
    this.note = "";
    store.on("audit", () => this.draw());
    store.on("approvals", () => this.draw());
    store.on("errors", () => this.draw());
    this.draw();
  }

  draw() {
    const records = this.records();
    const decisions = [...new Set(records.map((r) => String(r.decision)))].sort();
    if (this.filter !== "all" && !decisions.includes(this.filter)) decisions.push(this.filter);
    const options = [["all", "all decisions"], ...decisions.map((d) => [d, d])];
    const shown = this.filter === "all" ? records : records.filter((r) => String(r.decision) === this.filter);
    const head = h("tr", {}, ["timestamp", "plugin", "action", "resource", "decision", "reason"].map((c) => h("th", { text: c })));
    const rows = shown.slice(0, KEEP).map((r) => h("tr", {
      data: { testid: "audit-row", decision: r.decision, action: r.action, plugin: r.plugin_id, source: r.source ?? "host" },
    }, [
      h("td", { cls: "mono", text: r.timestamp }),
      h("td", { cls: "mono", text: r.plugin_id }),
      h("td", { cls: "mono", text: r.action }),
      h("td", { cls: "mono wrap", text: r.resource }),
      h("td", {}, [h("span", { cls: "decision decision--" + String(r.decision), text: r.decision })]),
      h("td", { cls: "wrap", text: r.reason }),
    ]));
    this.root.replaceChildren(
      h("div", { cls: "panel-controls" }, [
        select(options, this.filter, (v) => { this.filter = v; this.view?.set("auditFilter", v); this.draw(); }, "audit-filter", "Decision"),
        h("span", { cls: "muted", text: shown.length + " of " + records.length + " records" }),
      ]),
      h("div", { cls: "scroll" }, [
        this.remembered(),
        records.length === 0
          ? h("p", { cls: "muted", text: "No audit records yet. Capability decisions, grant changes and crashes appear here." })
          : h("table", { cls: "grid" }, [h("thead", {}, [head]), h("tbody", {}, rows)]),
      ]),
    );
  }

  /**
   * The host's records, plus every timeout and crash the workbench saw (its Errors list):
   * the host's trail does not record every render or handler timeout, and the Audit tab
   * should show each one. Those rows carry source "workbench".
   */
  records() {
    const seen = this.store.errors.filter((e) => FAILURES.has(e.code)).map((e) => ({
      timestamp: new Date(Number(e.time)).toISOString(), plugin_id: e.instanceId ?? e.packageId ?? "",
      action: e.op + (e.widgetId ? " " + e.widgetId + (e.handler ? "." + e.handler : "") : ""),
      resource: e.instanceId ?? "", decision: FAILURES.get(e.code), reason: e.code + ": " + e.message,
      source: "workbench", time: Number(e.time),
    }));
    if (seen.length === 0) return this.store.audit;
    const when = (r) => { const t = r.time ?? Date.parse(r.timestamp); return Number.isFinite(t) ? t : 0; };
    return [...this.store.audit, ...seen].sort((a, b) => when(b) - when(a));
  }

  /** The remembered approval answers, each with a Revoke button; nothing when none. */
  remembered() {
    const list = this.store.approvals.remembered;
    if (list.length === 0) return null;
    const rows = list.map((a) => {
      const b = h("button", { cls: "btn btn--ghost", text: "Revoke", data: { testid: "approval-revoke" } });
      b.type = "button";
      b.addEventListener("click", () => {
        this.revoke(a.key).then(() => { this.note = ""; }, (err) => { this.note = (err.code ?? "ERROR") + ": " + err.message; this.draw(); });
      });
      return h("tr", { data: { testid: "remembered-row", allow: String(a.allow) } }, [
        h("td", { cls: "mono", text: a.pluginId }),
        h("td", { cls: "mono", text: a.action }),
        h("td", { cls: "mono wrap", text: a.resource }),
        h("td", {}, [h("span", { cls: "decision decision--" + (a.allow ? "allowed" : "denied"), text: a.allow ? "allow" : "deny" })]),
        h("td", {}, [b]),
      ]);
    });
    const head = h("tr", {}, ["plugin", "action", "resource", "answer", ""].map((c) => h("th", { text: c })));
    return h("section", { cls: "remembered" }, [
      h("h3", { cls: "panel-heading", text: "Remembered approval answers (until the server stops)" }),
      h("table", { cls: "grid" }, [h("thead", {}, [head]), h("tbody", {}, rows)]),
      this.note ? h("p", { cls: "code", text: this.note }) : null,
    ]);
  }
}
