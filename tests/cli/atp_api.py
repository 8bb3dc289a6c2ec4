"""Shared client for the tests that drive a real `atp serve` over HTTP from python3 (standard
library only): requests with exact control over headers and raw bodies, the operations of the live
OpenAPI document, bodies built from their request schemas, and the six actors of the
authorization tests (admin, owning trader, other trader, invited investor, uninvited investor,
anonymous) with their fixtures. Used by authz_matrix.py and security.py."""

import base64
import hashlib
import hmac
import http.client
import itertools
import json
import os
import re
import struct
import subprocess
import sys
import time
import urllib.parse

PASSWORD = "correct horse battery"  # every test user's password (never in the database in clear)
ABSENT_ID = "999999999"
ACTORS = ("admin", "owner", "other_trader", "invited_investor", "uninvited_investor", "anonymous")

_uniq = itertools.count(1)


def uniq():
    """A token unique within this process and across runs sharing one database. It ends in "u" so
    no token is a prefix of another ("x243" of "x2430"): the leak checks look for secrets as
    substrings, and a name made from a later token must not contain an earlier secret."""
    return f"{os.getpid()}x{next(_uniq)}u"


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # {lower-case name: value}
        self.body = body  # bytes
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def field(self):
        err = (self.json or {}).get("error") if isinstance(self.json, dict) else None
        return err.get("field") if isinstance(err, dict) else None

    def __repr__(self):
        return f"{self.status} {self.body[:200]!r}"


class Api:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port

    def request(self, method, path, token=None, body=None, headers=None, raw=None):
        """body: a JSON-serialisable value; raw: bytes sent as they are (wins over body)."""
        h = {"Connection": "close"}
        if token:
            h["Authorization"] = "Bearer " + token
        data = raw
        if data is None and body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        except (ConnectionError, http.client.HTTPException) as e:
            # Status 0: the server closed the connection without an answer (checks name it).
            return Response(0, {}, f"no answer: {e!r}".encode())
        finally:
            conn.close()

    def login(self, email, password=PASSWORD):
        r = self.request("POST", "/api/v1/auth/login", body={"email": email, "password": password})
        if r.status != 200:
            raise RuntimeError(f"login {email}: {r}")
        return r.json

    def operations(self):
        """[(name, method, template, [param names], request schema or None)] of the live document."""
        r = self.request("GET", "/api/v1/openapi.json")
        if r.status != 200:
            raise RuntimeError(f"openapi.json: {r}")
        ops = []
        for template, item in r.json["paths"].items():
            for method, op in item.items():
                schema = (op.get("requestBody", {}).get("content", {})
                          .get("application/json", {}).get("schema"))
                params = [p["name"] for p in op.get("parameters", []) if p.get("in") == "path"]
                if sorted(params) != sorted(re.findall(r"\{([a-z_]+)\}", template)):
                    raise RuntimeError(f"{op['operationId']}: parameters {params} do not match {template}")
                ops.append((op["operationId"], method.upper(), template, params, schema))
        return ops


def string_for(name, uid):
    """A valid-looking value for a string field, by its name."""
    if "email" in name:
        return f"u{uid}@example.com"
    if "password" in name:
        return PASSWORD
    if name == "role":
        return "investor"
    return f"x{uid}"


def body_from_schema(schema, uid, required_only=True):
    """A JSON object satisfying schema (an OpenAPI object schema of the route table)."""
    if not schema:
        return None
    body = {}
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        if required_only and name not in required:
            continue
        t = prop.get("type")
        body[name] = {"string": lambda: string_for(name, uid), "integer": lambda: 1,
                      "boolean": lambda: False, "object": dict, "array": list}[t]()
    return body


