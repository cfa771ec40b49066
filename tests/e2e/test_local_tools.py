# SPDX-License-Identifier: ISC
"""The local-delivery tools end to end: qmail-newu, qmail-getpw,
qmail-pw2u, and the .qmail helpers forward, condredirect, bouncesaying,
except, preline, maildirmake, maildir2mbox - alone and from .qmail
files through qmail-local."""
import os
import pwd
import re
import subprocess
import unittest

import qng
import test_local as kit

MSG = kit.MSG
DTLINE = "Delivered-To: joe@example.test\n"
RPLINE = "Return-Path: <s@sender.test>\n"
UFLINE = "From s@sender.test Thu Jan  1 00:00:00 1970\n"


class ToolCase(unittest.TestCase):
    def setUp(self):
        self.inst = qng.Instance(me="example.test")
        self.addCleanup(self.inst.cleanup)
        self.home = kit.Home(self.inst)

    def tool(self, argv, message=MSG, env=None, cwd=None, seekable=True):
        """Run a tool as the instance's owner with the message on stdin."""
        e = dict(self.inst.env)
        e.update({"NEWSENDER": "new@sender.test", "DTLINE": DTLINE, "RPLINE": RPLINE,
                  "UFLINE": UFLINE})
        if env:
            e.update(env)
        e = {k: v for k, v in e.items() if v is not None}
        prog = argv[0] if "/" in argv[0] else os.path.join(qng.BIN, argv[0])
        kw = dict(capture_output=True, env=e, timeout=30, preexec_fn=kit.as_owner(self.inst),
                  cwd=cwd or self.home.path)
        if seekable:
            with open(kit.message_file(self.inst, message), "rb") as f:
                return subprocess.run([prog] + list(argv[1:]), stdin=f, **kw)
        return subprocess.run([prog] + list(argv[1:]), input=message, **kw)


class TestNewu(ToolCase):
    def test_builds_cdb(self):
        self.inst.write(self.inst.path("users", "assign"),
                        "=joe:joe:1:2:/home/joe:::\n+:alias:3:4:/var/qmail/alias:-::\n.\n")
        r = self.inst.run("qmail-newu")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(self.inst.path("users", "cdb")))
        self.assertFalse(os.path.exists(self.inst.path("users", "cdb.tmp")))
        self.assertEqual(os.stat(self.inst.path("users", "cdb")).st_mode & 0o777, 0o644)

    def test_reports_every_bad_line(self):
        self.inst.write(self.inst.path("users", "assign"), "=a:a:1:1:/a:::\n.\n")
        self.assertEqual(self.inst.run("qmail-newu").returncode, 0)
        with open(self.inst.path("users", "cdb"), "rb") as f:
            before = f.read()
        self.inst.write(self.inst.path("users", "assign"),
                        "=a:a:1:1:/a:::\nnonsense\n=b:b:1:x:/b:::\n=c:c:1:1:c:::\n")
        r = self.inst.run("qmail-newu")
        self.assertEqual(r.returncode, 111)
        err = r.stderr.decode()
        for words in ("users/assign line 2: line must begin", "users/assign line 3: gid",
                      "users/assign line 4: home directory", "line 5: no final line",
                      "users/cdb not changed"):
            self.assertIn(words, err)
        with open(self.inst.path("users", "cdb"), "rb") as f:
            self.assertEqual(f.read(), before)
        self.assertFalse(os.path.exists(self.inst.path("users", "cdb.tmp")))

    def test_missing_assign(self):
        r = self.inst.run("qmail-newu")
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"unable to open users/assign", r.stderr)


class TestGetpw(ToolCase):
    def test_unknown_goes_to_alias(self):
        r = self.inst.run("qmail-getpw", "No-Such-User-Here")
        self.assertEqual(r.returncode, 0, r.stderr)
        f = r.stdout.split(b"\0")
        self.assertEqual(len(f), 7)
        self.assertEqual(f[0], b"alias")
        self.assertEqual(f[3], self.inst.path("alias").encode())
        self.assertEqual(f[4:6], [b"-", b"No-Such-User-Here"])

    @unittest.skipIf(qng.IS_ROOT, "root's own account is never a mail user (root: test_local_root)")
    def test_own_account(self):
        me = pwd.getpwuid(os.getuid())
        st = os.stat(me.pw_dir) if os.path.isdir(me.pw_dir) else None
        if not st or st.st_uid != me.pw_uid or me.pw_name.lower() != me.pw_name:
            self.skipTest("this account does not qualify as a mail user")
        r = self.inst.run("qmail-getpw", me.pw_name.upper() + "-Ext")
        self.assertEqual(r.stdout, b"%s\0%d\0%d\0%s\0-\0Ext\0" % (
            me.pw_name.encode(), me.pw_uid, me.pw_gid, me.pw_dir.encode()))

    def test_usage(self):
        self.assertEqual(self.inst.run("qmail-getpw").returncode, 100)


