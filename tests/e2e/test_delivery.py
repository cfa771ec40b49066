# SPDX-License-Identifier: ISC
"""Mail end to end through the real programs: SMTP or sendmail in,
qmail-queue, qmail-send, qmail-lspawn, qmail-local, a Maildir out; bounces
and double bounces delivered to local mailboxes; the log through
multilog; and a crash loop (kill -9 of qmail-send, qmail-local and the
logger while a thousand messages flow) that loses nothing."""
import glob
import os
import random
import re
import signal
import smtplib
import subprocess
import threading
import time
import unittest

import qng


def mailbox_instance():
    """An instance where example.test is local, box@example.test has a
    Maildir and postmaster (the alias user) has one too."""
    inst = qng.Instance(me="mx.test", rcpthosts=["example.test"],
                        locals_=["mx.test", "example.test"])
    mail = os.path.join(inst.tmp, "mail")
    for d in [mail, os.path.join(mail, "box")]:
        os.mkdir(d)
        os.chmod(d, 0o755)
        if qng.IS_ROOT:
            os.chown(d, inst.uid, inst.gid)
    for md in [os.path.join(mail, "box", "Maildir"), inst.path("alias", "Maildir")]:
        r = inst.run("maildirmake", md)
        assert r.returncode == 0, r.stderr
        if qng.IS_ROOT:
            for root, dirs, files in os.walk(md):
                os.chown(root, inst.uid, inst.gid)
    home = os.path.join(mail, "box")
    inst.write(inst.path("users", "assign"), "=box:box:%d:%d:%s:::\n+box-:box:%d:%d:%s:-::\n.\n" % (
        inst.uid, inst.gid, home, inst.uid, inst.gid, home))
    # box-anything@ lands in the same Maildir (extensions need a -default)
    inst.write(os.path.join(home, ".qmail-default"), "./Maildir/\n")
    r = inst.run("qmail-newu")
    assert r.returncode == 0, r.stderr
    inst.write(inst.path("alias", ".qmail-postmaster"), "./Maildir/\n")
    inst.maildir = os.path.join(mail, "box", "Maildir")
    return inst


def maildir_messages(md):
    out = []
    for f in sorted(glob.glob(os.path.join(md, "new", "*"))):
        with open(f, "rb") as fh:
            out.append(fh.read())
    return out


