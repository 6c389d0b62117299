// run.mjs: the original architecture's figures for bench/compare, as one JSON line.
//
// The same workloads as bench/airlock_bench.c, with the same counter plugin:
//   original: a host on the main thread, plugins in quickjs-emscripten inside a Node
//             worker thread, postMessage both ways, state in as JSON text, trees out
//             through JSON.stringify, parsed and validated by the host;
//   direct:   the same runtime called in-process, no worker (still JSON text in and out).
// Event round trip: handler -> intents -> host store (the counter reducer and the shared
// counter-summary domain) -> re-render of the instance's widget.
//
//   node run.mjs --plugin ../../examples/plugins/counter.js [--quick]
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { engine, Instance, validateTree, validateIntents } from "./runtime.mjs";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const code = readFileSync(args[args.indexOf("--plugin") + 1], "utf8");
const N = quick ? { cold: 100, render: 2000, event: 1000 } : { cold: 500, render: 10000, event: 5000 };

const now = () => Number(process.hrtime.bigint()) / 1e3; // microseconds
const COLD_GAP_MS = 3; // cold-load samples are this far apart, in both harnesses
function stat(v) {
  v.sort((a, b) => a - b);
  const n = v.length;
  const median = n % 2 ? v[n >> 1] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return { median, p99: v[Math.min(n - 1, Math.floor(n * 0.99))], n };
}

// A host store in the original's style: local state per instance and one shared domain.
class Store {
  constructor() { this.local = new Map(); this.summary = { totalValue: 0, instanceCount: 0, values: {} }; }
  add(id, meta) { this.local.set(id, structuredClone(meta.initialState ?? {})); }
  stateJson(id) { return JSON.stringify(this.local.get(id)); }
  globalJson(id) {
    const { totalValue, instanceCount } = this.summary;
    return JSON.stringify({ self: { instanceId: id }, shared: { "counter-summary": { totalValue, instanceCount } } });
  }
  apply(id, intents) {
    const changed = new Set();
    for (const it of intents) {
      if (it.scope === "plugin") {
        const s = this.local.get(id);
        const v = Number(s.value ?? 0);
        const next = it.actionType === "increment" ? v + 1 : it.actionType === "decrement" ? v - 1 : 0;
        this.local.set(id, { ...s, value: next });
        changed.add(id);
      } else if (it.domain === "counter-summary") {
        this.summary.values[id] = Number(it.payload?.value ?? 0);
        const vals = Object.values(this.summary.values);
        this.summary = { ...this.summary, totalValue: vals.reduce((a, b) => a + b, 0), instanceCount: vals.length };
        changed.add(id);
      }
    }
    return [...changed];
  }
}

// A client for the worker: one outstanding request at a time, like a sync host call.
function workerClient() {
  const w = new Worker(new URL("./worker.mjs", import.meta.url));
  let next = 1, waiting = null;
  w.on("message", (m) => { if (!m.ready && waiting) { const r = waiting; waiting = null; r(m); } });
  const ready = new Promise((res) => w.once("message", res));
  const call = (m) => new Promise((res, rej) => {
    waiting = (r) => (r.error ? rej(new Error(r.error)) : res(r.ok));
    w.postMessage({ ...m, id: next++ });
  });
  return { ready, call, close: () => w.terminate() };
}

async function measure(backend) {
  const store = new Store();
  let seq = 0;
  const load = async () => {
    const id = "counter@" + (seq++).toString(16).padStart(8, "0");
    const meta = JSON.parse(await backend.load(id, code));
    if (!Array.isArray(meta.widgets)) throw new Error("bad metadata");
    store.add(id, meta);
    return id;
  };
  const render = async (id) => validateTree(JSON.parse(await backend.render(id, "counter", store.stateJson(id), store.globalJson(id))));
  const out = {};

  let v = [];
  for (let i = 0; i < N.cold + 10; i++) {
    const t0 = now();
    const id = await load();
    await render(id);
    const dt = now() - t0;
    if (i >= 10) v.push(dt);
    await backend.unload(id);
    store.local.delete(id);
    await new Promise((res) => setTimeout(res, COLD_GAP_MS)); // as airlock_bench does
  }
  out.cold_load_us = stat(v);

  const id = await load();
  for (let i = 0; i < 200; i++) await render(id);
  v = [];
  for (let i = 0; i < N.render; i++) {
    const t0 = now();
    await render(id);
    v.push(now() - t0);
  }
  out.render_us = stat(v);

  v = [];
  for (let i = 0; i < N.event + 100; i++) {
    const t0 = now();
    const intents = validateIntents(JSON.parse(await backend.event(id, "counter", i % 2 ? "decrement" : "increment",
                                                                   store.stateJson(id), store.globalJson(id))));
    for (const cid of store.apply(id, intents)) await render(cid);
    const dt = now() - t0;
    if (i >= 100) v.push(dt);
  }
  out.event_us = stat(v);
  return out;
}

const Q = await engine();
const direct = new Map();
const directBackend = {
  load: async (id, src) => { const inst = new Instance(Q, src); direct.set(id, inst); return inst.take(); },
  render: async (id, w, s, g) => direct.get(id).render(w, s, g),
  event: async (id, w, h, s, g) => direct.get(id).event(w, h, s, g),
  unload: async (id) => { direct.get(id).dispose(); direct.delete(id); },
};
const client = workerClient();
await client.ready;
const workerBackend = {
  load: (id, src) => client.call({ op: "load", instanceId: id, code: src }),
  render: (id, w, s, g) => client.call({ op: "render", instanceId: id, widget: w, state: s, global: g }),
  event: (id, w, h, s, g) => client.call({ op: "event", instanceId: id, widget: w, handler: h, state: s, global: g }),
  unload: (id) => client.call({ op: "unload", instanceId: id }),
};

const original = await measure(workerBackend);
await client.close();
const directFigures = await measure(directBackend);
console.log(JSON.stringify({ engine: "quickjs-emscripten@0.32.0", original, direct: directFigures }));
