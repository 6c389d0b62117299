// store.js: the page's copy of what the server told it, and who to tell when it changes.
//
// The server owns every instance and all host state; this is a cache of its answers and
// pushes, shaped for drawing. Panels read from it and subscribe to topics ("instances",
// "tree", "timeline", "errors", "shared", "state", "metrics", "catalog", "conn",
// "select") instead of talking to each other, so a push updates every panel that shows it
// and no panel needs to know another exists. Only main.js writes to it, from conn pushes
// and request answers.

const TIMELINE_KEEP = 1000;  // entries kept on the page; the server keeps its newest 200
const ERRORS_KEEP = 200;

export class Store {
  constructor() {
    this.catalog = [];             // catalog entries, in the server's order
    this.instances = new Map();    // instanceId -> instance (protocol shape), load order
    this.trees = new Map();        // instanceId -> Map(widgetId -> {tree} | {error})
    this.states = new Map();       // instanceId -> {state, globalState}
    this.timeline = [];            // oldest first
    this.errors = [];              // oldest first
    this.shared = {};              // domain -> projection
    this.metrics = null;           // the latest metrics body
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
    for (const inst of hello?.instances ?? []) this.putInstance(inst, false);
    this.timeline = [];
    this.addTimeline(hello?.timeline ?? [], false);
    this.errors = [];
    this.addErrors(hello?.errors ?? [], false);
    this.shared = hello?.domains && typeof hello.domains === "object" ? { ...hello.domains } : {};
    this.metrics = hello?.metrics ?? null;
    if (this.selected && !this.instances.has(this.selected)) this.selected = null;
    for (const t of ["catalog", "instances", "timeline", "errors", "shared", "metrics", "select"]) this.emit(t);
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
