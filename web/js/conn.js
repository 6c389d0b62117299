// conn.js: the page's one WebSocket to `airlock serve` (docs/workbench-protocol.md).
//
// The page is a view over the server's state, so the connection is the page's spine:
// requests go out with an id and come back as a Promise settled by the answer carrying
// that id in `re`; pushes (messages without `re`) go to listeners by type. Nothing here
// blocks: a plugin spinning in its VM only delays the answer to its own request, never
// the page.
//
// When the socket drops, every pending request is rejected (the server will never answer
// it), the status listeners hear "disconnected" and we reconnect with exponential backoff
// (250 ms doubling to 5 s). Each successful (re)connection is announced as "connected";
// main.js then sends `hello` and redraws from scratch, so no push lost while we were away
// leaves the page stale.
//
// A socket that closes without ever opening may mean the server is down, or that it is up
// but refuses our token: it was restarted, and every run has a new token, so this page
// can never get in again. `probe()` (given by main.js: can a static file be fetched?)
// tells the two apart; when the server is up the status becomes "refused" instead of
// "disconnected", and stays so while attempts keep being refused.
//
// The token comes from the address (`?token=`, the URL the terminal shows) or from the
// server: the browser opener is given a one-time `?code=` URL instead (argv is readable by
// every local user; server/server.c), and that one page load carries the token in a
// <meta name="airlock-token">. pageToken() keeps it in this tab's sessionStorage, so a
// reload still connects, and replaces the spent `?code=` in the address, so neither a
// reload nor history presents it again (the server would refuse it with a 403).

const BACKOFF_MIN_MS = 250;
const TOKEN_KEY = "airlock.token";

/**
 * The run's token for this page: from the server's <meta> (then remembered and the address
 * cleaned), else `?token=` in the address, else what this tab remembered, else "".
 * env: {doc, store, hist} (document, sessionStorage, history); absent outside a browser.
 */
export function pageToken(loc, env = browserEnv()) {
  const { doc, store, hist } = env;
  const meta = doc?.querySelector?.('meta[name="airlock-token"]');
  if (meta) {
    const token = meta.getAttribute("content") ?? "";
    meta.remove();
    try { store?.setItem(TOKEN_KEY, token); } catch { /* storage off: this load still works */ }
    hist?.replaceState(hist.state, "", loc.pathname + loc.hash);
    return token;
  }
  const fromUrl = new URLSearchParams(loc.search).get("token");
  if (fromUrl !== null) return fromUrl;
  try { return store?.getItem(TOKEN_KEY) ?? ""; } catch { return ""; }
}

function browserEnv() {
  if (typeof document === "undefined") return {};
  let store = null;
  try { store = window.sessionStorage; } catch { /* denied by the browser's settings */ }
  return { doc: document, store, hist: window.history };
}
const BACKOFF_MAX_MS = 5000;

/** An answer's `error` turned into an Error with the protocol's fields kept. */
export class RequestError extends Error {
  constructor(err) {
    super(String(err?.message ?? "request failed"));
    this.code = String(err?.code ?? "INTERNAL_ERROR");
    if (typeof err?.line === "number") this.line = err.line;
    if (typeof err?.path === "string") this.path = err.path;
    if (typeof err?.instanceId === "string") this.instanceId = err.instanceId;
  }
}

export class Conn {
  /**
   * url: the ws:// URL including the token. Call start() to connect; the object then
   * keeps a connection open for the page's life.
   */
  constructor(url, probe = null) {
    this.url = url;
    this.probe = probe;
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();          // id -> {resolve, reject}
    this.pushListeners = new Map();    // type -> Set of fn(msg)
    this.statusListeners = new Set();  // fn("connecting"|"connected"|"disconnected"|"refused")
    this.backoff = BACKOFF_MIN_MS;
    this.status = "connecting";
  }

  /** Builds the URL from the page's own location: ws://<host>/ws?token=<token> (pageToken()). */
  static fromLocation(loc = window.location, env = browserEnv()) {
    const token = pageToken(loc, env);
    const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
    const probe = () => fetch("/favicon.svg", { cache: "no-store" }).then((r) => r.ok, () => false);
    return new Conn(scheme + "//" + loc.host + "/ws?token=" + encodeURIComponent(token), probe);
  }

  start() { this.open(); }

  /** fn(msg) for every push of `type`; returns a function that removes it. */
  on(type, fn) {
    if (!this.pushListeners.has(type)) this.pushListeners.set(type, new Set());
    this.pushListeners.get(type).add(fn);
    return () => this.pushListeners.get(type).delete(fn);
  }

  /** fn(status) now and on every change of connection status. */
  onStatus(fn) {
    this.statusListeners.add(fn);
    fn(this.status);
  }

  /**
   * Sends {id, type, ...fields}; resolves with the answer's `ok`, rejects with a
   * RequestError (code "DISCONNECTED" if the socket is not open or drops first).
   */
  request(type, fields = {}) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new RequestError({ code: "DISCONNECTED", message: "not connected to airlock serve" }));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ ...fields, id, type }));
    });
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    for (const fn of this.statusListeners) fn(status);
  }

  open() {
    this.setStatus(this.status === "disconnected" ? "disconnected" : "connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    let opened = false;
    ws.addEventListener("open", () => {
      opened = true;
      this.backoff = BACKOFF_MIN_MS;
      this.setStatus("connected");
    });
    ws.addEventListener("message", (ev) => this.receive(ev.data));
    // "close" follows "error" too, so reconnecting is decided in one place.
    ws.addEventListener("close", () => {
      if (this.ws !== ws) return;
      this.ws = null;
      const lost = [...this.pending.values()];
      this.pending.clear();
      for (const p of lost) p.reject(new RequestError({ code: "DISCONNECTED", message: "connection to airlock serve lost" }));
      if (this.status !== "refused" || opened) this.setStatus("disconnected");
      if (!opened && this.probe) {
        this.probe().then((up) => { if (up && this.ws === null) this.setStatus("refused"); }, () => {});
      }
      const delay = this.backoff;
      this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
      setTimeout(() => this.open(), delay);
    });
  }

  receive(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    if (msg === null || typeof msg !== "object") return;
    if ("re" in msg) {
      const p = this.pending.get(msg.re);
      if (!p) return;
      this.pending.delete(msg.re);
      if (msg.error) p.reject(new RequestError(msg.error));
      else p.resolve(msg.ok);
      return;
    }
    const listeners = this.pushListeners.get(msg.type);
    if (!listeners) return;
    for (const fn of listeners) {
      // One broken listener must not starve the others of the push.
      try { fn(msg); } catch (e) { console.error("push listener for", msg.type, e); }
    }
  }
}
