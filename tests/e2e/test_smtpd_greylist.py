# SPDX-License-Identifier: ISC
"""Greylisting in qmail-smtpd (issue 13 §2): postgrey's rule at RCPT.

A triplet (client network, envelope sender, recipient) seen for the first
time gets 451 4.7.1; a retry before control/greylist seconds gets it
again; a retry after the delay and within control/greylistwindow passes
and keeps passing; a retry after the window is a first try again.
Client networks are IPv4 /24 and IPv6 /64 (postgrey's --lookup-by-subnet
defaults), so a pool of sending hosts retries from a neighbour.  Trusted
(RELAYCLIENT), authenticated and NOGREYLIST / GREYLIST=0 clients skip it;
a store that cannot be written lets mail through with a warning.  Time is
simulated by moving the store's mtimes back (os.utime), never slept.
Sessions run on a pipe with the TCPREMOTEIP tcpserver would set, and once
through tcpserver -W (resident workers: nothing of one client's session
left for the next)."""
import base64
import os
import smtplib
import subprocess
import unittest

import qng

DELAY = 300


def b64(s):
    return base64.b64encode(s.encode()).decode()


class GreylistCase(unittest.TestCase):
    def setUp(self):
        self.inst = qng.Instance(rcpthosts=("example.test",))
        self.addCleanup(self.inst.cleanup)
        self.inst.control("greylist", "%d\n" % DELAY)
        self.store = self.inst.path("users", "greylist")

    # --- helpers -----------------------------------------------------
    def session(self, ip, sender="joe@far.test", rcpts=("u@example.test",), env=None,
                pre=b"", argv=None):
        """One SMTP session from ip on a pipe: the RCPT replies (list of
        lines) and the log."""
        data = pre + b"EHLO client.test\r\nMAIL FROM:<" + sender.encode() + b">\r\n"
        for r in rcpts:
            data += b"RCPT TO:<" + r.encode() + b">\r\n"
        data += b"QUIT\r\n"
        e = {"TCPREMOTEIP": ip}
        e.update(env or {})
        if argv:
            ee = dict(self.inst.env)
            ee.update({"TCPREMOTEIP": ip, "TCPLOCALHOST": "test.local"})
            ee.update(env or {})
            p = subprocess.run(argv, input=data, env=ee, capture_output=True, timeout=60,
                               preexec_fn=self.inst.as_owner(), cwd=self.inst.tmp)
            out, err = p.stdout, p.stderr.decode(errors="replace")
        else:
            out, err, _ = self.inst.smtpd_pipe(data, env=e)
        lines = out.decode(errors="replace").split("\r\n")
        # the replies to RCPT: their enhanced codes tell them from the
        # greeting's, EHLO's, MAIL's and QUIT's
        rc = [l for l in lines if l.startswith(("250 2.1.5", "451 4.7.1", "553", "421"))]
        return rc, err

    def stamps(self, suffix=None):
        """Files of the store (relative names), optionally by suffix:
        '' pending, '.ok' passed, '.cl' client counters."""
        out = []
        for sub in sorted(os.listdir(self.store)):
            d = os.path.join(self.store, sub)
            if not os.path.isdir(d):
                continue
            for n in os.listdir(d):
                sfx = n[64:]
                if suffix is None or sfx == suffix:
                    out.append(os.path.join(d, n))
        return out

    def age_all(self, seconds, suffix=""):
        """Move every matching stamp's mtime seconds into the past."""
        files = self.stamps(suffix)
        for f in files:
            st = os.stat(f)
            os.utime(f, (st.st_atime - seconds, st.st_mtime - seconds))
        return len(files)

    def assertGrey(self, replies, n=1):
        self.assertEqual(len(replies), n, replies)
        for r in replies:
            self.assertTrue(r.startswith("451 4.7.1 greylisted"), replies)

    def assertPass(self, replies, n=1):
        self.assertEqual(len(replies), n, replies)
        for r in replies:
            self.assertTrue(r.startswith("250 2.1.5"), replies)


