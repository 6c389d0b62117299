// devtools/state.js: one instance's state, as Redux DevTools shows a store's.
//
// - Local state, editable: the JSON is validated on the page (it must parse) and applied
//   through the host (`state.set`, al_state_set); the server records the edit in the
//   timeline (scope host, action state/set, source workbench) and the instance re-renders.
// - globalState exactly as the instance sees it (grant-filtered projection included).
// - History: the server keeps a snapshot of the local state after every call (load,
//   each event, each edit; the newest 100). Each row shows what that step changed (a diff
//   against the snapshot before it) and has Jump, which puts the instance back in that
//   state (`state.set` with rewindTo: recorded as state/rewind); the next event continues
//   from there, like Redux DevTools' jump.
//
// The panel's elements are built once per selected instance and updated in place, so a
// state push while someone edits never throws their draft away: the draft is kept, and a
// note says the state moved on.

import { h, pretty, clock, select, instanceOptions } from "./util.js";
import { diff, describe } from "./diff.js";

const HISTORY_ROWS = 100;

export class StatePanel {
  /** hooks: {fetch(instanceId), set(instanceId, state, rewindTo?) -> Promise}. */
  constructor(root, store, hooks) {
    this.root = root;
    this.store = store;
    this.hooks = hooks;
    this.shownId = undefined;
    this.dirty = false;     // the textarea holds an edit not applied yet
    store.on("select", () => { this.refetch(); this.draw(); });
    store.on("instances", () => this.draw());
    store.on("state", (id) => { if (id === store.selected) this.update(); });
    store.on("history", (id) => { if (id === store.selected) this.drawHistory(); });
    this.draw();
  }

  refetch() { if (this.store.selected) this.hooks.fetch(this.store.selected); }

  /** Builds the panel for the selected instance (or the empty note). */
  draw() {
    const id = this.store.selected;
    const opts = instanceOptions(this.store);
    if (!id || opts.length === 0) {
      this.shownId = null;
      this.root.replaceChildren(h("p", { cls: "muted", text: "No instance running." }));
      return;
    }
    if (this.shownId === id && this.root.contains(this.area)) {
      this.picker.replaceWith(this.picker = select(opts, id, (v) => this.store.select(v), "state-instance", "Instance"));
      return;
    }
    this.shownId = id;
    this.dirty = false;
    this.picker = select(opts, id, (v) => this.store.select(v), "state-instance", "Instance");
    this.area = h("textarea", { cls: "json state__edit mono", data: { testid: "local-state" } });
    this.area.spellcheck = false;
    this.area.setAttribute("aria-label", "Local state (JSON)");
    this.area.addEventListener("input", () => { this.dirty = true; this.validate(); });
    this.area.addEventListener("keydown", (ev) => {
      if ((ev.ctrlKey || ev.metaKey) && ev.key === "Enter") { ev.preventDefault(); this.apply(); }
    });
    this.applyButton = h("button", { cls: "btn btn--primary", text: "Apply", data: { testid: "state-apply" } });
    this.applyButton.type = "button";
    this.applyButton.title = "Replace the instance's local state (Ctrl+Enter)";
    this.applyButton.addEventListener("click", () => this.apply());
    this.revertButton = h("button", { cls: "btn", text: "Revert", data: { testid: "state-revert" } });
    this.revertButton.type = "button";
    this.revertButton.title = "Throw the edit away and show the current state";
    this.revertButton.addEventListener("click", () => { this.dirty = false; this.update(); });
    this.note = h("span", { cls: "muted", data: { testid: "state-note" } });
    this.global = h("pre", { cls: "json", data: { testid: "global-state" } });
    this.historyBody = h("tbody");
    this.historyCount = h("span", { cls: "muted" });
    this.root.replaceChildren(
      h("div", { cls: "panel-controls" }, [this.picker]),
      h("div", { cls: "state" }, [
        h("div", { cls: "state__col" }, [
          h("h3", { text: "Local state (editable)" }), this.area,
          h("div", { cls: "panel-controls" }, [this.applyButton, this.revertButton, this.note]),
        ]),
        h("div", { cls: "state__col" }, [h("h3", { text: "globalState (as the instance sees it)" }), this.global]),
        h("div", { cls: "state__col state__history" }, [
          h("h3", {}, [h("span", { text: "History " }), this.historyCount]),
          h("div", { cls: "scroll" }, [h("table", { cls: "grid history" }, [
            h("thead", {}, [h("tr", {}, ["#", "time", "step", "what changed", ""].map((c) => h("th", { text: c })))]),
            this.historyBody,
          ])]),
        ]),
      ]),
    );
    this.update();
    this.drawHistory();
  }

