"""A small WebSocket client for the /ws tests (python3-websocket, Debian's websocket-client):
connect with the access token (header or ?token=), send ops, read messages with a deadline.
Used by ws_check.py and authz_matrix.py."""

import json
import time

import websocket


class Refused(Exception):
    """The upgrade was answered with an HTTP status instead of 101."""

    def __init__(self, status, body):
        super().__init__(f"upgrade refused: {status} {body!r}")
        self.status, self.body = status, body


def raw_upgrade(base, token, via="header"):
    """(status, body) of an upgrade request sent by hand: what a refused upgrade answers."""
    import base64
    import http.client
    import os
    import urllib.parse
    u = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    path = "/ws"
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}
    if token and via == "header":
        headers["Authorization"] = f"Bearer {token}"
    elif token:
        path += "?token=" + token
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    body = r.read().decode("utf-8", "replace")
    conn.close()
    return r.status, body


def ws_url(base):
    return base.replace("http://", "ws://", 1).rstrip("/") + "/ws"


class Client:
    def __init__(self, base, token=None, via="header", timeout=5):
        url = ws_url(base)
        headers = []
        if token and via == "header":
            headers.append(f"Authorization: Bearer {token}")
        elif token:
            url += "?token=" + token
        try:
            self.ws = websocket.create_connection(url, header=headers, timeout=timeout)
        except websocket.WebSocketBadStatusException as e:
            # This websocket-client keeps no body: ask again over plain HTTP for the answer.
            raise Refused(*raw_upgrade(base, token, via))
        self.backlog = []

    def send(self, obj):
        self.ws.send(obj if isinstance(obj, str) else json.dumps(obj))

    def recv(self, timeout=5.0):
        """The next message (parsed), or None after timeout seconds."""
        if self.backlog:
            return self.backlog.pop(0)
        self.ws.settimeout(timeout)
        try:
            text = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return None
        return json.loads(text)

    def until(self, pred, timeout=5.0, keep=True):
        """The first message for which pred holds within timeout (None if none). Others read on
        the way are kept for later recv calls when keep."""
        deadline = time.time() + timeout
        skipped = []
        try:
            while True:
                left = deadline - time.time()
                if left <= 0:
                    return None
                m = self.recv(left)
                if m is None:
                    return None
                if pred(m):
                    return m
                skipped.append(m)
        finally:
            if keep:
                self.backlog = skipped + self.backlog

    def op(self, msg, timeout=5.0):
        """Sends msg (with a fresh id) and returns the answer to it (subscribed, unsubscribed,
        error, pong)."""
        msg = dict(msg)
        msg.setdefault("id", f"r{time.time_ns()}")
        self.send(msg)
        return self.until(lambda m: m.get("id") == msg["id"], timeout)

    def drain(self, seconds):
        """Every message received during seconds."""
        out, deadline = list(self.backlog), time.time() + seconds
        self.backlog = []
        while True:
            left = deadline - time.time()
            if left <= 0:
                return out
            m = self.recv(left)
            if m is not None:
                out.append(m)

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass


def subscribe_answer(base, token, msg):
    """The matrix's view of one subscription: an HTTP-like status (200 subscribed; 401/429/...
    from a refused upgrade; 403/404/400 from an error message) and the answer itself."""
    try:
        c = Client(base, token)
    except Refused as e:
        return e.status, e.body
    try:
        a = c.op(msg)
        if a is None:
            return 0, "no answer"
        if a.get("op") == "subscribed":
            return 200, a
        code = {"not_found": 404, "forbidden": 403, "unauthenticated": 401}.get(a.get("code"), 400)
        return code, {k: v for k, v in a.items() if k != "id"}
    finally:
        c.close()
