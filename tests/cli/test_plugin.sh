#!/usr/bin/env bash
# test_plugin.sh AIRLOCK SRC_DIR: `airlock plugin ...` and `airlock check` on packages,
# against a temporary AIRLOCK_HOME: install (directory, tarball, npm through a stand-in npm),
# list, info, enable/disable, remove, audit, doctor; bad manifests, blocked preflight, and
# hostile tarballs (`..`, absolute paths, links) refused without writing anything outside.
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export AIRLOCK_HOME="$tmp/home"
unset XDG_DATA_HOME AIRLOCK_DISABLE_PLUGINS AIRLOCK_SKIP_PLUGINS AIRLOCK_FORCE_DENY AIRLOCK_PLUGIN_MODE
# shellcheck source=expect.sh
. "$(dirname "$0")/expect.sh"
# nothing but the expected entries may exist in home/packages (no staging leftovers)
packages_are() {
  local got
  got=$(ls -A "$AIRLOCK_HOME/packages" 2>/dev/null | tr '\n' ' ')
  if [ "$got" = "$1" ]; then ok; else bad "home/packages holds '$got', want '$1'"; fi
}

# a good package
mkdir -p "$tmp/hello"
cat >"$tmp/hello/airlock.json" <<'JSON'
{"id": "hello", "version": "1.0.0", "title": "Hello", "description": "says hello",
 "capabilities": {"kv": true, "events": ["SessionStart"]},
 "settings": {"greeting": {"type": "string", "description": "what to say", "default": "hi"}}}
JSON
cat >"$tmp/hello/index.js" <<'JS'
pi.on("SessionStart", () => pi.kv.set("seen", true)); // rm -rf / in a comment is fine
JS

expect 2 'usage: airlock plugin' -- "$bin" plugin
expect 2 "unknown plugin command 'frobnicate'" -- "$bin" plugin frobnicate
expect 2 "needs a package id" -- "$bin" plugin info
expect 0 "no plugins installed" -- "$bin" plugin list
expect 0 "^installed hello@1.0.0 \(directory\) into $AIRLOCK_HOME/packages/hello" -- "$bin" plugin install "$tmp/hello"
expect 0 "^hello +1.0.0 +enabled" -- "$bin" plugin list
expect 0 "title +Hello" -- "$bin" plugin info hello
expect 0 '"enabled": true' -- "$bin" plugin info hello --json
expect 0 "disabled hello" -- "$bin" plugin disable hello
expect 0 "^hello +1.0.0 +disabled" -- "$bin" plugin list
expect 0 '"enabled": false' -- "$bin" plugin list --json
expect 0 "enabled hello" -- "$bin" plugin enable hello
expect 1 "^error: INVALID_ARGUMENT: no package 'nope' is installed" -- "$bin" plugin info nope
expect 1 "no package 'nope' is installed" -- "$bin" plugin enable nope
# the installed copy is independent of the source directory
rm "$tmp/hello/index.js"
expect 0 "ok +package hello" -- "$bin" plugin doctor
printf 'pi.on("SessionStart", () => {});\n' >"$tmp/hello/index.js"
# settings overrides are checked against the manifest; secrets are never printed
cat >"$tmp/hello/airlock.json" <<'JSON'
{"id": "hello", "version": "1.0.0", "title": "Hello", "capabilities": {"read_config": true},
 "settings": {"port": {"type": "number", "description": "p", "min": 1, "max": 10, "default": 2},
              "token": {"type": "string", "description": "t", "secret": true}}}
JSON
expect 0 "installed hello" -- "$bin" plugin install "$tmp/hello"
expect 0 '"port": 2' -- "$bin" plugin config hello
expect 0 "set hello.port" -- "$bin" plugin config hello port 5
expect 0 "^5$" -- "$bin" plugin config hello port
expect 1 "settings.port: not a valid number \(within min/max\)" -- "$bin" plugin config hello port 50
expect 1 "settings.nope: no such setting in hello's manifest" -- "$bin" plugin config hello nope 1
expect 0 "set hello.token" -- "$bin" plugin config hello token s3cr3t
out=$("$bin" plugin config hello; "$bin" plugin info hello; "$bin" plugin info hello --json)
if grep -q s3cr3t <<<"$out"; then bad "a secret setting was printed"; else ok; fi
expect 0 "unset hello.port" -- "$bin" plugin config hello port --unset
expect 0 "^2$" -- "$bin" plugin config hello port
expect 2 "--unset takes a KEY" -- "$bin" plugin config hello --unset
# --home wins over AIRLOCK_HOME
expect 0 "no plugins installed in $tmp/other" -- "$bin" plugin list --home "$tmp/other"
expect 0 "removed hello" -- "$bin" plugin remove hello
expect 0 "no plugins installed" -- "$bin" plugin list
packages_are ""
expect 1 "no package 'hello' is installed" -- "$bin" plugin remove hello

