# SPDX-License-Identifier: ISC
"""qmail-smtpd end to end: the dialogues of the guides in seeds/ verbatim,
the EHLO list and enhanced status codes, pipelining, the state machine,
error limits, timeouts and logs.  Message content is in
test_smtpd_data.py, relay control in test_smtpd_relay.py; the shared
helpers (SmtpdCase) live here."""
import os
import re
import smtplib
import socket
import time
import unittest

import qng

DATE = rb"\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d -0000"
QQ_RECEIVED = rb"Received: \(qmail (\d+) invoked from network\); " + DATE + rb"\n"
OK_QUEUED = re.compile(r"^250 (?:2\.0\.0 )?ok (\d+) qp (\d+)$")
OVH = "Welcome ! You are on server 8 called mx3.ovh.net, spam protected: www.spam-rbl.com"


class SmtpdCase(unittest.TestCase):
    """A fresh instance per test, and ways to talk to qmail-smtpd: over a
    pipe (exact transcripts) or through tcpserver on a loopback port."""

    me = "test.local"
    rcpthosts = ("example.test",)

    def setUp(self):
        self.inst = qng.Instance(me=self.me, rcpthosts=self.rcpthosts)
        self.addCleanup(self.inst.cleanup)

    # --- pipe ---------------------------------------------------------
    def pipe(self, data, env=None, timeout=20):
        """Run one session on a pipe; returns (reply lines, stderr, rc)."""
        if isinstance(data, str):
            data = data.encode()
        out, err, rc = self.inst.smtpd_pipe(data, env=env, timeout=timeout)
        lines = out.decode("utf-8", "replace").split("\r\n")
        self.assertEqual(lines[-1], "", "output must end in CRLF: %r" % out[-80:])
        return lines[:-1], err, rc

    def transcript(self, data, want, env=None):
        """The replies of a pipe session are exactly want (after the 220)."""
        lines, err, rc = self.pipe(data, env)
        self.assertEqual(lines[1:], want, err)
        return lines, err

    def exact_env_pipe(self, data, env, timeout=20):
        """Like qng's smtpd_pipe, but with no tcpserver variables other
        than those in env (to see the defaults)."""
        import subprocess
        e = dict(self.inst.env)
        e.update(env)
        pre = self.inst.as_owner()
        r = subprocess.run([os.path.join(self.inst.bin, "qmail-smtpd")], input=data, env=e,
                           capture_output=True, timeout=timeout, preexec_fn=pre,
                           cwd=self.inst.tmp)
        return r.stdout, r.stderr.decode(errors="replace"), r.returncode

    # --- network ------------------------------------------------------
    def server(self, rules=":allow\n", env=None):
        if not os.path.exists(os.path.join(qng.BIN, "tcpserver")):
            self.skipTest("no tcpserver")
        try:
            return self.inst.start_smtpd(rules=rules, env=env)
        except RuntimeError as e:
            self.skipTest("tcpserver not usable yet: %s" % e)

    def dialog(self, port):
        d = qng.Dialog(port)
        self.addCleanup(d.close)
        return d

    def wait_log(self, pattern, logname="smtpd.log", timeout=10):
        rx = re.compile(pattern, re.M)
        return qng.wait_for(lambda: rx.search(self.inst.log(logname)), timeout=timeout,
                            what="log line %r" % pattern)

    def script(self, name, body):
        """An executable shell script in the instance's tmp dir."""
        path = os.path.join(self.inst.tmp, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o755)
        return path

    def assertQueuedOK(self, line):
        m = OK_QUEUED.match(line)
        self.assertIsNotNone(m, line)
        self.assertLess(abs(int(m.group(1)) - time.time()), 60)
        return int(m.group(2))

    def assertNothingQueued(self):
        self.assertEqual(self.inst.queue_files(), [])


