// The counter example: clicks go through the plugin, the host's reducer and the timeline;
// two instances of one package keep separate state.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  startWorkbench, runExample, runCustom, clickButton, waitForText, card, timelineRows, waitForCount,
  showDevtools, TEST_TIMEOUT,
} from "./lib/workbench.mjs";

test("counter: Increment twice shows Counter: 2 and two increment rows", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const id = await runExample(page, "counter");
  assert.match(id, /^counter@[A-Za-z0-9_-]{8}$/);
  await waitForText(page, id, "Counter: 0");
  await clickButton(page, id, "Increment");
  await waitForText(page, id, "Counter: 1");
  await clickButton(page, id, "Increment");
  await waitForText(page, id, "Counter: 2");

  // Each click dispatched `increment` (plugin) and `counter-summary/set-instance` (shared).
  const increments = timelineRows(page, { instance: id, action: "increment" });
  await waitForCount(increments, 2);
  for (const outcome of await increments.evaluateAll((rows) => rows.map((r) => r.dataset.outcome))) {
    assert.equal(outcome, "applied");
  }
  const shared = timelineRows(page, { instance: id, action: "set-instance", domain: "counter-summary" });
  await waitForCount(shared, 2);

  // The Timeline's own filter narrows to the same two rows.
  await page.locator("[data-testid=timeline-filter]").fill("increment");
  await waitForCount(timelineRows(page), 2);
  await page.locator("[data-testid=timeline-filter]").fill("");

  // Expanding a row shows its payload.
  await shared.first().click();
  await page.locator("[data-testid=timeline-payload]").filter({ hasText: '{"value":2}' }).waitFor();

  // The counter's manifest grants counter-summary, so its own write shows in its render.
  await card(page, id).locator("[data-kind=badge]", { hasText: "Shared total: 2" }).waitFor();

  // State panel: the host's local state and the globalState the instance sees.
  await showDevtools(page, "state");
  await page.waitForFunction(() => document.querySelector("[data-testid=local-state]")?.value.includes('"value": 2'));
  await page.locator("[data-testid=global-state]", { hasText: '"totalValue": 2' }).waitFor();
  assert.match(await page.locator("[data-testid=global-state]").innerText(), new RegExp('"instanceId": "' + id + '"'));

  assert.equal(await page.locator("[data-testid=toolbar-instances]").innerText(), "1");
  assert.deepEqual(wb.pageErrors, []);
});

test("two instances of one package stay independent", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const a = await runExample(page, "counter");
  const b = await runExample(page, "counter");
  assert.notEqual(a, b);
  await clickButton(page, a, "Increment");
  await waitForText(page, a, "Counter: 1");
  await clickButton(page, a, "Increment");
  await waitForText(page, a, "Counter: 2");
  await clickButton(page, b, "Decrement");
  await waitForText(page, b, "Counter: -1");
  await waitForText(page, a, "Counter: 2");

  // Both write the shared domain; each render reads the same projection (2 + -1).
  await card(page, a).locator("[data-kind=badge]", { hasText: "Shared total: 1" }).waitFor();
  await card(page, b).locator("[data-kind=badge]", { hasText: "Instances: 2" }).waitFor();

  // Unloading one leaves the other working and drops its contribution.
  await card(page, b).locator("[data-testid=unload]").click();
  await card(page, b).waitFor({ state: "detached" });
  await clickButton(page, a, "Increment");
  await waitForText(page, a, "Counter: 3");
  await card(page, a).locator("[data-kind=badge]", { hasText: "Shared total: 3" }).waitFor();
  assert.equal(await page.locator("[data-testid=toolbar-instances]").innerText(), "1");
  assert.deepEqual(wb.pageErrors, []);
});

test("calculator: 12 + 3 = 15 through button args", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const id = await runExample(page, "calculator");
  for (const [key, shows] of [["1", "Display: 1"], ["2", "Display: 12"], ["+", null], ["3", "Display: 3"], ["=", "Display: 15"]]) {
    await card(page, id).getByRole("button", { name: key, exact: true }).click();
    if (shows) await waitForText(page, id, shows);
    else await card(page, id).locator("[data-kind=badge]", { hasText: "Pending: 12 +" }).waitFor();
  }
  assert.deepEqual(wb.pageErrors, []);
});

test("the timeline draws the newest 200 rows, newest first, as entries stream in", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  // Each click dispatches 30 actions.
  const id = await runCustom(page, `definePlugin(({ ui }) => ({
    initialState: { n: 0 },
    widgets: { main: {
      render({ pluginState }) { return ui.panel([ui.text("n=" + pluginState.n), ui.button("Burst", { onClick: { handler: "burst" } })]); },
      handlers: { burst({ pluginState, dispatchPluginAction }) {
        for (let i = 1; i <= 30; i++) dispatchPluginAction("state/merge", { n: pluginState.n + i });
      } },
    } },
  }));`);
  for (let click = 1; click <= 8; click++) {
    await clickButton(page, id, "Burst");
    await waitForText(page, id, "n=" + click * 30);
  }
  const rows = timelineRows(page, { instance: id });
  await waitForCount(rows, 200);
  const ids = await rows.evaluateAll((els) => els.map((e) => e.dataset.dispatchId));
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] > ids[i], "newest first at row " + i);
  // The newest drawn row is the newest entry: the 240th payload.
  await rows.first().click();
  await page.locator("[data-testid=timeline-payload]", { hasText: '{"n":240}' }).waitFor();
  assert.match(await page.locator("[data-testid=panel-timeline]").innerText(), /200 of 240/);
  assert.deepEqual(wb.pageErrors, []);
});
