// The other node kinds end to end, through real plugins: input (onChange gets {value}),
// table, column, counter (onIncrement / onDecrement args), two widgets over one state.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorkbench, runExample, clickButton, waitForText, card, TEST_TIMEOUT } from "./lib/workbench.mjs";

test("todo: typing commits through onChange, Add and Done update both widgets", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const id = await runExample(page, "todo");
  const todo = card(page, id);
  await todo.locator("[data-widget=list] [data-kind=text]", { hasText: "Nothing to do" }).waitFor();
  const input = todo.locator("[data-widget=list] input[data-kind=input]");
  assert.equal(await input.getAttribute("placeholder"), "What needs doing?");
  await input.fill("buy milk");
  await input.press("Enter");  // commits: onChange -> {value: "buy milk"}
  await todo.locator("[data-widget=list] input[data-kind=input]").and(page.locator("[value='buy milk']")).waitFor();
  await clickButton(page, id, "Add");
  await waitForText(page, id, "[ ] buy milk");
  // The summary widget renders the same state as a table.
  const summary = todo.locator("[data-widget=summary] [data-kind=table]");
  await summary.locator("td", { hasText: "buy milk" }).waitFor();
  await clickButton(page, id, "Done");
  await waitForText(page, id, "[x] buy milk");
  await summary.locator("tr", { hasText: "buy milk" }).locator("td", { hasText: /^done$/ }).waitFor();
  await todo.locator("[data-widget=summary] [data-kind=badge]", { hasText: "1 done" }).waitFor();
  assert.deepEqual(wb.pageErrors, []);
});

test("form: counters step within bounds and the validated submit renders", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const id = await runExample(page, "form");
  const form = card(page, id);
  const tickets = form.locator("[data-kind=counter]").first();
  assert.equal(await tickets.locator(".ui-counter__value").innerText(), "1");
  await tickets.locator("[data-role=increment]").click();
  await form.locator("[data-kind=counter]").first().locator(".ui-counter__value", { hasText: /^2$/ }).waitFor();
  // Tickets never go below 1: decrementing twice from 2 ends at 1.
  await form.locator("[data-kind=counter]").first().locator("[data-role=decrement]").click();
  await form.locator("[data-kind=counter]").first().locator(".ui-counter__value", { hasText: /^1$/ }).waitFor();

  await clickButton(page, id, "Submit");
  await form.locator("[data-kind=badge]", { hasText: "Name is required" }).waitFor();
  await form.locator("input[placeholder=Name]").fill("Ada");
  await form.locator("input[placeholder=Name]").press("Enter");
  await form.locator("input[placeholder=Email]").fill("ada@example.com");
  await form.locator("input[placeholder=Email]").press("Enter");
  await form.locator("input[placeholder=Email]").and(page.locator("[value='ada@example.com']")).waitFor();
  await clickButton(page, id, "Submit");
  await form.locator("[data-kind=badge]", { hasText: "Submitted 1 time: Ada <ada@example.com>" }).waitFor();
  assert.deepEqual(wb.pageErrors, []);
});
