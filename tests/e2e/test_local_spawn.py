# SPDX-License-Identifier: ISC
"""qmail-lspawn end to end through the spawn protocol (src/lib/spawnproto.h):
requests written on its stdin, reports read from its stdout.  Deliveries
to the alias user and to users/assign entries, several at once, unknown
users, qmail-local crashing or failing in every way, a missing message,
nonsense from qmail-send, and the report text's size limit."""
import os
import subprocess
import time
import unittest

import qng
import test_local as kit

HOST = "host.test"
MSG = b"Subject: spawned\n\nhello\n"


def request(slot, msgid, sender, *rcpts):
    out = b"%d\0%d\0" % (slot, msgid) + sender.encode() + b"\0"
    for r in rcpts:
        out += (r.encode() if isinstance(r, str) else r) + b"\0"
    return out + b"\0"


def parse_reports(data):
    """{slot: (codes, texts, final, final_text)} from report bytes."""
    recs = data.split(b"\0")
    if recs and recs[-1] == b"":
        recs.pop()
    reports = {}
    i = 0
    while i < len(recs):
        slot = int(recs[i])
        i += 1
        codes, texts = "", []
        while recs[i][:1] in (b"r", b"h", b"s"):
            codes += recs[i][:1].decode()
            texts.append(recs[i][1:].decode(errors="replace"))
            i += 1
        final = recs[i][:1].decode()
        assert final in "KZD", recs[i]
        reports[slot] = (codes, texts, final, recs[i][1:].decode(errors="replace"))
        i += 1
    return reports


class SpawnCase(unittest.TestCase):
    def setUp(self):
        self.inst = qng.Instance(me=HOST, locals_=[HOST])
        self.addCleanup(self.inst.cleanup)
        self.alias = kit.Home(self.inst, "alias", path=self.inst.path("alias"))
        self.next_id = 1000

    def message(self, data=MSG):
        """A message file in the queue as qmail-queue would leave it."""
        self.next_id += 1
        i = self.next_id
        p = self.inst.path("queue", "mess", str(i % 23), str(i))
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, 0o640)
        if qng.IS_ROOT:
            os.chown(p, self.inst.uid, self.inst.gid)
        return i

    def spawn(self, requests, default="./Maildir/", timeout=30, argv=None, env=None):
        """Run qmail-lspawn (as the invoking user: as root it must become
        the instance's owner by itself) on the requests; returns (reports,
        exit code, stderr, seconds)."""
        e = dict(self.inst.env)
        if env:
            e.update(env)
        t0 = time.monotonic()
        r = subprocess.run(argv or [os.path.join(self.inst.bin, "qmail-lspawn"), default],
                           input=requests, capture_output=True, env=e, timeout=timeout,
                           cwd="/")
        return parse_reports(r.stdout), r.returncode, r.stderr.decode(), time.monotonic() - t0


