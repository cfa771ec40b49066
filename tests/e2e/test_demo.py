# SPDX-License-Identifier: ISC
"""The demo instance (scripts/demo, what `make run` starts): it comes up on
its port, accepts a relayed message from 127.0.0.1, qmail-qstat counts it,
and stop really stops it."""
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

import qng


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_open(port):
    """Does something accept connections on 127.0.0.1:port?"""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class DemoTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="qng-demo-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.env = dict(os.environ)
        self.env.update({"QNG_DEMO": os.path.join(self.tmp, "demo"),
                         "QNG_DEMO_PORT": str(free_port()),
                         "QNG_DEMO_SUBMISSION_PORT": str(free_port()),
                         "QNG_DEMO_SMTPS_PORT": str(free_port()),
                         "QNG_DEMO_POP3_PORT": str(free_port()),
                         "QNG_DEMO_POP3S_PORT": str(free_port()),
                         "QNG_DEMO_IMAP_PORT": str(free_port()),
                         "QNG_DEMO_IMAPS_PORT": str(free_port()),
                         # remote mail must not reach the machine's resolver
                         "QNG_DEMO_DNSSERVERS": "127.0.0.1:1",
                         "B": os.path.relpath(qng.BUILD, qng.REPO)})
        self.script = os.path.join(qng.REPO, "scripts", "demo")
        self.addCleanup(self.demo, "stop")

    def demo(self, *args):
        return subprocess.run([self.script] + list(args), env=self.env, capture_output=True,
                              timeout=60)

    def test_start_send_count_stop(self):
        r = self.demo("start")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        port = int(self.env["QNG_DEMO_PORT"])
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
            code, msg = s.ehlo("client.test")
            self.assertEqual(code, 250)
            self.assertTrue(msg.startswith(b"mail.example.test"), msg)
            # relaying from 127.0.0.1 is allowed by the demo's tcp.smtp
            s.sendmail("me@example.test", ["demo@example.test", "someone@elsewhere.test"],
                       "Subject: hello\n\nIt works.\n")
        r = self.demo("status")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"messages in queue: 1\n", r.stdout)
        r = self.demo("stop")
        self.assertEqual(r.returncode, 0)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        self.assertEqual(self.demo("status").returncode, 3)

    def test_submission_and_smtps_with_the_printed_password(self):
        """What make run prints works: the CA in demo/etc/ca.pem verifies
        the certificate on all three ports, demo@example.test logs in with
        the password in demo/etc/demo-password (mode 600) over submission
        after STARTTLS, and over SMTPS; submission refuses MAIL before
        AUTH."""
        import ssl
        r = self.demo("start")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        demo = os.path.realpath(self.env["QNG_DEMO"])
        ca = os.path.join(demo, "etc", "ca.pem")
        pwfile = os.path.join(demo, "etc", "demo-password")
        self.assertEqual(os.stat(pwfile).st_mode & 0o777, 0o600)
        with open(pwfile) as f:
            password = f.read().strip()
        self.assertGreaterEqual(len(password), 12)
        ctx = ssl.create_default_context(cafile=ca)  # verifies 127.0.0.1 too
        sub = int(self.env["QNG_DEMO_SUBMISSION_PORT"])
        with smtplib.SMTP("127.0.0.1", sub, timeout=10) as s:
            s.starttls(context=ctx)
            s.ehlo("client.test")
            code, msg = s.mail("demo@example.test")
            self.assertEqual(code, 530, msg)
            s.rset()
            s.login("demo@example.test", password)
            s.sendmail("demo@example.test", ["someone@elsewhere.test"], "Subject: s\n\nhi\n")
        with smtplib.SMTP_SSL("127.0.0.1", int(self.env["QNG_DEMO_SMTPS_PORT"]), timeout=10,
                              context=ctx) as s:
            s.login("demo@example.test", password)
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s2 = smtplib.SMTP_SSL("127.0.0.1", int(self.env["QNG_DEMO_SMTPS_PORT"]),
                                      timeout=30, context=ctx)
                try:
                    s2.login("demo@example.test", password + "x")
                finally:
                    s2.close()
        with smtplib.SMTP("127.0.0.1", int(self.env["QNG_DEMO_PORT"]), timeout=10) as s:
            s.starttls(context=ctx)
            s.ehlo("client.test")
            self.assertIn("auth", s.esmtp_features)

    def test_example_test_is_a_virtual_domain_with_two_accounts(self):
        """The issue's demo: example.test is a domain of the account store
        with demo@ and testuser@ (passwords in demo/etc/NAME-password, mode
        600), no catch-all, so an unknown name is refused at RCPT with
        550 5.1.1 (RFC 3463: bad destination mailbox address); testuser
        logs in with PLAIN and with SCRAM-SHA-256 (RFC 7677) over
        submission, and mail to it lands in vpopmail's layout."""
        import base64
        import ssl
        import scramclient
        r = self.demo("start")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        demo = os.path.realpath(self.env["QNG_DEMO"])
        pwfile = os.path.join(demo, "etc", "testuser-password")
        self.assertEqual(os.stat(pwfile).st_mode & 0o777, 0o600)
        with open(pwfile) as f:
            password = f.read().strip()
        port = int(self.env["QNG_DEMO_PORT"])
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
            s.ehlo("client.test")
            self.assertEqual(s.mail("someone@elsewhere.test")[0], 250)
            code, msg = s.rcpt("nobody@example.test")
            self.assertEqual(code, 550, msg)
            self.assertTrue(msg.startswith(b"5.1.1 "), msg)
            self.assertEqual(s.rcpt("testuser@example.test")[0], 250)
            self.assertEqual(s.rcpt("postmaster@example.test")[0], 250)
            code, msg = s.data(b"Subject: to testuser\r\n\r\nhello testuser\r\n")
            self.assertEqual(code, 250, msg)
        new = os.path.join(demo, "vpopmail", "domains", "example.test", "testuser",
                           "Maildir", "new")
        qng.wait_for(lambda: os.listdir(new), 15, what="the delivery to testuser")
        with open(os.path.join(new, os.listdir(new)[0]), "rb") as f:
            self.assertIn(b"hello testuser", f.read())
        ctx = ssl.create_default_context(cafile=os.path.join(demo, "etc", "ca.pem"))
        sub = int(self.env["QNG_DEMO_SUBMISSION_PORT"])
        with smtplib.SMTP("127.0.0.1", sub, timeout=10) as s:
            s.starttls(context=ctx)
            s.ehlo("client.test")
            self.assertIn("SCRAM-SHA-256", s.esmtp_features.get("auth", ""))
            c = scramclient.ScramClient("testuser@example.test", password)
            code, msg = s.docmd("AUTH", "SCRAM-SHA-256 " +
                                base64.b64encode(c.first().encode()).decode())
            self.assertEqual(code, 334, msg)
            final = c.final(base64.b64decode(msg).decode())
            code, msg = s.docmd(base64.b64encode(final.encode()).decode())
            self.assertEqual(code, 334, msg)
            self.assertTrue(c.verify(base64.b64decode(msg).decode()))
            code, msg = s.docmd("")
            self.assertEqual(code, 235, msg)
        with smtplib.SMTP("127.0.0.1", sub, timeout=10) as s:
            s.starttls(context=ctx)
            s.ehlo("client.test")
            s.login("testuser@example.test", password)

    def start_and_deliver(self, says, portvar, msg):
        """Start the demo (its message must name the listener: says and
        the port in portvar), send msg to demo@example.test over SMTP and
        wait for it; demo's password, Maildir and a TLS context trusting
        the demo's CA."""
        import ssl
        r = self.demo("start")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(says + self.env[portvar].encode(), r.stdout)
        demo = os.path.realpath(self.env["QNG_DEMO"])
        with open(os.path.join(demo, "etc", "demo-password")) as f:
            password = f.read().strip()
        with smtplib.SMTP("127.0.0.1", int(self.env["QNG_DEMO_PORT"]), timeout=10) as s:
            s.sendmail("me@example.test", ["demo@example.test"], msg)
        md = os.path.join(demo, "vpopmail", "domains", "example.test", "demo", "Maildir")
        qng.wait_for(lambda: os.listdir(os.path.join(md, "new")), 15, what="the delivery")
        return password, md, ssl.create_default_context(
            cafile=os.path.join(demo, "etc", "ca.pem"))

    def test_pop3_and_pop3s_read_the_demo_mailbox(self):
        """The issue's demo: POP3 (STLS, RFC 2595) and POP3S (implicit TLS,
        RFC 8314) for demo@example.test with the password kept in
        demo/etc/demo-password; the message sent over SMTP is read back,
        its UIDL is the Maildir name up to ':' (qmail-pop3d's), and
        nothing is deleted without DELE."""
        import poplib
        password, md, ctx = self.start_and_deliver(b"POP3 on ", "QNG_DEMO_POP3_PORT",
                                                   "Subject: over POP3\n\nread me back\n")
        name = os.listdir(os.path.join(md, "new"))[0]
        p = poplib.POP3("127.0.0.1", int(self.env["QNG_DEMO_POP3_PORT"]), timeout=10)
        try:
            self.assertIn("STLS", p.capa())
            p.stls(context=ctx)
            p.user("demo@example.test")
            p.pass_(password)
            count, _ = p.stat()
            self.assertEqual(count, 1)
            self.assertEqual(p.uidl(1).split()[2].decode(), name.split(":")[0])
            lines = p.retr(1)[1]
            self.assertIn(b"read me back", lines)
            self.assertIn(b"Subject: over POP3", lines)
            p.quit()
        finally:
            p.close()
        p = poplib.POP3_SSL("127.0.0.1", int(self.env["QNG_DEMO_POP3S_PORT"]), timeout=10,
                            context=ctx)
        try:
            p.user("demo@example.test")
            p.pass_(password)
            self.assertEqual(p.stat()[0], 1)
            self.assertIn(b"read me back", p.retr(1)[1])
            p.quit()
        finally:
            p.close()
        # qmail-pop3d's QUIT moved it from new/ to cur/ with ":2,"
        self.assertEqual(os.listdir(os.path.join(md, "new")), [])
        self.assertEqual([n.split(":")[0] for n in os.listdir(os.path.join(md, "cur"))],
                         [name.split(":")[0]])
        p = poplib.POP3("127.0.0.1", int(self.env["QNG_DEMO_POP3_PORT"]), timeout=10)
        try:
            p.user("demo@example.test")
            with self.assertRaises(poplib.error_proto):
                p.pass_(password + "x")
        finally:
            p.close()

    @unittest.skipUnless(os.path.exists("/usr/lib/dovecot/imap"), "Dovecot is not installed")
    def test_imap_through_dovecot_reads_the_same_mailbox(self):
        """With Dovecot installed the demo serves IMAP (STARTTLS) and IMAPS
        on the same accounts and Maildirs (doc/dovecot.md); stop stops it."""
        import imaplib
        password, _, ctx = self.start_and_deliver(b"IMAP on ", "QNG_DEMO_IMAP_PORT",
                                                  "Subject: over IMAP\n\nread me with IMAP\n")
        port = int(self.env["QNG_DEMO_IMAPS_PORT"])

        def up():
            return port_open(port)
        qng.wait_for(up, 20, what="Dovecot's IMAPS port")
        m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx, timeout=10)
        try:
            m.login("demo@example.test", password)
            typ, data = m.select("INBOX")
            self.assertEqual(typ, "OK")
            self.assertEqual(int(data[0]), 1)
            typ, data = m.fetch("1", "(BODY.PEEK[])")
            self.assertIn(b"read me with IMAP", data[0][1])
            m.logout()
        finally:
            try:
                m.shutdown()
            except OSError:
                pass
        m = imaplib.IMAP4("127.0.0.1", int(self.env["QNG_DEMO_IMAP_PORT"]), timeout=10)
        try:
            m.starttls(ssl_context=ctx)
            with self.assertRaises(imaplib.IMAP4.error):
                m.login("demo@example.test", password + "x")
        finally:
            m.shutdown()
        self.assertEqual(self.demo("stop").returncode, 0)
        qng.wait_for(lambda: not up(), 15, what="Dovecot to stop")

    def test_demo_announces_the_seeds_size_limit(self):
        self.assertEqual(self.demo("start").returncode, 0)
        port = int(self.env["QNG_DEMO_PORT"])
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
            s.ehlo("client.test")
            self.assertEqual(s.esmtp_features.get("size"), "10000000")

    def test_ctrl_c_on_make_run_stops_everything_cleanly(self):
        """`make run` in a terminal: Ctrl-C sends SIGINT to the whole
        foreground process group.  Every program ends, and qmail-send's
        log ends with its own exit line, not 'alert: lost connection'."""
        out = open(os.path.join(self.tmp, "run.out"), "w+b")
        # as in a terminal, SIGINT's default action, even when the test
        # runs under nohup or from a background job (which ignore it, and
        # an ignored SIGINT is inherited and cannot be trapped by sh)
        p = subprocess.Popen([self.script, "run"], env=self.env, stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        port = int(self.env["QNG_DEMO_PORT"])

        def up():
            return port_open(port)
        try:
            qng.wait_for(up, 30, what="the demo's port")
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                s.sendmail("me@example.test", ["demo@example.test"], "Subject: hi\n\nhi\n")
            qng.wait_for(lambda: os.listdir(os.path.join(self.tmp, "demo", "vpopmail", "domains",
                                                         "example.test", "demo", "Maildir",
                                                         "new")), 15,
                         what="the delivery")
            time.sleep(0.3)
            os.killpg(p.pid, signal.SIGINT)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                # say who is still there, and what the demo printed
                left = []
                for pid in qng.session_members(p.pid):
                    try:
                        with open("/proc/%d/cmdline" % pid, "rb") as f:
                            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
                        with open("/proc/%d/status" % pid) as f:
                            sig = [l.strip() for l in f if l.startswith(("State", "SigIgn",
                                                                         "SigCgt"))]
                    except OSError:
                        continue
                    left.append("%d %s %s" % (pid, cmd[:120], " ".join(sig)))
                out.seek(0)
                self.fail("the demo did not stop 30 s after SIGINT; still running:\n%s\n"
                          "its output ends:\n%s" % ("\n".join(left),
                                                    out.read().decode(errors="replace")[-3000:]))
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        # nothing of the instance is left running
        qng.wait_for(lambda: not qng.session_members(p.pid), 15,
                     what="the demo's processes to end")
        out.seek(0)
        text = out.read().decode(errors="replace")
        out.close()
        self.assertIn("status: exiting", text)
        self.assertNotIn("alert:", text)
        self.assertNotIn("lost connection", text)


if __name__ == "__main__":
    unittest.main()
