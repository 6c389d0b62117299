// pi extensions in the workbench (issue 11): the bundled permission-guard.ts opens as a pi
// tab and Run loads it on the server's pi lane; its card lists what it registered. An
// emit of tool_call with `rm -rf /tmp/x` asks through the approvals bar (ctx.ui.confirm)
// and waits, while an ordinary plugin's click still completes first; Deny blocks with
// "Blocked by user", a second emit asks again and Allow lets it continue, a harmless
// command continues without a question. The command's notify intent shows; JSON that does
// not parse is an inline error naming its line and is never sent. /note asks ctx.ui.select
// (one button per option) and ctx.ui.input (a text field) in the approvals bar: the option
// picked and the text typed reach the extension (its notify shows them, markup as text),
// Cancel answers undefined ("cancelled"), Enter submits the field. A syntax error in the
// source names the .ts line in the editor.
//
// Every wait is for something on the page; the ordering check is by completion (the
// counter's text arrives while the pi answer is still marked waiting), never by time.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  startWorkbench, runExample, clickButton, waitForText, setSource, errorGutterLine, waitForCount, TEST_TIMEOUT,
} from "./lib/workbench.mjs";

const emitPayload = (command) => JSON.stringify({ toolName: "bash", toolCallId: "c1", input: { command } });

