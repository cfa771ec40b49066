# SPDX-License-Identifier: ISC
"""Remote delivery end to end: qmail-send -> qmail-rspawn -> qmail-remote
-m -> SMTP sinks on loopback (smtpsink.py), routed by smtproutes or by MX
records from unbound (dnsserver.py).  One connection carries many
recipients and several messages; a 550 for one RCPT bounces that one
alone (QSBMF + RFC 3464 with the server's reply); a refusal after DATA
bounces or defers every recipient of the transaction; the seeds' three
failure examples (421 out of connection slots, connection refused,
timeouts) move on to the next MX or defer with qmail's words."""
import re
import socket
import unittest

import dnsserver
import qng
from smtpsink import Sink


def unused_port():
    """A loopback port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class RelayCase(unittest.TestCase):
    controls = {}

    def setUp(self):
        self.inst = qng.Instance(me="mx.test", rcpthosts=["mx.test"], locals_=["mx.test"])
        self.addCleanup(self.inst.cleanup)
        for k, v in self.controls.items():
            self.inst.control(k, v)
        self.sinks = []

    def sink(self, hosts=("127.0.0.2",), **opts):
        s = Sink(list(hosts), **opts)
        self.sinks.append(s)
        self.addCleanup(s.stop)
        return s

    def start(self, routes):
        self.inst.control("smtproutes", routes)
        self.inst.start_send(fake_local=True)
        self.inst.wait_log(r"^status: local 0/10 remote 0/20$")

    def log(self):
        return self.inst.log("send.log")


class OneConnectionTest(RelayCase):
    controls = {"concurrencyperdomain": "1"}

    def test_many_recipients_and_messages_over_one_connection(self):
        s = self.sink()
        self.start("far.test:127.0.0.2:%d\n" % s.port)
        rcpts = ["u%d@far.test" % i for i in range(10)]
        self.assertEqual(self.inst.inject("Subject: many\n\nhi\n", "s@x.test", rcpts), 0)
        for i in range(5):
            self.assertEqual(self.inst.inject("Subject: m%d\n\nbody %d\n" % (i, i), "s@x.test",
                                              ["one@far.test"]), 0)
        self.inst.wait_log(r"^end msg \d+$", count=6, timeout=30)
        txns = s.txns()
        self.assertEqual(len(txns), 6)
        self.assertEqual([a for a, _ in txns[0].rcpts], rcpts)  # one transaction, 10 RCPTs
        self.assertEqual(len(s.conns), 1, [c.verbs() for c in s.conns])
        self.assertEqual(s.conns[0].rsets, 5)
        # still one log line per recipient, each its own delivery number
        done = re.findall(r"^delivery (\d+): success: 127\.0\.0\.2_accepted_message\./"
                          r"Remote_host_said:_250_ok", self.log(), re.M)
        self.assertEqual(len(set(done)), 15)
        for t in txns[1:]:
            self.assertRegex(t.data, rb"\r\nSubject: m\d\r\n\r\nbody \d\r\n\.\r\n$")


class ResultTest(RelayCase):
    def start_with(self, **opts):
        s = self.sink(**opts)
        self.start("far.test:[127.0.0.2]:%d\n:127.0.0.2:%d\n" % (s.port, s.port))
        return s

    def bounce(self, s):
        def bounces():  # called with the sink's lock held: no s.txns() here
            return [t for c in s.conns for t in c.txns
                    if t.mail.upper().startswith("MAIL FROM:<>") and t.reply]
        return s.wait(bounces, what="a bounce at the sink")[0]

    def test_550_for_one_rcpt_bounces_that_one(self):
        s = self.start_with(rcpt={"bad@far.test": "550 5.1.1 no such user"})
        self.assertEqual(self.inst.inject("Subject: mixed\n\nhi\n", "s@x.test",
                                          ["ok@far.test", "bad@far.test"]), 0)
        self.inst.wait_log(r"^end msg \d+$", count=2, timeout=30)  # the message and its bounce
        log = self.log()
        self.assertRegex(log, r"(?m)^delivery \d+: success: 127\.0\.0\.2_accepted_message\./")
        # qmail-1.03's line, "Giving up" included
        self.assertRegex(log, r"(?m)^delivery \d+: failure: 127\.0\.0\.2_does_not_like_recipient\./"
                              r"Remote_host_said:_550_5\.1\.1_no_such_user/"
                              r"Giving_up_on_127\.0\.0\.2\./$")
        b = self.bounce(s)
        self.assertEqual(b.accepted, ["s@x.test"])
        text = b.data.replace(b"\r\n", b"\n").decode()
        self.assertIn("<bad@far.test>:\n127.0.0.2 does not like recipient.\n"
                      "Remote host said: 550 5.1.1 no such user\n"
                      "Giving up on 127.0.0.2.\n\n", text)
        self.assertNotIn("<ok@far.test>", text)
        self.assertIn("Final-Recipient: rfc822; bad@far.test\nAction: failed\nStatus: 5.1.1\n"
                      "Remote-MTA: dns; [127.0.0.2]\n"
                      "Diagnostic-Code: smtp; 550 5.1.1 no such user\n", text)

    def test_refusal_after_data_bounces_every_recipient(self):
        s = self.start_with(final=lambda t: "250 ok" if t.mail.upper().startswith("MAIL FROM:<>")
                            else "554 5.7.1 message refused")
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["a@far.test", "b@far.test"]), 0)
        b = self.bounce(s)
        text = b.data.replace(b"\r\n", b"\n").decode()
        for a in ("a@far.test", "b@far.test"):
            self.assertIn("Final-Recipient: rfc822; %s\nAction: failed\nStatus: 5.7.1\n" % a,
                          text)
        self.assertEqual(len(re.findall(r"(?m)^delivery \d+: failure: ", self.log())), 2)

    def test_temporary_refusal_after_data_defers_every_recipient(self):
        self.start_with(final="451 4.3.0 try later")
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["a@far.test", "b@far.test"]), 0)
        self.inst.wait_log(r"^delivery \d+: deferral: .*451_4\.3\.0_try_later", count=2)
        out = self.inst.run("qmail-qread").stdout.decode()
        self.assertIn("\tremote\ta@far.test\n", out)
        self.assertIn("\tremote\tb@far.test\n", out)

    def test_connection_refused_defers_with_qmails_words(self):
        self.start("far.test:127.0.0.2:%d\n" % unused_port())
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["a@far.test"]), 0)
        # the seeds' line
        self.inst.wait_log(r"^delivery \d+: deferral: Sorry,_I_wasn't_able_to_establish_an_"
                           r"SMTP_connection\._\(#4\.4\.1\)/$")


ZONES = {
    "far.test": ["MX 10 busy.far.test", "MX 20 next.far.test"],
    "busy.far.test": ["A 127.0.0.2"],
    "next.far.test": ["A 127.0.0.3"],
    "slow.test": ["MX 10 stall.slow.test", "MX 20 next.far.test"],
    "stall.slow.test": ["A 127.0.0.4"],
}


class MxRelayTest(RelayCase):
    controls = {"timeoutremote": "2", "timeoutconnect": "2"}
    dns = None

    @classmethod
    def setUpClass(cls):
        if not dnsserver.UNBOUND:
            raise unittest.SkipTest("unbound is not installed")
        cls.dns = dnsserver.Unbound(ZONES)

    @classmethod
    def tearDownClass(cls):
        if cls.dns:
            cls.dns.stop()

    def test_421_out_of_slots_then_next_mx(self):
        busy = self.sink(["127.0.0.2"], greeting="421 busy.far.test out of connection slots")
        nxt = self.sink(["127.0.0.3"], port=busy.port)
        dnsserver.write_dnsservers(self.inst, self.dns)
        self.start("::%d\n" % busy.port)
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["a@far.test"]), 0)
        self.inst.wait_log(r"^delivery \d+: success: 127\.0\.0\.3_accepted_message\./", timeout=30)
        self.assertEqual(len(busy.conns), 1)
        self.assertEqual([a for t in nxt.txns() for a in t.accepted], ["a@far.test"])

    def test_stalled_mx_times_out_then_next(self):
        stall = self.sink(["127.0.0.4"], stall="greeting")
        nxt = self.sink(["127.0.0.3"], port=stall.port)
        dnsserver.write_dnsservers(self.inst, self.dns)
        self.start("::%d\n" % stall.port)
        self.assertEqual(self.inst.inject("x\n", "s@x.test", ["a@slow.test"]), 0)
        self.inst.wait_log(r"^delivery \d+: success: 127\.0\.0\.3_accepted_message\./", timeout=30)
        self.assertEqual([a for t in nxt.txns() for a in t.accepted], ["a@slow.test"])


if __name__ == "__main__":
    unittest.main()
