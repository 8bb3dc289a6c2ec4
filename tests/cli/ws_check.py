"""The WebSocket endpoint /ws over a real client against a started `atp serve` (the simulator
feed, ATP_WS_RECHECK_S=1): run by test_ws.sh on SQLite and PostgreSQL.

  ws_check.py BASE_URL ATP_BINARY DB_URL LABEL ADMIN_EMAIL

Checks: authentication (header, ?token=, none, forged, a logged-out session refused at the upgrade
and an open socket of it closed with 1008), ping, subscribe/unsubscribe with acks and sequence
numbers, market conflation (at most 10 quotes/s per symbol, measured), the chart snapshot equal
to REST candles then forming/bar events, notifications delivered within 500 ms of the action that
stores them (and to nobody else) and stored, the system channel for admins only, every error
named, a socket that keeps working after bad input, /metrics counting open sockets."""

import json
import sys
import time

from atp_api import Api, World
from ws_client import Client, Refused

problems = []


def check(name, cond, detail=""):
    if not cond:
        problems.append(f"{name}: {detail}")
        print(f"FAIL: {name}: {detail}", file=sys.stderr)


def expect_refused(name, base, token, status, code, via="header"):
    try:
        c = Client(base, token, via=via)
        c.close()
        check(name, False, "the upgrade was accepted")
    except Refused as e:
        body = {}
        try:
            body = json.loads(e.body)
        except ValueError:
            pass
        check(name, e.status == status and body.get("error", {}).get("code") == code,
              f"got {e.status} {e.body!r}, want {status} {code}")


def auth(base, w):
    c = Client(base, w.token["owner"])
    a = c.op({"op": "ping"})
    check("header token: pong", a and a.get("op") == "pong" and a.get("server_ts_ns", 0) > 0, a)
    c.close()
    c = Client(base, w.token["owner"], via="query")
    a = c.op({"op": "ping"})
    check("?token=: pong", a and a.get("op") == "pong", a)
    c.close()
    expect_refused("no token: 401", base, None, 401, "unauthenticated")
    tok = w.token["owner"]
    forged = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
    expect_refused("forged token: 401", base, forged, 401, "unauthenticated")
    expect_refused("forged ?token=: 401", base, forged, 401, "unauthenticated", via="query")
    # A session that ends: refused at the next upgrade, and its open socket is closed (1008) at
    # the periodic re-check (ATP_WS_RECHECK_S=1).
    who = w.scratch_actor("ws_scratch")
    login = w.api.login(w.email[who])
    c = Client(base, login["access_token"])
    r = w.api.request("POST", "/api/v1/auth/logout", token=login["access_token"],
                      body={"refresh_token": login["refresh_token"]})
    check("logout", r.status in (200, 204), r)
    expect_refused("logged-out session: 401", base, login["access_token"], 401, "session_expired")
    code = close_code(c, 5)
    check("open socket of a logged-out session closed with 1008", code == 1008, f"close code {code}")


def close_code(c, seconds):
    """Reads until the server closes c; the close code (None: not closed within seconds)."""
    import struct
    import websocket
    deadline = time.time() + seconds
    while time.time() < deadline:
        c.ws.settimeout(max(0.1, deadline - time.time()))
        try:
            op, frame = c.ws.recv_data_frame(True)
        except websocket.WebSocketTimeoutException:
            continue
        except websocket.WebSocketConnectionClosedException:
            return -1
        if op == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", frame.data[:2])[0] if len(frame.data) >= 2 else 1005
    return None


