// The editor: hot reload keeps state, errors show inline and recover, keyboard handling,
// New Plugin's template.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  startWorkbench, runExample, runActiveTab, clickButton, waitForText, card, TEST_TIMEOUT, TIMEOUT, setSource, getSource,
  isCodeMirror, errorGutterLine,
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

  const source = await getSource(page);
  assert.ok(source.includes('ui.text("Counter: " + value)'));
  await setSource(page, source.replace('ui.text("Counter: " + value)', 'ui.text("Count is " + value)'));
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
  const good = await getSource(page);

  // Break line 20 of the file: the reload fails and the old code keeps running.
  const lines = good.split("\n");
  const broken = lines.findIndex((l) => l.includes("return {"));
  assert.ok(broken > 0);
  lines[broken] = "  return {{ oops";
  await setSource(page, lines.join("\n"));
  await runActiveTab(page, { reload: true });
  await error.waitFor({ state: "visible" });
  assert.equal(await error.getAttribute("data-code"), "PLUGIN_LOAD_ERROR");
  const text = await error.innerText();
  assert.match(text, /SyntaxError/);
  assert.match(text, new RegExp("line " + (broken + 1) + "\\b"));
  assert.equal(await errorGutterLine(page), String(broken + 1));
  await clickButton(page, id, "Increment");
  await waitForText(page, id, "Counter: 2");

  // Fix it: the error goes away and the state survived.
  await setSource(page, good);
  await runActiveTab(page, { reload: true });
  await error.waitFor({ state: "hidden" });
  await waitForText(page, id, "Counter: 2");
  assert.equal(await errorGutterLine(page), null);
  assert.deepEqual(wb.pageErrors, []);
});

test("a first Run with a syntax error creates nothing; the fixed code runs", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;
  const error = page.locator("[data-testid=editor-error]");

  await page.locator("[data-testid=new-plugin]").click();
  const template = await getSource(page);
  await setSource(page, "definePlugin(({ ui }) => ({\n  widgets: {\n    main: { render() { return ui.text(\"hi\" }, },\n  },\n}));\n");
  await assert.rejects(runActiveTab(page), /PLUGIN_LOAD_ERROR/);
  assert.match(await error.innerText(), /SyntaxError/);
  assert.equal(await page.locator("[data-testid^=instance-]").count(), 0);

  // Ctrl+Enter runs too.
  await setSource(page, template);
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
  const cm = await isCodeMirror(page);
  const area = editorArea(page);
  // Line numbers drawn in the gutter (CodeMirror's has a hidden spacer element).
  const gutterLines = () => page.locator(".editor__gutter > div, .cm-lineNumbers .cm-gutterElement")
    .evaluateAll((els) => els.filter((e) => e.style.visibility !== "hidden" && /^\d+$/.test(e.textContent)).length);
  await setSource(page, "a\nb\nc");
  assert.equal(await gutterLines(), 3);
  if (cm) await area.press("ControlOrMeta+Home");
  else await area.evaluate((el) => el.setSelectionRange(0, 0));
  await area.press("Tab");
  assert.equal(await getSource(page), "  a\nb\nc");
  // Several lines selected: each is indented, then dedented back.
  if (cm) await area.press("ControlOrMeta+a");
  else await area.evaluate((el) => el.setSelectionRange(0, el.value.length));
  await area.press("Tab");
  assert.equal(await getSource(page), "    a\n  b\n  c");
  await area.press("Shift+Tab");
  assert.equal(await getSource(page), "  a\nb\nc");
  // Focus stayed in the editor (Tab did not move it).
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "editor");
  await area.press(cm ? "ControlOrMeta+End" : "End");
  await area.press("Enter");
  assert.equal(await gutterLines(), 4);
  assert.deepEqual(wb.pageErrors, []);
  if (cm) return;

  // Scrolled to the very end, the textarea's gutter follows the code beside it. (Headless
  // chromium hides scrollbars, so the stylesheet's room for a horizontal one is not
  // exercised here.)
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