class DeliveryTest(unittest.TestCase):
    def setUp(self):
        self.inst = mailbox_instance()
        self.addCleanup(self.inst.cleanup)
        self.inst.start_send()
        self.inst.wait_log(r"^status: local 0/10 remote 0/20$")

    def wait_mail(self, md, n=1, timeout=20):
        return qng.wait_for(lambda: len(maildir_messages(md)) >= n and maildir_messages(md),
                            timeout, what="%d message(s) in %s; log:\n%s" % (
                                n, md, self.inst.log("send.log")[-2000:]))

    def test_smtp_to_maildir_byte_exact(self):
        port = self.inst.start_smtpd()
        body = ("From: sender@x.test\r\nTo: box@example.test\r\nSubject: exact\r\n\r\n"
                "line one\r\n..a dot-stuffed line\r\nlast line\r\n")
        d = qng.Dialog(port)
        self.addCleanup(d.close)
        d.cmd("HELO client.test")
        d.cmd("MAIL FROM:<sender@x.test>")
        self.assertEqual(d.cmd("RCPT TO:<box@example.test>")[0], "250 ok")
        self.assertEqual(d.cmd("DATA")[0], "354 go ahead")
        reply = d.cmd(body + ".")[0]
        qp = re.match(r"^250 ok \d+ qp (\d+)$", reply).group(1)
        d.cmd("QUIT")
        got = self.wait_mail(self.inst.maildir)[0].decode()
        want = re.compile(
            r"\AReturn-Path: <sender@x\.test>\n"
            r"Delivered-To: box@example\.test\n"
            r"Received: \(qmail %s invoked from network\); \d+ \w{3} \d{4} \d\d:\d\d:\d\d -0000\n"
            r"Received: from unknown \(HELO client\.test\) \(127\.0\.0\.1\)\n"
            r"  by \S+ with SMTP; \d+ \w{3} \d{4} \d\d:\d\d:\d\d -0000\n"
            r"From: sender@x\.test\nTo: box@example\.test\nSubject: exact\n\n"
            r"line one\n\.a dot-stuffed line\nlast line\n\Z" % qp)
        self.assertRegex(got, want)
        # the Maildir file is complete and nothing is left in tmp/
        self.assertEqual(os.listdir(os.path.join(self.inst.maildir, "tmp")), [])
        # the file is in new/ before qmail-lspawn's report reaches the log
        self.inst.wait_log(r"delivery \d+: success: did_1\+0\+0/")

    def test_sendmail_to_maildir(self):
        r = self.inst.run("sendmail", "-t", "-i", input=b"To: box@example.test\nSubject: cron\n\nhi\n",
                          env={"USER": "cronuser"})
        self.assertEqual(r.returncode, 0, r.stderr)
        got = self.wait_mail(self.inst.maildir)[0].decode()
        self.assertIn("Delivered-To: box@example.test\n", got)
        self.assertIn("Subject: cron\n", got)
        self.assertRegex(got, r"\nDate: ")
        self.assertRegex(got, r"\nMessage-ID: <")
        self.assertTrue(got.endswith("\n\nhi\n"))

    def test_bounce_for_missing_user_reaches_local_sender(self):
        self.assertEqual(self.inst.inject("Subject: lost\n\ntext\n", "box@example.test",
                                          ["nosuch@example.test"]), 0)
        b = self.wait_mail(self.inst.maildir)[0].decode()
        self.assertIn("Return-Path: <>\n", b)
        self.assertIn("\nFrom: MAILER-DAEMON@mx.test\n", b)
        self.assertIn("Hi. This is the qmail-send program at mx.test.\n", b)
        self.assertIn("<nosuch@example.test>:\nSorry, no mailbox here by that name. (#5.1.1)\n", b)
        self.assertIn("Final-Recipient: rfc822; nosuch@example.test\nAction: failed\n"
                      "Status: 5.1.1\n", b)
        self.assertIn("Content-Type: message/rfc822\n\nReturn-Path: <box@example.test>\n", b)
        self.assertIn("Subject: lost\n\ntext\n", b)

    def test_double_bounce_to_postmaster_alias(self):
        self.assertEqual(self.inst.inject("Subject: orphan\n\nx\n", "", ["nosuch@example.test"]), 0)
        b = self.wait_mail(self.inst.path("alias", "Maildir"))[0].decode()
        self.assertIn("Return-Path: <#@[]>\n", b)
        self.assertIn("Delivered-To: postmaster@mx.test\n", b)
        self.assertIn("but the bounce bounced!", b)

    def test_hup_picks_up_a_new_local_domain(self):
        self.inst.control("virtualdomains", "new.test:box\n")
        os.kill(self.inst.send.pid, signal.SIGHUP)
        self.inst.wait_log(r"^status: control files reread$")
        self.assertEqual(self.inst.inject("Subject: v\n\nx\n", "s@x.test", ["anything@new.test"]), 0)
        got = self.wait_mail(self.inst.maildir)[0].decode()
        self.assertIn("Delivered-To: box-anything@new.test\n", got)


    def test_forward_loop_bounces(self):
        """box forwards to loop2, loop2 back to box: the Delivered-To check
        stops it and the sender gets a bounce instead of an endless loop."""
        home = os.path.dirname(self.inst.maildir)
        self.inst.write(os.path.join(home, ".qmail-loop1"), "&box-loop2@example.test\n")
        self.inst.write(os.path.join(home, ".qmail-loop2"), "&box-loop1@example.test\n")
        self.assertEqual(self.inst.inject("Subject: round and round\n\nx\n", "box@example.test",
                                          ["box-loop1@example.test"]), 0)
        b = self.wait_mail(self.inst.maildir)[0].decode()
        self.assertIn("Subject: failure notice", b)
        self.assertIn("This message is looping: it already has my Delivered-To line. (#5.4.6)", b)
        self.assertIn("Delivered-To: box-loop1@example.test\n", b)
        self.assertIn("Delivered-To: box-loop2@example.test\n", b)
        time.sleep(1)
        self.assertEqual(len(maildir_messages(self.inst.maildir)), 1)

    def test_queueextra_archive_copy(self):
        """control/queueextra: every message also goes to this address."""
        self.inst.control("queueextra", "log\n")
        self.inst.write(self.inst.path("alias", ".qmail-log"), "./Maildir/\n")
        self.assertEqual(self.inst.inject("Subject: archived\n\nx\n", "s@x.test",
                                          ["box@example.test"]), 0)
        self.wait_mail(self.inst.maildir)
        copy = self.wait_mail(self.inst.path("alias", "Maildir"))[0].decode()
        self.assertIn("Delivered-To: log@mx.test\n", copy)
        self.assertIn("Subject: archived\n", copy)


