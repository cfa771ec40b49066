# SPDX-License-Identifier: ISC
"""Rate limits and send quotas in qmail-smtpd (issue 13 §3, DESIGN §4.2):
connections, messages and recipients per client IP, per /24 and /64, and
per AUTH user and domain, counted in the shared store
users/ratelimit/rate.db and shown and reset by qmail-rate.

Time is simulated, never slept: age() moves every window of a period in
the store back, as if that many windows had passed (the store's layout is
doc/qmail-rate.8's; a test writing into it is also "someone scribbling on
the file", which the store must survive).  Clients connect from chosen
loopback sources (127.0.0.x, ::1) through tcpserver, or run qmail-smtpd
on a pipe with TCPREMOTEIP set as tcpserver would."""
import mmap
import os
import re
import smtplib
import socket
import struct
import subprocess
import time
import unittest

import qng
from test_smtpd import SmtpdCase

PASSWORD = "s3cret pass"
CONN = "421 too many connections from your address, try again later (#4.7.0)"
MSGS = "451 4.7.1 too many messages from your address, try again later (#4.7.1)"
RCPTS = "451 4.7.1 too many recipients from your address, try again later (#4.7.1)"
QUOTA_MSGS = ("451 4.7.1 sending quota exceeded: too many messages, try again later "
              "(#4.7.1)")
QUOTA_RCPTS = ("451 4.7.1 sending quota exceeded: too many recipients, try again later "
               "(#4.7.1)")
PERIODS = {"min": 60, "hour": 3600, "day": 86400}

# the store's layout (src/lib/ratestore.h): a 4096-byte header, then
# 512-byte slots: tag, hash, used (u64), cnt[9], prev[9] (u64: window << 32
# | count), told[9] (u32), keylen (u32), key
HDR, SLOT, NCNT = 4096, 512, 9


def age(path, per, windows=2):
    """Move every counter of period per ("min", "hour", "day") windows
    windows into the past: for the limits, that much time has gone by."""
    idx = ["min", "hour", "day"].index(per)
    with open(path, "r+b") as f:
        m = mmap.mmap(f.fileno(), 0)
        try:
            for base in range(HDR, len(m), SLOT):
                if struct.unpack_from("<Q", m, base)[0] != 1:
                    continue
                for c in range(idx, NCNT, 3):
                    for off in (24 + 8 * c, 96 + 8 * c):
                        w = struct.unpack_from("<Q", m, base + off)[0]
                        if w >> 32:
                            struct.pack_into("<Q", m, base + off,
                                             (((w >> 32) - windows) << 32) | (w & 0xffffffff))
                    t = struct.unpack_from("<I", m, base + 168 + 4 * c)[0]
                    if t:
                        struct.pack_into("<I", m, base + 168 + 4 * c, max(1, t - windows))
        finally:
            m.close()


def greet_from(port, src, host="127.0.0.1"):
    """Connect from source address src; the first reply line, and whether
    the server closed the connection right after it."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.bind((src, 0))
        s.connect((host, port))
        f = s.makefile("rb")
        line = f.readline().decode().rstrip("\r\n")
        closed = False
        if line.startswith("421"):
            closed = f.readline() == b""
        else:
            s.sendall(b"QUIT\r\n")
            f.readline()
        f.close()
        return line, closed
    finally:
        s.close()


class RateCase(SmtpdCase):
    me = "test.local"

    def setUp(self):
        super().setUp()
        self.db = self.inst.path("users", "ratelimit", "rate.db")

    def limits(self, text):
        self.inst.control("ratelimits", text)

    def rate(self, *args):
        pre = self.inst.as_owner()
        r = subprocess.run([os.path.join(self.inst.bin, "qmail-rate")] + list(args),
                           env=self.inst.env, capture_output=True, timeout=30,
                           preexec_fn=pre)
        return r.stdout.decode(), r.stderr.decode(), r.returncode

    def session(self, cmds, ip="127.0.0.1", env=None):
        """One pipe session: EHLO, then cmds; the reply lines after the
        EHLO's, and stderr."""
        e = {"TCPREMOTEIP": ip}
        e.update(env or {})
        data = "EHLO c.example\r\n" + "".join(c + "\r\n" for c in cmds) + "QUIT\r\n"
        lines, err, rc = self.pipe(data, env=e)
        i = next(k for k, l in enumerate(lines) if l.startswith("250 "))
        # replies after the EHLO's last line, QUIT's dropped
        return lines[i + 1:-1] if lines[-1].startswith("221") else lines[i + 1:], err

    def mails(self, n, rcpts=1, ip="127.0.0.1", env=None, sender="a@b.example"):
        cmds = []
        for i in range(n):
            cmds.append("MAIL FROM:<%s>" % sender)
            cmds += ["RCPT TO:<r%d@example.test>" % k for k in range(rcpts)]
            cmds += ["DATA", "Subject: %d\r\n\r\nbody\r\n." % i]
        return self.session(cmds, ip, env)

    def log(self):
        return self.inst.log("smtpd.log")


