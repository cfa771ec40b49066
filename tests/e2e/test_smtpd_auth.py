# SPDX-License-Identifier: ISC
"""SMTP AUTH in qmail-smtpd, from RFC 4954 (with RFC 4616 PLAIN and
RFC 2195 CRAM-MD5) and the seeds' AUTH LOGIN dialogue, verified by
qmail-checkpassword against a password file or by stand-in
checkpassword programs; clients: raw dialogues, smtplib, swaks."""
import base64
import hmac
import os
import re
import shutil
import smtplib
import subprocess
import time
import unittest

import qng
from test_smtpd import SmtpdCase
from test_smtpd_tls import NAME, TlsCase, client_ctx

PASSWORD = "s3cret pass"


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def sha512_crypt(pw):
    return subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=pw.encode(),
                          capture_output=True, check=True, timeout=30).stdout.decode().strip()


class AuthCase(TlsCase):
    def setUp(self):
        super().setUp()
        self.pwfile = os.path.join(self.inst.etc, "smtppasswd")
        self.inst.write(self.pwfile,
                        "# test accounts\n"
                        "joe@example.test:%s\n"
                        "cram@example.test:{PLAIN}%s:1000:1000::/home/cram\n"
                        % (sha512_crypt(PASSWORD), PASSWORD), mode=0o600)
        self.argv = [os.path.join(self.inst.bin, "qmail-smtpd"),
                     os.path.join(self.inst.bin, "qmail-checkpassword"), "-f", self.pwfile,
                     "true"]

    def start(self, env=None, argv=None):
        return self.inst.start_smtpd(env=env, smtpd_argv=argv or self.argv)

    def tls_dialog(self, env=None):
        d = self.starttls(self.start(env))
        self.ehlo = d.cmd("EHLO client.example")
        return d

    def plain_pipe(self, data, env=None, argv=None):
        """A pipe session with AUTH allowed in the clear (authplaintext)."""
        self.inst.control("authplaintext", "1\n")
        e = dict(self.inst.env)
        e.update({"TCPREMOTEIP": "127.0.0.1", "TCPLOCALHOST": NAME})
        e.update(env or {})
        r = subprocess.run(argv or self.argv, input=data.encode(), env=e, capture_output=True,
                           timeout=60, preexec_fn=self.inst.as_owner(), cwd=self.inst.tmp)
        return r.stdout.decode(errors="replace").split("\r\n")[:-1], r.stderr.decode(
            errors="replace")


