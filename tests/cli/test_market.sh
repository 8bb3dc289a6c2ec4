# Market data in the server over real HTTP (docs/api.md "Market data"). The routes read the
# server's shared engine, never the store, so one backend (SQLite) is enough here; the
# authorization matrix (test_authz_matrix.sh) covers them on both.
#  1. Replay of a tick CSV written here (--feed replay:FILE --speed max): exactly predictable bars,
#     the forming bar, count limits, 5m folding, the quote against the last candle, an indicator
#     over the stored candles and over a posted series, bad input named by field, anonymous 401.
#  2. The simulator (--feed synthetic --seed 7 --speed 100): history at once (the warm-up day),
#     bars well-formed and aligned to their timeframe, new ticks arriving, the quote matching the
#     forming candle.
#  3. Bad --feed / --speed values stop the start, naming the option.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/server_lib.sh"

login() { # -> $TOK
  as "" POST /api/v1/auth/login '{"email":"root@example.com","password":"correct horse"}'
  expect_eq "login" 200 "$CODE"
  TOK=$(jget "d['access_token']")
}
expect_field() { # NAME STATUS FIELD: the last answer's status and error field
  expect_eq "$1: status" "$2" "$CODE"
  expect_json "$1: field" "d['error']['field']" "$3"
}

# ---- 1. replay --------------------------------------------------------------------------------
# TCS on Tuesday 2024-01-02, minutes k = 0..9 from 09:15: a tick at :10 at 100.5 + k (qty 10) and
# one at :40 at 100 + k (qty 5). So the 1m bar k is O = H = 100.5 + k, L = C = 100 + k, volume 15;
# bars 0..8 are complete, bar 9 (09:24) is forming (the data ends inside it).
CSV="$TMP/ticks.csv"
{
  echo "timestamp,symbol,ltp,qty"
  for k in $(seq 0 9); do
    printf '2024-01-02T09:%02d:10,TCS,%d.5,10\n' $((15 + k)) $((100 + k))
    printf '2024-01-02T09:%02d:40,TCS,%d,5\n' $((15 + k)) $((100 + k))
  done
} >"$CSV"

mkdir -p "$TMP/replay"
start_server "sqlite:$TMP/replay.db" ATP_ADMIN_EMAIL=root@example.com ATP_ADMIN_PASSWORD="correct horse" \
  ATP_FEED="replay:$CSV" ATP_FEED_SPEED=max ATP_REPLAY_DIR="$TMP/replay"
login
for _ in $(seq 1 100); do # the feed thread plays the file at once; wait for its last tick
  as "$TOK" GET "/api/v1/market/quote?symbol=TCS"
  [ "$(jget "d['last']")" == "109" ] && break
  sleep 0.05
done
as "$TOK" GET /api/v1/admin/market/status
expect_json "replay status: ended, every tick in, at the last tick's time" \
  "(d['feed'], d['state'], d['speed'], d['items'], d['ticks_accepted'], d['time'], d['progress'])" \
  "('replay', 'ended', 0, 20, 20, '2024-01-02T09:24:40+05:30', 1.0)"
as "$TOK" GET "/api/v1/market/candles?symbol=TCS&tf=1m&count=500"
expect_eq "replay candles" 200 "$CODE"
expect_json "replay: 9 complete bars, oldest first" \
  "[(b['time'][11:16], b['open'], b['high'], b['low'], b['close'], b['volume'], b['ticks']) for b in d['items']][::4]" \
  "[('09:15', 100.5, 100.5, 100, 100, 15, 2), ('09:19', 104.5, 104.5, 104, 104, 15, 2), ('09:23', 108.5, 108.5, 108, 108, 15, 2)]"
expect_json "replay: count, tf, symbol" "(d['count'], len(d['items']), d['tf'], d['symbol'])" "(9, 9, '1m', 'TCS')"
expect_json "replay: the forming bar" \
  "(d['forming']['time'], d['forming']['ts_ns'], d['forming']['open'], d['forming']['close'], d['forming']['volume'])" \
  "('2024-01-02T09:24:00+05:30', 1704167640000000000, 109.5, 109, 15)"
expect_json "replay: times are exact minutes apart" \
  "{d['items'][i+1]['ts_ns'] - d['items'][i]['ts_ns'] for i in range(8)}" "{60000000000}"
