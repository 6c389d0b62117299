// The official pi extension examples as Airlock's test suite (issue 11).
//
// What it proves, in order, each part reported per example:
//  1. fetch: the pinned @mariozechner/pi-coding-agent tarball is fetched (or taken from the
//     cache) and matches its pinned sha512, and a tampered tarball is refused, not extracted
//     (fetch.mjs, run again in a child against a corrupted copy);
//  2. survey: tests/pi/examples.json names every extension the package ships, exactly once,
//     each with a category, and a reason when it does not run headless; every registration
//     it lists appears as a string in the example's source, and every literal registration
//     in the source is listed (a check on the hand-written survey, not a replacement for it);
//     at least 20 hook/tool/command examples have scenarios; README.md's table is the one
//     readme-table.mjs makes from examples.json;
//  3. load: `airlock check PATH --json` of every example marked "loads" reports, under "pi",
//     the same tools, commands, flags, shortcuts, events and message renderers (as sets);
//  4. scenarios: tests/pi/scenarios/*.json, each a list of `airlock emit|tool|command` steps
//     with expectations on the CLI's public output (strict on action and exit status, loose
//     by regex where pi's text may vary). Each step runs in a fresh directory (the --cwd and
//     the process's cwd), with HOME a directory of the scenario's own, so no example can touch
//     this machine's files; a step's "policy" is written to a file and passed with --policy.
//
// A scenario file: {"example": NAME in examples.json, "plugins"?: [paths in examples/
// extensions, loaded in order; default [example]], "policy"?: a policy object for every step,
// "home"?: {relative path: text} written under HOME, "steps": [...]}. A step is one of
// {"emit": EVENT, "input": payload}, {"tool": NAME, "input": args}, {"command": NAME,
// "args": [...]}, with optional "policy", "files" (written into its cwd), "run" (commands run
// there next, e.g. git init) and "filesAfter" (written after them), and "expect":
//   exit: the status; equals {path: value} (deep); matches / notMatches {path: regex or
//   [regexes]} on the value as text (JSON unless a string); absent [paths]; length {path: n};
//   actionIn [actions]; intents [{type | typeMatches, matches?, notMatches?}], each matched by
//   a different intent (a regex tests the intent's JSON and each of its strings); noIntents
//   [types]; errors n / errorsAtLeast n; after [{run: argv, stdout: regex}] run in the cwd.
// Paths are dotted ("content.0.text"). "airlockOnly": why the step tests Airlock's semantics
// rather than pi's (the pi oracle skips it: tests/pi/oracle/).
//
// Why a node script with no npm dependencies: it runs wherever scripts/node.sh gives a
// node >= 20, with nothing to install; scenarios are data so that reading one tells what
// pi would do, with no code in between.
//
// Usage: AIRLOCK_BIN=build/airlock node tests/pi/run.mjs [--dest DIR] [--only NAME] [--jobs N]
//   --dest  where examples are extracted (default: the directory of AIRLOCK_BIN + /pi-examples)
//   --only  run the load check and scenarios of one example (survey and fetch still run)
// Without AIRLOCK_BIN only the fetch and survey parts run (and say so); exit 1 on any failure.
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir, fetchExamples, PI_TARBALL } from "./fetch.mjs";
import { readmeBlock, README_BEGIN, README_END } from "./readme-table.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const CATEGORIES = ["headless", "model", "tui", "deps", "provider", "host"];
const REG_KEYS = ["tools", "commands", "flags", "shortcuts", "events", "messageRenderers"];
const STEP_TIMEOUT_MS = 30000;

const argv = process.argv.slice(2);
function opt(name, dflt) {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
}
const AIRLOCK = process.env.AIRLOCK_BIN ? resolve(process.env.AIRLOCK_BIN) : null;
const DEST = resolve(opt("--dest", AIRLOCK ? join(dirname(AIRLOCK), "pi-examples") : join(ROOT, "build", "pi-examples")));
const ONLY = opt("--only", null);
// Set by tests/pi/oracle/run.sh, which runs the scenarios against pi's own runtime: steps
// marked "airlockOnly" test Airlock's semantics (capabilities, the fail-closed reason) there.
const ORACLE = process.env.PI_ORACLE === "1";
const JOBS = Math.max(1, parseInt(opt("--jobs", "2"), 10) || 2);