class TestAuth(AuthCase):
    def test_offered_only_over_tls(self):
        port = self.start()
        d = self.dialog(port)
        ehlo = d.cmd("EHLO c")
        self.assertFalse([l for l in ehlo if "AUTH" in l], ehlo)
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("\0joe@example.test\0" + PASSWORD)),
                         ["538 5.7.11 encryption required for requested authentication "
                          "mechanism (#5.7.11)"])
        d.close()
        d = self.tls_dialog()
        self.assertEqual(self.ehlo[1:4], ["250-AUTH LOGIN CRAM-MD5 PLAIN",
                                          "250-AUTH=LOGIN CRAM-MD5 PLAIN", "250-PIPELINING"])

    def test_seed_dialogue_in_the_clear(self):
        """The seeds' EHLO list and AUTH LOGIN, with authplaintext 1 (their
        servers offered AUTH before STARTTLS)."""
        lines, err = self.plain_pipe(
            "EHLO ping.ovh.net\r\nAUTH LOGIN\r\n%s\r\n%s\r\nMAIL FROM:<joe@example.test>\r\n"
            "QUIT\r\n" % (b64("joe@example.test"), b64(PASSWORD)))
        self.assertEqual(lines[1:6], ["250-" + NAME, "250-AUTH LOGIN CRAM-MD5 PLAIN",
                                      "250-AUTH=LOGIN CRAM-MD5 PLAIN", "250-PIPELINING",
                                      "250-STARTTLS"])
        i = lines.index("334 VXNlcm5hbWU6")
        self.assertEqual(lines[i + 1:i + 4], ["334 UGFzc3dvcmQ6",
                                              "235 2.0.0 ok, go ahead (#2.0.0)",
                                              "250 2.1.0 ok"])
        self.assertIn("auth ok ip=127.0.0.1 user=joe@example.test mech=LOGIN", err)

    def test_helo_replies_without_enhanced_codes(self):
        lines, err = self.plain_pipe("HELO c\r\nAUTH LOGIN %s\r\n%s\r\nQUIT\r\n"
                                     % (b64("joe@example.test"), b64(PASSWORD)))
        self.assertEqual(lines[2:4], ["334 UGFzc3dvcmQ6", "235 ok, go ahead (#2.0.0)"])

    def test_plain_with_and_without_initial_response(self):
        d = self.tls_dialog()
        self.assertEqual(d.cmd("AUTH PLAIN"), ["334 "])
        self.assertEqual(d.cmd(b64("\0joe@example.test\0" + PASSWORD)),
                         ["235 2.0.0 ok, go ahead (#2.0.0)"])
        d = self.tls_dialog()
        # authzid equal to authcid is the same login (RFC 4616)
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("joe@example.test\0joe@example.test\0"
                                                   + PASSWORD)),
                         ["235 2.0.0 ok, go ahead (#2.0.0)"])

    def test_cram_md5(self):
        d = self.tls_dialog()
        r = d.cmd("AUTH CRAM-MD5")
        self.assertTrue(r[0].startswith("334 "), r)
        chal = base64.b64decode(r[0][4:])
        self.assertRegex(chal.decode(), r"^<\d+\.\d+@%s>$" % re.escape(NAME))
        digest = hmac.new(PASSWORD.encode(), chal, "md5").hexdigest()
        self.assertEqual(d.cmd(b64("cram@example.test " + digest)),
                         ["235 2.0.0 ok, go ahead (#2.0.0)"])
        # a crypt hash cannot answer CRAM-MD5
        d = self.tls_dialog()
        r = d.cmd("AUTH CRAM-MD5")
        chal = base64.b64decode(r[0][4:])
        digest = hmac.new(PASSWORD.encode(), chal, "md5").hexdigest()
        self.assertEqual(d.cmd(b64("joe@example.test " + digest)),
                         ["535 5.7.8 authorization failed (#5.7.8)"])

    def test_relay_only_after_auth_and_received(self):
        d = self.tls_dialog()
        d.cmd("MAIL FROM:<joe@example.test>")
        self.assertEqual(d.cmd("RCPT TO:<far@remote.example>"),
                         ["553 5.7.1 sorry, that domain isn't in my list of allowed "
                          "rcpthosts (#5.7.1)"])
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("\0joe@example.test\0" + PASSWORD)),
                         ["503 5.5.0 no auth during mail transaction (#5.5.0)"])
        d.cmd("RSET")
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("\0joe@example.test\0" + PASSWORD)),
                         ["235 2.0.0 ok, go ahead (#2.0.0)"])
        d.cmd("MAIL FROM:<joe@example.test>")
        self.assertEqual(d.cmd("RCPT TO:<far@remote.example>"), ["250 2.1.5 ok"])
        d.cmd("DATA")
        self.assertRegex(d.cmd("Subject: x\r\n\r\nrelayed\r\n.")[0], r"^250 2\.0\.0 ok ")
        [m] = self.inst.queued()
        self.assertEqual(m["rcpts"], ["far@remote.example"])
        self.assertRegex(m["mess"], rb"\(joe@example\.test@127\.0\.0\.1\)\n  by \S+ with "
                                    rb"ESMTPSA \(TLSv1\.3 \S+ encrypted\); ")
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("\0joe@example.test\0" + PASSWORD)),
                         ["503 5.5.0 you're already authenticated (#5.5.0)"])

    def test_errors(self):
        d = self.tls_dialog()
        self.assertEqual(d.cmd("AUTH"), ["501 5.5.4 malformed auth input (#5.5.4)"])
        self.assertEqual(d.cmd("AUTH GSSAPI"), ["504 5.5.1 auth type unimplemented (#5.5.1)"])
        self.assertEqual(d.cmd("AUTH PLAIN not-base64!"),
                         ["501 5.5.4 malformed auth input (#5.5.4)"])
        self.assertEqual(d.cmd("AUTH LOGIN"), ["334 VXNlcm5hbWU6"])
        self.assertEqual(d.cmd("*"), ["501 5.0.0 auth exchange cancelled (#5.0.0)"])
        self.assertEqual(d.cmd("AUTH LOGIN"), ["334 VXNlcm5hbWU6"])
        self.assertEqual(d.cmd(b64("a\0b")), ["501 5.5.4 malformed auth input (#5.5.4)"])
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("other\0joe@example.test\0" + PASSWORD)),
                         ["501 5.5.4 malformed auth input (#5.5.4)"])
        self.assertEqual(d.cmd("AUTH CRAM-MD5 " + b64("x")),
                         ["501 5.5.4 malformed auth input (#5.5.4)"])
        self.assertEqual(d.cmd("AUTH LOGIN"), ["334 VXNlcm5hbWU6"])
        self.assertEqual(d.cmd("A" * 13000), ["500 5.5.6 authentication exchange line is "
                                              "too long (#5.5.6)"])
        self.assertEqual(d.cmd("NOOP"), ["250 2.0.0 ok"])

    def test_hostile_exchange_lines(self):
        """A NUL, a bare CR or a space inside an exchange line is no
        base64: 501, and the session goes on."""
        d = self.tls_dialog()
        for line in (b"AH\0RpbQB0aW0=", b"dXNl\rcg==", b"dXNl cg==", b"\xff\xfe"):
            self.assertEqual(d.cmd("AUTH LOGIN"), ["334 VXNlcm5hbWU6"])
            d.send(line + b"\r\n")
            self.assertEqual(d.reply(), ["501 5.5.4 malformed auth input (#5.5.4)"], line)
        self.assertEqual(d.cmd("NOOP"), ["250 2.0.0 ok"])

    def test_failures_delayed_logged_and_limited(self):
        """Wrong passwords: 535 after a delay that grows (1 s, then 2 s),
        a log line naming IP and user (made safe), and the third ends the
        session with 535 then 421."""
        d = self.tls_dialog()
        t0 = time.monotonic()
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("\0joe@example.test\0wrong")),
                         ["535 5.7.8 authorization failed (#5.7.8)"])
        t1 = time.monotonic()
        self.assertGreaterEqual(t1 - t0, 0.9)
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("\0evil\x1b[2J\0wrong")),
                         ["535 5.7.8 authorization failed (#5.7.8)"])
        self.assertGreaterEqual(time.monotonic() - t1, 1.9)
        d.send("AUTH PLAIN " + b64("\0joe@example.test\0wrong") + "\r\n")
        self.assertEqual(d.reply(), ["535 5.7.8 authorization failed (#5.7.8)"])
        self.assertEqual(d.reply(), ["421 4.7.0 too many authentication failures, closing "
                                     "connection (#4.7.0)"])
        qng.wait_for(lambda: "end=authfail" in self.inst.log(), 20, what="session end")
        log = self.inst.log()
        self.assertEqual(log.count("auth failed ip=127.0.0.1 user=joe@example.test mech=PLAIN"),
                         2, log)
        self.assertIn(r"auth failed ip=127.0.0.1 user=evil\033[2J mech=PLAIN", log)

    def test_temporary_failure_is_454(self):
        cp = os.path.join(self.inst.tmp, "cp111")
        with open(cp, "w") as f:
            f.write("#!/bin/sh\ncat <&3 >/dev/null\nexit 111\n")
        os.chmod(cp, 0o755)
        d = self.starttls(self.start(argv=[self.argv[0], cp, "true"]))
        d.cmd("EHLO c")
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("\0joe@example.test\0x")),
                         ["454 4.7.0 temporary authentication failure (#4.7.0)"])
        qng.wait_for(lambda: "auth temporary failure ip=127.0.0.1 user=joe@example.test "
                             "mech=PLAIN: %s exit 111" % cp in self.inst.log(), what="log")

    def test_checkpassword_gets_the_interface_bytes(self):
        """fd 3 carries user\\0password\\0 (CRAM-MD5: user\\0challenge\\0
        digest\\0), as the AUTH patch wrote them."""
        cp = os.path.join(self.inst.tmp, "cpdump")
        dump = os.path.join(self.inst.tmp, "fd3")
        with open(cp, "w") as f:
            f.write("#!/bin/sh\ncat <&3 >%s\nexec \"$@\"\n" % dump)
        os.chmod(cp, 0o755)
        os.chmod(self.inst.tmp, 0o777)
        d = self.starttls(self.start(argv=[self.argv[0], cp, "true"]))
        d.cmd("EHLO c")
        self.assertEqual(d.cmd("AUTH LOGIN " + b64("u@x")), ["334 UGFzc3dvcmQ6"])
        self.assertEqual(d.cmd(b64("p w")), ["235 2.0.0 ok, go ahead (#2.0.0)"])
        with open(dump, "rb") as f:
            self.assertEqual(f.read(), b"u@x\0p w\0")

    def test_no_program_no_auth(self):
        d = self.starttls(self.inst.start_smtpd())
        ehlo = d.cmd("EHLO c")
        self.assertFalse([l for l in ehlo if "AUTH" in l])
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("\0a\0b")),
                         ["503 5.3.3 auth not available (#5.3.3)"])

    def test_starttls_forgets_auth(self):
        """An AUTH in the clear (authplaintext) is forgotten by STARTTLS
        (RFC 3207 4.2), and the relay right with it."""
        self.inst.control("authplaintext", "1\n")
        d = self.dialog(self.start())
        d.cmd("EHLO c")
        self.assertEqual(d.cmd("AUTH PLAIN " + b64("\0joe@example.test\0" + PASSWORD)),
                         ["235 2.0.0 ok, go ahead (#2.0.0)"])
        self.assertEqual(d.cmd("STARTTLS"), ["220 2.0.0 ready for tls"])
        d.tls(client_ctx(self.ca))
        d.cmd("EHLO c")
        d.cmd("MAIL FROM:<joe@example.test>")
        self.assertEqual(d.cmd("RCPT TO:<far@remote.example>")[0][:3], "553")