class TestSpawn(SpawnCase):
    def test_alias_delivery(self):
        self.alias.maildir()
        self.alias.write(".qmail-default", "./Maildir/\n")
        mid = self.message()
        reps, code, err, _ = self.spawn(request(0, mid, "s@x.test", "bob@" + HOST))
        self.assertEqual(code, 0, err)
        self.assertEqual(reps, {0: ("r", ["did 1+0+0\n"], "K", "did 1+0+0\n")})
        self.assertEqual(self.alias.messages(),
                         [b"Return-Path: <s@x.test>\nDelivered-To: bob@host.test\n" + MSG])

    def test_runs_as_the_instance_owner(self):
        self.alias.write(".qmail-default", "|id -u > who; id -g >> who\n")
        reps, code, err, _ = self.spawn(request(3, self.message(), "", "x@" + HOST))
        self.assertEqual(reps[3][2], "K", reps)
        self.assertEqual(self.alias.read("who").decode().split(),
                         [str(self.inst.uid), str(self.inst.gid)])

    def test_lowercase_lookup(self):
        self.alias.write(".qmail-postmaster", "|echo \"$LOCAL $EXT\" > got\n")
        reps, _, _, _ = self.spawn(request(0, self.message(), "", "PostMaster@" + HOST))
        self.assertEqual(reps[0][2], "K", reps)
        self.assertEqual(self.alias.read("got"), b"postmaster postmaster\n")

    def test_unknown_user(self):
        reps, code, _, _ = self.spawn(request(1, self.message(), "s@x.test", "nobody-here@" + HOST))
        self.assertEqual(code, 0)
        self.assertEqual(reps[1][0], "h")
        self.assertEqual(reps[1][2], "D")
        self.assertIn("Sorry, no mailbox here by that name. (#5.1.1)", reps[1][3])

    def test_empty_local_part(self):
        reps, _, _, _ = self.spawn(request(1, self.message(), "", "@" + HOST))
        self.assertEqual(reps[1][2], "D")
        self.assertIn("no mailbox here", reps[1][3])

    def test_concurrent_deliveries(self):
        self.alias.write(".qmail-default", "|sleep 1; echo \"$EXT\" >> done\n")
        reqs = b"".join(request(s, self.message(), "s@x.test", "user%d@%s" % (s, HOST))
                        for s in range(6))
        reps, code, err, secs = self.spawn(reqs)
        self.assertEqual(code, 0, err)
        self.assertEqual(sorted(reps), list(range(6)))
        for s in range(6):
            self.assertEqual(reps[s][2], "K", reps[s])
        self.assertLess(secs, 4.5, "deliveries ran one after another")
        self.assertEqual(sorted(self.alias.read("done").split()),
                         sorted(b"user%d" % s for s in range(6)))

    def test_reports_come_as_deliveries_finish(self):
        self.alias.write(".qmail-slow", "|sleep 2\n")
        self.alias.write(".qmail-fast", "|true\n")
        p = subprocess.Popen([os.path.join(self.inst.bin, "qmail-lspawn"), "./Maildir/"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.inst.env)
        try:
            p.stdin.write(request(0, self.message(), "", "slow@" + HOST) +
                          request(1, self.message(), "", "fast@" + HOST))
            p.stdin.flush()
            first = b""
            while first.count(b"\0") < 3:
                first += os.read(p.stdout.fileno(), 100)
            self.assertTrue(first.startswith(b"1\0r"), first)
            p.stdin.close()
            rest = p.stdout.read()
            self.assertEqual(p.wait(timeout=20), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
        reps = parse_reports(first + rest)
        self.assertEqual(reps[0][2], "K")
        self.assertEqual(reps[1][2], "K")

    def test_finishes_running_deliveries_after_eof(self):
        self.alias.write(".qmail-default", "|sleep 1; touch finished\n")
        reps, code, _, _ = self.spawn(request(7, self.message(), "", "late@" + HOST))
        self.assertEqual(code, 0)
        self.assertEqual(reps[7][2], "K")
        self.assertTrue(os.path.exists(self.alias.p("finished")))

    def test_missing_message_is_temporary(self):
        reps, code, _, _ = self.spawn(request(2, 987654, "", "bob@" + HOST))
        self.assertEqual(code, 0)
        self.assertEqual(reps[2][0], "s")
        self.assertEqual(reps[2][2], "Z")
        self.assertIn("Unable to open message mess/", reps[2][3])

    def test_failures_map_to_report_codes(self):
        self.alias.write(".qmail-perm", "|echo no thanks; exit 100\n")
        self.alias.write(".qmail-temp", "|echo later; exit 111\n")
        self.alias.write(".qmail-loop", "./Maildir/\n")
        loop = self.message(b"Delivered-To: loop@host.test\n\nx\n")
        reqs = (request(0, self.message(), "", "perm@" + HOST) +
                request(1, self.message(), "", "temp@" + HOST) +
                request(2, loop, "", "loop@" + HOST))
        reps, _, _, _ = self.spawn(reqs)
        self.assertEqual(reps[0], ("h", ["no thanks\n"], "D", "no thanks\n"))
        self.assertEqual(reps[1], ("s", ["later\n"], "Z", "later\n"))
        self.assertEqual(reps[2][2], "D")
        self.assertIn("looping", reps[2][3])

    def test_long_output_is_cut(self):
        self.alias.write(".qmail-default", "|seq 1 100000\n")
        reps, _, _, _ = self.spawn(request(0, self.message(), "", "chatty@" + HOST))
        text = reps[0][3]
        self.assertLessEqual(len(text), 2000)
        self.assertTrue(text.startswith("1\n2\n3\n"))
        self.assertIn("...", text)
        self.assertTrue(text.endswith("did 0+0+1\n"), text[-50:])

    def test_nul_in_output(self):
        self.alias.write(".qmail-default", "|printf 'a\\000b\\n'\n")
        reps, _, _, _ = self.spawn(request(0, self.message(), "", "x@" + HOST))
        self.assertEqual(reps[0][2], "K")
        self.assertNotIn("\0", reps[0][3])

    def test_hostile_addresses(self):
        """Quotes, newlines and path tricks from the envelope stay data."""
        self.alias.maildir()
        self.alias.write(".qmail-default", "./Maildir/\n|printf '%s' \"$EXT\" > ext\n")
        rcpts = [b'"john doe"@' + HOST.encode(),
                 b"x\nDelivered-To: evil@" + HOST.encode() + b"@" + HOST.encode(),
                 b"../../../etc/passwd@" + HOST.encode(),
                 b"a\rb@" + HOST.encode()]
        reqs = b"".join(request(i, self.message(), "s\n\"q\"@x.test", r)
                        for i, r in enumerate(rcpts))
        reps, code, err, _ = self.spawn(reqs)
        self.assertEqual(code, 0, err)
        for i in range(len(rcpts)):
            self.assertEqual(reps[i][2], "K", reps[i])
        for m in self.alias.messages():
            head, body = m.split(b"\n\n", 1)
            lines = head.split(b"\n")
            self.assertEqual([l.split(b":")[0] for l in lines],
                             [b"Return-Path", b"Delivered-To", b"Subject"], m)
            self.assertEqual(lines[0], b'Return-Path: <"s_\\"q\\""@x.test>')
        self.assertEqual(len(self.alias.messages()), len(rcpts))

    def test_several_recipients_refused(self):
        reps, code, _, _ = self.spawn(request(4, self.message(), "", "a@" + HOST, "b@" + HOST))
        self.assertEqual(code, 0)
        self.assertEqual(reps[4][0], "ss")
        self.assertEqual(reps[4][2], "Z")

    def test_malformed_request(self):
        self.alias.write(".qmail-default", "|sleep 1; touch finished\n")
        good = request(0, self.message(), "", "x@" + HOST)
        reps, code, err, _ = self.spawn(good + b"notaslot\0")
        self.assertEqual(code, 111)
        self.assertIn("malformed request", err)
        self.assertEqual(reps[0][2], "K")  # what was started is still reported

    def test_usage(self):
        r = subprocess.run([os.path.join(self.inst.bin, "qmail-lspawn")], capture_output=True,
                           env=self.inst.env, timeout=10)
        self.assertEqual(r.returncode, 100)


class TestCrashes(SpawnCase):
    """A qmail-local that crashes or exits oddly: a script run in its
    place through $QMAILLOCAL."""

    def fake_local(self, body):
        p = os.path.join(self.inst.tmp, "fake-local")
        with open(p, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(p, 0o755)
        if qng.IS_ROOT:
            os.chown(p, self.inst.uid, self.inst.gid)
        self.qmaillocal = p

    def one(self):
        reps, code, err, _ = self.spawn(request(0, self.message(), "", "x@" + HOST),
                                        env={"QMAILLOCAL": self.qmaillocal})
        self.assertEqual(code, 0, err)
        return reps[0]

    def test_crash_is_temporary(self):
        self.fake_local("echo about to die\nkill -SEGV $$\n")
        rep = self.one()
        self.assertEqual(rep[0], "s")
        self.assertEqual(rep[2], "Z")
        self.assertIn("about to die", rep[3])
        self.assertIn("qmail-local crashed (signal 11)", rep[3])

    def test_killed_is_temporary(self):
        self.fake_local("kill -KILL $$\n")
        self.assertEqual(self.one()[2], "Z")

    def test_exit_codes(self):
        for code, final in ((0, "K"), (100, "D"), (111, "Z"), (1, "Z"), (99, "Z"), (64, "Z"),
                            (112, "Z"), (255, "Z")):
            with self.subTest(code=code):
                self.fake_local("echo code %d\nexit %d\n" % (code, code))
                rep = self.one()
                self.assertEqual(rep[2], final)
                self.assertEqual(rep[3], "code %d\n" % code)

    def test_arguments(self):
        out = os.path.join(self.inst.tmp, "args")
        self.fake_local("printf '%%s\\n' \"$@\" > %s\ncat >> %s\n" % (out, out))
        if qng.IS_ROOT:
            os.chmod(self.inst.tmp, 0o777)
        reps, _, _, _ = self.spawn(request(0, self.message(), "snd@x.test", "Who.Ever@" + HOST),
                                   default="./Mailbox", env={"QMAILLOCAL": self.qmaillocal})
        self.assertEqual(reps[0][2], "K")
        with open(out, "rb") as f:
            got = f.read()
        self.assertEqual(got, b"--\nalias\n" + self.inst.path("alias").encode() +
                         b"\nwho.ever\n-\nwho.ever\nhost.test\nsnd@x.test\n./Mailbox\n" + MSG)

    def test_missing_qmail_local(self):
        self.qmaillocal = os.path.join(self.inst.tmp, "no-such-program")
        rep = self.one()
        self.assertEqual(rep[2], "Z")
        self.assertIn("Unable to run %s: No such file or directory" % self.qmaillocal, rep[3])

    def test_no_exec_without_qmaillocal(self):
        # the delivery runs qmail-local's code in qmail-lspawn's child:
        # the program file is not needed
        self.alias.maildir()
        self.alias.write(".qmail-default", "./Maildir/\n")
        os.unlink(os.path.join(self.inst.bin, "qmail-local"))
        reps, code, err, _ = self.spawn(request(0, self.message(), "", "x@" + HOST))
        self.assertEqual(code, 0, err)
        self.assertEqual(reps[0][2], "K", reps)
        self.assertEqual(len(self.alias.messages()), 1)
        # the per-user workers are qmail-local --worker: without the
        # program, one warning and a child per delivery
        self.assertIn("no per-user workers", err)


class TestAssign(SpawnCase):
    def newu(self, text):
        self.inst.write(self.inst.path("users", "assign"), text)
        r = self.inst.run("qmail-newu")
        return r

    def test_assign_via_newu(self):
        bob = kit.Home(self.inst, "bob")
        bob.maildir()
        dom = kit.Home(self.inst, "dom")
        dom.write(".qmail-info", "|echo \"$EXT $DEFAULT\" > got\n")
        dom.write(".qmail-default", "|echo \"default $EXT\" > got\n")
        r = self.newu("=bob:bob:%d:%d:%s:::\n+dom.test-:dom:%d:%d:%s:-::\n.\n" % (
            self.inst.uid, self.inst.gid, bob.path, self.inst.uid, self.inst.gid, dom.path))
        self.assertEqual(r.returncode, 0, r.stderr)
        reps, code, err, _ = self.spawn(request(0, self.message(), "s@x.test", "Bob@" + HOST) +
                                        request(1, self.message(), "", "dom.test-info@" + HOST))
        self.assertEqual(code, 0, err)
        self.assertEqual(reps[0][2], "K", reps)
        self.assertEqual(len(bob.messages()), 1)
        self.assertTrue(bob.messages()[0].startswith(b"Return-Path: <s@x.test>\n"
                                                     b"Delivered-To: bob@host.test\n"))
        self.assertEqual(reps[1][2], "K", reps)
        self.assertEqual(dom.read("got"), b"info \n")
        reps, _, _, _ = self.spawn(request(2, self.message(), "", "dom.test-zed@" + HOST))
        self.assertEqual(dom.read("got"), b"default zed\n")

    def test_bad_assign_keeps_old_map(self):
        bob = kit.Home(self.inst, "bob")
        bob.maildir()
        line = "=bob:bob:%d:%d:%s:::\n" % (self.inst.uid, self.inst.gid, bob.path)
        self.assertEqual(self.newu(line + ".\n").returncode, 0)
        r = self.newu(line + "=broken:x:notanumber:1:/x:::\n.\n")
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"users/assign line 2: uid is not a number", r.stderr)
        reps, _, _, _ = self.spawn(request(0, self.message(), "", "bob@" + HOST))
        self.assertEqual(reps[0][2], "K")
        self.assertEqual(len(bob.messages()), 1)

    def test_unreadable_cdb_is_temporary(self):
        os.mkdir(self.inst.path("users", "cdb"))
        reps, _, _, _ = self.spawn(request(0, self.message(), "", "bob@" + HOST))
        self.assertEqual(reps[0][2], "Z")
        self.assertIn("Trouble reading users/cdb", reps[0][3])


if __name__ == "__main__":
    unittest.main()
