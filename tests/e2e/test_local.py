# SPDX-License-Identifier: ISC
"""qmail-local end to end, run directly with a message file: Maildir and
mbox content byte for byte, programs with their environment and every exit
code, forwards landing in the instance's queue, list-owner senders, the
loop bounce, each safety rule, extension and -default addresses, the alias
user, -n, and hostile .qmail files and arguments.

Also the helpers the other test_local_* files share (import test_local as
kit): a user home in the instance's tree, running qmail-local as the
instance's owner, reading maildirs."""
import os
import re
import resource
import signal
import stat
import subprocess
import time
import unittest

import qng

HOST = "example.test"
MSG = b"Subject: hello\nFrom: a@b.test\n\nbody line\nFrom the start\n>From quoted\nlast\n"


def as_owner(inst):
    """preexec_fn that makes a child the instance's owner (when root)."""
    return inst.as_owner()


class Home:
    """A user's home directory inside the instance's temporary tree,
    owned by the instance's owner, mode 0755."""

    def __init__(self, inst, name="joe", path=None):
        self.inst = inst
        self.name = name
        self.path = path or os.path.join(inst.tmp, "home-" + name)
        if not os.path.isdir(self.path):
            os.mkdir(self.path)
        os.chmod(self.path, 0o755)
        self.chown(self.path)

    def chown(self, p):
        if qng.IS_ROOT:
            os.lchown(p, self.inst.uid, self.inst.gid)

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def write(self, rel, content, mode=0o644):
        p = self.p(rel)
        d = os.path.dirname(p)
        if not os.path.isdir(d):
            os.makedirs(d)
            self.chown(d)
        data = content.encode() if isinstance(content, str) else content
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)
        self.chown(p)
        return p

    def maildir(self, rel="Maildir"):
        r = subprocess.run([os.path.join(qng.BIN, "maildirmake"), self.p(rel)],
                           preexec_fn=as_owner(self.inst), capture_output=True, timeout=10)
        assert r.returncode == 0, r.stderr
        return self.p(rel)

    def messages(self, rel="Maildir", sub="new"):
        d = self.p(rel, sub)
        out = []
        for n in sorted(os.listdir(d), key=lambda n: os.stat(os.path.join(d, n)).st_mtime_ns):
            with open(os.path.join(d, n), "rb") as f:
                out.append(f.read())
        return out

    def read(self, rel):
        with open(self.p(rel), "rb") as f:
            return f.read()


def message_file(inst, data=MSG, name="msg"):
    """The message as a file qmail-local can seek in; returns its path."""
    p = os.path.join(inst.tmp, name)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, 0o644)
    return p


def run_local(inst, home, local="joe", dash="", ext="", domain=HOST, sender="s@sender.test",
              default="./Maildir/", message=MSG, user=None, flags=(), env=None, preexec=None,
              timeout=30):
    """Run qmail-local as the instance's owner; returns CompletedProcess."""
    mp = message_file(inst, message)
    e = dict(inst.env)
    if env:
        e.update(env)
    homedir = home.path if isinstance(home, Home) else home
    argv = [os.path.join(qng.BIN, "qmail-local")] + list(flags) + [
        "--", user or (home.name if isinstance(home, Home) else "joe"), homedir, local, dash,
        ext, domain, sender, default]
    owner = as_owner(inst)

    def pre():
        if owner:
            owner()
        if preexec:
            preexec()
    with open(mp, "rb") as stdin:
        return subprocess.run(argv, stdin=stdin, capture_output=True, env=e, timeout=timeout,
                              preexec_fn=pre, cwd="/")


def text(r):
    return (r.stdout + r.stderr).decode(errors="replace")


class LocalCase(unittest.TestCase):
    def setUp(self):
        self.inst = qng.Instance(me=HOST)
        self.addCleanup(self.inst.cleanup)
        self.home = Home(self.inst)

    def local(self, **kw):
        kw.setdefault("home", self.home)
        home = kw.pop("home")
        return run_local(self.inst, home, **kw)

    def assertDelivered(self, r, did):
        self.assertEqual(r.returncode, 0, text(r))
        self.assertTrue(r.stdout.decode().startswith("did %s\n" % did), text(r))

    def assertFails(self, r, code, words):
        self.assertEqual(r.returncode, code, text(r))
        self.assertIn(words, text(r))


