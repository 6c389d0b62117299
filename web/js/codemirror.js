// codemirror.js: the editor's code area as CodeMirror 6, when the build embedded it.
//
// CodeMirror is fetched at build time (vendor/codemirror: package.json and
// package-lock.json pin every version and tarball hash; cmake/FetchEditor.cmake runs
// npm ci and vendor/codemirror/build.mjs rewrites the packages' bare imports to sibling
// files) and served from /vendor/. main.js imports this module dynamically; when the
// binary was built offline the import fails and editor.js keeps its textarea.
//
// Same interface as editor.js's TextareaCode: show(tabId, text, kind), value, onChange, focus,
// setDisabled, markError(line, message), drop(tabId). Each tab has its own EditorState,
// so switching tabs keeps each one's undo history, selection and scroll.
//
// What it adds over the textarea: JavaScript highlighting (TypeScript for a "ts" tab,
// TypeScript with JSX for a "tsx" one: @codemirror/lang-javascript's own dialects, in the
// pinned 6.2.5; a .ts file gets no JSX, since there `<T>x` is a type assertion), bracket
// matching and closing,
// search (Ctrl/Cmd+F, with replace), folding, line numbers that follow wrapping,
// an error marker and underline on the line an error names (lint diagnostics), and the
// existing keys: Ctrl/Cmd+Enter runs, Tab / Shift+Tab indent and dedent.
//
// The page's CSP is default-src 'self': CodeMirror's styles go in through constructed
// stylesheets (adoptedStyleSheets), which the CSP does not govern; nothing here uses an
// inline <style> or style attribute markup.

import { EditorState, Compartment } from "/vendor/codemirror-state.js";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection,
  highlightSpecialChars, rectangularSelection, gutterLineClass, GutterMarker,
} from "/vendor/codemirror-view.js";
import { defaultKeymap, history, historyKeymap, indentMore, indentLess } from "/vendor/codemirror-commands.js";
import {
  syntaxHighlighting, defaultHighlightStyle, bracketMatching, indentOnInput, foldGutter, foldKeymap, indentUnit,
} from "/vendor/codemirror-language.js";
import { javascript } from "/vendor/codemirror-lang-javascript.js";
import { searchKeymap, highlightSelectionMatches } from "/vendor/codemirror-search.js";
import { closeBrackets, closeBracketsKeymap } from "/vendor/codemirror-autocomplete.js";
import { setDiagnostics, lintGutter } from "/vendor/codemirror-lint.js";
import { StateField, StateEffect, RangeSet } from "/vendor/codemirror-state.js";

/** The error line's number in the line-number gutter gets class is-error. */
const errorMarker = new class extends GutterMarker { get elementClass() { return "is-error"; } }();
const setErrorLine = StateEffect.define();
const errorLineField = StateField.define({
  create: () => RangeSet.empty,
  update(set, tr) {
    for (const e of tr.effects) {
      if (e.is(setErrorLine)) {
        const n = e.value;
        set = n > 0 && n <= tr.state.doc.lines ? RangeSet.of([errorMarker.range(tr.state.doc.line(n).from)]) : RangeSet.empty;
      }
    }
    return tr.docChanged ? set.map(tr.changes) : set;
  },
  provide: (f) => gutterLineClass.from(f),
});

const theme = EditorView.theme({
  "&": { height: "100%", fontSize: "var(--code-size)" },
  ".cm-scroller": { fontFamily: "var(--mono)", lineHeight: "var(--code-line)" },
  ".cm-content": { padding: "8px 0" },
  ".cm-gutters": { background: "#fafbfc", color: "#98a1ab", borderRight: "1px solid var(--border)" },
  ".cm-lineNumbers .cm-gutterElement.is-error": { background: "var(--bad-soft)", color: "var(--bad)", fontWeight: "700", boxShadow: "inset 3px 0 0 var(--bad)" },
  "&.cm-focused": { outline: "none" },
  // @codemirror/lint draws its marker and squiggle with data: SVG images, which the CSP
  // (default-src 'self') refuses to load: the same marks in plain CSS instead.
  ".cm-lintRange-error": { backgroundImage: "none", textDecoration: "underline wavy var(--bad)", textDecorationSkipInk: "none" },
  ".cm-lint-marker-error": { content: "normal", background: "var(--bad)", borderRadius: "50%", width: ".6em", height: ".6em", margin: ".3em .2em" },
});

