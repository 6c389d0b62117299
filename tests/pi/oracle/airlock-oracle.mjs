// An oracle for the scenarios, not a test of Airlock: the airlock pi CLI interface (emit,
// tool, command, check --json) implemented on pi's OWN extension loader and ExtensionRunner
// from an installed @mariozechner/pi-coding-agent, headless (hasUI false, the dialogs
// answering pi's no-UI defaults, notify/setStatus/... recorded as intents). Running
// tests/pi/run.mjs against it (tests/pi/oracle/run.sh) shows that each expectation is what
// pi itself does, so a scenario failing against Airlock is Airlock's difference, not a
// mistake in the scenario. Steps marked "airlockOnly" (capabilities, the fail-closed reason)
// are Airlock's semantics and are skipped here. Policies are ignored: pi has none.
//
// Usage (through run.sh): node airlock-oracle.mjs PI_PACKAGE_DIR SUBCOMMAND ARGS...
import { basename, resolve } from "node:path";
import { readFileSync } from "node:fs";
import { format } from "node:util";
// stdout carries the one JSON answer; an extension's console output goes to stderr (as pi's
// print mode keeps it out of its own output).
console.log = console.info = console.debug = (...a) => process.stderr.write(format(...a) + "\n");
const D = resolve(process.argv[2], "dist");
const { loadExtensions } = await import(`${D}/core/extensions/loader.js`);
const { ExtensionRunner } = await import(`${D}/core/extensions/runner.js`);
const { SessionManager } = await import(`${D}/core/session-manager.js`);

const argv = process.argv.slice(3);
const sub = argv.shift();
const plugins = [];
let cwd = process.cwd();
let policy = null;
const pos = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--plugin") plugins.push(resolve(argv[++i]));
  else if (argv[i] === "--cwd") cwd = resolve(argv[++i]);
  else if (argv[i] === "--policy") policy = argv[++i];
  else if (argv[i] === "--no-prompt" || argv[i] === "--json") {}
  else pos.push(argv[i]);
}
if (sub === "check") plugins.push(resolve(pos.shift()));
process.chdir(cwd);
const intents = [];
const errors = [];
const out = (o, code = 0) => { process.stdout.write(JSON.stringify(o) + "\n"); process.exit(code); };

const { extensions, errors: loadErrors, runtime } = await loadExtensions(plugins, cwd);
if (loadErrors.length) out({ error: loadErrors.map((e) => e.error).join("; ") }, 1);
if (sub === "check") {
  const e = extensions[0];
  out({ pi: { tools: [...e.tools.keys()], commands: [...e.commands.keys()], flags: [...e.flags.keys()], shortcuts: [...e.shortcuts.keys()],
    events: [...e.handlers.keys()], messageRenderers: [...e.messageRenderers.keys()] } });
}
const runner = new ExtensionRunner(extensions, runtime, cwd, SessionManager.inMemory(cwd), { find: () => undefined, getApiKeyAndHeaders: async () => ({ ok: false, error: "none" }) });
runner.onError((e) => errors.push({ extension: basename(e.extensionPath), message: e.error }));
let sessionName;
const rec = (type) => (...a) => { intents.push({ type, args: a }); };
runner.bindCore({
  sendMessage: (message, options) => intents.push({ type: "sendMessage", message, options }),
  sendUserMessage: (content, options) => intents.push({ type: "sendUserMessage", content, options }),
  appendEntry: (customType, data) => intents.push({ type: "appendEntry", customType, data }),
  setSessionName: (name) => { sessionName = name; intents.push({ type: "setSessionName", name }); },
  getSessionName: () => sessionName,
  setLabel: (entryId, label) => intents.push({ type: "setLabel", entryId, label }),
  getActiveTools: () => ["read", "bash", "edit", "write"],
  getAllTools: () => ["read", "bash", "edit", "write"].map((name) => ({ name, description: name })),
  setActiveTools: (names) => intents.push({ type: "setActiveTools", names }),
  refreshTools: () => {},
  getCommands: () => runner.getRegisteredCommands().map((c) => ({ name: c.invocationName, description: c.description, source: "extension", sourceInfo: c.sourceInfo })),
  setModel: async (model) => { intents.push({ type: "setModel", model }); return false; },
  getThinkingLevel: () => "off",
  setThinkingLevel: (level) => intents.push({ type: "setThinkingLevel", level }),
}, {
  getModel: () => undefined, isIdle: () => true, getSignal: () => undefined, abort: () => {}, hasPendingMessages: () => false,
  shutdown: () => intents.push({ type: "shutdown" }), getContextUsage: () => undefined,
  compact: (options) => intents.push({ type: "compact", customInstructions: options?.customInstructions }), getSystemPrompt: () => "",
});
runner.bindCommandContext({ waitForIdle: async () => {}, newSession: async () => ({ cancelled: false }), fork: async () => ({ cancelled: false }),
  navigateTree: async () => ({ cancelled: false }), switchSession: async () => ({ cancelled: false }), reload: async () => intents.push({ type: "reload" }) });
