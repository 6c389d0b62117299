// devtools/timeline.js: every dispatch the host stamped, newest first.
//
// Columns follow the contract's timeline entry: dispatchId, time, scope, action,
// instance, domain, outcome, reason. Filters (free text over every column, scope,
// outcome, instance) only hide rows; they never drop entries. The table shows the newest
// 200 matching rows (the page keeps up to 1000 entries; a filter reaches older ones).
// New entries are added on top, at most once per frame and only while the panel is
// visible; the whole table is rebuilt only when the filters or an expansion change. (Each
// click dispatches several pushes, and rebuilding a long table for each one made the page
// measurably slower the longer a session ran.) Clicking a row expands its payload (the
// intent's payload, or the new grants for a grants/set row) and source. Rows carry data-*
// copies of their fields so automation can assert on them without parsing cell text.

import { h, clock, pretty, select } from "./util.js";

const SCOPES = [["", "all scopes"], ["plugin", "plugin"], ["shared", "shared"], ["host", "host"]];
const OUTCOMES = [["", "all outcomes"], ["applied", "applied"], ["denied", "denied"], ["ignored", "ignored"]];
const MAX_ROWS = 200;

export class TimelinePanel {
  /** view: the page's remembered view (saver.js ViewState); the filters survive a refresh. */
  constructor(root, store, view = null) {
    this.root = root;
    this.store = store;
    this.view = view;
    this.filter = { text: "", scope: "", outcome: "", instance: "", ...(view?.get("timelineFilter", null) ?? {}) };
    this.expanded = new Set();
    this.frame = 0;        // a pending requestAnimationFrame, 0 if none
    this.dirty = false;    // entries arrived while the panel was hidden
    this.newestId = null;  // dispatchId of the newest entry the table has considered
    this.text = h("input", { cls: "filter", data: { testid: "timeline-filter" } });
    this.text.type = "search";
    this.text.placeholder = "Filter: action, reason, instance\u2026";
    this.text.setAttribute("aria-label", "Filter the timeline");
    this.text.value = this.filter.text;
    this.text.addEventListener("input", () => { this.filter.text = this.text.value.trim().toLowerCase(); this.drawRows(); });
    this.controls = h("div", { cls: "panel-controls" });
    this.count = h("span", { cls: "muted" });
    this.table = h("table", { cls: "grid timeline" });
    const head = h("tr");
    for (const c of ["dispatchId", "time", "scope", "action", "instance", "domain", "outcome", "reason"]) head.append(h("th", { text: c }));
    this.tbody = h("tbody");
    this.table.append(h("thead", {}, [head]), this.tbody);
    root.append(this.controls, h("div", { cls: "scroll" }, [this.table]));
    store.on("timeline", () => this.schedule());
    store.on("instances", () => this.drawControls());
    this.drawControls();
    this.drawRows();
  }

  /** Redraws on the next frame, or when next shown if the panel is hidden. */
  schedule() {
    if (this.root.hidden) { this.dirty = true; return; }
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.update(); });
  }

  /** main.js calls this when the Timeline tab is shown. */
  shown() {
    if (this.dirty) { this.dirty = false; this.update(); }
  }

  drawControls() {
    const instances = [["", "all instances"], ...[...this.store.instances.keys()].map((id) => [id, id])];
    // Keep a filter on an instance that was unloaded: its rows are still in the timeline.
    if (this.filter.instance && !instances.some(([v]) => v === this.filter.instance)) {
      instances.push([this.filter.instance, this.filter.instance]);
    }
    this.controls.replaceChildren(
      this.text,
      select(SCOPES, this.filter.scope, (v) => { this.filter.scope = v; this.drawRows(); }, "timeline-scope", "Scope"),
      select(OUTCOMES, this.filter.outcome, (v) => { this.filter.outcome = v; this.drawRows(); }, "timeline-outcome", "Outcome"),
      select(instances, this.filter.instance, (v) => { this.filter.instance = v; this.drawRows(); }, "timeline-instance", "Instance"),
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

  /** Table rows for one entry: the row, plus its payload row when expanded. */
  rowsFor(e) {
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
      h("td", { cls: "mono", text: e.reason ?? "", title: e.reason ?? undefined }),
    ]);
    tr.addEventListener("click", () => {
      if (this.expanded.has(e.dispatchId)) this.expanded.delete(e.dispatchId);
      else this.expanded.add(e.dispatchId);
      this.drawRows();
    });
    if (!open) return [tr];
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
    return [tr, h("tr", { cls: "detail" }, [td])];
  }

  /** Rebuilds the table from every kept entry (filters changed, a row was expanded...). */
  drawRows() {
    this.view?.set("timelineFilter", this.filter);
    const all = this.store.timeline;
    const rows = [];
    let shown = 0;
    for (let i = all.length - 1; i >= 0 && shown < MAX_ROWS; i--) {
      if (!this.matches(all[i])) continue;
      shown++;
      rows.push(...this.rowsFor(all[i]));
    }
    this.tbody.replaceChildren(...rows);
    this.newestId = all.length ? all[all.length - 1].dispatchId : null;
    this.drawCount();
  }

  /**
   * Adds only the entries that arrived since the last draw, on top, and drops rows past
   * MAX_ROWS from the bottom. Falls back to a full redraw when the last drawn entry is no
   * longer kept (the page's own cap trimmed past it, or a reconnect replaced the list).
   */
  update() {
    const all = this.store.timeline;
    let k = all.length - 1;
    while (k >= 0 && all[k].dispatchId !== this.newestId) k--;
    if (this.newestId === null || k < 0) { this.drawRows(); return; }
    const fresh = [];
    for (let i = all.length - 1; i > k; i--) {
      if (!this.matches(all[i])) continue;
      fresh.push(...this.rowsFor(all[i]));
    }
    this.tbody.prepend(...fresh);
    let main = this.tbody.querySelectorAll("tr.row").length;
    while (main > MAX_ROWS) {
      const last = this.tbody.lastElementChild;
      if (last.classList.contains("row")) main--;
      last.remove();
    }
    this.newestId = all[all.length - 1].dispatchId;
    this.drawCount();
  }

  drawCount() {
    const shown = this.tbody.querySelectorAll("tr.row").length;
    this.count.textContent = shown + " of " + this.store.timeline.length
      + (shown === MAX_ROWS ? " (the newest " + MAX_ROWS + " shown)" : "");
  }
}
