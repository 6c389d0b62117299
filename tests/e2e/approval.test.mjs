// A hostcall that needs approval waits for the person (issue 10): with a policy whose
// default is "ask", one click on a button whose handler awaits pi.kv.set raises the
// approval prompt, the click's call is parked (no error, the state unchanged) while the
// prompt is up, other plugins keep answering meanwhile, and pressing Allow lets that SAME
// first click finish: its dispatch applies without a second click. The answer is
// remembered, so the next click applies with no prompt at all.
//
// Every wait is for something on the page (workbench.mjs); where today's core would deny
// the first click, the test waits for "success or an error row", whichever comes first,
// and fails at once naming the denial rather than timing out.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  startWorkbench, runCustom, clickButton, waitForText, showDevtools, waitForCount, card, timelineRows,
  TEST_TIMEOUT,
} from "./lib/workbench.mjs";

// Custom code has no manifest, so no kv capability: the chain falls through to the
// policy's default, "ask". The dispatch comes only after the await, so the state shows
// whether the hostcall succeeded.
const STORE = `definePlugin(({ ui }) => ({
  title: "Storer",
  initialState: { stored: 0 },
  widgets: {
    main: {
      render({ pluginState }) {
        return ui.panel([ui.text("Stored: " + pluginState.stored), ui.button("Store", { onClick: { handler: "store" } })]);
      },
      handlers: {
        async store({ pluginState, dispatchPluginAction }) {
          await pi.kv.set("k", 1);
          dispatchPluginAction("state/merge", { stored: pluginState.stored + 1 });
        },
      },
    },
  },
}));
`;

// Another plugin, to show the page and the host keep serving while the prompt is up.
const TAPS = `definePlugin(({ ui }) => ({
  title: "Taps",
  initialState: { taps: 0 },
  widgets: {
    main: {
      render({ pluginState }) {
        return ui.panel([ui.text("Taps: " + pluginState.taps), ui.button("Tap", { onClick: { handler: "tap" } })]);
      },
      handlers: {
        tap({ pluginState, dispatchPluginAction }) {
          dispatchPluginAction("state/merge", { taps: pluginState.taps + 1 });
        },
      },
    },
  },
}));
`;

test("a pi.kv.set that needs approval waits for Allow, and the same first click succeeds", { timeout: TEST_TIMEOUT }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "airlock-approval-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const policy = path.join(dir, "policy.json");
  writeFileSync(policy, JSON.stringify({ mode: "all", default: "ask" }));
  const wb = await startWorkbench({ args: ["--policy", policy] });
  t.after(wb.close);
  const { page } = wb;
  const id = await runCustom(page, STORE);
  const other = await runCustom(page, TAPS);
  await waitForText(page, id, "Stored: 0");
  // The Errors tab stays open, so an error from the click shows the moment it happens.
  await showDevtools(page, "errors");
  const errors = page.locator(`[data-testid=error-row][data-instance="${id}"]`);

  // One click: the prompt appears, naming the action and the key.
  await clickButton(page, id, "Store");
  const prompt = page.locator("[data-testid=approval-prompt][data-action=kv]");
  await prompt.waitFor();
  assert.match(await prompt.innerText(), /\bk\b/);

  // While the person has not answered, other plugins are served.
  await clickButton(page, other, "Tap");
  await waitForText(page, other, "Taps: 1");

  // Allow: the prompt goes, and the click made before it completes. Wait for either
  // outcome, so a denied first click fails here with its error, not after a timeout.
  await page.locator("[data-testid=approval-allow]").click();
  await prompt.waitFor({ state: "detached" });
  const stored = card(page, id).locator("[data-kind=text]", { hasText: "Stored: 1" });
  await stored.or(errors).first().waitFor();
  if (await errors.count()) {
    assert.fail("the first click failed instead of waiting for the person: " + (await errors.first().innerText()));
  }
  await stored.waitFor();
  // One dispatch applied, by that first click; one kv decision, allowed; none denied.
  await showDevtools(page, "timeline"); // the timeline draws its rows only while shown
  await waitForCount(timelineRows(page, { instance: id, action: "state/merge", outcome: "applied" }), 1);
  await showDevtools(page, "audit");
  await waitForCount(page.locator("[data-testid=audit-row][data-action=kv][data-decision=allowed]"), 1);
  assert.equal(await page.locator("[data-testid=audit-row][data-action=kv][data-decision=denied]").count(), 0);
  await page.locator("[data-testid=remembered-row][data-allow=true]").waitFor();

  // Remembered: the next click applies with no prompt.
  await clickButton(page, id, "Store");
  await waitForText(page, id, "Stored: 2");
  assert.equal(await page.locator("[data-testid=approval-prompt]").count(), 0);
  assert.equal(await errors.count(), 0);
  assert.deepEqual(wb.pageErrors, []);
});
