# SPDX-License-Identifier: ISC
"""qmail-send's queue management end to end: preprocessing, scheduling,
done marks, bounces (QSBMF + RFC 3464), double and triple bounces, the
retry schedule and queuelifetime, deferral notices, signals, a queue
written in qmail-1.03's format, qmail-qread and the queue tools.

Local deliveries here go through a stand-in spawner (fakespawn.py) and
remote ones through a stand-in qmail-remote (fakeremote.py), both
answering by recipient name, so each test can make a delivery succeed,
fail or defer; the delivery tests with the real qmail-lspawn and
qmail-local are in test_delivery.py."""
import os
import re
import signal
import subprocess
import time
import unittest

import qng

LOG_NEW = r"^new msg (\d+)$"


class SendCase(unittest.TestCase):
    fake = True
    controls = {}
    status = "local 0/10 remote 0/20"  # the line that says qmail-send is up

    def setUp(self):
        self.inst = qng.Instance(me="mx.test", rcpthosts=["mx.test"], locals_=["mx.test"])
        self.addCleanup(self.inst.cleanup)
        for k, v in self.controls.items():
            self.inst.control(k, v)
        self.inst.start_send(fake_local=self.fake, fake_remote=True)
        self.inst.wait_log(r"^status: %s$" % self.status)

    def log(self):
        return self.inst.log("send.log")

    def msgs_logged(self):
        return re.findall(r"^new msg (\d+)$", self.log(), re.M)

    def queued_except(self, ids):
        return [m for m in self.inst.messages() if m["id"] not in ids]


class LogAndDeliveryTest(SendCase):
    def test_seed_log_lines_for_a_local_delivery(self):
        self.assertEqual(self.inst.inject("Subject: x\n\nhi\n", "s@x.test", ["ok1@mx.test"]), 0)
        end = self.inst.wait_log(r"^end msg \d+$")[0]
        lines = self.log().splitlines()
        n = end.split()[-1]
        i = lines.index("new msg %s" % n)
        self.assertRegex(lines[i + 1],
                         r"^info msg %s: bytes \d+ from <s@x\.test> qp \d+ uid \d+$" % n)
        self.assertRegex(lines[i + 2],
                         r"^starting delivery (\d+): msg %s to local ok1@mx\.test$" % n)
        d = re.match(r"^starting delivery (\d+)", lines[i + 2]).group(1)
        self.assertEqual(lines[i + 3], "status: local 1/10 remote 0/20")
        self.assertEqual(lines[i + 4], "delivery %s: success: did_0+0+1/" % d)
        self.assertEqual(lines[i + 5], "status: local 0/10 remote 0/20")
        self.assertEqual(lines[i + 6], "end msg %s" % n)
        # bytes in the info line is the queued message's size
        bytes_ = int(re.search(r"bytes (\d+)", lines[i + 1]).group(1))
        self.assertGreater(bytes_, len("Subject: x\n\nhi\n"))
        # nothing of it is left in the queue
        qng.wait_for(lambda: self.inst.queue_files() == [], 10, what="queue to empty")

    def test_every_recipient_once_and_remote_deferred(self):
        rcpts = ["ok%d@mx.test" % i for i in range(25)] + ["far@remote.test"]
        self.assertEqual(self.inst.inject("x\n", "s@x.test", rcpts), 0)
        self.inst.wait_log(r"success: did_0\+0\+1/$", count=25)
        self.inst.wait_log(r"deferral: Remote_host_said:_451_try_again_later/$")
        with open(os.path.join(self.inst.tmp, "spawn.log")) as f:
            got = sorted(l.split()[2] for l in f)
        self.assertEqual(got, sorted(rcpts[:-1]))
        # the local channel is finished (its file gone once the done marks
        # are on disk), the remote one waits
        out = qng.wait_for(lambda: (lambda o: "local" not in o and o)(
            self.inst.run("qmail-qread").stdout.decode()), 10, what="local/ to go")
        self.assertIn("\tremote\tfar@remote.test\n", out)
        # never more than concurrencylocal at once
        counts = [int(m) for m in re.findall(r"^status: local (\d+)/10", self.log(), re.M)]
        self.assertLessEqual(max(counts), 10)

    def test_virtualdomains_and_percenthack_routing(self):
        self.inst.control("virtualdomains", "virt.test:vuser\n")
        self.inst.control("percenthack", "mx.test\n")
        os.kill(self.inst.send.pid, signal.SIGHUP)
        self.inst.wait_log(r"^status: control files reread$")
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["ok@virt.test",
                                                                "ok2%mx.test@mx.test"]), 0)
        self.inst.wait_log(r"success", count=2)
        self.assertIn("to local vuser-ok@virt.test", self.log())
        self.assertIn("to local ok2@mx.test", self.log())


class BounceTest(SendCase):
    def bounce_of(self, original_id):
        """The bounce message queued for original_id (a new message)."""
        line = self.inst.wait_log(r"^bounce msg %s qp \d+$" % original_id)[0]
        return line

    def test_bounce_content(self):
        body = "From: s@x.test\nSubject: the original\n\nsome text\n"
        self.assertEqual(self.inst.inject(body, "s@x.test", ["ok@mx.test", "bad1@mx.test"]), 0)
        n = self.inst.wait_log(LOG_NEW)[0].split()[-1]
        self.bounce_of(n)
        self.inst.wait_log(r"^end msg %s$" % n)
        # the bounce goes to the (remote) sender: it waits in the queue
        def bounce_msg():
            for m in self.inst.messages():
                if m["rcpts"] == ["s@x.test"]:
                    return m
            return None
        m = qng.wait_for(bounce_msg, 10, what="the bounce in the queue")
        text = m["mess"].decode()
        self.assertEqual(m["sender"], "")
        self.assertIn("\nFrom: MAILER-DAEMON@mx.test\n", text)
        self.assertIn("\nTo: s@x.test\n", text)
        self.assertIn("\nSubject: failure notice\n", text)
        self.assertIn("Content-Type: multipart/report; report-type=delivery-status;", text)
        self.assertIn("Hi. This is the qmail-send program at mx.test.\n"
                      "I'm afraid I wasn't able to deliver your message to the following "
                      "addresses.\nThis is a permanent error; I've given up. Sorry it didn't "
                      "work out.\n\n<bad1@mx.test>:\n"
                      "Sorry, no mailbox here by that name. (#5.1.1)\n\n"
                      "--- Below this line is a copy of the message.\n", text)
        self.assertNotIn("<ok@mx.test>", text)
        self.assertIn("Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.test\n", text)
        self.assertIn("Final-Recipient: rfc822; bad1@mx.test\nAction: failed\nStatus: 5.1.1\n", text)
        self.assertIn("Content-Type: message/rfc822\n\nReturn-Path: <s@x.test>\n", text)
        self.assertIn("Subject: the original\n\nsome text\n", text)

    def test_double_bounce_goes_to_postmaster(self):
        self.assertEqual(self.inst.inject("x\n", "", ["bad2@mx.test"]), 0)
        n = self.inst.wait_log(LOG_NEW)[0].split()[-1]
        self.bounce_of(n)
        # the double bounce: from #@[] to postmaster@mx.test, delivered locally
        lines = self.inst.wait_log(r"^info msg \d+: bytes \d+ from <#@\[\]> qp \d+ uid \d+$")
        self.inst.wait_log(r"to local postmaster@mx\.test$")

    def test_triple_bounce_is_discarded(self):
        self.assertEqual(self.inst.inject("x\n", "#@[]", ["bad3@mx.test"]), 0)
        n = self.inst.wait_log(LOG_NEW)[0].split()[-1]
        self.inst.wait_log(r"^triple bounce: discarding bounce/%s$" % n)
        self.inst.wait_log(r"^end msg %s$" % n)
        qng.wait_for(lambda: self.inst.queue_files() == [], 10, what="queue to empty")


