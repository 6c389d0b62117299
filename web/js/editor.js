// editor.js: editor tabs and the code area.
//
// One tab per opened plugin: {tabId, packageId, title, source, sourceName?, instanceId,
// error, status} (status: the last run's outcome, shown beside the Run button). sourceName
// is the file name the code loads under (a catalog example's own: pomodoro.tsx); its
// extension decides how the server's loader reads the code (.ts/.tsx: TypeScript, JSX in
// .tsx) and how the code area highlights it, and a TypeScript tab shows it in its label.
// A tab
// knows the instance its code runs in, which is what makes Run mean two things: a tab
// without an instance loads one, a tab with one reloads it in place (same instanceId, same
// local state and grants, new code), so editing never leaks instances.
//
// The code area is CodeMirror 6 when the build embedded it (codemirror.js, given to the
// constructor by main.js), else TextareaCode below: a plain textarea with a line-number
// gutter beside it. Both have one interface (show, value, focus, setDisabled, markError,
// drop) and the same keys: Tab indents, Shift+Tab dedents, Ctrl/Cmd+Enter runs. Errors
// (load, reload, a render of the tab's instance, or its last failed event) appear under
// the code with their code, message and line, and the line is marked in the gutter.
//
// The module owns no connection: running, reloading and saving are callbacks main.js
// provides, so the editor can be exercised with plain data.

const INDENT = "  ";

/** What a source name's extension says the code is: "tsx", "ts" or "js" (anything else,
 *  a tab without a file name included: plain JavaScript, as the loader reads it). */
export function sourceKind(name) {
  const m = /\.([cm]?ts|tsx)$/.exec(String(name ?? ""));
  return m ? (m[1] === "tsx" ? "tsx" : "ts") : "js";
}

let tabCounter = 0;
/** A tab id unique on this page and unlikely to clash with restored ones. */
function newTabId() {
  tabCounter += 1;
  return "t" + Date.now().toString(36) + tabCounter.toString(36);
}

export class Editor {
  /**
   * root: the editor section of index.html.
   * hooks: {run(tab), reload(tab), changed(tabs), selected(tab), renderError(instanceId),
   *         instanceStatus(instanceId), closing(tab, done(unload)), unload(instanceId)}
   *   run/reload return Promises; renderError returns the first widget error of an
   *   instance or null; instanceStatus the one status store.js computes; closing asks the
   *   person whether a running tab's instance goes too and calls done(true|false), or
   *   never (cancelled).
   */
  constructor(root, hooks, makeCode = null) {
    this.hooks = hooks;
    this.tabs = [];
    this.active = null;
    this.busy = false;
    this.tabBar = root.querySelector("[data-role=tabs]");
    this.title = root.querySelector("[data-role=title]");
    this.runButton = root.querySelector("[data-testid=run]");
    this.reloadButton = root.querySelector("[data-testid=reload]");
    this.newButton = root.querySelector("[data-testid=new-plugin]");
    this.errorBox = root.querySelector("[data-testid=editor-error]");
    this.status = root.querySelector("[data-role=status]");
    this.root = root;
    this.shownTab = undefined;
    const codeHooks = { onChange: (text) => this.onInput(text), onRun: () => this.runActive() };
    const body = root.querySelector(".editor__body");
    this.code = makeCode ? makeCode(body, codeHooks) : new TextareaCode(body, codeHooks);
    root.dataset.codeEditor = makeCode ? "codemirror" : "textarea";
    // When the strip gets narrower (window or pane resized) the active tab stays in view.
    new ResizeObserver(() => this.revealActive()).observe(this.tabBar);
    this.runButton.addEventListener("click", () => this.runActive());
    this.reloadButton.addEventListener("click", () => this.runActive());
    this.draw();
  }

