# SPDX-License-Identifier: ISC
"""IMAP through Dovecot 2.3 on the Maildirs of the virtual domains (issue
11 section 3, doc/dovecot.md): a real Dovecot configured by
scripts/dovecot-conf (tests/e2e/dovecotinst.py) authenticating through
vchkpw with its checkpassword passdb, beside a real qmail-ng instance
(tcpserver + qmail-smtpd, qmail-send, the domains' .qmail-default running
vdelivermail).  Checked here:

- SMTP in -> vdelivermail -> IMAP FETCH of the same bytes (IMAP's CRLF),
  over plain IMAP, STARTTLS and IMAPS; two domains with the same mailbox
  name stay apart (Dovecot keeps the whole login as its user name);
- wrong password, unknown user, hostile logins (control characters, path
  tricks, over-long names, 1 MiB of garbage) refused, and nothing of them
  reaches the log raw; an account with vpopmail's NO_IMAP flag is refused
  over IMAP (and from 127.0.0.1 it is webmail, as vpopmail has it); an
  unreadable store is Dovecot's temporary failure, not a refusal;
- the same with the accounts in PostgreSQL (control/vpopbackend pgsql),
  and the database stopped (a temporary failure);
- quota: GETQUOTAROOT shows the quota vadduser -q gave and the usage
  vdelivermail counted; an IMAP EXPUNGE keeps maildirsize summing to what
  a recount finds, so vdelivermail's next decision is right both ways;
  .Trash is outside the quota for both; Dovecot refuses an APPEND past
  the limit it read from maildirsize;
- the same message over POP3 through qmail-popup/vchkpw/qmail-pop3d (when
  they are built) with UIDLs that IMAP flags do not change, and through
  Dovecot's own POP3.

Connections come from 127.0.0.2 unless a test says otherwise: vchkpw
counts POP3 and IMAP from 127.0.0.1 as webmail (vpopmail's rule).  Skipped
only when Dovecot is not installed."""
import imaplib
import itertools
import os
import poplib
import re
import smtplib
import socket
import ssl
import subprocess
import time
import unittest

import dovecotinst
import pgserver
import qng
from testca import TestCA
from vpopinst import VpopInstance

CLIENT_IP = "127.0.0.2"
NAME = "mx.test"
PW = "joe's pass"
MSG = (b"From: Sender <s@sender.test>\r\nTo: joe@example.test\r\nSubject: over IMAP\r\n"
       b"Message-ID: <1@sender.test>\r\n\r\nfirst line\r\n.leading dot\r\n"
       b"\xc3\xa9t\xc3\xa9 8-bit\r\n" + b"x" * 70 + b"\r\nlast line\r\n")
SKIP = dovecotinst.available()
DBNUM = itertools.count(1)


_next_ip = [0]


def other_ip():
    """A fresh loopback address each call: Dovecot slows down failed
    logins by client address (its auth penalty), which a test of many
    refusals would otherwise wait out."""
    _next_ip[0] += 1
    return "127.0.1.%d" % _next_ip[0]


class IMAPFrom(imaplib.IMAP4):
    """imaplib's client, connecting from CLIENT_IP (or src)."""

    def __init__(self, *a, src=CLIENT_IP, **kw):
        self.src = src
        super().__init__(*a, **kw)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.src, 0))

    def starttls(self, ssl_context=None):
        self.host = NAME  # the certificate's name, not 127.0.0.1
        return super().starttls(ssl_context)


class IMAPSFrom(imaplib.IMAP4_SSL):
    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout,
                                        source_address=(CLIENT_IP, 0))
        return self.ssl_context.wrap_socket(sock, server_hostname=NAME)


class POP3From(poplib.POP3):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(CLIENT_IP, 0))


def maildir_files(md):
    """{name: bytes} of every message in md's new/ and cur/."""
    out = {}
    for sub in ("new", "cur"):
        d = os.path.join(md, sub)
        for n in os.listdir(d):
            with open(os.path.join(d, n), "rb") as f:
                out[sub + "/" + n] = f.read()
    return out


def mdsize_sums(md):
    """maildirsize: (quota line, bytes, count) summed over its lines."""
    with open(os.path.join(md, "maildirsize")) as f:
        lines = f.read().splitlines()
    size = count = 0
    for line in lines[1:]:
        s, c = line.split()
        size += int(s)
        count += int(c)
    return lines[0], size, count


