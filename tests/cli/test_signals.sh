# One signal, many accounts (docs/api.md "Signals") over real HTTP on SQLite and PostgreSQL. A
# replay with one constant price (TCS at 100 every 10 s, played at speed 100), as in
# test_orders.sh, so every MARKET buy fills at 100.05 and every sell at 99.95. Checked: a signal
# on every owned account by default; each account's own risk gate (a HALTED kill switch fails that
# account only); listed accounts that are not the caller's fail as "not_found" whether they exist
# or not; closes sell the position and never go through zero; sizing by percent of equity in
# whole lots; an Idempotency-Key makes a retried signal place nothing twice; named errors;
# investors 403, anonymous 401; audit. Then the analytics of one account from the same fills.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"


CSV="$TMP/ticks.csv"
{
  echo "timestamp,symbol,ltp,qty"
  for k in $(seq 0 1200); do # 09:15:00 .. 12:35:00, every 10 s
    s=$((33300 + k * 10))
    printf '2024-01-02T%02d:%02d:%02d,TCS,100,10\n' $((s / 3600)) $((s / 60 % 60)) $((s % 60))
  done
} >"$CSV"

run_suite() { # run_suite DB LABEL
  local db=$1 L=$2
  start_server "$db" ATP_ADMIN_EMAIL="root-$L@example.com" ATP_ADMIN_PASSWORD="correct horse" \
    ATP_FEED="replay:$CSV" ATP_FEED_SPEED=100
  local alice="alice-$L@example.com" mallory="mallory-$L@example.com" ivan="ivan-$L@example.com"
  for who in "$alice" "$mallory"; do
    as "" POST /api/v1/auth/register "{\"email\":\"$who\",\"name\":\"T\",\"password\":\"correct horse\"}"
  done
  expect_status "$L: investor added" 0 env ATP_USER_PASSWORD="correct horse" "$ATP" user add --db "$db" \
    --email "$ivan" --role investor
  local at mt it
  at=$(token_of "$alice"); mt=$(token_of "$mallory"); it=$(token_of "$ivan")
  local a1 a2 a3 m1
  as "$at" POST /api/v1/accounts '{"name":"One"}'; a1=$(jget "d['id']")
  as "$at" POST /api/v1/accounts '{"name":"Two"}'; a2=$(jget "d['id']")
  as "$at" POST /api/v1/accounts '{"name":"Three"}'; a3=$(jget "d['id']")
  as "$mt" POST /api/v1/accounts '{"name":"Mallory"}'; m1=$(jget "d['id']")
  for _ in $(seq 1 100); do # wait for the first price
    as "$at" GET "/api/v1/market/quote?symbol=TCS"
    [ "$CODE" = 200 ] && [ "$(jget "d.get('last')")" = "100" ] && break
    sleep 0.05
  done

  # Named errors first (nothing is placed).
  as "$at" POST /api/v1/signals '{"symbol":"TCS","action":"BUY_IT","qty":1}'; expect_err "$L: action" 422 invalid_field action
  as "$at" POST /api/v1/signals '{"symbol":"NOPE","action":"OPEN_LONG","qty":1}'; expect_err "$L: symbol" 422 invalid_field symbol
  as "$at" POST /api/v1/signals '{"symbol":"TCS","action":"OPEN_LONG"}'; expect_err "$L: open without size" 400 missing_field qty
  as "$at" POST /api/v1/signals '{"symbol":"TCS","action":"OPEN_LONG","qty":0}'; expect_err "$L: qty 0" 422 invalid_field qty
  as "$at" POST /api/v1/signals '{"symbol":"TCS","action":"OPEN_LONG","qty":1,"mode":"live"}'
  expect_err "$L: live" 409 live_unavailable mode
  as "$at" POST /api/v1/signals '{"symbol":"TCS","action":"CLOSE_LONG","stop_loss_pct":1}'
  expect_err "$L: stops on a close" 422 invalid_field stop_loss_pct
  as "$at" POST /api/v1/signals '{"symbol":"TCS","action":"OPEN_LONG","qty":1,"stop_loss_pct":100}'
  expect_err "$L: stop-loss of 100%" 422 invalid_field stop_loss_pct
  as "$at" POST /api/v1/signals "{\"symbol\":\"TCS\",\"action\":\"OPEN_LONG\",\"qty\":1,\"account_ids\":[$a1,\"x\"]}"
  expect_err "$L: an account id not a number" 422 invalid_field "account_ids[1]"
  as "$at" POST /api/v1/signals "{\"symbol\":\"TCS\",\"action\":\"OPEN_LONG\",\"qty\":1,\"account_ids\":[$a1,$a1]}"
  expect_err "$L: an account twice" 422 invalid_field "account_ids[1]"
  as "$it" POST /api/v1/signals '{"symbol":"TCS","action":"OPEN_LONG","qty":1}'; expect_eq "$L: investor" 403 "$CODE"
  as "" POST /api/v1/signals '{"symbol":"TCS","action":"OPEN_LONG","qty":1}'; expect_eq "$L: anonymous" 401 "$CODE"
  as "$at" GET "/api/v1/accounts/$a1/orders"
  expect_json "$L: nothing placed by refused signals" "len(d['items'])" 0

  # OPEN_LONG 2 on every owned account, with a protective stop (armed on the fill; the price never
  # moves here, so it never fires). Account Three is HALTED: its own gate refuses, the others trade.
  as "$at" PUT "/api/v1/accounts/$a3/kill-switch" '{"state":"HALTED","reason":"test"}'
  as "$at" POST /api/v1/signals '{"symbol":"TCS","action":"OPEN_LONG","qty":2,"stop_loss_pct":"1.5"}' \
    -H "Idempotency-Key: sig-1"
  expect_eq "$L: signal" 200 "$CODE"
  expect_json "$L: counts" "(d['executed_count'], d['failed_count'], d['execution_time_ms'] >= 0, d['signal'])" \
    "(2, 1, True, {'symbol': 'TCS', 'action': 'OPEN_LONG'})"
  expect_json "$L: per account" \
    "[(r['account_id'], r['status'], r.get('order', {}).get('state'), r.get('order', {}).get('avg_price'), r.get('error', {}).get('code')) for r in d['results']]" \
    "[($a1, 'executed', 'FILLED', 100.05, None), ($a2, 'executed', 'FILLED', 100.05, None), ($a3, 'failed', None, None, 'risk_denied')]"
  local ids; ids=$(jget "[r['order']['id'] for r in d['results'] if r['status'] == 'executed']")
  # The same key again: the same orders, nothing new.
  as "$at" POST /api/v1/signals '{"symbol":"TCS","action":"OPEN_LONG","qty":2,"stop_loss_pct":"1.5"}' \
    -H "Idempotency-Key: sig-1"
  expect_json "$L: a retried signal returns the first orders" \
    "([r['order']['id'] for r in d['results'] if r['status'] == 'executed'], [r.get('repeated') for r in d['results']])" \
    "($ids, [True, True, None])"
  as "$at" GET "/api/v1/accounts/$a1/trades"
  expect_json "$L: one fill on One" "[(t['side'], t['qty']) for t in d['items']]" "[('BUY', 2)]"
  as "$at" PUT "/api/v1/accounts/$a3/kill-switch" '{"state":"ACTIVE"}'

  # Listed accounts: Mallory's and an absent one fail alike; nothing placed on Mallory's.
  as "$at" POST /api/v1/signals "{\"symbol\":\"TCS\",\"action\":\"OPEN_LONG\",\"qty\":1,\"account_ids\":[$m1,999999,$a3]}"
  expect_json "$L: not the caller's: not_found, like an absent account" \
    "[(r['account_id'], r['status'], r.get('error')) for r in d['results']][:2]" \
    "[($m1, 'failed', {'code': 'not_found', 'message': 'no such account'}), (999999, 'failed', {'code': 'not_found', 'message': 'no such account'})]"
  expect_json "$L: the caller's own executed" "(d['results'][2]['status'], d['executed_count'], d['failed_count'])" "('executed', 1, 2)"
  as "$mt" GET "/api/v1/accounts/$m1/orders"
  expect_json "$L: nothing on Mallory's account" "len(d['items'])" 0

  # CLOSE_LONG without qty sells each whole long position (2, 2, 1); again: nothing to close.
  as "$at" POST /api/v1/signals '{"symbol":"TCS","action":"CLOSE_LONG"}'
  expect_json "$L: closes" "[(r['status'], r['order']['side'], r['order']['qty'], r['order']['avg_price']) for r in d['results']]" \
    "[('executed', 'SELL', 2, 99.95), ('executed', 'SELL', 2, 99.95), ('executed', 'SELL', 1, 99.95)]"
  as "$at" POST /api/v1/signals '{"symbol":"TCS","action":"CLOSE_LONG"}'
  expect_json "$L: nothing to close" "(d['executed_count'], [r['error']['code'] for r in d['results']])" \
    "(0, ['no_position', 'no_position', 'no_position'])"

  # OPEN_SHORT sized at 1 % of each account's equity: whole shares of 100 (equity / 100 / 100).
  as "$at" GET "/api/v1/accounts/$a1/funds"
  local want; want=$(jget "int(d['equity'] * 0.01 // 100)")
  as "$at" POST /api/v1/signals "{\"symbol\":\"TCS\",\"action\":\"OPEN_SHORT\",\"sizing_pct\":1,\"account_ids\":[$a1]}"
  expect_json "$L: sized short" "(d['results'][0]['order']['side'], d['results'][0]['order']['qty'])" "('SELL', $want)"
  as "$at" POST /api/v1/signals "{\"symbol\":\"TCS\",\"action\":\"CLOSE_SHORT\",\"qty\":1000,\"account_ids\":[$a1]}"
  expect_json "$L: a close never goes through zero" "(d['results'][0]['order']['side'], d['results'][0]['order']['qty'])" "('BUY', $want)"
  as "$at" GET "/api/v1/accounts/$a1/positions"
  expect_json "$L: flat after the close" "[p['qty'] for p in d['items']]" "[0]"

  as "$at" GET "/api/v1/accounts/$a1/trades"
  expect_json "$L: fills on One" "[(t['side'], t['qty']) for t in d['items']]" \
    "[('BUY', 2), ('SELL', 2), ('SELL', $want), ('BUY', $want)]"
  # Analytics of account One (docs/api.md "Analytics"), from the same stored fills: two closed
  # round trips, both losers: long 2 (100.05 -> 99.95: -0.20) and short $want (99.95 -> 100.05).
  as "$at" GET "/api/v1/accounts/$a1/funds"
  local eq ch; eq=$(jget "d['equity']"); ch=$(jget "d['charges']")
  as "$at" GET "/api/v1/accounts/$a1/analytics?period=all"
  expect_json "$L: analytics summary" \
    "(d['mode'], d['trades'], d['winning_trades'], d['losing_trades'], d['win_rate_pct'], d['equity_start'], d['equity_end'], d['charges'], d['realized_pnl'], d['open_trades'])" \
    "('PAPER', 2, 0, 2, 0, 1000000, $eq, $ch, $(python3 -c "print(round(-0.2 - $want * 0.1, 2))"), 0)"
  expect_json "$L: analytics: return = (end - start) / start" "abs(d['return_pct'] - ($eq - 1000000) / 10000) < 1e-9" True
  expect_json "$L: analytics: per strategy (manual) and by weekday (a Tuesday)" \
    "([(s['strategy_id'], s['trades'], s['losses']) for s in d['strategies']], [(b['weekday'], b['trades']) for b in d['trade_stats']['by_weekday']])" \
    "([(0, 2, 2)], [('Tue', 2)])"
  expect_json "$L: analytics: no NIFTY in this feed" "d['benchmark']['return_pct']" None
  as "$at" GET "/api/v1/accounts/$a1/analytics/equity"
  expect_json "$L: equity curve: a start, a point per fill, the mark; ends at the funds' equity" \
    "(len(d['items']), d['items'][0]['equity'], d['items'][-1]['equity'], all(p['drawdown_pct'] <= 0 for p in d['items']))" \
    "(6, 1000000, $eq, True)"
  as "$at" GET "/api/v1/accounts/$a1/analytics/trades?format=csv"
  expect_eq "$L: CSV export" "symbol,strategy_id,side,qty,entry_time,entry_price,exit_time,exit_price,pnl,charges,open
TCS,0,LONG,2,100.05,99.95,false
TCS,0,SHORT,$want,99.95,100.05,false" "$(python3 -c "
import csv, io
rows = list(csv.reader(io.StringIO(open('$TMP/body').read())))
print(','.join(rows[0]))
for r in rows[1:]:
    print(','.join([r[0], r[1], r[2], r[3], r[5], r[7], r[10]]))")"
  as "$at" GET "/api/v1/accounts/$a1/analytics?period=fortnight"; expect_err "$L: bad period" 422 invalid_query period
  as "$at" GET "/api/v1/accounts/$a1/analytics?mode=both"; expect_err "$L: modes never mixed" 422 invalid_query mode
  as "$at" GET "/api/v1/accounts/$a1/analytics?mode=live"
  expect_json "$L: live analytics are separate (no live fills)" "(d['mode'], d['trades'])" "('LIVE', 0)"
  as "$mt" GET "/api/v1/accounts/$a1/analytics"; expect_eq "$L: another tenant" 404 "$CODE"
  local adm; adm=$(token_of "root-$L@example.com")
  as "$adm" GET "/api/v1/admin/audit?action=signal.execute&limit=100"
  expect_json "$L: signals audited" "sorted(set(e['result'] for e in d['items']))" "['error', 'ok', 'partial']"
  stop_server
}

run_suite "sqlite:$TMP/signals.db" sqlite
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  pg_url && run_suite "$PG_URL" "pg$$$(date +%s)"
fi
finish