as "$TOK" GET "/api/v1/market/candles?symbol=TCS&count=2"
expect_json "count=2: the 2 newest, tf defaults to 1m" "([b['close'] for b in d['items']], d['tf'], d['forming']['close'])" \
  "([107, 108], '1m', 109)"
as "$TOK" GET "/api/v1/market/candles?symbol=tcs&tf=5m"
expect_json "5m: one complete bar folded from five, the second forming" \
  "([(b['time'][11:16], b['open'], b['high'], b['low'], b['close'], b['volume']) for b in d['items']], d['forming']['time'][11:16], d['forming']['high'], d['forming']['low'])" \
  "([('09:15', 100.5, 104.5, 100, 104, 75)], '09:20', 109.5, 105)"
as "$TOK" GET "/api/v1/market/quote?symbol=TCS"
expect_eq "quote" 200 "$CODE"
expect_json "quote: last = the last candle's close, the day's OHLCV" \
  "(d['last'], d['time'], d['day'])" \
  "(109, '2024-01-02T09:24:40+05:30', {'date': '2024-01-02', 'open': 100.5, 'high': 109.5, 'low': 100, 'close': 109, 'volume': 150})"
as "$TOK" GET "/api/v1/market/quote?symbol=INFY"
expect_json "quote of a symbol without data: nulls" "(d['symbol'], d['last'], d['day'])" "('INFY', None, None)"
as "$TOK" GET "/api/v1/market/candles?symbol=INFY"
expect_json "candles of a symbol without data: none" "(d['items'], d['forming'])" "([], None)"

# An indicator over the stored candles: SMA(3) of the closes 100..108.
as "$TOK" POST /api/v1/indicators/sma/calculate '{"symbol":"TCS","tf":"1m","params":{"period":3}}'
expect_eq "sma over candles" 200 "$CODE"
expect_json "sma(3) over the stored closes" "([i['values'][0] for i in d['items']], d['params'], d['bars'], d['lookback'])" \
  "([None, None, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0, 107.0], {'period': 3}, 9, 2)"
expect_json "sma: times of the bars" "(d['items'][-1]['time'], d['symbol'], d['tf'])" "('2024-01-02T09:23:00+05:30', 'TCS', '1m')"
as "$TOK" POST /api/v1/indicators/sma/calculate '{"symbol":"TCS","params":{"period":3},"count":1}'
expect_json "count=1: the last value only" "[i['values'][0] for i in d['items']]" "[107.0]"
# The same over a posted series equals the engine's values; objects with OHLCV too.
as "$TOK" POST /api/v1/indicators/sma/calculate '{"series":[100,101,102,103,104,105,106,107,108],"params":{"period":3}}'
expect_json "sma over a series" "[i['values'][0] for i in d['items']][2:]" "[101.0, 102.0, 103.0, 104.0, 105.0, 106.0, 107.0]"
as "$TOK" POST /api/v1/indicators/bbands/calculate \
  '{"series":[{"open":1,"high":2,"low":1,"close":2},{"open":2,"high":4,"low":2,"close":4},{"open":4,"high":6,"low":4,"close":6,"volume":3}],"params":{"period":3,"stddev":1}}'
expect_json "bbands: named outputs, middle = mean" "(d['outputs'], round(d['items'][2]['values'][1], 9))" "(['upper', 'middle', 'lower'], 4.0)"

# Bad input: named fields.
as "$TOK" GET "/api/v1/market/candles"
expect_field "candles without symbol" 400 symbol
expect_json "a query parameter's error code" "d['error']['code']" invalid_query
as "$TOK" GET "/api/v1/market/candles?symbol=NOPE"
expect_field "candles of an unknown symbol" 422 symbol
as "$TOK" GET "/api/v1/market/candles?symbol=TCS&tf=2m"
expect_field "unknown tf" 422 tf
for c in 0 501 -1 abc 1.5; do
  as "$TOK" GET "/api/v1/market/candles?symbol=TCS&count=$c"
  expect_field "count=$c" 422 count
