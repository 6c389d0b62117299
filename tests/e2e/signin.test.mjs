// The browser opener's one-time code (server/server.c): the page it opens connects, keeps
// neither the code nor the token in its address, survives a reload, and the code is
// refused, with a message naming the terminal's URL, when opened again.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorkbench, TEST_TIMEOUT } from "./lib/workbench.mjs";

test("the opener's code URL opens a working page once; the token stays out of every URL", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench({ viaOpener: true });
  t.after(wb.close);
  const { page, browser } = wb;
  const token = new URL(wb.url).searchParams.get("token");
  const opened = new URL(wb.openedUrl);

  // What the opener (and so the browser's argv) got: the code, not the token.
  assert.match(opened.search, /^\?code=[0-9a-f]{32}$/);
  assert.ok(!wb.openedUrl.includes(token), "the opener's URL holds the token");

  // startWorkbench waited for the connection and the catalog: the code got a session.
  // The spent code is gone from the address, and the token was never put there.
  assert.equal(page.url(), opened.origin + "/");
  assert.equal(await page.locator('meta[name="airlock-token"]').count(), 0);

  // A reload presents no code again (it would be refused) and still connects.
  await page.reload();
  await page.locator("[data-testid=conn-status][data-status=connected]").waitFor();
  assert.equal(page.url(), opened.origin + "/");

  // The code a second time: a 403 saying why, and which URL to use instead.
  const again = await browser.newPage();
  const res = await again.goto(wb.openedUrl);
  assert.equal(res.status(), 403);
  const body = await again.locator("body").innerText();
  assert.match(body, /already used or has expired/);
  assert.match(body, /printed on its terminal/);
  assert.ok(!body.includes(token));
  await again.close();

  // The terminal's token URL still works alongside.
  const direct = await browser.newPage();
  await direct.goto(wb.url);
  await direct.locator("[data-testid=conn-status][data-status=connected]").waitFor();
  await direct.close();

  assert.deepEqual(wb.pageErrors, []);
});