def kib(n):
    """Bytes as IMAP QUOTA's STORAGE shows them: KiB, rounded up (Dovecot)."""
    return (n + 1023) // 1024


def recount(md):
    """What a Maildir++ recount finds: sizes (from ,S= when named, as
    Maildir++ says) and number of the messages in new/ and cur/."""
    size = count = 0
    for sub in ("new", "cur"):
        for n in os.listdir(os.path.join(md, sub)):
            m = re.search(r",S=(\d+)", n)
            size += int(m.group(1)) if m else os.path.getsize(os.path.join(md, sub, n))
            count += 1
    return size, count


@unittest.skipIf(SKIP, SKIP)
class DovecotCase(unittest.TestCase):
    pop3 = False

    def setUp(self):
        q = self.q = VpopInstance(me="mx.test", rcpthosts=("example.test", "other.test"),
                                  locals_=("mx.test",))
        self.addCleanup(q.cleanup)
        self.ca = TestCA(os.path.join(q.tmp, "ca"))
        q.write(q.path("control", "servercert.pem"), self._pem(self.ca.issue(NAME)),
                mode=0o600)
        q.control("quotawarnpercent", "0\n")  # no warnings in the counts
        self.configure(q)
        q.ok(self, "vadddomain", "example.test", "dompw")
        q.ok(self, "vadduser", "-q", "1000000", "joe@example.test", PW)
        q.ok(self, "vadduser", "ann@example.test", "ann pw")
        q.start_send()
        q.wait_log(r"^status: local 0/10 remote 0/20$")
        self.smtp_port = q.start_smtpd(rules=":allow\n")
        self.dc = dovecotinst.DovecotServer(q, pop3=self.pop3)
        self.addCleanup(self.dc.stop)
        self.dc.start()
        self.joe_md = os.path.join(q.domdir("example.test"), "joe", "Maildir")

    def configure(self, q):
        """For subclasses: the instance before any account is made."""

    @staticmethod
    def _pem(issued):
        if isinstance(issued, bytes):
            return issued
        with open(issued, "rb") as f:
            return f.read()

    def deliver(self, rcpt="joe@example.test", msg=MSG, md=None, queue=False):
        """SMTP in (or, with queue, straight into qmail-queue); wait for a
        new message in md; its bytes."""
        md = md or self.joe_md
        before = set(maildir_files(md))
        if queue:
            self.assertEqual(self.q.inject(msg, "s@sender.test", [rcpt]), 0)
        else:
            with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as s:
                s.sendmail("s@sender.test", [rcpt], msg)
        got = qng.wait_for(lambda: [v for k, v in maildir_files(md).items() if k not in before],
                           20, what="a delivery into %s; log:\n%s" % (
                               md, self.q.log("send.log")[-2000:]))
        return got[0]

    def imap(self, user="joe@example.test", password=PW, cls=IMAPFrom, **kw):
        m = cls("127.0.0.1", self.dc.ports["imaps" if cls is IMAPSFrom else "imap"],
                timeout=30, **kw)
        self.addCleanup(self._close, m)
        m.login(user, password)
        return m

    @staticmethod
    def _close(m):
        try:
            m.logout()
        except Exception:  # noqa: BLE001 - already gone is fine
            pass

    def refused(self, user, password, src=None):
        """Log in from src (a fresh address by default); the NO's text."""
        self.last_ip = src or other_ip()
        m = IMAPFrom("127.0.0.1", self.dc.ports["imap"], timeout=30, src=self.last_ip)
        self.addCleanup(self._close, m)
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login(user, password)
        return str(cm.exception)

    def fetch_all(self, m, what="BODY.PEEK[]"):
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK", data)
        n = int(data[0])
        out = []
        for i in range(1, n + 1):
            typ, d = m.fetch(str(i), "(%s)" % what)
            self.assertEqual(typ, "OK", d)
            out.append(d[0][1])
        return out

    def log(self):
        with open(self.dc.log, "rb") as f:
            return f.read()


