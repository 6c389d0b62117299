// The page's DOM-free modules, imported straight into node: the WebSocket client's
// request/answer/push/reconnect logic (against a fake WebSocket, with mocked timers, so
// nothing waits), and the small formatting helpers the panels rely on.

import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { Conn, RequestError, pageToken } from "../../web/js/conn.js";
import { grantModes } from "../../web/js/catalog.js";
import { micros, bytes } from "../../web/js/devtools/metrics.js";
import { slug } from "../../web/js/devtools/docs.js";
import { shortId } from "../../web/js/store.js";

/** Just enough of the browser's WebSocket for Conn; the test drives its events. */
class FakeSocket {
  static OPEN = 1;
  static made = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.listeners = {};
    FakeSocket.made.push(this);
  }
  addEventListener(type, fn) { (this.listeners[type] ??= []).push(fn); }
  fire(type, ev = {}) { for (const fn of this.listeners[type] ?? []) fn(ev); }
  send(text) { this.sent.push(JSON.parse(text)); }
  open() { this.readyState = 1; this.fire("open"); }
  message(obj) { this.fire("message", { data: JSON.stringify(obj) }); }
  drop() { this.readyState = 3; this.fire("close"); }
}

test("Conn: the URL carries the page's token to /ws", () => {
  const c = Conn.fromLocation({ search: "?token=ab%2Fc&x=1", protocol: "http:", host: "127.0.0.1:7777" });
  assert.equal(c.url, "ws://127.0.0.1:7777/ws?token=ab%2Fc");
});

// The opener's one-time ?code= page carries the token in a <meta>; fakes of document,
// sessionStorage and history stand in for the browser's.
function fakeBrowser(token) {
  const log = [];
  const saved = new Map();
  let meta = token === null ? null : { getAttribute: (n) => (n === "content" ? token : null), remove: () => { log.push("meta removed"); meta = null; } };
  return {
    log, saved,
    env: {
      doc: { querySelector: (sel) => (sel === 'meta[name="airlock-token"]' ? meta : null) },
      store: { getItem: (k) => saved.get(k) ?? null, setItem: (k, v) => saved.set(k, v) },
      hist: { state: { s: 1 }, replaceState: (st, _t, url) => log.push(["replaceState", st, url]) },
    },
  };
}

test("pageToken: the code page's token is kept for the tab and the spent code leaves the address", () => {
  const b = fakeBrowser("0123abcd");
  const loc = { search: "?code=feed", pathname: "/", hash: "#x" };
  assert.equal(pageToken(loc, b.env), "0123abcd");
  assert.deepEqual(b.log, ["meta removed", ["replaceState", { s: 1 }, "/#x"]]);
  assert.equal(b.saved.get("airlock.token"), "0123abcd");
  // The reload: address "/", no meta; the tab's copy is used.
  assert.equal(pageToken({ search: "", pathname: "/", hash: "" }, b.env), "0123abcd");
  // The terminal's ?token= URL wins over a remembered one, and is not rewritten.
  assert.equal(pageToken({ search: "?token=beef", pathname: "/", hash: "" }, b.env), "beef");
  assert.equal(b.log.length, 2);
  // Nothing anywhere: "" (the server refuses it, and the page says to open the printed URL).
  assert.equal(pageToken({ search: "", pathname: "/", hash: "" }, fakeBrowser(null).env), "");
  assert.equal(pageToken({ search: "", pathname: "/", hash: "" }, {}), "");
});

test("Conn: answers settle requests by id, pushes reach listeners, a drop reconnects with backoff", async (t) => {
  globalThis.WebSocket = FakeSocket;
  t.after(() => { delete globalThis.WebSocket; });
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => mock.timers.reset());
  FakeSocket.made = [];

  const c = new Conn("ws://h/ws?token=t");
  const statuses = [];
  c.onStatus((s) => statuses.push(s));
  await assert.rejects(c.request("hello"), (e) => e instanceof RequestError && e.code === "DISCONNECTED");

  c.start();
  const ws = FakeSocket.made[0];
  ws.open();
  const a = c.request("load", { packageId: "counter", source: "x" });
  const b = c.request("event", { instanceId: "i" });
  assert.deepEqual(ws.sent.map((m) => [m.id, m.type]), [[1, "load"], [2, "event"]]);
  assert.equal(ws.sent[0].packageId, "counter");

  const pushes = [];
  c.on("tree", (m) => pushes.push(m.widgetId));
  c.on("tree", () => { throw new Error("a broken listener"); });  // must not starve others
  const orig = console.error;
  console.error = () => {};
  ws.message({ type: "tree", instanceId: "i", widgetId: "w" });
  console.error = orig;
  assert.deepEqual(pushes, ["w"]);

  // Answers out of order; an error keeps the protocol's code and line.
  ws.message({ re: 2, error: { code: "VM_TIMEOUT", message: "too slow" } });
  ws.message({ re: 1, error: { code: "PLUGIN_LOAD_ERROR", message: "SyntaxError: x", line: 3 } });
  await assert.rejects(b, (e) => e.code === "VM_TIMEOUT" && e.message === "too slow");
  await assert.rejects(a, (e) => e.code === "PLUGIN_LOAD_ERROR" && e.line === 3);
  const ok = c.request("hello");
  ws.message({ re: 3, ok: { version: "v" } });
  assert.deepEqual(await ok, { version: "v" });
  ws.fire("message", { data: "not json" });  // ignored, not thrown

  // A drop rejects what is pending, shows "disconnected" and retries after 250 ms, then
  // 500 ms after a second drop; a successful open resets the backoff.
  const pending = c.request("metrics");
  ws.drop();
  await assert.rejects(pending, (e) => e.code === "DISCONNECTED");
  assert.equal(c.status, "disconnected");
  mock.timers.tick(249);
  assert.equal(FakeSocket.made.length, 1);
  mock.timers.tick(1);
  assert.equal(FakeSocket.made.length, 2);
  FakeSocket.made[1].drop();
  mock.timers.tick(499);
  assert.equal(FakeSocket.made.length, 2);
  mock.timers.tick(1);
  assert.equal(FakeSocket.made.length, 3);
  FakeSocket.made[2].open();
  assert.equal(c.status, "connected");
  assert.equal(c.backoff, 250);
  assert.deepEqual(statuses, ["connecting", "connected", "disconnected", "connected"]);
});

