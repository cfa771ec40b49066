# SPDX-License-Identifier: ISC
"""A scriptable SMTP server for the end-to-end tests of qmail-remote.

    sink = Sink(["127.0.0.2", "127.0.0.3"])        # one port on each address
    sink = Sink(["::1"], port=sink.port, rcpt={"bad@x.test": "550 no such user"})
    ...
    sink.wait_conns(1)                              # bounded waits
    sink.conns[0].txns[0].data                      # bytes on the wire
    sink.stop()                                     # or a with-block

Every address given is bound on the same port (port=0: a free one).  The
behaviour is set by keyword arguments (also changeable later through
sink.opts); the defaults accept everything, like a well-behaved ESMTP
server with PIPELINING, 8BITMIME and no SIZE limit:

  greeting    the greeting line ("220 sink.test ESMTP"); a 4xx/5xx one is
              sent and the connection closed, like a busy qmail-smtpd
              ("421 ... out of connection slots")
  ehlo        False: EHLO gets "502 unimplemented", only HELO works
  pipelining, eightbitmime, smtputf8   announce these keywords
  size        an int: announce "SIZE n" and refuse bigger MAIL SIZE=
  mail        the reply to MAIL ("250 ok")
  rcpt        {address: reply} for RCPT, address lower case; others "250 ok"
  data        the reply to DATA ("354 go ahead")
  final       the reply after the message ("250 ok <n>"); a callable gets
              the transaction and returns the reply
  rset        the reply to RSET ("250 flushed")
  stall       "greeting": never greet; "mail": never answer MAIL;
              "data": read the whole message, never answer it;
              "body": stop reading right after 354 (the client's writes
              then block)
  ehlo_reply  "endless": a multi-line EHLO reply that never ends;
              "longline": one 2000-byte reply line; "garbage": not SMTP
  close_after_txn   close the connection after this many transactions
  timeout     seconds a connection waits for the client (30)
  tls         an ssl.SSLContext (server side): announce STARTTLS and do it
  starttls_reply  the reply to STARTTLS ("220 ready for tls")
  tls_break   "garbage": after the 220, answer the handshake with text;
              "close": close instead of the handshake; "inject": send a
              second reply in the same write as the 220 (RFC 3207 §5's
              injection: a client must not take it as the server's)
  auth        {user: password}: announce AUTH auth_mechs ("PLAIN LOGIN")
              and check AUTH PLAIN / LOGIN against it (235 or 535)

With TLS and AUTH the Conn also records tls (the protocol and cipher
after a handshake), peercert (the client's certificate, when the context
asked for one) and auth (the user logged in, and whether over TLS).

Everything is recorded: sink.conns lists Conn objects (peer address,
local address, every command line with the number of the read it arrived
in, so a pipelined group shows as one read; rsets, quit, helo/ehlo and the
transactions: mail line, (rcpt line, reply) pairs, the raw DATA bytes
through the final ".\\r\\n", and the final reply).  Only loopback
addresses are used; every thread and wait is bounded."""
import socket
import threading
import time

LOOPBACK_TIMEOUT = 30.0


class Txn:
    def __init__(self, mail):
        self.mail = mail
        self.rcpts = []        # (address lower case, reply line)
        self.data = None       # raw bytes after 354 through ".\r\n"
        self.reply = None      # the reply after the message

    @property
    def accepted(self):
        return [a for a, r in self.rcpts if r.startswith("2")]

    def body(self):
        """The message as the client meant it: dot-unstuffed, CRLF kept."""
        if self.data is None:
            return None
        lines = self.data.split(b"\r\n")
        assert lines[-2:] == [b".", b""], self.data[-20:]
        out = []
        for line in lines[:-2]:
            out.append(line[1:] if line.startswith(b".") else line)
        return b"\r\n".join(out) + (b"\r\n" if out else b"")