# a scoped id lives in an @scope directory, which goes with its last package
mkdir -p "$tmp/scoped"
printf '{"name": "@acme/tool", "version": "2.0.0-rc.1", "airlock": {"entry": "main.js"}}' >"$tmp/scoped/package.json"
printf 'pi.on("SessionStart", () => {});\n' >"$tmp/scoped/main.js"
expect 0 "^installed @acme/tool@2.0.0-rc.1 \(directory\) into $AIRLOCK_HOME/packages/@acme/tool" -- "$bin" plugin install "$tmp/scoped"
expect 0 "^@acme/tool +2.0.0-rc.1 +enabled" -- "$bin" plugin list
expect 0 "removed @acme/tool" -- "$bin" plugin remove @acme/tool
packages_are ""

# bad manifests name the field and the rule; nothing is installed
mkdir -p "$tmp/badver"
printf '{"id": "badver", "version": "1.2"}' >"$tmp/badver/airlock.json"
printf '1;' >"$tmp/badver/index.js"
expect 1 "manifest.version: '1.2' is not semver MAJOR.MINOR.PATCH" -- "$bin" plugin install "$tmp/badver"
printf '{"id": "BadId", "version": "1.0.0"}' >"$tmp/badver/airlock.json"
expect 1 "manifest.id: 'BadId' must be lowercase" -- "$bin" plugin install "$tmp/badver"
printf '{"id": "badver", "version": "1.0.0", "entry": "../../etc/passwd"}' >"$tmp/badver/airlock.json"
expect 1 "manifest.entry: '../../etc/passwd' must be a relative path inside the package" -- "$bin" plugin install "$tmp/badver"
printf '{"id": "badver", "version": "1.0.0", "engines": {"airlock": ">=99"}}' >"$tmp/badver/airlock.json"
expect 1 "PLUGIN_LOAD_ERROR: manifest.engines.airlock: badver needs airlock >=99" -- "$bin" plugin install "$tmp/badver"
printf '{"id": "badver", "version": "1.0.0", "colour": "red"}' >"$tmp/badver/airlock.json"
expect 1 "manifest +FAIL +INVALID_ARGUMENT: .*manifest.colour: unknown field" -- "$bin" check "$tmp/badver"
expect 0 "warning: manifest.colour: unknown field \(ignored\)" -- "$bin" plugin install "$tmp/badver"
expect 0 "removed badver" -- "$bin" plugin remove badver
expect 1 "no airlock.json or package.json" -- "$bin" plugin install "$tmp"
expect 1 "is not a directory, a .tgz/.tar file or an npm package name" -- "$bin" plugin install "Not A Name"

# preflight: a destructive command passed to a call blocks the install
mkdir -p "$tmp/wiper"
printf '{"id": "wiper", "version": "1.0.0"}' >"$tmp/wiper/airlock.json"
printf 'pi.on("SessionStart", () => exec("rm -rf /"));\n' >"$tmp/wiper/index.js"
expect 1 "^error: PREFLIGHT_BLOCKED: preflight blocked the plugin: shell-destructive string 'rm -rf' passed to a call at 1:34" -- "$bin" plugin install "$tmp/wiper"
expect 1 "1:34 +block shell-destructive" -- "$bin" check "$tmp/wiper"
printf '{"id": "wiper", "version": "1.0.0", "preflight": {"allow": ["rm -rf"]}}' >"$tmp/wiper/airlock.json"
expect 0 "1:34 +allow shell-destructive" -- "$bin" plugin install "$tmp/wiper"
expect 0 "removed wiper" -- "$bin" plugin remove wiper
packages_are ""

