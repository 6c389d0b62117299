// main.js: wires the connection, the store and the panels together.
//
// This is the only module that talks to the server. Pushes land in the store, which
// tells the panels; user actions in the panels come here as hooks and go out as
// requests. On every (re)connection the page asks `hello` and redraws from it, so the
// page never has to reconcile pushes it missed while disconnected.

import { Conn } from "./conn.js";
import { Store } from "./store.js";
import { Catalog } from "./catalog.js";
import { Editor, TEMPLATE } from "./editor.js";
import { Preview } from "./preview.js";
import { TimelinePanel } from "./devtools/timeline.js";
import { StatePanel } from "./devtools/state.js";
import { SharedPanel } from "./devtools/shared.js";
import { GrantsPanel } from "./devtools/grants.js";
import { ErrorsPanel } from "./devtools/errors.js";
import { MetricsPanel } from "./devtools/metrics.js";
import { DocsPanel } from "./devtools/docs.js";
import { AuditPanel } from "./devtools/audit.js";
import { Approvals } from "./approvals.js";

const TABS_SAVE_DELAY_MS = 400;

const $ = (sel) => document.querySelector(sel);
const store = new Store();
const conn = Conn.fromLocation();
let helloDone = false;
let customCount = 0;

// ---- editor tabs, saved on the server so no edit is lost across restarts ----------------

let saveTimer = null;
let saveSeq = 0;
/** Debounced tabs.save; the editor's data-saved says whether the server has the latest. */
function saveTabs(tabs) {
  const root = $("[data-role=editor]");
  const seq = ++saveSeq;
  root.dataset.saved = "false";
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => {
    const payload = tabs.map((t) => ({
      tabId: t.tabId, packageId: t.packageId, title: t.title, source: t.source,
      ...(t.instanceId ? { instanceId: t.instanceId } : {}),
    }));
    conn.request("tabs.save", { tabs: payload })
      .then(() => { if (seq === saveSeq) root.dataset.saved = "true"; })
      .catch(() => { /* stays unsaved; the next edit or reconnect saves again */ });
  }, TABS_SAVE_DELAY_MS);
}

/** The first widget error of an instance, for the editor's inline error. */
function renderError(instanceId) {
  for (const [widgetId, entry] of store.trees.get(instanceId) ?? []) {
    if (entry.error) return { ...entry.error, widgetId };
  }
  return null;
}

const editor = new Editor($("[data-role=editor]"), {
  async run(tab) {
    const ok = await conn.request("load", { packageId: tab.packageId, source: tab.source, tabId: tab.tabId, sourceName: tab.title });
    store.putInstance(ok.instance);
    store.select(ok.instance.instanceId);
    return ok.instance;
  },
  async reload(tab) {
    const ok = await conn.request("reload", { instanceId: tab.instanceId, source: tab.source });
    store.putInstance(ok.instance);
    return ok.instance;
  },
  changed: saveTabs,
  selected(tab) { if (tab.instanceId) store.select(tab.instanceId); },
  renderError,
});

/** A title not yet used by an open tab: "Counter", then "Counter (2)", ... */
function freshTitle(base) {
  const used = new Set(editor.tabs.map((t) => t.title));
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) if (!used.has(base + " (" + n + ")")) return base + " (" + n + ")";
}

new Catalog($("[data-role=catalog]"), store, (entry) => {
  editor.open({ packageId: entry.packageId, title: freshTitle(String(entry.title ?? entry.packageId)), source: entry.source });
});

$("[data-testid=new-plugin]").addEventListener("click", () => {
  customCount += 1;
  editor.open({ packageId: "custom", title: freshTitle("Custom plugin " + customCount), source: TEMPLATE });
  $("[data-testid=editor]").focus();
});

new Preview($("[data-role=cards]"), store, {
  event(instanceId, widgetId, handler, args) {
    return conn.request("event", { instanceId, widgetId, handler, ...(args === undefined ? {} : { args }) });
  },
  unload(instanceId) {
    conn.request("unload", { instanceId }).catch((err) => console.warn("unload", instanceId, err.message));
  },
  focus(instanceId) {
    store.select(instanceId);
    const tab = editor.tabOf(instanceId);
    if (tab && tab.tabId !== editor.active) editor.activate(tab.tabId);
  },
});

// ---- devtools ----------------------------------------------------------------------------