class BounceCopyCase(SendCase):
    """A bounce quotes the original's header and the first 10 KB of its
    body, or the first bouncemaxbytes bytes of it, and says when it cut."""

    HEADER = b"From: s@x.test\nSubject: big\nX-Pad: " + b"h" * 3000 + b"\n"
    BODY = b"".join(b"%099d\n" % i for i in range(1000))  # 100 KB, 100-byte lines

    def bounced_copy(self, sender, body, rcpt):
        self.assertEqual(self.inst.inject(body, sender, [rcpt]), 0)
        n = self.inst.wait_log(r"^new msg (\d+)$")[0].split()[-1]
        self.inst.wait_log(r"^bounce msg %s qp \d+$" % n)

        def bounce():
            for m in self.inst.messages():
                if m["rcpts"] == [sender] and b"Subject: failure notice" in m["mess"]:
                    return m["mess"]
            return None
        text = qng.wait_for(bounce, 10, what="the bounce in the queue")
        start = b"Return-Path: <%s>\n" % sender.encode()
        self.assertIn(start, text)
        copy = text.split(start, 1)[1]
        return copy[:copy.rindex(b"\n--qmail-ng-")]

    def original(self, copy, body):
        recv = copy.split(b"\n", 1)[0] + b"\n"
        self.assertTrue(recv.startswith(b"Received: (qmail "), recv)
        return recv + body


class BounceSizeTest(BounceCopyCase):
    def test_default_header_and_10k_of_body(self):
        body = self.HEADER + b"\n" + self.BODY
        copy = self.bounced_copy("s@x.test", body, "bad1@mx.test")
        orig = self.original(copy, body)
        hdr = orig.index(b"\n\n") + 1
        want = orig[:hdr + 10240]
        self.assertTrue(copy.startswith(want))
        self.assertEqual(copy[len(want):], b"\n\n--- The rest of the message was cut: this copy "
                         b"holds its first %d of %d bytes.\n" % (len(want), len(orig)))

    def test_small_message_whole_and_no_note(self):
        body = b"Subject: small\n\n" + b"x" * 5000 + b"\n"
        copy = self.bounced_copy("s@x.test", body, "bad2@mx.test")
        orig = self.original(copy, body)
        self.assertEqual(copy, orig)
        self.assertNotIn(b"was cut", copy)


class BounceMaxBytesTest(BounceCopyCase):
    controls = {"bouncemaxbytes": "5000\n"}

    def test_first_bouncemaxbytes_bytes(self):
        # the first 5000 bytes, counted from the start of the message
        body = self.HEADER + b"\n" + self.BODY
        copy = self.bounced_copy("s@x.test", body, "bad1@mx.test")
        orig = self.original(copy, body)
        self.assertTrue(copy.startswith(orig[:5000]))
        self.assertEqual(copy[5000:], b"\n\n--- The rest of the message was cut: this copy "
                         b"holds its first 5000 of %d bytes.\n" % len(orig))

    def test_header_longer_than_the_limit(self):
        # the limit holds even inside the header
        body = b"Subject: h\nX-Pad: " + b"p" * 8000 + b"\n\nbody\n"
        copy = self.bounced_copy("s@x.test", body, "bad3@mx.test")
        orig = self.original(copy, body)
        self.assertTrue(copy.startswith(orig[:5000]))
        self.assertIn(b"was cut: this copy holds its first 5000 of %d bytes.\n" % len(orig),
                      copy)
        self.assertNotIn(b"body", copy)


class RetryTest(SendCase):
    controls = {"retryschedule": "local:1\nremote:1\n", "queuelifetime": "6\n",
                "warnafter": "2\n"}

    def test_retries_notice_then_bounce_after_queuelifetime(self):
        t0 = time.monotonic()
        self.assertEqual(self.inst.inject("Subject: slow\n\nx\n", "s@x.test", ["later1@mx.test"]), 0)
        n = self.inst.wait_log(LOG_NEW)[0].split()[-1]
        # attempts at birth + 0, 1, 4, then >6 s old: bounce
        self.inst.wait_log(r"^bounce msg %s qp" % n, timeout=30)
        starts = re.findall(r"^starting delivery \d+: msg %s to local later1@mx\.test$" % n,
                            self.log(), re.M)
        self.assertGreaterEqual(len(starts), 3)
        self.assertLessEqual(len(starts), 5)
        self.assertGreaterEqual(time.monotonic() - t0, 6)
        # one deferral notice, then the bounce
        self.assertEqual(len(re.findall(r"^notice msg %s qp \d+$" % n, self.log(), re.M)), 1)
        bounces = [m for m in self.inst.messages()
                   if b"Subject: failure notice" in m["mess"] and m["rcpts"] == ["s@x.test"]]
        notices = [m for m in self.inst.messages()
                   if b"Subject: warning: message delayed" in m["mess"]]
        self.assertEqual(len(notices), 1)
        self.assertIn(b"Action: delayed\nStatus: 4.3.0\n", notices[0]["mess"])
        self.assertIn(b"Content-Type: text/rfc822-headers\n\nReturn-Path: <s@x.test>\n"
                      b"Received: (qmail", notices[0]["mess"])
        self.assertNotIn(b"\n\nx\n", notices[0]["mess"].split(b"text/rfc822-headers")[1])
        # the bounce arrived after the notice was queued and says why
        qng.wait_for(lambda: [m for m in self.inst.messages()
                              if b"Subject: failure notice" in m["mess"]], 10)
        b = [m for m in self.inst.messages() if b"Subject: failure notice" in m["mess"]][0]
        self.assertIn(b"<later1@mx.test>:\nTemporary trouble, try later. (#4.3.0)\n"
                      b"I'm not going to try again; this message has been in the queue too long.\n",
                      b["mess"])


