// approvals.js: the prompts the capability chain raised, each with Allow and Deny.
//
// A plugin's call cannot wait for a person (a widget event has 100 ms), so the server
// denied the call that asked and pushed an `approval` prompt. The answer is sent as
// `approval.answer` and applies from the plugin's next call; the server remembers it for
// its run (listed, revocable, in the Audit tab). The list is the server's: a prompt
// disappears when any page answers it. Plugin-chosen text (the resource) only reaches the
// DOM through textContent.

import { h } from "./devtools/util.js";

export class Approvals {
  /** answer(key, allow) -> Promise: sends approval.answer. */
  constructor(root, store, answer) {
    this.root = root;
    this.store = store;
    this.answer = answer;
    this.errors = new Map();  // key -> message of a failed answer
    store.on("approvals", () => this.draw());
    this.draw();
  }

  draw() {
    const pending = this.store.approvals.pending;
    this.root.hidden = pending.length === 0;
    this.root.replaceChildren(...pending.map((p) => this.prompt(p)));
  }

  prompt(p) {
    const button = (label, allow, cls, testid) => {
      const b = h("button", { cls: "btn " + cls, text: label, data: { testid } });
      b.type = "button";
      b.addEventListener("click", () => {
        b.disabled = true;
        this.answer(p.key, allow).then(() => this.errors.delete(p.key),
          (err) => { this.errors.set(p.key, (err.code ?? "ERROR") + ": " + err.message); this.draw(); });
      });
      return b;
    };
    const err = this.errors.get(p.key);
    // A pi extension's ctx.ui question (action "ui") is about this one call: the server
    // never remembers its answer, so the prompt must not say it will.
    const ui = p.action === "ui";
    return h("div", { cls: "approval", data: { testid: "approval-prompt", plugin: p.pluginId, action: p.action } }, [
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
      h("div", { cls: "muted", text: ui
        ? "Its call is waiting for your answer (other plugins keep running); the answer is for this question only."
        : "Its call is waiting for your answer (other plugins keep running); the answer also applies to its later calls until the server stops." }),
      err ? h("div", { cls: "code", text: err }) : null,
      h("div", { cls: "approval__buttons" }, [
        button("Allow", true, "btn--primary", "approval-allow"),
        button("Deny", false, "", "approval-deny"),
      ]),
    ]);
  }
}
