# SPDX-License-Identifier: ISC
"""Remote deliveries through qmail-send and qmail-rspawn, with a stand-in
worker (fakeremote.py) in place of `qmail-remote -m`: recipients of one
message at one domain go in one delivery, messages for one destination
share a worker (one SMTP connection) within the per-domain limit,
per-recipient results stay exact, a dying worker defers its delivery."""
import os
import re
import time
import unittest

import qng


class RspawnCase(unittest.TestCase):
    controls = {}

    def setUp(self):
        self.inst = qng.Instance(me="mx.test", rcpthosts=["mx.test"], locals_=["mx.test"])
        self.addCleanup(self.inst.cleanup)
        for k, v in self.controls.items():
            self.inst.control(k, v)
        self.inst.start_send(fake_local=True, fake_remote=True)
        self.inst.wait_log(r"^status: local 0/10 remote 0/20$")

    def log(self):
        return self.inst.log("send.log")

    def requests(self):
        """fakeremote's log: (pid, domain, slot, msgid, sender, [rcpts])."""
        out = []
        with open(os.path.join(self.inst.tmp, "remote.log")) as f:
            for line in f:
                w = line.split()
                if w[2] != "QUIT":
                    out.append((int(w[0]), w[1], int(w[2]), int(w[3]), w[4], w[5].split(",")))
        return out

    def quits(self):
        with open(os.path.join(self.inst.tmp, "remote.log")) as f:
            return [l.split()[0] for l in f if l.split()[2] == "QUIT"]


class GroupingTest(RspawnCase):
    def test_one_delivery_per_domain_with_every_recipient(self):
        rcpts = ["ok%d@far.test" % i for i in range(10)] + ["ok1@other.test", "ok2@Other.Test"]
        self.assertEqual(self.inst.inject("Subject: x\n\nhi\n", "s@x.test", rcpts), 0)
        self.inst.wait_log(r"^end msg \d+$")
        reqs = self.requests()
        self.assertEqual(len(reqs), 2, reqs)
        by = {r[1]: r for r in reqs}
        self.assertEqual(by["far.test"][5], rcpts[:10])
        self.assertEqual(by["other.test"][5], rcpts[10:])
        self.assertEqual(by["far.test"][4], "s@x.test")
        # the log still has one line per recipient, each its own delivery
        log = self.log()
        starts = re.findall(r"^starting delivery (\d+): msg \d+ to remote (\S+)$", log, re.M)
        self.assertEqual(sorted(a for _, a in starts), sorted(rcpts))
        self.assertEqual(len({d for d, _ in starts}), 12)
        for d, a in starts:
            self.assertRegex(log, r"(?m)^delivery %s: success: 127\.0\.0\.2_accepted_message\./"
                                  r"Remote_host_said:_250_ok_%s/$" % (d, re.escape(a)))
        self.assertNotIn("remote 3/20", log)  # two deliveries only
        qng.wait_for(lambda: self.inst.queue_files() == [], 10, what="queue to empty")

    def test_many_recipients_are_split_in_hundreds(self):
        rcpts = ["ok%d@far.test" % i for i in range(250)]
        self.assertEqual(self.inst.inject("x\n", "s@x.test", rcpts), 0)
        self.inst.wait_log(r"^end msg \d+$", timeout=30)
        sizes = sorted(len(r[5]) for r in self.requests())
        self.assertEqual(sizes, [50, 100, 100])

    def test_mixed_results_per_recipient(self):
        rcpts = ["ok1@far.test", "bad1@far.test", "later1@far.test", "ok2@far.test"]
        self.assertEqual(self.inst.inject("Subject: mixed\n\nhi\n", "s@x.test", rcpts), 0)
        self.inst.wait_log(r"^bounce msg \d+ qp \d+$")
        log = self.log()
        self.assertRegex(log, r"(?m)^delivery \d+: failure: 127\.0\.0\.2_does_not_like_recipient\./"
                              r"Remote_host_said:_550_no_such_user_bad1@far\.test/$")
        self.assertRegex(log, r"(?m)^delivery \d+: deferral: Remote_host_said:_451_try_again_later/$")
        self.assertEqual(len(re.findall(r"(?m)^delivery \d+: success: ", log)), 2)
        # the bounce names bad1 alone; later1 waits in the queue
        out = self.inst.run("qmail-qread").stdout.decode()
        self.assertIn("\tremote\tlater1@far.test\n", out)
        self.assertIn("done\tremote\tok1@far.test\n", out)
        self.assertIn("done\tremote\tbad1@far.test\n", out)