class SignalTest(SendCase):
    controls = {"retryschedule": "local:100\nremote:100\n"}

    def test_alrm_retries_now(self):
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["later5@mx.test"]), 0)
        self.inst.wait_log(r"deferral: Temporary_trouble")
        os.kill(self.inst.send.pid, signal.SIGALRM)
        self.inst.wait_log(r"deferral: Temporary_trouble", count=2)

    def test_hup_rereads_locals(self):
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["ok@new.test"]), 0)
        self.inst.wait_log(r"to remote ok@new\.test$")
        self.inst.control("locals", "mx.test\nnew.test\n")
        os.kill(self.inst.send.pid, signal.SIGHUP)
        self.inst.wait_log(r"^status: control files reread$")
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["ok@new.test"]), 0)
        self.inst.wait_log(r"to local ok@new\.test$")

    def test_term_finishes_running_deliveries(self):
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["slow1@mx.test"]), 0)
        self.inst.wait_log(r"to local slow1@mx\.test$")
        os.kill(self.inst.send.pid, signal.SIGTERM)
        self.assertEqual(self.inst.send.wait(timeout=15), 0)
        log = self.log()
        self.assertIn("status: exiting", log)
        self.assertRegex(log, r"delivery \d+: success: did_0\+0\+1/")
        self.assertEqual(self.inst.queue_files(), [])

    def test_restart_never_repeats_a_finished_recipient(self):
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["ok7@mx.test", "later7@mx.test"]), 0)
        self.inst.wait_log(r"deferral: Temporary_trouble")
        self.inst.wait_log(r"success: did_0\+0\+1/")
        os.kill(self.inst.send.pid, signal.SIGTERM)
        self.inst.send.wait(timeout=15)
        before = self.log().count("status: local 0/10 remote 0/20\n")
        self.inst.start_send(fake_local=True, fake_remote=True)
        self.inst.wait_log(r"^status: local 0/10 remote 0/20$", count=before + 1)
        os.kill(self.inst.send.pid, signal.SIGALRM)
        self.inst.wait_log(r"deferral: Temporary_trouble", count=2)
        with open(os.path.join(self.inst.tmp, "spawn.log")) as f:
            rcpts = [l.split()[2] for l in f]
        self.assertEqual(rcpts.count("ok7@mx.test"), 1)
        self.assertEqual(rcpts.count("later7@mx.test"), 2)


class ExitWaitTest(SendCase):
    """qmail-send told to exit waits for its running deliveries without
    spinning: a message that is due but may no longer start must not make
    every poll return at once."""
    controls = {"concurrencylocal": "1\n"}
    status = "local 0/1 remote 0/20"

    @staticmethod
    def stat(pid):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # state, then utime and stime in clock ticks (proc(5): fields 3, 14, 15)
        return fields[0], int(fields[11]) + int(fields[12])

    def test_term_while_a_message_waits_for_a_slot(self):
        for _ in range(2):
            self.assertEqual(self.inst.inject("x\n", "s@x.test", ["sleepy@mx.test"]), 0)
        self.inst.wait_log(r"to local sleepy@mx\.test$")
        pid = self.inst.send.pid
        cpu0 = self.stat(pid)[1]
        os.kill(pid, signal.SIGTERM)
        # the running delivery takes 3 s; then qmail-send ends (a
        # zombie until reaped, its CPU times still readable)
        qng.wait_for(lambda: self.stat(pid)[0] == "Z", 15, what="qmail-send's exit")
        used = (self.stat(pid)[1] - cpu0) / os.sysconf("SC_CLK_TCK")
        self.assertEqual(self.inst.send.wait(timeout=15), 0)
        # spinning burnt most of the 3 s; waiting costs a few ms (more
        # under a sanitizer's exit checks)
        self.assertLess(used, 0.6, "CPU seconds spent waiting to exit")
        log = self.log()
        self.assertEqual(log.count("starting delivery"), 1, log)
        self.assertIn("status: exiting", log)
        # the second message stays queued for the next start
        self.assertEqual(len(self.inst.messages()), 1)


class SendMutexTest(SendCase):
    """One qmail-send per queue, as qmail-1.03 has it: qmail-send locks
    lock/sendmutex, and a second qmail-start on the same queue ends with
    qmail-1.03's alert (exit 111) before it reads or changes anything in
    the queue, its helpers with it; the first goes on delivering."""
    controls = {"retryschedule": "local:1000\nremote:1000\n"}
    OLD = 36 * 3600 + 60

    def setUp(self):
        self.inst = qng.Instance(me="mx.test", rcpthosts=["mx.test"], locals_=["mx.test"])
        self.addCleanup(self.inst.cleanup)
        for k, v in self.controls.items():
            self.inst.control(k, v)
        # gone once the first's qmail-clean has made its first sweep
        self.canary = self.old_file(self.inst.path("queue", "pid", "1.1.0"))
        self.inst.start_send(fake_local=True, fake_remote=True)
        self.inst.wait_log(r"^status: local 0/10 remote 0/20$")

    def snapshot(self):
        """Every file and directory under queue/ but lock/, with its inode,
        size and mtime."""
        q = self.inst.path("queue")
        out = {}
        for root, dirs, files in os.walk(q):
            for n in dirs + files:
                rel = os.path.relpath(os.path.join(root, n), q)
                if rel.split("/")[0] == "lock":
                    continue
                st = os.lstat(os.path.join(q, rel))
                out[rel] = (st.st_ino, st.st_size, st.st_mtime_ns)
        return out

    def old_file(self, path, content=b"x"):
        self.inst.write(path, content, 0o600)
        os.utime(path, (time.time() - self.OLD, time.time() - self.OLD))
        return path

    def test_second_qmail_start_is_refused_and_touches_nothing(self):
        q = lambda *p: self.inst.path("queue", *p)
        qng.wait_for(lambda: not os.path.exists(self.canary), 30, what="the first sweep")
        # what a running qmail-send would act on: a deferred message, one
        # still in todo/ (written by hand, no trigger), and what killed
        # qmail-queues left (a pid/ file; intd/ and mess/ files with no
        # todo/), 36 hours old
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["later@mx.test"]), 0)
        self.inst.wait_log(r"deferral: Temporary_trouble")
        debris = [self.old_file(q("pid", "2.2.0"))]
        for todo in (False, True):
            path = q("mess", "0", "new")
            self.inst.write(path, b"Subject: x\n\nx\n")
            n = os.stat(path).st_ino
            os.rename(path, q("mess", str(n % 23), str(n)))
            if todo:
                self.inst.write(q("todo", str(n)), b"u0\0p1\0Fs@x.test\0Tok9@mx.test\0", 0o600)
                waiting = n
            else:
                debris.append(self.old_file(q("intd", str(n)), b"u0\0p1\0Fs@x.test\0"))
                debris.append(q("mess", str(n % 23), str(n)))
                os.utime(debris[-1], (time.time() - self.OLD,) * 2)
        before = self.snapshot()
        logf = os.path.join(self.inst.tmp, "send2.log")
        with open(logf, "ab") as out:
            p = subprocess.Popen([os.path.join(self.inst.bin, "qmail-start"), "./Maildir/"],
                                 env=self.inst.env, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=out, start_new_session=True, cwd=self.inst.tmp)

        def kill_rest():
            for pid in qng.session_members(p.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if p.poll() is None:
                p.wait(timeout=10)
        self.addCleanup(kill_rest)
        self.assertEqual(p.wait(timeout=30), 111)
        # its helpers end with it
        qng.wait_for(lambda: not qng.session_members(p.pid), 15, what="the second's helpers to end")
        with open(logf) as f:
            self.assertEqual(f.read(), "alert: cannot start: qmail-send is already running\n")
        # nothing in the queue was touched
        self.assertEqual(self.snapshot(), before)
        for f in debris:
            self.assertTrue(os.path.exists(f), f)
        self.assertNotIn("new msg %d\n" % waiting, self.log())
        # the first goes on
        self.assertIsNone(self.inst.send.poll())
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["ok@mx.test"]), 0)
        self.inst.wait_log(r"^end msg \d+$")
        self.inst.wait_log(r"^new msg %d$" % waiting)
        self.assertNotIn("alert", self.log())


