# SPDX-License-Identifier: ISC
"""rblsmtpd end to end, as the seeds run it: tcpserver ... rblsmtpd
-r zone qmail-smtpd on loopback, with Debian's unbound serving test DNSBL
zones (TXT for -r, A for -a) and a scripted stub for what a real server
will not do (SERVFAIL, silence, hostile TXT bytes).  Clients pick their
source address inside 127.0.0.0/8: 127.0.0.2 is listed, 127.0.0.9 is not.

What is checked comes from ucspi-tcp 0.88's rblsmtpd(1): the RBLSMTPD
variable (unset: look up; empty: let through; text: 451 text; -text:
553 text), -r/-a tried in order until one decides, -b/-B (553/451), -c/-C
(fail closed/open, never 553 after a failed lookup), -t (how long the
blocked dialogue may last; 0: the refusal alone), the dialogue itself
(220, 250 to HELO EHLO MAIL RSET NOOP, 221 to QUIT, the refusal to every
other line) and the log line "rblsmtpd: IP pid PID: 451 text".  Beyond
it: RFC 5782 names for an IPv6 client, $DNSCACHEIP with a port, a fresh
POP-before-SMTP stamp acting as RBLSMTPD="", texts cut to 200 printable
bytes, and tcpserver -W.  Every wait is bounded."""
import os
import re
import smtplib
import socket
import threading
import time
import unittest

import dnsserver
import qng
from dnsserver import StubDNS, Unbound, rcode_handler, reply, rr, silent, write_dnsservers

HAVE_V6 = dnsserver.have_ipv6()
V6_NAME = ".".join(reversed("0" * 31 + "1"))  # ::1, 32 nibbles reversed

ZONES = {
    "2.0.0.127.zen.example": ['TXT "listed at zen.example, see http://zen.example/q?127.0.0.2"',
                              "A 127.0.0.2"],
    "3.0.0.127.zen.example": ['TXT "part one " "and part two"', "A 127.0.0.2"],
    "6.0.0.127.zen.example": ['TXT ""'],
    "2.0.0.127.allow.example": ["A 127.0.0.2"],
    "2.0.0.127.other.example": ['TXT "listed by other"'],
    V6_NAME + ".zen.example": ['TXT "v6 client listed"'],
}
LISTED = "listed at zen.example, see http://zen.example/q?127.0.0.2"
LOG_RE = r"^rblsmtpd: %s pid \d+: %s$"


class RblCase(unittest.TestCase):
    dns = None

    @classmethod
    def setUpClass(cls):
        cls.dns = Unbound(ZONES, v6=HAVE_V6)

    @classmethod
    def tearDownClass(cls):
        if cls.dns:
            cls.dns.stop()

    def setUp(self):
        self.inst = qng.Instance()
        self.addCleanup(self.inst.cleanup)
        write_dnsservers(self.inst, ("127.0.0.1", self.dns.port))
        self.rbl = os.path.join(self.inst.bin, "rblsmtpd")
        self.smtpd = os.path.join(self.inst.bin, "qmail-smtpd")

    # --- helpers ------------------------------------------------------
    def serve(self, opts, rules=None, env=None, host="127.0.0.1", tcpserver_args=()):
        return self.inst.start_smtpd(rules=rules, env=env, host=host,
                                     tcpserver_args=tcpserver_args,
                                     smtpd_argv=[self.rbl] + list(opts) + [self.smtpd])

    def connect(self, source, host="127.0.0.1", timeout=30):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.bind((source, 0))
        s.connect((host, self.inst.port))
        return s

    def talk(self, source, lines, host="127.0.0.1", timeout=30):
        """Send each line (CRLF added) after the previous reply; returns
        the greeting and the reply line to each, then what follows QUIT."""
        s = self.connect(source, host, timeout)
        f = s.makefile("rb")
        out = [f.readline().decode("latin-1")]
        for l in lines:
            s.sendall(l.encode("latin-1") + b"\r\n")
            out.append(f.readline().decode("latin-1"))
        rest = f.read()
        f.close()
        s.close()
        return out, rest

    def greeting(self, source, host="127.0.0.1", timeout=30):
        s = self.connect(source, host, timeout)
        f = s.makefile("rb")
        line = f.readline().decode("latin-1")
        f.close()
        s.close()
        return line

    def log(self):
        return self.inst.log("smtpd.log")

    def wait_log(self, pattern, timeout=15):
        return qng.wait_for(lambda: re.search(pattern, self.log(), re.M), timeout=timeout,
                            what="log line %r; log:\n%s" % (pattern, self.log()))

    def rbl_lines(self):
        return [l for l in self.log().splitlines() if l.startswith("rblsmtpd: ")]

    def assertPassed(self, source, host="127.0.0.1"):
        """The client met qmail-smtpd, not rblsmtpd."""
        g = self.greeting(source, host)
        self.assertRegex(g, r"^220 test\.local ESMTP")


