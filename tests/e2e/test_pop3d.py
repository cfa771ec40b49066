# SPDX-License-Identifier: ISC
"""qmail-pop3d driven through pipes, as the checkpassword program leaves
it: run as the mailbox owner in the account's directory with "Maildir" as
its argument, the client on fds 0 and 1.  Every command of the
TRANSACTION state, qmail's error texts, byte-exact RETR (several MiB, and
binary) compared with a model of RFC 1939's encoding written here from the
RFC, TOP, UIDL stable across sessions, the UPDATE state (unlinks,
new/ -> cur/NAME:2, moves, maildirsize against a recount), sessions that
end without QUIT, two concurrent sessions, hostile input (over-long lines,
NUL, 1 MiB of garbage, names that would forge protocol lines),
LOGIN-DELAY and EXPIRE.  Python's poplib reads the same mailbox over a
socketpair.  When root, qmail-pop3d runs as nobody (it refuses uid 0)."""
import os
import poplib
import re
import selectors
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import qng

POP3D = os.path.join(qng.BIN, "qmail-pop3d")
QUOTA = "10000000S,1000C"


def wire(data):
    """RFC 1939 §3 for a message file: each line ends in CRLF (a CRLF in
    the file stays one), a leading dot is doubled, a last line without LF
    is ended, then the terminating dot line."""
    out = []
    parts = data.split(b"\n")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if last and part == b"":
            break
        if part.startswith(b"."):
            part = b"." + part
        out.append(part + (b"\n" if part.endswith(b"\r") else b"\r\n"))
    return b"".join(out) + b".\r\n"


def wire_top(data, n):
    """TOP's part of a message: the header, its empty line, n body lines."""
    lines = data.split(b"\n")
    keep = []
    body = None
    for i, line in enumerate(lines):
        if i == len(lines) - 1 and line == b"":
            break
        if body is None:
            keep.append(line)
            if line in (b"", b"\r"):
                body = 0
                if n == 0:
                    break
        else:
            if body >= n:
                break
            keep.append(line)
            body += 1
    text = b"\n".join(keep)
    if len(keep) < len(lines):
        text += b"\n"
    return wire(text)


