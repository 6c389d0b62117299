# check.sh: sourced by the CLI test scripts that name each check (test_hooks_cli.sh,
# test_pi_ext.sh, test_pi_install.sh). Counts failures in $fails; the script ends with
# its own summary and exits non-zero when any check failed.
fails=0
# check NAME EXPECTED ACTUAL [PATTERN OUTPUT]: ACTUAL must equal EXPECTED (an exit status
# or a value), and OUTPUT, when given, must match the grep PATTERN.
check() {
  if [ "$2" != "$3" ]; then echo "FAIL $1: exit $3, expected $2"; [ $# -ge 5 ] && echo "$5"; fails=$((fails + 1)); return; fi
  if [ $# -ge 5 ] && ! grep -q -- "$4" <<<"$5"; then echo "FAIL $1: output lacks '$4':"; echo "$5"; fails=$((fails + 1)); return; fi
  echo "PASS $1"
}
# jget EXPR: EXPR (Python, over the JSON on stdin as d) printed as JSON. jq is not
# everywhere; python3 is.
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print(json.dumps(eval(sys.argv[1])))" "$1"; }