  /** Opens a new tab and makes it active. fields: {packageId, title, source, sourceName?, instanceId?}. */
  open(fields) {
    const tab = {
      tabId: fields.tabId ?? newTabId(),
      packageId: String(fields.packageId),
      title: String(fields.title ?? fields.packageId),
      source: String(fields.source ?? ""),
      ...(typeof fields.sourceName === "string" && fields.sourceName ? { sourceName: fields.sourceName } : {}),
      instanceId: fields.instanceId ?? null,
      error: null,
    };
    this.tabs.push(tab);
    this.activate(tab.tabId);
    this.hooks.changed(this.tabs);
    return tab;
  }

  /** Replaces all tabs (restored from the server's `hello`). */
  restore(saved, liveInstanceIds, activeTabId = null) {
    this.tabs = [];
    for (const t of Array.isArray(saved) ? saved : []) {
      if (!t || typeof t.tabId !== "string" || typeof t.packageId !== "string") continue;
      this.tabs.push({
        tabId: t.tabId, packageId: t.packageId, title: String(t.title ?? t.packageId),
        source: String(t.source ?? ""),
        ...(typeof t.sourceName === "string" && t.sourceName ? { sourceName: t.sourceName } : {}),
        instanceId: liveInstanceIds.has(t.instanceId) ? t.instanceId : null,
        error: null,
      });
    }
    if (activeTabId && this.tabs.some((t) => t.tabId === activeTabId)) this.active = activeTabId;
    if (!this.tabs.some((t) => t.tabId === this.active)) this.active = this.tabs[0]?.tabId ?? null;
    this.draw();
    const tab = this.activeTab();
    if (tab) this.hooks.selected(tab);
  }

  /** The server confirmed the newest tabs (true), or has not yet (false). */
  setSaved(saved) {
    this.saved = saved;
    if (saved) for (const t of this.tabs) t.unsaved = false;
    this.drawTabs();
    this.drawBar();
  }

