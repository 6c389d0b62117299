// bootstrap.js: evaluated in every instance's context before the plugin's code.
//
// It installs `definePlugin` as a global `var` (so a plugin's `let definePlugin` is the
// engine's redeclaration error and a plugin's `function definePlugin(){}` can only break
// itself), and returns a private object of entry points that only the C side holds. The
// host never trusts what these return: every result is converted and validated in C.
// Intrinsics are captured up front so a plugin that patches prototypes cannot change
// how its own calls are dispatched.
var definePlugin;
(function () {
  "use strict";
  const O = Object, A = Array, S = String;
  const hasOwn = Function.prototype.call.bind(O.prototype.hasOwnProperty);
  const keys = O.keys, isArray = A.isArray, freeze = O.freeze;
  const PromiseResolve = Promise.resolve.bind(Promise);
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

  // A call record: the C side runs promise jobs until `state` leaves 0. Intents are
  // snapshotted at settlement, so work scheduled after the call settled does not count.
  function settle(rec, r, intents) {
    if (r !== null && (typeof r === "object" || typeof r === "function") &&
        typeof r.then === "function") {
      then(PromiseResolve(r),
        (v) => { rec.value = v; rec.intents = intents && intents.slice(); rec.state = 1; },
        (e) => { rec.error = e; rec.state = 2; });
    } else {
      rec.value = r;
      rec.intents = intents && intents.slice();
      rec.state = 1;
    }
    return rec;
  }

  // ---- the `pi` API (hooks-and-security.md sec. 2) ----------------------------------
  // Every member that reaches outside the VM goes through `host(method, args)`, a native
  // function that performs the hostcall synchronously (the host applies the capability
  // chain) and either returns the result or throws an Error carrying `code`. The public
  // API wraps those calls in promises; only subscription and tool registration answer
  // synchronously, so a refusal is an exception at the line that asked.
  const PromiseReject = Promise.reject.bind(Promise);
  const handlers = O.create(null); // event -> [{fn, once}] in registration order
  const tools = O.create(null);    // tool name -> handler
  const timers = [];               // {due, resolve}, unordered; few at a time
  let current = [];                // the handler list of the hook being run
  let native = null;

  const call = (method, args) => {
    try { return PromiseResolve(native.host(method, args)); } catch (e) { return PromiseReject(e); }
  };
  const text = (x) => {
    if (typeof x === "string") return x;
    try { const j = JSON.stringify(x); return j === undefined ? S(x) : j; } catch (e) { return S(x); }
  };
  const logAt = (level) => (...args) => {
    native.host("log", { level, message: args.map(text).join(" ") });
  };

  function installPi(info, host, now, uuid) {
    native = freeze({ host, now, uuid });
    const known = isArray(info.events) ? info.events.slice() : [];
    const checkEvent = (event) => {
      if (typeof event !== "string" || !known.includes(event))
        throw new TypeError("Unknown event '" + S(event) + "'; known events: " + known.join(", "));
    };
    const subscribe = (event, fn, once) => {
      checkEvent(event);
      if (typeof fn !== "function") throw new TypeError("pi.on: handler must be a function");
      host("events.subscribe", { event });
      (handlers[event] || (handlers[event] = [])).push({ fn, once });
    };
    const pi = freeze({
      id: S(info.id ?? ""),
      version: S(info.version ?? "0.0.0"),
      on: (event, fn) => subscribe(event, fn, false),
      once: (event, fn) => subscribe(event, fn, true),
      off(event, fn) {
        checkEvent(event);
        const l = handlers[event];
        if (!l) return;
        if (fn === undefined) l.length = 0;
        else for (let i = l.length - 1; i >= 0; i--) if (l[i].fn === fn) l.splice(i, 1);
      },
      registerTool(t) {
        if (t === null || typeof t !== "object") throw new TypeError("pi.registerTool needs {name, description, parameters, handler}");
        const { name, description, parameters, handler } = t;
        if (typeof name !== "string" || !name) throw new TypeError("pi.registerTool: name must be a non-empty string");
        if (typeof handler !== "function") throw new TypeError("pi.registerTool: handler must be a function");
        if (parameters !== undefined && !isPlain(parameters)) throw new TypeError("pi.registerTool: parameters must be a JSON Schema object");
        host("tools.register", { name, description: S(description ?? ""), parameters: parameters ?? { type: "object" } });
        tools[name] = handler;
      },
      getConfig: (key) => call("config.get", { key: S(key) }).then((v) => (v === null ? undefined : v)),
      kv: freeze({
        get: (key) => call("kv.get", { key: S(key) }).then((v) => (v === null ? undefined : v)),
        set: (key, value) => call("kv.set", { key: S(key), value: value === undefined ? null : value }),
        delete: (key) => call("kv.delete", { key: S(key) }),
        list: (prefix) => call("kv.list", { prefix: prefix === undefined ? "" : S(prefix) }),
      }),
      logger: freeze({ debug: logAt("debug"), info: logAt("info"), warn: logAt("warn"), error: logAt("error") }),
      uuid: () => uuid(),
      sleep(ms) {
        const n = Number(ms);
        return new Promise((resolve) => { timers.push({ due: now() + (n > 0 ? n : 0), resolve }); });
      },
      http: freeze({
        get: (url, opts) => call("http.request", { method: "GET", url: S(url), headers: isPlain(opts) && isPlain(opts.headers) ? opts.headers : {} }),
        post: (url, body, opts) => call("http.request", {
          method: "POST", url: S(url), body: typeof body === "string" ? body : JSON.stringify(body ?? null),
          headers: isPlain(opts) && isPlain(opts.headers) ? opts.headers : {} }),
      }),
      fs: freeze({
        readText: (path) => call("fs.readText", { path: S(path) }),
        writeText: (path, data) => call("fs.writeText", { path: S(path), text: S(data) }),
        exists: (path) => call("fs.exists", { path: S(path) }),
        list: (path) => call("fs.list", { path: S(path) }),
      }),
    });
    // Configurable, so a plugin's own top-level `let pi` is a shadow, not a SyntaxError.
    O.defineProperty(globalThis, "pi", { value: pi, configurable: true });
    O.defineProperty(globalThis, "airlock", { value: pi, configurable: true });
  }

  function pi_off_entry(event, entry) {
    const l = handlers[event];
    const i = l ? l.indexOf(entry) : -1;
    if (i >= 0) l.splice(i, 1);
  }

  function widget(id) {
    const w = def && hasOwn(def.widgets, id) ? def.widgets[id] : undefined;
    return w !== null && typeof w === "object" ? w : undefined;
  }

  return {
    loadError: () => loadError,
    installPi,
    // Hooks: the C side snapshots an event's handlers, then runs each under its own deadline.
    hookBegin(event) {
      current = (handlers[event] || []).slice();
      for (const h of current) if (h.once) pi_off_entry(event, h);
      return current.length;
    },
    hook(i, payload) {
      const h = current[i];
      if (!h) return { state: 3 };
      return settle({ state: 0 }, h.fn.call(undefined, payload), null);
    },
    hooks() {
      const out = {};
      for (const e of keys(handlers)) if (handlers[e].length) out[e] = handlers[e].length;
      return out;
    },
    tool(name, args) {
      const t = hasOwn(tools, name) ? tools[name] : undefined;
      if (typeof t !== "function") return { state: 3 };
      return settle({ state: 0 }, t.call(undefined, args), null);
    },
    // Fires due timers; answers 0 if any fired, else ms until the next one, or -1 if none.
    // timers(true) forgets them all unfired: the call that set them was abandoned.
    timers(drop) {
      if (drop === true) timers.length = 0;
      if (!timers.length) return -1;
      const t = native.now();
      let next = -1, fired = false;
      for (let i = timers.length - 1; i >= 0; i--) {
        if (timers[i].due <= t) { timers.splice(i, 1)[0].resolve(); fired = true; }
        else if (next < 0 || timers[i].due - t < next) next = timers[i].due - t;
      }
      return fired ? 0 : next; // a fired timer queued jobs: run them before waiting again
    },
    // Runs the factory and returns metadata; a string result is a contract load error.
    take() {
      if (loadError !== null) return loadError;
      if (factory === null) {
        // A hook plugin need not define widgets: pi.on / pi.registerTool is enough.
        if (keys(handlers).length || keys(tools).length) return { title: "Untitled Plugin", widgets: [] };
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
      if (!w || typeof w.render !== "function") return { state: 3 };
      return settle({ state: 0 }, w.render({ pluginState, globalState }), null);
    },
    event(widgetId, name, args, hasArgs, pluginState, globalState) {
      const w = widget(widgetId);
      if (!w) return { state: 3 };
      const hs = w.handlers;
      const h = hs !== null && typeof hs === "object" && hasOwn(hs, name) ? hs[name] : undefined;
      if (typeof h !== "function") return { state: 4 };
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
      return settle({ state: 0 }, hasArgs ? h.call(hs, ctx, args) : h.call(hs, ctx), intents);
    },
    reduce(actionType, state, payload) {
      const rs = def ? def.reducers : undefined;
      const r = rs !== null && typeof rs === "object" && hasOwn(rs, actionType) ? rs[actionType] : undefined;
      if (typeof r !== "function") return { state: 5 };
      return settle({ state: 0 }, r.call(rs, state, payload), null);
    },
  };
})();
