# SPDX-License-Identifier: ISC
"""qmail-smtpd's deadlines against slow clients.  timeoutsmtpd is qmail's
per-read timeout, so a client sending one byte every few seconds would
hold a slot for ever; a command line has its own deadline from its first
byte (timeoutsmtpdcmd) and a message its own from its start
(timeoutsmtpddata, growing by a second for every mindatarate bytes
received).  A trickler is cut off with qmail's 451 timeout and a log
line naming the limit; a client that is slow but keeps the pace is not.
The control files are set small so every test takes seconds."""
import socket
import time
import unittest

import qng
from test_smtpd import SmtpdCase

TIMEOUT = "451 timeout (#4.4.2)"
TIMEOUT_ESC = "451 4.4.2 timeout (#4.4.2)"


class LimitsCase(SmtpdCase):

    def setUp(self):
        super().setUp()
        self.inst.control("timeoutsmtpdcmd", "2\n")
        self.inst.control("timeoutsmtpddata", "2\n")
        self.inst.control("mindatarate", "100\n")

    def connect(self):
        d = self.dialog(self.server())
        self.assertEqual(d.greeting, "220 test.local ESMTP")
        return d

    def trickle(self, d, data, every, limit):
        """Send data a byte at a time, every seconds apart, until the
        server speaks or closes; returns (its reply lines, seconds taken).
        Gives up after limit seconds (then the trickler was not cut)."""
        d.s.settimeout(every)
        t0 = time.monotonic()
        for i in range(len(data)):
            if time.monotonic() - t0 > limit:
                break
            try:
                d.s.sendall(data[i:i + 1])
            except OSError:
                break
            try:
                chunk = d.s.recv(4096, socket.MSG_PEEK)
            except socket.timeout:
                continue
            except OSError:
                break
            if chunk or chunk == b"":
                break
        d.s.settimeout(10)
        took = time.monotonic() - t0
        try:
            return d.reply(), took
        except EOFError:
            return [], took

    def assertClosed(self, d):
        d.s.settimeout(10)
        try:
            self.assertEqual(d.f.readline(), b"")
        except ConnectionResetError:
            # closed with bytes of ours unread (a BDAT chunk sent with its
            # command, as a pipelining client does): the kernel resets
            pass


class TestCommandDeadline(LimitsCase):

    def test_trickled_command_is_cut_off(self):
        d = self.connect()
        lines, took = self.trickle(d, b"MAIL FROM:<someone@far.away.example>\r\n", 1.0, 8)
        self.assertEqual(lines, [TIMEOUT])
        self.assertGreater(took, 1.5)
        self.assertLess(took, 5)
        self.assertClosed(d)
        self.wait_log(r"qmail-smtpd: reject ip=127\.0\.0\.1 reason=slowcmd code=451$")
        self.wait_log(r" end=slowcmd$")

    def test_idle_between_commands_is_timeoutsmtpd(self):
        # the command deadline starts at a line's first byte: waiting
        # longer than it between commands is fine (timeoutsmtpd, 1200 s)
        d = self.connect()
        time.sleep(2.5)
        self.assertEqual(d.cmd("NOOP"), ["250 ok"])
        time.sleep(2.5)
        self.assertEqual(d.cmd("HELO c"), ["250 test.local"])

    def test_slow_but_whole_lines(self):
        # each line in pieces, well within its deadline, many times over
        d = self.connect()
        for _ in range(4):
            for piece in (b"NO", b"O", b"P\r\n"):
                d.send(piece)
                time.sleep(0.4)
            self.assertEqual(d.reply(), ["250 ok"])

    def test_zero_turns_it_off(self):
        self.inst.control("timeoutsmtpdcmd", "0\n")
        self.inst.control("timeoutsmtpd", "2\n")
        d = self.connect()
        for b in b"NOOP":
            d.send(bytes([b]))
            time.sleep(0.9)
        d.send(b"\r\n")
        self.assertEqual(d.reply(), ["250 ok"])


