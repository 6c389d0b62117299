// bootstrap.js: evaluated in every instance's context before the plugin's code.
//
// It installs `definePlugin` as a global `var` (so a plugin's `let definePlugin` is the
// engine's redeclaration error and a plugin's `function definePlugin(){}` can only break
// itself). The script's value is a function that the C side calls once with the call
// record states (REC, built from vm.h's VM_REC_STATES table, so both sides name them
// from one place); it returns a private object of entry points that only C holds. The
// host never trusts what these return: every result is converted and validated in C.
// Intrinsics are captured up front so a plugin that patches prototypes cannot change
// how its own calls are dispatched.
//
// For ES module plugins (module.c) it also defines the JSX factory `__airlock_jsx` and
// `__airlock_Fragment` that .tsx sources are compiled to call (pkg/transpile.js), mapping
// elements onto the `ui` builders (docs/modules.md), and the `module` entry point that
// maps an entry module's exports onto a definition.
var definePlugin, __airlock_jsx, __airlock_Fragment;
(function (REC) {
  "use strict";
  const O = Object, A = Array, S = String;
  const hasOwn = Function.prototype.call.bind(O.prototype.hasOwnProperty);
  const keys = O.keys, isArray = A.isArray, freeze = O.freeze, parse = JSON.parse;
  const PromiseResolve = Promise.resolve.bind(Promise);
  const PromiseReject = Promise.reject.bind(Promise);
  const then = Function.prototype.call.bind(Promise.prototype.then);

  const isPlain = (x) => x !== null && typeof x === "object" && !isArray(x);
  const kids = (c) => (isArray(c) ? c : []);

  const ui = freeze({
    text: (x) => ({ kind: "text", text: S(x) }),
    badge: (x) => ({ kind: "badge", text: S(x) }),
    button: (label, props = {}) => ({ kind: "button", props: { label: S(label), ...props } }),
    input(value, props = {}) {
      if (isPlain(value)) {
        const { value: v, ...rest } = value;
        return { kind: "input", props: { value: S(v ?? ""), ...rest } };
      }
      return { kind: "input", props: { value: S(value ?? ""), ...props } };
    },
    row: (children = []) => ({ kind: "row", children: kids(children) }),
    panel: (children = []) => ({ kind: "panel", children: kids(children) }),
    column: (children = []) => ({ kind: "column", children: kids(children) }),
    table(rows = [], props = {}) {
      const p = isPlain(rows) ? rows : { headers: isPlain(props) ? props.headers : undefined, rows };
      return { kind: "table", props: { headers: isArray(p.headers) ? p.headers : [],
                                       rows: isArray(p.rows) ? p.rows : [] } };
    },
    counter(value, props = {}) {
      if (isPlain(value)) {
        const { value: v, ...rest } = value;
        return { kind: "counter", props: { value: Number(v ?? 0), ...rest } };
      }
      return { kind: "counter", props: { value: Number(value ?? 0), ...props } };
    },
  });

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
  __airlock_jsx = jsx;
  __airlock_Fragment = FRAGMENT;

  let factory = null;
  let loadError = null;
  let def = null;

  definePlugin = function definePlugin(f) {
    if (typeof f !== "function") {
      loadError = "definePlugin requires a factory function";
      throw new TypeError(loadError);
    }
    factory = f;
  };

  // A call record: the C side runs promise jobs until `state` leaves PENDING (or parks the
  // call while it waits on a timer or a hostcall). Intents are snapshotted at settlement,
  // so work scheduled after the call settled does not count.
  function settle(rec, r, intents) {
    if (r !== null && (typeof r === "object" || typeof r === "function") &&
        typeof r.then === "function") {
      then(PromiseResolve(r),
        (v) => { rec.value = v; rec.intents = intents && intents.slice(); rec.state = REC.FULFILLED; },
        (e) => { rec.error = e; rec.state = REC.REJECTED; });
    } else {
      rec.value = r;
      rec.intents = intents && intents.slice();
      rec.state = REC.FULFILLED;
    }
    return rec;
  }

  // ---- the `pi` API (hooks-and-security.md sec. 2) ----------------------------------
  // `pi` and the hook machinery behind it live in pi.js, evaluated in this context the
  // first time the plugin touches `pi` (or `airlock`): most widget plugins never do, and
  // an instance should not carry the code and closures of an API it never calls. Until
  // then the entry points below answer as for a plugin with no hooks.
  let infoParsed = null;
  const info0 = () => (infoParsed !== null ? infoParsed : (infoParsed = piEnv ? piEnv().info : {}));
  let hk = null;     // what pi.js made: {pi, hookBegin, hook, hooks, tool, timers, any}
  let native = null; // the host's natives {host, now, uuid}

  // `infoText`: {id, version, events} as JSON text (one string until pi is made);
  // `host` performs a hostcall at once (subscriptions, tools, logs), `hostAsync` sends one
  // to the host and returns its id, answered later through `deliver`;
  // `loadPi`: evaluates pi.js and returns its factory.
  let piEnv = null;  // what pi.js and pi_ext.js are made with
  let loadExt = null;
  function installPi(infoText, host, hostAsync, now, uuid, loadPi, loadPiExt) {
    native = freeze({ host, hostAsync, now, uuid });
    loadExt = loadPiExt;
    piEnv = () => ({ REC, S, freeze, isPlain, isArray, hasOwn, keys, settle, PromiseResolve,
                     PromiseReject, native, info: parse(infoText) });
    const get = () => {
      if (hk === null) {
        hk = loadPi()(piEnv());
        // Configurable, so a plugin's own top-level `let pi` is a shadow, not a SyntaxError.
        O.defineProperty(globalThis, "pi", { value: hk.pi, configurable: true });
        O.defineProperty(globalThis, "airlock", { value: hk.pi, configurable: true });
      }
      return hk.pi;
    };
    O.defineProperty(globalThis, "pi", { get, configurable: true });
    O.defineProperty(globalThis, "airlock", { get, configurable: true });
  }

  function widget(id) {
    const w = def && hasOwn(def.widgets, id) ? def.widgets[id] : undefined;
    return w !== null && typeof w === "object" ? w : undefined;
  }

  return {
    loadError: () => loadError,
    // The pi profile (pi_ext.js, docs/pi-extensions.md): called by the C side before a
    // pi extension's module graph is evaluated, so its imports of the virtual modules
    // (`@mariozechner/pi-ai`, `node:fs`, ...) and Node's globals find the runtime.
    piProfile() {
      if (hk !== null || loadExt === null) throw new TypeError("the pi profile must be chosen before the plugin runs");
      hk = loadExt()(piEnv());
      const h = hk;
      O.defineProperty(globalThis, "__airlock_pimod", {
        value: (name) => {
          const m = h.module(name);
          if (m === undefined) throw new TypeError("no pi module '" + S(name) + "'");
          return m;
        },
      });
    },
    // What a pi extension registered ({tools, commands, ...}); null for other plugins.
    piRegistry: () => (hk !== null && hk.profile === "pi" ? hk.registry() : null),
    // An ES module plugin's entry namespace: `export default function (pi) {...}` is
    // called with `pi` (an object it returns with `widgets` is the definition);
    // `export default {title, widgets, ...}` is the definition; without a default export
    // the module may still have called definePlugin or pi.on at its top level.
    module(ns) {
      const d = ns.default;
      let def0 = null;
      if (hk !== null && hk.profile === "pi") {
        // pi calls `export default function (pi)` with its ExtensionAPI; an async factory
        // is awaited by the job queue the load runs (its rejection fails the load).
        if (typeof d !== "function") {
          loadError = "A pi extension's default export must be a function (pi) => void";
          throw new TypeError(loadError);
        }
        const r = d(hk.pi);
        if (r !== null && typeof r === "object" && typeof r.then === "function")
          then(PromiseResolve(r), undefined, (e) => { loadError = "pi extension factory failed: " + S(e && e.message !== undefined ? e.message : e); });
        factory = () => ({ title: S(info0().id ?? "pi extension"), widgets: {} });
        return;
      }
      if (typeof d === "function") {
        const r = d(globalThis.pi);
        if (isPlain(r) && r.widgets !== undefined) def0 = r;
      } else if (isPlain(d)) {
        def0 = d;
      } else if (d !== undefined) {
        loadError = "A module plugin's default export must be a function or a plugin definition";
        throw new TypeError(loadError);
      }
      if (def0 !== null) {
        if (factory !== null) {
          loadError = "A module plugin may call definePlugin or export a definition, not both";
          throw new TypeError(loadError);
        }
        factory = () => def0;
      }
    },
    installPi,
    // Hooks: the C side snapshots an event's handlers, then runs each under its own deadline.
    hookBegin: (event) => (hk === null ? 0 : hk.hookBegin(event)),
    hook: (i, payload) => (hk === null ? { state: REC.NO_TARGET } : hk.hook(i, payload)),
    hooks: () => (hk === null ? {} : hk.hooks()),
    tool: (name, args) => (hk === null ? { state: REC.NO_TARGET } : hk.tool(name, args)),
    // pi.sleep timers: see pi.js; -1 when none is pending. timers(true) also forgets the
    // hostcalls still awaited: their answers will find no one.
    timers: (drop) => (hk === null ? -1 : hk.timers(drop)),
    // A hostcall's answer (see pi.js); false when nobody awaits that id any more.
    deliver: (id, ok, value) => (hk === null ? false : hk.deliver(id, ok, value)),
    // Runs the factory and returns metadata; a string result is a contract load error.
    take() {
      if (loadError !== null) return loadError;
      if (hk !== null && hk.profile === "pi" && factory !== null) return { title: S(factory().title), widgets: [] };
      if (factory === null) {
        // A hook plugin need not define widgets: pi.on / pi.registerTool is enough.
        if (hk !== null && hk.any()) return { title: "Untitled Plugin", widgets: [] };
        return "Plugin did not register via definePlugin";
      }
      const d = factory({ ui });
      if (d === null || typeof d !== "object") return "Plugin did not register via definePlugin";
      if (d.widgets === null || typeof d.widgets !== "object" || isArray(d.widgets))
        return "Plugin widgets must be an object";
      def = d;
      const meta = { title: S(d.title ?? "Untitled Plugin"), widgets: keys(d.widgets) };
      if (d.id !== undefined) meta.declaredId = S(d.id);
      if (typeof d.description === "string") meta.description = d.description;
      if (d.initialState !== undefined) meta.initialState = d.initialState;
      return meta;
    },
    render(widgetId, pluginState, globalState) {
      const w = widget(widgetId);
      if (!w || typeof w.render !== "function") return { state: REC.NO_TARGET };
      return settle({ state: REC.PENDING }, w.render({ pluginState, globalState }), null);
    },
    event(widgetId, name, args, hasArgs, pluginState, globalState) {
      const w = widget(widgetId);
      if (!w) return { state: REC.NO_TARGET };
      const hs = w.handlers;
      const h = hs !== null && typeof hs === "object" && hasOwn(hs, name) ? hs[name] : undefined;
      if (typeof h !== "function") return { state: REC.NO_HANDLER };
      const intents = [];
      const ctx = {
        pluginState,
        globalState,
        dispatchPluginAction(actionType, payload) {
          intents.push({ scope: "plugin", actionType: S(actionType), payload });
        },
        dispatchSharedAction(domain, actionType, payload) {
          intents.push({ scope: "shared", domain: S(domain), actionType: S(actionType), payload });
        },
      };
      return settle({ state: REC.PENDING }, hasArgs ? h.call(hs, ctx, args) : h.call(hs, ctx), intents);
    },
    hasReducer(actionType) {
      const rs = def ? def.reducers : undefined;
      return rs !== null && typeof rs === "object" && hasOwn(rs, actionType) && typeof rs[actionType] === "function";
    },
    reduce(actionType, state, payload) {
      const rs = def ? def.reducers : undefined;
      const r = rs !== null && typeof rs === "object" && hasOwn(rs, actionType) ? rs[actionType] : undefined;
      if (typeof r !== "function") return { state: REC.NO_REDUCER };
      return settle({ state: REC.PENDING }, r.call(rs, state, payload), null);
    },
  };
})
