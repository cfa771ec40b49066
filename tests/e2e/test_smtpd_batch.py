# SPDX-License-Identifier: ISC
"""qmail-smtpd with a resident qmail-queue -m: every message of a session
is queued on its own, one qmail-queue serves them, and when it dies the
next message gets a new one (no message is lost or half-queued)."""
import os
import re
import signal
import socket
import subprocess
import unittest

import qng


class BatchSessionTest(unittest.TestCase):
    def setUp(self):
        self.inst = qng.Instance()
        self.addCleanup(self.inst.cleanup)
        self.port = self.inst.start_smtpd(rules='127.0.0.1:allow,RELAYCLIENT=""\n:allow\n')

    def send(self, d, i):
        self.assertEqual(d.cmd("MAIL FROM:<s%d@x.test>" % i)[0], "250 ok")
        self.assertEqual(d.cmd("RCPT TO:<r%d@example.test>" % i)[0], "250 ok")
        self.assertEqual(d.cmd("DATA")[0], "354 go ahead")
        reply = d.cmd("Subject: %d\r\n\r\nbody %d\r\n." % (i, i))[0]
        m = re.match(r"^250 ok \d+ qp (\d+)$", reply)
        self.assertIsNotNone(m, reply)
        return int(m.group(1))

    def test_one_qmail_queue_per_session(self):
        d = qng.Dialog(self.port)
        self.addCleanup(d.close)
        d.cmd("HELO client.test")
        qps = [self.send(d, i) for i in range(4)]
        self.assertEqual(len(set(qps)), 1)
        self.assertEqual(d.cmd("QUIT")[0], "221 test.local")
        q = self.inst.queued()
        self.assertEqual(len(q), 4)
        for m in q:
            i = int(m["sender"][1])
            self.assertEqual(m["rcpts"], ["r%d@example.test" % i])
            lines = m["mess"].split(b"\n")
            self.assertRegex(lines[0].decode(),
                             r"^Received: \(qmail %d invoked from network\); " % qps[0])
            self.assertTrue(lines[1].startswith(b"Received: from "))
            self.assertEqual(lines[3:], [b"Subject: %d" % i, b"", b"body %d" % i, b""])

    def test_resident_qmail_queue_killed_between_messages(self):
        d = qng.Dialog(self.port)
        self.addCleanup(d.close)
        d.cmd("HELO client.test")
        qp1 = self.send(d, 1)
        os.kill(qp1, signal.SIGKILL)
        qng.wait_for(lambda: not os.path.exists("/proc/%d/cmdline" % qp1) or
                     open("/proc/%d/stat" % qp1).read().split()[2] == "Z", 10,
                     what="qmail-queue to die")
        qp2 = self.send(d, 2)
        self.assertNotEqual(qp1, qp2)
        d.cmd("QUIT")
        self.assertEqual(sorted(m["sender"] for m in self.inst.queued()),
                         ["s1@x.test", "s2@x.test"])

    def test_refused_message_then_good_one(self):
        """A message refused after its data (a NUL) is dropped by the
        resident qmail-queue; the next one in the session is queued."""
        d = qng.Dialog(self.port)
        self.addCleanup(d.close)
        d.cmd("HELO client.test")
        d.cmd("MAIL FROM:<a@x.test>")
        d.cmd("RCPT TO:<b@example.test>")
        self.assertEqual(d.cmd("DATA")[0], "354 go ahead")
        reply = d.cmd("a NUL\0here\r\n.")[0]
        self.assertTrue(reply.startswith("554 "), reply)
        self.send(d, 7)
        d.cmd("QUIT")
        q = self.inst.queued()
        self.assertEqual([m["sender"] for m in q], ["s7@x.test"])
        self.assertEqual(len([f for f in self.inst.queue_files() if f.startswith("mess/")]), 1)

    def test_bare_lf_ends_session_queues_nothing(self):
        """A bare LF mid-message ends the session at once; the resident
        qmail-queue is told to forget the message and leaves no file."""
        d = qng.Dialog(self.port)
        self.addCleanup(d.close)
        d.cmd("HELO client.test")
        qp = self.send(d, 1)
        d.cmd("MAIL FROM:<a@x.test>")
        d.cmd("RCPT TO:<b@example.test>")
        self.assertEqual(d.cmd("DATA")[0], "354 go ahead")
        d.send("Subject: half\r\n\r\n" + "a line\r\n" * 5000 + "bare\nLF\r\n.\r\n")
        self.assertEqual(d.reply(), ["451 See http://pobox.com/~djb/docs/smtplf.html. (#4.6.0)"])
        self.assertEqual(d.f.readline(), b"")
        qng.wait_for(lambda: not os.path.exists("/proc/%d/cmdline" % qp) or
                     open("/proc/%d/stat" % qp).read().split()[2] == "Z", 10,
                     what="the resident qmail-queue to exit")
        [m] = self.inst.queued()
        self.assertEqual(m["sender"], "s1@x.test")
        # only the queued message's files (qmail-send is not running to
        # take its intd/ away)
        self.assertEqual(self.inst.queue_files(),
                         sorted(["intd/%d" % m["id"], "todo/%d" % m["id"],
                                 "mess/%d/%d" % (m["id"] % 23, m["id"])]))


class BatchFrameTest(unittest.TestCase):
    """qmail-queue -m's frames (src/queue/batch.h) cut short: a type byte
    or part of a header and then end of file is a malformed frame (91),
    not the clean end of a batch (0), which only an end of file between
    frames is."""

    def setUp(self):
        self.inst = qng.Instance()
        self.addCleanup(self.inst.cleanup)

    def run_frames(self, data):
        a, b = socket.socketpair()
        p = subprocess.Popen([os.path.join(self.inst.bin, "qmail-queue"), "-m"], stdin=b,
                             stdout=b, stderr=subprocess.PIPE, env=self.inst.env)
        b.close()
        a.sendall(data)
        a.shutdown(socket.SHUT_WR)
        err = p.stderr.read()
        a.close()
        return p.wait(timeout=10), err

    def test_clean_end(self):
        self.assertEqual(self.run_frames(b""), (0, b""))

    def test_frame_cut_short(self):
        for junk in [b"X", b"D", b"D\0\0", b"E\0\0\0"]:
            code, err = self.run_frames(junk)
            self.assertEqual(code, 91, junk)
            self.assertIn(b"malformed batch frame", err)
        self.assertEqual(self.inst.queue_files(), [])


if __name__ == "__main__":
    unittest.main()
