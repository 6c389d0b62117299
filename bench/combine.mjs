// combine.mjs: bench/compare's report: reads the three runs' JSON lines, computes the
// speedups and checks them against the targets; prints a table or one JSON line.
//
//   node combine.mjs original.json thread.json process.json [--json]
import { readFileSync } from "node:fs";
import os from "node:os";

const [origPath, threadPath, processPath] = process.argv.slice(2, 5);
const asJson = process.argv.includes("--json");
const read = (p) => JSON.parse(readFileSync(p, "utf8").trim().split("\n").pop());
const o = read(origPath), t = read(threadPath), p = read(processPath);
const ratio = (a, b) => (a && b ? Math.round((a / b) * 100) / 100 : null);
const med = (s) => (s ? s.median : null);

function speedups(a) {
  return {
    cold_load_speedup: ratio(med(o.original.cold_load_us), med(a.cold_load_us)),
    render_speedup: ratio(med(o.original.render_us), med(a.render_us)),
    event_roundtrip_speedup: ratio(med(o.original.event_us), med(a.event_us)),
    render_speedup_vs_direct: ratio(med(o.direct.render_us), med(a.render_us)),
    rss_per_instance_kib: a.rss_per_instance_kib,
    timeout_overshoot_ms_p99: a.timeout_overshoot_ms ? a.timeout_overshoot_ms.p99 : null,
    throughput_renders_per_s: a.throughput_renders_per_s,
  };
}
// State size (issue 14): each run's `state` rows, [{items, render_us, event_us,
// raw_render_us, raw_event_us}], 0 to 10,000 items; raw QuickJS is the in-process floor
// for a design that parses the state on every call.
function stateFigures(a) {
  const at = (n) => (a.state || []).find((x) => x.items === n);
  const s0 = at(0), s10k = at(10000);
  if (!s0 || !s10k) return {};
  return {
    state_render_10k_over_0: ratio(s10k.render_us, s0.render_us),
    state_event_10k_over_0: ratio(s10k.event_us, s0.event_us),
    render_0_over_raw: ratio(s0.render_us, s0.raw_render_us),
    raw_over_render_10k: ratio(s10k.raw_render_us, s10k.render_us),
    raw_over_event_10k: ratio(s10k.raw_event_us, s10k.event_us),
  };
}
const ts = { ...speedups(t), ...stateFigures(t) }, ps = { ...speedups(p), ...stateFigures(p) };
const out = {
  ...ts,
  emit_noop_ns: t.emit_noop_ns ? t.emit_noop_ns.median : null,
  emit_noop_result_ns: t.emit_noop_result_ns ? t.emit_noop_result_ns.median : null,
  emit_10_of_1000_us: t.emit_10_of_1000_us ? t.emit_10_of_1000_us.median : null,
  ...(t.emit_note ? { emit_note: t.emit_note } : {}),
  process: { ...ps, worker_rss_per_instance_kib: p.worker_rss_per_instance_kib },
};

// The targets: [name, value, test, description].
const targets = [
  ["cold_load_speedup (thread) >= 10", ts.cold_load_speedup, (v) => v >= 10],
  ["cold_load_speedup (process) >= 4", ps.cold_load_speedup, (v) => v >= 4],
  ["render_speedup (thread) >= 20", ts.render_speedup, (v) => v >= 20],
  ["render_speedup (process) >= 8", ps.render_speedup, (v) => v >= 8],
  ["render_speedup_vs_direct (thread) >= 2", ts.render_speedup_vs_direct, (v) => v >= 2],
  ["event_roundtrip_speedup (thread) >= 20", ts.event_roundtrip_speedup, (v) => v >= 20],
  ["rss_per_instance_kib <= 100", ts.rss_per_instance_kib, (v) => v <= 100],
  ["emit_noop_ns < 100", out.emit_noop_ns, (v) => v < 100],
  ["timeout_overshoot_ms_p99 < 2", ts.timeout_overshoot_ms_p99, (v) => v < 2],
  // issue 14
  ["state: render 10k / render 0 (thread) <= 1.5", ts.state_render_10k_over_0, (v) => v <= 1.5],
  ["state: render 10k / render 0 (process) <= 1.5", ps.state_render_10k_over_0, (v) => v <= 1.5],
  ["state: event 10k / event 0 (thread) <= 3", ts.state_event_10k_over_0, (v) => v <= 3],
  ["state: event 10k / event 0 (process) <= 3", ps.state_event_10k_over_0, (v) => v <= 3],
  ["state: render 0 / raw QuickJS (thread) <= 1.5", ts.render_0_over_raw, (v) => v <= 1.5],
  ["state: render 0 / raw QuickJS (process) <= 2", ps.render_0_over_raw, (v) => v <= 2],
  ["state: raw QuickJS / render at 10k (thread) > 1", ts.raw_over_render_10k, (v) => v > 1],
  ["state: raw QuickJS / render at 10k (process) > 1", ps.raw_over_render_10k, (v) => v > 1],
  ["state: raw QuickJS / event at 10k (thread) > 1", ts.raw_over_event_10k, (v) => v > 1],
  ["state: raw QuickJS / event at 10k (process) > 1", ps.raw_over_event_10k, (v) => v > 1],
].map(([name, value, ok]) => ({ name, value, met: value === null || value === undefined ? null : ok(value) }));
out.targets = Object.fromEntries(targets.map((x) => [x.name, x.met]));
out.raw = { original: o.original, direct: o.direct, thread: t, process: p };
out.machine = { cpu: os.cpus()[0]?.model, cores: os.cpus().length,
                memory_gib: Math.round(os.totalmem() / 2 ** 30), kernel: os.release(), node: process.version };

