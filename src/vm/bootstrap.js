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
// ES module plugins (module.c) get esm.js on top, the first time one loads: the JSX
// factory `__airlock_jsx` / `__airlock_Fragment` that .tsx sources are compiled to call
// (pkg/transpile.js), the pi profile's entry, and the mapping of an entry module's exports
// onto a definition.
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
  let esmLoader = null, esmMade = null; // esm.js's factory (a native) and what it made
  // esm.js sees the bootstrap's private state only through these accessors.
  const esm = () => esmMade !== null ? esmMade : (esmMade = esmLoader()({
    S, freeze, isPlain, isArray, PromiseResolve, then, ui,
    hk: () => hk, setHk: (v) => { hk = v; }, piEnv: () => piEnv(), loadExt: () => loadExt,
    info: () => info0(), hasFactory: () => factory !== null,
    setFactory: (f) => { factory = f; }, setError: (msg) => { loadError = msg; },
    fail: (msg) => { loadError = msg; throw new TypeError(msg); },
  }));
  let loadExt = null;
  function installPi(infoText, host, hostAsync, now, uuid, loadPi, loadPiExt, loadEsm, loadPiNode) {
    native = freeze({ host, hostAsync, now, uuid, loadNode: loadPiNode });
    loadExt = loadPiExt;
    esmLoader = loadEsm;
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
    // ES module plugins (esm.js, loaded the first time one is, so a script plugin carries
    // none of it): moduleBegin before the entry's graph is evaluated (the JSX factory a .tsx
    // module calls), piProfile for a pi extension before that, module with the entry's
    // namespace after.
    moduleBegin() {
      const e = esm();
      __airlock_jsx = e.jsx;
      __airlock_Fragment = e.Fragment;
    },
    piProfile: () => esm().piProfile(),
    // What a pi extension registered ({tools, commands, ...}); null for other plugins.
    piRegistry: () => (hk !== null && hk.profile === "pi" ? hk.registry() : null),
    module: (ns) => esm().module(ns),
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
