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
      modelRegistry: undefined,
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
    else if (cur.ctx.cwd !== undefined) a.cwd = S(cur.ctx.cwd);
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
      if (!r.startsWith("/")) r = S(cur.ctx.cwd ?? "/") + "/" + r;
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
  const fs = freeze({
    readFileSync: (p) => readText(p),
    writeFileSync: (p, data) => { host("fs.writeText", { path: abs(p), text: S(data) }); },
    appendFileSync: (p, data) => {
      let old = "";
      try { old = readText(p); } catch (e) { if (e.code === "CAPABILITY_DENIED") throw e; }
      host("fs.writeText", { path: abs(p), text: old + S(data) });
    },
    existsSync: (p) => { try { return host("fs.exists", { path: abs(p) }) === true; } catch (e) { if (e.code === "CAPABILITY_DENIED") throw e; return false; } },
    readdirSync: (p) => host("fs.list", { path: abs(p) }),
    statSync: ENOSYS("fs.statSync"), lstatSync: ENOSYS("fs.lstatSync"), mkdirSync: ENOSYS("fs.mkdirSync"),
    rmSync: ENOSYS("fs.rmSync"), unlinkSync: ENOSYS("fs.unlinkSync"), renameSync: ENOSYS("fs.renameSync"),
    watch: ENOSYS("fs.watch"), createReadStream: ENOSYS("fs.createReadStream"), createWriteStream: ENOSYS("fs.createWriteStream"),
    constants: freeze({ F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1 }),
  });
  const fsp = freeze({
    readFile: (p) => call("fs.readText", { path: abs(p) }),
    writeFile: (p, data) => call("fs.writeText", { path: abs(p), text: S(data) }).then(() => undefined),
    readdir: (p) => call("fs.list", { path: abs(p) }),
    access: (p) => call("fs.exists", { path: abs(p) }).then((ok) => { if (!ok) throw enoent(p); }),
    appendFile: (p, data) => Promise.resolve().then(() => fs.appendFileSync(p, data)),
    mkdtemp: () => Promise.reject(new Error("fs.mkdtemp is not available to a pi extension in Airlock")),
    stat: () => Promise.reject(new Error("fs.stat is not available to a pi extension in Airlock")),
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
    parseFrontmatter: (t) => ({ frontmatter: {}, body: S(t) }),
  };
  // pi's built-in tools are the agent's, not an extension's: the factories answer a tool
  // definition (so an extension can wrap or re-register one) whose execute() says so.
  for (const t of ["bash", "read", "write", "edit", "find", "grep", "ls"]) {
    const fname = "create" + t[0].toUpperCase() + t.slice(1) + "Tool";
    agent[fname] = () => ({ name: t, label: t, description: "pi's built-in " + t + " tool (not run by Airlock)",
                            parameters: { type: "object" }, execute: ENOSYS("pi's built-in " + t + " tool") });
  }
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

  // ---- globals Node code expects: console, timers, fetch, process ------------------------
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
                      cwd: () => S(cur.ctx.cwd ?? "/"), platform: "linux", arch: "x64", version: "v20.0.0-airlock",
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