/** The language support for a tab's kind (editor.js sourceKind): "js", "ts" or "tsx". */
function language(kind) {
  if (kind === "tsx") return javascript({ typescript: true, jsx: true });
  if (kind === "ts") return javascript({ typescript: true });
  return javascript();
}

/** Tab with nothing selected: two spaces at the cursor (as the textarea editor does). */
function insertIndent(view) {
  view.dispatch(view.state.replaceSelection("  "), { scrollIntoView: true, userEvent: "input" });
  return true;
}

export class CodeMirrorCode {
  /** body: the .editor__body element; hooks: {onChange(text), onRun()}. */
  constructor(body, hooks) {
    this.hooks = hooks;
    this.states = new Map();   // tabId -> {state, top, kind}
    this.tabId = null;
    this.kind = "js";
    this.editable = new Compartment();
    this.silent = false;
    body.replaceChildren();
    body.classList.add("editor__body--cm");
    this.view = new EditorView({ parent: body, state: this.fresh("") });
    // Tests and tools read the text as they would a textarea's.
    const view = this.view;
    Object.defineProperty(view.contentDOM, "value", { get: () => view.state.doc.toString() });
  }

  fresh(text, kind = "js") {
    const run = () => { this.hooks.onRun(); return true; };
    return EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(), foldGutter(), lintGutter(), highlightActiveLineGutter(), highlightSpecialChars(),
        history(), drawSelection(), EditorState.allowMultipleSelections.of(true), indentOnInput(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }), bracketMatching(), closeBrackets(),
        rectangularSelection(), highlightActiveLine(), highlightSelectionMatches(), language(kind),
        indentUnit.of("  "), EditorState.tabSize.of(2), errorLineField, theme,
        this.editable.of(EditorView.editable.of(true)),
        EditorView.contentAttributes.of({ "data-testid": "editor", "aria-label": "Plugin source", spellcheck: "false" }),
        keymap.of([
          { key: "Mod-Enter", run, preventDefault: true },
          // Tab indents (two spaces at the cursor, or every selected line); Shift+Tab
          // dedents. Esc then Tab leaves the editor (CodeMirror's tab-focus escape).
          { key: "Tab", run: (v) => (v.state.selection.ranges.some((r) => !r.empty) ? indentMore(v) : insertIndent(v)), shift: indentLess },
          ...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...foldKeymap,
        ]),
        EditorView.updateListener.of((u) => {
          if (u.docChanged && !this.silent) this.hooks.onChange(u.state.doc.toString());
        }),
      ],
    });
  }

  get value() { return this.view.state.doc.toString(); }

  /** Shows tab `tabId` with `text` highlighted as `kind` (its own state when the text and
   *  kind are what it last had). */
  show(tabId, text, kind = "js") {
    if (this.tabId !== null) this.states.set(this.tabId, { state: this.view.state, top: this.view.scrollDOM.scrollTop, kind: this.kind });
    this.tabId = tabId;
    this.kind = kind;
    const kept = tabId !== null ? this.states.get(tabId) : null;
    const same = kept && kept.kind === kind && kept.state.doc.toString() === text;
    this.silent = true;
    this.view.setState(same ? kept.state : this.fresh(text, kind));
    this.silent = false;
    // Each tab comes back where it was scrolled to; a new one at its top.
    this.view.scrollDOM.scrollTop = same ? kept.top : 0;
  }

  drop(tabId) { this.states.delete(tabId); }

  setDisabled(disabled) {
    this.view.dispatch({ effects: this.editable.reconfigure(EditorView.editable.of(!disabled)) });
    this.view.dom.classList.toggle("is-disabled", disabled);
  }

  focus() { this.view.focus(); }

  /** Marks line `line` (1-based; 0: none) as the error's, with `message` as its diagnostic. */
  markError(line, message) {
    const doc = this.view.state.doc;
    const ok = line > 0 && line <= doc.lines;
    const l = ok ? doc.line(line) : null;
    this.view.dispatch(setDiagnostics(this.view.state, ok
      ? [{ from: l.from, to: Math.max(l.from, l.to), severity: "error", message: message || "error" }] : []));
    this.view.dispatch({ effects: setErrorLine.of(ok ? line : 0) });
  }
}
