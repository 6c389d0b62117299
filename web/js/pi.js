// pi.js: the preview's card for a pi extension (docs/pi-extensions.md) run from a tab.
//
// Which tab is a pi extension: one opened from a catalog entry of kind "pi", or one whose
// code names a `@mariozechner/pi-*` package (the rule `airlock check` uses for a file; the
// "New pi extension" template does). Its Run sends `pi.load` (main.js), which replaces
// that tab's previous pi instance on the server, and this module draws one card per tab:
// what the extension registered (tools with their parameters' JSON Schema, commands,
// flags, the events it handles) and three forms: emit an event, run a command, call a
// tool. Each answer goes on top of the card's list (newest first): action, reason,
// payload, intents, errors, or the error the call failed with.
//
// The calls run on the server's pi lane, never on its event loop: while one waits for a
// person (ctx.ui.confirm, shown by approvals.js like any approval), the page and the
// ordinary plugins keep working, and the answer arrives when the person has answered.
//
// Extension-chosen text (names, descriptions, schemas, reasons, messages) reaches the DOM
// only through textContent (devtools/util.js h()), never as markup: the page's CSP is
// strict and an extension is untrusted. JSON typed into a textarea is parsed here first;
// text that is not JSON is an error under the textarea naming its line and is never sent.

import { h, pretty } from "./devtools/util.js";

/** The template of the New menu's "pi extension": a guard, a command and a tool. */
export const PI_TEMPLATE = `// A new pi extension (pi's ExtensionAPI). Run loads it; Run again replaces it.
import type { ExtensionAPI } from "@mariozechner/pi-coding-agent";
import { Type } from "@mariozechner/pi-ai";

export default function (pi: ExtensionAPI) {
  pi.on("tool_call", async (event, ctx) => {
    const command = String((event.input as { command?: unknown })?.command ?? "");
    if (event.toolName !== "bash" || !command.includes("rm ")) return undefined;
    const ok = await ctx.ui.confirm("Delete files?", command);
    return ok ? undefined : { block: true, reason: "Blocked by user" };
  });

  pi.registerCommand("hello", {
    description: "Say hello",
    handler: async (args, ctx) => ctx.ui.notify("Hello " + (args || "world"), "info"),
  });

  pi.registerTool({
    name: "shout",
    label: "Shout",
    description: "Upper-cases a text",
    parameters: Type.Object({ text: Type.String() }),
    async execute(_id, params: { text: string }) {
      return { content: [{ type: "text", text: params.text.toUpperCase() }], details: {} };
    },
  });
}
`;

/** A pi-shaped payload to start from, per event. */
export function samplePayload(event) {
  const samples = {
    tool_call: { toolName: "bash", toolCallId: "c1", input: { command: "ls" } },
    tool_result: { toolName: "bash", toolCallId: "c1", input: { command: "ls" }, content: [{ type: "text", text: "a.txt" }], isError: false },
    input: { text: "hello", source: "interactive" },
    session_start: { reason: "startup" },
    user_bash: { command: "ls", excludeFromContext: false },
    before_agent_start: { prompt: "hello", systemPrompt: "You are helpful." },
    context: { messages: [] },
  };
  return samples[event] ?? {};
}

/** A params object from a tool's JSON Schema: each property a placeholder of its type. */
export function sampleParams(schema) {
  const out = {};
  const props = schema && typeof schema === "object" ? schema.properties : null;
  for (const [k, p] of Object.entries(props && typeof props === "object" ? props : {})) {
    const t = p?.type;
    out[k] = t === "number" || t === "integer" ? 0 : t === "boolean" ? false : t === "array" ? [] : t === "object" ? {} : "";
  }
  return out;
}

/** Parses a textarea's JSON: {value} or {error} naming the line. Empty text is {}. */
export function parseJson(text) {
  if (!String(text).trim()) return { value: {} };
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    const msg = String(e.message);
    const ln = /line (\d+)/.exec(msg);
    const pos = /position (\d+)/.exec(msg);
    const at = ln ? null : pos ? Number(pos[1]) : badOffset(text);
    const line = ln ? Number(ln[1]) : text.slice(0, at).split("\n").length;
    return { error: "Not valid JSON at line " + line + ": " + msg, line };
  }
}

/** Where JSON text goes wrong when the engine's message gives no position: the shortest
 *  prefix that fails for a reason other than ending too soon (binary search: a prefix of
 *  a good beginning only ever fails by ending early). */
function badOffset(text) {
  const early = (k) => {
    try { JSON.parse(text.slice(0, k)); return true; } catch (e) { return /end of (JSON )?input|Unterminated/i.test(String(e.message)); }
  };
  let lo = 0, hi = text.length; // early(lo) holds; find the first k where it does not
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (early(mid)) lo = mid; else hi = mid - 1;
  }
  return Math.min(lo + 1, text.length);
}

