# atp candles: exact bars from a hand-made tick file, JSON form, and bad input.
source "$(dirname "$0")/lib.sh"
D=tests/data/cli

# Hand-computed 5m bars of ticks_small.csv. The file's last row (09:24) is out of order: replay
# reads files in timestamp order, so it joins the 09:20 bar. RELIANCE's and TCS's 09:25 bars end
# together at 09:30 and come out in order of first appearance; the 09:30 bar completes at the end
# of the file. Row 5's timestamp is epoch milliseconds (09:26:30 IST).
expected='time,symbol,open,high,low,close,volume
2026-01-05T09:15:00+05:30,RELIANCE,1500,1502.5,1499,1499,22
2026-01-05T09:20:00+05:30,RELIANCE,1501,1600,1501,1600,103
2026-01-05T09:25:00+05:30,RELIANCE,1503.05,1503.05,1503.05,1503.05,2
2026-01-05T09:25:00+05:30,TCS,3200.1,3200.1,3200.1,3200.1,4
2026-01-05T09:30:00+05:30,RELIANCE,1498,1498,1498,1498,1'
expect_status "candles 5m" 0 "$ATP" candles --data $D/ticks_small.csv --tf 5m
expect_eq "candles 5m output" "$expected" "$(cat "$TMP/out")"

expect_status "candles --symbol" 0 "$ATP" candles --data $D/ticks_small.csv --tf 5m --symbol TCS
expect_eq "candles --symbol output" 'time,symbol,open,high,low,close,volume
2026-01-05T09:25:00+05:30,TCS,3200.1,3200.1,3200.1,3200.1,4' "$(cat "$TMP/out")"

expect_status "candles 1d" 0 "$ATP" candles --data $D/ticks_small.csv --tf 1d --symbol RELIANCE
expect_eq "candles 1d output" 'time,symbol,open,high,low,close,volume
2026-01-05T09:15:00+05:30,RELIANCE,1500,1600,1498,1498,128' "$(cat "$TMP/out")"

expect_status "candles json" 0 "$ATP" candles --data $D/ticks_small.csv --tf 1h --format json
json=$(tr -d ' \n' <"$TMP/out")
expect_eq "candles json" '[{"time":"2026-01-05T09:15:00+05:30","symbol":"RELIANCE","open":1500,"high":1600,"low":1498,"close":1498,"volume":128},{"time":"2026-01-05T09:15:00+05:30","symbol":"TCS","open":3200.1,"high":3200.1,"low":3200.1,"close":3200.1,"volume":4}]' "$json"

# Bad input: one line naming file, line and field; exit 2; nothing on stdout.
printf 'timestamp,symbol,ltp\n2026-01-05T09:15:00+05:30,RELIANCE,100\n2026-01-05T09:16:00+05:30,RELIANCE,abc\n' >"$TMP/bad_ltp.csv"
expect_status "malformed ltp" 2 "$ATP" candles --data "$TMP/bad_ltp.csv" --tf 1m
expect_err_contains "malformed ltp names file:line" "bad_ltp.csv:3"
expect_err_contains "malformed ltp names the field" "ltp"
expect_one_line_err "malformed ltp: one line"
[ ! -s "$TMP/out" ] && ok || bad "no partial output on bad input"

printf 'timestamp,symbol,ltp\n2026-01-05T09:15:00+05:30,NOSUCHCO,100\n' >"$TMP/bad_sym.csv"
expect_status "unknown symbol" 2 "$ATP" candles --data "$TMP/bad_sym.csv" --tf 1m
expect_err_contains "unknown symbol named" "NOSUCHCO"
expect_err_contains "unknown symbol line" "bad_sym.csv:2"

printf 'time,symbol,ltp\n' >"$TMP/bad_hdr.csv"
expect_status "missing column" 2 "$ATP" candles --data "$TMP/bad_hdr.csv" --tf 1m
expect_err_contains "missing column named" "timestamp"

printf 'timestamp,symbol,ltp\n2026-01-05 9:15,RELIANCE,100\n' >"$TMP/bad_ts.csv"
expect_status "bad timestamp" 2 "$ATP" candles --data "$TMP/bad_ts.csv" --tf 1m
expect_err_contains "bad timestamp line" "bad_ts.csv:2"

expect_status "unreadable file" 2 "$ATP" candles --data "$TMP/does_not_exist.csv" --tf 1m
expect_err_contains "unreadable file named" "does_not_exist.csv"
expect_status "bad tf" 2 "$ATP" candles --data $D/ticks_small.csv --tf 7m
expect_err_contains "bad tf named" "7m"
expect_status "missing --tf" 2 "$ATP" candles --data $D/ticks_small.csv
expect_status "bad --symbol" 2 "$ATP" candles --data $D/ticks_small.csv --tf 1m --symbol NOPE

finish
