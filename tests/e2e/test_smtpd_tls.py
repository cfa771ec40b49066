# SPDX-License-Identifier: ISC
"""qmail-smtpd with TLS, from RFC 3207 (STARTTLS) and RFC 8314 (implicit
TLS), through tcpserver on loopback, with Python's ssl, openssl s_client
and swaks as the clients.  The certificates come from a test CA made by
the test (testca.py)."""
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import unittest

import qng
from test_smtpd import SmtpdCase
from testca import TestCA

NAME = "mx.example.test"


class TlsDialog(qng.Dialog):
    """Dialog that can switch to TLS after a 220 to STARTTLS."""

    def tls(self, ctx, session=None):
        self.f.close()
        self.s = ctx.wrap_socket(self.s, server_hostname=NAME, session=session)
        self.f = self.s.makefile("rb")


def client_ctx(ca, minv=None, maxv=None):
    ctx = ssl.create_default_context(cafile=ca.cert)
    if minv:
        ctx.minimum_version = minv
    if maxv:
        ctx.maximum_version = maxv
    return ctx


class TlsCase(SmtpdCase):
    me = NAME

    def setUp(self):
        super().setUp()
        self.ca = TestCA(self.inst.tmp)
        self.install_cert(self.ca.issue(NAME))

    def install_cert(self, pem, name="servercert.pem"):
        with open(pem, "rb") as f:
            self.inst.write(self.inst.path("control", name), f.read(), mode=0o600)

    def dialog(self, port):
        d = TlsDialog(port)
        self.addCleanup(d.close)
        return d

    def starttls(self, port, ctx=None, session=None):
        d = self.dialog(port)
        ehlo = d.cmd("EHLO client.example")
        self.assertIn("250-STARTTLS", ehlo)
        self.assertEqual(d.cmd("STARTTLS"), ["220 2.0.0 ready for tls"])
        d.tls(ctx or client_ctx(self.ca), session)
        return d


