// A TypeScript + JSX plugin in the workbench: the bundled examples/plugins/pomodoro.tsx
// opens from the catalog as a .tsx tab, renders its JSX, its buttons (with args) and input
// drive its state; a syntax error and a throwing handler name the line in the .tsx source
// (card, editor box and gutter); and Reload compiles the edited code as TSX again, keeping
// the instance and its state.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  startWorkbench, runExample, runActiveTab, clickButton, waitForText, card, TEST_TIMEOUT, setSource, getSource,
  isCodeMirror, errorGutterLine, showDevtools,
} from "./lib/workbench.mjs";

const badge = (page, id, text) => card(page, id).locator("[data-kind=badge]", { hasText: text }).first();

/** Adds a task through the plugin's own input and Add button. */
async function addTask(page, id, name) {
  const input = card(page, id).locator("input[data-kind=input]");
  await input.fill(name);
  await input.press("Enter"); // commits: onChange -> {value}
  await card(page, id).locator("input[data-kind=input]").and(page.locator(`[value="${name}"]`)).waitFor();
  await clickButton(page, id, "Add task");
  await waitForText(page, id, "[ ] " + name);
}

/** The 1-based line of the first line of `src` containing `needle`. */
function lineOf(src, needle) {
  const i = src.split("\n").findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, "the example has a line with " + needle);
  return i + 1;
}

/** `src` with its line `n` (1-based) replaced by `text`. */
function withLine(src, n, text) {
  const lines = src.split("\n");
  lines[n - 1] = text;
  return lines.join("\n");
}

test("pomodoro.tsx: the catalog and tab say .tsx, its JSX renders, buttons and input update it", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const entry = page.locator("[data-testid=catalog-pomodoro]");
  assert.equal(await entry.locator("[data-testid=catalog-lang]").innerText(), "pomodoro.tsx");
  assert.match(await entry.innerText(), /Pomodoro log/);

  const id = await runExample(page, "pomodoro");
  assert.match(id, /^pomodoro@[A-Za-z0-9_-]{8}$/);
  const src = await getSource(page);
  assert.match(src, /^interface Task \{$/m, "the tab holds the TypeScript source");
  const tab = page.locator(".tab.is-active");
  assert.equal(await tab.locator("[data-testid=tab-lang]").innerText(), ".tsx");
  assert.equal(await page.locator("[data-role=editor]").getAttribute("data-lang"), "tsx");
  if (await isCodeMirror(page)) {
    // lang-javascript's TypeScript + JSX dialect (its language is named "typescript").
    await page.locator(".cm-content[data-language=typescript]").waitFor();
  }

  // What the JSX built: the length picker (a component mapping an array), the empty list,
  // the summary badge and the table's headers.
  await waitForText(page, id, "Pomodoro length:");
  await waitForText(page, id, "No tasks yet");
  await badge(page, id, "0 pomodoros, 0 min focused").waitFor();
  for (const label of ["15 min", "25 min", "50 min", "Add task"]) {
    await card(page, id).locator("button[data-kind=button]", { hasText: label }).waitFor();
  }
  assert.equal(await card(page, id).locator("input[data-kind=input]").getAttribute("placeholder"), "What are you focusing on?");
  const headers = await card(page, id).locator("[data-kind=table] th").allInnerTexts();
  assert.deepEqual(headers.map((h) => h.trim()), ["#", "Task", "Pomodoros", "Focus"]);

  // The input, then buttons whose EventRefs carry args (a task id, a length).
  await addTask(page, id, "write report");
  await addTask(page, id, "review PR");
  const report = card(page, id).locator("[data-kind=row]", { hasText: "write report" }).first();
  await report.locator("button[data-kind=button]", { hasText: "+1 pomodoro" }).click();
  await badge(page, id, "1 pomodoros, 25 min focused").waitFor();
  await report.locator("button[data-kind=button]", { hasText: "+1 pomodoro" }).click();
  await badge(page, id, "2 x 25 min").waitFor();
  await badge(page, id, "2 pomodoros, 50 min focused").waitFor();
  await clickButton(page, id, "50 min");
  await badge(page, id, "2 x 50 min").waitFor();
  await badge(page, id, "2 pomodoros, 100 min focused").waitFor();
  await report.locator("button[data-kind=button]", { hasText: "Done" }).click();
  await waitForText(page, id, "[x] write report");
  await waitForText(page, id, "[ ] review PR");
  const cells = await card(page, id).locator("[data-kind=table] tbody tr").first().locator("td").allInnerTexts();
  assert.deepEqual(cells.map((c) => c.trim()), ["1", "write report", "2", "100 min"]);

  // The host's copy of the local state is what the buttons made.
  await showDevtools(page, "state");
  await page.waitForFunction(() => {
    const v = document.querySelector("[data-testid=local-state]")?.value ?? "";
    return v.includes('"minutes": 50') && v.includes('"pomodoros": 2') && v.includes('"done": true');
  });

  // After a page reload the tab is still the .tsx file, linked to its instance.
  await page.locator("[data-role=editor][data-saved=true]").waitFor();
  await page.reload();
  await page.locator("[data-testid=conn-status][data-status=connected]").waitFor();
  await page.locator(`[data-role=editor][data-instance="${id}"]`).waitFor();
  assert.equal(await page.locator(".tab.is-active [data-testid=tab-lang]").innerText(), ".tsx");
  assert.equal(await page.locator("[data-role=editor]").getAttribute("data-lang"), "tsx");
  await badge(page, id, "2 pomodoros, 100 min focused").waitFor();
  assert.deepEqual(wb.pageErrors, []);
});

