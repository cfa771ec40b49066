# SPDX-License-Identifier: ISC
"""qmail-smtpd end to end: what happens to message content.  Dot-stuffing,
SIZE and databytes, BDAT/CHUNKING, SMTP smuggling, NUL and huge lines,
hop counting, clients that vanish mid-DATA, qmail-queue failures, and
header injection through HELO."""
import os
import re
import smtplib
import socket
import time
import unittest

import qng
from test_smtpd import DATE, SmtpdCase

TXN = "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.test>\r\n"
EHLO_LINES = 7
SMTPD_RECEIVED = (rb"Received: from unknown \(HELO c\) \(127\.0\.0\.1\)\n"
                  rb"  by test\.local with SMTP; " + DATE + rb"\n")


def body_of(mess):
    """The message after the two Received lines (qmail-queue's, ours)."""
    parts = mess.split(b"\n", 3)
    return parts[3]


class TestDotStuffing(SmtpdCase):

    def test_round_trip_smtplib(self):
        port = self.server()
        text = (b"Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\n..two\r\nmid.dle\r\n. \r\n"
                b"last line\r\n")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
            c.sendmail("a@b.example", ["u@example.test"], text)
        [m] = self.inst.queued()
        self.assertEqual(body_of(m["mess"]), text.replace(b"\r\n", b"\n"))

    def test_stuffed_bytes_on_the_wire(self):
        lines, err, rc = self.pipe(TXN + "DATA\r\n..\r\n...x\r\n.y\r\nz.\r\n.\r\n")
        self.assertQueuedOK(lines[-1])
        [m] = self.inst.queued()
        self.assertEqual(body_of(m["mess"]), b".\n..x\ny\nz.\n")

    def test_empty_message(self):
        lines, err, rc = self.pipe(TXN + "DATA\r\n.\r\nQUIT\r\n")
        self.assertQueuedOK(lines[-2])
        [m] = self.inst.queued()
        self.assertRegex(m["mess"], rb"\A[^\n]*\n" + SMTPD_RECEIVED + rb"\Z")

    def test_eight_bit_clean(self):
        body = "Subject: caf\u00e9\r\n\r\n\u00e9t\u00e9 \xff\r\n".encode("latin-1", "ignore") + \
            "\u20ac\r\n".encode()
        lines, err, rc = self.pipe(TXN.encode() + b"DATA\r\n" + body + b".\r\n")
        self.assertQueuedOK(lines[-1])
        [m] = self.inst.queued()
        self.assertEqual(body_of(m["mess"]), body.replace(b"\r\n", b"\n"))


class TestSize(SmtpdCase):

    def setUp(self):
        super().setUp()
        self.inst.control("databytes", "1000\n")

    def test_mail_size_over_databytes(self):
        lines, err, rc = self.pipe(
            "EHLO c\r\nMAIL FROM:<a@b.example> SIZE=1001\r\nMAIL FROM:<a@b.example> SIZE=1000\r\n"
            "RSET\r\nHELO c\r\nMAIL FROM:<a@b.example> SIZE=99999999999999999999999\r\n")
        self.assertEqual(lines[EHLO_LINES], "250 SIZE 1000")
        self.assertEqual(lines[EHLO_LINES + 1:], [
            "552 5.3.4 sorry, that message size exceeds my databytes limit (#5.3.4)",
            "250 2.1.0 ok", "250 2.0.0 flushed", "250 test.local",
            "552 sorry, that message size exceeds my databytes limit (#5.3.4)"])

    def test_body_over_databytes(self):
        big = ("x" * 70 + "\r\n") * 20  # 1440 bytes stored
        lines, err, rc = self.pipe(TXN + "DATA\r\n" + big + ".\r\nNOOP\r\n")
        self.assertEqual(lines[-2:], [
            "552 5.3.4 sorry, that message size exceeds my databytes limit (#5.3.4)",
            "250 2.0.0 ok"])
        self.assertNothingQueued()
        self.assertIn("reason=databytes code=552 from=<a@b.example> rcpts=1", err)

    def test_body_at_the_limit(self):
        # 1000 bytes as stored (LF line ends), more on the wire (CRLF)
        body = ("y" * 99 + "\r\n") * 10
        lines, err, rc = self.pipe(TXN + "DATA\r\n" + body + ".\r\n")
        self.assertQueuedOK(lines[-1])
        lines, err, rc = self.pipe(TXN + "DATA\r\n" + body + "z\r\n.\r\n")
        self.assertEqual(lines[-1], "552 5.3.4 sorry, that message size exceeds my databytes "
                                    "limit (#5.3.4)")
        self.assertEqual(len(self.inst.queued()), 1)

    def test_smtplib_size(self):
        port = self.server()
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
            c.ehlo("c")
            self.assertEqual(int(c.esmtp_features["size"]), 1000)
            with self.assertRaises(smtplib.SMTPSenderRefused) as cm:
                c.sendmail("a@b.example", ["u@example.test"], b"x" * 2000)
            self.assertEqual(cm.exception.smtp_code, 552)
        self.assertNothingQueued()


