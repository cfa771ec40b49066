# SPDX-License-Identifier: ISC
"""SMTP AUTH against the account store: qmail-smtpd runs vchkpw (as
"qmail-smtpd vchkpw true"), PLAIN, LOGIN and CRAM-MD5 through the
checkpassword interface, and SCRAM-SHA-256 (RFC 5802, RFC 7677, RFC 4954)
through its conversation on fd 3 when SMTPAUTHSCRAM=1 says the program
speaks it.  The accounts are a vpopmail 5.4 tree written by hand
(vpoptree.py); the SCRAM client is written from RFC 5802 (scramclient.py);
smtplib and swaks are the other clients."""
import base64
import hmac
import os
import shutil
import smtplib
import subprocess
import time
import unittest

import qng
from scramclient import ScramClient, attrs
from test_smtpd_tls import TlsCase, client_ctx
from vpoptree import NO_SMTP, VpopTree

PASSWORD = "s3cret:pass"
OK = ["235 2.0.0 ok, go ahead (#2.0.0)"]
FAILED = ["535 5.7.8 authorization failed (#5.7.8)"]
INPUT = ["501 5.5.4 malformed auth input (#5.5.4)"]
TEMP = ["454 4.7.0 temporary authentication failure (#4.7.0)"]


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def unb64(reply):
    assert reply[0].startswith("334 "), reply
    return base64.b64decode(reply[0][4:]).decode()


class ScramCase(TlsCase):
    def setUp(self):
        super().setUp()
        self.tree = VpopTree(self.inst)
        self.tree.add_domain("dom.test")
        self.tree.add_user("dom.test", "joe", PASSWORD)
        self.tree.add_user("dom.test", "clr", PASSWORD, clear=PASSWORD)
        self.argv = [os.path.join(self.inst.bin, "qmail-smtpd"),
                     os.path.join(self.inst.bin, "vchkpw"), "true"]

    def start(self, env=None, argv=None, scram=True):
        e = {"SMTPAUTHSCRAM": "1"} if scram else {}
        e.update(env or {})
        return self.inst.start_smtpd(env=e, smtpd_argv=argv or self.argv)

    def session(self, **kw):
        d = self.starttls(self.start(**kw))
        self.ehlo = d.cmd("EHLO client.example")
        return d

    def scram(self, d, client, initial=True, final=None):
        """A SCRAM exchange; returns the reply to the client-final (a 334
        with the server-final, or the refusal) and the server-first."""
        if initial:
            r = d.cmd("AUTH SCRAM-SHA-256 " + b64(client.first()))
        else:
            self.assertEqual(d.cmd("AUTH SCRAM-SHA-256"), ["334 "])
            r = d.cmd(b64(client.first()))
        sfirst = unb64(r)
        msg = final(sfirst) if final else client.final(sfirst)
        return d.cmd(b64(msg)), sfirst

    def login_plain(self, user, password=PASSWORD):
        d = self.session()
        r = d.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (user, password)))
        d.cmd("QUIT")
        return r


