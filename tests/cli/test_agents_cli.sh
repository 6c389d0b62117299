#!/usr/bin/env bash
# Plays Claude Code and Gemini CLI against Airlock's hooks: `airlock hooks install` writes
# the entries into the agent's settings.json, and each check runs the command exactly as
# written there (through sh, as the agents do) with the documented hook input on stdin,
# then reads the answer by the agent's documented rules: exit 2 blocks with stderr as the
# reason and stdout ignored; exit 0 with stdout holding nothing or one JSON object
# (hookSpecificOutput, decision, continue, systemMessage); any other exit is a
# non-blocking error. Also: install twice leaves one entry per event, everything else in
# the file survives (JSON-equal), remove restores the file, and Airlock's own failures
# (broken policy, handlers that all fail, a plugin that does not load, unreadable input)
# block, or with --fail-open do not.
# usage: test_agents_cli.sh <airlock binary> <source dir>
set -u
AL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") # the hooks run in the project directory
SRC=$2
. "$SRC/tests/cli/expect.sh"
if ! command -v jq >/dev/null 2>&1; then echo "SKIP: jq is needed (scripts/setup.sh installs it)"; exit 0; fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
H="$T/home" PROJ="$T/proj"
mkdir -p "$PROJ/.claude" "$PROJ/.gemini"
"$AL" plugin install "$SRC/tests/fixtures/agent-kit" --home "$H" >/dev/null || { echo "FAIL: plugin install"; exit 1; }
printf '{"default": "deny"}\n' >"$T/policy.json"

# A settings file someone already uses: their own hooks and unrelated keys.
cat >"$PROJ/.claude/settings.json" <<'EOF'
{
  "model": "claude-sonnet-4-6",
  "permissions": {"allow": ["Bash(npm run lint)"], "deny": ["Read(./.env)"]},
  "hooks": {
    "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./lint-guard.sh", "timeout": 30}]}],
    "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]
  },
  "env": {"FOO": "1"}
}
EOF
cp "$PROJ/.claude/settings.json" "$T/original.json"
chmod 0640 "$PROJ/.claude/settings.json"
S="$PROJ/.claude/settings.json"

# ---- install ------------------------------------------------------------------------
out=$("$AL" hooks install --claude-code --project "$PROJ" --home "$H" --policy "$T/policy.json" --dry-run 2>&1); st=$?
if [ $st -eq 0 ] && grep -q '^  + PreToolUse: ' <<<"$out" && cmp -s "$S" "$T/original.json"; then ok; else bad "dry-run changed the file or printed no change: $out"; fi
expect 0 "PreToolUse" -- "$AL" hooks install --claude-code --project "$PROJ" --home "$H" --policy "$T/policy.json"
cp "$S" "$T/once.json"
expect 0 "already up to date" -- "$AL" hooks install --claude-code --project "$PROJ" --home "$H" --policy "$T/policy.json"
if jq -e --slurpfile a "$T/once.json" '. == $a[0]' "$S" >/dev/null; then ok; else bad "a second install changed the file"; fi
[ "$(stat -c %a "$S")" = 640 ] && ok || bad "the file's mode was not kept: $(stat -c %a "$S")"
ours='select(.command | test(" emit --protocol claude-code"))'
for ev in PreToolUse PostToolUse UserPromptSubmit Stop SessionStart Notification PermissionRequest; do
  n=$(jq "[.hooks.$ev[]?.hooks[]? | $ours] | length" "$S")
  [ "$n" = 1 ] && ok || bad "$ev has $n Airlock entries, want 1"
