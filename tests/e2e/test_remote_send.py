# SPDX-License-Identifier: ISC
"""The whole remote path: qmail-queue, qmail-send, qmail-rspawn and the
real qmail-remote -m, delivering to an SMTP sink on loopback through
smtproutes.  Per-recipient results reach qmail-send's log with qmail's
texts, refused recipients bounce, messages for one domain share a
connection, and an unreachable destination defers."""
import re
import unittest

import qng
from smtpsink import Sink


class RemoteSendCase(unittest.TestCase):
    def setUp(self):
        self.inst = qng.Instance(me="mx.test", rcpthosts=["mx.test"], locals_=["mx.test"])
        self.addCleanup(self.inst.cleanup)

    def start(self, perdomain=None, **sink_opts):
        if perdomain:
            self.inst.control("concurrencyperdomain", "%d\n" % perdomain)
        self.sink = Sink(["127.0.0.2"], **sink_opts)
        self.addCleanup(self.sink.stop)
        self.inst.control("smtproutes", "far.test:[127.0.0.2]:%d\n" % self.sink.port)
        self.inst.start_send(fake_local=True)
        self.inst.wait_log(r"^status: local 0/10 remote 0/20$")

    def test_recipients_and_texts(self):
        self.start(rcpt={"bad@far.test": "550 5.1.1 no such user",
                         "later@far.test": "451 4.2.0 try later"})
        body = "Subject: out\n\n.dot\nhello\n"
        self.assertEqual(self.inst.inject(body, "s@mx.test",
                                          ["a@far.test", "bad@far.test", "later@far.test",
                                           "b@far.test"]), 0)
        ok = self.inst.wait_log(r"^delivery \d+: success: ", count=2)
        self.assertRegex(ok[0], r"success: 127\.0\.0\.2_accepted_message\./"
                                r"Remote_host_said:_250_ok_\d+_qp_1/$")
        fail = self.inst.wait_log(r"^delivery \d+: failure: ")
        # qmail-1.03's lines, "Giving up" included
        self.assertEqual(fail[0].split(": ", 2)[2],
                         "127.0.0.2_does_not_like_recipient./"
                         "Remote_host_said:_550_5.1.1_no_such_user/"
                         "Giving_up_on_127.0.0.2./")
        defer = self.inst.wait_log(r"^delivery \d+: deferral: ")
        self.assertEqual(defer[0].split(": ", 2)[2],
                         "127.0.0.2_does_not_like_recipient./"
                         "Remote_host_said:_451_4.2.0_try_later/"
                         "Giving_up_on_127.0.0.2./")
        self.sink.wait(lambda: any(t.reply for c in self.sink.conns for t in c.txns), 15,
                       "a delivered message")
        txns = [t for t in self.sink.txns() if t.data is not None]
        self.assertEqual(len(txns), 1)
        self.assertEqual(txns[0].accepted, ["a@far.test", "b@far.test"])
        self.assertTrue(txns[0].data.endswith(b"\r\n..dot\r\nhello\r\n.\r\n"))
        self.assertTrue(txns[0].mail.startswith("MAIL FROM:<s@mx.test>"))
        # the refused recipient bounces to the sender (a local address)
        self.inst.wait_log(r"^bounce msg \d+ qp \d+$")

    def test_messages_share_a_connection(self):
        self.start(perdomain=1)
        for i in range(5):
            self.assertEqual(self.inst.inject("Subject: %d\n\nbody\n" % i, "s@mx.test",
                                              ["r%d@far.test" % i]), 0)
        self.inst.wait_log(r"^delivery \d+: success: ", count=5)
        self.sink.wait(lambda: sum(1 for c in self.sink.conns for t in c.txns if t.reply) == 5,
                       15, "five messages")
        # one worker for the domain: one connection, unless it was idle
        # longer than qmail-rspawn's linger between two messages
        self.assertLess(len(self.sink.conns), 3)
        self.assertEqual(sum(c.rsets for c in self.sink.conns) + len(self.sink.conns), 5)

    def test_unreachable_defers(self):
        self.start()
        self.inst.control("smtproutes", "far.test:[127.0.0.2]:1\n")
        self.assertEqual(self.inst.inject("Subject: x\n\nhi\n", "s@mx.test", ["a@far.test"]), 0)
        line = self.inst.wait_log(r"^delivery \d+: deferral: ")[0]
        self.assertIn("Sorry,_I_wasn't_able_to_establish_an_SMTP_connection._(#4.4.1)/", line)
        self.assertEqual(re.findall(r"^delivery \d+: (success|failure)", self.inst.log("send.log"),
                                    re.M), [])


if __name__ == "__main__":
    unittest.main()
