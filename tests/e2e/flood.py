#!/usr/bin/env python3
# flood.py: a hostile client for the regress_*.sh tests, in plain Python
# (no protobuf module: the few wire.proto fields it needs are encoded by
# hand). Usage: flood.py SOCKET waits JOB N | submits FILE.sbc N |
# statsflood NCONN SECONDS | partial NCONN SECONDS
#   One connection, Hello, then N Wait requests for JOB pipelined as fast
#   as the socket takes them while a thread reads every reply; then a Stats
#   request, and it waits (60 s at most) for that Stats reply, so that when
#   it returns the daemon has handled all N. Prints "replies K" and one
#   "error MESSAGE xCOUNT" line per distinct error message; exit 0 when the
#   Stats reply came, 1 otherwise (the reason on stderr).
# submits: N Submits of the compiled module, 500 in flight at a time;
#   prints "accepted K"; exit 0 when all N were answered.
# statsflood: NCONN connections each pipeline Stats requests (and read
#   the replies) for SECONDS; prints "stats K".
# partial: NCONN connections, the first half without Hello, each send all
#   but the last byte of an 8 MiB frame (as far as the daemon reads it
#   within 2 s); prints "partial K MiB" (bytes the daemon took), then
#   holds them for SECONDS.
import socket
import struct
import sys
import threading
import time


def varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def fv(f, v):
    return varint(f << 3) + varint(v)


def fb(f, b):
    if isinstance(b, str):
        b = b.encode()
    return varint(f << 3 | 2) + varint(len(b)) + b


def frame(rid, kind, body):
    b = fv(1, rid) + fb(kind, body)
    return struct.pack(">I", len(b)) + b


def rdvar(b, i):
    n = s = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << s
        s += 7
        if not c & 0x80:
            return n, i


def fields(b):
    d = {}
    i = 0
    while i < len(b):
        k, i = rdvar(b, i)
        f, t = k >> 3, k & 7
        if t == 0:
            v, i = rdvar(b, i)
        elif t == 2:
            n, i = rdvar(b, i)
            v = b[i:i + n]
            i += n
        elif t == 1:
            v, i = b[i:i + 8], i + 8
        else:
            v, i = b[i:i + 4], i + 4
        d.setdefault(f, []).append(v)
    return d


def dial(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(frame(1, 2, fv(1, 1) + fb(2, "flood.py")))
    return s


class Reader:
    """Cuts reply frames from a socket: next() is a field dict or None."""

    def __init__(self, s):
        self.s = s
        self.buf = b""

    def next(self):
        while True:
            if len(self.buf) >= 4:
                ln = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + ln:
                    r = fields(self.buf[4:4 + ln])
                    self.buf = self.buf[4 + ln:]
                    return r
            d = self.s.recv(1 << 20)
            if not d:
                return None
            self.buf += d


def submits(path, mod, n):
    s = dial(path)
    rd = Reader(s)
    rd.next()                           # HelloReply
    body = fb(1, open(mod, "rb").read())
    accepted = answered = 0
    while answered < n:
        k = min(500, n - answered)
        s.sendall(b"".join(frame(2 + i, 3, body) for i in range(k)))
        for _ in range(k):
            r = rd.next()
            if r is None:
                print("accepted %d" % accepted)
                return 1
            accepted += 3 in r
            answered += 1
    print("accepted %d" % accepted)
    return 0


def statsflood(path, nconn, secs):
    count = [0]
    end = time.time() + secs
    req = frame(2, 9, b"") * 64

    def one():
        s = dial(path)
        s.settimeout(1)
        rd = Reader(s)
        try:
            rd.next()                   # HelloReply
            while time.time() < end:
                s.sendall(req)
                for _ in range(64):
                    if rd.next() is None:
                        return
                    count[0] += 1
        except OSError:
            pass

    ths = [threading.Thread(target=one, daemon=True) for _ in range(nconn)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(secs + 5)
    print("stats %d" % count[0])
    return 0


def partial(path, nconn, secs):
    body = struct.pack(">I", 8 << 20) + b"\x12" + b"x" * ((8 << 20) - 2)
    held = []
    took = 0
    for i in range(nconn):
        off = 0
        try:
            s = dial(path) if i >= nconn // 2 else \
                socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            if i < nconn // 2:
                s.connect(path)
            s.settimeout(2)
            held.append(s)
            while off < len(body):
                off += s.send(body[off:off + (1 << 20)])
            took += off
        except OSError:
            took += off
    print("partial %d MiB" % (took >> 20), flush=True)
    time.sleep(secs)
    return 0


def main():
    if len(sys.argv) == 5 and sys.argv[2] == "partial":
        return partial(sys.argv[1], int(sys.argv[3]), float(sys.argv[4]))
    if len(sys.argv) == 5 and sys.argv[2] == "submits":
        return submits(sys.argv[1], sys.argv[3], int(sys.argv[4]))
    if len(sys.argv) == 5 and sys.argv[2] == "statsflood":
        return statsflood(sys.argv[1], int(sys.argv[3]),
                          float(sys.argv[4]))
    if len(sys.argv) != 5 or sys.argv[2] != "waits":
        sys.stderr.write("usage: flood.py SOCKET waits JOB N | "
                         "submits FILE.sbc N | statsflood NCONN SECONDS | "
                         "partial NCONN SECONDS\n")
        return 2
    job, n = int(sys.argv[3]), int(sys.argv[4])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    stats_id = n + 100
    seen = {"replies": 0, "stats": False, "closed": False}
    errors = {}

    def reader():
        buf = b""
        while True:
            try:
                d = s.recv(1 << 20)
            except OSError:
                d = b""
            if not d:
                seen["closed"] = True
                return
            buf += d
            while len(buf) >= 4:
                ln = struct.unpack(">I", buf[:4])[0]
                if len(buf) < 4 + ln:
                    break
                r = fields(buf[4:4 + ln])
                buf = buf[4 + ln:]
                seen["replies"] += 1
                if 9 in r:
                    msg = fields(r[9][0]).get(2, [b""])[0].decode()
                    errors[msg] = errors.get(msg, 0) + 1
                if r.get(1, [0])[0] == stats_id and 8 in r:
                    seen["stats"] = True
                    return

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    s.sendall(frame(1, 2, fv(1, 1) + fb(2, "flood.py")))
    batch = 10000
    rid = 2
    try:
        while rid < n + 2:
            k = min(batch, n + 2 - rid)
            s.sendall(b"".join(frame(rid + i, 5, fv(1, job))
                               for i in range(k)))
            rid += k
        s.sendall(frame(stats_id, 9, b""))
    except OSError as e:
        sys.stderr.write("flood.py: send: %s\n" % e)
    th.join(60)
    print("replies %d" % seen["replies"])
    for msg, cnt in sorted(errors.items()):
        print("error %s x%d" % (msg, cnt))
    if not seen["stats"]:
        sys.stderr.write("flood.py: no Stats reply (%s)\n" %
                         ("closed" if seen["closed"] else "timed out"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
