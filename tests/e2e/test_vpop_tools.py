# SPDX-License-Identifier: ISC
"""vpopmail's tools (vadddomain, vdeldomain, vaddaliasdomain, vadduser,
vdeluser, vpasswd, vmoduser, vsetuserquota, valias, vuserinfo, vdominfo)
and ours (vfixperms, vemptymailbox), checked against vpopmail 5.4's
documented behaviour: the files they leave (users/assign, rcpthosts,
morercpthosts + cdb, virtualdomains, locals, .qmail-default, vpasswd and
vpasswd.cdb, modes), their output lines, error texts and exit codes
(vpopmail exits with 256 - N for its error number N), hostile names, and
crash safety: a tool killed at any moment leaves the domain wholly there
or wholly gone once the next tool has run."""
import os
import random
import re
import signal
import stat
import subprocess
import time
import unittest
import warnings

import qng
from vpopinst import VpopInstance, cdb_get

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt


class VpopTest(unittest.TestCase):
    def setUp(self):
        self.q = VpopInstance()
        self.addCleanup(self.q.cleanup)

    def add_domain(self, d="example.test", pw="secret1", *opts):
        self.q.ok(self, "vadddomain", *opts, d, pw)

    def assertFails(self, argv, code, stdout=None, stdout_re=None):
        rc, out, err = self.q.tool(*argv)
        self.assertEqual(rc, code, "%s: stdout %r stderr %r" % (argv, out, err))
        if stdout is not None:
            self.assertEqual(out, stdout, "%s: stderr %r" % (argv, err))
        if stdout_re is not None:
            self.assertRegex(out, stdout_re)
        return out, err

    def assign(self):
        p = self.q.path("users", "assign")
        return self.q.read("users", "assign") if os.path.exists(p) else ""

    def own(self, *paths):
        """Files the test made (as root) belong to the instance's owner."""
        if qng.IS_ROOT:
            for p in paths:
                os.lchown(p, self.q.uid, self.q.gid)

    def assertDomainAbsent(self, d):
        q = self.q
        self.assertNotIn("+%s-:" % d, self.assign())
        self.assertNotIn(d, q.read("control", "rcpthosts").split())
        vd = q.path("control", "virtualdomains")
        if os.path.exists(vd):
            self.assertNotIn("%s:%s" % (d, d), q.read("control", "virtualdomains").split())
        self.assertIsNone(cdb_get(q.path("users", "cdb"), "!%s-" % d))
        self.assertFalse(os.path.exists(q.domdir(d)), q.domdir(d))
        self.assertFalse(os.path.exists(q.path("users", "rcptmap", d)))
        leftovers = [n for n in os.listdir(os.path.dirname(q.domdir(d)))
                     if n.startswith("." + d + ".")] if os.path.isdir(
                         os.path.dirname(q.domdir(d))) else []
        self.assertEqual(leftovers, [])

    def assertDomainPresent(self, d):
        q = self.q
        dd = q.domdir(d)
        self.assertIn("+%s-:%s:%d:%d:%s:-::\n" % (d, d, q.uid, q.gid, dd),
                      q.read("users", "assign"))
        self.assertTrue(q.read("users", "assign").endswith(".\n"))
        self.assertIn(d, q.read("control", "rcpthosts").split())
        self.assertIn("%s:%s" % (d, d), q.read("control", "virtualdomains").split())
        v = cdb_get(q.path("users", "cdb"), "!%s-" % d)
        self.assertEqual(v, ("%s\0%d\0%d\0%s\0-\0" % (d, q.uid, q.gid, dd)).encode())
        self.assertIsNotNone(q.account(d, "postmaster"))
        self.assertTrue(os.path.isdir(os.path.join(dd, "postmaster", "Maildir", "new")))
        self.assertTrue(os.path.exists(q.path("users", "rcptmap", d)))
        self.assertTrue(q.map_fresh(d), "the recipient map of %s is stale" % d)