class CompatTest(unittest.TestCase):
    """A queue as qmail-1.03 leaves it is delivered."""

    def test_qmail_103_queue(self):
        inst = qng.Instance(me="mx.test", rcpthosts=["mx.test"], locals_=["mx.test"])
        self.addCleanup(inst.cleanup)
        # three messages the way qmail-1.03 stores them: mess/S/N with the
        # message, info/S/N with the sender, local/S/N with T/D records
        ids = []
        for i in range(3):
            path = inst.path("queue", "mess", "0", "x")
            inst.write(path, b"Received: (qmail 1 invoked by uid 0); 1 Jan 2020 00:00:00 -0000\n"
                             b"Subject: old %d\n\nbody\n" % i)
            n = os.stat(path).st_ino
            os.rename(path, inst.path("queue", "mess", str(n % 23), str(n)))
            inst.write(inst.path("queue", "info", str(n % 23), str(n)), b"Fold@x.test\0", 0o600)
            inst.write(inst.path("queue", "local", str(n % 23), str(n)),
                       b"Dalready%d@mx.test\0Tok%d@mx.test\0" % (i, i), 0o600)
            ids.append(n)
        inst.start_send(fake_local=True, fake_remote=True)
        inst.wait_log(r"^status: queue read, 3 messages$")
        # due now: as for qmail-1.03, the local/ files' mtime (just
        # written) is the next attempt
        inst.wait_log(r"^end msg \d+$", count=3)
        with open(os.path.join(inst.tmp, "spawn.log")) as f:
            got = sorted(l.split()[2] for l in f)
        self.assertEqual(got, ["ok0@mx.test", "ok1@mx.test", "ok2@mx.test"])
        qng.wait_for(lambda: inst.queue_files() == [], 10, what="queue to empty")


RECEIVED_103 = b"Received: (qmail 1 invoked by uid 0); 1 Jan 2020 00:00:00 -0000\n"


def write_103_message(inst, sender, local=None, remote=None, info_mtime=None, body=b"x\n",
                       bounce=None):
    """One preprocessed message as qmail-1.03 stores it: mess/S/N, info/S/N
    (the F record only), local/S/N and remote/S/N (T/D records), bounce/N.
    local, remote: lists of (record type, address) or None.  Returns N."""
    path = inst.path("queue", "mess", "0", "new")
    inst.write(path, RECEIVED_103 + body)
    n = os.stat(path).st_ino
    os.rename(path, inst.path("queue", "mess", str(n % 23), str(n)))
    info = inst.path("queue", "info", str(n % 23), str(n))
    inst.write(info, b"F" + sender + b"\0", 0o600)
    for chan, recs in (("local", local), ("remote", remote)):
        if recs is not None:
            inst.write(inst.path("queue", chan, str(n % 23), str(n)),
                       b"".join(t + a + b"\0" for t, a in recs), 0o600)
    if bounce is not None:
        inst.write(inst.path("queue", "bounce", str(n)), bounce, 0o600)
    if info_mtime is not None:
        os.utime(info, (info_mtime, info_mtime))
    return n


def chan_file(inst, chan, n):
    return inst.path("queue", chan, str(n % 23), str(n))


class NextAttemptTest(unittest.TestCase):
    """The next attempt of a message's local or remote deliveries is its
    local/S/N or remote/S/N file's mtime, as qmail-1.03 keeps it (its
    qmail-send utime()s the file after a deferral and schedules from the
    mtime at start): read from a queue qmail-1.03 left, and written so
    that qmail-1.03 (or qmail-ng) started on the queue we leave retries on
    time."""

    def instance(self, **controls):
        inst = qng.Instance(me="mx.test", rcpthosts=["mx.test"], locals_=["mx.test"])
        self.addCleanup(inst.cleanup)
        for k, v in controls.items():
            inst.control(k, v)
        return inst

    def starts(self, inst, rcpt):
        """Lines 'starting delivery D: msg N to CHAN rcpt' so far."""
        return re.findall(r"(?m)^starting delivery \d+: msg \d+ to \w+ %s$" % re.escape(rcpt),
                          inst.log("send.log"))

    def test_qmail_103_mtimes_past_future_and_mixed(self):
        inst = self.instance()
        now = int(time.time())
        born = now - 10  # the schedule from birth would wait 90 s more (skip 10)
        soon = now + 5
        msgs = {}
        for name, local, remote in (("past", now - 3600, None), ("soon", soon, None),
                                    ("far", now + 86400, None), ("mix", now - 100, now + 86400)):
            n = write_103_message(inst, b"s@x.test", info_mtime=born,
                                  local=[(b"T", b"ok%s@mx.test" % name.encode())],
                                  remote=None if remote is None else [(b"T", b"ok@far.test")])
            os.utime(chan_file(inst, "local", n), (local, local))
            if remote is not None:
                os.utime(chan_file(inst, "remote", n), (remote, remote))
            msgs[name] = n
        inst.start_send(fake_local=True, fake_remote=True)
        # in the past: due at once, no SIGALRM needed
        inst.wait_log(r"to local okpast@mx\.test$", timeout=5)
        inst.wait_log(r"to local okmix@mx\.test$", timeout=5)
        self.assertEqual(self.starts(inst, "okfar@mx.test"), [])
        self.assertEqual(self.starts(inst, "oksoon@mx.test"), [])
        # a few seconds ahead: then and not before
        qng.wait_for(lambda: self.starts(inst, "oksoon@mx.test"), 15, step=0.05,
                     what="the delivery due at the mtime")
        seen = time.time()
        self.assertGreaterEqual(seen, soon)
        self.assertLess(seen, soon + 3)
        inst.wait_log(r"^end msg %d$" % msgs["soon"])
        # far ahead: not tried, on either channel
        time.sleep(1)
        self.assertEqual(self.starts(inst, "okfar@mx.test"), [])
        self.assertEqual(self.starts(inst, "ok@far.test"), [])
        out = inst.run("qmail-qread").stdout.decode()
        self.assertIn("\tlocal\tokfar@mx.test\n", out)
        self.assertIn("\tremote\tok@far.test\n", out)  # mix: its local/ is finished
        self.assertNotIn("okmix", out)
        # and what waits keeps its time on disk
        self.assertEqual(os.stat(chan_file(inst, "local", msgs["far"])).st_mtime, now + 86400)
        self.assertEqual(os.stat(chan_file(inst, "remote", msgs["mix"])).st_mtime, now + 86400)

    def test_mtime_beyond_the_lifetime_is_brought_back(self):
        # year 2100: past both the next attempt (birth + 16 s with skip 1)
        # and the end of a 5 s queuelifetime, so tried at birth + 16, bounced
        inst = self.instance(retryschedule="local:1\n", queuelifetime="5\n")
        born = int(time.time()) - 10
        n = write_103_message(inst, b"s@x.test", info_mtime=born,
                              local=[(b"T", b"laterclamp@mx.test")])
        os.utime(chan_file(inst, "local", n), (4102444800, 4102444800))
        inst.start_send(fake_local=True, fake_remote=True)
        inst.wait_log(r"to local laterclamp@mx\.test$", timeout=20)
        self.assertGreaterEqual(time.time(), born + 16 - 1)
        inst.wait_log(r"^bounce msg %d qp" % n, timeout=10)

    def test_deferral_sets_the_mtime_requeue_sets_it_to_now(self):
        inst = self.instance(retryschedule="local:100\n", concurrencylocal="1\n")
        inst.start_send(fake_local=True, fake_remote=True)
        inst.wait_log(r"^status: local 0/1 remote 0/20$")
        self.assertEqual(inst.inject("x\n", "s@x.test", ["laterx@mx.test"]), 0)
        self.assertEqual(inst.inject("x\n", "s@x.test", ["latery@mx.test"]), 0)
        inst.wait_log(r"deferral: Temporary_trouble", count=2)
        ids = [int(x) for x in re.findall(r"(?m)^new msg (\d+)$", inst.log("send.log"))]
        x, y = ids
        # after the deferral: the next attempt on the schedule, (1 * 100)^2
        # seconds after the birth (info/'s mtime), in the mtime and atime
        for n in (x, y):
            birth = int(os.stat(inst.path("queue", "info", str(n % 23), str(n))).st_mtime)
            st = qng.wait_for(lambda: (lambda st: st.st_mtime == birth + 10000 and st)(
                os.stat(chan_file(inst, "local", n))), 5, what="local/ mtime of %d" % n)
            self.assertEqual(st.st_atime, birth + 10000)
        # info/ is F only, as qmail-1.03 writes it (its qmail-send reads
        # the first record as the sender)
        with open(inst.path("queue", "info", str(x % 23), str(x)), "rb") as f:
            self.assertEqual(f.read(), b"Fs@x.test\0")
        # a slow delivery holds the one slot; x, requeued, waits behind it
        self.assertEqual(inst.inject("x\n", "s@x.test",
                                     ["slow%d@mx.test" % i for i in range(5)]), 0)
        inst.wait_log(r"to local slow0@mx\.test$")
        t0 = time.time()
        r = inst.run("qmail-qrequeue", str(x))
        self.assertEqual(r.returncode, 0, r.stderr)
        inst.wait_log(r"^requeue msg %d$" % x)
        mt = os.stat(chan_file(inst, "local", x)).st_mtime
        self.assertGreaterEqual(mt, int(t0))
        self.assertLessEqual(mt, time.time())
        os.kill(inst.send.pid, signal.SIGTERM)
        self.assertEqual(inst.send.wait(timeout=15), 0)
        self.assertEqual(len(self.starts(inst, "laterx@mx.test")), 1)
        # the request survives the restart: x is tried at once, y is not
        # (no storm: it keeps its time)
        inst.start_send(fake_local=True, fake_remote=True)
        qng.wait_for(lambda: len(self.starts(inst, "laterx@mx.test")) == 2, 10,
                     what="x tried again after the restart")
        inst.wait_log(r"^status: queue read, \d+ messages$")
        time.sleep(1)
        self.assertEqual(len(self.starts(inst, "latery@mx.test")), 1)