class TestSeedDialogues(SmtpdCase):
    """The SMTP dialogues of seeds/ovh-qmail-guide-en.txt and
    seeds/qmail-admin-guide.txt, reply for reply."""

    def test_ovh_before_starting(self):
        self.inst.control("smtpgreeting", OVH + "\n")
        lines, err, rc = self.pipe(
            "HELO ping.ovh.net\r\nMAIL FROM:<oles@ovh.net>\r\nRCPT TO:<oles@example.test>\r\n"
            "DATA\r\ntest\r\n.\r\nQUIT\r\n")
        self.assertEqual(rc, 0, err)
        self.assertEqual(lines[0], "220 " + OVH + " ESMTP")
        self.assertEqual(lines[1], "250 " + OVH)
        self.assertEqual(lines[2:5], ["250 ok", "250 ok", "354 go ahead"])
        qp = self.assertQueuedOK(lines[5])
        self.assertEqual(lines[6:], ["221 " + OVH])
        [m] = self.inst.queued()
        self.assertEqual(m["sender"], "oles@ovh.net")
        self.assertEqual(m["rcpts"], ["oles@example.test"])
        self.assertEqual(m["env"].split(b"\0")[2:], [b"Foles@ovh.net", b"Toles@example.test", b""])
        rx = (rb"\A" + QQ_RECEIVED +
              rb"Received: from unknown \(HELO ping\.ovh\.net\) \(127\.0\.0\.1\)\n"
              rb"  by test\.local with SMTP; " + DATE + rb"\ntest\n\Z")
        mm = re.match(rx, m["mess"])
        self.assertIsNotNone(mm, m["mess"])
        self.assertEqual(int(mm.group(1)), qp, "qp is qmail-queue's pid")
        self.assertRegex(err, r"qmail-smtpd: accepted qp=%d ip=127\.0\.0\.1 from=<oles@ovh\.net> "
                              r"rcpts=1 bytes=5" % qp)

    def test_ovh_seed_over_tcp(self):
        """The same dialogue through tcpserver, with the header as the
        seed shows it (host unknown, HELO name, IP)."""
        self.inst.control("smtpgreeting", OVH + "\n")
        port = self.server()
        d = self.dialog(port)
        self.assertEqual(d.greeting, "220 " + OVH + " ESMTP")
        self.assertEqual(d.cmd("HELO ping.ovh.net"), ["250 " + OVH])
        self.assertEqual(d.cmd("MAIL FROM:<oles@ovh.net>"), ["250 ok"])
        self.assertEqual(d.cmd("RCPT TO:<oles@example.test>"), ["250 ok"])
        self.assertEqual(d.cmd("DATA"), ["354 go ahead"])
        d.send("From: oles@ovh.net\r\nTo: oles@ovh.net\r\nSubject: test\r\n\r\ntest\r\n")
        [r] = d.cmd(".")
        qp = self.assertQueuedOK(r)
        self.assertEqual(d.cmd("QUIT"), ["221 " + OVH])
        [m] = self.inst.queued()
        self.assertRegex(m["mess"], rb"\A" + QQ_RECEIVED.replace(rb"(\d+)", str(qp).encode()) +
                         rb"Received: from unknown \(HELO ping\.ovh\.net\) \(127\.0\.0\.1\)\n"
                         rb"  by \S+ with SMTP; " + DATE + rb"\n"
                         rb"From: oles@ovh\.net\nTo: oles@ovh\.net\nSubject: test\n\ntest\n\Z")
        self.wait_log(r"session ip=127\.0\.0\.1 host=\S+ helo=ping\.ovh\.net msgs=1 rcpts=1 "
                      r"bytes=\d+ end=quit")

    def test_ovh_rcpthosts_refusal(self):
        self.inst.control("smtpgreeting", "nsXXXX.ovh.net\n")
        self.transcript(
            "HELO ping.ovh.net\r\nMAIL FROM:<oles@ovh.net>\r\nRCPT TO:<someone@wanadoo.fr>\r\nQUIT\r\n",
            ["250 nsXXXX.ovh.net", "250 ok",
             "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
             "221 nsXXXX.ovh.net"])
        self.assertNothingQueued()

    def test_ovh_ehlo_size(self):
        self.inst.control("smtpgreeting", "Welcome ! You are on server 1 called mx1.ovh.net\n")
        self.inst.control("databytes", "10000000\n")
        lines, err, rc = self.pipe("EHLO ping.ovh.net\r\nQUIT\r\n")
        self.assertEqual(lines[1], "250-Welcome ! You are on server 1 called mx1.ovh.net")
        self.assertIn("250-PIPELINING", lines)
        self.assertIn("250-8BITMIME", lines)
        self.assertEqual(lines[-2], "250 SIZE 10000000")

    def test_admin_guide_greeting(self):
        self.inst.control("me", "foobar.com\n")
        self.transcript("quit\r\n", ["221 foobar.com"])
        lines, _, _ = self.pipe("")
        self.assertEqual(lines, ["220 foobar.com ESMTP"])

    def test_smtpgreeting_first_line_only(self):
        self.inst.control("smtpgreeting", "first line here  \nsecond line\n")
        self.transcript("HELO x\r\n", ["250 first line here"])


