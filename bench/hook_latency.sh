#!/usr/bin/env bash
# hook_latency.sh: what a coding agent waits for at every tool call when Airlock is its
# hook. Installs one trivial plugin (a PreToolUse handler that returns nothing) in a fresh
# home, writes the hook with `airlock hooks install --claude-code`, and times the command
# exactly as written into settings.json, run through sh with Claude Code's PreToolUse
# input on stdin, as the agent runs it. Beside it, in the same run and interleaved sample
# by sample (so both see the same machine load): a bash hook doing jq on the same input,
# the usual hand-written hook, and the floors (`airlock version`: process start alone).
#
# usage: bench/hook_latency.sh [build-dir] [samples] [other-build-dir]   (defaults: build, 20)
# With other-build-dir (a build of another revision, e.g. before a change), its
# `airlock emit PreToolUse -` with the same plugin and input is timed in the same run too.
# Prints one row per variant: median and p99 (nearest rank) wall time in ms.
set -euo pipefail
BUILD=${1:-build}
N=${2:-20}
OTHER=${3:-}
AL=$(cd "$BUILD" && pwd)/airlock
command -v jq >/dev/null || { echo "hook_latency: jq is needed (the comparison hook uses it)" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/pkg" "$T/proj"
printf 'pi.on("PreToolUse", () => undefined);\n' >"$T/pkg/index.js"
printf '{"id":"trivial","version":"1.0.0","capabilities":{"events":["PreToolUse"]}}\n' >"$T/pkg/airlock.json"
"$AL" plugin install "$T/pkg" --home "$T/home" >/dev/null
"$AL" hooks install --claude-code --project "$T/proj" --home "$T/home" >/dev/null
CMD=$(jq -r '.hooks.PreToolUse[].hooks[] | select(.command | test(" emit --protocol claude-code")) | .command' "$T/proj/.claude/settings.json")
cat >"$T/input.json" <<'EOF'
{"session_id":"abc123","transcript_path":"/tmp/t.jsonl","cwd":"/work/proj","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"npm test"},"tool_use_id":"toolu_01"}
EOF
cat >"$T/jq-hook.sh" <<'EOF'
#!/usr/bin/env bash
# The hand-written equivalent: read the command with jq, block a forced recursive delete.
cmd=$(jq -r '.tool_input.command // ""')
case "$cmd" in *"rm -rf"*) echo "blocked: rm -rf" >&2; exit 2 ;; esac
exit 0
EOF
chmod +x "$T/jq-hook.sh"

names=("airlock emit (process isolation, 1 plugin)" "airlock emit (thread isolation, 1 plugin)"
       "bash hook running jq" "airlock version (process start only)")
cmds=("$CMD" "$CMD --isolation thread" "$T/jq-hook.sh" "'$AL' version")
if [ -n "$OTHER" ]; then
  OAL=$(cd "$OTHER" && pwd)/airlock
  "$OAL" plugin install "$T/pkg" --home "$T/other-home" >/dev/null
  names+=("airlock emit PreToolUse - of $OTHER")
  cmds+=("'$OAL' emit PreToolUse - --home '$T/other-home' --no-prompt")
fi
# Correctness first: every variant must answer "go on" (exit 0) for this input.
for c in "${cmds[@]}"; do sh -c "$c" <"$T/input.json" >/dev/null 2>&1 || { echo "hook_latency: '$c' failed" >&2; exit 1; }; done
for i in "${!cmds[@]}"; do : >"$T/s$i"; done
for ((k = 0; k < 2; k++)); do for c in "${cmds[@]}"; do sh -c "$c" <"$T/input.json" >/dev/null 2>&1 || true; done; done # warm caches
for ((s = 0; s < N; s++)); do
  for i in "${!cmds[@]}"; do
    t0=$EPOCHREALTIME
    sh -c "${cmds[$i]}" <"$T/input.json" >/dev/null 2>&1 || true
    t1=$EPOCHREALTIME
    echo "$(( (${t1/./} - ${t0/./}) ))" >>"$T/s$i" # microseconds
  done
done
printf '%-46s %9s %9s  (n=%d, %s, load %s)\n' "hook" "p50 ms" "p99 ms" "$N" "$(date -u +%H:%MZ)" "$(cut -d' ' -f1-3 /proc/loadavg)"
for i in "${!cmds[@]}"; do
  sort -n "$T/s$i" | awk -v name="${names[$i]}" '{a[NR]=$1} END {
    p50 = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
    r = int(0.99 * NR); if (r < 0.99 * NR) r++; if (r < 1) r = 1
    printf "%-46s %9.2f %9.2f\n", name, p50 / 1000, a[r] / 1000 }'
done
echo "command: $CMD"
