// A pi extension: asks before a dangerous bash command runs, and says what it guards.
//
// Written like pi's own permission gate: on tool_call for bash, a command matching one of
// the patterns below needs a person's yes (ctx.ui.confirm, which the workbench shows in
// its approvals bar); with no one to ask (hasUI false, e.g. `airlock emit` without --ui)
// it blocks. /guard-status reports the patterns through ctx.ui.notify, /note asks for a
// kind (ctx.ui.select) and a line of text (ctx.ui.input) and notifies what it was given,
// and the `guard_check` tool says whether a command would be asked about, without running
// it. A question the person dismisses (or no UI at all) answers undefined: /note then
// notifies "cancelled".
import type { ExtensionAPI } from "@mariozechner/pi-coding-agent";
import { Type } from "@mariozechner/pi-ai";

const DANGEROUS: RegExp[] = [/\brm\s+(-\w*r\w*f|-\w*f\w*r)\b/, /\bsudo\b/, /\bchmod\s+(-R\s+)?777\b/, /\bmkfs\b/, /\bdd\s+if=/];

function dangerous(command: string): RegExp | undefined {
  return DANGEROUS.find((p) => p.test(command));
}

export default function (pi: ExtensionAPI) {
  pi.on("tool_call", async (event, ctx) => {
    if (event.toolName !== "bash") return undefined;
    const command = String((event.input as { command?: unknown })?.command ?? "");
    if (!dangerous(command)) return undefined;
    if (!ctx.hasUI) return { block: true, reason: "Dangerous command blocked (no UI for confirmation)" };
    const ok = await ctx.ui.confirm("Dangerous command", command);
    if (!ok) return { block: true, reason: "Blocked by user" };
    return undefined;
  });

  pi.registerCommand("guard-status", {
    description: "Show which commands the guard asks about",
    handler: async (_args, ctx) => {
      ctx.ui.notify(`permission-guard: asking before ${DANGEROUS.length} patterns: ` + DANGEROUS.map((p) => p.source).join(", "), "info");
    },
  });

  pi.registerCommand("note", {
    description: "Ask for a kind and a line of text, then notify them",
    handler: async (_args, ctx) => {
      const kind = await ctx.ui.select("Kind?", ["todo", "idea"]);
      if (kind === undefined) return ctx.ui.notify("note: cancelled", "info");
      const text = await ctx.ui.input("Note text", "what to remember");
      if (text === undefined) return ctx.ui.notify("note: cancelled", "info");
      ctx.ui.notify(`note (${kind}): ${text}`, "info");
    },
  });

  pi.registerTool({
    name: "guard_check",
    label: "Guard check",
    description: "Whether a bash command would need a confirmation (it is never run)",
    parameters: Type.Object({ command: Type.String({ description: "the bash command line" }) }),
    async execute(_toolCallId, params: { command: string }) {
      const hit = dangerous(params.command);
      return {
        content: [{ type: "text", text: hit ? `would ask: matches ${hit.source}` : "would run without asking" }],
        details: { dangerous: !!hit, pattern: hit?.source ?? null },
      };
    },
  });
}
