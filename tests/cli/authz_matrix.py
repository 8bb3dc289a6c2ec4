"""The live authorization matrix: every operation of the running server's OpenAPI document (which
the route table generates, so it covers every route) x the six actors, sent over HTTP and compared
with authz_expected.tsv. Run by test_authz_matrix.sh against a started `atp serve`.

  authz_matrix.py BASE_URL ATP_BINARY DB_URL LABEL ADMIN_EMAIL EXPECTED_TSV

Each route's path parameters come from the fixtures (atp_api.World.base_params: an unknown
parameter name fails loudly), its body from authz_expected.tsv's body column when given (JSON with
{placeholders}, see substitute) or else from its request schema (required fields). Routes that
consume what they act on (revoke, delete, logout, accept, reject, ...) get a fresh resource before
every call from SETUP below, and routes that leave the caller in another state (2FA) are undone by
TEARDOWN after every call, so the order of routes and actors never matters. Besides the matrix:
every cell expected to be 404 must answer exactly like the same request on absent ids (status and
body), so a 404 never tells another tenant's resource from a missing one.

Adding a route: one row in authz_expected.tsv; plus a SETUP entry when the route destroys or uses
up its resource (and a TEARDOWN entry when it changes its caller); plus a base_params entry in atp_api.py when it has a new path parameter name."""

import json
import re
import sys

from atp_api import ABSENT_ID, ACTORS, PASSWORD, Api, World, body_from_schema, fill_path, \
    param_values, totp_code, uniq


def fresh_refresh(w, who):
    return {"refresh_token": w.fresh_refresh_token(who)}


def fresh_invitation_for(invitee):
    return lambda w, who: {"params": {"id": w.invite(w.email[invitee])}}


# Per route name: called before every call of that route as actor who; returns placeholder values
# for the body ({name}) and, under "params", path parameters overriding the fixtures.
SETUP = {
    "auth.refresh": fresh_refresh,
    "auth.logout": fresh_refresh,
    "accounts.invitations.revoke":
        lambda w, who: {"params": {"invitation_id": w.invite(f"revokee-{uniq()}@example.com")}},
    "accounts.access.revoke": lambda w, who: (w.grant_investor(), {})[1],
    "invitations.accept": fresh_invitation_for("invited_investor"),
    "invitations.reject": fresh_invitation_for("invited_investor"),
    # A fresh user, so a role or status change never touches an actor (nor the admin itself).
    "admin.users.update": lambda w, who: {"params": {"id": w.fresh_user()}},
    "admin.users.unlock": lambda w, who: {"params": {"id": w.fresh_locked_user()}},
    "accounts.brokers.delete": lambda w, who: {"params": {"conn_id": w.create_broker_conn()}},
    # Unread, so the owner's allow cell really marks one read.
    "notifications.read": lambda w, who: {"params": {"id": w.fresh_owner_notification()}},
    # 2FA state of the caller (the owner for anonymous): verify needs a pending enrolment and its
    # current code; disable needs 2FA on (the body gives the password). me.password needs none: its
    # body sets the fixture password again, and the caller's own session (the actor's token) stays.
    "me.totp.verify": lambda w, who: {"code": totp_code(w.totp_enrol(who))},
    "me.totp.disable": lambda w, who: (w.totp_enable(who), {})[1],
    # Strategies: the body names account A; a delete consumes a fresh stopped strategy of A.
    "strategies.create": lambda w, who: {"account_id": w.account_a},
    "strategies.delete": lambda w, who: {"params": {"id": w.create_strategy()}},
    # A fresh backtest of the owner tied to A (queued, running or already done: the owner's cell
    # is allow either way, 200/202/409; everyone else's answer does not depend on its state).
    "backtests.cancel": lambda w, who: {"params": {"id": w.create_backtest()}},
}