class TestConnections(RateCase):
    def test_per_ip_exceeded_and_recovered(self):
        """ip:conn/min:3 - the fourth connection of a minute from one
        address gets 421 4.7.0 instead of the greeting and is closed;
        another address is not concerned; a minute later it is greeted."""
        self.limits("ip:conn/min:3\n")
        port = self.inst.start_smtpd()
        for _ in range(3):
            self.assertEqual(greet_from(port, "127.0.0.1")[0], "220 test.local ESMTP")
        self.assertEqual(greet_from(port, "127.0.0.1"), (CONN, True))
        self.assertEqual(greet_from(port, "127.0.0.2")[0], "220 test.local ESMTP")
        log = self.inst.wait_log(r"reason=rateconn", "smtpd.log")
        self.assertEqual(log, ["qmail-smtpd: reject ip=127.0.0.1 reason=rateconn code=421 "
                               "detail=ip:127.0.0.1:conn/min:3"], log)
        self.assertIn("end=ratelimit", self.log())
        out, _, rc = self.rate("show", "ip", "127.0.0.1")
        self.assertEqual((out, rc), ("ip:127.0.0.1 conn/min=3\n", 0))
        age(self.db, "min")
        self.assertEqual(greet_from(port, "127.0.0.1")[0], "220 test.local ESMTP")
        self.assertEqual(self.rate("show", "ip", "127.0.0.1")[0], "ip:127.0.0.1 conn/min=1\n")

    def test_sliding_window_remembers_the_last_minute(self):
        """By default windows slide: one minute later, the last minute's
        connections still weigh in (by what of it is still within 60 s),
        so a client at its limit is not let through a burst at once."""
        self.limits("ip:conn/min:2\n")
        port = self.inst.start_smtpd()
        for _ in range(2):
            self.assertEqual(greet_from(port, "127.0.0.1")[0], "220 test.local ESMTP")
        age(self.db, "min", 1)
        got = [greet_from(port, "127.0.0.1")[0] for _ in range(3)]
        # 2 * (60 - s)/60 of the last minute remain: at most 2 new pass
        self.assertIn(CONN, got)
        # fixed windows forget the last one at once (an hour's, so that
        # the real clock is unlikely to roll one while this runs)
        self.limits("ip:conn/hour:2\nwindow:fixed\n")
        got = [greet_from(port, "127.0.0.5")[0] for _ in range(3)]
        self.assertEqual(got, ["220 test.local ESMTP"] * 2 + [CONN])
        age(self.db, "hour", 1)
        got = [greet_from(port, "127.0.0.5")[0] for _ in range(3)]
        self.assertEqual(got, ["220 test.local ESMTP"] * 2 + [CONN])

    def test_per_net24(self):
        """net:conn/min:4 counts a /24 together: 127.0.0.2-5 pass, .6 is
        refused, 127.0.1.1 (another /24) passes."""
        self.limits("net:conn/min:4\n")
        port = self.inst.start_smtpd(host="127.0.0.1")
        for k in range(2, 6):
            self.assertEqual(greet_from(port, "127.0.0.%d" % k)[0], "220 test.local ESMTP")
        self.assertEqual(greet_from(port, "127.0.0.6"), (CONN, True))
        self.assertEqual(greet_from(port, "127.0.1.1")[0], "220 test.local ESMTP")
        self.assertIn("reject ip=127.0.0.6 reason=rateconn code=421 "
                      "detail=net:127.0.0.0/24:conn/min:4", self.log())
        out, _, rc = self.rate("show", "net")
        self.assertEqual(out, "net:127.0.0.0/24 conn/min=4\nnet:127.0.1.0/24 conn/min=1\n")

    def test_ipv6_loopback_and_64(self):
        """::1 through tcpserver on ::1; /64 networks on a pipe."""
        self.limits("ip:conn/min:1\nnet:msgs/min:2\n")
        try:
            port = self.inst.start_smtpd(host="::1")
        except RuntimeError as e:
            self.skipTest("no IPv6 loopback: %s" % e)
        self.assertEqual(greet_from(port, "::1", "::1")[0], "220 test.local ESMTP")
        self.assertEqual(greet_from(port, "::1", "::1"), (CONN, True))
        self.assertIn("detail=ip:::1:conn/min:1", self.log())
        # two addresses of 2001:db8:1:2::/64 share its limit; another /64 not
        r1, _ = self.mails(1, ip="2001:db8:1:2::5")
        r2, err = self.mails(2, ip="2001:db8:1:2:ffff::6")
        r3, _ = self.mails(1, ip="2001:db8:1:3::5")
        self.assertTrue(r1[0].startswith("250"), r1)
        self.assertTrue(r2[0].startswith("250"), r2)
        self.assertIn(MSGS, r2)
        self.assertTrue(r3[0].startswith("250"), r3)
        self.assertIn("reject ip=2001:db8:1:2:ffff::6 reason=ratemsgs code=451 "
                      "from=<a@b.example> detail=net:2001:db8:1:2::/64:msgs/min:2", err)
        # an IPv4-mapped client counts as its IPv4 address
        self.assertEqual(self.rate("show", "ip", "::ffff:127.0.0.1")[2], 1)


