# SPDX-License-Identifier: ISC
"""qmail-lspawn's per-user workers (src/local/lworker.h), through the spawn
protocol as test_local_spawn drives it, one request at a time so that the
same worker can be seen serving one delivery after another.

A program line in a .qmail file reports $PPID: the process that ran it,
which is the worker.  What a worker must guarantee: the reports are those
of a child per delivery (same text, same verdict); one worker serves a
user's deliveries one after another; nothing qmail-local set for one
delivery is in the next one's environment; a failing delivery leaves the
worker good for the next; a worker killed mid-delivery is a temporary
failure and the next delivery gets a new worker; LSPAWNWORKERS=0 forks
per delivery as before."""
import os
import re
import select
import signal
import subprocess
import time
import unittest

import qng
import test_local_spawn as ls

HOST = ls.HOST


class Lspawn:
    """A running qmail-lspawn fed one request at a time."""

    def __init__(self, inst, env=None, default="./Maildir/"):
        e = dict(inst.env)
        if env:
            e.update(env)
        self.p = subprocess.Popen([os.path.join(inst.bin, "qmail-lspawn"), default],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=e, cwd="/")
        self.buf = b""

    def deliver(self, slot, msgid, sender, rcpt, timeout=20):
        """One request; returns its report (codes, texts, final, text)."""
        self.p.stdin.write(ls.request(slot, msgid, sender, rcpt))
        self.p.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            reps = self._complete()
            if reps is not None and slot in reps:
                return reps[slot]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no report for slot %d; got %r" % (slot, self.buf))
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536)
                if not chunk:
                    raise EOFError("qmail-lspawn ended: %r" % self.buf)
                self.buf += chunk

    def _complete(self):
        # a report ends with its final record: K, Z or D then text, NUL
        recs = self.buf.split(b"\0")
        for i, r in enumerate(recs[:-1]):
            if i > 0 and r[:1] in (b"K", b"Z", b"D"):
                data = b"\0".join(recs[:i + 1]) + b"\0"
                self.buf = b"\0".join(recs[i + 1:])
                return ls.parse_reports(data)
        return None

    def close(self):
        self.p.stdin.close()
        try:
            self.p.wait(timeout=20)
        finally:
            self.p.stdout.close()
            self.p.stderr.close()
        return self.p.returncode


