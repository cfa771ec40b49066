# SPDX-License-Identifier: ISC
"""spamcontrol's checks in qmail-smtpd, end to end: badhelo, badrcptto,
badmailfrom with wildmat patterns and '!' exemptions, the sender's domain
that must exist (MFDNSCHECK, against a real unbound and a SERVFAIL stub),
HELO sanity, maxrcpt, maxerrors, tarpitting, pre-greeting talkers; each
switched off per tcp.smtp rule by its environment variable, and skipped
for RELAYCLIENT and authenticated clients.  Reply texts are
spamcontrol's (its qmail-smtpd err_* texts) where it had the check.
Delays are small and bounded generously; nothing here sleeps to wait for
a time window to pass."""
import base64
import os
import socket
import time
import unittest

import qng
from dnsserver import StubDNS, Unbound, UNBOUND, rcode_handler, write_dnsservers

BAD_553 = "553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)"
BADHELO_553 = "553 sorry, your HELO/EHLO greeting is in my badhelo list (#5.7.1)"
BMF_553 = "553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)"
BRT_553 = "553 sorry, your envelope recipient is in my badrcptto list (#5.7.1)"
MFDNS_553 = "553 sorry, your envelope sender must exist (#5.7.1)"
TOOMANY_452 = "452 sorry, too many recipients (#4.5.3)"
OPEN = "127.0.0.1:allow,RELAYCLIENT=\"\"\n"


class ChecksCase(unittest.TestCase):
    controls = {}

    def setUp(self):
        self.inst = qng.Instance()
        self.addCleanup(self.inst.cleanup)
        for k, v in self.controls.items():
            self.inst.control(k, v)

    def start(self, rules=None, env=None, **kw):
        return self.inst.start_smtpd(rules=rules, env=env, **kw)

    def dialog(self):
        d = qng.Dialog(self.inst.port)
        self.addCleanup(d.close)
        return d

    def wait_log(self, text, timeout=10):
        qng.wait_for(lambda: text in self.inst.log(), timeout=timeout, what=text)

    def mail(self, d, helo="client.example.test", sender="someone@example.test"):
        self.assertEqual(d.cmd("HELO " + helo)[0][:3], "250")
        return d.cmd("MAIL FROM:<%s>" % sender)[0]


