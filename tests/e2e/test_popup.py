# SPDX-License-Identifier: ISC
"""qmail-popup, the POP3 AUTHORIZATION state, as the seeds' servers run it:
tcpserver ... qmail-popup HOST vchkpw qmail-pop3d Maildir, on loopback, with
a virtual-domain account (vpopinst.py) and mail written into its Maildir.
qmail-1.03's replies (greeting timestamp, "+OK " after USER, "-ERR USER
first", "-ERR authorization first"), APOP, AUTH PLAIN (RFC 5034), CAPA
(RFC 2449), STLS with its pipelined bytes discarded (CVE-2011-0411), POP3S
(RFC 8314) and the TLS relay (RETR byte-exact through it), failed logins
(delay, log line, limit), hostile input, pipelining after PASS in plain
mode; and checkpassword compatibility both ways: our qmail-popup with a
checkpassword written here and with qmail-checkpassword, our vchkpw under
a qmail-popup written here from the protocol."""
import base64
import hashlib
import os
import poplib
import re
import shutil
import socket
import ssl
import subprocess
import time
import unittest

import qng
from popclient import Raw, install_cert, start_pop
from vpopinst import VpopInstance

PW = "pw secret"
USER = "joe@example.test"
GREETING = re.compile(r"^\+OK <\d+\.\d+@test\.local>$")

# A checkpassword program written from the interface (not ours): fd 3 up
# to 512 bytes, a fixed user and password, chdir and exec argv[1:].
TINY_CHECKPASSWORD = r'''#!/usr/bin/env python3
import os, sys
data = b""
while len(data) < 512:
    chunk = os.read(3, 512 - len(data))
    if not chunk:
        break
    data += chunk
f = data.split(b"\0")
if len(f) >= 3 and f[0] == b"tiny" and f[1] == b"tinypw":
    os.environ["USER"] = "tiny"
    os.chdir(os.environ["TINYHOME"])
    os.execvp(sys.argv[1], sys.argv[1:])
if len(f) >= 3 and f[0] == b"crash":
    os.kill(os.getpid(), 11)
if len(f) >= 3 and f[0] == b"temp":
    sys.exit(111)
if len(f) >= 3 and f[0] == b"talk":
    os.write(1, b"+OK talked\r\n")
    sys.exit(1)
sys.exit(1)
'''

# A qmail-popup written from the protocol (not ours), to run our vchkpw:
# greeting, USER, PASS, the fd 3 data, exec.
OTHER_POPUP = r'''#!/usr/bin/env python3
import os, sys
stamp = "<%d.%d@other.test>" % (os.getpid(), 1700000000)
def out(s):
    os.write(1, (s + "\r\n").encode())
def line():
    b = b""
    while not b.endswith(b"\n") and len(b) < 300:
        c = os.read(0, 1)
        if not c:
            sys.exit(1)
        b += c
    return b.rstrip(b"\r\n").decode()
out("+OK " + stamp)
user = None
while True:
    l = line()
    verb, _, arg = l.partition(" ")
    verb = verb.upper()
    if verb == "USER":
        user = arg
        out("+OK ")
    elif verb == "PASS" and user:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w)
            if r != 3:
                os.dup2(r, 3)
            os.set_inheritable(3, True)
            os.execvp(sys.argv[1], sys.argv[1:])
        os.close(r)
        os.write(w, user.encode() + b"\0" + arg.encode() + b"\0" + stamp.encode() + b"\0")
        os.close(w)
        _, st = os.waitpid(pid, 0)
        if st == 0:
            sys.exit(0)
        out("-ERR authorization failed")
    elif verb == "QUIT":
        out("+OK ")
        sys.exit(0)
    else:
        out("-ERR authorization first")
'''


def message(i, body=None):
    return (b"From: a@example.test\nTo: joe@example.test\nSubject: test %d\n\n" % i +
            (body if body is not None else b"line one\n.leading dot\nlast\n"))