class TestImap(DovecotCase):
    def test_smtp_in_vdelivermail_imap_fetch_byte_exact(self):
        stored = self.deliver()
        self.assertTrue(stored.endswith(MSG.replace(b"\r\n", b"\n")), stored)
        m = self.imap()
        got = self.fetch_all(m)
        self.assertEqual(got, [stored.replace(b"\n", b"\r\n")])
        body = self.fetch_all(m, "BODY.PEEK[TEXT]")[0]
        self.assertEqual(body, MSG.split(b"\r\n\r\n", 1)[1])
        typ, d = m.fetch("1", "(RFC822.SIZE)")
        self.assertIn(b"RFC822.SIZE %d" % len(stored.replace(b"\n", b"\r\n")), d[0])
        self.assertIn(b"login ok ip=127.0.0.2 user=joe@example.test service=imap mech=PLAIN",
                      self.log())

    def test_login_in_any_case_is_the_same_user(self):
        self.deliver()
        m = self.imap("JOE@Example.TEST")
        self.assertEqual(len(self.fetch_all(m)), 1)
        self.assertIn(b"Login: user=<joe@example.test>", self.log())

    def test_same_mailbox_name_in_two_domains(self):
        q = self.q
        q.ok(self, "vadddomain", "other.test", "dompw")
        q.ok(self, "vadduser", "joe@other.test", "other pw")
        other_md = os.path.join(q.domdir("other.test"), "joe", "Maildir")
        self.deliver()
        self.deliver("joe@other.test", MSG.replace(b"over IMAP", b"the other joe"),
                     md=other_md)
        a = self.fetch_all(self.imap())
        b = self.fetch_all(self.imap("joe@other.test", "other pw"))
        self.assertEqual(len(a), 1)
        self.assertEqual(len(b), 1)
        self.assertIn(b"Subject: over IMAP\r\n", a[0])
        self.assertIn(b"Subject: the other joe\r\n", b[0])
        self.assertIn(b"Login: user=<joe@other.test>", self.log())

    def test_wrong_password_and_unknown_user_refused(self):
        self.assertIn("AUTHENTICATIONFAILED", self.refused("joe@example.test", "wrong"))
        wrong_ip = self.last_ip
        self.assertIn("AUTHENTICATIONFAILED", self.refused("nosuch@example.test", PW))
        nosuch_ip = self.last_ip
        self.assertIn("AUTHENTICATIONFAILED", self.refused("joe@nosuch.test", PW))
        self.assertIn("AUTHENTICATIONFAILED", self.refused("joe", PW))  # no default domain
        self.assertIn("AUTHENTICATIONFAILED", self.refused("joe@example.test", ""))
        log = self.log()
        self.assertIn(b"login failed ip=%s user=joe@example.test service=imap "
                      b"reason=wrong password" % wrong_ip.encode(), log)
        self.assertIn(b"login failed ip=%s user=nosuch@example.test service=imap"
                      % nosuch_ip.encode(), log)
        self.assertNotIn(b"wrong\n", log.replace(b"reason=wrong password", b""))
        # the good password still works afterwards
        self.assertEqual(self.imap().select("INBOX")[0], "OK")

    def test_hostile_logins_refused_and_logged_escaped(self):
        bad = ["joe\x07@example.test", "../joe@example.test", "joe/../joe@example.test",
               "joe:x@example.test", "ann@example.test\x00joe@example.test",
               "a" * 600 + "@example.test", "joe@" + "b" * 600, "%s@example.test" % ("\x1b[2J")]
        for user in bad:
            s = socket.create_connection(("127.0.0.1", self.dc.ports["imap"]), 10,
                                         source_address=(other_ip(), 0))
            f = s.makefile("rb")
            self.assertTrue(f.readline().startswith(b"* OK"))
            u = user.encode()
            s.sendall(b"a LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n" % (len(u), u, len(PW), PW.encode()))
            reply = f.readline()
            s.close()
            self.assertFalse(reply.startswith(b"a OK"), (user, reply))
        log = self.log()
        self.assertNotIn(b"\x07", log)
        self.assertNotIn(b"\x1b", log)
        self.assertEqual(self.imap().select("INBOX")[0], "OK")

    def test_garbage_does_not_hurt(self):
        s = socket.create_connection(("127.0.0.1", self.dc.ports["imap"]), 10,
                                     source_address=(CLIENT_IP, 0))
        s.recv(512)
        junk = bytes((i * 7 + 3) % 256 for i in range(1 << 20))
        try:
            s.sendall(junk)
        except OSError:
            pass  # Dovecot may hang up before it is all sent
        s.close()
        self.deliver()
        self.assertEqual(len(self.fetch_all(self.imap())), 1)

    def test_no_imap_flag(self):
        self.q.ok(self, "vmoduser", "-i", "joe@example.test")
        self.assertIn("AUTHENTICATIONFAILED", self.refused("joe@example.test", PW, CLIENT_IP))
        self.assertIn(b"login failed ip=127.0.0.2 user=joe@example.test service=imap "
                      b"reason=", self.log())
        # from 127.0.0.1 vpopmail counts it as webmail, which NO_IMAP allows
        m = imaplib.IMAP4("127.0.0.1", self.dc.ports["imap"], timeout=30)
        self.addCleanup(self._close, m)
        m.login("joe@example.test", PW)
        self.assertIn(b"user=joe@example.test service=webmail mech=PLAIN", self.log())
        self.q.ok(self, "vmoduser", "-x", "joe@example.test")
        self.imap()

    def test_no_webmail_flag_from_localhost(self):
        self.q.ok(self, "vmoduser", "-w", "joe@example.test")
        m = imaplib.IMAP4("127.0.0.1", self.dc.ports["imap"], timeout=30)
        self.addCleanup(self._close, m)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login("joe@example.test", PW)
        self.imap()  # from elsewhere it is IMAP

    def ctx(self):
        return ssl.create_default_context(cafile=self.ca.cert)

    def test_imaps(self):
        stored = self.deliver()
        m = self.imap(cls=IMAPSFrom, ssl_context=self.ctx())
        self.assertEqual(self.fetch_all(m), [stored.replace(b"\n", b"\r\n")])
        self.assertIn(m.sock.version(), ("TLSv1.2", "TLSv1.3"))

    def test_starttls(self):
        m = IMAPFrom("127.0.0.1", self.dc.ports["imap"], timeout=30)
        self.addCleanup(self._close, m)
        m.starttls(ssl_context=self.ctx())
        m.login("joe@example.test", PW)
        self.assertEqual(m.select("INBOX")[0], "OK")


    def test_store_unreadable_is_a_temporary_failure(self):
        vcdb = os.path.join(self.q.domdir("example.test"), "vpasswd.cdb")
        os.chmod(vcdb, 0)
        self.addCleanup(os.chmod, vcdb, 0o600)
        text = self.refused("joe@example.test", PW)
        self.assertIn("UNAVAILABLE", text)
        self.assertIn(b"vchkpw: temporary failure ip=%s user=joe@example.test service=imap"
                      % self.last_ip.encode(), self.log())
        os.chmod(vcdb, 0o600)
        self.imap()


