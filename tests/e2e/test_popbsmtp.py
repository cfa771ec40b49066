# SPDX-License-Identifier: ISC
"""POP-before-SMTP without the lock (issue 11 §2): a POP3/IMAP login
through vchkpw stamps users/open-smtp/IP, and tcpserver + qmail-smtpd on
loopback lets that IP relay for control/opensmtpage seconds.  Clients
bind distinct source addresses (127.0.0.2, 127.0.0.3, ...) so that each
test's IPs are its own.  vchkpw runs as qmail-popup runs it: the login on
fd 3, TCPREMOTEIP and TCPLOCALPORT in its environment.  Also: SMTP AUTH
and failed logins record nothing, opensmtpage 0, clearopensmtp's expiry
and import of vpopmail's open-smtp file, the built-in expiry, hostile
TCPREMOTEIP values, and (once qmail-popup is built) a real POP3 login
over tcpserver + qmail-popup + vchkpw + qmail-pop3d."""
import os
import poplib
import smtplib
import socket
import stat
import subprocess
import time
import unittest

import qng
from vpoptree import VpopTree

PASSWORD = "s3cret pass"
FAR = "someone@far.test"  # not in rcpthosts: only a relay client may


class PopBeforeSmtp(unittest.TestCase):
    def setUp(self):
        self.inst = qng.Instance(rcpthosts=("example.test",))
        self.addCleanup(self.inst.cleanup)
        self.tree = VpopTree(self.inst)
        self.tree.add_domain("dom.test")
        self.tree.add_user("dom.test", "joe", PASSWORD)
        self.dir = self.inst.path("users", "open-smtp")
        self.port = None

    # --- helpers ---------------------------------------------------
    def smtpd(self, argv=None):
        if self.port is None:
            self.port = self.inst.start_smtpd(smtpd_argv=argv)
        return self.port

    def rcpt(self, src, rcpt=FAR):
        """RCPT TO rcpt over a fresh connection from source address src:
        the reply code."""
        port = self.smtpd()
        s = smtplib.SMTP("127.0.0.1", port, timeout=20, source_address=(src, 0))
        try:
            s.ehlo("client.test")
            code, _ = s.mail("joe@dom.test")
            self.assertEqual(code, 250)
            code, msg = s.rcpt(rcpt)
            return code
        finally:
            s.quit()

    def vchkpw(self, ip, user="joe@dom.test", password=PASSWORD, port="110",
               args=("true",), extra=None):
        """vchkpw as qmail-popup runs it; (exit, stderr)."""
        env = dict(self.inst.env)
        env.pop("TCPREMOTEIP", None)
        if ip is not None:
            env["TCPREMOTEIP"] = ip
        env["TCPLOCALPORT"] = port
        env.update(extra or {})
        r, w = os.pipe()
        os.write(w, user.encode() + b"\0" + password.encode() + b"\0")
        os.close(w)
        try:
            p = subprocess.run(["sh", "-c", 'exec "$0" "$@" 3<&0 0</dev/null',
                                os.path.join(self.inst.bin, "vchkpw")] + list(args),
                               stdin=r, env=env, capture_output=True, timeout=60,
                               cwd=self.inst.tmp, preexec_fn=self.inst.as_owner())
        finally:
            os.close(r)
        return p.returncode, p.stderr.decode(errors="replace")

    def login_ok(self, ip, **kw):
        rc, err = self.vchkpw(ip, **kw)
        self.assertEqual(rc, 0, err)
        return err

    def files(self):
        return sorted(n for n in os.listdir(self.dir) if not n.startswith("."))

    def age(self, name, seconds):
        t = time.time() - seconds
        os.utime(os.path.join(self.dir, name), (t, t))

    def clearopensmtp(self, *args, as_root=False):
        pre = None if as_root else self.inst.as_owner()
        p = subprocess.run([os.path.join(self.inst.bin, "clearopensmtp")] + list(args),
                           env=self.inst.env, capture_output=True, timeout=60,
                           cwd=self.inst.tmp, preexec_fn=pre)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def tree_snapshot(self):
        out = set()
        for root, dirs, files in os.walk(self.inst.tmp):
            for n in dirs + files:
                out.add(os.path.relpath(os.path.join(root, n), self.inst.tmp))
        return out


