# Strategies per trading account over real HTTP (issue 5 §2): the catalog, create with named
# validation errors, the lifecycle and its 409s, a strategy that actually trades against the
# simulator at speed 100 (its status shows a signal and orders), survival of a restart (SIGTERM,
# start again: it runs again), the investor's read-only access (403), another tenant's 404, the
# admin's concurrent-strategy limit (409 from the risk gate), risk limits and their
# acknowledgement, audit. Against SQLite, then PostgreSQL when ATP_TEST_PG_URL is set.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
register() {
  as "" POST /api/v1/auth/register "{\"email\":\"$1\",\"name\":\"$2\",\"password\":\"correct horse\"}"
  expect_eq "register $1" 201 "$CODE"
}
# expect_error NAME STATUS FIELD: the last answer's status and error.field
expect_error() {
  expect_eq "$1 status" "$2" "$CODE"
  expect_json "$1 field" "d['error'].get('field')" "$3"
}
# wait_for NAME TOKEN PATH PYTHON-EXPR SECONDS: polls GET PATH until the expression is True
wait_for() {
  local i
  for i in $(seq 1 $(($5 * 5))); do
    as "$2" GET "$3"
    [ "$CODE" = 200 ] && [ "$(jget "$4")" = True ] && { ok; return 0; }
    sleep 0.2
  done
  bad "$1: $(cat "$TMP/body")"
  return 1
}

SERVER_ENV=(ATP_FEED_SPEED=100 ATP_MAX_STRATEGIES_PAPER=2)
S='"symbols":["reliance"],"timeframes":["1m"],"params":{"fast":2,"slow":3},"risk":{"qty":1,"stop_loss_pct":1,"take_profit_pct":2,"trailing_stop_pct":0.5}'