class TestBdat(SmtpdCase):

    def test_chunks(self):
        lines, err, rc = self.pipe(
            TXN + "BDAT 14\r\nSubject: b\r\n\r\nBDAT 7\r\nline 1\nBDAT 8 LAST\r\nline 2\r\nQUIT\r\n")
        self.assertEqual(lines[EHLO_LINES + 1:EHLO_LINES + 5],
                         ["250 2.1.0 ok", "250 2.1.5 ok",
                          "250 2.0.0 ok 14 octets received", "451 4.6.0 See "
                          "http://pobox.com/~djb/docs/smtplf.html. (#4.6.0)"])
        # the chunk with the bare LF killed the transaction: later chunks
        # are read and refused, nothing is queued
        self.assertEqual(lines[EHLO_LINES + 5:], ["503 5.5.1 MAIL first (#5.5.1)",
                                                  "221 2.0.0 test.local"])
        self.assertNothingQueued()

    def test_chunks_queued(self):
        chunks = [b"Subject: chunked\r\n", b"\r\nfirst part ", b"and the rest\r", b"\n.\r\n"]
        data = TXN.encode()
        for c in chunks[:-1]:
            data += b"BDAT %d\r\n" % len(c) + c
        data += b"BDAT %d LAST\r\n" % len(chunks[-1]) + chunks[-1] + b"QUIT\r\n"
        lines, err, rc = self.pipe(data)
        self.assertEqual(lines[EHLO_LINES + 3:EHLO_LINES + 6],
                         ["250 2.0.0 ok 18 octets received", "250 2.0.0 ok 13 octets received",
                          "250 2.0.0 ok 13 octets received"])
        self.assertQueuedOK(lines[EHLO_LINES + 6])
        self.assertEqual(lines[-1], "221 2.0.0 test.local")
        [m] = self.inst.queued()
        # BDAT is not dot-stuffed: the "." line is content
        self.assertEqual(body_of(m["mess"]), b"Subject: chunked\n\nfirst part and the rest\n.\n")
        self.assertRegex(m["mess"], rb"\A[^\n]*\n" + SMTPD_RECEIVED)

    def test_bdat_zero_last(self):
        lines, err, rc = self.pipe(TXN + "BDAT 5\r\nabc\r\nBDAT 0 LAST\r\n")
        self.assertEqual(lines[-2], "250 2.0.0 ok 5 octets received")
        self.assertQueuedOK(lines[-1])
        lines, err, rc = self.pipe(TXN + "BDAT 0 LAST\r\n")
        self.assertQueuedOK(lines[-1])
        self.assertEqual(sorted(body_of(m["mess"]) for m in self.inst.queued()),
                         [b"", b"abc\n"])

    def test_data_after_bdat(self):
        lines, err, rc = self.pipe(TXN + "BDAT 4\r\nab\r\nDATA\r\nBDAT 4 LAST\r\ncd\r\n")
        self.assertEqual(lines[-3:], ["250 2.0.0 ok 4 octets received",
                                      "503 5.5.1 DATA cannot follow BDAT in one transaction "
                                      "(#5.5.1)", lines[-1]])
        self.assertQueuedOK(lines[-1])
        [m] = self.inst.queued()
        self.assertEqual(body_of(m["mess"]), b"ab\ncd\n")

    def test_bdat_without_transaction_consumes_the_chunk(self):
        # the chunk looks like commands; it must be swallowed, not run
        chunk = b"MAIL FROM:<e@e>\r\nRCPT TO:<u@example.test>\r\n"
        lines, err, rc = self.pipe(b"EHLO c\r\nBDAT %d LAST\r\n" % len(chunk) + chunk +
                                   b"MAIL FROM:<a@b>\r\nBDAT 3\r\nxyzNOOP\r\n")
        self.assertEqual(lines[EHLO_LINES + 1:], ["503 5.5.1 MAIL first (#5.5.1)", "250 2.1.0 ok",
                                              "503 5.5.1 RCPT first (#5.5.1)", "250 2.0.0 ok"])
        self.assertNothingQueued()

    def test_bdat_bad_size_closes(self):
        lines, err, rc = self.pipe(TXN + "BDAT lots\r\nNOOP\r\n")
        self.assertEqual(lines[-1], "555 5.5.4 syntax error (#5.5.4)")
        self.assertIn("end=bdat-syntax", err)
        lines, err, rc = self.pipe(TXN + "BDAT 99999999999999999999999\r\nNOOP\r\n")
        self.assertEqual(lines[-1], "555 5.5.4 syntax error (#5.5.4)")
        self.assertNothingQueued()

    def test_bdat_over_databytes(self):
        self.inst.control("databytes", "10\n")
        lines, err, rc = self.pipe(TXN + "BDAT 20\r\n0123456789012345678\nBDAT 1 LAST\r\nxNOOP\r\n")
        self.assertEqual(lines[-3:], [
            "552 5.3.4 sorry, that message size exceeds my databytes limit (#5.3.4)",
            "503 5.5.1 MAIL first (#5.5.1)", "250 2.0.0 ok"])
        self.assertNothingQueued()

    def test_rset_drops_chunks(self):
        lines, err, rc = self.pipe(TXN + "BDAT 3\r\nabcRSET\r\nBDAT 1 LAST\r\nxNOOP\r\n")
        self.assertEqual(lines[-3:], ["250 2.0.0 flushed", "503 5.5.1 MAIL first (#5.5.1)",
                                      "250 2.0.0 ok"])
        self.assertNothingQueued()

    def test_disconnect_between_chunks(self):
        lines, err, rc = self.pipe(TXN + "BDAT 3\r\nabc")
        self.assertEqual(lines[-1], "250 2.0.0 ok 3 octets received")
        self.assertNothingQueued()
        lines, err, rc = self.pipe(TXN + "BDAT 30\r\nabc")
        self.assertIn("end=disconnect-in-data", err)
        self.assertNothingQueued()