class TestSubmission(AuthCase):
    def test_mail_needs_auth(self):
        """SMTPAUTH=! (the submission listener, RFC 6409): MAIL before AUTH
        is refused, even from an IP tcp.smtp lets relay."""
        d = self.tls_dialog(env={"SMTPAUTH": "!", "RELAYCLIENT": ""})
        self.assertEqual(d.cmd("MAIL FROM:<joe@example.test>"),
                         ["530 5.7.0 authentication required (#5.7.0)"])
        d.cmd("AUTH PLAIN " + b64("\0joe@example.test\0" + PASSWORD))
        self.assertEqual(d.cmd("MAIL FROM:<joe@example.test>"), ["250 2.1.0 ok"])

    def test_smtplib_login_and_send(self):
        port = self.start(env={"SMTPAUTH": "!"})
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            ctx = client_ctx(self.ca)
            ctx.check_hostname = False  # smtplib names the server 127.0.0.1
            s.starttls(context=ctx)
            s.login("cram@example.test", PASSWORD)  # smtplib picks CRAM-MD5 first
            s.sendmail("cram@example.test", ["far@remote.example"], "Subject: s\r\n\r\nhi\r\n")
        [m] = self.inst.queued()
        self.assertEqual(m["rcpts"], ["far@remote.example"])

    def test_switched_off(self):
        d = self.tls_dialog(env={"SMTPAUTH": "-"})
        self.assertFalse([l for l in self.ehlo if "AUTH" in l])

    @unittest.skipUnless(shutil.which("swaks"), "swaks not installed")
    def test_swaks_every_mechanism(self):
        port = self.start(env={"SMTPAUTH": "!"})
        for mech, user in (("PLAIN", "joe@example.test"), ("LOGIN", "joe@example.test"),
                           ("CRAM-MD5", "cram@example.test")):
            r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--tls",
                                "--auth", mech, "--auth-user", user, "--auth-password",
                                PASSWORD, "--from", user, "--to", "far@remote.example"],
                               capture_output=True, timeout=60)
            out = r.stdout.decode(errors="replace")
            self.assertEqual(r.returncode, 0, mech + "\n" + out)
            self.assertIn("235 2.0.0 ok, go ahead (#2.0.0)", out)
        self.assertEqual(len(self.inst.queued()), 3)


if __name__ == "__main__":
    unittest.main()