class TestMessagesAndRecipients(RateCase):
    def test_msgs_per_minute(self):
        """ip:msgs/min:2 - the third MAIL of a minute gets 451 4.7.1 and
        nothing of it is queued; a minute later MAIL is taken again."""
        self.limits("ip:msgs/min:2\n")
        replies, err = self.mails(3)
        # (the blind client's RCPT, DATA and message lines then get 503s)
        self.assertEqual(replies.count(MSGS), 1, replies)
        self.assertEqual(len(self.inst.queued()), 2)
        self.assertIn("reject ip=127.0.0.1 reason=ratemsgs code=451 from=<a@b.example> "
                      "detail=ip:127.0.0.1:msgs/min:2", err)
        replies, _ = self.session(["MAIL FROM:<x@y.example>"])
        self.assertEqual(replies, [MSGS])
        age(self.db, "min")
        replies, _ = self.session(["MAIL FROM:<x@y.example>"])
        self.assertEqual(replies, ["250 2.1.0 ok"])

    def test_rcpts_per_minute(self):
        """ip:rcpts/min:3 - the fourth accepted recipient of a minute is
        refused, the message goes with the three; refused recipients are
        not counted."""
        self.limits("ip:rcpts/min:3\n")
        replies, err = self.session(["MAIL FROM:<a@b.example>",
                                     "RCPT TO:<nobody@elsewhere.example>",
                                     "RCPT TO:<r1@example.test>", "RCPT TO:<r2@example.test>",
                                     "RCPT TO:<r3@example.test>", "RCPT TO:<r4@example.test>",
                                     "DATA", "Subject: x\r\n\r\nbody\r\n."])
        self.assertTrue(replies[1].startswith("553"), replies)
        self.assertEqual(replies[2:6], ["250 2.1.5 ok"] * 3 + [RCPTS])
        self.assertEqual(self.inst.queued()[0]["rcpts"],
                         ["r1@example.test", "r2@example.test", "r3@example.test"])
        self.assertIn("reason=ratercpts code=451 from=<a@b.example> rcpt=<r4@example.test> "
                      "detail=ip:127.0.0.1:rcpts/min:3", err)
        age(self.db, "min")
        replies, _ = self.session(["MAIL FROM:<a@b.example>", "RCPT TO:<r5@example.test>"])
        self.assertEqual(replies, ["250 2.1.0 ok", "250 2.1.5 ok"])

    def test_refusal_takes_back_what_the_command_counted(self):
        """net allows more than ip: an ip refusal must not leave the net
        counted (the store holds exactly what was let through)."""
        self.limits("ip:msgs/min:1\nnet:msgs/min:100\n")
        self.mails(3)
        out, _, _ = self.rate("show")
        self.assertEqual(out, "ip:127.0.0.1 msgs/min=1\nnet:127.0.0.0/24 msgs/min=1\n")

    def test_trusted_and_per_rule_environment(self):
        """RELAYCLIENT (trusted) and RATELIMITSKIP skip the ip/net limits;
        $RATELIMIT replaces rules for one tcpserver rule."""
        self.limits("ip:msgs/min:1\n")
        self.assertNotIn(MSGS, self.mails(3, env={"RELAYCLIENT": ""})[0])
        self.assertNotIn(MSGS, self.mails(3, env={"RATELIMITSKIP": ""})[0])
        self.assertEqual(self.rate("show")[0], "")
        r, _ = self.mails(4, ip="127.0.0.9", env={"RATELIMIT": "ip:msgs/min:3,window:sliding"})
        self.assertEqual(r.count(MSGS), 1)
        # empty, as qmail-spp smtp_ratelimit's tcp.smtp lines set it: the file's
        r, _ = self.mails(2, ip="127.0.0.12", env={"RATELIMIT": ""})
        self.assertEqual(r.count(MSGS), 1)
        r, err = self.mails(2, ip="127.0.0.10", env={"RATELIMIT": "ip:msgs/min:0 bogus:x:1"})
        self.assertNotIn(MSGS, r)
        self.assertIn('warning: ratelimit: ignoring $RATELIMIT rule "bogus:x:1"', err)
        # one address's own rule in the file
        self.limits("ip:msgs/min:1\nip:127.0.0.11:msgs/min:5\n")
        self.assertNotIn(MSGS, self.mails(5, ip="127.0.0.11")[0])
        # and a network's, named as qmail-rate shows it (fuzz_ratelimit
        # found "/24" names refused)
        self.limits("net:msgs/min:1\nnet:192.0.2.0/24:msgs/min:3\n")
        r, err = self.mails(4, ip="192.0.2.9")
        self.assertEqual(r.count(MSGS), 1, err)
        self.assertIn("detail=net:192.0.2.0/24:msgs/min:3", err)
        self.assertNotIn("ignoring", err)


