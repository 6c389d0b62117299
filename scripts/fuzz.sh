#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan+UBSan) and runs each for a bounded
# time, seeded from the examples and conformance plugins. Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
AIRLOCK_FUZZ=1 bash scripts/setup.sh
CC=clang-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAIRLOCK_FUZZ=ON -DAIRLOCK_SANITIZE=ON -DAIRLOCK_WERROR=ON -DAIRLOCK_TESTS=OFF >/dev/null
ninja -C build-fuzz fuzz_validate fuzz_plugin fuzz_ipc fuzz_capability fuzz_manifest fuzz_preflight fuzz_tar fuzz_signature fuzz_hooks fuzz_wsmsg fuzz_worker fuzz_lane fuzz_agent fuzz_term_text fuzz_modules fuzz_pi fuzz_wants
seeds=build-fuzz/seeds
rm -rf "$seeds" && mkdir -p "$seeds/plugin" "$seeds/validate" "$seeds/ipc" "$seeds/capability"
mkdir -p "$seeds/manifest" "$seeds/preflight" "$seeds/tar" "$seeds/hooks" "$seeds/wsmsg" "$seeds/worker" "$seeds/lane" "$seeds/agent"
mkdir -p "$seeds/term_text" "$seeds/signature" "$seeds/modules"
cp examples/plugins/*.js "$seeds/plugin/"
[ -d ../shared/conformance/plugins ] && cp ../shared/conformance/plugins/*.js "$seeds/plugin/"
printf '{"kind":"panel","children":[{"kind":"button","props":{"label":"x","onClick":{"handler":"h"}}}]}' >"$seeds/validate/tree.json"
printf '[{"scope":"shared","domain":"d","actionType":"a","payload":1}]' >"$seeds/validate/intents.json"
printf '{"title":"t","widgets":["a","b"]}' >"$seeds/validate/meta.json"
# pkg: manifests, plugin sources for preflight, package tarballs (byte 0: strip count)
printf '{"id":"@s/p","version":"1.2.3-rc.1+b","entry":"lib/i.js","engines":{"airlock":"^0.1.0 || >=1.0.0 <2"},"capabilities":{"events":["PreToolUse"],"network":["x.com:8443"],"fs_read":["$PLUGIN_DATA/**"],"kv":true},"shared":{"read":["d"]},"limits":{"memoryMiB":8},"settings":{"k":{"type":"enum","description":"d","values":["a","b"],"default":"a","env":"K"},"n":{"type":"number","description":"d","min":1,"max":9}},"preflight":{"allow":["rm -rf"]}}' >"$seeds/manifest/airlock.json"
printf '{"name":"p","version":"1.0.0","main":"x.js","airlock":{"entry":"x.js","colour":1}}' >"$seeds/manifest/package.json"
cp examples/plugins/*.js "$seeds/preflight/"
printf 'exec(`rm -rf ${a + `/${b}`}`); x = a / b / eval(c); y = /[/]eval(/g; // sudo \n' >"$seeds/preflight/tricky.js"
{ printf '\001'; tar -cz -C examples plugins; } >"$seeds/tar/npm-like.tgz"
{ printf '\000'; tar -c -C examples/plugins .; } >"$seeds/tar/plain.tar"
tar -c -C examples plugins >"$seeds/plugins.tar" # a multi-member gzip: the tar split in two
{ printf '\001'; head -c 1536 "$seeds/plugins.tar" | gzip -c; tail -c +1537 "$seeds/plugins.tar" | gzip -c; } >"$seeds/tar/two-members.tgz"
rm "$seeds/plugins.tar"
# signature: a keys document, NUL, npm view's output (fuzz_signature.c); one pair signed
# for real (hello@1.0.0 and the target's integrity) so the verification itself is reached
sk=$(mktemp -d)
openssl ecparam -genkey -name prime256v1 -noout -out "$sk/k.pem" 2>/dev/null
integ='sha512-kBAuxBQJlJ85LDc+SnGSX6gWJnJR9Qk4lbgXmz/qPfCOCieCk7BgoN3YvzoNr5BUjqxQDOQxawJJvXXd6c+6Mg=='
pub=$(openssl ec -in "$sk/k.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
sig=$(printf '%s' "hello@1.0.0:$integ" | openssl dgst -sha256 -sign "$sk/k.pem" | base64 -w0)
rm -rf "$sk"
{ printf '{"keys":[{"expires":"2030-01-01T00:00:00.000Z","keyid":"SHA256:k","keytype":"ecdsa-sha2-nistp256","scheme":"ecdsa-sha2-nistp256","key":"%s"}]}\000' "$pub"
  printf '{"dist":{"integrity":"%s","signatures":[{"keyid":"SHA256:x","sig":"AA=="},{"keyid":"SHA256:k","sig":"%s"}]},"time":{"1.0.0":"2024-12-13T09:43:47.367000+00:00"}}' "$integ" "$sig"; } >"$seeds/signature/signed"
printf '{"dist":{"integrity":"sha512-x"},"time":{}}' >"$seeds/signature/none"
printf '2024-12-13T09:43:47.367Z' >"$seeds/signature/time"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
printf '\0\0\0\017{"op":"health"}\0\0\0\002{}' >"$seeds/ipc/two-frames"
# capability: byte 0 picks URL / host pattern / policy / audit lines (fuzz_capability.c)
printf '\000https://user@Sub.Evil.COM.:8443/p?q#f' >"$seeds/capability/url"
printf '\001*.evil.com:8080' >"$seeds/capability/pattern"
printf '\002{"mode":"interactive","default":"ask","deny":{"network":["evil.com"],"fs_read":["/etc/**"]},"plugins":{"p":{"allow":{"kv":true}}},"caps":{"kv":true,"fs_read":["$PLUGIN_DATA/**"]}}' >"$seeds/capability/policy"
printf '\007{"timestamp":"2026-01-01T00:00:00.000000Z","plugin_id":"p","action":"kv","resource":"k","decision":"allowed","reason":"Allowed by default"}\n{"torn' >"$seeds/capability/audit"
# hooks: byte 0 bit 0 grants kv/register_tools/read_config; the rest is a hostcall frame
# or a handler's return value (fuzz_hooks.c)
printf '\001{"method":"config.get","args":{"key":"k"},"settings":{"k":1}}' >"$seeds/hooks/config"
printf '\001{"subscribe":["SessionStart","SessionStart","PreToolUse","Nope"],"hooks":{"SessionStart":2,"PreToolUse":1},"event":"SessionStart","results":[{},{}]}' >"$seeds/hooks/report"
printf '\001{"method":"config.get","args":{"key":"e"},"settingsEnv":{"e":{"env":"HOME","spec":{"type":"string","description":"d"}}}}' >"$seeds/hooks/config-env"
printf '\001{"method":"tools.register","args":{"name":"t","parameters":{"type":"object"}}}' >"$seeds/hooks/tool"
printf '\000{"method":"http.request","args":{"method":"GET","url":"http://127.0.0.1:1/"}}' >"$seeds/hooks/http"
printf '\000{"block":"no","decision":"deny","modified_input":{"a":1},"additional_system_prompt":["x"]}' >"$seeds/hooks/result"
printf '\000{"method":"ui.prompt","args":{"kind":"select","title":"Kind?","options":["a","b",3]}}' >"$seeds/hooks/ui-select"
printf '\000{"method":"ui.prompt","args":{"kind":"editor","title":"T","prefill":"x\\ny"}}' >"$seeds/hooks/ui-editor"
printf '\000{"method":"ui.prompt","args":{"kind":"input","title":7}}' >"$seeds/hooks/ui-input"
printf '{"id":1,"type":"hello"}' >"$seeds/wsmsg/hello"
printf '{"id":2,"type":"load","packageId":"p","source":"definePlugin(({ui})=>({widgets:{w:{render(){return ui.text(\\"x\\")},handlers:{h({dispatchSharedAction}){dispatchSharedAction(\\"counter-summary\\",\\"set-instance\\",{value:1})}}}}}))"}' >"$seeds/wsmsg/load"
printf '{"id":3,"type":"event","instanceId":"p@x","widgetId":"w","handler":"h","args":[1]}' >"$seeds/wsmsg/event"
printf '{"id":"g","type":"grants.set","instanceId":"p@x","grants":{"writeShared":["counter-summary"]}}' >"$seeds/wsmsg/grants"
printf '{"id":5,"type":"reload","instanceId":"p@x","source":"definePlugin(("}' >"$seeds/wsmsg/reload"
# hostcalls at load time, so an input reaches the approve and log callbacks by itself
printf '{"id":6,"type":"load","packageId":"k","source":"pi.logger.warn(\\"l\\");pi.kv.set(\\"a\\",1).catch(()=>0);definePlugin(({ui})=>({widgets:{w:{render(){return ui.text(\\"x\\")}}}}))"}' >"$seeds/wsmsg/kv"
printf '{"id":7,"type":"approval.answer","key":"k\\nkv\\na","allow":true}' >"$seeds/wsmsg/answer"
printf '{"id":8,"type":"audit","n":3}' >"$seeds/wsmsg/audit"
# a text answer (ctx.ui select / input / editor): its checks, and the refusal for another key
printf '{"id":11,"type":"approval.answer","key":"k\\nkv\\na","allow":true,"text":"idea \\u00e9"}' >"$seeds/wsmsg/answer-text"
# pi.*: the fuzzed session has no home, so these reach the checks and the "needs a home" answer
printf '{"id":9,"type":"pi.load","tabId":"t-1","sourceName":"g.ts","source":"export default function (pi) {}"}' >"$seeds/wsmsg/pi-load"
printf '{"id":10,"type":"pi.emit","event":"tool_call","payload":{"toolName":"bash","toolCallId":"c1","input":{"command":"ls"}}}' >"$seeds/wsmsg/pi-emit"
# worker: what a (compromised) worker process sends the host's driver, frame by frame
frame() { printf "\\000\\000\\$(printf %03o $(( ${#1} >> 8 )))\\$(printf %03o $(( ${#1} & 255 )))%s" "$1"; }
{ frame '{"ok":"x","ticket":1}'; frame '{"ok":{"a":1},"ticket":2}'; } >"$seeds/worker/answers"
{ frame '{"slice":2}'; frame '{"hostcall":{"id":1,"ticket":2,"method":"kv.get","args":{"key":"k"},"timeoutMs":9}}'
  frame '{"wake":1}'; frame '{"ok":1,"ticket":1}'; frame '{"ok":1,"ticket":1}'; } >"$seeds/worker/forged"
{ frame '{"hostcall":{"sync":true,"ticket":9,"method":"log","args":{}}}'
  frame '{"error":{"code":"VM_TIMEOUT","message":"m"},"ticket":2}'; printf '\000\000\001'; } >"$seeds/worker/torn"
# found by fuzz_worker: a slice naming a call never sent, then half a frame and silence
# (the backstop must still answer); an answer that is neither ok nor error
{ frame '{"slice":3}'; printf '\000\000\000S{"hostcall'; } >"$seeds/worker/forged-slice"
{ frame '{"ticket":1}'; frame '{"ok":1,"error":{},"ticket":2}'; } >"$seeds/worker/no-answer"
# lane: the same streams over shared memory (fake_worker.c: a flag byte, 8 counter bytes)
for f in "$seeds"/worker/*; do { printf '\000\000\000\000\000\000\000\000\000'; cat "$f"; } >"$seeds/lane/${f##*/}"; done
{ printf '\001\377\377\377\377\000\000\000\000'; frame '{"ok":1,"ticket":1}'; } >"$seeds/lane/forged-head"
{ printf '\003\000\000\000\000\000\000\002\000'; frame '{"slice":1}'; } >"$seeds/lane/forged-tail"
# agent: byte 0 picks protocol and event, byte 1 bit 6 fail_open; then {input, agg,
# failure?} (fuzz_agent.c)
printf '\000\000{"input":{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}},"agg":{"action":"ask","reason":"r","payload":{"tool_input":{"command":"ls -a"}},"results":[{"action":"error","pluginId":"p","reason":"VM_TIMEOUT: x"},{"action":"continue","pluginId":"q","output":{"modified_input":{}}}],"additional_system_prompt":["a",{"b":1}]}}' >"$seeds/agent/rewrite"
printf '\201\100{"input":{"tool_name":"mcp__x__y","tool_response":{"a":1}},"agg":{"action":"block","results":[{"action":"block","pluginId":"p"}]},"failure":"package did not load"}' >"$seeds/agent/block"
# term_text: byte 0 bit 0 keeps newlines; then the text (fuzz_term_text.c)
printf '\001log \033[2J\033]0;t\007 caf\303\251 \302\233 \342\200\256 \342\202\033 \300\257 \355\240\200 \360\237\230\200\r\n\t\177' >"$seeds/term_text/mixed"
# modules: byte 0 even: a package.json, NUL, a subpath; odd: an error's stack (fuzz_modules.c)
printf '\000{"exports":{".":[{"import":"./e.mjs"}],"./f/*":{"default":"./s/*.js"}}}\000./f/a' >"$seeds/modules/exports"
printf '\001Error: x\n    at <anonymous> (native)\n    at render (lib/x.ts:12)\n' >"$seeds/modules/stack"
# pi: byte 0 picks pi's event; then a worker's report (fuzz_pi.c)
mkdir -p "$seeds/pi"
printf '\000{"tools":[{"name":"t","description":"d","parameters":{}}],"commands":[{"name":"c"}],"flags":[],"shortcuts":[],"events":["tool_call"],"messageRenderers":[],"channels":["my:bus"]}' >"$seeds/pi/registry"
printf '\001{"results":[{"ok":{"block":true,"reason":"no"}}],"intents":[{"type":"sendMessage","message":{}}],"errors":[],"bus":[{"channel":"my:bus","data":{"n":1}}]}' >"$seeds/pi/answer"
# wants: pi package sources (the pi fixtures), and every sink kind in one file
mkdir -p "$seeds/wants"
cp tests/fixtures/pi/*.ts "$seeds/wants/" 2>/dev/null || true
printf 'import { execSync as run, execFile } from "node:child_process"; import * as fs from "fs";\nrun(`ls ${d}`); execFile("git", []); pi.exec("gh", ["pr"]); fs.readFileSync("./a"); fs.promises.writeFile(p, s);\nfetch(`https://api.x.com/${q}`); process.env.TOKEN; process.env["K"]; createBashTool(c); if (cmd.includes("rm -rf")) pi.exec("sh", ["-c", "rm -rf /"]);\n' >"$seeds/wants/sinks.ts"
for t in validate plugin ipc capability manifest preflight tar signature hooks wsmsg worker lane agent term_text modules pi wants; do
  mkdir -p "build-fuzz/corpus-$t"
  log="build-fuzz/fuzz_$t.log"
  if build-fuzz/fuzz/fuzz_$t -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 \
      -print_final_stats=1 "build-fuzz/corpus-$t" "$seeds/$t" >"$log" 2>&1; then
    runs=$(grep -m1 '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "fuzz_$t: ${secs}s, ${runs:-?} inputs, no crash"
  else
    tail -40 "$log" >&2
    echo "fuzz_$t found a crash (input saved in the working directory, log $log)" >&2
    exit 1
  fi
done