class TestBadmailfrom(ChecksCase):
    controls = {"badmailfrom": "Spammer@Example.ORG\n@junk.test\n"
                               "*@*.dialup.test\n!good@*.dialup.test\n"
                               "spam?@pattern.test\n[0-9]*@digits.test\n"
                               "@bulk.test\n!news@bulk.test\n"}

    def test_qmail_plain_lines(self):
        """qmail-1.03: exact address or @domain, any case."""
        self.start()
        d = self.dialog()
        self.assertEqual(self.mail(d, sender="spammer@example.org"), BMF_553)
        self.assertEqual(d.cmd("MAIL FROM:<anyone@JUNK.test>"), [BMF_553])
        self.assertEqual(d.cmd("MAIL FROM:<anyone@notjunk.test>"), ["250 ok"])
        self.wait_log("reject ip=127.0.0.1 reason=badmailfrom code=553 "
                      "from=<spammer@example.org>")

    def test_patterns_and_exemptions(self):
        self.start()
        cases = [("x@host1.dialup.test", BMF_553),
                 ("good@host1.dialup.test", "250 ok"),   # '!' after the '*'
                 ("x@dialup.test", "250 ok"),            # '*.' needs a label
                 ("spam1@pattern.test", BMF_553),
                 ("spam12@pattern.test", "250 ok"),      # '?' is one byte
                 ("7up@digits.test", BMF_553),
                 ("up7@digits.test", "250 ok"),
                 ("x@bulk.test", BMF_553),
                 ("news@bulk.test", "250 ok")]            # '!' beats a plain line
        for sender, want in cases:
            d = self.dialog()
            with self.subTest(sender=sender):
                self.assertEqual(self.mail(d, sender=sender), want)
        # the log names the pattern line that refused; plain lines need none
        self.wait_log("from=<x@host1.dialup.test> detail=*@*.dialup.test\n")
        self.wait_log("from=<spam1@pattern.test> detail=spam?@pattern.test\n")
        self.wait_log("from=<x@bulk.test>\n")

    def test_null_sender_never_listed(self):
        self.inst.control("badmailfrom", "*\n")
        self.start()
        d = self.dialog()
        self.assertEqual(self.mail(d, sender=""), "250 ok")
        self.assertEqual(d.cmd("MAIL FROM:<a@b.test>"), ["503 nested MAIL command (#5.5.1)"])

    def test_switched_off_per_rule_not_for_relayclient(self):
        self.start(rules="127.0.0.1:allow,NOBADMAILFROM=\"\"\n")
        self.assertEqual(self.mail(self.dialog(), sender="spammer@example.org"), "250 ok")
        self.inst.stop()
        # qmail-1.03 refuses a listed sender from a RELAYCLIENT too
        self.start(rules=OPEN)
        self.assertEqual(self.mail(self.dialog(), sender="x@junk.test"), BAD_553)

    def test_star_storm_and_huge_lines(self):
        """Hostile control lines: a '*' storm, a 20000-byte pattern, broken
        classes and control bytes; every MAIL is answered quickly."""
        storm = "*a" * 400 + "b\n"
        self.inst.control("badmailfrom", storm + "x" * 20000 + "*\n[\n[a-\n\\\n!\n"
                          "\x01\x02*\x7f\n*@ok.test\n")
        self.start()
        d = self.dialog()
        t0 = time.monotonic()
        self.assertEqual(self.mail(d, sender="a" * 60 + "@" + ".".join(["b" * 60] * 3) + ".test"), "250 ok")
        self.assertEqual(d.cmd("MAIL FROM:<x@ok.test>"), ["503 nested MAIL command (#5.5.1)"])
        d.cmd("RSET")
        self.assertEqual(d.cmd("MAIL FROM:<x@ok.test>"), [BMF_553])
        self.assertLess(time.monotonic() - t0, 3.0)


class TestBadrcptto(ChecksCase):
    controls = {"badrcptto": "abuse-trap@example.test\n@old.example.test\n"
                             "*-bounce@example.test\n!vip-bounce@example.test\n",
                "rcpthosts": "example.test\n.example.test\n"}

    def test_hits_and_misses(self):
        self.start()
        d = self.dialog()
        self.assertEqual(self.mail(d), "250 ok")
        self.assertEqual(d.cmd("RCPT TO:<Abuse-Trap@example.test>"), [BRT_553])
        self.assertEqual(d.cmd("RCPT TO:<x@old.example.test>"), [BRT_553])
        self.assertEqual(d.cmd("RCPT TO:<list-bounce@example.test>"), [BRT_553])
        self.assertEqual(d.cmd("RCPT TO:<vip-bounce@example.test>"), ["250 ok"])
        self.assertEqual(d.cmd("RCPT TO:<user@example.test>"), ["250 ok"])
        self.wait_log("reason=badrcptto code=553 from=<someone@example.test> "
                      "rcpt=<Abuse-Trap@example.test>")
        self.wait_log("rcpt=<list-bounce@example.test> detail=*-bounce@example.test\n")

    def test_long_pattern_detail_is_cut(self):
        self.inst.control("badrcptto", "*" * 300 + "@trap.example.test\n")
        self.start()
        d = self.dialog()
        self.mail(d)
        self.assertEqual(d.cmd("RCPT TO:<a@trap.example.test>"), [BRT_553])
        self.wait_log("rcpt=<a@trap.example.test> detail=" + "*" * 124 + "...\n")

    def test_off_per_rule(self):
        self.start(rules="127.0.0.1:allow,NOBADRCPTTO=\"\"\n")
        d = self.dialog()
        self.mail(d)
        self.assertEqual(d.cmd("RCPT TO:<abuse-trap@example.test>"), ["250 ok"])


