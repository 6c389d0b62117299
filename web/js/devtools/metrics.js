// devtools/metrics.js: calls, latency, memory and failures, host-wide and per instance.
//
// The server computes everything (latencies over the host's newest 1000 calls) and pushes
// a fresh body at most once a second; this panel only formats it, and says which window
// the per-call figures cover.

import { h } from "./util.js";

/** 1234 us -> "1.23 ms"; small values stay in microseconds. */
export function micros(us) {
  const n = Number(us);
  if (!Number.isFinite(n)) return "-";
  return n >= 1000 ? (n / 1000).toFixed(2) + " ms" : Math.round(n) + " \u00b5s";
}

/** Bytes as KiB or MiB. */
export function bytes(b) {
  const n = Number(b);
  if (!Number.isFinite(n)) return "-";
  return n >= 1048576 ? (n / 1048576).toFixed(1) + " MiB" : (n / 1024).toFixed(0) + " KiB";
}

export class MetricsPanel {
  constructor(root, store) {
    this.root = root;
    this.store = store;
    store.on("metrics", () => this.draw());
    this.draw();
  }

  draw() {
    const m = this.store.metrics;
    if (!m) {
      this.root.replaceChildren(h("p", { cls: "muted", text: "No metrics yet." }));
      return;
    }
    const w = m.workerEvents ?? {};
    const stat = (label, value, key) => h("div", { cls: "stat", data: { testid: "metric-" + key } }, [
      h("div", { cls: "stat__value", text: value }), h("div", { cls: "stat__label", text: label })]);
    const stats = h("div", { cls: "stats" }, [
      stat("calls", m.calls ?? 0, "calls"),
      stat("p50 latency", micros(m.p50Us), "p50"),
      stat("p99 latency", micros(m.p99Us), "p99"),
      stat("timeouts", m.timeouts ?? 0, "timeouts"),
      stat("crashes", m.crashes ?? 0, "crashes"),
      stat("worker starts", w.starts ?? 0, "worker-starts"),
      stat("worker crashes", w.crashes ?? 0, "worker-crashes"),
      stat("watchdog kills", w.watchdogKills ?? 0, "watchdog-kills"),
      stat("health", m.health ?? "-", "health"),
    ]);
    const head = h("tr", {}, ["instance", "status", "calls", "p50", "p99", "memory", "timeouts", "crashes"].map((c) => h("th", { text: c })));
    const rows = (m.instances ?? []).map((i) => h("tr", { data: { instance: i.instanceId } }, [
      h("td", { cls: "mono", text: i.instanceId }),
      h("td", { text: i.status }),
      h("td", { text: i.calls ?? 0 }),
      h("td", { text: micros(i.p50Us) }),
      h("td", { text: micros(i.p99Us) }),
      h("td", { text: bytes(i.memoryBytes) }),
      h("td", { text: i.timeouts ?? 0 }),
      h("td", { text: i.crashes ?? 0 }),
    ]));
    const note = h("p", { cls: "muted", data: { testid: "metrics-window" },
      text: "Calls, latencies, timeouts and crashes cover the host's newest " + (m.window ?? 1000)
        + " calls (its telemetry window), not the whole run; an instance used only before them shows 0. Dispatches ("
        + (m.dispatchCount ?? 0) + ") and worker events count everything since the server started." });
    this.root.replaceChildren(stats, note, h("div", { cls: "scroll" }, [h("table", { cls: "grid" }, [h("thead", {}, [head]), h("tbody", {}, rows)])]));
  }
}