class AuthRateCase(RateCase):
    def setUp(self):
        super().setUp()
        self.pwfile = os.path.join(self.inst.etc, "smtppasswd")
        self.inst.write(self.pwfile, "".join(
            "%s:{PLAIN}%s\n" % (u, PASSWORD) for u in
            ("joe@example.test", "ann@example.test", "bob@other.test", "eve@other.test")),
            mode=0o600)
        self.inst.control("authplaintext", "1\n")
        self.argv = [os.path.join(self.inst.bin, "qmail-smtpd"),
                     os.path.join(self.inst.bin, "qmail-checkpassword"), "-f", self.pwfile,
                     "true"]

    def auth_pipe(self, user, cmds, ip="127.0.0.1", env=None):
        import base64
        e = dict(self.inst.env)
        e.update({"TCPREMOTEIP": ip, "TCPLOCALHOST": self.me})
        e.update(env or {})
        tok = base64.b64encode(("\0%s\0%s" % (user, PASSWORD)).encode()).decode()
        data = "EHLO c\r\nAUTH PLAIN %s\r\n" % tok + "".join(c + "\r\n" for c in cmds) \
            + "QUIT\r\n"
        r = subprocess.run(self.argv, input=data.encode(), env=e, capture_output=True,
                           timeout=60, preexec_fn=self.inst.as_owner(), cwd=self.inst.tmp)
        lines = r.stdout.decode(errors="replace").split("\r\n")[:-1]
        i = next(k for k, l in enumerate(lines) if l.startswith("235"))
        return lines[i + 1:-1], r.stderr.decode(errors="replace")

    def send(self, user, n, rcpts=1, **kw):
        cmds = []
        for i in range(n):
            cmds.append("MAIL FROM:<%s>" % user)
            cmds += ["RCPT TO:<r%d@remote.example>" % k for k in range(rcpts)]
            cmds += ["DATA", "Subject: %d\r\n\r\nbody\r\n." % i]
        return self.auth_pipe(user, cmds, **kw)

    def from_(self, user):
        return [m for m in self.inst.queued() if m["sender"] == user]

    def notices(self):
        return [m for m in self.inst.queued() if m["sender"] == ""
                and m["rcpts"] == ["postmaster@%s" % self.me]]