  /** The state arrived or changed: show it (keeping a draft being edited). */
  update() {
    if (this.shownId !== this.store.selected || !this.area) return this.draw();
    const s = this.store.states.get(this.shownId);
    const text = s ? pretty(s.state) : "loading\u2026";
    this.global.textContent = s && s.globalState !== undefined ? pretty(s.globalState) : "loading\u2026";
    if (!this.dirty) {
      if (this.area.value !== text) this.area.value = text;
      this.note.textContent = "";
      this.area.classList.remove("is-invalid");
    } else if (s) {
      this.note.textContent = "The state changed since you started editing; Apply replaces it, Revert shows it.";
    }
  }

  /** Parses the draft; returns {ok, value} and marks the textarea when it is not JSON. */
  validate() {
    try {
      const value = JSON.parse(this.area.value);
      this.area.classList.remove("is-invalid");
      this.note.textContent = this.dirty ? "Edited: Apply to replace the instance's state." : "";
      return { ok: true, value };
    } catch (e) {
      this.area.classList.add("is-invalid");
      this.note.textContent = "Not JSON: " + e.message;
      return { ok: false };
    }
  }

  async apply() {
    const id = this.shownId;
    const v = this.validate();
    if (!id || !v.ok) return;
    try {
      await this.hooks.set(id, v.value);
      this.dirty = false;
      this.note.textContent = "Applied.";
    } catch (err) {
      this.note.textContent = (err.code ?? "ERROR") + ": " + err.message;
    }
  }

  async jump(entry) {
    try {
      await this.hooks.set(this.shownId, entry.state, entry.seq);
      this.dirty = false;
      this.note.textContent = "Jumped back to #" + entry.seq + "; the next event continues from there.";
    } catch (err) {
      this.note.textContent = (err.code ?? "ERROR") + ": " + err.message;
    }
  }

  drawHistory() {
    if (!this.historyBody || this.shownId !== this.store.selected) return;
    const list = this.store.history.get(this.shownId) ?? [];
    this.historyCount.textContent = list.length ? "(" + list.length + (list.length === 1 ? " step" : " steps, newest first") + ")" : "(none yet)";
    const rows = [];
    for (let i = list.length - 1; i >= 0 && rows.length < HISTORY_ROWS; i--) {
      const e = list[i], prev = list[i - 1];
      const changes = prev && !e.tooLarge && !prev.tooLarge ? describe(diff(prev.state, e.state)) : null;
      const step = e.op === "event" ? (e.handler ?? "event") + (e.actions?.length ? " \u2192 " + e.actions.join(", ") : "")
        : e.op;
      const jump = h("button", { cls: "btn btn--ghost", text: i === list.length - 1 ? "current" : "Jump", data: { testid: "history-jump" } });
      jump.type = "button";
      jump.disabled = i === list.length - 1 || !!e.tooLarge;
      jump.title = e.tooLarge ? "This state was too large to keep" : "Put the instance back in the state after this step";
      jump.setAttribute("aria-label", "Jump to step " + e.seq);
      jump.addEventListener("click", () => this.jump(e));
      rows.push(h("tr", { data: { testid: "history-row", seq: e.seq, op: e.op, handler: e.handler, dispatchId: e.dispatchId } }, [
        h("td", { cls: "mono", text: e.seq }),
        h("td", { cls: "mono", text: clock(e.time) }),
        h("td", { cls: "mono", text: step }),
        h("td", { cls: "mono wrap", data: { testid: "history-diff" },
          text: changes === null ? (prev ? "(too large to compare)" : "initial state") : changes.length ? changes.join("\n") : "no change" }),
        h("td", {}, [jump]),
      ]));
    }
    this.historyBody.replaceChildren(...rows);
  }
}