class PopupCase(unittest.TestCase):
    """One instance for the class: ~vpopmail with example.test, joe (and
    a clear-text password for APOP), listeners started on demand."""

    @classmethod
    def setUpClass(cls):
        q = cls.q = VpopInstance()
        try:
            q.control("vpopclearpasswd", "1\n")
            rc, out, err = q.tool("vadddomain", "example.test", "dompw")
            assert rc == 0, err
            for u in ("joe", "ann", "bob", "big", "tls", "pipe", "other", "many", "ppipe"):
                rc, out, err = q.tool("vadduser", u + "@example.test", PW)
                assert rc == 0, err
            cls.ctx, cls.pctx = install_cert(q)
            cls.ports = {}
        except Exception:
            q.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.q.cleanup()

    def maildir(self, user="joe"):
        return os.path.join(self.q.domdir("example.test"), user, "Maildir")

    def deliver(self, user, name, data):
        path = os.path.join(self.maildir(user), "new", name)
        self.q.write(path, data, mode=0o600)
        return path

    def port(self, **env):
        """A listener for qmail-popup test.local vchkpw qmail-pop3d Maildir
        with this environment (POP3FAILDELAY=0 unless given)."""
        env.setdefault("POP3FAILDELAY", "0")
        key = tuple(sorted(env.items()))
        if key not in self.ports:
            name = "pop3-%d" % len(self.ports)
            b = self.q.bin
            self.ports[key] = (start_pop(self.q, [os.path.join(b, "qmail-popup"), "test.local",
                                                  os.path.join(b, "vchkpw"),
                                                  os.path.join(b, "qmail-pop3d"), "Maildir"],
                                         env=env, name=name), name)
        self.logname = self.ports[key][1]
        return self.ports[key][0]

    def raw(self, tls=None, **env):
        r = Raw(self.port(**env), tls=tls)
        self.addCleanup(r.close)
        return r

    def log(self):
        return self.q.log(self.logname + ".log")

    def wait_log(self, regex):
        """A line of qmail-popup's log some time after the session ended."""
        return self.q.wait_log(regex, logname=self.logname + ".log", timeout=10)