class TestEsmtp(SmtpdCase):

    def test_ehlo_list(self):
        self.transcript("EHLO client.example\r\n", [
            "250-test.local", "250-PIPELINING", "250-8BITMIME", "250-ENHANCEDSTATUSCODES",
            "250-SMTPUTF8", "250-CHUNKING", "250 SIZE 10000000"])

    def test_enhanced_codes_after_ehlo_only(self):
        conv = ("MAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.test>\r\nRCPT TO:<u@elsewhere.example>\r\n"
                "RSET\r\nNOOP\r\nVRFY u\r\nRCPT TO:<u@example.test>\r\nDATA\r\nXYZZY\r\nQUIT\r\n")
        self.transcript("HELO c\r\n" + conv, [
            "250 test.local", "250 ok", "250 ok",
            "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
            "250 flushed", "250 ok", "252 send some mail, i'll try my best",
            "503 MAIL first (#5.5.1)", "503 MAIL first (#5.5.1)",
            "502 unimplemented (#5.5.1)", "221 test.local"])
        lines, err = self.transcript("EHLO c\r\n" + conv, [
            "250-test.local", "250-PIPELINING", "250-8BITMIME", "250-ENHANCEDSTATUSCODES",
            "250-SMTPUTF8", "250-CHUNKING", "250 SIZE 10000000",
            "250 2.1.0 ok", "250 2.1.5 ok",
            "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
            "250 2.0.0 flushed", "250 2.0.0 ok", "252 2.1.5 send some mail, i'll try my best",
            "503 5.5.1 MAIL first (#5.5.1)", "503 5.5.1 MAIL first (#5.5.1)",
            "502 5.5.1 unimplemented (#5.5.1)", "221 2.0.0 test.local"])

    def test_help(self):
        # qmail-1.03's text, word for word; after EHLO with its enhanced code
        lines, err, rc = self.pipe("HELP\r\nEHLO c\r\nHELP me\r\n")
        self.assertEqual(lines[1], "214 qmail home page: http://pobox.com/~djb/qmail.html")
        self.assertEqual(lines[-1], "214 2.0.0 qmail home page: http://pobox.com/~djb/qmail.html")

    def test_helo_after_ehlo_drops_codes(self):
        self.transcript("EHLO a\r\nHELO b\r\nNOOP\r\n", [
            "250-test.local", "250-PIPELINING", "250-8BITMIME", "250-ENHANCEDSTATUSCODES",
            "250-SMTPUTF8", "250-CHUNKING", "250 SIZE 10000000", "250 test.local", "250 ok"])

    def test_queued_reply_with_codes(self):
        lines, err, rc = self.pipe("EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n"
                                   "x\r\n.\r\n")
        self.assertEqual(lines[-2], "354 go ahead")
        self.assertRegex(lines[-1], r"^250 2\.0\.0 ok \d+ qp \d+$")

    def test_smtplib(self):
        port = self.server()
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
            code, msg = c.ehlo("client.example")
            self.assertEqual(code, 250)
            for ext in ("pipelining", "8bitmime", "enhancedstatuscodes", "smtputf8", "chunking",
                        "size"):
                self.assertTrue(c.has_extn(ext), ext)
            c.sendmail("a@b.example", ["u@example.test", "v@example.test"],
                       b"Subject: smtplib\r\n\r\nhello\r\n")
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                c.sendmail("a@b.example", ["x@elsewhere.example"], b"\r\nx\r\n")
            code, msg = cm.exception.recipients["x@elsewhere.example"]
            self.assertEqual((code, msg), (553, b"5.7.1 sorry, that domain isn't in my list of "
                                                b"allowed rcpthosts (#5.7.1)"))
        [m] = self.inst.queued()
        self.assertEqual(m["rcpts"], ["u@example.test", "v@example.test"])
        self.assertTrue(m["mess"].endswith(b"\nSubject: smtplib\n\nhello\n"))


