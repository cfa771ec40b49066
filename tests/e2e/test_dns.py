# SPDX-License-Identifier: ISC
"""dnsmx, dnsip and dnsptr against real DNS servers on loopback: Debian's
unbound for what a real server answers (MX order and spread, big MX sets
through EDNS0 and through TCP, CNAMEs, NXDOMAIN, null MX, PTR, an IPv6
server), and a scripted stub for what one will not (truncation, SERVFAIL,
malformed answers, wrong ids, silence, EDNS0 refused, chains across
queries)."""
import os
import time
import unittest

import dnsserver
import qng
from dnsserver import (StubDNS, Unbound, rcode_handler, reply, rr, silent, truncating,
                       write_dnsservers, zone_handler)

HAVE_V6 = dnsserver.have_ipv6()


def big_mx(n):
    """n MX records with names that compression cannot shorten much."""
    return ["MX %d mx%02d.provider-%02d.example" % (10 + i % 3, i, i) for i in range(n)]


ZONES = {
    "example.test": ["MX 20 mx2.example.test", "MX 10 mx1.example.test",
                     "MX 30 backup.example.net"],
    "mx1.example.test": ["A 192.0.2.1", "AAAA 2001:db8::1"],
    "mx2.example.test": ["A 192.0.2.2", "A 192.0.2.3"],
    "v6only.example.test": ["AAAA 2001:db8::6"],
    "spread.test": ["MX 10 a.spread.test", "MX 10 b.spread.test", "MX 10 c.spread.test",
                    "MX 20 last.spread.test"],
    "noremx.test": ["A 192.0.2.9"],
    "alias1.test": ["CNAME alias2.test"],
    "alias2.test": ["CNAME example.test"],
    "hostalias.test": ["CNAME mx1.example.test"],
    "loop1.test": ["CNAME loop2.test"],
    "loop2.test": ["CNAME loop1.test"],
    "nullmx.test": ["MX 0 ."],
    "medium.test": big_mx(20),  # over 512 bytes, under 1232: EDNS0 over UDP
    "huge.test": big_mx(70),    # over 1232 bytes: truncated over UDP, then TCP
    dnsserver.ptr_name("192.0.2.1"): ["PTR mx1.example.test"],
    dnsserver.ptr_name("2001:db8::1"): ["PTR mx1.example.test"],
    dnsserver.ptr_name("192.0.2.77"): ["TXT no name here"],
}


def mx_lines(zone_recs):
    """The dnsmx lines for a list of "MX P NAME" records, sorted."""
    out = []
    for r in zone_recs:
        _, p, n = r.split()
        out.append((int(p), n))
    return ["%d %s" % x for x in sorted(out)]


class DnsToolsBase(unittest.TestCase):
    inst = None

    @classmethod
    def setUpClass(cls):
        cls.inst = qng.Instance()

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()

    def tool(self, prog, *args, timeout=60):
        r = self.inst.run(prog, *args, timeout=timeout)
        return r.returncode, r.stdout.decode(), r.stderr.decode()