/** Whether `tab` runs as a pi extension (see the top of this file). */
export function isPiTab(tab, catalog) {
  const entry = (catalog ?? []).find((e) => e.packageId === tab.packageId && e.file === tab.sourceName);
  if (entry) return entry.kind === "pi";
  return /@mariozechner\/pi-/.test(String(tab.source ?? ""));
}

/** The file name a pi tab loads under: its own when it ends .ts/.js/.mjs, else
 *  <title, made a plain name>.ts. */
export function piSourceName(tab) {
  const n = String(tab.sourceName ?? "");
  if (/^[^./][^/]*\.(ts|js|mjs)$/.test(n)) return n;
  const stem = String(tab.title ?? "extension").toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^[-_]+|[-_]+$/g, "");
  return (stem || "extension").slice(0, 60) + ".ts";
}

export class PiPanel {
  /**
   * root: the element pi cards go in (the preview's).
   * hooks: {request(type, fields) -> Promise (conn.request)}
   */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.cards = new Map(); // tabId -> {card, ok}
  }

  /** Draws (or redraws) the card of tab `tabId` from pi.load's answer. */
  show(tabId, title, ok) {
    const old = this.cards.get(tabId);
    const c = { ok, answers: old?.answers ?? h("ol", { cls: "pi__answers", data: { testid: "pi-answers" } }) };
    c.card = this.card(tabId, title, ok, c.answers);
    if (old) old.card.replaceWith(c.card);
    else this.root.prepend(c.card);
    this.cards.set(tabId, c);
  }

  /** The tab's extension is gone (unloaded, or its new code failed to load). */
  drop(tabId) {
    const c = this.cards.get(tabId);
    if (!c) return;
    c.card.remove();
    this.cards.delete(tabId);
  }

  card(tabId, title, ok, answers) {
    const reg = ok.registrations ?? {};
    const tools = Array.isArray(reg.tools) ? reg.tools : [];
    const commands = Array.isArray(reg.commands) ? reg.commands : [];
    const flags = Array.isArray(reg.flags) ? reg.flags : [];
    const events = Array.isArray(reg.events) ? reg.events.map(String) : [];
    const unload = h("button", { cls: "card__unload", text: "\u00d7", data: { testid: "pi-unload" }, title: "Unload this pi extension" });
    unload.type = "button";
    unload.addEventListener("click", () => {
      this.hooks.request("pi.unload", { instanceId: ok.instanceId }).catch(() => {}).finally(() => this.drop(tabId));
    });
    const head = h("header", { cls: "card__head" }, [
      h("span", { cls: "card__title", text: title }),
      h("span", { cls: "pi__badge", text: "pi" }),
      h("span", { cls: "card__id", text: String(ok.pluginId ?? ""), title: String(ok.instanceId ?? "") }),
      unload,
    ]);
    const list = (label, testid, items, draw) => h("section", { cls: "pi__section", data: { testid } }, [
      h("div", { cls: "widget__label", text: label + " (" + items.length + ")" }),
      items.length ? h("ul", { cls: "pi__list" }, items.map(draw)) : h("div", { cls: "muted", text: "none" }),
    ]);
    const regs = h("div", { cls: "pi__regs" }, [
      list("tools", "pi-tools", tools, (t) => h("li", { data: { name: String(t.name) } }, [
        h("b", { cls: "mono", text: t.name }), h("span", { text: t.description ? " \u2014 " + t.description : "" }),
        h("pre", { cls: "pi__schema mono", text: pretty(t.parameters ?? {}) }),
      ])),
      list("commands", "pi-commands", commands, (c) => h("li", { data: { name: String(c.name) } }, [
        h("b", { cls: "mono", text: "/" + c.name }), h("span", { text: c.description ? " \u2014 " + c.description : "" }),
      ])),
      list("flags", "pi-flags", flags, (f) => h("li", {}, [
        h("b", { cls: "mono", text: "--" + f.name }), h("span", { text: " " + (f.type ?? "") + (f.default !== undefined ? " = " + pretty(f.default) : "") }),
      ])),
      list("events", "pi-events", events, (e) => h("li", { cls: "mono", text: e })),
    ]);
    const forms = h("div", { cls: "pi__forms" }, [
      this.form("Emit", "pi-emit", events, "payload", samplePayload, (event, payload) =>
        this.call(answers, "emit " + event, "pi.emit", { event, payload })),
      this.form("Command", "pi-command", commands.map((c) => String(c.name)), "args", null, (name, args) =>
        this.call(answers, "/" + name + (args ? " " + args : ""), "pi.command", { name, args })),
      this.form("Tool", "pi-tool", tools.map((t) => String(t.name)), "params",
        (name) => sampleParams(tools.find((t) => String(t.name) === name)?.parameters), (name, params) =>
          this.call(answers, "tool " + name, "pi.tool", { name, params })),
    ]);
    return h("article", { cls: "card pi", data: { testid: "pi-card", tab: tabId, instanceId: ok.instanceId } }, [
      head, h("div", { cls: "card__body" }, [regs, forms, answers]),
    ]);
  }

  /** One form: a select of names, then a JSON textarea (sample(name) prefills it) or,
   *  without a sample, a line of text; `send(name, value)` on submit. */
  form(label, testid, names, field, sample, send) {
    const sel = h("select", { data: { testid: testid + "-name" } });
    sel.setAttribute("aria-label", label + ": which");
    for (const n of names) {
      const o = h("option", { text: n });
      o.value = n;
      sel.append(o);
    }
    const json = !!sample;
    const input = h(json ? "textarea" : "input", { cls: "mono pi__input", data: { testid: testid + "-" + field } });
    input.setAttribute("aria-label", label + " " + field);
    input.spellcheck = false;
    if (json) input.rows = 4;
    const fill = () => { if (json) input.value = JSON.stringify(sample(sel.value), null, 1); };
    sel.addEventListener("change", fill);
    fill();
    const err = h("div", { cls: "pi__error code", data: { testid: testid + "-error" } });
    err.hidden = true;
    const go = h("button", { cls: "btn btn--primary", text: label, data: { testid: testid + "-send" } });
    go.type = "button";
    go.disabled = names.length === 0;
    go.addEventListener("click", () => {
      let value = input.value;
      if (json) {
        const p = parseJson(input.value);
        if (p.error || !p.value || typeof p.value !== "object" || Array.isArray(p.value)) {
          err.textContent = p.error ?? "The " + field + " must be a JSON object {...}";
          err.hidden = false;
          return;
        }
        value = p.value;
      }
      err.hidden = true;
      send(sel.value, value);
    });
    return h("fieldset", { cls: "pi__form", data: { testid } }, [
      h("legend", { text: label }),
      names.length ? sel : h("span", { cls: "muted", text: "none registered" }),
      input, err, go,
    ]);
  }

  /** Sends one call and puts its answer on top of the list when it comes. */
  call(answers, what, type, fields) {
    const li = h("li", { cls: "pi__answer", data: { testid: "pi-answer", state: "waiting" } }, [
      h("div", { cls: "pi__what mono", text: what }),
      h("div", { cls: "muted", text: "waiting\u2026 (a question may be waiting in the approvals bar)" }),
    ]);
    answers.prepend(li);
    this.hooks.request(type, fields).then(
      (ok) => li.replaceChildren(...answerParts(what, ok)),
      (e) => li.replaceChildren(h("div", { cls: "pi__what mono", text: what }),
        h("div", { cls: "pi__error code", data: { testid: "pi-answer-error" }, text: (e.code ?? "ERROR") + ": " + e.message })),
    ).finally(() => {
      li.dataset.state = "done";
      // Newest first by completion: an answer that waited on a person moves up when it comes.
      answers.prepend(li);
    });
  }
}