class TestStateMachine(SmtpdCase):

    def test_sequence_errors(self):
        self.transcript(
            "RCPT TO:<u@example.test>\r\nDATA\r\nMAIL FROM:<a@b>\r\nDATA\r\nMAIL FROM:<c@d>\r\n"
            "RCPT TO:<u@example.test>\r\nRSET\r\nDATA\r\n",
            ["503 MAIL first (#5.5.1)", "503 MAIL first (#5.5.1)", "250 ok",
             "503 RCPT first (#5.5.1)", "503 nested MAIL command (#5.5.1)", "250 ok",
             "250 flushed", "503 MAIL first (#5.5.1)"])
        self.assertNothingQueued()

    def test_helo_optional_and_resets(self):
        # no HELO at all is fine (qmail); HELO and EHLO end a transaction
        self.transcript(
            "MAIL FROM:<a@b>\r\nHELO\r\nRCPT TO:<u@example.test>\r\nMAIL FROM:<a@b>\r\n"
            "EHLO\r\nRCPT TO:<u@example.test>\r\n",
            ["250 ok", "250 test.local", "503 MAIL first (#5.5.1)", "250 ok",
             "250-test.local", "250-PIPELINING", "250-8BITMIME", "250-ENHANCEDSTATUSCODES",
             "250-SMTPUTF8", "250-CHUNKING", "250 SIZE 10000000", "503 5.5.1 MAIL first (#5.5.1)"])

    def test_verbs_any_case_and_misc(self):
        self.transcript(
            "helo x\r\nmAiL fRoM:<a@b>\r\nrcpt to:<u@example.test>\r\nnoop\r\nhelp\r\nvrfy\r\n"
            "expn list\r\nturn\r\n\r\nrset\r\n",
            ["250 test.local", "250 ok", "250 ok", "250 ok",
             "214 qmail home page: http://pobox.com/~djb/qmail.html",
             "252 send some mail, i'll try my best",
             "502 unimplemented (#5.5.1)", "502 unimplemented (#5.5.1)",
             "502 unimplemented (#5.5.1)", "250 flushed"])

    def test_qmail_address_forms(self):
        lines, err, rc = self.pipe(
            "HELO x\r\nMAIL FROM: <a@b.example>\r\nRCPT TO: <u@example.test>\r\nRSET\r\n"
            "MAIL FROM:a@b.example\r\nRCPT TO:u@example.test\r\nRCPT TO:<postmaster>\r\n"
            "RCPT TO:<>\r\nMAIL\r\nRCPT\r\nRCPT TO:<a b@example.test>\r\nDATA\r\nx\r\n.\r\n")
        self.assertEqual(lines[1:13], [
            "250 test.local", "250 ok", "250 ok", "250 flushed", "250 ok", "250 ok", "250 ok",
            "555 syntax error (#5.5.4)", "555 syntax error (#5.5.4)",
            "555 syntax error (#5.5.4)", "555 syntax error (#5.5.4)", "354 go ahead"])
        self.assertQueuedOK(lines[13])
        [m] = self.inst.queued()
        self.assertEqual(m["sender"], "a@b.example")
        self.assertEqual(m["rcpts"], ["u@example.test", "postmaster"])

    def test_null_sender(self):
        lines, err, rc = self.pipe("MAIL FROM:<>\r\nRCPT TO:<u@example.test>\r\nDATA\r\nbounce\r\n.\r\n")
        self.assertQueuedOK(lines[-1])
        [m] = self.inst.queued()
        self.assertEqual(m["sender"], "")

    def test_long_command_and_bad_bytes(self):
        long_line = "NOOP " + "x" * 1200
        self.transcript(
            long_line + "\r\nNOOP " + "y" * 995 + "\r\nHELO a\0b\r\nNOOP a\rb\r\nNOOP\r\n",
            ["500 command line too long (#5.5.2)", "250 ok",
             "500 command contains a NUL or a bare CR/LF (#5.5.2)",
             "500 command contains a NUL or a bare CR/LF (#5.5.2)", "250 ok"])

    def test_lf_only_commands(self):
        # telnet and scripts: commands ended by a bare LF are taken, as qmail did
        self.transcript("HELO x\nNOOP\n", ["250 test.local", "250 ok"])

    def test_too_many_recipients(self):
        data = "MAIL FROM:<a@b>\r\n" + "RCPT TO:<u@example.test>\r\n" * 1001 + "DATA\r\nx\r\n.\r\n"
        lines, err, rc = self.pipe(data)
        self.assertEqual(lines[1:1002], ["250 ok"] * 1001)
        self.assertEqual(lines[1002], "452 sorry, too many recipients (#4.5.3)")
        self.assertQueuedOK(lines[-1])
        [m] = self.inst.queued()
        self.assertEqual(len(m["rcpts"]), 1000)

    def test_error_limit(self):
        lines, err, rc = self.pipe("HELO x\r\n" + "BOGUS\r\n" * 30)
        self.assertEqual(lines[1], "250 test.local")
        self.assertEqual(lines[2:22], ["502 unimplemented (#5.5.1)"] * 20)
        self.assertEqual(lines[22:], ["421 too many errors, closing connection (#4.7.0)"])
        self.assertIn("end=errors", err)
        self.assertEqual(err.count("reason=unimplemented code=502"), 20)

    def test_error_limit_over_tcp(self):
        port = self.server()
        d = self.dialog(port)
        d.cmd("EHLO x")
        for _ in range(19):
            self.assertEqual(d.cmd("FOO"), ["502 5.5.1 unimplemented (#5.5.1)"])
        d.send("FOO\r\n")
        self.assertEqual(d.reply(), ["502 5.5.1 unimplemented (#5.5.1)"])
        self.assertEqual(d.reply(), ["421 4.7.0 too many errors, closing connection (#4.7.0)"])
        self.assertEqual(d.f.readline(), b"")

    def test_quit_ends_session(self):
        lines, err, rc = self.pipe("QUIT\r\nNOOP\r\n")
        self.assertEqual(lines[1:], ["221 test.local"])
        self.assertEqual(rc, 0)
        self.assertIn("end=quit", err)


