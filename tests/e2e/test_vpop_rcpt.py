# SPDX-License-Identifier: ISC
"""RCPT-time recipient checks for virtual domains (DESIGN.md 4.3): qmail-smtpd,
running as the instance's owner (qmaild in a root install, which cannot read
the domains' directories), answers RCPT from the recipient maps the v* tools
and qmail-newu keep in users/rcptmap/.  Every kind of address a delivery
would take is accepted (accounts, aliases, .qmail-NAME-default prefixes,
vpopmail's user-ext rule, postmaster, catch-all domains, alias domains), an
unknown one gets 550 5.1.1, a full mailbox 452 4.2.2 or 552 5.2.2 as
control/overquota says; a map older than its domain (a .qmail file made by
hand) is not trusted until qmail-newu rebuilds it; control/norcptcheck keeps
qmail's accept-all for the domains it lists; domains without a map (locals,
other virtualdomains) are taken as before.  Replies as RFC 5321 and 3463 say,
texts from qmail's bounces."""
import os
import re
import smtplib
import unittest

import qng
from vpopinst import VpopInstance


class RcptTest(unittest.TestCase):
    def setUp(self):
        self.q = VpopInstance(rcpthosts=("test.local",), locals_=("test.local",))
        self.addCleanup(self.q.cleanup)
        q = self.q
        q.ok(self, "vadddomain", "example.test", "pw")
        q.ok(self, "vadduser", "joe@example.test", "pw")
        q.ok(self, "vadduser", "first.last@example.test", "pw")
        q.ok(self, "valias", "-i", "joe@example.test", "sales@example.test")

    def rcpt(self, *addrs, env=None):
        """The replies to RCPT TO for each address, in one session."""
        cmds = b"EHLO client.test\r\nMAIL FROM:<a@sender.test>\r\n"
        for a in addrs:
            cmds += b"RCPT TO:<" + a.encode() + b">\r\n"
        cmds += b"QUIT\r\n"
        out, err, rc = self.q.smtpd_pipe(cmds, env=env)
        lines = out.decode().split("\r\n")
        # greeting, EHLO's lines, MAIL's reply; then one per RCPT
        replies = [l for l in lines if re.match(r"^\d{3} ", l)]
        self.assertEqual(len(replies), len(addrs) + 4, out)
        self.err = err
        return replies[3:3 + len(addrs)]

    def assertTaken(self, *addrs, env=None):
        for a, r in zip(addrs, self.rcpt(*addrs, env=env)):
            self.assertTrue(r.startswith("250 "), "%s: %s" % (a, r))

    def assertRefused(self, *addrs, env=None):
        for a, r in zip(addrs, self.rcpt(*addrs, env=env)):
            self.assertEqual(r, "550 5.1.1 sorry, no mailbox here by that name (#5.1.1)", a)

    def test_names_a_delivery_would_take(self):
        self.assertTaken("joe@example.test", "JOE@Example.Test", "first.last@example.test",
                         "sales@example.test", "postmaster@example.test",
                         "Postmaster@example.test", "joe-news@example.test",
                         "joe-a-b@example.test")

    def test_unknown_names_refused(self):
        self.assertRefused("nobody@example.test", "jo@example.test", "joex@example.test",
                           "sales-x@example.test", "first@example.test",
                           "\"no body\"@example.test")
        self.assertIn("reject ip=127.0.0.1 reason=nomailbox code=550 from=<a@sender.test> "
                      "rcpt=<nobody@example.test>", self.err)

    def test_without_enhanced_codes_after_helo(self):
        out, _, _ = self.q.smtpd_pipe(b"HELO x\r\nMAIL FROM:<>\r\nRCPT TO:<nobody@example.test>\r\n"
                                      b"QUIT\r\n")
        self.assertIn(b"\r\n550 sorry, no mailbox here by that name (#5.1.1)\r\n", out)

    def test_smtplib_sees_the_refusal_and_the_message_goes_to_the_others(self):
        q = self.q
        port = q.start_smtpd(rules=":allow\n")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            refused = s.sendmail("a@sender.test", ["joe@example.test", "nobody@example.test"],
                                 b"Subject: x\r\n\r\nhi\r\n")
        self.assertEqual(refused, {"nobody@example.test":
                                   (550, b"5.1.1 sorry, no mailbox here by that name (#5.1.1)")})
        rcpts = [r for m in q.queued() for r in m["rcpts"]]
        self.assertEqual(rcpts, ["joe@example.test"])

    def test_new_account_and_removed_account(self):
        q = self.q
        self.assertRefused("ann@example.test")
        q.ok(self, "vadduser", "ann@example.test", "pw")
        self.assertTaken("ann@example.test")
        q.ok(self, "vdeluser", "ann@example.test")
        self.assertRefused("ann@example.test")
        q.ok(self, "vmoduser", "-b", "joe@example.test")  # bounces all its mail
        self.assertRefused("joe@example.test")

    def test_catchall_domain_takes_everything(self):
        q = self.q
        q.ok(self, "vadddomain", "-e", "joe@example.test", "catch.test", "pw")
        self.assertTaken("anyone@catch.test", "x-y@catch.test")
        q.ok(self, "vadddomain", "-e", "postmaster", "catch2.test", "pw")
        self.assertTaken("anyone@catch2.test")

    def test_alias_domain(self):
        q = self.q
        q.ok(self, "vaddaliasdomain", "example.test", "alias.test")
        self.assertTaken("joe@alias.test", "sales@alias.test", "postmaster@alias.test")
        self.assertRefused("nobody@alias.test")

    def test_hand_made_dotqmail_needs_qmail_newu(self):
        q = self.q
        dd = q.domdir("example.test")
        self.assertRefused("list-owner@example.test", "board@example.test")
        for name, text in ((".qmail-list-default", "|/bin/true\n"), (".qmail-board", "joe\n")):
            q.write(os.path.join(dd, name), text, mode=0o600)
        # the map is older than the directory now: not trusted, said in the log
        self.assertTaken("list-owner@example.test", "board@example.test", "nobody@example.test")
        self.assertIn("rcptcheck skipped ip=127.0.0.1 rcpt=<list-owner@example.test>: the "
                      "domain's directory changed after the map was built (run qmail-newu)",
                      self.err)
        q.ok(self, "qmail-newu")
        self.assertTaken("list-owner@example.test", "list-x-y@example.test", "board@example.test")
        self.assertRefused("nobody@example.test", "list@example.test")

    def test_qmail_newu_rebuilds_lost_maps(self):
        q = self.q
        os.unlink(q.path("users", "rcptmap", "example.test"))
        self.assertTaken("nobody@example.test")  # no map: no opinion
        q.ok(self, "qmail-newu")
        self.assertRefused("nobody@example.test")
        # a map of a domain that is no longer there goes
        q.write(q.path("users", "rcptmap", "gone.test"), "")
        q.ok(self, "qmail-newu")
        self.assertFalse(os.path.exists(q.path("users", "rcptmap", "gone.test")))

    def test_over_quota(self):
        q = self.q
        flag = q.path("users", "overquota", "joe@example.test")
        q.write(flag, "")
        r = self.rcpt("joe@example.test", "joe-x@example.test", "first.last@example.test")
        self.assertEqual(r[:2], ["452 4.2.2 sorry, that mailbox is full, try again later (#4.2.2)"] * 2)
        self.assertTrue(r[2].startswith("250 "))
        q.control("overquota", "bounce\n")
        self.assertEqual(self.rcpt("joe@example.test"),
                         ["552 5.2.2 sorry, that mailbox is full (#5.2.2)"])
        # a flag older than 15 minutes is not trusted: vdelivermail looks again
        os.utime(flag, (1000, 1000))
        self.assertTaken("joe@example.test")
        # vsetuserquota clears it
        os.utime(flag, None)
        q.ok(self, "vsetuserquota", "joe@example.test", "NOQUOTA")
        self.assertTaken("joe@example.test")

    def test_norcptcheck(self):
        q = self.q
        q.control("norcptcheck", "example.test\n")
        self.assertTaken("nobody@example.test")
        q.control("norcptcheck", "*\n")
        self.assertTaken("nobody@example.test")
        q.control("norcptcheck", "other.test\n")
        self.assertRefused("nobody@example.test")

    def test_other_domains_as_before(self):
        # locals and non-virtual hosts: no map, every name taken as qmail did
        self.assertTaken("nosuchuser@test.local", "whoever@test.local")
        out, _, _ = self.q.smtpd_pipe(b"HELO x\r\nMAIL FROM:<>\r\nRCPT TO:<x@elsewhere.test>\r\n"
                                      b"QUIT\r\n")
        self.assertIn(b"553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", out)

    def test_relay_clients_are_checked_too(self):
        self.assertRefused("nobody@example.test", env={"RELAYCLIENT": ""})
        self.assertTaken("someone@elsewhere.test", env={"RELAYCLIENT": ""})

    def test_damaged_or_unreadable_map_takes_everything(self):
        q = self.q
        q.write(q.path("users", "rcptmap", "example.test"), "garbage")
        self.assertTaken("nobody@example.test")
        self.assertIn("rcptcheck skipped", self.err)

    def test_hostile_addresses(self):
        self.assertRefused("\"../joe\"@example.test", "\"joe/../x\"@example.test")
        # bytes a client could use to forge a log line are shown escaped
        self.rcpt("a\x1b[2Jb@example.test")
        self.assertNotIn("\x1b", self.err)
        # a 64-byte local part of a hosted domain, and one of 300 bytes
        self.assertRefused("x" * 64 + "@example.test")
        r = self.rcpt("x" * 300 + "@example.test")
        self.assertFalse(r[0].startswith("250"), r)


if __name__ == "__main__":
    unittest.main()