class TestMaildir(LocalCase):
    def test_byte_exact(self):
        self.home.maildir()
        r = self.local()
        self.assertDelivered(r, "1+0+0")
        self.assertEqual(r.stdout, b"did 1+0+0\n")
        msgs = self.home.messages()
        self.assertEqual(msgs, [b"Return-Path: <s@sender.test>\nDelivered-To: joe@example.test\n" + MSG])
        self.assertEqual(os.listdir(self.home.p("Maildir", "tmp")), [])
        name = os.listdir(self.home.p("Maildir", "new"))[0]
        self.assertRegex(name, r"^\d+\.M\d{6}P\d+Q\d+\.")
        st = os.stat(self.home.p("Maildir", "new", name))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)

    def test_bounce_sender_and_quoting(self):
        self.home.maildir()
        self.assertDelivered(self.local(sender=""), "1+0+0")
        self.assertDelivered(self.local(sender="john doe@x.test"), "1+0+0")
        msgs = self.home.messages()
        self.assertTrue(msgs[0].startswith(b"Return-Path: <>\n"))
        self.assertTrue(msgs[1].startswith(b'Return-Path: <"john doe"@x.test>\n'))

    def test_empty_and_unterminated_message(self):
        self.home.maildir()
        self.assertDelivered(self.local(message=b""), "1+0+0")
        self.assertDelivered(self.local(message=b"no newline"), "1+0+0")
        msgs = self.home.messages()
        head = b"Return-Path: <s@sender.test>\nDelivered-To: joe@example.test\n"
        self.assertEqual(sorted(msgs), sorted([head, head + b"no newline"]))

    def test_default_delivery_when_no_dot_qmail(self):
        self.home.maildir("Other")
        self.assertDelivered(self.local(default="./Other/"), "1+0+0")
        self.assertEqual(len(self.home.messages("Other")), 1)

    def test_empty_dot_qmail_means_default(self):
        self.home.maildir()
        self.home.write(".qmail", "")
        self.assertDelivered(self.local(), "1+0+0")

    def test_default_delivery_of_several_lines(self):
        self.home.maildir()
        r = self.local(default="./Maildir/\n./Mailbox\n")
        self.assertDelivered(r, "2+0+0")
        self.assertTrue(self.home.read("Mailbox").startswith(b"From s@sender.test "))

    def test_missing_maildir_defers(self):
        r = self.local()
        self.assertFails(r, 111, "Unable to open maildir ./Maildir/")
        self.assertIn("(#4.2.1)", text(r))

    def test_disk_full_leaves_nothing_in_new(self):
        self.home.maildir()
        big = MSG + b"x" * 200000 + b"\n"

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (50000, 50000))
        r = self.local(message=big, preexec=limit)
        self.assertFails(r, 111, "Unable to write to maildir")
        self.assertEqual(os.listdir(self.home.p("Maildir", "new")), [])
        self.assertEqual(os.listdir(self.home.p("Maildir", "tmp")), [])

    def test_large_message(self):
        self.home.maildir()
        big = b"Subject: big\n\n" + b"0123456789abcdef" * 400000
        self.assertDelivered(self.local(message=big), "1+0+0")
        self.assertTrue(self.home.messages()[0].endswith(big))


FROM_RE = re.compile(rb"^From s@sender\.test [A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\n")