class TestListed(RblCase):
    def test_blocked_dialogue_raw(self):
        self.serve(["-r", "zen.example"])
        out, rest = self.talk("127.0.0.2", [
            "HELO client.example", "EHLO client.example", "MAIL FROM:<a@client.example>",
            "RCPT TO:<u@example.test>", "DATA", "NOOP", "rset", "VRFY u", "STARTTLS",
            "AUTH PLAIN AGF1dGgA", "quit"])
        self.assertEqual(out, [
            "220 rblsmtpd.local\r\n", "250 rblsmtpd.local\r\n", "250 rblsmtpd.local\r\n",
            "250 rblsmtpd.local\r\n", "451 %s\r\n" % LISTED, "451 %s\r\n" % LISTED,
            "250 rblsmtpd.local\r\n", "250 rblsmtpd.local\r\n", "451 %s\r\n" % LISTED,
            "451 %s\r\n" % LISTED, "451 %s\r\n" % LISTED, "221 rblsmtpd.local\r\n"])
        self.assertEqual(rest, b"")  # closed after 221
        self.wait_log(LOG_RE % (r"127\.0\.0\.2", re.escape("451 " + LISTED)))
        self.assertEqual(len(self.rbl_lines()), 1)
        self.wait_log(r"^tcpserver: end \d+ status 0$")

    def test_blocked_smtplib(self):
        self.serve(["-r", "zen.example"])
        with smtplib.SMTP(timeout=30, source_address=("127.0.0.2", 0)) as c:
            c.connect("127.0.0.1", self.inst.port)
            code, _ = c.ehlo("client.example")
            self.assertEqual(code, 250)
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                c.sendmail("a@client.example", ["u@example.test"], b"Subject: x\r\n\r\nhi\r\n")
            code, msg = cm.exception.recipients["u@example.test"]
            self.assertEqual((code, msg.decode()), (451, LISTED))

    def test_not_listed_runs_the_program(self):
        self.serve(["-r", "zen.example"])
        with smtplib.SMTP(timeout=30, source_address=("127.0.0.9", 0)) as c:
            c.connect("127.0.0.1", self.inst.port)
            code, _ = c.ehlo("client.example")
            self.assertEqual(code, 250)
            self.assertIn("pipelining", c.esmtp_features)  # qmail-smtpd's EHLO
            code, _ = c.mail("a@client.example")
            self.assertEqual(code, 250)
            code, _ = c.rcpt("u@example.test")
            self.assertEqual(code, 250)
        self.assertEqual(self.rbl_lines(), [])

    def test_b_is_553_and_B_451(self):
        self.serve(["-b", "-r", "zen.example"])
        out, _ = self.talk("127.0.0.2", ["HELO x", "RCPT TO:<u@example.test>", "QUIT"])
        self.assertEqual(out[2], "553 %s\r\n" % LISTED)
        self.wait_log(LOG_RE % (r"127\.0\.0\.2", re.escape("553 " + LISTED)))

    def test_options_act_in_order(self):
        # -B after -b wins; a -b after the -r that listed is too late (0.88)
        for opts, code in ((["-b", "-B", "-r", "zen.example"], "451"),
                           (["-r", "zen.example", "-b"], "451"),
                           (["-B", "-b", "-r", "zen.example"], "553")):
            with self.subTest(opts=opts):
                self.inst.stop()
                self.serve(opts)
                out, _ = self.talk("127.0.0.2", ["RCPT TO:<u@example.test>", "QUIT"])
                self.assertEqual(out[1], "%s %s\r\n" % (code, LISTED))

    def test_several_sources_first_listing_wins(self):
        self.serve(["-r", "nothing.example", "-r", "other.example", "-r", "zen.example"])
        out, _ = self.talk("127.0.0.2", ["RCPT TO:<u@example.test>", "QUIT"])
        self.assertEqual(out[1], "451 listed by other\r\n")

    def test_anti_rbl_before_and_after(self):
        self.serve(["-a", "allow.example", "-r", "zen.example"])
        self.assertPassed("127.0.0.2")
        self.inst.stop()
        # the RBL source comes first and decides: -a after it is not asked
        self.serve(["-r", "zen.example", "-a", "allow.example"])
        out, _ = self.talk("127.0.0.2", ["RCPT TO:<u@example.test>", "QUIT"])
        self.assertEqual(out[1], "451 %s\r\n" % LISTED)
        # not anti-listed: the RBL decides
        self.inst.stop()
        self.serve(["-a", "allow.example", "-r", "zen.example"])
        self.assertPassed("127.0.0.9")

    def test_txt_strings_joined(self):
        self.serve(["-r", "zen.example"])
        out, _ = self.talk("127.0.0.3", ["RCPT TO:<u@example.test>", "QUIT"])
        self.assertEqual(out[1], "451 part one and part two\r\n")

    def test_empty_txt_lists_nobody(self):
        # 0.88 blocks only when the text is not empty
        self.serve(["-r", "zen.example"])
        self.assertPassed("127.0.0.6")

    def test_t0_says_the_refusal_alone(self):
        self.serve(["-t", "0", "-r", "zen.example"])
        s = self.connect("127.0.0.2")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        self.assertEqual(data, ("451 %s\r\n" % LISTED).encode())

    def test_t_ends_a_silent_client(self):
        self.serve(["-t", "1", "-r", "zen.example"])
        s = self.connect("127.0.0.2", timeout=20)
        t0 = time.monotonic()
        self.assertEqual(s.recv(100), b"220 rblsmtpd.local\r\n")
        self.assertEqual(s.recv(100), b"")  # dropped without a word
        self.assertLess(time.monotonic() - t0, 15)
        s.close()
        self.wait_log(r"^tcpserver: end \d+ status 0$")

    def test_t_ends_a_client_that_never_stops(self):
        self.serve(["-t", "2", "-r", "zen.example"])
        s = self.connect("127.0.0.2", timeout=20)
        stop = threading.Event()
        sent = [0]

        def flood():
            # one line without end, then lines without end: neither is
            # let to keep rblsmtpd longer than -t
            chunk = b"X" * 65536
            while not stop.is_set():
                try:
                    s.sendall(chunk)
                    sent[0] += len(chunk)
                except OSError:
                    return
        t = threading.Thread(target=flood, daemon=True)
        t0 = time.monotonic()
        t.start()
        got = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            pass
        stop.set()
        s.close()
        t.join(10)
        self.assertLess(time.monotonic() - t0, 20)
        self.assertTrue(got.startswith(b"220 rblsmtpd.local\r\n"))
        self.assertGreater(sent[0], 65536)

    def test_huge_line_and_odd_bytes(self):
        self.serve(["-r", "zen.example"])
        s = self.connect("127.0.0.2")
        f = s.makefile("rb")
        self.assertEqual(f.readline(), b"220 rblsmtpd.local\r\n")
        # a 1 MB line is one unknown command; NUL and CR inside are bytes
        s.sendall(b"HELO " + b"a" * (1 << 20) + b"\r\n")
        self.assertEqual(f.readline(), b"250 rblsmtpd.local\r\n")
        s.sendall(b"Q" * (1 << 20) + b"\r\n")
        self.assertEqual(f.readline(), ("451 %s\r\n" % LISTED).encode())
        s.sendall(b"QU\0IT\r\nnoop\nQUIT\r\n")  # bare LF ends a line too
        self.assertEqual(f.readline(), ("451 %s\r\n" % LISTED).encode())
        self.assertEqual(f.readline(), b"250 rblsmtpd.local\r\n")
        self.assertEqual(f.readline(), b"221 rblsmtpd.local\r\n")
        self.assertEqual(f.read(), b"")
        f.close()
        s.close()

    @unittest.skipUnless(HAVE_V6, "no IPv6 loopback")
    def test_ipv6_client_rfc5782_name(self):
        self.serve(["-r", "zen.example"], host="::1")
        out, _ = self.talk("::1", ["RCPT TO:<u@example.test>", "QUIT"], host="::1")
        self.assertEqual(out[1], "451 v6 client listed\r\n")
        self.wait_log(LOG_RE % (r"::1", "451 v6 client listed"))

    def test_long_zone_is_a_lookup_failure(self):
        zone = ".".join(["z" * 60] * 4) + ".zz"  # 246 bytes + "2.0.0.127." > 253
        self.serve(["-r", zone])
        self.assertPassed("127.0.0.2")
        self.wait_log(r"^rblsmtpd: warning: 127\.0\.0\.2 pid \d+: the query name under that "
                      r"base is too long \(skipped\)$")
        self.inst.stop()
        self.serve(["-c", "-b", "-r", zone])
        out, _ = self.talk("127.0.0.2", ["RCPT TO:<u@example.test>", "QUIT"])
        self.assertEqual(out[1], "451 temporary RBL lookup error\r\n")

    def test_base_with_text_is_not_a_zone(self):
        # ucspi-tcp 0.88 has no "base:text" form: such a base names no zone
        r = self.inst.run(self.rbl, "-r", "zen.example:go away", "echo", "ran",
                          env={"TCPREMOTEIP": "127.0.0.2"})
        self.assertEqual(r.stdout, b"ran\n")
        self.assertRegex(r.stderr.decode(), r"^rblsmtpd: warning: 127\.0\.0\.2 pid \d+: the base "
                                            r"is not a valid domain name \(skipped\)\n$")

    def test_hostile_tcpremoteip(self):
        # a forged address cannot be looked up nor forge a log line
        r = self.inst.run(self.rbl, "-c", "-t", "0", "-r", "zen.example", "echo", "ran",
                          env={"TCPREMOTEIP": "127.0.0.2\nrblsmtpd: 10.0.0.1 pid 1: 553 x"})
        self.assertEqual(r.stdout, b"451 temporary RBL lookup error\r\n")
        lines = r.stderr.decode().splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(all(l.startswith("rblsmtpd: ") for l in lines), lines)
        self.assertIn("127.0.0.2?rblsmtpd: 10.0.0.1 pid 1: 553 x pid ", lines[1])

    def test_usage(self):
        r = self.inst.run(self.rbl, "-r", "zen.example")
        self.assertEqual(r.returncode, 100)
        self.assertIn(b"rblsmtpd: usage: rblsmtpd", r.stderr)
        r = self.inst.run(self.rbl, "-t", "soon", "true")
        self.assertEqual(r.returncode, 100)
        r = self.inst.run(self.rbl, "-x", "true")
        self.assertEqual(r.returncode, 100)