class TestPipelining(SmtpdCase):

    def test_whole_transaction_in_one_write(self):
        port = self.server()
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.addCleanup(s.close)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220 "))
        s.sendall(b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<u@example.test>\r\n"
                  b"RCPT TO:<v@example.test>\r\nRCPT TO:<w@nowhere.example>\r\nDATA\r\n")
        got = [f.readline() for _ in range(12)]
        self.assertEqual(got[7:], [b"250 2.1.0 ok\r\n", b"250 2.1.5 ok\r\n", b"250 2.1.5 ok\r\n",
                                   b"553 5.7.1 sorry, that domain isn't in my list of allowed "
                                   b"rcpthosts (#5.7.1)\r\n", b"354 go ahead\r\n"])
        s.sendall(b"Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<c@d>\r\nRCPT TO:<u@example.test>\r\n"
                  b"DATA\r\n")
        self.assertRegex(f.readline().decode(), r"^250 2\.0\.0 ok \d+ qp \d+\r\n$")
        self.assertEqual([f.readline() for _ in range(3)],
                         [b"250 2.1.0 ok\r\n", b"250 2.1.5 ok\r\n", b"354 go ahead\r\n"])
        s.sendall(b"second\r\n.\r\nQUIT\r\n")
        self.assertRegex(f.readline().decode(), r"^250 2\.0\.0 ok \d+ qp \d+\r\n$")
        self.assertEqual(f.readline(), b"221 2.0.0 test.local\r\n")
        self.assertEqual(f.readline(), b"")
        msgs = self.inst.queued()
        self.assertEqual(len(msgs), 2)
        self.assertEqual(sorted(m["rcpts"] for m in msgs),
                         [["u@example.test"], ["u@example.test", "v@example.test"]])

    def test_replies_wait_for_the_group(self):
        """Replies to a pipelined group are held until the group is
        read, then sent together (one read gets them all)."""
        port = self.server()
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.addCleanup(s.close)
        s.recv(1000)
        s.sendall(b"NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n")
        time.sleep(0.3)
        data = s.recv(1000)
        self.assertEqual(data, b"250 ok\r\n" * 4)

    def test_partial_line_flushes_replies(self):
        """A reply is never held back while we wait for the rest of a line."""
        port = self.server()
        d = self.dialog(port)
        d.send("NOOP\r\nNO")
        self.assertEqual(d.reply(), ["250 ok"])
        d.send("OP\r\n")
        self.assertEqual(d.reply(), ["250 ok"])


