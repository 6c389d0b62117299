// editor.js: editor tabs and the code area.
//
// One tab per opened plugin: {tabId, packageId, title, source, instanceId, error, status}
// (status: the last run's outcome, shown beside the Run button). A tab
// knows the instance its code runs in, which is what makes Run mean two things: a tab
// without an instance loads one, a tab with one reloads it in place (same instanceId, same
// local state and grants, new code), so editing never leaks instances.
//
// The code area is a plain textarea with a line-number gutter beside it. The gutter is
// redrawn only when the line count changes and follows the textarea's scroll position;
// both use the same fixed line height in the stylesheet, which is what keeps them aligned.
// Tab inserts two spaces, Shift+Tab removes up to two from each selected line, Ctrl/Cmd+
// Enter runs. Errors (load, reload, or a render of the tab's instance) appear under the
// code with their code, message and line, and the line is marked in the gutter.
//
// The module owns no connection: running, reloading and saving are callbacks main.js
// provides, so the editor can be exercised with plain data.

const INDENT = "  ";

let tabCounter = 0;
/** A tab id unique on this page and unlikely to clash with restored ones. */
function newTabId() {
  tabCounter += 1;
  return "t" + Date.now().toString(36) + tabCounter.toString(36);
}

export class Editor {
  /**
   * root: the editor section of index.html.
   * hooks: {run(tab), reload(tab), changed(tabs), selected(tab), renderError(instanceId)}
   *   run/reload return Promises; renderError returns the first widget error of an
   *   instance or null.
   */
  constructor(root, hooks) {
    this.hooks = hooks;
    this.tabs = [];
    this.active = null;
    this.busy = false;
    this.tabBar = root.querySelector("[data-role=tabs]");
    this.title = root.querySelector("[data-role=title]");
    this.runButton = root.querySelector("[data-testid=run]");
    this.reloadButton = root.querySelector("[data-testid=reload]");
    this.newButton = root.querySelector("[data-testid=new-plugin]");
    this.gutter = root.querySelector("[data-role=gutter]");
    this.area = root.querySelector("[data-testid=editor]");
    this.errorBox = root.querySelector("[data-testid=editor-error]");
    this.status = root.querySelector("[data-role=status]");
    this.lineCount = 0;
    this.root = root;

    this.area.addEventListener("input", () => this.onInput());
    this.area.addEventListener("scroll", () => { this.gutter.scrollTop = this.area.scrollTop; });
    this.area.addEventListener("keydown", (ev) => this.onKey(ev));
    this.runButton.addEventListener("click", () => this.runActive());
    this.reloadButton.addEventListener("click", () => this.runActive());
    this.draw();
  }

  /** Opens a new tab and makes it active. fields: {packageId, title, source, instanceId?}. */
  open(fields) {
    const tab = {
      tabId: fields.tabId ?? newTabId(),
      packageId: String(fields.packageId),
      title: String(fields.title ?? fields.packageId),
      source: String(fields.source ?? ""),
      instanceId: fields.instanceId ?? null,
      error: null,
    };
    this.tabs.push(tab);
    this.activate(tab.tabId);
    this.hooks.changed(this.tabs);
    return tab;
  }

  /** Replaces all tabs (restored from the server's `hello`). */
  restore(saved, liveInstanceIds) {
    this.tabs = [];
    for (const t of Array.isArray(saved) ? saved : []) {
      if (!t || typeof t.tabId !== "string" || typeof t.packageId !== "string") continue;
      this.tabs.push({
        tabId: t.tabId, packageId: t.packageId, title: String(t.title ?? t.packageId),
        source: String(t.source ?? ""),
        instanceId: liveInstanceIds.has(t.instanceId) ? t.instanceId : null,
        error: null,
      });
    }
    if (!this.tabs.some((t) => t.tabId === this.active)) this.active = this.tabs[0]?.tabId ?? null;
    this.draw();
  }

  activeTab() { return this.tabs.find((t) => t.tabId === this.active) ?? null; }
  tabOf(instanceId) { return this.tabs.find((t) => t.instanceId === instanceId) ?? null; }

  activate(tabId) {
    this.active = tabId;
    this.draw();
    const tab = this.activeTab();
    if (tab) this.hooks.selected(tab);
  }