def errors(base, w):
    c = Client(base, w.token["owner"])
    cases = [
        ("malformed JSON", "{nope", "malformed_json", "message"),
        ("not an object", "[1,2]", "malformed_json", "message"),
        ("no op", {"channel": "market"}, "invalid_field", "op"),
        ("unknown op", {"op": "dance"}, "unknown_op", "op"),
        ("unknown channel", {"op": "subscribe", "channel": "gossip"}, "unknown_channel", "channel"),
        ("account channel without account_id", {"op": "subscribe", "channel": "orders"}, "invalid_field",
         "account_id"),
        ("account_id not an id", {"op": "subscribe", "channel": "orders", "account_id": "x1"}, "invalid_field",
         "account_id"),
        ("market without symbol", {"op": "subscribe", "channel": "market"}, "invalid_field", "symbol"),
        ("unknown symbol", {"op": "subscribe", "channel": "market", "symbol": "NOSUCHCO"}, "invalid_field",
         "symbol"),
        ("bad timeframe", {"op": "subscribe", "channel": "chart", "symbol": "TCS", "tf": "7m"}, "invalid_field",
         "tf"),
        ("unknown field", {"op": "subscribe", "channel": "market", "symbol": "TCS", "sybmol": 1}, "invalid_field",
         "sybmol"),
        ("symbol on an account channel", {"op": "subscribe", "channel": "orders", "account_id": w.account_a,
                                          "symbol": "TCS"}, "invalid_field", "symbol"),
        ("unsubscribe what is not subscribed", {"op": "unsubscribe", "channel": "market", "symbol": "INFY"},
         "not_subscribed", "channel"),
        ("oversized message", {"op": "ping", "pad": "x" * 5000}, "message_too_large", "message"),
    ]
    for name, msg, code, field in cases:
        if isinstance(msg, dict) and "pad" not in msg and not isinstance(msg, str):
            a = c.op(msg)
        else:
            c.send(msg)
            a = c.until(lambda m: m.get("op") == "error")
        check(f"error: {name}", a and a.get("op") == "error" and a.get("code") == code and a.get("field") == field
              and a.get("message"), f"got {a}, want {code} naming {field}")
    c.ws.send_binary(b"\x00\x01")
    a = c.until(lambda m: m.get("op") == "error")
    check("error: a binary frame", a and a.get("code") == "malformed_json", a)
    a = c.op({"op": "ping"})
    check("the socket still works after bad input", a and a.get("op") == "pong", a)
    c.close()


def market(base, w):
    c = Client(base, w.token["invited_investor"])
    syms = ["RELIANCE", "TCS", "INFY"]
    for s in syms:
        a = c.op({"op": "subscribe", "channel": "market", "symbol": s.lower()})
        check(f"market {s}: subscribed (symbol normalised)", a and a.get("op") == "subscribed" and a["symbol"] == s
              and isinstance(a.get("seq"), int), a)
    snaps = {}
    msgs = c.drain(3.0)
    counts = {s: 0 for s in syms}
    seqs = {s: [] for s in syms}
    t_first = {}
    for m in msgs:
        if m.get("channel") != "market":
            continue
        if m["event"] == "snapshot":
            snaps[m["symbol"]] = m
        elif m["event"] == "quote":
            counts[m["symbol"]] += 1
            seqs[m["symbol"]].append(m["seq"])
            t_first.setdefault(m["symbol"], time.time())
            check("quote data is the REST quote's shape",
                  set(m["data"]) == {"symbol", "last", "time", "ts_ns", "day"} and m["data"]["symbol"] == m["symbol"],
                  m)
    for s in syms:
        check(f"market {s}: a snapshot first", s in snaps and snaps[s]["data"]["symbol"] == s, snaps.get(s))
        # 3 s at most 10/s: 30, plus one for the window's edges.
        check(f"market {s}: conflated to <= 10 quotes/s", 0 < counts[s] <= 31, f"{counts[s]} quotes in 3 s")
        check(f"market {s}: seq increases", seqs[s] == sorted(set(seqs[s])), seqs[s][:20])
    print(f"{w.label}: market quotes in 3 s per symbol: {counts}")
    a = c.op({"op": "unsubscribe", "channel": "market", "symbol": "TCS"})
    check("unsubscribe: acked", a and a.get("op") == "unsubscribed" and a.get("symbol") == "TCS", a)
    c.drain(0.3)
    late = [m for m in c.drain(1.0) if m.get("channel") == "market" and m.get("symbol") == "TCS"]
    check("unsubscribe: no more TCS quotes", not late, late[:2])
    c.close()