# tarballs: npm's layout (package/...) installs
mkdir -p "$tmp/tar/package"
cp "$tmp/hello/airlock.json" "$tmp/hello/index.js" "$tmp/tar/package/"
tar -czf "$tmp/hello.tgz" -C "$tmp/tar" package
expect 0 "^installed hello@1.0.0 \(tarball\)" -- "$bin" plugin install "$tmp/hello.tgz"
expect 0 "removed hello" -- "$bin" plugin remove hello

# hostile tarballs are refused and write nothing outside (nor inside) the home
mkdir -p "$tmp/evilsrc"
cp "$tmp/hello/airlock.json" "$tmp/hello/index.js" "$tmp/evilsrc/"
printf 'pwned' >"$tmp/evilsrc/payload"
tar -czPf "$tmp/dotdot.tgz" -C "$tmp/evilsrc" --transform 's,^payload$,../../../evil,' airlock.json index.js payload
expect 1 "tarball entry '../../../evil': path escapes the package" -- "$bin" plugin install "$tmp/dotdot.tgz"
tar -czPf "$tmp/abs.tgz" -C "$tmp/evilsrc" --transform "s,^payload\$,$tmp/abs-evil," airlock.json index.js payload
expect 1 "tarball entry '$tmp/abs-evil': absolute path" -- "$bin" plugin install "$tmp/abs.tgz"
ln -s /etc/passwd "$tmp/evilsrc/link"
tar -czf "$tmp/link.tgz" -C "$tmp/evilsrc" airlock.json index.js link
expect 1 "tarball entry 'link': links are not allowed in a package" -- "$bin" plugin install "$tmp/link.tgz"
# a symlink in a package directory is refused the same way
expect 1 "package file 'link': links are not allowed in a package" -- "$bin" plugin install "$tmp/evilsrc"
for f in "$tmp/evil" "$tmp/abs-evil" "$AIRLOCK_HOME/evil" "$AIRLOCK_HOME/packages/evil" "$(dirname "$tmp")/evil"; do
  if [ -e "$f" ]; then bad "$f was written"; else ok; fi
done
packages_are ""
expect 0 "no plugins installed" -- "$bin" plugin list

# npm: a stand-in npm packs a fixture and reports its integrity the way npm does; the
# tarball is verified against it
mkdir -p "$tmp/fakenpm"
cat >"$tmp/fakenpm/npm" <<SH
#!/usr/bin/env bash
# npm pack <spec> --json --pack-destination DIR
dest=\$5
tar -czf "\$dest/hello-1.0.0.tgz" -C "$tmp/tar" package
[ -n "\${CORRUPT:-}" ] && printf 'x' >>"\$dest/hello-1.0.0.tgz"
integ=\$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "\$dest/hello-1.0.0.tgz")
[ -n "\${CORRUPT:-}" ] && integ="sha512-\$(printf 'other' | node -e 'process.stdout.write(require("crypto").createHash("sha512").update(require("fs").readFileSync(0)).digest("base64"))')"
echo "npm notice lifecycle output before the document"
printf '[{"id":"hello@1.0.0","name":"hello","version":"1.0.0","filename":"hello-1.0.0.tgz","integrity":"%s"}]\n' "\$integ"
SH
chmod +x "$tmp/fakenpm/npm"
export AIRLOCK_NPM="$tmp/fakenpm/npm"
if command -v node >/dev/null; then
  expect 0 "^installed hello@1.0.0 \(npm\)" -- "$bin" plugin install hello@1.0.0
  expect 0 "removed hello" -- "$bin" plugin remove hello
  expect 1 "tarball integrity mismatch" -- env CORRUPT=1 "$bin" plugin install hello
  packages_are ""
fi
export AIRLOCK_NPM="$tmp/no-such-npm"
expect 1 "cannot run $tmp/no-such-npm" -- "$bin" plugin install hello
unset AIRLOCK_NPM

# issue 16: a package with another name declaring an installed id, or a lower version of the
# same package, is refused unless confirmed; a takeover never inherits settings or kv data
mkdir -p "$tmp/acme" "$tmp/evil/package"
cat >"$tmp/acme/package.json" <<'JSON'
{"name": "acme-hello", "version": "2.0.0", "airlock": {"id": "acme", "capabilities": {"read_config": true},
 "settings": {"token": {"type": "string", "description": "t", "secret": true}}}}