class TestHelo(ChecksCase):
    controls = {"badhelo": "friend\n*.spam.test\n!ok.spam.test\n[0-9]*.dsl.test\n",
                "helocheck": "me\nbareip\nsyntax\n"}

    def test_badhelo_refused_at_mail(self):
        self.start()
        for helo, want in [("friend", BADHELO_553), ("FRIEND", BADHELO_553),
                           ("mx.spam.test", BADHELO_553), ("ok.spam.test", "250 ok"),
                           ("42.dsl.test", BADHELO_553), ("a42.dsl.test", "250 ok"),
                           ("mail.example.test", "250 ok")]:
            d = self.dialog()
            with self.subTest(helo=helo):
                self.assertEqual(self.mail(d, helo=helo), want)
        self.wait_log("reject ip=127.0.0.1 reason=badhelo code=553")
        self.wait_log("reason=badhelo code=553 from=<someone@example.test> "
                      "detail=*.spam.test\n")

    def test_sanity(self):
        self.start()
        me = "553 sorry, your HELO/EHLO greeting names my own host (#5.7.1)"
        bare = "553 sorry, an address in HELO/EHLO must be in brackets (#5.5.2)"
        syn = "553 sorry, your HELO/EHLO greeting is not a valid host name (#5.5.2)"
        for helo, want in [("test.local", me), ("TEST.LOCAL", me), ("[127.0.0.1]", me),
                           ("127.0.0.1", me), ("192.0.2.7", bare), ("[192.0.2.7]", "250 ok"),
                           ("bad_name.test", syn), ("-x.test", syn), ("a..b", syn),
                           ("x" * 64 + ".test", syn), ("[300.1.1.1]", syn),
                           ("host-1.example.test", "250 ok"), ("localhost", "250 ok")]:
            d = self.dialog()
            with self.subTest(helo=helo):
                self.assertEqual(self.mail(d, helo=helo), want)
        for reason in ("helome", "helobareip", "helosyntax"):
            self.wait_log("reason=%s code=" % reason)

    def test_each_helo_of_a_session_judged_afresh(self):
        """The verdict is kept from one MAIL to the next, and a new HELO or
        EHLO in the same session is judged again, both ways."""
        self.start()
        me = "553 sorry, your HELO/EHLO greeting names my own host (#5.7.1)"
        d = self.dialog()
        self.assertEqual(self.mail(d, helo="[127.0.0.1]"), me)
        self.assertEqual(d.cmd("MAIL FROM:<a@example.test>")[0], me)
        self.assertEqual(d.cmd("EHLO host.example.test")[-1][:3], "250")
        self.assertEqual(d.cmd("MAIL FROM:<a@example.test>")[0], "250 2.1.0 ok")
        self.assertEqual(d.cmd("RSET")[0][:3], "250")
        self.assertEqual(d.cmd("MAIL FROM:<b@example.test>")[0], "250 2.1.0 ok")
        self.assertEqual(self.mail(d, helo="test.local"), me)

    def test_hostile_helo(self):
        """Control bytes and a 990-byte name against a '*' storm in
        badhelo: refused or taken at once, and the log stays one line."""
        self.inst.control("badhelo", "*a" * 300 + "b\n*\x1b*\n")
        self.inst.control("helocheck", "syntax\n")
        self.start()
        t0 = time.monotonic()
        d = self.dialog()
        self.assertEqual(self.mail(d, helo="x\x1b[31m.test"), BADHELO_553)
        d = self.dialog()
        self.assertEqual(self.mail(d, helo="a\x01.test"),
                         "553 sorry, your HELO/EHLO greeting is not a valid host name (#5.5.2)")
        d = self.dialog()
        # past the storm without a match, then too long to be a name
        self.assertEqual(self.mail(d, helo="a" * 990),
                         "553 sorry, your HELO/EHLO greeting is not a valid host name (#5.5.2)")
        self.assertLess(time.monotonic() - t0, 5)
        d.cmd("QUIT")
        self.wait_log("end=quit")
        self.assertNotIn("\x1b", self.inst.log())

    def test_no_helo_is_not_checked(self):
        """qmail takes MAIL without HELO; so do the checks."""
        self.start()
        d = self.dialog()
        self.assertEqual(d.cmd("MAIL FROM:<a@example.test>"), ["250 ok"])

    def test_off_per_rule(self):
        self.start(rules="127.0.0.1:allow,NOBADHELO=\"\",NOHELOCHECK=\"\"\n")
        for helo in ("friend", "test.local", "192.0.2.7", "bad_name"):
            d = self.dialog()
            self.assertEqual(self.mail(d, helo=helo), "250 ok")

    def test_relayclient_skips(self):
        self.start(rules=OPEN)
        self.assertEqual(self.mail(self.dialog(), helo="friend"), "250 ok")

    def test_badmailfrom_holds_for_trusted_clients_too(self):
        """qmail-1.03 checks badmailfrom for every client, RELAYCLIENT or
        not; plain lines and patterns keep doing so (NOBADMAILFROM is the
        way out per rule)."""
        self.inst.control("badmailfrom", "forged@example.test\n*@*.spam.example\n")
        self.start(rules=OPEN)
        d = self.dialog()
        d.cmd("HELO client.example")
        self.assertEqual(d.cmd("MAIL FROM:<forged@example.test>"),
                         ["553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)"])
        self.assertEqual(d.cmd("MAIL FROM:<x@host.spam.example>"),
                         ["553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)"])
        self.assertEqual(d.cmd("MAIL FROM:<fine@example.test>"), ["250 ok"])
        self.start(rules='127.0.0.1:allow,RELAYCLIENT="",NOBADMAILFROM=""\n')
        d = self.dialog()
        d.cmd("HELO client.example")
        self.assertEqual(d.cmd("MAIL FROM:<forged@example.test>"), ["250 ok"])

    def test_authenticated_skips(self):
        """After AUTH the HELO is not judged (AUTH comes after EHLO, which
        is why the HELO checks answer at MAIL)."""
        cp = os.path.join(self.inst.tmp, "checkpw")
        self.inst.write(cp, "#!/bin/sh\ncat <&3 >/dev/null\nexec \"$@\"\n", mode=0o755)
        self.inst.control("authplaintext", "1\n")
        self.start(smtpd_argv=[os.path.join(self.inst.bin, "qmail-smtpd"), cp, "/bin/true"])
        d = self.dialog()
        self.assertEqual(d.cmd("EHLO friend")[0][:3], "250")
        tok = base64.b64encode(b"\0user\0secret").decode()
        self.assertEqual(d.cmd("AUTH PLAIN " + tok)[0][:3], "235")
        self.assertEqual(d.cmd("MAIL FROM:<a@example.test>"), ["250 2.1.0 ok"])
        d2 = self.dialog()
        self.assertEqual(d2.cmd("EHLO friend")[0][:3], "250")
        self.assertEqual(d2.cmd("MAIL FROM:<a@example.test>"),
                         ["553 5.7.1 " + BADHELO_553[4:]])

    def test_bad_helocheck_word_is_a_control_error(self):
        self.inst.control("helocheck", "me\nbogus\n")
        out, err, rc = self.inst.smtpd_pipe(b"QUIT\r\n")
        self.assertEqual(out, b"421 unable to read controls (#4.3.0)\r\n")
        self.assertIn("unable to read controls: helocheck", err)


