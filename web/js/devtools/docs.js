// devtools/docs.js: the plugin-authoring guide, rendered from its markdown.
//
// The guide is served by the binary at /docs/plugin-authoring.md. renderMarkdown() is a
// deliberately small renderer for the subset the guide uses: ATX headings (with GitHub-
// style ids so the guide's own "#anchor" links work), paragraphs, fenced code blocks,
// flat and indented lists, pipe tables, block quotes, and inline code, bold, emphasis and
// links. HTML comments are dropped. Everything is built with createElement/textContent;
// raw HTML in the source is shown as text, and a link is kept only if it is an in-page
// anchor or http(s) (anything else, e.g. a repository-relative path, becomes plain text),
// so the document cannot run script even under a looser CSP.

import { h } from "./util.js";

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
export function slug(text) {
  return text.toLowerCase().trim().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

const INLINE = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\(([^)\s]+)\)/g;

/** Appends the inline markup of `text` to `parent`. */
function inline(parent, text) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) parent.append(text.slice(last, m.index));
    if (m[1] !== undefined) parent.append(h("code", { text: m[1] }));
    else if (m[2] !== undefined) inline(parent.appendChild(h("strong")), m[2]);
    else if (m[3] !== undefined) inline(parent.appendChild(h("em")), m[3]);
    else {
      const href = m[5];
      if (href.startsWith("#") || /^https?:\/\//i.test(href)) {
        const a = h("a");
        a.href = href;
        if (!href.startsWith("#")) { a.target = "_blank"; a.rel = "noopener noreferrer"; }
        inline(a, m[4]);
        parent.append(a);
      } else {
        inline(parent, m[4]);
      }
    }
    last = m.index + m[0].length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

const LIST_ITEM = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/;

function splitRow(line) {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  // Pipes inside `code` do not split cells.
  const cells = [];
  let cur = "", code = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && s[i + 1] === "|") { cur += "|"; i++; continue; }
    if (c === "`") code = !code;
    if (c === "|" && !code) { cells.push(cur.trim()); cur = ""; continue; }
    cur += c;
  }
  cells.push(cur.trim());
  return cells;
}

/** markdown text -> DocumentFragment. Pure: reads nothing but its argument. */
export function renderMarkdown(src) {
  const text = String(src).replace(/\r\n?/g, "\n").replace(/<!--[\s\S]*?-->/g, "");
  const lines = text.split("\n");
  const out = document.createDocumentFragment();
  let i = 0;
  const blank = (l) => /^\s*$/.test(l);
  const startsBlock = (l) => /^(#{1,6}\s|```|>|\s*\|)/.test(l) || LIST_ITEM.test(l);

  while (i < lines.length) {
    const line = lines[i];
    if (blank(line)) { i++; continue; }

    let m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (m) {
      const e = h("h" + m[1].length);
      e.id = slug(m[2].replace(/[`*]/g, ""));
      inline(e, m[2]);
      out.append(e);
      i++;
      continue;
    }

    m = /^(\s*)```\s*([\w-]*)/.exec(line);
    if (m) {
      const body = [];
      i++;
      while (i < lines.length && !/^\s*```\s*$/.test(lines[i])) body.push(lines[i++]);
      i++;  // the closing fence (or the end)
      const code = h("code", { text: body.join("\n") });
      if (m[2]) code.dataset.lang = m[2];
      out.append(h("pre", { cls: "code" }, [code]));
      continue;
    }

    if (/^\s*\|/.test(line) && i + 1 < lines.length && /^\s*\|?\s*:?-{2,}/.test(lines[i + 1])) {
      const table = h("table", { cls: "grid" });
      const tr = h("tr");
      for (const c of splitRow(line)) inline(tr.appendChild(h("th")), c);
      table.append(h("thead", {}, [tr]));
      const tbody = table.appendChild(h("tbody"));
      i += 2;
      while (i < lines.length && /^\s*\|/.test(lines[i])) {
        const r = tbody.appendChild(h("tr"));
        for (const c of splitRow(lines[i])) inline(r.appendChild(h("td")), c);
        i++;
      }
      out.append(table);
      continue;
    }

    if (/^>\s?/.test(line)) {
      const body = [];
      while (i < lines.length && /^>\s?/.test(lines[i])) body.push(lines[i++].replace(/^>\s?/, ""));
      const q = h("blockquote");
      q.append(renderMarkdown(body.join("\n")));
      out.append(q);
      continue;
    }

    if (LIST_ITEM.test(line)) {
      out.append(list(lines, i, (next) => { i = next; }));
      continue;
    }

    const para = [];
    while (i < lines.length && !blank(lines[i]) && !(para.length && startsBlock(lines[i]))) para.push(lines[i++].trim());
    inline(out.appendChild(h("p")), para.join(" "));
  }
  return out;
}

/** One list starting at lines[start] (and any deeper lists inside it). */
function list(lines, start, setNext) {
  const first = LIST_ITEM.exec(lines[start]);
  const indent = first[1].length;
  const e = h(/\d/.test(first[2]) ? "ol" : "ul");
  let i = start;
  let item = null;
  let textLines = [];
  const flush = () => { if (item && textLines.length) inline(item, textLines.join(" ")); textLines = []; };
  while (i < lines.length) {
    const l = lines[i];
    const m = LIST_ITEM.exec(l);
    if (m && m[1].length === indent) {
      flush();
      item = e.appendChild(h("li"));
      textLines.push(m[3]);
      i++;
    } else if (m && m[1].length > indent && item) {
      flush();
      item.append(list(lines, i, (next) => { i = next; }));
    } else if (!/^\s*$/.test(l) && /^\s+/.test(l) && item && !/^\s*```/.test(l)) {
      textLines.push(l.trim());
      i++;
    } else {
      break;
    }
  }
  flush();
  setNext(i);
  return e;
}

export class DocsPanel {
  constructor(root) {
    this.root = root;
    this.loaded = false;
    // In-page anchors scroll the panel instead of changing the page's URL (which holds
    // the session token).
    root.addEventListener("click", (ev) => {
      const a = ev.target.closest("a[href^='#']");
      if (!a) return;
      ev.preventDefault();
      const target = root.querySelector("#" + CSS.escape(a.getAttribute("href").slice(1)));
      if (target) target.scrollIntoView({ block: "start" });
    });
  }

  /** Fetches and renders the guide the first time the Docs tab is shown. */
  async show() {
    if (this.loaded) return;
    this.loaded = true;
    try {
      const res = await fetch("/docs/plugin-authoring.md");
      if (!res.ok) throw new Error("HTTP " + res.status);
      const article = h("article", { cls: "markdown", data: { testid: "docs" } });
      article.append(renderMarkdown(await res.text()));
      this.root.replaceChildren(article);
    } catch (err) {
      this.loaded = false;
      this.root.replaceChildren(h("p", { cls: "muted", text: "Could not load the guide: " + err.message }));
    }
  }
}
