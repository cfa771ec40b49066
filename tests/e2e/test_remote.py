# SPDX-License-Identifier: ISC
"""qmail-remote end to end against the SMTP sinks of smtpsink.py on
loopback, run directly: the classic interface (qmail-1.03's arguments and
r/h/s + K/Z/D output) and batch mode (-m, the spawn protocol, many
messages over one connection).  Routes come from smtproutes
("[127.0.0.2]:PORT" relays, "::PORT" for the MX tests); the MX tests use
Debian's unbound from dnsserver.py.  Every wait is bounded."""
import os
import socket
import struct
import subprocess
import threading
import time
import unittest

import dnsserver
import qng
from smtpsink import Sink

HAVE_V6 = dnsserver.have_ipv6()
MSG = b"Subject: remote test\nFrom: a@src.test\n\nhello there\n"
# qmail-1.03's qmail-remote.c texts, byte for byte
NOCONN = "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"


def parse_classic(out):
    """[(code, text)] from qmail-remote's classic output."""
    assert out.endswith(b"\0"), out
    recs = out[:-1].split(b"\0")
    return [(r[:1].decode(), r[1:].decode("utf-8", "replace")) for r in recs]


def request(slot, msgid, sender, *rcpts):
    out = b"%d\0%d\0" % (slot, msgid) + sender.encode() + b"\0"
    for r in rcpts:
        out += (r.encode() if isinstance(r, str) else r) + b"\0"
    return out + b"\0"


def parse_reports(data):
    """[(slot, codes, texts, final, final_text)] in the order written."""
    recs = data.split(b"\0")
    assert recs[-1] == b"", data[-50:]
    recs.pop()
    out = []
    i = 0
    while i < len(recs):
        slot = int(recs[i])
        i += 1
        codes, texts = "", []
        while recs[i][:1] in (b"r", b"h", b"s"):
            codes += recs[i][:1].decode()
            texts.append(recs[i][1:].decode("utf-8", "replace"))
            i += 1
        final = recs[i][:1].decode()
        assert final in "KZD", recs[i]
        out.append((slot, codes, texts, final, recs[i][1:].decode("utf-8", "replace")))
        i += 1
    return out


def tcpto_records(path):
    """{ip text: (count, when)} of the valid records in lock/tcpto."""
    import ipaddress
    with open(path, "rb") as f:
        data = f.read()
    out = {}
    for off in range(0, len(data) - 31, 32):
        rec = data[off:off + 32]
        if rec[0:1] != b"T" or rec[1] not in (4, 6):
            continue
        count, when = struct.unpack(">IQ", rec[4:16])
        addr = rec[16:20] if rec[1] == 4 else rec[16:32]
        out[str(ipaddress.ip_address(addr))] = (count, when)
    return out


class RemoteBase(unittest.TestCase):
    def setUp(self):
        self.inst = qng.Instance(me="test.local")
        self.addCleanup(self.inst.cleanup)
        self.next_id = 5000

    def sink(self, hosts=("127.0.0.2",), **kw):
        s = Sink(hosts, **kw)
        self.addCleanup(s.stop)
        return s

    def route(self, text):
        self.inst.control("smtproutes", text)

    def remote(self, host, sender, rcpts, msg=MSG, timeout=60, stdin_pipe=False):
        """Run classic qmail-remote; returns (records, exit code, stderr)."""
        p = os.path.join(self.inst.tmp, "msg-%d" % self.next_id)
        self.next_id += 1
        with open(p, "wb") as f:
            f.write(msg)
        argv = [os.path.join(self.inst.bin, "qmail-remote"), host, sender] + list(rcpts)
        if stdin_pipe:
            r = subprocess.run(argv, input=msg, capture_output=True, env=self.inst.env,
                               timeout=timeout, cwd="/")
        else:
            with open(p, "rb") as f:
                r = subprocess.run(argv, stdin=f, capture_output=True, env=self.inst.env,
                                   timeout=timeout, cwd="/")
        return parse_classic(r.stdout), r.returncode, r.stderr.decode(errors="replace")

    def message(self, data=MSG):
        """A message file in the queue as qmail-queue leaves it; its id."""
        self.next_id += 1
        i = self.next_id
        p = self.inst.path("queue", "mess", str(i % 23), str(i))
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, 0o640)
        if qng.IS_ROOT:
            os.chown(p, self.inst.uid, self.inst.gid)
        return i

    def batch(self, host, reqs, timeout=60):
        """Run qmail-remote -m in the queue; returns (reports, code, stderr)."""
        r = subprocess.run([os.path.join(self.inst.bin, "qmail-remote"), "-m", host],
                           input=reqs, capture_output=True, env=self.inst.env,
                           timeout=timeout, cwd=self.inst.path("queue"))
        return parse_reports(r.stdout), r.returncode, r.stderr.decode(errors="replace")

    def tcpto(self):
        return tcpto_records(self.inst.path("queue", "lock", "tcpto"))

    def write_mark(self, ip4, count, when, slot=2):
        """An IPv4 record in lock/tcpto, in slot, as qmail-remote writes it."""
        rec = bytearray(32)
        rec[0:2] = b"T\x04"
        rec[4:16] = struct.pack(">IQ", count, int(when))
        rec[16:20] = bytes(int(x) for x in ip4.split("."))
        a = b = rec[1] % 255
        for x in rec[4:]:
            a = (a + x) % 255
            b = (b + a) % 255
        rec[2:4] = bytes([b, a])
        with open(self.inst.path("queue", "lock", "tcpto"), "r+b") as f:
            f.seek(32 * slot)
            f.write(rec)

    def blackhole(self, host="127.0.0.2"):
        """A port on host where a connect times out, as to a host that is
        down: a listener with backlog 0 whose one slot is taken and that
        never accepts, so the kernel drops every further SYN (Linux drops
        SYNs while the accept queue is full, SYN cookies or not)."""
        ls = socket.socket()
        self.addCleanup(ls.close)
        ls.bind((host, 0))
        ls.listen(0)
        port = ls.getsockname()[1]
        fillers = []
        self.addCleanup(lambda: [f.close() for f in fillers])
        for _ in range(4):
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex((host, port))
            fillers.append(f)
        # the first filler completes: the queue is full from now on
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            probe = socket.socket()
            probe.settimeout(0.3)
            try:
                probe.connect((host, port))
            except (socket.timeout, TimeoutError):
                break
            finally:
                probe.close()
            time.sleep(0.05)
        else:
            self.fail("cannot make a port that drops SYNs")
        return port