class TestLimits(ChecksCase):
    def test_maxrcpt(self):
        self.inst.control("maxrcpt", "2\n")
        self.start()
        d = self.dialog()
        self.mail(d)
        self.assertEqual(d.cmd("RCPT TO:<a@example.test>"), ["250 ok"])
        self.assertEqual(d.cmd("RCPT TO:<b@example.test>"), ["250 ok"])
        self.assertEqual(d.cmd("RCPT TO:<c@example.test>"), [TOOMANY_452])
        self.wait_log("reason=maxrcpt code=452")
        # a new message counts again
        d.cmd("RSET")
        self.mail(d)
        self.assertEqual(d.cmd("RCPT TO:<c@example.test>"), ["250 ok"])

    def test_maxrcpt_env_and_relayclient(self):
        self.inst.control("maxrcpt", "1\n")
        self.start(rules="127.0.0.1:allow,MAXRECIPIENTS=\"3\"\n")
        d = self.dialog()
        self.mail(d)
        for r in ("a", "b", "c"):
            self.assertEqual(d.cmd("RCPT TO:<%s@example.test>" % r), ["250 ok"])
        self.assertEqual(d.cmd("RCPT TO:<d@example.test>"), [TOOMANY_452])
        self.inst.stop()
        self.start(rules=OPEN)
        d = self.dialog()
        self.mail(d)
        for r in ("a", "b", "c"):
            self.assertEqual(d.cmd("RCPT TO:<%s@example.test>" % r), ["250 ok"])

    def test_maxerrors(self):
        self.inst.control("maxerrors", "3\n")
        self.start()
        d = self.dialog()
        for _ in range(2):
            self.assertEqual(d.cmd("FOO")[0][:3], "502")
        self.assertEqual(d.cmd("FOO"), ["502 unimplemented (#5.5.1)"])
        self.assertEqual(d.reply(), ["421 too many errors, closing connection (#4.7.0)"])
        self.assertEqual(d.f.readline(), b"")  # and the session ends

    def test_maxerrors_off_per_rule(self):
        self.inst.control("maxerrors", "2\n")
        self.start(rules="127.0.0.1:allow,MAXERRORS=\"0\"\n")
        d = self.dialog()
        for _ in range(30):
            self.assertEqual(d.cmd("FOO")[0][:3], "502")
        self.assertEqual(d.cmd("NOOP"), ["250 ok"])


