# SPDX-License-Identifier: ISC
"""Per-destination outbound rate limits (issue 13 §3): qmail-send with
control/ratelimitremote "far.test:2:3" starts at most 2 remote
deliveries to far.test in a window of 3 seconds; the rest wait in the
queue (no attempt, no deferral, no bounce) and go as windows allow.  The
whole remote path runs: qmail-queue, qmail-send, qmail-rspawn and
qmail-remote delivering to an SMTP sink on loopback through smtproutes.
The window is short so that the test is bounded, and the timing checks
are generous: only what a window cannot allow is asserted."""
import os
import re
import signal
import time
import unittest

import qng
from smtpsink import Sink

START = re.compile(r"^starting delivery \d+: msg \d+ to remote (\S+)$", re.M)
MSGSTART = re.compile(r"^starting delivery \d+: msg (\d+) to remote \S+$", re.M)


class RateLimitCase(unittest.TestCase):
    def setUp(self):
        self.inst = qng.Instance(me="mx.test", rcpthosts=["mx.test"], locals_=["mx.test"])
        self.addCleanup(self.inst.cleanup)

    def start(self, limits):
        self.sink = Sink(["127.0.0.2"])
        self.addCleanup(self.sink.stop)
        self.inst.control("smtproutes", "far.test:[127.0.0.2]:%d\nother.test:[127.0.0.2]:%d\n"
                          % (self.sink.port, self.sink.port))
        if limits is not None:
            self.inst.control("ratelimitremote", limits)
        self.inst.start_send(fake_local=True)
        self.inst.wait_log(r"^status: local 0/10 remote 0/20$")

    def started(self, domain):
        return [a for a in START.findall(self.inst.log("send.log")) if a.endswith("@" + domain)]

    def delivered(self):
        return sum(1 for c in self.sink.conns for t in c.txns if t.reply)

    def inject(self, n, domain, tag="r"):
        for i in range(n):
            self.assertEqual(self.inst.inject("Subject: %d\n\nbody\n" % i, "s@mx.test",
                                              ["%s%d@%s" % (tag, i, domain)]), 0)