class TestGrant(PopBeforeSmtp):
    def test_pop3_login_grants_relay_to_that_ip_only(self):
        self.assertEqual(self.rcpt("127.0.0.2"), 553)
        self.login_ok("127.0.0.2")
        self.assertEqual(self.files(), ["127.0.0.2"])
        st = os.lstat(os.path.join(self.dir, "127.0.0.2"))
        self.assertTrue(stat.S_ISREG(st.st_mode))
        self.assertEqual((st.st_size, stat.S_IMODE(st.st_mode)), (0, 0o644))
        self.assertLess(abs(st.st_mtime - time.time()), 30)
        self.assertEqual(self.rcpt("127.0.0.2"), 250)
        # another IP that never logged in: qmail's refusal
        self.assertEqual(self.rcpt("127.0.0.3"), 553)
        # local domains are taken from anyone, as always
        self.assertEqual(self.rcpt("127.0.0.3", "x@example.test"), 250)
        qng.wait_for(lambda: "pop-before-smtp ip=127.0.0.2 age=" in self.inst.log("smtpd.log"),
                     10, what="the grant's log line")
        log = self.inst.log("smtpd.log")
        self.assertEqual(log.count("pop-before-smtp ip="), 1, log)
        self.assertNotIn("pop-before-smtp ip=127.0.0.3", log)

    def test_imap_and_webmail_logins_record(self):
        self.login_ok("127.0.0.4", port="143")
        self.login_ok("127.0.0.5", port="993")
        self.login_ok("127.0.0.6", port="995")
        # webmail: POP3 from 127.0.0.1, as vpopmail counts it
        err = self.login_ok("127.0.0.1", port="110")
        self.assertIn("service=webmail", err)
        self.assertEqual(self.files(), ["127.0.0.1", "127.0.0.4", "127.0.0.5", "127.0.0.6"])
        self.assertEqual(self.rcpt("127.0.0.4"), 250)

    def test_mapped_and_ipv6_addresses(self):
        self.login_ok("::ffff:127.0.0.7")
        self.login_ok("2001:DB8:0::1")
        self.assertEqual(self.files(), ["127.0.0.7", "2001:db8::1"])
        self.assertEqual(self.rcpt("127.0.0.7"), 250)

    def test_expired_file_refused_and_age_configurable(self):
        self.login_ok("127.0.0.8")
        self.age("127.0.0.8", 10790)
        self.assertEqual(self.rcpt("127.0.0.8"), 250)
        self.age("127.0.0.8", 10801)
        self.assertEqual(self.rcpt("127.0.0.8"), 553)
        # a longer age, read at the next connection
        self.inst.control("opensmtpage", "20000\n")
        self.assertEqual(self.rcpt("127.0.0.8"), 250)
        self.inst.control("opensmtpage", "60\n")
        self.age("127.0.0.8", 61)
        self.assertEqual(self.rcpt("127.0.0.8"), 553)
        # a clock set back: a stamp more than a minute ahead grants nothing
        t = time.time() + 3600
        os.utime(os.path.join(self.dir, "127.0.0.8"), (t, t))
        self.assertEqual(self.rcpt("127.0.0.8"), 553)
        # a new login stamps it now again
        self.login_ok("127.0.0.8")
        self.assertEqual(self.rcpt("127.0.0.8"), 250)

    def test_opensmtpage_zero_turns_it_off(self):
        self.login_ok("127.0.0.9")
        self.inst.control("opensmtpage", "0\n")
        self.assertEqual(self.rcpt("127.0.0.9"), 553)
        self.login_ok("127.0.0.10")
        self.assertNotIn("127.0.0.10", self.files())
        self.assertNotIn("pop-before-smtp", self.inst.log("smtpd.log"))

    def test_showctl_knows_opensmtpage(self):
        out = self.inst.run("qmail-showctl").stdout.decode()
        self.assertIn("opensmtpage", out)
        self.assertIn("10800", out.split("opensmtpage", 1)[1].split("\n\n")[0])
        self.inst.control("opensmtpage", "3600\n")
        out = self.inst.run("qmail-showctl").stdout.decode()
        self.assertIn("3600", out.split("opensmtpage", 1)[1].split("\n\n")[0])

    def test_bad_opensmtpage(self):
        """A value that is no number: the login still works (a warning),
        qmail-smtpd fails temporarily as for any unreadable control."""
        self.inst.control("opensmtpage", "3 hours\n")
        err = self.login_ok("127.0.0.11")
        self.assertIn("warning: pop-before-smtp: unable to read control/opensmtpage", err)
        self.assertEqual(self.files(), [])
        out, err, rc = self.inst.smtpd_pipe(b"QUIT\r\n", env={"TCPREMOTEIP": "127.0.0.11"})
        self.assertTrue(out.startswith(b"421") or out.startswith(b"451"), out)

    def test_relayclient_from_rules_needs_no_stat(self):
        self.login_ok("127.0.0.12")
        out, err, rc = self.inst.smtpd_pipe(
            b"HELO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<" + FAR.encode() + b">\r\nQUIT\r\n",
            env={"TCPREMOTEIP": "127.0.0.12", "RELAYCLIENT": ""})
        self.assertIn(b"\r\n250 ok\r\n", out.replace(b"250 ok\r\n", b"\r\n250 ok\r\n", 1))
        self.assertNotIn("pop-before-smtp", err)

    def test_grant_survives_starttls_reset_and_rset(self):
        """The grant is the connection's, like tcpserver's RELAYCLIENT:
        RSET and a second transaction keep it."""
        self.login_ok("127.0.0.13")
        out, err, rc = self.inst.smtpd_pipe(
            b"EHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<" + FAR.encode() + b">\r\nRSET\r\n"
            b"MAIL FROM:<a@b.test>\r\nRCPT TO:<" + FAR.encode() + b">\r\nQUIT\r\n",
            env={"TCPREMOTEIP": "127.0.0.13"})
        self.assertEqual(out.count(b"553 "), 0, out)
        self.assertIn("pop-before-smtp ip=127.0.0.13 age=", err)


