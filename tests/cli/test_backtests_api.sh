# Backtests through the API over real HTTP (docs/api.md "Backtests"), against SQLite and then
# PostgreSQL when ATP_TEST_PG_URL is set: submit with each data source (an uploaded CSV, the
# simulator, the server's own candles), poll to done, metrics identical to what `atp backtest`
# writes for the same CSV and parameters (the same runner), trades and equity consistent (final
# equity = capital + the trades' net P&L, exactly), the HTML report, access by role and account,
# named errors for bad parameters and bad CSV, cancel of a long run, the queue-full answer, and
# a restart: done results stay readable, one killed mid-run is failed "interrupted by shutdown".
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"
D=tests/data/cli

as() { # as TOKEN METHOD PATH [JSON | @FILE]
  local tok=$1 m=$2 path=$3
  shift 3
  local auth=()
  [ -n "$tok" ] && auth=(-H "Authorization: Bearer $tok")
  if [ $# -gt 0 ]; then
    req -X "$m" "${auth[@]}" -H 'Content-Type: application/json' --data-binary "$1" "$U$path"
  else
    req -X "$m" "${auth[@]}" "$U$path"
  fi
}
register() {
  as "" POST /api/v1/auth/register "{\"email\":\"$1\",\"name\":\"$2\",\"password\":\"correct horse\"}"
  expect_eq "register $1" 201 "$CODE"
}
# csv_body FILE JSON-OF-THE-REST -> a body file with the CSV's text as data.csv
csv_body() {
  python3 - "$1" "$2" "$TMP/body.json" <<'EOF'
import json, sys
rest = json.loads(sys.argv[2])
rest["data"] = {"source": "csv", "csv": open(sys.argv[1]).read()}
json.dump(rest, open(sys.argv[3], "w"))
EOF
  echo "@$TMP/body.json"
}
# submit TOKEN BODY -> the id (202 expected)
submit() {
  as "$1" POST /api/v1/backtests "$2"
  [ "$CODE" = 202 ] || { bad "submit: $CODE $(cat "$TMP/body")"; echo 0; return; }
  jget "d['id']"
}
# wait_end TOKEN ID -> the final status (queued/running polled every 50 ms, at most 60 s)
wait_end() {
  local s
  for _ in $(seq 1 1200); do
    as "$1" GET "/api/v1/backtests/$2"
    s=$(jget "d['status']")
    case "$s" in queued | running) sleep 0.05 ;; *) echo "$s"; return ;; esac
  done
  echo timeout
}
# wait_running TOKEN ID: until it runs (or ended)
wait_running() {
  for _ in $(seq 1 400); do
    as "$1" GET "/api/v1/backtests/$2"
    [ "$(jget "d['status']")" != queued ] && return
    sleep 0.05
  done
}
# A long run: a year of simulated minutes of three symbols (tens of seconds at nice 19).
LONG='{"strategy":"sma_crossover","symbols":["RELIANCE","TCS","INFY"],"risk":{"qty":1},"data":{"source":"simulator","days":250,"seed":1}}'

