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


if __name__ == "__main__":
    unittest.main()
