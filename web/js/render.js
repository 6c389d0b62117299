// render.js: the one module that turns a UINode tree into DOM, and keeps that DOM in step
// with later trees.
//
// Everything a plugin draws passes through here. Two entry points, both pure in the sense
// that matters: the output depends only on the tree (and, for patchNode, the DOM it is
// given), they read and write no page state, and the only way anything gets out is the
// `emit` callback the caller passes (emit(eventRef, args) when the user acts on a node).
//
//   renderNode(node, emit, path)      -> a fresh element for `node`
//   patchNode(el, node, emit, path)   -> `el` changed in place to draw `node` (or a fresh
//                                        element when `el` cannot be reused: another kind)
//
// Why patch rather than replace: a click is a mousedown and a mouseup on the same element.
// A widget is redrawn every time its inputs change (its own dispatches, another plugin's
// shared write, a grants change), and an element replaced between the two halves of a
// press never gets its click; nor does it keep focus, caret, selection, :active or scroll.
// patchNode keeps every element whose node is still there and only touches the
// attributes and text that changed, so input survives any number of redraws.
//
// Reconciliation is keyed. A child's key is its kind plus `props.key` (a string or number)
// when the plugin gives one, else its position among siblings of the same kind: inserting
// a text line above three buttons keeps the buttons (and a press on one of them). Elements
// are only moved when their order really changed; moving a focused element would blur it.
//
// Event listeners are attached once per element and read the node's current EventRef from
// a WeakMap at the time of the event, so a redraw never adds a second listener: one user
// action is exactly one emit.
//
// Plugin text only ever reaches the DOM through textContent and attribute values we
// choose, never innerHTML, so a tree cannot inject markup, scripts or styles. The host has
// already validated the tree against the contract (plugin-contract.md section 3); the
// renderer still copes with anything (an unknown kind or a malformed field draws a visible
// "unsupported" node rather than throwing), because a page that crashes on one bad widget
// hides every other one.
//
// Every element carries data-kind (the UINode kind) and data-path (root, then
// .children[i], the contract's path syntax) so tests and the focus keeper in preview.js
// can find a node again.

const CONTAINERS = new Set(["panel", "row", "column"]);
// Button variants the stylesheet knows; anything else is drawn as the default button.
const VARIANTS = new Set(["default", "secondary", "destructive", "outline", "ghost", "link"]);

/** element -> {emit, refs: {name: EventRef | null}}: what a listener fires, read late. */
const bound = new WeakMap();

/** Creates an element with a class and optional text; the text goes through textContent. */
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Sets textContent only when it differs (a write always replaces the text node). */
function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}

function setClass(e, className) {
  if (e.className !== className) e.className = className;
}

/** True if `ref` is an EventRef the host would accept: {handler: non-empty string}. */
function isRef(ref) {
  return ref !== null && typeof ref === "object" && typeof ref.handler === "string" && ref.handler !== "";
}

/** Text for a table cell: strings as they are, other JSON values as JSON. */
function cellText(v) {
  if (typeof v === "string") return v;
  if (v === undefined) return "";
  try { return JSON.stringify(v); } catch { return String(v); }
}

function propsOf(node) {
  return node.props !== null && typeof node.props === "object" && !Array.isArray(node.props) ? node.props : {};
}

/** The kind an element draws: "unsupported" for a node the renderer could not draw. */
function kindOf(node) {
  if (node === null || typeof node !== "object" || Array.isArray(node)) return "unsupported";
  const k = node.kind;
  return CONTAINERS.has(k) || ["text", "badge", "button", "input", "counter", "table"].includes(k) ? k : "unsupported";
}

function unsupportedText(node, path) {
  if (node === null || typeof node !== "object" || Array.isArray(node)) return path + " is not an object";
  return "kind " + JSON.stringify(String(node.kind)) + " is not supported";
}