class ClassicTest(RemoteBase):
    def test_accept(self):
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, code, err = self.remote("example.test", "a@src.test", ["x@example.test",
                                                                     "y@example.test"])
        self.assertEqual(code, 0, err)
        self.assertEqual(recs, [("r", ""), ("r", ""),
                                ("K", "127.0.0.2 accepted message.\n"
                                      "Remote host said: 250 ok 1 qp 1\n")])
        s.wait_closed()
        c = s.conns[0]
        self.assertEqual(c.ehlo, "test.local")
        self.assertTrue(c.quit)
        t = c.txns[0]
        self.assertEqual(t.mail, "MAIL FROM:<a@src.test>")
        self.assertEqual(t.accepted, ["x@example.test", "y@example.test"])
        self.assertEqual(t.data, MSG.replace(b"\n", b"\r\n") + b".\r\n")

    def test_bounce_sender_and_helohost(self):
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        self.inst.control("helohost", "out.test.local\n")
        recs, code, _ = self.remote("example.test", "", ["x@example.test"])
        self.assertEqual([r[0] for r in recs], ["r", "K"])
        s.wait_closed()
        self.assertEqual(s.conns[0].ehlo, "out.test.local")
        self.assertEqual(s.conns[0].txns[0].mail, "MAIL FROM:<>")

    def test_quoted_addresses(self):
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "john doe@src.test",
                                 ['x"y@example.test', "plain@example.test"])
        self.assertEqual(recs[-1][0], "K")
        s.wait_closed()
        t = s.conns[0].txns[0]
        self.assertEqual(t.mail, 'MAIL FROM:<"john doe"@src.test>')
        self.assertEqual([l for _, l in s.conns[0].commands if l.startswith("RCPT")],
                         ['RCPT TO:<"x\\"y"@example.test>', "RCPT TO:<plain@example.test>"])

    def test_per_recipient_results(self):
        s = self.sink(rcpt={"bad@example.test": "550 5.1.1 no such user",
                            "busy@example.test": "451 4.2.1 try later"})
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test",
                                 ["ok@example.test", "bad@example.test", "busy@example.test",
                                  "ok2@example.test"])
        self.assertEqual([r[0] for r in recs], ["r", "h", "s", "r", "K"])
        self.assertEqual(recs[1][1], "127.0.0.2 does not like recipient.\n"
                                     "Remote host said: 550 5.1.1 no such user\n")
        self.assertEqual(recs[2][1], "127.0.0.2 does not like recipient.\n"
                                     "Remote host said: 451 4.2.1 try later\n")
        s.wait_closed()
        self.assertEqual(s.conns[0].txns[0].accepted, ["ok@example.test", "ok2@example.test"])

    def test_no_recipient_accepted_no_data(self):
        s = self.sink(pipelining=False, rcpt={"bad@example.test": "550 no",
                                              "bad2@example.test": "553 no"})
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test",
                                 ["bad@example.test", "bad2@example.test"])
        self.assertEqual(recs, [("h", "127.0.0.2 does not like recipient.\n"
                                      "Remote host said: 550 no\n"),
                                ("h", "127.0.0.2 does not like recipient.\n"
                                      "Remote host said: 553 no\n"),
                                ("D", "Giving up on 127.0.0.2.\n")])
        s.wait_closed()
        self.assertNotIn("DATA", s.conns[0].verbs())
        # qmail-1.03 says D whatever the refusals were: each has its own
        s.opts["rcpt"] = {"bad@example.test": "550 no", "slow@example.test": "452 full"}
        recs, _, _ = self.remote("example.test", "a@src.test",
                                 ["bad@example.test", "slow@example.test"])
        self.assertEqual([r[0] for r in recs], ["h", "s", "D"])
        self.assertEqual(recs[-1][1], "Giving up on 127.0.0.2.\n")

    def test_no_recipient_accepted_pipelined(self):
        s = self.sink(rcpt={"bad@example.test": "550 no"})
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["bad@example.test"])
        self.assertEqual([r[0] for r in recs], ["h", "D"])
        s.wait_closed()
        # DATA went out in the pipelined group, the message itself did not
        self.assertEqual(s.conns[0].txns[0].data, None)
        self.assertTrue(s.conns[0].quit)

    def test_data_refused_after_message(self):
        for final, code in (("554 5.7.1 spam", "D"), ("451 4.3.0 disk full", "Z")):
            with self.subTest(final=final):
                s = self.sink(final=final)
                self.route(":[127.0.0.2]:%d\n" % s.port)
                recs, _, _ = self.remote("example.test", "a@src.test",
                                         ["x@example.test", "y@example.test"])
                # classic: the r recipients share the message's fate
                self.assertEqual([r[0] for r in recs], ["r", "r", code])
                self.assertEqual(recs[-1][1], "127.0.0.2 failed after I sent the message.\n"
                                              "Remote host said: %s\n" % final)

    def test_data_command_refused(self):
        s = self.sink(data="554 5.3.2 not now")
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1], ("D", "127.0.0.2 failed on DATA command.\n"
                                         "Remote host said: 554 5.3.2 not now\n"))

    def test_sender_rejected(self):
        for reply, code in (("553 5.7.1 go away", "D"), ("451 4.7.1 greylisted", "Z")):
            with self.subTest(reply=reply):
                s = self.sink(mail=reply)
                self.route(":[127.0.0.2]:%d\n" % s.port)
                recs, _, _ = self.remote("example.test", "a@src.test",
                                         ["x@example.test", "y@example.test"])
                text = ("Connected to 127.0.0.2 but sender was rejected.\n"
                        "Remote host said: %s\n" % reply)
                # no recipient reports: qmail-1.03 stops before RCPT
                self.assertEqual(recs, [(code, text)])

    def test_greeting_refused(self):
        s = self.sink(greeting="421 sink.test out of connection slots (#4.3.2)")
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs, [("Z", "Connected to 127.0.0.2 but greeting failed.\n"
                                      "Remote host said: 421 sink.test out of connection "
                                      "slots (#4.3.2)\n")])

    def test_helo_fallback(self):
        s = self.sink(ehlo=False, size=10)
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "K")
        s.wait_closed()
        c = s.conns[0]
        self.assertEqual(c.helo, "test.local")
        self.assertEqual(c.verbs()[:2], ["EHLO", "HELO"])
        # nothing ESMTP after HELO: no SIZE parameter
        self.assertEqual(c.txns[0].mail, "MAIL FROM:<a@src.test>")

    def test_size(self):
        s = self.sink(size=200)
        self.route(":[127.0.0.2]:%d\n" % s.port)
        small = b"Subject: s\n\n.x\nshort\n"
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"], msg=small)
        self.assertEqual(recs[-1][0], "K")
        s.wait_closed()
        # RFC 1870: CRLFs counted, the stuffing dot and the final "." not
        self.assertEqual(s.conns[0].txns[0].mail,
                         "MAIL FROM:<a@src.test> SIZE=%d" % (len(small) + small.count(b"\n")))
        big = b"Subject: b\n\n" + b"x" * 300 + b"\n"
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"], msg=big)
        self.assertEqual(recs[-1][0], "D")
        self.assertIn("(#5.3.4)", recs[-1][1])
        self.assertIn("%d bytes" % (len(big) + big.count(b"\n")), recs[-1][1])
        self.assertIn("200 bytes", recs[-1][1])
        s.wait_closed()
        self.assertEqual(len(s.conns), 2)
        self.assertNotIn("MAIL", s.conns[1].verbs())

    def test_8bitmime(self):
        msg = "Subject: caf\u00e9\n\nna\u00efve\n".encode()
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"], msg=msg)
        self.assertEqual(recs[-1][0], "K")
        s.wait_closed()
        self.assertTrue(s.conns[0].txns[0].mail.endswith(" BODY=8BITMIME"))
        s2 = self.sink(("127.0.0.3",), eightbitmime=False)
        self.route(":[127.0.0.3]:%d\n" % s2.port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"], msg=msg)
        self.assertEqual(recs[-1][0], "K")
        s2.wait_closed()
        self.assertEqual(s2.conns[0].txns[0].mail, "MAIL FROM:<a@src.test>")
        # plain ASCII never says BODY=
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        s2.wait_closed()
        self.assertNotIn("BODY", s2.conns[1].txns[0].mail)

    def test_dot_stuffing_byte_exact(self):
        msg = (b"Subject: dots\n\n.\n..\n.leading\nmid.dle\n.\r\n"
               b"bare\rcr\nx\r\n.\ny\r\r\nend.\n.")
        want = (b"Subject: dots\r\n\r\n..\r\n...\r\n..leading\r\nmid.dle\r\n..\r\n"
                b"bare\r\ncr\r\nx\r\n..\r\ny\r\n\r\nend.\r\n..\r\n.\r\n")
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"], msg=msg)
        self.assertEqual(recs[-1][0], "K")
        s.wait_closed()
        self.assertEqual(s.conns[0].txns[0].data, want)

    def test_smuggling_attempt_stays_data(self):
        # a body trying to end DATA early with a bare LF or CR dot line
        msg = (b"Subject: s\n\nx\n.\rMAIL FROM:<evil@x.test>\r\n"
               b"y\r.\rRCPT TO:<victim@x.test>\n.\n")
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"], msg=msg)
        self.assertEqual(recs[-1][0], "K")
        s.wait_closed()
        c = s.conns[0]
        self.assertEqual(len(c.txns), 1)
        self.assertEqual(c.verbs(), ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"])
        data = c.txns[0].data
        self.assertEqual(data.count(b"\r\n.\r\n"), 1)
        self.assertNotIn(b"\r", data.replace(b"\r\n", b""))
        self.assertNotIn(b"\n", data.replace(b"\r\n", b""))

    def test_message_on_a_pipe(self):
        # not seekable: no SIZE, no BODY=, sent as it comes
        s = self.sink(size=100000)
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"],
                                 stdin_pipe=True)
        self.assertEqual(recs[-1][0], "K")
        s.wait_closed()
        self.assertEqual(s.conns[0].txns[0].mail, "MAIL FROM:<a@src.test>")
        self.assertEqual(s.conns[0].txns[0].data, MSG.replace(b"\n", b"\r\n") + b".\r\n")

    def test_pipelining(self):
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        self.remote("example.test", "a@src.test", ["x@example.test", "y@example.test"])
        s.wait_closed()
        reads = s.conns[0].reads_of()
        self.assertEqual(len(reads), 4)
        self.assertEqual(len(set(reads)), 1, s.conns[0].commands)
        s2 = self.sink(("127.0.0.3",), pipelining=False)
        self.route(":[127.0.0.3]:%d\n" % s2.port)
        self.remote("example.test", "a@src.test", ["x@example.test", "y@example.test"])
        s2.wait_closed()
        reads = s2.conns[0].reads_of()
        self.assertEqual(len(set(reads)), 4, s2.conns[0].commands)

    def test_many_recipients_pipelined_in_windows(self):
        rcpts = ["u%d@example.test" % i for i in range(250)]
        s = self.sink(rcpt={"u7@example.test": "550 no", "u200@example.test": "450 later"})
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test", rcpts)
        codes = "".join(r[0] for r in recs)
        self.assertEqual(codes, "r" * 7 + "h" + "r" * 192 + "s" + "r" * 49 + "K")
        s.wait_closed()
        self.assertEqual(len(s.conns[0].txns[0].accepted), 248)
        self.assertEqual(len(set(s.conns[0].reads_of())), 3)

    def test_control_characters_never_sent(self):
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test",
                                 ["x@example.test\r\nRCPT TO:<evil@x.test>", "ok@example.test"])
        self.assertEqual([r[0] for r in recs], ["h", "r", "K"])
        self.assertIn("(#5.1.3)", recs[0][1])
        s.wait_closed()
        self.assertEqual(s.conns[0].txns[0].accepted, ["ok@example.test"])
        recs, _, _ = self.remote("example.test", "a@src\n.test", ["ok@example.test"])
        self.assertEqual(recs[-1][0], "D")
        self.assertEqual(len(s.conns), 1)

    def test_utf8_addresses(self):
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test",
                                 ["j\u00f6rg@example.test", "ok@example.test"])
        self.assertEqual([r[0] for r in recs], ["h", "r", "K"])
        self.assertIn("(#5.6.7)", recs[0][1])
        s2 = self.sink(("127.0.0.3",), smtputf8=True)
        self.route(":[127.0.0.3]:%d\n" % s2.port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["j\u00f6rg@example.test"])
        self.assertEqual([r[0] for r in recs], ["r", "K"])
        s2.wait_closed()
        self.assertTrue(s2.conns[0].txns[0].mail.endswith(" SMTPUTF8"))

    def test_timeouts(self):
        self.inst.control("timeoutremote", "2\n")
        for stall, critical in (("data", True), ("mail", False), ("greeting", False)):
            with self.subTest(stall=stall):
                s = self.sink(stall=stall)
                self.route(":[127.0.0.2]:%d\n" % s.port)
                t0 = time.monotonic()
                recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
                self.assertLess(time.monotonic() - t0, 15)
                self.assertEqual(recs[-1][0], "Z")
                # qmail-1.03 says "died" for a timeout too
                self.assertEqual(recs[-1][1], "Connected to 127.0.0.2 but connection died. "
                                              "%s(#4.4.2)\n"
                                 % ("Possible duplicate! " if critical else ""))
                s.stop()

    def test_trickled_reply_times_out(self):
        # a greeting sent a byte every 0.3 s: each read is quick, the
        # reply as a whole is not, and timeoutremote bounds the whole
        self.inst.control("timeoutremote", "2\n")
        ls = socket.socket()
        ls.bind(("127.0.0.2", 0))
        ls.listen(1)
        self.addCleanup(ls.close)

        def trickle():
            ls.settimeout(10)
            try:
                c, _ = ls.accept()
            except OSError:
                return
            with c:
                for b in b"220-" + b"x" * 40 + b"\r\n220 ok\r\n":
                    try:
                        c.sendall(bytes([b]))
                    except OSError:
                        return
                    time.sleep(0.3)
        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        self.route(":[127.0.0.2]:%d\n" % ls.getsockname()[1])
        t0 = time.monotonic()
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertLess(time.monotonic() - t0, 8)
        self.assertEqual(recs[-1][0], "Z")
        t.join(timeout=20)

    def test_stall_mid_body(self):
        self.inst.control("timeoutremote", "2\n")
        s = self.sink(stall="body")
        self.route(":[127.0.0.2]:%d\n" % s.port)
        big = b"Subject: big\n\n" + (b"x" * 999 + b"\n") * 12000
        t0 = time.monotonic()
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"], msg=big)
        self.assertLess(time.monotonic() - t0, 20)
        self.assertEqual(recs[-1], ("Z", "Connected to 127.0.0.2 but connection died. "
                                         "(#4.4.2)\n"))

    def test_bad_replies(self):
        for kind, why in (("endless", "a reply of more than 200 lines"),
                          ("longline", "a reply line over 1000 bytes"),
                          ("garbage", "a malformed reply")):
            with self.subTest(kind=kind):
                s = self.sink(ehlo_reply=kind)
                self.route(":[127.0.0.2]:%d\n" % s.port)
                t0 = time.monotonic()
                recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
                self.assertLess(time.monotonic() - t0, 15)
                self.assertEqual(recs[-1], ("Z", "Connected to 127.0.0.2 but it sent %s. "
                                                 "(#4.4.2)\n" % why))
                s.stop()

    def test_connection_refused(self):
        self.route(":[127.0.0.2]:1\n")
        recs, code, _ = self.remote("example.test", "a@src.test", ["x@example.test",
                                                                     "y@example.test"])
        self.assertEqual(code, 0)
        # qmail-1.03: no recipient report when no RCPT was said
        self.assertEqual(recs, [("Z", NOCONN)])

    def test_address_literal(self):
        s = self.sink(("127.0.0.3",))
        self.route("::%d\n" % s.port)
        recs, _, _ = self.remote("[127.0.0.3]", "a@src.test", ["x@[127.0.0.3]"])
        self.assertEqual(recs[-1][0], "K")
        recs, _, _ = self.remote("[127.0.0.1]", "a@src.test", ["x@[127.0.0.1]"])
        self.assertEqual(recs[-1][0], "D")
        self.assertIn("(#5.4.6)", recs[-1][1])
        recs, _, _ = self.remote("[bogus]", "a@src.test", ["x@[bogus]"])
        self.assertEqual(recs[-1][0], "D")
        self.assertIn("(#5.1.2)", recs[-1][1])

    @unittest.skipUnless(HAVE_V6, "no IPv6 loopback")
    def test_ipv6_relay(self):
        s = self.sink(("::1",))
        self.route(":[::1]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1], ("K", "::1 accepted message.\n"
                                         "Remote host said: 250 ok 1 qp 1\n"))
        self.assertEqual(s.conns[0].peer, "::1")

    def test_relay_is_not_checked_against_me(self):
        # smtproutes to one of our own addresses is the admin's choice
        s = self.sink(("127.0.0.1",))
        self.route("example.test:127.0.0.1:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "K")

    def test_route_order(self):
        a = self.sink(("127.0.0.2",))
        b = self.sink(("127.0.0.3",), port=a.port)
        c = self.sink(("127.0.0.5",), port=a.port)
        self.route(":[127.0.0.5]:%d\n.example.test:[127.0.0.3]:%d\n"
                   "mail.example.test:[127.0.0.2]:%d\n" % (a.port, a.port, a.port))
        self.remote("mail.example.test", "a@src.test", ["x@mail.example.test"])
        self.remote("sub.example.test", "a@src.test", ["x@sub.example.test"])
        self.remote("elsewhere.test", "a@src.test", ["x@elsewhere.test"])
        for s in (a, b, c):
            s.wait_conns(1)
        self.assertEqual((len(a.conns), len(b.conns), len(c.conns)), (1, 1, 1))

    def test_outgoingip(self):
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        self.inst.control("outgoingip", "127.0.0.9\n::1\n")
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "K")
        self.assertEqual(s.conns[0].peer, "127.0.0.9")
        self.inst.control("outgoingip", "203.0.113.254\n")
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "Z")
        self.assertIn("Unable to connect from 203.0.113.254 (control/outgoingip)", recs[-1][1])
        self.inst.control("outgoingip", "127.0.0.9\n127.0.0.10\n")
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "Z")
        self.assertIn("outgoingip", recs[-1][1])

    def test_bad_control_files(self):
        self.route("example.test:relay:99999\n")
        recs, code, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(code, 0)
        self.assertEqual(recs[-1], ("Z", "control/smtproutes: line 1 is not a route. "
                                         "(#4.3.0)\n"))
        self.route(None)
        self.inst.control("timeoutremote", "soon\n")
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "Z")
        self.assertIn("timeoutremote", recs[-1][1])

    def test_usage(self):
        # qmail-1.03: a permanent failure report, exit code 0, nothing on fd 2
        for args in (["example.test", "a@src.test"], [], ["-x", "a@src.test", "b@x.test"]):
            with self.subTest(args=args):
                r = self.inst.run("qmail-remote", *args)
                self.assertEqual(r.returncode, 0)
                self.assertEqual(r.stdout, b"DI (qmail-remote) was invoked improperly. "
                                           b"(#5.3.5)\n\0")
                self.assertEqual(r.stderr, b"")

    def test_unreadable_message(self):
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        fd = os.open(self.inst.tmp, os.O_RDONLY | os.O_DIRECTORY)
        try:
            r = subprocess.run([os.path.join(self.inst.bin, "qmail-remote"), "example.test",
                                "a@src.test", "x@example.test"], stdin=fd,
                               capture_output=True, env=self.inst.env, timeout=60, cwd="/")
        finally:
            os.close(fd)
        self.assertEqual(parse_classic(r.stdout), [("Z", "Unable to read message. (#4.3.0)\n")])

    def test_unreadable_control_file(self):
        # a directory where a control file should be: qmail-1.03's words
        os.mkdir(self.inst.path("control", "smtproutes"))
        recs, code, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(code, 0)
        self.assertEqual(recs, [("Z", "Unable to read control files. (#4.3.0)\n")])