run_suite() { # run_suite DB LABEL
  local db=$1 L=$2
  start_server "$db" ATP_ADMIN_EMAIL="root-$L@example.com" ATP_ADMIN_PASSWORD="correct horse"
  local alice="alice-$L@example.com" mallory="mallory-$L@example.com" ivan="ivan-$L@example.com"
  register "$alice" Alice
  register "$mallory" Mallory
  expect_status "$L: investor" 0 env ATP_USER_PASSWORD="correct horse" "$ATP" user add --db "$db" --email "$ivan" --role investor
  local at mt it adm
  at=$(token_of "$alice"); mt=$(token_of "$mallory"); it=$(token_of "$ivan"); adm=$(token_of "root-$L@example.com")

  # ---- CSV: the same numbers as `atp backtest` ----
  local b1 common='{"strategy":"sma_crossover","params":{"fast":2,"slow":3},"symbols":["TCS"],"risk":{"qty":4},"costs":{"slippage_pct":0,"commission_pct":0}}'
  b1=$(submit "$at" "$(csv_body $D/cross.csv "$common")")
  expect_json "$L: 202 answer" "d['status'], d['url']" "queued backtests/$b1"
  expect_eq "$L: csv done" done "$(wait_end "$at" "$b1")"
  as "$at" GET "/api/v1/backtests/$b1"
  cp "$TMP/body" "$TMP/b1.json"
  expect_json "$L: get shape" "d['progress'], d['strategy'], d['source'], d['account_id'], d['request']['data']" \
    "1.0 sma_crossover csv None {'csv_bytes': 373, 'source': 'csv'}"
  "$ATP" backtest --data $D/cross.csv --symbol TCS --strategy sma_crossover --param fast=2 --param slow=3 \
    --qty 4 --slippage 0% --commission 0% --json "$TMP/cli1.json" >/dev/null 2>&1
  expect_eq "$L: metrics equal the CLI's" True \
    "$(python3 -c "import json,sys; a=json.load(open(sys.argv[1]))['metrics']; b=json.load(open(sys.argv[2]))['metrics']; print(a == b and len(a) == 22)" "$TMP/b1.json" "$TMP/cli1.json")"
  expect_json "$L: final equity" "d['metrics']['final_equity'], d['metrics']['trades']" "98000 1"
  as "$at" GET "/api/v1/backtests/$b1/trades"
  expect_eq "$L: trades 200" 200 "$CODE"
  expect_json "$L: the trade" "[(t['side'], t['qty'], t['entry_price'], t['exit_price'], t['pnl']) for t in d['trades']]" \
    "[('long', 4, 1301, 801, -2000)]"
  as "$at" GET "/api/v1/backtests/$b1/equity"
  expect_json "$L: equity" "len(d['equity_curve']), d['initial_capital'], d['final_equity'], d['equity_curve'][-1]['equity'], min(p['drawdown_pct'] for p in d['equity_curve']) == d['max_drawdown_pct']" \
    "10 100000 98000 98000 True"
  as "$at" GET "/api/v1/backtests/$b1/report"
  expect_eq "$L: report 200" 200 "$CODE"
  expect_hdr "$L: report is HTML" Content-Type "text/html; charset=utf-8"
  grep -q '"final_equity":98000' "$TMP/body" && ok || bad "$L: the report holds the metrics"
  grep -q 'sma_crossover' "$TMP/body" && grep -q 'LightweightCharts' "$TMP/body" && ok || bad "$L: the report names the run and inlines its charts"
  grep -qi '^content-security-policy: sandbox allow-scripts' "$TMP/hdr" && ok || bad "$L: the report is sandboxed"

  # More trades, default costs, charges: the CLI's numbers again, and equity = capital + net P&L.
  local b2 rest='{"strategy":"ema_crossover","symbols":["RELIANCE"],"risk":{"qty":5},"costs":{"charges":"india"},"capital":250000.5}'
  b2=$(submit "$at" "$(csv_body $D/daily.csv "$rest")")
  expect_eq "$L: daily done" done "$(wait_end "$at" "$b2")"
  as "$at" GET "/api/v1/backtests/$b2"
  cp "$TMP/body" "$TMP/b2.json"
  "$ATP" backtest --data $D/daily.csv --symbol RELIANCE --strategy ema_crossover --qty 5 --charges india \
    --capital 250000.5 --json "$TMP/cli2.json" >/dev/null 2>&1
  expect_eq "$L: metrics equal the CLI's (india charges)" True \
    "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['metrics'] == json.load(open(sys.argv[2]))['metrics'])" "$TMP/b2.json" "$TMP/cli2.json")"
  as "$at" GET "/api/v1/backtests/$b2/trades"
  cp "$TMP/body" "$TMP/t2.json"
  # Exact decimal arithmetic on the texts as the server wrote them.
  expect_eq "$L: final equity = capital + net P&L" True "$(python3 - "$TMP/b2.json" "$TMP/t2.json" <<'EOF'