class TestMbox(LocalCase):
    def test_byte_exact_and_quoting(self):
        self.home.write(".qmail", "./Mailbox\n")
        self.assertDelivered(self.local(), "1+0+0")
        box = self.home.read("Mailbox")
        m = FROM_RE.match(box)
        self.assertIsNotNone(m, box[:80])
        self.assertEqual(box[m.end():],
                         b"Return-Path: <s@sender.test>\nDelivered-To: joe@example.test\n"
                         b"Subject: hello\nFrom: a@b.test\n\nbody line\n>From the start\n"
                         b">>From quoted\nlast\n\n")
        self.assertEqual(stat.S_IMODE(os.stat(self.home.p("Mailbox")).st_mode), 0o600)
        self.assertFalse(os.path.exists(self.home.p("Mailbox.lock")))

    def test_appends_and_adds_missing_newline(self):
        self.home.write(".qmail", "./Mailbox\n")
        self.assertDelivered(self.local(message=b"one"), "1+0+0")
        self.assertDelivered(self.local(message=b"two\n", sender=""), "1+0+0")
        box = self.home.read("Mailbox")
        parts = re.split(rb"(?m)^From ", box)
        self.assertEqual(len(parts), 3)
        self.assertTrue(parts[1].endswith(b"\none\n\n"))
        self.assertTrue(parts[2].startswith(b"MAILER-DAEMON "))
        self.assertTrue(parts[2].endswith(b"\ntwo\n\n"))

    def test_waits_for_flock(self):
        import fcntl
        import threading
        self.home.write(".qmail", "./Mailbox\n")
        box = self.home.write("Mailbox", b"")
        fd = os.open(box, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        t = threading.Timer(1.5, lambda: fcntl.flock(fd, fcntl.LOCK_UN))
        t0 = time.monotonic()
        t.start()
        try:
            r = self.local()
        finally:
            t.join()
            os.close(fd)
        self.assertDelivered(r, "1+0+0")
        self.assertGreaterEqual(time.monotonic() - t0, 1.4)
        self.assertTrue(FROM_RE.match(self.home.read("Mailbox")))

    def test_waits_for_dot_lock(self):
        import threading
        self.home.write(".qmail", "./Mailbox\n")
        lock = self.home.write("Mailbox.lock", b"12345\n")
        threading.Timer(1.2, lambda: os.unlink(lock)).start()
        t0 = time.monotonic()
        r = self.local()
        self.assertDelivered(r, "1+0+0")
        self.assertGreaterEqual(time.monotonic() - t0, 1.1)

    def test_stale_dot_lock_is_removed(self):
        self.home.write(".qmail", "./Mailbox\n")
        lock = self.home.write("Mailbox.lock", b"1\n")
        os.utime(lock, (time.time() - 3600, time.time() - 3600))
        self.assertDelivered(self.local(), "1+0+0")
        self.assertFalse(os.path.exists(lock))

    def test_failure_truncates_back(self):
        self.home.write(".qmail", "./Mailbox\n")
        old = b"From x Thu Jan  1 00:00:00 1970\nSubject: old\n\nold\n\n"
        self.home.write("Mailbox", old, mode=0o600)

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (len(old) + 300, len(old) + 300))
        r = self.local(message=MSG + b"y" * 100000, preexec=limit)
        self.assertFails(r, 111, "Unable to write ./Mailbox")
        self.assertEqual(self.home.read("Mailbox"), old)
        self.assertFalse(os.path.exists(self.home.p("Mailbox.lock")))

    def test_dev_null(self):
        # qmail-1.03 deferred this forever (fsync fails on a device)
        self.home.write(".qmail", "/dev/null\n")
        self.assertDelivered(self.local(), "1+0+0")

    def test_unopenable_mbox_defers(self):
        self.home.write(".qmail", "./nodir/Mailbox\n")
        self.assertFails(self.local(), 111, "Unable to open ./nodir/Mailbox")


ENV_NAMES = ["SENDER", "NEWSENDER", "RECIPIENT", "USER", "HOME", "LOCAL", "HOST", "HOST2",
             "HOST3", "HOST4", "EXT", "EXT2", "EXT3", "EXT4", "DEFAULT", "DTLINE", "RPLINE",
             "UFLINE"]


def read_env(path):
    with open(path, "rb") as f:
        data = f.read()
    env = {}
    for item in data.split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            env[k.decode()] = v.decode()
    return env


