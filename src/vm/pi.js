// pi.js: the `pi` API (hooks-and-security.md sec. 2) and the hook machinery behind it.
//
// Evaluated in an instance's context only when its plugin first touches `pi` (see
// installPi in bootstrap.js), so widget plugins that never do carry none of it. The
// script's value is a factory that the bootstrap calls once with its captured intrinsics
// and the host's natives; what it returns is private to the bootstrap, like the
// bootstrap's own entry points.
//
// Members that reach outside the VM go through the host, which applies the capability
// chain. Subscription, tool registration and logging use `native.host(method, args)`,
// answered at once (a refusal is an exception at the line that asked). Everything else
// uses `native.hostAsync(method, args)`: it sends the call to the host and returns an id
// at once; the promise the plugin holds settles when the worker hands the answer to
// `deliver(id, ok, value)`. Meanwhile the call that awaits it is parked and the worker
// serves other instances. A refused or failed call rejects with an Error carrying `code`.
(function (env) {
  "use strict";
  const { REC, S, freeze, isPlain, isArray, hasOwn, keys, settle, PromiseResolve, PromiseReject,
          native, info } = env;
  const host = native.host, hostAsync = native.hostAsync, now = native.now, uuid = native.uuid;
  const handlers = Object.create(null); // event -> [{fn, once}] in registration order
  const tools = Object.create(null);    // tool name -> handler
  const timers = [];                    // {due, resolve}, unordered; few at a time
  const waiting = new Map();            // hostcall id -> {resolve, reject}
  let current = [];                     // the handler list of the hook being run

  const call = (method, args) => new Promise((resolve, reject) => {
    waiting.set(hostAsync(method, args), { resolve, reject }); // a throw rejects
  });
  const text = (x) => {
    if (typeof x === "string") return x;
    try { const j = JSON.stringify(x); return j === undefined ? S(x) : j; } catch (e) { return S(x); }
  };
  const logAt = (level) => (...args) => {
    host("log", { level, message: args.map(text).join(" ") });
  };

  const known = isArray(info.events) ? info.events.slice() : [];
  const checkEvent = (event) => {
    if (typeof event !== "string" || !known.includes(event))
      throw new TypeError("Unknown event '" + S(event) + "'; known events: " + known.join(", "));
  };
  // The host believes no report of more handlers per event than this (EV_MAX_HANDLERS).
  const maxHandlers = typeof info.maxHandlers === "number" ? info.maxHandlers : 64;
  const subscribe = (event, fn, once) => {
    checkEvent(event);
    if (typeof fn !== "function") throw new TypeError("pi.on: handler must be a function");
    if (handlers[event] && handlers[event].length >= maxHandlers)
      throw new RangeError("pi.on: a plugin may have at most " + maxHandlers + " handlers for '" + event + "'");
    host("events.subscribe", { event });
    (handlers[event] || (handlers[event] = [])).push({ fn, once });
  };
  function offEntry(event, entry) {
    const l = handlers[event];
    const i = l ? l.indexOf(entry) : -1;
    if (i >= 0) l.splice(i, 1);
  }

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

  return {
    pi,
    any: () => keys(handlers).length > 0 || keys(tools).length > 0,
    // The C side snapshots an event's handlers, then runs each under its own deadline.
    hookBegin(event) {
      current = (handlers[event] || []).slice();
      for (const h of current) if (h.once) offEntry(event, h);
      return current.length;
    },
    hook(i, payload) {
      const h = current[i];
      if (!h) return { state: REC.NO_TARGET };
      return settle({ state: REC.PENDING }, h.fn.call(undefined, payload), null);
    },
    hooks() {
      const out = {};
      for (const e of keys(handlers)) if (handlers[e].length) out[e] = handlers[e].length;
      return out;
    },
    tool(name, args) {
      const t = hasOwn(tools, name) ? tools[name] : undefined;
      if (typeof t !== "function") return { state: REC.NO_TARGET };
      return settle({ state: REC.PENDING }, t.call(undefined, args), null);
    },
    // Fires due timers; answers 0 if any fired, else ms until the next one, or -1 if none.
    // timers(true) forgets them all unfired: the call that set them was abandoned.
    timers(drop) {
      if (drop === true) {
        timers.length = 0;
        waiting.clear();
      }
      if (!timers.length) return -1;
      const t = now();
      let next = -1, fired = false;
      for (let i = timers.length - 1; i >= 0; i--) {
        if (timers[i].due <= t) { timers.splice(i, 1)[0].resolve(); fired = true; }
        else if (next < 0 || timers[i].due - t < next) next = timers[i].due - t;
      }
      return fired ? 0 : next; // a fired timer queued jobs: run them before waiting again
    },
    // A hostcall's answer: settles the promise that awaits it (its jobs run next).
    deliver(id, ok, value) {
      const w = waiting.get(id);
      if (w === undefined) return false;
      waiting.delete(id);
      if (ok) w.resolve(value); else w.reject(value);
      return true;
    },
  };
})