JSON
printf 'pi.on("SessionStart", () => {});\n' >"$tmp/acme/index.js"
expect 0 "^installed acme@2.0.0" -- "$bin" plugin install "$tmp/acme"
expect 0 "set acme.token" -- "$bin" plugin config acme token '"s3cret"'
mkdir -p "$AIRLOCK_HOME/data/acme" && printf 'old' >"$AIRLOCK_HOME/data/acme/f"
sed 's/"acme-hello"/"evil-hello"/; s/"2.0.0"/"1.0.0"/' "$tmp/acme/package.json" >"$tmp/evil/package/package.json"
cp "$tmp/acme/index.js" "$tmp/evil/package/"
tar -czf "$tmp/evil.tgz" -C "$tmp/evil" package
expect 1 "^error: INVALID_ARGUMENT: id 'acme' is held by the installed package 'acme-hello' 2.0.0; 'evil-hello' 1.0.0 declares the same id. Refused: .*--replace" -- "$bin" plugin install "$tmp/evil.tgz"
expect 0 "^acme +2.0.0" -- "$bin" plugin list
expect 0 '"token": "\(secret\)"' -- "$bin" plugin config acme
expect 0 '"action": "install".*"decision": "denied"|Refused' -- "$bin" plugin audit --json
# a downgrade of the same package
sed 's/"2.0.0"/"1.5.0"/' "$tmp/acme/package.json" >"$tmp/acme/p2" && mv "$tmp/acme/p2" "$tmp/acme/package.json"
expect 1 "^error: INVALID_ARGUMENT: 'acme-hello' 2.0.0 is installed; 1.5.0 is lower. Refused as a downgrade .*--allow-downgrade" -- "$bin" plugin install "$tmp/acme"
expect 0 "^acme +2.0.0" -- "$bin" plugin list
expect 0 "^downgraded from 2.0.0" -- "$bin" plugin install "$tmp/acme" --allow-downgrade
expect 0 '"token": "\(secret\)"' -- "$bin" plugin config acme
# --replace takes the id and drops the old package's settings, kv data and $PLUGIN_DATA
expect 0 "^replaced acme-hello 1.5.0: its settings and kv data were dropped" -- "$bin" plugin install "$tmp/evil.tgz" --replace
expect 0 "^acme +1.0.0" -- "$bin" plugin list
out=$("$bin" plugin config acme 2>&1)
if grep -q token <<<"$out"; then bad "the takeover inherited the setting: $out"; else ok; fi
if [ -e "$AIRLOCK_HOME/data/acme" ]; then bad "the takeover inherited \$PLUGIN_DATA"; else ok; fi
expect 0 "removed acme" -- "$bin" plugin remove acme

