// catalog.js: the bundled example plugins and what each is granted.
//
// Each entry shows its title, packageId (and its file name when it is TypeScript:
// pomodoro.tsx), description and its manifest grants per shared
// domain: "R/W" when the domain is in writeShared, "R" when only in readShared. Those are
// the grants an instance gets only if it runs the example's source unchanged; the catalog
// says so, because an edited example starts with none. Clicking an entry opens a new
// editor tab with the example's source (so a second click gives a second, independent
// instance once run).

/** [{domain, mode: "R" | "R/W"}] from a grants object, sorted by domain. */
export function grantModes(grants) {
  const read = new Set(Array.isArray(grants?.readShared) ? grants.readShared : []);
  const write = new Set(Array.isArray(grants?.writeShared) ? grants.writeShared : []);
  const domains = [...new Set([...read, ...write])].sort();
  return domains.map((domain) => ({ domain, mode: write.has(domain) ? "R/W" : "R" }));
}

export class Catalog {
  /** root: the catalog list element; open(entry) opens an editor tab for an entry. */
  constructor(root, store, open) {
    this.root = root;
    this.store = store;
    this.open = open;
    store.on("catalog", () => this.draw());
    this.draw();
  }

  draw() {
    const items = this.store.catalog.map((entry) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "catalog__item";
      b.dataset.testid = "catalog-" + entry.packageId;
      b.title = "Open " + entry.file + " in a new tab";
      const title = document.createElement("span");
      title.className = "catalog__title";
      title.textContent = String(entry.title ?? entry.packageId);
      const id = document.createElement("span");
      id.className = "catalog__id";
      id.textContent = entry.packageId;
      b.append(title, id);
      // A TypeScript example says so: its file's extension beside the package id.
      const ext = /\.([cm]?tsx?)$/.exec(String(entry.file ?? ""));
      if (ext) {
        const lang = document.createElement("span");
        lang.className = "catalog__lang";
        lang.dataset.testid = "catalog-lang";
        lang.textContent = entry.file;
        lang.title = "TypeScript" + (ext[1] === "tsx" ? " with JSX" : "") + ": types are stripped when it loads";
        b.append(lang);
      }
      if (typeof entry.description === "string") {
        const d = document.createElement("span");
        d.className = "catalog__desc";
        d.textContent = entry.description;
        b.append(d);
      }
      const grants = document.createElement("span");
      grants.className = "catalog__grants";
      const modes = grantModes(entry.grants);
      if (modes.length === 0) {
        const g = document.createElement("span");
        g.className = "grant grant--none";
        g.textContent = "no grants";
        grants.append(g);
      }
      for (const { domain, mode } of modes) {
        const g = document.createElement("span");
        g.className = "grant" + (mode === "R/W" ? " grant--rw" : "");
        g.dataset.grant = domain + ":" + mode;
        g.textContent = domain + " " + mode;
        grants.append(g);
      }
      b.append(grants);
      b.addEventListener("click", () => this.open(entry));
      li.append(b);
      return li;
    });
    this.root.replaceChildren(...items);
  }
}
