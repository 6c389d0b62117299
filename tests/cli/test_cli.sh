#!/usr/bin/env bash
# test_cli.sh AIRLOCK SRC_DIR: the CLI's observable behaviour (output, exit status, errors).
set -u
bin=$1
src=$2
ex="$src/examples/plugins"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=expect.sh
. "$(dirname "$0")/expect.sh"

expect 0 'Counter: 2' -- "$bin" run "$ex/counter.js" --event counter:increment --event counter:increment
expect 0 '\[Increment\]' -- "$bin" run "$ex/counter.js"
expect 0 'Counter: 5' -- "$bin" run "$ex/counter.js" --state '{"value":5}'
expect 1 '^error: IO_ERROR: cannot read' -- "$bin" run "$tmp/missing.js"
expect 2 'unknown or incomplete option' -- "$bin" run "$ex/counter.js" --bogus
expect 2 'WIDGET:HANDLER' -- "$bin" run "$ex/counter.js" --event nocolon
expect 1 '^error: HANDLER_NOT_FOUND: Handler not found: nope' -- "$bin" run "$ex/counter.js" --event counter:nope
expect 2 'read:DOMAIN' -- "$bin" run "$ex/counter.js" --grant admin:all

printf 'definePlugin(() => ({ widgets: {} })' >"$tmp/syntax.js"
expect 1 '^error: PLUGIN_LOAD_ERROR: SyntaxError' -- "$bin" run "$tmp/syntax.js"
printf 'definePlugin(({ui}) => ({ widgets: { a: { render() { for(;;){} } }, b: { render() { return ui.text("fine"); } } } }));' >"$tmp/loop.js"
expect 1 'error: VM_TIMEOUT' -- "$bin" run "$tmp/loop.js"
expect 1 'fine' -- "$bin" run "$tmp/loop.js"
expect 1 'render a +FAIL +VM_TIMEOUT' -- "$bin" check "$tmp/loop.js"
expect 0 '0 errors' -- "$bin" check "$ex/counter.js"
expect 0 '"ok": true' -- "$bin" check "$ex/counter.js" --json

# --json is one parseable document with the documented keys; denied writes show up
out=$("$bin" run "$ex/counter.js" --package custom --event counter:increment --json --trace)
if node -e '
  const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const k of ["plugin", "state", "trees", "timeline", "errors", "telemetry"]) if (!(k in d)) throw new Error("missing " + k);
  if (d.errors.length !== 0) throw new Error("errors");
  if (!d.timeline.some(e => e.outcome === "ignored" || e.outcome === "denied")) throw new Error("custom package: expected an ignored or denied action");
  if (!d.telemetry.every(t => typeof t.elapsedUs === "number")) throw new Error("telemetry");
' <<<"$out"; then ok; else bad "--json document"; fi

# grants from the command line reach the store
out=$("$bin" run "$ex/counter.js" --grant read:counter-summary --grant write:counter-summary --event counter:increment --json)
if node -e '
  const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const shared = d.timeline.filter(e => e.scope === "shared");
  if (!shared.length || shared.some(e => e.outcome !== "applied")) throw new Error(JSON.stringify(d.timeline));
' <<<"$out"; then ok; else bad "--grant write applies"; fi

# process isolation end to end, and the sandbox report
expect 0 'Counter: 2' -- "$bin" run "$ex/counter.js" --isolation process --event counter:increment --event counter:increment
expect 1 'error: VM_TIMEOUT' -- "$bin" run "$tmp/loop.js" --isolation process
expect 2 'takes thread, inline or process' -- "$bin" run "$ex/counter.js" --isolation vm
expect 0 'seccomp allowlist +active' -- "$bin" doctor
expect 0 '"processIsolation":true' -- "$bin" doctor --json

expect 2 'usage' -- "$bin" conform
expect 2 'INVALID_ARGUMENT' -- "$bin" conform "$tmp/missing.json"
expect 2 'unknown command' -- "$bin" frobnicate
expect 0 'airlock [0-9]' -- "$bin" version

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