class TcptoTest(RemoteBase):
    """lock/tcpto as qmail-1.03 keeps it: only a connect that timed out
    marks an address; a refused one (the host is up, the port closed) or
    a successful one clears it."""
    RESTING = NOCONN  # every address resting: qmail-1.03 says no more

    def test_timeoutconnect(self):
        port = self.blackhole()
        self.inst.control("timeoutconnect", "1\n")
        self.route(":[127.0.0.2]:%d\n" % port)
        t0 = time.monotonic()
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        took = time.monotonic() - t0
        self.assertEqual(recs[-1][1], "Sorry, I wasn't able to establish an SMTP connection. "
                                      "(#4.4.1)\n")
        self.assertLess(took, 10)
        self.assertGreater(took, 0.8)
        marks = self.tcpto()
        self.assertEqual(list(marks), ["127.0.0.2"])
        self.assertEqual(marks["127.0.0.2"][0], 1)
        # the next delivery does not wait for it again
        t0 = time.monotonic()
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertLess(time.monotonic() - t0, 0.8)
        self.assertEqual(recs[-1], ("Z", self.RESTING))

    def test_refused_port_does_not_mark(self):
        self.route(":[127.0.0.2]:1\n")
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1], ("Z", NOCONN))
        self.assertEqual(self.tcpto(), {})
        # the host is up: another port of it is tried at once
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "K")
        self.assertEqual(len(s.conns), 1)

    def test_refusal_clears_a_mark(self):
        # two timeouts in a row, the back-off (2 minutes) over: tried again
        self.write_mark("127.0.0.2", 2, time.time() - 200)
        self.assertEqual(self.tcpto()["127.0.0.2"][0], 2)
        self.route(":[127.0.0.2]:1\n")
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "Z")
        self.assertEqual(self.tcpto(), {})

    def test_marked_down_then_tcpok(self):
        port = self.blackhole()
        self.inst.control("timeoutconnect", "1\n")
        self.route(":[127.0.0.2]:%d\n" % port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "Z")
        marks = self.tcpto()
        self.assertEqual(list(marks), ["127.0.0.2"])
        self.assertEqual(marks["127.0.0.2"][0], 1)
        self.assertLess(abs(marks["127.0.0.2"][1] - time.time()), 60)
        # now a server is there, but the address is resting
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1], ("Z", self.RESTING))
        self.assertEqual(len(s.conns), 0)
        # qmail-tcpok forgets it; the file keeps qmail-setup's size
        size = os.path.getsize(self.inst.path("queue", "lock", "tcpto"))
        r = self.inst.run("qmail-tcpok")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.tcpto(), {})
        self.assertEqual(os.path.getsize(self.inst.path("queue", "lock", "tcpto")), size)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "K")

    def test_success_clears_mark(self):
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        # a mark older than its back-off: tried, and cleared on success
        self.write_mark("127.0.0.2", 1, time.time() - 100)
        self.assertIn("127.0.0.2", self.tcpto())
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "K")
        self.assertEqual(self.tcpto(), {})

    def test_corrupt_file(self):
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        with open(self.inst.path("queue", "lock", "tcpto"), "wb") as f:
            f.write(os.urandom(1000))
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "K")


