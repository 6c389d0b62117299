// render.js: the one function that turns a UINode tree into DOM.
//
// Everything a plugin draws passes through renderNode(). It is pure in the sense that
// matters here: the output depends only on the tree and the path, it reads and writes no
// page state, and the only way anything gets out is the `emit` callback the caller passes
// (emit(eventRef, args) when the user acts on a node). Plugin text only ever reaches the
// DOM through textContent and attribute values we choose, never innerHTML, so a tree
// cannot inject markup, scripts or styles. The host has already validated the tree against
// the contract (plugin-contract.md section 3); the renderer still copes with anything
// (an unknown kind or a malformed field draws a visible "unsupported" node rather than
// throwing), because a page that crashes on one bad widget hides every other one.
//
// Every element carries data-kind (the UINode kind) and data-path (root, then
// .children[i], the contract's path syntax) so tests and the focus keeper in preview.js
// can find a node again after a re-render.

const CONTAINERS = new Set(["panel", "row", "column"]);
// Button variants the stylesheet knows; anything else is drawn as the default button.
const VARIANTS = new Set(["default", "secondary", "destructive", "outline", "ghost", "link"]);

/** Creates an element with a class and optional text; the text goes through textContent. */
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
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

/** A node the renderer cannot draw: shows what it got instead of failing the widget. */
function unsupported(path, what) {
  const e = el("div", "ui-unsupported", what);
  e.dataset.kind = "unsupported";
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
  if (node === null || typeof node !== "object" || Array.isArray(node)) {
    return unsupported(path, path + " is not an object");
  }
  const kind = node.kind;
  const props = propsOf(node);
  let e;

  if (CONTAINERS.has(kind)) {
    e = el("div", "ui-" + kind);
    const children = Array.isArray(node.children) ? node.children : [];
    children.forEach((child, i) => e.appendChild(renderNode(child, emit, path + ".children[" + i + "]")));
  } else if (kind === "text") {
    e = el("div", "ui-text", String(node.text ?? ""));
  } else if (kind === "badge") {
    e = el("span", "ui-badge", String(node.text ?? ""));
  } else if (kind === "button") {
    const variant = VARIANTS.has(props.variant) ? props.variant : "default";
    e = el("button", "ui-button ui-button--" + variant, String(props.label ?? ""));
    e.type = "button";
    e.dataset.variant = variant;
    if (isRef(props.onClick)) {
      const ref = props.onClick;
      e.addEventListener("click", () => emit(ref, ref.args));
    } else {
      e.disabled = true;
    }
  } else if (kind === "input") {
    e = el("input", "ui-input");
    e.type = "text";
    // As the attribute (the default value), so the DOM records what the tree said even
    // after the user types; a fresh element shows it as its value too.
    e.setAttribute("value", String(props.value ?? ""));
    if (typeof props.placeholder === "string") e.placeholder = props.placeholder;
    if (isRef(props.onChange)) {
      // A change is sent when the edit is committed (Enter or leaving the field), not per
      // keystroke: each event is a round trip through the plugin's VM, and a re-render
      // arriving mid-typing would otherwise fight the user's cursor.
      const ref = props.onChange;
      e.addEventListener("change", () => emit(ref, { value: e.value }));
      e.addEventListener("keydown", (ev) => { if (ev.key === "Enter") e.blur(); });
    } else {
      e.readOnly = true;
    }
  } else if (kind === "counter") {
    e = el("div", "ui-counter");
    const dec = el("button", "ui-counter__step", "\u2212");
    const value = el("span", "ui-counter__value", typeof props.value === "number" ? String(props.value) : "?");
    const inc = el("button", "ui-counter__step", "+");
    dec.type = inc.type = "button";
    dec.dataset.role = "decrement";
    inc.dataset.role = "increment";
    dec.setAttribute("aria-label", "Decrement");
    inc.setAttribute("aria-label", "Increment");
    for (const [button, ref] of [[dec, props.onDecrement], [inc, props.onIncrement]]) {
      if (isRef(ref)) button.addEventListener("click", () => emit(ref, ref.args));
      else button.disabled = true;
    }
    e.append(dec, value, inc);
  } else if (kind === "table") {
    e = el("table", "ui-table");
    const headers = Array.isArray(props.headers) ? props.headers : [];
    const rows = Array.isArray(props.rows) ? props.rows : [];
    if (headers.length) {
      const tr = el("tr");
      for (const h of headers) tr.appendChild(el("th", "", cellText(h)));
      e.appendChild(el("thead")).appendChild(tr);
    }
    const body = e.appendChild(el("tbody"));
    for (const row of rows) {
      const tr = body.appendChild(el("tr"));
      for (const cell of Array.isArray(row) ? row : [row]) tr.appendChild(el("td", "", cellText(cell)));
    }
  } else {
    return unsupported(path, "kind " + JSON.stringify(String(kind)) + " is not supported");
  }

  e.dataset.kind = kind;
  e.dataset.path = path;
  return e;
}
