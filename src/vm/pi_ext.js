// pi_ext.js: the pi profile, pi's ExtensionAPI (the @mariozechner/pi-coding-agent
// package's docs/extensions.md) over Airlock's host, and the modules a pi extension
// imports (docs/pi-extensions.md).
//
// Evaluated in an instance's context when the host loads a module graph marked as a pi
// extension (vm_load_module sees `profile: "pi"`); the bootstrap calls the factory this
// script evaluates to, with the same captured intrinsics and natives as pi.js, and then
// uses what it returns in pi.js's place: the same entry points (hookBegin, hook, hooks,
// tool, timers, deliver, any), so vm.c and the worker need nothing new per call.
//
// Semantics follow pi's own runner, written here from its documented behaviour: an
// event's handlers run in registration order, one at a time, `handler(event, ctx)`, each
// seeing the previous one's changes; per-event rules decide what a result does (a
// tool_call `{block}` ends the chain, an input `{action: "transform"}` replaces the text
// the next handler sees, ...). Across extensions the host carries the chain on: a hook
// call gets the chain's state so far ({event, result, acc}) and answers the state after
// this extension's handlers, plus the calls it made that change the session (intents),
// which are data for the host, never performed here. The host decides what the final
// state means (host/pi_emit.c); nothing this script answers is trusted there.
//
// Everything that reaches outside the VM (files, commands, network, the environment) is
// a hostcall, decided by the host's capability chain and audited: a refusal is an Error
// with `code: "CAPABILITY_DENIED"` thrown at the extension's own line (synchronous
// fs/child_process calls) or a rejected promise (pi.exec, fetch, fs/promises).
(function (env) {
  "use strict";
  const { REC, S, freeze, isPlain, isArray, hasOwn, keys, settle, native, info } = env;
  const host = native.host, hostAsync = native.hostAsync, now = native.now;
  const EVENTS = freeze(["session_start", "session_before_switch", "session_before_fork",
    "session_before_compact", "session_compact", "session_before_tree", "session_tree",
    "session_shutdown", "resources_discover", "before_agent_start", "agent_start", "agent_end",
    "turn_start", "turn_end", "message_start", "message_update", "message_end",
    "tool_execution_start", "tool_execution_update", "tool_execution_end", "context",
    "before_provider_request", "after_provider_response", "model_select",
    "thinking_level_select", "tool_call", "tool_result", "user_bash", "input"]);
  const SESSION_BEFORE = ["session_before_switch", "session_before_fork", "session_before_compact",
                          "session_before_tree"];
  const maxHandlers = typeof info.maxHandlers === "number" ? info.maxHandlers : 64;
  const label = S(info.id ?? "extension");

  const handlers = Object.create(null); // event -> [fn]
  const tools = Object.create(null);    // name -> definition
  const commands = Object.create(null); // name -> {description, handler}
  const flags = Object.create(null);    // name -> {description, type, default}
  const shortcuts = Object.create(null);
  const renderers = Object.create(null);
  const providers = Object.create(null);
  const timers = [];                    // {id, due, fn, every}
  const waiting = new Map();            // hostcall id -> {resolve, reject}
  let timerSeq = 0;
  // An async factory's promise and whether it has settled: while it has not, the load's
  // registry says factoryPending and the host waits for it (kind "factory" below).
  let factory = null;
  // The call being served: its intents and the host's context for it. One call runs at a
  // time in an instance as far as its intents go (the host awaits each pi call).
  let cur = { intents: [], ctx: {} };
  // The working directory: the call's ctx.cwd, else (while the extension's factory runs,
  // before any call) the one the host gave the load (info.cwd: --cwd or its own), as
  // Node's process.cwd() would answer in pi's process.
  const hereCwd = () => S(cur.ctx.cwd ?? info.cwd ?? "/");

  const call = (method, args) => new Promise((resolve, reject) => {
    waiting.set(hostAsync(method, args), { resolve, reject });
  });
  const text = (x) => {
    if (typeof x === "string") return x;
    try { const j = JSON.stringify(x); return j === undefined ? S(x) : j; } catch (e) { return S(x); }
  };
  const log = (level) => (...args) => { host("log", { level, message: args.map(text).join(" ") }); };
  const intent = (type, fields) => { cur.intents.push({ type, ...fields }); };
  const errMsg = (e) => (e !== null && typeof e === "object" && "message" in e ? S(e.message) : S(e));

  // ---- ctx: per call, from what the host supplies ----------------------------------------
  // Headless (the default): ctx.ui answers pi's own no-UI defaults; notify and setStatus
  // are also recorded as intents, so a host can show them.
  const noop = () => {};
  const ui = freeze({
    select: async () => undefined, confirm: async () => false, input: async () => undefined,
    editor: async () => undefined, custom: async () => undefined,
    notify: (message, level) => intent("notify", { message: S(message), level: S(level ?? "info") }),
    setStatus: (key, value) => intent("setStatus", { key: S(key), text: value === undefined ? null : S(value) }),
    onTerminalInput: () => noop, setWorkingMessage: noop, setWorkingVisible: noop,
    setWorkingIndicator: noop, setHiddenThinkingLabel: noop, setWidget: noop, setFooter: noop,
    setHeader: noop, setTitle: noop, pasteToEditor: noop, setEditorText: noop,
    getEditorText: () => "", addAutocompleteProvider: noop, setEditorComponent: noop,
    getEditorComponent: () => undefined, theme: freeze({ fg: (c, t) => S(t), bg: (c, t) => S(t),
      bold: (t) => S(t), italic: (t) => S(t), strikethrough: (t) => S(t) }),
    getAllThemes: () => [], getTheme: () => undefined,
    setTheme: () => ({ success: false, error: "UI not available" }),
    getToolsExpanded: () => false, setToolsExpanded: noop,
  });
  // With a person present (the host's context says hasUI: `airlock emit --ui`, the
  // workbench), confirm, select, input and editor become questions through the host's
  // approvals machinery (ui.prompt): confirm a yes/no, the others a text the person
  // gives (the host checks a select's answer is one of its options); a host that can
  // only say yes or no asks select option by option, and input/editor answer undefined.
  const uiPerson = freeze({
    ...ui,
    confirm: (title, message) => call("ui.prompt", { kind: "confirm", title: S(title ?? ""), message: S(message ?? "") })
      .then((v) => v === true, () => false),
    select: (title, options) => call("ui.prompt", { kind: "select", title: S(title ?? ""),
                                                    options: isArray(options) ? options.map(S) : [] })
      .then((v) => (typeof v === "string" ? v : undefined), () => undefined),
    input: (title, placeholder) => call("ui.prompt", { kind: "input", title: S(title ?? ""),
                                                       placeholder: S(placeholder ?? "") })
      .then((v) => (typeof v === "string" ? v : undefined), () => undefined),
    editor: (title, prefill) => call("ui.prompt", { kind: "editor", title: S(title ?? ""), prefill: S(prefill ?? "") })
      .then((v) => (typeof v === "string" ? v : undefined), () => undefined),
  });
  // ctx.modelRegistry: pi's ModelRegistry (dist/core/model-registry.js) as it answers with
  // no model known: Airlock's pi profile has no model runtime, so nothing is found, nothing
  // has auth, and no key is ever read (getApiKeyAndHeaders answers what pi does for a
  // model without credentials: ok, no key). Providers registered through it are pi's own
  // registerProvider, recorded like the rest.
  const modelRegistry = freeze({
    getAll: () => [], getAvailable: () => [], find: () => undefined, refresh: noop, getError: () => undefined,
    hasConfiguredAuth: () => false, isUsingOAuth: () => false,
    getApiKeyAndHeaders: async (model) => {
      const h = isPlain(model) && isPlain(model.headers) && keys(model.headers).length ? { ...model.headers } : undefined;
      return { ok: true, apiKey: undefined, headers: h };
    },
    getApiKeyForProvider: async () => undefined,
    getProviderAuthStatus: () => ({ configured: false }),
    getProviderDisplayName: (provider) => S(provider),
    registerProvider: (name, config) => { providers[S(name)] = config; },
    unregisterProvider: (name) => { delete providers[S(name)]; },
  });
  function makeCtx(c, extra) {
    const entries = isArray(c.entries) ? c.entries : [];
    const sm = freeze({
      getEntries: () => entries.slice(), getBranch: () => entries.slice(),
      getLeafId: () => (entries.length ? entries[entries.length - 1].id ?? null : null),
      getSessionFile: () => (typeof c.sessionFile === "string" ? c.sessionFile : undefined),
      getSessionName: () => (typeof c.sessionName === "string" ? c.sessionName : undefined),
      getHeader: () => (isPlain(c.header) ? c.header : undefined),
      getCwd: () => S(c.cwd ?? "/"),
    });
    const ctx = {
      ui: c.hasUI === true ? uiPerson : ui, hasUI: c.hasUI === true, cwd: S(c.cwd ?? "/"), sessionManager: sm,
      modelRegistry,
      model: c.model, signal: undefined,
      isIdle: () => true, abort: () => intent("abort", {}), hasPendingMessages: () => false,
      shutdown: () => intent("shutdown", {}), getContextUsage: () => undefined,
      compact: (options) => intent("compact", { options: options ?? null }),
      getSystemPrompt: () => S(c.systemPrompt ?? ""),
    };
    return Object.assign(ctx, extra || {});
  }
  // A command's context adds the session-changing calls, each an intent.
  const commandExtra = () => ({
    waitForIdle: async () => undefined,
    newSession: async (options) => { intent("newSession", { options: options ?? null }); return { cancelled: false }; },
    fork: async (entryId, options) => { intent("fork", { entryId: S(entryId), options: options ?? null }); return { cancelled: false }; },
    navigateTree: async (targetId, options) => { intent("navigateTree", { targetId: S(targetId), options: options ?? null }); return { cancelled: false }; },
    switchSession: async (path, options) => { intent("switchSession", { sessionPath: S(path), options: options ?? null }); return { cancelled: false }; },
    reload: async () => { intent("reload", {}); },
  });

  // ---- exec ------------------------------------------------------------------------------
  const execArgs = (command, args, options) => {
    const o = isPlain(options) ? options : {};
    const a = { command: S(command), args: isArray(args) ? args.map(S) : [] };
    if (o.cwd !== undefined) a.cwd = S(o.cwd);
    else a.cwd = hereCwd();
    if (typeof o.timeout === "number" && o.timeout > 0) a.timeoutMs = o.timeout;
    if (typeof o.input === "string") a.input = o.input;
    return a;
  };
  const exec = (command, args, options) => call("exec.run", execArgs(command, args, options));
  const execSync = (command, args, options) => host("exec.run", execArgs(command, args, options));

  // ---- the ExtensionAPI --------------------------------------------------------------------
  const checkEvent = (event) => {
    if (!EVENTS.includes(event))
      throw new TypeError("pi.on: unknown event '" + S(event) + "'; pi's events are " + EVENTS.join(", "));
  };
  // pi.events: pi's one bus shared by every extension. This VM's own listeners run at
  // once, as in pi; what a call emits is also in its answer (`bus`), and the host hands
  // it to the other extensions listening on that channel (registry `channels`) when this
  // call has answered (host/pi_host.c). Data crosses as JSON. Outside a call (while the
  // factory runs) an emit reaches this VM's listeners only: no host call is waiting.
  const bus = Object.create(null);
  const maxBus = 32;
  const events = freeze({
    on(channel, fn) {
      if (typeof fn !== "function") throw new TypeError("pi.events.on: handler must be a function");
      const c = S(channel), l = bus[c] || (bus[c] = []);
      l.push(fn);
      return () => { const i = l.indexOf(fn); if (i >= 0) l.splice(i, 1); };
    },
    emit(channel, data) {
      const c = S(channel);
      if (cur.bus) {
        if (cur.bus.length >= maxBus) throw new RangeError("pi.events.emit: at most " + maxBus + " events per call");
        cur.bus.push({ channel: c, data: data === undefined ? null : JSON.parse(JSON.stringify(data) ?? "null") });
      }
      for (const fn of (bus[c] || []).slice()) fn(data);
    },
  });
  const allTools = () => keys(tools).map((n) => ({ name: n, description: S(tools[n].description ?? ""),
                                                   parameters: tools[n].parameters ?? { type: "object" } }));
  const pi = freeze({
    on(event, fn) {
      checkEvent(event);
      if (typeof fn !== "function") throw new TypeError("pi.on: handler must be a function");
      const l = handlers[event] || (handlers[event] = []);
      if (l.length >= maxHandlers) throw new RangeError("pi.on: at most " + maxHandlers + " handlers for '" + event + "'");
      if (!l.length) host("events.subscribe", { event });
      l.push(fn);
    },
    registerTool(def) {
      if (!isPlain(def) || typeof def.name !== "string" || !def.name)
        throw new TypeError("pi.registerTool needs {name, description, parameters, execute}");
      if (typeof def.execute !== "function") throw new TypeError("pi.registerTool: '" + def.name + "' needs execute()");
      tools[def.name] = def;
    },
    registerCommand(name, options) {
      const o = isPlain(options) ? options : {};
      if (typeof name !== "string" || !name || typeof o.handler !== "function")
        throw new TypeError("pi.registerCommand needs a name and {handler}");
      commands[name] = o;
    },
    registerShortcut(key, options) { shortcuts[S(key)] = isPlain(options) ? options : {}; },
    registerFlag(name, options) { flags[S(name)] = isPlain(options) ? options : {}; },
    getFlag(name) {
      const cf = isPlain(cur.ctx.flags) ? cur.ctx.flags : isPlain(info.flags) ? info.flags : {};
      if (!hasOwn(flags, name)) return undefined;
      if (hasOwn(cf, name)) {
        const v = cf[name], t = flags[name].type;
        if (t === "boolean") return v === true || v === "true" || v === "1" || v === "";
        return v;
      }
      return flags[name].default;
    },
    registerMessageRenderer(customType, fn) { renderers[S(customType)] = fn; },
    registerProvider(name, config) { providers[S(name)] = config; },
    unregisterProvider(name) { delete providers[S(name)]; },
    sendMessage: (message, options) => intent("sendMessage", { message, options: options ?? null }),
    sendUserMessage: (content, options) => intent("sendUserMessage", { content, options: options ?? null }),
    appendEntry: (customType, data) => intent("appendEntry", { customType: S(customType), data: data ?? null }),
    setSessionName: (name) => intent("setSessionName", { name: S(name) }),
    getSessionName: () => (typeof cur.ctx.sessionName === "string" ? cur.ctx.sessionName : undefined),
    setLabel: (entryId, lbl) => intent("setLabel", { entryId: S(entryId), label: lbl === undefined ? null : S(lbl) }),
    getActiveTools: () => (isArray(cur.ctx.activeTools) ? cur.ctx.activeTools.slice() : keys(tools)),
    getAllTools: () => (isArray(cur.ctx.tools) ? cur.ctx.tools.slice() : []).concat(allTools()),
    setActiveTools: (names) => intent("setActiveTools", { toolNames: isArray(names) ? names.map(S) : [] }),
    getCommands: () => keys(commands).map((n) => ({ name: n, description: S(commands[n].description ?? ""), source: "extension" })),
    setModel: async (model) => { intent("setModel", { model: model ?? null }); return true; },
    getThinkingLevel: () => S(cur.ctx.thinkingLevel ?? "off"),
    setThinkingLevel: (level) => intent("setThinkingLevel", { level: S(level) }),
    events,
    exec,
  });

  // ---- the chain ----------------------------------------------------------------------------
  // One extension's part of an event: its handlers in order, under pi's rule for that
  // event, from the chain's state so far. The state's `event` is what the next handler
  // sees; `result` is what pi's runner would return so far; `acc` what some events
  // gather (before_agent_start's messages).
  async function chain(name, st, c) {
    let ev = isPlain(st.event) ? st.event : { type: name };
    let result = st.result === undefined ? null : st.result;
    const acc = isPlain(st.acc) ? st.acc : {};
    const errors = [];
    const ctx = makeCtx(c, name === "before_agent_start"
      ? { getSystemPrompt: () => S(ev.systemPrompt ?? "") } : null);
    for (const fn of (handlers[name] || []).slice()) {
      let r;
      try {
        r = await fn(ev, ctx);
      } catch (e) {
        errors.push({ extension: label, message: errMsg(e) });
        if (name === "tool_call") { // pi lets a tool_call handler's throw fail the call: block
          result = { block: true, reason: "Extension '" + label + "' failed in tool_call: " + errMsg(e) };
          break;
        }
        continue;
      }
      if (name === "tool_call") {
        if (r) { result = r; if (r.block) break; }
      } else if (SESSION_BEFORE.includes(name)) {
        if (r) { result = r; if (r.cancel) break; }
      } else if (name === "input") {
        if (r && r.action === "handled") { result = r; break; }
        if (r && r.action === "transform") {
          ev = { ...ev, text: r.text, images: r.images ?? ev.images };
          result = { action: "transform", text: ev.text, images: ev.images };
        }
      } else if (name === "tool_result") {
        if (r) {
          const out = isPlain(result) ? { ...result } : {};
          for (const k of ["content", "details", "isError"])
            if (r[k] !== undefined) { ev = { ...ev, [k]: r[k] }; out[k] = r[k]; }
          if (keys(out).length) result = { content: ev.content, details: ev.details, isError: ev.isError };
        }
      } else if (name === "context") {
        if (r && r.messages) { ev = { ...ev, messages: r.messages }; result = { messages: r.messages }; }
      } else if (name === "before_agent_start") {
        if (r) {
          if (r.message) (acc.messages || (acc.messages = [])).push(r.message);
          if (r.systemPrompt !== undefined) { ev = { ...ev, systemPrompt: r.systemPrompt }; acc.systemPrompt = true; }
          result = { messages: acc.messages, systemPrompt: acc.systemPrompt ? ev.systemPrompt : undefined };
        }
      } else if (name === "before_provider_request") {
        if (r !== undefined) { ev = { ...ev, payload: r }; result = { payload: r }; }
      } else if (name === "message_end") {
        if (r && r.message) {
          if (isPlain(ev.message) && r.message.role !== ev.message.role) {
            errors.push({ extension: label, message: "message_end handlers must return a message with the same role" });
          } else { ev = { ...ev, message: r.message }; result = { message: r.message }; }
        }
      } else if (name === "user_bash") {
        if (r) { result = r; break; }
      } else if (name === "resources_discover") {
        if (r) for (const k of ["skillPaths", "promptPaths", "themePaths"])
          if (isArray(r[k])) (acc[k] || (acc[k] = [])).push(...r[k]);
        result = { skillPaths: acc.skillPaths || [], promptPaths: acc.promptPaths || [], themePaths: acc.themePaths || [] };
      }
    }
    return { state: { event: ev, result, acc }, errors };
  }

  // Runs `f` as the current call with the host's context `c`; the answer carries the
  // intents it made and the registrations as they are now.
  function serve(c, f) {
    const me = { intents: [], bus: [], ctx: isPlain(c) ? c : {} };
    cur = me;
    const done = (v) => ({ ...v, intents: me.intents, bus: me.bus, registry: registry() });
    return Promise.resolve().then(() => f(me.ctx)).then(done);
  }

  function registry() {
    return {
      tools: allTools(),
      commands: keys(commands).map((n) => ({ name: n, description: S(commands[n].description ?? "") })),
      flags: keys(flags).map((n) => ({ name: n, type: S(flags[n].type ?? "string"), default: flags[n].default ?? null })),
      shortcuts: keys(shortcuts), events: keys(handlers).filter((e) => handlers[e].length),
      messageRenderers: keys(renderers), channels: keys(bus).filter((c) => bus[c].length),
      ...(factory !== null && !factory.done ? { factoryPending: true } : {}),
    };
  }

  // ---- modules: pi_node.js, made with what they need from here ---------------------------
  const { MODULES, Buffer, ENOSYS } = native.loadNode()({ S, freeze, isPlain, isArray, keys, host, call, errMsg, exec, execSync, hereCwd, label, noop, pi, text, tools, commands });

  // ---- globals Node code expects: console, timers, fetch, process, Buffer -----------------
  const addTimer = (fn, ms, every, args) => {
    const id = ++timerSeq, n = Number(ms) > 0 ? Number(ms) : 0;
    timers.push({ id, due: now() + n, fn: () => fn(...args), every: every ? Math.max(n, 1) : 0 });
    return id;
  };
  const clearTimer = (id) => { const i = timers.findIndex((t) => t.id === id); if (i >= 0) timers.splice(i, 1); };
  const envGet = (name) => {
    try { const v = host("env.get", { name: S(name) }); return v === null ? undefined : v; }
    catch (e) { if (e.code === "CAPABILITY_DENIED") return undefined; throw e; }
  };
  const globals = {
    Buffer,
    console: freeze({ log: log("info"), info: log("info"), warn: log("warn"), error: log("error"), debug: log("debug") }),
    setTimeout: (fn, ms, ...a) => addTimer(fn, ms, false, a), setInterval: (fn, ms, ...a) => addTimer(fn, ms, true, a),
    clearTimeout: clearTimer, clearInterval: clearTimer,
    queueMicrotask: (fn) => { Promise.resolve().then(fn); },
    fetch: (u, o = {}) => call("http.request", { method: S(o.method ?? "GET").toUpperCase(), url: S(u),
      headers: isPlain(o.headers) ? o.headers : {}, ...(o.body !== undefined ? { body: S(o.body) } : {}) })
      .then((r) => ({ ok: r.status >= 200 && r.status < 300, status: r.status, headers: freeze({ get: (k) => r.headers[S(k).toLowerCase()] ?? null }),
                      text: async () => r.body, json: async () => JSON.parse(r.body) })),
    // process.env reads one variable at a time through the host: env_vars decides (and
    // audits) each; a refused one reads as undefined, as an unset one does.
    process: freeze({ env: new Proxy({}, { get: (t, k) => (typeof k === "string" ? envGet(k) : undefined),
                                           has: (t, k) => typeof k === "string" && envGet(k) !== undefined,
                                           set: () => false, ownKeys: () => [] }),
                      cwd: hereCwd, platform: "linux", arch: "x64", version: "v20.0.0-airlock",
                      versions: freeze({}), argv: [], pid: 0, exit: ENOSYS("process.exit"), on: noop, off: noop,
                      nextTick: (fn, ...a) => { Promise.resolve().then(() => fn(...a)); } }),
  };
  for (const k of keys(globals)) Object.defineProperty(globalThis, k, { value: globals[k], configurable: true, writable: true });

  // ---- calls from the host -------------------------------------------------------------------
  const pendingFactory = () => factory !== null && !factory.done;
  // Starts call `start` (a promise of its answer, or null: nothing of that name), as a
  // call record; after the factory when that is still running.
  function afterFactory(start, name) {
    if (!pendingFactory()) {
      const p = start();
      return p === null ? { state: REC.NO_TARGET } : settle({ state: REC.PENDING }, p, null);
    }
    return settle({ state: REC.PENDING }, factory.p.then(() => {
      const p = start();
      if (p === null) throw new TypeError("no tool '" + S(name) + "' in this instance");
      return p;
    }), null);
  }
  // A tool, command or bus call's answer (a promise), or null when there is no such target.
  function toolStart(name, args) {
    if (args.kind === "bus") { // another extension's pi.events.emit, from the host
      const l = (bus[name] || []).slice();
      return serve(args.ctx, async () => {
        const errors = [];
        for (const fn of l) {
          try { await fn(args.data); } catch (e) { errors.push({ extension: label, message: "pi.events '" + name + "': " + errMsg(e) }); }
        }
        return { errors };
      });
    }
    if (args.kind === "command") {
      const c = hasOwn(commands, name) ? commands[name] : undefined;
      if (!c) return null;
      return serve(args.ctx, async (cx) => {
        const errors = [];
        try { await c.handler(S(args.args ?? ""), makeCtx(cx, commandExtra())); }
        catch (e) { errors.push({ extension: label, message: errMsg(e) }); }
        return { errors };
      });
    }
    const t = hasOwn(tools, name) ? tools[name] : undefined;
    if (!t) return null;
    return serve(args.ctx, async (cx) => {
      const updates = [];
      const signal = freeze({ aborted: false, addEventListener: noop, removeEventListener: noop, throwIfAborted: noop });
      const r = await t.execute(S(args.toolCallId ?? "call"), isPlain(args.params) ? args.params : {}, signal,
                                (u) => { updates.push(u === undefined ? null : u); }, makeCtx(cx));
      const out = { content: isPlain(r) && isArray(r.content) ? r.content : [], details: isPlain(r) ? r.details ?? null : null, updates };
      if (isPlain(r) && r.isError !== undefined) out.isError = !!r.isError;
      return out;
    });
  }

  return {
    pi,
    profile: "pi",
    module: (name) => (hasOwn(MODULES, name) ? MODULES[name] : undefined),
    registry,
    any: () => true, // a pi extension is one even with nothing registered (it may only read)
    factory(p) {
      const f = { done: false, p };
      p.then(() => { f.done = true; }, () => { f.done = true; });
      factory = f;
    },
    // While an async factory is still running (a worker restarted and loaded the
    // extension again; the host waited for it the first time), a call waits for it
    // first: pi runs nothing of an extension before its factory has finished.
    hookBegin: (event) => ((handlers[event] || []).length || pendingFactory() ? 1 : 0),
    // The whole extension is one "handler" to the C side: the chain runs here.
    hook(i, payload) {
      if (i !== 0 || !isPlain(payload)) return { state: REC.NO_TARGET };
      const name = S(payload.event);
      const st = isPlain(payload.piState) ? payload.piState : {};
      return afterFactory(() => serve(payload.piCtx, (c) => chain(name, st, c)), name);
    },
    hooks() {
      const out = {};
      for (const e of keys(handlers)) if (handlers[e].length) out[e] = 1;
      return out;
    },
    tool(name, args) {
      if (!isPlain(args)) return { state: REC.NO_TARGET };
      if (args.kind === "factory") { // the host waits for an async factory still pending at load
        if (factory === null) return { state: REC.NO_TARGET };
        const p = factory.p;
        return settle({ state: REC.PENDING }, serve(args.ctx, async () => { await p; return { errors: [] }; }), null);
      }
      return afterFactory(() => toolStart(name, args), name);
    },
    timers(drop) {
      if (drop === true) { timers.length = 0; waiting.clear(); }
      if (!timers.length) return -1;
      const t = now();
      let next = -1, fired = false;
      for (const tm of timers.slice()) {
        if (tm.due <= t) {
          if (tm.every) tm.due = t + tm.every; else clearTimer(tm.id);
          fired = true;
          try { tm.fn(); } catch (e) { log("error")("timer: " + errMsg(e)); }
        } else if (next < 0 || tm.due - t < next) next = tm.due - t;
      }
      return fired ? 0 : next;
    },
    deliver(id, ok, value) {
      const w = waiting.get(id);
      if (w === undefined) return false;
      waiting.delete(id);
      if (ok) w.resolve(value); else w.reject(value);
      return true;
    },
  };
})
