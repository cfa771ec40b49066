# SPDX-License-Identifier: ISC
"""qmail-setup: the qmail-1.03 tree, single-user and root mode."""
import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import unittest

import qng

SPLIT_DIRS = ["mess", "info", "local", "remote"]


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class SetupTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="qng-setup-")
        os.chmod(self.tmp, 0o755)
        self.home = os.path.join(self.tmp, "home")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def setup(self, *args):
        return subprocess.run([os.path.join(qng.BIN, "qmail-setup")] + list(args) + [self.home],
                              capture_output=True, timeout=60)

    def check_tree(self):
        h = self.home
        for d in ["alias", "bin", "boot", "control", "doc", "man", "queue", "users"]:
            self.assertTrue(os.path.isdir(os.path.join(h, d)), d)
        q = os.path.join(h, "queue")
        expect = {"pid": 0o700, "intd": 0o700, "todo": 0o750, "mess": 0o750, "info": 0o700,
                  "local": 0o700, "remote": 0o700, "bounce": 0o700, "lock": 0o750}
        for d, m in expect.items():
            self.assertEqual(mode(os.path.join(q, d)), m, d)
        for d in SPLIT_DIRS:
            subs = sorted(int(x) for x in os.listdir(os.path.join(q, d)))
            self.assertEqual(subs, list(range(23)), d)
        trig = os.path.join(q, "lock", "trigger")
        self.assertTrue(stat.S_ISFIFO(os.lstat(trig).st_mode))
        self.assertEqual(mode(trig), 0o622)
        self.assertEqual(os.path.getsize(os.path.join(q, "lock", "tcpto")), 1024)
        self.assertEqual(mode(os.path.join(q, "lock", "sendmutex")), 0o600)
        self.assertEqual(mode(os.path.join(h, "alias")), 0o2755)

    def test_single_user_tree(self):
        r = self.setup("-b", qng.BIN, "-m", "mx.example.test", "-d", "example.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check_tree()
        uid, gid = qng.owner_ids()
        for root, dirs, files in os.walk(self.home):
            for n in dirs + files:
                st = os.lstat(os.path.join(root, n))
                self.assertEqual((st.st_uid, st.st_gid), (uid, gid), os.path.join(root, n))
        with open(os.path.join(self.home, "control", "me")) as f:
            self.assertEqual(f.read(), "mx.example.test\n")
        with open(os.path.join(self.home, "control", "rcpthosts")) as f:
            self.assertEqual(f.read(), "mx.example.test\nexample.test\n")
        qq = os.path.join(self.home, "bin", "qmail-queue")
        self.assertEqual(mode(qq), 0o755)  # no setuid bit in single-user mode
        # the virtual domains' tree stays inside the instance
        vhome = os.path.join(self.home, "vpopmail")
        with open(os.path.join(self.home, "control", "vpopmailhome")) as f:
            self.assertEqual(f.read(), vhome + "\n")
        for d, m in [("", 0o755), ("domains", 0o711), ("etc", 0o755), ("bin", 0o755)]:
            self.assertEqual(mode(os.path.join(vhome, d)), m, d)
        link = os.path.join(vhome, "bin", "vdelivermail")
        self.assertEqual(os.readlink(link), os.path.join(self.home, "bin", "vdelivermail"))
        # old crontabs run ~vpopmail/bin/clearopensmtp
        link = os.path.join(vhome, "bin", "clearopensmtp")
        self.assertEqual(os.readlink(link), os.path.join(self.home, "bin", "clearopensmtp"))
        for d in ["rcptmap", "overquota", "open-smtp"]:
            self.assertEqual(mode(os.path.join(self.home, "users", d)), 0o755, d)
        r = subprocess.run([link], capture_output=True, timeout=30,
                           env={"QMAIL_HOME": self.home, "PATH": "/usr/bin:/bin"})
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"", b""))

    def test_rerun_repairs_and_keeps_controls(self):
        self.assertEqual(self.setup("-m", "one.test").returncode, 0)
        with open(os.path.join(self.home, "control", "me"), "w") as f:
            f.write("edited.test\n")
        os.chmod(os.path.join(self.home, "queue", "todo"), 0o777)
        shutil.rmtree(os.path.join(self.home, "queue", "mess", "7"))
        self.assertEqual(self.setup("-m", "two.test").returncode, 0)
        self.check_tree()
        with open(os.path.join(self.home, "control", "me")) as f:
            self.assertEqual(f.read(), "edited.test\n")

    def test_bad_usage(self):
        r = subprocess.run([os.path.join(qng.BIN, "qmail-setup"), "relative/home"],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 100)
        self.assertIn(b"usage", r.stderr)

    @unittest.skipUnless(qng.IS_ROOT, "root mode needs root")
    def test_root_mode_owners_and_setuid_queue(self):
        r = self.setup("-r", "-b", qng.BIN, "-m", "root.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.check_tree()
        uid = lambda n: pwd.getpwnam(n).pw_uid
        qmail = grp.getgrnam("qmail").gr_gid
        q = os.path.join(self.home, "queue")
        owners = {"pid": "qmailq", "intd": "qmailq", "todo": "qmailq", "mess": "qmailq",
                  "lock": "qmailq", "info": "qmails", "local": "qmails", "remote": "qmails",
                  "bounce": "qmails"}
        for d, u in owners.items():
            st = os.lstat(os.path.join(q, d))
            self.assertEqual((st.st_uid, st.st_gid), (uid(u), qmail), d)
        st = os.lstat(os.path.join(q, "lock", "trigger"))
        self.assertEqual(st.st_uid, uid("qmails"))
        st = os.lstat(os.path.join(q, "lock", "tcpto"))
        self.assertEqual(st.st_uid, uid("qmailr"))
        st = os.lstat(os.path.join(self.home, "alias"))
        self.assertEqual(st.st_uid, uid("alias"))
        qq = os.path.join(self.home, "bin", "qmail-queue")
        st = os.lstat(qq)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o4711)
        self.assertEqual(st.st_uid, uid("qmailq"))
        st = os.lstat(os.path.join(self.home, "bin", "qmail-smtpd"))
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o755))
        # every qmail user exists with the right primary group
        for u in ["alias", "qmaild", "qmaill", "qmailp"]:
            self.assertEqual(pwd.getpwnam(u).pw_gid, grp.getgrnam("nofiles").gr_gid, u)
        for u in ["qmailq", "qmailr", "qmails"]:
            self.assertEqual(pwd.getpwnam(u).pw_gid, qmail, u)

    @unittest.skipUnless(qng.IS_ROOT, "root mode needs root")
    def test_root_mode_takes_over_an_old_vpopmail_tree(self):
        """An old vpopmail tree (domains 700, vpopmail's own vdelivermail
        in ~vpopmail/bin) keeps its files; domains gets the search bits
        qmail-smtpd needs for the maps' staleness; vchkpw is setuid root
        for root and nofiles only; users/rcptmap and users/overquota are
        vpopmail's."""
        vhome = os.path.join(self.tmp, "vpop")
        os.makedirs(os.path.join(vhome, "domains"))
        os.makedirs(os.path.join(vhome, "bin"))
        os.chmod(os.path.join(vhome, "domains"), 0o700)
        old = os.path.join(vhome, "bin", "vdelivermail")
        with open(old, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.makedirs(os.path.join(self.home, "control"))
        with open(os.path.join(self.home, "control", "vpopmailhome"), "w") as f:
            f.write(vhome + "\n")
        r = self.setup("-r", "-b", qng.BIN, "-m", "root.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"is not qmail-ng's", r.stderr)
        with open(old) as f:
            self.assertEqual(f.read(), "#!/bin/sh\nexit 0\n")
        self.assertEqual(mode(os.path.join(vhome, "domains")), 0o711)
        self.assertEqual(os.readlink(os.path.join(vhome, "bin", "vchkpw")),
                         os.path.join(self.home, "bin", "vchkpw"))
        self.assertEqual(os.readlink(os.path.join(vhome, "bin", "clearopensmtp")),
                         os.path.join(self.home, "bin", "clearopensmtp"))
        vp = pwd.getpwnam("vpopmail")
        for d in ["rcptmap", "overquota", "open-smtp"]:
            st = os.lstat(os.path.join(self.home, "users", d))
            self.assertEqual((st.st_uid, st.st_gid, mode(os.path.join(self.home, "users", d))),
                             (vp.pw_uid, vp.pw_gid, 0o755), d)
        st = os.lstat(os.path.join(self.home, "bin", "vchkpw"))
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (0, grp.getgrnam("nofiles").gr_gid, 0o4710))
        self.assertIsNotNone(grp.getgrnam("vchkpw"))

    def read(self, *parts):
        with open(os.path.join(self.home, *parts)) as f:
            return f.read()

    def test_controls_as_config_fast(self):
        """qmail-1.03's config-fast: me, defaultdomain and plusdomain (me
        without its first label when it has two dots), locals, rcpthosts;
        plus the seeds' databytes and the default delivery."""
        r = self.setup("-m", "mx.example.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        self.assertEqual(self.read("control", "me"), "mx.example.test\n")
        self.assertEqual(self.read("control", "defaultdomain"), "example.test\n")
        self.assertEqual(self.read("control", "plusdomain"), "example.test\n")
        self.assertEqual(self.read("control", "locals"), "mx.example.test\n")
        self.assertEqual(self.read("control", "databytes"), "10000000\n")
        self.assertEqual(self.read("control", "defaultdelivery"), "./Maildir/\n")
        shutil.rmtree(self.home)
        self.assertEqual(self.setup("-m", "example.test").returncode, 0)
        self.assertEqual(self.read("control", "defaultdomain"), "example.test\n")

    def test_existing_databytes_kept(self):
        os.makedirs(os.path.join(self.home, "control"))
        with open(os.path.join(self.home, "control", "databytes"), "w") as f:
            f.write("0\n")
        self.assertEqual(self.setup("-m", "mx.example.test").returncode, 0)
        self.assertEqual(self.read("control", "databytes"), "0\n")

    def test_dotless_me_warns_and_stays_local(self):
        """A dotless me (vm) is completed by qmail-inject to vm.vm unless
        defaultdomain says otherwise: the tree says so loudly and keeps
        both forms local."""
        r = self.setup("-m", "vm")
        self.assertEqual(r.returncode, 0, r.stderr)
        err = r.stderr.decode()
        self.assertIn("warning: the host name vm has no dot", err)
        self.assertIn("qmail-setup -m", err)
        self.assertEqual(self.read("control", "defaultdomain"), "localdomain\n")
        self.assertEqual(self.read("control", "locals"), "vm\nvm.localdomain\n")
        # qmail-inject's rewriting lands on a local name
        e = {"QMAIL_HOME": self.home, "PATH": "/usr/bin:/bin"}
        inject = os.path.join(qng.BIN, "qmail-inject")
        r = subprocess.run([inject, "-n"], input=b"To: root@vm\nSubject: x\n\nx\n",
                           env=e, capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"To: root@vm.localdomain", r.stdout)
        # run again: no second warning for a tree that has its me
        r = self.setup("-m", "vm")
        self.assertNotIn(b"warning", r.stderr)

    def test_found_me_is_fully_qualified_when_the_resolver_knows(self):
        """Without -m: the host name, or its canonical name when it has
        no dot (what qmail's config looked up)."""
        import socket
        want = socket.gethostname()
        if "." not in want:
            try:
                canon = socket.getaddrinfo(want, None, flags=socket.AI_CANONNAME,
                                           type=socket.SOCK_STREAM)[0][3]
            except OSError:
                canon = ""
            if "." in canon:
                want = canon
        r = self.setup()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.read("control", "me"), want + "\n")
        self.assertEqual("warning: the host name" in r.stderr.decode(), "." not in want)

    @unittest.skipUnless(qng.IS_ROOT, "root mode needs root")
    def test_root_postmaster_mailer_daemon_have_mailboxes(self):
        """A new root install delivers mail to root, postmaster and
        mailer-daemon (into ~alias/Maildir) instead of bouncing it."""
        r = self.setup("-r", "-m", "mx.example.test")
        alias = pwd.getpwnam("alias").pw_uid
        self.assertEqual(r.returncode, 0, r.stderr)
        for a in ["root", "postmaster", "mailer-daemon"]:
            self.assertEqual(self.read("alias", ".qmail-" + a), "./Maildir/\n")
            self.assertEqual(os.lstat(os.path.join(self.home, "alias", ".qmail-" + a)).st_uid,
                             alias)
        for d in ["", "new", "cur", "tmp"]:
            st = os.lstat(os.path.join(self.home, "alias", "Maildir", d))
            self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode) & 0o777), (alias, 0o700))
        # an admin's own alias is kept
        with open(os.path.join(self.home, "alias", ".qmail-root"), "w") as f:
            f.write("&admin@example.test\n")
        self.assertEqual(self.setup("-r").returncode, 0)
        self.assertEqual(self.read("alias", ".qmail-root"), "&admin@example.test\n")

    def test_existing_tree_gets_no_new_behaviour(self):
        """A tree that has its control/me (one qmail-1.03 left) gets no
        control file that changes what it does (no databytes limit, no
        defaultdomain) and no aliases."""
        os.makedirs(os.path.join(self.home, "control"))
        with open(os.path.join(self.home, "control", "me"), "w") as f:
            f.write("old.example.test\n")
        self.assertEqual(self.setup("-m", "other.test").returncode, 0)
        self.assertEqual(sorted(os.listdir(os.path.join(self.home, "control"))),
                         ["me"])
        self.assertEqual(os.listdir(os.path.join(self.home, "alias")), [])

    @unittest.skipUnless(qng.IS_ROOT, "root mode needs root")
    def test_root_mode_fixes_installed_programs(self):
        """The README's path: make install puts the programs into bin
        (root:root 0755), then qmail-setup -r without -b must make
        qmail-queue setuid qmailq, or every message gets 451 qq write
        error."""
        self.assertEqual(self.setup("-r", "-m", "root.test").returncode, 0)
        for n in os.listdir(qng.BIN):
            shutil.copy(os.path.join(qng.BIN, n), os.path.join(self.home, "bin", n))
            os.chmod(os.path.join(self.home, "bin", n), 0o755)
        r = self.setup("-r")
        self.assertEqual(r.returncode, 0, r.stderr)
        st = os.lstat(os.path.join(self.home, "bin", "qmail-queue"))
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid),
                         (0o4711, pwd.getpwnam("qmailq").pw_uid))
        st = os.lstat(os.path.join(self.home, "bin", "qmail-send"))
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid),
                         (0o755, 0, grp.getgrnam("qmail").gr_gid))

    @unittest.skipUnless(qng.IS_ROOT, "root mode needs root")
    def test_root_mode_missing_queue_program_is_named(self):
        r = self.setup("-r", "-m", "root.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"bin/qmail-queue is missing", r.stderr)

    @unittest.skipUnless(qng.IS_ROOT and shutil.which("unshare"), "needs root and unshare")
    def test_root_mode_nosuid_filesystem_is_refused(self):
        """Modes that do not stick are named: bin on a nosuid mount (in a
        private mount namespace of the test's own)."""
        self.assertEqual(self.setup("-r", "-m", "root.test").returncode, 0)
        binp = os.path.join(self.home, "bin")
        script = ("mount -t tmpfs -o nosuid,mode=755 qng-test %s && cp %s/* %s/ && exec %s -r %s"
                  % (binp, qng.BIN, binp, os.path.join(qng.BIN, "qmail-setup"), self.home))
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                           capture_output=True, timeout=60)
        if r.stderr.startswith((b"mount:", b"unshare:")):
            self.skipTest("no private mount namespace here: %s" % r.stderr.decode())
        self.assertEqual(r.returncode, 111, r.stderr)
        self.assertIn(b"mounted nosuid", r.stderr)
        self.assertIn(b"qmail-queue cannot become qmailq", r.stderr)

    @unittest.skipUnless(qng.IS_ROOT, "root mode needs root")
    def test_root_mode_log_dir_and_rules(self):
        logdir = os.path.join(self.tmp, "log", "qmail")
        rules = os.path.join(self.tmp, "etc", "tcp.smtp")
        os.mkdir(os.path.join(self.tmp, "etc"))
        r = self.setup("-r", "-b", qng.BIN, "-m", "root.test", "-l", logdir, "-x", rules)
        self.assertEqual(r.returncode, 0, r.stderr)
        for d in [logdir] + [os.path.join(logdir, n) for n in ("smtpd", "submission", "smtps",
                                                                 "pop3d", "pop3s")]:
            st = os.lstat(d)
            self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                             (pwd.getpwnam("qmaill").pw_uid, grp.getgrnam("nofiles").gr_gid,
                              0o750), d)
        with open(rules) as f:
            self.assertEqual(f.read(), '127.0.0.1:allow,RELAYCLIENT=""\n:allow\n')
        self.assertTrue(os.path.getsize(rules + ".cdb") > 0)
        # re-run: the admin's rules are kept
        with open(rules, "w") as f:
            f.write(":deny\n")
        self.assertEqual(self.setup("-r", "-l", logdir, "-x", rules).returncode, 0)
        with open(rules) as f:
            self.assertEqual(f.read(), ":deny\n")

    @unittest.skipUnless(qng.IS_ROOT, "root mode needs root")
    def test_root_mode_rules_without_tcprules_or_with_a_bad_file(self):
        """No tcprules to be found: the rules are written and the admin is
        told how to compile them.  An admin's rules file tcprules refuses:
        the run fails and says so, and the file is kept."""
        etc = os.path.join(self.tmp, "etc")
        os.mkdir(etc)
        rules = os.path.join(etc, "tcp.smtp")
        r = subprocess.run([os.path.join(qng.BIN, "qmail-setup"), "-r", "-m", "root.test",
                            "-x", rules, self.home], capture_output=True, timeout=60,
                           env={"PATH": "/nonexistent"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"warning: tcprules not found: compile %s" % rules.encode(), r.stderr)
        self.assertTrue(os.path.exists(rules))
        self.assertFalse(os.path.exists(rules + ".cdb"))
        with open(rules, "w") as f:
            f.write("1.2.3:allow\n")  # not a rule tcprules accepts
        r = self.setup("-r", "-b", qng.BIN, "-x", rules)
        self.assertEqual(r.returncode, 111, r.stderr)
        self.assertIn(b"tcprules %s.cdb failed" % rules.encode(), r.stderr)
        with open(rules) as f:
            self.assertEqual(f.read(), "1.2.3:allow\n")


if __name__ == "__main__":
    unittest.main()