class TestSendQuotas(AuthRateCase):
    def test_user_and_domain_quota(self):
        """user:msgs/hour:3, domain:msgs/hour:5, and bob's own 6: joe's
        fourth message is refused (sending quota exceeded); ann's third
        hits example.test's 5; bob sends 6 (other.test has no limit)."""
        self.limits("user:msgs/hour:3\ndomain:msgs/hour:5\n"
                    "user:bob@other.test:msgs/hour:6\ndomain:OTHER.test:msgs/hour:0\n")
        r, err = self.send("joe@example.test", 4)
        self.assertEqual(r.count(QUOTA_MSGS), 1, r)
        self.assertIn("reject ip=127.0.0.1 reason=quotamsgs code=451 from=<joe@example.test> "
                      "detail=user:joe@example.test:msgs/hour:3", err)
        r, err = self.send("ann@example.test", 3)
        self.assertEqual(r.count(QUOTA_MSGS), 1, r)
        self.assertIn("detail=domain:example.test:msgs/hour:5", err)
        r, _ = self.send("bob@other.test", 7)
        self.assertEqual(r.count(QUOTA_MSGS), 1, r)
        self.assertEqual([len(self.from_(u)) for u in
                          ("joe@example.test", "ann@example.test", "bob@other.test")],
                         [3, 2, 6])
        out, _, _ = self.rate("show", "domain")
        # other.test has no limit: nothing of it is counted
        self.assertEqual(out, "domain:example.test msgs/hour=5\n")
        # an hour on (sliding: two), joe sends again
        age(self.db, "hour")
        r, _ = self.send("joe@example.test", 1)
        self.assertNotIn(QUOTA_MSGS, r)

    def test_long_and_8bit_names_keep_their_own_quota(self):
        """A name too long for a store key is counted under a hashed key,
        not let through unlimited; names that differ only in 8-bit bytes
        never share a key (they used to become the same '?'s)."""
        long_user = "l" * 400 + "@example.test"
        u1, u2 = "jos\u00e9@example.test", "jos\u00e8@example.test"
        # qmail-checkpassword takes no name over 255 bytes; a
        # checkpassword program that takes any name (vchkpw and others
        # have their own limits) shows what qmail-smtpd does with them
        cp = os.path.join(self.inst.tmp, "anyone")
        self.inst.write(cp, "#!/bin/sh\ncat <&3 >/dev/null\nexec \"$@\"\n", mode=0o755)
        self.argv = [os.path.join(self.inst.bin, "qmail-smtpd"), cp, "true"]
        self.limits("user:msgs/hour:2\n")

        def mails(user, n):
            cmds = []
            for i in range(n):
                cmds += ["MAIL FROM:<sender@example.test>", "RCPT TO:<r@remote.example>",
                         "DATA", "Subject: %d\r\n\r\nbody\r\n." % i]
            return self.auth_pipe(user, cmds)

        r, err = mails(long_user, 3)
        self.assertEqual(r.count(QUOTA_MSGS), 1, (r, err))
        self.assertNotIn("unable to count", err)
        r, _ = mails(u1, 2)
        self.assertNotIn(QUOTA_MSGS, r)
        r, _ = mails(u2, 2)
        self.assertNotIn(QUOTA_MSGS, r)
        self.assertIn(QUOTA_MSGS, mails(u1, 1)[0])
        out, _, _ = self.rate("show", "user")
        self.assertIn("user:jos%c3%a9@example.test msgs/hour=2\n", out)
        self.assertIn("user:jos%c3%a8@example.test msgs/hour=2\n", out)

    def test_recipient_quota_and_daily(self):
        self.limits("user:rcpts/hour:5\nuser:msgs/day:2\n")
        r, err = self.send("joe@example.test", 1, rcpts=7)
        self.assertEqual(r.count("250 2.1.5 ok"), 5)
        self.assertEqual(r.count(QUOTA_RCPTS), 2)
        self.assertIn("detail=user:joe@example.test:rcpts/hour:5", err)
        age(self.db, "hour")
        r, err = self.send("joe@example.test", 2)
        self.assertIn(QUOTA_MSGS, r)
        self.assertIn("detail=user:joe@example.test:msgs/day:2", err)
        # the day is the day: an hour's ageing does not give it back
        age(self.db, "hour")
        self.assertIn(QUOTA_MSGS, self.send("joe@example.test", 1)[0])
        self.assertEqual(self.rate("reset", "user", "JOE@example.test"),
                         ("reset user:joe@example.test\n", "", 0))
        self.assertNotIn(QUOTA_MSGS, self.send("joe@example.test", 1)[0])

    def test_trusted_ip_does_not_lift_a_quota(self):
        """RELAYCLIENT and RATELIMITSKIP lift ip limits, never a user's
        quota; an authenticated session is not held to its IP's message
        limit (an office behind one address)."""
        self.limits("user:msgs/hour:2\nip:msgs/min:1\n")
        r, _ = self.send("joe@example.test", 3, env={"RELAYCLIENT": "", "RATELIMITSKIP": ""})
        self.assertEqual(r.count(QUOTA_MSGS), 1)
        r, _ = self.send("ann@example.test", 2)
        self.assertNotIn(MSGS, r)
        self.assertNotIn(QUOTA_MSGS, r)

    def test_admin_told_once(self):
        """Many refusals in one window, from several sessions: one log
        line and one mail to the postmaster per quota and window."""
        self.limits("user:msgs/hour:1\n")
        for _ in range(3):
            self.send("joe@example.test", 3)
        told = [l for l in self.log_all() if "quota reached" in l]
        self.assertEqual(told, ["qmail-smtpd: ratelimit: quota reached "
                                "key=user:joe@example.test counter=msgs/hour limit=1 "
                                "ip=127.0.0.1: postmaster told"], told)
        n = self.notices()
        self.assertEqual(len(n), 1)
        body = n[0]["mess"].decode()
        self.assertIn("Subject: sending quota reached: user:joe@example.test msgs/hour\n",
                      body)
        self.assertIn("To: postmaster@test.local\n", body)
        self.assertIn("qmail-rate show user joe@example.test", body)
        # the next window tells again
        age(self.db, "hour")
        self.send("joe@example.test", 3)
        self.assertEqual(len(self.notices()), 2)

    def log_all(self):
        return self._err.splitlines()

    def send(self, user, n, rcpts=1, **kw):  # noqa: F811 - keeps stderr
        r, err = super().send(user, n, rcpts, **kw)
        self._err = getattr(self, "_err", "") + err
        return r, err

    def test_postmaster_mailbox(self):
        """The notice is delivered to the postmaster's mailbox by the real
        qmail-send (alias/.qmail-postmaster), once."""
        self.limits("user:msgs/hour:1\n")
        md = self.inst.path("alias", "Maildir")
        self.assertEqual(self.inst.run("maildirmake", md).returncode, 0)
        if qng.IS_ROOT:
            for root, dirs, files in os.walk(md):
                os.chown(root, self.inst.uid, self.inst.gid)
        self.inst.write(self.inst.path("alias", ".qmail-postmaster"), "./Maildir/\n")
        self.inst.control("locals", "test.local\n")
        self.send("joe@example.test", 3)
        self.send("joe@example.test", 2)
        self.inst.start_send()
        new = os.path.join(md, "new")
        got = qng.wait_for(lambda: os.listdir(new), 20, what="the notice in " + new)
        time.sleep(0.5)  # not a window: would a second notice follow?
        got = os.listdir(new)
        self.assertEqual(len(got), 1)
        with open(os.path.join(new, got[0]), "rb") as f:
            m = f.read().decode()
        self.assertIn("Subject: sending quota reached: user:joe@example.test msgs/hour", m)
        self.assertIn("the sending quota msgs/hour (limit 1) of user:joe@example.test", m)


