// runtime.mjs: the original architecture's plugin runtime, rebuilt for comparison.
//
// One quickjs-emscripten runtime+context per plugin instance. As in the original, the
// host talks to a plugin by evaluating source text: state goes in as JSON text spliced
// into a call expression, and trees and intents come out through JSON.stringify inside
// the VM, then JSON.parse and validation on the host side. This file is used twice by
// run.mjs: inside a Node worker thread (the original architecture) and called directly
// in-process (the same engine without the worker).
import { getQuickJS, shouldInterruptAfterDeadline } from "quickjs-emscripten";

// The plugin-facing shim evaluated before each plugin: definePlugin, the ui helpers and
// the call entry points that return JSON text.
const SHIM = `
var definePlugin;
(function () {
  const kids = (c) => (Array.isArray(c) ? c : []);
  const ui = {
    text: (x) => ({ kind: "text", text: String(x) }),
    badge: (x) => ({ kind: "badge", text: String(x) }),
    button: (label, props = {}) => ({ kind: "button", props: { label: String(label), ...props } }),
    row: (children = []) => ({ kind: "row", children: kids(children) }),
    panel: (children = []) => ({ kind: "panel", children: kids(children) }),
    column: (children = []) => ({ kind: "column", children: kids(children) }),
  };
  let factory = null, def = null;
  definePlugin = (f) => { factory = f; };
  globalThis.__take = () => {
    def = factory({ ui });
    return JSON.stringify({ title: def.title, initialState: def.initialState,
                            widgets: Object.keys(def.widgets) });
  };
  globalThis.__render = (w, pluginState, globalState) =>
    JSON.stringify(def.widgets[w].render({ pluginState, globalState }));
  globalThis.__event = (w, h, pluginState, globalState) => {
    const intents = [];
    const ctx = { pluginState, globalState,
      dispatchPluginAction: (actionType, payload) => intents.push({ scope: "plugin", actionType, payload }),
      dispatchSharedAction: (domain, actionType, payload) =>
        intents.push({ scope: "shared", domain, actionType, payload }) };
    def.widgets[w].handlers[h](ctx);
    return JSON.stringify(intents);
  };
})();
`;

const KINDS = new Set(["text", "badge", "button", "input", "row", "panel", "column", "table", "counter"]);

// Host-side validation of a returned tree: kinds, children, depth and node budgets.
export function validateTree(node, depth = 0, count = { n: 0 }) {
  if (node === null || typeof node !== "object" || Array.isArray(node)) throw new Error("node must be an object");
  if (!KINDS.has(node.kind)) throw new Error("unknown kind " + node.kind);
  if (depth > 64 || ++count.n > 10000) throw new Error("tree over budget");
  if (node.children !== undefined) {
    if (!Array.isArray(node.children)) throw new Error("children must be an array");
    for (const c of node.children) validateTree(c, depth + 1, count);
  }
  if (node.props !== undefined && (node.props === null || typeof node.props !== "object"))
    throw new Error("props must be an object");
  return node;
}

export function validateIntents(list) {
  if (!Array.isArray(list)) throw new Error("intents must be an array");
  for (const it of list)
    if (typeof it.actionType !== "string" || (it.scope !== "plugin" && it.scope !== "shared"))
      throw new Error("bad intent");
  return list;
}

let QuickJS = null;
export async function engine() {
  if (!QuickJS) QuickJS = await getQuickJS();
  return QuickJS;
}

// One plugin instance: a runtime with the original's limits, the shim, the plugin.
export class Instance {
  constructor(Q, code) {
    this.rt = Q.newRuntime();
    this.rt.setMemoryLimit(32 << 20);
    this.rt.setMaxStackSize(1 << 20);
    this.ctx = this.rt.newContext();
    this.evalText(SHIM, 1000);
    this.evalText(code, 1000);
  }
  evalText(src, ms) {
    this.rt.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + ms));
    const r = this.ctx.evalCode(src, "plugin.js");
    if (r.error) {
      const e = this.ctx.dump(r.error);
      r.error.dispose();
      throw new Error("plugin error: " + JSON.stringify(e));
    }
    const out = this.ctx.typeof(r.value) === "string" ? this.ctx.getString(r.value) : undefined;
    r.value.dispose();
    return out;
  }
  take() { return this.evalText("__take()", 1000); }
  render(widget, stateJson, globalJson) {
    return this.evalText(`__render(${JSON.stringify(widget)}, ${stateJson}, ${globalJson})`, 100);
  }
  event(widget, handler, stateJson, globalJson) {
    return this.evalText(`__event(${JSON.stringify(widget)}, ${JSON.stringify(handler)}, ${stateJson}, ${globalJson})`, 100);
  }
  dispose() { this.ctx.dispose(); this.rt.dispose(); }
}