class OrphanTest(unittest.TestCase):
    """What a qmail-queue killed mid-write leaves (mess/S/N, intd/N, no
    todo/N) is removed once untouched for 36 hours, as qmail-1.03's
    qmail-send does, with a warning each; nothing younger or committed is
    touched.  A todo/N whose mess/ is gone is removed too."""

    OLD = 36 * 3600 + 60

    def mess(self, inst, when, intd=False, todo=None, info=False):
        path = inst.path("queue", "mess", "0", "new")
        inst.write(path, b"Received: (qmail 1 invoked by uid 0); 1 Jan 2020 00:00:00 -0000\n"
                         b"half a mess")
        n = os.stat(path).st_ino
        mess = inst.path("queue", "mess", str(n % 23), str(n))
        os.rename(path, mess)
        files = [mess]
        if intd:
            files.append(inst.path("queue", "intd", str(n)))
            inst.write(files[-1], b"u0\0p1\0Fs@x.test\0", 0o600)
        if todo is not None:
            files.append(inst.path("queue", "todo", str(n)))
            inst.write(files[-1], todo, 0o600)
        if info:
            files.append(inst.path("queue", "info", str(n % 23), str(n)))
            inst.write(files[-1], b"Fs@x.test\0", 0o600)
            files.append(inst.path("queue", "local", str(n % 23), str(n)))
            inst.write(files[-1], b"Tokold@mx.test\0", 0o600)
            far = time.time() + 86400
            os.utime(files[-1], (far, far))
        for f in files:
            if f.endswith("/%d" % n) and "local/" not in f:
                os.utime(f, (when, when))
        return n, files

    def test_orphans_removed_at_start_young_and_committed_kept(self):
        inst = qng.Instance(me="mx.test", rcpthosts=["mx.test"], locals_=["mx.test"])
        self.addCleanup(inst.cleanup)
        old = time.time() - self.OLD
        a, fa = self.mess(inst, old, intd=True)       # killed after intd/
        b, fb = self.mess(inst, old)                  # killed before intd/
        y, fy = self.mess(inst, time.time() - 3600, intd=True)  # may still be written
        q, fq = self.mess(inst, old, info=True)       # an old message, preprocessed
        # intd/ alone (mess/ already gone), old
        c = 987654321
        fc = inst.path("queue", "intd", str(c))
        inst.write(fc, b"u0\0", 0o600)
        os.utime(fc, (old, old))
        # a committed message whose mess/ is gone: its todo/ goes, logged
        g, fg = self.mess(inst, old, todo=b"u0\0p1\0Fs@x.test\0Tokg@mx.test\0")
        os.unlink(fg[0])
        t0 = time.monotonic()
        inst.start_send(fake_local=True, fake_remote=True)
        for f in fa + fb + [fc] + fg:
            qng.wait_for(lambda: not os.path.exists(f), 60, what="%s removed" % f)
        self.assertLess(time.monotonic() - t0, 60)
        log = inst.log("send.log")
        ms = lambda n: "mess/%d/%d" % (n % 23, n)
        # each removal named in a warning
        # a: by qmail-send's sweep of mess/ ('o': intd/ and mess/), or by
        # qmail-clean's of intd/, whichever comes first
        inst.wait_log(r"warning: removed orphan (.*intd/%d|%s)\b" % (a, ms(a)))
        inst.wait_log(r"warning: removed orphan %s\b" % ms(b))
        inst.wait_log(r"warning: removed orphan intd/%d\b" % c)
        inst.wait_log(r"^warning: todo/%d has no %s: the message is lost; removing todo/%d$"
                      % (g, ms(g), g))
        # nothing else went
        for f in fy + fq:
            self.assertTrue(os.path.exists(f), f)
        log = inst.log("send.log")
        for n in (y, q):
            self.assertNotIn("/%d " % n, log.replace("\n", " "))
        self.assertNotIn("okg@mx.test", log)  # nothing to deliver
        self.assertEqual(inst.run("qmail-qstat").stdout.decode(),
                         "messages in queue: 1\nmessages in queue but not yet preprocessed: 0\n")


def inject_bytes(inst, body, sender, rcpts):
    """qmail-queue with an envelope of raw bytes (as the instance owner)."""
    envl = b"F" + sender + b"\0" + b"".join(b"T" + r + b"\0" for r in rcpts) + b"\0"
    r, w = os.pipe()
    pre = inst.as_owner()
    p = subprocess.Popen([os.path.join(inst.bin, "qmail-queue")], stdin=subprocess.PIPE,
                         stdout=r, env=inst.env, preexec_fn=pre)
    os.close(r)
    p.stdin.write(body)
    p.stdin.close()
    os.write(w, envl)
    os.close(w)
    return p.wait(timeout=30)