@unittest.skipUnless(dnsserver.UNBOUND, "unbound is not installed")
class RealServerTest(DnsToolsBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ub = Unbound(ZONES, v6=HAVE_V6)
        cls.udponly = Unbound(ZONES, tcp=False)

    @classmethod
    def tearDownClass(cls):
        cls.ub.stop()
        cls.udponly.stop()
        super().tearDownClass()

    def setUp(self):
        write_dnsservers(self.inst, ("127.0.0.1", self.ub.port))

    def test_mx_order(self):
        rc, out, err = self.tool("dnsmx", "example.test")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out.splitlines(), ["10 mx1.example.test", "20 mx2.example.test",
                                            "30 backup.example.net"])

    def test_mx_name_case_and_dot(self):
        rc, out, _ = self.tool("dnsmx", "Example.TEST.")
        self.assertEqual(rc, 0)
        self.assertEqual(out.splitlines()[0], "10 mx1.example.test")

    def test_mx_equal_preference_spread(self):
        orders = set()
        for _ in range(60):
            rc, out, err = self.tool("dnsmx", "spread.test")
            self.assertEqual(rc, 0, err)
            lines = out.splitlines()
            self.assertEqual(len(lines), 4)
            self.assertEqual(lines[3], "20 last.spread.test")
            self.assertEqual(sorted(lines[:3]), ["10 a.spread.test", "10 b.spread.test",
                                                 "10 c.spread.test"])
            orders.add(tuple(lines[:3]))
            if len(orders) >= 3:
                break
        self.assertGreaterEqual(len(orders), 3, orders)

    def test_mx_over_512_bytes_edns0(self):
        # the UDP-only server cannot fall back to TCP: this is EDNS0 at work
        write_dnsservers(self.inst, self.udponly)
        rc, out, err = self.tool("dnsmx", "medium.test")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(sorted(out.splitlines()), sorted(mx_lines(ZONES["medium.test"])))
        self.assertGreater(len(out), 512)

    def test_mx_over_udp_size_tcp_fallback(self):
        rc, out, err = self.tool("dnsmx", "huge.test")
        self.assertEqual((rc, err), (0, ""))
        lines = out.splitlines()
        self.assertEqual(sorted(lines), sorted(mx_lines(ZONES["huge.test"])))
        prefs = [int(l.split()[0]) for l in lines]
        self.assertEqual(prefs, sorted(prefs))

    def test_mx_over_512_bytes_tcp_when_udp_is_small(self):
        # a server that keeps UDP answers to 512 bytes despite EDNS0
        with Unbound({"medium.test": ZONES["medium.test"]}, udp_size=512) as ub:
            write_dnsservers(self.inst, ub)
            rc, out, err = self.tool("dnsmx", "medium.test")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(sorted(out.splitlines()), sorted(mx_lines(ZONES["medium.test"])))

    def test_truncated_without_tcp_is_temporary(self):
        write_dnsservers(self.inst, self.udponly)
        rc, out, err = self.tool("dnsmx", "huge.test")
        self.assertEqual(rc, 111, err)
        self.assertEqual(out, "")
        self.assertIn("huge.test", err)
        self.assertIn("truncated UDP answer, and TCP failed", err)

    def test_implicit_mx(self):
        rc, out, err = self.tool("dnsmx", "noremx.test")
        self.assertEqual((rc, out, err), (0, "0 noremx.test\n", ""))

    def test_cname_chain(self):
        rc, out, err = self.tool("dnsmx", "alias1.test")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out.splitlines()[0], "10 mx1.example.test")
        rc, out, err = self.tool("dnsip", "hostalias.test")
        self.assertEqual((rc, out, err), (0, "192.0.2.1 2001:db8::1\n", ""))

    def test_cname_loop_is_temporary(self):
        for prog in ("dnsmx", "dnsip"):
            rc, out, err = self.tool(prog, "loop1.test")
            self.assertEqual(rc, 111, prog)
            self.assertEqual(out, "")
            self.assertIn("CNAME lookup failed temporarily", err)
            self.assertIn("loop", err)
            self.assertIn("loop1.test", err)

    def test_nxdomain_is_permanent(self):
        for prog in ("dnsmx", "dnsip"):
            rc, out, err = self.tool(prog, "nosuch.example.test")
            self.assertEqual(rc, 100, prog)
            self.assertEqual(out, "")
            self.assertIn("nosuch.example.test does not exist", err)
            self.assertIn("NXDOMAIN", err)

    def test_cname_to_nxdomain_is_permanent(self):
        zones = {"dangling.test": ["CNAME gone.test"]}
        with Unbound(zones) as ub:
            write_dnsservers(self.inst, ub)
            rc, _, err = self.tool("dnsmx", "dangling.test")
        self.assertEqual(rc, 100, err)
        self.assertIn("gone.test", err)

    def test_null_mx(self):
        rc, out, err = self.tool("dnsmx", "nullmx.test")
        self.assertEqual((rc, out), (100, ""))
        self.assertIn("nullmx.test accepts no mail", err)
        self.assertIn("RFC 7505", err)

    def test_bad_name_is_permanent(self):
        rc, _, err = self.tool("dnsmx", "bad..name")
        self.assertEqual(rc, 100)
        self.assertIn("not a valid domain name", err)

    def test_dnsip(self):
        rc, out, err = self.tool("dnsip", "mx1.example.test", "mx2.example.test",
                                 "v6only.example.test", "example.test")
        self.assertEqual((rc, err), (0, ""))
        lines = out.split("\n")
        self.assertEqual(lines[0], "192.0.2.1 2001:db8::1")  # IPv4 first, then IPv6
        self.assertEqual(sorted(lines[1].split()), ["192.0.2.2", "192.0.2.3"])
        self.assertEqual(lines[2:], ["2001:db8::6", "", ""])  # example.test: no address

    def test_dnsip_stops_at_first_failure(self):
        rc, out, err = self.tool("dnsip", "mx1.example.test", "nosuch.test", "mx2.example.test")
        self.assertEqual(rc, 100)
        self.assertEqual(out, "192.0.2.1 2001:db8::1\n")
        self.assertIn("nosuch.test", err)

    def test_ptr_v4(self):
        rc, out, err = self.tool("dnsptr", "192.0.2.1")
        self.assertEqual((rc, out, err), (0, "mx1.example.test\n", ""))

    def test_ptr_v6(self):
        rc, out, err = self.tool("dnsptr", "2001:db8::1", "::ffff:192.0.2.1")
        self.assertEqual((rc, out, err), (0, "mx1.example.test\nmx1.example.test\n", ""))

    def test_ptr_nodata_and_nxdomain(self):
        rc, out, _ = self.tool("dnsptr", "192.0.2.77")
        self.assertEqual((rc, out), (0, "\n"))
        rc, out, err = self.tool("dnsptr", "192.0.2.78")
        self.assertEqual((rc, out), (100, ""))
        self.assertIn("78.2.0.192.in-addr.arpa does not exist", err)
        rc, _, err = self.tool("dnsptr", "not-an-ip")
        self.assertEqual(rc, 100)
        self.assertIn("not an IP address", err)

    @unittest.skipUnless(HAVE_V6, "no IPv6 loopback")
    def test_ipv6_server(self):
        write_dnsservers(self.inst, ("::1", self.ub.port))
        with open(self.inst.path("control", "dnsservers")) as f:
            self.assertEqual(f.read(), "[::1]:%d\n" % self.ub.port)
        rc, out, err = self.tool("dnsmx", "example.test")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out.splitlines()[0], "10 mx1.example.test")

    def test_refused_port_then_good_server(self):
        port = dnsserver._free_port(["127.0.0.1"])  # nothing listens there
        write_dnsservers(self.inst, ("127.0.0.1", port), ("127.0.0.1", self.ub.port))
        t0 = time.monotonic()
        rc, out, err = self.tool("dnsmx", "example.test")
        self.assertEqual((rc, err), (0, ""))
        self.assertLess(time.monotonic() - t0, 4)  # a refusal is not a timeout

    def test_bad_dnsservers_line(self):
        write_dnsservers(self.inst, "127.0.0.1:99999")
        rc, _, err = self.tool("dnsmx", "example.test")
        self.assertEqual(rc, 111)
        self.assertIn("dnsservers line 1", err)