# Per route name: called after every call of that route as actor who (whatever it answered), to
# put the caller back as the fixtures have it: no 2FA, so its logins need no code.
TEARDOWN = {
    "me.totp.enrol": lambda w, who: w.totp_off(who),
    "me.totp.verify": lambda w, who: w.totp_off(who),
    "me.totp.disable": lambda w, who: w.totp_off(who),
}


def load_expected(path):
    """{route: (cells[6], body template or None)}; raises on a malformed row."""
    rows = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) not in (7, 8):
                raise ValueError(f"{path}:{lineno}: {len(cols)} tab-separated columns, want 7 or 8")
            for c in cols[1:7]:
                if c != "allow" and not (c.isdigit() and len(c) == 3):
                    raise ValueError(f"{path}:{lineno}: cell '{c}' is not allow or a status")
            if cols[0] in rows:
                raise ValueError(f"{path}:{lineno}: second row for {cols[0]}")
            body = json.loads(cols[7]) if len(cols) == 8 and cols[7] else None
            rows[cols[0]] = (cols[1:7], body)
    return rows


def substitute(value, env):
    """The body template with every "{name}" inside its strings replaced from env; a string that is
    exactly "{name}" of an integer becomes that integer (ids: "account_id":"{account_id}")."""
    if isinstance(value, str):
        m = re.fullmatch(r"\{([a-z_]+)\}", value)
        if m and isinstance(env.get(m.group(1)), int):
            return env[m.group(1)]
        for k, v in env.items():
            value = value.replace("{" + k + "}", str(v))
        return value
    if isinstance(value, dict):
        return {k: substitute(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, env) for v in value]
    return value


def matches(cell, status):
    if cell == "allow":  # allowed: anything but a refusal or a server error
        return status not in (401, 403, 404) and status < 500
    return status == int(cell)


def without_request_ids(v):
    if isinstance(v, dict):
        return {k: without_request_ids(x) for k, x in v.items() if k != "request_id"}
    if isinstance(v, list):
        return [without_request_ids(x) for x in v]
    return v


WS_CHANNELS = ("market", "chart", "orders", "positions", "trades", "strategies", "dashboard",
               "notifications", "system")


def ws_subscription(channel, account_id):
    """The subscribe message of a channel: account channels on account_id, market data on TCS."""
    msg = {"op": "subscribe", "channel": channel}
    if channel in ("market", "chart"):
        msg["symbol"] = "TCS"
    if channel == "chart":
        msg["tf"] = "1m"
    if channel in ("orders", "positions", "trades", "strategies", "dashboard"):
        msg["account_id"] = account_id
    return msg


def ws_matrix(base, w, rows, problems):
    """Every WebSocket channel x actor over /ws against its ws.<channel> row; a 404 must answer
    exactly as the same subscription to an absent account; then a live event (a notification)
    reaches its user and nobody else. Rows of the table printed by main."""
    from ws_client import Client, subscribe_answer
    table = []
    for ch in WS_CHANNELS:
        name = "ws." + ch
        if name not in rows:
            problems.append(f"channel {ch} has no row {name}")
            continue
        cells, _ = rows[name]
        got = []
        for who, cell in zip(ACTORS, cells):
            status, answer = subscribe_answer(base, w.token.get(who), ws_subscription(ch, w.account_a))
            got.append((cell, status))
            if not matches(cell, status):
                problems.append(f"{name} as {who}: {status}, expected {cell}: {str(answer)[:300]}")
            if cell == "404":
                absent = subscribe_answer(base, w.token.get(who), ws_subscription(ch, int(ABSENT_ID)))
                want = dict(answer, account_id=None) if isinstance(answer, dict) else answer
                seen = dict(absent[1], account_id=None) if isinstance(absent[1], dict) else absent[1]
                if (absent[0], seen) != (status, want):
                    problems.append(f"{name} as {who}: another tenant's account answers {answer}, an absent "
                                    f"one {absent[1]}")
        table.append((name, got))
    # Live events: every logged-in actor listens to its notifications; the owner invites the
    # investor (invitation.received, the investor's) who accepts (invitation.accepted, the
    # owner's). Each is heard by its user and by nobody else, admins included.
    clients = {}
    for who in ACTORS[:5]:
        clients[who] = Client(base, w.token[who])
        clients[who].op({"op": "subscribe", "channel": "notifications"})
    w.grant_investor()
    heard = {who: [m["data"] for m in c.drain(0.6) if m.get("channel") == "notifications"]
             for who, c in clients.items()}
    for c in clients.values():
        c.close()
    for who, kind in (("owner", "invitation.accepted"), ("invited_investor", "invitation.received")):
        mine = [n["id"] for n in heard[who] if n.get("type") == kind]
        if not mine:
            problems.append(f"ws.notifications: {who} did not hear its {kind}: {heard[who]}")
        for other, got in heard.items():
            if other != who and any(n["id"] in mine for n in got):
                problems.append(f"ws.notifications: {other} heard {who}'s {kind}")
    return table


