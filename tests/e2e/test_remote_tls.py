# SPDX-License-Identifier: ISC
"""qmail-remote's TLS and smarthost AUTH against TLS sinks on loopback
(smtpsink.py with Python's ssl as the server, certificates from the test
CA of testca.py): opportunistic STARTTLS and its plain-text retry, the
encrypt and verify levels of control/tlsdestinations (wrong name,
expired, self-signed, an untrusted chain), the TLS patch's
control/tlshosts/NAME.pem and control/notlshosts/NAME, the STARTTLS
response injection of RFC 3207 §5, control/clientcert.pem, AUTH PLAIN and
LOGIN to a smarthost from control/smtproutes-auth (only over TLS), and
the protocol and cipher in the delivery's text and in qmail-send's log.
Written from RFC 3207, RFC 4954, RFC 4616 and RFC 6125 §6."""
import os
import ssl
import unittest

import dnsserver
import qng
import testca
from dnsserver import Unbound, write_dnsservers
from smtpsink import Sink
from test_remote import MSG, RemoteBase

ZONES = {
    "tls.test": ["MX 10 mx.tls.test"],
    "mx.tls.test": ["A 127.0.0.2"],
}
QMAIL_OK = "127.0.0.2 accepted message.\nRemote host said: 250 ok 1 qp 1\n"


def server_ctx(pem, cafile=None, minver=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pem)
    if minver:
        ctx.minimum_version = minver
    if cafile:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(cafile)
    return ctx


class TlsBase(RemoteBase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.cadir = tempfile.mkdtemp(prefix="qng-remote-tls-")
        cls.ca = testca.TestCA(cls.cadir)
        cls.good = cls.ca.issue("mx.tls.test")
        cls.wrongname = cls.ca.issue("other.example")
        cls.expired = cls.ca.issue("mx.tls.test", expired=True)
        cls.selfsigned = cls.ca.selfsigned("mx.tls.test")
        cls.client = cls.ca.issue("client.test.local")

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.cadir, ignore_errors=True)

    def tls_sink(self, pem=None, **kw):
        return self.sink(tls=server_ctx(pem or self.good, kw.pop("cafile", None)), **kw)

    def literal_route(self, s):
        self.route(":[127.0.0.2]:%d\n" % s.port)