class BatchTest(RemoteBase):
    def test_many_messages_one_connection(self):
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        ids = [self.message(b"Subject: m%d\n\nbody %d\n" % (i, i)) for i in range(3)]
        reqs = b"".join(request(i, m, "a@src.test", "x%d@example.test" % i, "y@example.test")
                        for i, m in enumerate(ids))
        reps, code, err = self.batch("example.test", reqs)
        self.assertEqual(code, 0, err)
        self.assertEqual([(r[0], r[1], r[3]) for r in reps],
                         [(0, "rr", "K"), (1, "rr", "K"), (2, "rr", "K")])
        self.assertEqual(reps[1][4], "127.0.0.2 accepted message.\n"
                                     "Remote host said: 250 ok 2 qp 1\n")
        s.wait_closed()
        self.assertEqual(len(s.conns), 1)
        c = s.conns[0]
        self.assertEqual(c.rsets, 2)
        self.assertTrue(c.quit)
        self.assertEqual([t.data for t in c.txns],
                         [b"Subject: m%d\r\n\r\nbody %d\r\n.\r\n" % (i, i) for i in range(3)])
        self.assertEqual(c.verbs(), ["EHLO", "MAIL", "RCPT", "RCPT", "DATA", "RSET", "MAIL",
                                     "RCPT", "RCPT", "DATA", "RSET", "MAIL", "RCPT", "RCPT",
                                     "DATA", "QUIT"])

    def test_report_as_soon_as_done(self):
        # the report of the first message comes before the next request
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        m = self.message()
        p = subprocess.Popen([os.path.join(self.inst.bin, "qmail-remote"), "-m",
                              "example.test"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env=self.inst.env, cwd=self.inst.path("queue"))
        try:
            p.stdin.write(request(3, m, "a@src.test", "x@example.test"))
            p.stdin.flush()
            import selectors
            sel = selectors.DefaultSelector()
            sel.register(p.stdout, selectors.EVENT_READ)
            got = b""
            deadline = time.monotonic() + 20
            while not got.endswith(b"\0K") and time.monotonic() < deadline:
                if sel.select(timeout=1):
                    chunk = os.read(p.stdout.fileno(), 4096)
                    if not chunk:
                        break
                    got += chunk
                    if got.count(b"\0") >= 3:
                        break
            self.assertTrue(got.startswith(b"3\0r\0K127.0.0.2 accepted message."), got)
            self.assertFalse(s.conns[0].quit)
        finally:
            p.stdin.close()
            p.wait(timeout=20)
            p.stdout.close()
        s.wait_closed()
        self.assertTrue(s.conns[0].quit)

    def test_reconnect_after_drop(self):
        s = self.sink(close_after_txn=1)
        self.route(":[127.0.0.2]:%d\n" % s.port)
        ids = [self.message() for _ in range(3)]
        reqs = b"".join(request(i, m, "a@src.test", "x@example.test") for i, m in enumerate(ids))
        reps, code, _ = self.batch("example.test", reqs)
        self.assertEqual([r[3] for r in reps], ["K", "K", "K"])
        s.wait_closed()
        self.assertEqual(len(s.conns), 3)

    def test_rset_refused_reconnects(self):
        s = self.sink(rset="421 sink.test closing")
        self.route(":[127.0.0.2]:%d\n" % s.port)
        ids = [self.message() for _ in range(2)]
        reqs = b"".join(request(i, m, "a@src.test", "x@example.test") for i, m in enumerate(ids))
        reps, _, _ = self.batch("example.test", reqs)
        self.assertEqual([r[3] for r in reps], ["K", "K"])
        s.wait_closed()
        self.assertEqual(len(s.conns), 2)

    def test_codes_are_final(self):
        def final(txn):
            return "554 5.7.1 rejected" if b"spam" in txn.data else None
        s = self.sink(final=final, rcpt={"bad@example.test": "550 no such user",
                                         "busy@example.test": "451 busy"})
        self.route(":[127.0.0.2]:%d\n" % s.port)
        ok = self.message(b"Subject: fine\n\nhello\n")
        spam = self.message(b"Subject: spam\n\nbuy\n")
        reqs = (request(0, ok, "a@src.test", "x@example.test", "bad@example.test",
                        "busy@example.test")
                + request(1, spam, "a@src.test", "x@example.test", "bad@example.test",
                          "busy@example.test"))
        reps, _, _ = self.batch("example.test", reqs)
        self.assertEqual(reps[0][1], "rhs")
        self.assertEqual(reps[0][3], "K")
        # after a 5xx to the message, the accepted recipient fails too
        self.assertEqual(reps[1][1], "hhs")
        self.assertEqual(reps[1][2][0], "")  # the final text stands for it
        self.assertEqual(reps[1][3], "D")
        self.assertEqual(reps[1][4], "127.0.0.2 failed after I sent the message.\n"
                                     "Remote host said: 554 5.7.1 rejected\n")
        # each refused recipient ends as qmail-1.03's qmail-rspawn made it
        refused = ("127.0.0.2 does not like recipient.\nRemote host said: %s\n"
                   "Giving up on 127.0.0.2.\n")
        self.assertEqual(reps[0][2][1:], [refused % "550 no such user", refused % "451 busy"])
        self.assertEqual(reps[1][2][1:], [refused % "550 no such user", refused % "451 busy"])
        s.opts["final"] = "452 4.3.1 full"
        m = self.message()
        reps, _, _ = self.batch("example.test", request(5, m, "a@src.test", "x@example.test"))
        self.assertEqual(reps, [(5, "s", [""], "Z", "127.0.0.2 failed after I sent the "
                                                     "message.\nRemote host said: 452 4.3.1 "
                                                     "full\n")])

    def test_missing_message(self):
        s = self.sink()
        self.route(":[127.0.0.2]:%d\n" % s.port)
        good = self.message()
        reqs = (request(1, 999999, "a@src.test", "x@example.test", "y@example.test")
                + request(2, good, "a@src.test", "x@example.test"))
        reps, code, _ = self.batch("example.test", reqs)
        self.assertEqual(code, 0)
        self.assertEqual(reps[0][:2], (1, "ss"))
        self.assertEqual(reps[0][3], "Z")
        self.assertEqual(reps[0][4], "Unable to open message mess/%d/999999: No such file or "
                                     "directory. (#4.3.0)\n" % (999999 % 23))
        self.assertEqual(reps[1][3], "K")

    def test_refused_every_message_deferred(self):
        self.route(":[127.0.0.2]:1\n")
        ids = [self.message() for _ in range(3)]
        reqs = b"".join(request(i, m, "a@src.test", "x@example.test") for i, m in enumerate(ids))
        reps, code, _ = self.batch("example.test", reqs)
        self.assertEqual(code, 0)
        self.assertEqual([(r[1], r[3]) for r in reps], [("s", "Z")] * 3)
        # a refusal marks nothing: each message tried, each with qmail's words
        self.assertEqual([r[4] for r in reps], [NOCONN] * 3)
        self.assertEqual(self.tcpto(), {})

    def test_timed_out_host_tried_once(self):
        port = self.blackhole()
        self.inst.control("timeoutconnect", "1\n")
        self.route(":[127.0.0.2]:%d\n" % port)
        ids = [self.message() for _ in range(3)]
        reqs = b"".join(request(i, m, "a@src.test", "x@example.test") for i, m in enumerate(ids))
        t0 = time.monotonic()
        reps, code, _ = self.batch("example.test", reqs)
        # one connect timeout for the three messages
        self.assertLess(time.monotonic() - t0, 1.9)
        self.assertEqual(code, 0)
        self.assertEqual([(r[1], r[3]) for r in reps], [("s", "Z")] * 3)
        self.assertEqual(list(self.tcpto()), ["127.0.0.2"])
        self.assertEqual([r[4] for r in reps[1:]], [TcptoTest.RESTING] * 2)

    def test_setup_failure_answers_every_request(self):
        self.route("bad line\n")
        ids = [self.message() for _ in range(2)]
        reqs = b"".join(request(i, m, "a@src.test", "x@example.test") for i, m in enumerate(ids))
        reps, code, _ = self.batch("example.test", reqs)
        self.assertEqual(code, 0)
        self.assertEqual([(r[0], r[1], r[3]) for r in reps], [(0, "s", "Z"), (1, "s", "Z")])
        self.assertIn("smtproutes", reps[0][4])

    def test_garbled_requests(self):
        reps, code, _ = self.batch("example.test", b"notanumber\0")
        self.assertEqual(code, 111)
        self.assertEqual(reps, [])

    def test_empty_input(self):
        reps, code, _ = self.batch("example.test", b"")
        self.assertEqual((reps, code), ([], 0))


if __name__ == "__main__":
    unittest.main()
