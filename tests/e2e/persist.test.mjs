// Edits survive anything: every change is saved at once (journalled in the page and sent
// to the server) with an unsaved marker until the server confirmed it, so typing and
// refreshing at once loses nothing; the active tab and the devtools' filters come back.
// Closing a running tab asks whether its instance goes too.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorkbench, runExample, card, showDevtools, TEST_TIMEOUT, getSource } from "./lib/workbench.mjs";

const editorArea = (page) => page.locator("[data-testid=editor]");

test("typing then refreshing at once loses nothing; tab, devtools tab and filters are restored", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  // While `dropSaves`, tabs.save requests never reach the server: the refresh then
  // certainly comes before the server has the edit, which only the page's journal holds.
  let dropSaves = false;
  await page.routeWebSocket(/\/ws/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => { if (!(dropSaves && JSON.parse(m).type === "tabs.save")) server.send(m); });
    server.onMessage((m) => ws.send(m));
  });
  await page.reload();
  await page.locator("[data-testid=conn-status][data-status=connected]").waitFor();

  await page.locator("[data-testid=catalog-counter]").click();
  await page.locator("[data-testid=catalog-todo]").click();
  await page.locator("[data-testid=catalog-calculator]").click();
  await page.locator(".tab__label", { hasText: "Todo" }).click();
  await showDevtools(page, "audit");
  await showDevtools(page, "timeline");
  await page.locator("[data-testid=timeline-filter]").fill("increment");
  await page.locator("[data-testid=timeline-outcome]").selectOption("denied");

  // Type, and refresh before any save reached the server.
  await page.locator("[data-role=editor][data-saved=true]").waitFor();
  dropSaves = true;
  await editorArea(page).press("End");
  await editorArea(page).pressSequentially("// typed just before the refresh");
  const typed = await getSource(page);
  assert.ok(typed.includes("// typed just before the refresh"));
  assert.equal(await page.locator("[data-role=editor]").getAttribute("data-saved"), "false");
  await page.reload();
  dropSaves = false;
  await page.locator("[data-testid=conn-status][data-status=connected]").waitFor();
  await page.locator(".tab").nth(2).waitFor();

  assert.equal(await page.locator(".tab.is-active .tab__text").innerText(), "Todo", "the active tab is restored");
  assert.equal(await getSource(page), typed, "nothing typed is lost");
  assert.equal(await page.locator("[data-testid=devtools-tab-timeline]").getAttribute("aria-selected"), "true");
  assert.equal(await page.locator("[data-testid=timeline-filter]").inputValue(), "increment");
  assert.equal(await page.locator("[data-testid=timeline-outcome]").inputValue(), "denied");
  // The restored edit is sent on; once the server has it the marker goes.
  await page.locator("[data-role=editor][data-saved=true]").waitFor();
  assert.equal(await page.locator("[data-testid=tab-unsaved]").count(), 0);

  // And the server has it: a fresh page (no journal in its storage) gets the edit.
  const fresh = await wb.browser.newPage();
  t.after(() => fresh.close().catch(() => {}));
  await fresh.goto(wb.url);
  await fresh.locator(".tab").nth(2).waitFor();
  await fresh.locator(".tab__label", { hasText: "Todo" }).click();
  assert.equal(await getSource(fresh), typed);
  assert.deepEqual(wb.pageErrors, []);
});

test("an edit shows the unsaved marker until the server confirms it", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  // Sit between page and server, holding back the answers to tabs.save while `holding`.
  let holding = false, release = null;
  await page.routeWebSocket(/\/ws/, (ws) => {
    const server = ws.connectToServer();
    const saves = new Set(), held = [];
    ws.onMessage((m) => {
      const j = JSON.parse(m);
      if (j.type === "tabs.save" && holding) saves.add(j.id);
      server.send(m);
    });
    server.onMessage((m) => {
      // an answer arriving after release() (a slow server) must pass too, not be held forever
      if (holding && saves.has(JSON.parse(m).re)) held.push(m);
      else ws.send(m);
    });
    release = () => { holding = false; for (const m of held.splice(0)) ws.send(m); };
  });
  await page.reload();
  await page.locator("[data-testid=conn-status][data-status=connected]").waitFor();
  await page.locator("[data-testid=catalog-counter]").click();
  await page.locator("[data-role=editor][data-saved=true]").waitFor();
  assert.equal(await page.locator("[data-testid=tab-unsaved]").count(), 0);

  holding = true;
  await editorArea(page).press("End");
  await editorArea(page).pressSequentially("// x");
  await page.locator("[data-testid=tab-unsaved]").waitFor();
  assert.equal(await page.locator("[data-role=editor]").getAttribute("data-saved"), "false");
  assert.match(await page.locator("[data-testid=editor-status]").innerText(), /unsaved/);
  release();
  await page.locator("[data-role=editor][data-saved=true]").waitFor();
  await page.locator("[data-testid=tab-unsaved]").waitFor({ state: "detached" });
  assert.deepEqual(wb.pageErrors, []);
});

test("closing a running tab asks whether to unload its instance", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const a = await runExample(page, "counter");
  const b = await runExample(page, "counter");
  const dialog = page.locator("[data-testid=close-dialog]");

  // Keep running: the tab goes, the instance stays.
  await page.locator(".tab.is-active [data-testid=tab-close]").click();
  await dialog.waitFor({ state: "visible" });
  assert.match(await dialog.innerText(), new RegExp(b));
  await page.locator("[data-testid=close-keep]").click();
  await dialog.waitFor({ state: "hidden" });
  assert.equal(await page.locator(".tab").count(), 1);
  await card(page, b).waitFor();

  // Cancel leaves everything; Close and unload removes the instance with its tab.
  await page.locator(".tab.is-active [data-testid=tab-close]").click();
  await page.locator("[data-testid=close-cancel]").click();
  assert.equal(await page.locator(".tab").count(), 1);
  await page.locator(".tab.is-active [data-testid=tab-close]").click();
  await page.locator("[data-testid=close-unload]").click();
  await card(page, a).waitFor({ state: "detached" });
  assert.equal(await page.locator(".tab").count(), 0);
  await card(page, b).waitFor();
  assert.deepEqual(wb.pageErrors, []);
});