class TestSmuggling(SmtpdCase):
    """Only CRLF.CRLF ends DATA.  Each attempt hides a second transaction
    after a fake end of data: it must never be queued.  The bare LF or CR
    of the fake end is answered at once with qmail's smtplf 451 and the
    connection is closed (qmail-1.03 does the same), so nothing after it
    is ever read as a command."""

    ATTEMPTS = [b"\n.\n", b"\r.\r", b"\r\n.\n", b"\n.\r\n", b"\r\n.\r", b"\n..\r\n"]

    def smuggle(self, fake):
        return (b"Subject: real\r\n\r\nbody" + fake +
                b"MAIL FROM:<evil@spoof.example>\r\nRCPT TO:<victim@example.test>\r\n"
                b"DATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n")

    def test_pipe(self):
        for fake in self.ATTEMPTS:
            with self.subTest(fake=fake):
                lines, err, rc = self.pipe(TXN.encode() + b"DATA\r\n" + self.smuggle(fake) +
                                           b"NOOP\r\n")
                self.assertEqual(lines[EHLO_LINES + 3:], [
                    "354 go ahead",
                    "451 4.6.0 See http://pobox.com/~djb/docs/smtplf.html. (#4.6.0)"])
                self.assertNothingQueued()
                self.assertIn("qmail-smtpd: reject ip=127.0.0.1 reason=barelf code=451 "
                              "from=<a@b.example> rcpts=1\n", err)
                self.assertIn(" end=barelf", err)
                self.assertEqual(rc, 1)

    def test_tcp_then_a_real_message(self):
        port = self.server()
        for fake in self.ATTEMPTS:
            with self.subTest(fake=fake):
                d = self.dialog(port)
                d.cmd("EHLO c")
                self.assertEqual(d.cmd("MAIL FROM:<a@b.example>"), ["250 2.1.0 ok"])
                self.assertEqual(d.cmd("RCPT TO:<u@example.test>"), ["250 2.1.5 ok"])
                self.assertEqual(d.cmd("DATA"), ["354 go ahead"])
                d.send(self.smuggle(fake))
                self.assertEqual(d.reply(), ["451 4.6.0 See http://pobox.com/~djb/docs/smtplf.html. "
                                             "(#4.6.0)"])
                self.assertEqual(d.f.readline(), b"")  # and the connection is closed
                # a new connection works normally
                d = self.dialog(port)
                d.cmd("EHLO c")
                self.assertEqual(d.cmd("MAIL FROM:<a@b.example>"), ["250 2.1.0 ok"])
                self.assertEqual(d.cmd("RCPT TO:<u@example.test>"), ["250 2.1.5 ok"])
                self.assertEqual(d.cmd("DATA"), ["354 go ahead"])
                d.send("Subject: fine\r\n\r\nok\r\n")
                self.assertRegex(d.cmd(".")[0], r"^250 2\.0\.0 ok \d+ qp \d+$")
                self.assertEqual(d.cmd("QUIT"), ["221 2.0.0 test.local"])
        msgs = self.inst.queued()
        self.assertEqual(len(msgs), len(self.ATTEMPTS))
        for m in msgs:
            self.assertEqual(m["sender"], "a@b.example")
            self.assertEqual(m["rcpts"], ["u@example.test"])
            self.assertEqual(body_of(m["mess"]), b"Subject: fine\n\nok\n")