/** The parts of one answer: what was asked, then each member the library answered. */
function answerParts(what, ok) {
  const parts = [h("div", { cls: "pi__what mono", text: what })];
  const row = (k, v, testid) => parts.push(h("div", { cls: "pi__row", data: { testid } }, [
    h("span", { cls: "pi__key", text: k }), h("span", { cls: "mono", text: v }),
  ]));
  if (ok && typeof ok === "object") {
    if (ok.action !== undefined) row("action", String(ok.action), "pi-answer-action");
    if (ok.reason !== undefined) row("reason", String(ok.reason), "pi-answer-reason");
    if (Array.isArray(ok.content)) {
      for (const c of ok.content) if (c?.type === "text") row("content", String(c.text), "pi-answer-content");
    }
    if (ok.isError) row("isError", "true", "pi-answer-iserror");
    if (ok.payload !== undefined) parts.push(h("pre", { cls: "pi__json mono", data: { testid: "pi-answer-payload" }, text: pretty(ok.payload) }));
    if (ok.details !== undefined) parts.push(h("pre", { cls: "pi__json mono", data: { testid: "pi-answer-details" }, text: pretty(ok.details) }));
    const intents = Array.isArray(ok.intents) ? ok.intents : [];
    if (intents.length) {
      parts.push(h("ul", { cls: "pi__intents", data: { testid: "pi-answer-intents" } }, intents.map((i) => {
        const { type, ...rest } = i ?? {};
        const text = typeof rest.message === "string" ? rest.message + (rest.level ? " (" + rest.level + ")" : "") : pretty(rest);
        return h("li", { data: { testid: "pi-intent", type: String(type) } }, [h("b", { cls: "mono", text: String(type) }), h("span", { text: " " + text })]);
      })));
    }
    const errors = Array.isArray(ok.errors) ? ok.errors : [];
    for (const e of errors) parts.push(h("div", { cls: "pi__error code", data: { testid: "pi-answer-error" }, text: String(e?.extension ?? "") + ": " + String(e?.message ?? pretty(e)) }));
  } else {
    parts.push(h("pre", { cls: "pi__json mono", text: pretty(ok) }));
  }
  return parts;
}
