// main.js: wires the connection, the store and the panels together.
//
// This is the only module that talks to the server. Pushes land in the store, which
// tells the panels; user actions in the panels come here as hooks and go out as
// requests. On every (re)connection the page asks `hello` and redraws from it, so the
// page never has to reconcile pushes it missed while disconnected.

import { Conn } from "./conn.js";
import { Store, instanceStatus } from "./store.js";
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
import { Saver, ViewState } from "./saver.js";
import { Layout } from "./layout.js";
import { PiPanel, PI_TEMPLATE, isPiTab, piSourceName } from "./pi.js";

const $ = (sel) => document.querySelector(sel);
const store = new Store();
const conn = Conn.fromLocation();
const view = new ViewState(window.localStorage);
new Layout(view);
let helloDone = false;

// ---- editor tabs, saved on every change so no edit is lost (saver.js) -------------------

const tabsPayload = (tabs) => tabs.map((t) => ({
  tabId: t.tabId, packageId: t.packageId, title: t.title, source: t.source,
  ...(t.sourceName ? { sourceName: t.sourceName } : {}),
  ...(t.instanceId ? { instanceId: t.instanceId } : {}),
}));
const saver = new Saver({
  send: (tabs) => conn.request("tabs.save", { tabs }),
  storage: window.localStorage,
  onState(saved) {
    // data-saved: whether the server has confirmed the newest tabs (tests wait on it).
    $("[data-role=editor]").dataset.saved = String(saved);
    editor.setSaved(saved);
  },
});
function saveTabs(tabs) { saver.change(tabsPayload(tabs)); }
// Leaving the page sends what is unsent; the journal in localStorage has it regardless.
window.addEventListener("pagehide", () => saver.flush());
window.addEventListener("beforeunload", () => saver.flush());

/** The last failed event of each instance (cleared by its next successful one). */
const eventErrors = new Map();

/** The first widget error of an instance, else its last failed event, for the editor. */
function renderError(instanceId) {
  for (const [widgetId, entry] of store.trees.get(instanceId) ?? []) {
    if (entry.error) return { ...entry.error, widgetId };
  }
  const ev = eventErrors.get(instanceId);
  return ev ? { ...ev, op: "event" } : null;
}

// CodeMirror when the build embedded it (/vendor/, cmake/FetchEditor.cmake); a build made
// offline has none, and the editor keeps its textarea.
const cm = await import("./codemirror.js").catch((err) => {
  console.info("workbench: CodeMirror not available (" + err.message + "); using the textarea editor");
  return null;
});

// pi extensions (pi.js): their tabs load through pi.load on the server's pi lane and are
// shown as pi cards. The editor keeps no instance for them (instanceId null), so every Run
// is a pi.load, which replaces the tab's previous pi instance on the server.
const piPanel = new PiPanel($("[data-role=pi-cards]"), { request: (type, fields) => conn.request(type, fields) });
async function runPi(tab) {
  try {
    const ok = await conn.request("pi.load", { tabId: tab.tabId, source: tab.source, sourceName: piSourceName(tab) });
    piPanel.show(tab.tabId, tab.title, ok);
  } catch (err) {
    piPanel.drop(tab.tabId); // the server unloaded the previous instance before trying
    throw err;
  }
  return { instanceId: null };
}

const editor = new Editor($("[data-role=editor]"), {
  async run(tab) {
    if (isPiTab(tab, store.catalog)) return runPi(tab);
    // The file name, when the tab has one (a catalog example's: pomodoro.tsx), is what makes
    // the loader read TypeScript; a new plugin's tab goes by its title, a script.
    const ok = await conn.request("load", { packageId: tab.packageId, source: tab.source, tabId: tab.tabId, sourceName: tab.sourceName ?? tab.title });
    store.putInstance(ok.instance);
    store.select(ok.instance.instanceId);
    return ok.instance;
  },
  async reload(tab) {
    // No sourceName: the server reloads under the name the instance was loaded with.
    const ok = await conn.request("reload", { instanceId: tab.instanceId, source: tab.source });
    eventErrors.delete(tab.instanceId);  // it named a line of the old code
    store.putInstance(ok.instance);
    return ok.instance;
  },
  changed: saveTabs,
  instanceStatus: (instanceId) => instanceStatus(store, instanceId),
  closing(tab, done) { askClose(tab, done); },
  unload(instanceId) {
    conn.request("unload", { instanceId }).catch((err) => console.warn("unload", instanceId, err.message));
  },
  selected(tab) {
    view.set("tab", tab.tabId);
    if (tab.instanceId) store.select(tab.instanceId);
  },
  renderError,
}, cm ? (body, hooks) => new cm.CodeMirrorCode(body, hooks) : null);

