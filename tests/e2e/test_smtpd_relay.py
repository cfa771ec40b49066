# SPDX-License-Identifier: ISC
"""qmail-smtpd end to end: relay control and sender policy.  RELAYCLIENT
from tcp.smtp rules, rcpthosts (exact and ".suffix"), morercpthosts.cdb,
our own IP literals, open-relay tricks, badmailfrom, SMTPUTF8."""
import os
import unittest

from cdbfile import cdb_write
from test_smtpd import SmtpdCase

NOGATEWAY = "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"
ROUTING = "553 sorry, sender-specified routing isn't allowed here (#5.7.1)"
SYNTAX = "555 syntax error (#5.5.4)"


def write_cdb(path, keys):
    """A constant database holding keys with empty values, as
    qmail-newmrh makes morercpthosts.cdb (tests/e2e/cdbfile.py)."""
    cdb_write(path, [(k, b"") for k in keys])
    os.chmod(path, 0o644)


class TestRelayControl(SmtpdCase):
    rcpthosts = ("example.test", ".hosted.example")

    def rcpt(self, addr, env=None):
        lines, err, rc = self.pipe("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:%s\r\n" % addr,
                                   env=env)
        return lines[-1]

    def test_refused_without_relayclient(self):
        self.assertEqual(self.rcpt("<u@wanadoo.fr>"), NOGATEWAY)
        self.assertEqual(self.rcpt("<u@sub.example.test>"), NOGATEWAY)
        self.assertEqual(self.rcpt("<u@hosted.example>"), NOGATEWAY)

    def test_accepted_for_our_domains(self):
        for a in ("<u@example.test>", "<U@EXAMPLE.TEST>", "<u@a.hosted.example>",
                  "<u@b.a.Hosted.Example>", "<postmaster>", "<Postmaster>"):
            self.assertEqual(self.rcpt(a), "250 ok", a)

    def test_relayclient_value_appended(self):
        lines, err, rc = self.pipe(
            "HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@wanadoo.fr>\r\n"
            "RCPT TO:<v@example.test>\r\nDATA\r\nrelayed\r\n.\r\n",
            env={"RELAYCLIENT": ".relay"})
        self.assertEqual(lines[3:5], ["250 ok", "250 ok"])
        self.assertQueuedOK(lines[-1])
        [m] = self.inst.queued()
        self.assertEqual(m["rcpts"], ["u@wanadoo.fr.relay", "v@example.test.relay"])

    def test_relay_by_tcp_rules(self):
        """The guides' tcp.smtp: 127.0.0.1 relays, everyone else may
        only reach our domains."""
        port = self.server(rules='127.0.0.1:allow,RELAYCLIENT=""\n:allow\n')
        d = self.dialog(port)
        d.cmd("HELO ping.ovh.net")
        d.cmd("MAIL FROM:<a@b.example>")
        self.assertEqual(d.cmd("RCPT TO:<friend@wanadoo.fr>"), ["250 ok"])
        self.assertEqual(d.cmd("DATA"), ["354 go ahead"])
        self.assertRegex(d.cmd("relay me\r\n.")[0], r"^250 ok \d+ qp \d+$")
        d.cmd("QUIT")
        [m] = self.inst.queued()
        self.assertEqual(m["rcpts"], ["friend@wanadoo.fr"])

    def test_relay_denied_by_tcp_rules(self):
        port = self.server(rules='127.0.0.2:allow,RELAYCLIENT=""\n:allow\n')
        d = self.dialog(port)
        d.cmd("HELO ping.ovh.net")
        d.cmd("MAIL FROM:<a@b.example>")
        self.assertEqual(d.cmd("RCPT TO:<friend@wanadoo.fr>"), [NOGATEWAY])
        self.assertEqual(d.cmd("RCPT TO:<u@example.test>"), ["250 ok"])

    def test_open_relay_tricks(self):
        """Each trick names our domain but routes elsewhere; an untrusted
        client gets none of them through, and nothing is queued."""
        tricks = {
            "<user%remote.example@example.test>": ROUTING,
            "<@example.test:user@remote.example>": NOGATEWAY,
            "<@example.test,@x.example:user@remote.example>": NOGATEWAY,
            '<"user@remote.example"@example.test>': ROUTING,
            '<"user@remote.example">': SYNTAX,
            "<user@remote.example@example.test>": SYNTAX,
            "<remote.example!user@example.test>": ROUTING,
            "<remote.example!user>": ROUTING,
            "<user%remote.example>": ROUTING,
            "<user@remote.example.>": SYNTAX,
            "<user@[192.0.2.99]>": NOGATEWAY,
            "<user@example.test.remote.example>": NOGATEWAY,
        }
        data = "HELO c\r\nMAIL FROM:<a@b.example>\r\n"
        for t in tricks:
            data += "RCPT TO:%s\r\n" % t
        data += "DATA\r\n"
        lines, err, rc = self.pipe(data)
        self.assertEqual(lines[3:-1], list(tricks.values()))
        self.assertEqual(lines[-1], "503 RCPT first (#5.5.1)")
        self.assertNothingQueued()
        self.assertEqual(err.count("reason=routing"), 5)

    def test_tricks_pass_for_relay_clients(self):
        lines, err, rc = self.pipe(
            "HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<user%remote.example@example.test>\r\n"
            "RCPT TO:<@example.test:user@remote.example>\r\nDATA\r\nx\r\n.\r\n",
            env={"RELAYCLIENT": ""})
        self.assertQueuedOK(lines[-1])
        [m] = self.inst.queued()
        self.assertEqual(m["rcpts"], ["user%remote.example@example.test", "user@remote.example"])

    def test_only_the_source_route_is_stripped(self):
        """RFC 5321 4.1.2: a path's only route is a leading A-d-l,
        "@host,@host:", which is dropped (qmail-1.03 too).  A ":" anywhere
        else is not in a Dot-string: the path is refused, never cut to
        what follows a ":".  (Written as raw lines: Python's smtplib
        passes addresses through email.utils.parseaddr, which reads
        "a-..:..:x@host" as an RFC 5322 group and sends <x@host>.)"""
        rcpts = [
            ("<a-..:..:x@example.test>", SYNTAX),
            ("<a-b:x@example.test>", SYNTAX),
            ("<@relay.example:b:x@example.test>", SYNTAX),
            ("<@relay.example,x:u@example.test>", SYNTAX),
            ("a-..:..:x@example.test", SYNTAX),
            ("<@relay.example,@other.example:u@example.test>", "250 ok"),
            ('<"a-..:..:x"@example.test>', "250 ok"),
            ('<@relay.example:"b:x"@example.test>', "250 ok"),
        ]
        data = "HELO c\r\nMAIL FROM:<a@b.example>\r\n"
        for r, _ in rcpts:
            data += "RCPT TO:%s\r\n" % r
        lines, err, rc = self.pipe(data + "DATA\r\nx\r\n.\r\n", env={"RELAYCLIENT": ""})
        self.assertEqual(lines[3:3 + len(rcpts)], [w for _, w in rcpts])
        self.assertQueuedOK(lines[-1])
        [m] = self.inst.queued()
        self.assertEqual(m["rcpts"], ["u@example.test", "a-..:..:x@example.test",
                                      "b:x@example.test"])
        # and the same for the sender
        lines, err, rc = self.pipe("HELO c\r\nMAIL FROM:<a-..:..:x@b.example>\r\n"
                                   "MAIL FROM:<@r.example:s@b.example>\r\n")
        self.assertEqual(lines[2:], [SYNTAX, "250 ok"])

    def test_own_ip_literal(self):
        self.inst.control("localiphost", "example.test\n")
        lines, err, rc = self.pipe("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@[127.0.0.1]>\r\n"
                                   "DATA\r\nx\r\n.\r\n")
        self.assertEqual(lines[3], "250 ok")
        self.assertQueuedOK(lines[-1])
        [m] = self.inst.queued()
        self.assertEqual(m["rcpts"], ["u@example.test"])

    def test_no_rcpthosts_means_no_relay_control(self):
        self.inst.control("rcpthosts", None)
        lines, err, rc = self.pipe("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@wanadoo.fr>\r\n")
        self.assertEqual(lines[-1], "250 ok")
        self.assertIn("warning: control/rcpthosts is missing", err)

    def test_morercpthosts(self):
        write_cdb(self.inst.path("control", "morercpthosts.cdb"),
                  ["more.example", ".wild.example"])
        if os.geteuid() == 0:
            os.chown(self.inst.path("control", "morercpthosts.cdb"), self.inst.uid, self.inst.gid)
        self.assertEqual(self.rcpt("<u@more.example>"), "250 ok")
        self.assertEqual(self.rcpt("<u@MORE.example>"), "250 ok")
        self.assertEqual(self.rcpt("<u@x.wild.example>"), "250 ok")
        self.assertEqual(self.rcpt("<u@x.more.example>"), NOGATEWAY)
        self.assertEqual(self.rcpt("<u@wild.example>"), NOGATEWAY)
        self.assertEqual(self.rcpt("<u@example.test>"), "250 ok")

    def test_broken_morercpthosts(self):
        with open(self.inst.path("control", "morercpthosts.cdb"), "wb") as f:
            f.write(b"short")
        lines, err, rc = self.pipe("QUIT\r\n")
        self.assertEqual(lines, ["421 unable to read controls (#4.3.0)"])
        self.assertIn("morercpthosts.cdb", err)