class TestFreshInstall(AuthRateCase):
    def test_defaults(self):
        """A tree qmail-setup made: send quotas for AUTH users, nothing per
        address (its own tests from 127.0.0.1 are never refused)."""
        with open(self.inst.path("control", "ratelimits")) as f:
            rules = [l for l in f.read().splitlines() if l and not l.startswith("#")]
        self.assertEqual(rules, ["user:msgs/hour:500", "user:msgs/day:2000",
                                 "user:rcpts/hour:1000", "user:rcpts/day:5000"])
        r, _ = self.mails(40, rcpts=3)
        self.assertEqual(len(self.inst.queued()), 40)
        self.assertFalse(os.path.exists(self.db))  # nothing to count
        self.send("joe@example.test", 2, rcpts=2)
        self.assertEqual(self.rate("show")[0], "user:joe@example.test msgs/hour=2 msgs/day=2 "
                                               "rcpts/hour=4 rcpts/day=4\n")
        out = subprocess.run([os.path.join(self.inst.bin, "qmail-showctl")], env=self.inst.env,
                             capture_output=True, timeout=30).stdout.decode()
        self.assertIn("ratelimits", out)


class TestStolenPassword(AuthRateCase):
    def test_ten_thousand_messages(self):
        """joe's password is stolen: 10,000 messages are tried through
        tcpserver, many per connection; after its quota every one is
        451 and not queued, while ann, sending between them, is never
        refused.  Bounded time: the refusals are cheap."""
        # a daily quota: the test runs in real time, and a day is
        # unlikely to end during it
        self.limits("user:msgs/day:50\ndomain:msgs/day:100000\n")
        port = self.inst.start_smtpd(smtpd_argv=self.argv)
        t0 = time.monotonic()
        tried = refused = queued = ann_ok = 0
        c = None
        while tried < 10000:
            if c is None:
                c = smtplib.SMTP("127.0.0.1", port, timeout=30)
                c.ehlo("bot")
                c.login("joe@example.test", PASSWORD)
            try:
                c.sendmail("joe@example.test", ["victim%d@remote.example" % tried],
                           b"Subject: buy\r\n\r\nspam\r\n")
                queued += 1
            except smtplib.SMTPSenderRefused as e:
                self.assertEqual((e.smtp_code, e.smtp_error.decode()),
                                 (451, QUOTA_MSGS[4:]))
                refused += 1
            except smtplib.SMTPServerDisconnected:
                c = None  # too many errors: the session ended; reconnect
                continue
            tried += 1
            if tried % 1000 == 0:
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as a:
                    a.ehlo("office")
                    a.login("ann@example.test", PASSWORD)
                    a.sendmail("ann@example.test", ["friend@remote.example"],
                               b"Subject: hi\r\n\r\nhello\r\n")
                    ann_ok += 1
        if c is not None:
            try:
                c.quit()
            except smtplib.SMTPException:
                pass
        elapsed = time.monotonic() - t0
        self.assertEqual((queued, refused, ann_ok), (50, 9950, 10))
        self.assertEqual(len(self.from_("joe@example.test")), 50)
        self.assertEqual(len(self.from_("ann@example.test")), 10)
        self.assertEqual(len(self.notices()), 1)
        self.assertEqual(self.inst.log().count("quota reached"), 1)
        self.assertLess(elapsed, 300, "10,000 tries took %.0f s" % elapsed)
        out, _, _ = self.rate("show", "user", "joe@example.test")
        self.assertEqual(out, "user:joe@example.test msgs/day=50\n")


