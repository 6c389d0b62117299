// The pure renderer (web/js/render.js) and the guide's markdown renderer, exercised in the
// real browser on the page the server serves, with hand-made trees covering every kind.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorkbench, TEST_TIMEOUT } from "./lib/workbench.mjs";

test("renderNode draws every UINode kind and reports events with the contract's args", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const result = await page.evaluate(async () => {
    const { renderNode } = await import("/js/render.js");
    const events = [];
    const tree = {
      kind: "panel", children: [
        { kind: "row", children: [{ kind: "text", text: "<img src=x onerror=alert(1)>" }, { kind: "badge", text: "B" }] },
        { kind: "column", children: [
          { kind: "button", props: { label: "Go", variant: "destructive", onClick: { handler: "go", args: { n: 1 } } } },
          { kind: "button", props: { label: "Odd", variant: "url(javascript:x)" } },
          { kind: "input", props: { value: "v", placeholder: "P", onChange: { handler: "edit", args: "ignored" } } },
          { kind: "counter", props: { value: 3, onIncrement: { handler: "inc", args: 1 }, onDecrement: { handler: "dec" } } },
          { kind: "table", props: { headers: ["a", "b"], rows: [["x", 2], [{ o: 1 }, null]] } },
          { kind: "mystery" },
        ] },
      ],
    };
    const root = renderNode(tree, (ref, args) => events.push([ref.handler, args]));
    document.body.append(root);
    root.querySelector("[data-kind=button][data-variant=destructive]").click();
    const input = root.querySelector("[data-kind=input]");
    input.value = "typed";
    input.dispatchEvent(new Event("change"));
    root.querySelector("[data-role=increment]").click();
    root.querySelector("[data-role=decrement]").click();
    const kinds = [root, ...root.querySelectorAll("[data-kind]")].map((e) => e.dataset.kind);
    return {
      kinds, events,
      rootKind: root.dataset.kind,
      paths: [...root.querySelectorAll("[data-kind=button]")].map((e) => e.dataset.path),
      imgs: root.querySelectorAll("img").length,
      text: root.querySelector("[data-kind=text]").textContent,
      oddVariant: root.querySelector("[data-kind=button]:not([data-variant=destructive])").dataset.variant,
      oddDisabled: root.querySelector("[data-kind=button]:not([data-variant=destructive])").disabled,
      placeholder: input.placeholder,
      cells: [...root.querySelectorAll("td")].map((td) => td.textContent),
      headers: [...root.querySelectorAll("th")].map((th) => th.textContent),
      counterValue: root.querySelector(".ui-counter__value").textContent,
    };
  });

  assert.equal(result.rootKind, "panel");
  for (const k of ["panel", "row", "column", "text", "badge", "button", "input", "counter", "table", "unsupported"]) {
    assert.ok(result.kinds.includes(k), "rendered kind " + k);
  }
  assert.deepEqual(result.events, [["go", { n: 1 }], ["edit", { value: "typed" }], ["inc", 1], ["dec", undefined]]);
  assert.deepEqual(result.paths, ["root.children[1].children[0]", "root.children[1].children[1]"]);
  assert.equal(result.imgs, 0, "plugin text never becomes markup");
  assert.equal(result.text, "<img src=x onerror=alert(1)>");
  assert.equal(result.oddVariant, "default");
  assert.equal(result.oddDisabled, true, "a button without onClick is inert");
  assert.equal(result.placeholder, "P");
  assert.deepEqual(result.headers, ["a", "b"]);
  assert.deepEqual(result.cells, ["x", "2", '{"o":1}', "null"]);
  assert.equal(result.counterValue, "3");
  assert.deepEqual(wb.pageErrors, []);
});

