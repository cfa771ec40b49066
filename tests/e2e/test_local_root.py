# SPDX-License-Identifier: ISC
"""Root-only: qmail-lspawn in a root-mode instance (qmail-setup -r) with
real system accounts, created here with useradd and deleted afterwards.
Each delivery runs as its user (uid, gid, no other groups), never as
root; qmail-getpw's passwd rules (uid 0, home ownership, missing home,
uppercase names) decide who gets an address; users/assign entries switch
to their uid and refuse uid 0."""
import os
import pwd
import shutil
import subprocess
import tempfile
import unittest

import qng
import test_local_spawn as sp

HOST = "root.test"
PREFIX = "qngt"


def useradd(name, home, extra=()):
    r = subprocess.run(["useradd", "-M", "-N", "-g", "nogroup", "-d", home, "-s",
                        "/usr/sbin/nologin"] + list(extra) + [name], capture_output=True,
                       timeout=30)
    return r.returncode == 0


def userdel(name):
    subprocess.run(["userdel", name], capture_output=True, timeout=30)


@unittest.skipUnless(qng.IS_ROOT, "switching users needs root")
@unittest.skipUnless(shutil.which("useradd") or os.path.exists("/usr/sbin/useradd"),
                     "no useradd")
class TestRootMode(sp.SpawnCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="qng-root-")
        os.chmod(cls.tmp, 0o755)
        cls.users = {}
        os.environ.setdefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        if "/usr/sbin" not in os.environ["PATH"]:
            os.environ["PATH"] += ":/usr/sbin:/sbin"
        for name, owned in (("joe", True), ("ann", True), ("bad", False), ("nohome", None)):
            user = PREFIX + name
            home = os.path.join(cls.tmp, user)
            userdel(user)
            if not useradd(user, home):
                raise unittest.SkipTest("useradd %s failed" % user)
            cls.users[name] = user
            if owned is not None:
                os.mkdir(home)
                os.chmod(home, 0o755)
                if owned:
                    pw = pwd.getpwnam(user)
                    os.chown(home, pw.pw_uid, pw.pw_gid)
        # an account name with capitals (qmail ignores it); not every
        # useradd allows one
        up = "QngtUp"
        userdel(up)
        cls.upper = None
        uphome = os.path.join(cls.tmp, "upper")
        if useradd(up, uphome, ["--badname"]) or useradd(up, uphome, ["--badnames"]):
            cls.upper = up
            os.mkdir(uphome)
            pw = pwd.getpwnam(up)
            os.chown(uphome, pw.pw_uid, pw.pw_gid)

    @classmethod
    def tearDownClass(cls):
        for user in cls.users.values():
            userdel(user)
        if cls.upper:
            userdel(cls.upper)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        # a root-mode tree: home owned by root, qmail's users and modes
        self.root = tempfile.mkdtemp(prefix="qng-rootmode-")
        os.chmod(self.root, 0o755)
        self.addCleanup(shutil.rmtree, self.root, True)
        home = os.path.join(self.root, "home")
        r = subprocess.run([os.path.join(qng.BIN, "qmail-setup"), "-r", "-b", qng.BIN, "-m",
                            HOST, home], capture_output=True, timeout=60)
        if r.returncode != 0:
            self.skipTest("qmail-setup -r failed: %s" % r.stderr.decode())
        self.home = home
        self.alias_pw = pwd.getpwnam("alias")
        self.next_id = 5000
        self.env = {"PATH": os.path.join(home, "bin") + ":/usr/bin:/bin", "QMAIL_HOME": home}

    # SpawnCase's helpers, on this tree
    def message(self, data=sp.MSG):
        self.next_id += 1
        i = self.next_id
        p = os.path.join(self.home, "queue", "mess", str(i % 23), str(i))
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, 0o640)  # qmailq's, unreadable to the users
        q = pwd.getpwnam("qmailq")
        os.chown(p, q.pw_uid, q.pw_gid)
        return i

    def spawn(self, requests, default="./Maildir/", timeout=30, argv=None, env=None):
        r = subprocess.run([os.path.join(self.home, "bin", "qmail-lspawn"), default],
                           input=requests, capture_output=True, env=self.env, timeout=timeout,
                           cwd="/")
        return sp.parse_reports(r.stdout), r.returncode, r.stderr.decode(), 0

    def write_as(self, user, path, content, mode=0o644):
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, mode)
        pw = pwd.getpwnam(user)
        os.chown(path, pw.pw_uid, pw.pw_gid)

    def user_home(self, name):
        return os.path.join(self.tmp, self.users[name])

    def one(self, rcpt, default="./Maildir/", sender="s@x.test"):
        reps, code, err, _ = self.spawn(sp.request(0, self.message(), sender, rcpt),
                                        default=default)
        self.assertEqual(code, 0, err)
        return reps[0]

    def test_delivers_as_the_user(self):
        user = self.users["joe"]
        home = self.user_home("joe")
        pw = pwd.getpwnam(user)
        self.write_as(user, os.path.join(home, ".qmail"),
                      "|id -u > ids; id -g >> ids; id -G >> ids\n./Maildir/\n")
        subprocess.run(["runuser", "-u", user, "--", os.path.join(qng.BIN, "maildirmake"),
                        os.path.join(home, "Maildir")], check=True, timeout=10)
        rep = self.one(user + "@" + HOST)
        self.assertEqual(rep[2], "K", rep)
        with open(os.path.join(home, "ids")) as f:
            ids = f.read().split()
        self.assertEqual(ids, [str(pw.pw_uid), str(pw.pw_gid), str(pw.pw_gid)])
        new = os.listdir(os.path.join(home, "Maildir", "new"))
        self.assertEqual(len(new), 1)
        st = os.stat(os.path.join(home, "Maildir", "new", new[0]))
        self.assertEqual((st.st_uid, st.st_gid), (pw.pw_uid, pw.pw_gid))

    def test_workers_never_serve_another_uid(self):
        # deliveries for two users in one qmail-lspawn, alternating: each
        # runs as its own user, and each user's worker serves only them
        names = ["joe", "ann"]
        for n in names:
            user, home = self.users[n], self.user_home(n)
            self.write_as(user, os.path.join(home, ".qmail"),
                          "|echo $(id -u) $PPID >> seen\n")
        reqs = b"".join(sp.request(s, self.message(), "", self.users[names[s % 2]] + "@" + HOST)
                        for s in range(6))
        reps, code, err, _ = self.spawn(reqs)
        self.assertEqual(code, 0, err)
        self.assertTrue(all(r[2] == "K" for r in reps.values()), reps)
        pids = {}
        for n in names:
            pw = pwd.getpwnam(self.users[n])
            with open(os.path.join(self.user_home(n), "seen")) as f:
                lines = [l.split() for l in f.read().splitlines()]
            self.assertEqual(len(lines), 3)
            self.assertEqual({l[0] for l in lines}, {str(pw.pw_uid)})
            pids[n] = {l[1] for l in lines}
        self.assertFalse(pids[names[0]] & pids[names[1]], pids)

    def test_extension_of_a_passwd_user(self):
        user = self.users["joe"]
        home = self.user_home("joe")
        self.write_as(user, os.path.join(home, ".qmail-foo-default"),
                      "|echo \"$EXT $DEFAULT\" > ext\n")
        rep = self.one(user.upper() + "-Foo-Bar@" + HOST)
        self.assertEqual(rep[2], "K", rep)
        with open(os.path.join(home, "ext")) as f:
            self.assertEqual(f.read(), "foo-bar bar\n")

    def alias_file(self, name, content):
        self.write_as("alias", os.path.join(self.home, "alias", name), content)

    def alias_read(self, name):
        p = os.path.join(self.home, "alias", name)
        st = os.stat(p)
        self.assertEqual(st.st_uid, self.alias_pw.pw_uid)
        with open(p) as f:
            return f.read()

    def test_home_not_owned_goes_to_alias(self):
        self.alias_file(".qmail-default", "|echo \"$EXT\" >> who\n")
        for name in ("bad", "nohome"):
            rep = self.one(self.users[name] + "@" + HOST)
            self.assertEqual(rep[2], "K", rep)
        self.assertEqual(self.alias_read("who").split(), [self.users["bad"],
                                                          self.users["nohome"]])

    def test_root_goes_to_alias(self):
        self.alias_file(".qmail-root", "|id -u > root-was-here\n")
        rep = self.one("root@" + HOST)
        self.assertEqual(rep[2], "K", rep)
        self.assertEqual(self.alias_read("root-was-here").strip(), str(self.alias_pw.pw_uid))

    def test_uppercase_account_is_ignored(self):
        if not self.upper:
            self.skipTest("useradd refuses names with capitals here")
        self.alias_file(".qmail-default", "|echo \"$EXT\" >> who\n")
        rep = self.one(self.upper + "@" + HOST)
        self.assertEqual(rep[2], "K", rep)
        self.assertEqual(self.alias_read("who").strip(), self.upper.lower())

    def test_assign_switches_and_refuses_root(self):
        user = self.users["joe"]
        pw = pwd.getpwnam(user)
        home = self.user_home("joe")
        self.write_as(user, os.path.join(home, ".qmail-boss"), "|id -u > boss\n")
        with open(os.path.join(self.home, "users", "assign"), "w") as f:
            f.write("=boss:%s:%d:%d:%s:-:boss:\n=zero:root:0:0:/root:::\n.\n" % (
                user, pw.pw_uid, pw.pw_gid, home))
        r = subprocess.run([os.path.join(self.home, "bin", "qmail-newu")], env=self.env,
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = self.one("boss@" + HOST)
        self.assertEqual(rep[2], "K", rep)
        with open(os.path.join(home, "boss")) as f:
            self.assertEqual(f.read().strip(), str(pw.pw_uid))
        rep = self.one("zero@" + HOST)
        self.assertEqual(rep[0], "h")
        self.assertEqual(rep[2], "D")
        self.assertIn("Not allowed to perform deliveries as root", rep[3])

    def test_message_unreadable_to_the_user_is_still_delivered(self):
        # the message is qmailq's, mode 0640: only root could open it
        user = self.users["joe"]
        home = self.user_home("joe")
        self.write_as(user, os.path.join(home, ".qmail-copy"), "|cat > copy\n")
        rep = self.one(user + "-copy@" + HOST)
        self.assertEqual(rep[2], "K", rep)
        with open(os.path.join(home, "copy"), "rb") as f:
            self.assertEqual(f.read(), sp.MSG)

    def test_getpw(self):
        user = self.users["joe"]
        pw = pwd.getpwnam(user)
        r = subprocess.run([os.path.join(self.home, "bin", "qmail-getpw"), user + "-x-y"],
                           env=self.env, capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"%s\0%d\0%d\0%s\0-\0x-y\0" % (
            user.encode(), pw.pw_uid, pw.pw_gid, pw.pw_dir.encode()))
        r = subprocess.run([os.path.join(self.home, "bin", "qmail-getpw"), self.users["bad"]],
                           env=self.env, capture_output=True, timeout=10)
        self.assertEqual(r.stdout.split(b"\0")[0], b"alias")
        self.assertEqual(r.stdout.split(b"\0")[1], str(self.alias_pw.pw_uid).encode())
        self.assertEqual(r.stdout.split(b"\0")[3], os.path.join(self.home, "alias").encode())

    def test_pw2u_with_real_homes(self):
        user = self.users["joe"]
        pw = pwd.getpwnam(user)
        passwd = "".join("%s:x:%d:%d::%s:/bin/sh\n" % (p.pw_name, p.pw_uid, p.pw_gid, p.pw_dir)
                         for p in (pwd.getpwnam("alias"), pw, pwd.getpwnam(self.users["bad"]),
                                   pwd.getpwnam(self.users["nohome"]), pwd.getpwnam("root")))
        r = subprocess.run([os.path.join(self.home, "bin", "qmail-pw2u")], env=self.env,
                           input=passwd.encode(), capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn("=%s:%s:%d:%d:%s:::\n" % (user, user, pw.pw_uid, pw.pw_gid, pw.pw_dir), out)
        self.assertNotIn(self.users["bad"], out)
        self.assertNotIn(self.users["nohome"], out)
        self.assertNotIn("=root:", out)


if __name__ == "__main__":
    unittest.main()