run_suite() { # run_suite DB LABEL
  local db=$1 L=$2
  start_server "$db" ATP_ADMIN_EMAIL="root-$L@example.com" ATP_ADMIN_PASSWORD="correct horse" "${SERVER_ENV[@]}"
  local alice="alice-$L@example.com" mallory="mallory-$L@example.com" ivan="ivan-$L@example.com"
  register "$alice" Alice
  register "$mallory" Mallory
  expect_status "$L: investor" 0 env ATP_USER_PASSWORD="correct horse" "$ATP" user add --db "$db" --email "$ivan" \
    --role investor
  local at mt it adm
  at=$(token_of "$alice"); mt=$(token_of "$mallory"); it=$(token_of "$ivan"); adm=$(token_of "root-$L@example.com")
  as "$at" POST /api/v1/accounts '{"name":"Alpha"}'; local acc; acc=$(jget "d['id']")
  as "$mt" POST /api/v1/accounts '{"name":"Mallory"}'; local macc; macc=$(jget "d['id']")
  as "$at" POST "/api/v1/accounts/$acc/invitations" "{\"email\":\"$ivan\",\"role\":\"investor\"}"
  local inv; inv=$(jget "d['id']")
  as "$it" POST "/api/v1/invitations/$inv/accept"; expect_eq "$L: investor accepts" 200 "$CODE"

  # The catalog.
  as "" GET /api/v1/strategy-types; expect_eq "$L: catalog anonymous" 401 "$CODE"
  as "$it" GET /api/v1/strategy-types
  expect_eq "$L: catalog" 200 "$CODE"
  expect_json "$L: catalog sma" "[(p['name'], p['type'], p['default'], p['min']) for t in d['items'] if t['name'] == 'sma_crossover' for p in t['params']][:2]" "[('fast', 'int', 10, 2), ('slow', 'int', 30, 3)]"
  expect_json "$L: catalog risk fields" "[r['name'] for r in d['risk']][:2]" "['qty', 'sizing_pct']"
  expect_json "$L: catalog size" "len(d['items']) >= 9" True

  # Create: validation names the field.
  local base="{\"account_id\":$acc,\"type\":\"sma_crossover\",\"name\":\"fast\",$S"
  as "$at" POST /api/v1/strategies "{\"account_id\":$acc,\"type\":\"sma_crossover\",\"symbols\":[\"RELIANCE\"],\"params\":{\"fast\":1},\"risk\":{\"qty\":1}}"
  expect_error "$L: param below min" 422 params.fast
  as "$at" POST /api/v1/strategies "{\"account_id\":$acc,\"type\":\"sma_crossover\",\"symbols\":[\"RELIANCE\"],\"params\":{\"fats\":5},\"risk\":{\"qty\":1}}"
  expect_error "$L: unknown param" 422 params.fats
  as "$at" POST /api/v1/strategies "{\"account_id\":$acc,\"type\":\"sma_crossover\",\"symbols\":[\"RELIANCE\"],\"params\":{\"fast\":2.5},\"risk\":{\"qty\":1}}"
  expect_error "$L: non-integer param" 422 params.fast
  as "$at" POST /api/v1/strategies "{\"account_id\":$acc,\"type\":\"sma_crossover\",\"symbols\":[\"RELIANCE\",\"NOPE\"],\"risk\":{\"qty\":1}}"
  expect_error "$L: unknown symbol" 422 "symbols[1]"
  as "$at" POST /api/v1/strategies "{\"account_id\":$acc,\"type\":\"sma_crossover\",\"symbols\":[\"RELIANCE\"]}"
  expect_error "$L: no sizing" 422 risk.qty
  as "$at" POST /api/v1/strategies "{\"account_id\":$acc,\"type\":\"sma_crossover\",\"symbols\":[\"RELIANCE\"],\"timeframes\":[\"7m\"],\"risk\":{\"qty\":1}}"
  expect_error "$L: bad timeframe" 422 "timeframes[0]"
  as "$at" POST /api/v1/strategies "{\"account_id\":$acc,\"type\":\"nope\",\"symbols\":[\"RELIANCE\"],\"risk\":{\"qty\":1}}"
  expect_error "$L: unknown type" 422 type
  as "$at" POST /api/v1/strategies "{\"account_id\":$acc,\"type\":\"sma_crossover\",\"symbols\":[\"RELIANCE\"],\"mode\":\"live\",\"risk\":{\"qty\":1}}"
  expect_error "$L: live refused" 422 mode
  expect_json "$L: live refusal says why" "d['error']['code'], 'broker' in d['error']['message']" "live_unavailable True"
  as "$at" POST /api/v1/strategies '{"type":"sma_crossover","symbols":["RELIANCE"]}'
  expect_error "$L: account_id missing" 400 account_id
  as "$at" POST /api/v1/strategies "$base}"
  expect_eq "$L: create" 201 "$CODE"
  expect_json "$L: create shape" "d['state'], d['mode'], d['symbols'], d['params'], d['risk']['qty']" "stopped paper ['RELIANCE'] {'fast': 2, 'slow': 3} 1"
  local sid; sid=$(jget "d['id']")
  as "$at" POST /api/v1/strategies "{\"account_id\":$acc,\"type\":\"ema_crossover\",\"name\":\"two\",\"symbols\":[\"TCS\"],\"params\":{\"fast\":2,\"slow\":3},\"risk\":{\"sizing_pct\":5}}"
  expect_eq "$L: create second" 201 "$CODE"; local sid2; sid2=$(jget "d['id']")
  as "$at" POST /api/v1/strategies "{\"account_id\":$acc,\"type\":\"rsi_reversion\",\"name\":\"three\",\"symbols\":[\"INFY\"],\"risk\":{\"qty\":1}}"
  expect_eq "$L: create third" 201 "$CODE"; local sid3; sid3=$(jget "d['id']")

  # Access: investor reads, cannot act; another tenant 404; admin reads, cannot act.
  as "$it" POST /api/v1/strategies "$base}"; expect_eq "$L: investor create" 403 "$CODE"
  as "$mt" POST /api/v1/strategies "$base}"; expect_eq "$L: stranger create on alice's account" 404 "$CODE"
  as "$it" GET "/api/v1/strategies/$sid"; expect_eq "$L: investor reads" 200 "$CODE"
  as "$it" POST "/api/v1/strategies/$sid/start"; expect_eq "$L: investor start" 403 "$CODE"
  as "$it" PATCH "/api/v1/strategies/$sid" '{"name":"x"}'; expect_eq "$L: investor update" 403 "$CODE"
  as "$mt" GET "/api/v1/strategies/$sid"; expect_eq "$L: stranger get" 404 "$CODE"
  as "$mt" POST "/api/v1/strategies/$sid/start"; expect_eq "$L: stranger start" 404 "$CODE"
  as "$mt" GET "/api/v1/strategies/99999999"; expect_eq "$L: absent same 404" 404 "$CODE"
  as "$adm" GET "/api/v1/strategies/$sid"; expect_eq "$L: admin reads" 200 "$CODE"
  as "$adm" POST "/api/v1/strategies/$sid/start"; expect_eq "$L: admin acts on another's" 403 "$CODE"
  as "$mt" GET /api/v1/strategies; expect_json "$L: stranger list" "len(d['items'])" 0
  as "$it" GET /api/v1/strategies; expect_json "$L: investor list" "len(d['items'])" 3
  as "$at" GET "/api/v1/strategies?limit=2"
  expect_json "$L: list page" "len(d['items']), d['next_cursor'] == $sid2" "2 True"
  as "$at" GET "/api/v1/strategies?account_id=$macc"; expect_json "$L: list other account" "len(d['items'])" 0

  # Lifecycle and wrong transitions.
  as "$at" POST "/api/v1/strategies/$sid/pause"; expect_error "$L: pause stopped" 409 state
  expect_json "$L: 409 names the state" "'stopped' in d['error']['message']" True
  as "$at" POST "/api/v1/strategies/$sid/resume"; expect_eq "$L: resume stopped" 409 "$CODE"
  as "$at" POST "/api/v1/strategies/$sid/stop"; expect_eq "$L: stop stopped" 409 "$CODE"
  as "$at" POST "/api/v1/strategies/$sid/start"; expect_eq "$L: start" 200 "$CODE"
  expect_json "$L: running" "d['state']" running
  as "$at" POST "/api/v1/strategies/$sid/start"; expect_error "$L: start running" 409 state
  as "$at" PATCH "/api/v1/strategies/$sid" '{"name":"x"}'; expect_error "$L: update running" 409 state
  as "$at" DELETE "/api/v1/strategies/$sid"; expect_error "$L: delete running" 409 state
  as "$at" POST "/api/v1/strategies/$sid/pause"; expect_json "$L: paused" "d['state']" paused
  as "$at" POST "/api/v1/strategies/$sid/pause"; expect_eq "$L: pause paused" 409 "$CODE"
  as "$at" GET "/api/v1/strategies/$sid"; expect_json "$L: kernel says paused" "d['status']['state'], d['status']['in_kernel']" "paused True"
  as "$at" POST "/api/v1/strategies/$sid/resume"; expect_json "$L: resumed" "d['state']" running

  # The concurrent limit (ATP_MAX_STRATEGIES_PAPER=2): the third is refused by the risk gate.
  as "$at" POST "/api/v1/strategies/$sid2/start"; expect_eq "$L: start second" 200 "$CODE"
  as "$at" POST "/api/v1/strategies/$sid3/start"
  expect_error "$L: limit refusal" 409 state
  expect_json "$L: limit reason" "d['error']['code'], 'MAX_STRATEGIES' in d['error']['message']" "risk_denied True"
  as "$at" GET "/api/v1/strategies/$sid3"; expect_json "$L: refused stays stopped" "d['state']" stopped
  as "$adm" PUT /api/v1/admin/strategy-limits '{"paper":0}'; expect_error "$L: admin limit range" 422 paper
  as "$at" PUT /api/v1/admin/strategy-limits '{"paper":3}'; expect_eq "$L: trader sets limits" 403 "$CODE"
  as "$adm" PUT /api/v1/admin/strategy-limits '{"paper":3}'
  expect_json "$L: admin limit" "d['paper']" 3
  as "$at" POST "/api/v1/strategies/$sid3/start"; expect_eq "$L: third after raise" 200 "$CODE"
  as "$at" POST "/api/v1/strategies/$sid3/stop"; expect_json "$L: stop third" "d['state']" stopped
  as "$at" PATCH "/api/v1/strategies/$sid3" '{"params":{"period":1}}'; expect_error "$L: update validates" 422 params.period
  as "$at" PATCH "/api/v1/strategies/$sid3" '{"name":"three b","params":{"period":7}}'
  expect_json "$L: update stopped" "d['name'], d['params']" "three b {'period': 7}"
  as "$at" DELETE "/api/v1/strategies/$sid3"; expect_eq "$L: delete stopped" 200 "$CODE"
  as "$at" GET "/api/v1/strategies/$sid3"; expect_eq "$L: deleted" 404 "$CODE"

  # It trades: a signal and orders within seconds (1m bars every 0.6 s at speed 100).
  wait_for "$L: signal and orders" "$at" "/api/v1/strategies/$sid" \
    "d['last_signal'] is not None and d['status']['orders_count'] > 0" 40
  expect_json "$L: signal shape" "d['last_signal']['symbol'], d['last_signal']['intent'] in ('ENTRY_LONG','EXIT_LONG')" "RELIANCE True"

  # Risk limits: read by the investor, set by the owner only, a breach needs acknowledging.
  as "$it" GET "/api/v1/accounts/$acc/risk-limits"; expect_eq "$L: investor reads limits" 200 "$CODE"
  expect_json "$L: default limits" "d['max_loss'], d['breached'], d['max_strategies']" "0.0 False 3"
  as "$it" PUT "/api/v1/accounts/$acc/risk-limits" '{"max_loss":100}'; expect_eq "$L: investor sets limits" 403 "$CODE"
  as "$mt" GET "/api/v1/accounts/$acc/risk-limits"; expect_eq "$L: stranger limits" 404 "$CODE"
  as "$at" PUT "/api/v1/accounts/$acc/risk-limits" '{"max_loss":-1}'; expect_error "$L: negative limit" 422 max_loss
  as "$at" PUT "/api/v1/accounts/$acc/risk-limits" '{"max_loss":500000,"max_position_qty":50}'
  expect_json "$L: limits set" "d['max_loss'], d['max_position_qty'], d['stored']" "500000.0 50 True"
  as "$at" POST "/api/v1/accounts/$acc/risk-limits/acknowledge"; expect_error "$L: nothing to acknowledge" 409 breached

  # Restart: the running ones come back running, the stored state is what resumes.
  as "$at" POST "/api/v1/strategies/$sid2/pause"; expect_eq "$L: pause second" 200 "$CODE"
  stop_server
  start_server "$db" "${SERVER_ENV[@]}"
  at=$(token_of "$alice")
  wait_for "$L: running again after restart" "$at" "/api/v1/strategies/$sid" \
    "d['state'] == 'running' and d['status']['in_kernel']" 30
  as "$at" GET "/api/v1/strategies/$sid2"
  expect_json "$L: paused stays paused" "d['state'], d['status']['state'], d['status']['in_kernel']" "paused paused True"
  as "$at" POST "/api/v1/strategies/$sid2/resume"; expect_json "$L: resume after restart" "d['state']" running
  wait_for "$L: trades after restart" "$at" "/api/v1/strategies/$sid" "d['status']['orders_count'] > 0" 40
  as "$at" POST "/api/v1/strategies/$sid/stop"; expect_json "$L: stop" "d['state']" stopped
  as "$at" GET "/api/v1/strategies/$sid"; expect_json "$L: out of the kernel" "d['status']['in_kernel']" False
  stop_server
  if [ "$L" = sqlite ]; then
    local got
    got=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(' '.join(f'{a}={n}' for a,n in c.execute('select action,count(*) from audit_log where action like \'strategy%\' or action like \'risk_limits%\' group by 1 order by 1')))" "${db#sqlite:}")
    expect_eq "$L: audit" "risk_limits.update=1 strategy.create=3 strategy.delete=1 strategy.pause=2 strategy.resume=2 strategy.start=3 strategy.stop=2 strategy.update=1 strategy_limits.update=1" "$got"
  fi
}

run_suite "sqlite:$TMP/strategies.db" sqlite
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  pg_url && run_suite "$PG_URL" "pg$$$(date +%s)"
fi

finish
