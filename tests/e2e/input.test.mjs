// Input is never lost: a widget is patched, not replaced, when it is redrawn, so every
// real press (mouse down and up on one element) is one click and one dispatch, however
// many redraws land in between, including redraws another instance caused.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  startWorkbench, runExample, waitForText, card, timelineRows, waitForCount, TEST_TIMEOUT, TIMEOUT,
} from "./lib/workbench.mjs";

/** Counts the `event` requests the page sends and the answers it gets to them. */
function countEvents(page) {
  const sent = new Set();
  const c = { sent: 0, answered: 0 };
  page.on("websocket", (ws) => {
    ws.on("framesent", (f) => {
      const m = JSON.parse(f.payload);
      if (m.type === "event") { sent.add(m.id); c.sent++; }
    });
    ws.on("framereceived", (f) => {
      const m = JSON.parse(f.payload);
      if ("re" in m && sent.has(m.re)) c.answered++;
    });
  });
  return c;
}

/** The centre of an element, in page coordinates. */
async function centre(locator) {
  const b = await locator.boundingBox();
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

async function until(page, what, cond) {
  const deadline = Date.now() + TIMEOUT;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for " + what);
    await page.waitForTimeout(20);  // the poll interval of a bounded wait
  }
}

test("50 rapid real clicks on Increment yield exactly 50", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;
  const events = countEvents(page);
  // The socket was opened before the listener: reload so the page's socket is seen.
  await page.reload();
  await page.locator("[data-testid=conn-status][data-status=connected]").waitFor();

  const id = await runExample(page, "counter");
  await waitForText(page, id, "Counter: 0");
  const button = card(page, id).locator("button[data-kind=button]", { hasText: "Increment" });
  const handle = await button.elementHandle();
  const { x, y } = await centre(button);
  await page.mouse.move(x, y);
  for (let i = 0; i < 50; i++) {
    await page.mouse.down();
    await page.mouse.up();
  }
  await until(page, "50 answered events", () => events.answered >= 50);
  assert.equal(events.sent, 50, "one event request per click");
  await waitForText(page, id, "Counter: 50");
  await waitForCount(timelineRows(page, { instance: id, action: "increment" }), 50);
  // The button the clicks started on is the one still drawn: patched, never replaced.
  assert.equal(await handle.evaluate((e) => e.isConnected), true);
  assert.deepEqual(wb.pageErrors, []);
});

test("a press held across a redraw another instance caused still counts", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page, browser, url } = wb;

  const a = await runExample(page, "counter");
  const b = await runExample(page, "counter");
  const badge = (n) => card(page, a).locator("[data-kind=badge]", { hasText: "Shared total: " + n });
  await badge(0).waitFor();

  // A second page drives instance b while the first holds a press on a's Increment.
  const other = await browser.newPage();
  t.after(() => other.close().catch(() => {}));
  await other.goto(url);
  await card(other, b).locator("button[data-kind=button]", { hasText: "Increment" }).waitFor();

  const inc = card(page, a).locator("button[data-kind=button]", { hasText: "Increment" });
  for (let round = 1; round <= 3; round++) {
    const { x, y } = await centre(inc);
    await page.mouse.move(x, y);
    await page.mouse.down();
    // b's write to counter-summary changes what a renders: a's widget is redrawn under
    // the held press (the badge shows the new total) before the button is released.
    await card(other, b).locator("button[data-kind=button]", { hasText: "Increment" }).click();
    await badge(2 * round - 1).waitFor();
    await page.mouse.up();
    await waitForText(page, a, "Counter: " + round);
    await badge(2 * round).waitFor();
  }
  await waitForCount(timelineRows(page, { instance: a, action: "increment" }), 3);
  assert.deepEqual(wb.pageErrors, []);
});