class TestNoRecord(PopBeforeSmtp):
    def test_smtp_auth_logins_do_not_record(self):
        for port in ("25", "465", "587"):
            self.login_ok("127.0.0.20", port=port)
        self.assertEqual(self.files(), [])
        # and for real: AUTH through qmail-smtpd + vchkpw from 127.0.0.21
        self.inst.control("authplaintext", "1\n")
        port = self.smtpd([os.path.join(self.inst.bin, "qmail-smtpd"),
                           os.path.join(self.inst.bin, "vchkpw"), "true"])
        s = smtplib.SMTP("127.0.0.1", port, timeout=20, source_address=("127.0.0.21", 0))
        s.ehlo("client.test")
        s.login("joe@dom.test", PASSWORD)
        s.mail("joe@dom.test")
        self.assertEqual(s.rcpt(FAR)[0], 250)  # AUTH relays, of course
        s.quit()
        self.assertEqual(self.files(), [])
        # the next connection from there, without AUTH, may not relay
        self.assertEqual(self.rcpt("127.0.0.21"), 553)

    def test_failed_logins_do_not_record(self):
        rc, err = self.vchkpw("127.0.0.22", password="wrong")
        self.assertEqual(rc, 1, err)
        rc, err = self.vchkpw("127.0.0.22", user="nobody@dom.test")
        self.assertEqual(rc, 1, err)
        rc, err = self.vchkpw("127.0.0.22", user="joe@nowhere.test")
        self.assertEqual(rc, 1, err)
        self.assertEqual(self.files(), [])
        self.assertEqual(self.rcpt("127.0.0.22"), 553)

    def test_unwritable_directory_is_only_a_warning(self):
        os.rename(self.dir, self.dir + ".away")
        self.addCleanup(os.rename, self.dir + ".away", self.dir)
        err = self.login_ok("127.0.0.23")
        self.assertIn("warning: pop-before-smtp: unable to record ip=127.0.0.23", err)

    def test_hostile_remote_ips_never_make_a_file_outside(self):
        before = self.tree_snapshot()
        hostile = ["../../etc/x", "1.2.3.4/..", "1.2.3.4/../../x", "", "..", ".expire",
                   "/tmp/x", "1.2.3.4\nlogin ok ip=6.6.6.6", "1" * 5000, "x" * 100000,
                   "127.0.0.1 ", "unknown", "fe80::1%lo", "1.2.3.4:allow"]
        for ip in hostile:
            rc, err = self.vchkpw(ip)
            self.assertEqual(rc, 0, (ip[:50], err[:500]))
            self.assertNotIn("\nlogin ok ip=6.6.6.6", err)
        rc, err = self.vchkpw(None)  # no TCPREMOTEIP at all
        self.assertEqual(rc, 0, err)
        self.login_ok("::ffff:1.2.3.4")
        after = self.tree_snapshot()
        new = sorted(after - before)
        # the tests' own log files, the SCRAM keys vchkpw stores, the
        # expiry's stamp
        new = [n for n in new if "/" in n and not n.startswith("vpopmail/") and
               n != "home/users/open-smtp/.expire"]
        self.assertEqual(new, ["home/users/open-smtp/1.2.3.4"])
        # qmail-smtpd with the same values: no grant, no crash
        for ip in hostile + ["1.2.3.4"]:
            if "\0" in ip or len(ip) > 60000:
                continue
            out, err, rc = self.inst.smtpd_pipe(
                b"HELO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<" + FAR.encode() + b">\r\nQUIT\r\n",
                env={"TCPREMOTEIP": ip})
            want = b"250 ok\r\n553" if ip != "1.2.3.4" else b"250 ok\r\n250 ok\r\n221"
            self.assertIn(want, out, (ip[:50], out, err))
            self.assertNotIn("warning", err)