const freshTitle = (base) => editor.uniqueTitle(base);

/** Asks whether closing a running tab unloads its instance too (a small dialog). */
function askClose(tab, done) {
  const dlg = $("[data-testid=close-dialog]");
  dlg.querySelector("[data-role=close-text]").textContent = "\u201c" + tab.title + "\u201d runs as " + tab.instanceId
    + ". Unload the instance too, or keep it running without an editor tab?";
  const answer = (v) => {
    dlg.close();
    if (v !== null) done(v);
  };
  dlg.querySelector("[data-testid=close-unload]").onclick = () => answer(true);
  dlg.querySelector("[data-testid=close-keep]").onclick = () => answer(false);
  dlg.querySelector("[data-testid=close-cancel]").onclick = () => answer(null);
  dlg.showModal();
  dlg.querySelector("[data-testid=close-unload]").focus();
}

new Catalog($("[data-role=catalog]"), store, (entry) => {
  editor.open({ packageId: entry.packageId, title: freshTitle(String(entry.title ?? entry.packageId)), source: entry.source,
                sourceName: typeof entry.file === "string" ? entry.file : undefined });
});

$("[data-testid=new-pi]").addEventListener("click", () => {
  const used = new Set(editor.tabs.map((t) => t.packageId));
  let n = 1;
  while (used.has(n === 1 ? "pi-extension" : "pi-extension-" + n)) n++;
  const id = n === 1 ? "pi-extension" : "pi-extension-" + n;
  editor.open({ packageId: id, title: freshTitle("pi extension " + n), source: PI_TEMPLATE, sourceName: id + ".ts" });
  editor.code.focus();
});

$("[data-testid=new-plugin]").addEventListener("click", () => {
  // Each new plugin gets its own package id ("custom", "custom-2", ...), so its log lines,
  // audit records and approvals name it and not every pasted plugin at once.
  const used = new Set(editor.tabs.map((t) => t.packageId));
  let n = 1;
  while (used.has(n === 1 ? "custom" : "custom-" + n)) n++;
  editor.open({ packageId: n === 1 ? "custom" : "custom-" + n, title: freshTitle("Custom plugin " + n), source: TEMPLATE });
  editor.code.focus();
});

new Preview($("[data-role=cards]"), store, {
  event(instanceId, widgetId, handler, args) {
    return conn.request("event", { instanceId, widgetId, handler, ...(args === undefined ? {} : { args }) });
  },
  unload(instanceId) {
    conn.request("unload", { instanceId }).catch((err) => console.warn("unload", instanceId, err.message));
  },
  eventResult(instanceId, error) {
    if (!error && !eventErrors.has(instanceId)) return;
    if (error) eventErrors.set(instanceId, error);
    else eventErrors.delete(instanceId);
    if (editor.activeTab()?.instanceId === instanceId) editor.refreshError();
  },
  focus(instanceId) {
    store.select(instanceId);
    const tab = editor.tabOf(instanceId);
    if (tab && tab.tabId !== editor.active) editor.activate(tab.tabId);
  },
});

// ---- devtools ----------------------------------------------------------------------------

