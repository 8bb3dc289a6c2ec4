# atp simulate: deterministic for a seed, in session hours, on tick size; its output feeds candles.
source "$(dirname "$0")/lib.sh"

expect_status "simulate" 0 "$ATP" simulate --symbols RELIANCE,TCS --seed 42 --from 2026-01-05 --days 2 --out "$TMP/a.csv"
expect_status "simulate again" 0 "$ATP" simulate --symbols RELIANCE,TCS --seed 42 --from 2026-01-05 --days 2 --out "$TMP/b.csv"
expect_status "simulate other seed" 0 "$ATP" simulate --symbols RELIANCE,TCS --seed 43 --from 2026-01-05 --days 2 --out "$TMP/c.csv"
cmp -s "$TMP/a.csv" "$TMP/b.csv" && ok || bad "same seed gives identical files"
cmp -s "$TMP/a.csv" "$TMP/c.csv" && bad "another seed gives another file" || ok
expect_eq "header" "timestamp,symbol,ltp,qty,volume,bid,ask" "$(head -1 "$TMP/a.csv")"
rows=$(($(wc -l <"$TMP/a.csv") - 1))
[ "$rows" -gt 1000 ] && ok || bad "two days of two symbols give more than 1000 ticks ($rows)"
# Every tick on 5 or 6 January 2026 between 09:15 and 15:30 IST, both symbols present.
awk -F, 'NR > 1 && !($1 ~ /^2026-01-0[56]T(09:(1[5-9]|[2-5][0-9])|1[0-4]:[0-5][0-9]|15:([01][0-9]|2[0-9])):/) { bad++ } END { exit bad > 0 }' "$TMP/a.csv" && ok || bad "ticks only inside the session"
grep -q ',RELIANCE,' "$TMP/a.csv" && grep -q ',TCS,' "$TMP/a.csv" && ok || bad "both symbols simulated"
# Prices on RELIANCE's tick size (0.1 or finer: at most 2 decimals) and positive.
awk -F, 'NR > 1 && ($3 <= 0 || $3 ~ /\.[0-9][0-9][0-9]/) { bad++ } END { exit bad > 0 }' "$TMP/a.csv" && ok || bad "prices positive and on tick size"

expect_status "candles of simulated ticks" 0 "$ATP" candles --data "$TMP/a.csv" --tf 1d
expect_eq "two days x two symbols" "5" "$(wc -l <"$TMP/out" | tr -d ' ')"
expect_status "15m candles" 0 "$ATP" candles --data "$TMP/a.csv" --tf 15m --symbol TCS
expect_eq "25 quarter-hours a day" "51" "$(wc -l <"$TMP/out" | tr -d ' ')"

expect_status "unknown symbol" 2 "$ATP" simulate --symbols RELIANCE,NOPE --days 1 --out "$TMP/x.csv"
expect_err_contains "unknown symbol named" "NOPE"
expect_status "bad days" 2 "$ATP" simulate --symbols RELIANCE --days 0
expect_status "bad date" 2 "$ATP" simulate --symbols RELIANCE --from 2026-02-30
expect_status "no symbols" 2 "$ATP" simulate --days 1

finish