class HostileEnvelopeTest(SendCase):
    """Envelope bytes from a local user's sendmail or an SMTPUTF8 client
    (ESC sequences, newlines, UTF-8 C1 controls, bytes that are no UTF-8)
    reach neither the log nor qmail-qread's output as they are: they are
    shown as \\ooo, so they cannot forge lines or drive a terminal."""

    SENDER = b"evil\x1b[2J\xc2\x9b31m\nforged line\xff\\@x.test"
    SENDER_VIS = "evil\\033[2J\\302\\23331m\\012forged line\\377\\134@x.test"
    RCPT = b"later\x1b]0;x\x07\nstatus: forged\xc2\x85@mx.test"
    RCPT_VIS = "later\\033]0;x\\007\\012status: forged\\302\\205@mx.test"

    def test_log_and_qread_show_envelope_bytes_escaped(self):
        utf8 = "r\u00e9sum\u00e9@mx.test".encode()  # valid UTF-8 stays as it is
        self.assertEqual(inject_bytes(self.inst, b"x\n", self.SENDER,
                                      [self.RCPT, b"later" + utf8]), 0)
        self.inst.wait_log(r"deferral: Temporary_trouble", count=2)
        with open(os.path.join(self.inst.tmp, "send.log"), "rb") as f:
            raw = f.read()
        for bad in (b"\x1b", b"\x07", b"\xc2\x9b", b"\xc2\x85", b"\xff"):
            self.assertNotIn(bad, raw)
        lines = raw.decode().splitlines()
        self.assertFalse([l for l in lines if l.startswith(("forged", "status: forged"))])
        n = re.search(r"(?m)^new msg (\d+)$", raw.decode()).group(1)
        self.assertIn("info msg %s: bytes " % n, raw.decode())
        self.assertRegex(raw.decode(), r"(?m)^info msg %s: bytes \d+ from <%s> qp \d+ uid \d+$"
                         % (n, re.escape(self.SENDER_VIS)))
        self.assertRegex(raw.decode(), r"(?m)^starting delivery \d+: msg %s to local %s$"
                         % (n, re.escape(self.RCPT_VIS)))
        self.assertRegex(raw.decode(), r"(?m)^starting delivery \d+: msg %s to local %s$"
                         % (n, re.escape("later" + utf8.decode())))
        # qmail-qread: the same escapes, nothing raw
        out = self.inst.run("qmail-qread").stdout
        for bad in (b"\x1b", b"\x07", b"\xc2\x9b", b"\xc2\x85", b"\xff"):
            self.assertNotIn(bad, out)
        out = out.decode()
        self.assertRegex(out, r"GMT  #%s  \d+  <%s> \n" % (n, re.escape(self.SENDER_VIS)))
        self.assertIn("\tlocal\t%s\n" % self.RCPT_VIS, out)
        self.assertIn("\tlocal\tlater%s\n" % utf8.decode(), out)
        self.assertEqual(len(out.splitlines()), 3)