test("catalog grant modes: R/W for written domains, R for read-only ones, sorted", () => {
  assert.deepEqual(grantModes({ readShared: ["b", "a"], writeShared: ["a"] }),
    [{ domain: "a", mode: "R/W" }, { domain: "b", mode: "R" }]);
  assert.deepEqual(grantModes({ writeShared: ["w"] }), [{ domain: "w", mode: "R/W" }]);
  assert.deepEqual(grantModes({}), []);
  assert.deepEqual(grantModes(null), []);
});

test("formatting helpers", () => {
  assert.equal(micros(420), "420 \u00b5s");
  assert.equal(micros(1830), "1.83 ms");
  assert.equal(micros(undefined), "-");
  assert.equal(bytes(99328), "97 KiB");
  assert.equal(bytes(3 * 1048576), "3.0 MiB");
  assert.equal(slug("The VM: globals, persistence, limits"), "the-vm-globals-persistence-limits");
  assert.equal(slug("2. Plugin-declared reducers"), "2-plugin-declared-reducers");
  assert.equal(shortId("counter@V1StGXR8"), "V1StGXR8");
});

test("diff: what changed between two states, path by path", async () => {
  const { diff, describe } = await import("../../web/js/devtools/diff.js");
  assert.deepEqual(diff({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3, 4] }, d: true }), [
    { path: "b.c[1]", op: "changed", from: 2, to: 3 },
    { path: "b.c[2]", op: "added", to: 4 },
    { path: "d", op: "added", to: true },
  ]);
  assert.deepEqual(diff({ x: 1, y: 2 }, { y: 2 }), [{ path: "x", op: "removed", from: 1 }]);
  assert.deepEqual(diff(1, { v: 1 }), [{ path: "(state)", op: "changed", from: 1, to: { v: 1 } }]);
  assert.deepEqual(diff({ v: [1] }, { v: [1] }), []);
  assert.deepEqual(describe(diff({ value: 1, gone: "x" }, { value: 2, added: [1] })),
    ["value: 1 \u2192 2", "+ added: [1]", "- gone (was \"x\")"]);
});

test("Saver: every change is journalled at once, one save in flight, the newest always sent", async () => {
  const { Saver, ViewState } = await import("../../web/js/saver.js");
  const store = new Map();
  const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
  const sent = [], answers = [], states = [];
  const saver = new Saver({
    storage, onState: (s) => states.push(s),
    send: (tabs) => { sent.push(tabs); return new Promise((resolve, reject) => answers.push({ resolve, reject })); },
  });
  assert.equal(saver.unconfirmed(), null);
  saver.change([{ tabId: "a", source: "1" }]);
  assert.deepEqual(JSON.parse(store.get("airlock.tabs")), { confirmed: false, tabs: [{ tabId: "a", source: "1" }] });
  assert.deepEqual(saver.unconfirmed(), [{ tabId: "a", source: "1" }], "a refresh now finds the edit");
  saver.change([{ tabId: "a", source: "12" }]);
  saver.change([{ tabId: "a", source: "123" }]);
  assert.equal(sent.length, 1, "one save in flight");
  answers[0].resolve();
  await new Promise((r) => setImmediate(r));
  assert.equal(sent.length, 2, "the newest tabs follow as soon as the first is answered");
  assert.deepEqual(sent[1], [{ tabId: "a", source: "123" }]);
  assert.equal(saver.saved, false);
  answers[1].reject(new Error("DISCONNECTED"));
  await new Promise((r) => setImmediate(r));
  assert.equal(saver.saved, false, "a failed save stays unsaved");
  saver.pump();  // as on reconnect
  answers[2].resolve();
  await new Promise((r) => setImmediate(r));
  assert.equal(saver.saved, true);
  assert.deepEqual(states, [false, true]);
  assert.equal(saver.unconfirmed(), null, "the journal is marked confirmed");
  saver.flush();
  assert.equal(sent.length, 3, "flush sends nothing when all is confirmed");

  const v = new ViewState(storage);
  v.set("devtools", "state");
  assert.equal(new ViewState(storage).get("devtools", "timeline"), "state");
  assert.equal(new ViewState({ getItem: () => "not json" }).get("x", 1), 1);
});