class Conn:
    def __init__(self, peer, local):
        self.peer = peer
        self.local = local
        self.commands = []     # (read number, line without CRLF)
        self.txns = []
        self.rsets = 0
        self.quit = False
        self.ehlo = None
        self.helo = None
        self.closed = False
        self.tls = None        # (protocol, cipher) after STARTTLS
        self.peercert = None
        self.auth = None       # (user, over TLS)
        self.auth_fail = []    # users refused

    def verbs(self):
        return [c.split(" ", 1)[0].split(":", 1)[0].upper() for _, c in self.commands]

    def reads_of(self, verbs=("MAIL", "RCPT", "DATA")):
        """The read numbers the given commands arrived in, in order."""
        out = []
        for n, c in self.commands:
            v = c.split(" ", 1)[0].split(":", 1)[0].upper()
            if v in verbs:
                out.append(n)
        return out


class _Reader:
    """Lines from a socket, counting the reads they arrived in."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.reads = 0

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        self.reads += 1
        return True

    def line(self, limit=100000):
        while b"\n" not in self.buf:
            if len(self.buf) > limit or not self._more():
                return None
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def until_dot(self, limit=200 * 1024 * 1024):
        """Raw bytes up to and including the first CRLF "." CRLF at a line
        start (RFC 5321's end of data), or None at end of file."""
        data = b""
        start = 0
        while True:
            i = (b"\r\n" + data).find(b"\r\n.\r\n", start)
            if i != -1:
                end = i + 3   # i is in the prefixed string: 2 extra bytes
                self.buf = data[end:] + self.buf
                return data[:end]
            start = max(0, len(data) - 4)
            if self.buf:
                data += self.buf
                self.buf = b""
            elif len(data) > limit or not self._more():
                return None


class Sink:
    def __init__(self, hosts=("127.0.0.2",), port=0, **opts):
        self.opts = {
            "greeting": "220 sink.test ESMTP",
            "ehlo": True,
            "pipelining": True,
            "eightbitmime": True,
            "smtputf8": False,
            "size": None,
            "mail": "250 ok",
            "rcpt": {},
            "data": "354 go ahead",
            "final": None,
            "rset": "250 flushed",
            "stall": None,
            "ehlo_reply": None,
            "close_after_txn": None,
            "timeout": LOOPBACK_TIMEOUT,
            "tls": None,
            "starttls_reply": "220 ready for tls",
            "tls_break": None,
            "auth": None,
            "auth_mechs": "PLAIN LOGIN",
        }
        unknown = set(opts) - set(self.opts)
        if unknown:
            raise TypeError("unknown sink options: %s" % sorted(unknown))
        self.opts.update(opts)
        self.hosts = list(hosts)
        self.conns = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []
        self.socks = []
        self.port = self._bind(port)
        self.accepted_msgs = 0
        for s in self.socks:
            t = threading.Thread(target=self._accept_loop, args=(s,), daemon=True)
            t.start()
            self.threads.append(t)

    # --- setup --------------------------------------------------------
    def _bind(self, port):
        for _ in range(50):
            socks = []
            try:
                p = port
                for h in self.hosts:
                    fam = socket.AF_INET6 if ":" in h else socket.AF_INET
                    s = socket.socket(fam, socket.SOCK_STREAM)
                    socks.append(s)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    if self.opts["stall"] == "body":
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    s.bind((h, p))
                    p = s.getsockname()[1]
                    s.listen(64)
                    s.settimeout(0.2)
                self.socks = socks
                return p
            except OSError:
                for s in socks:
                    s.close()
                if port:
                    raise
        raise RuntimeError("no common free port on %s" % self.hosts)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stopping.set()
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        for t in self.threads:
            t.join(timeout=5)

    # --- waiting ------------------------------------------------------
    def wait(self, pred, timeout=15.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                v = pred()
            if v:
                return v
            time.sleep(0.02)
        raise TimeoutError("sink: timed out waiting for %s" % what)

    def wait_conns(self, n, timeout=15.0):
        return self.wait(lambda: len(self.conns) >= n, timeout, "%d connection(s)" % n)

    def wait_closed(self, timeout=15.0):
        return self.wait(lambda: all(c.closed for c in self.conns), timeout,
                         "every connection closed")

    def txns(self):
        with self.lock:
            return [t for c in self.conns for t in c.txns]

    # --- serving ------------------------------------------------------
    def _accept_loop(self, ls):
        while not self.stopping.is_set():
            try:
                c, addr = ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn = Conn(addr[0], c.getsockname()[0])
            with self.lock:
                self.conns.append(conn)
            t = threading.Thread(target=self._serve, args=(c, conn), daemon=True)
            t.start()
            self.threads.append(t)

    def _send(self, c, text):
        if not text.endswith("\r\n"):
            text += "\r\n"
        c.sendall(text.encode("utf-8", "surrogateescape"))

    def _idle(self, c, rd=None, read=True):
        """Stall: keep the connection open without answering, until the
        client gives up or the sink stops (bounded by the timeout)."""
        deadline = time.monotonic() + self.opts["timeout"]
        c.settimeout(0.2)
        while time.monotonic() < deadline and not self.stopping.is_set():
            if not read:
                time.sleep(0.1)
                continue
            try:
                if not c.recv(65536):
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    def _ehlo_lines(self, tls=False):
        o = self.opts
        lines = ["sink.test hello"]
        if o["pipelining"]:
            lines.append("PIPELINING")
        if o["eightbitmime"]:
            lines.append("8BITMIME")
        if o["smtputf8"]:
            lines.append("SMTPUTF8")
        if o["size"] is not None:
            lines.append("SIZE %d" % o["size"])
        if o["tls"] is not None and not tls:
            lines.append("STARTTLS")
        if o["auth"] is not None:
            lines.append("AUTH " + o["auth_mechs"])
        return lines

    def _ehlo(self, c, tls=False):
        special = self.opts["ehlo_reply"]
        if special == "endless":
            try:
                c.sendall(b"250-sink.test hello\r\n")
                for i in range(200000):
                    if self.stopping.is_set():
                        return False
                    c.sendall(b"250-and another line %d\r\n" % i)
            except OSError:
                pass
            return False
        if special == "longline":
            self._send(c, "250-" + "x" * 2000 + "\r\n250 ok")
            return True
        if special == "garbage":
            self._send(c, "hello there, I am not an SMTP server")
            return True
        lines = self._ehlo_lines(tls)
        out = "".join("250-%s\r\n" % l for l in lines[:-1]) + "250 %s" % lines[-1]
        self._send(c, out)
        return True

    def _starttls(self, c, conn, rd):
        """STARTTLS: the reply, then the handshake (or the break asked
        for); the socket to go on with, or None to end the session."""
        o = self.opts
        brk = o["tls_break"]
        if brk == "inject":
            self._send(c, o["starttls_reply"] + "\r\n250 injected")
        else:
            self._send(c, o["starttls_reply"])
        if not o["starttls_reply"].startswith("220"):
            return c
        if brk == "close":
            return None
        if brk == "garbage":
            try:
                c.recv(4096)
                c.sendall(b"this is no TLS server hello\r\n")
            except OSError:
                pass
            return None
        try:
            t = o["tls"].wrap_socket(c, server_side=True)
        except (OSError, ValueError):
            return None
        t.settimeout(o["timeout"])
        rd.sock = t
        rd.buf = b""
        with self.lock:
            conn.tls = (t.version(), t.cipher()[0])
            try:
                conn.peercert = t.getpeercert()
            except (OSError, ValueError):
                conn.peercert = None
        return t

    def _auth(self, c, conn, rd, line):
        """AUTH PLAIN [initial] or AUTH LOGIN (RFC 4616, the LOGIN draft)."""
        import base64
        import binascii
        parts = line.split(" ")
        mech = parts[1].upper() if len(parts) > 1 else ""
        try:
            if mech == "PLAIN":
                if len(parts) > 2:
                    resp = parts[2]
                else:
                    self._send(c, "334 ")
                    resp = rd.line().decode().rstrip("\r\n")
                _, user, pw = base64.b64decode(resp, validate=True).decode().split("\0")
            elif mech == "LOGIN":
                self._send(c, "334 VXNlcm5hbWU6")
                user = base64.b64decode(rd.line().strip(), validate=True).decode()
                self._send(c, "334 UGFzc3dvcmQ6")
                pw = base64.b64decode(rd.line().strip(), validate=True).decode()
            else:
                self._send(c, "504 5.5.4 unknown mechanism")
                return
        except (ValueError, binascii.Error, AttributeError, UnicodeDecodeError):
            self._send(c, "501 5.5.2 bad base64")
            return
        if self.opts["auth"].get(user) == pw:
            with self.lock:
                conn.auth = (user, conn.tls is not None)
            self._send(c, "235 2.7.0 ok")
        else:
            with self.lock:
                conn.auth_fail.append(user)
            self._send(c, "535 5.7.8 authorization failed")

    def _serve(self, c, conn):
        o = self.opts
        c.settimeout(o["timeout"])
        rd = _Reader(c)
        txn = None
        try:
            if o["stall"] == "greeting":
                self._idle(c)
                return
            self._send(c, o["greeting"])
            if not o["greeting"].startswith("2"):
                return
            while not self.stopping.is_set():
                raw = rd.line()
                if raw is None:
                    return
                line = raw.decode("utf-8", "surrogateescape").rstrip("\r\n")
                with self.lock:
                    conn.commands.append((rd.reads, line))
                verb = line.split(" ", 1)[0].split(":", 1)[0].upper()
                if verb == "EHLO":
                    if not o["ehlo"]:
                        self._send(c, "502 unimplemented (#5.5.1)")
                        continue
                    conn.ehlo = line[5:]
                    if not self._ehlo(c, conn.tls is not None):
                        return
                elif verb == "STARTTLS" and o["tls"] is not None and conn.tls is None:
                    t = self._starttls(c, conn, rd)
                    if t is None:
                        return
                    c = t
                    txn = None
                elif verb == "AUTH" and o["auth"] is not None:
                    self._auth(c, conn, rd, line)
                elif verb == "HELO":
                    conn.helo = line[5:]
                    self._send(c, "250 sink.test")
                elif verb == "MAIL":
                    if o["stall"] == "mail":
                        self._idle(c)
                        return
                    txn = Txn(line)
                    with self.lock:
                        conn.txns.append(txn)
                    reply = o["mail"]
                    if o["size"] and "SIZE=" in line.upper():
                        n = int(line.upper().split("SIZE=")[1].split()[0])
                        if n > o["size"]:
                            reply = "552 sorry, that message size exceeds my databytes limit (#5.3.4)"
                    self._send(c, reply)
                    if not reply.startswith("2"):
                        txn = None
                elif verb == "RCPT":
                    addr = line[line.find("<") + 1:line.rfind(">")].lower() if "<" in line else ""
                    if txn is None:
                        reply = "503 MAIL first (#5.5.1)"
                    else:
                        reply = o["rcpt"].get(addr, "250 ok")
                        with self.lock:
                            txn.rcpts.append((addr, reply))
                    self._send(c, reply)
                elif verb == "DATA":
                    if txn is None or not txn.accepted:
                        self._send(c, "554 no valid recipients (#5.5.1)")
                        continue
                    self._send(c, o["data"])
                    if not o["data"].startswith("354"):
                        txn = None
                        continue
                    if o["stall"] == "body":
                        self._idle(c, read=False)
                        return
                    data = rd.until_dot()
                    if data is None:
                        return
                    with self.lock:
                        txn.data = data
                    if o["stall"] == "data":
                        self._idle(c)
                        return
                    final = o["final"]
                    if callable(final):
                        final = final(txn)
                    if final is None:
                        with self.lock:
                            self.accepted_msgs += 1
                            n = self.accepted_msgs
                        final = "250 ok %d qp 1" % n
                    txn.reply = final
                    self._send(c, final)
                    done = sum(1 for t in conn.txns if t.reply)
                    txn = None
                    if o["close_after_txn"] and done >= o["close_after_txn"]:
                        return
                elif verb == "RSET":
                    with self.lock:
                        conn.rsets += 1
                    txn = None
                    self._send(c, o["rset"])
                elif verb == "QUIT":
                    with self.lock:
                        conn.quit = True
                    self._send(c, "221 sink.test")
                    return
                elif verb == "NOOP":
                    self._send(c, "250 ok")
                else:
                    self._send(c, "502 unimplemented (#5.5.1)")
        except OSError:
            return
        finally:
            with self.lock:
                conn.closed = True
            try:
                c.close()
            except OSError:
                pass
