// store.js: the page's copy of what the server told it, and who to tell when it changes.
//
// The server owns every instance and all host state; this is a cache of its answers and
// pushes, shaped for drawing. Panels read from it and subscribe to topics ("instances",
// "tree", "timeline", "errors", "shared", "state", "history", "metrics", "catalog",
// "conn", "select", "audit", "logs", "approvals") instead of talking to each other, so a
// push updates every panel that shows it and no panel needs to know another exists.
// main.js fills it, from conn pushes and request answers; the panels only read it, except
// that an instance picker changes the selection through select().

const TIMELINE_KEEP = 1000;  // entries kept on the page; the server keeps its newest 200
const ERRORS_KEEP = 200;
const AUDIT_KEEP = 1000;     // like the host's ring buffer
const LOGS_KEEP = 1000;
const HISTORY_KEEP = 100;    // state snapshots per instance, like the server

export class Store {
  constructor() {
    this.catalog = [];             // catalog entries, in the server's order
    this.instances = new Map();    // instanceId -> instance (protocol shape), load order
    this.trees = new Map();        // instanceId -> Map(widgetId -> {tree} | {error})
    this.states = new Map();       // instanceId -> {state, globalState}
    this.history = new Map();      // instanceId -> [snapshot] (state.history, history pushes)
    this.timeline = [];            // oldest first
    this.errors = [];              // oldest first
    this.shared = {};              // domain -> projection
    this.metrics = null;           // the latest metrics body
    this.audit = [];               // audit records, newest first
    this.logs = [];                // plugin log lines, oldest first
    this.logsDropped = 0;          // lines the server could not keep up with
    this.approvals = { pending: [], remembered: [] };
    this.conn = "connecting";
    this.selected = null;          // instanceId the devtools' per-instance panels show
    this.listeners = new Map();    // topic -> Set of fn(detail)
  }

  on(topic, fn) {
    if (!this.listeners.has(topic)) this.listeners.set(topic, new Set());
    this.listeners.get(topic).add(fn);
  }

  emit(topic, detail) {
    for (const fn of this.listeners.get(topic) ?? []) {
      try { fn(detail); } catch (e) { console.error("listener for", topic, e); }
    }
  }

  /** Replaces everything from a `hello` answer (first connect and every reconnect). */
  reset(hello) {
    this.catalog = Array.isArray(hello?.catalog) ? hello.catalog : [];
    this.instances = new Map();
    this.trees = new Map();
    this.states = new Map();
    this.history = new Map();
    for (const inst of hello?.instances ?? []) this.putInstance(inst, false);
    this.timeline = [];
    this.addTimeline(hello?.timeline ?? [], false);
    this.errors = [];
    this.addErrors(hello?.errors ?? [], false);
    this.shared = hello?.domains && typeof hello.domains === "object" ? { ...hello.domains } : {};
    this.metrics = hello?.metrics ?? null;
    this.audit = [];
    this.addAudit(hello?.audit ?? [], false);
    this.logs = [];
    this.logsDropped = 0;
    this.addLogs(hello?.logs ?? [], 0, false);
    this.putApprovals(hello?.approvals, false);
    if (this.selected && !this.instances.has(this.selected)) this.selected = null;
    for (const t of ["catalog", "instances", "timeline", "errors", "shared", "metrics", "select", "audit", "logs", "approvals"]) this.emit(t);
  }

  putInstance(inst, notify = true) {
    if (!inst || typeof inst.instanceId !== "string") return;
    this.instances.set(inst.instanceId, inst);
    if (!this.trees.has(inst.instanceId)) this.trees.set(inst.instanceId, new Map());
    if (inst.state !== undefined) {
      const prev = this.states.get(inst.instanceId);
      this.states.set(inst.instanceId, { state: inst.state, globalState: prev?.globalState });
    }
    if (this.selected === null) this.select(inst.instanceId, notify);
    if (notify) this.emit("instances", inst.instanceId);
  }

  dropInstance(instanceId) {
    if (!this.instances.delete(instanceId)) return;
    this.trees.delete(instanceId);
    this.states.delete(instanceId);
    this.history.delete(instanceId);
    if (this.selected === instanceId) this.select(this.instances.keys().next().value ?? null);
    this.emit("instances", instanceId);
  }

  putTree(msg) {
    const widgets = this.trees.get(msg.instanceId);
    if (!widgets) return;  // a push for an instance unloaded meanwhile
    widgets.set(msg.widgetId, msg.error ? { error: msg.error } : { tree: msg.tree });
    this.emit("tree", { instanceId: msg.instanceId, widgetId: msg.widgetId });
  }

  putState(instanceId, state, globalState) {
    this.states.set(instanceId, { state, globalState });
    this.emit("state", instanceId);
  }