if (asJson) {
  console.log(JSON.stringify(out));
  process.exit(0);
}
const f = (x, d = 1) => (x === null || x === undefined ? "-" : Number(x).toFixed(d));
const row = (name, s, unit) => [name, s ? f(s.median) : "-", s ? f(s.p99) : "-", unit];
const lines = [
  ["workload (median / p99)", "", "", ""],
  ...[["original (worker)", o.original], ["engine direct", o.direct], ["airlock thread", t], ["airlock process", p]]
    .flatMap(([who, r]) => [
      row(`${who}: cold load -> first render`, r.cold_load_us, "us"),
      row(`${who}: render round trip`, r.render_us, "us"),
      row(`${who}: event -> re-render`, r.event_us, "us"),
    ]),
];
console.log(`\n| workload | median | p99 | unit |\n|---|---:|---:|---|`);
for (const l of lines.slice(1)) console.log(`| ${l.join(" | ")} |`);
console.log(`| airlock thread: infinite loop, overshoot of 50 ms deadline | ${f(t.timeout_overshoot_ms?.median, 2)} | ${f(t.timeout_overshoot_ms?.p99, 2)} | ms |`);
console.log(`| airlock process: infinite loop, overshoot of 50 ms deadline | ${f(p.timeout_overshoot_ms?.median, 2)} | ${f(p.timeout_overshoot_ms?.p99, 2)} | ms |`);
console.log(`| airlock thread: emit, no subscriber, 1,000 plugins | ${f(t.emit_noop_ns?.median)} | ${f(t.emit_noop_ns?.p99)} | ns |`);
console.log(`| airlock thread: emit, no subscriber, aggregate JSON wanted | ${f(t.emit_noop_result_ns?.median)} | ${f(t.emit_noop_result_ns?.p99)} | ns |`);
console.log(`| airlock thread: emit, 10 subscribers of 1,000 | ${f(t.emit_10_of_1000_us?.median)} | ${f(t.emit_10_of_1000_us?.p99)} | us |`);
for (const [who, r] of [["thread", t], ["process", p]])
  for (const c of r.latency_vs_instances)
    console.log(`| airlock ${who}: render, ${c.instances} instances loaded | ${f(c.median_us)} | ${f(c.p99_us)} | us |`);
for (const [who, r] of [["thread", t], ["process", p]])
  for (const x of r.state || [])
    console.log(`| airlock ${who}: state ${x.items} items: render / event -> re-render (raw QuickJS) | ` +
                `${f(x.render_us)} / ${f(x.event_us)} | ${f(x.raw_render_us)} / ${f(x.raw_event_us)} | us |`);
console.log(`\n| figure | thread | process |\n|---|---:|---:|`);
for (const k of ["cold_load_speedup", "render_speedup", "event_roundtrip_speedup", "render_speedup_vs_direct",
                 "rss_per_instance_kib", "throughput_renders_per_s", "timeout_overshoot_ms_p99",
                 "state_render_10k_over_0", "state_event_10k_over_0", "render_0_over_raw",
                 "raw_over_render_10k", "raw_over_event_10k"])
  console.log(`| ${k} | ${f(ts[k], 2)} | ${f(ps[k], 2)} |`);
console.log(`| emit_noop_ns | ${f(out.emit_noop_ns)} | |`);
if (t.emit_note) console.log(`\n(emit: ${t.emit_note})`);
console.log(`\n| target | value | met |\n|---|---:|---|`);
for (const x of targets) console.log(`| ${x.name} | ${f(x.value, 2)} | ${x.met === null ? "n/a" : x.met ? "yes" : "NO"} |`);