class ConnectionTest(RspawnCase):
    controls = {"concurrencyperdomain": "2"}

    def test_messages_for_one_domain_share_workers(self):
        n = 30
        for i in range(n):
            self.assertEqual(self.inst.inject("Subject: %d\n\nbody\n" % i, "s@x.test",
                                              ["slow%d@far.test" % i]), 0)
        self.inst.wait_log(r"^end msg \d+$", count=n, timeout=60)
        reqs = self.requests()
        self.assertEqual(len(reqs), n)
        pids = {r[0] for r in reqs}
        # 2 connections at once at most; a worker idle for 2 s is retired,
        # so a slow injection may need a new one, but far fewer than n
        self.assertLessEqual(len(pids), 6, pids)
        busy = [int(x) for x in re.findall(r"^status: local \d+/10 remote (\d+)/20$",
                                           self.log(), re.M)]
        # qmail-send itself keeps to the per-domain limit: no delivery
        # waits in qmail-rspawn holding a slot another domain could use
        self.assertEqual(max(busy), 2)
        # idle workers are retired: each said QUIT
        qng.wait_for(lambda: set(self.quits()) == {str(p) for p in pids}, 10,
                     what="every worker to QUIT")

    def test_a_busy_domain_does_not_hold_up_others(self):
        for i in range(6):
            self.assertEqual(self.inst.inject("Subject: %d\n\nbody\n" % i, "s@x.test",
                                              ["slow%d@far.test" % i]), 0)
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["ok@other.test"]), 0)
        self.inst.wait_log(r"^end msg \d+$", count=7, timeout=60)
        log = self.log()
        ok = log.index("Remote_host_said:_250_ok_ok@other.test/")
        last_far = log.rindex("Remote_host_said:_250_ok_slow")
        self.assertLess(ok, last_far)  # other.test did not wait for far.test
        far = [a for a in re.findall(r"(?m)^starting delivery \d+: msg \d+ to remote (\S+)$",
                                     log)]
        self.assertEqual(len(far), 7)

    def test_garbled_reports_defer_and_end_the_worker(self):
        for who in ("garble1", "junk1"):
            with self.subTest(who=who):
                self.assertEqual(self.inst.inject("x\n", "s@x.test", [who + "@far.test"]), 0)
                line = self.inst.wait_log(r"^starting delivery (\d+): msg \d+ to remote %s@"
                                          % who)[0]
                d = line.split()[2].rstrip(":")
                t0 = time.monotonic()
                self.inst.wait_log(r"^delivery %s: deferral: qmail-remote_garbled_its_report\."
                                   r"_\(#4\.3\.0\)/$" % d)
                self.assertLess(time.monotonic() - t0, 4)  # not after the worker's sleep
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["ok1@far.test"]), 0)
        self.inst.wait_log(r"^delivery \d+: success: ")

    def test_dying_worker_defers_its_delivery(self):
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["crash1@far.test"]), 0)
        self.inst.wait_log(r"^delivery \d+: deferral: qmail-remote_crashed_\(signal_9\)\._"
                           r"\(#4\.3\.0\)/$")
        # the next message for that domain gets a new worker
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["ok1@far.test"]), 0)
        self.inst.wait_log(r"^delivery \d+: success: ")


class TermTest(RspawnCase):
    def test_term_finishes_running_deliveries(self):
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["slow1@far.test"]), 0)
        self.inst.wait_log(r"^starting delivery \d+: msg \d+ to remote slow1@far\.test$")
        self.inst.send.terminate()
        self.inst.send.wait(timeout=20)
        self.assertRegex(self.log(), r"(?m)^delivery \d+: success: ")
        # every process of the instance is gone
        time.sleep(0.2)
        with open(os.path.join(self.inst.tmp, "remote.log")) as f:
            self.assertIn("QUIT", f.read())


if __name__ == "__main__":
    unittest.main()