class TestProgram(LocalCase):
    def test_environment_stdin_and_cwd(self):
        self.home.write(".qmail-foo-default",
                        "|env -0 > env.out\n|cat > stdin.out\n|pwd > pwd.out\n")
        r = self.local(local="joe-foo-bar-baz", dash="-", ext="foo-bar-baz",
                       domain="mail.dept.example.test", sender="s@sender.test")
        self.assertDelivered(r, "0+0+3")
        env = read_env(self.home.p("env.out"))
        want = {
            "SENDER": "s@sender.test",
            "NEWSENDER": "s@sender.test",
            "RECIPIENT": "joe-foo-bar-baz@mail.dept.example.test",
            "USER": "joe",
            "HOME": self.home.path,
            "LOCAL": "joe-foo-bar-baz",
            "HOST": "mail.dept.example.test",
            "HOST2": "mail.dept.example",
            "HOST3": "mail.dept",
            "HOST4": "mail",
            "EXT": "foo-bar-baz",
            "EXT2": "bar-baz",
            "EXT3": "baz",
            "EXT4": "",
            "DEFAULT": "bar-baz",
            "DTLINE": "Delivered-To: joe-foo-bar-baz@mail.dept.example.test\n",
            "RPLINE": "Return-Path: <s@sender.test>\n",
        }
        for k, v in want.items():
            self.assertEqual(env.get(k), v, k)
        self.assertRegex(env["UFLINE"], r"^From s@sender\.test \w{3} \w{3} [ \d]\d "
                                        r"\d\d:\d\d:\d\d \d{4}\n$")
        for k in ENV_NAMES:
            self.assertIn(k, env)
        self.assertEqual(self.home.read("stdin.out"), MSG)
        self.assertEqual(self.home.read("pwd.out").strip().decode(), self.home.path)

    def test_no_default_variable_without_default_file(self):
        self.home.write(".qmail", "|env -0 > env.out\n")
        self.assertDelivered(self.local(env={"DEFAULT": "inherited"}), "0+0+1")
        self.assertNotIn("DEFAULT", read_env(self.home.p("env.out")))

    def test_exit_codes(self):
        cases = [(0, 0), (99, 0), (100, 100), (64, 100), (65, 100), (70, 100), (76, 100),
                 (77, 100), (78, 100), (112, 100), (111, 111), (1, 111), (2, 111),
                 (66, 111), (75, 111), (101, 111), (255, 111)]
        for code, want in cases:
            with self.subTest(code=code):
                self.home.write(".qmail", "|echo program said %d; exit %d\n" % (code, code))
                r = self.local()
                self.assertEqual(r.returncode, want, text(r))
                self.assertIn("program said %d" % code, text(r))

    def test_crash_is_temporary(self):
        for sig in ("SEGV", "KILL", "TERM"):
            with self.subTest(sig=sig):
                self.home.write(".qmail", "|kill -%s $$\n" % sig)
                self.assertFails(self.local(), 111, "Aack, child crashed. (#4.3.0)")

    def test_99_stops_but_keeps_earlier_forwards(self):
        self.home.write(".qmail", "&early@remote.test\n|touch first; exit 99\n|touch second\n"
                                  "&late@remote.test\n")
        r = self.local()
        self.assertDelivered(r, "0+1+1")
        self.assertTrue(os.path.exists(self.home.p("first")))
        self.assertFalse(os.path.exists(self.home.p("second")))
        q = self.inst.queued()
        self.assertEqual(len(q), 1)
        self.assertEqual(q[0]["rcpts"], ["early@remote.test"])

    def test_failure_stops_everything_after(self):
        self.home.maildir()
        self.home.write(".qmail", "&fwd@remote.test\n|exit 111\n./Maildir/\n")
        self.assertEqual(self.local().returncode, 111)
        self.assertEqual(self.home.messages(), [])
        self.assertEqual(self.inst.queued(), [])

    def test_each_program_sees_the_whole_message(self):
        self.home.write(".qmail", "|head -c 5 > a.out\n|cat > b.out\n")
        self.assertDelivered(self.local(), "0+0+2")
        self.assertEqual(self.home.read("b.out"), MSG)