class TestWorkers(RateCase):
    def test_worker_sessions_share_the_store(self):
        """tcpserver -W: sessions in the same and in different worker
        processes count together; a control/ratelimits change applies to
        the next session."""
        self.limits("ip:msgs/min:3\n")
        port = self.inst.start_smtpd(tcpserver_args=("-W", "2"))
        got = []
        for _ in range(5):
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
                c.ehlo("w")
                got.append(c.docmd("MAIL FROM:<a@b.example>")[0])
        self.assertEqual(got, [250, 250, 250, 451, 451])
        self.limits("ip:msgs/min:10\n")
        time.sleep(0.2)  # not a window: the worker's inotify needs a moment
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
            c.ehlo("w")
            self.assertEqual(c.docmd("MAIL FROM:<a@b.example>")[0], 250)
        self.assertIn("ip:127.0.0.1 msgs/min=4", self.rate("show")[0])
        # the store removed (an admin's reset): the workers map the new one
        os.unlink(self.db)
        for _ in range(3):
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
                c.ehlo("w")
                self.assertEqual(c.docmd("MAIL FROM:<a@b.example>")[0], 250)
        self.assertEqual(self.rate("show")[0], "ip:127.0.0.1 msgs/min=3\n")


class TestTrouble(RateCase):
    def test_corrupt_store_replaced(self):
        self.limits("ip:msgs/min:1\n")
        self.inst.write(self.db, b"\xff" * 10000, mode=0o600)
        out, err, rc = self.rate("show")
        self.assertEqual(rc, 111)
        self.assertIn("is not a valid store", err)
        r, err = self.mails(2)
        self.assertIn(MSGS, r)
        self.assertIn("warning: ratelimit: users/ratelimit/rate.db was not a valid store: "
                      "replaced by an empty one ip=127.0.0.1", err)
        self.assertEqual(self.rate("show")[0], "ip:127.0.0.1 msgs/min=1\n")

    def test_unusable_store_fails_open(self):
        """A store that cannot be opened: every message taken, one
        warning per session saying the limits are not enforced."""
        self.limits("ip:msgs/min:1\nip:rcpts/min:1\n")
        os.mkdir(self.db)
        r, err = self.mails(3, rcpts=2)
        self.assertNotIn(MSGS, r)
        self.assertEqual(len(self.inst.queued()), 3)
        self.assertEqual(err.count("warning: ratelimit: unable to open "
                                   "users/ratelimit/rate.db: Is a directory: limits not "
                                   "enforced ip=127.0.0.1"), 1, err)

    def test_full_store_fails_open(self):
        """Every slot of the table held by a live key: new keys are not
        counted (a warning), old ones still are."""
        self.limits("ip:msgs/min:1\n")
        self.mails(1)
        # fill every slot with a live, current key (as busy clients would)
        with open(self.db, "r+b") as f:
            m = mmap.mmap(f.fileno(), 0)
            src = m[HDR:HDR + SLOT]
            n = (len(m) - HDR) // SLOT
            used = [k for k in range(n) if struct.unpack_from("<Q", m, HDR + k * SLOT)[0]]
            for k in range(n):
                if k not in used:
                    slot = bytearray(m[HDR + used[0] * SLOT:HDR + (used[0] + 1) * SLOT])
                    struct.pack_into("<Q", slot, 8, k + 12345)  # another hash
                    m[HDR + k * SLOT:HDR + (k + 1) * SLOT] = bytes(slot)
            m.close()
        self.assertTrue(src)
        r, err = self.mails(2, ip="127.0.0.77")
        self.assertNotIn(MSGS, r)
        self.assertIn("warning: ratelimit: unable to count ip:127.0.0.77: the store is "
                      "full: not limited ip=127.0.0.77", err)
        self.assertIn(MSGS, self.mails(1)[0])

    def test_hostile_rules(self):
        """Bad lines are logged and skipped; the good ones apply."""
        self.limits("# a comment\n\n"
                    "ip:msgs/min:2\n"
                    "ip:msgs/min:99999999999999999999\n"
                    "ipx:msgs/min:1\n"
                    "ip:msgs/week:1\n"
                    "user:conn/min:5\n"
                    "ip:../../etc/passwd:msgs/min:1\n"
                    "net:127.0.0.0/16:msgs/min:1\n"
                    "user:\x1b[2Jx@y:msgs/min:1\n"
                    "ip:msgs/min:-1\n"
                    "window:sideways\n"
                    + "user:" + "a" * 5000 + "@x:msgs/day:1\n")
        r, err = self.mails(3)
        self.assertEqual(r.count(MSGS), 1)
        warnings = [l for l in err.splitlines() if "ratelimit: ignoring" in l]
        self.assertEqual(len(warnings), 10, err)
        self.assertTrue(all(len(l) < 400 for l in warnings))
        self.assertNotIn("\x1b", err)
        self.assertIn("a network is the /24 (IPv4) or /64 (IPv6) of an address", err)
        self.assertIn("connections come before AUTH", err)