import json, sys
from decimal import Decimal
m = json.load(open(sys.argv[1]), parse_float=Decimal)["metrics"]
t = json.load(open(sys.argv[2]), parse_float=Decimal)["trades"]
print(len(t) > 1 and Decimal(m["final_equity"]) == Decimal(m["initial_capital"]) + sum(Decimal(x["pnl"]) for x in t)
      and Decimal(m["initial_capital"]) == Decimal("250000.5") and Decimal(m["total_charges"]) > 0)
EOF
)"

  # ---- simulator bars: deterministic, consistent ----
  local s1 s2 sim='{"strategy":"sma_crossover","params":{"fast":5,"slow":20},"symbols":["RELIANCE","TCS"],"timeframe":"5m","risk":{"qty":10},"data":{"source":"simulator","days":3,"seed":7}}'
  s1=$(submit "$at" "$sim"); s2=$(submit "$at" "$sim")
  expect_eq "$L: simulator done" done "$(wait_end "$at" "$s1")"
  expect_eq "$L: simulator again" done "$(wait_end "$at" "$s2")"
  as "$at" GET "/api/v1/backtests/$s1"; cp "$TMP/body" "$TMP/s1.json"
  as "$at" GET "/api/v1/backtests/$s2"; cp "$TMP/body" "$TMP/s2.json"
  expect_eq "$L: same seed, same metrics" True \
    "$(python3 -c "import json,sys; a=json.load(open(sys.argv[1]))['metrics']; print(a == json.load(open(sys.argv[2]))['metrics'] and a['trades'] > 0)" "$TMP/s1.json" "$TMP/s2.json")"
  as "$at" GET "/api/v1/backtests/$s1/trades"; cp "$TMP/body" "$TMP/st.json"
  as "$at" GET "/api/v1/backtests/$s1/equity"
  expect_eq "$L: simulator equity consistent" True "$(python3 - "$TMP/s1.json" "$TMP/st.json" "$TMP/body" <<'EOF'
import json, sys
from decimal import Decimal
m = json.load(open(sys.argv[1]), parse_float=Decimal)["metrics"]
t = json.load(open(sys.argv[2]), parse_float=Decimal)["trades"]
e = json.load(open(sys.argv[3]), parse_float=Decimal)
pnl = sum(Decimal(x["pnl"]) for x in t)
print(Decimal(m["final_equity"]) == Decimal(m["initial_capital"]) + pnl == Decimal(e["equity_curve"][-1]["equity"])
      and {x["symbol"] for x in t} <= {"RELIANCE", "TCS"})