class TestBadmailfrom(SmtpdCase):

    def test_badmailfrom(self):
        self.inst.control("badmailfrom", "spammeur@spam\n@bad.example\n# comment\n")
        lines, err, rc = self.pipe(
            "HELO c\r\nMAIL FROM:<spammeur@spam>\r\nMAIL FROM:<SpamMeur@SPAM>\r\n"
            "MAIL FROM:<anyone@bad.example>\r\nMAIL FROM:<x@sub.bad.example>\r\nRSET\r\n"
            "MAIL FROM:<other@spam>\r\nRSET\r\nMAIL FROM:<>\r\n")
        bad = "553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)"
        self.assertEqual(lines[2:], [bad, bad, bad, "250 ok", "250 flushed", "250 ok",
                                     "250 flushed", "250 ok"])
        self.assertIn("reason=badmailfrom code=553 from=<anyone@bad.example>", err)

    def test_badmailfrom_with_codes(self):
        self.inst.control("badmailfrom", "spammeur@spam\n")
        lines, err, rc = self.pipe("EHLO c\r\nMAIL FROM:<spammeur@spam>\r\n")
        self.assertEqual(lines[-1], "553 5.7.1 sorry, your envelope sender is in my badmailfrom "
                                    "list (#5.7.1)")


class TestSmtpUtf8(SmtpdCase):

    def test_utf8_addresses_passed_intact(self):
        sender = "j\u00f6rg@b\u00fccher.example"
        rcpt = "\u00e9t\u00e9@example.test"
        data = ("EHLO c\r\nMAIL FROM:<%s> SMTPUTF8\r\nRCPT TO:<%s>\r\nDATA\r\n"
                "Subject: \u00e9\r\n\r\nhi\r\n.\r\n" % (sender, rcpt)).encode()
        lines, err, rc = self.pipe(data)
        self.assertEqual(lines[8:10], ["250 2.1.0 ok", "250 2.1.5 ok"])
        self.assertQueuedOK(lines[-1])
        [m] = self.inst.queued()
        self.assertEqual(m["sender"], sender)
        self.assertEqual(m["rcpts"], [rcpt])
        self.assertIn(b"F" + sender.encode() + b"\0T" + rcpt.encode() + b"\0", m["env"])
        self.assertRegex(m["mess"], rb"\n  by test\.local with UTF8SMTP; ")

    def test_utf8_refused_without_parameter(self):
        lines, err, rc = self.pipe(
            "EHLO c\r\nMAIL FROM:<j\u00f6rg@b.example>\r\nMAIL FROM:<a@b.example>\r\n"
            "RCPT TO:<\u00e9t\u00e9@example.test>\r\nRCPT TO:<u@\u00e9xample.test>\r\n")
        need = "553 5.6.7 sorry, a non-ASCII address needs SMTPUTF8 (#5.6.7)"
        self.assertEqual(lines[8:], [need, "250 2.1.0 ok", need, need])

    def test_invalid_utf8_always_refused(self):
        lines, err, rc = self.pipe(
            b"EHLO c\r\nMAIL FROM:<\xc3\x28@b.example> SMTPUTF8\r\n"
            b"MAIL FROM:<a@b.example> SMTPUTF8\r\nRCPT TO:<\xed\xa0\x80@example.test>\r\n"
            b"RCPT TO:<\xff@example.test>\r\n")
        bad = "553 5.6.7 sorry, that address is not valid UTF-8 (#5.6.7)"
        self.assertEqual(lines[8:], [bad, "250 2.1.0 ok", bad, bad])

    def test_unknown_parameters(self):
        lines, err, rc = self.pipe(
            "EHLO c\r\nMAIL FROM:<a@b.example> RET=HDRS\r\nMAIL FROM:<a@b.example> BODY=8BITMIME\r\n"
            "RCPT TO:<u@example.test> NOTIFY=NEVER\r\n")
        self.assertEqual(lines[8:], [
            "555 5.5.4 unsupported or malformed parameter (#5.5.4)", "250 2.1.0 ok",
            "555 5.5.4 unsupported or malformed parameter (#5.5.4)"])


if __name__ == "__main__":
    unittest.main()
