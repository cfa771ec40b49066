# SPDX-License-Identifier: ISC
"""qmail-remote's MX delivery, with Debian's unbound on loopback serving
test zones (dnsserver.py) and SMTP sinks on 127.0.0.x and ::1.  The
route "::PORT" (an empty relay with a port: the MX hosts as usual, at
that port) lets the sinks live on a free port instead of 25.  Covers
preference order, equal preferences spread, the next MX after a refused
connection or a 421 greeting, an IPv6-only MX, the implicit MX, CNAMEs,
an MX that is this host (qmail's 5.4.6 bounce, and only better MXs than
ours), null MX, NXDOMAIN and a DNS server in trouble."""
import os
import unittest

import dnsserver
from dnsserver import StubDNS, Unbound, reply, write_dnsservers
from test_remote import MSG, RemoteBase, request

HAVE_V6 = dnsserver.have_ipv6()

ZONES = {
    "pref.test": ["MX 20 second.pref.test", "MX 10 first.pref.test"],
    "first.pref.test": ["A 127.0.0.2"],
    "second.pref.test": ["A 127.0.0.3"],
    "spread.test": ["MX 10 a.spread.test", "MX 10 b.spread.test"],
    "a.spread.test": ["A 127.0.0.2"],
    "b.spread.test": ["A 127.0.0.3"],
    "refused.test": ["MX 10 down.refused.test", "MX 20 second.pref.test"],
    "down.refused.test": ["A 127.0.0.4"],
    "v6.test": ["MX 10 host.v6.test"],
    "host.v6.test": ["AAAA ::1"],
    "dual.test": ["MX 10 host.dual.test"],
    "host.dual.test": ["AAAA ::1", "A 127.0.0.3"],
    "implicit.test": ["A 127.0.0.3"],
    "alias.test": ["CNAME pref.test"],
    "mxalias.test": ["MX 10 name.mxalias.test"],
    "name.mxalias.test": ["CNAME second.pref.test"],
    "self.test": ["MX 10 localhost.self.test"],
    "localhost.self.test": ["A 127.0.0.1"],
    "selfbest.test": ["MX 10 localhost.self.test", "MX 20 second.pref.test"],
    "selfsecond.test": ["MX 10 second.pref.test", "MX 20 localhost.self.test",
                        "MX 30 first.pref.test"],
    "nullmx.test": ["MX 0 ."],
    "noaddr.test": ["MX 10 nothing.noaddr.test"],
    "nothing.noaddr.test": ["TXT no address here"],
}