  close(tabId) {
    const i = this.tabs.findIndex((t) => t.tabId === tabId);
    if (i < 0) return;
    this.tabs.splice(i, 1);
    if (this.active === tabId) this.active = (this.tabs[i] ?? this.tabs[i - 1])?.tabId ?? null;
    this.draw();
    this.hooks.changed(this.tabs);
  }

  /** The instance went away (unloaded from its card): the tab runs fresh next time. */
  forgetInstance(instanceId) {
    const tab = this.tabOf(instanceId);
    if (!tab) return;
    tab.instanceId = null;
    tab.status = "Unloaded";
    this.draw();
    this.hooks.changed(this.tabs);
  }

  /** Runs or reloads the active tab; the answer decides what the tab shows. */
  async runActive() {
    const tab = this.activeTab();
    if (!tab || this.busy) return;
    this.busy = true;
    this.drawBar();
    const reloading = tab.instanceId !== null;
    tab.status = reloading ? "Reloading\u2026" : "Loading\u2026";
    this.drawBar();
    try {
      const inst = reloading ? await this.hooks.reload(tab) : await this.hooks.run(tab);
      tab.instanceId = inst.instanceId;
      tab.error = null;
      if (inst.title) tab.title = String(inst.title);
      tab.status = reloading ? "Reloaded in place" : "Running";
    } catch (err) {
      tab.error = { code: err.code ?? "INTERNAL_ERROR", message: err.message, line: err.line };
      tab.status = reloading ? "Reload failed; the previous code keeps running" : "Load failed";
    } finally {
      this.busy = false;
      this.draw();
      this.hooks.changed(this.tabs);
    }
  }

  onInput() {
    const tab = this.activeTab();
    if (!tab) return;
    tab.source = this.area.value;
    this.drawGutter();
    this.hooks.changed(this.tabs);
  }

  onKey(ev) {
    if ((ev.ctrlKey || ev.metaKey) && ev.key === "Enter") {
      ev.preventDefault();
      this.runActive();
    } else if (ev.key === "Tab" && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      ev.preventDefault();
      if (ev.shiftKey) this.dedent(); else this.indent();
    }
  }

  /** Replaces [start, end) with text the way typing would, so undo still works. */
  replace(start, end, text) {
    const a = this.area;
    a.focus();
    a.setSelectionRange(start, end);
    // execCommand keeps the browser's undo stack; setRangeText is the fallback.
    if (!document.execCommand || !document.execCommand("insertText", false, text)) {
      a.setRangeText(text, start, end, "end");
      a.dispatchEvent(new Event("input"));
    }
  }

  indent() {
    const a = this.area;
    const { selectionStart: s, selectionEnd: e, value } = a;
    if (!value.slice(s, e).includes("\n")) {
      this.replace(s, e, INDENT);
      return;
    }
    const lineStart = value.lastIndexOf("\n", s - 1) + 1;
    const block = value.slice(lineStart, e);
    const indented = block.replace(/^/gm, INDENT);
    this.replace(lineStart, e, indented);
    a.setSelectionRange(s + INDENT.length, lineStart + indented.length);
  }

  dedent() {
    const a = this.area;
    const { selectionStart: s, selectionEnd: e, value } = a;
    const lineStart = value.lastIndexOf("\n", s - 1) + 1;
    const block = value.slice(lineStart, e);
    const firstCut = (block.match(/^ {1,2}/) ?? [""])[0].length;
    const dedented = block.replace(/^ {1,2}/gm, "");
    if (dedented === block) return;
    this.replace(lineStart, e, dedented);
    a.setSelectionRange(Math.max(lineStart, s - firstCut), lineStart + dedented.length);
  }

  /** The error to show for the active tab: its own load error, else a render error. */
  currentError(tab) {
    if (!tab) return null;
    if (tab.error) return { ...tab.error, op: tab.instanceId ? "reload" : "load" };
    if (tab.instanceId) {
      const e = this.hooks.renderError(tab.instanceId);
      if (e) return { ...e, op: "render" };
    }
    return null;
  }