class TestPw2u(ToolCase):
    def pw2u(self, passwd, *args):
        return self.inst.run("qmail-pw2u", *args, input=passwd.encode())

    def test_rules_and_files(self):
        passwd = ("root:x:0:0:root:/root:/bin/sh\n"
                  "alias:x:7790:2108::/var/qmail/alias:/bin/false\n"
                  "joe:x:507:100:Joe:/home/joe:/bin/sh\n"
                  "Upper:x:508:100::/home/upper:/bin/sh\n"
                  "bob:x:509:100::/home/bob:/bin/sh\n"
                  "excluded:x:510:100::/home/ex:/bin/sh\n"
                  "broken line\n")
        self.inst.write(self.inst.path("users", "exclude"), "excluded\n")
        self.inst.write(self.inst.path("users", "mailnames"), "bob:robert:bobby\n")
        self.inst.write(self.inst.path("users", "subusers"), "sales:joe:sales:\n")
        self.inst.write(self.inst.path("users", "append"), "=extra:joe:507:100:/home/joe:::\n")
        r = self.pw2u(passwd, "-H")
        self.assertEqual(r.returncode, 0, r.stderr)
        a = self.inst.path("alias")
        self.assertEqual(r.stdout.decode(),
                         "+:alias:7790:2108:%s:-::\n"
                         "=alias:alias:7790:2108:%s:::\n"
                         "+alias-:alias:7790:2108:%s:-::\n"
                         "=joe:joe:507:100:/home/joe:::\n"
                         "+joe-:joe:507:100:/home/joe:-::\n"
                         "=robert:bob:509:100:/home/bob:::\n"
                         "+robert-:bob:509:100:/home/bob:-::\n"
                         "=bobby:bob:509:100:/home/bob:::\n"
                         "+bobby-:bob:509:100:/home/bob:-::\n"
                         "=sales:joe:507:100:/home/joe:-:sales:\n"
                         "+sales-:joe:507:100:/home/joe:-:sales-:\n"
                         "=extra:joe:507:100:/home/joe:::\n"
                         ".\n" % (a, a, a))
        # the output is something qmail-newu takes
        self.inst.write(self.inst.path("users", "assign"), r.stdout)
        self.assertEqual(self.inst.run("qmail-newu").returncode, 0)

    def test_options(self):
        passwd = "alias:x:7790:2108::/x:/bin/false\nJoe:x:507:100::/home/joe:/bin/sh\n"
        r = self.pw2u(passwd, "-H", "-u", "-C", "-/")
        self.assertEqual(r.returncode, 0, r.stderr)
        a = self.inst.path("alias")
        self.assertEqual(r.stdout.decode(), "+:alias:7790:2108:%s:-/::\n"
                                            "=alias:alias:7790:2108:%s:::\n"
                                            "=Joe:Joe:507:100:/home/joe:::\n.\n" % (a, a))
        r = self.pw2u(passwd, "-H", "-c+")
        self.assertIn("+alias+:alias:", r.stdout.decode())

    def test_home_checks(self):
        uid = self.inst.uid
        mine = kit.Home(self.inst, "mine").path
        passwd = ("alias:x:%d:1::/x:/bin/false\n"
                  "mine:x:%d:1::%s:/bin/sh\n"
                  "gone:x:%d:1::/nonexistent/gone:/bin/sh\n"
                  "theirs:x:%d:1::/:/bin/sh\n" % (uid, uid, mine, uid, uid))
        r = self.pw2u(passwd)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn("=mine:mine:", out)
        self.assertNotIn("gone", out)
        self.assertNotIn("theirs", out)
        r = self.pw2u(passwd, "-h")
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"/nonexistent/gone", r.stderr)

    def test_needs_alias(self):
        r = self.pw2u("joe:x:507:100::/home/joe:/bin/sh\n", "-H")
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"unable to find alias user", r.stderr)