/** Binds `e`'s EventRefs for its listeners: `refs` maps a listener's name to a ref or null. */
function bind(e, emit, refs) {
  bound.set(e, { emit, refs });
}

/** Fires the ref a listener named `name` on `e` currently has, once. */
function fire(e, name, args) {
  const b = bound.get(e);
  const ref = b?.refs[name];
  if (isRef(ref)) b.emit(ref, args === undefined ? ref.args : args);
}

/** A fresh, empty element for `kind`, with its listeners (they read `bound` when fired). */
function create(kind) {
  switch (kind) {
    case "panel": case "row": case "column": return el("div", "ui-" + kind);
    case "text": return el("div", "ui-text");
    case "badge": return el("span", "ui-badge");
    case "button": {
      const e = el("button");
      e.type = "button";
      e.addEventListener("click", () => fire(e, "onClick"));
      return e;
    }
    case "input": {
      const e = el("input", "ui-input");
      e.type = "text";
      // A change is sent when the edit is committed (Enter or leaving the field), not per
      // keystroke: each event is a round trip through the plugin's VM.
      e.addEventListener("change", () => fire(e, "onChange", { value: e.value }));
      e.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && bound.get(e)?.refs.onChange) e.blur(); });
      return e;
    }
    case "counter": {
      const e = el("div", "ui-counter");
      const dec = el("button", "ui-counter__step", "\u2212");
      const value = el("span", "ui-counter__value");
      const inc = el("button", "ui-counter__step", "+");
      dec.type = inc.type = "button";
      dec.dataset.role = "decrement";
      inc.dataset.role = "increment";
      dec.setAttribute("aria-label", "Decrement");
      inc.setAttribute("aria-label", "Increment");
      dec.addEventListener("click", () => fire(e, "onDecrement"));
      inc.addEventListener("click", () => fire(e, "onIncrement"));
      e.append(dec, value, inc);
      return e;
    }
    case "table": {
      const e = el("table", "ui-table");
      e.append(el("thead"), el("tbody"));
      return e;
    }
    default: return el("div", "ui-unsupported");
  }
}

/** Makes `tr`'s cells show `cells` (tag td or th), reusing the cells already there. */
function patchCells(tr, tag, cells) {
  while (tr.children.length > cells.length) tr.lastElementChild.remove();
  cells.forEach((c, i) => {
    const td = tr.children[i] ?? tr.appendChild(el(tag));
    setText(td, cellText(c));
  });
}

/** Makes `section` (thead or tbody) hold one row per entry of `rows`. */
function patchRows(section, tag, rows) {
  while (section.children.length > rows.length) section.lastElementChild.remove();
  rows.forEach((row, i) => {
    const tr = section.children[i] ?? section.appendChild(el("tr"));
    patchCells(tr, tag, Array.isArray(row) ? row : [row]);
  });
}

/** A child's reconciliation key: kind plus props.key, else its rank among same-kind siblings. */
function childKeys(children) {
  const seen = new Map();
  return children.map((child) => {
    const kind = kindOf(child);
    const k = kind === "unsupported" ? undefined : propsOf(child).key;
    if (typeof k === "string" || typeof k === "number") return kind + "#" + String(k);
    const n = seen.get(kind) ?? 0;
    seen.set(kind, n + 1);
    return kind + ":" + n;
  });
}

/** Reconciles a container's children with `children`, keeping matched elements in place. */
function patchChildren(parent, children, emit, path) {
  const old = new Map();
  for (const c of parent.children) if (c.dataset.key !== undefined && !old.has(c.dataset.key)) old.set(c.dataset.key, c);
  const keys = childKeys(children);
  const next = children.map((child, i) => {
    const prev = old.get(keys[i]);
    if (prev) old.delete(keys[i]);
    const e = prev ? patchNode(prev, child, emit, path + ".children[" + i + "]") : renderNode(child, emit, path + ".children[" + i + "]");
    e.dataset.key = keys[i];
    return e;
  });
  for (const gone of old.values()) gone.remove();
  for (const c of [...parent.children]) if (!next.includes(c)) c.remove();
  // Insert or move only what is out of place: a kept element stays where it is.
  let cursor = parent.firstElementChild;
  for (const e of next) {
    if (e === cursor) { cursor = cursor.nextElementSibling; continue; }
    parent.insertBefore(e, cursor);
  }
}

