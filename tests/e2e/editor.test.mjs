// The editor: hot reload keeps state, errors show inline and recover, keyboard handling,
// New Plugin's template.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  startWorkbench, runExample, runActiveTab, clickButton, waitForText, card, TEST_TIMEOUT,
} from "./lib/workbench.mjs";

const editorArea = (page) => page.locator("[data-testid=editor]");

test("edit -> Reload replaces the instance in place and keeps its state", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const id = await runExample(page, "counter");
  await clickButton(page, id, "Increment");
  await waitForText(page, id, "Counter: 1");
  await clickButton(page, id, "Increment");
  await waitForText(page, id, "Counter: 2");

  const source = await editorArea(page).inputValue();
  assert.ok(source.includes('ui.text("Counter: " + value)'));
  await editorArea(page).fill(source.replace('ui.text("Counter: " + value)', 'ui.text("Count is " + value)'));
  assert.equal(await page.locator("[data-testid=run]").isVisible(), false, "a running tab offers Reload, not Run");
  const again = await runActiveTab(page, { reload: true });
  assert.equal(again, id, "same instance id after reload");
  await waitForText(page, id, "Count is 2");

  // One card, one instance: nothing leaked; and the reloaded code keeps working.
  assert.equal(await page.locator("[data-testid^=instance-]").count(), 1);
  assert.equal(await page.locator("[data-testid=toolbar-instances]").innerText(), "1");
  await clickButton(page, id, "Increment");
  await waitForText(page, id, "Count is 3");
  assert.deepEqual(wb.pageErrors, []);
});

test("a syntax error shows inline with its line, and fixing it recovers", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;
  const error = page.locator("[data-testid=editor-error]");

  const id = await runExample(page, "counter");
  await clickButton(page, id, "Increment");
  await waitForText(page, id, "Counter: 1");
  const good = await editorArea(page).inputValue();

  // Break line 20 of the file: the reload fails and the old code keeps running.
  const lines = good.split("\n");
  const broken = lines.findIndex((l) => l.includes("return {"));
  assert.ok(broken > 0);
  lines[broken] = "  return {{ oops";
  await editorArea(page).fill(lines.join("\n"));
  await runActiveTab(page, { reload: true });
  await error.waitFor({ state: "visible" });
  assert.equal(await error.getAttribute("data-code"), "PLUGIN_LOAD_ERROR");
  const text = await error.innerText();
  assert.match(text, /SyntaxError/);
  assert.match(text, new RegExp("line " + (broken + 1) + "\\b"));
  assert.equal(await page.locator(".editor__gutter .is-error").innerText(), String(broken + 1));
  await clickButton(page, id, "Increment");
  await waitForText(page, id, "Counter: 2");

  // Fix it: the error goes away and the state survived.
  await editorArea(page).fill(good);
  await runActiveTab(page, { reload: true });
  await error.waitFor({ state: "hidden" });
  await waitForText(page, id, "Counter: 2");
  assert.equal(await page.locator(".editor__gutter .is-error").count(), 0);
  assert.deepEqual(wb.pageErrors, []);
});

test("a first Run with a syntax error creates nothing; the fixed code runs", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;
  const error = page.locator("[data-testid=editor-error]");

  await page.locator("[data-testid=new-plugin]").click();
  const template = await editorArea(page).inputValue();
  await editorArea(page).fill("definePlugin(({ ui }) => ({\n  widgets: {\n    main: { render() { return ui.text(\"hi\" }, },\n  },\n}));\n");
  await assert.rejects(runActiveTab(page), /PLUGIN_LOAD_ERROR/);
  assert.match(await error.innerText(), /SyntaxError/);
  assert.equal(await page.locator("[data-testid^=instance-]").count(), 0);

  // Ctrl+Enter runs too.
  await editorArea(page).fill(template);
  await editorArea(page).press("Control+Enter");
  await page.locator("[data-role=editor][data-instance^='custom@']").waitFor();
  const id = await page.locator("[data-role=editor]").getAttribute("data-instance");
  await error.waitFor({ state: "hidden" });
  await waitForText(page, id, "Clicked 0 times");
  await clickButton(page, id, "Click");
  await waitForText(page, id, "Clicked 1 times");
  assert.deepEqual(wb.pageErrors, []);
});

test("Tab indents, Shift+Tab dedents, and the gutter follows the lines", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  await page.locator("[data-testid=new-plugin]").click();
  const area = editorArea(page);
  await area.fill("a\nb\nc");
  assert.equal(await page.locator(".editor__gutter > div").count(), 3);
  await area.evaluate((el) => el.setSelectionRange(0, 0));
  await area.press("Tab");
  assert.equal(await area.inputValue(), "  a\nb\nc");
  // Several lines selected: each is indented, then dedented back.
  await area.evaluate((el) => el.setSelectionRange(0, el.value.length));
  await area.press("Tab");
  assert.equal(await area.inputValue(), "    a\n  b\n  c");
  await area.press("Shift+Tab");
  assert.equal(await area.inputValue(), "  a\nb\nc");
  // Focus stayed in the editor (Tab did not move it).
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "editor");
  await area.press("End");
  await area.press("Enter");
  assert.equal(await page.locator(".editor__gutter > div").count(), 4);

  // Scrolled to the very end, the gutter follows the code beside it. (Headless chromium
  // hides scrollbars, so the stylesheet's room for a horizontal one is not exercised here.)
  await area.fill(Array.from({ length: 300 }, (_, i) => "line " + (i + 1)).join("\n"));
  const offsets = await area.evaluate((el) => {
    el.scrollTop = el.scrollHeight;
    el.dispatchEvent(new Event("scroll"));
    const gutter = document.querySelector(".editor__gutter");
    return [el.scrollTop, gutter.scrollTop];
  });
  assert.ok(offsets[0] > 0);
  assert.equal(offsets[1], offsets[0]);
  assert.deepEqual(wb.pageErrors, []);
});

test("an edited example runs with no grants", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  await page.locator("[data-testid=catalog-counter]").click();
  const src = await editorArea(page).inputValue();
  await editorArea(page).fill(src + "\n// edited\n");
  const id = await runActiveTab(page);
  await card(page, id).locator("[data-kind=badge]", { hasText: "Shared: no access" }).waitFor();
  assert.deepEqual(wb.pageErrors, []);
});

test("tabs and their edits survive a page reload, still linked to their instance", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const id = await runExample(page, "counter");
  await clickButton(page, id, "Increment");
  await waitForText(page, id, "Counter: 1");
  const edited = (await editorArea(page).inputValue()) + "\n// unsaved thought\n";
  await editorArea(page).fill(edited);
  // Saving is debounced; data-saved turns true once the server has acknowledged it.
  await page.locator("[data-role=editor][data-saved=true]").waitFor();

  await page.reload();
  await page.locator("[data-testid=conn-status][data-status=connected]").waitFor();
  await page.locator(`[data-role=editor][data-instance="${id}"]`).waitFor();
  assert.equal(await editorArea(page).inputValue(), edited);
  await page.locator("[data-testid=reload]").waitFor({ state: "visible" });
  await waitForText(page, id, "Counter: 1");
  assert.deepEqual(wb.pageErrors, []);
});