# issue 16 item 7: signatures. npm's registry signature (ECDSA P-256 over
# "name@version:integrity", keys in a {keys:[...]} document) with a key pair made here; a
# stand-in npm answers pack, view and config; publisher signatures made with ssh-keygen.
if command -v openssl >/dev/null && command -v ssh-keygen >/dev/null; then
  s=$tmp/sig
  mkdir -p "$s"
  cp "$tmp/hello.tgz" "$s/hello-1.0.0.tgz"
  integ="sha512-$(openssl dgst -sha512 -binary "$s/hello-1.0.0.tgz" | base64 -w0)"
  rx() { sed 's/[][\\.*^$+?(){}|]/\\&/g' <<<"$1"; } # base64 and paths as a literal regex
  integ_rx=$(rx "$integ")
  for k in k1 k2; do
    openssl ecparam -genkey -name prime256v1 -noout -out "$s/$k.pem" 2>/dev/null
    openssl ec -in "$s/$k.pem" -pubout -outform DER 2>/dev/null | base64 -w0 >"$s/$k.pub64"
  done
  keys() { # keys FILE EXPIRES(json): k1 with that expiry, k2 never expiring
    printf '{"keys":[{"expires":%s,"keyid":"SHA256:k1","keytype":"ecdsa-sha2-nistp256","scheme":"ecdsa-sha2-nistp256","key":"%s"},{"expires":null,"keyid":"SHA256:k2","keytype":"ecdsa-sha2-nistp256","scheme":"ecdsa-sha2-nistp256","key":"%s"}]}' \
      "$2" "$(cat "$s/k1.pub64")" "$(cat "$s/k2.pub64")" >"$1"
  }
  keys "$s/keys.json" null
  keys "$s/keys-expired.json" '"2020-01-01T00:00:00.000Z"'
  sign() { printf '%s' "$2" | openssl dgst -sha256 -sign "$s/$1.pem" | base64 -w0; }
  view() { # view FILE KEYID SIG [INTEGRITY]: what npm view hello@1.0.0 dist time --json prints
    printf '{"dist":{"integrity":"%s","shasum":"x","tarball":"https://r/hello-1.0.0.tgz","signatures":[{"keyid":"%s","sig":"%s"}]},"time":{"created":"2023-01-01T00:00:00.000Z","1.0.0":"2024-12-13T09:43:47.367Z"}}\n' \
      "${4:-$integ}" "$2" "$3" >"$1"
  }
  view "$s/good.json" SHA256:k1 "$(sign k1 "hello@1.0.0:$integ")"
  view "$s/tampered.json" SHA256:k1 "$(sign k1 "hello@1.0.0:sha512-AAAA")" sha512-AAAA
  view "$s/wrongkey.json" SHA256:k1 "$(sign k2 "hello@1.0.0:$integ")"
  view "$s/unknown.json" SHA256:nope "$(sign k1 "hello@1.0.0:$integ")"
  printf '{"dist":{"integrity":"%s"},"time":{"1.0.0":"2024-12-13T09:43:47.367000+00:00"}}\n' "$integ" >"$s/none.json"
  cat >"$s/npm" <<'SH'
#!/usr/bin/env bash
# a registry in three answers: npm pack, npm view NAME@VERSION dist time --json, npm config get registry
case "$1" in
  pack) cp "$SIG_DIR/hello-1.0.0.tgz" "$5/"
        printf '[{"id":"hello@1.0.0","name":"hello","version":"1.0.0","filename":"hello-1.0.0.tgz","integrity":"%s"}]\n' "$SIG_INTEG" ;;
  view) [ "$2 $3 $4 $5" = "hello@1.0.0 dist time --json" ] || { echo "bad view args: $*" >&2; exit 9; }
        cat "$SIG_VIEW" ;;
  config) echo "http://127.0.0.1:9/" ;;
  *) exit 9 ;;