class TestStartTls(TlsCase):
    def test_offered_and_used(self):
        """EHLO offers STARTTLS after PIPELINING (the seeds' order); after
        the handshake the client must say EHLO again, which no longer
        offers it; the message's Received line says ESMTPS with the
        protocol and cipher; the log names them."""
        port = self.inst.start_smtpd()
        d = self.starttls(port)
        self.assertEqual(d.s.version(), "TLSv1.3")
        ehlo = d.cmd("EHLO client.example")
        self.assertNotIn("250-STARTTLS", ehlo)
        self.assertEqual(ehlo[0], "250-" + NAME)
        self.assertEqual(d.cmd("MAIL FROM:<a@b.example>"), ["250 2.1.0 ok"])
        self.assertEqual(d.cmd("RCPT TO:<u@example.test>"), ["250 2.1.5 ok"])
        self.assertEqual(d.cmd("DATA"), ["354 go ahead"])
        r = d.cmd("Subject: t\r\n\r\nover tls\r\n.")
        self.assertRegex(r[0], r"^250 2\.0\.0 ok \d+ qp \d+$")
        d.cmd("QUIT")
        [m] = self.inst.queued()
        cipher = d.s.cipher()[0]
        self.assertRegex(m["mess"], (r"\n  by \S+ with ESMTPS \(TLSv1\.3 %s encrypted\); "
                                     % re.escape(cipher)).encode())
        qng.wait_for(lambda: "tls ip=127.0.0.1 protocol=TLSv1.3 cipher=%s" % cipher
                     in self.inst.log(), what="tls log line")

    def test_not_offered_without_certificate(self):
        self.inst.control("servercert.pem", None)
        lines, err, rc = self.pipe("EHLO c\r\nSTARTTLS\r\nQUIT\r\n")
        self.assertNotIn("250-STARTTLS", lines)
        self.assertEqual(lines[-2], "502 5.5.1 unimplemented (#5.5.1)")

    def test_switched_off_by_ucspitls(self):
        lines, err, rc = self.pipe("EHLO c\r\nSTARTTLS\r\nQUIT\r\n", env={"UCSPITLS": "-"})
        self.assertNotIn("250-STARTTLS", lines)
        self.assertEqual(lines[-2], "502 5.5.1 unimplemented (#5.5.1)")

    def test_argument_refused(self):
        lines, err, rc = self.pipe("EHLO c\r\nSTARTTLS now\r\nQUIT\r\n")
        self.assertEqual(lines[-2], "501 5.5.4 Syntax error (no parameters allowed) (#5.5.4)")

    def test_unreadable_certificate_is_454(self):
        """A certificate file that is not a certificate: 454 (RFC 3207's
        temporary refusal), a log line with OpenSSL's words, and the
        session goes on in the clear."""
        self.inst.write(self.inst.path("control", "servercert.pem"), "garbage\n", mode=0o600)
        lines, err, rc = self.pipe("EHLO c\r\nSTARTTLS\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n")
        self.assertEqual(lines[-3],
                         "454 4.7.0 TLS not available due to temporary reason (#4.7.0)")
        self.assertEqual(lines[-2], "250 2.1.0 ok")
        self.assertIn("warning: TLS not available: ", err)
        self.assertIn("servercert.pem", err)

    def test_twice(self):
        """STARTTLS is not offered again inside TLS, and a second one is
        refused as the TLS patch refused it."""
        port = self.inst.start_smtpd()
        d = self.starttls(port)
        d.cmd("EHLO c")
        self.assertEqual(d.cmd("STARTTLS"), ["502 5.5.1 unimplemented (#5.5.1)"])
        self.assertEqual(d.cmd("NOOP"), ["250 2.0.0 ok"])

    def test_state_reset(self):
        """RFC 3207 4.2: everything before STARTTLS is forgotten: a MAIL
        given before is gone (RCPT needs a new MAIL), and so is EHLO (the
        replies have no enhanced codes until EHLO is said again)."""
        port = self.inst.start_smtpd()
        d = self.dialog(port)
        d.cmd("EHLO c")
        self.assertEqual(d.cmd("MAIL FROM:<before@b.example>"), ["250 2.1.0 ok"])
        self.assertEqual(d.cmd("STARTTLS"), ["220 2.0.0 ready for tls"])
        d.tls(client_ctx(self.ca))
        self.assertEqual(d.cmd("RCPT TO:<u@example.test>"), ["503 MAIL first (#5.5.1)"])
        d.cmd("EHLO c")
        self.assertEqual(d.cmd("MAIL FROM:<after@b.example>"), ["250 2.1.0 ok"])

    def test_injection_discarded(self):
        """Commands pipelined after STARTTLS in the clear (CVE-2011-0411)
        are dropped unread: the first reply inside TLS is to the first
        command sent inside TLS."""
        port = self.inst.start_smtpd()
        d = self.dialog(port)
        d.cmd("EHLO c")
        d.send("STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\nRCPT TO:<u@example.test>\r\n")
        self.assertEqual(d.reply(), ["220 2.0.0 ready for tls"])
        d.tls(client_ctx(self.ca))
        self.assertEqual(d.cmd("NOOP"), ["250 ok"])
        self.assertEqual(d.cmd("RCPT TO:<u@example.test>"), ["503 MAIL first (#5.5.1)"])
        d.cmd("QUIT")
        qng.wait_for(lambda: "bytes sent after STARTTLS dropped" in self.inst.log(),
                     what="the log of the dropped bytes")

    def test_tls12_and_13(self):
        port = self.inst.start_smtpd()
        for v, want in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            d = self.starttls(port, client_ctx(self.ca, v, v))
            self.assertEqual(d.s.version(), want)
            self.assertEqual(d.cmd("EHLO c")[0], "250-" + NAME)

    def test_old_protocols_refused(self):
        """TLS 1.0 and 1.1 are refused by default (the handshake fails, the
        session ends, the log says why); tlsserverminprotocol can lower
        the floor for old clients, where OpenSSL's security level allows."""
        port = self.inst.start_smtpd()
        d = self.dialog(port)
        d.cmd("EHLO c")
        self.assertEqual(d.cmd("STARTTLS"), ["220 2.0.0 ready for tls"])
        ctx = client_ctx(self.ca, ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        with self.assertRaises((ssl.SSLError, OSError)):
            d.tls(ctx)
        qng.wait_for(lambda: re.search(r"tls failed ip=127\.0\.0\.1: .*(unsupported protocol|version)",
                                       self.inst.log(), re.I), what="tls failed line")

    def test_garbage_instead_of_handshake(self):
        """Plain text where a ClientHello belongs: the session ends with a
        log line, no crash and no reply in the clear."""
        port = self.inst.start_smtpd()
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.addCleanup(s.close)
        s.recv(1000)
        s.sendall(b"EHLO c\r\n")
        time.sleep(0.2)
        s.recv(4000)
        s.sendall(b"STARTTLS\r\n")
        time.sleep(0.2)
        self.assertEqual(s.recv(1000), b"220 2.0.0 ready for tls\r\n")
        s.sendall(b"HELO this is not TLS\r\n" * 10)
        s.settimeout(10)
        rest = b""
        try:
            while True:
                c = s.recv(1000)
                if not c:
                    break
                rest += c
        except (socket.timeout, ConnectionResetError):
            pass
        self.assertNotIn(b"250", rest)
        qng.wait_for(lambda: "tls failed ip=127.0.0.1" in self.inst.log(), what="tls failed")
        qng.wait_for(lambda: "end=tls" in self.inst.log(), what="session line")

    def test_certificate_swap_between_connections(self):
        """Each connection is a new process: a certificate replaced on
        disk is the one the next connection gets, without a restart."""
        port = self.inst.start_smtpd()
        d = self.starttls(port)
        first = d.s.getpeercert(binary_form=True)
        d.cmd("QUIT")
        self.install_cert(self.ca.issue(NAME, key="ec"))
        d = self.starttls(port)
        second = d.s.getpeercert(binary_form=True)
        self.assertNotEqual(first, second)

    def test_rsa_and_ecdsa_at_once(self):
        """servercert.pem and servercert2.pem of the other key type: a
        TLS 1.2 client that takes only ECDSA gets the EC certificate, one
        that takes only RSA the RSA one."""
        self.install_cert(self.ca.issue(NAME, key="ec"), "servercert2.pem")
        port = self.inst.start_smtpd()
        for suite, kind in (("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDSA"),
                            ("ECDHE-RSA-AES128-GCM-SHA256", "RSA")):
            ctx = client_ctx(self.ca, ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
            ctx.set_ciphers(suite)
            d = self.starttls(port, ctx)
            self.assertEqual(d.s.cipher()[0], suite, kind)
            d.cmd("QUIT")

    def test_resumption_across_processes(self):
        """With control/tlsticketkeys (qmail-tlskeys), a second connection
        (a new qmail-smtpd process) resumes the first one's session;
        without it each process has its own keys and cannot."""
        for keys, want in ((False, False), (True, True)):
            if keys:
                keyfile = self.inst.path("control", "tlsticketkeys")
                r = self.inst.run("qmail-tlskeys", keyfile)
                self.assertEqual(r.returncode, 0, r.stderr)
                if qng.IS_ROOT:
                    os.chown(keyfile, self.inst.uid, self.inst.gid)
            port = self.inst.start_smtpd()
            ctx = client_ctx(self.ca)
            d = self.starttls(port, ctx)
            d.cmd("EHLO c")
            d.cmd("QUIT")
            session = d.s.session
            self.assertIsNotNone(session)
            d2 = self.starttls(port, ctx, session=session)
            self.assertEqual(d2.s.session_reused, want, "ticket keys: %s" % keys)
            d2.cmd("QUIT")
            for p in self.inst.procs:
                p.terminate()
                p.wait(timeout=10)
            self.inst.procs.clear()

    def test_bad_ticket_key_file_costs_resumption_only(self):
        """A damaged control/tlsticketkeys: STARTTLS still works, the log
        says what is wrong with the file."""
        self.inst.write(self.inst.path("control", "tlsticketkeys"), "1 nothex\n", mode=0o600)
        port = self.inst.start_smtpd()
        d = self.starttls(port)
        self.assertEqual(d.cmd("EHLO c")[0], "250-" + NAME)
        qng.wait_for(lambda: "tlsticketkeys:1: not a ticket key line" in self.inst.log(),
                     what="warning about the key file")

    def test_required_before_mail(self):
        """UCSPITLS=! (a listener or tcp.smtp rule): MAIL before STARTTLS
        is refused with RFC 3207's 530, after it works."""
        lines, err, rc = self.pipe("EHLO c\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n",
                                   env={"UCSPITLS": "!"})
        self.assertEqual(lines[-2], "530 5.7.0 Must issue a STARTTLS command first (#5.7.0)")
        port = self.inst.start_smtpd(env={"UCSPITLS": "!"})
        d = self.starttls(port)
        d.cmd("EHLO c")
        self.assertEqual(d.cmd("MAIL FROM:<a@b.example>"), ["250 2.1.0 ok"])


class TestSmtps(TlsCase):
    def test_implicit_tls(self):
        """SMTPS=1: the TLS handshake comes first, then the greeting
        inside it (RFC 8314 3.3); STARTTLS is not offered."""
        port = self.inst.start_smtpd(env={"SMTPS": "1"})
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = client_ctx(self.ca).wrap_socket(raw, server_hostname=NAME)
        self.addCleanup(s.close)
        f = s.makefile("rb")
        self.assertEqual(f.readline(), ("220 %s ESMTP\r\n" % NAME).encode())
        s.sendall(b"EHLO c\r\n")
        ehlo = []
        while True:
            line = f.readline().decode()
            ehlo.append(line.rstrip())
            if line[3] == " ":
                break
        self.assertNotIn("250-STARTTLS", ehlo)

    def test_plaintext_client_on_smtps_port(self):
        """A client speaking SMTP in the clear to the SMTPS port gets no
        greeting and the session ends (logged)."""
        port = self.inst.start_smtpd(env={"SMTPS": "1"})
        s = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.addCleanup(s.close)
        s.sendall(b"EHLO c\r\n")
        try:
            out = s.recv(1000)
        except (ConnectionResetError, socket.timeout):
            out = b""
        self.assertFalse(out.startswith(b"220"))
        qng.wait_for(lambda: "tls failed" in self.inst.log(), what="tls failed")


class TestIndependentClients(TlsCase):
    @unittest.skipUnless(shutil.which("openssl"), "openssl not installed")
    def test_openssl_s_client(self):
        port = self.inst.start_smtpd()
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                            "-starttls", "smtp", "-CAfile", self.ca.cert,
                            "-verify_hostname", NAME, "-verify_return_error", "-quiet"],
                           input=b"EHLO c\r\nQUIT\r\n", capture_output=True, timeout=30)
        self.assertIn(b"250-" + NAME.encode() + b"\r\n", r.stdout, r.stderr)
        self.assertIn(b"221 2.0.0 " + NAME.encode(), r.stdout, r.stderr)

    @unittest.skipUnless(shutil.which("swaks"), "swaks not installed")
    def test_swaks(self):
        port = self.inst.start_smtpd()
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--tls",
                            "--from", "a@b.example", "--to", "u@example.test",
                            "--tls-verify", "--tls-ca-path", self.ca.cert,
                            "--tls-sni", NAME],
                           capture_output=True, timeout=60)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out + r.stderr.decode(errors="replace"))
        self.assertRegex(out, r"<~  250 2\.0\.0 ok \d+ qp \d+")
        self.assertEqual(len(self.inst.queued()), 1)


if __name__ == "__main__":
    unittest.main()