class TestEnvironment(RblCase):
    RULES = ('127.0.0.3:allow,RBLSMTPD="go away, spammer"\n'
             '127.0.0.4:allow,RBLSMTPD="-bounce this"\n'
             '127.0.0.2:allow,RELAYCLIENT="",RBLSMTPD=""\n'
             ':allow\n')

    def test_rblsmtpd_variable_from_tcprules(self):
        self.serve(["-r", "zen.example"], rules=self.RULES)
        out, _ = self.talk("127.0.0.3", ["HELO x", "RCPT TO:<u@example.test>", "QUIT"])
        self.assertEqual(out[2], "451 go away, spammer\r\n")
        out, _ = self.talk("127.0.0.4", ["HELO x", "RCPT TO:<u@example.test>", "QUIT"])
        self.assertEqual(out[2], "553 bounce this\r\n")
        # listed, but the seeds' open-smtp line lets it through, and relay
        with smtplib.SMTP(timeout=30, source_address=("127.0.0.2", 0)) as c:
            c.connect("127.0.0.1", self.inst.port)
            c.ehlo("client.example")
            self.assertEqual(c.mail("a@client.example")[0], 250)
            self.assertEqual(c.rcpt("far@elsewhere.example")[0], 250)
        self.wait_log(LOG_RE % (r"127\.0\.0\.3", "451 go away, spammer"))
        self.wait_log(LOG_RE % (r"127\.0\.0\.4", "553 bounce this"))
        self.assertFalse(any("127.0.0.2" in l for l in self.rbl_lines()))

    def test_blank_rblsmtpd_as_the_seeds_print_it(self):
        # OVH's guides show vpopmail's open-smtp lines with RBLSMTPD=" "
        self.serve(["-r", "zen.example"], rules='127.0.0.2:allow,RBLSMTPD=" "\n:allow\n')
        self.assertPassed("127.0.0.2")
        self.assertEqual(self.rbl_lines(), [])

    def test_rblsmtpd_text_made_safe(self):
        # a text with CR LF and 8-bit bytes, longer than 200, from the rules
        text = "line one\r\n250 fake\t" + "\u00e9" + "x" * 300
        self.serve(["-r", "zen.example"], env={"RBLSMTPD": text})
        out, rest = self.talk("127.0.0.9", ["RCPT TO:<u@example.test>", "QUIT"])
        want = "451 " + "line one??250 fake?" + "??" + "x" * (200 - 21)
        self.assertEqual(out[1], want + "\r\n")
        self.assertEqual(out[2], "221 rblsmtpd.local\r\n")
        lines = self.rbl_lines()
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], LOG_RE % (r"127\.0\.0\.9", re.escape(want)))

    def test_pop_before_smtp_stamp(self):
        d = self.inst.path("users", "open-smtp")
        os.makedirs(d, exist_ok=True)
        stamp = os.path.join(d, "127.0.0.2")
        self.inst.write(stamp, "")
        self.serve(["-r", "zen.example"])
        self.assertPassed("127.0.0.2")  # fresh: as RBLSMTPD=""
        # an old stamp (mtime set back, not waited for) counts for nothing
        old = time.time() - 20000
        os.utime(stamp, (old, old))
        out, _ = self.talk("127.0.0.2", ["RCPT TO:<u@example.test>", "QUIT"])
        self.assertEqual(out[1], "451 %s\r\n" % LISTED)
        # control/opensmtpage stretches it; 0 turns POP-before-SMTP off
        self.inst.control("opensmtpage", "30000\n")
        self.assertPassed("127.0.0.2")
        os.utime(stamp, None)
        self.inst.control("opensmtpage", "0\n")
        out, _ = self.talk("127.0.0.2", ["RCPT TO:<u@example.test>", "QUIT"])
        self.assertEqual(out[1], "451 %s\r\n" % LISTED)

    def test_stamp_overrides_a_rule_text(self):
        d = self.inst.path("users", "open-smtp")
        os.makedirs(d, exist_ok=True)
        self.inst.write(os.path.join(d, "127.0.0.3"), "")
        self.serve(["-r", "zen.example"], rules=self.RULES)
        self.assertPassed("127.0.0.3")

    def test_dnscacheip(self):
        # control/dnsservers points nowhere; $DNSCACHEIP names the server
        write_dnsservers(self.inst, "127.0.0.1:1")
        self.serve(["-r", "zen.example"],
                   env={"DNSCACHEIP": "127.0.0.1:%d" % self.dns.port})
        out, _ = self.talk("127.0.0.2", ["RCPT TO:<u@example.test>", "QUIT"])
        self.assertEqual(out[1], "451 %s\r\n" % LISTED)

    def test_bad_dnscacheip_leaves_dnsservers(self):
        self.serve(["-r", "zen.example"], env={"DNSCACHEIP": "dns.example"})
        out, _ = self.talk("127.0.0.2", ["RCPT TO:<u@example.test>", "QUIT"])
        self.assertEqual(out[1], "451 %s\r\n" % LISTED)
        self.wait_log(r'^rblsmtpd: warning: 127\.0\.0\.2 pid \d+: DNSCACHEIP ignored: '
                      r'"dns\.example" is not a server address')

    def test_no_tcpremoteip(self):
        r = self.inst.run(self.rbl, "-r", "zen.example", "echo", "ran",
                          env={"TCPREMOTEIP": ""})
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, b"ran\n")
        self.assertIn(b"no client address in $TCPREMOTEIP", r.stderr)


