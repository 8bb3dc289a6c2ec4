# Shared helpers for the command-line contract tests. Each test script sources this file and is
# run by ctest as `bash tests/cli/test_X.sh path/to/atp` from the repository root.
set -u
ATP=${1:?usage: test_X.sh path/to/atp}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*" >&2; }

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
  if [ "$2" == "$3" ]; then ok; else bad "$1"; diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") >&2; fi
}

# expect_status NAME STATUS CMD... : runs CMD, checks its exit status; stdout/stderr in $TMP/out, $TMP/err
expect_status() {
  local name=$1 want=$2
  shift 2
  "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "$name: exit $got, expected $want"; cat "$TMP/err" >&2; fi
}

# expect_err_contains NAME TEXT : the last command's stderr contains TEXT
expect_err_contains() {
  if grep -qF -- "$2" "$TMP/err"; then ok; else bad "$1: stderr lacks '$2'"; cat "$TMP/err" >&2; fi
}

# expect_one_line_err NAME : the last command's stderr is exactly one line
expect_one_line_err() {
  local n
  n=$(wc -l <"$TMP/err")
  if [ "$n" -eq 1 ]; then ok; else bad "$1: stderr has $n lines, expected 1"; cat "$TMP/err" >&2; fi
}

finish() {
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
}