class MxTest(RemoteBase):
    dns = None

    @classmethod
    def setUpClass(cls):
        if not dnsserver.UNBOUND:
            raise unittest.SkipTest("unbound is not installed")
        cls.dns = Unbound(ZONES)

    @classmethod
    def tearDownClass(cls):
        if cls.dns:
            cls.dns.stop()

    def setUp(self):
        super().setUp()
        write_dnsservers(self.inst, self.dns)

    def sinks(self, *groups):
        """Sinks on one port: each group is (hosts, options)."""
        out = []
        port = 0
        for hosts, opts in groups:
            s = self.sink(hosts, port=port, **opts)
            port = s.port
            out.append(s)
        self.route("::%d\n" % port)
        return out

    def test_preference_order(self):
        a, b = self.sinks((["127.0.0.2"], {}), (["127.0.0.3"], {}))
        recs, _, _ = self.remote("pref.test", "s@src.test", ["x@pref.test"])
        self.assertEqual(recs[-1], ("K", "127.0.0.2 accepted message.\n"
                                         "Remote host said: 250 ok 1 qp 1\n"))
        self.assertEqual((len(a.conns), len(b.conns)), (1, 0))

    def test_next_mx_after_421(self):
        a, b = self.sinks((["127.0.0.2"], {"greeting": "421 sink out of connection slots"}),
                          (["127.0.0.3"], {}))
        recs, _, _ = self.remote("pref.test", "s@src.test", ["x@pref.test"])
        self.assertEqual(recs[-1][0], "K")
        self.assertTrue(recs[-1][1].startswith("127.0.0.3 accepted message."))
        self.assertEqual((len(a.conns), len(b.conns)), (1, 1))
        # both refuse: the last greeting's failure is reported
        b.opts["greeting"] = "554 no service here"
        recs, _, _ = self.remote("pref.test", "s@src.test", ["x@pref.test"])
        self.assertEqual(recs[-1], ("Z", "Connected to 127.0.0.3 but greeting failed.\n"
                                         "Remote host said: 554 no service here\n"))

    def test_next_mx_after_refusal(self):
        d, b = self.sinks((["127.0.0.5"], {}), (["127.0.0.3"], {}))
        recs, _, _ = self.remote("refused.test", "s@src.test", ["x@refused.test"])
        self.assertEqual(recs[-1][0], "K")
        self.assertTrue(recs[-1][1].startswith("127.0.0.3 accepted"))
        # a refusal is no timeout: the address is not marked down (qmail-1.03)
        self.assertEqual(self.tcpto(), {})
        # so a server appearing there gets the next message at once
        d2 = self.sink(("127.0.0.4",), port=b.port)
        recs, _, _ = self.remote("refused.test", "s@src.test", ["x@refused.test"])
        self.assertTrue(recs[-1][1].startswith("127.0.0.4 accepted"))
        self.assertEqual((len(d2.conns), len(b.conns)), (1, 1))

    def test_next_mx_after_timeout_and_tcpto(self):
        port = self.blackhole("127.0.0.4")
        b = self.sink(("127.0.0.3",), port=port)
        self.route("::%d\n" % port)
        self.inst.control("timeoutconnect", "1\n")
        recs, _, _ = self.remote("refused.test", "s@src.test", ["x@refused.test"])
        self.assertTrue(recs[-1][1].startswith("127.0.0.3 accepted"), recs)
        self.assertEqual(list(self.tcpto()), ["127.0.0.4"])
        # the downed address rests: the next message goes to 127.0.0.3 at once
        recs, _, _ = self.remote("refused.test", "s@src.test", ["x@refused.test"])
        self.assertTrue(recs[-1][1].startswith("127.0.0.3 accepted"))
        self.assertEqual(len(b.conns), 2)
        self.assertEqual(self.inst.run("qmail-tcpok").returncode, 0)
        self.assertEqual(self.tcpto(), {})

    def test_equal_preferences_spread(self):
        a, b = self.sinks((["127.0.0.2"], {}), (["127.0.0.3"], {}))
        for _ in range(30):
            recs, _, _ = self.remote("spread.test", "s@src.test", ["x@spread.test"])
            self.assertEqual(recs[-1][0], "K")
        # 30 tries all on one host: 1 in 2**29 (12 tries, 1 in 2048, failed once in CI)
        self.assertGreater(len(a.conns), 0)
        self.assertGreater(len(b.conns), 0)
        self.assertEqual(len(a.conns) + len(b.conns), 30)

    @unittest.skipUnless(HAVE_V6, "no IPv6 loopback")
    def test_ipv6_only_mx(self):
        self.inst.control("notipme", "::1\n")
        (s,) = self.sinks((["::1"], {}))
        recs, _, _ = self.remote("v6.test", "s@src.test", ["x@v6.test"])
        self.assertEqual(recs[-1], ("K", "::1 accepted message.\n"
                                         "Remote host said: 250 ok 1 qp 1\n"))
        self.assertEqual(s.conns[0].peer, "::1")
        # without notipme, ::1 is this host: the loop check bounces
        self.inst.control("notipme", None)
        recs, _, _ = self.remote("v6.test", "s@src.test", ["x@v6.test"])
        self.assertEqual(recs[-1][0], "D")
        self.assertIn("(#5.4.6)", recs[-1][1])

    @unittest.skipUnless(HAVE_V6, "no IPv6 loopback")
    def test_ipv6_first_then_ipv4(self):
        self.inst.control("notipme", "::1\n")
        six, four = self.sinks((["::1"], {"greeting": "421 busy"}), (["127.0.0.3"], {}))
        recs, _, _ = self.remote("dual.test", "s@src.test", ["x@dual.test"])
        self.assertTrue(recs[-1][1].startswith("127.0.0.3 accepted"))
        self.assertEqual((len(six.conns), len(four.conns)), (1, 1))

    def test_implicit_mx(self):
        (s,) = self.sinks((["127.0.0.3"], {}))
        recs, _, _ = self.remote("implicit.test", "s@src.test", ["x@implicit.test"])
        self.assertEqual(recs[-1][0], "K")
        self.assertEqual(len(s.conns), 1)

    def test_cnames(self):
        a, b = self.sinks((["127.0.0.2"], {}), (["127.0.0.3"], {}))
        recs, _, _ = self.remote("alias.test", "s@src.test", ["x@alias.test"])
        self.assertTrue(recs[-1][1].startswith("127.0.0.2 accepted"))
        recs, _, _ = self.remote("mxalias.test", "s@src.test", ["x@mxalias.test"])
        self.assertTrue(recs[-1][1].startswith("127.0.0.3 accepted"))

    def test_mx_is_me(self):
        self.sinks((["127.0.0.3"], {}))
        # qmail-1.03's two lines
        text = ("Sorry. Although I'm listed as a best-preference MX or A for that host,\n"
                "it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)\n")
        for dom in ("self.test", "selfbest.test"):
            recs, _, _ = self.remote(dom, "s@src.test", ["x@" + dom])
            self.assertEqual(recs, [("D", text)], dom)
        # moreipme makes another address ours
        self.inst.control("moreipme", "127.0.0.3\n")
        recs, _, _ = self.remote("implicit.test", "s@src.test", ["x@implicit.test"])
        self.assertEqual(recs[-1], ("D", text))

    def test_only_better_mx_than_me(self):
        a, b = self.sinks((["127.0.0.2"], {"greeting": "421 busy"}),
                          (["127.0.0.3"], {"greeting": "421 busy too"}))
        recs, _, _ = self.remote("selfsecond.test", "s@src.test", ["x@selfsecond.test"])
        # the MX at 30 (127.0.0.2) is worse than ours (20): never tried
        self.assertEqual(recs[-1][0], "Z")
        self.assertEqual((len(a.conns), len(b.conns)), (0, 1))

    def test_dns_failures(self):
        recs, _, _ = self.remote("nx.test", "s@src.test", ["x@nx.test"])
        self.assertEqual(recs, [("D", "Sorry, I couldn't find any host named nx.test. "
                                      "(#5.1.2)\n")])
        # not a case qmail-1.03 knew: RFC 7505's code
        recs, _, _ = self.remote("nullmx.test", "s@src.test", ["x@nullmx.test"])
        self.assertEqual(recs, [("D", "Sorry, nullmx.test accepts no mail: its MX is \".\" "
                                      "(null MX). (#5.1.10)\n")])
        recs, _, _ = self.remote("noaddr.test", "s@src.test", ["x@noaddr.test"])
        self.assertEqual(recs[-1], ("Z", "Sorry, I couldn't find any host by that name. "
                                         "(#4.1.2)\n"))

    def test_dns_temporary_failure(self):
        stub = StubDNS(lambda q, tcp: reply(q, rcode=2))  # SERVFAIL
        self.addCleanup(stub.stop)
        write_dnsservers(self.inst, stub)
        recs, _, _ = self.remote("pref.test", "s@src.test", ["x@pref.test", "y@pref.test"])
        # qmail-1.03's temp_dns, one line
        self.assertEqual(recs, [("Z", "Sorry, I couldn't find any host by that name. "
                                      "(#4.1.2)\n")])

    def test_relay_name(self):
        a, b = self.sinks((["127.0.0.2"], {}), (["127.0.0.3"], {}))
        self.route("pref.test:second.pref.test:%d\n" % a.port)
        recs, _, _ = self.remote("pref.test", "s@src.test", ["x@pref.test"])
        self.assertTrue(recs[-1][1].startswith("127.0.0.3 accepted"))
        self.route("pref.test:missing.pref.test:%d\n" % a.port)
        recs, _, _ = self.remote("pref.test", "s@src.test", ["x@pref.test"])
        self.assertEqual(recs[-1][0], "D")
        self.assertIn("missing.pref.test", recs[-1][1])

    def test_batch_over_mx(self):
        a, b = self.sinks((["127.0.0.2"], {}), (["127.0.0.3"], {}))
        ids = [self.message() for _ in range(4)]
        reqs = b"".join(request(i, m, "s@src.test", "x@pref.test") for i, m in enumerate(ids))
        reps, code, _ = self.batch("pref.test", reqs)
        self.assertEqual(code, 0)
        self.assertEqual([r[3] for r in reps], ["K"] * 4)
        a.wait_closed()
        self.assertEqual((len(a.conns), len(b.conns)), (1, 0))
        self.assertEqual(a.conns[0].rsets, 3)


if __name__ == "__main__":
    unittest.main()