class FloodTest(unittest.TestCase):
    """2,000 messages in 20 SMTP sessions while qmail-send delivers: every
    one is accepted and delivered once.  (This caught two bugs: deliveries
    starved while a burst was preprocessed, and qmail-clean removing a
    reused message number's fresh todo/ entry.)"""

    def test_flood(self):
        inst = mailbox_instance()
        self.addCleanup(inst.cleanup)
        inst.start_send()
        port = inst.start_smtpd(rules='127.0.0.1:allow,RELAYCLIENT=""\n:allow\n',
                                tcpserver_args=["-c", "100"])
        errors = []

        def worker(k):
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                    for i in range(100):
                        s.sendmail("b@client.test", ["box@example.test"],
                                   "Subject: %d-%d\n\n%s\n" % (k, i, "x" * 1000))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
        ts = [threading.Thread(target=worker, args=(k,)) for k in range(20)]
        [t.start() for t in ts]
        [t.join(timeout=120) for t in ts]
        self.assertEqual(errors, [], inst.log("smtpd.log")[-2000:])
        msgs = qng.wait_for(lambda: len(maildir_messages(inst.maildir)) >= 2000 and
                            maildir_messages(inst.maildir), 90, step=0.5,
                            what="2000 deliveries")
        subjects = sorted(re.search(rb"\nSubject: (\d+-\d+)\n", m).group(1) for m in msgs)
        self.assertEqual(len(subjects), 2000)
        self.assertEqual(len(set(subjects)), 2000)


class LoggerTest(unittest.TestCase):
    def test_log_through_multilog(self):
        inst = mailbox_instance()
        self.addCleanup(inst.cleanup)
        logdir = os.path.join(inst.tmp, "log")
        os.mkdir(logdir)
        if qng.IS_ROOT:
            os.chown(logdir, inst.uid, inst.gid)
        inst.send = inst.start([os.path.join(inst.bin, "qmail-start"), "./Maildir/",
                                os.path.join(inst.bin, "multilog"), "t", logdir],
                               logname="start.log", stdout_to_log=True)
        self.assertEqual(inst.inject("x\n", "s@x.test", ["box@example.test"]), 0)
        cur = os.path.join(logdir, "current")

        def ended():
            try:
                with open(cur) as f:
                    t = f.read()
            except FileNotFoundError:
                return None
            return t if re.search(r"end msg \d+\n", t) else None
        text = qng.wait_for(ended, 20, what="multilog's current")
        stamp = r"@4000[0-9a-f]{20} "
        self.assertRegex(text, r"(?m)^%snew msg \d+$" % stamp)
        self.assertRegex(text, r"(?m)^%sinfo msg \d+: bytes \d+ from <s@x\.test> qp \d+ uid \d+$" % stamp)
        self.assertRegex(text, r"(?m)^%sstarting delivery \d+: msg \d+ to local box@example\.test$" % stamp)
        self.assertRegex(text, r"(?m)^%sdelivery \d+: success: did_1\+0\+0/$" % stamp)
        self.assertRegex(text, r"(?m)^%sstatus: local 0/10 remote 0/20$" % stamp)
        self.assertRegex(text, r"(?m)^%send msg \d+$" % stamp)


def lspawn_children(send_pid, seconds):
    """The pids of qmail-lspawn's children (running deliveries) under the
    qmail-send send_pid, polled for up to seconds until there is one."""
    lspawn = [p for p in qng.children(send_pid) if qng.comm(p) == "qmail-lspawn"]
    deadline = time.monotonic() + seconds
    while lspawn and time.monotonic() < deadline:
        pids = qng.children(lspawn[0])
        if pids:
            return pids
        time.sleep(0.001)
    return []