test("CodeMirror: highlighting, bracket matching, search, and the error's line marked", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  await page.locator("[data-testid=catalog-counter]").click();
  if (!(await isCodeMirror(page))) {
    t.skip("this build has no CodeMirror (configured offline or with -DAIRLOCK_EDITOR=OFF)");
    return;
  }
  // Highlighting: keywords and strings get their own token classes.
  assert.ok(await page.locator(".cm-content span[class^=tok-], .cm-content span[class*=' ͼ']").count() > 0
    || await page.locator(".cm-content .cm-line span").count() > 10, "tokens are styled");
  // Bracket matching: with the cursor after "definePlugin(" its partner is marked. Once in
  // a while under a loaded CI machine the keys did not reach the editor (the mark never
  // came, with no page error): the cursor is placed again once, and that is said in the
  // log, so a real loss of focus would still fail here and a rare one stays visible.
  const line = await page.locator(".cm-line", { hasText: /^definePlugin\(/ }).first();
  const matched = page.locator(".cm-matchingBracket").first();
  for (let attempt = 0; ; attempt++) {
    await line.click();
    await page.locator(".cm-editor.cm-focused").waitFor();
    await page.keyboard.press("Home");
    for (let i = 0; i < "definePlugin(".length; i++) await page.keyboard.press("ArrowRight");
    try {
      await matched.waitFor({ timeout: attempt ? TIMEOUT : 5000 });
      break;
    } catch (err) {
      if (attempt) throw err;
      console.log("# bracket match not shown after the first placement; placing the cursor again");
    }
  }
  // Search: Ctrl+F opens the panel; Escape closes it.
  await page.keyboard.press("ControlOrMeta+f");
  await page.locator(".cm-search input[name=search]").fill("dispatchSharedAction");
  await page.keyboard.press("Enter");
  await page.locator(".cm-searchMatch").first().waitFor();
  await page.keyboard.press("Escape");
  await page.locator(".cm-search").waitFor({ state: "detached" });

  // A syntax error: the line the engine named is marked in the gutter and underlined.
  const good = await getSource(page);
  const lines = good.split("\n");
  const broken = lines.findIndex((l) => l.includes("return {"));
  lines[broken] = "  return {{ oops";
  await setSource(page, lines.join("\n"));
  await page.keyboard.press("ControlOrMeta+Enter");
  await page.locator("[data-testid=editor-error][data-code=PLUGIN_LOAD_ERROR]").waitFor();
  assert.equal(await errorGutterLine(page), String(broken + 1));
  await page.locator(".cm-lintRange-error").first().waitFor();
  await page.locator(".cm-lint-marker-error").first().waitFor();
  assert.deepEqual(wb.pageErrors, []);
});

test("an edited example runs with no grants", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  await page.locator("[data-testid=catalog-counter]").click();
  const src = await getSource(page);
  await setSource(page, src + "\n// edited\n");
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
  const edited = (await getSource(page)) + "\n// unsaved thought\n";
  await setSource(page, edited);
  // Saving is debounced; data-saved turns true once the server has acknowledged it.
  await page.locator("[data-role=editor][data-saved=true]").waitFor();

  await page.reload();
  await page.locator("[data-testid=conn-status][data-status=connected]").waitFor();
  await page.locator(`[data-role=editor][data-instance="${id}"]`).waitFor();
  assert.equal(await getSource(page), edited);
  await page.locator("[data-testid=reload]").waitFor({ state: "visible" });
  await waitForText(page, id, "Counter: 1");
  assert.deepEqual(wb.pageErrors, []);
});

test("a handler that throws names its line on the card and in the editor", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const src = [
    "definePlugin(({ ui }) => ({",
    "  initialState: { n: 0 },",
    "  widgets: {",
    "    main: {",
    "      render() { return ui.button(\"Boom\", { onClick: { handler: \"boom\" } }); },",
    "      handlers: {",
    "        boom() {",
    "          const a = 1;",
    "          throw new Error(\"kaboom \" + a);",
    "        },",
    "      },",
    "    },",
    "  },",
    "}));",
    "",
  ].join("\n");
  await page.locator("[data-testid=new-plugin]").click();
  await setSource(page, src);
  const id = await runActiveTab(page);
  await card(page, id).locator("button[data-kind=button]", { hasText: "Boom" }).click();
  const notice = card(page, id).locator("[data-testid=event-error]");
  await notice.waitFor({ state: "visible" });
  assert.match(await notice.innerText(), /main\.boom \(line 9\): .*kaboom 1/);
  const error = page.locator("[data-testid=editor-error]");
  await error.waitFor({ state: "visible" });
  assert.match(await error.innerText(), /event error at line 9 in widget main, handler boom/);
  assert.equal(await errorGutterLine(page), "9");
  assert.deepEqual(wb.pageErrors, []);
});
