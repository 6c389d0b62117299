// devtools/grants.js: what each instance may read and write, editable by a person.
//
// Grants belong to the host. A plugin can never change its own; this panel is the one
// place a person can, and every change goes through the server (`grants.set`), which
// records it in the timeline (scope host, action grants/set) and applies it from the
// instance's next call. Until Apply is pressed, edits are only a draft on this page.

import { h, select, instanceOptions } from "./util.js";

export class GrantsPanel {
  /** apply(instanceId, grants) -> Promise: sends grants.set. */
  constructor(root, store, apply) {
    this.root = root;
    this.store = store;
    this.apply = apply;
    this.draft = null;    // {instanceId, read: Set, write: Set} while editing
    this.note = "";
    store.on("select", () => { this.draft = null; this.note = ""; this.draw(); });
    store.on("instances", () => this.draw());
    store.on("shared", () => this.draw());
    this.draw();
  }

  draw() {
    const id = this.store.selected;
    const inst = id ? this.store.instances.get(id) : null;
    if (!inst) {
      this.root.replaceChildren(h("p", { cls: "muted", text: "No instance running." }));
      return;
    }
    const g = inst.grants ?? {};
    if (!this.draft || this.draft.instanceId !== id) {
      this.draft = { instanceId: id, read: new Set(g.readShared ?? []), write: new Set(g.writeShared ?? []) };
    }
    const domains = [...new Set([...Object.keys(this.store.shared), ...(g.readShared ?? []), ...(g.writeShared ?? [])])].sort();
    // A domain takes writes only if it has a reducer; the host does not say which do, so
    // a domain is offered for writing when some bundled manifest grants writes to it (or
    // the instance holds a write grant already). Views like runtime-registry are read-only.
    const writable = new Set(this.store.catalog.flatMap((e) => e.grants?.writeShared ?? []));
    for (const d of g.writeShared ?? []) writable.add(d);
    const rows = domains.map((d) => h("tr", { data: { domain: d } }, [
      h("td", { cls: "mono", text: d }),
      h("td", {}, [this.box("read", d)]),
      h("td", {}, [writable.has(d) ? this.box("write", d) : h("span", { cls: "muted", text: "read-only", data: { testid: "grant-readonly-" + d } })]),
    ]));
    const head = h("tr", {}, [h("th", { text: "domain" }), h("th", { text: "read" }), h("th", { text: "write" })]);
    const applyButton = h("button", { cls: "btn btn--primary", text: "Apply", data: { testid: "grants-apply" } });
    applyButton.type = "button";
    applyButton.addEventListener("click", () => this.submit());
    const sys = (g.systemCommands ?? []).length ? (g.systemCommands ?? []).join(", ") : "none";
    this.root.replaceChildren(
      h("div", { cls: "panel-controls" }, [
        select(instanceOptions(this.store), id, (v) => this.store.select(v), "grants-instance", "Instance"),
        applyButton,
        h("span", { cls: "muted", data: { testid: "grants-note" }, text: this.note }),
      ]),
      h("table", { cls: "grid grants" }, [h("thead", {}, [head]), h("tbody", {}, rows)]),
      h("p", { cls: "muted", text: "System commands: " + sys + ". A change is recorded in the timeline and applies from the instance's next call." }),
    );
  }

  box(mode, domain) {
    const set = mode === "read" ? this.draft.read : this.draft.write;
    const c = h("input", { data: { testid: "grant-" + mode + "-" + domain } });
    c.type = "checkbox";
    c.checked = set.has(domain);
    c.setAttribute("aria-label", mode + " " + domain);
    c.addEventListener("change", () => { if (c.checked) set.add(domain); else set.delete(domain); });
    return c;
  }

  async submit() {
    const d = this.draft;
    const inst = this.store.instances.get(d.instanceId);
    const grants = {
      readShared: [...d.read].sort(),
      writeShared: [...d.write].sort(),
      systemCommands: inst?.grants?.systemCommands ?? [],
    };
    try {
      await this.apply(d.instanceId, grants);
      this.note = "Applied.";
    } catch (err) {
      this.note = (err.code ?? "ERROR") + ": " + err.message;
    }
    this.draft = null;  // redraw from what the server now holds
    this.draw();
  }
}
