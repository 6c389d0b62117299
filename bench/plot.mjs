// plot.mjs: the latency-vs-instances plot for BENCHMARKS.md, as a standalone SVG.
//
//   node plot.mjs thread.json process.json > latency.svg
//
// Reads airlock_bench's JSON lines (latency_vs_instances: render median and p99 with 1,
// 10, 100 and 1,000 instances loaded) and draws both isolations on log-log axes.
import { readFileSync } from "node:fs";

const runs = process.argv.slice(2).map((p) => JSON.parse(readFileSync(p, "utf8").trim().split("\n").pop()));
const W = 640, H = 400, L = 70, R = 170, T = 40, B = 60;
const pw = W - L - R, ph = H - T - B;
const counts = [1, 10, 100, 1000];
const x = (n) => L + (Math.log10(n) / 3) * pw;
// log-y: a p99 on a busy machine can be a hundred times the median
const vals = runs.flatMap((r) => r.latency_vs_instances.flatMap((c) => [c.median_us, c.p99_us])).filter((v) => v > 0);
const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...vals))));
const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...vals))));
const y = (v) => T + ph - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ph;
const colors = { thread: "#1f77b4", process: "#d62728", inline: "#2ca02c" };
const out = [];
out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
out.push(`<text x="${L}" y="22" font-size="14">Airlock render round trip vs instances loaded (counter plugin)</text>`);
for (let v = lo; v <= hi; v *= 10) {
  out.push(`<line x1="${L}" x2="${L + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
  out.push(`<text x="${L - 8}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
}
for (const n of counts) {
  out.push(`<line x1="${x(n)}" x2="${x(n)}" y1="${T}" y2="${T + ph}" stroke="#eee"/>`);
  out.push(`<text x="${x(n)}" y="${T + ph + 18}" text-anchor="middle">${n}</text>`);
}
out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}" stroke="black"/>`);
out.push(`<line x1="${L}" x2="${L + pw}" y1="${T + ph}" y2="${T + ph}" stroke="black"/>`);
out.push(`<text x="${L + pw / 2}" y="${H - 15}" text-anchor="middle">instances loaded (log scale)</text>`);
out.push(`<text x="18" y="${T + ph / 2}" text-anchor="middle" transform="rotate(-90 18 ${T + ph / 2})">latency (µs, log scale)</text>`);
let ly = T + 10;
for (const r of runs) {
  const c = colors[r.isolation] || "black";
  for (const [key, dash, label] of [["median_us", "", "median"], ["p99_us", "6 4", "p99"]]) {
    const pts = r.latency_vs_instances.map((p) => `${x(p.instances).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ");
    out.push(`<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2" ${dash ? `stroke-dasharray="${dash}"` : ""}/>`);
    for (const p of r.latency_vs_instances)
      out.push(`<circle cx="${x(p.instances).toFixed(1)}" cy="${y(p[key]).toFixed(1)}" r="3" fill="${c}"/>`);
    out.push(`<line x1="${L + pw + 15}" x2="${L + pw + 45}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2" ${dash ? `stroke-dasharray="${dash}"` : ""}/>`);
    out.push(`<text x="${L + pw + 50}" y="${ly + 4}">${r.isolation} ${label}</text>`);
    ly += 20;
  }
}
out.push(`</svg>`);
console.log(out.join("\n"));