class TestQuota(DovecotCase):
    def quotaroot(self, m):
        typ, data = m.getquotaroot("INBOX")
        self.assertEqual(typ, "OK", data)
        for item in data[1]:
            mo = re.search(rb"STORAGE (\d+) (\d+)", item or b"")
            if mo:
                return int(mo.group(1)), int(mo.group(2)), item
        self.fail("no STORAGE in %r" % (data,))

    def test_getquotaroot_is_the_accounts_quota_and_vdelivermails_count(self):
        for i in range(3):
            self.deliver(msg=MSG + b"%d\r\n" % i)
        line, size, count = mdsize_sums(self.joe_md)
        self.assertEqual(line, "1000000S")
        self.assertEqual((size, count), recount(self.joe_md))
        used, limit, _ = self.quotaroot(self.imap())
        self.assertEqual(limit, kib(1000000))
        self.assertEqual(used, kib(size))

    def test_quota_from_vsetuserquota_with_a_count(self):
        self.q.ok(self, "vsetuserquota", "joe@example.test", "500000S,4C")
        self.deliver()
        m = self.imap()
        typ, data = m.getquotaroot("INBOX")
        text = b" ".join(x for x in data[1] if x)
        self.assertIn(b"STORAGE %d %d" % (kib(recount(self.joe_md)[0]), kib(500000)), text)
        self.assertIn(b"MESSAGE 1 4", text)

    def test_quota_shown_before_any_maildirsize(self):
        """vchkpw hands Dovecot the account's quota (userdb_quota_rule in
        EXTRA), so a new limit shows at once: vsetuserquota removes
        maildirsize, and no delivery has made a new one yet."""
        self.q.ok(self, "vsetuserquota", "joe@example.test", "700000S,9C")
        self.assertFalse(os.path.exists(os.path.join(self.joe_md, "maildirsize")))
        m = self.imap()
        typ, data = m.getquotaroot("INBOX")
        text = b" ".join(x for x in data[1] if x)
        self.assertIn(b"STORAGE 0 %d" % kib(700000), text)
        self.assertIn(b"MESSAGE 0 9", text)
        # ann has no quota: none shown, none made up
        m = self.imap("ann@example.test", "ann pw")
        typ, data = m.getquotaroot("INBOX")
        self.assertNotIn(b"STORAGE", b" ".join(x for x in data[1] if x))

    def test_expunge_keeps_maildirsize_right(self):
        q = self.q
        q.ok(self, "vsetuserquota", "joe@example.test", "1000000S,3C")
        for i in range(3):
            self.deliver(msg=MSG + b"%d\r\n" % i)
        # full by count: the next one is deferred
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as s:
            s.sendmail("s@sender.test", ["joe@example.test"], MSG + b"over\r\n")
        q.wait_log(r"deferral: user_is_over_quota")
        m = self.imap()
        m.select("INBOX")
        m.store("2", "+FLAGS", "(\\Deleted)")
        typ, d = m.expunge()
        self.assertEqual(typ, "OK", d)
        _, size, count = mdsize_sums(self.joe_md)
        self.assertEqual((size, count), recount(self.joe_md))
        self.assertEqual(count, 2)
        # room for one again: vdelivermail takes the next message.  It
        # comes through qmail-queue: qmail-smtpd would still refuse it
        # at RCPT for up to 15 minutes, trusting the over-quota flag the
        # deferral raised (Dovecot does not clear it; doc/dovecot.md)
        self.deliver(msg=MSG + b"fits\r\n", queue=True)
        _, size, count = mdsize_sums(self.joe_md)
        self.assertEqual((size, count), recount(self.joe_md))
        self.assertEqual(count, 3)
        used, _, _ = self.quotaroot(m)
        self.assertEqual(used, kib(size))


    def test_trash_is_outside_the_quota_as_vdelivermail_counts(self):
        for i in range(2):
            self.deliver(msg=MSG + b"%d\r\n" % i)
        m = self.imap()
        m.create("Trash")
        m.select("INBOX")
        typ, d = m.copy("1", "Trash")
        self.assertEqual(typ, "OK", d)
        m.store("1", "+FLAGS", "(\\Deleted)")
        m.expunge()
        self.assertEqual(len(maildir_files(os.path.join(self.joe_md, ".Trash"))), 1)
        _, size, count = mdsize_sums(self.joe_md)
        self.assertEqual((size, count), recount(self.joe_md))
        self.assertEqual(count, 1)
        used, limit, _ = self.quotaroot(m)
        self.assertEqual((used, limit), (kib(size), kib(1000000)))
        # vdelivermail's own recount (maildirsize gone) finds the same
        os.unlink(os.path.join(self.joe_md, "maildirsize"))
        self.deliver(msg=MSG + b"after\r\n", queue=True)
        _, size2, count2 = mdsize_sums(self.joe_md)
        self.assertEqual((size2, count2), recount(self.joe_md))
        self.assertEqual(count2, 2)


    def test_append_over_quota_refused_by_dovecot(self):
        """Dovecot enforces the limits it read from maildirsize."""
        self.q.ok(self, "vsetuserquota", "joe@example.test", "3000S")
        self.deliver(msg=MSG)  # about 500 bytes: maildirsize made afresh
        m = self.imap()
        typ, d = m.append("INBOX", None, None, b"Subject: big\r\n\r\n" + b"y" * 4000 + b"\r\n")
        self.assertEqual(typ, "NO", d)
        self.assertIn(b"OVERQUOTA", d[0])
        typ, d = m.append("INBOX", None, None, b"Subject: small\r\n\r\nfits\r\n")
        self.assertEqual(typ, "OK", d)
        _, size, count = mdsize_sums(self.joe_md)
        self.assertEqual((size, count), recount(self.joe_md))
        self.assertEqual(count, 2)


