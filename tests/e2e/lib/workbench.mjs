// lib/workbench.mjs: start `airlock serve` and a headless chromium for one test.
//
// startWorkbench() spawns `<AIRLOCK_BIN> serve --no-open --port 0 --home <fresh tmpdir>`
// (plus any `args` it is given, e.g. ["--policy", file]) from the repository root, waits for the line `airlock serve: http://...` it prints,
// launches Debian's /usr/bin/chromium through playwright-core (a browser download cannot
// work on our machines, so the executable is always given) and opens the page at
// 1280x800. close() tears down all three (browser, server, tmpdir) and is safe to call
// twice; tests register it with t.after() so it runs on failure too. It also fails the
// test if the server did not exit 0 on SIGTERM or printed a sanitizer report, which makes
// these tests a leak and UB check of the server when AIRLOCK_BIN is an ASan build.
//
// Nothing here sleeps for a fixed time: every wait is for a line of output, a selector or
// a condition in the page, bounded by a generous timeout (AIRLOCK_E2E_TIMEOUT_MS, default
// 30 s) because CI machines are slow and ASan builds slower.
//
// With { viaOpener: true } the server is started without --no-open, with DISPLAY set and
// AIRLOCK_OPENER naming a script (in the tmpdir) that records the URL it is given, as
// xdg-open would be; the page is then opened at that one-time `?code=` URL instead of the
// printed `?token=` one, the way a person's browser is. `openedUrl` is what it was given.
//
// Environment: AIRLOCK_BIN (default build/airlock, relative to the repository root),
// AIRLOCK_CHROMIUM (default /usr/bin/chromium), AIRLOCK_E2E_TIMEOUT_MS. AIRLOCK_WEB_DIR,
// if set, is passed through, so a developer can test web/ edits without rebuilding.

import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const TIMEOUT = Number(process.env.AIRLOCK_E2E_TIMEOUT_MS ?? 30000);
/** For node:test's per-test timeout: room for several waits plus startup. */
export const TEST_TIMEOUT = TIMEOUT * 6;

const SANITIZER = /AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:/;

const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--no-first-run"];

/** Spawns the server; resolves {proc, url, output()} once it printed its URL. */
function startServer(home, args, env = process.env) {
  const bin = path.resolve(REPO, process.env.AIRLOCK_BIN ?? "build/airlock");
  const open = env === process.env ? ["--no-open"] : [];
  const proc = spawn(bin, ["serve", ...open, "--port", "0", "--home", home, ...args], {
    cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error("airlock serve printed no URL within " + TIMEOUT + " ms")), TIMEOUT);
    function fail(err) {
      clearTimeout(timer);
      proc.kill("SIGKILL");
      err.message += "\n--- server output ---\n" + output;
      reject(err);
    }
    const onData = (chunk) => {
      output += chunk;
      const m = /airlock serve: (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1], output: () => output });
      }
    };
    proc.stdout.setEncoding("utf8").on("data", onData);
    proc.stderr.setEncoding("utf8").on("data", onData);
    proc.on("error", (err) => fail(new Error("cannot start " + bin + ": " + err.message)));
    proc.on("exit", (code, sig) => fail(new Error("airlock serve exited early (" + (sig ?? code) + ")")));
  });
}

/** Ends the server: SIGTERM, then SIGKILL if it has not exited within 5 s. */
function stopServer(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => proc.kill("SIGKILL"), 5000);
    proc.once("exit", () => { clearTimeout(kill); resolve(); });
    proc.kill("SIGTERM");
  });
}

/** Writes the fake opener into `dir`; returns {env, opened()} (opened(): its URL, or null yet). */
function fakeOpener(dir) {
  const script = path.join(dir, "opener.sh"), out = path.join(dir, "opened");
  // Written whole, then renamed, so a reader never sees half a line.
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$1" >"${out}.part" && mv "${out}.part" "${out}"\n`);
  chmodSync(script, 0o755);
  return {
    env: { ...process.env, DISPLAY: process.env.DISPLAY || ":airlock-e2e", AIRLOCK_OPENER: script },
    opened: () => (existsSync(out) ? readFileSync(out, "utf8").trim() : null),
  };
}