class TestScram(ScramCase):
    def test_offered_only_when_the_program_speaks_it(self):
        d = self.session()
        self.assertEqual(self.ehlo[1:3], ["250-AUTH LOGIN CRAM-MD5 PLAIN SCRAM-SHA-256",
                                          "250-AUTH=LOGIN CRAM-MD5 PLAIN SCRAM-SHA-256"])
        d = self.session(scram=False)
        self.assertEqual(self.ehlo[1:3], ["250-AUTH LOGIN CRAM-MD5 PLAIN",
                                          "250-AUTH=LOGIN CRAM-MD5 PLAIN"])
        self.assertEqual(d.cmd("AUTH SCRAM-SHA-256 " + b64("n,,n=a,r=b")),
                         ["504 5.5.1 auth type unimplemented (#5.5.1)"])
        d = self.session(env={"SMTPAUTHSCRAM": "0"})
        self.assertNotIn("SCRAM", self.ehlo[1])

    def test_login_then_relay(self):
        """clr keeps a clear text: vchkpw makes its keys at the first SCRAM
        login.  The server-final proves the server knows the keys; the
        client's empty answer gets 235, then it may relay."""
        d = self.session()
        c = ScramClient("clr@dom.test", PASSWORD)
        r, sfirst = self.scram(d, c)
        a = attrs(sfirst)
        self.assertEqual(a["i"], "4096")
        self.assertEqual(len(base64.b64decode(a["s"])), 16)
        self.assertTrue(c.verify(unb64(r)), r)
        self.assertEqual(d.cmd(""), OK)
        d.cmd("MAIL FROM:<clr@dom.test>")
        self.assertEqual(d.cmd("RCPT TO:<far@remote.example>"), ["250 2.1.5 ok"])
        d.cmd("DATA")
        self.assertRegex(d.cmd("Subject: x\r\n\r\nscram\r\n.")[0], r"^250 2\.0\.0 ok ")
        [m] = self.inst.queued()
        self.assertRegex(m["mess"], rb"\(clr@dom\.test@127\.0\.0\.1\)\n  by \S+ with ESMTPSA")
        log = qng.wait_for(lambda: "auth ok" in self.inst.log() and self.inst.log(), what="log")
        self.assertIn("auth ok ip=127.0.0.1 user=clr@dom.test mech=SCRAM-SHA-256", log)
        self.assertIn("vchkpw: login ok ip=127.0.0.1 user=clr@dom.test service=smtp "
                      "mech=SCRAM-SHA-256", log)
        self.assertNotIn(PASSWORD, log)

    def test_keys_come_from_a_plain_login(self):
        """joe has only a hash: SCRAM fails until a PLAIN login lets vchkpw
        make his keys; no initial response this time."""
        d = self.session()
        r, _ = self.scram(d, ScramClient("joe@dom.test", PASSWORD), initial=False)
        self.assertEqual(r, FAILED)
        self.assertEqual(self.login_plain("joe@dom.test"), OK)
        self.assertIn("joe", self.tree.scram_records("dom.test"))
        d = self.session()
        c = ScramClient("joe@dom.test", PASSWORD)
        r, _ = self.scram(d, c, initial=False)
        self.assertTrue(c.verify(unb64(r)), r)
        self.assertEqual(d.cmd(""), OK)

    def test_wrong_password_unknown_user_look_alike(self):
        d = self.session()
        t0 = time.monotonic()
        r, sf_real = self.scram(d, ScramClient("clr@dom.test", "wrong"))
        self.assertEqual(r, FAILED)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        r, sf_a = self.scram(d, ScramClient("nobody@dom.test", PASSWORD))
        self.assertEqual(r, FAILED)
        d.cmd("QUIT")
        d = self.session()
        r, sf_b = self.scram(d, ScramClient("nobody@dom.test", PASSWORD))
        self.assertEqual(r, FAILED)
        shape = [(len(base64.b64decode(attrs(x)["s"])), attrs(x)["i"], len(attrs(x)["r"]))
                 for x in (sf_real, sf_a, sf_b)]
        self.assertEqual(len(set(shape)), 1, shape)
        self.assertEqual(attrs(sf_a)["s"], attrs(sf_b)["s"])
        log = self.inst.log()
        self.assertIn("auth failed ip=127.0.0.1 user=nobody@dom.test mech=SCRAM-SHA-256", log)
        self.assertIn("reason=unknown user", log)
        self.assertIn("user=clr@dom.test service=smtp reason=wrong password", log)

    def test_replay(self):
        d = self.session()
        c = ScramClient("clr@dom.test", PASSWORD, nonce="replayed")
        seen = []

        def keep(sf):
            seen.append(c.final(sf))
            return seen[-1]
        r, _ = self.scram(d, c, final=keep)
        self.assertEqual(d.cmd(""), OK)
        d = self.session()
        c2 = ScramClient("clr@dom.test", PASSWORD, nonce="replayed")
        r, _ = self.scram(d, c2, final=lambda sf: seen[0])
        # the nonce is not this exchange's: vchkpw refuses
        self.assertEqual(r, FAILED)
        qng.wait_for(lambda: "reason=wrong password" in self.inst.log(), what="log")

    def test_malformed_messages(self):
        d = self.session()
        cases = [
            ("AUTH SCRAM-SHA-256 " + b64("p=tls-unique,,n=clr@dom.test,r=abc"),
             ["504 5.5.1 auth type unimplemented (#5.5.1)"]),
            ("AUTH SCRAM-SHA-256 " + b64("n,,n=clr@dom.test"), INPUT),
            ("AUTH SCRAM-SHA-256 " + b64("n,,n=c=lr,r=abc"), INPUT),
            ("AUTH SCRAM-SHA-256 " + b64("n,,m=x,n=clr,r=abc"), INPUT),
            ("AUTH SCRAM-SHA-256 " + b64("n,a=other,n=clr,r=abc"), INPUT),
            ("AUTH SCRAM-SHA-256 " + b64("n,,n=clr\0x,r=abc"), INPUT),
            ("AUTH SCRAM-SHA-256 =", INPUT),
            ("AUTH SCRAM-SHA-256 not-base64!", INPUT),
        ]
        for cmd, want in cases:
            self.assertEqual(d.cmd(cmd), want, cmd)
        # cancelled at each step, and bad second messages
        self.assertEqual(d.cmd("AUTH SCRAM-SHA-256"), ["334 "])
        self.assertEqual(d.cmd("*"), ["501 5.0.0 auth exchange cancelled (#5.0.0)"])
        c = ScramClient("clr@dom.test", PASSWORD)
        unb64(d.cmd("AUTH SCRAM-SHA-256 " + b64(c.first())))
        self.assertEqual(d.cmd("*"), ["501 5.0.0 auth exchange cancelled (#5.0.0)"])
        for bad in (lambda sf: c.final(sf).rsplit(",p=", 1)[0],
                    lambda sf: c.final(sf, nonce="other"),
                    lambda sf: "c=biws,r=" + attrs(sf)["r"] + ",p=" + b64("short")):
            c = ScramClient("clr@dom.test", PASSWORD)
            sf = unb64(d.cmd("AUTH SCRAM-SHA-256 " + b64(c.first())))
            self.assertEqual(d.cmd(b64(bad(sf))), INPUT)
        # a proof that parses but binds the wrong channel: vchkpw refuses
        c = ScramClient("clr@dom.test", PASSWORD)
        sf = unb64(d.cmd("AUTH SCRAM-SHA-256 " + b64(c.first())))
        self.assertEqual(d.cmd(b64(c.final(sf).replace("c=biws", "c=eSws"))), FAILED)
        # the answer to the server-final must be empty
        c = ScramClient("clr@dom.test", PASSWORD)
        r, _ = self.scram(d, c)
        self.assertTrue(c.verify(unb64(r)))
        self.assertEqual(d.cmd(b64("x")), INPUT)
        self.assertEqual(d.cmd("NOOP"), ["250 2.0.0 ok"])

    def test_flags_and_temporary_failures(self):
        self.tree.add_user("dom.test", "nosmtp", PASSWORD, flags=NO_SMTP, clear=PASSWORD)
        d = self.session()
        r, _ = self.scram(d, ScramClient("nosmtp@dom.test", PASSWORD))
        self.assertEqual(r, FAILED)
        qng.wait_for(lambda: "reason=smtp access denied" in self.inst.log(), what="log")
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("\0nosmtp@dom.test\0" + PASSWORD)), FAILED)
        d.cmd("QUIT")
        if qng.IS_ROOT and self.inst.as_owner() is None:
            return
        cdb = os.path.join(self.tree.domain_dir("dom.test"), "vpasswd.cdb")
        os.chmod(cdb, 0)
        d = self.session()
        c = ScramClient("clr@dom.test", PASSWORD)
        self.assertEqual(d.cmd("AUTH SCRAM-SHA-256 " + b64(c.first())), TEMP)
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("\0clr@dom.test\0" + PASSWORD)), TEMP)
        os.chmod(cdb, 0o600)
        os.chmod(self.inst.path("users", "cdb"), 0)
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("\0clr@dom.test\0" + PASSWORD)), TEMP)
        self.assertEqual(d.cmd("AUTH SCRAM-SHA-256 " + b64(c.first())), TEMP)
        log = self.inst.log()
        self.assertIn("auth temporary failure ip=127.0.0.1 user=clr@dom.test "
                      "mech=SCRAM-SHA-256: %s exit 111" % self.argv[1], log)
        self.assertIn("reason=unable to read users/cdb", log)

    def test_program_that_does_not_speak_scram(self):
        """SMTPAUTHSCRAM=1 with a program that accepts anything without a
        word: a configuration error, 454.  (A classic checkpassword
        program that reads fd 3 to its end would wait for it until the
        timeout, then 454: doc/qmail-smtpd.8.)"""
        d = self.session(argv=[self.argv[0], "/bin/true"])
        r = d.cmd("AUTH SCRAM-SHA-256 " + b64(ScramClient("clr@dom.test", PASSWORD).first()))
        self.assertEqual(r, TEMP)
        qng.wait_for(lambda: "/bin/true does not speak the SCRAM conversation" in
                     self.inst.log(), what="log")
        d = self.session(argv=[self.argv[0], "/bin/false"])
        r = d.cmd("AUTH SCRAM-SHA-256 " + b64(ScramClient("clr@dom.test", PASSWORD).first()))
        self.assertEqual(r, FAILED)