class CtrlCTest(unittest.TestCase):
    """A Ctrl-C (SIGINT to the whole process group, as a terminal sends it
    under make run) ends qmail-start's family cleanly: qmail-send acts as
    on SIGTERM and finishes the running deliveries, the helpers and the
    logger ignore it and end when qmail-send closes their pipes."""

    def test_sigint_to_the_process_group(self):
        from test_delivery import mailbox_instance, maildir_messages
        inst = mailbox_instance()
        self.addCleanup(inst.cleanup)
        home = os.path.dirname(inst.maildir)
        # box-slow@: a delivery that takes a while (a program, then the Maildir)
        inst.write(os.path.join(home, ".qmail-slow"), "|sleep 2\n./Maildir/\n")
        logdir = os.path.join(inst.tmp, "sendlog")
        os.mkdir(logdir)
        if qng.IS_ROOT:
            os.chown(logdir, inst.uid, inst.gid)
        here = os.path.dirname(os.path.abspath(__file__))
        fake = os.path.join(inst.bin, "fakeremote")
        import shutil
        shutil.copy(os.path.join(here, "fakeremote.py"), fake)
        os.chmod(fake, 0o755)
        env = dict(inst.env, QMAILREMOTE=fake,
                   FAKEREMOTE_LOG=os.path.join(inst.tmp, "remote.log"))
        inst.write(env["FAKEREMOTE_LOG"], b"")
        out = open(os.path.join(inst.tmp, "start.log"), "ab")
        p = subprocess.Popen([os.path.join(inst.bin, "qmail-start"), "./Maildir/",
                              os.path.join(inst.bin, "multilog"), "t", logdir],
                             env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                             start_new_session=True, cwd=inst.tmp)

        def cleanup():
            for pid in qng.session_members(p.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if p.poll() is None:
                p.wait(timeout=10)
            out.close()
        self.addCleanup(cleanup)
        current = os.path.join(logdir, "current")

        def log():
            try:
                with open(current, "rb") as f:
                    return f.read().decode(errors="replace")
            except FileNotFoundError:
                return ""
        qng.wait_for(lambda: "status: local 0/10 remote 0/20" in log(), 15, what="qmail-send up")
        members = qng.session_members(p.pid)
        self.assertGreaterEqual(len(members), 5, members)  # send, lspawn, rspawn, clean, logger
        self.assertEqual(inst.inject("Subject: slow\n\nx\n", "s@x.test",
                                     ["box-slow@example.test", "slowr@far.test"]), 0)
        qng.wait_for(lambda: "to local box-slow@example.test" in log() and
                     "to remote slowr@far.test" in log(), 15, what="both deliveries started")
        os.killpg(p.pid, signal.SIGINT)
        self.assertEqual(p.wait(timeout=30), 0)
        qng.wait_for(lambda: not qng.session_members(p.pid), 15,
                     what="every process of the group to end: %s" % [
                         qng.comm(x) for x in qng.session_members(p.pid)])
        text = log()
        self.assertNotIn("alert:", text)
        self.assertNotIn("lost connection", text)
        # the running deliveries finished, then the exit lines
        self.assertRegex(text, r"delivery \d+: success: did_1\+0\+1/")
        self.assertRegex(text, r"delivery \d+: success: ")
        self.assertEqual(len(re.findall(r"delivery \d+: success", text)), 2, text)
        self.assertRegex(text, r"status: local \d/10 remote \d/20 exitasap\n")
        lines = [l.split(" ", 1)[1] for l in text.splitlines() if l]  # the TAI64N stamp off
        self.assertEqual(lines[-1], "status: exiting")
        self.assertEqual(len(maildir_messages(inst.maildir)), 1)
        self.assertEqual(inst.queue_files(), [])


class StartupRequestTest(unittest.TestCase):
    """Requests that reach qmail-send before its start-up scan has taken a
    message in (a large queue is read a slice per turn), or while the
    message still waits in todo/ (the todo/ scan does a slice per turn
    too), are carried out: each message here is removed, none delivered,
    none 'unknown'."""

    def test_remove_before_the_scan_reaches_it(self):
        inst = qng.Instance(me="mx.test", rcpthosts=["mx.test"], locals_=["mx.test"])
        self.addCleanup(inst.cleanup)
        later = time.time() + 86400
        ids = []
        for i in range(600):  # preprocessed, next attempt tomorrow
            n = write_103_message(inst, b"s@x.test", local=[(b"T", b"ok%d@mx.test" % i)])
            os.utime(chan_file(inst, "local", n), (later, later))
            ids.append(n)
        for i in range(150):  # committed, not yet preprocessed
            path = inst.path("queue", "mess", "0", "new")
            inst.write(path, b"x\n")
            n = os.stat(path).st_ino
            os.rename(path, inst.path("queue", "mess", str(n % 23), str(n)))
            inst.write(inst.path("queue", "intd", str(n)),
                       b"u0\0p1\0Fs@x.test\0Tnew%d@mx.test\0" % i, 0o600)
            os.link(inst.path("queue", "intd", str(n)), inst.path("queue", "todo", str(n)))
            ids.append(n)
        # the requests wait in lock/sendctl (held open here) for qmail-send
        # to read them, at its first turn
        fifo = os.open(inst.path("queue", "lock", "sendctl"), os.O_RDWR | os.O_NONBLOCK)
        try:
            os.write(fifo, b"".join(b"remove %d\n" % n for n in ids))
            inst.start_send(fake_local=True, fake_remote=True)
            inst.wait_log(r"^status: queue read, \d+ messages$")
            inst.wait_log(r"^remove msg \d+$", count=len(ids))
        finally:
            os.close(fifo)
        qng.wait_for(lambda: inst.queue_files() == [], 120,
                     what="the queue to empty: %d files left" % len(inst.queue_files()))
        log = inst.log("send.log")
        self.assertNotIn("unknown msg", log)
        self.assertNotIn("starting delivery", log)
        for n in ids:
            self.assertEqual(log.count("remove msg %d\n" % n), 1, n)
            self.assertLessEqual(log.count("end msg %d\n" % n), 1, n)
        with open(os.path.join(inst.tmp, "spawn.log")) as f:
            self.assertEqual(f.read(), "")


class QreadTest(unittest.TestCase):
    """qmail-qread's output, byte for byte as qmail-1.03's, on a queue
    written by the test (no qmail-send running)."""

    def setUp(self):
        self.inst = qng.Instance(me="mx.test", rcpthosts=["mx.test"], locals_=["mx.test"])
        self.addCleanup(self.inst.cleanup)

    def header(self, n, when, sender):
        size = os.stat(self.inst.path("queue", "mess", str(n % 23), str(n))).st_size
        return "%s GMT  #%d  %d  <%s> " % (
            time.strftime("%-d %b %Y %H:%M:%S", time.gmtime(when)), n, size, sender)

    def test_exact_bytes(self):
        t1 = 1612148645  # 1 Feb 2021 03:04:05 GMT
        t2 = 1700000000
        a = write_103_message(self.inst, b"s@x.test", info_mtime=t1,
                              local=[(b"D", b"ok@mx.test"), (b"T", b"later@mx.test")],
                              remote=[(b"T", b"far@remote.test"), (b"D", b"gone@remote.test")])
        b = write_103_message(self.inst, b"", info_mtime=t2, body=b"y" * 1000 + b"\n",
                              remote=[(b"D", b"bad@remote.test")],
                              bounce=b"<bad@remote.test>:\nno\n\n")
        # a message still in todo/ is not listed
        envl = b"u0\0p1\0Fnew@x.test\0Tnew@mx.test\0"
        path = self.inst.path("queue", "mess", "0", "new")
        self.inst.write(path, b"z\n")
        c = os.stat(path).st_ino
        os.rename(path, self.inst.path("queue", "mess", str(c % 23), str(c)))
        self.inst.write(self.inst.path("queue", "todo", str(c)), envl, 0o600)
        os.utime(self.inst.path("queue", "todo", str(c)), (t2, t2))
        r = self.inst.run("qmail-qread")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        self.assertEqual(self.header(a, t1, "s@x.test"), "1 Feb 2021 03:04:05 GMT  #%d  %d  "
                         "<s@x.test> " % (a, len(RECEIVED_103) + 2))
        blocks = {
            a: self.header(a, t1, "s@x.test") + "\n"
               "  done\tlocal\tok@mx.test\n"
               "\tlocal\tlater@mx.test\n"
               "\tremote\tfar@remote.test\n"
               "  done\tremote\tgone@remote.test\n",
            b: self.header(b, t2, "") + " bouncing\n"
               "  done\tremote\tbad@remote.test\n",
        }
        # qmail-1.03 lists info/'s subdirectories in turn; any order of
        # whole blocks is the same listing
        out = r.stdout.decode()
        self.assertIn(out, (blocks[a] + blocks[b], blocks[b] + blocks[a]))
        # -t: the todo/ message too, marked so
        r = self.inst.run("qmail-qread", "-t")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode(), out + self.header(c, t2, "new@x.test") +
                         " not yet preprocessed\n\ttodo\tnew@mx.test\n")
        r = self.inst.run("qmail-qread", "-x")
        self.assertEqual(r.returncode, 100)
        self.assertEqual(r.stdout, b"")

    def test_empty_queue_prints_nothing(self):
        r = self.inst.run("qmail-qread")
        self.assertEqual((r.returncode, r.stdout), (0, b""))