let failures = 0;
const failedLabels = [];
function report(ok, label, details = []) {
  if (!ok) failures++, failedLabels.push(label.replace(/ \(.*$/, ""));
  process.stdout.write(`${ok ? "ok  " : "FAIL"} ${label}\n`);
  for (const d of details) process.stdout.write(`       ${d.replace(/\n/g, "\n       ")}\n`);
}
const clip = (s, n = 700) => (s.length > n ? `${s.slice(0, n)}... (${s.length} chars)` : s);
/* An ASan/UBSan/LSan report in a child's stderr fails the step whatever it printed. */
const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|ThreadSanitizer/;
function sanitizerReport(r) {
  const m = SANITIZER.exec(r.err);
  return m ? [`sanitizer: ${clip(r.err.slice(Math.max(0, m.index - 40)), 600)}`] : [];
}
/* stderr's first two lines: the error, and not the usage text that may follow it. */
const firstLines = (s) => clip(s.trim().split("\n").slice(0, 2).join("\n"), 300);
const show = (v) => (v === undefined ? "(absent)" : clip(JSON.stringify(v)));

// ---- 1. fetch ---------------------------------------------------------------------------

function fetchPart() {
  let ext;
  try {
    ext = fetchExamples(DEST, () => {});
  } catch (e) {
    report(false, "fetch: pinned package", [e.message]);
    return null;
  }
  report(true, `fetch: ${PI_TARBALL} matches its pinned sha512; examples/ extracted to ${dirname(dirname(ext))}`);
  // A corrupted copy in a cache of its own must be refused, with nothing extracted.
  const tmp = mkdtempSync(join(tmpdir(), "pi-fetch-"));
  try {
    const xdg = join(tmp, "xdg");
    mkdirSync(join(xdg, "airlock"), { recursive: true });
    const bad = join(xdg, "airlock", PI_TARBALL);
    copyFileSync(join(cacheDir(), PI_TARBALL), bad);
    writeFileSync(bad, Buffer.concat([readFileSync(bad), Buffer.from("x")]));
    let rc = 0;
    let err = "";
    try {
      execFileSync(process.execPath, [join(HERE, "fetch.mjs"), join(tmp, "out")], {
        env: { ...process.env, XDG_CACHE_HOME: xdg },
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (e) {
      rc = e.status;
      err = String(e.stderr);
    }
    const ok = rc === 1 && /does not match the pinned integrity/.test(err) && !existsSync(join(tmp, "out", "package")) && !existsSync(bad);
    report(ok, "fetch: a tampered tarball is refused and removed, nothing extracted",
      ok ? [] : [`expected exit 1, "does not match the pinned integrity", no extraction; got exit ${rc}: ${clip(err)}`]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return ext;
}

// ---- 2. survey --------------------------------------------------------------------------

function sourcesOf(ext, name) {
  const p = join(ext, name);
  if (!statSync(p).isDirectory()) return readFileSync(p, "utf8");
  let text = "";
  const walk = (d) => {
    for (const f of readdirSync(d)) {
      const q = join(d, f);
      if (statSync(q).isDirectory()) { if (f !== "node_modules") walk(q); }
      else if (/\.(ts|js|mjs)$/.test(f)) text += readFileSync(q, "utf8") + "\n";
    }
  };
  walk(p);
  return text;
}

/* Registrations written as string literals in the source: what the survey must list. */
function literalRegistrations(src) {
  const found = { commands: new Set(), flags: new Set(), events: new Set(), messageRenderers: new Set(), tools: new Set() };
  const take = (re, key) => { for (const m of src.matchAll(re)) found[key].add(m[1]); };
  take(/pi\.registerCommand\(\s*"([^"]+)"/g, "commands");
  take(/pi\.registerFlag\(\s*"([^"]+)"/g, "flags");
  take(/pi\.on\(\s*"([^"]+)"/g, "events");
  take(/pi\.registerMessageRenderer\(\s*"([^"]+)"/g, "messageRenderers");
  take(/pi\.registerTool\(\s*\{\s*name:\s*"([^"]+)"/g, "tools");
  return found;
}

function surveyPart(ext, survey, scenarios) {
  const entries = readdirSync(ext).filter((f) => f !== "README.md").sort();
  const listed = survey.examples.map((e) => e.name);
  const dup = listed.filter((n, i) => listed.indexOf(n) !== i);
  const missing = entries.filter((n) => !listed.includes(n));
  const extra = listed.filter((n) => !entries.includes(n));
  report(!dup.length && !missing.length && !extra.length,
    `survey: examples.json lists all ${entries.length} extensions of the package (README.md aside) exactly once`,
    [...missing.map((n) => `not surveyed: ${n}`), ...extra.map((n) => `not in the package: ${n}`), ...dup.map((n) => `listed twice: ${n}`)]);
  for (const e of survey.examples) {
    if (!entries.includes(e.name)) continue;
    const why = [];
    if (!CATEGORIES.includes(e.category)) why.push(`category "${e.category}" is not one of ${CATEGORIES.join(", ")}`);
    if (typeof e.loads !== "boolean") why.push(`"loads" must be true or false`);
    if (e.category === "headless" && !e.loads) why.push("a headless example must load");
    if (e.category !== "headless" && !(typeof e.reason === "string" && e.reason.length > 10)) why.push("an example that does not run headless needs a reason");
    if (e.category === "headless" && e.reason) why.push("a headless example has no reason not to run");
    for (const k of Object.keys(e.registers || {})) if (!REG_KEYS.includes(k)) why.push(`unknown registration kind "${k}"`);
    const src = sourcesOf(ext, e.name);
    const elsewhere = e.quotedElsewhere || {};
    for (const k of REG_KEYS) {
      for (const n of (e.registers || {})[k] || []) {
        if (!elsewhere[n] && !src.includes(`"${n}"`)) why.push(`${k} "${n}" does not appear as a string in the source`);
      }
    }
    const lit = literalRegistrations(src);
    for (const [k, names] of Object.entries(lit)) {
      const have = [...((e.registers || {})[k] || []), ...((e.later || {})[k] || [])];
      for (const n of names) if (!have.includes(n)) why.push(`the source registers ${k} "${n}", which the survey does not list`);
    }
    if (why.length) report(false, `survey: ${e.name}`, why);
  }
  // Scenarios: every file names a surveyed example and plugins that exist.
  const covered = new Set();
  for (const s of scenarios) {
    const e = survey.examples.find((x) => x.name === s.example);
    const why = [];
    if (!e) why.push(`example "${s.example}" is not in examples.json`);
    for (const p of s.plugins) if (!existsSync(join(ext, p))) why.push(`plugin ${p} is not in the package`);
    if (!Array.isArray(s.steps) || !s.steps.length) why.push("no steps");
    if (why.length) report(false, `survey: scenario ${s.file}`, why);
    if (s.plugins.length === 1 && e) covered.add(e.name);
  }
  const hooky = [...covered].filter((n) => {
    const e = survey.examples.find((x) => x.name === n);
    return e.kind.some((k) => ["hook", "tool", "command"].includes(k));
  });
  report(hooky.length >= 20, `survey: ${hooky.length} hook/tool/command examples have scenarios of their own (at least 20)`);
  // README block.
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const a = readme.indexOf(README_BEGIN);
  const b = readme.indexOf(README_END);
  const want = readmeBlock(survey);
  const have = a >= 0 && b > a ? readme.slice(a, b + README_END.length) : null;
  report(have === want, "survey: README.md's pi extensions table matches examples.json",
    have === want ? [] : [have === null ? `README.md has no ${README_BEGIN} ... ${README_END} block` : "the block differs; regenerate it: node tests/pi/readme-table.mjs --write"]);
}

// ---- running airlock ---------------------------------------------------------------------

function run(args, { cwd, env }) {
  return new Promise((res) => {
    const child = spawn(AIRLOCK, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), STEP_TIMEOUT_MS);
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      // Exactly one JSON object, as the interface says: an extension's own writes to
      // stdout (notify.ts writes terminal escapes) must not reach the CLI's output.
      let json;
      try { json = JSON.parse(out); } catch { json = undefined; }
      res({ code: signal ? `killed by ${signal}${signal === "SIGKILL" ? ` after ${STEP_TIMEOUT_MS / 1000} s` : ""}` : code, out, err, json });
    });
  });
}

const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);

// ---- 3. load ----------------------------------------------------------------------------

async function loadCheck(ext, e, env) {
  const path = join(ext, e.name);
  const r = await run(["check", path, "--json"], { cwd: ext, env });
  const errs = r.json && Array.isArray(r.json.errors) ? r.json.errors.map((x) => `load error: ${clip(x.code ? `${x.code}: ${x.message}` : JSON.stringify(x), 400)}`) : [];
  const fail = (msg) => ({ ok: false, details: [msg, ...errs, `command: airlock check ${quote(path)} --json (exit ${r.code})`,
    ...(errs.length ? [] : [`stdout: ${clip(r.out, 500)}`]), ...(r.err.trim() ? [`stderr: ${firstLines(r.err)}`] : [])] });
  if (!r.json) return fail("expected a JSON report on stdout");
  const pi = r.json.pi;
  if (!pi || typeof pi !== "object") return fail(`expected "pi" registrations in the report (loaded with the pi profile)`);
  const diffs = sanitizerReport(r);
  for (const k of REG_KEYS) {
    const want = [...new Set((e.registers || {})[k] || [])].sort();
    const got = Array.isArray(pi[k]) ? [...new Set(pi[k])].sort() : null;
    if (got === null) diffs.push(`pi.${k}: expected ${JSON.stringify(want)}, got ${show(pi[k])}`);
    else if (JSON.stringify(want) !== JSON.stringify(got)) diffs.push(`pi.${k}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  }
  return diffs.length ? fail(diffs.join("\n")) : { ok: true };
}

// ---- 4. scenarios -------------------------------------------------------------------------

function get(obj, path) {
  let v = obj;
  for (const k of path.split(".")) {
    if (v === null || v === undefined) return undefined;
    v = v[k];
  }
  return v;
}
const asText = (v) => (typeof v === "string" ? v : JSON.stringify(v));
const list = (x) => (Array.isArray(x) ? x : [x]);
function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
}

/* Every way the step's output differs from its expectation, as "expected ..., got ..." lines. */
function compare(expect, r) {
  const why = sanitizerReport(r);
  if ("exit" in expect && r.code !== expect.exit) why.push(`exit: expected ${expect.exit}, got ${r.code}`);
  const checksJson = Object.keys(expect).some((k) => k !== "exit" && k !== "after");
  if (!checksJson) return why;
  const o = r.json;
  if (!o || typeof o !== "object") return [...why, "expected one JSON object on stdout"];
  for (const [p, v] of Object.entries(expect.equals || {}))
    if (!deepEqual(get(o, p), v)) why.push(`${p}: expected ${JSON.stringify(v)}, got ${show(get(o, p))}`);
  for (const [p, res] of Object.entries(expect.matches || {})) {
    const v = get(o, p);
    for (const re of list(res))
      if (v === undefined || !new RegExp(re).test(asText(v))) why.push(`${p}: expected to match /${re}/, got ${show(v)}`);
  }
  for (const [p, res] of Object.entries(expect.notMatches || {})) {
    const v = get(o, p);
    for (const re of list(res))
      if (v === undefined || new RegExp(re).test(asText(v))) why.push(`${p}: expected a value not matching /${re}/, got ${show(v)}`);
  }
  for (const p of expect.absent || []) if (get(o, p) !== undefined) why.push(`${p}: expected absent, got ${show(get(o, p))}`);
  for (const [p, n] of Object.entries(expect.length || {})) {
    const v = get(o, p);
    if (!Array.isArray(v) || v.length !== n) why.push(`${p}: expected an array of ${n}, got ${show(v)}`);
  }
  if (expect.actionIn && !expect.actionIn.includes(o.action)) why.push(`action: expected one of ${JSON.stringify(expect.actionIn)}, got ${show(o.action)}`);
  if (expect.intents || expect.noIntents) {
    if (!Array.isArray(o.intents)) why.push(`intents: expected an array, got ${show(o.intents)}`);
    else {
      const used = new Set();
      for (const spec of expect.intents || []) {
        const i = o.intents.findIndex((it, idx) => !used.has(idx) && it &&
          (!spec.type || it.type === spec.type) &&
          (!spec.typeMatches || new RegExp(spec.typeMatches).test(String(it.type))) &&
          list(spec.matches || []).every((re) => intentMatches(it, re)) &&
          list(spec.notMatches || []).every((re) => !intentMatches(it, re)));
        if (i < 0) why.push(`intents: expected one like ${JSON.stringify(spec)}, got ${show(o.intents)}`);
        else used.add(i);
      }
      for (const t of expect.noIntents || []) {
        const bad = o.intents.filter((it) => it && it.type === t);
        if (bad.length) why.push(`intents: expected no ${t}, got ${show(bad)}`);
      }
    }
  }
  if ("errors" in expect || "errorsAtLeast" in expect) {
    if (!Array.isArray(o.errors)) why.push(`errors: expected an array, got ${show(o.errors)}`);
    else if ("errors" in expect && o.errors.length !== expect.errors) why.push(`errors: expected ${expect.errors}, got ${show(o.errors)}`);
    else if ("errorsAtLeast" in expect && o.errors.length < expect.errorsAtLeast) why.push(`errors: expected at least ${expect.errorsAtLeast}, got ${show(o.errors)}`);
  }
  return why;
}

/* An intent matches a regex when its JSON text does (for key/value pairs such as
 * "level":"warn", whatever the argument's name) or one of its strings does (for text with
 * quotes or newlines, which JSON escapes). */
function intentMatches(it, re) {
  const r = new RegExp(re);
  if (r.test(JSON.stringify(it))) return true;
  const strings = (v) => (typeof v === "string" ? [v] : v && typeof v === "object" ? Object.values(v).flatMap(strings) : []);
  return strings(it).some((t) => r.test(t));
}

function writeFiles(dir, files) {
  for (const [rel, text] of Object.entries(files || {})) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
}

const GIT_ENV = { GIT_CONFIG_NOSYSTEM: "1", GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z", GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z" };

async function runScenario(ext, s, baseEnv) {
  const root = mkdtempSync(join(tmpdir(), "pi-scn-"));
  const home = join(root, "home");
  mkdirSync(home);
  writeFiles(home, s.home);
  const env = { ...baseEnv, HOME: home, ...GIT_ENV };
  const plugins = s.plugins.flatMap((p) => ["--plugin", join(ext, p)]);
  const failed = [];
  try {
    for (const [i, step] of s.steps.entries()) {
      if (ORACLE && step.airlockOnly) continue;
      const cwd = join(root, `step${i + 1}`);
      mkdirSync(cwd);
      writeFiles(cwd, step.files);
      for (const c of step.run || []) execFileSync(c[0], c.slice(1), { cwd, env, stdio: "ignore" });
      writeFiles(cwd, step.filesAfter);
      const policy = step.policy !== undefined ? step.policy : s.policy;
      const extra = [];
      if (policy) {
        const pf = join(root, `policy${i + 1}.json`);
        writeFileSync(pf, JSON.stringify(policy));
        extra.push("--policy", pf);
      }
      const input = join(root, `input${i + 1}.json`);
      writeFileSync(input, JSON.stringify(step.input ?? {}));
      let args;
      if (step.emit) args = ["emit", step.emit, input, ...plugins, "--cwd", cwd, "--no-prompt", ...extra];
      else if (step.tool) args = ["tool", step.tool, input, ...plugins, ...extra];
      else if (step.command) args = ["command", step.command, ...(step.args || []), ...plugins, ...extra];
      else throw new Error(`${s.file} step ${i + 1}: no emit, tool or command`);
      const r = await run(args, { cwd, env });
      const why = compare(step.expect || {}, r);
      for (const a of (step.expect || {}).after || []) {
        let out;
        try { out = execFileSync(a.run[0], a.run.slice(1), { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }); }
        catch (e) { out = `(exit ${e.status}) ${e.stdout || ""}${e.stderr || ""}`; }
        if (!new RegExp(a.stdout).test(out)) why.push(`after: \`${a.run.join(" ")}\` expected stdout /${a.stdout}/, got ${JSON.stringify(out)}`);
      }
      if (why.length) {
        const shown = args.map((a) => (a.startsWith(root) ? a.replace(root, "$TMP") : a.startsWith(ext) ? a.slice(ext.length + 1) : a));
        failed.push([`step ${i + 1} "${step.name}":`, ...why.map((w) => `  ${w}`),
          `  command: airlock ${shown.map(quote).join(" ")}${step.input !== undefined ? `   input: ${clip(JSON.stringify(step.input), 300)}` : ""}`,
          `  stdout: ${clip(r.out.trim(), 500)}`, ...(r.err.trim() ? [`  stderr: ${firstLines(r.err)}`] : [])].join("\n"));
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return failed;
}

async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

// ---- main ------------------------------------------------------------------------------

async function main() {
  const t0 = Date.now();
  const survey = JSON.parse(readFileSync(join(HERE, "examples.json"), "utf8"));
  const sdir = join(HERE, "scenarios");
  const scenarios = readdirSync(sdir).filter((f) => f.endsWith(".json")).sort().map((f) => {
    const s = JSON.parse(readFileSync(join(sdir, f), "utf8"));
    return { ...s, file: f, plugins: s.plugins || [s.example] };
  });
  const ext = fetchPart();
  if (!ext) return finish(t0);
  surveyPart(ext, survey, scenarios);
  if (!AIRLOCK) {
    process.stdout.write("skip load checks and scenarios: AIRLOCK_BIN is not set\n");
    return finish(t0);
  }
  const cache = join(DEST, "cache");
  mkdirSync(cache, { recursive: true });
  // The transpile cache is shared (it is keyed by content); HOME never is (see runScenario).
  const baseEnv = { PATH: process.env.PATH, XDG_CACHE_HOME: cache, LANG: "C.UTF-8", TZ: "UTC" };
  for (const k of ["ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"]) if (process.env[k]) baseEnv[k] = process.env[k];
  const examples = survey.examples.filter((e) => !ONLY || e.name === ONLY);
  const chains = scenarios.filter((s) => s.plugins.length > 1 && (!ONLY || s.plugins.includes(ONLY)));
  const work = [
    ...examples.map((e) => ({ e, scns: scenarios.filter((s) => s.plugins.length === 1 && s.example === e.name) })),
    ...chains.map((s) => ({ chain: s })),
  ];
  const results = await pool(work, JOBS, async (w) => {
    const home = mkdtempSync(join(tmpdir(), "pi-home-"));
    const env = { ...baseEnv, HOME: home };
    try {
      if (w.chain) return { failed: await runScenario(ext, w.chain, env) };
      const failed = [];
      let parts = [];
      if (w.e.loads) {
        const l = await loadCheck(ext, w.e, env);
        if (!l.ok) failed.push(["load: registrations differ from pi's", ...l.details.map((d) => `  ${d}`)].join("\n"));
        parts.push("load");
      }
      for (const s of w.scns) {
        failed.push(...(await runScenario(ext, s, env)).map((f) => `${s.file} ${f}`));
        parts.push(`${s.steps.length} steps`);
      }
      return { failed, parts };
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
  let steps = 0;
  for (const [i, w] of work.entries()) {
    const r = results[i];
    if (w.chain) {
      steps += w.chain.steps.length;
      report(!r.failed.length, `scenario ${w.chain.file} (${w.chain.plugins.join(" + ")}, ${w.chain.steps.length} steps)`, r.failed);
    } else if (!w.e.loads && !w.scns.length) {
      process.stdout.write(`skip ${w.e.name}: ${w.e.category}, ${w.e.reason}\n`);
    } else {
      w.scns.forEach((s) => (steps += s.steps.length));
      report(!r.failed.length, `${w.e.name} (${r.parts.join(", ")})`, r.failed);
    }
  }
  process.stdout.write(`${examples.filter((e) => e.loads).length} load checks, ${steps} scenario steps\n`);
  return finish(t0);
}

function finish(t0) {
  if (failures) process.stdout.write(`failed: ${failedLabels.join(", ")}\n`);
  process.stdout.write(`${failures ? `${failures} FAILED` : "all passed"} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  process.stdout.write(`FAIL runner: ${e.stack || e}\n`);
  process.exit(1);
});