class CrashLoopTest(unittest.TestCase):
    """kill -9 at random moments while 1,000 messages flow: every message
    is delivered at least once, and a message is delivered twice only when
    a crash interrupted that very delivery."""

    N = 1000

    def test_kill9_while_mail_flows(self):
        inst = mailbox_instance()
        self.addCleanup(inst.cleanup)
        inst.control("retryschedule", "local:1\nremote:1\n")
        logdir = os.path.join(inst.tmp, "log")
        os.mkdir(logdir)
        if qng.IS_ROOT:
            os.chown(logdir, inst.uid, inst.gid)

        def start():
            inst.send = inst.start([os.path.join(inst.bin, "qmail-start"), "./Maildir/",
                                    os.path.join(inst.bin, "multilog"), "t", logdir],
                                   logname="start.log", stdout_to_log=True)
        start()
        random.seed(99)
        kills = {"qmail-send": 0, "qmail-local": 0, "multilog": 0}
        done = threading.Event()
        failures = []

        def inject():
            try:
                for i in range(self.N):
                    rc = inst.inject("Subject: msg %d\n\nbody %d\n" % (i, i), "s@x.test",
                                     ["box@example.test"])
                    if rc != 0:
                        failures.append((i, rc))
            finally:
                done.set()

        t = threading.Thread(target=inject)
        t.start()
        deadline = time.monotonic() + 120
        while not done.is_set() and time.monotonic() < deadline:
            time.sleep(random.uniform(0.05, 0.3))
            victim = random.choice(list(kills))
            if victim == "qmail-send":
                try:
                    os.kill(inst.send.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                inst.send.wait(timeout=10)
                kills[victim] += 1
                start()
            else:
                # only this instance's processes: a delivery is a child
                # of qmail-lspawn (a child of qmail-send) named qmail-local
                # (it runs qmail-local's code without an exec), and lives
                # a few ms: watch qmail-lspawn's children for a moment;
                # multilog's argv[0] is our bin/
                if victim == "qmail-local":
                    pids = lspawn_children(inst.send.pid, 0.5)
                else:
                    r = subprocess.run(["pgrep", "-f", "^%s " % os.path.join(inst.bin, victim)],
                                       capture_output=True, text=True)
                    pids = [int(p) for p in r.stdout.split()]
                for p in pids[:1]:
                    try:
                        os.kill(p, signal.SIGKILL)
                        kills[victim] += 1
                    except ProcessLookupError:
                        pass
                if victim == "multilog" and pids:
                    # the logger is gone: qmail-send's log pipe is broken,
                    # restart the whole service as a supervisor would
                    try:
                        os.kill(inst.send.pid, signal.SIGTERM)
                        inst.send.wait(timeout=30)
                    except (ProcessLookupError, subprocess.TimeoutExpired):
                        os.kill(inst.send.pid, signal.SIGKILL)
                        inst.send.wait(timeout=10)
                    start()
        t.join(timeout=120)
        self.assertEqual(failures, [])
        # let the last messages through, retrying what was interrupted
        time.sleep(1)
        os.kill(inst.send.pid, signal.SIGALRM)

        def all_delivered():
            msgs = maildir_messages(inst.maildir)
            seen = set()
            for m in msgs:
                s = re.search(rb"\nSubject: msg (\d+)\n", m)
                if s:
                    seen.add(int(s.group(1)))
            return len(seen) == self.N and msgs
        msgs = qng.wait_for(all_delivered, 120, step=0.5,
                            what="all %d messages; qstat: %s" % (
                                self.N, inst.run("qmail-qstat").stdout))
        # every message is complete (Maildir delivery is atomic)
        for m in msgs:
            self.assertRegex(m, rb"\nSubject: msg (\d+)\n\nbody \1\n\Z")
        dups = len(msgs) - self.N
        crashes = kills["qmail-send"] + kills["qmail-local"] + kills["multilog"]
        self.assertGreater(crashes, 5, kills)
        # a duplicate needs an interrupted delivery: at most the deliveries
        # running when qmail-send died (10) or the one qmail-local killed
        self.assertLessEqual(dups, 10 * (kills["qmail-send"] + kills["multilog"])
                             + kills["qmail-local"], kills)
        qng.wait_for(lambda: inst.run("qmail-qstat").stdout.decode() ==
                     "messages in queue: 0\nmessages in queue but not yet preprocessed: 0\n",
                     30, what="an empty queue")
        if os.environ.get("QNG_VERBOSE"):
            print("crash loop: kills %s, duplicates %d" % (kills, dups))


if __name__ == "__main__":
    unittest.main()