class TestTarpit(ChecksCase):
    controls = {"tarpitcount": "2\n", "tarpitdelay": "0.4\n"}

    def timed(self, d, line):
        t0 = time.monotonic()
        r = d.cmd(line)
        return r, time.monotonic() - t0

    def test_delay_after_count(self):
        self.start()
        d = self.dialog()
        self.mail(d)
        for n in range(1, 5):
            r, dt = self.timed(d, "RCPT TO:<u%d@example.test>" % n)
            self.assertEqual(r, ["250 ok"])
            if n <= 2:
                self.assertLess(dt, 0.35, n)
            else:
                self.assertGreaterEqual(dt, 0.38, n)
                self.assertLess(dt, 3.0, n)
        self.wait_log("tarpit ip=127.0.0.1 rcpts=3 errors=0 delay=400ms")

    def test_growing_after_errors(self):
        self.inst.control("tarpitcount", "0\n")
        self.inst.control("tarpiterrors", "1\n")
        self.start()
        d = self.dialog()
        self.mail(d)
        r, dt = self.timed(d, "RCPT TO:<u@example.test>")
        self.assertLess(dt, 0.35)
        self.assertEqual(d.cmd("FOO")[0][:3], "502")      # error 1
        r, dt = self.timed(d, "RCPT TO:<v@example.test>")  # 1 x 0.4 s
        self.assertGreaterEqual(dt, 0.38)
        self.assertEqual(d.cmd("FOO")[0][:3], "502")      # error 2
        r, dt2 = self.timed(d, "RCPT TO:<w@example.test>")  # 2 x 0.4 s
        self.assertGreaterEqual(dt2, 0.78)
        self.assertLess(dt2, 4.0)

    def test_pipelined_then_half_closed_is_still_answered(self):
        """A client that pipelines its recipients and QUIT, then shuts
        its sending side down (SHUT_WR), has not left: every command gets
        its (tarpitted) reply, the session ends with 221."""
        self.start()
        d = self.dialog()
        self.mail(d)
        d.send("RCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"
               "RCPT TO:<c@example.test>\r\nRCPT TO:<e@example.test>\r\nQUIT\r\n")
        d.s.shutdown(socket.SHUT_WR)
        got = [d.reply() for _ in range(5)]
        self.assertEqual([r[0] for r in got],
                         ["250 ok"] * 4 + ["221 " + got[4][0][4:]], got)
        self.wait_log("end=quit", timeout=10)

    def test_delay_capped_at_a_minute(self):
        """tarpitdelay an hour (TARPITDELAY, the tarpit patch's variable):
        the reply waits a minute at most; the client leaving ends it."""
        self.start(rules='127.0.0.1:allow,TARPITDELAY="3600"\n')
        d = self.dialog()
        self.mail(d)
        d.cmd("RCPT TO:<a@example.test>")
        d.cmd("RCPT TO:<b@example.test>")
        d.send("RCPT TO:<c@example.test>\r\n")
        self.wait_log("tarpit ip=127.0.0.1 rcpts=3 errors=0 delay=60000ms")
        d.s.shutdown(socket.SHUT_WR)
        d.close()
        self.wait_log("end=eof", timeout=10)

    def test_client_leaving_ends_the_wait(self):
        self.inst.control("tarpitdelay", "30\n")
        self.start()
        d = self.dialog()
        self.mail(d)
        d.cmd("RCPT TO:<a@example.test>")
        d.cmd("RCPT TO:<b@example.test>")
        t0 = time.monotonic()
        d.send("RCPT TO:<c@example.test>\r\n")
        time.sleep(0.1)  # let the server start its wait
        d.s.shutdown(socket.SHUT_WR)
        d.close()
        self.wait_log("end=eof", timeout=10)
        self.assertLess(time.monotonic() - t0, 10)

    def test_off_per_rule_and_for_relayclient(self):
        self.inst.control("tarpitdelay", "30\n")
        for rules in ("127.0.0.1:allow,TARPITCOUNT=\"0\"\n", OPEN):
            self.start(rules=rules)
            d = self.dialog()
            self.mail(d)
            t0 = time.monotonic()
            for n in range(5):
                self.assertEqual(d.cmd("RCPT TO:<u%d@example.test>" % n), ["250 ok"])
            self.assertLess(time.monotonic() - t0, 5)
            d.close()
            self.inst.stop()

    def test_counts_are_per_session_in_a_worker(self):
        """tcpserver -W: one process serves both sessions; the second
        starts its count at zero."""
        self.start(tcpserver_args=("-W", "1"))
        d = self.dialog()
        self.mail(d)
        for n in range(3):
            d.cmd("RCPT TO:<u%d@example.test>" % n)
        d.cmd("QUIT")
        d.close()
        d2 = self.dialog()
        self.mail(d2)
        for n in range(2):
            r, dt = self.timed(d2, "RCPT TO:<v%d@example.test>" % n)
            self.assertLess(dt, 0.35)