const panel = (name) => $(".devtools__panel[data-panel=" + name + "]");
const timelinePanel = new TimelinePanel(panel("timeline"), store, view);
const statePanel = new StatePanel(panel("state"), store, {
  fetch(instanceId) {
    conn.request("state.get", { instanceId })
      .then((ok) => store.putState(instanceId, ok.state, ok.globalState))
      .catch(() => { /* the instance went away meanwhile */ });
    conn.request("state.history", { instanceId })
      .then((ok) => store.putHistory(instanceId, ok.entries))
      .catch(() => {});
  },
  set(instanceId, state, rewindTo) {
    return conn.request("state.set", { instanceId, state, ...(rewindTo === undefined ? {} : { rewindTo }) });
  },
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
new AuditPanel(panel("audit"), store, view, async (key) => {
  const ok = await conn.request("approval.revoke", { key });
  store.putApprovals(ok.approvals);
});
new Approvals($("[data-role=approvals]"), store, async (key, allow, text) => {
  const ok = await conn.request("approval.answer", text === undefined ? { key, allow } : { key, allow, text });
  store.putApprovals(ok.approvals);
});
new MetricsPanel(panel("metrics"), store);
const docsPanel = new DocsPanel(panel("docs"));

function showPanel(name) {
  if (!document.querySelector(".devtools__panel[data-panel=" + name + "]")) name = "timeline";
  view.set("devtools", name);
  for (const b of document.querySelectorAll(".devtools__tabs button")) {
    b.classList.toggle("is-active", b.dataset.panel === name);
    b.setAttribute("aria-selected", String(b.dataset.panel === name));
    b.tabIndex = b.dataset.panel === name ? 0 : -1;
  }
  for (const p of document.querySelectorAll(".devtools__panel")) p.hidden = p.dataset.panel !== name;
  if (name === "docs") docsPanel.show();
  if (name === "timeline") timelinePanel.shown();
  if (name === "state") statePanel.refetch();
}
const devtoolsTabs = [...document.querySelectorAll(".devtools__tabs button")];
for (const b of devtoolsTabs) {
  b.addEventListener("click", () => showPanel(b.dataset.panel));
  // The tablist pattern: arrows, Home and End move between tabs (and show them).
  b.addEventListener("keydown", (ev) => {
    const i = devtoolsTabs.indexOf(b), n = devtoolsTabs.length;
    const j = { ArrowRight: (i + 1) % n, ArrowLeft: (i - 1 + n) % n, Home: 0, End: n - 1 }[ev.key];
    if (j === undefined) return;
    ev.preventDefault();
    showPanel(devtoolsTabs[j].dataset.panel);
    devtoolsTabs[j].focus();
  });
}
showPanel(view.get("devtools", "timeline"));

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
  // Up but refusing our token: the server was restarted (a new run, a new token).
  const r = $("[data-testid=restarted]");
  r.hidden = status !== "refused";
  if (status === "refused") {
    r.querySelector("[data-role=restart-url]").textContent = location.origin + "/?token=\u2026";
  }
});

// ---- the connection ----------------------------------------------------------------------

conn.on("instance", (m) => { store.putInstance(m.instance); editor.refreshError(); editor.drawStatus(); });
conn.on("tree", (m) => {
  const before = instanceStatus(store, m.instanceId).kind;
  store.putTree(m);
  if (editor.activeTab()?.instanceId === m.instanceId) editor.refreshError();
  if (instanceStatus(store, m.instanceId).kind !== before) editor.drawStatus();
});
conn.on("unload", (m) => { store.dropInstance(m.instanceId); editor.forgetInstance(m.instanceId); });
conn.on("timeline", (m) => store.addTimeline(m.entries));
conn.on("errors", (m) => store.addErrors(m.entries));
conn.on("shared", (m) => store.putShared(m.domains));
conn.on("state", (m) => store.putState(m.instanceId, m.state, m.globalState));
conn.on("audit", (m) => store.addAudit(m.records));
conn.on("history", (m) => store.addHistory(m.instanceId, m.entry));
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
    // A journal the previous page could not get confirmed (typed, then refreshed at
    // once) is newer than the server's copy: it wins, and is sent on.
    if (!helloDone) {
      const local = saver.unconfirmed();
      editor.restore(local ?? ok.tabs, new Set(store.instances.keys()), view.get("tab", null));
      if (local) saveTabs(editor.tabs);
      $("[data-role=editor]").dataset.saved = String(saver.saved);
    } else {
      for (const t of editor.tabs) if (t.instanceId && !store.instances.has(t.instanceId)) editor.forgetInstance(t.instanceId);
      saver.pump();
    }
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