class TestDataRate(LimitsCase):

    def start_data(self, d):
        d.cmd("EHLO c")
        self.assertEqual(d.cmd("MAIL FROM:<a@b.example>"), ["250 2.1.0 ok"])
        self.assertEqual(d.cmd("RCPT TO:<u@example.test>"), ["250 2.1.5 ok"])

    def test_data_trickler_is_cut_off(self):
        d = self.connect()
        self.start_data(d)
        self.assertEqual(d.cmd("DATA"), ["354 go ahead"])
        # 4 bytes a second against a minimum of 100 after 2 seconds
        lines, took = self.trickle(d, b"Subject: slow\r\n\r\n" + b"x" * 100, 0.25, 10)
        self.assertEqual(lines, [TIMEOUT_ESC])
        self.assertGreater(took, 1.5)
        self.assertLess(took, 5)
        self.assertClosed(d)
        self.wait_log(r"qmail-smtpd: reject ip=127\.0\.0\.1 reason=slowdata code=451 "
                      r"from=<a@b\.example> rcpts=1$")
        self.wait_log(r" end=slowdata$")
        self.assertNothingQueued()

    def test_slow_but_steady_message_is_queued(self):
        # 400 bytes every half second (800 B/s, over the minimum of 100),
        # with a pause of 1.5 s in the middle that the bytes already
        # received pay for: 5 s in all, past the 2 s of grace
        d = self.connect()
        self.start_data(d)
        self.assertEqual(d.cmd("DATA"), ["354 go ahead"])
        d.send("Subject: steady\r\n\r\n")
        line = "y" * 38 + "\r\n"
        for i in range(8):
            d.send(line * 10)
            time.sleep(1.5 if i == 3 else 0.5)
        reply = d.cmd(".")
        self.assertRegex(reply[0], r"^250 2\.0\.0 ok \d+ qp \d+$")
        self.assertEqual(d.cmd("QUIT"), ["221 2.0.0 test.local"])
        [m] = self.inst.queued()
        self.assertTrue(m["mess"].endswith(b"y" * 38 + b"\n"))

    def test_each_message_has_its_own_deadline(self):
        # three small, slow messages in one session: each is in within its
        # 2 s of grace, all three together would not be
        d = self.connect()
        self.start_data(d)
        for n in range(3):
            if n:
                d.cmd("MAIL FROM:<a@b.example>")
                d.cmd("RCPT TO:<u@example.test>")
            self.assertEqual(d.cmd("DATA"), ["354 go ahead"])
            for _ in range(4):
                d.send("z\r\n")
                time.sleep(0.4)
            self.assertRegex(d.cmd(".")[0], r"^250 2\.0\.0 ok ")
        self.assertEqual(len(self.inst.queued()), 3)

    def test_bdat_chunk_trickler_is_cut_off(self):
        d = self.connect()
        self.start_data(d)
        d.send("BDAT 1000 LAST\r\n")
        lines, took = self.trickle(d, b"x" * 1000, 0.25, 10)
        self.assertEqual(lines, [TIMEOUT_ESC])
        self.assertLess(took, 5)
        self.assertClosed(d)
        self.wait_log(r"reason=slowdata code=451 from=<a@b\.example> rcpts=1$")
        self.assertNothingQueued()

    def test_bdat_tiny_chunks_are_one_message(self):
        # one byte per chunk, each chunk quick: the message as a whole is
        # what must keep the pace, commands between its chunks included
        d = self.connect()
        self.start_data(d)
        t0 = time.monotonic()
        lines = []
        while time.monotonic() - t0 < 10:
            d.send("BDAT 1\r\nx")
            lines = d.reply()
            if lines != ["250 2.0.0 ok 1 octets received"]:
                break
            time.sleep(0.3)
        self.assertEqual(lines, [TIMEOUT_ESC])
        self.assertLess(time.monotonic() - t0, 5)
        self.assertClosed(d)
        self.wait_log(r"reason=slowdata")
        self.assertNothingQueued()

    def test_unwanted_bdat_chunk_trickler(self):
        # a chunk read only to be thrown away (no MAIL) has a deadline too
        d = self.connect()
        d.cmd("EHLO c")
        d.send("BDAT 1000\r\n")
        lines, took = self.trickle(d, b"x" * 1000, 0.25, 10)
        self.assertEqual(lines, [TIMEOUT_ESC])
        self.assertLess(took, 5)

    def test_zero_rate_turns_it_off(self):
        self.inst.control("mindatarate", "0\n")
        d = self.connect()
        self.start_data(d)
        self.assertEqual(d.cmd("DATA"), ["354 go ahead"])
        for b in b"Subject: s\r\n\r\nok\r\n":
            d.send(bytes([b]))
            time.sleep(0.15)
        self.assertRegex(d.cmd(".")[0], r"^250 2\.0\.0 ok ")


class TestControls(SmtpdCase):

    def test_bad_values(self):
        for name, value in (("timeoutsmtpdcmd", "soon\n"), ("timeoutsmtpddata", "0\n"),
                            ("mindatarate", "-1\n")):
            with self.subTest(name=name):
                self.inst.control(name, value)
                lines, err, rc = self.pipe("QUIT\r\n")
                self.assertEqual(lines, ["421 unable to read controls (#4.3.0)"])
                self.assertIn(name, err)
                self.inst.control(name, None)

    def test_defaults_let_a_normal_session_through(self):
        lines, err, rc = self.pipe("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<u@example.test>\r\n"
                                   "DATA\r\nx\r\n.\r\nQUIT\r\n")
        self.assertQueuedOK(lines[-2])


if __name__ == "__main__":
    unittest.main()
