// preview.js: one card per instance, every widget drawn by render.js.
//
// A card shows the instance's title, short id, status and an unload button, then one
// section per widget in the instance's widget order. A widget's body is whatever the
// server last pushed for it: a tree (drawn by renderNode) or an error (code and message
// in place of the widget, so one broken widget never hides the rest). Only the widget a
// `tree` push names is redrawn.
//
// Redrawing patches the widget's DOM in place (render.js's patchNode), so the element
// under the pointer, the focused one, its caret and selection and every scroll position
// survive a redraw: a press that started before a redraw still ends in a click. Only when
// a widget switches between a tree, an error and "rendering" is its content replaced; the
// focused element is then found again by its data-path and refocused, caret included.
//
// Events go out through the `event` callback; when one fails (a handler that throws, or
// spins into VM_TIMEOUT) the card says so under its header until the next event succeeds.

import { renderNode, patchNode } from "./render.js";
import { shortId, instanceStatus } from "./store.js";

export class Preview {
  /**
   * root: the element holding the cards.
   * hooks: {event(instanceId, widgetId, handler, args) -> Promise, unload(instanceId),
   *         focus(instanceId), eventResult(instanceId, error | null)}
   */
  constructor(root, store, hooks) {
    this.root = root;
    this.store = store;
    this.hooks = hooks;
    this.cards = new Map();  // instanceId -> {card, header parts, widgets: Map(widgetId -> body)}
    store.on("instances", () => this.sync());
    store.on("tree", ({ instanceId, widgetId }) => this.drawWidget(instanceId, widgetId));
    store.on("select", () => this.markSelected());
    this.sync();
  }

  /** Adds, updates and removes cards to match the store's instances, in load order. */
  sync() {
    for (const [id, c] of this.cards) {
      if (!this.store.instances.has(id)) { c.card.remove(); this.cards.delete(id); }
    }
    const order = [];
    for (const [id, inst] of this.store.instances) {
      const c = this.cards.get(id) ?? this.makeCard(id);
      this.updateCard(c, inst);
      order.push(c.card);
    }
    // Moving a card in the DOM blurs whatever is focused inside it, so cards are only
    // re-appended when the order really changed (a card was added, or after a reconnect).
    const current = [...this.root.querySelectorAll(":scope > .card")];
    if (current.length !== order.length || current.some((el, i) => el !== order[i])) {
      for (const card of order) this.root.appendChild(card);
    }
    const empty = this.root.querySelector("[data-role=empty]");
    if (empty) empty.hidden = this.store.instances.size > 0;
    this.markSelected();
  }

  makeCard(instanceId) {
    const card = document.createElement("article");
    card.className = "card";
    card.dataset.testid = "instance-" + instanceId;
    card.dataset.instanceId = instanceId;
    const head = document.createElement("header");
    head.className = "card__head";
    const title = document.createElement("span");
    title.className = "card__title";
    const id = document.createElement("span");
    id.className = "card__id";
    id.textContent = shortId(instanceId);
    id.title = instanceId;
    const status = document.createElement("span");
    status.className = "card__status";
    status.dataset.testid = "status";
    const unload = document.createElement("button");
    unload.type = "button";
    unload.className = "card__unload";
    unload.dataset.testid = "unload";
    unload.textContent = "\u00d7";
    unload.setAttribute("aria-label", "Unload " + instanceId);
    unload.title = "Unload this instance";
    unload.addEventListener("click", (ev) => { ev.stopPropagation(); this.hooks.unload(instanceId); });
    head.append(title, id, status, unload);
    head.addEventListener("click", () => this.hooks.focus(instanceId));
    const notice = document.createElement("div");
    notice.className = "card__notice";
    notice.dataset.testid = "event-error";
    notice.hidden = true;
    const body = document.createElement("div");
    body.className = "card__body";
    card.append(head, notice, body);
    const c = { card, title, status, notice, body, widgets: new Map(), order: "" };
    this.cards.set(instanceId, c);
    return c;
  }

  updateCard(c, inst) {
    c.title.textContent = String(inst.title ?? inst.packageId);
    this.drawStatus(c, inst.instanceId);
    const widgets = Array.isArray(inst.widgets) ? inst.widgets.map(String) : [];
    // A reload may add, drop or reorder widgets: rebuild the sections only then.
    const order = JSON.stringify(widgets);
    if (order !== c.order) {
      c.order = order;
      c.widgets.clear();
      const sections = widgets.map((w) => {
        const s = document.createElement("section");
        s.className = "widget";
        s.dataset.widget = w;
        const label = document.createElement("div");
        label.className = "widget__label";
        label.textContent = w;
        const body = document.createElement("div");
        body.className = "widget__body";
        s.append(label, body);
        c.widgets.set(w, body);
        return s;
      });
      c.body.replaceChildren(...sections);
      for (const w of widgets) this.drawWidget(inst.instanceId, w);
    }
  }