def totp_code(secret_b32, offset_steps=0):
    """The RFC 6238 code (HMAC-SHA-1, 30 s steps, 6 digits, as auth/totp) of the step containing
    now + offset_steps * 30 s, for a base32 secret as enrol answers it (unpadded)."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30 + offset_steps), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7fffffff) % 1000000)


def fill_path(template, values):
    return re.sub(r"\{([a-z_]+)\}", lambda m: urllib.parse.quote(str(values[m.group(1)]), safe=""),
                  template)


def atp_cli(atp, *args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([atp, *args], capture_output=True, text=True, env=e)
    if p.returncode != 0:
        raise RuntimeError(f"atp {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


class World:
    """The six actors and their fixtures on one server:
    admin (ATP_ADMIN_EMAIL), owner (registered through the API; owns account A, with a pending
    invitation to an outsider, an accepted investor grant, a broker connection, and the
    notification of that acceptance), other_trader (registered; owns B), invited_investor and
    uninvited_investor (created with `atp user add --role investor`), and anonymous (no token).
    The server needs a master key (ATP_MASTER_KEY) for the broker connection."""

    def __init__(self, api, atp, db, label, admin_email):
        self.api, self.atp, self.db, self.label = api, atp, db, label
        self.totp_secrets = []  # every TOTP secret enrolled through totp_enrol (leak checks)
        self.email = {"admin": admin_email}
        for who in ACTORS[1:5]:
            self.email[who] = f"{who.replace('_', '-')}-{label}-{uniq()}@example.com"
        for who in ("owner", "other_trader"):
            r = api.request("POST", "/api/v1/auth/register",
                            body={"email": self.email[who], "name": who, "password": PASSWORD})
            if r.status != 201:
                raise RuntimeError(f"register {who}: {r}")
        for who in ("invited_investor", "uninvited_investor"):
            atp_cli(atp, "user", "add", "--db", db, "--email", self.email[who], "--role", "investor",
                    "--name", who, env={"ATP_USER_PASSWORD": PASSWORD})
        self.token, self.user_id = {"anonymous": None}, {}
        for who in ACTORS[:5]:
            login = api.login(self.email[who])
            self.token[who] = login["access_token"]
            self.user_id[who] = login["user"]["id"]
        self.account_a = self.create_account("owner", "A")
        self.account_b = self.create_account("other_trader", "B")
        self.grant_investor()
        self.pending_invitation = self.invite(f"outsider-{label}-{uniq()}@example.com")
        self.broker_conn = self.create_broker_conn()
        self.owner_notification = self.fresh_owner_notification()
        self.strategy = self.create_strategy()
        self.backtest = self.create_backtest(wait=True)

    def as_(self, who, method, path, body=None, raw=None, headers=None):
        return self.api.request(method, path, token=self.token.get(who), body=body, raw=raw,
                                headers=headers)

    def create_account(self, who, name):
        r = self.as_(who, "POST", "/api/v1/accounts", body={"name": f"{name}-{uniq()}"})
        if r.status != 201:
            raise RuntimeError(f"create account {name}: {r}")
        return r.json["id"]

    def invite(self, email, role="investor"):
        """A new pending invitation of account A (owner) to email; its id."""
        r = self.as_("owner", "POST", f"/api/v1/accounts/{self.account_a}/invitations",
                     body={"email": email, "role": role})
        if r.status != 201:
            raise RuntimeError(f"invite {email}: {r}")
        return r.json["id"]

    def grant_investor(self):
        """(Re)grants the invited investor read access to A: invitation + accept (an upsert)."""
        inv = self.invite(self.email["invited_investor"])
        r = self.as_("invited_investor", "POST", f"/api/v1/invitations/{inv}/accept")
        if r.status != 200:
            raise RuntimeError(f"accept {inv}: {r}")

    def create_broker_conn(self, credentials=None):
        """A new broker connection of account A (owner); its id."""
        cred = credentials or {"api_key": f"k-{uniq()}", "api_secret": f"s-{uniq()}"}
        r = self.as_("owner", "POST", f"/api/v1/accounts/{self.account_a}/broker-connections",
                     body={"broker": "kite", "credentials": cred})
        if r.status != 201:
            raise RuntimeError(f"create broker connection (is ATP_MASTER_KEY set?): {r}")
        return r.json["id"]

    def create_strategy(self):
        """A new stopped strategy of account A (owner); its id. Needs the server's market data."""
        r = self.as_("owner", "POST", "/api/v1/strategies",
                     body={"account_id": self.account_a, "type": "sma_crossover", "symbols": ["RELIANCE"],
                           "params": {"fast": 5, "slow": 20}, "risk": {"qty": 1}})
        if r.status != 201:
            raise RuntimeError(f"create strategy: {r}")
        return r.json["id"]

    def fresh_owner_notification(self):
        """The id of a new unread notification of the owner: the invited investor accepts one more
        invitation of A, which notifies the inviter (invitation.accepted)."""
        self.grant_investor()
        r = self.as_("owner", "GET", "/api/v1/notifications?unread=1&limit=1")
        items = (r.json or {}).get("items", []) if r.status == 200 else []
        if not items or items[0].get("type") != "invitation.accepted":
            raise RuntimeError(f"the owner's newest notification is not the acceptance: {r}")
        return items[0]["id"]

    # Ten daily bars on which sma_crossover(2, 3) trades once (tests/data/cli/cross.csv).
    BACKTEST_CSV = ("date,open,high,low,close\n2026-01-05,1001,1003,998,1000\n2026-01-06,1001,1003,998,1000\n"
                    "2026-01-07,1001,1003,998,1000\n2026-01-08,901,903,898,900\n2026-01-09,901,903,898,900\n"
                    "2026-01-12,1201,1203,1198,1200\n2026-01-13,1301,1303,1298,1300\n"
                    "2026-01-14,1101,1103,1098,1100\n2026-01-15,801,803,798,800\n2026-01-16,801,803,798,800\n")

    def create_backtest(self, wait=False):
        """A backtest of the owner tied to account A (so its invited investor may read it); its id.
        wait: until it is done (its trades, equity and report exist)."""
        r = self.as_("owner", "POST", "/api/v1/backtests",
                     body={"strategy": "sma_crossover", "params": {"fast": 2, "slow": 3}, "symbols": ["TCS"],
                           "risk": {"qty": 4}, "account_id": self.account_a,
                           "data": {"source": "csv", "csv": self.BACKTEST_CSV}})
        if r.status != 202:
            raise RuntimeError(f"submit a backtest: {r}")
        bid = r.json["id"]
        for _ in range(300 if wait else 0):
            s = self.as_("owner", "GET", f"/api/v1/backtests/{bid}")
            if s.status == 200 and s.json["status"] not in ("queued", "running"):
                if s.json["status"] != "done":
                    raise RuntimeError(f"the fixture backtest ended {s.json['status']}: {s}")
                break
            time.sleep(0.05)
        return bid

    def fresh_user(self):
        """The id of a new trader registered through the API (for admin routes that change a user)."""
        self.last_fresh_email = f"fresh-{self.label}-{uniq()}@example.com"
        r = self.api.request("POST", "/api/v1/auth/register",
                             body={"email": self.last_fresh_email, "name": "fresh", "password": PASSWORD})
        if r.status != 201:
            raise RuntimeError(f"register a fresh user: {r}")
        return r.json["id"]

    def fresh_locked_user(self, failures=3):
        """The id of a fresh user locked by failed logins (ATP's default threshold is 3)."""
        uid = self.fresh_user()
        email = self.last_fresh_email
        for _ in range(failures):
            self.api.request("POST", "/api/v1/auth/login", body={"email": email, "password": "wrong password!"})
        r = self.api.request("POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD})
        if r.status != 423:
            raise RuntimeError(f"lock a fresh user: {r}")
        return uid

    def scratch_actor(self, who="scratch"):
        """Makes who a new actor: a fresh trader, logged in (w.email/token/user_id[who]), for
        calls that change the caller itself (its password, its 2FA) so no fixture actor changes."""
        self.user_id[who] = self.fresh_user()
        self.email[who] = self.last_fresh_email
        self.token[who] = self.api.login(self.email[who])["access_token"]
        return who

    def totp_enrol(self, who):
        """Enrols who (the owner for anonymous) in TOTP 2FA: the secret, pending verification."""
        who = "owner" if who == "anonymous" else who
        r = self.as_(who, "POST", "/api/v1/me/totp/enrol", body={"password": PASSWORD})
        if r.status != 200 or not (r.json or {}).get("secret"):
            raise RuntimeError(f"TOTP enrol as {who} (is ATP_MASTER_KEY set?): {r}")
        self.totp_secrets.append(r.json["secret"])
        return r.json["secret"]

    def totp_enable(self, who):
        """Enrols who (the owner for anonymous) and turns 2FA on with a first code; the secret."""
        secret = self.totp_enrol(who)
        who = "owner" if who == "anonymous" else who
        r = self.as_(who, "POST", "/api/v1/me/totp/verify", body={"code": totp_code(secret)})
        if r.status != 200:
            raise RuntimeError(f"TOTP verify as {who}: {r}")
        return secret

    def totp_off(self, who):
        """Leaves who (the owner for anonymous) without 2FA or a pending secret, by password, so
        its logins need no code again: 200 (turned off) or 409 (there was none)."""
        who = "owner" if who == "anonymous" else who
        r = self.as_(who, "POST", "/api/v1/me/totp/disable", body={"password": PASSWORD})
        if r.status not in (200, 409):
            raise RuntimeError(f"TOTP disable as {who}: {r}")

    def fresh_refresh_token(self, who):
        """A refresh token of a new login of who (the owner's for anonymous)."""
        return self.api.login(self.email["owner" if who == "anonymous" else who])["refresh_token"]

    def base_params(self):
        """Path parameter values by (previous path segment, name); see param_value."""
        return {
            ("accounts", "id"): self.account_a,
            ("invitations", "invitation_id"): self.pending_invitation,
            ("invitations", "id"): self.pending_invitation,
            ("access", "user_id"): self.user_id["invited_investor"],
            ("users", "id"): self.user_id["invited_investor"],
            ("notifications", "id"): self.owner_notification,
            ("broker-connections", "conn_id"): self.broker_conn,
            ("indicators", "name"): "sma",
            ("strategies", "id"): self.strategy,
            # Paper trading: an order id no account has (so the owner's answer is the handler's
            # 404 and everyone else's the policy's), and a symbol with no position.
            ("orders", "order_id"): "999999999",
            ("positions", "symbol"): "TCS",
            ("backtests", "id"): self.backtest,
        }


def param_values(template, table):
    """{name: value} for the {params} of template, each looked up by (previous literal segment,
    name), then by (None, name). Raises on an unknown parameter so a new route gets attention."""
    out, prev = {}, None
    for seg in template.strip("/").split("/"):
        m = re.fullmatch(r"\{([a-z_]+)\}", seg)
        if not m:
            prev = seg
            continue
        name = m.group(1)
        key = (prev, name) if (prev, name) in table else (None, name)
        if key not in table:
            raise KeyError(f"{template}: no fixture for path parameter '{name}' after '{prev}': "
                           "add one to World.base_params (tests/cli/atp_api.py)")
        out[name] = table[key]
    return out


def die(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)
