// The page on open: catalog with grants, toolbar, docs, and the disconnected state.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { startWorkbench, showDevtools, TEST_TIMEOUT, REPO } from "./lib/workbench.mjs";

test("the page shows the bundled examples with their grants", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  for (const id of ["counter", "calculator", "status-dashboard", "greeter", "todo", "form"]) {
    await page.locator(`[data-testid="catalog-${id}"]`).waitFor();
  }
  // R/W for a written domain, R for one only read, "no grants" when the manifest has none.
  const counter = page.locator("[data-testid=catalog-counter]");
  assert.equal(await counter.locator("[data-grant]").count(), 1);
  assert.equal(await counter.locator("[data-grant]").getAttribute("data-grant"), "counter-summary:R/W");
  const dashboard = page.locator("[data-testid=catalog-status-dashboard]");
  assert.deepEqual(
    (await dashboard.locator("[data-grant]").evaluateAll((els) => els.map((e) => e.dataset.grant))).sort(),
    ["counter-summary:R", "runtime-metrics:R", "runtime-registry:R"]);
  assert.match(await page.locator("[data-testid=catalog-calculator]").innerText(), /no grants/);

  assert.equal(await page.locator("[data-testid=toolbar-instances]").innerText(), "0");
  assert.equal(await page.locator("[data-testid^=instance-]").count(), 0);
  assert.deepEqual(wb.pageErrors, []);
});

test("the Docs tab renders the plugin-authoring guide", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  await showDevtools(page, "docs");
  const docs = page.locator("[data-testid=docs]");
  await docs.locator("h1", { hasText: "Writing Airlock plugins" }).waitFor();
  // Headings get ids the guide's own table of contents links to.
  assert.equal(await docs.locator("a[href='#ui-builders']").count() > 0, true);
  assert.equal(await docs.locator("h2#ui-builders").count(), 1);
  assert.ok(await docs.locator("pre.code code").count() > 5, "code blocks rendered");
  assert.ok(await docs.locator("table").count() > 0, "tables rendered");
  assert.deepEqual(wb.pageErrors, []);
});

test("a lost connection shows the disconnected state", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  assert.equal(await page.locator("[data-testid=disconnected]").isVisible(), false);
  wb.server.proc.kill("SIGTERM");
  await page.locator("[data-testid=disconnected]").waitFor({ state: "visible" });
  await page.locator("[data-testid=conn-status][data-status=disconnected]").waitFor();
  assert.equal(await page.locator("[data-testid=toolbar-health]").innerText(), "offline");
  assert.deepEqual(wb.pageErrors, []);
});

test("after a server restart the old page says so and what to open", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const port = new URL(wb.url).port;
  wb.server.proc.kill("SIGTERM");
  await page.locator("[data-testid=disconnected]").waitFor({ state: "visible" });
  await new Promise((r) => (wb.server.proc.exitCode !== null ? r() : wb.server.proc.once("exit", r)));
  // A new run on the same port: it has a new token, which this page does not have.
  const bin = path.resolve(REPO, process.env.AIRLOCK_BIN ?? "build/airlock");
  const again = spawn(bin, ["serve", "--no-open", "--port", port, "--home", wb.home], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((r) => again.once("exit", r));
  try {
    let out = "";
    await new Promise((resolve, reject) => {
      again.stdout.setEncoding("utf8").on("data", (c) => { out += c; if (/airlock serve: http/.test(out)) resolve(); });
      again.once("exit", (code) => reject(new Error("second server exited " + code + ": " + out)));
    });
    const banner = page.locator("[data-testid=restarted]");
    await banner.waitFor({ state: "visible" });
    assert.match(await banner.innerText(), /restarted/);
    assert.match(await banner.innerText(), new RegExp("127\\.0\\.0\\.1:" + port + "/\\?token="));
    assert.equal(await page.locator("[data-testid=disconnected]").isVisible(), false);
    assert.equal(await page.locator("[data-testid=conn-status]").getAttribute("data-status"), "refused");
  } finally {
    again.kill("SIGTERM");
    await exited;
  }
  assert.deepEqual(wb.pageErrors, []);
});