def chart(base, w):
    for attempt in range(3):
        c = Client(base, w.token["other_trader"])
        a = c.op({"op": "subscribe", "channel": "chart", "symbol": "TCS", "tf": "1h"})
        check("chart: subscribed", a and a.get("op") == "subscribed" and a["tf"] == "1h", a)
        snap = c.until(lambda m: m.get("channel") == "chart" and m.get("event") == "snapshot")
        r = w.as_("other_trader", "GET", "/api/v1/market/candles?symbol=TCS&tf=1h&count=500")
        if snap and r.status == 200 and snap["data"]["items"] == r.json["items"]:
            break
        c.close()  # a bar completed between the two reads: once more
    else:
        check("chart snapshot = REST candles (complete bars)", False,
              f"{len(snap['data']['items']) if snap else None} vs {r.json and len(r.json['items'])}")
    check("chart snapshot: the REST shape", snap and set(snap["data"]) == {"symbol", "tf", "count", "items", "forming"}
          and snap["data"]["count"] > 0, snap and list(snap["data"]))
    # Indicators: on subscribe the calculate route's answer over the same candles, then one value
    # per completed bar; a bad indicator is refused naming it.
    sma = {"name": "sma", "params": {"period": 3}}
    for attempt in range(3):
        a = c.op({"op": "subscribe", "channel": "chart", "symbol": "TCS", "tf": "1h", "indicators": [sma]})
        ind = c.until(lambda m: m.get("event") == "indicator" and m.get("tf") == "1h")
        r = w.as_("other_trader", "POST", "/api/v1/indicators/sma/calculate",
                  body={"symbol": "TCS", "tf": "1h", "params": {"period": 3}, "count": 500})
        if ind and r.status == 200 and ind["data"] == r.json:
            break
    else:
        check("chart indicator snapshot = the calculate route", False, (ind and ind["data"].get("bars"), r))
    for bad, field in (({"name": "nosuch"}, "indicators[0].name"), ({"name": "sma", "params": {"period": -1}},
                                                                    "indicators[0].params.period"),
                       ({"name": "sma", "colour": 1}, "indicators[0]")):
        a = c.op({"op": "subscribe", "channel": "chart", "symbol": "TCS", "tf": "1h", "indicators": [bad]})
        check(f"chart: bad indicator {bad} refused naming {field}", a and a.get("op") == "error"
              and a.get("field") == field, a)
    a = c.op({"op": "subscribe", "channel": "chart", "symbol": "TCS", "tf": "1m", "indicators": [sma]})
    msgs = c.drain(2.5)
    inds = [m for m in msgs if m.get("event") == "indicator" and m.get("tf") == "1m"]
    check("chart 1m: indicator values as bars complete", len(inds) >= 2 and inds[-1]["data"]["name"] == "sma"
          and len(inds[-1]["data"]["items"]) == 1, len(inds))
    forming = [m for m in msgs if m.get("event") == "forming" and m.get("tf") == "1m"]
    bars = [m for m in msgs if m.get("event") == "bar" and m.get("tf") == "1m"]
    check("chart 1m: forming updates, conflated", 0 < len(forming) <= 26, len(forming))
    check("chart 1m: bar events when bars complete (simulator at 60x: one a second)", len(bars) >= 1, len(bars))
    snap1m = next((m for m in msgs if m.get("event") == "snapshot" and m.get("tf") == "1m"), None)
    if snap1m and bars:
        last = snap1m["data"]["items"][-1]["ts_ns"]
        check("chart: bar events follow the snapshot", all(b["data"]["ts_ns"] >= last for b in bars),
              [b["data"]["ts_ns"] for b in bars][:3])
        check("chart: a bar is the REST bar shape",
              set(bars[0]["data"]) == {"time", "ts_ns", "open", "high", "low", "close", "volume", "ticks"}, bars[0])
    c.close()


def notifications(base, w):
    owner = Client(base, w.token["owner"])
    other = Client(base, w.token["other_trader"])
    for c in (owner, other):
        a = c.op({"op": "subscribe", "channel": "notifications"})
        check("notifications: subscribed", a and a.get("op") == "subscribed", a)
    t0 = time.time()
    w.grant_investor()  # the acceptance notifies the owner (invitation.accepted)
    t_stored = time.time()
    m = owner.until(lambda m: m.get("channel") == "notifications", timeout=2.0)
    t_got = time.time()
    check("notification delivered", m and m["event"] == "notification" and m["data"]["type"] == "invitation.accepted",
          m)
    # Measured from the response of the action that stored it (it is stored before the answer).
    delay_ms = (t_got - t_stored) * 1000
    check("notification within 500 ms", m is not None and delay_ms <= 500, f"{delay_ms:.0f} ms")
    print(f"{w.label}: notification delivered {delay_ms:.1f} ms after the action answered "
          f"({(t_got - t0) * 1000:.1f} ms after it was sent)")
    if m:
        r = w.as_("owner", "GET", "/api/v1/notifications?limit=1")
        check("the delivered notification is the stored one", r.status == 200 and r.json["items"][0] == m["data"],
              (r.json, m["data"]))
    stray = [x for x in other.drain(0.5) if x.get("channel") == "notifications"]
    check("another user hears nothing of it", not stray, stray[:1])
    owner.close()
    other.close()


