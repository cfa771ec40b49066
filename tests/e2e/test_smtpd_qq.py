# SPDX-License-Identifier: ISC
"""qmail-queue's own words in qmail-smtpd's log.  When qmail-queue fails
(not setuid, so it cannot write the queue), the client gets qmail's reply
for the exit code, and the reject line names the exit code and carries
the line qmail-queue wrote on its stderr, in the batch mode (qmail-queue
-m) and the single mode (QMAILQUEUE) alike.  qmail-queue itself keeps
qmail-1.03's exit codes and adds one stderr line per failure.  A queue
filter's stderr is bounded, escaped and never stalls the session."""
import os
import re
import subprocess
import time
import unittest

import qng
from test_smtpd import SmtpdCase

TXN = "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.test>\r\nDATA\r\nx\r\n.\r\n"
QUEUE_TROUBLE = "451 4.3.0 qq trouble creating files in queue (#4.3.0)"


def rejects(err):
    return [l for l in err.splitlines() if l.startswith("qmail-smtpd: reject ")]


class TestQueueNotWritable(SmtpdCase):

    def modes(self):
        """Our qmail-queue resident (-m), then the same one run per message."""
        return [("batch", None), ("single", {"QMAILQUEUE": self.inst.path("bin", "qmail-queue")})]

    def test_pid_dir_not_writable(self):
        pid = self.inst.path("queue", "pid")
        os.chmod(pid, 0o555)
        self.addCleanup(os.chmod, pid, 0o700)
        for mode, env in self.modes():
            with self.subTest(mode=mode):
                lines, err, rc = self.pipe(TXN + TXN.split("\r\n", 1)[1], env=env)
                # qmail's reply for exit 63, for each message of the session
                self.assertEqual(lines[-5:], [QUEUE_TROUBLE, "250 2.1.0 ok", "250 2.1.5 ok",
                                              "354 go ahead", QUEUE_TROUBLE])
                got = rejects(err)
                self.assertEqual(len(got), 2, err)
                for line in got:
                    self.assertRegex(
                        line, r'^qmail-smtpd: reject ip=127\.0\.0\.1 reason=qq code=451 qqexit=63 '
                              r'from=<a@b\.example> rcpts=1 qq="qmail-queue: unable to create '
                              r'pid/\d+\.\d+\.\d: Permission denied"$')
                self.assertNothingQueued()

    def test_queue_dir_unreachable(self):
        # what a qmail-queue that is not setuid meets in a root install:
        # the queue belongs to someone else.  In batch mode the resident
        # qmail-queue exits 62 at once; that exit code, not the write
        # error it causes, is the verdict (it was "qq write error").
        q = self.inst.path("queue")
        os.chmod(q, 0)
        self.addCleanup(os.chmod, q, 0o750)
        for mode, env in self.modes():
            with self.subTest(mode=mode):
                lines, err, rc = self.pipe(TXN, env=env)
                self.assertEqual(lines[-1], QUEUE_TROUBLE)
                [line] = rejects(err)
                self.assertEqual(
                    line, 'qmail-smtpd: reject ip=127.0.0.1 reason=qq code=451 qqexit=62 '
                          'from=<a@b.example> rcpts=1 qq="qmail-queue: unable to chdir to %s: '
                          'Permission denied"' % q)

    def test_bdat(self):
        pid = self.inst.path("queue", "pid")
        os.chmod(pid, 0o555)
        self.addCleanup(os.chmod, pid, 0o700)
        lines, err, rc = self.pipe("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.test>\r\n"
                                   "BDAT 3 LAST\r\nabc")
        self.assertEqual(lines[-1], QUEUE_TROUBLE)
        [line] = rejects(err)
        self.assertIn(" qqexit=63 ", line)
        self.assertRegex(line, r'qq="qmail-queue: unable to create pid/\S+: Permission denied"$')

    def test_then_fixed(self):
        """The next message after the queue is fixed goes through, and the
        accepted line has no qq= field (qmail-queue said nothing)."""
        pid = self.inst.path("queue", "pid")
        os.chmod(pid, 0o555)
        lines, err, rc = self.pipe(TXN)
        self.assertEqual(lines[-1], QUEUE_TROUBLE)
        os.chmod(pid, 0o700)
        lines, err, rc = self.pipe(TXN)
        self.assertQueuedOK(lines[-1])
        [acc] = [l for l in err.splitlines() if " accepted " in l]
        self.assertNotIn("qq=", acc)