done
as "$TOK" GET "/api/v1/market/quote?symbol=NOPE"
expect_field "quote of an unknown symbol" 422 symbol
as "$TOK" POST /api/v1/indicators/nope/calculate '{"series":[1,2,3]}'
expect_field "unknown indicator" 404 name
as "$TOK" POST /api/v1/indicators/%FF%FE%01/calculate '{"series":[1,2,3]}'
expect_field "an indicator name of invalid UTF-8: still a JSON error" 404 name
as "$TOK" GET "/api/v1/market/candles?symbol=%FF%C3&tf=%FF"
expect_field "a symbol of invalid UTF-8" 422 symbol
as "$TOK" GET "/api/v1/market/candles?symbol=TCS&tf=%FF%0A"
expect_field "a tf of invalid UTF-8" 422 tf
as "$TOK" GET "/api/v1/market/candles?symbol=TCS&count=%FF"
expect_field "a count of invalid UTF-8" 422 count
as "$TOK" POST /api/v1/indicators/sma/calculate '{"series":[1,2,3],"params":{"period":1}}'
expect_field "period below its minimum" 422 params.period
as "$TOK" POST /api/v1/indicators/sma/calculate '{"series":[1,2,3],"params":{"length":3}}'
expect_field "unknown parameter" 422 params.length
as "$TOK" POST /api/v1/indicators/sma/calculate '{"series":[1,2,3],"params":{"period":"3"}}'
expect_field "a parameter that is not a number" 422 params.period
expect_json "a body field's error code" "d['error']['code']" invalid_field
as "$TOK" POST /api/v1/indicators/sma/calculate '{"series":[1,"x",3]}'
expect_field "a bad series element" 422 series
expect_json "the element is named" "'series[1]' in d['error']['message']" "True"
as "$TOK" POST /api/v1/indicators/sma/calculate '{"series":[{"open":1,"high":0,"low":1,"close":1}]}'
expect_field "an inconsistent bar" 422 series
as "$TOK" POST /api/v1/indicators/sma/calculate '{"symbol":"TCS","series":[1]}'
expect_field "both symbol and series" 400 symbol
as "$TOK" POST /api/v1/indicators/sma/calculate '{}'
expect_field "neither symbol nor series" 400 symbol
as "$TOK" POST /api/v1/indicators/sma/calculate '{"symbol":"TCS","tf":"7m"}'
expect_field "calculate: unknown tf" 422 tf
as "$TOK" POST /api/v1/indicators/sma/calculate '{"symbol":"TCS","count":0}'
expect_field "calculate: count 0" 422 count

# Instruments and the catalog.
as "$TOK" GET "/api/v1/instruments?q=reliance&limit=5"
expect_eq "instruments" 200 "$CODE"
expect_json "instruments: the exact symbol first, with exact tick size" \
  "(d['items'][0]['symbol'], d['items'][0]['exchange'], d['items'][0]['type'], d['items'][0]['tick_size'], d['items'][0]['lot_size'])" \
  "('RELIANCE', 'NSE', 'EQ', 0.05, 1)"
as "$TOK" GET "/api/v1/instruments?q=bank&limit=3"
expect_json "instruments: by name too, limit honoured" "(len(d['items']) == 3, d['count'], all('BANK' in (i['symbol'] + i['name']).upper() for i in d['items']))" "(True, 3, True)"
as "$TOK" GET "/api/v1/instruments?limit=0"
expect_field "limit 0" 422 limit
as "$TOK" GET /api/v1/indicators
expect_json "catalog: sma with its period parameter" \
  "[(i['params'][0]['name'], i['params'][0]['type'], i['params'][0]['default'], i['outputs']) for i in d['items'] if i['name'] == 'sma']" \
  "[('period', 'int', 20, ['value'])]"

for path in "/api/v1/instruments" "/api/v1/market/candles?symbol=TCS" "/api/v1/market/quote?symbol=TCS" /api/v1/indicators; do
  as "" GET "$path"
  expect_eq "anonymous $path" 401 "$CODE"
done
as "" POST /api/v1/indicators/sma/calculate '{"series":[1,2,3]}'
expect_eq "anonymous calculate" 401 "$CODE"