done
# Without Airlock's entries, the file is the original, JSON-equal.
strip="del(.hooks[][] | select(any(.hooks[]?; .command | test(\" emit --protocol claude-code\")))) | .hooks |= with_entries(select(.value | length > 0))"
if jq -e --slurpfile o "$T/original.json" "($strip) == \$o[0]" "$S" >/dev/null; then ok; else bad "other entries or keys changed"; jq . "$S"; fi
CMD=$(jq -r "[.hooks.PreToolUse[].hooks[] | $ours][0].command" "$S")
case "$CMD" in /*" emit --protocol claude-code --home "*" --policy "*) ok ;; *) bad "unexpected command: $CMD" ;; esac
for ev in PostToolUse UserPromptSubmit Stop SessionStart Notification PermissionRequest; do
  c=$(jq -r "[.hooks.$ev[].hooks[] | $ours][0].command" "$S")
  [ "$c" = "$CMD" ] && ok || bad "$ev's command differs: $c"
done

# ---- the agent --------------------------------------------------------------------------
# hook EVENT JSON-fields...: runs the installed command for EVENT with the common input
# fields plus the given ones; sets ST, OUT, ERR. Stdout must be empty or one JSON object.
hook() {
  local ev=$1 extra=$2 cmd=${3:-}
  [ -n "$cmd" ] || cmd=$(jq -r "[.hooks.$ev[].hooks[] | $ours][0].command" "$S")
  local input
  input=$(jq -cn --arg ev "$ev" --argjson x "$extra" \
    '{session_id: "abc123", transcript_path: "/tmp/t.jsonl", cwd: "/work/proj", permission_mode: "default", hook_event_name: $ev} + $x')
  OUT=$(cd "$PROJ" && printf '%s' "$input" | sh -c "$cmd" 2>"$T/stderr"); ST=$?
  ERR=$(cat "$T/stderr")
  if [ $ST -eq 0 ] && [ -n "$OUT" ] && ! jq -e 'type == "object"' <<<"$OUT" >/dev/null 2>&1; then
    bad "$ev: stdout is not one JSON object: $OUT"
  fi
}
# want_json NAME JQ-CONDITION: exit 0 and the JSON answer satisfies the condition.
want_json() {
  if [ $ST -eq 0 ] && [ -n "$OUT" ] && jq -e "$2" <<<"$OUT" >/dev/null 2>&1; then ok; else bad "$1: exit $ST, stdout '$OUT', stderr '$ERR'"; fi
}
# want_block NAME PATTERN: exit 2 (block) with the pattern in stderr.
want_block() {
  if [ $ST -eq 2 ] && grep -q -- "$2" <<<"$ERR"; then ok; else bad "$1: exit $ST (want 2), stderr '$ERR'"; fi
}
want_nothing() {
  if [ $ST -eq 0 ] && [ -z "$OUT" ]; then ok; else bad "$1: exit $ST, stdout '$OUT', stderr '$ERR'"; fi
}

hook PreToolUse '{"tool_name": "Bash", "tool_input": {"command": "rm -rf build"}, "tool_use_id": "toolu_1"}'
want_block "PreToolUse: a block reaches Claude on stderr" "Blocked by Airlock plugin 'agent-kit': agent-kit: 'rm -rf' is not allowed"
hook PreToolUse '{"tool_name": "Bash", "tool_input": {"command": "npm test", "description": "run tests"}, "tool_use_id": "toolu_2"}'
want_json "PreToolUse: a rewritten input is updatedInput, confirmed by the person" \
  '.hookSpecificOutput.hookEventName == "PreToolUse" and .hookSpecificOutput.permissionDecision == "ask"
   and .hookSpecificOutput.updatedInput == {"command": "npm test --silent", "description": "run tests"}
   and (.hookSpecificOutput.permissionDecisionReason | test("agent-kit"))'
hook PreToolUse '{"tool_name": "Bash", "tool_input": {"command": "deploy prod"}, "tool_use_id": "toolu_3"}'
want_json "PreToolUse: ask" '.hookSpecificOutput.permissionDecision == "ask" and .hookSpecificOutput.permissionDecisionReason == "agent-kit: deploys need a person" and (.hookSpecificOutput | has("updatedInput") | not)'
hook PreToolUse '{"tool_name": "Bash", "tool_input": {"command": "git status"}, "tool_use_id": "toolu_4"}'
want_json "PreToolUse: context" '.hookSpecificOutput.additionalContext == "agent-kit: the main branch is protected" and (.hookSpecificOutput | has("permissionDecision") | not)'
hook PreToolUse '{"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "toolu_5"}'
want_nothing "PreToolUse: nothing to say, go on"

hook PermissionRequest '{"tool_name": "Write", "tool_input": {"file_path": "/etc/hosts", "content": "x"}}'
want_json "PermissionRequest: deny" '.hookSpecificOutput.hookEventName == "PermissionRequest" and .hookSpecificOutput.decision.behavior == "deny" and (.hookSpecificOutput.decision.message | test("/etc is off limits"))'
hook PermissionRequest '{"tool_name": "Read", "tool_input": {"file_path": "/work/proj/README.md"}}'
want_json "PermissionRequest: allow" '.hookSpecificOutput.decision == {"behavior": "allow"}'
hook PermissionRequest '{"tool_name": "Bash", "tool_input": {"command": "make"}}'
want_nothing "PermissionRequest: no opinion leaves the dialog"

hook PostToolUse '{"tool_name": "Bash", "tool_input": {"command": "cat .env"}, "tool_response": {"stdout": "TOKEN=SECRET", "stderr": ""}, "tool_use_id": "toolu_6"}'
want_json "PostToolUse: decision block with the reason" '.decision == "block" and (.reason | test("holds a secret"))'
hook PostToolUse '{"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_response": {"stdout": "a b"}, "tool_use_id": "toolu_7"}'
want_json "PostToolUse: context" '.hookSpecificOutput.hookEventName == "PostToolUse" and .hookSpecificOutput.additionalContext == "agent-kit: checked the output of Bash"'

hook PostToolUse '{"tool_name": "mcp__wiki__read", "tool_input": {"page": "x"}, "tool_response": {"text": "internal notes"}, "tool_use_id": "toolu_9"}'
want_json "PostToolUse: an MCP tool's output replaced" '.hookSpecificOutput.updatedMCPToolOutput == {"text": "[redacted by agent-kit]"}'
hook PostToolUse '{"tool_name": "Bash", "tool_input": {"command": "cat notes"}, "tool_response": {"stdout": "internal notes"}, "tool_use_id": "toolu_10"}'
want_json "PostToolUse: context only, output untouched" '(.hookSpecificOutput | has("updatedMCPToolOutput") | not)'

hook UserPromptSubmit '{"prompt": "my password is hunter2"}'
want_json "UserPromptSubmit: decision block" '.decision == "block" and (.reason | test("must not carry passwords"))'
hook UserPromptSubmit '{"prompt": "add a test"}'
want_json "UserPromptSubmit: prompt -> content, context back" '.hookSpecificOutput.hookEventName == "UserPromptSubmit" and .hookSpecificOutput.additionalContext == "agent-kit: project rules apply to: add a test"'

hook Stop '{"stop_hook_active": false, "last_assistant_message": "Done, except one TODO"}'
want_json "Stop: decision block keeps Claude going" '.decision == "block" and (.reason | test("finish the TODOs"))'
hook Stop '{"stop_hook_active": true, "last_assistant_message": "Done, except one TODO"}'
want_nothing "Stop: allowed to stop"

hook SessionStart '{"source": "startup", "model": "claude-sonnet-4-6"}'
want_json "SessionStart: context" '.hookSpecificOutput.hookEventName == "SessionStart" and .hookSpecificOutput.additionalContext == "agent-kit: session on claude-sonnet-4-6 in /work/proj"'
hook Notification '{"message": "Claude needs your permission to use Bash", "title": "Permission needed", "notification_type": "permission_prompt"}'
want_json "Notification: context" '.hookSpecificOutput.additionalContext == "agent-kit: noted Claude needs your permission to use Bash"'
hook SubagentStop '{"stop_hook_active": false, "agent_id": "a1", "agent_type": "Explore"}' "$CMD"
want_nothing "an event with no Airlock counterpart: no opinion"
hook WorktreeCreate '{"name": "feature-x"}' "$CMD"
[ $ST -eq 1 ] && [ -z "$OUT" ] && grep -q "does not" <<<"$ERR" && ok || bad "WorktreeCreate: exit $ST, stderr $ERR"

# `airlock emit -` recognises Claude Code's input by hook_event_name alone.
out=$(printf '%s' '{"hook_event_name": "PreToolUse", "session_id": "s", "tool_name": "Bash", "tool_input": {"command": "rm -rf /"}}' |
  "$AL" emit - --home "$H" 2>&1); st=$?
[ $st -eq 2 ] && grep -q "Blocked by Airlock plugin 'agent-kit'" <<<"$out" && ok || bad "auto-detection: exit $st: $out"

# ---- fail closed ------------------------------------------------------------------------
printf '{"default": "deny",\n' >"$T/policy.json" # broken
hook PreToolUse '{"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "toolu_8"}'
want_block "a broken policy blocks a tool call" "policy.*$T/policy.json.*fails closed"
hook UserPromptSubmit '{"prompt": "hello"}'
want_block "a broken policy blocks a prompt" "policy"
hook PermissionRequest '{"tool_name": "Bash", "tool_input": {"command": "ls"}}'
want_block "a broken policy denies a permission" "policy"
hook SessionStart '{"source": "startup", "model": "m"}'
[ $ST -eq 1 ] && grep -q "not blocking" <<<"$ERR" && ok || bad "SessionStart cannot be blocked: a failure is the non-blocking exit 1 (got $ST: $ERR)"
hook PreToolUse '{"tool_name": "Bash", "tool_input": {"command": "ls"}}' "$CMD --fail-open"
[ $ST -eq 1 ] && grep -q "policy" <<<"$ERR" && ok || bad "--fail-open: exit $ST (want 1): $ERR"
printf '{"default": "deny"}\n' >"$T/policy.json"
hook PreToolUse '{"tool_name": "Bash", "tool_input": {"command": "ls"}}'
want_nothing "the policy repaired, calls go through again"

OUT=$(printf 'not json' | sh -c "$CMD" 2>"$T/stderr"); ST=$?; ERR=$(cat "$T/stderr")
want_block "unreadable input blocks" "not JSON"

B="$T/broken-home"
"$AL" plugin install "$SRC/tests/fixtures/agent-broken" --home "$B" >/dev/null
BCMD="'$AL' emit --protocol claude-code --home '$B' --no-prompt"
hook PreToolUse '{"tool_name": "Bash", "tool_input": {"command": "ls"}}' "$BCMD"
want_block "every handler failing blocks" "every handler failed.*agent-broken: out of order"
hook SessionStart '{"source": "startup", "model": "m"}' "$BCMD"
[ $ST -eq 1 ] && ok || bad "a failing SessionStart handler is a non-blocking error (exit $ST)"
# One of two plugins failing is a notice; the other's answer stands.
"$AL" plugin install "$SRC/tests/fixtures/agent-kit" --home "$B" >/dev/null
hook PreToolUse '{"tool_name": "Bash", "tool_input": {"command": "git status"}}' "$BCMD"
want_json "one plugin failing beside another: its answer stands, a notice says why" \
  '.hookSpecificOutput.additionalContext == "agent-kit: the main branch is protected" and (.systemMessage | test("agent-broken.*out of order"))'
printf 'pi.on("PreToolUse", () => {\n' >"$B/packages/agent-broken/index.js" # no longer loads
hook PreToolUse '{"tool_name": "Bash", "tool_input": {"command": "ls"}}' "$BCMD"
want_block "a plugin that does not load blocks" "package 'agent-broken' did not load"
hook PreToolUse '{"tool_name": "Bash", "tool_input": {"command": "ls"}}' "$BCMD --fail-open"
[ $ST -eq 1 ] && ok || bad "--fail-open with a plugin that does not load: exit $ST"

# ---- remove -----------------------------------------------------------------------------
expect 0 "removed" -- "$AL" hooks remove --claude-code --project "$PROJ"
if jq -e --slurpfile o "$T/original.json" '. == $o[0]' "$S" >/dev/null; then ok; else bad "remove did not restore the file"; jq . "$S"; fi
expect 0 "already up to date" -- "$AL" hooks remove --claude-code --project "$PROJ"
printf '{"hooks": [1]}' >"$T/bad.json"; mkdir -p "$T/badproj/.claude"; cp "$T/bad.json" "$T/badproj/.claude/settings.json"
expect 1 '"hooks" is not an object' -- "$AL" hooks install --claude-code --project "$T/badproj" --home "$H"
cmp -s "$T/bad.json" "$T/badproj/.claude/settings.json" && ok || bad "a file Airlock refused was changed"
expect 2 "name the agent" -- "$AL" hooks install --project "$PROJ"

# A home whose path needs quoting for sh still gives a command that runs.
Q="$T/it's a home"; QP="$T/qproj"; mkdir -p "$QP"
"$AL" plugin install "$SRC/tests/fixtures/agent-kit" --home "$Q" >/dev/null
expect 0 "PreToolUse" -- "$AL" hooks install --claude-code --project "$QP" --home "$Q"
QCMD=$(jq -r '[.hooks.PreToolUse[].hooks[] | select(.command | test(" emit --protocol claude-code"))][0].command' "$QP/.claude/settings.json")
hook PreToolUse '{"tool_name": "Bash", "tool_input": {"command": "rm -rf /"}}' "$QCMD"
want_block "a quoted --home in the installed command" "agent-kit"

# ---- Gemini CLI -------------------------------------------------------------------------
expect 0 "BeforeTool" -- "$AL" hooks install --gemini-cli --project "$PROJ" --home "$H"
S="$PROJ/.gemini/settings.json"
ours='select(.command | test(" emit --protocol gemini-cli"))'
for ev in BeforeTool AfterTool BeforeAgent AfterAgent SessionStart; do
  n=$(jq "[.hooks.$ev[]?.hooks[]? | $ours] | length" "$S")
  [ "$n" = 1 ] && ok || bad "Gemini $ev has $n Airlock entries, want 1"
done
ghook() { # Gemini's base input carries a timestamp and no permission_mode
  local ev=$1 extra=$2 cmd
  cmd=$(jq -r "[.hooks.$ev[].hooks[] | $ours][0].command" "$S")
  OUT=$(jq -cn --arg ev "$ev" --argjson x "$extra" '{session_id: "g1", transcript_path: "/tmp/g.json", cwd: "/work/proj", hook_event_name: $ev, timestamp: "2026-12-02T14:00:00Z"} + $x' |
    sh -c "$cmd" 2>"$T/stderr"); ST=$?
  ERR=$(cat "$T/stderr")
}
ghook BeforeTool '{"tool_name": "run_shell_command", "tool_input": {"command": "rm -rf /"}}'
want_block "Gemini BeforeTool: exit 2 blocks with the reason" "rm -rf"
ghook BeforeTool '{"tool_name": "run_shell_command", "tool_input": {"command": "npm test"}}'
want_json "Gemini BeforeTool: hookSpecificOutput.tool_input" '.hookSpecificOutput.tool_input.command == "npm test --silent"'
ghook AfterTool '{"tool_name": "run_shell_command", "tool_input": {"command": "env"}, "tool_response": {"llmContent": "SECRET=1"}}'
want_json "Gemini AfterTool: decision deny" '.decision == "deny" and (.reason | test("secret"))'
ghook BeforeAgent '{"prompt": "the password is x"}'
want_json "Gemini BeforeAgent: decision deny" '.decision == "deny"'
ghook BeforeAgent '{"prompt": "add a test"}'
want_json "Gemini BeforeAgent: additionalContext" '.hookSpecificOutput.additionalContext == "agent-kit: project rules apply to: add a test"'
ghook SessionStart '{"source": "startup"}'
want_json "Gemini SessionStart: additionalContext" '.hookSpecificOutput.additionalContext | test("agent-kit: session on")'
expect 0 "removed" -- "$AL" hooks remove --gemini-cli --project "$PROJ"
[ ! -s "$S" ] || jq -e '. == {}' "$S" >/dev/null && ok || bad "Gemini remove left entries: $(cat "$S")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