def main():
    base, atp, db, label, admin_email, tsv = sys.argv[1:7]
    api = Api(base)
    expected = load_expected(tsv)
    ops = api.operations()
    w = World(api, atp, db, label, admin_email)
    base_params = w.base_params()
    problems = []

    names = {op[0] for op in ops}
    for name in sorted(names - expected.keys()):
        problems.append(f"route {name} has no row in {tsv}")
    ws_rows = {k: v for k, v in expected.items() if k.startswith("ws.")}
    for name in sorted(expected.keys() - names - ws_rows.keys()):
        problems.append(f"{tsv} names {name}, which is no route of the server")
    for name, _m, template, _p, _s in ops:
        try:
            param_values(template, base_params)
        except KeyError as e:
            problems.append(f"{name}: {e.args[0]}")

    table = []  # (route, [(cell, status)] per actor)
    for name, method, template, _params, schema in sorted(ops, key=lambda o: o[0]):
        if name not in expected or any(p.startswith(name + ":") for p in problems):
            continue
        cells, body_template = expected[name]
        got = []
        for who, cell in zip(ACTORS, cells):
            env = {"uid": uniq(), "password": PASSWORD,
                   "self_email": w.email["owner" if who == "anonymous" else who]}
            setup = SETUP.get(name)
            extra = setup(w, who) if setup else {}
            params = param_values(template, base_params)
            params.update(extra.pop("params", {}))
            env.update(extra)
            if body_template is not None:
                body = substitute(body_template, env)
            else:
                body = body_from_schema(schema, env["uid"])
            path = fill_path(template, params)
            r = w.as_(who, method, path, body=body)
            if name in TEARDOWN:
                TEARDOWN[name](w, who)
            got.append((cell, r.status))
            if not matches(cell, r.status):
                problems.append(f"{name} as {who}: {method} {path} -> {r.status}, expected {cell}: "
                                f"{r.body[:300]!r}")
            if cell == "404" and params:
                absent = w.as_(who, method, fill_path(template, {k: ABSENT_ID for k in params}),
                               body=body)
                if (absent.status, without_request_ids(absent.json)) != \
                        (r.status, without_request_ids(r.json)):
                    problems.append(f"{name} as {who}: the hidden resource answers {r!r}, "
                                    f"an absent id {absent!r}")
        table.append((name, got))

    table += ws_matrix(base, w, ws_rows, problems)

    width = max(len(n) for n, _ in table) if table else 10
    print(f"{'route':<{width}}  " + "  ".join(f"{a[:12]:>12}" for a in ACTORS))
    for name, got in table:
        cells = []
        for cell, status in got:
            mark = "" if matches(cell, status) else f"!={cell}"
            cells.append(f"{str(status) + mark:>12}")
        print(f"{name:<{width}}  " + "  ".join(cells))
    for p in problems:
        print("FAIL: " + p, file=sys.stderr)
    print(f"{label}: {len(table)} routes x {len(ACTORS)} actors, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