class TestForward(LocalCase):
    def test_lands_in_queue(self):
        self.home.write(".qmail", "&a@remote.test\nb@remote.test\n")
        r = self.local()
        self.assertEqual(r.returncode, 0, text(r))
        self.assertRegex(r.stdout.decode(), r"^did 0\+2\+0\nqp \d+\n$")
        q = self.inst.queued()
        self.assertEqual(len(q), 1)
        self.assertEqual(q[0]["sender"], "s@sender.test")
        self.assertEqual(q[0]["rcpts"], ["a@remote.test", "b@remote.test"])
        mess = q[0]["mess"]
        self.assertTrue(mess.startswith(b"Received: (qmail "), mess[:80])
        body = mess.split(b"\n", 1)[1]
        self.assertEqual(body, b"Delivered-To: joe@example.test\n" + MSG)

    def test_bounce_keeps_empty_sender(self):
        self.home.write(".qmail", "&a@remote.test\n")
        self.home.write(".qmail-owner", "&owner@remote.test\n")
        self.assertEqual(self.local(sender="").returncode, 0)
        self.assertEqual(self.local(sender="#@[]").returncode, 0)
        self.assertEqual(sorted(m["sender"] for m in self.inst.queued()), ["", "#@[]"])

    def test_list_owner(self):
        self.home.write(".qmail-list", "&m1@remote.test\n&m2@remote.test\n")
        self.home.write(".qmail-list-owner", "&owner@remote.test\n")
        self.assertEqual(self.local(local="joe-list", dash="-", ext="list").returncode, 0)
        self.assertEqual(self.inst.queued()[0]["sender"], "joe-list-owner@example.test")

    def test_list_owner_verp(self):
        self.home.write(".qmail-list", "&m1@remote.test\n|env -0 > env.out\n")
        self.home.write(".qmail-list-owner", "&owner@remote.test\n")
        self.home.write(".qmail-list-owner-default", "&owner@remote.test\n")
        self.assertEqual(self.local(local="joe-list", dash="-", ext="list").returncode, 0)
        self.assertEqual(self.inst.queued()[0]["sender"], "joe-list-owner-@example.test-@[]")
        self.assertEqual(read_env(self.home.p("env.out"))["NEWSENDER"],
                         "joe-list-owner-@example.test-@[]")

    def test_owner_default_alone_is_not_enough(self):
        self.home.write(".qmail-list", "&m1@remote.test\n")
        self.home.write(".qmail-list-owner-default", "&owner@remote.test\n")
        self.assertEqual(self.local(local="joe-list", dash="-", ext="list").returncode, 0)
        self.assertEqual(self.inst.queued()[0]["sender"], "s@sender.test")

    def test_user_owner(self):
        self.home.write(".qmail", "&m@remote.test\n")
        self.home.write(".qmail-owner", "./owner-mbox\n")
        self.assertEqual(self.local().returncode, 0)
        self.assertEqual(self.inst.queued()[0]["sender"], "joe-owner@example.test")

    def test_queue_refusal(self):
        self.home.write(".qmail", "&a@remote.test\n")
        fake = self.home.write("qq", "#!/bin/sh\ncat >/dev/null; exit 31\n", mode=0o755)
        r = self.local(env={"QMAILQUEUE": fake})
        self.assertFails(r, 100, "Unable to forward message: mail server permanently rejected")
        fake = self.home.write("qq", "#!/bin/sh\ncat >/dev/null; exit 71\n", mode=0o755)
        self.assertFails(self.local(env={"QMAILQUEUE": fake}), 111, "Unable to forward message")


class TestLoop(LocalCase):
    def test_own_delivered_to_bounces(self):
        self.home.maildir()
        msg = b"Received: x\nDelivered-To: joe@example.test\nSubject: loop\n\nbody\n"
        r = self.local(message=msg)
        self.assertFails(r, 100, "This message is looping: it already has my Delivered-To line. "
                                 "(#5.4.6)")
        self.assertEqual(self.home.messages(), [])

    def test_case_and_spacing_do_not_hide_a_loop(self):
        self.home.maildir()
        msg = b"DELIVERED-TO:   JOE@Example.Test  \nSubject: loop\n\nbody\n"
        self.assertEqual(self.local(message=msg).returncode, 100)

    def test_other_delivered_to_or_body_is_fine(self):
        self.home.maildir()
        msg = (b"Delivered-To: other@example.test\nDelivered-To: joe@example.test.org\n\n"
               b"Delivered-To: joe@example.test\n")
        self.assertDelivered(self.local(message=msg), "1+0+0")

    def test_forward_adds_the_line_that_stops_the_loop(self):
        self.home.write(".qmail", "&joe@example.test\n")
        self.assertEqual(self.local().returncode, 0)
        again = self.inst.queued()[0]["mess"]
        self.assertFails(self.local(message=again), 100, "looping")


