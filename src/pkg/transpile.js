// transpile.js: the driver that src/pkg/transpile.c runs over sucrase in a short-lived
// QuickJS VM on the host.
//
// The script's value is a function that C calls once with the sucrase bundle's module
// loader (cmake/FetchSucrase.cmake); it returns run(source, kind), where kind is "ts",
// "tsx" or "js", which answers JSON text {code, imports: [{spec, line}]} or throws.
// - code: the source with its types stripped (ts, tsx) and JSX turned into calls of
//   __airlock_jsx / __airlock_Fragment (tsx; the bootstrap defines both over `ui`, see
//   docs/modules.md); every line stays where it was, so an engine error names the .ts
//   line. ES module syntax is kept: QuickJS evaluates the result as a module. A "js"
//   source is not transformed, only scanned.
// - imports: the specifier of every static import / export-from and of every dynamic
//   import() of a string literal in `code`, found on sucrase's own tokens (not by a
//   parser of ours), with its 1-based line, for the host to resolve (modgraph.c).
// A sucrase syntax error carries .loc {line, column}; C reports that line.
(function (load) {
  "use strict";
  const sucrase = load("index.js");
  const { parse } = load("parser/index.js");
  const { TokenType: tt } = load("parser/tokenizer/types.js");
  const { ContextualKeyword: ck } = load("parser/tokenizer/keywords.js");

  const lineAt = (code, pos) => {
    let n = 1;
    for (let i = code.indexOf("\n"); i >= 0 && i < pos; i = code.indexOf("\n", i + 1)) n++;
    return n;
  };
  const spec = (code, tok, out) => {
    const raw = code.slice(tok.start + 1, tok.end - 1);
    const line = lineAt(code, tok.start);
    if (raw.indexOf("\\") >= 0) {
      const e = new SyntaxError("an import specifier must not contain escapes");
      e.loc = { line, column: 0 };
      throw e;
    }
    out.push({ spec: raw, line });
  };
  // The `from "x"` that ends the declaration starting at token i, if any: the first
  // contextual `from` followed by a string, before the statement's `;` or the next
  // import/export keyword (a declaration without `from` has no specifier).
  const fromAfter = (code, toks, i, out) => {
    for (let j = i + 1; j + 1 < toks.length; j++) {
      const t = toks[j];
      if (t.type === tt.semi || t.type === tt._import || t.type === tt._export) return j - 1;
      if (t.type === tt.name && t.contextualKeyword === ck._from && toks[j + 1].type === tt.string) {
        spec(code, toks[j + 1], out);
        return j + 1;
      }
    }
    return i;
  };

  function imports(code) {
    const toks = parse(code, false, false, false).tokens;
    const out = [];
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i], n = toks[i + 1];
      if (!n) break;
      if (t.type === tt._import) {
        if (n.type === tt.dot) continue; // import.meta
        if (n.type === tt.parenL) { // import("x"); a computed import() can never resolve
          const s = toks[i + 2];
          if (s && s.type === tt.string && toks[i + 3] && toks[i + 3].type === tt.parenR) spec(code, s, out);
          continue;
        }
        if (n.type === tt.string) { spec(code, n, out); i++; continue; }
        i = fromAfter(code, toks, i, out);
      } else if (t.type === tt._export && (n.type === tt.star || n.type === tt.braceL)) {
        i = fromAfter(code, toks, i, out);
      }
    }
    return out;
  }

  // Fixed options: sucrase's own option checker is a stub in our bundle (see
  // FetchSucrase.cmake), so nothing here may come from a plugin. disableESTransforms keeps
  // modern syntax QuickJS 2021 already runs (optional chaining, class fields) as written.
  const OPTS = {
    ts: { transforms: ["typescript"], disableESTransforms: true },
    tsx: { transforms: ["typescript", "jsx"], jsxPragma: "__airlock_jsx",
           jsxFragmentPragma: "__airlock_Fragment", production: true, disableESTransforms: true },
  };

  return function run(source, kind) {
    const o = OPTS[kind];
    const code = o ? sucrase.transform(source, o).code : source;
    return JSON.stringify({ code, imports: imports(code) });
  };
})
