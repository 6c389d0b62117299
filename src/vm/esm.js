// esm.js: what ES module plugins need beyond the bootstrap (docs/modules.md), evaluated in
// an instance's context only when it loads one (bootstrap.js moduleBegin), so script
// plugins carry none of its code: the JSX factory .tsx sources are compiled to call, the
// pi profile's entry (pi_ext.js, docs/pi-extensions.md), and the mapping of an entry
// module's exports onto a plugin definition. The script's value is a factory the
// bootstrap calls once with its intrinsics and accessors to its private state; what it
// returns is the bootstrap's.
(function (env) {
  "use strict";
  const { S, freeze, isPlain, isArray, PromiseResolve, then, ui } = env;

  // ---- JSX (docs/modules.md has the table) -------------------------------------------
  // Children are flattened; null, undefined and booleans drop out (`{cond && <x/>}`);
  // strings and numbers become text nodes. A function element is a component: it gets
  // its props with `children`. Intrinsic elements are the ui builders' kinds.
  const FRAGMENT = freeze({ fragment: true });
  const flat = (xs, out) => {
    for (const x of xs) {
      if (isArray(x)) flat(x, out);
      else if (x === null || x === undefined || typeof x === "boolean") continue;
      else out.push(typeof x === "object" ? x : ui.text(x));
    }
    return out;
  };
  const textOf = (cs) => flat(cs, []).map((c) => (c && c.kind === "text" ? c.text : "")).join("");
  function jsx(type, props, ...children) {
    const p = isPlain(props) ? props : {};
    if (type === FRAGMENT) return flat(children, []);
    if (typeof type === "function") return type({ ...p, children: flat(children, []) });
    switch (type) {
      case "text": case "badge": return ui[type](p.text !== undefined ? p.text : textOf(children));
      case "button": {
        const { label, ...rest } = p;
        return ui.button(label !== undefined ? label : textOf(children), rest);
      }
      case "input": case "counter": return ui[type](p);
      case "row": case "panel": case "column": return ui[type](flat(children, []));
      case "table": return ui.table({ headers: p.headers, rows: p.rows });
      default:
        throw new TypeError("JSX: unknown element <" + S(type) + ">; the elements are text, badge, " +
                            "button, input, counter, row, panel, column and table");
    }
  }

  return {
    jsx,
    Fragment: FRAGMENT,
    // The pi profile: chosen before a pi extension's graph is evaluated, so its imports of
    // the virtual modules (`@mariozechner/pi-ai`, `node:fs`, ...) and Node's globals find
    // the runtime.
    piProfile() {
      if (env.hk() !== null || env.loadExt() === null)
        throw new TypeError("the pi profile must be chosen before the plugin runs");
      const h = env.loadExt()()(env.piEnv()); /* the native evaluates pi_ext.js: its factory */
      env.setHk(h);
      Object.defineProperty(globalThis, "__airlock_pimod", {
        value: (name) => {
          const m = h.module(name);
          if (m === undefined) throw new TypeError("no pi module '" + S(name) + "'");
          return m;
        },
      });
    },
    // An ES module plugin's entry namespace: `export default function (pi) {...}` is
    // called with `pi` (an object it returns with `widgets` is the definition);
    // `export default {title, widgets, ...}` is the definition; without a default export
    // the module may still have called definePlugin or pi.on at its top level.
    module(ns) {
      const d = ns.default;
      const hk = env.hk();
      let def0 = null;
      if (hk !== null && hk.profile === "pi") {
        // pi calls `export default function (pi)` with its ExtensionAPI and awaits an async
        // one: the load runs its jobs (a rejection there fails the load); when it still
        // waits on a timer or a hostcall, the host waits for it with a call of its own
        // (pi_ext.js factory(), host/pi_host.c host_pi_settle).
        if (typeof d !== "function") env.fail("A pi extension's default export must be a function (pi) => void");
        const r = d(hk.pi);
        if (r !== null && typeof r === "object" && typeof r.then === "function") {
          const p = PromiseResolve(r);
          then(p, undefined, (e) => {
            env.setError("pi extension factory failed: " + S(e && e.message !== undefined ? e.message : e));
          });
          hk.factory(p);
        }
        env.setFactory(() => ({ title: S(env.info().id ?? "pi extension"), widgets: {} }));
        return;
      }
      if (typeof d === "function") {
        const r = d(globalThis.pi);
        if (isPlain(r) && r.widgets !== undefined) def0 = r;
      } else if (isPlain(d)) {
        def0 = d;
      } else if (d !== undefined) {
        env.fail("A module plugin's default export must be a function or a plugin definition");
      }
      if (def0 !== null) {
        if (env.hasFactory()) env.fail("A module plugin may call definePlugin or export a definition, not both");
        env.setFactory(() => def0);
      }
    },
  };
})