class TestSafety(LocalCase):
    def test_home_group_or_world_writable(self):
        self.home.maildir()
        for mode in (0o775, 0o757, 0o777):
            with self.subTest(mode=oct(mode)):
                os.chmod(self.home.path, mode)
                self.assertFails(self.local(), 111,
                                 "Uh-oh: home directory is writable. (#4.7.0)")
        os.chmod(self.home.path, 0o755)
        self.assertDelivered(self.local(), "1+0+0")

    def test_dot_qmail_group_or_world_writable(self):
        self.home.maildir()
        for mode in (0o664, 0o646):
            with self.subTest(mode=oct(mode)):
                self.home.write(".qmail", "./Maildir/\n", mode=mode)
                self.assertFails(self.local(), 111, "Uh-oh: .qmail file is writable. (#4.7.0)")
        self.assertEqual(self.home.messages(), [])

    def test_x_bit_with_program(self):
        self.home.write(".qmail", "&a@remote.test\n|echo hi\n", mode=0o744)
        self.assertFails(self.local(), 111,
                         "Uh-oh: .qmail has prog delivery but has x bit set. (#4.7.0)")
        self.assertEqual(self.inst.queued(), [])

    def test_x_bit_with_file(self):
        self.home.maildir()
        self.home.write(".qmail", "./Maildir/\n", mode=0o700)
        self.assertFails(self.local(), 111,
                         "Uh-oh: .qmail has file delivery but has x bit set. (#4.7.0)")

    def test_x_bit_forwards_only_is_fine(self):
        self.home.write(".qmail", "&a@remote.test\n", mode=0o700)
        self.assertEqual(self.local().returncode, 0)
        self.assertEqual(len(self.inst.queued()), 1)

    def test_plus_list(self):
        self.home.write(".qmail", "&a@remote.test\n+list\n|echo hi\n")
        self.assertFails(self.local(), 111, "prog delivery but has x bit set")

    def test_sticky_home(self):
        self.home.maildir()
        os.chmod(self.home.path, 0o1755)
        self.assertFails(self.local(), 111, "Home directory is sticky: user is editing his "
                                            ".qmail file. (#4.2.1)")
        r = self.local(flags=["-n"])
        self.assertEqual(r.returncode, 0, text(r))
        self.assertIn("Warning: home directory is sticky.", text(r))

    def test_first_line_blank(self):
        self.home.maildir()
        self.home.write(".qmail", "\n./Maildir/\n")
        self.assertFails(self.local(), 111, "Uh-oh: first line of .qmail file is blank. (#4.2.1)")

    def test_malformed_lines_defer_before_any_delivery(self):
        self.home.maildir()
        cases = [
            ("./Maildir/\n&a@b\n  &c@d\n", "line 3: line begins with white space"),
            ("./Maildir/\n|echo \x1b[2J\n", "line 2: line contains a control character"),
            ("./Maildir/\n&a\0b@c\n", "line 2: line contains a NUL byte"),
            ("./Maildir/\n& a@b\n", "line 2: forward address is malformed"),
            ("./Maildir/\n&<a@b>\n", "line 2: forward address is malformed"),
            ("./Maildir/\nme@new.job.com (New Address)\n", "line 2: forward address is malformed"),
            ("./Maildir/\n|\n", "line 2: program line names no program"),
            ("./Maildir/\n&\n", "line 2: forward line names no address"),
            ("./Maildir/\n|" + "x" * 20000 + "\n", "line 2: line is too long"),
        ]
        for content, words in cases:
            with self.subTest(words=words):
                self.home.write(".qmail-foo", content)
                r = self.local(local="joe-foo", dash="-", ext="foo")
                self.assertFails(r, 111, "Uh-oh: .qmail-foo " + words)
        self.assertEqual(self.home.messages(), [])
        self.assertEqual(self.inst.queued(), [])

    def test_malformed_default_delivery_is_named(self):
        r = self.local(default=" ./Maildir/")
        self.assertFails(r, 111, "Uh-oh: defaultdelivery line 1: line begins with white space")

    def test_relative_home_is_refused(self):
        r = run_local(self.inst, "relative/home")
        self.assertEqual(r.returncode, 100)
        self.assertIn("usage", text(r))