class TestPlain(PopupCase):
    def test_greeting_user_pass_stat_quit(self):
        self.deliver("joe", "1000.1.h", message(1))
        r = self.raw()
        self.assertRegex(r.greeting, GREETING)
        r.send("USER %s\r\n" % USER)
        self.assertEqual(r.rawline(), b"+OK \r\n")  # qmail's bare +OK with its space
        self.assertEqual(r.cmd("PASS " + PW), "+OK ")  # qmail-pop3d answers PASS
        self.assertRegex(r.cmd("STAT"), r"^\+OK 1 \d+$")
        self.assertEqual(r.cmd("QUIT"), "+OK ")
        self.assertEqual(r.rest(), b"")

    def test_poplib_retr(self):
        body = message(2, b"".join(b"line %d\n" % i for i in range(50)) + b".dot\n..two\n")
        self.deliver("ann", "1000.2.h", body)
        p = poplib.POP3("127.0.0.1", self.port(), timeout=15)
        self.addCleanup(p.close)
        p.user("ann@example.test")
        p.pass_(PW)
        resp, lines, octets = p.retr(1)
        self.assertEqual(b"\n".join(lines) + b"\n", body)
        p.quit()

    def test_wrong_password_then_right(self):
        r = self.raw()
        self.assertEqual(r.cmd("USER " + USER), "+OK ")
        self.assertEqual(r.cmd("PASS wrong"), "-ERR authorization failed")
        # the session goes on; the USER is forgotten after a failure
        self.assertEqual(r.cmd("PASS " + PW), "-ERR USER first")
        self.assertEqual(r.cmd("USER " + USER), "+OK ")
        self.assertEqual(r.cmd("PASS " + PW), "+OK ")
        self.assertTrue(r.cmd("STAT").startswith("+OK "))
        log = self.log()
        self.assertRegex(log, r"qmail-popup: login failed ip=127\.0\.0\.1 user=joe@example\.test "
                              r"mech=USER tls=no exit=1\n")
        self.assertNotIn("wrong", log.replace("reason=wrong password", ""))

    def test_authorization_state_errors(self):
        r = self.raw()
        self.assertEqual(r.cmd("PASS x"), "-ERR USER first")
        self.assertEqual(r.cmd("STAT"), "-ERR authorization first")
        self.assertEqual(r.cmd("RETR 1"), "-ERR authorization first")
        self.assertEqual(r.cmd("XYZZY"), "-ERR authorization first")
        self.assertEqual(r.cmd("USER"), "-ERR syntax error")
        self.assertEqual(r.cmd("USER    "), "-ERR syntax error")
        self.assertEqual(r.cmd("user " + USER), "+OK ")  # verbs in any case
        self.assertEqual(r.cmd("PASS"), "-ERR syntax error")
        self.assertEqual(r.cmd("APOP"), "-ERR syntax error")
        self.assertEqual(r.cmd("APOP joe"), "-ERR syntax error")
        self.assertEqual(r.cmd("NOOP"), "+OK ")
        self.assertEqual(r.cmd("QUIT"), "+OK ")
        self.assertEqual(r.rest(), b"")

    def test_pipelining_after_pass(self):
        """Everything sent after PASS in the same write is still in the
        socket for qmail-pop3d: all four commands are answered."""
        self.deliver("pipe", "1000.3.h", message(3))
        r = self.raw()
        r.send("USER pipe@example.test\r\nPASS %s\r\nSTAT\r\nLIST\r\nQUIT\r\n" % PW)
        self.assertEqual(r.line(), "+OK ")
        self.assertEqual(r.line(), "+OK ")
        self.assertRegex(r.line(), r"^\+OK 1 \d+$")
        self.assertEqual(r.line(), "+OK ")
        self.assertRegex(r.line(), r"^1 \d+$")
        self.assertEqual(r.line(), ".")
        self.assertEqual(r.line(), "+OK ")
        self.assertEqual(r.rest(), b"")

    def test_capa(self):
        r = self.raw(POP3LOGINDELAY="900", POP3EXPIRE="NEVER")
        self.assertEqual(r.cmd("CAPA"), "+OK Capability list follows")
        caps = r.multi()
        # the refusal is qmail's "-ERR authorization failed", without
        # RFC 3206's [AUTH]: no AUTH-RESP-CODE is promised
        self.assertNotIn("AUTH-RESP-CODE", caps)
        for c in ("TOP", "UIDL", "RESP-CODES", "PIPELINING", "USER",
                  "SASL PLAIN", "STLS", "LOGIN-DELAY 900", "EXPIRE NEVER",
                  "IMPLEMENTATION qmail-ng"):
            self.assertIn(c, caps)
        r2 = self.raw()
        r2.cmd("CAPA")
        caps = r2.multi()
        self.assertFalse([c for c in caps if c.startswith(("LOGIN-DELAY", "EXPIRE"))])
        r3 = self.raw(POP3EXPIRE="soon\r\nX", POP3LOGINDELAY="-1")
        r3.cmd("CAPA")
        caps = r3.multi()
        self.assertFalse([c for c in caps if c.startswith(("LOGIN-DELAY", "EXPIRE"))])

    def test_apop(self):
        p = poplib.POP3("127.0.0.1", self.port(), timeout=15)
        self.addCleanup(p.close)
        self.assertTrue(p.apop(USER, PW).startswith(b"+OK"))
        p.quit()
        r = self.raw()
        stamp = r.greeting[4:]
        bad = hashlib.md5((stamp + "nope").encode()).hexdigest()
        self.assertEqual(r.cmd("APOP %s %s" % (USER, bad)), "-ERR authorization failed")
        good = hashlib.md5((stamp + PW).encode()).hexdigest()
        self.assertEqual(r.cmd("APOP %s %s" % (USER, good)), "+OK ")
        self.assertRegex(self.log(), r"login failed ip=127\.0\.0\.1 user=joe@example\.test "
                                     r"mech=APOP tls=no exit=1")

    def test_auth_plain(self):
        good = base64.b64encode(b"\0" + USER.encode() + b"\0" + PW.encode()).decode()
        same = base64.b64encode(USER.encode() + b"\0" + USER.encode() + b"\0" +
                                PW.encode()).decode()
        other = base64.b64encode(b"bob@example.test\0" + USER.encode() + b"\0" +
                                 PW.encode()).decode()
        wrong = base64.b64encode(b"\0" + USER.encode() + b"\0nope").decode()
        r = self.raw()
        self.assertEqual(r.cmd("AUTH"), "+OK")
        self.assertEqual(r.multi(), ["PLAIN"])
        self.assertEqual(r.cmd("AUTH CRAM-MD5"), "-ERR unsupported authentication mechanism")
        self.assertEqual(r.cmd("AUTH PLAIN %s" % wrong), "-ERR authorization failed")
        self.assertEqual(r.cmd("AUTH PLAIN %s" % other),
                         "-ERR [AUTH] authorization identity must be empty or the user")
        self.assertEqual(r.cmd("AUTH PLAIN !!notbase64"), "-ERR malformed base64")
        self.assertEqual(r.cmd("AUTH PLAIN ="), "-ERR malformed PLAIN response")
        self.assertEqual(r.cmd("AUTH PLAIN"), "+ ")
        self.assertEqual(r.cmd("*"), "-ERR authentication cancelled")
        self.assertEqual(r.cmd("AUTH plain"), "+ ")
        self.assertEqual(r.cmd("%%%"), "-ERR malformed base64")
        self.assertEqual(r.cmd("AUTH PLAIN"), "+ ")
        self.assertEqual(r.cmd(same), "+OK ")
        self.assertTrue(r.cmd("STAT").startswith("+OK "))
        r.cmd("QUIT")
        r = self.raw()
        self.assertEqual(r.cmd("AUTH PLAIN " + good), "+OK ")
        r.cmd("QUIT")
        self.wait_log(r"login ok ip=127\.0\.0\.1 user=joe@example\.test mech=PLAIN tls=no exit=0")

    def test_hostile_lines(self):
        r = self.raw()
        self.assertEqual(r.cmd("USER " + "x" * 300), "-ERR line too long")
        self.assertEqual(r.cmd("NOOP"), "+OK ")
        self.assertEqual(r.cmd("USER a\0b"), "-ERR syntax error")
        self.assertEqual(r.cmd("USER evil\x1b[2J"), "-ERR syntax error")
        # bare LF ends a line as qmail's reader takes it
        r.send(b"NOOP\n")
        self.assertEqual(r.line(), "+OK ")
        # 1 MiB without a line end: one over-long line, no crash
        r.send(b"A" * (1 << 20) + b"\r\n")
        self.assertEqual(r.line(), "-ERR line too long")
        self.assertEqual(r.cmd("NOOP"), "+OK ")
        self.assertEqual(r.cmd("QUIT"), "+OK ")

    def test_auth_plain_pipelined_and_long(self):
        self.deliver("ppipe", "1000.9.h", message(11))
        r = self.raw()
        self.assertEqual(r.cmd("AUTH PLAIN"), "+ ")
        self.assertEqual(r.cmd("A" * 2000), "-ERR line too long")
        self.assertEqual(r.cmd("NOOP"), "+OK ")
        plain = base64.b64encode(b"\0ppipe@example.test\0" + PW.encode()).decode()
        r.send("AUTH PLAIN %s\r\nSTAT\r\nQUIT\r\n" % plain)
        self.assertEqual(r.line(), "+OK ")
        self.assertRegex(r.line(), r"^\+OK \d+ \d+$")
        self.assertEqual(r.line(), "+OK ")

    def test_garbage_lines_hit_the_command_limit(self):
        r = self.raw()
        r.send(b"".join(b"\x00\xff garbage %d\r\n" % i for i in range(200)))
        out = r.rest().decode("latin-1").split("\r\n")
        self.assertEqual(out[:100], ["-ERR syntax error"] * 100)
        self.assertEqual(out[100:], ["-ERR too many commands", ""])
        self.assertIn("too many commands ip=127.0.0.1", self.log())

    def test_random_megabyte(self):
        r = self.raw()
        r.send(os.urandom(1 << 20))
        out = r.rest(timeout=30)
        self.assertTrue(all(l.startswith(b"-ERR") for l in out.split(b"\r\n") if l), out[:200])

    def test_too_many_failures(self):
        r = self.raw()
        for i in range(2):
            self.assertEqual(r.cmd("USER bob@example.test"), "+OK ")
            self.assertEqual(r.cmd("PASS bad%d" % i), "-ERR authorization failed")
        self.assertEqual(r.cmd("USER bob@example.test"), "+OK ")
        self.assertEqual(r.cmd("PASS bad3"), "-ERR too many failed logins")
        self.assertEqual(r.rest(), b"")
        self.assertEqual(len(re.findall(r"qmail-popup: login failed ip=127\.0\.0\.1 "
                                        r"user=bob@example\.test",
                                        self.log())), 3)
        self.assertIn("too many failed logins ip=127.0.0.1 fails=3", self.log())
        r = self.raw(POP3MAXFAIL="1")
        r.cmd("USER bob@example.test")
        self.assertEqual(r.cmd("PASS bad"), "-ERR too many failed logins")

    def test_failure_is_delayed(self):
        r = Raw(self.port(POP3FAILDELAY="2"))
        self.addCleanup(r.close)
        r.cmd("USER " + USER)
        t0 = time.monotonic()
        self.assertEqual(r.cmd("PASS wrong"), "-ERR authorization failed")
        self.assertGreaterEqual(time.monotonic() - t0, 1.9)
        t0 = time.monotonic()
        r.cmd("USER " + USER)
        self.assertEqual(r.cmd("PASS " + PW), "+OK ")
        self.assertLess(time.monotonic() - t0, 1.9)

    def test_log_line_is_printable(self):
        r = self.raw()
        r.cmd("USER evil\u00e9\u0085x@example.test")
        r.cmd("PASS x")
        log = self.log()
        line = [l for l in log.splitlines() if "user=evil" in l][-1]
        self.assertNotIn("\u0085", line)
        self.assertRegex(line, r"^qmail-popup: login failed ip=127\.0\.0\.1 user=evil")