class TestRateLimit(RateLimitCase):
    def test_k_per_window(self):
        """6 messages, 2 per 3 s window: 2 at once, the rest later; another
        domain is not held."""
        self.start("# far.test is slow to accept\nfar.test:2:3\n")
        self.inject(6, "far.test")
        self.inject(3, "other.test", tag="o")
        qng.wait_for(lambda: len(self.started("far.test")) >= 1, 15, what="a first delivery")
        t0 = time.monotonic()
        # the first window: no third delivery can start before it ends
        # (windows are counted in whole seconds, so 3 s last 2 to 3 s)
        qng.wait_for(lambda: len(self.started("other.test")) == 3, 15,
                     what="other.test's three, unlimited")
        while time.monotonic() < t0 + 1.9:
            self.assertLessEqual(len(self.started("far.test")), 2)
            time.sleep(0.05)
        self.assertLessEqual(len(self.started("far.test")), 2)
        held = self.inst.wait_log(r"^ratelimit: holding back remote deliveries to far\.test: "
                                  r"2 started in 3 seconds, the limit; the rest wait \d seconds$")
        self.assertEqual(len(held), 1)
        # the rest go as the windows allow: all six within a few windows
        qng.wait_for(lambda: len(self.started("far.test")) == 6, 30, what="all six started")
        elapsed = time.monotonic() - t0
        # 3 windows: starts at 0, then after two ends (each 2 s or more)
        self.assertGreaterEqual(elapsed, 4.0)
        self.sink.wait(lambda: self.delivered() == 9, 30, "nine messages delivered")
        self.inst.wait_log(r"^end msg \d+$", count=9)
        log = self.inst.log("send.log")
        # a wait is no attempt: no deferral, no bounce, each message once
        self.assertNotIn("deferral", log)
        self.assertNotIn("bounce", log)
        self.assertEqual(len(self.started("far.test")), 6)
        # logged once per window that held something back, not per message
        self.assertLessEqual(len(re.findall(r"^ratelimit: holding back", log, re.M)), 3)

    def test_no_file_no_limit(self):
        """Without control/ratelimitremote nothing is held."""
        self.start(None)
        self.inject(5, "far.test")
        qng.wait_for(lambda: len(self.started("far.test")) == 5, 15, what="all five at once")
        self.sink.wait(lambda: self.delivered() == 5, 30, "five delivered")
        self.assertNotIn("ratelimit", self.inst.log("send.log"))

    def test_reload(self):
        """SIGHUP rereads the file; one that does not parse keeps the old
        rules (and says so)."""
        self.start("far.test:1:3600\n")
        self.inject(2, "far.test")
        self.inst.wait_log(r"^ratelimit: holding back remote deliveries to far\.test: "
                           r"1 started in 3600 seconds")
        self.inst.control("ratelimitremote", "far.test:one:3600\n")
        os.kill(self.inst.send.pid, signal.SIGHUP)
        self.inst.wait_log(r"^alert: unable to reread control/ratelimitremote, "
                           r"keeping the old settings$")
        time.sleep(0.5)  # a turn or two: still held
        self.assertEqual(len(self.started("far.test")), 1)
        # the limit lifted: the waiting message goes at once
        self.inst.control("ratelimitremote", "far.test:0:3600\n")
        os.kill(self.inst.send.pid, signal.SIGHUP)
        self.inst.wait_log(r"^status: control files reread$")
        qng.wait_for(lambda: len(self.started("far.test")) == 2, 15, what="the second")

    def test_parked_requeued_removed(self):
        """Messages parked for a window, requeued or removed by the queue
        tools meanwhile: the removed one ends without a delivery, the
        requeued one is held again, and both it and the untouched one go
        once the limit is lifted; nothing is lost or started twice."""
        self.start("far.test:1:3600\n")
        self.inject(4, "far.test")
        self.inst.wait_log(r"^ratelimit: holding back remote deliveries to far\.test")
        ids = [int(x.split()[2]) for x in self.inst.wait_log(r"^new msg \d+$", count=4)]
        first = [int(x) for x in MSGSTART.findall(self.inst.log("send.log"))]
        self.assertEqual(len(first), 1)
        parked = [x for x in ids if x != first[0]]
        r = self.inst.run("qmail-qrequeue", str(parked[0]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.inst.wait_log(r"^requeue msg %d$" % parked[0])
        r = self.inst.run("qmail-qrm", str(parked[1]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.inst.wait_log(r"^end msg %d$" % parked[1])
        time.sleep(0.5)  # a turn or two: the requeued one is held again
        self.assertEqual(len(self.started("far.test")), 1)
        self.inst.control("ratelimitremote", "far.test:0:3600\n")
        os.kill(self.inst.send.pid, signal.SIGHUP)
        qng.wait_for(lambda: len(self.started("far.test")) == 3, 15, what="the other two")
        self.sink.wait(lambda: self.delivered() == 3, 30, "three delivered")
        for x in ids:
            self.inst.wait_log(r"^end msg %d$" % x)
        log = self.inst.log("send.log")
        self.assertEqual(sorted(int(x) for x in MSGSTART.findall(log)),
                         sorted([first[0], parked[0], parked[2]]))
        self.assertNotIn("deferral", log)
        self.assertNotIn("bounce", log)

    def test_bad_file_at_start(self):
        """A file that does not parse at start: qmail-send does not run
        with half its settings."""
        self.inst.control("ratelimitremote", "far.test:5\n")
        self.inst.start_send(fake_local=True)
        self.inst.wait_log(r"unable to read controls")

    def test_showctl(self):
        """qmail-showctl knows the file and shows its rules."""
        self.inst.control("ratelimitremote", "far.test:2:3\n")
        out = self.inst.run("qmail-showctl").stdout.decode()
        self.assertIn("ratelimitremote", out)
        self.assertIn("far.test:2:3", out)


if __name__ == "__main__":
    unittest.main()