class OpportunisticTest(TlsBase):
    def test_starttls_when_offered(self):
        s = self.tls_sink()
        self.literal_route(s)
        recs, code, err = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(code, 0, err)
        self.assertEqual(recs[0], ("r", ""))
        self.assertEqual(recs[1][0], "K")
        # qmail's lines first, unchanged; then the TLS line
        self.assertTrue(recs[1][1].startswith(QMAIL_OK), recs[1][1])
        self.assertRegex(recs[1][1][len(QMAIL_OK):],
                         r"^TLS: TLSv1\.3 with TLS_\w+ \(\d+ bits\), certificate not "
                         r"verified\.\n$")
        s.wait_closed()
        c = s.conns[0]
        self.assertEqual(c.tls[0], "TLSv1.3")
        # RFC 3207 §4.2: EHLO again after the handshake, the mail inside TLS
        self.assertEqual(c.verbs(), ["EHLO", "STARTTLS", "EHLO", "MAIL", "RCPT", "DATA",
                                     "QUIT"])
        self.assertEqual(c.txns[0].data, MSG.replace(b"\n", b"\r\n") + b".\r\n")

    def test_tls12_server(self):
        s = self.sink(tls=server_ctx(self.good))
        s.opts["tls"].maximum_version = ssl.TLSVersion.TLSv1_2
        self.literal_route(s)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "K")
        self.assertIn("TLS: TLSv1.2 with ", recs[-1][1])
        self.assertEqual(s.conns[0].tls[0], "TLSv1.2")

    def test_no_starttls_offered_is_plain_and_quiet(self):
        s = self.sink()
        self.literal_route(s)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1], ("K", QMAIL_OK))
        self.assertNotIn("STARTTLS", s.conns[0].verbs())

    def retried_plain(self, s, reason):
        recs, code, err = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(code, 0, err)
        self.assertEqual(recs[-1][0], "K", recs)
        self.assertTrue(recs[-1][1].startswith(QMAIL_OK.replace("1 qp", "1 qp")), recs[-1][1])
        note = recs[-1][1][len(QMAIL_OK):]
        self.assertTrue(note.startswith("TLS: none, STARTTLS with 127.0.0.2 failed: " + reason),
                        note)
        self.assertTrue(note.endswith("; sent without TLS.\n"), note)
        s.wait_closed()
        self.assertEqual(len(s.conns), 2)
        self.assertIn("STARTTLS", s.conns[0].verbs())
        self.assertEqual(s.conns[0].txns, [])
        # the retry at once on the same address, without STARTTLS
        self.assertNotIn("STARTTLS", s.conns[1].verbs())
        self.assertEqual(len(s.conns[1].txns), 1)
        return note

    def test_handshake_failure_retries_in_plain_text(self):
        s = self.tls_sink(tls_break="garbage")
        self.literal_route(s)
        note = self.retried_plain(s, "the handshake failed")
        self.assertNotIn("\0", note)

    def test_starttls_refused_retries_in_plain_text(self):
        s = self.tls_sink(starttls_reply="454 4.7.0 TLS not available")
        self.literal_route(s)
        self.retried_plain(s, "it refused STARTTLS: 454")

    def test_close_after_220_retries_in_plain_text(self):
        s = self.tls_sink(tls_break="close")
        self.literal_route(s)
        self.retried_plain(s, "the handshake failed")

    def test_injected_reply_after_220_is_refused(self):
        # RFC 3207 §5: what came with the 220 is not trusted into TLS
        s = self.tls_sink(tls_break="inject")
        self.literal_route(s)
        self.retried_plain(s, "the handshake failed: it sent more after its 220 to STARTTLS")

    def test_none_level_and_notlshosts(self):
        s = self.tls_sink()
        self.literal_route(s)
        self.inst.control("tlsdestinations", "example.test:none\n")
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1], ("K", QMAIL_OK))
        self.assertNotIn("STARTTLS", s.conns[0].verbs())
        # s/qmail's "-domain" form
        self.inst.control("tlsdestinations", "-example.test\n*:\n")
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertNotIn("STARTTLS", s.conns[1].verbs())
        recs, _, _ = self.remote("other.test", "a@src.test", ["x@other.test"])
        self.assertIn("STARTTLS", s.conns[2].verbs())

    def test_client_certificate(self):
        s = self.tls_sink(cafile=self.ca.cert)
        self.literal_route(s)
        with open(self.client, "rb") as f:
            self.inst.control("clientcert.pem", f.read().decode())
        os.chmod(self.inst.path("control", "clientcert.pem"), 0o600)
        if qng.IS_ROOT:
            os.chown(self.inst.path("control", "clientcert.pem"), self.inst.uid, self.inst.gid)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "K")
        s.wait_closed()
        subject = dict(x[0] for x in s.conns[0].peercert["subject"])
        self.assertEqual(subject["commonName"], "client.test.local")

    def test_bad_policy_file_defers(self):
        s = self.tls_sink()
        self.literal_route(s)
        self.inst.control("tlsdestinations", "example.test:verify\nexample.org:maybe\n")
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs, [("Z", "control/tlsdestinations: line 2 is not a policy. "
                                      "(#4.3.0)\n")])
        self.assertEqual(s.conns, [])