class TestExpiry(PopBeforeSmtp):
    def test_clearopensmtp_runs_the_expiry_pass_silently(self):
        for i in range(30, 36):
            self.login_ok("127.0.0.%d" % i)
        for i in range(30, 34):
            self.age("127.0.0.%d" % i, 10800 + 60 * i)
        rc, out, err = self.clearopensmtp()
        self.assertEqual((rc, out, err), (0, "", ""))
        self.assertEqual(self.files(), ["127.0.0.34", "127.0.0.35"])
        # again, with nothing to do
        self.assertEqual(self.clearopensmtp(), (0, "", ""))
        # no directory (an old tree): nothing to do, still silent
        os.rename(self.dir, self.dir + ".away")
        self.assertEqual(self.clearopensmtp(), (0, "", ""))
        os.rename(self.dir + ".away", self.dir)
        # usage
        rc, out, err = self.clearopensmtp("-x")
        self.assertEqual(rc, 100)
        self.assertIn("usage", err)

    @unittest.skipUnless(qng.IS_ROOT, "as root it becomes the directory's owner")
    def test_clearopensmtp_as_root_acts_as_the_owner(self):
        self.login_ok("127.0.0.36")
        self.age("127.0.0.36", 20000)
        stamp = os.path.join(self.dir, ".expire")
        if os.path.exists(stamp):
            os.unlink(stamp)
        self.assertEqual(self.clearopensmtp(as_root=True), (0, "", ""))
        self.assertEqual(self.files(), [])
        self.assertEqual(os.lstat(stamp).st_uid, self.inst.uid)
        old = os.path.join(self.inst.tmp, "open-smtp")
        with open(old, "w") as f:
            f.write('127.0.0.37:allow,RELAYCLIENT="",RBLSMTPD="" %d\n' % int(time.time()))
        os.chmod(old, 0o600)  # root's, as /etc/vpopmail/open-smtp was
        rc, out, err = self.clearopensmtp("-i", old, as_root=True)
        self.assertEqual(rc, 0, err)
        self.assertEqual(os.lstat(os.path.join(self.dir, "127.0.0.37")).st_uid, self.inst.uid)

    @unittest.skipUnless(qng.IS_ROOT, "needs a second user")
    def test_clearopensmtp_as_another_user_changes_nothing(self):
        self.login_ok("127.0.0.38")
        self.age("127.0.0.38", 20000)
        stamp = os.path.join(self.dir, ".expire")
        if os.path.exists(stamp):
            os.unlink(stamp)
        daemon = 1  # the daemon user of Debian's base-passwd

        def pre():
            os.setgroups([])
            os.setgid(daemon)
            os.setuid(daemon)
        p = subprocess.run([os.path.join(self.inst.bin, "clearopensmtp")], env=self.inst.env,
                           capture_output=True, timeout=60, cwd="/", preexec_fn=pre)
        self.assertEqual(p.returncode, 111, p.stderr)
        self.assertIn(b"unable to expire", p.stderr)
        self.assertEqual(self.files(), ["127.0.0.38"])

    def test_builtin_expiry_every_ten_minutes(self):
        self.login_ok("127.0.0.40")
        self.login_ok("127.0.0.41")
        stamp = os.path.join(self.dir, ".expire")
        self.assertTrue(os.path.exists(stamp))
        self.age("127.0.0.40", 20000)
        # the last pass was just now: the stale file stays
        self.login_ok("127.0.0.42")
        self.assertIn("127.0.0.40", self.files())
        # eleven minutes later, the next login's pass removes it
        self.age(".expire", 660)
        err = self.login_ok("127.0.0.42")
        self.assertIn("pop-before-smtp expired=1", err)
        self.assertEqual(self.files(), ["127.0.0.41", "127.0.0.42"])
        self.assertLess(time.time() - os.lstat(stamp).st_mtime, 30)

    def test_import_of_the_old_open_smtp_file(self):
        now = int(time.time())
        old = os.path.join(self.inst.tmp, "open-smtp")
        lines = [
            # as OVH's guide shows them, and as vpopmail writes them (tab)
            '127.0.0.50:allow,RELAYCLIENT=" ",RBLSMTPD=" " %d' % (now - 60),
            '127.0.0.51:allow,RELAYCLIENT="",RBLSMTPD=""\t%d' % (now - 3600),
            # expired (the guide's own, from 2002)
            '213.41.188.249:allow,RELAYCLIENT=" ",RBLSMTPD=" " 1029581749',
            '127.0.0.52:allow,RELAYCLIENT="" %d' % (now - 20000),
            # malformed
            "garbage",
            '../../etc/x:allow,RELAYCLIENT="" %d' % now,
            '127.0.0.:allow,RELAYCLIENT="" %d' % now,
            "127.0.0.53:deny %d" % now,
            "127.0.0.54:allow,RELAYCLIENT=\"\" \x00%d" % now,
            "x" * 5000,
            "",
        ]
        with open(old, "w") as f:
            f.write("\n".join(lines) + "\n")
            f.write("\x01" * (1 << 20))  # 1 MiB of garbage, no newline
        os.chmod(old, 0o644)
        before = self.tree_snapshot()
        rc, out, err = self.clearopensmtp("-i", old)
        self.assertEqual(rc, 0, err)
        self.assertIn("imported 2 addresses, skipped 2 expired, 7 bad lines", err)
        self.assertIn("line 5: not an open-smtp entry", err)
        self.assertIn("line 10: not an open-smtp entry (IP:allow,... TIMESTAMP): too long", err)
        self.assertEqual(self.files(), ["127.0.0.50", "127.0.0.51"])
        self.assertEqual(int(os.lstat(os.path.join(self.dir, "127.0.0.51")).st_mtime),
                         now - 3600)
        after = self.tree_snapshot()
        self.assertEqual(sorted(after - before), ["home/users/open-smtp/127.0.0.50",
                                                  "home/users/open-smtp/127.0.0.51"])
        self.assertEqual(self.rcpt("127.0.0.50"), 250)
        self.assertEqual(self.rcpt("127.0.0.52"), 553)
        # a missing file: temporary trouble
        rc, out, err = self.clearopensmtp("-i", old + ".missing")
        self.assertEqual(rc, 111)
        self.assertIn("unable to open", err)