/** Polls `fn` until it returns something other than null, bounded by TIMEOUT. */
async function until(fn, what) {
  const end = Date.now() + TIMEOUT;
  for (;;) {
    const v = fn();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts a server and a browser page on it. Returns {page, browser, server, url, home,
 * pageErrors, openedUrl, close}. `pageErrors` collects uncaught exceptions in the page and CSP
 * refusals, which tests assert stay empty. `args` are extra `airlock serve` options.
 */
export async function startWorkbench({ args = [], viaOpener = false } = {}) {
  const home = mkdtempSync(path.join(tmpdir(), "airlock-e2e-"));
  let server = null, browser = null;
  let closed = false;
  // Throws (failing the test that registered it) if the server did not stop cleanly on
  // SIGTERM or printed a sanitizer report: under ASan/UBSan this is the leak and UB check.
  const close = async () => {
    if (closed) return;
    closed = true;
    if (browser) await browser.close().catch(() => {});
    if (server) await stopServer(server.proc);
    rmSync(home, { recursive: true, force: true });
    if (!server) return;
    const { exitCode, signalCode } = server.proc;
    const report = SANITIZER.exec(server.output());
    if (report || exitCode !== 0) {
      throw new Error("airlock serve " + (report ? "reported " + report[0] : "exited with " + (signalCode ?? exitCode))
        + "\n--- server output ---\n" + server.output());
    }
  };
  try {
    const opener = viaOpener ? fakeOpener(home) : null;
    server = await startServer(home, args, opener?.env);
    const openedUrl = opener ? await until(opener.opened, "the opener to be run") : null;
    browser = await chromium.launch({
      executablePath: process.env.AIRLOCK_CHROMIUM ?? "/usr/bin/chromium",
      args: CHROMIUM_FLAGS, timeout: TIMEOUT,
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(TIMEOUT);
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    // A CSP refusal (inline script or style, another origin) is an error of the page too.
    page.on("console", (m) => { if (m.type() === "error" && /Content Security Policy/i.test(m.text())) pageErrors.push(m.text()); });
    await page.goto(openedUrl ?? server.url);
    await page.locator("[data-testid=conn-status][data-status=connected]").waitFor();
    await page.locator("[data-testid^=catalog-]").first().waitFor();
    return { page, browser, server, url: server.url, home, pageErrors, openedUrl, close };
  } catch (err) {
    await close();
    throw err;
  }
}

// ---- page operations shared by the tests -------------------------------------------------

/** The card of an instance. */
export const card = (page, instanceId) => page.locator(`[data-testid="instance-${instanceId}"]`);

/**
 * Runs (or reloads) the active editor tab and resolves with its instanceId, or rejects
 * with the inline error's text if the run failed.
 */
export async function runActiveTab(page, { reload = false } = {}) {
  const editor = page.locator("[data-role=editor]");
  await page.locator(`[data-testid=${reload ? "reload" : "run"}]:visible`).click();
  // busy flips to true synchronously on click and back when the answer is in.
  await page.locator("[data-role=editor][data-busy=false]").waitFor();
  const error = page.locator("[data-testid=editor-error]");
  if (await error.isVisible() && (await error.getAttribute("data-code")) && !(await editor.getAttribute("data-instance"))) {
    throw new Error("run failed: " + (await error.innerText()));
  }
  return editor.getAttribute("data-instance");
}

/** Opens a catalog example in a new tab, runs it and waits for its first render. */
export async function runExample(page, packageId) {
  await page.locator(`[data-testid="catalog-${packageId}"]`).click();
  const id = await runActiveTab(page);
  await card(page, id).locator("[data-kind]").first().waitFor();
  return id;
}

/** True when the page's editor is CodeMirror (the build embedded it), false for the textarea. */
export async function isCodeMirror(page) {
  return (await page.locator("[data-role=editor]").getAttribute("data-code-editor")) === "codemirror";
}

/**
 * Replaces the active tab's code with `text` as a person would: the textarea is filled;
 * CodeMirror gets a paste (select all, then a paste event carrying the text), which is
 * how multi-line code arrives there. (Playwright's fill on a contenteditable inserts the
 * text through the browser's editing commands, which add style attributes the page's CSP
 * refuses, before CodeMirror redraws the lines.)
 */
export async function setSource(page, text) {
  const ed = page.locator("[data-testid=editor]");
  if (!(await isCodeMirror(page))) return ed.fill(text);
  await ed.click();
  await page.keyboard.press("ControlOrMeta+a");
  await ed.evaluate((el, t) => {
    const dt = new DataTransfer();
    dt.setData("text/plain", t);
    el.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
  }, text);
  const now = await getSource(page);
  if (now !== text) throw new Error("setSource: the editor holds " + JSON.stringify(now.slice(0, 80)));
}

/** The active tab's code as the editor holds it (textarea or CodeMirror). */
export function getSource(page) {
  return page.locator("[data-testid=editor]").evaluate((e) => e.value);
}

/** The line number the editor's gutter marks as the error's, or null. */
export async function errorGutterLine(page) {
  const m = page.locator(".editor__gutter .is-error, .cm-lineNumbers .cm-gutterElement.is-error");
  return (await m.count()) ? (await m.first().innerText()).trim() : null;
}

/** Opens a New Plugin tab with `source` in the editor and runs it. */
export async function runCustom(page, source) {
  await page.locator("[data-testid=new-plugin]").click();
  await setSource(page, source);
  const id = await runActiveTab(page);
  await card(page, id).locator("[data-kind], [data-testid=widget-error]").first().waitFor();
  return id;
}

/** Clicks a plugin button by its label inside an instance's card. */
export function clickButton(page, instanceId, label) {
  return card(page, instanceId).locator("button[data-kind=button]", { hasText: label }).click();
}

/** Waits until an instance's card shows `text` in a rendered text node. */
export function waitForText(page, instanceId, text) {
  return card(page, instanceId).locator("[data-kind=text]", { hasText: text }).first().waitFor();
}

/** Shows a devtools tab. */
export function showDevtools(page, name) {
  return page.locator(`[data-testid=devtools-tab-${name}]`).click();
}

/** Timeline rows matching data-* attributes, e.g. {instance, action, outcome}. */
export function timelineRows(page, attrs = {}) {
  const sel = Object.entries(attrs).map(([k, v]) => `[data-${k}="${v}"]`).join("");
  return page.locator(`[data-testid=timeline-row]${sel}`);
}

/** Waits until exactly `n` elements match `locator` (polls in the page, no fixed sleeps). */
export async function waitForCount(locator, n) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    const c = await locator.count();
    if (c === n) return;
    if (Date.now() > deadline) throw new Error(`expected ${n} matches of ${locator}, found ${c}`);
    await locator.page().waitForTimeout(50);  // the poll interval of a bounded wait
  }
}