  /** Redraws the error box and gutter mark; main.js calls it when trees arrive. */
  refreshError() {
    const err = this.currentError(this.activeTab());
    this.errorBox.replaceChildren();
    this.errorBox.hidden = !err;
    this.errorBox.dataset.code = err ? err.code : "";
    if (err) {
      const head = document.createElement("div");
      head.className = "editor__error-head";
      const code = document.createElement("span");
      code.className = "code";
      code.textContent = err.code;
      head.append(code, " " + err.op + " error" + (err.line ? " at line " + err.line : "")
        + (err.widgetId ? " in widget " + err.widgetId : ""));
      const msg = document.createElement("pre");
      msg.className = "editor__error-msg";
      msg.textContent = err.message;
      this.errorBox.append(head, msg);
    }
    this.errorLine = err && err.line ? err.line : 0;
    for (const n of this.gutter.children) n.classList.toggle("is-error", Number(n.dataset.line) === this.errorLine);
  }

  draw() {
    this.drawTabs();
    const tab = this.activeTab();
    this.area.disabled = !tab;
    if (tab && this.area.value !== tab.source) this.area.value = tab.source;
    if (!tab) this.area.value = "";
    this.lineCount = -1;
    this.drawGutter();
    this.drawBar();
    this.refreshError();
  }

  drawTabs() {
    const nodes = this.tabs.map((tab) => {
      const b = document.createElement("div");
      b.className = "tab" + (tab.tabId === this.active ? " is-active" : "");
      b.dataset.testid = "tab-" + tab.tabId;
      b.setAttribute("role", "tab");
      b.setAttribute("aria-selected", String(tab.tabId === this.active));
      const label = document.createElement("button");
      label.type = "button";
      label.className = "tab__label";
      label.textContent = tab.title;
      label.title = tab.instanceId ?? tab.packageId + " (not running)";
      label.addEventListener("click", () => this.activate(tab.tabId));
      const dot = document.createElement("span");
      dot.className = "tab__dot" + (tab.instanceId ? " is-running" : "");
      const close = document.createElement("button");
      close.type = "button";
      close.className = "tab__close";
      close.textContent = "\u00d7";
      close.setAttribute("aria-label", "Close tab " + tab.title);
      close.addEventListener("click", () => this.close(tab.tabId));
      b.append(dot, label, close);
      return b;
    });
    this.tabBar.replaceChildren(...nodes);
  }

  drawBar() {
    const tab = this.activeTab();
    const running = !!tab?.instanceId;
    // Lets automation (and CSS) see which instance the visible code runs in.
    this.root.dataset.instance = tab?.instanceId ?? "";
    this.root.dataset.busy = String(this.busy);
    this.title.textContent = tab ? (running ? tab.instanceId : tab.packageId + " \u00b7 not running") : "No plugin open";
    this.runButton.hidden = running;
    this.reloadButton.hidden = !running;
    this.runButton.disabled = this.reloadButton.disabled = !tab || this.busy;
    this.status.textContent = !tab ? "Open an example from the catalog, or start a new plugin."
      : tab.status ?? (running ? "Running" : "Ctrl+Enter runs");
  }

  drawGutter() {
    const lines = this.area.value.split("\n").length;
    if (lines === this.lineCount) return;
    this.lineCount = lines;
    const nodes = [];
    for (let i = 1; i <= lines; i++) {
      const n = document.createElement("div");
      n.textContent = String(i);
      n.dataset.line = String(i);
      if (i === this.errorLine) n.className = "is-error";
      nodes.push(n);
    }
    this.gutter.replaceChildren(...nodes);
    this.gutter.scrollTop = this.area.scrollTop;
  }
}

/** The New Plugin template: small, working, and needing no grants. */
export const TEMPLATE = `// A new plugin. Ctrl+Enter (Cmd+Enter) runs it; run again to reload in place.
definePlugin(({ ui }) => ({
  id: "my-plugin",
  title: "My plugin",
  initialState: { clicks: 0 },
  widgets: {
    main: {
      render({ pluginState }) {
        return ui.panel([
          ui.text("Clicked " + pluginState.clicks + " times"),
          ui.button("Click", { onClick: { handler: "click" } }),
        ]);
      },
      handlers: {
        click({ pluginState, dispatchPluginAction }) {
          dispatchPluginAction("state/merge", { clicks: pluginState.clicks + 1 });
        },
      },
    },
  },
}));
`;
