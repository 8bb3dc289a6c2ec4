# atp backtest: a hand-checkable golden scenario, output files, a parameter grid, bad input.
source "$(dirname "$0")/lib.sh"
D=tests/data/cli

# cross.csv: closes 1000 1000 1000 900 900 1200 1300 1100 800 800 (opens = close + 1).
# sma_crossover(2,3): SMA2 crosses above SMA3 on bar 6 (10.5 > 10 after 9 < 9.33) and below on
# bar 9 (9.5 < 10.67 after 12 == 12 and 12.5 > 11.33). No slippage, no commission, 4 shares.
#   --fill next_open: buy at bar 7's open 1301, sell at bar 10's open 801: pnl 4 x -500 = -2000
#   --fill close:     buy at bar 6's close 1200, sell at bar 9's close 800: pnl 4 x -400 = -1600
#                     (stamped with the close's place on the bar's path: 09:15 + 3/4 of the
#                     session = 13:56:15, see docs/backtest.md)
common=(--data $D/cross.csv --symbol TCS --strategy sma_crossover --param fast=2 --param slow=3
        --qty 4 --slippage 0% --commission 0%)
expect_status "next_open" 0 "$ATP" backtest "${common[@]}" --trades "$TMP/t1.csv" --json "$TMP/r1.json"
expect_eq "next_open trades" 'symbol,side,qty,entry_time,entry_price,exit_time,exit_price,pnl,pnl_pct,charges,holding_bars
TCS,long,4,2026-01-13T09:15:00+05:30,1301,2026-01-16T09:15:00+05:30,801,-2000,-38.4319754035357,0,3' "$(cat "$TMP/t1.csv")"
grep -q '"final_equity": 98000' "$TMP/r1.json" && ok || bad "final equity 100000 - 2000"
grep -q '"trades": 1,' "$TMP/r1.json" && ok || bad "one trade in the metrics"
grep -q '"losing_trades": 1,' "$TMP/r1.json" && ok || bad "one losing trade"
grep -q '"equity_curve": \[' "$TMP/r1.json" && ok || bad "equity curve present"
expect_eq "ten equity points" "10" "$(grep -c '"drawdown_pct"' "$TMP/r1.json")"

expect_status "close" 0 "$ATP" backtest "${common[@]}" --fill close --trades "$TMP/t2.csv"
expect_eq "close trades" 'TCS,long,4,2026-01-12T13:56:15+05:30,1200,2026-01-15T13:56:15+05:30,800,-1600,-33.3333333333333,0,3' "$(tail -1 "$TMP/t2.csv")"

# An open position at the end stays open (exit empty), valued at the last close (1100):
# 4 x (1100 - 1301) = -804, held 1 bar after the entry bar.
expect_status "open at end" 0 "$ATP" backtest "${common[@]}" --to 2026-01-14 --trades "$TMP/t3.csv" --json "$TMP/r3.json"
expect_eq "open trade" 'TCS,long,4,2026-01-13T09:15:00+05:30,1301,,,-804,-15.4496541122214,0,1' "$(tail -1 "$TMP/t3.csv")"
grep -q '"exit_time": null' "$TMP/r3.json" && ok || bad "open trade has exit_time null"

# Indian charges make the same trade cost more than nothing.
expect_status "india charges alone" 0 "$ATP" backtest --data $D/cross.csv --symbol TCS --strategy sma_crossover --param fast=2 --param slow=3 --qty 4 --charges india --json "$TMP/r4.json"
grep -qE '"total_charges": [1-9]' "$TMP/r4.json" && ok || bad "charges counted"

# The HTML report is self-contained: the chart library is inlined, no remote script.
expect_status "report" 0 "$ATP" backtest "${common[@]}" --report "$TMP/r.html"
grep -q "LightweightCharts" "$TMP/r.html" && ok || bad "library inlined"
grep -q '<script src=' "$TMP/r.html" && bad "no external scripts" || ok

# A grid runs every combination and prints a table sorted by the metric.
expect_status "grid" 0 "$ATP" backtest --data $D/daily.csv --symbol RELIANCE --strategy sma_crossover --param fast=3:9:2 --param slow=15:25:5 --qty 10 --sort total_return_pct
expect_eq "grid rows" "13" "$(wc -l <"$TMP/out" | tr -d ' ')"
sort -t' ' -k1 "$TMP/out" >/dev/null
awk 'NR > 1 { v = $(NF); if (NR > 2 && v > prev + 1e-9) bad = 1; prev = v } END { exit bad }' "$TMP/out" && ok || bad "grid sorted by the metric, best first"

# Determinism: the same run twice gives the same JSON.
"$ATP" backtest --data $D/daily.csv --symbol RELIANCE --strategy ema_crossover --qty 5 --json "$TMP/d1.json" >/dev/null
"$ATP" backtest --data $D/daily.csv --symbol RELIANCE --strategy ema_crossover --qty 5 --json "$TMP/d2.json" >/dev/null
cmp -s "$TMP/d1.json" "$TMP/d2.json" && ok || bad "same input, same output"

# An entry needing more cash than the account has is rejected with a reason, not shrunk:
# 1000 shares at 1301 need 13,01,000 against 1,00,000 of capital.
expect_status "insufficient funds" 0 "$ATP" backtest --data $D/cross.csv --symbol TCS --strategy sma_crossover --param fast=2 --param slow=3 --qty 1000 --json "$TMP/r5.json"
grep -q '"trades": 0,' "$TMP/r5.json" && ok || bad "no trade when the funds do not allow it"
grep -q '"final_equity": 100000,' "$TMP/r5.json" && ok || bad "equity untouched"

# Bad input.
expect_status "unknown strategy" 2 "$ATP" backtest --data $D/cross.csv --strategy nosuch
expect_err_contains "unknown strategy named" "nosuch"
expect_status "bad param" 2 "$ATP" backtest --data $D/cross.csv --symbol TCS --strategy sma_crossover --param fast=0
expect_err_contains "bad param named" "fast"
expect_status "time_window without stop" 2 "$ATP" backtest --data $D/cross.csv --symbol TCS --strategy time_window
expect_err_contains "stop-loss mandatory" "stop-loss"
printf 'date,open,high,low,close,volume\n2026-01-06,10,11,9,10,1\n2026-01-05,10,11,9,10,1\n' >"$TMP/unsorted.csv"
expect_status "unsorted dates" 2 "$ATP" backtest --data "$TMP/unsorted.csv" --symbol X --strategy sma_crossover
expect_err_contains "unsorted names the line" "unsorted.csv:3"
printf 'date,open,high,low,volume\n2026-01-05,10,11,9,1\n' >"$TMP/noclose.csv"
expect_status "missing column" 2 "$ATP" backtest --data "$TMP/noclose.csv" --symbol X --strategy sma_crossover
expect_err_contains "missing column named" "close"
printf 'date,open,high,low,close,volume\n2026-01-05,10,11,9,abc,1\n' >"$TMP/nan.csv"
expect_status "non-numeric price" 2 "$ATP" backtest --data "$TMP/nan.csv" --symbol X --strategy sma_crossover
expect_err_contains "non-numeric names the line" "nan.csv:2"
expect_status "bad fill" 2 "$ATP" backtest --data $D/cross.csv --strategy sma_crossover --fill tomorrow
expect_status "bad sizing" 2 "$ATP" backtest --data $D/cross.csv --strategy sma_crossover --sizing 10

finish
