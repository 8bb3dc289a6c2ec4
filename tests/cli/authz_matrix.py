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
    """The body template with every "{name}" inside its strings replaced from env."""
    if isinstance(value, str):
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
    for name in sorted(expected.keys() - names):
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