class TestContentRefusals(SmtpdCase):

    def test_nul(self):
        lines, err, rc = self.pipe(TXN.encode() + b"DATA\r\nSubject: x\r\n\r\na\0b\r\n.\r\nNOOP\r\n")
        self.assertEqual(lines[-2:], ["554 5.6.0 sorry, NUL characters are not accepted in "
                                      "messages (#5.6.0)", "250 2.0.0 ok"])
        self.assertNothingQueued()

    def test_huge_line(self):
        lines, err, rc = self.pipe(TXN + "DATA\r\n" + "x" * 70000 + "\r\n.\r\nNOOP\r\n")
        self.assertEqual(lines[-2:], ["554 5.6.0 sorry, a line of that message is too long "
                                      "(#5.6.0)", "250 2.0.0 ok"])
        self.assertNothingQueued()
        lines, err, rc = self.pipe(TXN + "DATA\r\n" + "x" * 65536 + "\r\n.\r\n")
        self.assertQueuedOK(lines[-1])

    def test_hops(self):
        hdr = "".join("Received: from hop%d\r\n" % i for i in range(101))
        lines, err, rc = self.pipe(TXN + "DATA\r\n" + hdr + "\r\nloop\r\n.\r\nNOOP\r\n")
        self.assertEqual(lines[-2:], ["554 5.4.6 too many hops, this message is looping (#5.4.6)",
                                      "250 2.0.0 ok"])
        self.assertNothingQueued()
        hdr = ("".join("Received: from hop%d\r\n" % i for i in range(50)) +
               "".join("Delivered-To: d%d@example.test\r\n" % i for i in range(50)))
        lines, err, rc = self.pipe(TXN + "DATA\r\n" + hdr + "\r\nnot yet\r\n.\r\n")
        self.assertQueuedOK(lines[-1])

    def test_bare_lf_plain(self):
        # the first bare LF is answered, whatever follows
        for data in ("Subject: x\n\nbody\n.\r\n", "Subject: x\n\nbody\r\n.\r\nNOOP\r\n",
                     "Subject: x\r\n\r\nbody\n.\n", "Subject: x\r\n\r\nbody\n"):
            with self.subTest(data=data):
                lines, err, rc = self.pipe(TXN + "DATA\r\n" + data)
                self.assertEqual(lines[-2:], ["354 go ahead",
                                              "451 4.6.0 See http://pobox.com/~djb/docs/smtplf.html. "
                                              "(#4.6.0)"])
                self.assertIn("end=barelf", err)
                self.assertNothingQueued()

    def test_bare_lf_after_helo_has_qmail_text(self):
        lines, err, rc = self.pipe("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.test>\r\n"
                                   "DATA\r\nbody\n.\n")
        self.assertEqual(lines[-1], "451 See http://pobox.com/~djb/docs/smtplf.html. (#4.6.0)")

    def test_answered_at_once_over_tcp(self):
        """A client ending its message with a bare ".\n" (and waiting) is
        answered at once and hung up on, not left until timeoutsmtpd; a
        bare CR alike.  qmail-queue gets nothing to commit."""
        port = self.server()
        for ending in (b"body\n.\n", b"body\r.\r", b"body\r\n.\rx"):
            with self.subTest(ending=ending):
                d = self.dialog(port)
                d.cmd("EHLO c")
                d.cmd("MAIL FROM:<a@b.example>")
                d.cmd("RCPT TO:<u@example.test>")
                self.assertEqual(d.cmd("DATA"), ["354 go ahead"])
                t0 = time.monotonic()
                d.send(b"Subject: x\r\n\r\n" + ending)
                self.assertEqual(d.reply(), ["451 4.6.0 See http://pobox.com/~djb/docs/smtplf.html. "
                                             "(#4.6.0)"])
                self.assertEqual(d.f.readline(), b"")
                self.assertLess(time.monotonic() - t0, 5)
        self.wait_log(r"reason=barelf code=451 from=<a@b\.example> rcpts=1")
        self.assertNothingQueued()


