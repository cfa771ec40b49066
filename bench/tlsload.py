# SPDX-License-Identifier: ISC
"""bench/tlsload.py - an SMTP load client with STARTTLS, for the tls
workload of bench/run (smtp-source has no TLS).

    tlsload.py HOST PORT SESSIONS MESSAGES MODE SIZE

SESSIONS processes (one client each, so the client is not one Python
thread against many server processes) share MESSAGES; MODE is
  session     one connection per process: EHLO, STARTTLS, EHLO, then its
              messages back to back (MAIL, RCPT, DATA each waiting for its
              reply, as smtp-source does), QUIT;
  connection  a new connection per message, a full handshake each;
  resume      a new connection per message, resuming the TLS session of
              the previous one (RFC 5077 tickets / TLS 1.3 PSK);
  plain       as session without STARTTLS: to check the client against
              smtp-source -d on the same server.
Each message is a 4-header message with a SIZE-byte body, as
smtp-source -l SIZE.  Every process connects only after all are ready,
so the time is the sending alone.  Prints one line

    sent N of M in S seconds, R resumed, PROTO CIPHER

and exits 0 when every message got its 250, else 1 with the reason on
stderr.  Bounded: each socket operation waits at most 30 s and the whole
run at most TIMEOUT (env TLSLOAD_TIMEOUT, default 600) seconds.
"""
import multiprocessing
import os
import socket
import ssl
import sys
import time

TIMEOUT = float(os.environ.get("TLSLOAD_TIMEOUT", "600"))
SENDER = "bench@client.test"
RCPT = "rcpt@relay.test"
HELO = "client.test"


class Smtp:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb")

    def reply(self):
        while True:
            line = self.f.readline(2000)
            if not line:
                raise OSError("connection closed")
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), line

    def cmd(self, data, want):
        self.sock.sendall(data)
        code, line = self.reply()
        if code != want:
            raise OSError("%r got %r" % (data[:20], line))

    def starttls(self, ctx, session):
        self.cmd(b"EHLO " + HELO.encode() + b"\r\n", 250)
        self.cmd(b"STARTTLS\r\n", 220)
        self.f.close()
        self.sock = ctx.wrap_socket(self.sock, server_hostname=None, session=session)
        self.f = self.sock.makefile("rb")
        self.cmd(b"EHLO " + HELO.encode() + b"\r\n", 250)

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass


def message(i, pid, size):
    body = (b"x" * 70 + b"\r\n") * (size // 72) + b"x" * (size % 72)
    head = ("From: <%s>\r\nTo: <%s>\r\nDate: Thu, 3 Dec 2026 00:00:00 +0000\r\n"
            "Message-Id: <%d.%d@client.test>\r\n\r\n" % (SENDER, RCPT, pid, i)).encode()
    return head + body + b"\r\n.\r\n"


def transaction(s, msg):
    s.cmd(b"MAIL FROM:<" + SENDER.encode() + b">\r\n", 250)
    s.cmd(b"RCPT TO:<" + RCPT.encode() + b">\r\n", 250)
    s.cmd(b"DATA\r\n", 354)
    s.cmd(msg, 250)


def worker(host, port, n, mode, size, ready, go, out):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sent = resumed = 0
    proto = ""
    err = ""
    ready.release()
    go.wait(TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    try:
        session = None
        s = None
        for i in range(n):
            if time.monotonic() > deadline:
                raise OSError("out of time")
            if s is None:
                s = Smtp(host, port)
                code, line = s.reply()
                if code != 220:
                    raise OSError("greeting %r" % line)
                if mode == "plain":
                    s.cmd(b"EHLO " + HELO.encode() + b"\r\n", 250)
                    proto = "plain"
                else:
                    s.starttls(ctx, session if mode == "resume" else None)
                    resumed += bool(s.sock.session_reused)
                    proto = "%s %s" % (s.sock.version(), s.sock.cipher()[0])
            transaction(s, message(i, os.getpid(), size))
            sent += 1
            if mode in ("connection", "resume"):
                if mode == "resume":
                    session = s.sock.session
                s.cmd(b"QUIT\r\n", 221)
                s.close()
                s = None
        if s is not None:
            s.cmd(b"QUIT\r\n", 221)
            s.close()
    except (OSError, ssl.SSLError, ValueError) as e:
        err = str(e)
    out.put((sent, resumed, proto, err))


def main():
    if len(sys.argv) != 7 or sys.argv[5] not in ("session", "connection", "resume",
                                               "plain"):
        sys.exit("usage: tlsload.py HOST PORT SESSIONS MESSAGES "
                 "session|connection|resume|plain SIZE")
    host, port = sys.argv[1], int(sys.argv[2])
    sessions, messages, mode, size = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], \
        int(sys.argv[6])
    ready = multiprocessing.Semaphore(0)
    go = multiprocessing.Event()
    out = multiprocessing.Queue()
    procs = []
    for k in range(sessions):
        n = messages // sessions + (1 if k < messages % sessions else 0)
        p = multiprocessing.Process(target=worker,
                                    args=(host, port, n, mode, size, ready, go, out))
        p.start()
        procs.append(p)
    for _ in procs:
        ready.acquire(timeout=60)
    t0 = time.monotonic()
    go.set()
    results = [out.get(timeout=TIMEOUT + 60) for _ in procs]
    elapsed = time.monotonic() - t0
    for p in procs:
        p.join(timeout=30)
    sent = sum(r[0] for r in results)
    resumed = sum(r[1] for r in results)
    proto = next((r[2] for r in results if r[2]), "-")
    errs = [r[3] for r in results if r[3]]
    print("sent %d of %d in %.3f seconds, %d resumed, %s"
          % (sent, messages, elapsed, resumed, proto), flush=True)
    if errs:
        print("tlsload: %d session(s) failed, first: %s" % (len(errs), errs[0]),
              file=sys.stderr)
    return 0 if sent == messages and not errs else 1


if __name__ == "__main__":
    sys.exit(main())