class TestFailures(RblCase):
    def stub(self, handler):
        s = StubDNS(handler)
        self.addCleanup(s.stop)
        write_dnsservers(self.inst, s)
        return s

    def test_servfail_fail_open_by_default(self):
        self.stub(rcode_handler(2))
        self.serve(["-r", "zen.example"])
        self.assertPassed("127.0.0.2")
        self.wait_log(r"^rblsmtpd: warning: 127\.0\.0\.2 pid \d+: TXT lookup of "
                      r"2\.0\.0\.127\.zen\.example failed temporarily: .*SERVFAIL.* \(skipped\)$")
        self.assertFalse(any(" pid " in l and ": 451 " in l for l in self.rbl_lines()))

    def test_servfail_fail_closed_never_553(self):
        self.stub(rcode_handler(2))
        self.serve(["-c", "-b", "-r", "zen.example"])
        out, _ = self.talk("127.0.0.2", ["HELO x", "RCPT TO:<u@example.test>", "QUIT"])
        self.assertEqual(out[2], "451 temporary RBL lookup error\r\n")
        self.wait_log(LOG_RE % (r"127\.0\.0\.2", "451 temporary RBL lookup error"))
        self.wait_log(r"\(-c: refusing the client\)$")

    def test_failed_anti_rbl(self):
        # the anti-RBL fails, the RBL lists with -b: -C lets through (the
        # failure counts as anti-listed), -c refuses with 451, not 553
        def handler(q, tcp):
            if q.name.endswith("allow.example"):
                return reply(q, rcode=2)
            if q.name == "2.0.0.127.zen.example" and q.type == "TXT":
                return reply(q, [rr(q.name, "TXT", "listed by the stub")])
            return reply(q, rcode=3)
        self.stub(handler)
        self.serve(["-b", "-a", "allow.example", "-r", "zen.example"])
        self.assertPassed("127.0.0.2")
        self.inst.stop()
        self.serve(["-c", "-b", "-a", "allow.example", "-r", "zen.example"])
        out, _ = self.talk("127.0.0.2", ["RCPT TO:<u@example.test>", "QUIT"])
        self.assertEqual(out[1], "451 listed by the stub\r\n")

    def test_silent_server(self):
        self.stub(silent)
        self.serve(["-c", "-r", "zen.example"])
        t0 = time.monotonic()
        out, _ = self.talk("127.0.0.2", ["RCPT TO:<u@example.test>", "QUIT"], timeout=60)
        self.assertEqual(out[1], "451 temporary RBL lookup error\r\n")
        self.assertLess(time.monotonic() - t0, 40)
        self.wait_log(r"no UDP answer within .*\(-c: refusing the client\)$")

    def test_hostile_txt(self):
        # CR LF, NUL, ESC and 8-bit bytes, over 200 bytes, in three strings
        evil = b"a\r\n250 ok\x00\x1b[2J\xff" + b"y" * 240
        rdata = bytes([12]) + evil[:12] + bytes([len(evil) - 12]) + evil[12:]

        def handler(q, tcp):
            if q.type == "TXT":
                return reply(q, [rr(q.name, "TXT", rdata), rr(q.name, "TXT", rdata)])
            return reply(q, rcode=3)
        self.stub(handler)
        self.serve(["-r", "zen.example"])
        s = self.connect("127.0.0.2")
        f = s.makefile("rb")
        self.assertEqual(f.readline(), b"220 rblsmtpd.local\r\n")
        s.sendall(b"RCPT TO:<u@example.test>\r\n")
        line = f.readline()
        text = (b"a??250 ok??[2J?" + b"y" * 240)[:200]
        self.assertEqual(line, b"451 " + text + b"\r\n")
        s.sendall(b"QUIT\r\n")
        self.assertEqual(f.readline(), b"221 rblsmtpd.local\r\n")
        f.close()
        s.close()
        lines = self.rbl_lines()
        self.assertEqual(len(lines), 1, lines)
        self.assertEqual(lines[0].split(": ", 2)[2], "451 " + text.decode())


class TestWorkers(RblCase):
    def test_under_tcpserver_W(self):
        # rblsmtpd never says hello: tcpserver runs it once per connection
        self.serve(["-r", "zen.example"], tcpserver_args=("-W", "4"))
        for _ in range(2):
            out, _ = self.talk("127.0.0.2", ["RCPT TO:<u@example.test>", "QUIT"])
            self.assertEqual(out[1], "451 %s\r\n" % LISTED)
            self.assertPassed("127.0.0.9")
        self.wait_log(r"^tcpserver: warning: .*rblsmtpd does not speak the -W worker protocol")


if __name__ == "__main__":
    unittest.main()