class Box:
    """A home directory with a Maildir, owned by the user qmail-pop3d runs as."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="qng-pop3d-")
        os.chmod(self.tmp, 0o755)
        self.home = os.path.join(self.tmp, "joe")
        self.md = os.path.join(self.home, "Maildir")
        for d in ("", "new", "cur", "tmp"):
            os.makedirs(os.path.join(self.md, d), exist_ok=True)
        self.uid, self.gid = qng.owner_ids()
        self.chown(self.home)
        self.chown(self.md)
        for d in ("new", "cur", "tmp"):
            self.chown(os.path.join(self.md, d))
        self.stamp = 1_600_000_000

    def chown(self, path):
        if qng.IS_ROOT:
            os.lchown(path, self.uid, self.gid)

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def add(self, sub, name, data, mtime=None):
        """A message file; mtime in increasing order unless given."""
        p = os.path.join(self.md, sub, name)
        with open(p, "wb") as f:
            f.write(data)
        self.chown(p)
        if mtime is None:
            self.stamp += 10
            mtime = self.stamp
        os.utime(p, (mtime, mtime))
        return p

    def files(self, sub):
        return sorted(n for n in os.listdir(os.path.join(self.md, sub)) if not n.startswith("."))

    def write_maildirsize(self):
        """maildirsize with the quota line and the true sums."""
        b, c = self.recount()
        p = os.path.join(self.md, "maildirsize")
        with open(p, "w") as f:
            f.write("%s\n%d %d\n" % (QUOTA, b, c))
        self.chown(p)

    def recount(self):
        """Maildir++'s recount: ,S= of the name or the file's size."""
        b = c = 0
        for sub in ("new", "cur"):
            for n in self.files(sub):
                m = re.search(r",S=(\d+)", n.split(":")[0])
                b += int(m.group(1)) if m else os.path.getsize(os.path.join(self.md, sub, n))
                c += 1
        return b, c

    def maildirsize(self):
        with open(os.path.join(self.md, "maildirsize")) as f:
            lines = f.read().split("\n")
        self_q = lines[0]
        b = c = 0
        for line in lines[1:]:
            if line.strip():
                x, y = line.split()
                b += int(x)
                c += int(y)
        return self_q, b, c


class Session:
    """One qmail-pop3d on pipes; replies read with a deadline."""

    def __init__(self, box, args=("Maildir",), env=None, timeout=30, as_owner=True,
                 stdio=None):
        self.box = box
        self.timeout = timeout
        e = {"PATH": "/usr/bin:/bin", "USER": "joe", "TCPREMOTEIP": "192.0.2.9"}
        e.update(env or {})
        self.errpath = os.path.join(box.tmp, "pop3d.%d.log" % time.monotonic_ns())
        self.err = open(self.errpath, "wb")
        pre = None
        if qng.IS_ROOT and as_owner:
            uid, gid = box.uid, box.gid

            def pre():
                os.setgroups([gid])
                os.setgid(gid)
                os.setuid(uid)
        if stdio is not None:
            self.p = subprocess.Popen([POP3D] + list(args), cwd=box.home, env=e, stdin=stdio,
                                      stdout=stdio, stderr=self.err, preexec_fn=pre)
            self.out = None
            return
        self.p = subprocess.Popen([POP3D] + list(args), cwd=box.home, env=e,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, preexec_fn=pre)
        self.out = self.p.stdout.fileno()
        self.buf = b""
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.out, selectors.EVENT_READ)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or not self.sel.select(timeout=left):
            raise TimeoutError("no reply from qmail-pop3d; have %r" % self.buf[-200:])
        chunk = os.read(self.out, 1 << 20)
        if not chunk:
            raise EOFError("qmail-pop3d closed; have %r" % self.buf[-200:])
        self.buf += chunk

    def line(self):
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buf:
            self._fill(deadline)
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def multi(self):
        """The rest of a multi-line reply, up to and with its ".\\r\\n"."""
        deadline = time.monotonic() + self.timeout
        start = 0
        while True:
            if self.buf.startswith(b".\r\n"):
                end = 3
                break
            i = self.buf.find(b"\r\n.\r\n", max(0, start - 4))
            if i != -1:
                end = i + 5
                break
            start = len(self.buf)
            self._fill(deadline)
        data, self.buf = self.buf[:end], self.buf[end:]
        return data

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def cmd(self, text):
        self.send(text.encode() + b"\r\n" if isinstance(text, str) else text)
        return self.line()

    def rest(self):
        """Everything until qmail-pop3d closes its output."""
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                self._fill(deadline)
        except EOFError:
            pass
        data, self.buf = self.buf, b""
        return data

    def close(self):
        try:
            if self.p.stdin:
                self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(timeout=10)
        if self.p.stdout:
            self.p.stdout.close()
        self.err.close()
        return self.p.returncode

    def log(self):
        with open(self.errpath, "rb") as f:
            return f.read().decode(errors="replace")


MSG1 = b"Return-Path: <a@example.test>\nSubject: one\n\nfirst body\n.leading dot\n..two\n.\nend\n"
MSG2 = b"Subject: two\r\nX: crlf\r\n\r\nline 1\r\nline 2\r\nno newline at end"
MSG3 = b"Subject: three\n\n" + bytes(range(256)) + b"\n\0\0\n\x00.\r\r\n"


class Pop3dCase(unittest.TestCase):
    def setUp(self):
        self.box = Box()
        self.addCleanup(self.box.cleanup)
        self.sessions = []

    def tearDown(self):
        for s in self.sessions:
            if s.p.poll() is None:
                s.p.kill()
            s.close()
            log = s.log()
            # a sanitizer build (SAN=1) reports on stderr: any report fails
            self.assertFalse(any(m in log for m in qng.SAN_MARKS), log[-4000:])

    def open(self, greet=b"+OK \r\n", **kw):
        s = Session(self.box, **kw)
        self.sessions.append(s)
        if greet is not None:
            self.assertEqual(s.line(), greet)
        return s

    def three(self):
        self.box.add("new", "1000000001.M1P1.host", MSG1)
        self.box.add("cur", "1000000002.M2P2.host,S=%d:2,S" % len(MSG2), MSG2)
        self.box.add("new", "1000000003.M3P3.host", MSG3)
        self.box.write_maildirsize()

    def quit(self, s, reply=b"+OK \r\n"):
        self.assertEqual(s.cmd("QUIT"), reply)
        self.assertEqual(s.close(), 0)

    # --- the transaction state ---------------------------------------
    def test_stat_list_uidl(self):
        self.three()
        s = self.open()
        total = len(MSG1) + len(MSG2) + len(MSG3)
        self.assertEqual(s.cmd("STAT"), b"+OK 3 %d\r\n" % total)
        self.assertEqual(s.cmd("LIST"), b"+OK \r\n")
        self.assertEqual(s.multi(), b"1 %d\r\n2 %d\r\n3 %d\r\n.\r\n" % (
            len(MSG1), len(MSG2), len(MSG3)))
        self.assertEqual(s.cmd("LIST 2"), b"+OK 2 %d\r\n" % len(MSG2))
        self.assertEqual(s.cmd("UIDL"), b"+OK \r\n")
        self.assertEqual(s.multi(), b"1 1000000001.M1P1.host\r\n2 1000000002.M2P2.host,S=%d\r\n"
                         b"3 1000000003.M3P3.host\r\n.\r\n" % len(MSG2))
        self.assertEqual(s.cmd("uidl 3"), b"+OK 3 1000000003.M3P3.host\r\n")
        self.assertEqual(s.cmd("NOOP"), b"+OK \r\n")
        self.assertEqual(s.cmd("LAST"), b"+OK 0\r\n")
        self.assertEqual(s.cmd("DELE 2"), b"+OK \r\n")
        self.assertEqual(s.cmd("STAT"), b"+OK 2 %d\r\n" % (len(MSG1) + len(MSG3)))
        self.assertEqual(s.cmd("LIST"), b"+OK \r\n")
        self.assertEqual(s.multi(), b"1 %d\r\n3 %d\r\n.\r\n" % (len(MSG1), len(MSG3)))
        self.assertEqual(s.cmd("LAST"), b"+OK 2\r\n")
        self.assertEqual(s.cmd("RSET"), b"+OK \r\n")
        self.assertEqual(s.cmd("LAST"), b"+OK 0\r\n")
        self.assertEqual(s.cmd("STAT"), b"+OK 3 %d\r\n" % total)
        self.quit(s)
        log = s.log()
        self.assertIn("qmail-pop3d: session user=joe ip=192.0.2.9 messages=3 bytes=%d" % total, log)
        self.assertRegex(log, r"end user=joe ip=192\.0\.2\.9 retrieved=0 deleted=0 sent=\d+ reason=quit")

    def test_errors(self):
        self.three()
        s = self.open()
        for cmd, reply in [
            ("RETR 0", b"-ERR messages are counted from 1\r\n"),
            ("RETR 4", b"-ERR not that many messages\r\n"),
            ("RETR 18446744073709551616", b"-ERR syntax error\r\n"),
            ("RETR -1", b"-ERR syntax error\r\n"),
            ("RETR +1", b"-ERR syntax error\r\n"),
            ("RETR", b"-ERR syntax error\r\n"),
            ("RETR x", b"-ERR syntax error\r\n"),
            ("RETR 1 2", b"-ERR syntax error\r\n"),
            ("LIST 9", b"-ERR not that many messages\r\n"),
            ("LIST 0", b"-ERR messages are counted from 1\r\n"),
            ("UIDL abc", b"-ERR syntax error\r\n"),
            ("DELE 0", b"-ERR messages are counted from 1\r\n"),
            ("TOP 1 x", b"-ERR syntax error\r\n"),
            ("TOP 1 -1", b"-ERR syntax error\r\n"),
            ("TOP", b"-ERR syntax error\r\n"),
            ("XTND XMIT", b"-ERR unimplemented\r\n"),
            ("USER joe", b"-ERR unimplemented\r\n"),
            ("PASS x", b"-ERR unimplemented\r\n"),
            ("STLS", b"-ERR unimplemented\r\n"),
            ("", b"-ERR unimplemented\r\n"),
            ("DELE 1", b"+OK \r\n"),
            ("DELE 1", b"-ERR already deleted\r\n"),
            ("RETR 1", b"-ERR already deleted\r\n"),
            ("LIST 1", b"-ERR already deleted\r\n"),
            ("TOP 1 0", b"-ERR already deleted\r\n"),
        ]:
            self.assertEqual(s.cmd(cmd), reply, cmd)
        # the message vanished under us (removed by hand)
        os.unlink(os.path.join(self.box.md, "new", "1000000003.M3P3.host"))
        self.assertEqual(s.cmd("RETR 3"), b"-ERR unable to open that message\r\n")
        self.assertEqual(s.cmd("TOP 3 1"), b"-ERR unable to open that message\r\n")
        self.quit(s)

    def test_case_and_bare_lf(self):
        self.three()
        s = self.open()
        self.assertEqual(s.cmd(b"stat\n"), b"+OK 3 %d\r\n" % (len(MSG1) + len(MSG2) + len(MSG3)))
        self.assertEqual(s.cmd(b"LiSt   2\r\n"), b"+OK 2 %d\r\n" % len(MSG2))
        self.quit(s)

    def test_pipelining(self):
        self.three()
        s = self.open()
        s.send(b"STAT\r\nLIST 1\r\nUIDL 1\r\nNOOP\r\n")
        self.assertTrue(s.line().startswith(b"+OK 3 "))
        self.assertEqual(s.line(), b"+OK 1 %d\r\n" % len(MSG1))
        self.assertEqual(s.line(), b"+OK 1 1000000001.M1P1.host\r\n")
        self.assertEqual(s.line(), b"+OK \r\n")
        # a command split across writes: the replies before it still come
        s.send(b"STAT\r\nNO")
        self.assertTrue(s.line().startswith(b"+OK 3 "))
        self.assertEqual(s.cmd(b"OP\r\n"), b"+OK \r\n")
        self.quit(s)

    def test_capa(self):
        s = self.open()
        self.assertEqual(s.cmd("CAPA"), b"+OK capability list follows\r\n")
        capa = s.multi().decode().split("\r\n")
        self.assertEqual(capa[-2:], [".", ""])
        for c in ("TOP", "UIDL", "RESP-CODES", "PIPELINING", "USER", "IMPLEMENTATION qmail-ng"):
            self.assertIn(c, capa)
        self.assertFalse(any(c.startswith(("LOGIN-DELAY", "EXPIRE")) for c in capa))
        self.quit(s)
        for env, want in [({"POP3EXPIRE": "NEVER"}, "EXPIRE NEVER"),
                          ({"POP3EXPIRE": "30"}, "EXPIRE 30"),
                          ({"POP3EXPIRE": "0"}, "EXPIRE 0"),
                          ({"POP3LOGINDELAY": "0"}, "LOGIN-DELAY 0")]:
            s = self.open(env=env)
            s.cmd("CAPA")
            self.assertIn(want, s.multi().decode().split("\r\n"), env)
            self.quit(s)
        # a value that is not one is left out, and said so in the log
        s = self.open(env={"POP3EXPIRE": "soon", "POP3LOGINDELAY": "-5"})
        s.cmd("CAPA")
        capa = s.multi().decode()
        self.assertNotIn("EXPIRE", capa)
        self.assertNotIn("LOGIN-DELAY", capa)
        self.quit(s)
        self.assertIn("ignored: POP3LOGINDELAY", s.log())

    def test_empty_box(self):
        s = self.open()
        self.assertEqual(s.cmd("STAT"), b"+OK 0 0\r\n")
        self.assertEqual(s.cmd("LIST"), b"+OK \r\n")
        self.assertEqual(s.multi(), b".\r\n")
        self.assertEqual(s.cmd("UIDL"), b"+OK \r\n")
        self.assertEqual(s.multi(), b".\r\n")
        self.assertEqual(s.cmd("RETR 1"), b"-ERR not that many messages\r\n")
        self.quit(s)

    # --- RETR and TOP on the wire ------------------------------------
    def test_retr_exact(self):
        self.three()
        s = self.open()
        for i, m in ((1, MSG1), (2, MSG2), (3, MSG3)):
            self.assertEqual(s.cmd("RETR %d" % i), b"+OK \r\n")
            self.assertEqual(s.multi(), wire(m), i)
        self.assertEqual(s.cmd("LAST"), b"+OK 3\r\n")
        self.quit(s)
        self.assertIn("retrieved=3 deleted=0", s.log())
        # qmail-1.03 sent an empty line before the dot; we do not
        self.assertTrue(wire(MSG1).endswith(b"end\r\n.\r\n"))

    def test_retr_large_and_binary(self):
        # several MiB: lines of every length, dots, CRLF and bare LF mixed
        parts = [b"Subject: big\n\n"]
        n = 0
        while sum(map(len, parts)) < 5 * 1024 * 1024:
            n += 1
            parts.append((b"." if n % 7 == 0 else b"") + b"x" * (n % 1500) +
                         (b"\r\n" if n % 3 == 0 else b"\n"))
        big = b"".join(parts)
        binary = os.urandom(3 * 1024 * 1024)
        self.box.add("new", "1000000010.big", big)
        self.box.add("new", "1000000011.bin", binary)
        s = self.open(timeout=120)
        self.assertEqual(s.cmd("LIST"), b"+OK \r\n")
        self.assertEqual(s.multi(), b"1 %d\r\n2 %d\r\n.\r\n" % (len(big), len(binary)))
        self.assertEqual(s.cmd("RETR 1"), b"+OK \r\n")
        got = s.multi()
        self.assertTrue(got == wire(big), "large message differs")
        self.assertEqual(s.cmd("RETR 2"), b"+OK \r\n")
        # binary: read exactly the expected bytes (a random file may hold
        # "\r\n.\r\n" only where the model says)
        want = wire(binary)
        deadline = time.monotonic() + 120
        while len(s.buf) < len(want):
            s._fill(deadline)
        got, s.buf = s.buf[:len(want)], s.buf[len(want):]
        self.assertTrue(got == want, "binary message differs")
        self.assertEqual(s.cmd("NOOP"), b"+OK \r\n")
        self.quit(s)

    def test_top(self):
        self.three()
        s = self.open()
        for n in (0, 1, 2, 3, 50):
            for i, m in ((1, MSG1), (2, MSG2)):
                self.assertEqual(s.cmd("TOP %d %d" % (i, n)), b"+OK \r\n")
                self.assertEqual(s.multi(), wire_top(m, n), (i, n))
        self.assertEqual(s.cmd("TOP 1 0"), b"+OK \r\n")
        self.assertEqual(s.multi(), b"Return-Path: <a@example.test>\r\nSubject: one\r\n\r\n.\r\n")
        self.assertEqual(s.cmd("TOP 2 1"), b"+OK \r\n")
        self.assertEqual(s.multi(), b"Subject: two\r\nX: crlf\r\n\r\nline 1\r\n.\r\n")
        # qmail-pop3d: TOP without a line count sends it all
        self.assertEqual(s.cmd("TOP 1"), b"+OK \r\n")
        self.assertEqual(s.multi(), wire(MSG1))
        self.quit(s)
        self.assertIn("retrieved=0", s.log())

    def test_poplib(self):
        """Python's poplib, a real client, over a socketpair."""
        self.three()
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        s = Session(self.box, stdio=b)
        self.sessions.append(s)
        b.close()

        class Pipe(poplib.POP3):
            def __init__(self, sock):
                self.host, self.port = "pipe", 0
                self._tls_established = False
                self._debugging = 0
                self.encoding = "UTF-8"
                self.sock = sock
                self.sock.settimeout(30)
                self.file = sock.makefile("rb")
                self.welcome = self._getresp()

        c = Pipe(a)
        self.assertEqual(c.welcome, b"+OK ")
        self.assertEqual(c.stat(), (3, len(MSG1) + len(MSG2) + len(MSG3)))
        caps = c.capa()
        self.assertIn("UIDL", caps)
        resp, lines, octets = c.retr(1)
        self.assertEqual(b"\n".join(lines) + b"\n", MSG1)
        resp, lines, octets = c.retr(2)
        self.assertEqual(b"\r\n".join(lines), MSG2)
        resp, lines, octets = c.top(1, 1)
        self.assertEqual(lines, [b"Return-Path: <a@example.test>", b"Subject: one", b"",
                                 b"first body"])
        uidls = c.uidl()[1]
        self.assertEqual(uidls[0], b"1 1000000001.M1P1.host")
        c.dele(3)
        self.assertEqual(c.quit(), b"+OK ")
        self.assertEqual(s.close(), 0)
        self.assertEqual(self.box.files("new"), [])
        self.assertEqual(self.box.files("cur"), ["1000000001.M1P1.host:2,",
                                                  "1000000002.M2P2.host,S=%d:2,S" % len(MSG2)])

    # --- UIDL names ---------------------------------------------------
    def test_uidl_names_and_stability(self):
        names = [
            ("new", "1000000001.qmailpid.host", "1000000001.qmailpid.host"),
            ("new", "1000000002.M123P45Q6.mx.example.com,S=20",
             "1000000002.M123P45Q6.mx.example.com,S=20"),
            ("cur", "1000000003.M1P2.courier,S=20:2,S", "1000000003.M1P2.courier,S=20"),
            ("cur", "1000000004.M9P9.dovecot,S=20,W=21:2,RS", "1000000004.M9P9.dovecot,S=20,W=21"),
            ("cur", "1000000005.H1P2.host\\0572,S=20:2,", "1000000005.H1P2.host\\0572,S=20"),
            ("new", "1000000006.x", "1000000006.x"),
        ]
        for sub, n, _ in names:
            self.box.add(sub, n, b"Subject: u\n\n01234\n")
        want = b"".join(b"%d %s\r\n" % (i + 1, u.encode()) for i, (_, _, u) in enumerate(names))
        s = self.open()
        s.cmd("UIDL")
        self.assertEqual(s.multi(), want + b".\r\n")
        self.quit(s)
        # new/ moved to cur/ with ":2,"; the next session sees the same ids
        self.assertEqual(self.box.files("new"), [])
        self.assertIn("1000000001.qmailpid.host:2,", self.box.files("cur"))
        self.assertIn("1000000006.x:2,", self.box.files("cur"))
        s = self.open()
        s.cmd("UIDL")
        self.assertEqual(s.multi(), want + b".\r\n")
        self.quit(s)
        # a client flags a message in cur/: its id stays
        os.rename(os.path.join(self.box.md, "cur", "1000000001.qmailpid.host:2,"),
                  os.path.join(self.box.md, "cur", "1000000001.qmailpid.host:2,FS"))
        s = self.open()
        s.cmd("UIDL")
        self.assertEqual(s.multi(), want + b".\r\n")
        self.quit(s)

    def test_listing_order_and_skipped(self):
        self.box.add("new", "3.c", b"c", mtime=3000)
        self.box.add("cur", "1.a:2,S", b"a", mtime=1000)
        self.box.add("new", "2.b", b"b", mtime=2000)
        self.box.add("new", "2.a", b"bb", mtime=2000)
        # never listed: dot-names, directories, symlinks, names that would
        # forge protocol lines
        self.box.add("new", ".hidden", b"x")
        self.box.add("new", "a\r\n.\r\n+OK forged", b"x")
        self.box.add("cur", "with space", b"x")
        os.mkdir(os.path.join(self.box.md, "new", "adir"))
        os.symlink("/etc/passwd", os.path.join(self.box.md, "new", "alink"))
        s = self.open()
        s.cmd("UIDL")
        self.assertEqual(s.multi(), b"1 1.a\r\n2 2.a\r\n3 2.b\r\n4 3.c\r\n.\r\n")
        self.quit(s)
        self.assertTrue(os.path.lexists(os.path.join(self.box.md, "new", "alink")))

    # --- the UPDATE state ---------------------------------------------
    def test_dele_quit_maildirsize(self):
        self.three()
        before = self.box.maildirsize()
        s = self.open()
        self.assertEqual(s.cmd("DELE 1"), b"+OK \r\n")
        self.assertEqual(s.cmd("DELE 2"), b"+OK \r\n")
        self.quit(s)
        self.assertEqual(self.box.files("new"), [])
        self.assertEqual(self.box.files("cur"), ["1000000003.M3P3.host:2,"])
        q, b, c = self.box.maildirsize()
        self.assertEqual(q, QUOTA)
        self.assertEqual((b, c), self.box.recount())
        self.assertEqual((b, c), (before[1] - len(MSG1) - len(MSG2), 1))
        self.assertIn("deleted=2", s.log())

    def test_rset_keeps(self):
        self.three()
        s = self.open()
        s.cmd("DELE 1")
        s.cmd("DELE 3")
        self.assertEqual(s.cmd("RSET"), b"+OK \r\n")
        self.quit(s)
        self.assertEqual(self.box.recount()[1], 3)
        self.assertEqual(self.box.maildirsize()[1:], self.box.recount())

    def test_eof_deletes_nothing(self):
        self.three()
        for how in ("eof", "kill"):
            s = self.open()
            s.cmd("DELE 1")
            s.cmd("DELE 2")
            if how == "eof":
                self.assertEqual(s.close(), 0)
                self.assertIn("reason=eof", s.log())
            else:
                s.p.send_signal(signal.SIGTERM)
                s.close()
            self.assertEqual(self.box.files("new"), ["1000000001.M1P1.host", "1000000003.M3P3.host"])
            self.assertEqual(self.box.files("cur"), ["1000000002.M2P2.host,S=%d:2,S" % len(MSG2)])
            self.assertEqual(self.box.maildirsize()[1:], self.box.recount())

    def test_no_maildirsize_not_created(self):
        self.box.add("new", "1.a", b"x")
        s = self.open()
        s.cmd("DELE 1")
        self.quit(s)
        self.assertFalse(os.path.exists(os.path.join(self.box.md, "maildirsize")))

    def test_swapped_for_fifo_or_symlink(self):
        """A message replaced after the listing by a FIFO or a symlink is
        not opened (a FIFO would block the session for ever)."""
        self.box.add("new", "1.a", b"x")
        self.box.add("new", "2.b", b"y")
        s = self.open()
        p1 = os.path.join(self.box.md, "new", "1.a")
        p2 = os.path.join(self.box.md, "new", "2.b")
        os.unlink(p1)
        os.mkfifo(p1)
        self.box.chown(p1)
        os.unlink(p2)
        os.symlink("/etc/passwd", p2)
        self.assertEqual(s.cmd("RETR 1"), b"-ERR unable to open that message\r\n")
        self.assertEqual(s.cmd("TOP 2 0"), b"-ERR unable to open that message\r\n")
        self.assertEqual(s.cmd("NOOP"), b"+OK \r\n")
        self.quit(s)

    def test_maildirsize_symlink(self):
        """maildirsize pointing elsewhere is never written through; the
        messages are still removed and QUIT is +OK; the log says it."""
        self.box.add("new", "1.a", b"x")
        target = os.path.join(self.box.tmp, "elsewhere")
        with open(target, "w") as f:
            f.write("0S\n")
        self.box.chown(target)
        os.symlink(target, os.path.join(self.box.md, "maildirsize"))
        s = self.open()
        s.cmd("DELE 1")
        self.quit(s)
        self.assertEqual(self.box.files("new") + self.box.files("cur"), [])
        with open(target) as f:
            self.assertEqual(f.read(), "0S\n")
        self.assertIn("maildirsize not updated", s.log())

    def test_unlink_failure(self):
        self.box.add("new", "1.a", b"x")
        self.box.add("cur", "2.b:2,S", b"y")
        s = self.open()
        s.cmd("DELE 2")
        os.chmod(os.path.join(self.box.md, "cur"), 0o500)
        try:
            self.assertEqual(s.cmd("QUIT"), b"-ERR unable to unlink all deleted messages\r\n")
        finally:
            os.chmod(os.path.join(self.box.md, "cur"), 0o700)
        s.close()
        self.assertEqual(self.box.files("cur"), ["2.b:2,S"])

    def test_two_sessions(self):
        self.three()
        a = self.open()
        b = self.open()
        self.assertEqual(a.cmd("STAT"), b.cmd("STAT"))
        # b reads message 1 and 3, deletes 3, quits: 1 moves to cur/
        b.cmd("RETR 1")
        b.multi()
        self.assertEqual(b.cmd("DELE 3"), b"+OK \r\n")
        self.quit(b)
        self.assertEqual(self.box.files("new"), [])
        # a still gets message 1 from cur/, and 3 is gone for it
        self.assertEqual(a.cmd("RETR 1"), b"+OK \r\n")
        self.assertEqual(a.multi(), wire(MSG1))
        self.assertEqual(a.cmd("RETR 3"), b"-ERR unable to open that message\r\n")
        self.assertEqual(a.cmd("UIDL 1"), b"+OK 1 1000000001.M1P1.host\r\n")
        # a deletes 1 (moved by b) and 3 (deleted by b): QUIT is +OK
        self.assertEqual(a.cmd("DELE 1"), b"+OK \r\n")
        self.assertEqual(a.cmd("DELE 3"), b"+OK \r\n")
        self.quit(a)
        self.assertEqual(self.box.files("cur"), ["1000000002.M2P2.host,S=%d:2,S" % len(MSG2)])
        self.assertEqual(self.box.maildirsize()[1:], self.box.recount())
        self.assertNotIn("unable", a.log() + b.log())

    def test_two_sessions_same_quit(self):
        """Both delete everything and quit at once: each file is counted off
        maildirsize once."""
        for i in range(40):
            self.box.add("new", "%d.m%02d,S=10" % (1000000000 + i, i), b"0123456789")
        self.box.write_maildirsize()
        a = self.open()
        b = self.open()
        for s in (a, b):
            for i in range(1, 41):
                s.send(b"DELE %d\r\n" % i)
            for i in range(1, 41):
                self.assertEqual(s.line(), b"+OK \r\n")
        a.send(b"QUIT\r\n")
        b.send(b"QUIT\r\n")
        self.assertEqual(a.line(), b"+OK \r\n")
        self.assertEqual(b.line(), b"+OK \r\n")
        a.close()
        b.close()
        self.assertEqual(self.box.files("new") + self.box.files("cur"), [])
        self.assertEqual(self.box.maildirsize()[1:], (0, 0))

    # --- hostile input ------------------------------------------------
    def test_long_lines(self):
        s = self.open()
        self.assertEqual(s.cmd("NOOP " + "x" * 248), b"+OK \r\n")  # 255 with CRLF
        self.assertEqual(s.cmd("NOOP " + "x" * 249), b"-ERR line too long\r\n")
        self.assertEqual(s.cmd("NOOP " + "x" * 100000), b"-ERR line too long\r\n")
        self.assertEqual(s.cmd("NOOP"), b"+OK \r\n")
        self.quit(s)

    def test_nul_and_controls(self):
        self.three()
        s = self.open()
        self.assertEqual(s.cmd(b"NO\0OP\r\n"), b"-ERR syntax error\r\n")
        self.assertEqual(s.cmd(b"DELE 1\0\r\n"), b"-ERR syntax error\r\n")
        self.assertEqual(s.cmd(b"DELE\t1\r\n"), b"-ERR syntax error\r\n")
        self.assertEqual(s.cmd(b"DELE 1\x1b[2J\r\n"), b"-ERR syntax error\r\n")
        self.assertEqual(s.cmd(b"STAT\r\n").startswith(b"+OK 3 "), True)
        self.quit(s)
        self.assertEqual(self.box.recount()[1], 3)

    def test_garbage(self):
        self.three()
        data = os.urandom(1 << 20) + b"\r\n" + b"A" * (1 << 20) + b"\r\nNOOP\r\nQUIT\r\n"
        e = {"PATH": "/usr/bin:/bin", "USER": "joe\x1b[31m\r\nfake line"}
        pre = None
        if qng.IS_ROOT:
            uid, gid = self.box.uid, self.box.gid

            def pre():
                os.setgroups([gid])
                os.setgid(gid)
                os.setuid(uid)
        p = subprocess.run([POP3D, "Maildir"], cwd=self.box.home, input=data, env=e,
                           capture_output=True, timeout=120, preexec_fn=pre)
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.startswith(b"+OK \r\n"))
        self.assertTrue(p.stdout.endswith(b"+OK \r\n+OK \r\n"), p.stdout[-100:])
        for line in p.stdout.split(b"\r\n")[:-1]:
            self.assertTrue(line.startswith((b"+OK", b"-ERR")), line[:80])
        # nothing the garbage asked for was done: QUIT only moved new/
        self.assertEqual(self.box.recount()[1], 3)
        err = p.stderr.decode(errors="replace")
        self.assertNotIn("\x1b", err)
        self.assertEqual(len(err.strip().split("\n")), 2, err)

    # --- start-up -------------------------------------------------------
    def test_no_maildir(self):
        for args in ((), ("Nope",), ("",)):
            s = self.open(greet=None, args=args)
            self.assertEqual(s.rest(), b"-ERR this user has no $HOME/Maildir\r\n")
            # qmail's exit: the login was good (qmail-popup adds nothing)
            self.assertEqual(s.close(), 0)
        shutil.rmtree(os.path.join(self.box.md, "cur"))
        s = self.open(greet=None)
        self.assertEqual(s.rest(), b"-ERR unable to scan $HOME/Maildir\r\n")
        self.assertEqual(s.close(), 0)

    def test_root_refused(self):
        if not qng.IS_ROOT:
            self.skipTest("needs root")
        self.box.add("new", "1.a", b"x")
        s = self.open(greet=None, as_owner=False)
        self.assertEqual(s.rest(), b"")
        self.assertEqual(s.close(), 1)
        self.assertIn("qmail-pop3d: invoked as uid 0, terminating", s.log())

    def test_tmp_cleaned(self):
        old = self.box.add("tmp", "old", b"x")
        new = self.box.add("tmp", "new", b"x")
        t = time.time()
        os.utime(old, (t - 40 * 3600, t - 40 * 3600))
        os.utime(new, (t - 3600, t - 3600))
        s = self.open()
        self.quit(s)
        self.assertEqual(self.box.files("tmp"), ["new"])

    # --- LOGIN-DELAY and EXPIRE --------------------------------------
    def test_login_delay(self):
        env = {"POP3LOGINDELAY": "60"}
        s = self.open(env=env)
        self.quit(s)
        stamp = os.path.join(self.box.md, ".pop3-login")
        self.assertTrue(os.path.exists(stamp))
        s = self.open(greet=None, env=env)
        line = s.rest()
        self.assertTrue(line.startswith(b"-ERR [LOGIN-DELAY] "), line)
        self.assertEqual(s.close(), 0)
        self.assertIn("login-delay", s.log())
        t = time.time() - 61
        os.utime(stamp, (t, t))
        s = self.open(env=env)
        self.quit(s)
        # without the variable there is no delay
        s = self.open()
        self.quit(s)

    def test_expire_zero(self):
        self.three()
        s = self.open(env={"POP3EXPIRE": "0"})
        s.cmd("RETR 1")
        s.multi()
        s.cmd("TOP 2 0")
        s.multi()
        self.quit(s)
        self.assertEqual(self.box.files("new"), [])
        self.assertEqual(self.box.files("cur"), ["1000000002.M2P2.host,S=%d:2,S" % len(MSG2),
                                                 "1000000003.M3P3.host:2,"])
        self.assertEqual(self.box.maildirsize()[1:], self.box.recount())

    def test_expire_days(self):
        """Only what was retrieved (in cur/) longer ago than the days goes;
        a ctime cannot be set back, so the removal itself is in test_pop3d."""
        self.three()
        s = self.open(env={"POP3EXPIRE": "1"})
        self.assertEqual(s.cmd("STAT")[:6], b"+OK 3 ")
        self.quit(s)
        self.assertEqual(self.box.recount()[1], 3)


