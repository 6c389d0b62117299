// screenshots.mjs: the workbench pictures in docs/, regenerated from a live server.
//
// Run by scripts/screenshots.sh. Uses the tests' helper, so it starts `airlock serve`
// (AIRLOCK_BIN) and /usr/bin/chromium the same way, at 1280x800, and waits for what each
// picture shows rather than for a fixed time:
//   docs/workbench-counter.png     counter after two increments, its timeline rows, one expanded
//   docs/workbench-calculator.png  calculator mid-calculation, beside the counter
//   docs/workbench-error.png       a syntax error inline in the editor, gutter line marked
//   docs/workbench-state.png       the State tab: editable state, each step's diff, Jump
//   docs/workbench-small.png       the same page at 800x600 with eight editor tabs

import path from "node:path";
import {
  startWorkbench, runExample, runActiveTab, clickButton, waitForText, card, timelineRows,
  waitForCount, REPO, getSource, setSource,
} from "./lib/workbench.mjs";

const out = (name) => path.join(REPO, "docs", name);

const wb = await startWorkbench();
try {
  const { page } = wb;

  const counter = await runExample(page, "counter");
  await clickButton(page, counter, "Increment");
  await waitForText(page, counter, "Counter: 1");
  await clickButton(page, counter, "Increment");
  await waitForText(page, counter, "Counter: 2");
  await waitForCount(timelineRows(page, { instance: counter }), 4);
  // Expand the newest row, the shared write, to show its payload.
  await timelineRows(page, { instance: counter, action: "set-instance" }).first().click();
  await page.locator("[data-testid=timeline-payload]").waitFor();
  await page.screenshot({ path: out("workbench-counter.png") });
  await timelineRows(page, { instance: counter, action: "set-instance" }).first().click();

  const calc = await runExample(page, "calculator");
  for (const key of ["1", "2", "*", "3"]) {
    await card(page, calc).getByRole("button", { name: key, exact: true }).click();
  }
  await waitForText(page, calc, "Display: 3");
  await card(page, calc).locator("[data-kind=badge]", { hasText: "Pending: 12 *" }).waitFor();
  await page.locator(".preview").evaluate((el) => { el.scrollTop = 0; });
  await page.screenshot({ path: out("workbench-calculator.png") });

  // Back to the counter's tab; break it and reload: the old code keeps running.
  await page.locator(".tab__label", { hasText: "Counter" }).click();
  const src = await getSource(page);
  await setSource(page, src.replace('ui.text("Counter: " + value),', 'ui.text("Counter: " + value)'));
  await runActiveTab(page, { reload: true });
  await page.locator("[data-testid=editor-error]").waitFor({ state: "visible" });
  await page.locator("[data-testid=devtools-tab-errors]").click();
  await page.locator("[data-testid=error-row]").first().waitFor();
  // Scroll the code so the marked line is in view.
  await page.locator(".editor__gutter .is-error, .cm-lineNumbers .is-error").evaluate((n) => {
    const area = document.querySelector("textarea[data-testid=editor]");
    if (area) area.scrollTop = Math.max(0, n.offsetTop - area.clientHeight / 2);
    else n.scrollIntoView({ block: "center" });
  });
  await page.screenshot({ path: out("workbench-error.png") });

  // Fix it again, then the State tab after a few steps and a jump back.
  await setSource(page, src);
  await runActiveTab(page, { reload: true });
  await clickButton(page, counter, "Increment");
  await waitForText(page, counter, "Counter: 3");
  await page.locator("[data-testid=devtools-tab-state]").click();
  await page.locator("[data-testid=state-instance]").selectOption(counter);
  await page.locator("[data-testid=history-row]").nth(3).waitFor();
  await page.locator("[data-testid=history-row][data-seq='3'] [data-testid=history-jump]").click();
  await waitForText(page, counter, "Counter: 2");
  await page.locator("[data-testid=history-row][data-op='state/rewind']").waitFor();
  await page.screenshot({ path: out("workbench-state.png") });

  // Eight tabs at 800x600: the strip scrolls, every button stays in reach.
  for (const p of ["todo", "form", "greeter", "status-dashboard", "counter", "async"]) {
    await page.locator(`[data-testid="catalog-${p}"]`).click();
  }
  await page.locator("[data-testid=devtools-tab-timeline]").click();
  await page.setViewportSize({ width: 800, height: 600 });
  await page.screenshot({ path: out("workbench-small.png") });
  console.log("screenshots: wrote docs/workbench-{counter,calculator,error,state,small}.png");
} finally {
  await wb.close();
}