class TestTimeoutsAndLimits(SmtpdCase):

    def test_timeout_idle(self):
        self.inst.control("timeoutsmtpd", "1\n")
        port = self.server()
        d = self.dialog(port)
        t0 = time.monotonic()
        self.assertEqual(d.reply(), ["451 timeout (#4.4.2)"])
        self.assertGreater(time.monotonic() - t0, 0.5)
        self.assertEqual(d.f.readline(), b"")
        self.wait_log(r"end=timeout")

    def test_timeout_mid_data_queues_nothing(self):
        self.inst.control("timeoutsmtpd", "1\n")
        port = self.server()
        d = self.dialog(port)
        d.cmd("EHLO x")
        d.cmd("MAIL FROM:<a@b>")
        d.cmd("RCPT TO:<u@example.test>")
        self.assertEqual(d.cmd("DATA"), ["354 go ahead"])
        d.send("Subject: never finished\r\n\r\nhalf a body")
        self.assertEqual(d.reply(), ["451 4.4.2 timeout (#4.4.2)"])
        self.wait_log(r"end=timeout")
        self.assertNothingQueued()

    def test_root_refused(self):
        if not qng.IS_ROOT:
            self.skipTest("needs root")
        import subprocess
        e = dict(self.inst.env)
        r = subprocess.run([os.path.join(self.inst.bin, "qmail-smtpd")], input=b"QUIT\r\n",
                           env=e, capture_output=True, timeout=10)
        self.assertEqual(r.stdout, b"421 sorry, this service is misconfigured to run as root "
                                   b"(#4.3.0)\r\n")
        self.assertIn(b"refusing to run as root", r.stderr)
        self.assertNotEqual(r.returncode, 0)

    def test_inherited_signal_state(self):
        """Started with SIGCHLD ignored and signals blocked (inetd,
        scripts), it must still wait for qmail-queue and queue the mail."""
        import signal
        import subprocess
        inst = self.inst

        def pre():
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_BLOCK,
                                   {signal.SIGALRM, signal.SIGTERM, signal.SIGCHLD})
            if qng.IS_ROOT:
                os.setgroups([inst.gid])
                os.setgid(inst.gid)
                os.setuid(inst.uid)
        r = subprocess.run([os.path.join(inst.bin, "qmail-smtpd")],
                           input=b"MAIL FROM:<a@b>\r\nRCPT TO:<u@example.test>\r\nDATA\r\nx\r\n.\r\n",
                           env=dict(inst.env, TCPREMOTEIP="127.0.0.1"), capture_output=True,
                           preexec_fn=pre, timeout=20, cwd=inst.tmp)
        self.assertQueuedOK(r.stdout.decode().split("\r\n")[-2])
        self.assertEqual(len(inst.queued()), 1)

    def test_controls(self):
        self.inst.control("me", None)
        lines, err, rc = self.pipe("QUIT\r\n")
        self.assertEqual(lines, ["421 unable to read controls (#4.3.0)"])
        self.assertIn("unable to read controls: me", err)
        self.inst.control("me", "test.local\n")
        os.chmod(self.inst.path("control", "rcpthosts"), 0)
        lines, err, rc = self.pipe("QUIT\r\n")
        self.assertEqual(lines, ["421 unable to read controls (#4.3.0)"])
        self.assertIn("rcpthosts", err)
        os.chmod(self.inst.path("control", "rcpthosts"), 0o644)
        self.inst.control("timeoutsmtpd", "soon\n")
        lines, err, rc = self.pipe("QUIT\r\n")
        self.assertEqual(lines, ["421 unable to read controls (#4.3.0)"])

    def test_databytes_environment(self):
        self.inst.control("databytes", "1000\n")
        lines, _, _ = self.pipe("EHLO x\r\n", env={"DATABYTES": "5000"})
        self.assertEqual(lines[-1], "250 SIZE 5000")
        lines, _, _ = self.pipe("EHLO x\r\n", env={"DATABYTES": "0"})
        self.assertEqual(lines[-1], "250 SIZE")
        lines, err, _ = self.pipe("EHLO x\r\n", env={"DATABYTES": "lots"})
        self.assertEqual(lines[-1], "250 SIZE 1000")
        self.assertIn("ignoring DATABYTES", err)