const id = (t) => t;
runner.setUIContext({
  select: async () => undefined, confirm: async () => false, input: async () => undefined, editor: async () => undefined, custom: async () => undefined,
  notify: (message, level) => intents.push({ type: "notify", message, level }),
  setStatus: (key, text) => intents.push({ type: "setStatus", key, text }),
  setWidget: (key, content, options) => intents.push({ type: "setWidget", key, content, options }),
  setTitle: (title) => intents.push({ type: "setTitle", title }),
  setEditorText: (text) => intents.push({ type: "setEditorText", text }),
  onTerminalInput: () => () => {}, setWorkingMessage: rec("setWorkingMessage"), setWorkingVisible: () => {}, setWorkingIndicator: rec("setWorkingIndicator"),
  setHiddenThinkingLabel: rec("setHiddenThinkingLabel"), setFooter: () => {}, setHeader: () => {}, pasteToEditor: () => {}, getEditorText: () => "",
  addAutocompleteProvider: () => {}, setEditorComponent: () => {}, getEditorComponent: () => undefined,
  theme: { fg: (_c, t) => t, bg: (_c, t) => t, bold: id, italic: id, strikethrough: id },
  getAllThemes: () => [], getTheme: () => undefined, setTheme: () => ({ success: false, error: "UI not available" }), getToolsExpanded: () => false, setToolsExpanded: () => {},
});
runner.hasUI = () => false;

if (sub === "tool") {
  const def = runner.getToolDefinition(pos[0]);
  if (!def) out({ error: `unknown tool ${pos[0]}` }, 2);
  const params = JSON.parse(readFileSync(pos[1], "utf8"));
  const updates = [];
  try {
    const r = await def.execute("call1", params, undefined, (u) => updates.push(u), runner.createContext());
    out({ content: r.content, details: r.details, ...(r.isError !== undefined ? { isError: r.isError } : {}), updates });
  } catch (e) { out({ error: String(e.message || e) }, 1); }
}
if (sub === "command") {
  const [name, ...args] = pos;
  const c = runner.getCommand(name);
  if (!c) out({ error: `unknown command ${name}` }, 2);
  try { await c.handler(args.join(" "), runner.createCommandContext()); } catch (e) { errors.push({ extension: "?", message: String(e.message || e) }); }
  out({ command: name, intents, errors });
}
if (sub === "emit") {
  const ev = pos[0];
  const payload = { type: ev, ...JSON.parse(readFileSync(pos[1], "utf8")) };
  let action = "continue", result, reason, p = payload;
  if (ev === "tool_call") {
    try { result = await runner.emitToolCall(payload); } catch (e) { result = { block: true, reason: `extension error: ${e.message}` }; }
    if (result?.block) { action = "block"; reason = result.reason; }
  } else if (ev === "input") {
    result = await runner.emitInput(payload.text, payload.images, payload.source);
    action = result.action; if (result.action === "transform") p = { ...payload, text: result.text };
    if (result.action === "continue") result = undefined;
  } else if (ev === "before_agent_start") {
    result = await runner.emitBeforeAgentStart(payload.prompt, payload.images, payload.systemPrompt, payload.systemPromptOptions);
    if (result) { action = "transform"; p = { ...payload, systemPrompt: result.systemPrompt ?? payload.systemPrompt }; }
  } else if (ev === "context") {
    const m = await runner.emitContext(payload.messages); p = { ...payload, messages: m };
  } else if (ev === "resources_discover") {
    result = await runner.emitResourcesDiscover(payload.cwd, payload.reason);
  } else if (ev === "user_bash") {
    result = await runner.emitUserBash(payload); if (result) action = "handled";
  } else {
    result = await runner.emit(payload);
    if (result?.cancel) action = "cancel";
  }
  out({ event: ev, action, ...(reason ? { reason } : {}), payload: p, ...(result ? { result } : {}), intents, errors }, action === "block" || action === "cancel" ? 2 : 0);
}
