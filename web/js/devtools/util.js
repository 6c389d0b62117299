// devtools/util.js: the few DOM helpers every devtools panel uses.
//
// Panels build their DOM from server data, which includes plugin-chosen strings (action
// types, payloads, error messages), so everything here goes through textContent.

/** createElement with a class, text (textContent) and data-* attributes. */
export function h(tag, { cls, text, data, title } = {}, children = []) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (title) e.title = title;
  for (const [k, v] of Object.entries(data ?? {})) if (v !== undefined && v !== null) e.dataset[k] = String(v);
  for (const c of children) if (c) e.append(c);
  return e;
}

/** Pretty JSON for display; undefined shows as "undefined" rather than nothing. */
export function pretty(v) {
  if (v === undefined) return "undefined";
  try { return JSON.stringify(v, null, 2); } catch { return String(v); }
}

/** "12:03:04.512" in the page's local time. */
export function clock(ms) {
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return "-";
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds()) + "." + p(d.getMilliseconds(), 3);
}

/** A <select> with `options` ([value, label]) keeping `current` if still offered. */
export function select(options, current, onChange, testid, label) {
  const s = h("select", { data: { testid } });
  if (label) s.setAttribute("aria-label", label);
  for (const [value, text] of options) {
    const o = h("option", { text });
    o.value = value;
    s.append(o);
  }
  s.value = options.some(([v]) => v === current) ? current : options[0][0];
  s.addEventListener("change", () => onChange(s.value));
  return s;
}

/** [instanceId, label] options for an instance picker, in load order (empty when none run). */
export function instanceOptions(store) {
  return [...store.instances.values()].map((i) => [i.instanceId, i.instanceId + " \u2014 " + String(i.title ?? "")]);
}