# Admin simulator control on the ended replay: a new feed continues the market's clock (a tick
# before it is skipped), seek and start never go back, stop freezes, bad bodies are named.
{
  echo "timestamp,symbol,ltp,qty"
  echo "2024-01-02T09:20:00,TCS,50,1"
  echo "2024-01-02T09:25:10,TCS,200,3"
  echo "2024-01-02T09:26:10,TCS,201,4"
} >"$TMP/replay/more.csv"
as "$TOK" POST /api/v1/admin/market/start '{"mode":"replay","file":"../ticks.csv"}'
expect_field "start: a path out of the replay directory" 422 file
as "$TOK" POST /api/v1/admin/market/start '{"mode":"replay","file":"absent.csv"}'
expect_field "start: a missing file" 422 file
as "$TOK" POST /api/v1/admin/market/start '{"mode":"replay"}'
expect_field "start: replay without file" 400 file
as "$TOK" POST /api/v1/admin/market/start '{"mode":"tape"}'
expect_field "start: unknown mode" 422 mode
as "$TOK" POST /api/v1/admin/market/start '{"mode":"synthetic","symbols":["TCS","NOPE"]}'
expect_field "start: an unknown symbol named by index" 422 "symbols[1]"
as "$TOK" POST /api/v1/admin/market/start '{"mode":"synthetic","from":"2023-12-29"}'
expect_field "start: a day before the market's clock" 409 from
as "$TOK" POST /api/v1/admin/market/start '{"mode":"synthetic","from":"29/12/2023"}'
expect_field "start: from not a date" 422 from
as "$TOK" POST /api/v1/admin/market/seek '{"to":"2024-01-02T09:30:00+05:30"}'
expect_field "seek: the feed has ended" 409 to
as "$TOK" POST /api/v1/admin/market/start '{"mode":"replay","file":"more.csv","speed":"max"}'
expect_eq "start: a replay" 200 "$CODE"
for _ in $(seq 1 100); do
  as "$TOK" GET "/api/v1/market/quote?symbol=TCS"
  [ "$(jget "d['last']")" == "201" ] && break
  sleep 0.05
done
as "$TOK" GET "/api/v1/market/candles?symbol=TCS&tf=1m&count=3"
expect_json "the new feed continues the bars: 09:24 and 09:25 complete, 09:26 forming, the 09:20 tick skipped" \
  "([(b['time'][11:16], b['open'], b['close'], b['volume']) for b in d['items']], d['forming']['time'][11:16], d['forming']['close'])" \
  "([('09:23', 108.5, 108, 15), ('09:24', 109.5, 109, 15), ('09:25', 200, 200, 3)], '09:26', 201)"
as "$TOK" GET /api/v1/admin/market/status
expect_json "status after the second replay" "(d['feed'], d['state'], d['time'])" "('replay', 'ended', '2024-01-02T09:26:10+05:30')"
as "$TOK" POST /api/v1/admin/market/stop
expect_json "stop" "d['state']" stopped
as "$TOK" POST /api/v1/admin/market/stop
expect_json "stop again" "d['state']" stopped
as "$TOK" GET "/api/v1/admin/audit?action=market.start"
expect_json "start is audited (the refused ones are not starts)" \
  "[(i['details']['mode'], i['details']['file'][-8:]) for i in d['items']]" "[('replay', 'more.csv')]"
stop_server

# ---- 2. the simulator --------------------------------------------------------------------------
# start_server passes its extra words to env, so the options go through a wrapper script.
ATP_REAL=$ATP
ATP="$TMP/atp-sim"
printf '#!/bin/sh\nexec "%s" "$@" --feed synthetic --seed 7 --speed 100\n' "$ATP_REAL" >"$ATP"
chmod +x "$ATP"
start_server "sqlite:$TMP/sim2.db" ATP_ADMIN_EMAIL=root@example.com ATP_ADMIN_PASSWORD="correct horse"
ATP=$ATP_REAL
login
# The warm-up day is played at once. (Between two ticks the engine's clock can pass a bar's end
# and complete it before the next tick opens the next one: then no bar is forming for a moment.)
for _ in $(seq 1 200); do
  as "$TOK" GET "/api/v1/market/candles?symbol=RELIANCE&tf=1m&count=500"
  [ "$(jget "d['count'] >= 375 and d['forming'] is not None")" == True ] && break
  sleep 0.1
