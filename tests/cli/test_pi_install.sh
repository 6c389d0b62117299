#!/usr/bin/env bash
# CLI checks for installing pi packages (docs/packages.md "pi packages"): a package with no
# Airlock manifest is recognised by the pi rule, its wants are derived and printed, and
# what was granted is exactly what its extension gets when the installed package is
# loaded by id (`airlock command`, which loads the home's enabled packages): with
# --grant none every reach is CAPABILITY_DENIED inside the extension (a clear error, the
# command itself succeeds), with --allow 'exec=git *' git runs and ls stays refused; the
# same from a .tgz built here with tar; grant / revoke / info; preflight's pi profile (a
# guard matching "rm -rf" installs, pi.exec("rm -rf /") is refused) while an Airlock
# plugin keeps the spec's rule and message.
# usage: test_pi_install.sh <airlock binary> <source dir>
set -u
AL=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/check.sh"
# what each probe step came back with: its error code, or true when it succeeded
probe() { "$AL" command probe --home "$1" 2>"$T/stderr" | jget "{i['data']['what']: i['data'].get('code') or i['data']['ok'] for i in d['intents']}"; }

mkdir -p "$T/src/probe/extensions"
cat >"$T/src/probe/package.json" <<'EOF'
{"name": "probe-pkg", "version": "1.2.0", "description": "reaches for things"}
EOF
cat >"$T/src/probe/extensions/probe.ts" <<'EOF'
import { readFileSync } from "node:fs";
import type { ExtensionAPI } from "@mariozechner/pi-coding-agent";

export default function (pi: ExtensionAPI) {
  const note = async (what: string, f: () => unknown) => {
    try {
      pi.appendEntry("probe", { what, ok: true, value: await f() });
    } catch (e: any) {
      pi.appendEntry("probe", { what, ok: false, code: e.code ?? null, message: String(e.message) });
    }
  };
  // the commonest guard there is: it must install
  pi.on("tool_call", (ev: any) => {
    const cmd = String(ev.input?.command ?? "");
    if (cmd.includes("rm -rf") || /sudo /.test(cmd)) return { block: true, reason: "guard: destructive" };
  });
  pi.registerCommand("probe", {
    description: "tries everything",
    handler: async () => {
      await note("read", () => readFileSync("/etc/hostname", "utf8"));
      await note("git", () => pi.exec("git", ["--version"]));
      await note("ls", () => pi.exec("ls", ["/"]));
      await note("fetch", () => fetch("https://api.example.com/v1").then((r: any) => r.status));
    },
  });
}
EOF

# from a directory, not a terminal, no --grant: nothing granted, and the output says so
H=$T/h1
out=$("$AL" plugin install "$T/src/probe" --home "$H" </dev/null 2>&1); st=$?
check "a pi package installs from a directory" 0 $st "^installed probe-pkg@1.2.0 (directory)" "$out"
check "...its wants are printed" 0 0 "^wants: fs_read /etc/hostname, exec git \*, exec ls \*, network api.example.com$" "$out"
check "...nothing granted by default when not a terminal" 0 0 "^granted: (nothing)" "$out"
check "...and the output says why" 0 0 "not a terminal and no --grant" "$out"
check "...the guard's 'rm -rf' is a warning, not a block" 0 0 "warn  shell-destructive: extensions/probe.ts: shell-destructive string 'rm -rf' in a string that reaches no command sink" "$out"
check "--grant none: every reach is CAPABILITY_DENIED inside the extension" \
  '{"read": "CAPABILITY_DENIED", "git": "CAPABILITY_DENIED", "ls": "CAPABILITY_DENIED", "fetch": "CAPABILITY_DENIED"}' "$(probe "$H")"
check "...and audited as denied" 0 0 '"action":"exec","resource":"git --version","decision":"denied"' "$(cat "$H/audit.jsonl")"
out=$("$AL" plugin info probe-pkg --home "$H"); st=$?
check "info shows the profile" 0 $st "profile       pi" "$out"
check "info shows wants" 0 0 "wants         fs_read /etc/hostname, exec git \*" "$out"
check "info shows granted" 0 0 "granted       (nothing)" "$out"
out=$("$AL" plugin list --home "$H")
check "list marks it pi" 0 0 "probe-pkg .*(pi)" "$out"

out=$("$AL" plugin doctor --home "$H"); st=$?
check "doctor knows a pi package" 0 $st "ok     package probe-pkg *ok (pi package)" "$out"

# grant and revoke one pattern
out=$("$AL" plugin grant probe-pkg exec 'git *' --home "$H"); st=$?
check "grant exec git *" 0 $st "^granted: exec git \*$" "$out"
check "...git runs, ls stays refused" \
  '{"read": "CAPABILITY_DENIED", "git": true, "ls": "CAPABILITY_DENIED", "fetch": "CAPABILITY_DENIED"}' "$(probe "$H")"
