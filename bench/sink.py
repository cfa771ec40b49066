#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""bench/sink.py - the SMTP server at the far end of the relay workload.

    sink.py --dir DIR [--procs 2] [--body FILE] [--name sink.test]

Listens on 127.0.0.1 (a free port, printed as "port N" on stdout once
every worker listens), with PROCS worker processes sharing the port
through SO_REUSEPORT, each one an asyncio loop.  It accepts every
command in order (EHLO offers PIPELINING and 8BITMIME), answers a whole
pipelined batch with one write, and checks each message it takes:
one Message-Id header, and, with --body, a body (after dot-unstuffing)
equal byte for byte to FILE's contents.  It keeps nothing on disk
while it runs.

Counters go to DIR/status, a file every worker maps and updates as it
goes (one slot of SLOT_FMT per worker; the last-accepted time is
CLOCK_MONOTONIC, the clock Python's time.monotonic() reads in every
process), so the bench can poll progress without talking to the sink.
On SIGTERM (or SIGINT, or when its parent goes away) the workers close
their connections and write what they saw to DIR/worker-I.json, and the
main process merges those into DIR/report.json and exits 0:
connections, transactions, RCPTs, bytes, the bad messages (first few
kept), the senders, and every message's recipients by Message-Id.
"""
import argparse
import asyncio
import json
import mmap
import os
import re
import signal
import socket
import struct
import sys
import time

# conns, txns (250 after the dot), rcpts in those txns, RCPT commands
# accepted, DATA bytes, bad messages, time of the last 250 after a dot
SLOT_FMT = "<qqqqqqd"
SLOT_SIZE = struct.calcsize(SLOT_FMT)
FIELDS = ("connections", "transactions", "delivered_rcpts", "rcpts", "bytes", "bad",
          "t_last")
LINE_MAX = 4096
MSG_MAX = 64 << 20
BAD_KEEP = 5
MID_RE = re.compile(rb"^message-id:[ \t]*([^\r\n]*)", re.I | re.M)


def read_status(path, procs):
    """Sum of the workers' counters in the status file at path (t_last:
    the latest), as a dict; used by the bench and by main() below."""
    with open(path, "rb") as f:
        data = f.read(SLOT_SIZE * procs)
    return sum_slots(data, procs)


def sum_slots(data, procs):
    out = dict.fromkeys(FIELDS, 0)
    out["t_last"] = 0.0
    for i in range(procs):
        v = struct.unpack_from(SLOT_FMT, data, i * SLOT_SIZE)
        for name, x in zip(FIELDS[:-1], v[:-1]):
            out[name] += x
        out["t_last"] = max(out["t_last"], v[-1])
    return out


class Worker:
    """One worker's counters, its slot in the status file, and what it
    saw, for the report."""

    def __init__(self, index, status_map, body, name):
        self.index = index
        self.map = status_map
        self.body = body
        self.greeting = b"220 %s ESMTP sink\r\n" % name
        self.ehlo = b"250-%s\r\n250-PIPELINING\r\n250 8BITMIME\r\n" % name
        self.c = [0, 0, 0, 0, 0, 0, 0.0]
        self.deliveries = {}   # Message-Id -> [recipients]
        self.senders = {}
        self.bad_samples = []
        self.conns = set()

    def publish(self):
        struct.pack_into(SLOT_FMT, self.map, self.index * SLOT_SIZE, *self.c)

    def accepted(self, sender, rcpts, msg):
        """A whole message after DATA (dot-stuffed, CRLF line ends, the
        final dot line removed): check it, count it, remember it."""
        if b"\r\n.." in msg or msg.startswith(b".."):
            if msg.startswith(b".."):
                msg = msg[1:]
            msg = msg.replace(b"\r\n..", b"\r\n.")
        head, sep, body = msg.partition(b"\r\n\r\n")
        mids = MID_RE.findall(head) if sep else []
        c = self.c
        if len(mids) != 1 or (self.body is not None and body != self.body):
            c[5] += 1
            if len(self.bad_samples) < BAD_KEEP:
                why = "no header/body separator" if not sep else \
                    "%d Message-Id lines" % len(mids) if len(mids) != 1 else \
                    "body of %d bytes differs from the one sent" % len(body)
                self.bad_samples.append({"why": why, "sender": sender, "rcpts": rcpts,
                                         "start": msg[:400].decode("latin-1")})
        else:
            self.deliveries.setdefault(mids[0].strip().decode("latin-1"), []).extend(rcpts)
        self.senders[sender] = self.senders.get(sender, 0) + 1
        c[1] += 1
        c[2] += len(rcpts)
        c[4] += len(msg)
        c[6] = time.monotonic()
        self.publish()

    def report(self):
        r = dict(zip(FIELDS, self.c))
        r.update(worker=self.index, bad_samples=self.bad_samples, senders=self.senders,
                 deliveries=self.deliveries)
        return r


def address(arg):
    """The path of a MAIL FROM:/RCPT TO: argument, lower case, without
    the angle brackets and parameters."""
    arg = arg.split(b":", 1)[1].strip() if b":" in arg else b""
    if arg.startswith(b"<"):
        arg = arg[1:].split(b">", 1)[0]
    else:
        arg = arg.split(b" ", 1)[0]
    return arg.decode("latin-1").lower()


class Conn(asyncio.Protocol):
    """One SMTP session.  Command lines and message data are taken out of
    one buffer; the replies to everything that arrived in one read go
    out in one write, which is all PIPELINING asks of a server."""

    def __init__(self, w):
        self.w = w
        self.t = None
        self.buf = bytearray()
        self.msg = None       # in DATA: b"\r\n" + data so far
        self.scan = 0
        self.sender = None
        self.rcpts = []

    def connection_made(self, transport):
        self.t = transport
        self.w.conns.add(self)
        self.w.c[0] += 1
        self.w.publish()
        transport.write(self.w.greeting)

    def connection_lost(self, exc):
        self.w.conns.discard(self)

    def data_received(self, data):
        out = []
        if self.msg is not None:
            rest = self.take_data(data, out)
            if rest is None:
                return
            self.buf += rest
        else:
            self.buf += data
        buf = self.buf
        pos = 0
        while True:
            i = buf.find(b"\r\n", pos)
            if i < 0:
                if len(buf) - pos > LINE_MAX:
                    out.append(b"500 line too long\r\n")
                    self.finish(out)
                    return
                break
            line = bytes(buf[pos:i])
            pos = i + 2
            quit_now = self.command(line, out)
            if quit_now:
                self.finish(out)
                return
            if self.msg is not None:
                rest = self.take_data(bytes(buf[pos:]), out)
                del buf[:]
                pos = 0
                if rest is None:
                    break
                buf += rest
        del buf[:pos]
        if out:
            self.t.write(b"".join(out))

    def finish(self, out):
        self.t.write(b"".join(out))
        out.clear()
        self.t.close()

    def take_data(self, data, out):
        """Add data to the message; at its end, accept it and return the
        bytes after the final dot (b"" if none); None while it goes on."""
        m = self.msg
        m += data
        e = m.find(b"\r\n.\r\n", self.scan)
        if e < 0:
            self.scan = max(0, len(m) - 4)
            if len(m) > MSG_MAX:
                out.append(b"552 message too big\r\n")
                self.msg = None
                self.finish(out)
            elif out:
                self.t.write(b"".join(out))
                out.clear()
            return None
        rest = bytes(m[e + 5:])
        self.w.accepted(self.sender, self.rcpts, bytes(m[2:e + 2]))
        self.msg = None
        self.sender = None
        self.rcpts = []
        out.append(b"250 ok\r\n")
        return rest

    def command(self, line, out):
        """One command line; True when the session ends (QUIT)."""
        verb = line[:4].upper()
        if verb == b"MAIL":
            if self.sender is not None:
                out.append(b"503 nested MAIL\r\n")
            else:
                self.sender = address(line)
                self.rcpts = []
                out.append(b"250 ok\r\n")
        elif verb == b"RCPT":
            if self.sender is None:
                out.append(b"503 MAIL first\r\n")
            else:
                self.rcpts.append(address(line))
                self.w.c[3] += 1
                out.append(b"250 ok\r\n")
        elif verb == b"DATA":
            if not self.rcpts:
                out.append(b"503 RCPT first\r\n")
            else:
                self.msg = bytearray(b"\r\n")
                self.scan = 0
                out.append(b"354 go ahead\r\n")
        elif verb == b"EHLO":
            out.append(self.w.ehlo)
        elif verb == b"HELO":
            out.append(b"250 sink\r\n")
        elif verb == b"RSET":
            self.sender = None
            self.rcpts = []
            out.append(b"250 ok\r\n")
        elif verb == b"NOOP":
            out.append(b"250 ok\r\n")
        elif verb == b"QUIT":
            out.append(b"221 bye\r\n")
            return True
        else:
            out.append(b"502 unimplemented\r\n")
        return False


def worker_main(index, sock, status_path, body, name, outdir):
    status = open(status_path, "r+b")
    smap = mmap.mmap(status.fileno(), 0)
    w = Worker(index, smap, body, name)
    loop = asyncio.new_event_loop()
    stop = loop.create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, lambda: stop.done() or stop.set_result(None))

    async def serve():
        server = await loop.create_server(lambda: Conn(w), sock=sock, backlog=1024)
        await stop
        server.close()
        for c in list(w.conns):
            c.t.abort()
        await asyncio.sleep(0)

    loop.run_until_complete(serve())
    loop.close()
    w.publish()
    tmp = os.path.join(outdir, "worker-%d.json.tmp" % index)
    with open(tmp, "w") as f:
        json.dump(w.report(), f)
    os.rename(tmp, os.path.join(outdir, "worker-%d.json" % index))


def listeners(procs):
    """procs sockets on one free port of 127.0.0.1, bound with
    SO_REUSEPORT so that the kernel spreads connections over them."""
    socks = []
    port = 0
    for _ in range(procs):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", port))
        port = s.getsockname()[1]
        s.listen(1024)
        s.setblocking(False)
        socks.append(s)
    return port, socks


def merge(outdir, procs):
    total = dict.fromkeys(FIELDS[:-1], 0)
    total.update(t_last=0.0, bad_samples=[], senders={}, deliveries={}, per_worker=[],
                 missing_workers=[])
    for i in range(procs):
        try:
            with open(os.path.join(outdir, "worker-%d.json" % i)) as f:
                r = json.load(f)
        except (OSError, ValueError):
            total["missing_workers"].append(i)
            continue
        for k in FIELDS[:-1]:
            total[k] += r[k]
        total["t_last"] = max(total["t_last"], r["t_last"])
        total["bad_samples"] += r["bad_samples"]
        for s, n in r["senders"].items():
            total["senders"][s] = total["senders"].get(s, 0) + n
        for mid, rcpts in r["deliveries"].items():
            total["deliveries"].setdefault(mid, []).extend(rcpts)
        total["per_worker"].append({k: r[k] for k in ("connections", "transactions")})
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--body")
    ap.add_argument("--name", default="sink.test")
    a = ap.parse_args()
    body = None
    if a.body:
        with open(a.body, "rb") as f:
            body = f.read()
    status_path = os.path.join(a.dir, "status")
    with open(status_path, "wb") as f:
        f.write(b"\0" * max(mmap.PAGESIZE, SLOT_SIZE * a.procs))
    port, socks = listeners(a.procs)
    parent = os.getppid()
    sigs = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD}
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    pids = []
    for i, s in enumerate(socks):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, sigs)
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                for other in socks:
                    if other is not s:
                        other.close()
                worker_main(i, s, status_path, body, a.name.encode(), a.dir)
            except BaseException as e:  # noqa: BLE001 - say why, then go
                print("sink worker %d: %r" % (i, e), file=sys.stderr, flush=True)
                code = 1
            os._exit(code)
        pids.append(pid)
    for s in socks:
        s.close()
    print("port %d" % port, flush=True)
    # Wait for a signal, a worker's death or the parent's, without a loop
    # that burns CPU: one wake-up a second at most.
    live = set(pids)
    while live:
        info = signal.sigtimedwait(sigs, 1.0)
        if os.getppid() != parent or (info and info.si_signo != signal.SIGCHLD):
            break
        for pid in list(live):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                live.discard(pid)
                print("sink: worker %d exited early" % pid, file=sys.stderr, flush=True)
    for pid in live:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while live and time.monotonic() < deadline:
        for pid in list(live):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                live.discard(pid)
        time.sleep(0.02)
    for pid in live:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    report = merge(a.dir, a.procs)
    tmp = os.path.join(a.dir, "report.json.tmp")
    with open(tmp, "w") as f:
        json.dump(report, f)
    os.rename(tmp, os.path.join(a.dir, "report.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
