// build.mjs: turns the npm packages in node_modules/ into plain ES modules the workbench
// can serve as they are, with no bundler and no import map.
//
//   node build.mjs <dir holding node_modules/> <out dir>
//
// For every package package-lock.json lists, its ES module entry (exports["."].import,
// else exports.import, else module, else main) is copied to <out>/<name>.js, where the
// name drops "@" and turns "/" into "-" (@codemirror/view -> codemirror-view.js: the
// server's static paths take no "@"). Each bare specifier naming one of those packages
// (`from "@codemirror/state"`, `import "x"`, `import("x")`) is rewritten to the sibling
// file ("./codemirror-state.js"), so the browser resolves everything relative to
// /vendor/ under the page's CSP (default-src 'self'; an inline import map would need a
// hash). Any other bare or relative import fails the build: it would 404 in the page.
// The packages' licence texts go to <out>/licenses.txt.
//
// One patch, for the CSP: style-mod (CodeMirror's CSS-in-JS) mounts its rules on a
// Document through a <style> element, which default-src 'self' refuses ("inline style"),
// and uses a constructed stylesheet (adoptedStyleSheets, which the CSP allows) only in a
// shadow root. PATCHES makes it use the constructed stylesheet on a Document too (every
// browser the workbench supports has document.adoptedStyleSheets); a package update that
// changes the patched line fails the build here instead of silently unstyling the editor.
import fs from "node:fs";
import path from "node:path";

const [root, out] = process.argv.slice(2);
if (!root || !out) {
  console.error("usage: node build.mjs <dir holding node_modules/> <out dir>");
  process.exit(2);
}
const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8"));
const names = Object.keys(lock.packages).filter((k) => k.startsWith("node_modules/")).map((k) => k.slice(13));
const PATCHES = {
  "style-mod": [["if (!root.head && root.adoptedStyleSheets && win.CSSStyleSheet) {",
    "if (root.adoptedStyleSheets && win.CSSStyleSheet) { // airlock: also on a Document (CSP)"]],
};
const fileOf = (name) => name.replace(/^@/, "").replace(/\//g, "-") + ".js";
const known = new Set(names);

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const licenses = [];
for (const name of names) {
  const dir = path.join(root, "node_modules", name);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  const e = pkg.exports;
  const entry = (e && (e["."]?.import ?? e.import ?? (typeof e["."] === "string" ? e["."] : null))) ?? pkg.module ?? pkg.main;
  if (!entry) throw new Error(name + ": no ES module entry");
  let src = fs.readFileSync(path.join(dir, entry), "utf8");
  const bad = [];
  src = src.replace(/(\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"'\n]+)\2/g, (all, lead, q, spec) => {
    if (known.has(spec)) return lead + q + "./" + fileOf(spec) + q;
    // Text inside strings and templates may look like an import (lang-javascript's
    // snippets do); only a specifier that could resolve is a problem.
    if (spec.startsWith(".") && /^\s*(from|import)/.test(lead)) bad.push(spec);
    return all;
  });
  if (bad.length) throw new Error(name + ": relative imports are not supported: " + bad.join(", "));
  for (const [from, to] of PATCHES[name] ?? []) {
    if (!src.includes(from)) throw new Error(name + "@" + pkg.version + ": the line build.mjs patches is gone: " + from);
    src = src.replace(from, to);
  }
  fs.writeFileSync(path.join(out, fileOf(name)), "// " + name + "@" + pkg.version + " (" + (pkg.license ?? "?") + "), from npm; see licenses.txt\n" + src);
  const lic = fs.readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  licenses.push("== " + name + "@" + pkg.version + " (" + (pkg.license ?? "?") + ")\n\n"
    + (lic ? fs.readFileSync(path.join(dir, lic), "utf8").trim() : "(no licence file in the package)") + "\n");
}
fs.writeFileSync(path.join(out, "licenses.txt"), licenses.join("\n"));
console.log("vendored " + names.length + " packages into " + out);
