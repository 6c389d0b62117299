// bench_ws.mjs: round trips through a running `airlock serve`, as the page makes them.
// Usage: node --experimental-websocket server/bench_ws.mjs URL [N]   (node 22+: no flag)
// URL is the line the server printed; loads the counter example and increments it N times.
const u = new URL(process.argv[2]);
const N = Number(process.argv[3] ?? 300);
const ws = new WebSocket(`ws://${u.host}/ws?token=${u.searchParams.get('token')}`);
let id = 0; const waiting = new Map(); let treeWaiter = null;
const req = (type, f = {}) => new Promise(r => { const i = ++id; waiting.set(i, r); ws.send(JSON.stringify({ id: i, type, ...f })); });
ws.onmessage = (m) => { const d = JSON.parse(m.data); if (d.re !== undefined && waiting.has(d.re)) { waiting.get(d.re)(d); waiting.delete(d.re); } else if (d.type === 'tree' && treeWaiter) { const w = treeWaiter; treeWaiter = null; w(); } };
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.ceil(s.length * p / 100) - 1)]; };
ws.onopen = async () => {
  const h = await req('hello');
  const src = h.ok.catalog.find(c => c.packageId === 'counter').source;
  const t0 = performance.now();
  const l = await req('load', { packageId: 'counter', source: src });
  const loadMs = performance.now() - t0;
  const iid = l.ok.instance.instanceId;
  await new Promise(r => setTimeout(r, 200));
  const ans = [], tree = [];
  for (let i = 0; i < N; i++) {
    const tp = new Promise(r => { treeWaiter = r; });
    const s = performance.now();
    await req('event', { instanceId: iid, widgetId: 'counter', handler: 'increment' });
    ans.push(performance.now() - s);
    await tp;
    tree.push(performance.now() - s);
  }
  const st = await req('state.get', { instanceId: iid });
  console.log(`load ${loadMs.toFixed(1)} ms; ${N} increments: answer p50 ${pct(ans, 50).toFixed(2)} ms p99 ${pct(ans, 99).toFixed(2)} ms; tree pushed p50 ${pct(tree, 50).toFixed(2)} ms p99 ${pct(tree, 99).toFixed(2)} ms; final value ${st.ok.state.value}`);
  process.exit(0);
};
