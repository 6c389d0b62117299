// measure.mjs: how fast the workbench answers a person, measured in the page.
//
//   AIRLOCK_BIN=build/airlock node tests/e2e/measure.mjs [clicks]
//
// Prints, for the counter's Increment button, the time from the click to the repainted
// "Counter: N" (one WebSocket round trip, the plugin's event, the host's reducer, the
// re-render and its push), timed inside the page with performance.now() and a
// MutationObserver; first on a quiet server, then while another plugin spins in its load
// until its 1 s deadline (the page and other instances must not wait for it).

import { startWorkbench, runExample, setSource } from "./lib/workbench.mjs";

const clicks = Number(process.argv[2] ?? 100);

/** In the page: click Increment `n` times, each after the previous repaint; ms per click. */
async function clickLatencies(page, instanceId, n) {
  return page.evaluate(async ([id, count]) => {
    const card = document.querySelector(`[data-testid="instance-${id}"]`);
    const value = () => Number(/Counter: (-?\d+)/.exec(card.querySelector("[data-kind=text]")?.textContent ?? "")?.[1]);
    const times = [];
    for (let i = 0; i < count; i++) {
      const want = value() + 1;
      const t0 = performance.now();
      await new Promise((resolve) => {
        const obs = new MutationObserver(() => { if (value() === want) { obs.disconnect(); resolve(); } });
        obs.observe(card, { subtree: true, childList: true, characterData: true });
        [...card.querySelectorAll("button[data-kind=button]")].find((b) => b.textContent === "Increment").click();
      });
      times.push(performance.now() - t0);
    }
    return times;
  }, [instanceId, n]);
}

function summary(label, times) {
  const s = [...times].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1);
  console.log(`${label}: n=${s.length} p50=${q(0.5)} ms p99=${q(0.99)} ms max=${s[s.length - 1].toFixed(1)} ms`);
}

const wb = await startWorkbench();
try {
  const { page } = wb;
  const t0 = Date.now();
  await page.reload();
  await page.locator("[data-testid=catalog-counter]").waitFor();
  console.log(`page reload to catalog drawn: ${Date.now() - t0} ms`);

  const counter = await runExample(page, "counter");
  const quiet = await clickLatencies(page, counter, clicks);
  summary("click -> repaint, quiet", quiet);
  // The timeline draws at most 200 rows: once it is full (after 50 clicks of 4 dispatches
  // each), later clicks must cost no more than earlier ones.
  for (let from = 0; from < quiet.length; from += 100) summary(`  clicks ${from + 1}-${Math.min(from + 100, quiet.length)}`, quiet.slice(from, from + 100));

  await page.locator("[data-testid=new-plugin]").click();
  await setSource(page, "for (;;) {}\n");
  await page.locator("[data-testid=run]").click();  // spins for its 1 s load deadline
  const during = await clickLatencies(page, counter, 10);
  const stillBusy = await page.locator("[data-role=editor]").getAttribute("data-busy");
  summary(`click -> repaint, while a load spins (load still running after: ${stillBusy === "true"})`, during);
  await page.locator("[data-role=editor][data-busy=false]").waitFor();
} finally {
  await wb.close();
}