class TestLogs(SmtpdCase):

    def test_log_lines(self):
        self.inst.control("badmailfrom", "bad@spam.example\n")
        lines, err, rc = self.pipe(
            "HELO my host (x)\r\nMAIL FROM:<bad@spam.example>\r\nMAIL FROM:<a@b.example>\r\n"
            "RCPT TO:<u@example.test>\r\nRCPT TO:<r@relay.example>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
            env={"TCPREMOTEIP": "192.0.2.7", "TCPREMOTEHOST": "client.example"})
        got = [l for l in err.splitlines() if l.startswith("qmail-smtpd: ")]
        self.assertEqual(got[0], "qmail-smtpd: reject ip=192.0.2.7 reason=badmailfrom code=553 "
                                 "from=<bad@spam.example>")
        self.assertEqual(got[1], "qmail-smtpd: reject ip=192.0.2.7 reason=rcpthosts code=553 "
                                 "from=<a@b.example> rcpt=<r@relay.example>")
        self.assertRegex(got[2], r"^qmail-smtpd: accepted qp=\d+ ip=192\.0\.2\.7 "
                                 r"from=<a@b\.example> rcpts=1 bytes=3$")
        self.assertEqual(got[3], "qmail-smtpd: session ip=192.0.2.7 host=client.example "
                                 "helo=my?host??x? msgs=1 rcpts=1 bytes=3 end=quit")
        self.assertEqual(len(got), 4)

    def test_envelope_bytes_made_safe(self):
        """Addresses in log lines go through vis: a UTF-8 C1 control sent
        with SMTPUTF8 (U+0085, U+009B: a terminal's CSI) and a backslash
        from a quoted local part are shown as octal escapes, so they can
        neither forge a line nor drive an admin's terminal."""
        nel, csi = "\u0085", "\u009b"
        lines, err, rc = self.pipe(
            ("EHLO c\r\nMAIL FROM:<\"a\\\\b\"@x.example> SMTPUTF8\r\n"
             "RCPT TO:<j%srg@remote.example>\r\nRCPT TO:<u%s2J@example.test>\r\n"
             "DATA\r\nhi\r\n.\r\n" % (nel, csi)).encode())
        self.assertQueuedOK(lines[-1])
        got = [l for l in err.splitlines() if l.startswith("qmail-smtpd: ")]
        self.assertEqual(got[0], r"qmail-smtpd: reject ip=127.0.0.1 reason=rcpthosts code=553 "
                                 r"from=<a\134b@x.example> rcpt=<j\302\205rg@remote.example>")
        self.assertRegex(got[1], r"^qmail-smtpd: accepted qp=\d+ ip=127\.0\.0\.1 "
                                 r"from=<a\\134b@x\.example> rcpts=1 bytes=3$")
        self.assertNotIn(nel, err)
        self.assertNotIn(csi, err)
        # the queue gets the address as it was sent
        [m] = self.inst.queued()
        self.assertEqual(m["sender"], "a\\b@x.example")
        self.assertEqual(m["rcpts"], ["u%s2J@example.test" % csi])

    def test_eof_logged(self):
        lines, err, rc = self.pipe("HELO x\r\n")
        self.assertIn("end=eof", err)
        self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()
