// devtools/timeline.js: every dispatch the host stamped, newest first.
//
// Columns follow the contract's timeline entry: dispatchId, time, scope, action,
// instance, domain, outcome, reason. Filters (free text over every column, scope,
// outcome, instance) only hide rows; they never drop entries. Clicking a row expands its
// payload (the intent's payload, or the new grants for a grants/set row) and source;
// expansion survives the redraws new entries cause. Rows carry data-* copies of their
// fields so automation can assert on them without parsing cell text.

import { h, clock, pretty, select } from "./util.js";

const SCOPES = [["", "all scopes"], ["plugin", "plugin"], ["shared", "shared"], ["host", "host"]];
const OUTCOMES = [["", "all outcomes"], ["applied", "applied"], ["denied", "denied"], ["ignored", "ignored"]];

export class TimelinePanel {
  constructor(root, store) {
    this.root = root;
    this.store = store;
    this.filter = { text: "", scope: "", outcome: "", instance: "" };
    this.expanded = new Set();
    this.text = h("input", { cls: "filter", data: { testid: "timeline-filter" } });
    this.text.type = "search";
    this.text.placeholder = "Filter: action, reason, instance\u2026";
    this.text.addEventListener("input", () => { this.filter.text = this.text.value.trim().toLowerCase(); this.drawRows(); });
    this.controls = h("div", { cls: "panel-controls" });
    this.count = h("span", { cls: "muted" });
    this.table = h("table", { cls: "grid timeline" });
    const head = h("tr");
    for (const c of ["dispatchId", "time", "scope", "action", "instance", "domain", "outcome", "reason"]) head.append(h("th", { text: c }));
    this.tbody = h("tbody");
    this.table.append(h("thead", {}, [head]), this.tbody);
    root.append(this.controls, h("div", { cls: "scroll" }, [this.table]));
    store.on("timeline", () => this.drawRows());
    store.on("instances", () => this.drawControls());
    this.drawControls();
    this.drawRows();
  }

  drawControls() {
    const instances = [["", "all instances"], ...[...this.store.instances.keys()].map((id) => [id, id])];
    // Keep a filter on an instance that was unloaded: its rows are still in the timeline.
    if (this.filter.instance && !instances.some(([v]) => v === this.filter.instance)) {
      instances.push([this.filter.instance, this.filter.instance]);
    }
    this.controls.replaceChildren(
      this.text,
      select(SCOPES, this.filter.scope, (v) => { this.filter.scope = v; this.drawRows(); }, "timeline-scope"),
      select(OUTCOMES, this.filter.outcome, (v) => { this.filter.outcome = v; this.drawRows(); }, "timeline-outcome"),
      select(instances, this.filter.instance, (v) => { this.filter.instance = v; this.drawRows(); }, "timeline-instance"),
      this.count,
    );
  }

  matches(e) {
    const f = this.filter;
    if (f.scope && e.scope !== f.scope) return false;
    if (f.outcome && e.outcome !== f.outcome) return false;
    if (f.instance && e.instanceId !== f.instance) return false;
    if (f.text) {
      const hay = [e.dispatchId, e.scope, e.actionType, e.instanceId, e.domain, e.outcome, e.reason, e.source]
        .map((x) => String(x ?? "")).join(" ").toLowerCase();
      if (!hay.includes(f.text)) return false;
    }
    return true;
  }

  drawRows() {
    const all = this.store.timeline;
    const rows = [];
    let shown = 0;
    for (let i = all.length - 1; i >= 0; i--) {
      const e = all[i];
      if (!this.matches(e)) continue;
      shown++;
      const open = this.expanded.has(e.dispatchId);
      const tr = h("tr", {
        cls: "row row--" + e.outcome + (open ? " is-open" : ""),
        data: {
          testid: "timeline-row", dispatchId: e.dispatchId, scope: e.scope, action: e.actionType,
          instance: e.instanceId, domain: e.domain, outcome: e.outcome, reason: e.reason,
        },
      }, [
        h("td", { cls: "mono", text: e.dispatchId }),
        h("td", { cls: "mono", text: clock(e.timestamp) }),
        h("td", { text: e.scope }),
        h("td", { cls: "mono", text: e.actionType }),
        h("td", { cls: "mono", text: e.instanceId ?? "" }),
        h("td", { text: e.domain ?? "" }),
        h("td", {}, [h("span", { cls: "outcome outcome--" + e.outcome, text: e.outcome })]),
        h("td", { cls: "mono", text: e.reason ?? "" }),
      ]);
      tr.addEventListener("click", () => {
        if (this.expanded.has(e.dispatchId)) this.expanded.delete(e.dispatchId);
        else this.expanded.add(e.dispatchId);
        this.drawRows();
      });
      rows.push(tr);
      if (open) {
        const detail = h("pre", { cls: "payload", data: { testid: "timeline-payload" } });
        // Short payloads stay on one line so an expanded row does not push the rest away.
        const compact = e.payloadTruncated ? null : JSON.stringify(e.payload ?? null);
        const body = e.payloadTruncated ? String(e.payload)
          : compact.length <= 100 ? compact : pretty(e.payload);
        detail.textContent = "source: " + String(e.source ?? "-") + "   payload"
          + (e.payloadTruncated ? " (truncated to 4 KiB)" : "") + ": "
          + (body.includes("\n") ? "\n" : "") + body;
        const td = h("td", {}, [detail]);
        td.colSpan = 8;
        rows.push(h("tr", { cls: "detail" }, [td]));
      }
    }
    this.tbody.replaceChildren(...rows);
    this.count.textContent = shown + " of " + all.length;
  }
}
