// saver.js: editor tabs saved on every change, and the page's view remembered.
//
// No edit may be lost, whatever the person does next (refresh, close the window, restart
// the server). So every change is written twice:
//
// 1. At once, synchronously, to a journal in the page's localStorage ({tabs, confirmed}).
//    A refresh a millisecond after a keystroke finds it there; the first `hello` after
//    load prefers an unconfirmed journal over the server's copy and sends it on.
// 2. To the server (`tabs.save`), also at once: one request in flight at a time, and the
//    newest tabs sent as soon as it is answered (edits in between are coalesced, never
//    dropped). `pagehide` and `beforeunload` send what is still unsent.
//
// `saved` is true only when the server has confirmed the newest tabs; the page shows an
// unsaved marker until then. The module owns no socket and no DOM: `send(tabs)` returns
// the request's Promise and `storage` is a Storage (or anything with getItem/setItem), so
// it runs in node with fakes.

export class Saver {
  /**
   * send(tabs) -> Promise: tabs.save on the server. storage: localStorage or a fake (may be
   * null: no journal). key: the journal's storage key. onState(saved): told on every
   * change of `saved`.
   */
  constructor({ send, storage, key = "airlock.tabs", onState = () => {} }) {
    this.send = send;
    this.storage = storage;
    this.key = key;
    this.onState = onState;
    this.latest = null;     // the newest tabs (plain JSON), or null before any change
    this.version = 0;       // bumped per change
    this.confirmed = 0;     // the version the server last confirmed
    this.inFlight = false;
    this.saved = true;
  }

  /** The journal a previous page left unconfirmed: its tabs, or null. */
  unconfirmed() {
    try {
      const j = JSON.parse(this.storage?.getItem(this.key) ?? "null");
      return j && j.confirmed === false && Array.isArray(j.tabs) ? j.tabs : null;
    } catch { return null; }
  }

  /** Records a change: journalled now, sent now or right after the save in flight. */
  change(tabs) {
    this.latest = tabs;
    this.version++;
    this.journal(false);
    this.setSaved(false);
    this.pump();
  }

  /** Sends the newest tabs if they are unsent and nothing is in flight (also: on reconnect). */
  pump() {
    if (this.inFlight || this.latest === null || this.confirmed === this.version) return;
    const version = this.version;
    this.inFlight = true;
    let p;
    try { p = Promise.resolve(this.send(this.latest)); } catch (e) { p = Promise.reject(e); }
    p.then(() => {
      this.inFlight = false;
      this.confirmed = Math.max(this.confirmed, version);
      if (this.confirmed === this.version) { this.journal(true); this.setSaved(true); }
      else this.pump();
    }, () => {
      // Not connected, or the server could not write: stays unsaved (the journal has it);
      // the next change or reconnect sends again.
      this.inFlight = false;
    });
  }

  /** The page is going away: send what is unsent even if a save is in flight. */
  flush() {
    if (this.latest === null || this.confirmed === this.version) return;
    this.journal(false);
    try { this.send(this.latest).catch(() => {}); } catch { /* not connected: the journal has it */ }
  }

  journal(confirmed) {
    if (!this.storage || this.latest === null) return;
    try { this.storage.setItem(this.key, JSON.stringify({ confirmed, tabs: this.latest })); } catch { /* full or denied */ }
  }

  setSaved(saved) {
    if (this.saved === saved) return;
    this.saved = saved;
    this.onState(saved);
  }
}

/** The view a refresh restores (active tab, devtools tab, filters), in localStorage. */
export class ViewState {
  constructor(storage, key = "airlock.view") {
    this.storage = storage;
    this.key = key;
    try { this.v = JSON.parse(storage?.getItem(key) ?? "{}") ?? {}; } catch { this.v = {}; }
    if (typeof this.v !== "object" || Array.isArray(this.v)) this.v = {};
  }
  get(name, fallback) { return this.v[name] ?? fallback; }
  set(name, value) {
    this.v[name] = value;
    try { this.storage?.setItem(this.key, JSON.stringify(this.v)); } catch { /* full or denied */ }
  }
}