class TestRealPop3(PopBeforeSmtp):
    def test_pop3_login_over_tcpserver_grants_relay(self):
        from popclient import start_pop3_chain
        pop_port = start_pop3_chain(self.inst)

        class POP3From(poplib.POP3):
            def _create_socket(self, timeout):
                return socket.create_connection((self.host, self.port), timeout,
                                                source_address=("127.0.0.60", 0))
        self.assertEqual(self.rcpt("127.0.0.60"), 553)
        c = POP3From("127.0.0.1", pop_port, timeout=20)
        c.user("joe@dom.test")
        c.pass_(PASSWORD)
        self.assertEqual(c.stat()[0], 0)
        c.quit()
        qng.wait_for(lambda: "127.0.0.60" in self.files(), 10, what="the POP3 login's stamp")
        self.assertEqual(self.rcpt("127.0.0.60"), 250)
        self.assertEqual(self.rcpt("127.0.0.61"), 553)
        # a wrong password over POP3 stamps nothing
        c = poplib.POP3("127.0.0.1", pop_port, timeout=20)
        c.user("joe@dom.test")
        with self.assertRaises(poplib.error_proto):
            c.pass_("wrong")
        c.close()
        self.assertEqual(self.files(), ["127.0.0.60"])


if __name__ == "__main__":
    unittest.main()