esac
SH
  chmod +x "$s/npm"
  export AIRLOCK_NPM="$s/npm" SIG_DIR="$s" SIG_INTEG="$integ"
  inst() { env SIG_VIEW="$s/$1.json" "$bin" plugin install npm:hello@1.0.0 "${@:2}"; }
  # a good registry signature verifies, is recorded and shown
  expect 0 "registry signature: verified \(key SHA256:k1\)" -- inst good --registry-keys "$s/keys.json" --require-signature registry
  expect 0 "registry signature: verified \(key SHA256:k1\)" -- "$bin" plugin info hello
  expect 0 "integrity: $integ_rx" -- "$bin" plugin info hello
  expect 0 "publisher signature: none given" -- "$bin" plugin info hello
  if "$bin" plugin info hello --json | jq -e --arg i "$integ" '.verification | .integrity == $i and .registry.status == "verified" and .registry.keyid == "SHA256:k1" and .publisher.status == "none" and .required == "registry"' >/dev/null; then ok; else bad "info --json: verification record"; "$bin" plugin info hello --json; fi
  expect 0 "registry signature verified; publisher signature none" -- "$bin" plugin audit --recent 1
  expect 0 "removed hello" -- "$bin" plugin remove hello
  # the keys document from the environment
  expect 0 "registry signature: verified" -- env AIRLOCK_NPM_KEYS="$s/keys.json" bash -c "SIG_VIEW='$s/good.json' '$bin' plugin install hello@1.0.0 --require-signature any"
  expect 0 "removed hello" -- "$bin" plugin remove hello
  # each failure refuses when required and leaves nothing; it is reported when not
  for c in "tampered:bad-signature:bad signature: key SHA256:k1 did not sign hello@1.0.0:$integ_rx .*dist.integrity sha512-AAAA is not the tarball's" \
           "wrongkey:bad-signature:bad signature: key SHA256:k1 did not sign" \
           "unknown:unknown-key:signed with key SHA256:nope, which is not among the registry's keys" \
           "good-expired:expired-key:key SHA256:k1 expired 2020-01-01T00:00:00.000Z, before 1.0.0 was published \(2024-12-13T09:43:47.367Z\)"; do
    IFS=: read -r v problem msg <<<"$c"
    kf=$s/keys.json; [ "$v" = good-expired ] && { v=good; kf=$s/keys-expired.json; }
    expect 1 "^error: INVALID_ARGUMENT: a registry signature is required \(registry\) but $msg.*Refused: nothing was installed" -- inst "$v" --registry-keys "$kf" --require-signature registry
    packages_are ""
    expect 1 "a signature is required \(any\) but none verified: registry: .*$msg" -- inst "$v" --registry-keys "$kf" --require-signature any
    packages_are ""
    expect 0 "registry signature: NOT VERIFIED \($problem\): $msg" -- inst "$v" --registry-keys "$kf"
    expect 0 "registry signature: NOT VERIFIED \($problem\)" -- "$bin" plugin info hello
    expect 0 "removed hello" -- "$bin" plugin remove hello
  done
  # no signature offered (old packages, mirrors): installs unless one is required
  expect 0 "registry signature: none offered" -- inst none
  expect 0 "registry signature: none offered" -- "$bin" plugin info hello
  expect 0 "removed hello" -- "$bin" plugin remove hello
  expect 1 "a registry signature is required \(registry\) but no signature was offered: none offered\. Refused: nothing was installed" -- inst none --require-signature registry
  packages_are ""
  expect 1 "a registry signature is required \(registry\)" -- env AIRLOCK_REQUIRE_SIGNATURE=registry bash -c "SIG_VIEW='$s/none.json' '$bin' plugin install hello@1.0.0 --require-signature none"
  packages_are ""
  expect 2 "AIRLOCK_REQUIRE_SIGNATURE: 'sometimes' is not a signature requirement" -- env AIRLOCK_REQUIRE_SIGNATURE=sometimes "$bin" plugin install hello
  # a signature offered with no keys to check it: the keys fetch names why (this registry
  # is a loopback address, which the fetch refuses)
  expect 1 "a registry signature is required \(registry\) but the registry's keys could not be obtained: .*127.0.0.1" -- env -u AIRLOCK_NPM_KEYS bash -c "SIG_VIEW='$s/good.json' '$bin' plugin install hello@1.0.0 --require-signature registry"
  packages_are ""
  expect 1 "cannot read the registry keys file $s/nope.json" -- inst good --registry-keys "$s/nope.json"

  # publisher signatures: ssh-keygen -Y sign -n airlock-package over the tarball
  ssh-keygen -q -t ed25519 -N '' -C alice -f "$s/alice" && ssh-keygen -q -t ed25519 -N '' -C mallory -f "$s/mallory"
  printf 'alice@example.com namespaces="airlock-package" %s\n' "$(cat "$s/alice.pub")" >"$s/allowed"
  fp=$(ssh-keygen -lf "$s/alice.pub" | awk '{print $2}')
  fp_rx=$(rx "$fp")
  cp "$tmp/hello.tgz" "$s/pub.tgz"
  ssh-keygen -q -Y sign -f "$s/alice" -n airlock-package "$s/pub.tgz" 2>/dev/null
  cp "$s/pub.tgz" "$s/other.tgz" && printf 'x' >>"$s/other.tgz"
  ssh-keygen -q -Y sign -f "$s/alice" -n airlock-package "$s/other.tgz" 2>/dev/null
  cp "$s/pub.tgz" "$s/ns.tgz" && ssh-keygen -q -Y sign -f "$s/alice" -n file "$s/ns.tgz" 2>/dev/null
  cp "$s/pub.tgz" "$s/mal.tgz" && ssh-keygen -q -Y sign -f "$s/mallory" -n airlock-package "$s/mal.tgz" 2>/dev/null
  expect 0 "publisher signature: verified: alice@example.com \(ED25519 key $fp_rx\)" -- "$bin" plugin install "$s/pub.tgz" --signature "$s/pub.tgz.sig" --signers "$s/allowed" --require-signature publisher
  expect 0 "publisher signature: verified: alice@example.com \(ED25519 key $fp_rx\)" -- "$bin" plugin info hello
  expect 0 "registry signature: not applicable: installed from a tarball file" -- "$bin" plugin info hello
  if "$bin" plugin info hello --json | jq -e --arg f "$fp" '.verification.publisher | .status == "verified" and .identity == "alice@example.com" and .fingerprint == $f' >/dev/null; then ok; else bad "info --json: publisher record"; fi
  expect 0 "removed hello" -- "$bin" plugin remove hello
  expect 0 "publisher signature: verified: alice@example.com" -- "$bin" plugin install "$s/pub.tgz" --signature "$s/pub.tgz.sig" --signers "$s/allowed" --signer-identity alice@example.com
  expect 0 "removed hello" -- "$bin" plugin remove hello
  # bad: another file's signature, another namespace, a key not allowed; wrong identity
  expect 1 "^error: INVALID_ARGUMENT: publisher signature: bad signature: ssh-keygen could not verify .*other.tgz.sig for 'alice@example.com'.*Refused: nothing was installed" -- "$bin" plugin install "$s/pub.tgz" --signature "$s/other.tgz.sig" --signers "$s/allowed"
  expect 1 "publisher signature: bad signature" -- "$bin" plugin install "$s/pub.tgz" --signature "$s/ns.tgz.sig" --signers "$s/allowed"
  expect 1 "publisher signature: no key in $s/allowed made the signature" -- "$bin" plugin install "$s/pub.tgz" --signature "$s/mal.tgz.sig" --signers "$s/allowed"
  expect 1 "publisher signature: wrong identity: the signature is by 'alice@example.com', not by 'bob@example.com'" -- "$bin" plugin install "$s/pub.tgz" --signature "$s/pub.tgz.sig" --signers "$s/allowed" --signer-identity bob@example.com
  packages_are ""
  # required but missing; a directory cannot carry one
  expect 1 "a publisher signature is required \(publisher\) but none was given.*Refused: nothing was installed" -- "$bin" plugin install "$s/pub.tgz" --require-signature publisher
  expect 1 "a signature is required \(any\) but none verified: registry: not applicable: installed from a tarball file; publisher: none given" -- "$bin" plugin install "$s/pub.tgz" --require-signature any
  expect 1 "a registry signature is required \(registry\) but only packages fetched by name from npm have one" -- "$bin" plugin install "$s/pub.tgz" --signature "$s/pub.tgz.sig" --signers "$s/allowed" --require-signature registry
  expect 1 "a directory cannot carry a publisher signature" -- "$bin" plugin install "$tmp/hello" --signature "$s/pub.tgz.sig" --signers "$s/allowed"
  expect 1 "a publisher signature is required \(publisher\) but none was given \(a directory carries no signature\)" -- "$bin" plugin install "$tmp/hello" --require-signature publisher
  packages_are ""
  expect 2 "--signature SIG and --signers ALLOWED_SIGNERS go together" -- "$bin" plugin install "$s/pub.tgz" --signature "$s/pub.tgz.sig"
  expect 1 "cannot read the signature file $s/nope.sig" -- "$bin" plugin install "$s/pub.tgz" --signature "$s/nope.sig" --signers "$s/allowed"
  # both on an npm package: the publisher signs the very tarball the registry serves
  ssh-keygen -q -Y sign -f "$s/alice" -n airlock-package "$s/hello-1.0.0.tgz" 2>/dev/null
  expect 0 "publisher signature: verified: alice@example.com" -- inst good --registry-keys "$s/keys.json" --signature "$s/hello-1.0.0.tgz.sig" --signers "$s/allowed" --require-signature registry --require-signature publisher
  expect 0 "registry signature: verified" -- "$bin" plugin info hello
  if "$bin" plugin info hello --json | jq -e '.verification.required == "registry+publisher"' >/dev/null; then ok; else bad "both required recorded"; fi
  expect 0 "removed hello" -- "$bin" plugin remove hello
  unset AIRLOCK_NPM SIG_DIR SIG_INTEG