class TestExtensions(LocalCase):
    def deliver_to(self, ext, **kw):
        return self.local(local="joe-" + ext, dash="-", ext=ext, **kw)

    def test_search_order(self):
        for name in (".qmail-foo-bar", ".qmail-foo-default", ".qmail-default"):
            self.home.write(name, "|echo %s > which; echo \"$DEFAULT\" >> which\n" % name)
        self.assertDelivered(self.deliver_to("foo-bar"), "0+0+1")
        self.assertEqual(self.home.read("which"), b".qmail-foo-bar\n\n")
        self.assertDelivered(self.deliver_to("foo-baz"), "0+0+1")
        self.assertEqual(self.home.read("which"), b".qmail-foo-default\nbaz\n")
        self.assertDelivered(self.deliver_to("other-x"), "0+0+1")
        self.assertEqual(self.home.read("which"), b".qmail-default\nother-x\n")
        os.unlink(self.home.p(".qmail-default"))
        self.assertFails(self.deliver_to("other-x"), 100,
                         "Sorry, no mailbox here by that name. (#5.1.1)")

    def test_bare_user_without_dot_qmail_is_default_delivery(self):
        self.home.maildir()
        self.home.write(".qmail-default", "|exit 100\n")
        self.assertDelivered(self.local(), "1+0+0")

    def test_extension_without_files_bounces(self):
        self.assertFails(self.deliver_to("nothing"), 100, "Sorry, no mailbox here by that name.")

    def test_uppercase_and_dots(self):
        self.home.write(".qmail-foo:bar", "|echo colon > which\n")
        self.assertDelivered(self.deliver_to("Foo.BAR"), "0+0+1")
        self.assertEqual(self.home.read("which"), b"colon\n")

    def test_dots_cannot_climb_out(self):
        # with dots kept, ".qmail-/../../victim" would name a file outside
        # the home directory (through the directory .qmail-)
        os.mkdir(self.home.p(".qmail-"))
        self.home.chown(self.home.p(".qmail-"))
        victim = os.path.join(self.inst.tmp, "victim")
        with open(victim, "w") as f:
            f.write("|touch %s/pwned\n" % self.inst.tmp)
        os.chmod(victim, 0o644)
        r = self.deliver_to("/../../victim")
        self.assertEqual(r.returncode, 100, text(r))
        self.assertFalse(os.path.exists(os.path.join(self.inst.tmp, "pwned")))

    def test_slash_extension_stays_inside(self):
        self.home.write(".qmail-/sub", "|echo sub > which\n")
        self.assertDelivered(self.local(local="joe-sub", dash="-/", ext="sub"), "0+0+1")
        self.assertEqual(self.home.read("which"), b"sub\n")

    def test_directory_named_like_dot_qmail_is_skipped(self):
        os.mkdir(self.home.p(".qmail-foo"))
        self.home.write(".qmail-default", "|echo default > which\n")
        self.assertDelivered(self.deliver_to("foo"), "0+0+1")
        self.assertEqual(self.home.read("which"), b"default\n")

    def test_symlinked_dot_qmail(self):
        target = self.home.write("real-qmail", "|echo linked > which\n")
        os.symlink(target, self.home.p(".qmail-link"))
        self.assertDelivered(self.deliver_to("link"), "0+0+1")
        self.assertEqual(self.home.read("which"), b"linked\n")

    def test_very_long_extension(self):
        self.home.write(".qmail-default", "|echo default > which\n")
        self.assertDelivered(self.deliver_to("x" * 400), "0+0+1")


