"""WebSocket benchmark client of bench/ws.sh: plain asyncio sockets with a minimal RFC 6455 client
(handshake, masked text frames out, unmasked frames in), no third-party module, so thousands of
connections fit one process.

  ws_bench.py latency URL TOKEN PID CLIENTS SYMBOLS SECONDS
      CLIENTS sockets, each subscribed to the market channel of SYMBOLS (comma-separated); for
      every quote received: now - server_ts_ns (the wall-clock instant the server saw the quote
      change, stamped in the envelope). Prints p50/p90/p99/max, quotes/s, and the server's CPU
      and RSS (from /proc/PID) over the run.
  ws_bench.py idle URL TOKEN PID CLIENTS
      opens CLIENTS sockets that only answer pings; prints the server's RSS before and after and
      the RSS per connection."""

import asyncio
import base64
import json
import os
import struct
import sys
import time
import urllib.parse


def proc_stat(pid):
    """(cpu seconds user+system, rss bytes) of pid."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / tck
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    return cpu, rss


class Conn:
    def __init__(self, reader, writer):
        self.r, self.w = reader, writer

    @classmethod
    async def open(cls, url, token):
        u = urllib.parse.urlparse(url)
        reader, writer = await asyncio.open_connection(u.hostname, u.port, limit=1 << 22)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /ws HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Authorization: Bearer {token}\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"upgrade refused: {head[:80]!r}")
        return cls(reader, writer)

    def send(self, obj):
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n))
        self.w.write(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def pong(self, payload):
        mask = os.urandom(4)
        self.w.write(bytes([0x8A, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    async def frame(self):
        """(opcode, payload) of the next frame (pings answered on the way)."""
        while True:
            b0, b1 = await self.r.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", await self.r.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await self.r.readexactly(8))[0]
            payload = await self.r.readexactly(n)
            op = b0 & 0x0F
            if op == 0x9:
                self.pong(payload)
                continue
            return op, payload


async def latency(url, token, pid, clients, symbols, seconds):
    conns = []
    for _ in range(clients):
        c = await Conn.open(url, token)
        for s in symbols:
            c.send({"op": "subscribe", "channel": "market", "symbol": s})
        conns.append(c)
    delays = []
    counts = [0]
    # Readers run from the start (a socket nobody reads backs up and would measure the backlog);
    # quotes count from `begin`, after the snapshots and the first second.
    begin = time.time() + 1.0
    stop = begin + seconds

    async def reader(c):
        while time.time() < stop:
            try:
                op, payload = await asyncio.wait_for(c.frame(), timeout=max(0.01, stop - time.time()))
            except asyncio.TimeoutError:
                return
            now = time.time_ns()
            if op != 0x1 or b'"event":"quote"' not in payload or now < begin * 1e9:
                continue
            # The stamp by hand, not json.loads: the client's parsing is what limits this bench.
            i = payload.find(b'"server_ts_ns":') + 15
            delays.append((now - int(payload[i:payload.find(b",", i)])) / 1e6)
            counts[0] += 1

    async def meter():
        await asyncio.sleep(max(0, begin - time.time()))
        return proc_stat(pid)[0], time.time()

    got = await asyncio.gather(meter(), *(reader(c) for c in conns))
    cpu0, t0 = got[0]
    cpu1, rss = proc_stat(pid)
    elapsed = time.time() - t0
    delays.sort()

    def pct(p):
        return delays[min(len(delays) - 1, int(p / 100 * len(delays)))] if delays else float("nan")

    print(f"clients {clients} x symbols {len(symbols)}: {counts[0]} quotes in {elapsed:.1f} s "
          f"({counts[0] / elapsed:.0f}/s, {counts[0] / elapsed / clients / len(symbols):.1f}/s per subscription)")
    print(f"server-saw-quote -> client latency ms: p50 {pct(50):.2f} p90 {pct(90):.2f} p99 {pct(99):.2f} "
          f"max {delays[-1] if delays else float('nan'):.2f}")
    print(f"server CPU {100 * (cpu1 - cpu0) / elapsed:.0f}% of one core, RSS {rss / 2**20:.1f} MiB")
    for c in conns:
        c.w.close()


async def idle(url, token, pid, clients):
    _, rss0 = proc_stat(pid)
    conns = []
    t0 = time.time()
    batch = 200
    for i in range(0, clients, batch):
        got = await asyncio.gather(*(Conn.open(url, token) for _ in range(min(batch, clients - i))),
                                   return_exceptions=True)
        for g in got:
            if isinstance(g, Exception):
                print(f"open failed after {len(conns)} sockets: {g!r}")
                break
            conns.append(g)
        else:
            continue
        break
    opened = time.time() - t0
    await asyncio.sleep(2.0)
    _, rss1 = proc_stat(pid)
    print(f"idle sockets open: {len(conns)} in {opened:.1f} s; server RSS {rss0 / 2**20:.1f} -> {rss1 / 2**20:.1f} MiB, "
          f"{(rss1 - rss0) / max(1, len(conns)) / 1024:.1f} KiB per socket")
    for c in conns:
        c.w.close()


def main():
    mode, url, token, pid = sys.argv[1:5]
    pid = int(pid)
    if mode == "latency":
        clients, symbols, seconds = int(sys.argv[5]), sys.argv[6].split(","), float(sys.argv[7])
        asyncio.run(latency(url, token, pid, clients, symbols, seconds))
    else:
        asyncio.run(idle(url, token, pid, int(sys.argv[5])))


if __name__ == "__main__":
    main()