class TestVanishingClient(SmtpdCase):

    def test_pipe_eof_mid_data(self):
        lines, err, rc = self.pipe(TXN + "DATA\r\nSubject: half\r\n\r\nhalf a mess")
        self.assertEqual(lines[-1], "354 go ahead")
        self.assertIn("end=disconnect-in-data", err)
        self.assertNothingQueued()

    def test_socket_closed_mid_data(self):
        port = self.server()
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        f = s.makefile("rb")
        f.readline()
        s.sendall(TXN.encode() + b"DATA\r\n")
        for _ in range(EHLO_LINES + 3):
            f.readline()
        s.sendall(b"Subject: gone\r\n\r\n" + b"data line\r\n" * 1000)
        f.close()
        s.close()
        self.wait_log(r"end=disconnect-in-data")
        self.wait_log(r"tcpserver: end \d+ status")
        self.assertNothingQueued()

    def test_socket_reset_mid_data(self):
        import struct
        port = self.server()
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        f = s.makefile("rb")
        f.readline()
        s.sendall(TXN.encode() + b"DATA\r\n")
        for _ in range(EHLO_LINES + 3):
            f.readline()
        s.sendall(b"Subject: reset\r\n\r\nabc\r\n")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        f.close()
        s.close()
        self.wait_log(r"end=(disconnect-in-data|read)")
        self.wait_log(r"tcpserver: end \d+ status")
        self.assertNothingQueued()