class TestDomains(VpopTest):
    def test_vadddomain_leaves_vpopmails_files(self):
        q = self.q
        rc, out, err = q.tool("vadddomain", "example.test", "secret1")
        self.assertEqual((rc, out), (0, ""), err)
        self.assertDomainPresent("example.test")
        dd = q.domdir("example.test")
        self.assertEqual(q.read("users", "assign"),
                         "+example.test-:example.test:%d:%d:%s:-::\n.\n" % (q.uid, q.gid, dd))
        with open(os.path.join(dd, ".qmail-default")) as f:
            self.assertEqual(f.read(), "| %s/bin/vdelivermail '' bounce-no-mailbox\n" % q.home)
        # vpopmail's line: name:crypt:1 (POP):0 (no flags):gecos:dir:NOQUOTA,
        # no clear-text field unless configured
        line = q.vpasswd_lines("example.test")
        self.assertEqual(len(line), 1)
        f = line[0].split(":")
        self.assertEqual(f[0], "postmaster")
        self.assertTrue(f[1].startswith("$y$"))
        self.assertEqual(crypt.crypt("secret1", f[1]), f[1])
        self.assertEqual(f[2:], ["1", "0", "Postmaster", os.path.join(dd, "postmaster"),
                                 "NOQUOTA"])
        # vpasswd.cdb: key the name, value the rest of the line
        self.assertEqual(cdb_get(os.path.join(dd, "vpasswd.cdb"), "postmaster"),
                         line[0].split(":", 1)[1].encode())
        # modes as vpopmail leaves them: directories 700, files 600
        for p, mode in ((dd, 0o700), (os.path.join(dd, "vpasswd"), 0o600),
                        (os.path.join(dd, "vpasswd.cdb"), 0o600),
                        (os.path.join(dd, ".qmail-default"), 0o600),
                        (os.path.join(dd, "postmaster"), 0o700),
                        (os.path.join(dd, "postmaster", "Maildir", "cur"), 0o700),
                        (q.path("users", "assign"), 0o644),
                        (q.path("control", "virtualdomains"), 0o644)):
            self.assertEqual(stat.S_IMODE(os.stat(p).st_mode), mode, p)
            self.assertEqual(os.stat(p).st_uid, q.uid, p)

    @unittest.skipUnless(qng.IS_ROOT, "needs root")
    def test_root_on_a_single_user_tree_makes_it_the_owners(self):
        """An admin who runs a tool as root on an instance that belongs to
        someone else (the demo run by root belongs to nobody) makes files
        of ~vpopmail's owner, whom qmail-local can become, not root's or
        a system vpopmail's."""
        q = self.q
        r = subprocess.run([os.path.join(q.bin, "vadddomain"), "root.test", "pw12345"],
                           capture_output=True, env=q.env, cwd=q.tmp, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        dd = q.domdir("root.test")
        for p in (dd, os.path.join(dd, "vpasswd"), os.path.join(dd, "postmaster", "Maildir")):
            st = os.stat(p)
            self.assertEqual((st.st_uid, st.st_gid), (q.uid, q.gid), p)
        self.assertIn("+root.test-:root.test:%d:%d:" % (q.uid, q.gid), q.read("users", "assign"))

    def test_usage_and_errors(self):
        q = self.q
        rc, out, _ = q.tool("vadddomain")
        self.assertEqual(rc, 0)
        self.assertTrue(out.startswith("vadddomain: usage: vadddomain [options] virtual_domain "
                                       "[postmaster password]\n"))
        self.add_domain()
        self.assertFails(["vadddomain", "example.test", "x"], 243,
                         "Error: Domain already exists\n")
        self.assertFails(["vadddomain", "EXAMPLE.Test", "x"], 243,
                         "Error: Domain already exists\n")
        for bad in ("ab", "-x.test", "x-.test", "x..test", "../x.test", "x/y.test",
                    "a b.test", "x\x01.test", ".x.test"):
            self.assertFails(["vadddomain", bad, "x"], 244, "Error: Invalid domain name\n")
        self.assertFails(["vadddomain", "a" * 92 + ".test", "x"], 230,
                         "Error: domain name too long\n")
        # nothing of those was made
        self.assertEqual(sorted(os.listdir(os.path.join(q.vhome, "domains"))),
                         ["example.test"])
        self.assertFails(["vadddomain", "-u", "no-such-user-here", "b.test", "x"], 255,
                         "Error: user no-such-user-here not found in /etc/passwd\n")
        rc, out, _ = q.tool("vdeldomain")
        self.assertEqual((rc, out.splitlines()[0]), (0, "vdeldomain: usage: [options] domain_name"))
        self.assertFails(["vdeldomain", "nope.test"], 245, "Error: Domain does not exist\n")

    def test_uppercase_is_lowered_and_random_password(self):
        q = self.q
        rc, out, _ = q.tool("vadddomain", "-r", "Mixed.Test")
        self.assertEqual(rc, 0)
        m = re.fullmatch(r"Random password: ([A-Za-z0-9.@!#%*]{8})\n", out)
        self.assertTrue(m, out)
        f = q.account("mixed.test", "postmaster")
        self.assertEqual(crypt.crypt(m.group(1), f[1]), f[1])
        rc, out, _ = q.tool("vadddomain", "-r12", "twelve.test")
        self.assertRegex(out, r"^Random password: [A-Za-z0-9.@!#%*]{12}\n$")

    def test_catchall_and_quota(self):
        q = self.q
        q.ok(self, "vadddomain", "-e", "catch@else.test", "-q", "5M", "c.test", "pw")
        with open(os.path.join(q.domdir("c.test"), ".qmail-default")) as f:
            self.assertEqual(f.read(), "| %s/bin/vdelivermail '' catch@else.test\n" % q.home)
        self.assertEqual(q.account("c.test", "postmaster")[6], "5242880S")
        q.ok(self, "vadddomain", "-e", "postmaster", "d.test", "pw")
        with open(os.path.join(q.domdir("d.test"), ".qmail-default")) as f:
            self.assertEqual(f.read(), "| %s/bin/vdelivermail '' %s/postmaster\n" % (
                q.home, q.domdir("d.test")))
        rc, out, _ = q.tool("vadddomain", "-e", "x' ; rm -rf /", "e.test", "pw")
        self.assertNotEqual(rc, 0)
        self.assertDomainAbsent("e.test")

    def test_vdeldomain_removes_everything(self):
        q = self.q
        self.add_domain("a.test")
        self.add_domain("b.test")
        q.ok(self, "vadduser", "joe@a.test", "pw")
        q.ok(self, "vdeldomain", "a.test")
        self.assertDomainAbsent("a.test")
        self.assertDomainPresent("b.test")

    def test_locals_line_removed(self):
        q = self.q
        q.control("locals", "test.local\nexample.test\n")
        self.add_domain()
        self.assertEqual(q.read("control", "locals"), "test.local\n")

    def test_morercpthosts_past_fifty(self):
        q = self.q
        q.control("rcpthosts", "".join("h%d.test\n" % i for i in range(50)))
        self.add_domain("more.test")
        self.assertNotIn("more.test", q.read("control", "rcpthosts"))
        self.assertEqual(q.read("control", "morercpthosts"), "more.test\n")
        self.assertEqual(cdb_get(q.path("control", "morercpthosts.cdb"), "more.test"), b"")
        # the SMTP server takes mail for it
        out, _, _ = q.smtpd_pipe(b"HELO x\r\nMAIL FROM:<a@b.test>\r\n"
                                 b"RCPT TO:<postmaster@more.test>\r\nQUIT\r\n")
        self.assertIn(b"250 ok\r\n", out.split(b"\r\n", 3)[-1] + b"\r\n")
        q.ok(self, "vdeldomain", "more.test")
        self.assertFalse(os.path.exists(q.path("control", "morercpthosts")))
        self.assertFalse(os.path.exists(q.path("control", "morercpthosts.cdb")))

    def test_alias_domains(self):
        q = self.q
        self.add_domain("real.test")
        q.ok(self, "vaddaliasdomain", "real.test", "alias.test")
        self.assertIn("+alias.test-:real.test:%d:%d:%s:-::\n" % (q.uid, q.gid, q.domdir("real.test")),
                      q.read("users", "assign"))
        self.assertIn("alias.test:alias.test", q.read("control", "virtualdomains").split())
        self.assertIn("alias.test", q.read("control", "rcpthosts").split())
        # arguments swapped: vpopmail takes whichever exists as the real one
        q.ok(self, "vaddaliasdomain", "other.test", "real.test")
        self.assertIn("+other.test-:real.test:", q.read("users", "assign"))
        self.assertFails(["vaddaliasdomain", "real.test", "alias.test"], 255,
                         "Error: Both domains already exist, unable to create alias.\n")
        self.assertFails(["vaddaliasdomain", "x.test", "y.test"], 255,
                         "Error: Neither 'x.test' or 'y.test'  exist, unable to create alias.\n")
        self.assertFails(["vaddaliasdomain", "same.test", "same.test"], 255)
        rc, out, _ = q.tool("vdominfo", "real.test")
        self.assertEqual(out, "domain: real.test\nuid:    %d\ngid:    %d\ndir:    %s\n"
                         "users:  1\nalias: alias.test\nalias: other.test\n" % (
                             q.uid, q.gid, q.domdir("real.test")))
        # a domain with aliases goes only with -f, and takes them along
        out, _ = self.assertFails(["vdeldomain", "real.test"], 0)
        self.assertEqual(out, "Warning: Alias domains exist:\n   alias.test\n   other.test\n"
                              "   use -f to force delete of domain and all aliases\n")
        self.assertDomainPresent("real.test")
        q.ok(self, "vdeldomain", "other.test")
        self.assertNotIn("other.test", q.read("users", "assign"))
        self.assertDomainPresent("real.test")
        out = q.ok(self, "vdeldomain", "-f", "real.test")
        self.assertEqual(out, "Warning: Alias domains deleted:\n   alias.test\n")
        self.assertDomainAbsent("real.test")
        self.assertNotIn("alias.test", q.read("users", "assign"))
        self.assertNotIn("alias.test", q.read("control", "rcpthosts"))

    def test_vdominfo_all(self):
        q = self.q
        self.add_domain("a.test")
        q.ok(self, "vaddaliasdomain", "a.test", "b.test")
        out = q.ok(self, "vdominfo")
        self.assertEqual(out, "domain: a.test\nuid:    %d\ngid:    %d\ndir:    %s\nusers:  1\n\n"
                              "domain: b.test (alias of a.test)\nuid:    %d\ngid:    %d\n"
                              "dir:    %s\nusers:  1\n\n" % (
                                  q.uid, q.gid, q.domdir("a.test"),
                                  q.uid, q.gid, q.domdir("a.test")))
        self.assertEqual(q.ok(self, "vdominfo", "-n", "-d", "a.test"),
                         "a.test\n%s\nalias: b.test\n" % q.domdir("a.test"))
        self.assertFails(["vdominfo", "nope.test"], 245, "Invalid domain name\n")


class TestUsers(VpopTest):
    def setUp(self):
        super().setUp()
        self.add_domain()

    def test_vadduser_line_and_dir(self):
        q = self.q
        rc, out, err = q.tool("vadduser", "-c", "Joe Bloggs", "Joe@Example.test", "p:w d")
        self.assertEqual((rc, out), (0, ""), err)
        f = q.account("example.test", "joe")
        self.assertEqual(len(f), 7)  # no clear text unless configured
        self.assertEqual(crypt.crypt("p:w d", f[1]), f[1])
        self.assertEqual(f[2:], ["1", "0", "Joe Bloggs", os.path.join(q.domdir("example.test"), "joe"),
                                 "NOQUOTA"])
        for sub in ("", "/Maildir", "/Maildir/new", "/Maildir/cur", "/Maildir/tmp"):
            p = os.path.join(q.domdir("example.test"), "joe") + sub
            self.assertEqual(stat.S_IMODE(os.stat(p).st_mode), 0o700, p)
        # the lines stay sorted, as vpopmail keeps them
        q.ok(self, "vadduser", "aaron@example.test", "x")
        self.assertEqual([l.split(":")[0] for l in q.vpasswd_lines("example.test")],
                         ["aaron", "joe", "postmaster"])

    def test_clear_text_when_configured(self):
        q = self.q
        q.control("vpopclearpasswd", "1\n")
        q.ok(self, "vadduser", "joe@example.test", "pa:ss")
        self.assertEqual(q.account("example.test", "joe")[7], "pa:ss")
        q.ok(self, "vpasswd", "joe@example.test", "new:one")
        self.assertEqual(q.account("example.test", "joe")[7], "new:one")
        q.control("vpopclearpasswd", None)
        q.ok(self, "vpasswd", "joe@example.test", "third")
        self.assertEqual(len(q.account("example.test", "joe")), 7)

    def test_vadduser_errors(self):
        q = self.q
        q.ok(self, "vadduser", "joe@example.test", "x")
        self.assertFails(["vadduser", "joe@example.test", "x"], 255, "Error: User already exists\n")
        self.assertFails(["vadduser", "joe@nope.test", "x"], 245, "Error: Domain does not exist\n")
        self.assertFails(["vadduser", "a" * 33 + "@example.test", "x"], 231,
                         "Error: user name too long\n")
        for bad in (".hidden", "-dash", "a..b", "vpasswd", "sp ace", "t\tab", "semi;colon", "x:y"):
            self.assertFails(["vadduser", "--", bad + "@example.test", "x"], 255,
                             "Error: Illegal username\n")
        self.assertFails(["vadduser", "-c", "a:b", "k@example.test", "x"], 236,
                         "Error: bad character\n")
        self.assertFails(["vadduser", "nopass@example.test"], 255)
        self.assertFails(["vadduser", "-q", "lots", "k@example.test", "x"], 255,
                         "Error in vsetuserquota()\n")
        self.assertFails(["vadduser"], 255)
        self.assertEqual([l.split(":")[0] for l in q.vpasswd_lines("example.test")],
                         ["joe", "postmaster"])
        self.assertEqual(sorted(os.listdir(q.domdir("example.test"))),
                         sorted([".qmail-default", ".vpasswd.lock", "joe", "postmaster", "vpasswd",
                                 "vpasswd.cdb", "vscram.cdb"]))

    def test_path_tricks_touch_nothing_outside(self):
        q = self.q
        for addr in ("../../etc@example.test", "x/../../y@example.test", "..@example.test"):
            rc, _, _ = q.tool("vadduser", addr, "x")
            self.assertNotEqual(rc, 0, addr)
        self.assertEqual(sorted(os.listdir(q.domdir("example.test"))),
                         sorted([".qmail-default", ".vpasswd.lock", "postmaster", "vpasswd",
                                 "vpasswd.cdb", "vscram.cdb"]))
        self.assertEqual(sorted(os.listdir(q.vhome)), ["domains"])

    def test_vadduser_e_n_r(self):
        q = self.q
        q.ok(self, "vadduser", "-e", "$1$abcdefgh$0123456789012345678901", "e@example.test")
        self.assertEqual(q.account("example.test", "e")[1], "$1$abcdefgh$0123456789012345678901")
        q.ok(self, "vadduser", "-n", "n@example.test")
        self.assertEqual(q.account("example.test", "n")[1], "")
        rc, out, _ = q.tool("vadduser", "-r", "r@example.test")
        m = re.fullmatch(r"Random password: (\S{8})\n", out)
        self.assertTrue(m, out)
        f = q.account("example.test", "r")
        self.assertEqual(crypt.crypt(m.group(1), f[1]), f[1])

    def test_vdeluser(self):
        q = self.q
        q.ok(self, "vadduser", "joe@example.test", "x")
        dd = q.domdir("example.test")
        with open(os.path.join(dd, "joe", "Maildir", "new", "1.msg"), "w") as f:
            f.write("hi\n")
        # a link the user left pointing outside is removed, not followed
        outside = os.path.join(q.tmp, "outside")
        os.mkdir(outside)
        with open(os.path.join(outside, "keep"), "w") as f:
            f.write("keep\n")
        os.symlink(outside, os.path.join(dd, "joe", "Maildir", "evil"))
        q.ok(self, "vdeluser", "joe@example.test")
        self.assertIsNone(q.account("example.test", "joe"))
        self.assertIsNone(cdb_get(os.path.join(dd, "vpasswd.cdb"), "joe"))
        self.assertFalse(os.path.exists(os.path.join(dd, "joe")))
        self.assertTrue(os.path.exists(os.path.join(outside, "keep")))
        self.assertEqual([n for n in os.listdir(dd) if n.startswith(".joe")], [])
        self.assertTrue(q.map_fresh("example.test"))
        self.assertFails(["vdeluser", "joe@example.test"], 246, "Error: User does not exist\n")
        self.assertFails(["vdeluser", "joe@nope.test"], 245, "Error: Domain does not exist\n")

    def test_vpasswd(self):
        q = self.q
        q.ok(self, "vadduser", "joe@example.test", "old")
        q.ok(self, "vpasswd", "joe@example.test", "n:ew")
        f = q.account("example.test", "joe")
        self.assertEqual(crypt.crypt("n:ew", f[1]), f[1])
        self.assertTrue(q.map_fresh("example.test"))
        rc, out, _ = q.tool("vpasswd", "-r", "joe@example.test")
        self.assertRegex(out, r"^Random password: \S{8}\n$")
        self.assertFails(["vpasswd", "nobody@example.test", "x"], 255, "Error: Illegal username\n")
        q.ok(self, "vmoduser", "-d", "joe@example.test")
        self.assertFails(["vpasswd", "joe@example.test", "x"], 255, "Error: Illegal username\n")

    def test_vsetuserquota(self):
        q = self.q
        q.ok(self, "vadduser", "joe@example.test", "x")
        for given, stored in (("10m", "10485760S"), ("1024K", "1048576S"), ("5000", "5000S"),
                              ("1000c,10mb", "10485760S,1000C"), ("500C", "500C"),
                              ("noquota", "NOQUOTA"), ("1000000S,1000C", "1000000S,1000C")):
            q.ok(self, "vsetuserquota", "joe@example.test", given)
            self.assertEqual(q.account("example.test", "joe")[6], stored, given)
        md = os.path.join(q.domdir("example.test"), "joe", "Maildir", "maildirsize")
        with open(md, "w") as f:
            f.write("1000S\n500 1\n")
        q.ok(self, "vsetuserquota", "joe@example.test", "2000")
        self.assertFalse(os.path.exists(md))  # counted afresh at the next delivery
        self.assertFails(["vsetuserquota", "joe@example.test", "lots"], 255)
        self.assertFails(["vsetuserquota", "joe@example.test", "1" * 21], 227,
                         "Error: quota too long\n")
        self.assertFails(["vsetuserquota", "joe@example.test"], 255)
        self.assertFails(["vsetuserquota", "x@nope.test", "1M"], 245)
        q.ok(self, "vsetuserquota", "example.test", "2M")
        self.assertEqual({l.split(":")[6] for l in q.vpasswd_lines("example.test")}, {"2097152S"})

    def test_vmoduser_flags(self):
        q = self.q
        q.ok(self, "vadduser", "joe@example.test", "x")
        q.ok(self, "vmoduser", "-p", "-s", "-c", "New Name", "joe@example.test")
        f = q.account("example.test", "joe")
        self.assertEqual((f[3], f[4]), (str(0x02 | 0x800), "New Name"))
        q.ok(self, "vmoduser", "-x", "-i", "joe@example.test")
        self.assertEqual(q.account("example.test", "joe")[3], str(0x08))
        q.ok(self, "vmoduser", "-C", "newpw", "joe@example.test")
        f = q.account("example.test", "joe")
        self.assertEqual(crypt.crypt("newpw", f[1]), f[1])
        self.assertTrue(q.map_fresh("example.test"))
        q.ok(self, "vmoduser", "-q", "1M", "example.test")
        self.assertEqual({l.split(":")[6] for l in q.vpasswd_lines("example.test")}, {"1048576S"})
        self.assertFails(["vmoduser", "-p", "nope@example.test"], 255,
                         "no such user nope@example.test\n")
        rc, out, _ = q.tool("vmoduser", "-h")
        self.assertEqual(rc, 0)
        self.assertTrue(out.startswith("vmoduser: usage: [options] email_addr or domain"))

    def test_vmoduser_e_drops_clear_text_and_alias_domain_keeps_the_real_map(self):
        q = self.q
        q.control("vpopclearpasswd", "1\n")
        q.ok(self, "vadduser", "ann@example.test", "oldpw")
        self.assertEqual(q.account("example.test", "ann")[7], "oldpw")
        h = crypt.crypt("newpw", crypt.mksalt(crypt.METHOD_SHA512))
        q.ok(self, "vmoduser", "-e", h, "ann@example.test")
        f = q.account("example.test", "ann")
        self.assertEqual(f[1], h)
        # no clear text of the old password is left to log in with
        self.assertTrue(len(f) < 8 or f[7] == "", f)
        # a whole alias domain changes the real domain's accounts and map
        q.ok(self, "vaddaliasdomain", "alias.test", "example.test")
        q.ok(self, "vmoduser", "-q", "2M", "alias.test")
        self.assertEqual(q.account("example.test", "ann")[6], "2097152S")
        self.assertTrue(q.map_fresh("example.test"))

    def test_vuserinfo(self):
        q = self.q
        q.ok(self, "vadduser", "-q", "10M", "joe@example.test", "x")
        q.ok(self, "vmoduser", "-p", "joe@example.test")
        f = q.account("example.test", "joe")
        out = q.ok(self, "vuserinfo", "joe@example.test")
        self.assertEqual(out, "name:   joe\npasswd: %s\nclear passwd: \ncomment/gecos: joe\n"
                              "uid:    1\ngid:    2\nflags:  2\ngecos: joe\nlimits:\n"
                              "        pop access closed\ndir:       %s\nquota:     10485760S\n"
                              "usage:     0%%\n" % (f[1], f[5]))
        self.assertEqual(q.ok(self, "vuserinfo", "-d", "-q", "joe@example.test"),
                         "%s\n10485760S\n" % f[5])
        self.assertFails(["vuserinfo", "nobody@example.test"], 255,
                         "no such user nobody@example.test\n")
        out = q.ok(self, "vuserinfo", "-n", "-D", "example.test")
        self.assertEqual(out, "------------------------------------------\njoe\n"
                              "------------------------------------------\npostmaster\n")

    def test_valias(self):
        q = self.q
        q.ok(self, "valias", "-i", "fred@else.test", "sales@example.test")
        q.ok(self, "valias", "-i", "&ann@else.test", "sales@example.test")
        q.ok(self, "valias", "-i", "x@y.test", "first.last@example.test")
        dd = q.domdir("example.test")
        with open(os.path.join(dd, ".qmail-sales")) as f:
            self.assertEqual(f.read(), "fred@else.test\n&ann@else.test\n")
        self.assertTrue(os.path.exists(os.path.join(dd, ".qmail-first:last")))
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(dd, ".qmail-sales")).st_mode), 0o600)
        self.assertEqual(q.ok(self, "valias", "sales@example.test"),
                         "sales@example.test -> fred@else.test\nsales@example.test -> &ann@else.test\n")
        self.assertEqual(q.ok(self, "valias", "-n", "example.test"), "first.last\nsales\n")
        rc, _, err = q.tool("valias", "-i", "fred@else.test", "sales@example.test")
        self.assertEqual((rc, err), (255, "Error: alias sales@example.test -> fred@else.test already exists.\n"))
        q.ok(self, "valias", "-d", "sales@example.test")
        self.assertFalse(os.path.exists(os.path.join(dd, ".qmail-sales")))
        rc, out, _ = q.tool("valias", "-s", "x@nope.test")
        self.assertEqual((rc, out), (255, "invalid domain, not in qmail assign file\n"))
        for bad in ("../x@example.test", "a/b@example.test"):
            rc, _, _ = q.tool("valias", "-i", "z@z.test", bad)
            self.assertNotEqual(rc, 0)
        rc, _, _ = q.tool("valias", "-i", "line\nwith newline", "nl@example.test")
        self.assertNotEqual(rc, 0)
        self.assertFalse(os.path.exists(os.path.join(dd, ".qmail-nl")))
        # a blank first line would make qmail-local defer every message
        for blank in ("", "   "):
            rc, _, err = q.tool("valias", "-i", blank, "blank@example.test")
            self.assertEqual((rc, err), (255, "Error: an alias line may not be empty.\n"))
        self.assertFalse(os.path.exists(os.path.join(dd, ".qmail-blank")))

    def test_valias_at_once_loses_no_line(self):
        """16 valias -i for one alias started together: every line is in
        the file at the end (each run reads, appends and replaces under
        the domain directory's lock), and no temporary is left."""
        q = self.q
        procs = [subprocess.Popen([os.path.join(q.bin, "valias"), "-i", "&u%d@else.test" % i,
                                   "team@example.test"], env=q.env, cwd=q.tmp,
                                  preexec_fn=q.as_owner(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for i in range(16)]
        for p in procs:
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err)
        dd = q.domdir("example.test")
        with open(os.path.join(dd, ".qmail-team")) as f:
            self.assertEqual(sorted(f.read().splitlines()),
                             sorted("&u%d@else.test" % i for i in range(16)))
        self.assertEqual([n for n in os.listdir(dd) if ".tmp." in n], [])
        self.assertTrue(q.map_fresh("example.test"))


class TestSafety(VpopTest):
    def test_vfixperms(self):
        q = self.q
        self.add_domain()
        q.ok(self, "vadduser", "joe@example.test", "x")
        dd = q.domdir("example.test")
        os.chmod(os.path.join(dd, "joe"), 0o755)
        alias = os.path.join(dd, ".qmail-sales")
        with open(alias, "w") as f:
            f.write("|/bin/true\n")
        os.chmod(alias, 0o700)  # qmail: "has prog delivery but has x bit set"
        outside = os.path.join(q.tmp, "outside")
        with open(outside, "w") as f:
            f.write("x")
        os.chmod(outside, 0o644)
        os.symlink(outside, os.path.join(dd, "joe", "link"))
        self.own(alias, outside, os.path.join(dd, "joe", "link"))
        out = q.ok(self, "vfixperms")
        self.assertRegex(out, r"^example\.test: \d+ directories, \d+ files, \d+ changed, 1 links "
                              r"and others left alone\n$")
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(dd, "joe")).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(alias).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(outside).st_mode), 0o644)
        self.assertTrue(os.path.islink(os.path.join(dd, "joe", "link")))
        out = q.ok(self, "vfixperms", "example.test")
        self.assertIn(", 0 changed,", out)

    def test_vemptymailbox(self):
        q = self.q
        self.add_domain()
        q.ok(self, "vadduser", "-q", "1000", "joe@example.test", "x")
        md = os.path.join(q.domdir("example.test"), "joe", "Maildir")
        for sub, n in (("new", 3), ("cur", 2), ("tmp", 1)):
            for i in range(n):
                with open(os.path.join(md, sub, "m%d" % i), "w") as f:
                    f.write("x" * 100)
        os.makedirs(os.path.join(md, ".Sent", "cur"))
        with open(os.path.join(md, ".Sent", "cur", "s1"), "w") as f:
            f.write("y" * 10)
        with open(os.path.join(md, "maildirsize"), "w") as f:
            f.write("1000S\n510 6\n")
        for root, dirs, files in os.walk(md):
            self.own(root, *[os.path.join(root, n) for n in files])
        self.assertEqual(q.ok(self, "vemptymailbox", "-n", "joe@example.test"),
                         "would empty joe@example.test: 5 messages, 500 bytes\n")
        self.assertEqual(len(os.listdir(os.path.join(md, "new"))), 3)
        self.assertEqual(q.ok(self, "vemptymailbox", "joe@example.test"),
                         "emptied joe@example.test: 5 messages, 500 bytes\n")
        self.assertEqual(os.listdir(os.path.join(md, "new")), [])
        self.assertEqual(os.listdir(os.path.join(md, "cur")), [])
        self.assertEqual(len(os.listdir(os.path.join(md, "tmp"))), 1)  # in progress: kept
        self.assertEqual(os.listdir(os.path.join(md, ".Sent", "cur")), ["s1"])
        self.assertFalse(os.path.exists(os.path.join(md, "maildirsize")))
        self.assertEqual(q.ok(self, "vemptymailbox", "-a", "joe@example.test"),
                         "emptied joe@example.test: 1 messages, 10 bytes\n")

    def slow_newu(self, seconds):
        """qmail-newu that takes its time (then does its work), so that a
        tool can be killed while it waits on it."""
        real = os.path.join(self.q.bin, "qmail-newu.real")
        os.rename(os.path.join(self.q.bin, "qmail-newu"), real)
        script = os.path.join(self.q.bin, "qmail-newu")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nsleep %s\nexec %s\n" % (seconds, real))
        os.chmod(script, 0o755)

        def restore():
            os.rename(real, script)
        return restore

    def run_killed(self, argv, when):
        """Start a tool as the owner, SIGKILL it (and its qmail-newu) after when s."""
        q = self.q
        p = subprocess.Popen([os.path.join(q.bin, argv[0])] + list(argv[1:]), env=q.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             preexec_fn=q.as_owner(), cwd=q.tmp, start_new_session=True)
        time.sleep(when)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=30)

    def test_kill9_during_vadddomain_undone(self):
        q = self.q
        self.add_domain("keep.test")
        restore = self.slow_newu(5)
        self.run_killed(["vadddomain", "half.test", "pw"], 1.0)
        restore()
        self.assertTrue(os.path.exists(q.path("users", "vdomain.intent")))
        # the next tool finishes the interrupted change: the add is undone
        q.ok(self, "vdominfo", "keep.test")
        self.assertFalse(os.path.exists(q.path("users", "vdomain.intent")))
        self.assertDomainAbsent("half.test")
        self.assertDomainPresent("keep.test")
        q.ok(self, "vadddomain", "half.test", "pw")
        self.assertDomainPresent("half.test")

    def test_kill9_during_vdeldomain_completed(self):
        q = self.q
        self.add_domain("gone.test")
        q.ok(self, "vadduser", "joe@gone.test", "x")
        restore = self.slow_newu(5)
        self.run_killed(["vdeldomain", "gone.test"], 1.0)
        restore()
        q.ok(self, "vdominfo")
        self.assertDomainAbsent("gone.test")

    def test_kill9_at_random_points(self):
        """Killed anywhere, the domain is wholly there or wholly gone once
        the next tool has run; never half."""
        q = self.q
        rnd = random.Random(1234)
        deadline = time.monotonic() + 60
        for i in range(25):
            if time.monotonic() > deadline:
                break
            d = "k%d.test" % i
            self.run_killed(["vadddomain", d, "pw"], rnd.uniform(0.0, 0.05))
            q.ok(self, "vdominfo", "-n")  # recovery
            if "+%s-:" % d in self.assign():
                self.assertDomainPresent(d)
                self.run_killed(["vdeldomain", d], rnd.uniform(0.0, 0.05))
                q.ok(self, "vdominfo", "-n")
                if "+%s-:" % d in self.assign():
                    self.assertDomainPresent(d)
                else:
                    self.assertDomainAbsent(d)
            else:
                self.assertDomainAbsent(d)

    def test_kill9_during_vadduser(self):
        q = self.q
        self.add_domain()
        rnd = random.Random(99)
        for i in range(20):
            u = "u%d" % i
            self.run_killed(["vadduser", u + "@example.test", "pw"], rnd.uniform(0.0, 0.03))
            acct = q.account("example.test", u)
            cdb = cdb_get(os.path.join(q.domdir("example.test"), "vpasswd.cdb"), u)
            if acct is not None:
                # the account's line and its cdb record agree, its Maildir is whole
                self.assertEqual(cdb, ":".join(acct[1:]).encode())
                self.assertTrue(os.path.isdir(os.path.join(acct[5], "Maildir", "tmp")))
            else:
                self.assertIsNone(cdb)
                # a re-run adds it, keeping a directory a crash left
                q.ok(self, "vadduser", u + "@example.test", "pw")


if __name__ == "__main__":
    unittest.main()