done
expect_json "sim: history at once (a whole warm-up day of 1m bars)" "d['count'] >= 375 and d['count'] <= 500 and d['forming'] is not None" "True"
python3 - "$TMP/body" <<'EOF' >"$TMP/check" 2>&1
import json, sys
d = json.load(open(sys.argv[1]))
IST = 19800 * 10**9
bars = d["items"] + [d["forming"]]
bad = []
for b in bars:
    if not (b["low"] <= min(b["open"], b["close"]) and max(b["open"], b["close"]) <= b["high"]):
        bad.append(("ohlc", b["time"]))
    t = (b["ts_ns"] + IST) % (86400 * 10**9)
    if t % (60 * 10**9) or not (9 * 3600 + 15 * 60) * 10**9 <= t < (15 * 3600 + 30 * 60) * 10**9:
        bad.append(("aligned", b["time"]))
    if b["volume"] <= 0 or b["ticks"] <= 0:
        bad.append(("volume", b["time"]))
    if round(b["close"] * 20) != b["close"] * 20:
        bad.append(("tick size", b["close"]))
if any(bars[i]["ts_ns"] >= bars[i + 1]["ts_ns"] for i in range(len(bars) - 1)):
    bad.append("order")
print(bad)
EOF
expect_eq "sim: 1m bars well-formed, aligned, on the tick size, in order" "[]" "$(cat "$TMP/check")"
as "$TOK" GET "/api/v1/market/candles?symbol=NIFTY&tf=15m&count=3"
expect_json "sim: 15m bars aligned to 09:15 + 15k minutes, count honoured" \
  "(d['count'], all(((b['ts_ns'] + 19800 * 10**9) // 60000000000 % 1440 - 555) % 15 == 0 for b in d['items'] + [d['forming'] or d['items'][-1]]))" \
  "(3, True)"
as "$TOK" GET "/api/v1/market/quote?symbol=NIFTY"
Q1=$(jget "d['ts_ns']")
sleep 1.5
as "$TOK" GET "/api/v1/market/quote?symbol=NIFTY"
expect_json "sim: ticks keep arriving (speed 100)" "d['ts_ns'] > $Q1" "True"
# The quote's last price is the forming candle's close: compared with the market paused, since at
# speed 100 a tick arrives every few milliseconds, between any two requests. (A forming bar may
# be missing right after a minute ends: retry then.)
match=no
for _ in $(seq 1 20); do
  as "$TOK" POST /api/v1/admin/market/pause
  as "$TOK" GET "/api/v1/market/quote?symbol=TCS"
  cp "$TMP/body" "$TMP/quote"
  as "$TOK" GET "/api/v1/market/candles?symbol=TCS&count=1"
  got=$(python3 -c "import json; q=json.load(open('$TMP/quote')); c=json.load(open('$TMP/body')); f=c['forming']; print('none' if f is None else q['last'] == f['close'] and q['day']['high'] >= f['high'] and q['day']['low'] <= f['low'])")
  as "$TOK" POST /api/v1/admin/market/resume
  [ "$got" == none ] && { sleep 0.1; continue; }
  [ "$got" == True ] && match=yes
  break
done
expect_eq "sim: quote = the forming candle's close, inside the day's range" yes "$match"
as "$TOK" GET /api/v1/admin/market/status
expect_json "sim status: running at speed 100, the warm-up day's ticks and more in" \
  "(d['feed'], d['state'], d['speed'], d['ticks_accepted'] > 200000, d['bars_completed'] > 375 * 7)" \
  "('synthetic', 'running', 100, True, True)"