class TestLspawnWorkers(ls.SpawnCase):
    def lspawn(self, env=None):
        l = Lspawn(self.inst, env=env)
        self.addCleanup(lambda: l.p.poll() is None and l.close())
        return l

    def ppid(self, rep):
        m = re.search(r"ppid (\d+)", rep[3])
        self.assertIsNotNone(m, rep)
        return int(m.group(1))

    def test_one_worker_serves_a_user_one_delivery_after_another(self):
        self.alias.maildir()
        self.alias.write(".qmail-default", "|echo ppid $PPID\n./Maildir/\n")
        l = self.lspawn()
        pids = []
        for s in range(5):
            rep = l.deliver(s, self.message(), "s@x.test", "box%d@%s" % (s, HOST))
            self.assertEqual(rep[2], "K", rep)
            self.assertEqual(rep[3], "ppid %d\ndid 1+0+1\n" % self.ppid(rep))
            pids.append(self.ppid(rep))
        self.assertEqual(len(set(pids)), 1, pids)
        self.assertNotEqual(pids[0], l.p.pid)
        # a fresh program, not a copy of qmail-lspawn's memory
        with open("/proc/%d/cmdline" % pids[0], "rb") as f:
            self.assertEqual(f.read().split(b"\0")[1:3], [b"--worker", b"./Maildir/"])
        self.assertTrue(os.readlink("/proc/%d/exe" % pids[0]).endswith("/qmail-local"))
        # every message, each with its own Delivered-To
        got = self.alias.messages()
        self.assertEqual(len(got), 5)
        self.assertEqual(sorted(re.search(rb"Delivered-To: (\S+)", m).group(1) for m in got),
                         sorted(b"box%d@host.test" % s for s in range(5)))
        self.assertEqual(l.close(), 0)
        # the worker leaves with qmail-lspawn
        qng.wait_for(lambda: not os.path.exists("/proc/%d/status" % pids[0]) or
                     "zombie" in open("/proc/%d/status" % pids[0]).read(),
                     timeout=10, what="the worker to exit")

    def test_environment_of_one_delivery_never_reaches_the_next(self):
        self.alias.write(".qmail-exact", "|echo ppid $PPID default=${DEFAULT-unset}"
                                         " ext=$EXT\n")
        self.alias.write(".qmail-default", "|echo ppid $PPID default=${DEFAULT-unset}"
                                           " ext=$EXT\n")
        l = self.lspawn()
        seen = []
        for s, rcpt in enumerate(("exact", "other", "exact", "third", "exact")):
            rep = l.deliver(s, self.message(), "", rcpt + "@" + HOST)
            self.assertEqual(rep[2], "K", rep)
            seen.append((self.ppid(rep), rep[3].split("\n")[0].split(" ", 2)[2]))
        self.assertEqual([x[1] for x in seen],
                         ["default=unset ext=exact", "default=other ext=other",
                          "default=unset ext=exact", "default=third ext=third",
                          "default=unset ext=exact"])
        self.assertEqual(len({x[0] for x in seen}), 1)

    def test_failures_leave_the_worker_good(self):
        self.alias.maildir()
        self.alias.write(".qmail-ok", "|echo ppid $PPID\n./Maildir/\n")
        self.alias.write(".qmail-bad", "|echo ppid $PPID; exit 100\n")
        self.alias.write(".qmail-defer", "|echo ppid $PPID; exit 111\n")
        l = self.lspawn()
        r1 = l.deliver(1, self.message(), "", "ok@" + HOST)
        r2 = l.deliver(2, self.message(), "", "bad@" + HOST)
        r3 = l.deliver(3, self.message(), "", "defer@" + HOST)
        r4 = l.deliver(4, self.message(), "", "nobody-such@" + HOST)
        r5 = l.deliver(5, self.message(), "", "ok@" + HOST)
        self.assertEqual((r1[2], r2[2], r3[2], r5[2]), ("K", "D", "Z", "K"))
        self.assertEqual(r2[3], "ppid %d\n" % self.ppid(r2))
        self.assertEqual(r4[2], "D")
        self.assertIn("Sorry, no mailbox here by that name. (#5.1.1)", r4[3])
        self.assertEqual(len({self.ppid(r) for r in (r1, r2, r3, r5)}), 1)
        self.assertEqual(len(self.alias.messages()), 2)

    def test_unflushed_output_of_a_failure_is_dropped_as_exit_drops_it(self):
        # a .qmail whose second line is malformed: nothing is delivered,
        # and the text is the same as from a child of its own
        self.alias.maildir()
        self.alias.write(".qmail-mal", "./Maildir/\n&\n")
        l = self.lspawn()
        a = l.deliver(1, self.message(), "", "mal@" + HOST)
        reps, _, _, _ = self.spawn(ls.request(1, self.message(), "", "mal@" + HOST),
                                   env={"LSPAWNWORKERS": "0"})
        self.assertEqual(a[2], reps[1][2])
        self.assertEqual(a[3], reps[1][3])
        self.assertEqual(self.alias.messages(), [])

    def test_worker_killed_mid_delivery_is_temporary(self):
        mark = os.path.join(self.alias.path, "pid")
        self.alias.write(".qmail-slow", "|echo $PPID > %s; sleep 30\n" % mark)
        self.alias.write(".qmail-ok", "|echo ppid $PPID\n")
        l = self.lspawn()
        mid = self.message()
        l.p.stdin.write(ls.request(7, mid, "", "slow@" + HOST))
        l.p.stdin.flush()
        qng.wait_for(lambda: os.path.exists(mark) and open(mark).read().strip(),
                     timeout=10, what="the slow delivery to start")
        wpid = int(open(mark).read())
        os.kill(wpid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        reps = None
        while reps is None and time.monotonic() < deadline:
            r, _, _ = select.select([l.p.stdout], [], [], 1)
            if r:
                l.buf += os.read(l.p.stdout.fileno(), 65536)
            reps = l._complete()
        self.assertIsNotNone(reps, l.buf)
        self.assertEqual(reps[7][2], "Z", reps)
        self.assertIn("crashed (signal 9)", reps[7][3])
        rep = l.deliver(8, self.message(), "", "ok@" + HOST)
        self.assertEqual(rep[2], "K", rep)
        self.assertNotEqual(self.ppid(rep), wpid)

    def test_fork_per_delivery_when_asked(self):
        self.alias.write(".qmail-default", "|echo ppid $PPID\n")
        l = self.lspawn(env={"LSPAWNWORKERS": "0"})
        pids = {self.ppid(l.deliver(s, self.message(), "", "a%d@%s" % (s, HOST)))
                for s in range(3)}
        self.assertEqual(len(pids), 3)

    def test_concurrent_deliveries_for_one_user(self):
        # busy workers do not serialise a user's deliveries
        self.alias.write(".qmail-default", "|sleep 1; echo ppid $PPID\n")
        reqs = b"".join(ls.request(s, self.message(), "", "c%d@%s" % (s, HOST))
                        for s in range(6))
        reps, code, err, secs = self.spawn(reqs)
        self.assertEqual(code, 0, err)
        self.assertEqual(sorted(reps), list(range(6)))
        self.assertTrue(all(r[2] == "K" for r in reps.values()), reps)
        self.assertLess(secs, 4.5)
        self.assertEqual(len({self.ppid(r) for r in reps.values()}), 6)


if __name__ == "__main__":
    unittest.main()