class TestGreylist(GreylistCase):
    def test_retry_flow(self):
        """First try 451, too early 451, after the delay 250 and from then
        on; each refusal one reject line with its reason."""
        r, err = self.session("192.0.2.10")
        self.assertGrey(r)
        self.assertIn("reject ip=192.0.2.10 reason=greylist code=451 from=<joe@far.test> "
                      "rcpt=<u@example.test>", err)
        self.assertEqual(len(self.stamps("")), 1)
        self.assertEqual(len(self.stamps(".ok")), 0)
        # one minute later: still too early
        self.age_all(60)
        r, err = self.session("192.0.2.10")
        self.assertGrey(r)
        self.assertIn("reason=greylistearly code=451", err)
        # the delay is over
        self.age_all(DELAY - 60)
        r, err = self.session("192.0.2.10")
        self.assertPass(r)
        self.assertRegex(err, r"greylist passed ip=192\.0\.2\.10 net=192\.0\.2\.0/24 "
                              r"after=3\d\ds from=<joe@far\.test> rcpt=<u@example\.test>")
        self.assertNotIn("reject", err)
        self.assertEqual(len(self.stamps("")), 0)
        self.assertEqual(len(self.stamps(".ok")), 1)
        # and keeps passing, a month later too (refreshed by its use)
        r, err = self.session("192.0.2.10")
        self.assertPass(r)
        self.assertNotIn("greylist", err)
        self.age_all(30 * 86400, ".ok")
        self.assertPass(self.session("192.0.2.10")[0])
        self.age_all(30 * 86400, ".ok")
        self.assertPass(self.session("192.0.2.10")[0])
        # unused for longer than greylistmaxage (35 days): greylisted again
        self.age_all(36 * 86400, ".ok")
        r, err = self.session("192.0.2.10")
        self.assertGrey(r)
        self.assertIn("reason=greylist code=451", err)

    def test_message_goes_through_after_retry(self):
        """The retry's whole message is queued (with each recipient's own
        verdict in one transaction)."""
        self.assertGrey(self.session("192.0.2.10")[0])
        self.age_all(DELAY + 1)
        data = (b"EHLO client.test\r\nMAIL FROM:<joe@far.test>\r\n"
                b"RCPT TO:<u@example.test>\r\nRCPT TO:<v@example.test>\r\nDATA\r\n"
                b"Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        out, err, _ = self.inst.smtpd_pipe(data, env={"TCPREMOTEIP": "192.0.2.10"})
        text = out.decode()
        self.assertIn("250 2.1.5 ok", text)
        self.assertIn("451 4.7.1 greylisted", text)  # v@ is new
        self.assertIn("250 2.0.0 ok", text)
        q = self.inst.queued()
        self.assertEqual(len(q), 1)
        self.assertEqual(q[0]["rcpts"], ["u@example.test"])

    def test_window_expired(self):
        """A retry after greylistwindow counts as a first try; the delay
        starts again."""
        self.inst.control("greylistwindow", "3600\n")
        self.assertGrey(self.session("192.0.2.10")[0])
        self.age_all(3601)
        r, err = self.session("192.0.2.10")
        self.assertGrey(r)
        self.assertIn("reason=greylistlate code=451", err)
        r, err = self.session("192.0.2.10")
        self.assertIn("reason=greylistearly", err)
        self.age_all(DELAY)
        self.assertPass(self.session("192.0.2.10")[0])

    def test_ipv4_network(self):
        """A retry from another host of the same /24 passes; one from the
        next /24 is a new triplet."""
        self.assertGrey(self.session("198.51.100.7")[0])
        self.age_all(DELAY)
        self.assertPass(self.session("198.51.100.200")[0])
        r, err = self.session("198.51.101.7")
        self.assertGrey(r)
        self.assertIn("reject ip=198.51.101.7 reason=greylist", err)
        # an IPv4-mapped address is its IPv4 network
        self.assertPass(self.session("::ffff:198.51.100.9")[0])

    def test_ipv6_network(self):
        """IPv6: /64, ::1 included."""
        self.assertGrey(self.session("2001:db8:1:2::5")[0])
        self.assertGrey(self.session("::1")[0])
        self.age_all(DELAY)
        self.assertPass(self.session("2001:db8:1:2:ffff::1")[0])
        r, err = self.session("2001:db8:1:3::5")
        self.assertGrey(r)
        self.assertPass(self.session("::1")[0])
        r, err = self.session("::2")  # the same /64 as ::1
        self.assertPass(r)

    def test_sender_and_recipient_count(self):
        """Another sender or recipient is another triplet; case does not
        matter; the null sender is greylisted like any."""
        self.assertGrey(self.session("192.0.2.10", rcpts=("a@example.test", "b@example.test"))[0], 2)
        self.assertGrey(self.session("192.0.2.10", sender="")[0])
        self.age_all(DELAY)
        self.assertPass(self.session("192.0.2.10", rcpts=("A@EXAMPLE.TEST",))[0])
        self.assertPass(self.session("192.0.2.10", sender="")[0])
        self.assertGrey(self.session("192.0.2.10", sender="other@far.test",
                                     rcpts=("a@example.test",))[0])

    def test_many_recipients_not_errors(self):
        """25 greylisted recipients do not end the session as 'too many
        errors' (20): a retry asked for is not the client's error."""
        rcpts = ["r%d@example.test" % i for i in range(25)]
        r, err = self.session("192.0.2.10", rcpts=rcpts)
        self.assertGrey(r, 25)
        self.assertNotIn("421", "".join(r))

    def test_session_records_a_bounded_number(self):
        """One session records at most 100 new triplets; the rest are
        refused all the same, and recorded when a later session retries
        them (a spray of made-up recipients fills no disk)."""
        rcpts = ["r%d@example.test" % i for i in range(150)]
        r, err = self.session("192.0.2.10", rcpts=rcpts)
        self.assertGrey(r, 150)
        self.assertEqual(len(self.stamps("")), 100)
        r, err = self.session("192.0.2.10", rcpts=rcpts[100:])
        self.assertGrey(r, 50)
        self.assertEqual(len(self.stamps("")), 150)

    def test_refusals_before_greylisting(self):
        """A recipient refused by the relay check gets that refusal, and
        leaves nothing in the store."""
        r, err = self.session("192.0.2.10", rcpts=("x@far.test",))
        self.assertEqual(len(r), 1)
        self.assertTrue(r[0].startswith("553"), r)
        self.assertEqual(self.stamps(), [])

    def test_off(self):
        """No control/greylist or 0: nothing greylisted, nothing stored."""
        self.inst.control("greylist", "0\n")
        self.assertPass(self.session("192.0.2.10")[0])
        self.inst.control("greylist", None)
        self.assertPass(self.session("192.0.2.10")[0])
        self.assertEqual(self.stamps(), [])

    def test_env_and_trusted_skip(self):
        """RELAYCLIENT, NOGREYLIST, GREYLIST=0 skip it; GREYLIST=1 does not."""
        for env in ({"RELAYCLIENT": ""}, {"NOGREYLIST": ""}, {"NOGREYLIST": "1"},
                    {"GREYLIST": "0"}):
            with self.subTest(env=env):
                self.assertPass(self.session("192.0.2.10", env=env)[0])
        self.assertEqual(self.stamps(), [])
        self.assertGrey(self.session("192.0.2.10", env={"GREYLIST": "1"})[0])

    def test_auth_skips(self):
        """An authenticated client is not greylisted."""
        pw = os.path.join(self.inst.etc, "smtppasswd")
        crypt = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=b"pw",
                               capture_output=True, check=True, timeout=30).stdout.decode().strip()
        self.inst.write(pw, "joe@example.test:%s\n" % crypt, mode=0o600)
        self.inst.control("authplaintext", "1\n")
        argv = [os.path.join(self.inst.bin, "qmail-smtpd"),
                os.path.join(self.inst.bin, "qmail-checkpassword"), "-f", pw, "true"]
        pre = b"AUTH PLAIN " + b64("\0joe@example.test\0pw").encode() + b"\r\n"
        r, err = self.session("192.0.2.10", pre=pre, argv=argv)
        self.assertPass(r)
        self.assertEqual(self.stamps(), [])
        # the wrong password: not authenticated, greylisted
        pre = b"AUTH PLAIN " + b64("\0joe@example.test\0bad").encode() + b"\r\n"
        r, err = self.session("192.0.2.10", pre=pre, argv=argv)
        self.assertGrey(r)

    def test_auto_allowed_client(self):
        """A network that passed greylistclients times skips it."""
        self.inst.control("greylistclients", "2\n")
        for i in range(2):
            rc = ("n%d@example.test" % i,)
            self.assertGrey(self.session("203.0.113.5", rcpts=rc)[0])
            self.age_all(DELAY)
            self.assertPass(self.session("203.0.113.5", rcpts=rc)[0])
        r, err = self.session("203.0.113.77", sender="new@far.test", rcpts=("z@example.test",))
        self.assertPass(r)
        self.assertEqual(self.stamps(""), [])

    def test_hostile_input_stays_inside(self):
        """Path tricks in TCPREMOTEIP, the sender and the recipient make
        only hex names inside the store."""
        hostile = [("../../../tmp", "\"a/../../x\"@far.test", "u@example.test"),
                   ("1.2.3.4/..", "\"../..\"@far.test", "\"../../u\"@example.test"),
                   ("unknown", "\"/etc/passwd\"@far.test", "u/.x@example.test")]
        for ip, sender, rcpt in hostile:
            r, err = self.session(ip, sender=sender, rcpts=(rcpt,))
            self.assertGrey(r)
            self.assertNotIn("warning", err)
        names = self.stamps()
        self.assertEqual(len(names), len(hostile))
        for n in names:
            self.assertTrue(n.startswith(self.store + os.sep))
            self.assertRegex(os.path.basename(n), r"^[0-9a-f]{64}$")
        self.assertEqual(sorted(os.listdir(os.path.dirname(self.store))).count("greylist"), 1)

    def test_store_trouble_fails_open(self):
        """A store qmail-smtpd cannot write: the mail is accepted, and a
        warning with the IP says why."""
        os.chmod(self.store, 0o500)
        if qng.IS_ROOT:
            os.chown(self.store, self.inst.uid, self.inst.gid)
        r, err = self.session("192.0.2.10")
        self.assertPass(r)
        self.assertRegex(err, r"warning: greylist: unable to .* in users/greylist: "
                              r"Permission denied; accepting without greylisting "
                              r"ip=192\.0\.2\.10")
        # gone altogether: the same
        os.chmod(self.store, 0o700)
        os.rename(self.store, self.store + ".away")
        r, err = self.session("192.0.2.11")
        self.assertPass(r)
        self.assertIn("accepting without greylisting ip=192.0.2.11", err)

    def test_bad_control(self):
        """control/greylist that is not a number: qmail's 421 for
        unreadable controls, never a 5xx."""
        self.inst.control("greylist", "five minutes\n")
        out, err, rc = self.inst.smtpd_pipe(b"QUIT\r\n", env={"TCPREMOTEIP": "192.0.2.10"})
        self.assertTrue(out.startswith(b"421 "), out)

    def test_showctl(self):
        """qmail-showctl shows the four files, set or by default."""
        self.inst.control("greylistclients", "0\n")
        r = self.inst.run("qmail-showctl")
        self.assertEqual(r.returncode, 0)
        text = r.stdout.decode()
        self.assertIn("greylist: 300", text)
        self.assertIn("greylistwindow: (default) 172800", text)
        self.assertIn("greylistmaxage: (default) 3024000", text)
        self.assertIn("greylistclients: 0", text)