class PolicyTest(TlsBase):
    """encrypt and verify, with a name from DNS (unbound on loopback)."""
    dns = None

    @classmethod
    def setUpClass(cls):
        if not dnsserver.UNBOUND:
            raise unittest.SkipTest("unbound is not installed")
        super().setUpClass()
        cls.dns = Unbound(ZONES)

    @classmethod
    def tearDownClass(cls):
        if cls.dns:
            cls.dns.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        write_dnsservers(self.inst, self.dns)

    def mx_sink(self, pem=None, plain=False):
        s = self.sink() if plain else self.tls_sink(pem)
        self.route("::%d\n" % s.port)
        return s

    def trust(self):
        os.makedirs(self.inst.path("control", "tlshosts"), exist_ok=True)
        with open(self.ca.cert) as f:
            self.inst.control("tlshosts/mx.tls.test.pem", f.read())

    def deferred(self, s, *parts):
        recs, code, err = self.remote("tls.test", "a@src.test", ["x@tls.test"])
        self.assertEqual(code, 0, err)
        self.assertEqual(len(recs), 1, recs)
        self.assertEqual(recs[0][0], "Z", recs)
        for p in parts:
            self.assertIn(p, recs[0][1])
        self.assertTrue(recs[0][1].endswith(". (#4.7.5)\n"), recs[0][1])
        s.wait_closed()
        self.assertEqual([t for c in s.conns for t in c.txns], [])
        return recs[0][1]

    def test_encrypt_without_starttls_defers(self):
        s = self.mx_sink(plain=True)
        self.inst.control("tlsdestinations", "tls.test:encrypt\n")
        text = self.deferred(s)
        self.assertEqual(text, "Sorry, TLS with 127.0.0.2 failed: it does not offer STARTTLS; "
                               "control/tlsdestinations says encrypt for tls.test. (#4.7.5)\n")
        self.assertEqual(len(s.conns), 1)  # no plain-text retry

    def test_encrypt_handshake_failure_defers(self):
        s = self.sink(tls=server_ctx(self.good), tls_break="garbage")
        self.route("::%d\n" % s.port)
        self.inst.control("tlsdestinations", ".test:encrypt\n")
        self.deferred(s, "the handshake failed", "says encrypt for tls.test")
        self.assertEqual(len(s.conns), 1)

    def test_encrypt_accepts_any_certificate(self):
        s = self.mx_sink(self.selfsigned)
        self.inst.control("tlsdestinations", "tls.test:encrypt\n")
        recs, _, _ = self.remote("tls.test", "a@src.test", ["x@tls.test"])
        self.assertEqual(recs[-1][0], "K")
        self.assertIn("certificate not verified.", recs[-1][1])

    def test_verify_against_system_cas_fails_for_a_private_ca(self):
        s = self.mx_sink()
        self.inst.control("tlsdestinations", "tls.test:verify\n")
        self.deferred(s, "the certificate did not verify",
                      "control/tlsdestinations says verify for tls.test")

    def test_verify_with_tlshosts(self):
        s = self.mx_sink()
        self.trust()
        recs, _, _ = self.remote("tls.test", "a@src.test", ["x@tls.test"])
        self.assertEqual(recs[-1][0], "K", recs)
        self.assertTrue(recs[-1][1].endswith("certificate verified.\n"), recs[-1][1])

    def test_verify_wrong_name(self):
        s = self.mx_sink(self.wrongname)
        self.trust()
        self.deferred(s, "the certificate did not verify", "does not match mx.tls.test",
                      "control/tlshosts says verify for this host")

    def test_verify_expired(self):
        s = self.mx_sink(self.expired)
        self.trust()
        self.deferred(s, "the certificate did not verify", "expired")

    def test_verify_self_signed(self):
        s = self.mx_sink(self.selfsigned)
        self.trust()
        self.deferred(s, "the certificate did not verify", "self-signed")

    def test_notlshosts_wins_over_policy(self):
        s = self.mx_sink()
        self.inst.control("tlsdestinations", "*:may\n")
        os.makedirs(self.inst.path("control", "notlshosts"), exist_ok=True)
        self.inst.control("notlshosts/mx.tls.test", "")
        recs, _, _ = self.remote("tls.test", "a@src.test", ["x@tls.test"])
        self.assertEqual(recs[-1], ("K", QMAIL_OK))
        self.assertNotIn("STARTTLS", s.conns[0].verbs())