class TestQmailQueueItself(SmtpdCase):
    """qmail-queue run directly: qmail-1.03's exit codes, plus one line."""

    def run_qq(self, body, envelope, args=()):
        r, w = os.pipe()
        pre = self.inst.as_owner()
        p = subprocess.Popen([self.inst.path("bin", "qmail-queue")] + list(args),
                             stdin=subprocess.PIPE, stdout=r, stderr=subprocess.PIPE,
                             env=self.inst.env, preexec_fn=pre)
        os.close(r)
        try:
            os.write(w, envelope)
        except BrokenPipeError:
            pass    # it stopped before reading the envelope (pid/ refused)
        os.close(w)
        out, err = p.communicate(body, timeout=30)
        return p.returncode, err

    def test_exit_codes_and_lines(self):
        env = b"Fa@b\0Tc@d\0\0"
        self.assertEqual(self.run_qq(b"x\n", env), (0, b""))
        self.assertEqual(self.run_qq(b"x\n", b"Fa@b\0Tc@d\0"),
                         (54, b"qmail-queue: the envelope ended before its last record\n"))
        self.assertEqual(self.run_qq(b"x\n", b"Xa@b\0\0"),
                         (91, b"qmail-queue: envelope format error\n"))
        self.assertEqual(self.run_qq(b"x\n", b"F" + b"a" * 1004 + b"\0\0"),
                         (11, b"qmail-queue: an envelope address is longer than 1003 bytes\n"))
        # nothing at all on fd 1: the caller took the message back
        self.assertEqual(self.run_qq(b"x\n", b""), (54, b""))
        pid = self.inst.path("queue", "pid")
        os.chmod(pid, 0o555)
        self.addCleanup(os.chmod, pid, 0o700)
        code, err = self.run_qq(b"x\n", env)
        self.assertEqual(code, 63)
        self.assertRegex(err, rb"^qmail-queue: unable to create pid/\d+\.\d+\.0: "
                              rb"Permission denied\n$")
        self.assertEqual(len(self.inst.queued()), 1)


class TestQueueFilter(SmtpdCase):
    """A $QMAILQUEUE program's stderr: kept for the log line of the
    message it concerns, bounded and made safe."""

    def test_words_of_a_refusing_filter(self):
        qq = self.script("qqf", "cat >/dev/null\n"
                                "printf 'filter: virus \"Eicar\"\\033[2J found\\n' >&2\n"
                                "exit 31\n")
        lines, err, rc = self.pipe(TXN, env={"QMAILQUEUE": qq})
        self.assertEqual(lines[-1], "554 5.3.0 mail server permanently rejected message (#5.3.0)")
        [line] = rejects(err)
        self.assertTrue(line.endswith(
            r' qqexit=31 from=<a@b.example> rcpts=1 qq="filter: virus \042Eicar\042\033[2J found"'),
            line)

    def test_unknown_code_named(self):
        qq = self.script("qq99", "cat >/dev/null; exit 99\n")
        lines, err, rc = self.pipe(TXN, env={"QMAILQUEUE": qq})
        self.assertEqual(lines[-1], "451 4.3.0 qq temporary problem (#4.3.0)")
        [line] = rejects(err)
        self.assertTrue(line.endswith(" reason=qq code=451 qqexit=99 from=<a@b.example> rcpts=1"),
                        line)

    def test_chatty_filter_is_bounded_and_does_not_stall(self):
        # 200 KB on stderr before it reads the message: more than a pipe
        # holds, so a client that only wrote would wait for ever
        qq = self.script("qqchat", "i=0; while [ $i -lt 4000 ]; do echo 'chatter %s' >&2;"
                                   " i=$((i+1)); done\n"
                                   "cat >/dev/null; cat <&1 >/dev/null; exit 0\n" % ("z" * 40))
        body = "line of text\r\n" * 20000
        t0 = time.monotonic()
        lines, err, rc = self.pipe(TXN.replace("x\r\n.", body + "."), env={"QMAILQUEUE": qq},
                                   timeout=60)
        self.assertLess(time.monotonic() - t0, 30)
        self.assertQueuedOK(lines[-1])
        [acc] = [l for l in err.splitlines() if " accepted " in l]
        m = re.search(r' qq="(.*)"$', acc)
        self.assertIsNotNone(m, acc)
        self.assertTrue(m.group(1).endswith("..."))
        self.assertLess(len(m.group(1)), 600 * 4)
        self.assertNotIn("chatter", err.replace(acc, ""))

    def test_filter_leaving_a_child_holding_stderr(self):
        qq = self.script("qqbg", "cat >/dev/null; cat <&1 >/dev/null\n"
                                 "sleep 30 & exit 0\n")
        t0 = time.monotonic()
        lines, err, rc = self.pipe(TXN, env={"QMAILQUEUE": qq})
        self.assertQueuedOK(lines[-1])
        self.assertLess(time.monotonic() - t0, 10)

    def test_cannot_run(self):
        lines, err, rc = self.pipe(TXN, env={"QMAILQUEUE": "/nonexistent/qq"})
        self.assertEqual(lines[-3], "451 4.3.0 unable to exec qq (#4.3.0)")
        line = rejects(err)[0]
        self.assertTrue(line.endswith(
            ' reason=qq code=451 from=<a@b.example> rcpts=1 '
            'qq="unable to run /nonexistent/qq: No such file or directory"'), line)


if __name__ == "__main__":
    unittest.main()
