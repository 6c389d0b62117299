// approvals.js: the prompts the capability chain raised, each with Allow and Deny, and the
// questions a pi extension's ctx.ui asks.
//
// A plugin's call waits for a person (parked on the server, other plugins keep running) and
// the server pushed an `approval` prompt. The answer is sent as `approval.answer`; the
// server remembers a permission's answer for its run (listed, revocable, in the Audit
// tab). The list is the server's: a prompt disappears when any page answers it.
//
// ctx.ui questions (action "ui" or "ui.*") are about one call and never remembered:
// "ui" (confirm) is a yes/no on its resource's text; "ui.select", "ui.input" and
// "ui.editor" carry their question as JSON in the resource ({title, options} /
// {title, placeholder} / {title, prefill}) and are answered with a text (`text` in
// approval.answer; Cancel sends allow false: dismissed). A resource that does not read as
// such a question is shown as text with Cancel alone.
//
// Plugin-chosen text (the resource, a title, an option) only reaches the DOM through
// textContent, value and placeholder, never markup. draw() rebuilds the list on every
// change, so what a person has typed is kept per key (drafts) and the focus restored.

import { h } from "./devtools/util.js";

const TEXT_ACTIONS = new Set(["ui.select", "ui.input", "ui.editor"]);

/** Appends the parts that are there (a missing error line is null). */
const add = (el, ...parts) => el.append(...parts.filter(Boolean));

/** The question a ui.* resource holds, or null when it is not one. */
function readQuestion(action, resource) {
  let q;
  try { q = JSON.parse(resource); } catch { return null; }
  if (!q || typeof q !== "object" || Array.isArray(q) || typeof q.title !== "string") return null;
  const optional = (v) => v === undefined || v === null || typeof v === "string";
  if (action === "ui.select") {
    if (!Array.isArray(q.options) || !q.options.every((o) => typeof o === "string")) return null;
    return { title: q.title, options: q.options };
  }
  if (action === "ui.input") return optional(q.placeholder) ? { title: q.title, placeholder: q.placeholder ?? "" } : null;
  return optional(q.prefill) ? { title: q.title, prefill: q.prefill ?? "" } : null;
}

export class Approvals {
  /** answer(key, allow, text?) -> Promise: sends approval.answer (with `text` when given). */
  constructor(root, store, answer) {
    this.root = root;
    this.store = store;
    this.answer = answer;
    this.errors = new Map();  // key -> message of a failed answer
    this.drafts = new Map();  // key -> what was typed into a ui.input / ui.editor field
    store.on("approvals", () => this.draw());
    this.draw();
  }

  draw() {
    const pending = this.store.approvals.pending;
    const live = new Set(pending.map((p) => p.key));
    for (const k of this.drafts.keys()) if (!live.has(k)) this.drafts.delete(k);
    // The field being typed in, to give its focus and caret back after the rebuild.
    const active = this.root.contains(document.activeElement) ? document.activeElement : null;
    const focusKey = active?.dataset?.testid === "approval-text" ? active.dataset.key : null;
    const caret = focusKey ? [active.selectionStart, active.selectionEnd] : null;
    this.root.hidden = pending.length === 0;
    this.root.replaceChildren(...pending.map((p) => this.prompt(p)));
    if (focusKey) {
      const field = [...this.root.querySelectorAll("[data-testid=approval-text]")].find((f) => f.dataset.key === focusKey);
      if (field) {
        field.focus();
        field.setSelectionRange(caret[0], caret[1]);
      }
    }
  }

  /** Sends one answer for `p`; its buttons are disabled until the server's list redraws. */
  send(p, el, allow, text) {
    for (const b of el.querySelectorAll("button")) b.disabled = true;
    this.answer(p.key, allow, text).then(() => { this.errors.delete(p.key); this.drafts.delete(p.key); },
      (err) => { this.errors.set(p.key, (err.code ?? "ERROR") + ": " + err.message); this.draw(); });
  }