class TestTLS(PopupCase):
    def test_capa_before_and_after_stls(self):
        r = self.raw()
        r.cmd("CAPA")
        self.assertIn("STLS", r.multi())
        self.assertEqual(r.cmd("STLS"), "+OK Begin TLS negotiation")
        r.starttls(self.ctx)
        r.cmd("CAPA")
        caps = r.multi()
        self.assertNotIn("STLS", caps)
        self.assertIn("USER", caps)
        self.assertEqual(r.cmd("STLS"), "-ERR TLS already active")
        self.assertEqual(r.cmd("QUIT"), "+OK ")
        self.assertRegex(self.log(), r"qmail-popup: tls ip=127\.0\.0\.1 protocol=TLSv1\.[23] ")

    @unittest.skipUnless(shutil.which("openssl"), "no openssl command")
    def test_openssl_s_client_starttls_pop3(self):
        """OpenSSL's own POP3 STLS client (-starttls pop3) verifies the
        certificate and talks through it."""
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.port(),
                            "-starttls", "pop3", "-CAfile", self.q.pop_cafile,
                            "-verify_return_error", "-quiet"],
                           input=b"CAPA\r\nUSER joe\r\nQUIT\r\n", capture_output=True,
                           timeout=30)
        out = r.stdout.decode(errors="replace")
        self.assertIn("+OK Capability list follows", out)
        self.assertIn("IMPLEMENTATION qmail-ng", out)
        self.assertNotIn("STLS", out)
        # USER's and QUIT's answers after the capability list
        self.assertEqual(out.split(".\r\n", 1)[1], "+OK \r\n+OK \r\n")

    def test_stls_injection_is_discarded(self):
        r = self.raw()
        self.assertEqual(r.cmd("USER " + USER), "+OK ")
        r.send("STLS\r\nUSER evil@example.test\r\n")
        self.assertEqual(r.line(), "+OK Begin TLS negotiation")
        r.starttls(self.ctx)
        # neither the injected USER nor the one before STLS counts
        self.assertEqual(r.cmd("PASS " + PW), "-ERR USER first")
        self.assertEqual(r.cmd("NOOP"), "+OK ")
        self.assertIn("bytes sent after STLS discarded", self.log())

    def test_full_session_through_the_relay(self):
        small = message(4, bytes(range(1, 256)).replace(b"\n", b"") + b"\n.\n..\nend\n")
        big = message(5, b"".join(b"%06d %s\n" % (i, b"x" * (i % 200)) for i in range(20000)))
        self.deliver("tls", "1000.4.h", small)
        self.deliver("tls", "1000.5.h", big)
        p = poplib.POP3("127.0.0.1", self.port(), timeout=30)
        self.addCleanup(p.close)
        p.stls(self.pctx)
        p.user("tls@example.test")
        p.pass_(PW)
        self.assertEqual(p.stat()[0], 2)
        self.assertEqual(b"\n".join(p.retr(1)[1]) + b"\n", small)
        self.assertEqual(b"\n".join(p.retr(2)[1]) + b"\n", big)
        uidl = p.uidl()[1]
        self.assertEqual(sorted(u.split()[1] for u in uidl), [b"1000.4.h", b"1000.5.h"])
        self.assertTrue(p.quit().startswith(b"+OK"))
        self.wait_log(r"login ok ip=127\.0\.0\.1 user=tls@example\.test mech=USER tls=yes exit=0")

    def test_relay_refusal_keeps_the_session(self):
        """Over TLS a refused login leaves the client ours; what it
        pipelined after the PASS is read as commands."""
        r = self.raw()
        r.cmd("STLS")
        r.starttls(self.ctx)
        r.send("USER %s\r\nPASS bad\r\nNOOP\r\n" % USER)
        self.assertEqual(r.line(), "+OK ")
        self.assertEqual(r.line(), "-ERR authorization failed")
        self.assertEqual(r.line(), "+OK ")
        # a good login with commands pipelined after it: all answered
        r.send("USER %s\r\nPASS %s\r\nSTAT\r\nQUIT\r\n" % (USER, PW))
        self.assertEqual(r.line(), "+OK ")
        self.assertEqual(r.line(), "+OK ")
        self.assertRegex(r.line(), r"^\+OK \d+ \d+$")
        self.assertEqual(r.line(), "+OK ")
        self.assertEqual(r.rest(), b"")

    def test_hostile_lines_over_tls(self):
        r = self.raw()
        r.cmd("STLS")
        r.starttls(self.ctx)
        r.send(b"B" * (1 << 20) + b"\r\n")
        self.assertEqual(r.line(), "-ERR line too long")
        self.assertEqual(r.cmd("USER a\0b"), "-ERR syntax error")
        self.assertEqual(r.cmd("AUTH PLAIN"), "+ ")
        self.assertEqual(r.cmd("C" * 5000), "-ERR line too long")
        self.assertEqual(r.cmd("NOOP"), "+OK ")
        self.assertEqual(r.cmd("QUIT"), "+OK ")

    def test_command_limit_over_tls(self):
        """The last answer arrives before the close, unread input or not."""
        r = self.raw()
        r.cmd("STLS")
        r.starttls(self.ctx)
        r.send("NOOP\r\n" * 300)
        out = r.rest().decode().split("\r\n")
        self.assertEqual(out, ["+OK "] * 99 + ["-ERR too many commands", ""])

    def test_garbage_instead_of_a_handshake(self):
        r = self.raw()
        self.assertEqual(r.cmd("STLS"), "+OK Begin TLS negotiation")
        # the discard came before the answer: this is what the handshake reads
        r.send(b"USER joe\r\nPASS x\r\n" + b"\x16\x03\x01garbage" * 10)
        self.assertNotIn(b"+OK", r.rest())
        self.wait_log(r"qmail-popup: tls failed ip=127\.0\.0\.1: ")

    def test_dropped_tls_session_deletes_nothing(self):
        """The client goes away in the middle of a relayed session: the
        chain sees the end of its input, DELE is not carried out, nothing
        is left running."""
        path = self.deliver("other", "1000.7.h", message(9))
        r = self.raw()
        r.cmd("STLS")
        r.starttls(self.ctx)
        r.cmd("USER other@example.test")
        self.assertEqual(r.cmd("PASS " + PW), "+OK ")
        self.assertEqual(r.cmd("DELE 1"), "+OK ")
        r.close()
        self.wait_log(r"qmail-pop3d: end user=other\S* ip=127\.0\.0\.1 .*deleted=0 .*reason=eof")
        self.wait_log(r"login ok ip=127\.0\.0\.1 user=other@example\.test mech=USER tls=yes")
        self.assertTrue(os.path.exists(path))

    def test_concurrent_tls_sessions(self):
        import threading
        self.deliver("many", "1000.8.h", message(10))
        port = self.port(POP3S="1")
        errors = []

        def one():
            try:
                p = poplib.POP3_SSL("127.0.0.1", port, context=self.pctx, timeout=30)
                try:
                    p.user("many@example.test")
                    p.pass_(PW)
                    n = p.stat()[0]
                    for i in range(1, n + 1):
                        p.retr(i)
                    p.quit()
                finally:
                    p.close()
            except Exception as e:  # reported below
                errors.append(repr(e))
        threads = [threading.Thread(target=one) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertFalse([t for t in threads if t.is_alive()])
        self.assertEqual(errors, [])

    def test_pop3s(self):
        self.deliver("big", "1000.6.h", message(6))
        port = self.port(POP3S="1")
        p = poplib.POP3_SSL("127.0.0.1", port, context=self.pctx, timeout=15)
        self.addCleanup(p.close)
        self.assertRegex(p.getwelcome().decode(), GREETING)
        self.assertNotIn(b"STLS", p.capa())
        p.user("big@example.test")
        p.pass_(PW)
        self.assertEqual(b"\n".join(p.retr(1)[1]) + b"\n", message(6))
        p.quit()
        # a plain-text client gets no greeting: the handshake fails
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.addCleanup(s.close)
        s.sendall(b"USER joe\r\n")
        s.settimeout(10)
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        self.assertNotIn(b"+OK", data)

    def test_require_tls(self):
        r = self.raw(POP3REQUIRETLS="1")
        r.cmd("CAPA")
        caps = r.multi()
        self.assertNotIn("USER", caps)
        self.assertIn("STLS", caps)
        for c in ("USER " + USER, "PASS x", "APOP a b", "AUTH PLAIN AAAA"):
            self.assertEqual(r.cmd(c), "-ERR [SYS/PERM] TLS required, use STLS")
        r.cmd("STLS")
        r.starttls(self.ctx)
        self.assertEqual(r.cmd("USER " + USER), "+OK ")
        self.assertEqual(r.cmd("PASS " + PW), "+OK ")
        self.assertEqual(r.cmd("QUIT"), "+OK ")

    def test_tls_environment_for_the_chain(self):
        """The chain learns of TLS from qmail-popup (POP3TLS, SSL_PROTOCOL),
        never from tcpserver's environment."""
        q = self.q
        script = os.path.join(q.bin, "envdump")
        q.write(script, "#!/bin/sh\nexec 3<&-\necho \"+OK $POP3TLS $SSL_PROTOCOL\"\n",
                mode=0o755)
        port = start_pop(q, [os.path.join(q.bin, "qmail-popup"), "test.local", script],
                         env={"POP3TLS": "forged", "SSL_PROTOCOL": "forged"}, name="envdump")
        r = Raw(port)
        self.addCleanup(r.close)
        r.cmd("USER x")
        self.assertEqual(r.cmd("PASS y"), "+OK  ")
        r = Raw(port)
        self.addCleanup(r.close)
        r.cmd("STLS")
        r.starttls(self.ctx)
        r.cmd("USER x")
        self.assertRegex(r.cmd("PASS y"), r"^\+OK 1 TLSv1\.[23]$")


class TestNoCert(unittest.TestCase):
    def test_no_certificate_no_stls(self):
        q = VpopInstance()
        self.addCleanup(q.cleanup)
        port = start_pop(q, [os.path.join(q.bin, "qmail-popup"), "test.local", "true"])
        r = Raw(port)
        self.addCleanup(r.close)
        r.cmd("CAPA")
        self.assertNotIn("STLS", r.multi())
        self.assertEqual(r.cmd("STLS"), "-ERR TLS not available")
        self.assertEqual(r.cmd("NOOP"), "+OK ")


class TestTLSFiles(unittest.TestCase):
    """The control files beside servercert.pem, read as qmail-smtpd reads
    them (tlsctl): ticket keys shared by the listener's processes, the
    oldest protocol; POP3S without a certificate."""

    def setUp(self):
        self.q = VpopInstance()
        self.addCleanup(self.q.cleanup)

    def pop3s(self, port, ctx, session=None):
        s = socket.create_connection(("127.0.0.1", port), timeout=15)
        s = ctx.wrap_socket(s, server_hostname="test.local", session=session)
        f = s.makefile("rb")
        self.assertRegex(f.readline().decode().rstrip("\r\n"), GREETING)
        s.sendall(b"QUIT\r\n")
        self.assertEqual(f.readline(), b"+OK \r\n")
        got = (s.session, s.session_reused)
        f.close()
        s.close()
        return got

    def test_resumption_with_ticket_keys(self):
        q = self.q
        ctx, _ = install_cert(q)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # a session at hand at once
        keyfile = q.path("control", "tlsticketkeys")
        r = q.run("qmail-tlskeys", keyfile)
        self.assertEqual(r.returncode, 0, r.stderr)
        if qng.IS_ROOT:
            os.chown(keyfile, q.uid, q.gid)
        port = start_pop(q, [os.path.join(q.bin, "qmail-popup"), "test.local", "true"],
                         env={"POP3S": "1"})
        session, reused = self.pop3s(port, ctx)
        self.assertIsNotNone(session)
        self.assertFalse(reused)
        session, reused = self.pop3s(port, ctx, session=session)
        self.assertTrue(reused)
        q.wait_log(r"qmail-popup: tls ip=127\.0\.0\.1 protocol=TLSv1\.2 .* resumed",
                   logname="pop3.log")

    def test_minimum_protocol(self):
        q = self.q
        ctx, _ = install_cert(q)
        q.control("tlsserverminprotocol", "TLSv1.3\n")
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        port = start_pop(q, [os.path.join(q.bin, "qmail-popup"), "test.local", "true"],
                         env={"POP3S": "1"})
        with self.assertRaises((ssl.SSLError, ConnectionResetError)):
            self.pop3s(port, ctx)
        q.wait_log(r"qmail-popup: tls failed ip=127\.0\.0\.1: ", logname="pop3.log")

    def test_pop3s_without_a_certificate(self):
        q = self.q
        port = start_pop(q, [os.path.join(q.bin, "qmail-popup"), "test.local", "true"],
                         env={"POP3S": "1"})
        s = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.addCleanup(s.close)
        try:
            data = s.recv(100)
        except ConnectionResetError:
            data = b""
        self.assertEqual(data, b"")
        q.wait_log(r"qmail-popup: warning: TLS not available: .*servercert\.pem",
                   logname="pop3.log")


class TestCheckpassword(unittest.TestCase):
    """checkpassword compatibility both ways."""

    def setUp(self):
        self.q = VpopInstance()
        self.addCleanup(self.q.cleanup)

    def mailbox(self, top):
        for d in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(top, "Maildir", d))
        self.q.write(os.path.join(top, "Maildir", "new", "1.1.h"), message(7), mode=0o600)
        if qng.IS_ROOT:
            for root, dirs, files in os.walk(top):
                os.chown(root, self.q.uid, self.q.gid)
        os.chmod(top, 0o755)

    def test_our_popup_with_a_foreign_checkpassword(self):
        q = self.q
        script = os.path.join(q.bin, "tinycheckpw")
        q.write(script, TINY_CHECKPASSWORD, mode=0o755)
        home = os.path.join(q.tmp, "tinyhome")
        self.mailbox(home)
        port = start_pop(q, [os.path.join(q.bin, "qmail-popup"), "test.local", script,
                             os.path.join(q.bin, "qmail-pop3d"), "Maildir"],
                         env={"TINYHOME": home, "POP3FAILDELAY": "0"}, name="tiny")
        p = poplib.POP3("127.0.0.1", port, timeout=15)
        self.addCleanup(p.close)
        p.user("tiny")
        with self.assertRaises(poplib.error_proto):
            p.pass_("wrong")
        p.user("tiny")
        p.pass_("tinypw")
        self.assertEqual(b"\n".join(p.retr(1)[1]) + b"\n", message(7))
        p.quit()
        r = Raw(port)
        self.addCleanup(r.close)
        r.cmd("USER temp")
        self.assertEqual(r.cmd("PASS x"),
                         "-ERR [SYS/TEMP] unable to check the login, try again later")
        self.assertIn("login failed ip=127.0.0.1 user=temp mech=USER tls=no exit=111 temporary",
                      q.log("tiny.log"))
        # a chain that spoke to the client ran the session, whatever its
        # exit: no second answer, no failed login for fail2ban
        r.cmd("USER talk")
        self.assertEqual(r.cmd("PASS x"), "+OK talked")
        self.assertEqual(r.rest(), b"")
        q.wait_log(r"qmail-popup: login ok ip=127\.0\.0\.1 user=talk mech=USER tls=no exit=1",
                   logname="tiny.log")
        self.assertNotIn("login failed ip=127.0.0.1 user=talk", q.log("tiny.log"))
        r = Raw(port)
        self.addCleanup(r.close)
        r.cmd("USER crash")
        self.assertEqual(r.cmd("PASS x"), "-ERR aack, child crashed")
        self.assertIn("login crashed ip=127.0.0.1 user=crash mech=USER signal=11",
                      q.log("tiny.log"))

    def test_our_popup_with_qmail_checkpassword(self):
        q = self.q
        h = subprocess.run(["openssl", "passwd", "-6", "cpw"], capture_output=True,
                           timeout=30, check=True).stdout.decode().strip()
        pwfile = os.path.join(q.tmp, "pop3passwd")
        q.write(pwfile, "carl:%s\n" % h, mode=0o600)
        home = os.path.join(q.tmp, "carlhome")
        self.mailbox(home)
        port = start_pop(q, [os.path.join(q.bin, "qmail-popup"), "test.local",
                             os.path.join(q.bin, "qmail-checkpassword"), "-f", pwfile,
                             "sh", "-c", 'cd "$0" && exec "$1" Maildir', home,
                             os.path.join(q.bin, "qmail-pop3d")],
                         env={"POP3FAILDELAY": "0"}, name="qcp")
        p = poplib.POP3("127.0.0.1", port, timeout=15)
        self.addCleanup(p.close)
        p.user("carl")
        with self.assertRaises(poplib.error_proto):
            p.pass_("nope")
        p.user("carl")
        p.pass_("cpw")
        self.assertEqual(p.stat()[0], 1)
        p.quit()

    def test_our_vchkpw_under_another_popup(self):
        q = self.q
        rc, out, err = q.tool("vadddomain", "example.test", "dompw")
        self.assertEqual(rc, 0, err)
        rc, out, err = q.tool("vadduser", USER, PW)
        self.assertEqual(rc, 0, err)
        q.write(os.path.join(q.domdir("example.test"), "joe", "Maildir", "new", "2.2.h"),
                message(8), mode=0o600)
        script = os.path.join(q.bin, "otherpopup")
        q.write(script, OTHER_POPUP, mode=0o755)
        port = start_pop(q, [script, os.path.join(q.bin, "vchkpw"),
                             os.path.join(q.bin, "qmail-pop3d"), "Maildir"], name="other")
        p = poplib.POP3("127.0.0.1", port, timeout=15)
        self.addCleanup(p.close)
        p.user(USER)
        with self.assertRaises(poplib.error_proto):
            p.pass_("wrong")
        p.user(USER)
        p.pass_(PW)
        self.assertEqual(b"\n".join(p.retr(1)[1]) + b"\n", message(8))
        p.quit()
        log = q.log("other.log")
        self.assertIn("vchkpw: login failed ip=127.0.0.1 user=joe@example.test", log)
        self.assertIn("vchkpw: login ok ip=127.0.0.1 user=joe@example.test", log)


class TestUsage(unittest.TestCase):
    def test_usage(self):
        popup = os.path.join(qng.BIN, "qmail-popup")
        for args in ([], ["host"], [""]):
            r = subprocess.run([popup] + args, capture_output=True, timeout=10,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stdout, b"-ERR usage: qmail-popup hostname subprogram\r\n")


if __name__ == "__main__":
    unittest.main()
