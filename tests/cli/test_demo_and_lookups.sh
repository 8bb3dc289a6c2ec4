# atp demo runs and draws its table; instruments and calendar answer from the shipped data.
source "$(dirname "$0")/lib.sh"

expect_status "demo" 0 "$ATP" demo --symbols RELIANCE,TCS,NIFTY --speed 100 --duration 2.5 --from 2026-01-05
grep -q "ATP live market demo" "$TMP/out" && ok || bad "demo prints its header"
grep -qE '^RELIANCE +[0-9]+\.[0-9]{2} ' "$TMP/out" && ok || bad "demo shows a RELIANCE price row"
grep -qE '^NIFTY +[0-9]+\.[0-9]{2} ' "$TMP/out" && ok || bad "demo shows the index"
grep -q "demo stopped after" "$TMP/out" && ok || bad "demo stops cleanly"
expect_status "demo bad speed" 2 "$ATP" demo --speed 1000

expect_status "instrument by angel token" 0 "$ATP" instruments --broker angel --token 2885 --format json
grep -q '"symbol": "RELIANCE"' "$TMP/out" && ok || bad "angel 2885 is RELIANCE"
expect_status "instrument by kite token" 0 "$ATP" instruments --broker kite --token 738561
grep -q "^RELIANCE " "$TMP/out" && ok || bad "kite 738561 is RELIANCE"
expect_status "search" 0 "$ATP" instruments --search BANKNIFTY
grep -q "FUT" "$TMP/out" && ok || bad "BANKNIFTY futures listed"
expect_status "unknown token" 2 "$ATP" instruments --broker kite --token 1

expect_status "calendar holiday" 0 "$ATP" calendar --at 2026-01-26T10:00:00+05:30 --days 1
grep -q "market      closed" "$TMP/out" && ok || bad "Republic Day is closed"
grep -q "next open   2026-01-27T09:15:00+05:30" "$TMP/out" && ok || bad "next open after Republic Day"
expect_status "calendar open" 0 "$ATP" calendar --at 2026-01-27T10:00:00+05:30
grep -q "open (continuous session)" "$TMP/out" && ok || bad "open on a Tuesday morning"
expect_status "calendar bad time" 2 "$ATP" calendar --at yesterday

expect_status "catalog" 0 "$ATP" indicators --format json
for n in sma ema wma rsi macd bbands atr stoch adx vwap supertrend; do
  grep -q "\"name\": \"$n\"" "$TMP/out" && ok || bad "catalog lists $n"
done

finish