  /** `base`, or "base 2", "base 3", ...: a title no other open tab has. */
  uniqueTitle(base, except = null) {
    const used = new Set(this.tabs.filter((t) => t !== except).map((t) => t.title));
    if (!used.has(base)) return base;
    for (let n = 2; ; n++) if (!used.has(base + " " + n)) return base + " " + n;
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
    this.code.drop(tabId);
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
      if (inst.title && !reloading) tab.title = this.uniqueTitle(String(inst.title), tab);
      tab.status = reloading ? "reloaded in place" : null;
    } catch (err) {
      tab.error = { code: err.code ?? "INTERNAL_ERROR", message: err.message, line: err.line };
      tab.status = reloading ? "Reload failed; the previous code keeps running" : "Load failed";
    } finally {
      this.busy = false;
      this.draw();
      this.hooks.changed(this.tabs);
    }
  }

  onInput(text) {
    const tab = this.activeTab();
    if (!tab) return;
    tab.source = text;
    const fresh = !tab.unsaved;
    tab.unsaved = true;
    if (fresh) this.drawTabs();
    this.hooks.changed(this.tabs);
  }

  /** The error to show for the active tab: its own load error, else a render error. */
  currentError(tab) {
    if (!tab) return null;
    if (tab.error) return { ...tab.error, op: tab.instanceId ? "reload" : "load" };
    if (tab.instanceId) {
      const e = this.hooks.renderError(tab.instanceId);
      if (e) return { op: "render", ...e };
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
        + (err.widgetId ? " in widget " + err.widgetId : "") + (err.handler ? ", handler " + err.handler : ""));
      const msg = document.createElement("pre");
      msg.className = "editor__error-msg";
      msg.textContent = err.message;
      this.errorBox.append(head, msg);
    }
    this.code.markError(err && err.line ? err.line : 0, err ? err.code + ": " + err.message : "");
  }

  draw() {
    this.drawTabs();
    const tab = this.activeTab();
    this.code.setDisabled(!tab);
    const id = tab?.tabId ?? null;
    if (id !== this.shownTab || this.code.value !== (tab?.source ?? "")) this.code.show(id, tab?.source ?? "", sourceKind(tab?.sourceName));
    this.shownTab = id;
    this.root.dataset.lang = tab ? sourceKind(tab.sourceName) : "";
    this.drawBar();
    this.refreshError();
  }

  drawTabs() {
    const nodes = this.tabs.map((tab) => {
      const active = tab.tabId === this.active;
      const b = document.createElement("div");
      b.className = "tab" + (active ? " is-active" : "") + (tab.unsaved ? " is-unsaved" : "");
      b.dataset.testid = "tab-" + tab.tabId;
      b.dataset.unsaved = String(!!tab.unsaved);
      // The tab itself is the label button (role tab); its close button sits beside it,
      // not inside it, so the tab holds no nested control.
      const label = document.createElement("button");
      label.type = "button";
      label.className = "tab__label";
      label.id = "tab-label-" + tab.tabId;
      label.setAttribute("role", "tab");
      label.setAttribute("aria-selected", String(active));
      label.setAttribute("aria-controls", "editor-body");
      label.tabIndex = active ? 0 : -1;
      label.title = (tab.instanceId ?? tab.packageId + " (not running)") + (tab.unsaved ? " \u00b7 unsaved" : "");
      const dot = document.createElement("span");
      dot.className = "tab__dot" + (tab.instanceId ? " is-running" : "");
      dot.dataset.status = tab.instanceId ? this.statusOf(tab).kind : "idle";
      dot.setAttribute("aria-hidden", "true");
      const text = document.createElement("span");
      text.className = "tab__text";
      text.textContent = tab.title;
      label.append(dot, text);
      const kind = sourceKind(tab.sourceName);
      if (kind !== "js") {
        // TypeScript is worth seeing at a glance: the file's extension, beside the title.
        const lang = document.createElement("span");
        lang.className = "tab__lang";
        lang.dataset.testid = "tab-lang";
        lang.textContent = "." + /\.([^.]+)$/.exec(tab.sourceName)[1];
        lang.title = tab.sourceName + ": TypeScript" + (kind === "tsx" ? " with JSX" : "");
        label.append(lang);
      }
      if (tab.unsaved) {
        const mark = document.createElement("span");
        mark.className = "tab__unsaved";
        mark.dataset.testid = "tab-unsaved";
        mark.textContent = "\u25cf";
        mark.title = "Not saved on the server yet";
        label.append(mark);
      }
      label.addEventListener("click", () => this.activate(tab.tabId));
      label.addEventListener("keydown", (ev) => this.onTabKey(ev, tab.tabId));
      const close = document.createElement("button");
      close.type = "button";
      close.className = "tab__close";
      close.dataset.testid = "tab-close";
      close.textContent = "\u00d7";
      close.setAttribute("aria-label", "Close tab " + tab.title);
      close.title = "Close tab";
      close.addEventListener("click", () => this.requestClose(tab.tabId));
      b.append(label, close);
      return b;
    });
    this.tabBar.replaceChildren(...nodes);
    this.revealActive();
  }

  /** Scrolls the tab strip (only it) so the active tab is fully in view. */
  revealActive() {
    const t = this.tabBar.querySelector(".tab.is-active");
    if (!t) return;
    const bar = this.tabBar;
    const left = t.offsetLeft - bar.offsetLeft, right = left + t.offsetWidth;
    if (left < bar.scrollLeft) bar.scrollLeft = left;
    else if (right > bar.scrollLeft + bar.clientWidth) bar.scrollLeft = right - bar.clientWidth;
  }

  /** An instance's status changed: the tabs' dots and the bar follow it. */
  drawStatus() {
    this.drawTabs();
    this.drawBar();
  }

  /** Arrow keys, Home and End move between tabs (the tablist pattern); Delete closes. */
  onTabKey(ev, tabId) {
    const i = this.tabs.findIndex((t) => t.tabId === tabId);
    let j = null;
    if (ev.key === "ArrowRight") j = (i + 1) % this.tabs.length;
    else if (ev.key === "ArrowLeft") j = (i - 1 + this.tabs.length) % this.tabs.length;
    else if (ev.key === "Home") j = 0;
    else if (ev.key === "End") j = this.tabs.length - 1;
    else if (ev.key === "Delete") { ev.preventDefault(); this.requestClose(tabId); return; }
    if (j === null) return;
    ev.preventDefault();
    this.activate(this.tabs[j].tabId);
    document.getElementById("tab-label-" + this.tabs[j].tabId)?.focus();
  }

  /** Closing a tab whose instance runs asks what to do with the instance (hooks.closing). */
  requestClose(tabId) {
    const tab = this.tabs.find((t) => t.tabId === tabId);
    if (!tab) return;
    if (tab.instanceId && this.hooks.closing) this.hooks.closing(tab, (unload) => {
      const id = tab.instanceId;
      this.close(tabId);
      if (unload && id) this.hooks.unload(id);
    });
    else this.close(tabId);
  }

  /** One status for a tab's instance, the same the card shows: {kind, text}. */
  statusOf(tab) {
    return this.hooks.instanceStatus ? this.hooks.instanceStatus(tab.instanceId) : { kind: "ok", text: "Running" };
  }

  drawBar() {
    const tab = this.activeTab();
    const running = !!tab?.instanceId;
    // Lets automation (and CSS) see which instance the visible code runs in.
    this.root.dataset.instance = tab?.instanceId ?? "";
    this.root.dataset.busy = String(this.busy);
    this.title.textContent = tab ? (running ? tab.instanceId : tab.packageId + " \u00b7 not running") : "No plugin open";
    this.title.title = this.title.textContent;
    this.runButton.hidden = running;
    this.reloadButton.hidden = !running;
    this.runButton.disabled = this.reloadButton.disabled = !tab || this.busy;
    // The instance's status is the card's (store.js instanceStatus); the last run's
    // outcome is added to it, never shown instead of an error.
    const st = running ? this.statusOf(tab) : null;
    this.status.dataset.status = st?.kind ?? "idle";
    const saved = this.saved === false ? " \u00b7 unsaved" : "";
    let text;
    if (!tab) text = "Open an example from the catalog, or start a new plugin.";
    else if (this.busy) text = tab.status;
    else if (st && st.kind === "error") text = st.text;
    else if (st) text = st.text + (tab.status && tab.status !== "Running" ? " \u00b7 " + tab.status : "");
    else text = tab.status ?? "Ctrl+Enter runs";
    this.status.textContent = text + (tab ? saved : "");
    this.status.title = this.status.textContent;
  }
}