# Admin control: pause freezes market time, resume continues, speed changes the pace.
as "$TOK" POST /api/v1/admin/market/pause
expect_json "pause" "d['state']" paused
as "$TOK" GET "/api/v1/market/quote?symbol=NIFTY"
Q1=$(jget "d['ts_ns']")
sleep 0.7
as "$TOK" GET "/api/v1/market/quote?symbol=NIFTY"
expect_json "paused: no tick arrives" "d['ts_ns']" "$Q1"
as "$TOK" POST /api/v1/admin/market/resume
expect_json "resume" "d['state']" running
sleep 0.7
as "$TOK" GET "/api/v1/market/quote?symbol=NIFTY"
expect_json "resumed: ticks arrive again" "d['ts_ns'] > $Q1" "True"
# Seek: forward only, at most 30 days, the market's clock jumps.
as "$TOK" GET /api/v1/admin/market/status
NOW_NS=$(python3 -c "import json; print(json.load(open('$TMP/body'))['ts_ns'])")
as "$TOK" POST /api/v1/admin/market/seek '{"to":"2020-01-01"}'
expect_field "seek backwards" 409 to
as "$TOK" POST /api/v1/admin/market/seek '{"to":"soon"}'
expect_field "seek: not a time" 422 to
TO=$(python3 -c "import datetime; print(datetime.datetime.fromtimestamp($NOW_NS / 1e9 + 40 * 86400, datetime.timezone.utc).isoformat())")
as "$TOK" POST /api/v1/admin/market/seek "{\"to\":\"$TO\"}"
expect_field "seek more than 30 days" 409 to
TO=$(python3 -c "import datetime; print(datetime.datetime.fromtimestamp($NOW_NS / 1e9 + 3600, datetime.timezone.utc).isoformat())")
as "$TOK" POST /api/v1/admin/market/seek "{\"to\":\"$TO\"}"
expect_eq "seek an hour ahead" 200 "$CODE"
for _ in $(seq 1 60); do
  as "$TOK" GET /api/v1/admin/market/status
  [ "$(jget "d['ts_ns'] >= $NOW_NS + 3600 * 10**9")" == True ] && break
  sleep 0.1
done
expect_json "seek: market time is past the target" "d['ts_ns'] >= $NOW_NS + 3600 * 10**9" True
as "$TOK" POST /api/v1/admin/market/speed '{"speed":"0.5"}'
expect_json "speed 0.5" "(d['speed'], d['state'])" "(0.5, 'running')"
for sp in max 1000 0 abc 0.1; do
  as "$TOK" POST /api/v1/admin/market/speed "{\"speed\":\"$sp\"}"
  expect_field "speed $sp refused for the simulator" 422 speed
done
as "$TOK" GET "/api/v1/admin/audit?action=market.speed"
expect_json "speed changes are audited (the refused ones are not changes)" \
  "(len(d['items']), d['items'][0]['details']['speed'], d['items'][0]['resource'])" "(1, 0.5, 'market')"
as "$TOK" POST /api/v1/auth/register '{"email":"t@example.com","name":"T","password":"correct horse"}'
as "" POST /api/v1/auth/login '{"email":"t@example.com","password":"correct horse"}'
TT=$(jget "d['access_token']")
for r in status; do
  as "$TT" GET /api/v1/admin/market/$r
  expect_eq "$r: a trader 403" 403 "$CODE"
done
for r in pause resume stop start seek; do
  as "$TT" POST /api/v1/admin/market/$r
  expect_eq "$r: a trader 403" 403 "$CODE"
done
stop_server

# ---- 3. bad feed options ----------------------------------------------------------------------
expect_status "--feed bogus" 2 "$ATP" serve --db "sqlite:$TMP/x.db" --feed bogus
expect_err_contains "--feed named" "--feed must be synthetic, replay:FILE"
expect_status "--speed 1000" 2 "$ATP" serve --db "sqlite:$TMP/x.db" --speed 1000
expect_err_contains "--speed named" "--speed must be a number in 0.5..100"
expect_status "ATP_FEED_SEED -1" 2 env ATP_FEED_SEED=-1 "$ATP" serve --db "sqlite:$TMP/x.db"
expect_err_contains "ATP_FEED_SEED named" "ATP_FEED_SEED must be an integer"
expect_status "synthetic at max speed" 1 "$ATP" serve --db "sqlite:$TMP/x.db" --listen 127.0.0.1:0 --speed max
expect_err_contains "speed max refused for the simulator" "speed max (as fast as possible) is for replays"
expect_status "replay of a missing file" 1 "$ATP" serve --db "sqlite:$TMP/x.db" --listen 127.0.0.1:0 \
  --feed "replay:$TMP/absent.csv"
expect_err_contains "the missing file named" "absent.csv"
printf 'timestamp,symbol,ltp\n2024-01-02T09:15:00,NOPE,1\n' >"$TMP/badsym.csv"
expect_status "replay with an unknown symbol" 1 "$ATP" serve --db "sqlite:$TMP/x.db" --listen 127.0.0.1:0 \
  --feed "replay:$TMP/badsym.csv"
expect_err_contains "file and line named" "badsym.csv:2"
finish