@unittest.skipIf(SKIP, SKIP)
class TestPgsqlStore(DovecotCase):
    """The same with the accounts in PostgreSQL (control/vpopbackend
    pgsql): Dovecot neither knows nor cares, vchkpw reads the database."""

    @classmethod
    def setUpClass(cls):
        if not pgserver.pg_bindir():
            raise AssertionError("PostgreSQL is not installed here: run scripts/deps.sh as root")
        cls.pg = pgserver.PgServer()
        try:
            cls.pg.start()
        except Exception:
            cls.pg.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.pg.cleanup()

    def configure(self, q):
        if not self.pg.running:
            self.pg.start()
        self.db = "dc%d_%d" % (os.getpid(), next(DBNUM))
        self.pg.psql("CREATE DATABASE %s" % self.db, db="postgres")
        q.control("vpopbackend", "pgsql\n")
        q.control("vpoppgsql", self.pg.conninfo(self.db) + "\n")

    def test_imap_with_accounts_in_postgresql(self):
        self.assertEqual(self.pg.psql("SELECT pw_name FROM vpopmail WHERE pw_domain = "
                                      "'example.test' ORDER BY 1", db=self.db),
                         [["ann"], ["joe"], ["postmaster"]])
        self.assertFalse(os.path.exists(os.path.join(self.q.domdir("example.test"), "vpasswd")))
        stored = self.deliver()
        self.assertEqual(self.fetch_all(self.imap()), [stored.replace(b"\n", b"\r\n")])
        self.assertIn("AUTHENTICATIONFAILED", self.refused("joe@example.test", "wrong"))
        self.q.ok(self, "vmoduser", "-i", "joe@example.test")
        self.assertIn("AUTHENTICATIONFAILED", self.refused("joe@example.test", PW, CLIENT_IP))

    def test_database_down_is_a_temporary_failure(self):
        self.imap()
        self.pg.stop("immediate")
        self.assertIn("UNAVAILABLE", self.refused("joe@example.test", PW))
        self.pg.start()
        self.imap()