class ToolsTest(SendCase):
    controls = {"retryschedule": "local:100\nremote:100\n"}

    def test_qread_format(self):
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["ok@mx.test", "later@mx.test",
                                                                "far@remote.test"]), 0)
        self.inst.wait_log(r"success", count=1)
        self.inst.wait_log(r"deferral", count=2)
        out = self.inst.run("qmail-qread").stdout.decode()
        self.assertRegex(out, r"^\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT  #\d+  \d+  "
                              r"<s@x\.test> \n")
        self.assertIn("  done\tlocal\tok@mx.test\n\tlocal\tlater@mx.test\n"
                      "\tremote\tfar@remote.test\n", out)
        # the seed's pipeline
        p = subprocess.run("%s | grep remote | grep -v done" % os.path.join(self.inst.bin, "qmail-qread"),
                           shell=True, capture_output=True, env=self.inst.env)
        self.assertEqual(p.stdout.decode(), "\tremote\tfar@remote.test\n")

    def test_requeue_remove_expire(self):
        for r in ["later1@mx.test", "later2@mx.test", "later3@mx.test"]:
            self.assertEqual(self.inst.inject("x\n", "s@x.test", [r]), 0)
        self.inst.wait_log(r"deferral", count=3)
        ids = [int(x) for x in self.msgs_logged()]
        r = self.inst.run("qmail-qrequeue", str(ids[0]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.inst.wait_log(r"^requeue msg %d$" % ids[0])
        self.inst.wait_log(r"deferral", count=4)
        r = self.inst.run("qmail-qrm", str(ids[1]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.inst.wait_log(r"^end msg %d$" % ids[1])
        r = self.inst.run("qmail-qexpire", str(ids[2]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.inst.wait_log(r"^bounce msg %d qp" % ids[2])
        b = qng.wait_for(lambda: [m for m in self.inst.messages()
                                  if b"administrator expired" in m["mess"]], 10)
        self.assertEqual(b[0]["rcpts"], ["s@x.test"])
        # a number that is not in the queue: said so, no false claim
        for tool, ask in (("qmail-qrm", "remove"), ("qmail-qexpire", "expire")):
            r = self.inst.run(tool, "12345678901")
            self.assertEqual((r.returncode, r.stdout), (0, b"msg 12345678901: not in the queue\n"))
        # qmail-send, asked all the same, says so in the log
        fd = os.open(self.inst.path("queue", "lock", "sendctl"), os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, b"remove 12345678901\n")
        os.close(fd)
        self.inst.wait_log(r"^warning: queue request for unknown msg 12345678901$")

    def bad_todo(self, content):
        """A committed message whose todo/N is not an envelope."""
        path = self.inst.path("queue", "mess", "0", "new")
        self.inst.write(path, b"Subject: bad\n\nx\n", 0o644)
        n = os.stat(path).st_ino
        os.rename(path, self.inst.path("queue", "mess", str(n % 23), str(n)))
        self.inst.write(self.inst.path("queue", "todo", str(n)), content, 0o600)
        return n

    def test_todo_not_an_envelope(self):
        a = self.bad_todo(b"u0\0p1\0Xnot a record\0")
        b = self.bad_todo(b"u0\0p1\0Fs@x.test\0Tok@mx.test")  # torn last record
        for i in range(3):  # each new message makes qmail-send read todo/ again
            self.assertEqual(self.inst.inject("x\n", "s@x.test", ["ok%d@mx.test" % i]), 0)
            self.inst.wait_log(r"^end msg \d+$", count=i + 1)
        for n in (a, b):
            line = self.inst.wait_log(r"^warning: todo/%d is not an envelope" % n)[0]
            # what to do, with no program that does not exist
            self.assertEqual(line, "warning: todo/%d is not an envelope; left alone: look at it "
                             "and mess/%d/%d, then remove the message with qmail-qrm %d (or "
                             "repair todo/%d and run qmail-qrequeue %d)" % (n, n % 23, n, n, n, n))
            self.assertNotIn("qfix", self.log())
        # said once, however often todo/ is read
        self.assertEqual(self.log().count("warning: todo/%d is" % a), 1)
        # qmail-qrm removes it, qmail-send still running
        r = self.inst.run("qmail-qrm", str(a))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.inst.wait_log(r"^remove msg %d$" % a)
        qng.wait_for(lambda: not any(str(a) in f.split("/")[-1] for f in self.inst.queue_files()),
                     10, what="todo/%d and mess/ gone" % a)
        # repaired, qmail-qrequeue reads it again and it is delivered
        with open(self.inst.path("queue", "todo", str(b)), "ab") as f:
            f.write(b"\0")
        r = self.inst.run("qmail-qrequeue", str(b))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.inst.wait_log(r"^new msg %d$" % b)
        self.inst.wait_log(r"^end msg %d$" % b)

    def in_todo(self, rcpt, leftovers=False):
        """A message committed as qmail-queue leaves it (mess/S/N, intd/N
        and todo/N, one inode), written by hand: no trigger, so qmail-send
        reads todo/ again only at its next unprompted scan, a minute after
        its start.  leftovers: info/S/N and local/S/N too, as a
        preprocessing whose fsync failed leaves them.  Returns N and its
        files."""
        q = lambda *p: self.inst.path("queue", *p)
        path = q("mess", "0", "new")
        self.inst.write(path, b"Subject: waiting\n\nx\n")
        n = os.stat(path).st_ino
        files = [q("mess", str(n % 23), str(n)), q("intd", str(n)), q("todo", str(n))]
        os.rename(path, files[0])
        self.inst.write(files[1], b"u0\0p1\0Fs@x.test\0T" + rcpt.encode() + b"\0", 0o600)
        os.link(files[1], files[2])
        if leftovers:
            files.append(q("info", str(n % 23), str(n)))
            self.inst.write(files[-1], b"Fs@x.test\0", 0o600)
            files.append(q("local", str(n % 23), str(n)))
            self.inst.write(files[-1], b"T" + rcpt.encode() + b"\0", 0o600)
        return n, files

    def test_tools_on_a_message_still_in_todo(self):
        """What qmail-qrm and qmail-qexpire say about a message qmail-send
        has not preprocessed yet is what happens."""
        a, fa = self.in_todo("ok1@mx.test")
        b, fb = self.in_todo("ok2@mx.test", leftovers=True)
        c, fc = self.in_todo("later3@mx.test")
        t0 = time.monotonic()
        for n in (a, b):
            r = self.inst.run("qmail-qrm", str(n))
            self.assertEqual((r.returncode, r.stdout.decode()),
                             (0, "msg %d: qmail-send will remove it\n" % n))
            self.inst.wait_log(r"^remove msg %d$" % n)
        for f in fa + fb:
            qng.wait_for(lambda: not os.path.exists(f), 10, what="%s removed" % f)
        # expired: preprocessed now, then bounced (last: the bounce's
        # qmail-queue pokes the trigger, and todo/ is read again)
        r = self.inst.run("qmail-qexpire", str(c))
        self.assertEqual((r.returncode, r.stdout.decode()),
                         (0, "msg %d: qmail-send will bounce it\n" % c))
        self.inst.wait_log(r"^expire msg %d$" % c)
        self.inst.wait_log(r"^bounce msg %d qp \d+$" % c)
        self.inst.wait_log(r"^end msg %d$" % c)
        self.assertLess(time.monotonic() - t0, 45)  # well before the next scan
        log = self.log()
        self.assertNotIn("unknown msg", log)
        # (the bounce, queued later, may get the number of a or b: their
        # mess/ files, so their inodes, are gone)
        head = log.split("bounce msg %d " % c)[0]
        for n in (a, b):
            self.assertNotIn("new msg %d\n" % n, head)
            self.assertNotIn("end msg %d\n" % n, head)
        self.assertNotIn("starting delivery", head)
        bounce = qng.wait_for(lambda: [m for m in self.inst.messages()
                                       if b"administrator expired" in m["mess"]], 10)
        self.assertIn(b"later3@mx.test", bounce[0]["mess"])
        for f in fc:
            qng.wait_for(lambda: not os.path.exists(f), 10, what="%s removed" % f)

    def test_requeue_of_a_message_still_in_todo(self):
        """qmail-qrequeue N for a message still in todo/: it is read and
        delivered now, not at qmail-send's next scan of todo/."""
        d, fd = self.in_todo("ok4@mx.test")
        t0 = time.monotonic()
        r = self.inst.run("qmail-qrequeue", str(d))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.inst.wait_log(r"^requeue msg %d: not yet preprocessed, reading todo/ now$" % d)
        self.inst.wait_log(r"^end msg %d$" % d)
        self.assertLess(time.monotonic() - t0, 45)
        self.assertNotIn("unknown msg", self.log())
        with open(os.path.join(self.inst.tmp, "spawn.log")) as f:
            self.assertEqual([l.split()[2] for l in f], ["ok4@mx.test"])
        for f in fd:
            qng.wait_for(lambda: not os.path.exists(f), 10, what="%s removed" % f)

    def test_tools_without_qmail_send(self):
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["later9@mx.test"]), 0)
        self.inst.wait_log(r"deferral")
        n = int(self.msgs_logged()[0])
        os.kill(self.inst.send.pid, signal.SIGTERM)
        self.inst.send.wait(timeout=15)
        self.assertEqual(self.inst.run("qmail-qrequeue").returncode, 111)
        r = self.inst.run("qmail-qrm", str(n))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.inst.queue_files(), [])


if __name__ == "__main__":
    unittest.main()