class TestTool(RateCase):
    def test_show_reset_and_exit_codes(self):
        self.limits("ip:msgs/min:10\nnet:rcpts/min:10\n")
        self.assertEqual(self.rate(), ("", "", 0))  # no store yet
        self.mails(2, ip="127.0.0.3")
        self.mails(1, rcpts=2, ip="127.0.0.2")
        out, err, rc = self.rate()
        self.assertEqual(out, "ip:127.0.0.2 msgs/min=1\n"
                              "ip:127.0.0.3 msgs/min=2\n"
                              "net:127.0.0.0/24 rcpts/min=4\n")
        self.assertEqual(self.rate("show", "ip")[0],
                         "ip:127.0.0.2 msgs/min=1\nip:127.0.0.3 msgs/min=2\n")
        self.assertEqual(self.rate("show", "net", "127.0.0.200")[0],
                         "net:127.0.0.0/24 rcpts/min=4\n")
        self.assertEqual(self.rate("show", "ip", "127.0.0.99")[2], 1)
        self.assertEqual(self.rate("reset", "ip", "127.0.0.3"),
                         ("reset ip:127.0.0.3\n", "", 0))
        self.assertEqual(self.rate("show", "ip", "127.0.0.3"), ("ip:127.0.0.3\n", "", 0))
        self.assertEqual(self.rate("reset", "-a")[0], "reset all\n")
        self.assertEqual(self.rate()[0], "")
        for bad in (["frobnicate"], ["show", "host"], ["reset", "ip"],
                    ["show", "ip", "../../etc/passwd"], ["show", "ip", "1" * 5000],
                    ["reset", "ip", "1.2.3.4", "extra"]):
            out, err, rc = self.rate(*bad)
            self.assertEqual(rc, 100, (bad, out, err))
            self.assertEqual(out, "")

    def test_while_smtpd_counts(self):
        """qmail-rate reads and resets while sessions in several worker
        processes count: every line it prints is whole, and after the
        last session the counts are exact."""
        import threading
        # daily counters: a minute could roll while the clients run
        self.limits("ip:msgs/day:100000\nnet:rcpts/day:100000\n")
        port = self.inst.start_smtpd(tcpserver_args=("-W", "3"))
        errors = []

        def client(src, n):
            try:
                for _ in range(n):
                    with smtplib.SMTP("127.0.0.1", port, timeout=30,
                                      source_address=(src, 0)) as c:
                        c.ehlo("w")
                        c.docmd("MAIL FROM:<a@b.example>")
                        c.docmd("RCPT TO:<r@example.test>")
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
        threads = [threading.Thread(target=client, args=("127.0.0.%d" % k, 30))
                   for k in (2, 3, 4)]
        for t in threads:
            t.start()
        line = re.compile(r"^(ip|net):[0-9.]+(/24)?( (msgs|rcpts)/day=\d+)+$")
        shown = 0
        while any(t.is_alive() for t in threads):
            out, err, rc = self.rate("show")
            self.assertEqual((rc, err), (0, ""))
            for l in out.splitlines():
                self.assertRegex(l, line)
                shown += 1
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertGreater(shown, 0)
        self.assertEqual(self.rate("show")[0],
                         "ip:127.0.0.2 msgs/day=30\nip:127.0.0.3 msgs/day=30\n"
                         "ip:127.0.0.4 msgs/day=30\nnet:127.0.0.0/24 rcpts/day=90\n")
        self.assertEqual(self.rate("reset", "-a")[0], "reset all\n")
        self.assertEqual(self.rate("show")[0], "")


if __name__ == "__main__":
    unittest.main()