/** Draws `node` into `e`, an element created for the same kind. */
function apply(e, node, kind, emit, path) {
  const props = kind === "unsupported" ? {} : propsOf(node);
  if (CONTAINERS.has(kind)) {
    patchChildren(e, Array.isArray(node.children) ? node.children : [], emit, path);
  } else if (kind === "text" || kind === "badge") {
    setText(e, String(node.text ?? ""));
  } else if (kind === "button") {
    const variant = VARIANTS.has(props.variant) ? props.variant : "default";
    setClass(e, "ui-button ui-button--" + variant);
    setText(e, String(props.label ?? ""));
    e.dataset.variant = variant;
    e.disabled = !isRef(props.onClick);
    bind(e, emit, { onClick: isRef(props.onClick) ? props.onClick : null });
  } else if (kind === "input") {
    const value = String(props.value ?? "");
    // The attribute records what the tree said; the shown value follows it unless the
    // person is typing in this field (changes are sent on commit: their text wins).
    if (e.getAttribute("value") !== value) e.setAttribute("value", value);
    if (e.value !== value && document.activeElement !== e) e.value = value;
    if (typeof props.placeholder === "string") e.placeholder = props.placeholder;
    else e.removeAttribute("placeholder");
    e.readOnly = !isRef(props.onChange);
    bind(e, emit, { onChange: isRef(props.onChange) ? props.onChange : null });
  } else if (kind === "counter") {
    const [dec, value, inc] = e.children;
    setText(value, typeof props.value === "number" ? String(props.value) : "?");
    dec.disabled = !isRef(props.onDecrement);
    inc.disabled = !isRef(props.onIncrement);
    bind(e, emit, {
      onDecrement: isRef(props.onDecrement) ? props.onDecrement : null,
      onIncrement: isRef(props.onIncrement) ? props.onIncrement : null,
    });
  } else if (kind === "table") {
    const headers = Array.isArray(props.headers) ? props.headers : [];
    const rows = Array.isArray(props.rows) ? props.rows : [];
    const [thead, tbody] = e.children;
    patchRows(thead, "th", headers.length ? [headers] : []);
    patchRows(tbody, "td", rows);
  } else {
    setText(e, unsupportedText(node, path));
  }
  e.dataset.kind = kind;
  e.dataset.path = path;
  return e;
}

/**
 * renderNode(node, emit, path = "root") -> HTMLElement
 *
 * node: a UINode (plain JSON, borrowed, never modified).
 * emit: function (eventRef, args) called when the user triggers an EventRef; `args` is the
 *       event's payload per the contract: the ref's own args for buttons and counters,
 *       {value} for inputs. The renderer never calls it while rendering.
 * path: the contract path of `node`, used for data-path.
 */
export function renderNode(node, emit, path = "root") {
  const kind = kindOf(node);
  return apply(create(kind), node, kind, emit, path);
}

/**
 * patchNode(el, node, emit, path = "root") -> HTMLElement
 *
 * Makes `el` (an element renderNode or patchNode returned earlier) draw `node`, changing
 * it in place. Returns `el`, or a fresh element when `el` drew another kind (the caller
 * then puts it where `el` was). Focus, caret, selection, a press in progress and scroll
 * positions survive on every element that is kept.
 */
export function patchNode(el, node, emit, path = "root") {
  const kind = kindOf(node);
  if (!el || el.dataset?.kind !== kind) return renderNode(node, emit, path);
  return apply(el, node, kind, emit, path);
}
