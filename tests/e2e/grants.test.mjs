// Custom code gets no grants until a person grants them in the Grants tab.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  startWorkbench, runExample, runCustom, clickButton, waitForText, card, timelineRows,
  waitForCount, showDevtools, TEST_TIMEOUT,
} from "./lib/workbench.mjs";

// Writes 5 into counter-summary on every click, and counts its own clicks locally.
const WRITER = `definePlugin(({ ui }) => ({
  title: "Writer",
  initialState: { writes: 0 },
  widgets: {
    main: {
      render({ pluginState }) {
        return ui.panel([
          ui.text("Writes: " + pluginState.writes),
          ui.button("Write 5", { onClick: { handler: "write" } }),
        ]);
      },
      handlers: {
        write({ pluginState, dispatchPluginAction, dispatchSharedAction }) {
          dispatchPluginAction("state/merge", { writes: pluginState.writes + 1 });
          dispatchSharedAction("counter-summary", "set-instance", { value: 5 });
        },
      },
    },
  },
}));
`;

/** The value cell of a dashboard table row ("Total value", "Instances", ...). */
function dashboardCell(page, dashboard, metric) {
  const row = card(page, dashboard).locator("[data-kind=table] tr", { has: page.locator("td", { hasText: metric }) });
  return row.locator("td").nth(1);
}
const dashboardValue = (page, dashboard, metric) => dashboardCell(page, dashboard, metric).innerText();

test("a custom plugin's shared write is denied until write is granted", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const dashboard = await runExample(page, "status-dashboard");
  await card(page, dashboard).locator("[data-kind=table] td", { hasText: "Total value" }).waitFor();
  assert.equal(await dashboardValue(page, dashboard, "Total value"), "0");

  const writer = await runCustom(page, WRITER);
  assert.match(writer, /^custom@/);

  // No grants at all: every box in the Grants tab is clear.
  await showDevtools(page, "grants");
  await page.locator("[data-testid=grants-instance]").selectOption(writer);
  await page.locator("[data-testid=grant-write-counter-summary]").waitFor();
  assert.equal(await page.locator("[data-testid=panel-grants] input[type=checkbox]:checked").count(), 0);
  // Read-only views offer no write box.
  await page.locator("[data-testid=grant-readonly-runtime-registry]").waitFor();
  assert.equal(await page.locator("[data-testid=grant-write-runtime-registry]").count(), 0);
  assert.equal(await page.locator("[data-testid=grant-read-runtime-registry]").count(), 1);

  await clickButton(page, writer, "Write 5");
  await waitForText(page, writer, "Writes: 1");
  const denied = timelineRows(page, { instance: writer, action: "set-instance" });
  await showDevtools(page, "timeline");
  await waitForCount(denied, 1);
  assert.equal(await denied.getAttribute("data-outcome"), "denied");
  assert.equal(await denied.getAttribute("data-reason"), "missing-write-grant:counter-summary");
  await denied.locator("td", { hasText: "missing-write-grant:counter-summary" }).waitFor();
  // The local action in the same event still applied, and the shared total did not move.
  assert.equal(await timelineRows(page, { instance: writer, action: "state/merge", outcome: "applied" }).count(), 1);
  // The dashboard also reads runtime-metrics, so it re-renders after the denied dispatch:
  // once it shows that dispatch, the same tree must still show a total of 0.
  await dashboardCell(page, dashboard, "Last reason").filter({ hasText: "missing-write-grant:counter-summary" }).waitFor();
  assert.equal(await dashboardValue(page, dashboard, "Total value"), "0");
  assert.equal(await dashboardValue(page, dashboard, "Instances"), "0");

  // Grant write in the Grants tab: recorded in the timeline, effective on the next call.
  await showDevtools(page, "grants");
  await page.locator("[data-testid=grants-instance]").selectOption(writer);
  await page.locator("[data-testid=grant-write-counter-summary]").check();
  await page.locator("[data-testid=grants-apply]").click();
  await page.locator("[data-testid=grants-note]", { hasText: "Applied" }).waitFor();
  assert.equal(await page.locator("[data-testid=grant-write-counter-summary]").isChecked(), true);
  await showDevtools(page, "timeline");
  await waitForCount(timelineRows(page, { instance: writer, action: "grants/set" }), 1);

  await clickButton(page, writer, "Write 5");
  await waitForText(page, writer, "Writes: 2");
  const writes = timelineRows(page, { instance: writer, action: "set-instance" });
  await waitForCount(writes, 2);
  // Newest first: the second write applied.
  assert.equal(await writes.first().getAttribute("data-outcome"), "applied");
  await dashboardCell(page, dashboard, "Total value").filter({ hasText: /^5$/ }).waitFor();
  assert.equal(await dashboardValue(page, dashboard, "Total value"), "5");
  assert.deepEqual(wb.pageErrors, []);
});