class TestForwardTool(ToolCase):
    def test_forward(self):
        r = self.tool(["forward", "a@remote.test", "b@remote.test"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr.decode(), r"^forward: qp \d+\n$")
        q = self.inst.queued()
        self.assertEqual(len(q), 1)
        self.assertEqual(q[0]["sender"], "new@sender.test")
        self.assertEqual(q[0]["rcpts"], ["a@remote.test", "b@remote.test"])
        self.assertTrue(q[0]["mess"].split(b"\n", 1)[1] == DTLINE.encode() + MSG)

    def test_needs_environment(self):
        self.assertEqual(self.tool(["forward", "a@b"], env={"NEWSENDER": None}).returncode, 111)
        self.assertEqual(self.tool(["forward", "a@b"], env={"DTLINE": None}).returncode, 111)
        self.assertEqual(self.tool(["forward"]).returncode, 100)
        self.assertEqual(self.inst.queued(), [])

    def test_from_pipe(self):
        r = self.tool(["forward", "a@remote.test"], seekable=False)
        self.assertEqual(r.returncode, 0, r.stderr)


class TestCondredirect(ToolCase):
    def test_program_says_yes(self):
        r = self.tool(["condredirect", "other@remote.test", "grep", "-q", "hello"])
        self.assertEqual(r.returncode, 99, r.stderr)
        q = self.inst.queued()
        self.assertEqual([m["rcpts"] for m in q], [["other@remote.test"]])
        self.assertEqual(q[0]["sender"], "new@sender.test")
        self.assertEqual(q[0]["mess"].split(b"\n", 1)[1], DTLINE.encode() + MSG)

    def test_program_says_no_or_later(self):
        for argv, code in ((["false"], 0), (["sh", "-c", "exit 100"], 0),
                           (["sh", "-c", "exit 111"], 111), (["no-such-program-here"], 0),
                           (["sh", "-c", "kill -9 $$"], 111)):
            with self.subTest(argv=argv):
                r = self.tool(["condredirect", "other@remote.test"] + argv)
                self.assertEqual(r.returncode, code, r.stderr)
        self.assertEqual(self.inst.queued(), [])

    def test_from_dot_qmail(self):
        self.home.maildir()
        self.home.write(".qmail", "|condredirect boss@remote.test grep -q URGENT\n./Maildir/\n")
        r = kit.run_local(self.inst, self.home, message=b"Subject: URGENT\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.home.messages(), [])
        self.assertEqual(self.inst.queued()[0]["rcpts"], ["boss@remote.test"])
        r = kit.run_local(self.inst, self.home, message=b"Subject: calm\n\nx\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.home.messages()), 1)


class TestBouncesaying(ToolCase):
    def test_always(self):
        r = self.tool(["bouncesaying", "This address no longer accepts mail."])
        self.assertEqual(r.returncode, 100)
        self.assertEqual(r.stderr, b"This address no longer accepts mail.\n")

    def test_with_program(self):
        for argv, code in ((["true"], 100), (["false"], 0), (["sh", "-c", "exit 111"], 111),
                           (["nonexistent-program"], 0)):
            with self.subTest(argv=argv):
                r = self.tool(["bouncesaying", "go away"] + argv)
                self.assertEqual(r.returncode, code, r.stderr)

    def test_from_dot_qmail(self):
        self.home.write(".qmail", "|bouncesaying 'Sorry, gone. (#5.1.1)'\n")
        r = kit.run_local(self.inst, self.home)
        self.assertEqual(r.returncode, 100)
        self.assertIn(b"Sorry, gone. (#5.1.1)", r.stderr)


class TestExcept(ToolCase):
    def test_codes(self):
        for argv, code in ((["true"], 100), (["false"], 0), (["sh", "-c", "exit 100"], 0),
                           (["sh", "-c", "exit 111"], 111), (["sh", "-c", "kill -9 $$"], 111),
                           (["nonexistent-program"], 0)):
            with self.subTest(argv=argv):
                self.assertEqual(self.tool(["except"] + argv).returncode, code)

    def test_from_dot_qmail(self):
        self.home.write(".qmail", "|except grep -q spam\n|touch passed\n")
        self.assertEqual(kit.run_local(self.inst, self.home,
                                       message=b"Subject: spam\n\n").returncode, 100)
        self.assertFalse(os.path.exists(self.home.p("passed")))
        self.assertEqual(kit.run_local(self.inst, self.home).returncode, 0)
        self.assertTrue(os.path.exists(self.home.p("passed")))


class TestPreline(ToolCase):
    def test_lines(self):
        out = self.home.p("out")
        for flags, want in (([], UFLINE + RPLINE + DTLINE), (["-d"], UFLINE + RPLINE),
                            (["-f"], RPLINE + DTLINE), (["-r"], UFLINE + DTLINE),
                            (["-dfr"], ""), (["-f", "-d"], RPLINE)):
            with self.subTest(flags=flags):
                r = self.tool(["preline"] + flags + ["sh", "-c", "cat > " + out])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(self.home.read("out"), want.encode() + MSG)

    def test_exit_code_passes_through(self):
        for code in (0, 1, 99, 100, 111):
            with self.subTest(code=code):
                self.assertEqual(self.tool(["preline", "sh", "-c", "exit %d" % code]).returncode,
                                 code)
        self.assertEqual(self.tool(["preline", "sh", "-c", "kill -9 $$"]).returncode, 111)

    def test_command_that_stops_reading(self):
        big = MSG + b"x" * 1000000
        r = self.tool(["preline", "true"], message=big)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_needs_environment(self):
        self.assertEqual(self.tool(["preline", "cat"], env={"UFLINE": None}).returncode, 111)
        self.assertEqual(self.tool(["preline", "-f", "cat"], env={"UFLINE": None}).returncode, 0)
        self.assertEqual(self.tool(["preline"]).returncode, 100)

    def test_from_dot_qmail(self):
        self.home.write(".qmail", "|preline -f cat > got\n")
        self.assertEqual(kit.run_local(self.inst, self.home).returncode, 0)
        self.assertEqual(self.home.read("got"),
                         b"Return-Path: <s@sender.test>\nDelivered-To: joe@example.test\n" + MSG)


class TestMaildirTools(ToolCase):
    def test_maildirmake(self):
        r = self.tool(["maildirmake", "Box"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for sub in ("tmp", "new", "cur"):
            self.assertTrue(os.path.isdir(self.home.p("Box", sub)))
        self.assertEqual(os.stat(self.home.p("Box")).st_mode & 0o777, 0o700)
        r = self.tool(["maildirmake", "Box"])
        self.assertEqual(r.returncode, 111)
        self.assertEqual(self.tool(["maildirmake"]).returncode, 100)

    def test_maildir2mbox(self):
        self.home.maildir()
        self.home.write("Maildir/cur/100.a.host:2,S", "Return-Path: <first@x.test>\nSubject: 1\n\n"
                                                      "From here\n", mode=0o600)
        self.home.write("Maildir/new/200.b.host", "Return-Path: <>\nSubject: 2\n\nno newline",
                        mode=0o600)
        self.home.write("Maildir/new/150.c.host", "Subject: 3\n\nbody\n", mode=0o600)
        self.home.write("mbox", "From old Thu Jan  1 00:00:00 1970\nSubject: 0\n\nold\n\n",
                        mode=0o600)
        env = {"MAILDIR": "Maildir", "MAIL": "mbox", "MAILTMP": "mbox.tmp"}
        r = self.tool(["maildir2mbox"], env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.home.read("mbox"),
                         b"From old Thu Jan  1 00:00:00 1970\nSubject: 0\n\nold\n\n"
                         b"From first@x.test Thu Jan  1 00:01:40 1970\n"
                         b"Return-Path: <first@x.test>\nSubject: 1\n\n>From here\n\n"
                         b"From MAILER-DAEMON Thu Jan  1 00:02:30 1970\nSubject: 3\n\nbody\n\n"
                         b"From MAILER-DAEMON Thu Jan  1 00:03:20 1970\nReturn-Path: <>\n"
                         b"Subject: 2\n\nno newline\n\n")
        self.assertEqual(os.listdir(self.home.p("Maildir", "new")), [])
        self.assertEqual(os.listdir(self.home.p("Maildir", "cur")), [])
        self.assertFalse(os.path.exists(self.home.p("mbox.tmp")))
        # nothing to do: nothing changes
        self.assertEqual(self.tool(["maildir2mbox"], env=env).returncode, 0)

    def test_maildir2mbox_needs_environment(self):
        self.home.maildir()
        for missing in ("MAIL", "MAILTMP", "MAILDIR"):
            with self.subTest(missing=missing):
                env = {"MAILDIR": "Maildir", "MAIL": "mbox", "MAILTMP": "mbox.tmp"}
                env[missing] = None
                r = self.tool(["maildir2mbox"], env=env)
                self.assertEqual(r.returncode, 111)
                self.assertIn(("%s not set" % missing).encode(), r.stderr)

    def test_maildir2mbox_failure_keeps_messages(self):
        self.home.maildir()
        self.home.write("Maildir/new/100.a.host", "Subject: 1\n\nx\n", mode=0o600)
        env = {"MAILDIR": "Maildir", "MAIL": "mbox", "MAILTMP": "nodir/mbox.tmp"}
        r = self.tool(["maildir2mbox"], env=env)
        self.assertEqual(r.returncode, 111)
        self.assertEqual(os.listdir(self.home.p("Maildir", "new")), ["100.a.host"])
        self.assertEqual(self.home.read("mbox"), b"")


if __name__ == "__main__":
    unittest.main()