/**
 * The fallback code area (a build without CodeMirror): a textarea and a line-number gutter
 * beside it. The gutter is redrawn only when the line count changes and follows the
 * textarea's scroll position; both use the same fixed line height in the stylesheet,
 * which is what keeps them aligned. Tab inserts two spaces, Shift+Tab removes up to two
 * from each selected line, Ctrl/Cmd+Enter runs.
 */
export class TextareaCode {
  /** body: the .editor__body element (holding the gutter and textarea); hooks: {onChange(text), onRun()}. */
  constructor(body, hooks) {
    this.hooks = hooks;
    this.gutter = body.querySelector("[data-role=gutter]");
    this.area = body.querySelector("[data-testid=editor]");
    this.lineCount = 0;
    this.errorLine = 0;
    this.area.addEventListener("input", () => { this.drawGutter(); this.hooks.onChange(this.area.value); });
    this.area.addEventListener("scroll", () => { this.gutter.scrollTop = this.area.scrollTop; });
    this.area.addEventListener("keydown", (ev) => this.onKey(ev));
  }

  get value() { return this.area.value; }

  /** kind ("js" | "ts" | "tsx") changes nothing here: a textarea highlights nothing. */
  show(tabId, text, kind) {
    if (this.area.value !== text) this.area.value = text;
    this.lineCount = -1;
    this.drawGutter();
  }

  drop() {}
  setDisabled(disabled) { this.area.disabled = disabled; }
  focus() { this.area.focus(); }

  markError(line) {
    this.errorLine = line;
    for (const n of this.gutter.children) n.classList.toggle("is-error", Number(n.dataset.line) === line);
  }

  onKey(ev) {
    if ((ev.ctrlKey || ev.metaKey) && ev.key === "Enter") {
      ev.preventDefault();
      this.hooks.onRun();
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
