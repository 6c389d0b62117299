# expect.sh: sourced by the CLI test scripts. Counts checks in $pass and $fail; the script
# ends with `echo "$pass passed, $fail failed"` and fails when any check did.
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect STATUS PATTERN -- cmd...: runs cmd, checks exit status and that stdout+stderr match
expect() {
  local want=$1 pat=$2
  shift 3
  local out st
  out=$("$@" 2>&1)
  st=$?
  if [ "$st" -ne "$want" ]; then bad "exit $st (want $want): $*"; echo "$out" | head -20; return; fi
  if ! grep -qE -- "$pat" <<<"$out"; then bad "no /$pat/ in output of: $*"; echo "$out" | head -20; return; fi
  ok
}