class TestGreetDelay(ChecksCase):
    controls = {"greetdelay": "0.5\n"}

    def test_quiet_client_is_greeted_after_the_wait(self):
        self.start()
        t0 = time.monotonic()
        d = self.dialog()
        dt = time.monotonic() - t0
        self.assertEqual(d.greeting, "220 test.local ESMTP")
        self.assertGreaterEqual(dt, 0.45)
        self.assertLess(dt, 5)

    def test_talker_is_refused(self):
        self.start()
        s = socket.create_connection(("127.0.0.1", self.inst.port), timeout=10)
        s.sendall(b"EHLO eager.test\r\n")
        out = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
        s.close()
        self.assertEqual(out, b"554 sorry, SMTP protocol violation: you talked before "
                              b"my greeting (#5.5.0)\r\n")
        self.wait_log("reject ip=127.0.0.1 reason=pregreet code=554")
        self.wait_log("end=pregreet")

    def test_worker_serves_the_next_client_after_a_talker(self):
        """tcpserver -W: the talker's bytes are not left for the next
        session of the same process, which is greeted normally."""
        self.start(tcpserver_args=("-W", "1"))
        s = socket.create_connection(("127.0.0.1", self.inst.port), timeout=10)
        s.sendall(b"QUIT\r\n")
        self.assertTrue(s.recv(4096).startswith(b"554 "))
        s.close()
        d = self.dialog()
        self.assertEqual(d.greeting, "220 test.local ESMTP")
        self.assertEqual(d.cmd("NOOP"), ["250 ok"])

    def test_leaver_ends_at_once(self):
        self.inst.control("greetdelay", "30\n")
        self.start()
        s = socket.create_connection(("127.0.0.1", self.inst.port), timeout=10)
        t0 = time.monotonic()
        s.close()
        self.wait_log("end=eof")
        self.assertLess(time.monotonic() - t0, 10)

    def test_off_per_rule_and_for_relayclient(self):
        self.inst.control("greetdelay", "30\n")
        for rules in ("127.0.0.1:allow,SMTPD_GREETDELAY=\"0\"\n", OPEN):
            self.start(rules=rules)
            t0 = time.monotonic()
            d = self.dialog()
            self.assertLess(time.monotonic() - t0, 5)
            self.assertEqual(d.cmd("NOOP"), ["250 ok"])
            d.close()
            self.inst.stop()


