// Layout: with many editor tabs, at 1280x800 and at 800x600, every toolbar button is
// visible and is what a click at its centre hits (nothing covers it); the panes never
// overlap; splitters resize them; tabs are a keyboard-usable tablist.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorkbench, runActiveTab, TEST_TIMEOUT, TIMEOUT } from "./lib/workbench.mjs";

/** For each element: is it visible, and does elementFromPoint at its centre hit it? */
function hitTest(page, selector) {
  return page.locator(selector).evaluateAll((els) => els.map((e) => {
    const r = e.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const hit = document.elementFromPoint(x, y);
    return {
      what: e.dataset.testid || e.textContent.trim().slice(0, 30),
      visible: r.width > 0 && r.height > 0 && x >= 0 && y >= 0 && x <= innerWidth && y <= innerHeight,
      hit: !!hit && (hit === e || e.contains(hit)),
    };
  }));
}

const TOOLBAR = "[data-testid=new-plugin], [data-testid=run]:not([hidden]), [data-testid=reload]:not([hidden]),"
  + " .tab.is-active .tab__label, .tab.is-active .tab__close, .devtools__tabs button, [data-split]";

/**
 * The layout settles after a resize or a new card (a ResizeObserver scrolls the tab strip,
 * the preview reflows): the checks must hold once it has, within the usual bound.
 */
async function assertUsable(page, label) {
  const deadline = Date.now() + TIMEOUT;
  for (;;) {
    try {
      return await checkUsable(page, label);
    } catch (err) {
      if (!(err instanceof assert.AssertionError) || Date.now() > deadline) throw err;
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    }
  }
}

async function checkUsable(page, label) {
  // The active tab is scrolled into view; every other control is always in view.
  const res = await hitTest(page, TOOLBAR);
  assert.ok(res.length >= 13, label + ": found the toolbar controls (" + res.length + ")");
  for (const r of res) {
    assert.ok(r.visible, label + ": " + r.what + " is visible");
    assert.ok(r.hit, label + ": a click at the centre of " + r.what + " reaches it");
  }
  // The three panes sit side by side without overlapping, inside the window.
  const boxes = await page.evaluate(() => [".catalog", ".editor", ".preview", ".devtools"].map((s) => {
    const r = document.querySelector(s).getBoundingClientRect();
    return { s, left: r.left, right: r.right, top: r.top, bottom: r.bottom };
  }));
  const [cat, ed, pre, dev] = boxes;
  assert.ok(cat.right <= ed.left && ed.right <= pre.left, label + ": columns do not overlap " + JSON.stringify(boxes));
  assert.ok(ed.right - ed.left >= 250, label + ": the editor keeps room (" + (ed.right - ed.left) + " px)");
  assert.ok(pre.right <= (await page.evaluate(() => innerWidth)) + 0.5, label + ": the preview fits the window");
  assert.ok(Math.max(cat.bottom, ed.bottom, pre.bottom) <= dev.top, label + ": the main row ends above the devtools");
}

test("8 tabs at 1280x800 and 800x600: every toolbar button is visible and clickable", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  for (const p of ["counter", "counter", "calculator", "todo", "form", "greeter", "status-dashboard", "counter"]) {
    await page.locator(`[data-testid="catalog-${p}"]`).click();
  }
  assert.equal(await page.locator(".tab").count(), 8);
  // Distinct names for two tabs of one example.
  const titles = await page.locator(".tab__text").allInnerTexts();
  assert.equal(new Set(titles).size, 8, "tab titles are distinct: " + titles.join(", "));
  assert.ok(titles.includes("Counter") && titles.includes("Counter 2") && titles.includes("Counter 3"), titles.join(", "));

  await assertUsable(page, "1280x800, not running");
  await runActiveTab(page);
  await assertUsable(page, "1280x800, running");
  await page.setViewportSize({ width: 800, height: 600 });
  await assertUsable(page, "800x600");
  // The first tab is reachable too: activating it scrolls it into view.
  await page.locator(".tab__label").first().click();
  await assertUsable(page, "800x600, first tab");
  // Cards in the preview never cover the editor bar.
  await page.locator("[data-testid=run]:visible").click();
  await page.locator("[data-role=editor][data-busy=false]").waitFor();
  await assertUsable(page, "800x600, two instances");
  assert.deepEqual(wb.pageErrors, []);
});

test("splitters resize the panes by pointer and keyboard; sizes and tabs survive a refresh", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const width = (sel) => page.locator(sel).evaluate((e) => e.getBoundingClientRect().width);
  const before = await width(".preview");
  const sp = await page.locator("[data-testid=split-preview]").boundingBox();
  await page.mouse.move(sp.x + sp.width / 2, sp.y + sp.height / 2);
  await page.mouse.down();
  await page.mouse.move(sp.x + sp.width / 2 - 100, sp.y + sp.height / 2, { steps: 4 });
  await page.mouse.up();
  const dragged = await width(".preview");
  assert.ok(Math.abs(dragged - (before + 100)) <= 2, "preview grew by the drag: " + before + " -> " + dragged);

  const devBefore = await page.locator(".devtools").evaluate((e) => e.getBoundingClientRect().height);
  await page.locator("[data-testid=split-devtools]").focus();
  await page.keyboard.press("ArrowUp");
  const devAfter = await page.locator(".devtools").evaluate((e) => e.getBoundingClientRect().height);
  assert.equal(devAfter, devBefore + 16);

  // Devtools tabs are a tablist: arrows move the selection.
  await page.locator("[data-testid=devtools-tab-timeline]").focus();
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.locator("[data-testid=devtools-tab-state]").getAttribute("aria-selected"), "true");
  assert.equal(await page.locator("[role=tab][aria-selected=true]").count(), 1, "one devtools tab selected; no editor tab yet");

  await page.reload();
  await page.locator("[data-testid=conn-status][data-status=connected]").waitFor();
  assert.ok(Math.abs((await width(".preview")) - dragged) <= 1, "the pane width is remembered");
  assert.equal(await page.locator("[data-testid=devtools-tab-state]").getAttribute("aria-selected"), "true", "the devtools tab is remembered");
  assert.deepEqual(wb.pageErrors, []);
});

test("every control in every devtools tab has an accessible name", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  await page.locator("[data-testid=catalog-todo]").click();
  await runActiveTab(page);
  for (const p of ["timeline", "state", "shared", "grants", "errors", "audit", "metrics", "docs"]) {
    await page.locator(`[data-testid=devtools-tab-${p}]`).click();
    const unnamed = await page.evaluate(() => [...document.querySelectorAll(
      "button, input, select, textarea, [role=separator], [role=tab], [contenteditable=true]")]
      .filter((e) => e.getClientRects().length > 0)
      .filter((e) => !(e.getAttribute("aria-label") || e.getAttribute("aria-labelledby") || e.labels?.length
        || e.textContent.trim() || e.title || e.placeholder))
      .map((e) => e.outerHTML.slice(0, 120)));
    assert.deepEqual(unnamed, [], p + ": controls without a name");
  }
  // Tabs are tablists with one selected tab each.
  assert.equal(await page.locator("[role=tablist] [role=tab][aria-selected=true]").count(), 2);
  assert.deepEqual(wb.pageErrors, []);
});