fi

# audit: reads <home>/audit.jsonl, newest first
cat >"$AIRLOCK_HOME/audit.jsonl" <<'JSONL'
{"timestamp":"2026-01-01T00:00:00.000001Z","plugin_id":"a","action":"network","resource":"https://x.com/","decision":"denied","reason":"Denied by default"}
{"timestamp":"2026-01-01T00:00:01.000001Z","plugin_id":"b","action":"kv","resource":"k","decision":"allowed","reason":"Allowed by plugin allow list"}
JSONL
out=$("$bin" plugin audit 2>&1)
if [ "$(head -1 <<<"$out" | grep -c 'Allowed by plugin allow list')" = 1 ] && grep -q 'Denied by default' <<<"$out"; then ok; else bad "audit order: $out"; fi
expect 0 '^\[' -- "$bin" plugin audit --json
out=$("$bin" plugin audit --recent 1 2>&1)
if [ "$(wc -l <<<"$out")" = 1 ] && grep -q '"*b' <<<"$out"; then ok; else bad "audit --recent 1: $out"; fi
expect 2 "--recent needs a count" -- "$bin" plugin audit --recent x

# a package's own text is escaped on the terminal (issue 16 item 5): a kv key in the
# audit trail and the manifest's title and description carry ESC, CR and a right-to-left
# override; --json keeps them exactly
printf '%s\n' '{"timestamp":"2026-01-01T00:00:02.000001Z","plugin_id":"c","action":"kv","resource":"key\u001b[2J\r\u202e","decision":"denied","reason":"Denied by default"}' >>"$AIRLOCK_HOME/audit.jsonl"
"$bin" plugin audit --recent 1 >"$tmp/esc.out" 2>&1
if ! LC_ALL=C grep -qP '\x1b|\r|\xe2\x80\xae' "$tmp/esc.out" && grep -qF 'key\x1b[2J\x0d\u202e  (Denied by default)' "$tmp/esc.out"; then ok; else bad "audit: resource not escaped"; cat -v "$tmp/esc.out"; fi
mkdir -p "$tmp/shout"
printf '%s\n' '{"id": "shout", "version": "1.0.0", "title": "Sh\u001b]0;pwned\u0007out", "description": "d\r\u202eesc"}' >"$tmp/shout/airlock.json"
printf 'pi.on("SessionStart", () => {});\n' >"$tmp/shout/index.js"
expect 0 "installed shout" -- "$bin" plugin install "$tmp/shout"
"$bin" plugin info shout >"$tmp/esc.out" 2>&1
if ! LC_ALL=C grep -qP '\x1b|\r|\x07|\xe2\x80\xae' "$tmp/esc.out" && grep -qF 'title         Sh\x1b]0;pwned\x07out' "$tmp/esc.out" &&
   grep -qF 'description   d\x0d\u202eesc' "$tmp/esc.out"; then ok; else bad "info: title or description not escaped"; cat -v "$tmp/esc.out"; fi
