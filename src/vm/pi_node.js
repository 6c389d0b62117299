// pi_node.js: the modules a pi extension imports (docs/pi-extensions.md lists them):
// node:path, node:os, node:url, node:fs and node:fs/promises over the capability-checked
// fs hostcalls, node:child_process over the exec capability, Buffer, and pi's own
// packages (@mariozechner/pi-coding-agent with its built-in tools, pi-ai's Type and
// StringEnum, pi-tui, inert). Evaluated with the pi profile: pi_ext.js calls the factory
// this script evaluates to with what these modules are made of (its hostcalls, the
// ExtensionAPI object, the per-call working directory), and keeps what it returns.
(function (dep) {
  "use strict";
  const { S, freeze, isPlain, isArray, keys, host, call, errMsg, exec, execSync, hereCwd, label, noop, pi, text, tools, commands } = dep;

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

  return { MODULES, Buffer, ENOSYS };
})