class TestQueueFailures(SmtpdCase):

    def test_qq_exit_53(self):
        qq = self.script("qq53", "exit 53\n")
        lines, err, rc = self.pipe(TXN + "DATA\r\nx\r\n.\r\nNOOP\r\n", env={"QMAILQUEUE": qq})
        self.assertEqual(lines[-2:], ["451 4.3.0 qq write error or disk full (#4.3.0)",
                                      "250 2.0.0 ok"])
        self.assertIn("reason=qq code=451", err)

    def test_qq_exit_31(self):
        qq = self.script("qq31", "cat >/dev/null; exit 31\n")
        lines, err, rc = self.pipe("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.test>\r\n"
                                   "DATA\r\nx\r\n.\r\n", env={"QMAILQUEUE": qq})
        self.assertEqual(lines[-1], "554 mail server permanently rejected message (#5.3.0)")

    def test_qq_missing(self):
        # The spawn fails at DATA, so DATA itself is refused (no 354) and
        # the client's two data lines are read as (unknown) commands.
        lines, err, rc = self.pipe(TXN + "DATA\r\nx\r\n.\r\n",
                                   env={"QMAILQUEUE": "/nonexistent/qmail-queue"})
        self.assertEqual(lines[-3:], ["451 4.3.0 unable to exec qq (#4.3.0)",
                                      "502 5.5.1 unimplemented (#5.5.1)",
                                      "502 5.5.1 unimplemented (#5.5.1)"])

    def test_qq_environment_and_input(self):
        """QMAILQUEUE gets the message on fd 0, the envelope on fd 1 and
        QMAIL_QUEUE_ORIGIN=network."""
        outdir = self.inst.tmp + "/qqout"
        os.mkdir(outdir)
        os.chown(outdir, self.inst.uid, self.inst.gid)
        out = outdir + "/qq.out"
        qq = self.script("qqcat", 'cat > "%s.mess"; cat <&1 > "%s.env"; '
                                  'echo "$QMAIL_QUEUE_ORIGIN" > "%s.origin"; exit 0\n'
                         % (out, out, out))
        lines, err, rc = self.pipe("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.test>\r\n"
                                   "RCPT TO:<v@example.test>\r\nDATA\r\nhello\r\n.\r\n",
                                   env={"QMAILQUEUE": qq})
        self.assertQueuedOK(lines[-1])
        with open(out + ".mess", "rb") as f:
            self.assertRegex(f.read(), rb"\A" + SMTPD_RECEIVED + rb"hello\n\Z")
        with open(out + ".env", "rb") as f:
            self.assertEqual(f.read(), b"Fa@b.example\0Tu@example.test\0Tv@example.test\0\0")
        with open(out + ".origin") as f:
            self.assertEqual(f.read(), "network\n")


class TestHeaderInjection(SmtpdCase):

    def test_helo(self):
        evil = "x) (127.0.0.1)  by evil.example with SMTP; 1 Jan 2000 X-Injected: yes ("
        lines, err, rc = self.pipe("HELO " + evil + "\r\nMAIL FROM:<a@b.example>\r\n"
                                   "RCPT TO:<u@example.test>\r\nDATA\r\nSubject: s\r\n\r\nb\r\n.\r\n")
        self.assertQueuedOK(lines[-1])
        [m] = self.inst.queued()
        head = m["mess"].split(b"\nSubject: s\n")[0].split(b"\n")
        self.assertEqual(len(head), 3, head)  # qmail-queue's line, ours (two lines)
        self.assertEqual(head[1], b"Received: from unknown (HELO x???127.0.0.1???by?evil.example?"
                                  b"with?SMTP??1?Jan?2000?X-Injected:?yes??) (127.0.0.1)")
        self.assertRegex(head[2], rb"^  by test\.local with SMTP; " + DATE + rb"$")

    def test_remote_fields(self):
        lines, err, rc = self.pipe(
            "HELO client.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.test>\r\n"
            "DATA\r\nx\r\n.\r\n",
            env={"TCPREMOTEHOST": "CLIENT.example", "TCPREMOTEINFO": "joe (x)",
                 "TCPLOCALHOST": "mx.example"})
        self.assertQueuedOK(lines[-1])
        [m] = self.inst.queued()
        self.assertRegex(m["mess"], rb"\A[^\n]*\nReceived: from CLIENT\.example "
                                    rb"\(joe\?\?x\?@127\.0\.0\.1\)\n  by mx\.example with SMTP; ")

    def test_local_ip_when_no_local_host(self):
        data = (TXN + "DATA\r\nx\r\n.\r\n").encode()
        out, err, rc = self.exact_env_pipe(data, {"TCPREMOTEIP": "192.0.2.9",
                                                  "TCPLOCALIP": "192.0.2.25"})
        out, err, rc = self.exact_env_pipe(data, {})
        heads = sorted(m["mess"].split(b"\n")[1:3] for m in self.inst.queued())
        self.assertEqual([h[0] for h in heads],
                         [b"Received: from unknown (HELO c) (192.0.2.9)",
                          b"Received: from unknown (HELO c) (unknown)"])
        self.assertEqual(sorted(h[1].split(b";")[0] for h in heads),
                         [b"  by 192.0.2.25 with SMTP", b"  by unknown with SMTP"])


if __name__ == "__main__":
    unittest.main()