class TestPop3(DovecotCase):
    pop3 = True

    def start_pop3d(self):
        """tcpserver + qmail-popup HOST vchkpw qmail-pop3d Maildir, as
        the seeds start it."""
        from popclient import start_pop3_chain
        return start_pop3_chain(self.q, host="mx.test", name="pop3d")

    def uidls(self, port):
        c = POP3From("127.0.0.1", port, timeout=30)
        try:
            c.user("joe@example.test")
            c.pass_(PW)
            listing = {}
            for line in c.uidl()[1]:
                n, u = line.split()
                listing[int(n)] = u
            bodies = {n: b"\r\n".join(c.retr(n)[1]) + b"\r\n" for n in listing}
            c.quit()
        finally:
            c.close()
        return listing, bodies

    def test_dovecot_pop3_same_message(self):
        stored = self.deliver()
        c = POP3From("127.0.0.1", self.dc.ports["pop3"], timeout=30)
        try:
            c.user("joe@example.test")
            c.pass_(PW)
            self.assertEqual(c.stat()[0], 1)
            got = b"\r\n".join(c.retr(1)[1]) + b"\r\n"
            c.quit()
        finally:
            c.close()
        self.assertEqual(got, stored.replace(b"\n", b"\r\n"))
        self.assertIn(b"service=pop3 mech=PLAIN", self.log())

    def test_imap_flags_do_not_change_pop3_uidls(self):
        stored = [self.deliver(msg=MSG + b"%d\r\n" % i) for i in range(3)]
        port = self.start_pop3d()
        before, bodies = self.uidls(port)
        self.assertEqual(len(before), 3)
        self.assertEqual(sorted(bodies.values()),
                         sorted(s.replace(b"\n", b"\r\n") for s in stored))
        names = {n.split("/", 1)[1].split(":", 1)[0] for n in maildir_files(self.joe_md)}
        self.assertEqual(set(u.decode() for u in before.values()), names)
        m = self.imap()
        m.select("INBOX")
        m.store("1:*", "+FLAGS", "(\\Seen)")
        m.store("2", "+FLAGS", "(\\Flagged \\Answered)")
        files = maildir_files(self.joe_md)
        self.assertTrue(all(k.startswith("cur/") and re.search(r":2,[A-Z]*S", k)
                            for k in files), files.keys())
        after, bodies2 = self.uidls(port)
        self.assertEqual(sorted(before.values()), sorted(after.values()))
        self.assertEqual(sorted(bodies.values()), sorted(bodies2.values()))


if __name__ == "__main__":
    unittest.main()