class NetworkCase(unittest.TestCase):
    """The whole chain on loopback: tcpserver + qmail-popup + vchkpw +
    qmail-pop3d, an account of a virtual domain, Python's poplib."""

    PASSWORD = "pop pass 1"

    def setUp(self):
        from vpoptree import VpopTree
        self.inst = qng.Instance()
        self.addCleanup(self.inst.cleanup)
        self.tree = VpopTree(self.inst)
        self.tree.add_domain("dom.test")
        self.tree.add_user("dom.test", "joe", self.PASSWORD)
        self.md = os.path.join(self.tree.domain_dir("dom.test"), "joe", "Maildir")

    def add(self, name, data, mtime):
        p = os.path.join(self.md, "new", name)
        with open(p, "wb") as f:
            f.write(data)
        self.tree.own(p)
        os.utime(p, (mtime, mtime))

    def listen(self, rules=None):
        from popclient import start_pop3_chain
        return start_pop3_chain(self.inst, rules=rules)

    def login(self, port):
        c = poplib.POP3("127.0.0.1", port, timeout=30)
        self.assertEqual(c.user("joe@dom.test")[:3], b"+OK")
        self.assertEqual(c.pass_(self.PASSWORD), b"+OK ")
        return c

    def test_deletions_clear_the_over_quota_flag(self):
        """qmail-smtpd answers 452 at RCPT while vdelivermail's over-quota
        flag (users/overquota/USER@DOMAIN) is fresh; a POP3 session that
        deleted mail made room, so its QUIT removes the flag (vchkpw says
        whose: USER and VPOPDOMAIN).  A session that deleted nothing
        leaves it."""
        oq = self.inst.path("users", "overquota")
        os.makedirs(oq, exist_ok=True)
        self.tree.own(oq)
        flag = os.path.join(oq, "joe@dom.test")
        with open(flag, "w"):
            pass
        self.tree.own(flag)
        self.add("1000000001.M1P1.mx", MSG1, 1000)
        self.add("1000000002.M2P2.mx", MSG1, 2000)
        port = self.listen()
        c = self.login(port)
        c.retr(1)
        self.assertEqual(c.quit(), b"+OK ")
        qng.wait_for(lambda: self.inst.log("pop3.log").count("reason=quit") == 1, 10,
                     what="the first session's end")
        self.assertTrue(os.path.exists(flag))
        c = self.login(port)
        c.dele(1)
        self.assertEqual(c.quit(), b"+OK ")
        qng.wait_for(lambda: not os.path.exists(flag), 10, what="the flag's removal")
        self.assertNotIn("over-quota flag", self.inst.log("pop3.log"))

    def test_poplib_session(self):
        big = b"Subject: big\n\n" + b"".join(b".%d\n" % i for i in range(300000))
        self.add("1000000001.M1P1.mx,S=%d" % len(MSG1), MSG1, 1000)
        self.add("1000000002.M2P2.mx", big, 2000)
        port = self.listen()
        c = self.login(port)
        self.assertEqual(c.stat(), (2, len(MSG1) + len(big)))
        self.assertEqual(c.uidl()[1], [b"1 1000000001.M1P1.mx,S=%d" % len(MSG1),
                                       b"2 1000000002.M2P2.mx"])
        lines = c.retr(2)[1]
        self.assertTrue(b"\n".join(lines) + b"\n" == big, "big message differs")
        self.assertEqual(c.top(1, 0)[1], [b"Return-Path: <a@example.test>", b"Subject: one", b""])
        c.dele(1)
        self.assertEqual(c.quit(), b"+OK ")
        qng.wait_for(lambda: not os.path.exists(os.path.join(self.md, "new", "1000000002.M2P2.mx")),
                     10, what="the move to cur/")
        self.assertEqual(os.listdir(os.path.join(self.md, "cur")), ["1000000002.M2P2.mx:2,"])
        qng.wait_for(lambda: "reason=quit" in self.inst.log("pop3.log"), 10, what="the end line")
        log = self.inst.log("pop3.log")
        self.assertIn("qmail-pop3d: session user=joe@dom.test ip=127.0.0.1 messages=2", log)
        self.assertRegex(log, r"qmail-pop3d: end user=joe@dom.test ip=127.0.0.1 retrieved=1 "
                              r"deleted=1 sent=\d+ reason=quit")

    def test_pipelined_login(self):
        """The commands after PASS, sent in the same packet, reach qmail-pop3d."""
        self.add("1000000001.M1P1.mx", MSG1, 1000)
        port = self.listen()
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.addCleanup(s.close)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        s.sendall(b"USER joe@dom.test\r\nPASS %s\r\nSTAT\r\nUIDL 1\r\nQUIT\r\n" %
                  self.PASSWORD.encode())
        self.assertTrue(f.readline().startswith(b"+OK"))  # USER
        self.assertEqual(f.readline(), b"+OK \r\n")  # PASS, from qmail-pop3d
        self.assertEqual(f.readline(), b"+OK 1 %d\r\n" % len(MSG1))
        self.assertEqual(f.readline(), b"+OK 1 1000000001.M1P1.mx\r\n")
        self.assertEqual(f.readline(), b"+OK \r\n")
        self.assertEqual(f.readline(), b"")

    def test_login_delay_from_rules(self):
        port = self.listen(rules='127.0.0.1:allow,POP3LOGINDELAY="300",POP3EXPIRE="NEVER"\n')
        c = self.login(port)
        caps = c.capa()
        self.assertEqual(caps.get("LOGIN-DELAY"), ["300"])
        self.assertEqual(caps.get("EXPIRE"), ["NEVER"])
        c.quit()
        c = poplib.POP3("127.0.0.1", port, timeout=30)
        c.user("joe@dom.test")
        with self.assertRaises(poplib.error_proto) as e:
            c.pass_(self.PASSWORD)
        self.assertIn(b"[LOGIN-DELAY]", e.exception.args[0])
        c.close()


if __name__ == "__main__":
    unittest.main()
