// devtools/diff.js: what changed between two JSON values, as a list of paths.
//
// diff(a, b) -> [{path, op: "added" | "removed" | "changed", from?, to?}], depth first,
// keys in b's order then a's leftovers; arrays compare index by index. Pure and DOM-free
// (the State tab shows one list per dispatch; tests run it in node).

const isObj = (v) => v !== null && typeof v === "object";

export function diff(a, b, path = "", out = []) {
  if (Object.is(a, b)) return out;
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = Array.isArray(b)
      ? [...Array(Math.max(a.length, b.length)).keys()]
      : [...new Set([...Object.keys(b), ...Object.keys(a)])];
    for (const k of keys) {
      const p = Array.isArray(b) ? path + "[" + k + "]" : (path ? path + "." : "") + k;
      const inA = Array.isArray(a) ? k < a.length : Object.hasOwn(a, k);
      const inB = Array.isArray(b) ? k < b.length : Object.hasOwn(b, k);
      if (!inA) out.push({ path: p, op: "added", to: b[k] });
      else if (!inB) out.push({ path: p, op: "removed", from: a[k] });
      else diff(a[k], b[k], p, out);
    }
    return out;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return out;
  out.push({ path: path || "(state)", op: "changed", from: a, to: b });
  return out;
}

/** One line per change: "value: 1 -> 2", "+ items[3]: {...}", "- done". */
export function describe(changes) {
  const j = (v) => { const t = JSON.stringify(v); return t === undefined ? "undefined" : t.length > 80 ? t.slice(0, 77) + "..." : t; };
  return changes.map((c) => c.op === "added" ? "+ " + c.path + ": " + j(c.to)
    : c.op === "removed" ? "- " + c.path + " (was " + j(c.from) + ")"
    : c.path + ": " + j(c.from) + " \u2192 " + j(c.to));
}
