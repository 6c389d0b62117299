#!/usr/bin/env bash
# CLI checks for pi extensions (docs/pi-extensions.md) with the small extensions in
# tests/fixtures/pi: blocking through `airlock emit` (exit 2, headless), a throwing
# tool_call handler blocking, pi's chaining across extensions in --plugin order, tools
# with onUpdate, commands and their intents, what `check --json` reports, and an
# extension granted nothing failing to read, run or fetch (CAPABILITY_DENIED inside it,
# audited) in process isolation, then running `git --version` once `exec: ["git *"]` is
# granted while `rm` stays refused; exec's bounds; and --ui, where a person at the
# terminal answers ctx.ui's questions; and the Node and pi surface the official examples
# use (nodeish.ts: Buffer, Dirents, statSync, modelRegistry, process.cwd, import.meta.url,
# createBashTool over exec).
# usage: test_pi_ext.sh <airlock binary> <source dir>
set -u
AL=$1
F="$2/tests/fixtures/pi"
H=$(mktemp -d)
trap 'rm -rf "$H"' EXIT
fails=0
check() { # name expected-status actual-status [output pattern] [output]
  if [ "$2" != "$3" ]; then echo "FAIL $1: exit $3, expected $2"; [ $# -ge 5 ] && echo "$5"; fails=$((fails + 1)); return; fi
  if [ $# -ge 5 ] && ! grep -q -- "$4" <<<"$5"; then echo "FAIL $1: output lacks '$4':"; echo "$5"; fails=$((fails + 1)); return; fi
  echo "PASS $1"
}
# jq is not everywhere; python3 is (the build needs it for nothing, the tests for this)
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps(eval(sys.argv[1])))" "$1"; }
emit() { "$AL" emit "$@" --home "$H" 2>"$H/stderr"; }
TC='{"toolName":"bash","toolCallId":"c1","input":{"command":"echo forbidden"}}'
OK='{"toolName":"bash","toolCallId":"c2","input":{"command":"ls"}}'

for iso in process thread; do
  out=$(emit tool_call - --plugin "$F/gate.ts" --isolation $iso <<<"$TC"); st=$?
  check "gate blocks headless ($iso)" 2 $st '"reason": "gate: forbidden word (headless)"' "$out"
  out=$(emit tool_call - --plugin "$F/gate.ts" --isolation $iso <<<"$OK"); st=$?
  check "gate lets ls through and records it ($iso)" 0 $st '"customType": "gate-seen"' "$out"
done
printf '%s' "$TC" >"$H/tc.json"
out=$(emit tool_call "$H/tc.json" --plugin "$F/gate.ts"); st=$?
check "payload file; type filled in" 2 $st '"type": "tool_call"' "$out"

# fail closed: a tool_call handler that throws blocks, naming the extension and its error
out=$(emit tool_call - --plugin "$F/thrower.ts" --plugin "$F/chain_b.ts" <<<"$OK"); st=$?
check "throwing tool_call blocks" 2 $st "Extension 'thrower' failed in tool_call: thrower is broken" "$out"
check "the block stops the chain (chain_b never ran)" 0 "$(jget 'len(d["intents"])' <<<"$out")"
# other events go on past a throw, as pi's runner does, and say so in errors
out=$(emit input - --plugin "$F/thrower.ts" --plugin "$F/chain_b.ts" <<<'{"text":"x"}'); st=$?
check "a throwing input handler is an error, not a stop" 0 $st '"message": "input handler broken too"' "$out"
check "...and the next extension still transforms" '"x+b"' "$(jget 'd["payload"]["text"]' <<<"$out")"

# chaining, in --plugin order: b sees a's transform and a's in-place change of the input
out=$(emit input - --plugin "$F/chain_a.ts" --plugin "$F/chain_b.ts" <<<'{"text":"x"}'); st=$?
check "input transforms chain a then b" '"x+a+b"' "$(jget 'd["result"]["text"]' <<<"$out")"
check "input action is transform" '"transform"' "$(jget 'd["action"]' <<<"$out")"
out=$(emit input - --plugin "$F/chain_b.ts" --plugin "$F/chain_a.ts" <<<'{"text":"x"}')
check "the other order gives the other text" '"x+b+a"' "$(jget 'd["result"]["text"]' <<<"$out")"
out=$(emit input - --plugin "$F/chain_b.ts" --plugin "$F/chain_a.ts" <<<'{"text":"stop"}')
check "handled short-circuits (a never transforms)" '["handled", "stop"]' "$(jget '[d["action"], d["payload"]["text"]]' <<<"$out")"
out=$(emit tool_call - --plugin "$F/chain_a.ts" --plugin "$F/chain_b.ts" <<<"$OK")
check "b sees a's change to the tool input" '"ls --from-a"' "$(jget 'd["intents"][0]["data"]["command"]' <<<"$out")"
check "the final payload carries it" '"ls --from-a"' "$(jget 'd["payload"]["input"]["command"]' <<<"$out")"
out=$(emit before_agent_start - --plugin "$F/chain_a.ts" --plugin "$F/chain_b.ts" <<<'{"prompt":"p","systemPrompt":"S"}')
check "systemPrompt chains" '"S [a] [b]"' "$(jget 'd["result"]["systemPrompt"]' <<<"$out")"
out=$(emit tool_call - --plugin "$F/gate.ts" --plugin "$F/chain_b.ts" <<<"$TC"); st=$?
check "a block short-circuits the rest" 2 $st
check "...so the second extension made no intent" 0 "$(jget 'len(d["intents"])' <<<"$out")"

# tools: execute(toolCallId, params, signal, onUpdate, ctx) with updates; a throw is exit 1
out=$("$AL" tool count - --plugin "$F/tooly.ts" --home "$H" --cwd /tmp <<<'{"n":3}' 2>/dev/null); st=$?
check "tool runs with its updates" 0 $st '"text": "counted 3"' "$out"
check "three onUpdate payloads, in order" '["1", "2", "3"]' "$(jget '[u["content"][0]["text"] for u in d["updates"]]' <<<"$out")"
check "ctx.cwd is --cwd" '"/tmp"' "$(jget 'd["details"]["cwd"]' <<<"$out")"
out=$("$AL" tool boom --plugin "$F/tooly.ts" --home "$H" 2>/dev/null); st=$?
check "a throwing tool is exit 1 with its error" 1 $st '"error": "Error: boom went the tool"' "$out"
out=$("$AL" tool nope --plugin "$F/tooly.ts" --home "$H" 2>&1); st=$?
check "an unknown tool is exit 2" 2 $st "no tool named 'nope'" "$out"

# commands: (args, ctx) with args joined by spaces; session calls come back as intents
out=$("$AL" command greet big world --plugin "$F/tooly.ts" --home "$H" --flag loud=true 2>/dev/null); st=$?
check "command runs" 0 $st '"command": "greet"' "$out"
check "intents in order" '["sendMessage", "sendUserMessage", "setSessionName", "setActiveTools", "notify", "appendEntry"]' \
  "$(jget '[i["type"] for i in d["intents"]]' <<<"$out")"
check "args joined by spaces; --flag reaches getFlag" '"HELLO BIG WORLD"' "$(jget 'd["intents"][1]["content"]' <<<"$out")"
check "pi.events delivered within the extension" 0 0 '"message": "got big world in ' "$out"
check "headless confirm answers false, hasUI false" '{"ok": false, "hasUI": false, "entries": 0}' "$(jget 'd["intents"][5]["data"]' <<<"$out")"
out=$("$AL" command greet x --plugin "$F/tooly.ts" --home "$H" 2>/dev/null)
check "without the flag its default (false) holds" 5 "$(jget 'len(d["intents"])' <<<"$out")"
out=$("$AL" command nope --plugin "$F/tooly.ts" --home "$H" 2>&1); st=$?
check "an unknown command is exit 2" 2 $st "no command named 'nope'" "$out"

# check --json: what the extension registered
out=$("$AL" check "$F/tooly.ts" --json 2>/dev/null); st=$?
check "check --json pi registrations" 0 $st
check "...tools, commands, flags, shortcuts, renderers" \
  '[["count", "boom"], ["greet"], ["loud"], ["ctrl+g"], [], ["note"]]' \
  "$(jget '[d["pi"][k] for k in ["tools","commands","flags","shortcuts","events","messageRenderers"]]' <<<"$out")"
out=$("$AL" check "$F/chain_a.ts" --json 2>/dev/null)
check "...events subscribed" '["input", "tool_call", "before_agent_start"]' "$(jget 'd["pi"]["events"]' <<<"$out")"

# granted nothing: every reach outside fails inside the extension, and is audited
out=$("$AL" command probe --plugin "$F/nogrant.ts" --home "$H" --isolation process 2>/dev/null); st=$?
check "probe runs" 0 $st
probe() { jget "{i['data']['what']: i['data'].get('code') for i in d['intents']}" <<<"$out"; }
check "read, exec, execSync, fetch all CAPABILITY_DENIED; env unset" \
  '{"read": "CAPABILITY_DENIED", "execSync": "CAPABILITY_DENIED", "exec": "CAPABILITY_DENIED", "exec-rm": "CAPABILITY_DENIED", "fetch": "CAPABILITY_DENIED", "env": null}' \
  "$(probe)"
audit=$(cat "$H/audit.jsonl")
for want in '"action":"fs_read","resource":"/etc/hostname","decision":"denied"' \
            '"action":"exec","resource":"git --version","decision":"denied"' \
            "\"action\":\"exec\",\"resource\":\"sh -c 'echo hi'\",\"decision\":\"denied\"" \
            '"action":"network","resource":"https://example.com/","decision":"denied"' \
            '"action":"env_vars","resource":"HOME","decision":"denied"'; do
  check "audited: $want" 0 0 "$want" "$audit"
done
printf '{"plugins":{"nogrant":{"allow":{"exec":["git *"]}}}}' >"$H/policy.json"
out=$("$AL" command probe --plugin "$F/nogrant.ts" --home "$H" --policy "$H/policy.json" 2>/dev/null)
check "exec granted 'git *' runs git --version" '[true, 0]' \
  "$(jget '[[i["data"]["ok"], i["data"]["value"]["code"]] for i in d["intents"] if i["data"]["what"]=="exec"][0]' <<<"$out")"
check "...its output comes back" 0 0 '"stdout": "git version' "$out"
check "...and rm stays refused" '"CAPABILITY_DENIED"' \
  "$(jget '[i["data"]["code"] for i in d["intents"] if i["data"]["what"]=="exec-rm"][0]' <<<"$out")"
check "the allowed run is audited with its arguments" 0 0 '"action":"exec","resource":"git --version","decision":"allowed"' "$(cat "$H/audit.jsonl")"

# exec's bounds: the deadline kills (killed, 128+9), the working directory is checked, a
# missing command is an error, not a crash; fs_read granted for a directory reads a file
# there, with a relative path resolved against --cwd
mkdir -p "$H/work"; printf 'inside\n' >"$H/work/note.txt"
printf '{"plugins":{"runner":{"allow":{"exec":["sleep *","pwd","no-such-command-x"],"fs_read":["%s/work/**"]}}}}' "$H" >"$H/p2.json"
run() { "$AL" command "$@" --plugin "$F/runner.ts" --home "$H" --policy "$H/p2.json" 2>/dev/null | jget 'd["intents"][0]["data"]'; }
check "a command past its timeout is killed" '{"stdout": "", "stderr": "", "code": 137, "killed": true}' "$(run run --timeout 300 sleep 30)"
check "exec runs in the cwd it is given" "{\"stdout\": \"$H/work\\n\", \"stderr\": \"\", \"code\": 0, \"killed\": false}" "$(run run --cwd "$H/work" pwd)"
check "a cwd that is not a directory is refused" 0 0 'is not a directory' "$(run run --cwd "$H/work/note.txt" pwd)"
check "a command that does not exist is an error" 0 0 'cannot run no-such-command-x' "$(run run no-such-command-x)"
check "granted fs_read reads, relative to --cwd" '{"text": "inside\n"}' "$(run cat note.txt --cwd "$H/work")"
check "outside the grant it is denied" '"CAPABILITY_DENIED"' "$(run cat /etc/hostname | jget 'd["code"]')"
out=$("$AL" tool --list --plugin "$F/tooly.ts" --home "$H" 2>/dev/null)
check "tool --list includes pi tools with their JSON Schema" '["number", ["n"]]' \
  "$(jget '[[t["parameters"]["properties"]["n"]["type"], t["parameters"]["required"]] for t in d if t["name"]=="count"][0]' <<<"$out")"

# --ui: a person at the terminal answers ctx.ui.confirm/select through the approvals
# machinery (`script` gives emit a terminal whose input is the answer); without --ui the
# same extension is headless and blocks on its own
printf '{"toolName":"bash","toolCallId":"c","input":{"command":"danger"}}' >"$H/d.json"
printf '{"toolName":"bash","toolCallId":"c","input":{"command":"danger pick"}}' >"$H/dp.json"
ui_cmd="'$AL' emit tool_call '$H/d.json' --plugin '$F/asker.ts' --home '$H' --ui"
out=$(printf 'y\n' | timeout 60 script -qec "$ui_cmd" /dev/null 2>&1 | tr -d '\r')
check "--ui asks the question on the terminal" 0 0 "allow plugin 'asker' ui Run it?: danger?" "$out"
check "...yes lets the call through" 0 0 '"action": "continue"' "$out"
out=$(printf 'n\n' | timeout 60 script -qec "$ui_cmd" /dev/null 2>&1 | tr -d '\r')
check "...no blocks it" 0 0 '"reason": "asker: declined"' "$out"
pick_cmd="'$AL' emit tool_call '$H/dp.json' --plugin '$F/asker.ts' --home '$H' --ui"
out=$(printf '2\n' | timeout 60 script -qec "$pick_cmd" /dev/null 2>&1 | tr -d '\r')
check "select lists its options on the terminal" 0 0 "  2) second" "$out"
check "...and answers the one chosen by number" 0 0 '"choice": "second"' "$out"
out=$(printf '7\n' | timeout 60 script -qec "$pick_cmd" /dev/null 2>&1 | tr -d '\r')
check "...a number that is no option is no choice" 0 0 '"choice": null' "$out"
printf '{"toolName":"bash","toolCallId":"c","input":{"command":"danger note"}}' >"$H/dn.json"
note_cmd="'$AL' emit tool_call '$H/dn.json' --plugin '$F/asker.ts' --home '$H' --ui"
out=$(printf 'buy milk\nline one\nline two\n.\n' | timeout 60 script -qec "$note_cmd" /dev/null 2>&1 | tr -d '\r')
check "input shows its placeholder" 0 0 "(one line) >" "$out"
check "...the editor shows its text line by line" 0 0 "^filled$" "$out"
# the entry the extension appended: the JSON result after the terminal's prompts
noted() { python3 -c 'import json,sys; t=sys.stdin.read(); print(json.dumps(json.loads(t[t.index("{\n  \"event\""):])["intents"][0]["data"]))'; }
check "...input and editor answer what was typed" '{"note": "buy milk", "text": "line one\nline two"}' "$(noted <<<"$out")"
out=$(printf 'x\n.\n' | timeout 60 script -qec "$note_cmd" /dev/null 2>&1 | tr -d '\r')
check "...'.' alone keeps the editor's text" '{"note": "x", "text": "pre\nfilled"}' "$(noted <<<"$out")"
out=$(printf 'y\n\004' | timeout 60 script -qec "$note_cmd" /dev/null 2>&1 | tr -d '\r')
check "...end of input dismisses it" '{"note": "y", "text": null}' "$(noted <<<"$out")"
out=$(emit tool_call "$H/d.json" --plugin "$F/asker.ts"); st=$?
check "without --ui it is headless" 2 $st '"reason": "asker: no one to ask"' "$out"
check "the answers are audited as ui" 0 0 '"action":"ui","resource":"Run it?: danger","decision":"denied"' "$(cat "$H/audit.jsonl")"

# the Node and pi surface the official examples use (tests/fixtures/pi/nodeish.ts)
N="$(cd "$F" && pwd -P)/nodeish.ts" # absolute: one step runs from another directory
out=$("$AL" tool buffer --plugin "$N" --home "$H" 2>/dev/null | jget 'json.loads(d["content"][0]["text"])')
check "Buffer: utf8, hex, base64, concat, isBuffer, alloc, bad bytes" \
  '{"len": 10, "byteLength": 10, "hex": "68c3a9e282acf09f9880", "b64": "aMOp4oKs8J+YgA==", "back": "h\u00e9\u20ac\ud83d\ude00", "fromHex": "Hi", "cat": "abcd", "isBuf": [true, false], "alloc": "zzz", "bad": "\ufffdA"}' "$out"
mkdir -p "$H/nd/sub" "$H/cw"; printf 'abc' >"$H/nd/a.txt"; ln -sf a.txt "$H/nd/l"
ALA="$(cd "$(dirname "$AL")" && pwd)/$(basename "$AL")"
out=$(cd "$H/cw" && "$ALA" tool where --plugin "$N" --home "$H" 2>/dev/null | jget 'json.loads(d["content"][0]["text"])')
check "process.cwd() at load and in a call is the CLI's cwd; model registry empty, no key" \
  "{\"loadCwd\": \"$H/cw\", \"callCwd\": \"$H/cw\", \"url\": \"file://$N\", \"model\": null, \"all\": [], \"auth\": {\"ok\": true}}" "$out"
out=$("$AL" tool where --plugin "$N" --home "$H" --cwd "$H/nd" 2>/dev/null | jget 'json.loads(d["content"][0]["text"])["loadCwd"]')
check "...and --cwd DIR when given" "\"$H/nd\"" "$out"
printf '{"plugins":{"nodeish":{"allow":{"fs_read":["%s/nd/**","%s/nd"]}}}}' "$H" "$H" >"$H/pn.json"
printf '{"path":"%s/nd"}' "$H" >"$H/nd.json"
out=$("$AL" tool dir "$H/nd.json" --plugin "$N" --home "$H" --policy "$H/pn.json" 2>/dev/null | jget 'json.loads(d["content"][0]["text"])')
check "readdirSync names and Dirents; statSync types, size, ENOENT, throwIfNoEntry" \
  '{"names": ["a.txt", "l", "sub"], "typed": [["a.txt", true, false, false], ["l", false, false, true], ["sub", false, true, false]], "stat": [true, false, 3], "statDir": true, "missing": {"code": "ENOENT"}, "quiet": "undefined"}' "$out"
out=$("$AL" tool dir "$H/nd.json" --plugin "$N" --home "$H" 2>/dev/null | jget 'json.loads(d["content"][0]["text"])["stat"]')
check "statSync without fs_read is CAPABILITY_DENIED" '{"code": "CAPABILITY_DENIED"}' "$out"
check "...and audited" 0 0 "\"action\":\"fs_read\",\"resource\":\"$H/nd/a.txt\",\"decision\":\"denied\"" "$(cat "$H/audit.jsonl")"
printf '{"command":"echo \\"v=$HOOK_VAR\\"; pwd"}' >"$H/hb.json"
out=$("$AL" tool hbash "$H/hb.json" --plugin "$N" --home "$H" --cwd "$H/nd" 2>/dev/null); st=$?
check "createBashTool without an exec grant fails" 1 $st 'CAPABILITY\|denied' "$out"
printf '{"plugins":{"nodeish":{"allow":{"exec":["bash -c *"]}}}}' >"$H/pb.json"
out=$("$AL" tool hbash "$H/hb.json" --plugin "$N" --home "$H" --cwd "$H/nd" --policy "$H/pb.json" 2>/dev/null | jget 'd["content"][0]["text"]')
check "createBashTool runs the hooked command, its env exported, in the tool's cwd" "\"hooked\\nv=it's set\\n$H/nd\\n\"" "$out"
check "...audited as the bash -c line it ran" 0 0 '"action":"exec","resource":"bash -c' "$(cat "$H/audit.jsonl")"
printf '{"command":"echo out; exit 3"}' >"$H/hb3.json"
out=$("$AL" tool hbash "$H/hb3.json" --plugin "$N" --home "$H" --policy "$H/pb.json" 2>/dev/null); st=$?
check "a non-zero exit throws with pi's message" 1 $st 'Command exited with code 3' "$out"

echo "$fails failed"
[ "$fails" -eq 0 ]
