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
  // With a person present (the host's context says hasUI: `airlock emit --ui`), confirm
  // and select become questions through the host's approvals machinery (ui.prompt):
  // confirm is one yes/no, select asks option by option until one is taken. input and
  // editor still answer undefined: an approval carries no text.
  const uiPerson = freeze({
    ...ui,
    confirm: (title, message) => call("ui.prompt", { kind: "confirm", title: S(title ?? ""), message: S(message ?? "") })
      .then((v) => v === true, () => false),
    select: (title, options) => call("ui.prompt", { kind: "select", title: S(title ?? ""),
                                                    options: isArray(options) ? options.map(S) : [] })
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
  const bus = Object.create(null);
  const events = freeze({
    on(channel, fn) {
      const l = bus[channel] || (bus[channel] = []);
      l.push(fn);
      return () => { const i = l.indexOf(fn); if (i >= 0) l.splice(i, 1); };
    },
    emit(channel, data) { for (const fn of (bus[channel] || []).slice()) fn(data); },
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
    const me = { intents: [], ctx: isPlain(c) ? c : {} };
    cur = me;
    const done = (v) => ({ ...v, intents: me.intents, registry: registry() });
    return Promise.resolve().then(() => f(me.ctx)).then(done);
  }

  function registry() {
    return {
      tools: allTools(),
      commands: keys(commands).map((n) => ({ name: n, description: S(commands[n].description ?? "") })),
      flags: keys(flags).map((n) => ({ name: n, type: S(flags[n].type ?? "string"), default: flags[n].default ?? null })),
      shortcuts: keys(shortcuts), events: keys(handlers).filter((e) => handlers[e].length),
      messageRenderers: keys(renderers),
    };
  }

  // ---- modules (the names docs/pi-extensions.md lists) ------------------------------------
  const kType = Symbol("type");
  const ENOSYS = (what) => () => {
    const e = new Error(what + " is not available to a pi extension in Airlock (docs/pi-extensions.md)");
    e.code = "ENOSYS";
    throw e;
  };
  const path = (() => {
    const norm = (p) => {
      const abs = p.startsWith("/"), out = [];
      for (const s of p.split("/")) {
        if (!s || s === ".") continue;
        if (s === "..") { if (out.length && out[out.length - 1] !== "..") out.pop(); else if (!abs) out.push(".."); }
        else out.push(s);
      }
      const r = (abs ? "/" : "") + out.join("/");
      return r || (abs ? "/" : ".");
    };
    const normalize = (p) => { const r = norm(S(p)); return S(p).endsWith("/") && r !== "/" ? r + "/" : r; };
    const join = (...a) => norm(a.map(S).filter((x) => x).join("/") || ".");
    const resolve = (...a) => {
      let r = "";
      for (let i = a.length - 1; i >= 0 && !r.startsWith("/"); i--) r = S(a[i]) + (r ? "/" + r : "");
      if (!r.startsWith("/")) r = hereCwd() + "/" + r;
      return norm(r);
    };
    const dirname = (p) => { p = S(p); const i = p.replace(/\/+$/, "").lastIndexOf("/"); return i < 0 ? "." : i === 0 ? "/" : p.slice(0, i); };
    const basename = (p, ext) => { let b = S(p).replace(/\/+$/, ""); b = b.slice(b.lastIndexOf("/") + 1); return ext && b.endsWith(ext) && b !== ext ? b.slice(0, -ext.length) : b; };
    const extname = (p) => { const b = basename(p); const i = b.lastIndexOf("."); return i <= 0 ? "" : b.slice(i); };
    const relative = (from, to) => {
      const f = resolve(from).split("/").filter((x) => x), t = resolve(to).split("/").filter((x) => x);
      let i = 0;
      while (i < f.length && i < t.length && f[i] === t[i]) i++;
      return [...f.slice(i).map(() => ".."), ...t.slice(i)].join("/");
    };
    const isAbsolute = (p) => S(p).startsWith("/");
    const parse = (p) => { const base = basename(p), ext = extname(p); const dir = dirname(p);
      return { root: isAbsolute(p) ? "/" : "", dir, base, ext, name: ext ? base.slice(0, -ext.length) : base }; };
    const format = (o) => (o.dir ? o.dir + "/" : o.root || "") + (o.base ?? (o.name ?? "") + (o.ext ?? ""));
    const m = { sep: "/", delimiter: ":", normalize, join, resolve, dirname, basename, extname, relative, isAbsolute, parse, format };
    m.posix = m;
    return freeze(m);
  })();
  const abs = (p) => {
    if (p !== null && typeof p === "object" && typeof p.href === "string" && p.href.startsWith("file://")) p = p.pathname;
    p = S(p);
    return p.startsWith("/") || p.startsWith("$") ? p : path.resolve(p);
  };
  const enoent = (p, e) => {
    if (e && e.code === "CAPABILITY_DENIED") return e;
    const x = new Error("ENOENT: no such file or directory, '" + S(p) + "'" + (e ? " (" + errMsg(e) + ")" : ""));
    x.code = "ENOENT";
    return x;
  };
  const readText = (p) => host("fs.readText", { path: abs(p) });
  // fs.list answers [{name, type}] and fs.stat {type, size, mtimeMs} | null (the host's
  // lstat: a symlink is reported as one, never followed, so statSync on a link says
  // isSymbolicLink() where Node would describe its target). readdir gives the names, or
  // with {withFileTypes: true} Dirents; stat a Stats, or ENOENT for nothing there.
  class Dirent {
    constructor(name, type, dir) { this.name = name; this.parentPath = dir; this.path = dir; this[kType] = type; }
    isFile() { return this[kType] === "file"; }
    isDirectory() { return this[kType] === "dir"; }
    isSymbolicLink() { return this[kType] === "link"; }
    isFIFO() { return false; } isSocket() { return false; }
    isBlockDevice() { return false; } isCharacterDevice() { return false; }
  }
  class Stats extends Dirent {
    constructor(r) {
      super(undefined, r.type, undefined);
      delete this.name; delete this.parentPath; delete this.path;
      this.size = typeof r.size === "number" ? r.size : 0;
      this.mtimeMs = typeof r.mtimeMs === "number" ? r.mtimeMs : 0;
      this.mtime = new Date(this.mtimeMs);
    }
  }
  const entries = (p, o, list) => {
    const l = isArray(list) ? list.filter((x) => isPlain(x) && typeof x.name === "string") : [];
    if (isPlain(o) && o.withFileTypes === true) return l.map((x) => new Dirent(x.name, S(x.type), abs(p)));
    return l.map((x) => x.name);
  };
  const stats = (p, o, r) => {
    if (isPlain(r)) return new Stats(r);
    if (isPlain(o) && o.throwIfNoEntry === false) return undefined;
    throw enoent(p);
  };
  const fs = freeze({
    readFileSync: (p) => readText(p),
    writeFileSync: (p, data) => { host("fs.writeText", { path: abs(p), text: S(data) }); },
    appendFileSync: (p, data) => {
      let old = "";
      try { old = readText(p); } catch (e) { if (e.code === "CAPABILITY_DENIED") throw e; }
      host("fs.writeText", { path: abs(p), text: old + S(data) });
    },
    existsSync: (p) => { try { return host("fs.exists", { path: abs(p) }) === true; } catch (e) { if (e.code === "CAPABILITY_DENIED") throw e; return false; } },
    readdirSync: (p, o) => entries(p, o, host("fs.list", { path: abs(p) })),
    statSync: (p, o) => stats(p, o, host("fs.stat", { path: abs(p) })),
    lstatSync: (p, o) => stats(p, o, host("fs.stat", { path: abs(p) })),
    get promises() { return fsp; },
    Dirent, Stats, mkdirSync: ENOSYS("fs.mkdirSync"),
    rmSync: ENOSYS("fs.rmSync"), unlinkSync: ENOSYS("fs.unlinkSync"), renameSync: ENOSYS("fs.renameSync"),
    watch: ENOSYS("fs.watch"), createReadStream: ENOSYS("fs.createReadStream"), createWriteStream: ENOSYS("fs.createWriteStream"),
    constants: freeze({ F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1 }),
  });
  const fsp = freeze({
    readFile: (p) => call("fs.readText", { path: abs(p) }),
    writeFile: (p, data) => call("fs.writeText", { path: abs(p), text: S(data) }).then(() => undefined),
    readdir: (p, o) => call("fs.list", { path: abs(p) }).then((l) => entries(p, o, l)),
    access: (p) => call("fs.exists", { path: abs(p) }).then((ok) => { if (!ok) throw enoent(p); }),
    appendFile: (p, data) => Promise.resolve().then(() => fs.appendFileSync(p, data)),
    mkdtemp: () => Promise.reject(new Error("fs.mkdtemp is not available to a pi extension in Airlock")),
    stat: (p, o) => call("fs.stat", { path: abs(p) }).then((r) => stats(p, o, r)),
    lstat: (p, o) => call("fs.stat", { path: abs(p) }).then((r) => stats(p, o, r)),
    mkdir: () => Promise.reject(new Error("fs.mkdir is not available to a pi extension in Airlock")),
  });
  const os = freeze({ homedir: () => "$HOME", tmpdir: () => "/tmp", platform: () => "linux", type: () => "Linux",
                      EOL: "\n", hostname: () => "airlock", arch: () => "x64", cpus: () => [] });
  const url = freeze({
    fileURLToPath: (u) => { const s = typeof u === "string" ? u : S(u && u.href); return decodeURIComponent(s.replace(/^file:\/\//, "")); },
    pathToFileURL: (p) => ({ href: "file://" + abs(p), pathname: abs(p), protocol: "file:", toString() { return this.href; } }),
  });
  // child_process: execSync/execFileSync are synchronous hostcalls; exec/execFile the
  // asynchronous one; spawn is not offered (it would need a stream the host holds open).
  const shellArgs = (cmd) => ["-c", S(cmd)];
  const failIfNonZero = (r, what) => {
    if (r.code !== 0) {
      const e = new Error("Command failed: " + what + (r.stderr ? "\n" + r.stderr : ""));
      e.status = r.code; e.stdout = r.stdout; e.stderr = r.stderr;
      throw e;
    }
    return r.stdout;
  };
  const cbify = (p, cb) => { if (typeof cb === "function") p.then((r) => cb(r.code === 0 ? null : Object.assign(new Error("Command failed"), { code: r.code }), r.stdout, r.stderr), (e) => cb(e, "", "")); };
  const child_process = freeze({
    execSync: (cmd, o) => failIfNonZero(execSync("sh", shellArgs(cmd), o), S(cmd)),
    execFileSync: (file, args, o) => failIfNonZero(execSync(file, isArray(args) ? args : [], isArray(args) ? o : args), S(file)),
    exec: (cmd, o, cb) => { const p = exec("sh", shellArgs(cmd), typeof o === "function" ? {} : o); cbify(p, typeof o === "function" ? o : cb); return {}; },
    execFile: (file, args, o, cb) => {
      const a = isArray(args) ? args : [];
      const rest = isArray(args) ? [o, cb] : [args, o];
      const p = exec(file, a, typeof rest[0] === "function" ? {} : rest[0]);
      cbify(p, typeof rest[0] === "function" ? rest[0] : rest[1]);
      return {};
    },
    spawn: ENOSYS("child_process.spawn"), spawnSync: (file, args, o) => {
      const r = execSync(file, isArray(args) ? args : [], isArray(args) ? o : args);
      return { status: r.code, stdout: r.stdout, stderr: r.stderr, signal: r.killed ? "SIGKILL" : null };
    },
  });
  // TypeBox-compatible builders producing JSON Schema (the shapes TypeBox gives, without
  // its symbols): what pi's tools declare is exposed to the host as JSON Schema.
  const opt = Symbol("optional");
  const Type = freeze({
    Object: (props = {}, o = {}) => {
      const properties = {}, required = [];
      for (const k of keys(props)) {
        const { [opt]: isOpt, ...schema } = props[k] || {};
        properties[k] = schema;
        if (!isOpt) required.push(k);
      }
      const s = { ...o, type: "object", properties };
      if (required.length) s.required = required;
      return s;
    },
    String: (o = {}) => ({ ...o, type: "string" }),
    Number: (o = {}) => ({ ...o, type: "number" }),
    Integer: (o = {}) => ({ ...o, type: "integer" }),
    Boolean: (o = {}) => ({ ...o, type: "boolean" }),
    Null: (o = {}) => ({ ...o, type: "null" }),
    Any: (o = {}) => ({ ...o }), Unknown: (o = {}) => ({ ...o }),
    Array: (items, o = {}) => ({ ...o, type: "array", items }),
    Literal: (v, o = {}) => ({ ...o, const: v, type: typeof v }),
    Union: (anyOf, o = {}) => ({ ...o, anyOf }),
    Enum: (e, o = {}) => ({ ...o, enum: Object.values(e) }),
    Record: (k, v, o = {}) => ({ ...o, type: "object", additionalProperties: v }),
    Tuple: (items, o = {}) => ({ ...o, type: "array", items, minItems: items.length, maxItems: items.length }),
    Optional: (s) => ({ ...s, [opt]: true }),
  });
  const StringEnum = (values, o = {}) => ({ ...o, type: "string", enum: values.slice() });
  class Stub { constructor() {} render() { return []; } invalidate() {} }
  const tuiNames = ["Box", "Text", "Container", "Markdown", "Spacer", "SelectList", "SettingsList", "Editor",
                    "Input", "Loader", "Image", "TruncatedText"];
  // Key.enter is "enter"; Key.ctrl("c") / Key.ctrlShift("u") build "ctrl+c" / "ctrl+shift+u"
  const Key = new Proxy({}, { get: (t, k) => {
    if (typeof k !== "string") return undefined;
    const mods = k.match(/^(ctrl|alt|shift|meta|super)+/i);
    if (mods && mods[0].length === k.length || /^(ctrl|alt|shift|meta|super)[A-Z]/.test(k) || /^(ctrl|alt|shift|meta|super)$/.test(k))
      return (x) => k.replace(/([A-Z])/g, "+$1").toLowerCase() + "+" + S(x);
    return k;
  } });
  const tui = { CURSOR_MARKER: "", Key, fuzzyFilter: (items) => (isArray(items) ? items.slice() : []),
                matchesKey: () => false, isKeyRelease: () => false, parseKey: (k) => S(k),
                visibleWidth: (s) => S(s).length, truncateToWidth: (s, w) => S(s).slice(0, w), wrapTextWithAnsi: (s) => [S(s)] };
  for (const n of tuiNames) tui[n] = class extends Stub {};
  const agent = {
    VERSION: "0.73.1-airlock",
    defineTool: (t) => t,
    isToolCallEventType: (name, ev) => isPlain(ev) && ev.toolName === name,
    isBashToolResult: (ev) => isPlain(ev) && ev.toolName === "bash",
    getAgentDir: () => "$HOME/.pi/agent",
    getMarkdownTheme: () => ({}), getSettingsListTheme: () => ({}),
    BorderedLoader: class extends Stub {}, DynamicBorder: class extends Stub {}, CustomEditor: class extends Stub {},
    withFileMutationQueue: (p, f) => f(),
  };
  // parseFrontmatter / stripFrontmatter: pi's (dist/utils/frontmatter.js) split exactly;
  // the YAML between the fences is read as the subset agent and skill files use: one
  // level of `key: value` (plain, 'single' or "double" quoted; true/false/null/numbers as
  // YAML gives them) and `key:` followed by `- item` lines. Anything else is left out.
  const yamlScalar = (v) => {
    v = v.trim();
    if (/^".*"$/.test(v)) { try { return JSON.parse(v); } catch (e) { return v.slice(1, -1); } }
    if (/^'.*'$/.test(v)) return v.slice(1, -1).replace(/''/g, "'");
    if (v === "" || v === "~" || v === "null") return null;
    if (v === "true" || v === "false") return v === "true";
    if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) return Number(v);
    return v.replace(/\s+#.*$/, "");
  };
  const yamlFlat = (text) => {
    const out = {};
    let list = null;
    for (const line of text.split("\n")) {
      if (!line.trim() || /^\s*#/.test(line)) continue;
      const item = line.match(/^\s+-\s+(.*)$/) || line.match(/^-\s+(.*)$/);
      if (item && list) { list.push(yamlScalar(item[1])); continue; }
      const kv = line.match(/^([A-Za-z0-9_][\w.-]*)\s*:(?:\s+(.*))?$/);
      if (!kv) { list = null; continue; }
      if (kv[2] === undefined || kv[2].trim() === "") { list = []; out[kv[1]] = list; }
      else { list = null; out[kv[1]] = yamlScalar(kv[2]); }
    }
    for (const k of keys(out)) if (isArray(out[k]) && !out[k].length) out[k] = null;
    return out;
  };
  agent.parseFrontmatter = (content) => {
    const n = S(content).replace(/\r\n/g, "\n").replace(/\r/g, "\n");
    if (!n.startsWith("---")) return { frontmatter: {}, body: n };
    const end = n.indexOf("\n---", 3);
    if (end === -1) return { frontmatter: {}, body: n };
    return { frontmatter: yamlFlat(n.slice(4, end)), body: n.slice(end + 4).trim() };
  };
  agent.stripFrontmatter = (content) => agent.parseFrontmatter(content).body;
  // pi's built-in tools, for an extension that wraps or re-registers one. bash runs over
  // the exec capability (below); the others answer a definition whose execute() says it
  // is not available (docs/pi-extensions.md).
  for (const t of ["read", "write", "edit", "find", "grep", "ls"]) {
    const fname = "create" + t[0].toUpperCase() + t.slice(1) + "Tool";
    agent[fname] = agent[fname + "Definition"] = () => ({
      name: t, label: t, description: "pi's built-in " + t + " tool (not run by Airlock)",
      parameters: { type: "object" }, execute: ENOSYS("pi's built-in " + t + " tool") });
  }
  // bash (pi's dist/core/tools/bash.js): the command, after commandPrefix and spawnHook,
  // runs as `bash -c SCRIPT` through exec.run, so the host's exec capability decides on
  // (and audits) exactly that line; nothing runs unless the policy grants it. The hook
  // gets env {} (process.env is read one name at a time, never listed) and the variables
  // it returns are exported at the top of SCRIPT (one it removes stays set: the host's
  // environment is the child's). Output is stdout then stderr (the host captures them
  // apart), its tail kept as pi keeps it; a non-zero exit or the deadline throws, as pi's.
  const shq = (v) => "'" + S(v).replace(/'/g, "'\\''") + "'";
  agent.createLocalBashOperations = () => ({
    exec: async (command, cwd, o = {}) => {
      const env = isPlain(o.env) ? o.env : {};
      const pre = keys(env).filter((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && env[k] !== undefined && env[k] !== null)
        .map((k) => "export " + k + "=" + shq(env[k]) + "\n").join("");
      const secs = typeof o.timeout === "number" && o.timeout > 0 ? o.timeout : undefined;
      const r = await exec("bash", ["-c", pre + S(command)], { cwd, timeout: secs ? secs * 1000 : undefined });
      if (typeof o.onData === "function") {
        if (r.stdout) o.onData(Buffer.from(S(r.stdout)));
        if (r.stderr) o.onData(Buffer.from(S(r.stderr)));
      }
      if (r.killed) throw new Error("timeout:" + (secs ?? "?"));
      return { exitCode: r.code };
    },
  });
  agent.createBashTool = agent.createBashToolDefinition = (cwd, options) => {
    const o = isPlain(options) ? options : {};
    const ops = isPlain(o.operations) && typeof o.operations.exec === "function" ? o.operations : agent.createLocalBashOperations();
    const dir = S(cwd ?? hereCwd());
    return {
      name: "bash", label: "bash",
      description: "Execute a bash command in the current working directory. Returns stdout and stderr. Output is truncated to last " +
        agent.DEFAULT_MAX_LINES + " lines or " + agent.DEFAULT_MAX_BYTES / 1024 + "KB (whichever is hit first). Optionally provide a timeout in seconds.",
      promptSnippet: "Execute bash commands (ls, grep, find, etc.)",
      parameters: Type.Object({ command: Type.String({ description: "Bash command to execute" }),
        timeout: Type.Optional(Type.Number({ description: "Timeout in seconds (optional, no default timeout)" })) }),
      async execute(_id, params, signal, onUpdate) {
        const p = isPlain(params) ? params : {};
        const command = o.commandPrefix ? S(o.commandPrefix) + "\n" + S(p.command) : S(p.command);
        const base = { command, cwd: dir, env: {} };
        const sc = typeof o.spawnHook === "function" ? o.spawnHook(base) : base;
        const chunks = [];
        const onData = (d) => { chunks.push(Buffer.isBuffer(d) ? d.toString("utf8") : S(d)); };
        const withStatus = (t, status) => (t ? t + "\n\n" : "") + status;
        let exitCode;
        try {
          ({ exitCode } = await ops.exec(S(sc.command), S(sc.cwd ?? dir), { onData, signal, timeout: p.timeout, env: sc.env }));
        } catch (e) {
          const m = errMsg(e);
          if (m.startsWith("timeout:")) throw new Error(withStatus(chunks.join(""), "Command timed out after " + m.slice(8) + " seconds"));
          throw e;
        }
        const all = chunks.join("");
        const t = agent.truncateTail(all);
        let out = t.content || "(no output)";
        if (t.truncated)
          out += "\n\n[Showing lines " + (t.totalLines - t.outputLines + 1) + "-" + t.totalLines + " of " + t.totalLines + "]";
        if (exitCode !== 0 && exitCode !== null && exitCode !== undefined)
          throw new Error(withStatus(t.content, "Command exited with code " + exitCode));
        return { content: [{ type: "text", text: out }], details: t.truncated ? { truncation: t } : undefined };
      },
    };
  };
  for (const n of ["convertToLlm", "serializeConversation"]) agent[n] = ENOSYS(n);
  agent.DEFAULT_MAX_BYTES = 50 * 1024;
  agent.DEFAULT_MAX_LINES = 2000;
  agent.formatSize = (n) => (n < 1024 ? n + "B" : n < 1048576 ? (n / 1024).toFixed(1) + "KB" : (n / 1048576).toFixed(1) + "MB");
  const trunc = (tail) => (content, o = {}) => {
    const maxLines = o.maxLines ?? agent.DEFAULT_MAX_LINES, lines = S(content).split("\n");
    const kept = lines.length > maxLines ? (tail ? lines.slice(-maxLines) : lines.slice(0, maxLines)) : lines;
    const out = kept.join("\n");
    return { content: out, truncated: kept.length < lines.length, totalLines: lines.length, outputLines: kept.length,
             totalBytes: S(content).length, outputBytes: out.length };
  };
  agent.truncateHead = trunc(false);
  agent.truncateTail = trunc(true);
  const piAi = { Type, StringEnum, complete: ENOSYS("pi-ai complete"), streamSimple: ENOSYS("pi-ai streamSimple"),
                 streamSimpleAnthropic: ENOSYS("pi-ai streamSimpleAnthropic"),
                 streamSimpleOpenAIResponses: ENOSYS("pi-ai streamSimpleOpenAIResponses"),
                 createAssistantMessageEventStream: ENOSYS("pi-ai createAssistantMessageEventStream"),
                 calculateCost: () => ({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 }),
                 getModel: () => undefined, registerApiProvider: noop };
  const MODULES = freeze({
    "@mariozechner/pi-coding-agent": freeze(agent), "@mariozechner/pi-ai": freeze(piAi),
    "@mariozechner/pi-tui": freeze(tui), "@sinclair/typebox": freeze({ Type }), "typebox": freeze({ Type }),
    "node:path": path, "node:fs": fs, "node:fs/promises": fsp, "node:os": os, "node:url": url,
    "node:child_process": child_process,
    "node:util": freeze({ promisify: (f) => (...a) => new Promise((res, rej) => f(...a, (e, v) => (e ? rej(e) : res(v)))),
                          inspect: (x) => text(x), format: (...a) => a.map(text).join(" ") }),
    "node:module": freeze({ createRequire: () => ENOSYS("require") }),
  });

  // ---- Buffer ---------------------------------------------------------------------------------
  // A minimal Node Buffer (QuickJS has none, nor TextEncoder): a Uint8Array subclass with
  // Buffer.from (string in utf8 / base64 / hex / latin1, an array, an ArrayBuffer, a view),
  // alloc, byteLength, concat, isBuffer, and toString / equals / toJSON. Bytes only: no
  // streams, no read/write of numbers (docs/pi-extensions.md).
  const Buffer = (() => {
    const enc = (e) => {
      const x = S(e ?? "utf8").toLowerCase();
      if (x === "utf8" || x === "utf-8") return "utf8";
      if (x === "base64" || x === "hex" || x === "latin1" || x === "ascii") return x;
      if (x === "binary") return "latin1";
      throw new TypeError("Unknown encoding: " + S(e));
    };
    const utf8 = (str) => {
      const out = [];
      for (let i = 0; i < str.length; i++) {
        let c = str.charCodeAt(i);
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < str.length && (str.charCodeAt(i + 1) & 0xfc00) === 0xdc00)
          c = 0x10000 + ((c - 0xd800) << 10) + (str.charCodeAt(++i) - 0xdc00);
        else if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // a lone surrogate, as Node writes it
        if (c < 0x80) out.push(c);
        else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
        else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      }
      return out;
    };
    const unutf8 = (b) => {
      let out = "";
      for (let i = 0; i < b.length;) {
        const c = b[i];
        const n = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
        let cp = n === 0 ? c : n === 1 ? c & 31 : n === 2 ? c & 15 : c & 7, ok = n >= 0;
        for (let k = 1; ok && k <= n; k++) {
          if (i + k >= b.length || (b[i + k] & 0xc0) !== 0x80) ok = false;
          else cp = (cp << 6) | (b[i + k] & 63);
        }
        if (ok && ((n === 2 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) || (n === 3 && (cp < 0x10000 || cp > 0x10ffff)))) ok = false;
        if (!ok) { out += "\ufffd"; i++; continue; }
        out += String.fromCodePoint(cp);
        i += n + 1;
      }
      return out;
    };
    const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unb64 = (str) => {
      const out = [];
      let acc = 0, bits = 0;
      for (const ch of S(str)) {
        const v = ch === "-" ? 62 : ch === "_" ? 63 : B64.indexOf(ch); // Node takes base64url too
        if (v < 0) { if (ch === "=") break; continue; }
        acc = (acc << 6) | v; bits += 6;
        if (bits >= 8) { bits -= 8; out.push((acc >> bits) & 255); }
      }
      return out;
    };
    const b64 = (b) => {
      let out = "";
      for (let i = 0; i < b.length; i += 3) {
        const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
        out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (i + 1 < b.length ? B64[(n >> 6) & 63] : "=") +
               (i + 2 < b.length ? B64[n & 63] : "=");
      }
      return out;
    };
    const unhex = (str) => {
      const out = [];
      for (let i = 0; i + 1 < str.length; i += 2) {
        const v = parseInt(str.slice(i, i + 2), 16);
        if (!/^[0-9a-fA-F]{2}$/.test(str.slice(i, i + 2))) break; // Node stops at the first bad pair
        out.push(v);
      }
      return out;
    };
    const bytesOf = (str, e) => {
      switch (enc(e)) {
        case "utf8": return utf8(str);
        case "base64": return unb64(str);
        case "hex": return unhex(str);
        default: { const o = []; for (let i = 0; i < str.length; i++) o.push(str.charCodeAt(i) & 255); return o; }
      }
    };
    const chars = (b, mask) => { // in slices: a spread of a large buffer would exceed the argument limit
      let out = "";
      for (let i = 0; i < b.length; i += 4096) out += String.fromCharCode(...Array.from(b.subarray(i, i + 4096), (x) => x & mask));
      return out;
    };
    class Buf extends Uint8Array {
      static from(v, e, len) {
        if (typeof v === "string") return new Buf(bytesOf(v, e));
        if (v instanceof ArrayBuffer) return new Buf(v, e ?? 0, len ?? v.byteLength - (e ?? 0));
        if (ArrayBuffer.isView(v)) return new Buf(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
        if (isArray(v) || (v !== null && typeof v === "object" && typeof v.length === "number")) return new Buf(Array.from(v, (x) => Number(x) & 255));
        if (isPlain(v) && v.type === "Buffer" && isArray(v.data)) return new Buf(v.data);
        throw new TypeError("Buffer.from: the first argument must be a string, an array, an ArrayBuffer or a Buffer");
      }
      static alloc(n, fill, e) {
        const b = new Buf(Number(n) | 0);
        if (fill !== undefined) {
          const f = typeof fill === "string" ? bytesOf(fill, e) : [Number(fill) & 255];
          if (f.length) for (let i = 0; i < b.length; i++) b[i] = f[i % f.length];
        }
        return b;
      }
      static allocUnsafe(n) { return new Buf(Number(n) | 0); }
      static byteLength(v, e) {
        if (typeof v === "string") return bytesOf(v, e).length;
        if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v.byteLength;
        throw new TypeError("Buffer.byteLength: a string, Buffer or ArrayBuffer is needed");
      }
      static isBuffer(v) { return v instanceof Buf; }
      static isEncoding(e) { try { enc(e); return true; } catch (x) { return false; } }
      static concat(list, total) {
        if (!isArray(list)) throw new TypeError("Buffer.concat: the list must be an array");
        const n = total === undefined ? list.reduce((a, b) => a + b.length, 0) : Number(total) | 0;
        const out = new Buf(n);
        let at = 0;
        for (const b of list) {
          if (at >= n) break;
          const part = b.length > n - at ? b.subarray(0, n - at) : b;
          out.set(part, at); at += part.length;
        }
        return out;
      }
      toString(e, start, end) {
        const b = this.subarray(start ?? 0, end ?? this.length);
        switch (enc(e)) {
          case "utf8": return unutf8(b);
          case "base64": return b64(b);
          case "hex": return Array.from(b, (x) => (x < 16 ? "0" : "") + x.toString(16)).join("");
          case "ascii": return chars(b, 127);
          default: return chars(b, 255);
        }
      }
      equals(o) { return ArrayBuffer.isView(o) && o.length === this.length && this.every((x, i) => x === o[i]); }
      toJSON() { return { type: "Buffer", data: Array.from(this) }; }
    }
    Object.defineProperty(Buf, "name", { value: "Buffer" });
    return freeze(Buf);
  })();

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

  return {
    pi,
    profile: "pi",
    module: (name) => (hasOwn(MODULES, name) ? MODULES[name] : undefined),
    registry,
    any: () => true, // a pi extension is one even with nothing registered (it may only read)
    hookBegin: (event) => ((handlers[event] || []).length ? 1 : 0),
    // The whole extension is one "handler" to the C side: the chain runs here.
    hook(i, payload) {
      if (i !== 0 || !isPlain(payload)) return { state: REC.NO_TARGET };
      const name = S(payload.event);
      const st = isPlain(payload.piState) ? payload.piState : {};
      return settle({ state: REC.PENDING }, serve(payload.piCtx, (c) => chain(name, st, c)), null);
    },
    hooks() {
      const out = {};
      for (const e of keys(handlers)) if (handlers[e].length) out[e] = 1;
      return out;
    },
    tool(name, args) {
      if (!isPlain(args)) return { state: REC.NO_TARGET };
      if (args.kind === "command") {
        const c = hasOwn(commands, name) ? commands[name] : undefined;
        if (!c) return { state: REC.NO_TARGET };
        return settle({ state: REC.PENDING }, serve(args.ctx, async (cx) => {
          const errors = [];
          try { await c.handler(S(args.args ?? ""), makeCtx(cx, commandExtra())); }
          catch (e) { errors.push({ extension: label, message: errMsg(e) }); }
          return { errors };
        }), null);
      }
      const t = hasOwn(tools, name) ? tools[name] : undefined;
      if (!t) return { state: REC.NO_TARGET };
      return settle({ state: REC.PENDING }, serve(args.ctx, async (cx) => {
        const updates = [];
        const signal = freeze({ aborted: false, addEventListener: noop, removeEventListener: noop, throwIfAborted: noop });
        const r = await t.execute(S(args.toolCallId ?? "call"), isPlain(args.params) ? args.params : {}, signal,
                                  (u) => { updates.push(u === undefined ? null : u); }, makeCtx(cx));
        const out = { content: isPlain(r) && isArray(r.content) ? r.content : [], details: isPlain(r) ? r.details ?? null : null, updates };
        if (isPlain(r) && r.isError !== undefined) out.isError = !!r.isError;
        return out;
      }), null);
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