const panel = (name) => $(".devtools__panel[data-panel=" + name + "]");
const timelinePanel = new TimelinePanel(panel("timeline"), store);
const statePanel = new StatePanel(panel("state"), store, (instanceId) => {
  conn.request("state.get", { instanceId })
    .then((ok) => store.putState(instanceId, ok.state, ok.globalState))
    .catch(() => { /* the instance went away meanwhile */ });
});
new SharedPanel(panel("shared"), store);
new GrantsPanel(panel("grants"), store, async (instanceId, grants) => {
  const ok = await conn.request("grants.set", { instanceId, grants });
  // The answer holds the normalised grants; the `instance` push that also carries them
  // may come later, and the panel redraws from the store as soon as this resolves.
  const inst = store.instances.get(instanceId);
  if (inst && ok?.grants) store.putInstance({ ...inst, grants: ok.grants });
});
new ErrorsPanel(panel("errors"), store);
new AuditPanel(panel("audit"), store, async (key) => {
  const ok = await conn.request("approval.revoke", { key });
  store.putApprovals(ok.approvals);
});
new Approvals($("[data-role=approvals]"), store, async (key, allow) => {
  const ok = await conn.request("approval.answer", { key, allow });
  store.putApprovals(ok.approvals);
});
new MetricsPanel(panel("metrics"), store);
const docsPanel = new DocsPanel(panel("docs"));

function showPanel(name) {
  for (const b of document.querySelectorAll(".devtools__tabs button")) {
    b.classList.toggle("is-active", b.dataset.panel === name);
    b.setAttribute("aria-selected", String(b.dataset.panel === name));
  }
  for (const p of document.querySelectorAll(".devtools__panel")) p.hidden = p.dataset.panel !== name;
  if (name === "docs") docsPanel.show();
  if (name === "timeline") timelinePanel.shown();
  if (name === "state") statePanel.refetch();
}
for (const b of document.querySelectorAll(".devtools__tabs button")) {
  b.addEventListener("click", () => showPanel(b.dataset.panel));
}
showPanel("timeline");

// ---- toolbar -----------------------------------------------------------------------------

function drawToolbar() {
  const m = store.metrics;
  $("[data-testid=toolbar-instances]").textContent = String(store.instances.size);
  // Metrics arrive at most once a second; timeline pushes arrive with each dispatch, so
  // between two metrics bodies the entries seen are the fresher count.
  $("[data-testid=toolbar-dispatches]").textContent = String(Math.max(m?.dispatchCount ?? 0, store.timeline.length));
  const health = store.conn !== "connected" ? "offline" : (m?.health ?? "ok");
  const hEl = $("[data-testid=toolbar-health]");
  hEl.textContent = health;
  hEl.className = "health--" + health;
  const n = store.errors.length;
  $("[data-role=error-count]").textContent = n ? String(n) : "";
}
for (const t of ["instances", "metrics", "timeline", "errors", "conn"]) store.on(t, drawToolbar);

store.on("conn", (status) => {
  const c = $("[data-testid=conn-status]");
  c.textContent = status;
  c.dataset.status = status;
  $("[data-testid=disconnected]").hidden = status !== "disconnected";
});

// ---- the connection ----------------------------------------------------------------------

conn.on("instance", (m) => { store.putInstance(m.instance); editor.refreshError(); });
conn.on("tree", (m) => {
  store.putTree(m);
  if (editor.activeTab()?.instanceId === m.instanceId) editor.refreshError();
});
conn.on("unload", (m) => { store.dropInstance(m.instanceId); editor.forgetInstance(m.instanceId); });
conn.on("timeline", (m) => store.addTimeline(m.entries));
conn.on("errors", (m) => store.addErrors(m.entries));
conn.on("shared", (m) => store.putShared(m.domains));
conn.on("state", (m) => store.putState(m.instanceId, m.state, m.globalState));
conn.on("audit", (m) => store.addAudit(m.records));
conn.on("log", (m) => store.addLogs(m.entries, m.dropped));
conn.on("approval", (m) => store.addPrompt(m.prompt));
conn.on("approvals", (m) => store.putApprovals(m));
conn.on("metrics", (m) => { const { type, ...body } = m; void type; store.putMetrics(body); });

async function hello() {
  try {
    const ok = await conn.request("hello");
    store.reset(ok);
    // The first hello restores the saved tabs; after a reconnect the page's own tabs are
    // newer than anything saved, so only their instance links are checked.
    if (!helloDone) editor.restore(ok.tabs, new Set(store.instances.keys()));
    else for (const t of editor.tabs) if (t.instanceId && !store.instances.has(t.instanceId)) editor.forgetInstance(t.instanceId);
    if (helloDone && $("[data-role=editor]").dataset.saved === "false") saveTabs(editor.tabs);
    helloDone = true;
    editor.draw();
    if (store.selected) statePanel.refetch();
  } catch (err) {
    console.warn("hello failed:", err.message);
  }
}

conn.onStatus((status) => {
  store.setConn(status);
  if (status === "connected") hello();
});
conn.start();
