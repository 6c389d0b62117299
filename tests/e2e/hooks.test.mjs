// The hooks layer on the page: a plugin's pi.logger line in the Errors tab, a grant change
// in the Audit tab, and (with a policy whose default is "ask") an approval prompt that a
// person answers while the click's call waits for it (issue 10): Allow lets that click
// succeed, the answer is remembered, and Deny fails the click that asked.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  startWorkbench, runCustom, clickButton, waitForText, showDevtools, waitForCount, card, TEST_TIMEOUT,
} from "./lib/workbench.mjs";

// Logs each click with pi.logger.info and counts the clicks locally.
const LOGGER = `definePlugin(({ ui }) => ({
  title: "Logger",
  initialState: { clicks: 0 },
  widgets: {
    main: {
      render({ pluginState }) {
        return ui.panel([ui.text("Clicks: " + pluginState.clicks), ui.button("Log", { onClick: { handler: "log" } })]);
      },
      handlers: {
        log({ pluginState, dispatchPluginAction }) {
          pi.logger.info("clicked", pluginState.clicks + 1, "times");
          dispatchPluginAction("state/merge", { clicks: pluginState.clicks + 1 });
        },
      },
    },
  },
}));
`;

// Stores its count with pi.kv: custom code has no manifest, so no kv capability, and the
// capability chain falls through to the policy's default (step 4).
const KV = `definePlugin(({ ui }) => ({
  title: "Saver",
  initialState: { saved: 0 },
  widgets: {
    main: {
      render({ pluginState }) {
        return ui.panel([ui.text("Saved: " + pluginState.saved), ui.button("Save", { onClick: { handler: "save" } })]);
      },
      handlers: {
        async save({ pluginState, dispatchPluginAction }) {
          await pi.kv.set("saved", pluginState.saved + 1);
          dispatchPluginAction("state/merge", { saved: pluginState.saved + 1 });
        },
      },
    },
  },
}));
`;

test("a custom plugin's pi.logger line shows in the Errors tab with its plugin and level", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;
  const id = await runCustom(page, LOGGER);
  await clickButton(page, id, "Log");
  await waitForText(page, id, "Clicks: 1");
  await showDevtools(page, "errors");
  const row = page.locator("[data-testid=log-row]", { hasText: "clicked 1 times" });
  await row.waitFor();
  assert.equal(await row.getAttribute("data-level"), "info");
  assert.ok((await row.getAttribute("data-plugin")).length > 0);
  // Tagged with the instance: the only one of its package that runs.
  assert.equal(await row.getAttribute("data-instance"), id);
  assert.match(await row.innerText(), new RegExp(id));
  assert.match(await row.innerText(), /info/);
  assert.deepEqual(wb.pageErrors, []);
});

test("the Audit tab shows a grant change made in the Grants tab", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;
  const id = await runCustom(page, LOGGER);
  await showDevtools(page, "audit");
  const grants = page.locator("[data-testid=audit-row][data-action=grants]");
  assert.equal(await grants.count(), 0);

  await showDevtools(page, "grants");
  await page.locator("[data-testid=grants-instance]").selectOption(id);
  await page.locator("[data-testid=grant-write-counter-summary]").check();
  await page.locator("[data-testid=grants-apply]").click();
  await page.locator("[data-testid=grants-note]", { hasText: "Applied" }).waitFor();

  await showDevtools(page, "audit");
  await waitForCount(grants, 1);
  assert.equal(await grants.getAttribute("data-decision"), "changed");
  const text = await grants.innerText();
  assert.ok(text.includes(id), text);
  assert.ok(text.includes("counter-summary"), text);
  // The decision filter hides what it does not name.
  await page.locator("[data-testid=audit-filter]").selectOption("changed");
  assert.equal(await page.locator("[data-testid=audit-row]:not([data-decision=changed])").count(), 0);
  await waitForCount(grants, 1);
  assert.deepEqual(wb.pageErrors, []);
});

test("with a policy that asks, a pi.kv call waits for the prompt's answer; Allow is remembered, Deny fails the call", { timeout: TEST_TIMEOUT }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "airlock-policy-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const policy = path.join(dir, "policy.json");
  writeFileSync(policy, JSON.stringify({ mode: "all", default: "ask" }));
  const wb = await startWorkbench({ args: ["--policy", policy] });
  t.after(wb.close);
  const { page } = wb;
  const id = await runCustom(page, KV);

  const errors = page.locator(`[data-testid=error-row][data-instance="${id}"]`);
  await showDevtools(page, "errors"); // so an error from a click shows the moment it happens

  // First click: the page asks, and the call waits for the answer (no error, the count
  // unchanged while the prompt is up).
  await clickButton(page, id, "Save");
  const prompt = page.locator("[data-testid=approval-prompt][data-action=kv]");
  await prompt.waitFor();
  assert.match(await prompt.innerText(), /saved/);
  await waitForText(page, id, "Saved: 0");

  // Allow: the prompt goes, the waiting click succeeds without a second one, and the
  // answer is remembered (listed in the Audit tab).
  await page.locator("[data-testid=approval-allow]").click();
  await page.locator("[data-testid=approval-prompt]").waitFor({ state: "detached" });
  const saved1 = card(page, id).locator("[data-kind=text]", { hasText: "Saved: 1" });
  await saved1.or(errors).first().waitFor(); // a denied first click fails here, not after a timeout
  if (await errors.count()) assert.fail("the first click failed instead of waiting: " + (await errors.first().innerText()));
  await saved1.waitFor();
  await showDevtools(page, "audit");
  await page.locator("[data-testid=remembered-row][data-allow=true]").waitFor();
  const allowed = page.locator("[data-testid=audit-row][data-action=kv][data-decision=allowed]");
  await waitForCount(allowed, 1);
  assert.equal(await page.locator("[data-testid=audit-row][data-action=kv][data-decision=denied]").count(), 0);
  assert.equal(await errors.count(), 0);

  // Remembered: the next click applies with no prompt.
  await clickButton(page, id, "Save");
  await waitForText(page, id, "Saved: 2");
  await waitForCount(allowed, 2);
  assert.equal(await page.locator("[data-testid=approval-prompt]").count(), 0);

  // Revoked: the next click asks again and waits; Deny fails that click (an error row
  // naming the refusal, the count unchanged) and is remembered too.
  await page.locator("[data-testid=approval-revoke]").click();
  await page.locator("[data-testid=remembered-row]").waitFor({ state: "detached" });
  await clickButton(page, id, "Save");
  await prompt.waitFor();
  await page.locator("[data-testid=approval-deny]").click();
  await page.locator("[data-testid=remembered-row][data-allow=false]").waitFor();
  const denied = page.locator("[data-testid=audit-row][data-action=kv][data-decision=denied]");
  await waitForCount(denied, 1);
  assert.match(await denied.innerText(), /Requires user approval/);
  await showDevtools(page, "errors");
  await errors.filter({ hasText: "CAPABILITY_DENIED" }).first().waitFor();
  await waitForText(page, id, "Saved: 2");
  assert.deepEqual(wb.pageErrors, []);
});