@unittest.skipUnless(UNBOUND, "unbound is not installed")
class TestMfdnscheck(ChecksCase):
    controls = {"mfdnscheck": "1\n"}
    ZONES = {"withmx.test": ["MX 10 mx.withmx.test"], "mx.withmx.test": ["A 192.0.2.1"],
             "aonly.test": ["A 192.0.2.2"], "v6only.test": ["AAAA 2001:db8::2"],
             "nothing.test": ["TXT here but no mail"], "nullmx.test": ["MX 0 ."]}

    @classmethod
    def setUpClass(cls):
        cls.ub = Unbound(cls.ZONES)

    @classmethod
    def tearDownClass(cls):
        cls.ub.stop()

    def test_domains(self):
        write_dnsservers(self.inst, self.ub)
        self.start()
        for sender, want in [("a@withmx.test", "250 ok"), ("a@AOnly.test", "250 ok"),
                             ("a@v6only.test", "250 ok"), ("a@nothing.test", MFDNS_553),
                             ("a@nxdomain.test", MFDNS_553), ("a@nullmx.test", MFDNS_553),
                             ("", "250 ok"), ("postmaster", "250 ok"),
                             ("a@[192.0.2.1]", "250 ok")]:
            d = self.dialog()
            with self.subTest(sender=sender):
                self.assertEqual(self.mail(d, sender=sender), want)
        self.wait_log("reason=badmailfromunknown code=553 from=<a@nothing.test>")

    def test_env_switches(self):
        write_dnsservers(self.inst, self.ub)
        self.start(rules="127.0.0.1:allow,MFDNSCHECK=\"-\"\n")
        self.assertEqual(self.mail(self.dialog(), sender="a@nxdomain.test"), "250 ok")
        self.inst.stop()
        self.inst.control("mfdnscheck", None)
        self.start(rules="127.0.0.1:allow,MFDNSCHECK=\"\"\n")
        self.assertEqual(self.mail(self.dialog(), sender="a@nxdomain.test"), MFDNS_553)
        self.inst.stop()
        self.inst.control("mfdnscheck", "1\n")
        self.start(rules=OPEN)
        self.assertEqual(self.mail(self.dialog(), sender="a@nxdomain.test"), "250 ok")

    def test_one_lookup_per_domain_and_session(self):
        """A client repeating MAIL with the same domain is one lookup in
        its session (in any case of letters), not one per MAIL; another
        domain or the next session asks again."""
        with StubDNS(rcode_handler(3)) as stub:
            write_dnsservers(self.inst, stub)
            self.start()
            d = self.dialog()
            self.assertEqual(self.mail(d, sender="a@gone.test"), MFDNS_553)
            for sender in ("b@gone.test", "c@GONE.Test", "a@gone.test"):
                self.assertEqual(d.cmd("MAIL FROM:<%s>" % sender)[0], MFDNS_553)
            self.assertEqual(d.cmd("MAIL FROM:<a@other.test>")[0], MFDNS_553)
            d.cmd("QUIT")
            d = self.dialog()
            self.assertEqual(self.mail(d, sender="a@gone.test"), MFDNS_553)
            d.cmd("QUIT")
            self.wait_log("end=quit")
            asked = [q[0].lower().rstrip(".") for q in stub.queries]
            self.assertEqual(asked.count("gone.test"), 2, stub.queries)
            self.assertEqual(asked.count("other.test"), 1, stub.queries)

    def test_servfail_accepts_with_a_log_line(self):
        with StubDNS(rcode_handler(2)) as stub:
            write_dnsservers(self.inst, stub)
            self.start()
            self.assertEqual(self.mail(self.dialog(), sender="a@broken.test"), "250 ok")
        self.wait_log("warning: badmailfromunknown skipped ip=127.0.0.1 domain=broken.test:")


