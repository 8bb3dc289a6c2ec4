# atp --help, --version, per-command help, unknown commands and flags.
source "$(dirname "$0")/lib.sh"

expect_status "version" 0 "$ATP" --version
grep -qE '^atp [0-9]+\.[0-9]+\.[0-9]+$' "$TMP/out" && ok || bad "version format: $(cat "$TMP/out")"

expect_status "help" 0 "$ATP" --help
cp "$TMP/out" "$TMP/help"
for cmd in demo candles indicator indicators simulate calendar instruments backtest strategies migrate user serve bench; do
  grep -q "^  $cmd " "$TMP/help" && ok || bad "--help lists $cmd"
  expect_status "$cmd --help" 0 "$ATP" "$cmd" --help
  grep -q "usage: atp $cmd" "$TMP/out" && ok || bad "$cmd --help shows its usage"
done

expect_status "no command" 2 "$ATP"
expect_status "unknown command" 2 "$ATP" frobnicate
expect_err_contains "unknown command names it" "unknown command 'frobnicate'"
expect_status "unknown flag" 2 "$ATP" candles --bogus
expect_err_contains "unknown flag names it" "--bogus"
expect_one_line_err "unknown flag: one line"

finish