  /** The whole history of an instance (state.history's answer). */
  putHistory(instanceId, entries) {
    if (!this.instances.has(instanceId) || !Array.isArray(entries)) return;
    this.history.set(instanceId, entries.slice(-HISTORY_KEEP));
    this.emit("history", instanceId);
  }

  /** One new snapshot (a `history` push); kept once per seq. */
  addHistory(instanceId, entry) {
    if (!this.instances.has(instanceId) || !entry) return;
    const list = this.history.get(instanceId) ?? [];
    if (list.length && list[list.length - 1].seq >= entry.seq) return;
    list.push(entry);
    if (list.length > HISTORY_KEEP) list.splice(0, list.length - HISTORY_KEEP);
    this.history.set(instanceId, list);
    this.emit("history", instanceId);
  }

  addTimeline(entries, notify = true) {
    if (!Array.isArray(entries) || entries.length === 0) return;
    // A reconnect's `hello` and a late push can overlap: keep each dispatchId once.
    const seen = new Set(this.timeline.slice(-entries.length - 200).map((e) => e.dispatchId));
    for (const e of entries) if (!seen.has(e.dispatchId)) this.timeline.push(e);
    if (this.timeline.length > TIMELINE_KEEP) this.timeline.splice(0, this.timeline.length - TIMELINE_KEEP);
    if (notify) this.emit("timeline");
  }

  addErrors(entries, notify = true) {
    if (!Array.isArray(entries) || entries.length === 0) return;
    this.errors.push(...entries);
    if (this.errors.length > ERRORS_KEEP) this.errors.splice(0, this.errors.length - ERRORS_KEEP);
    if (notify) this.emit("errors");
  }

  /** Records arrive newest first; a `hello` and a push can overlap, so each is kept once. */
  addAudit(records, notify = true) {
    if (!Array.isArray(records) || records.length === 0) return;
    const seen = new Set(this.audit.slice(0, records.length + 200).map((r) => JSON.stringify(r)));
    const fresh = records.filter((r) => !seen.has(JSON.stringify(r)));
    this.audit.unshift(...fresh);
    if (this.audit.length > AUDIT_KEEP) this.audit.length = AUDIT_KEEP;
    if (notify) this.emit("audit");
  }

  addLogs(entries, dropped = 0, notify = true) {
    if (Array.isArray(entries)) this.logs.push(...entries);
    if (this.logs.length > LOGS_KEEP) this.logs.splice(0, this.logs.length - LOGS_KEEP);
    this.logsDropped += Number(dropped) || 0;
    if (notify) this.emit("logs");
  }

  /** The server's full lists {pending, remembered} (hello, approvals push, answers). */
  putApprovals(a, notify = true) {
    this.approvals = {
      pending: Array.isArray(a?.pending) ? a.pending : [],
      remembered: Array.isArray(a?.remembered) ? a.remembered : [],
    };
    if (notify) this.emit("approvals");
  }

  /** One new prompt (an `approval` push); kept once per key. */
  addPrompt(p) {
    if (!p || typeof p.key !== "string" || this.approvals.pending.some((q) => q.key === p.key)) return;
    this.approvals.pending.push(p);
    this.emit("approvals");
  }

  putShared(domains) {
    if (domains && typeof domains === "object") Object.assign(this.shared, domains);
    this.emit("shared");
  }

  putMetrics(m) {
    this.metrics = m;
    this.emit("metrics");
  }

  setConn(status) {
    this.conn = status;
    this.emit("conn", status);
  }

  select(instanceId, notify = true) {
    this.selected = instanceId;
    if (notify) this.emit("select", instanceId);
  }
}

/** "counter@V1StGXR8" -> "V1StGXR8": the short id cards and tables show. */
export function shortId(instanceId) {
  const at = String(instanceId).lastIndexOf("@");
  return at >= 0 ? String(instanceId).slice(at + 1) : String(instanceId);
}

/**
 * The one status of an instance, shown the same on its card, its editor tab and bar:
 * {kind: "ok" | "error" | "idle", text, code?}. An instance is in error while the host
 * says so (status "error") or any of its widgets' last render failed; "idle" means no
 * such instance runs.
 */
export function instanceStatus(store, instanceId) {
  const inst = instanceId ? store.instances.get(instanceId) : null;
  if (!inst) return { kind: "idle", text: "not running" };
  let code = inst.status !== "loaded" ? String(inst.error?.code ?? "") : "";
  let failed = inst.status !== "loaded";
  for (const entry of store.trees.get(instanceId)?.values() ?? []) {
    if (entry.error) { failed = true; code = code || String(entry.error.code ?? ""); break; }
  }
  if (!failed) return { kind: "ok", text: "running" };
  return { kind: "error", text: "error" + (code ? " \u00b7 " + code : ""), code };
}