  /** The instance's one status (store.js instanceStatus), as the editor shows it too. */
  drawStatus(c, instanceId) {
    const st = instanceStatus(this.store, instanceId);
    c.status.textContent = st.text;
    c.status.className = "card__status status--" + (st.kind === "ok" ? "ok" : "error");
    c.card.dataset.status = st.kind === "ok" ? "loaded" : "error";
  }

  drawWidget(instanceId, widgetId) {
    const card = this.cards.get(instanceId);
    if (card) this.drawStatus(card, instanceId);
    const body = this.cards.get(instanceId)?.widgets.get(widgetId);
    if (!body) return;
    const entry = this.store.trees.get(instanceId)?.get(widgetId);
    const current = body.firstElementChild;
    if (entry && !entry.error && current && current.dataset.path === "root") {
      // The common case: a new tree for a drawn tree. Patched, never replaced.
      const emit = (ref, args) => this.fire(instanceId, widgetId, ref, args);
      const next = patchNode(current, entry.tree, emit);
      if (next !== current) this.swap(body, next);
      return;
    }
    let content;
    if (!entry) {
      content = document.createElement("div");
      content.className = "widget__pending";
      content.textContent = "rendering\u2026";
    } else if (entry.error) {
      content = widgetError(entry.error);
    } else {
      const emit = (ref, args) => this.fire(instanceId, widgetId, ref, args);
      content = renderNode(entry.tree, emit);
    }
    this.swap(body, content);
  }

  /** Replaces a widget body's content, keeping focus (by data-path) across the swap. */
  swap(body, content) {
    const keep = focusOf(body);
    body.replaceChildren(content);
    restoreFocus(body, keep);
  }

  async fire(instanceId, widgetId, ref, args) {
    const c = this.cards.get(instanceId);
    try {
      await this.hooks.event(instanceId, widgetId, ref.handler, args);
      if (c) c.notice.hidden = true;
      this.hooks.eventResult?.(instanceId, null);
    } catch (err) {
      this.hooks.eventResult?.(instanceId, { code: err.code, message: err.message, line: err.line, widgetId, handler: ref.handler });
      if (!c) return;
      c.notice.hidden = false;
      c.notice.dataset.code = err.code ?? "";
      c.notice.replaceChildren();
      const code = document.createElement("span");
      code.className = "code";
      code.textContent = err.code ?? "ERROR";
      c.notice.append(code, " " + widgetId + "." + ref.handler + (err.line ? " (line " + err.line + ")" : "") + ": " + err.message);
    }
  }

  markSelected() {
    for (const [id, c] of this.cards) c.card.classList.toggle("is-selected", id === this.store.selected);
  }
}

/** The in-place error for a widget whose render failed. */
function widgetError(error) {
  const e = document.createElement("div");
  e.className = "widget__error";
  e.dataset.testid = "widget-error";
  e.dataset.code = String(error.code ?? "");
  const code = document.createElement("span");
  code.className = "code";
  code.textContent = String(error.code ?? "ERROR");
  const msg = document.createElement("span");
  msg.textContent = " " + String(error.message ?? "")
    + (error.path ? " (at " + error.path + ")" : "") + (error.line ? " (line " + error.line + ")" : "");
  e.append(code, msg);
  return e;
}

function focusOf(body) {
  const a = document.activeElement;
  const node = a && body.contains(a) ? a.closest("[data-path]") : null;
  if (!node) return null;
  const keep = { path: node.dataset.path, role: a.dataset.role ?? null };
  if (a.tagName === "INPUT") Object.assign(keep, { value: a.value, start: a.selectionStart, end: a.selectionEnd });
  return keep;
}

function restoreFocus(body, keep) {
  if (!keep) return;
  let target = null;
  for (const n of body.querySelectorAll("[data-path]")) if (n.dataset.path === keep.path) { target = n; break; }
  if (target && keep.role) target = target.querySelector("[data-role=" + keep.role + "]");
  if (!target) return;
  target.focus();
  if (target.tagName === "INPUT" && keep.start !== undefined) {
    // The user is mid-edit (changes are sent on commit): their text wins over the tree's.
    target.value = keep.value;
    try { target.setSelectionRange(keep.start, keep.end); } catch { /* value shorter now */ }
  }
}