test("pomodoro.tsx: errors name the .tsx line, and Reload compiles the edit as TSX", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;
  const error = page.locator("[data-testid=editor-error]");

  const id = await runExample(page, "pomodoro");
  await addTask(page, id, "write report");
  await clickButton(page, id, "+1 pomodoro");
  await badge(page, id, "1 x 25 min").waitFor();
  const good = await getSource(page);

  // A syntax error in a typed declaration: the reload fails at that line of pomodoro.tsx
  // and the old code keeps running.
  const sx = lineOf(good, "const name: string = String(");
  await setSource(page, withLine(good, sx, "          const name: string = ;"));
  await runActiveTab(page, { reload: true });
  await error.waitFor({ state: "visible" });
  assert.equal(await error.getAttribute("data-code"), "PLUGIN_LOAD_ERROR");
  let text = await error.innerText();
  assert.match(text, /reload error at line (\d+)\b/);
  assert.equal(Number(/at line (\d+)/.exec(text)[1]), sx);
  assert.match(text, new RegExp("pomodoro\\.tsx:" + sx + ": SyntaxError"));
  assert.equal(await errorGutterLine(page), String(sx));
  if (await isCodeMirror(page)) await page.locator(".cm-lintRange-error").first().waitFor();
  await clickButton(page, id, "+1 pomodoro");
  await badge(page, id, "2 x 25 min").waitFor();

  // A TypeScript + JSX edit reloads in place: as .js this would not parse (an interface,
  // annotations, JSX), so it passing shows the reload kept the .tsx name.
  const empty = good.replace("<text>No tasks yet</text>", "<text>Nothing planned</text>")
    .replace("<badge>{total} pomodoros,", "<badge>Total: {total} pomodoros,");
  assert.notEqual(empty, good);
  await setSource(page, empty);
  assert.equal(await runActiveTab(page, { reload: true }), id, "same instance after reload");
  await error.waitFor({ state: "hidden" });
  await badge(page, id, "Total: 2 pomodoros, 50 min focused").waitFor();
  assert.equal(await page.locator("[data-testid^=instance-]").count(), 1);

  // A handler that throws: the card and the editor name its line in the .tsx source.
  const th = lineOf(empty, "if (!LENGTHS.includes(Number(m))) return;");
  await setSource(page, withLine(empty, th, '          throw new Error("kaboom " + m);'));
  await runActiveTab(page, { reload: true });
  await error.waitFor({ state: "hidden" });
  await clickButton(page, id, "15 min");
  const notice = card(page, id).locator("[data-testid=event-error]");
  await notice.waitFor({ state: "visible" });
  assert.match(await notice.innerText(), new RegExp("log\\.length \\(line " + th + "\\): .*kaboom 15"));
  await error.waitFor({ state: "visible" });
  text = await error.innerText();
  assert.match(text, new RegExp("event error at line " + th + " in widget log, handler length"));
  assert.match(text, new RegExp("\\(at pomodoro\\.tsx:" + th + "\\)"));
  assert.equal(await errorGutterLine(page), String(th));

  // Fixed again: the next click applies, from the state the instance kept all along.
  await setSource(page, empty);
  await runActiveTab(page, { reload: true });
  await clickButton(page, id, "50 min");
  await badge(page, id, "2 x 50 min").waitFor();
  await error.waitFor({ state: "hidden" });
  assert.equal(await errorGutterLine(page), null);
  assert.deepEqual(wb.pageErrors, []);
});