EOF
)"

  # ---- the server's own candles (the simulator's market so far) ----
  local mk=""
  for _ in $(seq 1 400); do
    as "$at" POST /api/v1/backtests '{"strategy":"sma_crossover","params":{"fast":3,"slow":8},"symbols":["RELIANCE","INFY"],"timeframe":"1m","risk":{"qty":1},"data":{"source":"market"}}'
    [ "$CODE" = 202 ] && { mk=$(jget "d['id']"); break; }
    sleep 0.1 # the market is still warming up (422 no_data)
  done
  [ -n "$mk" ] && ok || bad "$L: market source accepted ($CODE $(cat "$TMP/body"))"
  expect_eq "$L: market done" done "$(wait_end "$at" "$mk")"
  as "$at" GET "/api/v1/backtests/$mk/equity"
  expect_json "$L: market bars used" "len(d['equity_curve']) > 100" "True"

  # ---- errors name the field ----
  as "$at" POST /api/v1/backtests "$(csv_body $D/cross.csv '{"strategy":"nosuch"}')"
  expect_json "$L: unknown strategy" "d['error']['code'], d['error']['field']" "invalid_field strategy"
  expect_eq "$L: unknown strategy 422" 422 "$CODE"
  as "$at" POST /api/v1/backtests "$(csv_body $D/cross.csv '{"strategy":"sma_crossover","params":{"fast":0}}')"
  expect_json "$L: parameter out of its schema" "d['error']['field']" "params.fast"
  as "$at" POST /api/v1/backtests "$(csv_body $D/cross.csv '{"strategy":"sma_crossover","params":{"speed":3}}')"
  expect_json "$L: unknown parameter" "d['error']['field']" "params.speed"
  printf 'date,open,high,low,close\n2026-01-05,10,11,9,10\n2026-01-06,10,abc,9,10\n' >"$TMP/bad.csv"
  as "$at" POST /api/v1/backtests "$(csv_body "$TMP/bad.csv" '{"strategy":"sma_crossover"}')"
  expect_eq "$L: bad CSV 422" 422 "$CODE"
  expect_json "$L: bad CSV names line and column" "d['error']['code'], d['error']['field'], 'line 3' in d['error']['message'] and 'high' in d['error']['message']" \
    "invalid_csv data.csv True"
  printf 'date,open,high,low\n2026-01-05,10,11,9\n' >"$TMP/bad2.csv"
  as "$at" POST /api/v1/backtests "$(csv_body "$TMP/bad2.csv" '{"strategy":"sma_crossover"}')"
  expect_json "$L: missing column" "d['error']['field'], 'close' in d['error']['message']" "data.csv True"
  as "$at" POST /api/v1/backtests "$(csv_body $D/cross.csv '{"strategy":"sma_crossover","symbols":["TCS","INFY"]}')"
  expect_json "$L: two symbols for a one-symbol CSV" "d['error']['field']" "symbols"
  as "$at" POST /api/v1/backtests '{"strategy":"sma_crossover"}'
  expect_json "$L: data required" "d['error']['field']" "data"
  expect_eq "$L: data required 400" 400 "$CODE"
  as "$at" POST /api/v1/backtests '{"strategy":"sma_crossover","data":{"source":"ftp"}}'
  expect_json "$L: unknown source" "d['error']['field']" "data.source"
  as "$at" POST /api/v1/backtests '{"strategy":"sma_crossover","symbols":["RELIANCE"],"data":{"source":"simulator","days":0}}'
  expect_json "$L: simulator days" "d['error']['field']" "data.days"
  as "$at" POST /api/v1/backtests '{"strategy":"sma_crossover","symbols":["NOSUCHCO"],"data":{"source":"simulator","days":2}}'
  expect_json "$L: simulator symbol" "d['error']['field']" "symbols[0]"
  as "$at" POST /api/v1/backtests "$(csv_body $D/cross.csv '{"strategy":"sma_crossover","timeframe":"2m"}')"
  expect_json "$L: timeframe" "d['error']['field']" "timeframe"
  as "$at" POST /api/v1/backtests "$(csv_body $D/cross.csv '{"strategy":"sma_crossover","timeframe":"1m"}')"
  expect_json "$L: timeframe finer than the data" "d['error']['field']" "timeframe"
  as "$at" POST /api/v1/backtests "$(csv_body $D/cross.csv '{"strategy":"sma_crossover","costs":{"slipage_pct":1}}')"
  expect_json "$L: typo in costs" "d['error']['field']" "costs"
  as "$at" POST /api/v1/backtests "$(csv_body $D/cross.csv '{"strategy":"sma_crossover","risk":{"product":"FNO"}}')"
  expect_json "$L: product" "d['error']['field']" "risk.product"
  as "$at" POST /api/v1/backtests "$(csv_body $D/cross.csv '{"strategy":"sma_crossover","capital":"lots"}')"
  expect_json "$L: capital type" "d['error']['field']" "capital"
  as "$at" POST /api/v1/backtests "$(csv_body $D/cross.csv '{"strategy":"sma_crossover","from":"2026-02-30"}')"
  expect_json "$L: date" "d['error']['field']" "from"
  as "$at" POST /api/v1/backtests "$(csv_body $D/cross.csv '{"strategy":"sma_crossover","from":"2027-01-01"}')"
  expect_json "$L: no bars in range" "d['error']['code'], d['error']['field']" "no_data data.csv"
  as "$at" POST /api/v1/backtests "$(csv_body $D/cross.csv '{"strategy":"sma_crossover","account_id":999999}')"
  expect_json "$L: not an account of yours" "d['error']['field']" "account_id"
  expect_eq "$L: not an account of yours 404" 404 "$CODE"
  as "$at" GET /api/v1/backtests/999999
  expect_eq "$L: absent backtest" 404 "$CODE"

  # ---- access ----
  as "" GET "/api/v1/backtests/$b1"; expect_eq "$L: anonymous" 401 "$CODE"
  as "$mt" GET "/api/v1/backtests/$b1"; expect_eq "$L: another trader" 404 "$CODE"
  as "$mt" GET "/api/v1/backtests/$b1/report"; expect_eq "$L: another trader's report" 404 "$CODE"
  as "$mt" POST "/api/v1/backtests/$b1/cancel"; expect_eq "$L: another trader cancels" 404 "$CODE"
  as "$adm" GET "/api/v1/backtests/$b1"; expect_eq "$L: admin reads" 200 "$CODE"
  as "$adm" POST "/api/v1/backtests/$b1/cancel"; expect_eq "$L: admin cancels another's" 403 "$CODE"
  as "$it" GET "/api/v1/backtests/$b1"; expect_eq "$L: investor, untied" 404 "$CODE"
  as "$it" POST /api/v1/backtests "$(csv_body $D/cross.csv '{"strategy":"sma_crossover"}')"
  expect_eq "$L: investors do not submit" 403 "$CODE"
  as "$mt" GET "/api/v1/backtests?limit=100"
  expect_json "$L: another trader's list" "d['items']" "[]"
  # Tied to an account: its invited investor reads it (not cancel), the list shows it.
  as "$at" POST /api/v1/accounts '{"name":"Alpha"}'; local acc; acc=$(jget "d['id']")
  as "$at" POST "/api/v1/accounts/$acc/invitations" "{\"email\":\"$ivan\",\"role\":\"investor\"}"
  local inv; inv=$(jget "d['id']")
  as "$it" POST "/api/v1/invitations/$inv/accept"; expect_eq "$L: investor accepts" 200 "$CODE"
  local tb; tb=$(submit "$at" "$(csv_body $D/cross.csv "{\"strategy\":\"sma_crossover\",\"account_id\":$acc}")")
  expect_eq "$L: tied done" done "$(wait_end "$at" "$tb")"
  as "$it" GET "/api/v1/backtests/$tb"; expect_json "$L: investor reads the tied one" "d['account_id']" "$acc"
  as "$it" GET "/api/v1/backtests/$tb/trades"; expect_eq "$L: investor reads its trades" 200 "$CODE"
  as "$it" POST "/api/v1/backtests/$tb/cancel"; expect_eq "$L: investor cannot cancel" 403 "$CODE"
  as "$it" GET /api/v1/backtests; expect_json "$L: investor's list" "[i['id'] for i in d['items']]" "[$tb]"
  as "$mt" POST /api/v1/backtests "$(csv_body $D/cross.csv "{\"strategy\":\"sma_crossover\",\"account_id\":$acc}")"
  expect_eq "$L: tying to another's account" 404 "$CODE"
  # Pages: newest first, by cursor.
  as "$at" GET "/api/v1/backtests?limit=2"
  local first_two next; first_two=$(jget "[i['id'] for i in d['items']]"); next=$(jget "d['next_cursor']")
  as "$at" GET "/api/v1/backtests?limit=2&cursor=$next"
  expect_eq "$L: pages" "[$tb, $mk] [$s2, $s1]" "$first_two $(jget "[i['id'] for i in d['items']]")"

  # ---- cancel a long one: it stops promptly ----
  local lg; lg=$(submit "$at" "$LONG")
  wait_running "$at" "$lg"
  sleep 0.3
  as "$at" GET "/api/v1/backtests/$lg/trades"; expect_json "$L: not done yet" "d['error']['code']" "not_done"
  expect_eq "$L: trades before done 409" 409 "$CODE"
  local t0 t1; t0=$(date +%s%N)
  as "$at" POST "/api/v1/backtests/$lg/cancel"
  expect_json "$L: cancelling" "d['status']" "cancelling"
  expect_eq "$L: cancel 202" 202 "$CODE"
  expect_eq "$L: cancelled" cancelled "$(wait_end "$at" "$lg")"
  t1=$(date +%s%N)
  [ $(((t1 - t0) / 1000000)) -lt 3000 ] && ok || bad "$L: cancel took $(((t1 - t0) / 1000000)) ms"
  as "$at" GET "/api/v1/backtests/$lg"; expect_json "$L: cancel reason" "d['error'], d['progress'] < 1" "cancelled by the user True"
  as "$at" POST "/api/v1/backtests/$lg/cancel"; expect_eq "$L: cancel again" 409 "$CODE"
  stop_server

  # ---- the queue: one worker, one waiting place ----
  start_server "$db" ATP_BACKTEST_QUEUE=1
  at=$(token_of "$alice")
  local q1 q2; q1=$(submit "$at" "$LONG")
  wait_running "$at" "$q1"
  q2=$(submit "$at" "$LONG")
  as "$at" POST /api/v1/backtests "$LONG"
  expect_eq "$L: queue full" 429 "$CODE"
  expect_json "$L: queue full says so" "d['error']['code']" "queue_full"
  expect_hdr "$L: retry after" Retry-After 10
  as "$at" POST "/api/v1/backtests/$q2/cancel"
  expect_json "$L: a queued one is cancelled at once" "d['status']" "cancelled"
  expect_eq "$L: queued cancel 200" 200 "$CODE"
  # ---- restart: kill -9 mid-run; done results survive, the running one is failed ----
  kill -KILL "$SRV_PID"; wait "$SRV_PID" 2>/dev/null; SRV_PID=
  start_server "$db"
  at=$(token_of "$alice")
  as "$at" GET "/api/v1/backtests/$q1"
  expect_json "$L: interrupted" "d['status'], d['error']" "failed interrupted by shutdown"
  as "$at" GET "/api/v1/backtests/$b1"
  expect_json "$L: done survives" "d['status'], d['metrics']['final_equity']" "done 98000"
  as "$at" GET "/api/v1/backtests/$b1/report"; expect_eq "$L: report survives" 200 "$CODE"
  # A graceful stop marks the running one the same way.
  local g; g=$(submit "$at" "$LONG")
  wait_running "$at" "$g"
  stop_server
  start_server "$db"
  at=$(token_of "$alice")
  as "$at" GET "/api/v1/backtests/$g"
  expect_json "$L: stopped with the server" "d['status'], d['error']" "failed interrupted by shutdown"
  stop_server

  if [ "$L" = sqlite ]; then
    local got
    got=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(' '.join(f'{a}={n}' for a,n in c.execute('select action,count(*) from audit_log where action like \'backtest.%\' group by 1 order by 1')))" "${db#sqlite:}")
    expect_eq "$L: audit" "backtest.cancel=2 backtest.submit=10" "$got"
  fi
}

run_suite "sqlite:$TMP/bt.db" sqlite
if [ -n "${ATP_TEST_PG_URL:-}" ]; then
  pg_url && run_suite "$PG_URL" "pg$$$(date +%s)"
fi

finish