test("renderMarkdown keeps to its subset and drops unsafe links", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const r = await page.evaluate(async () => {
    const { renderMarkdown, slug } = await import("/js/devtools/docs.js");
    const md = [
      "# Title `x`", "", "Some *em* and **strong** and `code` and [a](#anchor) [b](javascript:alert(1)) [c](https://example.com/).",
      "<script>alert(1)</script>", "<!-- hidden -->", "", "- one", "- two", "  - nested", "", "1. first", "",
      "```js", "let a = '<b>';", "```", "", "| h1 | h2 |", "|---|---|", "| `a|b` | c |", "", "> quoted",
    ].join("\n");
    const div = document.createElement("div");
    div.append(renderMarkdown(md));
    return {
      h1: div.querySelector("h1")?.id,
      links: [...div.querySelectorAll("a")].map((a) => a.getAttribute("href")),
      scripts: div.querySelectorAll("script").length,
      scriptText: div.textContent.includes("<script>alert(1)</script>"),
      hidden: div.textContent.includes("hidden"),
      lis: div.querySelectorAll(":scope > ul > li").length, nested: div.querySelectorAll("ul ul > li").length,
      ol: div.querySelectorAll("ol > li").length,
      code: div.querySelector("pre code")?.textContent,
      cells: [...div.querySelectorAll("td")].map((td) => td.textContent),
      quote: div.querySelector("blockquote")?.textContent,
      em: div.querySelector("em")?.textContent, strong: div.querySelector("strong")?.textContent,
      slug: slug("Shared domains, grants and globalState"),
    };
  });
  assert.equal(r.h1, "title-x");
  assert.deepEqual(r.links, ["#anchor", "https://example.com/"]);
  assert.equal(r.scripts, 0);
  assert.equal(r.scriptText, true, "raw HTML is shown as text");
  assert.equal(r.hidden, false, "HTML comments are dropped");
  assert.equal(r.lis, 2);
  assert.equal(r.nested, 1);
  assert.equal(r.ol, 1);
  assert.equal(r.code, "let a = '<b>';");
  assert.deepEqual(r.cells, ["a|b", "c"]);
  assert.equal(r.quote.trim(), "quoted");
  assert.equal(r.em, "em");
  assert.equal(r.strong, "strong");
  assert.equal(r.slug, "shared-domains-grants-and-globalstate");
  assert.deepEqual(wb.pageErrors, []);
});

test("patchNode updates in place: elements, focus, typed text and one listener survive", { timeout: TEST_TIMEOUT }, async (t) => {
  const wb = await startWorkbench();
  t.after(wb.close);
  const { page } = wb;

  const r = await page.evaluate(async () => {
    const { renderNode, patchNode } = await import("/js/render.js");
    const events = [];
    const emit = (ref, args) => events.push([ref.handler, args]);
    const tree = (n, extra) => ({ kind: "panel", children: [
      ...(extra ? [{ kind: "text", text: "new line" }] : []),
      { kind: "text", text: "n=" + n },
      { kind: "input", props: { value: "tree" + n, onChange: { handler: "edit" } } },
      { kind: "button", props: { label: "B" + n, onClick: { handler: "b", args: n } } },
      { kind: "table", props: { headers: ["h"], rows: [[String(n)]] } },
    ] });
    const root = renderNode(tree(1), emit);
    document.body.append(root);
    const button = root.querySelector("[data-kind=button]");
    const input = root.querySelector("[data-kind=input]");
    input.focus();
    input.value = "typed";
    input.setSelectionRange(1, 3);
    const same = patchNode(root, tree(2, true), emit) === root;
    const kept = root.querySelector("[data-kind=button]") === button && root.querySelector("[data-kind=input]") === input;
    button.click();
    const kind = patchNode(root, { kind: "text", text: "now text" }, emit);
    return {
      same, kept, events,
      label: button.textContent, path: button.dataset.path,
      focused: document.activeElement === input, value: input.value, sel: [input.selectionStart, input.selectionEnd],
      texts: [...root.querySelectorAll("[data-kind=text]")].map((e) => e.textContent),
      cell: root.querySelector("td").textContent,
      replaced: kind !== root && kind.dataset.kind === "text",
    };
  });
  assert.equal(r.same, true);
  assert.equal(r.kept, true, "the button and input are the same elements after the patch");
  assert.deepEqual(r.events, [["b", 2]], "one click, one emit, with the new tree's args");
  assert.equal(r.label, "B2");
  assert.equal(r.path, "root.children[3]");
  assert.equal(r.focused, true);
  assert.equal(r.value, "typed", "the person's unsent text wins over the tree while focused");
  assert.deepEqual(r.sel, [1, 3]);
  assert.deepEqual(r.texts, ["new line", "n=2"]);
  assert.equal(r.cell, "2");
  assert.equal(r.replaced, true, "another kind gets a fresh element");
  assert.deepEqual(wb.pageErrors, []);
});