if "$bin" plugin info shout --json | node -e '
  const d = JSON.parse(require("fs").readFileSync(0, "utf8"));
  if (d.manifest.title !== "Sh\u001b]0;pwned\u0007out" || d.manifest.description !== "d\r\u202eesc") throw new Error(JSON.stringify(d.manifest));
'; then ok; else bad "info --json keeps the manifest's text exactly"; fi
expect 0 "removed shout" -- "$bin" plugin remove shout

# doctor: a package whose directory vanished is a problem --fix resolves; kill switches
expect 0 "installed hello" -- "$bin" plugin install "$tmp/hello"
rm -rf "$AIRLOCK_HOME/packages/hello"
mkdir -p "$AIRLOCK_HOME/packages/.staging-leftover"
expect 1 "FAIL +package hello +directory .* is missing \(--fix removes the record\)" -- "$bin" plugin doctor
expect 0 "FIXED +package hello" -- "$bin" plugin doctor --fix
expect 0 "0 problems" -- "$bin" plugin doctor
packages_are ""
expect 0 "no plugins installed" -- "$bin" plugin list
expect 0 "in effect: AIRLOCK_DISABLE_PLUGINS AIRLOCK_FORCE_DENY" -- env AIRLOCK_DISABLE_PLUGINS=1 AIRLOCK_FORCE_DENY=TRUE "$bin" plugin doctor
expect 0 '"ok": true' -- "$bin" plugin doctor --json

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