class TestControls(ChecksCase):
    def test_showctl_knows_them(self):
        self.inst.control("tarpitdelay", "0.5\n")
        self.inst.control("badhelo", "friend\n*.spam.test\n")
        out = self.inst.run("qmail-showctl").stdout.decode()
        for name in ("badhelo", "badrcptto", "helocheck", "mfdnscheck", "maxrcpt",
                     "maxerrors", "tarpitcount", "tarpiterrors", "tarpitdelay",
                     "greetdelay"):
            self.assertIn(name, out)
        self.assertIn("0.5", out.split("tarpitdelay", 1)[1].split("\n\n")[0])
        self.assertIn("*.spam.test", out.split("badhelo", 1)[1].split("\n\n")[0])

    def test_bad_delay_is_a_control_error(self):
        """'5s' is no number of seconds: 421 as for any unreadable control."""
        for name, value in (("tarpitdelay", "5s\n"), ("greetdelay", "-1\n"),
                            ("greetdelay", "0.1234\n"), ("maxrcpt", "many\n")):
            self.inst.control(name, value)
            out, err, rc = self.inst.smtpd_pipe(b"QUIT\r\n")
            self.assertEqual(out, b"421 unable to read controls (#4.3.0)\r\n", name)
            self.assertIn("unable to read controls: " + name, err)
            self.inst.control(name, None)

    def test_bad_env_values_are_ignored_with_a_warning(self):
        self.inst.control("maxrcpt", "1\n")
        out, err, rc = self.inst.smtpd_pipe(
            b"HELO x.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<a@example.test>\r\n"
            b"RCPT TO:<b@example.test>\r\nQUIT\r\n",
            env={"MAXRECIPIENTS": "lots", "TARPITDELAY": "\x1b[31m"})
        self.assertIn(b"\r\n452 sorry, too many recipients (#4.5.3)\r\n", out)
        self.assertIn("warning: ignoring MAXRECIPIENTS=lots: not a number", err)
        self.assertIn("warning: ignoring TARPITDELAY=", err)
        self.assertNotIn("\x1b", err)


if __name__ == "__main__":
    unittest.main()