def trading(base, w):
    """A paper order placed over REST is heard live on the account's channels (orders, trades,
    positions, dashboard) by the owner and the invited investor, and its fill notifies the owner;
    another tenant cannot subscribe to the account (not_found, as for an absent one)."""
    w.grant_investor()
    acc = w.account_a
    listeners = {}
    for who in ("owner", "invited_investor"):
        c = Client(base, w.token[who])
        for ch in ("orders", "trades", "positions", "dashboard"):
            a = c.op({"op": "subscribe", "channel": ch, "account_id": acc})
            check(f"trading: {who} subscribed to {ch}", a and a.get("op") == "subscribed", a)
        listeners[who] = c
    c = listeners["owner"]
    a = c.op({"op": "subscribe", "channel": "notifications"})
    check("trading: owner subscribed to notifications", a and a.get("op") == "subscribed", a)
    stranger = Client(base, w.token["other_trader"])
    a = stranger.op({"op": "subscribe", "channel": "orders", "account_id": acc})
    check("trading: another tenant is refused as for an absent account",
          a and a.get("op") == "error" and a.get("code") == "not_found", a)
    stranger.close()
    t0 = time.time()
    r = w.as_("owner", "POST", f"/api/v1/accounts/{acc}/orders", body={"symbol": "TCS", "side": "BUY", "qty": 1})
    check("trading: order placed", r.status == 201, r)
    oid = r.json["id"] if r.status == 201 else None
    for who, lc in listeners.items():
        got = {}
        def seen(m):
            if m.get("channel") in ("orders", "trades", "positions", "dashboard") and \
                    m.get("data", {}).get("account_id") == acc:
                got.setdefault((m["channel"], m["event"]), m["data"])
            return ("orders", "order_update") in got and ("trades", "fill") in got and \
                ("positions", "position") in got and ("dashboard", "summary") in got
        lc.until(seen, timeout=3.0)
        check(f"trading: {who} hears order_update, fill, position and summary", len(got) >= 4, sorted(got))
        o = got.get(("orders", "order_update"), {})
        check(f"trading: {who}: the order event is the REST order", o.get("id") == oid and o.get("symbol") == "TCS", o)
        f = got.get(("trades", "fill"), {})
        check(f"trading: {who}: the fill", f.get("order_id") == oid and f.get("qty") == 1, f)
    m = c.until(lambda m: m.get("channel") == "notifications", timeout=3.0)
    check("trading: the fill notifies the owner", m and m["data"]["type"] == "order" and
          m["data"]["title"].startswith("Order filled: BUY 1 TCS"), m)
    print(f"{w.label}: order events and the fill notification heard within {(time.time() - t0) * 1000:.0f} ms")
    for lc in listeners.values():
        lc.close()


def system(base, w):
    c = Client(base, w.token["admin"])
    a = c.op({"op": "subscribe", "channel": "system"})
    check("system: admin subscribed", a and a.get("op") == "subscribed", a)
    m = c.until(lambda m: m.get("channel") == "system", timeout=2.5)
    check("system: a status each second", m and m["event"] == "status" and m["data"]["market"]["feed"] == "synthetic"
          and m["data"]["server"]["websockets_open"] >= 1, m)
    r = w.api.request("GET", "/metrics")
    text = r.body.decode() if isinstance(r.body, bytes) else r.body
    line = [x for x in text.splitlines() if x.startswith("atp_websockets_open ")]
    check("/metrics: open WebSockets counted", line and int(line[0].split()[1]) >= 1, line)
    c.close()
    t = Client(base, w.token["owner"])
    a = t.op({"op": "subscribe", "channel": "system"})
    check("system: a trader is refused", a and a.get("code") == "forbidden" and a.get("field") == "channel", a)
    t.close()


def slow_consumer(base, w):
    """A client that asks for much and reads nothing: its queue (8 MiB) overflows and the server
    closes it with 1008 "slow consumer" instead of holding the memory; others are unaffected."""
    c = Client(base, w.token["owner"])
    c.ws.sock.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 4096)
    for i in range(400):  # each repeated chart subscription queues a fresh ~60 KB snapshot
        c.send({"op": "subscribe", "channel": "chart", "symbol": "TCS", "tf": "1m"})
    time.sleep(2.0)
    code = close_code(c, 20)
    check("a slow consumer is closed with 1008", code == 1008, f"close code {code}")
    other = Client(base, w.token["owner"])
    a = other.op({"op": "ping"})
    check("others are unaffected", a and a.get("op") == "pong", a)
    other.close()
    r = w.api.request("GET", "/metrics")
    text = r.body.decode() if isinstance(r.body, bytes) else r.body
    line = [x for x in text.splitlines() if x.startswith("atp_ws_dropped_slow_total ")]
    check("/metrics counts the drop", line and int(line[0].split()[1]) >= 1, line)


def main():
    base, atp, db, label, admin_email = sys.argv[1:6]
    api = Api(base)
    w = World(api, atp, db, label, admin_email)
    for part in (auth, errors, market, chart, notifications, trading, system, slow_consumer):
        try:
            part(base, w)
        except Exception as e:  # a crash of one part is a failure, the others still run
            check(part.__name__, False, f"raised {e!r}")
    print(f"{label}: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