class TestClassicMechanisms(ScramCase):
    """PLAIN, LOGIN and CRAM-MD5 against the account store through vchkpw."""

    def test_smtplib(self):
        port = self.start(env={"SMTPAUTH": "!"})
        for user, mech in (("joe@dom.test", "PLAIN"), ("joe@dom.test", "LOGIN"),
                           ("clr@dom.test", "CRAM-MD5")):
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
                ctx = client_ctx(self.ca)
                ctx.check_hostname = False
                s.starttls(context=ctx)
                s.ehlo()
                if mech == "LOGIN":
                    s.user, s.password = user, PASSWORD
                    code, _ = s.auth("LOGIN", s.auth_login)
                elif mech == "PLAIN":
                    s.user, s.password = user, PASSWORD
                    code, _ = s.auth("PLAIN", s.auth_plain)
                else:
                    s.user, s.password = user, PASSWORD
                    code, _ = s.auth("CRAM-MD5", s.auth_cram_md5)
                self.assertEqual(code, 235, mech)
                s.sendmail(user, ["far@remote.example"], "Subject: s\r\n\r\nhi\r\n")
        self.assertEqual(len(self.inst.queued()), 3)
        # joe has no clear text: CRAM-MD5 cannot work for him
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            ctx = client_ctx(self.ca)
            ctx.check_hostname = False
            s.starttls(context=ctx)
            s.ehlo()
            s.user, s.password = "joe@dom.test", PASSWORD
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                s.auth("CRAM-MD5", s.auth_cram_md5)

    def test_wrong_and_unknown(self):
        d = self.session()
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("\0joe@dom.test\0wrong")), FAILED)
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("\0bob@dom.test\0" + PASSWORD)), FAILED)
        log = self.inst.log()
        self.assertIn("vchkpw: login failed ip=127.0.0.1 user=joe@dom.test service=smtp "
                      "reason=wrong password", log)
        self.assertIn("reason=unknown user", log)
        self.assertNotIn("wrong\n", log.replace("reason=wrong password", ""))

    def test_cram_md5_raw(self):
        d = self.session()
        chal = base64.b64decode(d.cmd("AUTH CRAM-MD5")[0][4:])
        digest = hmac.new(PASSWORD.encode(), chal, "md5").hexdigest()
        self.assertEqual(d.cmd(b64("clr@dom.test " + digest)), OK)

    @unittest.skipUnless(shutil.which("swaks"), "swaks not installed")
    def test_swaks(self):
        port = self.start(env={"SMTPAUTH": "!"})
        for mech in ("PLAIN", "LOGIN"):
            r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--tls",
                                "--auth", mech, "--auth-user", "joe@dom.test",
                                "--auth-password", PASSWORD, "--from", "joe@dom.test",
                                "--to", "far@remote.example"],
                               capture_output=True, timeout=60)
            out = r.stdout.decode(errors="replace")
            self.assertEqual(r.returncode, 0, mech + "\n" + out)
            self.assertIn("235 2.0.0 ok, go ahead (#2.0.0)", out)
        self.assertEqual(len(self.inst.queued()), 2)


if __name__ == "__main__":
    unittest.main()