def static(records_by_name, rcode=0):
    """A handler with fixed answers: name -> list of (type, value)."""
    def handler(q, tcp):
        recs = records_by_name.get(q.name)
        if recs is None:
            return reply(q, rcode=3)
        return reply(q, [rr(q.name, t, v) for t, v in recs if t in (q.type, "CNAME")],
                     rcode=rcode)
    return handler


class StubServerTest(DnsToolsBase):
    def stub(self, handler, host="127.0.0.1"):
        s = StubDNS(handler, host)
        self.addCleanup(s.stop)
        write_dnsservers(self.inst, s)
        return s

    def test_servfail_is_temporary(self):
        s = self.stub(rcode_handler(2))
        rc, out, err = self.tool("dnsmx", "example.test")
        self.assertEqual((rc, out), (111, ""))
        self.assertIn("MX lookup of example.test failed temporarily", err)
        self.assertIn("127.0.0.1:%d: SERVFAIL" % s.port, err)

    def test_refused_is_temporary(self):
        self.stub(rcode_handler(5))
        rc, _, err = self.tool("dnsip", "example.test")
        self.assertEqual(rc, 111)
        self.assertIn("REFUSED", err)

    def test_malformed_answer_is_temporary(self):
        mx = rr("example.test", "MX", "10 mx.example.test")
        self.stub(lambda q, tcp: reply(q, [mx], counts=(1, 3, 0, 0)))  # the count lies
        rc, out, err = self.tool("dnsmx", "example.test")
        self.assertEqual((rc, out), (111, ""))
        self.assertIn("malformed answer", err)

    def test_pointer_loop_is_temporary(self):
        # an answer whose owner name is a compression pointer to itself
        def handler(q, tcp):
            head = reply(q)
            at = len(head)
            loop = bytes([0xC0 | at >> 8, at & 0xFF])
            return reply(q, [loop + b"\0\x0f\0\x01\0\0\0\x3c\0\x04\0\x0a\xc0\x0c"])
        self.stub(handler)
        rc, _, err = self.tool("dnsmx", "example.test")
        self.assertEqual(rc, 111)
        self.assertIn("malformed answer", err)

    def test_wrong_id_and_question_ignored(self):
        good = rr("example.test", "MX", "10 mx.example.test")
        forged = rr("example.test", "MX", "10 evil.example")

        def handler(q, tcp):
            other = dnsserver.encode_name("other.test") + b"\0\x0f\0\x01"
            return [reply(q, [forged], qid=q.id ^ 0x5A5A),
                    reply(q, [forged], question=other),
                    reply(q, [good])]
        self.stub(handler)
        rc, out, err = self.tool("dnsmx", "example.test")
        self.assertEqual((rc, out, err), (0, "10 mx.example.test\n", ""))

    def test_truncated_udp_then_tcp(self):
        recs = [rr("example.test", "MX", "10 mx.example.test")]
        s = self.stub(truncating(lambda q, tcp: reply(q, recs)))
        rc, out, err = self.tool("dnsmx", "example.test")
        self.assertEqual((rc, out, err), (0, "10 mx.example.test\n", ""))
        self.assertEqual([x[2] for x in s.queries], [False, True])

    def test_truncated_and_tcp_closed(self):
        self.stub(truncating(silent))
        rc, _, err = self.tool("dnsmx", "example.test")
        self.assertEqual(rc, 111)
        self.assertIn("truncated UDP answer, and TCP failed", err)

    def test_formerr_to_edns_retries_without(self):
        recs = [rr("example.test", "MX", "10 mx.example.test")]

        def handler(q, tcp):
            if q.edns:
                return reply(q, rcode=1, question=b"")  # as old servers do
            return reply(q, recs)
        s = self.stub(handler)
        rc, out, err = self.tool("dnsmx", "example.test")
        self.assertEqual((rc, out, err), (0, "10 mx.example.test\n", ""))
        self.assertEqual([x[3] for x in s.queries], [True, False])

    def test_silent_server_then_good_one(self):
        quiet = StubDNS(silent)
        self.addCleanup(quiet.stop)
        good = StubDNS(static({"example.test": [("MX", "10 mx.example.test")]}))
        self.addCleanup(good.stop)
        write_dnsservers(self.inst, quiet, good)
        t0 = time.monotonic()
        rc, out, err = self.tool("dnsmx", "example.test")
        self.assertEqual((rc, out, err), (0, "10 mx.example.test\n", ""))
        self.assertGreater(time.monotonic() - t0, 4)  # it waited for the first

    def test_silent_server_times_out(self):
        s = self.stub(silent)
        t0 = time.monotonic()
        rc, out, err = self.tool("dnsmx", "example.test")
        self.assertEqual((rc, out), (111, ""))
        self.assertLess(time.monotonic() - t0, 30)
        self.assertIn("127.0.0.1:%d: no UDP answer within 5 s" % s.port, err)
        self.assertEqual(len(s.queries), 2)  # two rounds

    def test_chain_leaving_the_answer_is_asked_again(self):
        s = self.stub(zone_handler({"a.test": ["CNAME b.test"], "b.test": ["CNAME c.test"],
                                    "c.test": ["MX 10 mx.c.test"]}))
        rc, out, err = self.tool("dnsmx", "a.test")
        self.assertEqual((rc, out, err), (0, "10 mx.c.test\n", ""))
        self.assertEqual([x[0] for x in s.queries], ["a.test", "b.test", "c.test"])

    def test_loop_across_queries(self):
        self.stub(zone_handler({"a.test": ["CNAME b.test"], "b.test": ["CNAME a.test"]}))
        rc, _, err = self.tool("dnsmx", "a.test")
        self.assertEqual(rc, 111)
        self.assertIn("CNAME loop", err)

    def test_chain_too_long(self):
        zones = {"c%d.test" % i: ["CNAME c%d.test" % (i + 1)] for i in range(12)}
        s = self.stub(zone_handler(zones))
        rc, _, err = self.tool("dnsmx", "c0.test")
        self.assertEqual(rc, 111)
        self.assertIn("more than 8 CNAME links from c0.test", err)
        self.assertLessEqual(len(s.queries), 9)

    def test_nodata_is_not_an_error(self):
        self.stub(static({"example.test": [("A", "192.0.2.5")]}))
        rc, out, err = self.tool("dnsmx", "example.test")
        self.assertEqual((rc, out, err), (0, "0 example.test\n", ""))

    @unittest.skipUnless(HAVE_V6, "no IPv6 loopback")
    def test_ipv6_stub(self):
        s = self.stub(static({"example.test": [("MX", "10 mx.example.test")]}), host="::1")
        with open(self.inst.path("control", "dnsservers")) as f:
            self.assertEqual(f.read(), "[::1]:%d\n" % s.port)
        rc, out, err = self.tool("dnsmx", "example.test")
        self.assertEqual((rc, out, err), (0, "10 mx.example.test\n", ""))


if __name__ == "__main__":
    unittest.main()
