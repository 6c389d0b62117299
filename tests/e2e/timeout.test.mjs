// Plugins that never return: VM_TIMEOUT is shown where the call was made, the page stays
// responsive, and every other plugin keeps working.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  startWorkbench, runExample, runCustom, clickButton, waitForText, card,
  showDevtools, TEST_TIMEOUT, setSource } from "./lib/workbench.mjs";

// A button whose handler spins forever, and one that works, to show the instance survives.
const SPINNER = `definePlugin(({ ui }) => ({
  title: "Spinner",
  initialState: { pings: 0 },
  widgets: {
    main: {
      render({ pluginState }) {
        return ui.panel([
          ui.text("Pings: " + pluginState.pings),
          ui.row([ui.button("Spin", { onClick: { handler: "spin" } }),
                  ui.button("Ping", { onClick: { handler: "ping" } })]),
        ]);
      },
      handlers: {
        spin() { for (;;) {} },
        ping({ pluginState, dispatchPluginAction }) {
          dispatchPluginAction("state/merge", { pings: pluginState.pings + 1 });
        },
      },
    },
  },
}));
`;

// Spins at load time: never gets as far as definePlugin.
const LOAD_SPINNER = "let n = 0;\nwhile (true) { n++; }\ndefinePlugin(() => ({ widgets: {} }));\n";

// Renders forever.
const RENDER_SPINNER = `definePlugin(({ ui }) => ({
  title: "Render spinner",
  widgets: { main: { render() { for (;;) {} } } },
}));
`;

test("an infinite loop in a handler shows VM_TIMEOUT and nothing else stops", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const counter = await runExample(page, "counter");
  const spinner = await runCustom(page, SPINNER);
  await waitForText(page, spinner, "Pings: 0");

  await clickButton(page, spinner, "Spin");
  // The page answers input while the spin runs: the counter is clicked at once.
  await clickButton(page, counter, "Increment");
  await waitForText(page, counter, "Counter: 1");

  const notice = card(page, spinner).locator("[data-testid=event-error]");
  await notice.waitFor({ state: "visible" });
  assert.equal(await notice.getAttribute("data-code"), "VM_TIMEOUT");
  assert.match(await notice.innerText(), /VM_TIMEOUT/);

  // The spinning instance itself stays usable, and so does everything else.
  await clickButton(page, spinner, "Ping");
  await waitForText(page, spinner, "Pings: 1");
  await notice.waitFor({ state: "hidden" });
  await clickButton(page, counter, "Increment");
  await waitForText(page, counter, "Counter: 2");

  await showDevtools(page, "errors");
  await page.locator("[data-testid=error-row][data-code=VM_TIMEOUT]").first().waitFor();
  await showDevtools(page, "metrics");
  await page.locator("[data-testid=metric-timeouts] .stat__value").filter({ hasNotText: /^0$/ }).waitFor();
  assert.deepEqual(wb.pageErrors, []);
});

test("a plugin that loops at load fails with VM_TIMEOUT while others keep working", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const counter = await runExample(page, "counter");
  await page.locator("[data-testid=new-plugin]").click();
  await setSource(page, LOAD_SPINNER);
  // Only the click is awaited: the load spins until its deadline (the longest, 1 s), and
  // meanwhile the counter is clicked and answers. (Clicks are never issued concurrently:
  // they share one mouse.)
  await page.locator("[data-testid=run]").click();
  await clickButton(page, counter, "Increment");
  await waitForText(page, counter, "Counter: 1");
  await page.locator("[data-role=editor][data-busy=false]").waitFor();
  const error = page.locator("[data-testid=editor-error]");
  await error.waitFor({ state: "visible" });
  assert.equal(await error.getAttribute("data-code"), "VM_TIMEOUT");
  assert.match(await error.innerText(), /VM_TIMEOUT load error/);
  assert.equal(await page.locator("[data-testid^=instance-]").count(), 1, "the failed load left no instance");
  await clickButton(page, counter, "Increment");
  await waitForText(page, counter, "Counter: 2");
  assert.deepEqual(wb.pageErrors, []);
});

test("a render that never returns shows VM_TIMEOUT in place of its widget", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const counter = await runExample(page, "counter");
  const id = await runCustom(page, RENDER_SPINNER);
  const err = card(page, id).locator("[data-testid=widget-error]");
  await err.waitFor();
  assert.equal(await err.getAttribute("data-code"), "VM_TIMEOUT");
  await card(page, id).locator("[data-testid=status]", { hasText: "error" }).waitFor();
  // Shown inline in the editor too, as the tab's render error, and the toolbar's health
  // turns degraded while an instance is in error.
  await page.locator("[data-testid=editor-error][data-code=VM_TIMEOUT]").waitFor();
  await page.locator("[data-testid=toolbar-health]", { hasText: "degraded" }).waitFor();
  // One status everywhere: the editor bar and the tab's dot say error too, never "running".
  await page.locator("[data-testid=editor-status][data-status=error]", { hasText: "VM_TIMEOUT" }).waitFor();
  await page.locator(".tab.is-active .tab__dot[data-status=error]").waitFor();
  assert.match(await card(page, id).locator("[data-testid=status]").innerText(), /error · VM_TIMEOUT/);
  // The timeout is in the Audit tab.
  await showDevtools(page, "audit");
  await page.locator("[data-testid=audit-row][data-decision=timeout]", { hasText: id }).first().waitFor();
  await clickButton(page, counter, "Increment");
  await waitForText(page, counter, "Counter: 1");
  assert.deepEqual(wb.pageErrors, []);
});
