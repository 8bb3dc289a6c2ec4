# atp indicator: values over a tiny daily file worked out by hand, output shapes, bad input.
source "$(dirname "$0")/lib.sh"
D=tests/data/cli

# closes 101 103 105 102 99: SMA(3) = -, -, 103, 103.333333333333, 102
expect_status "sma 3" 0 "$ATP" indicator --data $D/daily_tiny.csv --name sma --param period=3
expect_eq "sma 3 values" 'time,value
2026-01-05,
2026-01-06,
2026-01-07,103
2026-01-08,103.333333333333
2026-01-09,102' "$(cat "$TMP/out")"

# EMA(3), k = 0.5, seeded with SMA(3) = 103: then 0.5*102 + 0.5*103 = 102.5, 0.5*99 + 0.5*102.5 = 100.75
expect_status "ema 3" 0 "$ATP" indicator --data $D/daily_tiny.csv --name ema --param period=3
expect_eq "ema 3 values" 'time,value
2026-01-05,
2026-01-06,
2026-01-07,103
2026-01-08,102.5
2026-01-09,100.75' "$(cat "$TMP/out")"

expect_status "macd header" 0 "$ATP" indicator --data $D/daily.csv --name macd
expect_eq "macd header" "time,macd,signal,hist" "$(head -1 "$TMP/out")"
expect_eq "macd one row per bar" "81" "$(wc -l <"$TMP/out" | tr -d ' ')"
# TA-Lib's MACD(12,26,9) lookback is 33: rows 1..33 empty, row 34 complete.
expect_eq "macd warm-up" "2025-10-15,,," "$(sed -n 34p "$TMP/out")"
sed -n 35p "$TMP/out" | grep -qE '^2025-10-16,-?[0-9.e-]+,-?[0-9.e-]+,-?[0-9.e-]+$' && ok || bad "macd first value row: $(sed -n 35p "$TMP/out")"

expect_status "bbands header" 0 "$ATP" indicator --data $D/daily.csv --name bbands --param period=20 --param stddev=2
expect_eq "bbands header" "time,upper,middle,lower" "$(head -1 "$TMP/out")"

expect_status "json" 0 "$ATP" indicator --data $D/daily_tiny.csv --name sma --param period=3 --format json
json=$(tr -d ' \n' <"$TMP/out")
expect_eq "json rows" '[{"time":"2026-01-05","value":null},{"time":"2026-01-06","value":null},{"time":"2026-01-07","value":103.0},{"time":"2026-01-08","value":103.333333333333},{"time":"2026-01-09","value":102.0}]' "$json"

# Weekly-ish aggregation is not a timeframe; 1d over daily bars is the identity.
expect_status "tf 1d on daily" 0 "$ATP" indicator --data $D/daily_tiny.csv --name sma --param period=3 --tf 1d
expect_eq "tf 1d identity" "2026-01-09,102" "$(tail -1 "$TMP/out")"
expect_status "tf finer than data" 2 "$ATP" indicator --data $D/daily_tiny.csv --name sma --tf 5m

expect_status "unknown indicator" 2 "$ATP" indicator --data $D/daily_tiny.csv --name nosuch
expect_err_contains "unknown indicator named" "nosuch"
expect_one_line_err "unknown indicator: one line"
expect_status "bad param value" 2 "$ATP" indicator --data $D/daily_tiny.csv --name sma --param period=0
expect_err_contains "bad param named" "period"
expect_status "unknown param" 2 "$ATP" indicator --data $D/daily_tiny.csv --name rsi --param length=14
expect_err_contains "unknown param named" "length"
expect_status "malformed param" 2 "$ATP" indicator --data $D/daily_tiny.csv --name rsi --param period
printf 'Date,Open,High,Low,Close,Volume\n2026-01-05,100,102,99,101,10\n2026-01-06,100,99,98,99,10\n' >"$TMP/bad_hl.csv"
expect_status "high below open" 2 "$ATP" indicator --data "$TMP/bad_hl.csv" --name sma --param period=2
expect_err_contains "bad row line" "bad_hl.csv:3"
expect_err_contains "bad row field" "high"
printf 'Date,Open,High,Low,Close,Volume\n2026-01-05,100,102,99,101,10\n2026-01-06,null,null,null,null,null\n' >"$TMP/null.csv"
expect_status "yahoo null row" 2 "$ATP" indicator --data "$TMP/null.csv" --name sma
expect_err_contains "null row line" "null.csv:3"
printf 'Date,Open,High,Low,Volume\n2026-01-05,100,102,99,10\n' >"$TMP/noclose.csv"
expect_status "missing close" 2 "$ATP" indicator --data "$TMP/noclose.csv" --name sma
expect_err_contains "missing close named" "close"

finish
