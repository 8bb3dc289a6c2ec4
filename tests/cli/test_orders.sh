# Paper orders over real HTTP (docs/api.md "Orders, positions, funds, kill switch") on SQLite and
# PostgreSQL. A replay feed with one constant price (TCS at 100 every 10 s for hours, played at
# speed 100) gives predictable fills: MARKET buys at 100.05 and sells at 99.95 (0.05 % slippage
# on the 0.05 tick), LIMITs at their price when the market trades through them. Checked: fills,
# positions, funds exact to the paisa, modify, cancel, close, history, named errors, idempotency
# (also across a restart), the kill switch (REDUCING, HALTED cancels, global, survives a restart),
# investors refused with 403, another tenant 404, audit entries.
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
  local envs=(ATP_ADMIN_EMAIL="root-$L@example.com" ATP_ADMIN_PASSWORD="correct horse" ATP_FEED="replay:$CSV"
    ATP_FEED_SPEED=100)
  start_server "$db" "${envs[@]}"
  local alice="alice-$L@example.com" mallory="mallory-$L@example.com" ivan="ivan-$L@example.com"
  for who in "$alice" "$mallory"; do
    as "" POST /api/v1/auth/register "{\"email\":\"$who\",\"name\":\"T\",\"password\":\"correct horse\"}"
  done
  expect_status "$L: investor added" 0 env ATP_USER_PASSWORD="correct horse" "$ATP" user add --db "$db" \
    --email "$ivan" --role investor
  local at mt it adm
  at=$(token_of "$alice"); mt=$(token_of "$mallory"); it=$(token_of "$ivan"); adm=$(token_of "root-$L@example.com")
  as "$at" POST /api/v1/accounts '{"name":"Alpha","broker":"paper"}'
  local acc; acc=$(jget "d['id']")
  as "$at" POST "/api/v1/accounts/$acc/invitations" "{\"email\":\"$ivan\",\"role\":\"investor\"}"
  local inv; inv=$(jget "d['id']")
  as "$it" POST "/api/v1/invitations/$inv/accept"
  expect_eq "$L: investor accepted" 200 "$CODE"
  local A="/api/v1/accounts/$acc"

  for _ in $(seq 1 100); do # wait for the first price
    as "$at" GET "/api/v1/market/quote?symbol=TCS"
    [ "$CODE" = 200 ] && [ "$(jget "d.get('last')")" = "100" ] && break
    sleep 0.05
  done

  # Funds before anything: the default capital, settable before the first order.
  as "$at" GET "$A/funds"
  expect_json "$L: default funds" "(d['initial_capital'], d['cash'], d['equity'])" "(1000000, 1000000, 1000000)"
  as "$at" PUT "$A/funds" '{"initial_capital":"500000.50"}'
  expect_eq "$L: set capital" 200 "$CODE"
  expect_json "$L: capital set" "(d['initial_capital'], d['equity'])" "(500000.5, 500000.5)"

  # Bad input, each named.
  as "$at" POST "$A/orders" '{"symbol":"NOPE","side":"BUY","qty":1}'; expect_err "$L: symbol" 422 invalid_field symbol
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"HOLD","qty":1}'; expect_err "$L: side" 422 invalid_field side
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":0}'; expect_err "$L: qty" 422 invalid_field qty
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":1,"type":"LIMIT"}'
  expect_err "$L: limit without price" 422 invalid_field limit_price
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":1,"type":"LIMIT","price":"9x"}'
  expect_err "$L: price text" 422 invalid_field price
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":1,"mode":"live"}'
  expect_err "$L: live" 409 live_unavailable mode
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":1,"colour":"red"}'
  expect_eq "$L: unknown field" 400 "$CODE"
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":100000}'
  expect_err "$L: risk denial" 422 risk_denied None
  expect_json "$L: risk reason" "d['error']['message'].split(':')[0]" "ORDER_VALUE"

  # A MARKET buy of 10 with a key: filled at 100.05; the same key returns it (200), never a second.
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":10,"product":"CNC"}' -H "Idempotency-Key: k-1"
  expect_eq "$L: market buy" 201 "$CODE"
  expect_json "$L: market buy filled" "(d['state'], d['filled_qty'], d['avg_price'], d['client_key'])" \
    "('FILLED', 10, 100.05, 'k-1')"
  local o1; o1=$(jget "d['id']")
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":10,"product":"CNC"}' -H "Idempotency-Key: k-1"
  expect_eq "$L: same key" 200 "$CODE"
  expect_json "$L: same order" "d['id']" "$o1"
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":1}' -H "Idempotency-Key: has space"
  expect_err "$L: bad key" 422 invalid_header Idempotency-Key

  # A resting LIMIT buy below the market, modified, then cancelled; its history shows each state.
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":5,"type":"LIMIT","price":95}'
  expect_eq "$L: limit" 201 "$CODE"
  expect_json "$L: limit open" "(d['state'], d['price'])" "('OPEN', 95)"
  local o2; o2=$(jget "d['id']")
  as "$at" PATCH "$A/orders/$o2" '{"qty":7,"price":"96.5"}'
  expect_eq "$L: modify" 200 "$CODE"
  expect_json "$L: modified" "(d['qty'], d['price'], d['state'])" "(7, 96.5, 'OPEN')"
  as "$at" GET "$A/orders?state=WORKING"
  expect_json "$L: working" "[o['id'] for o in d['items']]" "[$o2]"
  as "$it" DELETE "$A/orders/$o2"; expect_eq "$L: investor cannot cancel" 403 "$CODE"
  as "$mt" DELETE "$A/orders/$o2"; expect_eq "$L: other tenant cancel" 404 "$CODE"
  as "$adm" DELETE "$A/orders/$o2"; expect_eq "$L: admin cannot cancel" 403 "$CODE"
  as "$at" DELETE "$A/orders/$o2"
  expect_eq "$L: cancel" 200 "$CODE"
  expect_json "$L: cancelled" "d['state']" "CANCELLED"
  as "$at" DELETE "$A/orders/$o2"; expect_err "$L: cancel twice" 409 conflict order_id
  as "$at" GET "$A/orders/$o2"
  expect_json "$L: history" "[h['state'] for h in d['history']]" "['NEW', 'PENDING_SUBMIT', 'OPEN', 'CANCELLED']"
  as "$at" GET "$A/orders/99999"; expect_eq "$L: no such order" 404 "$CODE"

  # A MARKET sell of 4 at 99.95: realized (99.95 - 100.05) x 4 = -0.40; 6 left at 100.05.
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"SELL","qty":4}'
  expect_json "$L: sell" "(d['state'], d['avg_price'])" "('FILLED', 99.95)"
  as "$at" GET "$A/positions"
  expect_json "$L: position" "[(p['symbol'], p['qty'], p['avg_price'], p['realized_pnl'], p['status']) for p in d['items']]" \
    "[('TCS', 6, 100.05, -0.4, 'open')]"
  # Charges (data/charges.csv, 2024-01-02, NSE delivery: CNC is the default product), by hand:
  #  buy 10 x 100.05 = 1000.50: STT 0.1% = 1.0005 -> 1 (to the rupee); exchange 0.00322% = 0.0322
  #  -> 0.03; stamp 0.015% = 0.150075 -> 0.15; SEBI and IPFT Rs 10/crore = 0.001 -> 0; GST 18% of
  #  0.03 = 0.0054 -> 0.01; brokerage 0. Total 1.19.
  #  sell 4 x 99.95 = 399.80: STT 0.3998 -> 0; exchange 0.0129 -> 0.01; GST 0.0018 -> 0. Total 0.01.
  as "$at" GET "$A/trades"
  expect_json "$L: trades" "[(t['side'], t['qty'], t['price'], t['charges']) for t in d['items']]" \
    "[('BUY', 10, 100.05, 1.19), ('SELL', 4, 99.95, 0.01)]"
  # cash = 500000.50 - 1000.50 + 399.80 - 1.20 = 499398.60; marked at 100: unrealized
  # (100 - 100.05) x 6 = -0.30
  as "$at" GET "$A/funds"
  expect_json "$L: funds" "(d['cash'], d['realized_pnl'], d['unrealized_pnl'], d['charges'], d['equity'])" \
    "(499398.6, -0.4, -0.3, 1.2, 499998.6)"
  as "$it" GET "$A/funds"; expect_eq "$L: investor reads funds" 200 "$CODE"
  as "$it" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":1}'; expect_eq "$L: investor cannot trade" 403 "$CODE"
  as "$mt" GET "$A/positions"; expect_eq "$L: other tenant positions" 404 "$CODE"
  as "$adm" GET "$A/orders"; expect_eq "$L: admin reads orders" 200 "$CODE"
  as "$adm" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":1}'; expect_eq "$L: admin cannot trade" 403 "$CODE"
  as "$at" PUT "$A/funds" '{"initial_capital":1}'; expect_err "$L: capital after orders" 409 conflict initial_capital

  # Kill switch: REDUCING allows the exit only; HALTED cancels working orders and refuses all.
  as "$at" PUT "$A/kill-switch" '{"state":"REDUCING","reason":"test"}'
  expect_json "$L: reducing" "(d['state'], d['effective_state'])" "('REDUCING', 'REDUCING')"
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":1}'
  expect_err "$L: reducing refuses an entry" 422 risk_denied None
  as "$at" PUT "$A/kill-switch" '{"state":"ACTIVE"}'
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"SELL","qty":2,"type":"LIMIT","price":105}'
  local o3; o3=$(jget "d['id']")
  as "$at" PUT "$A/kill-switch" '{"state":"HALTED","reason":"stop"}'
  expect_json "$L: halted" "(d['state'], d['cancelled_orders'])" "('HALTED', 1)"
  as "$at" GET "$A/orders/$o3"; expect_json "$L: halt cancelled it" "d['state']" "CANCELLED"
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"SELL","qty":1}'
  expect_err "$L: halted refuses an exit too" 422 risk_denied None
  as "$it" PUT "$A/kill-switch" '{"state":"ACTIVE"}'; expect_eq "$L: investor cannot switch" 403 "$CODE"
  as "$at" PUT /api/v1/admin/kill-switch '{"state":"HALTED"}'; expect_eq "$L: trader no global" 403 "$CODE"
  as "$adm" PUT /api/v1/admin/kill-switch '{"state":"REDUCING","reason":"drill"}'
  expect_json "$L: global" "(d['scope'], d['state'])" "('global', 'REDUCING')"

  # A restart: orders, fills, positions, funds, switches and keys come back from the store.
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":3,"type":"LIMIT","price":90}' \
    -H "Idempotency-Key: k-rest"
  expect_err "$L: still halted" 422 risk_denied None
  as "$at" PUT "$A/kill-switch" '{"state":"ACTIVE"}'
  as "$adm" PUT /api/v1/admin/kill-switch '{"state":"ACTIVE"}'
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":3,"type":"LIMIT","price":90}' \
    -H "Idempotency-Key: k-rest"
  expect_eq "$L: resting order" 201 "$CODE"
  local o4; o4=$(jget "d['id']")
  as "$at" PUT "$A/kill-switch" '{"state":"REDUCING","reason":"before restart"}'
  stop_server
  start_server "$db" "${envs[@]}"
  at=$(token_of "$alice")
  as "$at" POST "$A/orders" '{"symbol":"TCS","side":"BUY","qty":3,"type":"LIMIT","price":90}' \
    -H "Idempotency-Key: k-rest"
  expect_eq "$L: key after restart" 200 "$CODE"
  expect_json "$L: same order after restart" "d['id']" "$o4"
  as "$at" GET "$A/kill-switch"
  expect_json "$L: switch survived" "(d['state'], d['reason'])" "('REDUCING', 'before restart')"
  for _ in $(seq 1 100); do # the working order is re-placed at the first tick
    as "$at" GET "$A/orders/$o4"; [ "$(jget "len(d['history'])")" -ge 2 ] 2>/dev/null && break; sleep 0.05
  done
  as "$at" GET "$A/positions"
  expect_json "$L: position after restart" "[(p['qty'], p['avg_price'], p['realized_pnl']) for p in d['items']]" \
    "[(6, 100.05, -0.4)]"
  as "$at" GET "$A/funds"
  expect_json "$L: cash after restart" "(d['initial_capital'], d['cash'])" "(500000.5, 499398.6)"
  as "$at" PUT "$A/kill-switch" '{"state":"ACTIVE"}'
  as "$at" DELETE "$A/orders/$o4"
  expect_json "$L: restored order cancels" "d['state']" "CANCELLED"
  # Close the position: a MARKET sell of 6 at 99.95; flat, realized -0.40 - 0.60.
  as "$at" POST "$A/positions/TCS/close"
  expect_eq "$L: close" 201 "$CODE"
  expect_json "$L: close order" "(d['side'], d['qty'], d['state'])" "('SELL', 6, 'FILLED')"
  as "$at" GET "$A/positions"
  expect_json "$L: closed" "[(p['qty'], p['realized_pnl'], p['status']) for p in d['items']]" "[(0, -1, 'closed')]"
  as "$at" POST "$A/positions/TCS/close"; expect_eq "$L: nothing to close" 404 "$CODE"
  as "$at" GET "$A/funds"
  # The close: 6 x 99.95 = 599.70: STT 0.5997 -> 1; exchange 0.0193 -> 0.02; GST 0.0036 -> 0.
  # cash = 499398.60 + 599.70 - 1.02 = 499997.28
  expect_json "$L: flat funds" "(d['cash'], d['equity'], d['unrealized_pnl'], d['charges'])" "(499997.28, 499997.28, 0, 2.22)"
  stop_server
}

run_suite "sqlite:$TMP/orders.db" sqlite
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  pg_url && run_suite "$PG_URL" "pg$$$(date +%s)"
fi
finish
