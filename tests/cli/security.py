"""Security tests against a real `atp serve` (run by test_security.sh), python3 standard library only.

  security.py run BASE ATP DB LABEL ADMIN_EMAIL JWT_SECRET SECRETS_OUT
      forged and altered JWTs (the server's ATP_JWT_SECRET is known, so every token is signed here
      and differs from a valid one in exactly one thing), lockout and `atp user unlock`, refresh
      token reuse, body limits, malformed JSON, and SQL metacharacters / unicode / limit-length
      strings in every string field of every route with a body (from the OpenAPI request schemas).
      On the new routes: hostile role/status (admin), notification type/channel (422 naming
      the item, nothing changed), broker names, credential names and values (stored ones read
      back with exactly the masked summary, never the value), hostile query parameters on every
      route that documents some; the caller's own routes (me.password, me.totp.*) each call on a
      fresh user, whose password and 2FA state it may change: a wrong current_password or password
      is 403 naming it, a code never passes, a new password that was taken logs in. Writes every
      password, broker credential and TOTP secret it sent or was given to SECRETS_OUT (one JSON
      object {kind, value} a line).
  security.py ratelimit BASE BURST       the per-IP limit answers 429 with Retry-After
  security.py leakcheck SECRETS FILE...       no FILE contains a secret of SECRETS in clear
  security.py leakcheck-logs SECRETS FILE...  the same for log files (which may be empty)
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time

from atp_api import ABSENT_ID, ACTORS, PASSWORD, Api, World, atp_cli, body_from_schema, fill_path, \
    param_values, totp_code, uniq
from authz_matrix import SETUP, load_expected, substitute

FAILS = []
PASSES = [0]


def check(name, cond, detail=""):
    if cond:
        PASSES[0] += 1
    else:
        FAILS.append(f"{name}{': ' + str(detail) if detail else ''}")


# ---- JWT ----

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_sign(header, payload, key, digest=hashlib.sha256):
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(key, f"{h}.{p}".encode(), digest).digest()
    return f"{h}.{p}.{b64url(sig)}"


def token_payload(token):
    p = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def claims(user_id, sid, role, **over):
    """Claims as the server issues them; sid names a live session of user_id (authn refuses a
    token without one, or with another user's)."""
    now = int(time.time())
    c = {"sub": str(user_id), "role": role, "iat": now, "exp": now + 900, "iss": "atp",
         "aud": "atp-api", "jti": b64url(os.urandom(16)), "sid": sid}
    c.update(over)
    return c


def jwt_tests(w, secret):
    key = secret.encode()
    me = lambda tok: w.api.request("GET", "/api/v1/me", token=tok)
    uid = w.user_id["owner"]
    sid = token_payload(w.token["owner"])["sid"]
    good_header = {"alg": "HS256", "typ": "JWT"}
    # The control: a token signed here with the server's key is accepted, so each case below
    # fails for the one thing it changes.
    r = me(jwt_sign(good_header, claims(uid, sid, "trader"), key))
    check("jwt: a token signed with the server's key is accepted", r.status == 200 and
          r.json.get("id") == uid, r)

    cases = {}
    for alg in ("none", "None", "NONE", "nOnE"):
        header = {"alg": alg, "typ": "JWT"}
        signed = jwt_sign(header, claims(uid, sid, "admin"), key)
        h, p, s = signed.split(".")
        cases[f"alg {alg}, no signature"] = f"{h}.{p}."
        cases[f"alg {alg}, HS256 signature"] = signed
        cases[f"alg {alg}, garbage signature"] = f"{h}.{p}.{b64url(b'x' * 32)}"
        cases[f"alg {alg}, two parts"] = f"{h}.{p}"
    cases["alg HS512 signed HS512"] = jwt_sign({"alg": "HS512", "typ": "JWT"}, claims(uid, sid, "trader"),
                                               key, hashlib.sha512)
    cases["alg HS512 signed HS256"] = jwt_sign({"alg": "HS512", "typ": "JWT"}, claims(uid, sid, "trader"), key)
    cases["alg RS256 signed HS256 with the secret"] = jwt_sign({"alg": "RS256", "typ": "JWT"},
                                                               claims(uid, sid, "trader"), key)
    cases["alg missing"] = jwt_sign({"typ": "JWT"}, claims(uid, sid, "trader"), key)
    cases["crit header"] = jwt_sign({"alg": "HS256", "crit": ["exp"]}, claims(uid, sid, "trader"), key)
    cases["wrong key"] = jwt_sign(good_header, claims(uid, sid, "trader"), b"k" * len(key))
    cases["key one byte short"] = jwt_sign(good_header, claims(uid, sid, "trader"), key[:-1])
    now = int(time.time())
    cases["expired"] = jwt_sign(good_header, claims(uid, sid, "trader", iat=now - 3600, exp=now - 60), key)
    cases["issued in the future"] = jwt_sign(good_header, claims(uid, sid, "trader", iat=now + 3600,
                                                                 exp=now + 4000), key)
    cases["wrong audience"] = jwt_sign(good_header, claims(uid, sid, "trader", aud="other-api"), key)
    cases["audience array without ours"] = jwt_sign(good_header, claims(uid, sid, "trader", aud=["x", "y"]), key)
    cases["wrong issuer"] = jwt_sign(good_header, claims(uid, sid, "trader", iss="evil"), key)
    cases["no sub"] = jwt_sign(good_header, {k: v for k, v in claims(uid, sid, "trader").items() if k != "sub"}, key)
    cases["no sid"] = jwt_sign(good_header, {k: v for k, v in claims(uid, sid, "trader").items() if k != "sid"}, key)
    cases["sid of another user's session"] = jwt_sign(
        good_header, claims(uid, token_payload(w.token["other_trader"])["sid"], "trader"), key)
    cases["sid unknown"] = jwt_sign(good_header, claims(uid, "0" * len(sid), "trader"), key)
    cases["exp as a string"] = jwt_sign(good_header, claims(uid, sid, "trader", exp=str(now + 900)), key)
    # Tampered: a real token of the server, payload role raised to admin, the old signature kept.
    real = w.token["owner"]
    h, p, s = real.split(".")
    payload = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    check("jwt: the server's token carries role trader", payload.get("role") == "trader", payload)
    payload["role"] = "admin"
    cases["tampered payload (role admin), old signature"] = \
        f"{h}.{b64url(json.dumps(payload, separators=(',', ':')).encode())}.{s}"
    cases["signature of another token"] = f"{h}.{p}.{w.token['other_trader'].split('.')[2]}"
    cases["empty"] = ""
    cases["garbage"] = "not.a.jwt"
    cases["4000 bytes"] = real + "A" * (4000 - len(real))
    for name, tok in cases.items():
        r = w.api.request("GET", "/api/v1/me", headers={"Authorization": "Bearer " + tok})
        check(f"jwt: {name} -> 401", r.status == 401, r)
    # Over lws's 4096 bytes of header data (info.max_http_header_data in api/http.c) the connection
    # is closed unanswered today (no 431); the server must live on.
    r = w.api.request("GET", "/api/v1/me", headers={"Authorization": "Bearer " + real + "A" * 5000})
    check("jwt: a 5 KB Authorization header is refused", r.status in (0, 400, 431), r)
    check("jwt: the server survives it", w.api.request("GET", "/health").status == 200)
    # The tampered admin token must not reach an admin-only view either.
    r = w.api.request("GET", f"/api/v1/accounts/{w.account_b}",
                      headers={"Authorization": "Bearer " + cases["tampered payload (role admin), old signature"]})
    check("jwt: tampered admin token reads another's account -> 401", r.status == 401, r)
    # Lower-case scheme is fine (RFC 7235), but no scheme or Basic is no token.
    r = w.api.request("GET", "/api/v1/me", headers={"Authorization": real})
    check("jwt: token without Bearer -> 401", r.status == 401, r)

    # A valid token of a user disabled afterwards.
    email = f"disabled-{w.label}-{uniq()}@example.com"
    r = w.api.request("POST", "/api/v1/auth/register", body={"email": email, "name": "d", "password": PASSWORD})
    check("disabled: register", r.status == 201, r)
    login = w.api.login(email)
    tok = login["access_token"]
    check("disabled: /me before", w.api.request("GET", "/api/v1/me", token=tok).status == 200)
    atp_cli(w.atp, "user", "disable", "--db", w.db, "--email", email)
    r = w.api.request("GET", "/api/v1/me", token=tok)
    check("disabled: valid token on /me -> 401", r.status == 401, r)
    r = w.api.request("POST", "/api/v1/auth/refresh", body={"refresh_token": login["refresh_token"]})
    check("disabled: refresh -> 401", r.status == 401, r)
    r = w.api.request("POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD})
    check("disabled: login -> 403 account_disabled", r.status == 403, r)
    r = w.api.request("GET", "/api/v1/accounts", token=tok)
    check("disabled: valid token on GET /api/v1/accounts -> 401", r.status == 401, r)
    r = w.api.request("POST", "/api/v1/accounts", token=tok, body={"name": "after disable"})
    check("disabled: valid token on POST /api/v1/accounts -> 401", r.status == 401, r)


# ---- lockout, refresh reuse ----

def lockout_tests(w):
    email = f"lock-{w.label}-{uniq()}@example.com"
    r = w.api.request("POST", "/api/v1/auth/register", body={"email": email, "name": "l", "password": PASSWORD})
    check("lockout: register", r.status == 201, r)
    wrong = {"email": email, "password": "wrong password!"}
    for i in range(3):
        r = w.api.request("POST", "/api/v1/auth/login", body=wrong)
        check(f"lockout: failure {i + 1} -> 401", r.status == 401, r)
    r = w.api.request("POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD})
    check("lockout: right password after 3 failures -> 423", r.status == 423, r)
    ra = r.headers.get("retry-after", "")
    check("lockout: Retry-After about 15 minutes", ra.isdigit() and 800 <= int(ra) <= 901, ra)
    check("lockout: error code locked", (r.json or {}).get("error", {}).get("code") == "locked", r)
    atp_cli(w.atp, "user", "unlock", "--db", w.db, "--email", email)
    r = w.api.request("POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD})
    check("lockout: after atp user unlock -> 200", r.status == 200, r)
    # The count restarts after a success: two failures do not lock.
    for _ in range(2):
        w.api.request("POST", "/api/v1/auth/login", body=wrong)
    r = w.api.request("POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD})
    check("lockout: 2 failures after unlock do not lock", r.status == 200, r)
    # Case variants of the email count against the same user.
    for i in range(3):
        w.api.request("POST", "/api/v1/auth/login", body={"email": email.upper(), "password": "nope nope nope"})
    r = w.api.request("POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD})
    check("lockout: failures under another letter case lock the same user", r.status == 423, r)


def refresh_reuse_tests(w):
    login = w.api.login(w.email["other_trader"])
    r1 = login["refresh_token"]
    r = w.api.request("POST", "/api/v1/auth/refresh", body={"refresh_token": r1})
    check("refresh: rotate -> 200", r.status == 200, r)
    r2 = (r.json or {}).get("refresh_token", "")
    check("refresh: a new token", r2 and r2 != r1)
    r = w.api.request("POST", "/api/v1/auth/refresh", body={"refresh_token": r1})
    check("refresh: reuse of the rotated token -> 401", r.status == 401, r)
    r = w.api.request("POST", "/api/v1/auth/refresh", body={"refresh_token": r2})
    check("refresh: reuse revoked the family (its newest token) -> 401", r.status == 401, r)
    other = w.api.login(w.email["other_trader"])["refresh_token"]
    r = w.api.request("POST", "/api/v1/auth/refresh", body={"refresh_token": other})
    check("refresh: another session of the user survives", r.status == 200, r)


# ---- bodies ----

def body_tests(w, body_max):
    login = "/api/v1/auth/login"
    big = b'{"email":"' + b"a" * body_max + b'"}'
    r = w.api.request("POST", login, raw=big)
    check("body: over ATP_BODY_MAX with Content-Length -> 413", r.status == 413 and r.field() == "body", r)
    # Chunked (no Content-Length): the cap holds while the body streams in. The server may answer
    # and close before the last chunk is sent, so the answer is read whatever the sending did.
    import socket
    with socket.create_connection((w.api.host, w.api.port), timeout=30) as sock:
        head = (f"POST {login} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
        try:
            sock.sendall(head)
            for i in range(0, len(big), 4096):
                part = big[i:i + 4096]
                sock.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass
        answer = b""
        try:
            while not answer.endswith(b"}") and (chunk := sock.recv(65536)):
                answer += chunk
        except OSError:
            pass
    status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/1.1 ") else answer[:80]
    status = int(status) if isinstance(status, str) and status.isdigit() else status
    check("body: over ATP_BODY_MAX chunked -> 413", status == 413, status)
    exact = b'{"email":"' + b"a" * (body_max - 12) + b'"}'
    r = w.api.request("POST", login, raw=exact)
    check("body: exactly ATP_BODY_MAX bytes is read (400 on a field, not 413)",
          r.status == 400 and r.field() != "body" and len(exact) == body_max, r)
    for name, raw in [("truncated", b'{"email":'), ("not JSON", b"hello"), ("array", b"[1,2]"),
                      ("string", b'"x"'), ("empty object then junk", b"{} x"),
                      ("invalid UTF-8", b'{"email":"\xff\xfe","password":"x"}'),
                      ("NUL byte", b'{"email":"a\x00b","password":"x"}'),
                      ("duplicate key", b'{"email":"a@b.c","email":"x@y.z","password":"p"}'),
                      ("deep nesting", b"[" * 20000 + b"]" * 20000)]:
        r = w.api.request("POST", login, raw=raw)
        if name == "deep nesting":
            check("body: deep nesting -> 400", r.status == 400, r)
            continue
        check(f"body: {name} -> 400 field body", r.status == 400 and r.field() == "body", r)
        check(f"body: {name} message says where",
              name in ("array", "string", "duplicate key") or "line" in (r.json or {}).get("error", {}).get("message", ""), r)
    # Unknown keys are named in the answer, cut to 47 bytes: never mid-character (that was a 500).
    for key in ["a" * 46 + "😀", "a" * 45 + "é" * 3, "😀" * 20, "x'; --\"\\%_"]:
        r = w.api.request("POST", login, body={key: 1})
        check(f"body: unknown key {key!r} -> 400 naming it", r.status == 400 and r.field() and
              key.startswith(r.field()), r)
    r = w.api.request("POST", login, raw=b"")
    check("body: empty on a route with a body -> 400 field body", r.status == 400 and r.field() == "body", r)
    r = w.api.request("GET", "/api/v1/me", token=w.token["owner"], raw=b'{"x":1}')
    check("body: a body on a route without one -> 400 field body", r.status == 400 and r.field() == "body", r)


# ---- SQL metacharacters, unicode, lengths ----

META = ["'", "''", "' OR '1'='1", "'; DROP TABLE users; --", "\"", "\\", "\\'", "%", "_", "%_%",
        "--", "/*", "*/", ";", "`", "$1", "\t\r\n", "\u0001\u001f", "é", "日本語", "😀",
        "\u202e\ufeff\u200b", "e\u0301", "O'Brien \"x\" \\ 100% _ -- ; 😀"]


def actor_for(route, expected):
    """The actor that reaches the handler of route (an allow cell), the owner first."""
    cells = expected[route][0]
    for who in ("owner",) + ACTORS:
        c = cells[ACTORS.index(who)]
        if c == "allow" or c.startswith("2"):
            return who
    return None


def string_leaves(value, path=""):
    """[(path, string)] of every string nested in a body (not the top level: the schema's string
    fields are tried on their own), the path spelled as the server names fields: credentials.api_key,
    items[0].type."""
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            sub = f"{path}.{k}" if path else k
            out += string_leaves(v, sub) if path or not isinstance(v, str) else []
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += string_leaves(v, f"{path}[{i}]")
    elif isinstance(value, str) and path and ("." in path or "[" in path):
        out.append((path, value))
    return out


def set_path(body, path, value):
    """body with the string at path (as string_leaves spells it) replaced by value."""
    keys = [int(k) if k.isdigit() else k for k in path.replace("[", ".").replace("]", "").split(".")]
    node = body
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value


# Longest value of a nested string field, bytes (H_BROKERS_VALUE_MAX in api/h_brokers.h); nested
# fields without one are sent a 4096-byte value, which must be refused by name too (an unknown
# notification type or channel).
NESTED_MAX = {"credentials": 1024}
IDENTIFYING = {"api_key", "client_id", "user_id", "app_id", "username"}  # api/h_brokers.c


def vault_mask(value):
    """vault_mask (auth/vault.c): 4 + 4 bytes of at least 16, the last 4 of 8 to 15, else none;
    bytes outside printable ASCII as '*'."""
    b = value.encode()
    head, tail = (4, 4) if len(b) >= 16 else (0, 4) if len(b) >= 8 else (0, 0)
    show = lambda part: "".join(chr(c) if 0x21 <= c <= 0x7e else "*" for c in part)
    return show(b[:head]) + "…" + (show(b[len(b) - tail:]) if tail else "")


def masked_summary(credentials):
    """The masked summary the server stores for credentials (a few short fields: never cut)."""
    return " ".join(f"{k}={vault_mask(v) if k in IDENTIFYING else 'set'}"
                    for k, v in sorted(credentials.items()))


def hostile_values(field, limit):
    """(label, value) pairs for a string field: every META string made unique (an email stays an
    email, so the handler's own checks are passed too), then at the limit in bytes (ASCII and
    4-byte UTF-8) and one byte over it."""
    if "email" in field:
        values = [(v, f"{v}{uniq()}@example.com") for v in META]
    else:
        values = [(v, f"{v}{uniq()}") for v in META]
    return values + [("limit ascii", "a" * limit), ("limit 4-byte", "😀" * (limit // 4)),
                     ("over ascii", "a" * (limit + 1)), ("over 4-byte", "😀" * (limit // 4 + 1))]


def base_body(w, name, who, schema, expected, uid):
    """The body a route is sent before one field is made hostile: its authz_expected.tsv body when
    it has one (the schema-built one is not valid for every route), else from its schema."""
    template = expected[name][1]
    if template is None:
        return body_from_schema(schema, uid)
    env = {"uid": uid, "password": PASSWORD, "self_email": w.email["owner" if who == "anonymous" else who],
           "account_id": w.account_a}
    return substitute(template, env)


def metachar_tests(w, expected, secrets):
    ops = [o for o in w.api.operations() if o[4]]
    check("metachars: some routes have bodies", len(ops) >= 5, len(ops))
    base = w.base_params()
    sent = 0
    stored = {}  # broker connection id -> the masked summary its create answered
    for name, method, template, _params, schema in ops:
        who = actor_for(name, expected)
        if not who:
            continue
        # The caller's own routes change the caller (password, 2FA): each call gets a fresh user.
        self_changing = name.startswith("me.")
        prefs_before = w.as_(who, "GET", "/api/v1/notifications/preferences").json \
            if name == "notifications.prefs.set" else None
        fields = [(f, p.get("maxLength", 4096)) for f, p in schema.get("properties", {}).items()
                  if p.get("type") == "string"]
        fields += [(path, NESTED_MAX.get(path.split(".")[0], 4096)) for path, _v in
                   string_leaves(base_body(w, name, who, schema, expected, uniq()))]
        for field, limit in fields:
            for label, value in hostile_values(field, limit):
                uid = uniq()
                caller = w.scratch_actor() if self_changing else who
                body = base_body(w, name, caller, schema, expected, uid)
                set_path(body, field, value)
                # Only a route with path parameters needs its fresh resource (the body is ours);
                # the caller's own routes need their state (a pending or enabled 2FA).
                extra = SETUP[name](w, caller) if name in SETUP and ("{" in template or self_changing) else {}
                params = param_values(template, base)
                params.update(extra.pop("params", {}))
                r = w.as_(caller, method, fill_path(template, params), body=body)
                sent += 1
                what = f"metachars: {name}.{field} = {label!r} as {who}"
                check(f"{what}: never 5xx", 200 <= r.status < 500, r)
                nbytes = len(value.encode())
                if label.startswith("over"):
                    check(f"{what}: {nbytes} > {limit} bytes -> 400 or 422 naming the field",
                          r.status in (400, 422) and r.field() == field, r)
                elif r.status in (400, 422):
                    check(f"{what}: a {r.status} names the field or the body", r.field() in (field, "body"), r)
                if self_changing:
                    me_checks(w, what, field, value, label.startswith("over"), caller, r, secrets)
                if "password" in field and len(value) >= 8:
                    secrets.add(("password", value))  # accepted or refused, never stored in clear
                if field.startswith("credentials."):
                    secrets.add(("broker credential", value))
                    brokers_checks(what, body, value, r, stored)
                if name in ("admin.users.update", "notifications.prefs.set"):
                    # No role, status, notification type or channel but the known ones (a 400 when
                    # longer than the schema allows).
                    check(f"{what}: -> 400 or 422 naming the field",
                          r.status in (400, 422) and r.field() == field, r)
        if name == "accounts.brokers.create":
            hostile_credential_names(w, who, template, base, secrets)
        if prefs_before is not None:
            r = w.as_(who, "GET", "/api/v1/notifications/preferences")
            check("metachars: refused preferences changed nothing", r.status == 200 and r.json == prefs_before,
                  (prefs_before, r))
    check("metachars: requests sent", sent > 100, sent)
    # Read back: the list shows every connection made above with the summary its create answered.
    listed, cursor = {}, ""
    while True:
        r = w.as_("owner", "GET", f"/api/v1/accounts/{w.account_a}/broker-connections?limit=100{cursor}")
        check("brokers: list", r.status == 200, r)
        if r.status != 200:
            break
        listed.update({c["id"]: c["masked"] for c in r.json["items"]})
        if not r.json.get("next_cursor"):
            break
        cursor = "&cursor=" + str(r.json["next_cursor"])
    check("brokers: hostile credentials were stored", len(stored) >= len(META), len(stored))
    lost = {i: (m, listed.get(i)) for i, m in stored.items() if listed.get(i) != m}
    check("brokers: the list reads back every summary as created", not lost, lost)


def me_checks(w, what, field, value, over, caller, r, secrets):
    """The caller's own routes with one hostile field: a credential that is not the caller's is
    refused naming it (403 for a password, 400 when over the length, 400/422 for a code: never a
    200); a new password is
    taken when long enough (it then logs in, the old one not) or refused naming new_password."""
    if field == "new_password":
        check(f"{what}: 200, or 400/422 naming new_password",
              r.status == 200 or (r.status in (400, 422) and r.field() == field), r)
        if r.status == 200:
            secrets.add(("password", value))
            email = w.email[caller]
            new = w.api.request("POST", "/api/v1/auth/login", body={"email": email, "password": value})
            check(f"{what}: the new password logs in", new.status == 200, new)
            old = w.api.request("POST", "/api/v1/auth/login", body={"email": email, "password": PASSWORD})
            check(f"{what}: the old password no longer does", old.status == 401, old)
        return
    # (Over the schema's length, a 400 naming the field, checked by the caller, is right too.)
    want = (400, 422) if "password" not in field else (400, 403) if over else (403,)
    check(f"{what}: refused ({'/'.join(map(str, want))}) naming {field}",
          r.status in want and r.field() == field, r)


def me_tests(w, secrets):
    """A plain password change and 2FA left on, so the leak checks have a changed password and a
    stored TOTP secret to look for: the server holds them only hashed / sealed."""
    who = w.scratch_actor()
    new = f"changed password {uniq()}"
    secrets.add(("password", new))
    r = w.as_(who, "POST", "/api/v1/me/password", body={"current_password": PASSWORD, "new_password": new})
    check("me: password change -> 200", r.status == 200 and (r.json or {}).get("status") == "password_changed", r)
    r = w.api.request("POST", "/api/v1/auth/login", body={"email": w.email[who], "password": new})
    check("me: the new password logs in", r.status == 200, r)
    who = w.scratch_actor()
    secret = w.totp_enable(who)
    r = w.as_(who, "GET", "/api/v1/me")
    check("me: 2FA on", r.status == 200 and r.json.get("totp_enabled") is True, r)
    check("me: /me does not show the secret", secret.encode() not in r.body, r)
    r = w.api.request("POST", "/api/v1/auth/login",
                      body={"email": w.email[who], "password": PASSWORD, "totp": totp_code(secret, 1)})
    check("me: login with the next step's code", r.status == 200, r)


def brokers_checks(what, body, value, r, stored):
    """A credential value is any non-empty string of at most 1024 bytes: stored, answered only
    masked (exactly as api/h_brokers.c masks it), the value itself nowhere in the answer."""
    nbytes = len(value.encode())
    if nbytes > NESTED_MAX["credentials"]:
        return
    check(f"{what}: stored -> 201", r.status == 201, r)
    if r.status != 201:
        return
    want = masked_summary(body["credentials"])
    check(f"{what}: masked summary {want!r}", r.json.get("masked") == want, r)
    check(f"{what}: the value is not in the answer",
          value.encode() not in r.body and json.dumps(value)[1:-1].encode() not in r.body, r)
    stored[r.json["id"]] = r.json.get("masked")


def hostile_credential_names(w, who, template, base, secrets):
    """Credential field names are 1 to 32 of [a-z0-9_]: anything else is a 422 naming credentials."""
    path = fill_path(template, param_values(template, base))
    import re
    for v in [m for m in META if not re.fullmatch(r"[a-z0-9_]{1,32}", m)] + ["a" * 33, "API_KEY", ""]:
        secret = f"s-{uniq()}-name-case"
        secrets.add(("broker credential", secret))
        r = w.as_(who, "POST", path, body={"broker": "kite", "credentials": {v: secret}})
        check(f"brokers: credential name {v!r} -> 422 naming credentials",
              r.status == 422 and r.field() == "credentials" and secret.encode() not in r.body, r)


def query_tests(w, expected):
    """Hostile query values on every route whose summary lists its query (?a=&b=): never a 5xx;
    a refusal names the parameter."""
    import re
    import urllib.parse
    doc = w.api.request("GET", "/api/v1/openapi.json").json
    base = w.base_params()
    n = 0
    for template, item in doc["paths"].items():
        for method, op in item.items():
            m = re.search(r"\(\?([a-z_=&]+)\)", op.get("summary", ""))
            who = actor_for(op["operationId"], expected)
            if method != "get" or not m or not who:
                continue
            path = fill_path(template, param_values(template, base))
            for q in [p.split("=")[0] for p in m.group(1).split("&") if p]:
                for v in META + ["-1", "0", "99999999999999999999999", "1e3", "a" * 5000]:
                    r = w.as_(who, "GET", f"{path}?{q}={urllib.parse.quote(v, safe='')}")
                    n += 1
                    what = f"query: {op['operationId']} ?{q}={v[:20]!r} as {who}"
                    # Over lws's header space the connection is closed unanswered (see jwt_tests).
                    check(f"{what}: never 5xx", r.status < 500 and (r.status != 0 or len(v) > 4000), r)
                    if r.status in (400, 422):
                        check(f"{what}: names the parameter", r.field() == q, r)
            r = w.as_(who, "GET", path)
            check(f"query: {op['operationId']} still answers", r.status == 200, r)
    check("query: requests sent", n > 100, n)


def control(text):
    return any(ord(c) < 0x20 for c in text)


def roundtrip_tests(w, secrets):
    owner = "owner"
    created = []
    for v in META + ["😀" * 31, "x" * 127]:
        name = v if len(v.encode()) >= 100 else f"{v}{uniq()}"
        broker = name.encode()[:31].decode(errors="ignore")
        r = w.as_(owner, "POST", "/api/v1/accounts", body={"name": name, "broker": broker})
        if r.status == 422 and r.field() in ("name", "broker") and control(name):
            continue  # refusing control characters in names is fine too
        check(f"roundtrip: create account {name!r}", r.status == 201, r)
        if r.status != 201:
            continue
        check(f"roundtrip: broker {broker!r}", r.json["broker"] == broker, r)
        acc = r.json["id"]
        created.append(acc)
        r = w.as_(owner, "GET", f"/api/v1/accounts/{acc}")
        check(f"roundtrip: account name {name!r}", r.status == 200 and r.json["name"] == name, r)
        renamed = "re" + name[:100]
        r = w.as_(owner, "PATCH", f"/api/v1/accounts/{acc}", body={"name": renamed})
        r = w.as_(owner, "GET", f"/api/v1/accounts/{acc}")
        check(f"roundtrip: renamed {renamed!r}", r.status == 200 and r.json["name"] == renamed, r)
    for v in META:
        uid = uniq()
        name, pw = f"{v}{uid}", f"pw {v} {uid} secret"
        email = f"rt{uid}@example.com"
        r = w.api.request("POST", "/api/v1/auth/register", body={"email": email, "name": name, "password": pw})
        secrets.add(("password", pw))
        if r.status == 422 and r.field() == "name" and control(name):
            continue
        check(f"roundtrip: register name {name!r}", r.status == 201 and r.json["name"] == name, r)
        if r.status != 201:
            continue
        r = w.api.request("POST", "/api/v1/auth/login", body={"email": email, "password": pw})
        check(f"roundtrip: login with password {pw!r}", r.status == 200, r)
        if r.status == 200:
            r = w.api.request("GET", "/api/v1/me", token=r.json["access_token"])
            check(f"roundtrip: user name {name!r}", r.status == 200 and r.json["name"] == name, r)
    # Intact afterwards: the list still works and holds every account made above.
    r = w.as_(owner, "GET", "/api/v1/accounts")
    ids = {a["id"] for a in (r.json or {}).get("items", [])}
    check("intact: the owner's list still works and holds every account", r.status == 200 and
          set(created) <= ids and w.account_a in ids, r)
    out = atp_cli(w.atp, "user", "list", "--db", w.db)
    check("intact: atp user list still lists the owner", w.email["owner"] in out)
    r = w.api.request("GET", "/api/v1/accounts/" + ABSENT_ID, token=w.token["owner"])
    check("intact: absent account still 404", r.status == 404, r)


def cmd_run(base, atp, db, label, admin_email, secret, secrets_out):
    api = Api(base)
    w = World(api, atp, db, label, admin_email)
    expected = load_expected(os.path.join(os.path.dirname(os.path.abspath(__file__)), "authz_expected.tsv"))
    secrets = {("password", p) for p in (PASSWORD, "wrong password!", "nope nope nope")}
    # A plain-looking broker login, besides the hostile ones of metachar_tests.
    cred = {"api_key": f"plainkey-{uniq()}-ABCDEFGH", "api_secret": f"plainsecret-{uniq()}",
            "access_token": f"token-{uniq()}-0123456789", "pin": f"pin{uniq()}"}
    w.create_broker_conn(cred)
    secrets |= {("broker credential", v) for v in cred.values()}
    jwt_tests(w, secret)
    lockout_tests(w)
    refresh_reuse_tests(w)
    body_tests(w, int(os.environ.get("ATP_BODY_MAX", "65536")))
    metachar_tests(w, expected, secrets)
    me_tests(w, secrets)
    query_tests(w, expected)
    roundtrip_tests(w, secrets)
    secrets |= {("totp secret", s) for s in w.totp_secrets}
    with open(secrets_out, "w", encoding="utf-8") as f:
        for kind, value in sorted(secrets):
            f.write(json.dumps({"kind": kind, "value": value}) + "\n")
    return report(label)


def cmd_ratelimit(base, burst):
    api = Api(base)
    statuses = [api.request("GET", "/health") for _ in range(int(burst) + 1)]
    check("ratelimit: the burst passes", all(r.status == 200 for r in statuses[:-1]),
          [r.status for r in statuses])
    r = statuses[-1]
    check("ratelimit: one more -> 429", r.status == 429, r)
    ra = r.headers.get("retry-after", "")
    check("ratelimit: Retry-After in whole seconds >= 1", ra.isdigit() and int(ra) >= 1, r.headers)
    check("ratelimit: code rate_limited", (r.json or {}).get("error", {}).get("code") == "rate_limited", r)
    r = api.request("POST", "/api/v1/auth/login", body={"email": "a@b.c", "password": "x"})
    check("ratelimit: login is limited too", r.status == 429, r)
    return report("ratelimit")


def cmd_leakcheck(secrets_file, files, logs=False):
    """No file holds a secret in clear: as its bytes, JSON-escaped either way, or as hex (how
    pg_dump writes a bytea column, so plaintext stored as bytes would show that way); a TOTP secret
    (base32) also not as the key it decodes to, raw or hex. Logs may be empty; a database file or
    dump may not."""
    with open(secrets_file, encoding="utf-8") as f:
        secrets = [json.loads(line) for line in f if line.strip()]
    for kind in ("password", "broker credential", "totp secret"):
        n = sum(1 for s in secrets if s["kind"] == kind)
        check(f"leakcheck: {kind}s to look for", n >= 2, n)
    for path in files:
        data = open(path, "rb").read()
        if not logs:
            check(f"leakcheck: {path} is not empty", len(data) > 0)
        for s in secrets:
            v = s["value"]
            forms = {v.encode(), json.dumps(v, ensure_ascii=False)[1:-1].encode(),
                     json.dumps(v)[1:-1].encode(), v.encode().hex().encode()}
            if s["kind"] == "totp secret":
                key = base64.b32decode(v + "=" * (-len(v) % 8))
                forms |= {key, key.hex().encode(), key.hex().upper().encode()}
            hit = [f for f in forms if f in data]
            check(f"leakcheck: {path} holds no {s['kind']} {v[:80]!r} in clear", not hit, hit[:1])
    return report("leakcheck")


def report(label):
    for f in FAILS:
        print(f"FAIL: {f}", file=sys.stderr)
    print(f"{label}: {PASSES[0]} checks passed, {len(FAILS)} failed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "run":
        sys.exit(cmd_run(*args))
    if cmd == "ratelimit":
        sys.exit(cmd_ratelimit(*args))
    if cmd == "leakcheck":
        sys.exit(cmd_leakcheck(args[0], args[1:]))
    if cmd == "leakcheck-logs":
        sys.exit(cmd_leakcheck(args[0], args[1:], logs=True))
    sys.exit(f"unknown command {cmd}")
