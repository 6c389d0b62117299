// State devtools like Redux DevTools: the local state is editable (validated, applied
// through the host, recorded in the timeline), every dispatch shows what it changed, and
// Jump puts the instance back in its state after an earlier step, from where it goes on.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  startWorkbench, runExample, clickButton, waitForText, card, timelineRows, waitForCount, showDevtools, TEST_TIMEOUT,
} from "./lib/workbench.mjs";

const stateEdit = (page) => page.locator("[data-testid=local-state]");
const historyRow = (page, seq) => page.locator(`[data-testid=history-row][data-seq="${seq}"]`);

test("editing state in the State tab re-renders the plugin and is in the timeline", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const id = await runExample(page, "counter");
  await clickButton(page, id, "Increment");
  await waitForText(page, id, "Counter: 1");
  await showDevtools(page, "state");
  await page.waitForFunction(() => document.querySelector("[data-testid=local-state]")?.value.includes('"value": 1'));

  // Not JSON: refused on the page, nothing sent.
  await stateEdit(page).fill('{"value": 4');
  await page.locator("[data-testid=state-apply]").click();
  await page.locator("[data-testid=state-note]", { hasText: "Not JSON" }).waitFor();
  await waitForText(page, id, "Counter: 1");

  await stateEdit(page).fill('{"value": 41}');
  await page.locator("[data-testid=state-apply]").click();
  await waitForText(page, id, "Counter: 41");
  // The handlers go on from the edited state.
  await clickButton(page, id, "Increment");
  await waitForText(page, id, "Counter: 42");

  await showDevtools(page, "timeline");
  const edits = timelineRows(page, { instance: id, action: "state/set" });
  await waitForCount(edits, 1);
  assert.equal(await edits.first().getAttribute("data-scope"), "host");
  await edits.first().click();
  await page.locator("[data-testid=timeline-payload]", { hasText: '{"value":41}' }).waitFor();
  // The edit sits between the two increments, in time order.
  const order = await timelineRows(page, { instance: id }).evaluateAll((rows) =>
    rows.map((r) => r.dataset.action).filter((a) => a !== "set-instance"));
  assert.deepEqual(order, ["increment", "state/set", "increment"]);
  assert.deepEqual(wb.pageErrors, []);
});

test("each dispatch shows its diff, and jumping to an earlier one restores that state", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const id = await runExample(page, "counter");
  for (let n = 1; n <= 3; n++) {
    await clickButton(page, id, "Increment");
    await waitForText(page, id, "Counter: " + n);
  }
  await showDevtools(page, "state");
  // #1 is the load, #2..#4 the three increments.
  await historyRow(page, 4).waitFor();
  assert.equal(await historyRow(page, 1).getAttribute("data-op"), "load");
  assert.equal(await historyRow(page, 3).getAttribute("data-handler"), "increment");
  assert.equal(await historyRow(page, 3).locator("[data-testid=history-diff]").innerText(), "value: 1 \u2192 2");
  assert.match(await historyRow(page, 3).innerText(), /increment → increment/);

  // Back to the state after the first increment: the plugin shows it, and continues.
  await historyRow(page, 2).locator("[data-testid=history-jump]").click();
  await waitForText(page, id, "Counter: 1");
  await page.waitForFunction(() => document.querySelector("[data-testid=local-state]")?.value.includes('"value": 1'));
  await historyRow(page, 5).waitFor();
  assert.equal(await historyRow(page, 5).getAttribute("data-op"), "state/rewind");
  assert.equal(await historyRow(page, 5).locator("[data-testid=history-diff]").innerText(), "value: 3 \u2192 1");
  await clickButton(page, id, "Increment");
  await waitForText(page, id, "Counter: 2");
  await card(page, id).locator("[data-kind=badge]", { hasText: "Shared total: 2" }).waitFor();
  await showDevtools(page, "timeline");
  await waitForCount(timelineRows(page, { instance: id, action: "state/rewind" }), 1);
  assert.deepEqual(wb.pageErrors, []);
});