  button(label, cls, testid, onClick) {
    const b = h("button", { cls: "btn " + cls, text: label, data: { testid } });
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  prompt(p) {
    const err = this.errors.get(p.key);
    const el = h("div", { cls: "approval", data: { testid: "approval-prompt", plugin: p.pluginId, action: p.action } });
    const head = (what) => h("div", { cls: "approval__text" }, [
      h("b", { cls: "mono", text: p.pluginId }), h("span", { text: " asks: " }), what,
    ]);
    // A ctx.ui question is about this one call: the server never remembers its answer, so
    // the prompt must not say it will.
    const note = (ui) => h("div", { cls: "muted", text: ui
      ? "Its call is waiting for your answer (other plugins keep running); the answer is for this question only."
      : "Its call is waiting for your answer (other plugins keep running); the answer also applies to its later calls until the server stops." });
    const error = err ? h("div", { cls: "code", text: err }) : null;
    const row = (...buttons) => h("div", { cls: "approval__buttons" }, buttons);
    const cancel = () => this.button("Cancel", "", "approval-cancel", () => this.send(p, el, false));

    if (TEXT_ACTIONS.has(p.action)) {
      const q = readQuestion(p.action, p.resource);
      if (!q) {
        add(el, head(h("span", { cls: "mono approval__resource", text: p.resource })),
          h("div", { cls: "muted", text: "This question could not be read (its " + p.action + " text is not the JSON expected); it can only be cancelled." }),
          note(true), error, row(cancel()));
        return el;
      }
      const title = h("span", { cls: "approval__title", data: { testid: "approval-title" }, text: q.title });
      if (p.action === "ui.select") {
        const options = h("div", { cls: "approval__options" }, q.options.map((o) =>
          this.button(o, "approval__option", "approval-option", () => this.send(p, el, true, o))));
        for (const [i, b] of [...options.children].entries()) b.dataset.option = q.options[i];
        add(el, head(title), options, note(true), error, row(cancel()));
        return el;
      }
      const editor = p.action === "ui.editor";
      const field = h(editor ? "textarea" : "input", { cls: "mono approval__field", data: { testid: "approval-text", key: p.key } });
      if (editor) field.rows = 6;
      else {
        field.type = "text";
        field.placeholder = q.placeholder;
      }
      field.setAttribute("aria-label", q.title || "answer");
      field.spellcheck = false;
      field.value = this.drafts.has(p.key) ? this.drafts.get(p.key) : (editor ? q.prefill : "");
      field.addEventListener("input", () => this.drafts.set(p.key, field.value));
      const ok = () => this.send(p, el, true, field.value);
      // Enter submits a line; in the editor Enter is a newline and Ctrl/Cmd+Enter submits.
      field.addEventListener("keydown", (e) => {
        if (e.key !== "Enter" || e.isComposing) return;
        if (editor && !(e.ctrlKey || e.metaKey)) return;
        e.preventDefault();
        ok();
      });
      add(el, head(title), field,
        editor ? h("div", { cls: "muted", text: "Ctrl+Enter (\u2318+Enter) answers." }) : null,
        note(true), error,
        row(this.button("OK", "btn--primary", "approval-ok", ok), cancel()));
      return el;
    }

    const ui = p.action === "ui";
    add(el, 
      h("div", { cls: "approval__text" }, ui ? [
        h("b", { cls: "mono", text: p.pluginId }),
        h("span", { text: " asks: " }),
        h("span", { cls: "mono approval__resource", text: p.resource }),
      ] : [
        h("b", { cls: "mono", text: p.pluginId }),
        h("span", { text: " asks for " }),
        h("b", { cls: "mono", text: p.action }),
        h("span", { text: " on " }),
        h("span", { cls: "mono approval__resource", text: p.resource }),
      ]),
      note(ui), error,
      row(this.button("Allow", "btn--primary", "approval-allow", () => this.send(p, el, true)),
        this.button("Deny", "", "approval-deny", () => this.send(p, el, false))));
    return el;
  }
}