test("the bundled pi extension: registrations, ctx.ui through approvals, commands, errors", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;
  const counter = await runExample(page, "counter");

  // Open and run: the pi card shows its registrations.
  await page.locator("[data-testid=catalog-permission-guard]").click();
  await page.locator("[data-testid=run]:visible").click();
  await page.locator("[data-role=editor][data-busy=false]").waitFor();
  const pi = page.locator("[data-testid=pi-card]");
  await pi.waitFor();
  await pi.locator("[data-testid=pi-tools] li[data-name=guard_check]").waitFor();
  assert.match(await pi.locator("[data-testid=pi-tools] .pi__schema").innerText(), /"command"/);
  await pi.locator("[data-testid=pi-commands] li[data-name=guard-status]").waitFor();
  assert.match(await pi.locator("[data-testid=pi-events]").innerText(), /tool_call/);
  // the emit form starts from a pi-shaped tool_call payload
  assert.match(await pi.locator("[data-testid=pi-emit-payload]").inputValue(), /"toolName": "bash"/);

  const answers = pi.locator("[data-testid=pi-answer]");
  const newest = answers.first();
  const emit = async (command) => {
    await pi.locator("[data-testid=pi-emit-payload]").fill(emitPayload(command));
    await pi.locator("[data-testid=pi-emit-send]").click();
  };

  // A dangerous command: the question shows in the approvals bar and the call waits.
  await emit("rm -rf /tmp/x");
  const prompt = page.locator("[data-testid=approval-prompt][data-action=ui]");
  await prompt.waitFor();
  assert.match(await prompt.innerText(), /Dangerous command: rm -rf \/tmp\/x/);
  // a ctx.ui answer is never remembered, and the prompt says so
  assert.match(await prompt.innerText(), /for this question only/);
  assert.doesNotMatch(await prompt.innerText(), /later calls/);
  // Meanwhile an ordinary plugin answers: its text arrives while the pi call still waits.
  await clickButton(page, counter, "Increment");
  await waitForText(page, counter, "Counter: 1");
  assert.equal(await pi.locator("[data-testid=pi-answer][data-state=waiting]").count(), 1);

  // Deny: blocked by the user.
  await prompt.locator("[data-testid=approval-deny]").click();
  await prompt.waitFor({ state: "detached" });
  await pi.locator("[data-testid=pi-answer][data-state=done]").first().waitFor();
  assert.match(await newest.locator("[data-testid=pi-answer-action]").innerText(), /^action\s*block$/);
  assert.match(await newest.locator("[data-testid=pi-answer-reason]").innerText(), /Blocked by user/);

  // Again: a fresh question (never remembered); Allow lets it continue.
  await emit("rm -rf /tmp/x");
  await prompt.waitFor();
  await prompt.locator("[data-testid=approval-allow]").click();
  await waitForCount(pi.locator("[data-testid=pi-answer][data-state=done]"), 2);
  assert.match(await newest.locator("[data-testid=pi-answer-action]").innerText(), /continue/);

  // A harmless command: continue, and nobody is asked.
  await emit("ls -la");
  await waitForCount(pi.locator("[data-testid=pi-answer][data-state=done]"), 3);
  assert.match(await newest.locator("[data-testid=pi-answer-action]").innerText(), /continue/);
  assert.equal(await page.locator("[data-testid=approval-prompt]").count(), 0);

  // The command: its notify intent is listed.
  await pi.locator("[data-testid=pi-command-send]").click();
  await waitForCount(pi.locator("[data-testid=pi-answer][data-state=done]"), 4);
  const intent = newest.locator("[data-testid=pi-intent][data-type=notify]");
  assert.match(await intent.innerText(), /permission-guard: asking before 5 patterns/);

  // The tool, with params from its schema.
  await pi.locator("[data-testid=pi-tool-params]").fill(JSON.stringify({ command: "sudo ls" }));
  await pi.locator("[data-testid=pi-tool-send]").click();
  await waitForCount(pi.locator("[data-testid=pi-answer][data-state=done]"), 5);
  assert.match(await newest.locator("[data-testid=pi-answer-content]").innerText(), /would ask: matches/);

  // JSON that does not parse: an inline error naming its line, nothing sent.
  await pi.locator("[data-testid=pi-emit-payload]").fill('{\n  "toolName": bash\n}');
  await pi.locator("[data-testid=pi-emit-send]").click();
  const jsonError = pi.locator("[data-testid=pi-emit-error]");
  await jsonError.waitFor();
  assert.match(await jsonError.innerText(), /line 2/);
  assert.equal(await answers.count(), 5);

  // /note: a select, then an input, answered with text in the approvals bar.
  const done = pi.locator("[data-testid=pi-answer][data-state=done]");
  const select = page.locator("[data-testid=approval-prompt][data-action='ui.select']");
  const input = page.locator("[data-testid=approval-prompt][data-action='ui.input']");
  const field = input.locator("[data-testid=approval-text]");
  const note = async () => {
    await pi.locator("[data-testid=pi-command-name]").selectOption("note");
    await pi.locator("[data-testid=pi-command-send]").click();
    await select.waitFor();
  };
  await note();
  assert.equal(await select.locator("[data-testid=approval-title]").innerText(), "Kind?");
  assert.deepEqual(await select.locator("[data-testid=approval-option]").allInnerTexts(), ["todo", "idea"]);
  assert.match(await select.innerText(), /for this question only/);
  await select.locator("[data-testid=approval-option][data-option=idea]").click();
  await input.waitFor();
  await select.waitFor({ state: "detached" });
  assert.equal(await field.getAttribute("placeholder"), "what to remember");
  await field.fill("water the <b>plants</b>");
  await input.locator("[data-testid=approval-ok]").click();
  await waitForCount(done, 6);
  await input.waitFor({ state: "detached" });
  assert.match(await newest.locator("[data-testid=pi-intent][data-type=notify]").innerText(),
    /note \(idea\): water the <b>plants<\/b>/);
  // Again, cancelled at the select: the extension gets undefined.
  await note();
  await select.locator("[data-testid=approval-cancel]").click();
  await waitForCount(done, 7);
  assert.match(await newest.locator("[data-testid=pi-intent][data-type=notify]").innerText(), /note: cancelled/);
  assert.equal(await page.locator("[data-testid=approval-prompt]").count(), 0);
  // Enter in the field answers it.
  await note();
  await select.locator("[data-testid=approval-option][data-option=todo]").click();
  await input.waitFor();
  await field.fill("call back");
  await field.press("Enter");
  await waitForCount(done, 8);
  assert.match(await newest.locator("[data-testid=pi-intent][data-type=notify]").innerText(), /note \(todo\): call back/);

  // A syntax error in the source: the editor names the .ts file's line; the card goes.
  const src = await page.locator("[data-testid=editor]").evaluate((e) => e.value);
  const broken = src.replace("function dangerous(command: string): RegExp | undefined {",
    "function dangerous(command: string): RegExp | undefined {\n  const oops = ;");
  const line = broken.split("\n").findIndex((l) => l.includes("const oops = ;")) + 1;
  await setSource(page, broken);
  await page.locator("[data-testid=run]:visible").click();
  await page.locator("[data-role=editor][data-busy=false]").waitFor();
  const box = page.locator("[data-testid=editor-error]");
  await box.waitFor();
  const text = await box.innerText();
  assert.match(text, new RegExp("permission-guard\\.ts:" + line));
  assert.match(text, new RegExp("at line " + line));
  assert.equal(await errorGutterLine(page), String(line));
  await pi.waitFor({ state: "detached" });
  assert.deepEqual(wb.pageErrors, []);
});