class SmarthostAuthTest(TlsBase):
    def setUp(self):
        super().setUp()
        self.users = {"relayuser": "s3cret:with colon"}

    def login(self, text, mode=0o600):
        self.inst.control("smtproutes-auth", text)
        p = self.inst.path("control", "smtproutes-auth")
        os.chmod(p, mode)
        if qng.IS_ROOT:
            os.chown(p, self.inst.uid, self.inst.gid)

    def test_auth_plain_over_tls(self):
        s = self.tls_sink(auth=self.users)
        self.literal_route(s)
        self.login("# the smarthost\n[127.0.0.2]:relayuser:s3cret:with colon\n")
        recs, _, err = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "K", (recs, err))
        s.wait_closed()
        self.assertEqual(s.conns[0].auth, ("relayuser", True))
        self.assertEqual(s.conns[0].verbs()[:5], ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL"])

    def test_auth_login(self):
        s = self.tls_sink(auth=self.users, auth_mechs="LOGIN")
        self.literal_route(s)
        self.login("127.0.0.2:relayuser:s3cret:with colon\n")
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "K", recs)
        self.assertEqual(s.conns[0].auth, ("relayuser", True))

    def test_wrong_password_defers(self):
        s = self.tls_sink(auth=self.users)
        self.literal_route(s)
        self.login("127.0.0.2:relayuser:wrong\n")
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "Z")
        self.assertTrue(recs[-1][1].startswith(
            "Connected to 127.0.0.2 but my login as relayuser was refused. (#4.7.0)\n"
            "Remote host said: 535 5.7.8 authorization failed\n"), recs[-1][1])
        self.assertEqual(s.conns[0].auth_fail, ["relayuser"])
        self.assertNotIn("wrong", recs[-1][1])

    def test_no_password_without_tls(self):
        s = self.sink(auth=self.users)
        self.literal_route(s)
        self.login("127.0.0.2:relayuser:s3cret:with colon\n")
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "Z")
        self.assertIn("I send passwords only over TLS", recs[-1][1])
        s.wait_closed()
        self.assertNotIn("AUTH", s.conns[0].verbs())

    def test_readable_login_file_is_refused(self):
        s = self.tls_sink(auth=self.users)
        self.literal_route(s)
        self.login("127.0.0.2:relayuser:s3cret:with colon\n", mode=0o644)
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs, [("Z", "Sorry, control/smtproutes-auth holds passwords and "
                                      "others may read it (chmod 600 it). (#4.3.0)\n")])
        self.assertEqual(s.conns, [])

    def test_bad_login_line_defers(self):
        s = self.tls_sink(auth=self.users)
        self.literal_route(s)
        self.login("127.0.0.2:relayuser:ok\nno colon here\n")
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs, [("Z", "control/smtproutes-auth: line 2 is not "
                                      "host:user:password. (#4.3.0)\n")])

    def test_other_hosts_get_no_login(self):
        s = self.tls_sink(auth=self.users)
        self.literal_route(s)
        self.login("[127.0.0.9]:relayuser:s3cret:with colon\n")
        recs, _, _ = self.remote("example.test", "a@src.test", ["x@example.test"])
        self.assertEqual(recs[-1][0], "K")
        self.assertNotIn("AUTH", s.conns[0].verbs())


class SendLogTest(unittest.TestCase):
    """The TLS line in qmail-send's delivery log and in a bounce."""

    def setUp(self):
        import tempfile
        self.cadir = tempfile.mkdtemp(prefix="qng-remote-tls-")
        import shutil
        self.addCleanup(shutil.rmtree, self.cadir, True)
        ca = testca.TestCA(self.cadir)
        self.inst = qng.Instance(me="mx.test", rcpthosts=["mx.test"], locals_=["mx.test"])
        self.addCleanup(self.inst.cleanup)
        self.sink = Sink(["127.0.0.2"], tls=server_ctx(ca.issue("sink.test")),
                         rcpt={"bad@far.test": "550 5.1.1 no such user"})
        self.addCleanup(self.sink.stop)
        self.inst.control("smtproutes", "far.test:[127.0.0.2]:%d\n" % self.sink.port)
        self.inst.start_send(fake_local=True)
        self.inst.wait_log(r"^status: local 0/10 remote 0/20$")

    def test_log_and_bounce_name_the_cipher(self):
        # the sender is at far.test too, so the bounce goes out through
        # the same TLS sink, where its text can be read
        self.assertEqual(self.inst.inject("Subject: out\n\nhello\n", "s@far.test",
                                          ["a@far.test", "bad@far.test"]), 0)
        ok = self.inst.wait_log(r"^delivery \d+: success: ")[0]
        self.assertRegex(ok, r"success: 127\.0\.0\.2_accepted_message\./Remote_host_said:_250_"
                             r"ok_\d+_qp_1/TLS:_TLSv1\.3_with_TLS_\w+_\(\d+_bits\),_certificate_"
                             r"not_verified\./$")
        fail = self.inst.wait_log(r"^delivery \d+: failure: ")[0]
        self.assertIn("Remote_host_said:_550_5.1.1_no_such_user/TLS:_TLSv1.3_with_", fail)
        self.inst.wait_log(r"^bounce msg \d+ qp \d+$")
        bounce = self.sink.wait(lambda: [t for c in self.sink.conns for t in c.txns
                                         if t.mail.startswith("MAIL FROM:<>") and t.reply],
                                30, "the bounce at the sink")[0]
        self.assertEqual(bounce.accepted, ["s@far.test"])
        self.assertRegex(bounce.body().decode(errors="replace"),
                         r"Remote host said: 550 5\.1\.1 no such user\r\n"
                         r"TLS: TLSv1\.3 with TLS_\w+ \(\d+ bits\), certificate not verified\.")