class TestGreylistWorkers(GreylistCase):
    def test_workers(self):
        """tcpserver -W: one worker serves every session; a trusted
        client's skip and a greylisted client's verdict never leak into
        the next session."""
        rules = ('127.0.0.2:allow,RELAYCLIENT=""\n'
                 '127.0.0.5:allow,NOGREYLIST=""\n'
                 ':allow\n')
        port = self.inst.start_smtpd(rules=rules, tcpserver_args=("-W", "1"))

        def rcpt(src, to="u@example.test"):
            s = smtplib.SMTP("127.0.0.1", port, timeout=20, source_address=(src, 0))
            try:
                s.ehlo("client.test")
                self.assertEqual(s.mail("joe@far.test")[0], 250)
                code, msg = s.rcpt(to)
                return code, msg.decode()
            finally:
                s.quit()

        self.assertEqual(rcpt("127.0.0.2")[0], 250)     # trusted
        code, msg = rcpt("127.0.0.3")                   # same worker, not trusted
        self.assertEqual(code, 451)
        self.assertIn("greylisted", msg)
        self.assertEqual(rcpt("127.0.0.5", "w@example.test")[0], 250)  # NOGREYLIST
        self.assertEqual(rcpt("127.0.0.4", "w@example.test")[0], 451)
        self.age_all(DELAY)
        self.assertEqual(rcpt("127.0.0.4")[0], 250)     # the /24's retry
        self.assertEqual(rcpt("127.0.0.3", "w@example.test")[0], 250)
        log = self.inst.log("smtpd.log")
        self.assertIn("reject ip=127.0.0.3 reason=greylist code=451", log)
        self.assertNotIn("reject ip=127.0.0.2", log)
        self.assertNotIn("reject ip=127.0.0.5", log)


if __name__ == "__main__":
    unittest.main()