class TestAlias(LocalCase):
    def alias(self, ext, **kw):
        return run_local(self.inst, self.inst.path("alias"), user="alias", local=ext, dash="-",
                         ext=ext, **kw)

    def test_alias_files(self):
        a = Home(self.inst, "alias", path=self.inst.path("alias"))
        os.chmod(a.path, 0o755)  # qmail-setup makes it 2755: no write bits
        a.write(".qmail-postmaster", "./postmaster-box\n")
        a.write(".qmail-root", "&admin@remote.test\n")
        a.write(".qmail-mailer-daemon", "./postmaster-box\n")
        a.write(".qmail-default", "|echo \"$EXT\" >> unknown\n")
        self.assertDelivered(self.alias("postmaster"), "1+0+0")
        self.assertDelivered(self.alias("mailer-daemon"), "1+0+0")
        self.assertDelivered(self.alias("root"), "0+1+0")
        self.assertDelivered(self.alias("Somebody.Else"), "0+0+1")
        self.assertEqual(a.read("unknown"), b"Somebody.Else\n")
        self.assertEqual(a.read("postmaster-box").count(b"\nDelivered-To: "), 2)
        self.assertEqual(self.inst.queued()[0]["rcpts"], ["admin@remote.test"])

    def test_setup_made_alias_home_is_acceptable(self):
        a = Home(self.inst, "alias", path=self.inst.path("alias"))
        a.write(".qmail-default", "./box\n")
        self.assertDelivered(self.alias("anyone"), "1+0+0")


class TestDryRun(LocalCase):
    def test_n_prints_and_does_nothing(self):
        self.home.maildir()
        self.home.write(".qmail", "# comment\n./Maildir/\n./Mailbox\n|touch ran\n&a@remote.test\n"
                                  "b@remote.test\n")
        r = self.local(flags=["-n"])
        self.assertEqual(r.returncode, 0, text(r))
        self.assertEqual(r.stdout.decode(), "maildir ./Maildir/\nmbox ./Mailbox\nprogram touch ran\n"
                                            "forward a@remote.test\nforward b@remote.test\n"
                                            "did 2+2+1\n")
        self.assertEqual(self.home.messages(), [])
        self.assertFalse(os.path.exists(self.home.p("ran")))
        self.assertFalse(os.path.exists(self.home.p("Mailbox")))
        self.assertEqual(self.inst.queued(), [])

    def test_n_skips_the_loop_check(self):
        msg = b"Delivered-To: joe@example.test\n\nx\n"
        r = self.local(flags=["-n"], message=msg)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, b"maildir ./Maildir/\ndid 1+0+0\n")


class TestHostileArguments(LocalCase):
    def test_newline_in_address_cannot_add_a_header(self):
        self.home.maildir()
        r = self.local(local="joe\nX-Evil: 1", sender="a\nX-Evil: 2@x.test")
        self.assertDelivered(r, "1+0+0")
        head = self.home.messages()[0].split(b"\n\n", 1)[0]
        self.assertNotIn(b"\nX-Evil", head)
        self.assertIn(b"Delivered-To: joe_X-Evil: 1@example.test\n", head)

    def test_usage(self):
        r = subprocess.run([os.path.join(qng.BIN, "qmail-local"), "a", "b"], capture_output=True,
                           timeout=10)
        self.assertEqual(r.returncode, 100)
        self.assertIn(b"usage", r.stderr)

    def test_unseekable_message_defers(self):
        self.home.maildir()
        argv = [os.path.join(qng.BIN, "qmail-local"), "--", "joe", self.home.path, "joe", "", "",
                HOST, "s@x", "./Maildir/"]
        r = subprocess.run(argv, input=MSG, capture_output=True, timeout=10,
                           preexec_fn=as_owner(self.inst), env=self.inst.env)
        self.assertFails(r, 111, "Unable to rewind message. (#4.3.0)")


if __name__ == "__main__":
    unittest.main()