out=$("$AL" plugin grant probe-pkg network 'https://x' --home "$H" 2>&1); st=$?
check "a bad pattern is refused, naming it" 1 $st "network: 'https://x' is not a host pattern" "$out"
out=$("$AL" plugin grant probe-pkg kv true --home "$H" 2>&1); st=$?
check "an unknown capability is refused" 1 $st "unknown capability 'kv'" "$out"
out=$("$AL" plugin revoke probe-pkg exec 'ls *' --home "$H" 2>&1); st=$?
check "revoking what is not granted says what is" 1 $st "exec 'ls \*' is not granted (granted exec: \[\"git \*\"\])" "$out"
out=$("$AL" plugin revoke probe-pkg exec 'git *' --home "$H"); st=$?
check "revoke exec git *" 0 $st "^granted: (nothing)" "$out"
check "...git is refused again" '"CAPABILITY_DENIED"' "$(probe "$H" | jget 'd["git"]')"
check "grant and revoke are audited" 0 0 '"action":"revoke","resource":"exec git \*"' "$(cat "$H/audit.jsonl")"

# from a .tgz (npm's layout: package/...), with --allow narrower than --grant all
mkdir -p "$T/tar"
cp -r "$T/src/probe" "$T/tar/package"
tar -czf "$T/probe.tgz" -C "$T/tar" package
H=$T/h2
out=$("$AL" plugin install "$T/probe.tgz" --home "$H" --allow 'exec=git *' 2>&1); st=$?
check "a pi package installs from a .tgz" 0 $st "^installed probe-pkg@1.2.0 (tarball)" "$out"
check "...granted only what --allow says" 0 0 "^granted: exec git \*$" "$out"
check "--allow exec=git *: git passes, ls is denied" \
  '{"read": "CAPABILITY_DENIED", "git": true, "ls": "CAPABILITY_DENIED", "fetch": "CAPABILITY_DENIED"}' "$(probe "$H")"
out=$("$AL" plugin install "$T/probe.tgz" --home "$H" --grant all --json); st=$?
check "--grant all grants every want (--json report)" \
  '{"fs_read": ["/etc/hostname"], "exec": ["git *", "ls *"], "network": ["api.example.com"]}' "$(jget 'd["granted"]' <<<"$out")"
check "...the report names the profile and entries" '["pi", ["extensions/probe.ts"]]' "$(jget '[d["profile"], d["entries"]]' <<<"$out")"
check "...ls now runs" 'true' "$(probe "$H" | jget 'd["ls"]')"
out=$("$AL" plugin install "$T/probe.tgz" --home "$H" --grant some 2>&1); st=$?
check "--grant takes all or none" 2 $st "--grant takes all or none" "$out"
out=$("$AL" plugin install "$T/probe.tgz" --home "$H" --allow 'exec' 2>&1); st=$?
check "--allow needs CAP=PATTERN" 1 $st "expected CAP=PATTERN" "$out"
out=$("$AL" plugin list --home "$H" --grant all 2>&1); st=$?
check "--grant belongs to install" 2 $st "belong to 'airlock plugin install'" "$out"

# on a terminal without --grant it asks per want: y, n, or a narrower pattern (script(1)
# gives the install a terminal; its input answers); end of input cancels, leaving nothing
if command -v script >/dev/null; then
  H=$T/h4
  out=$(printf 'n\ny\nls /\nn\n' | script -qec "'$AL' plugin install '$T/src/probe' --home '$H'" /dev/null 2>&1 | tr -d '\r'); st=$?
  check "a terminal is asked per want" 0 $st "wants: exec git \*  grant? \[y/n/PATTERN\]" "$out"
  check "...and granted what was answered" 0 0 "^granted: exec git \*, exec ls /$" "$out"
  check "...the narrowed pattern is what the extension gets" \
    '{"read": "CAPABILITY_DENIED", "git": true, "ls": true, "fetch": "CAPABILITY_DENIED"}' "$(probe "$H")"
  out=$(printf 'y\n' | script -qec "'$AL' plugin install '$T/src/probe' --home '$T/h5'" /dev/null 2>&1 | tr -d '\r')
  check "end of input cancels the install" 0 0 "install cancelled: no grant was chosen for exec git \*" "$out"
  check "...and nothing was installed" 0 0 "no plugins installed" "$("$AL" plugin list --home "$T/h5")"
fi

# preflight's pi profile: a destructive command at a sink refuses the install
mkdir -p "$T/src/wiper"
printf '{"name":"wiper","version":"1.0.0"}' >"$T/src/wiper/package.json"
printf 'export default function (pi) { pi.registerCommand("wipe", { handler: () => pi.exec("sh", ["-c", "rm -rf /"]) }); }\n' >"$T/src/wiper/index.js"
out=$("$AL" plugin install "$T/src/wiper" --home "$T/h3" 2>&1); st=$?
check "pi.exec with rm -rf is PREFLIGHT_BLOCKED" 1 $st "PREFLIGHT_BLOCKED: preflight blocked the plugin: index.js: shell-destructive string 'rm -rf' passed to a command sink (pi.exec)" "$out"
check "...and nothing was installed" 0 0 "no plugins installed" "$("$AL" plugin list --home "$T/h3")"

# an Airlock plugin keeps the spec's rule: the same guard passed to a call blocks
mkdir -p "$T/src/native"
printf '{"id":"native-guard","version":"1.0.0"}' >"$T/src/native/airlock.json"
printf 'pi.on("PreToolUse", (e) => { if (e.command.includes("rm -rf")) return { block: true }; });\n' >"$T/src/native/index.js"
out=$("$AL" plugin install "$T/src/native" --home "$T/h3" 2>&1); st=$?
check "an Airlock plugin's guard is still blocked, with the spec's message" 1 $st "shell-destructive string 'rm -rf' passed to a call at 1:53" "$out"

echo "$fails failed"
[ "$fails" -eq 0 ]
