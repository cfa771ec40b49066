# SPDX-License-Identifier: ISC
"""vdelivermail end to end, against a vpopmail tree written here by hand
as vpopmail 5.4 leaves it (~vpopmail/domains/DOMAIN with vpasswd, its
vpasswd.cdb, the accounts' Maildirs and a .qmail-default running
vdelivermail; users/assign with +DOMAIN- lines compiled by qmail-newu;
control/virtualdomains), following vpopmail's documentation
(README.vdelivermail, README.quotas) and Courier's README.maildirquota:

- run as qmail-local runs it (its environment, the message as a file on
  stdin, the domain's owner): existing accounts byte for byte, every
  catch-all instruction, the user-ext rule, alias domains, the account's
  .qmail (Maildir, forward, programs and their exit codes), the
  BOUNCE_MAIL flag, Delivered-To loops, Maildirs made when missing,
  quotas (the limit exactly, over, maildirsize missing or damaged, 20
  deliveries at once), the warning sent once, the over-quota flag for
  qmail-smtpd, trouble with the account store (a deferral, never a
  bounce), hostile names refused before any file is touched, odd
  messages stored as given;
- through the whole path: qmail-queue, qmail-send, qmail-lspawn,
  qmail-local, the domain's .qmail-default, and SMTP in."""
import os
import re
import stat
import subprocess
import time
import unittest

import qng
from cdbfile import cdb_bytes

DOM = "dom.test"
ALIAS = "alias.test"
MSG = b"Subject: hello\nFrom: a@b.test\n\nbody line\nlast\n"
# real crypt(3) hashes, as vadduser writes them (passwords "secret" and
# "secret2"); vdelivermail never looks at them
HASH1 = "$1$qngsalt1$nNaGcfpJWMxpseJz/soq9."
HASH6 = ("$6$qngsalt2$CPC3xubROGGDPVhBI4vYGdcnt2WCJxZqzIrU8uurtVTrGbnIqPmyKEAvYqmu0Hu3H"
         "TAlq5I0r2X1air6XPKBH.")
NAME_RX = re.compile(r"^\d+\.M\d{6}P\d+Q\d+\.[^/]+,S=(\d+)$")


# --- vpopmail's files ------------------------------------------------------
class Vpop:
    """~vpopmail in the instance's temporary tree, owned by the instance's
    owner (the uid qmail-local runs vdelivermail as)."""

    def __init__(self, inst):
        self.inst = inst
        self.home = os.path.join(inst.tmp, "vpopmail")
        self.domains = os.path.join(self.home, "domains")
        self.users = {}  # domain -> {name: line}
        self.assign = []
        self.mkdir(self.home, 0o755)
        self.mkdir(self.domains, 0o755)
        inst.control("vpopmailhome", self.home + "\n")
        # where vdelivermail leaves over-quota flags for qmail-smtpd
        self.mkdir(inst.path("users", "overquota"), 0o755)

    def own(self, p):
        if qng.IS_ROOT:
            os.lchown(p, self.inst.uid, self.inst.gid)

    def mkdir(self, p, mode=0o700):
        if not os.path.isdir(p):
            os.mkdir(p)
        os.chmod(p, mode)
        self.own(p)

    def write(self, p, data, mode=0o600):
        with open(p, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.chmod(p, mode)
        self.own(p)
        return p

    def dom(self, domain=DOM):
        return os.path.join(self.domains, domain)

    def add_domain(self, domain=DOM, instruction="bounce-no-mailbox", aliases=()):
        """vadddomain: the directory, .qmail-default, postmaster, and the
        lines of users/assign and virtualdomains."""
        d = self.dom(domain)
        self.mkdir(d)
        self.write(os.path.join(d, ".qmail-default"),
                   "| %s '' %s\n" % (os.path.join(self.inst.bin, "vdelivermail"), instruction))
        self.users[domain] = {}
        self.add_user("postmaster", domain=domain, hash=HASH6)
        uid, gid = self.inst.uid, self.inst.gid
        self.assign.append("+%s-:%s:%d:%d:%s:-::\n" % (domain, domain, uid, gid, d))
        for a in aliases:  # vaddaliasdomain
            self.assign.append("+%s-:%s:%d:%d:%s:-::\n" % (a, domain, uid, gid, d))
        self.newu()
        return d

    def newu(self):
        inst = self.inst
        inst.write(inst.path("users", "assign"), "".join(self.assign) + ".\n")
        r = inst.run("qmail-newu")
        assert r.returncode == 0, r.stderr
        vd = []
        for line in self.assign:
            real = line.split(":")[0][1:-1]
            vd.append("%s:%s\n" % (real, real))
        inst.control("virtualdomains", "".join(vd))
        inst.control("rcpthosts", "".join(l.split(":", 1)[0] + "\n" for l in vd))

    def add_user(self, name, domain=DOM, quota="NOQUOTA", flags=0, hash=HASH1,
                 maildir=True, gecos=None, dir=None):
        """vadduser: the account's line in vpasswd and vpasswd.cdb, its
        directory and Maildir."""
        d = self.dom(domain)
        home = dir if dir is not None else os.path.join(d, name)
        line = "%s:%s:1:%d:%s:%s:%s" % (name, hash, flags, gecos or name, home, quota)
        self.users[domain][name] = line
        self.save(domain)
        if maildir and dir is None:
            self.mkdir(home)
            self.maildir(os.path.join(home, "Maildir"))
        return home

    def save(self, domain=DOM):
        d = self.dom(domain)
        lines = [self.users[domain][n] for n in sorted(self.users[domain])]
        self.write(os.path.join(d, "vpasswd"), "".join(l + "\n" for l in lines))
        items = [(l.split(":", 1)[0].encode(), l.split(":", 1)[1].encode()) for l in lines]
        self.write(os.path.join(d, "vpasswd.cdb"), cdb_bytes(items))

    def maildir(self, p):
        self.mkdir(p)
        for s in ("cur", "new", "tmp"):
            self.mkdir(os.path.join(p, s))
        return p

    def md(self, name, domain=DOM):
        return os.path.join(self.dom(domain), name, "Maildir")

    def files(self, md, sub="new"):
        d = os.path.join(md, sub)
        return sorted(os.listdir(d), key=lambda n: os.stat(os.path.join(d, n)).st_mtime_ns)

    def messages(self, md, sub="new"):
        out = []
        for n in self.files(md, sub):
            with open(os.path.join(md, sub, n), "rb") as f:
                out.append(f.read())
        return out

    def tree(self):
        """Every path under ~vpopmail, to see that nothing was touched."""
        out = []
        for root, dirs, files in os.walk(self.home):
            for n in dirs + files:
                p = os.path.join(root, n)
                out.append((p, os.lstat(p).st_mtime_ns))
        return sorted(out)


def rpline(sender):
    return ("Return-Path: <%s>\n" % sender).encode()


class VdelCase(unittest.TestCase):
    def setUp(self):
        self.inst = qng.Instance(me="mx.test", rcpthosts=[DOM], locals_=["mx.test"])
        self.addCleanup(self.inst.cleanup)
        self.vp = Vpop(self.inst)
        self.domdir = self.vp.add_domain(aliases=[ALIAS])
        self.joe = self.vp.add_user("joe")

    def run_vdel(self, ext, host=DOM, message=MSG, instruction="bounce-no-mailbox",
                 sender="s@sender.test", env=None, argv=None, stdin=None, wait=True,
                 preexec=None):
        """vdelivermail as qmail-local runs it for ext@host: its
        environment, the message as a file, the domain's owner, the
        domain's directory as cwd.  Returns CompletedProcess (or the
        Popen with wait=False)."""
        mp = os.path.join(self.inst.tmp, "msg-%d-%d" % (os.getpid(), time.monotonic_ns()))
        with open(mp, "wb") as f:
            f.write(message)
        os.chmod(mp, 0o644)
        local = "%s-%s" % (host, ext)
        e = dict(self.inst.env)
        e.update({"EXT": ext, "HOST": host, "LOCAL": local, "USER": DOM,
                  "HOME": self.domdir, "SENDER": sender, "NEWSENDER": sender,
                  "RPLINE": "Return-Path: <%s>\n" % sender,
                  "DTLINE": "Delivered-To: %s@%s\n" % (local, host),
                  "UFLINE": "From %s Thu Jan  1 00:00:00 1970\n" % sender,
                  "DEFAULT": ext, "EXT2": "", "EXT3": "", "EXT4": ""})
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        args = argv if argv is not None else [
            os.path.join(self.inst.bin, "vdelivermail"), "", instruction]
        f = stdin if stdin is not None else open(mp, "rb")
        owner = self.inst.as_owner()

        def pre():
            if preexec:
                preexec()
            if owner:
                owner()
        try:
            p = subprocess.Popen(args, stdin=f, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=e,
                                 preexec_fn=pre, cwd=self.domdir)
            if not wait:
                return p
            out, err = p.communicate(timeout=30)
            return subprocess.CompletedProcess(args, p.returncode, out, err)
        finally:
            if stdin is None:
                f.close()

    def said(self, r):
        return (r.stdout + r.stderr).decode(errors="replace")

    def assertExit(self, r, code, words=None):
        self.assertEqual(r.returncode, code, self.said(r))
        if words:
            self.assertIn(words, self.said(r))
        # one line, the report's
        self.assertEqual(r.stdout.count(b"\n"), 1, self.said(r))
        self.assertTrue(r.stdout.endswith(b"\n"))

    def head(self, rcpt, sender="s@sender.test"):
        return rpline(sender) + b"Delivered-To: " + rcpt.encode() + b"\n"


class TestAccounts(VdelCase):
    def test_existing_user_byte_exact(self):
        r = self.run_vdel("joe")
        self.assertExit(r, 0)
        md = self.vp.md("joe")
        want = self.head("joe@dom.test") + MSG
        self.assertEqual(self.vp.messages(md), [want])
        name = self.vp.files(md)[0]
        m = NAME_RX.match(name)
        self.assertTrue(m, name)
        self.assertEqual(int(m.group(1)), len(want))  # ",S=" is the file's size
        st = os.stat(os.path.join(md, "new", name))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(os.listdir(os.path.join(md, "tmp")), [])
        self.assertEqual(r.stdout.decode(),
                         "vdelivermail: delivered to joe@dom.test (Maildir, %d bytes)\n" % len(want))
        # NOQUOTA and no maildirsize: none is made
        self.assertFalse(os.path.exists(os.path.join(md, "maildirsize")))

    def test_name_in_any_case(self):
        self.assertExit(self.run_vdel("JoE", host="DOM.Test"), 0)
        self.assertEqual(len(self.vp.messages(self.vp.md("joe"))), 1)

    def test_odd_messages_stored_as_given(self):
        md = self.vp.md("joe")
        bodies = [b"\nno header at all\n", b"", b"bare LF\rand CR\r\n\x00NUL\x00\n",
                  b"X-Huge: " + b"h" * 300000 + b"\n\nbody",
                  b"Subject: no newline at the end"]
        for b in bodies:
            self.assertExit(self.run_vdel("joe", message=b), 0)
        got = sorted(self.vp.messages(md))
        self.assertEqual(got, sorted(self.head("joe@dom.test") + b for b in bodies))

    def test_alias_domain(self):
        r = self.run_vdel("joe", host=ALIAS)
        self.assertExit(r, 0, "joe@dom.test")
        self.assertEqual(self.vp.messages(self.vp.md("joe")), [self.head("joe@dom.test") + MSG])

    def test_user_ext(self):
        """README: joe-anything reaches joe when there is no such account
        (vpopmail's user-ext rule), and joe's .qmail-anything decides."""
        self.assertExit(self.run_vdel("joe-lists"), 0)
        self.assertEqual(self.vp.messages(self.vp.md("joe")), [self.head("joe@dom.test") + MSG])
        self.vp.add_user("joe-x")  # an account of that name wins
        self.assertExit(self.run_vdel("joe-x"), 0)
        self.assertEqual(len(self.vp.messages(self.vp.md("joe-x"))), 1)
        self.vp.maildir(os.path.join(self.joe, "Lists"))
        self.vp.write(os.path.join(self.joe, ".qmail-lists"), "./Lists/\n")
        self.vp.write(os.path.join(self.joe, ".qmail-news-default"), "# delete\n")
        self.assertExit(self.run_vdel("joe-lists"), 0)
        self.assertEqual(self.vp.messages(os.path.join(self.joe, "Lists")),
                         [self.head("joe@dom.test") + MSG])
        self.assertExit(self.run_vdel("joe-news-today"), 0, "deleted")
        self.assertEqual(len(self.vp.messages(self.vp.md("joe"))), 1)
        # no ext file: joe's .qmail, else the Maildir
        self.vp.add_user("ann")
        self.assertExit(self.run_vdel("ann-other"), 0)
        self.assertEqual(len(self.vp.messages(self.vp.md("ann"))), 1)

    def test_missing_directories_are_made(self):
        home = self.vp.add_user("new", maildir=False)
        self.assertFalse(os.path.exists(home))
        r = self.run_vdel("new")
        self.assertExit(r, 0)
        self.assertEqual(self.vp.messages(os.path.join(home, "Maildir")),
                         [self.head("new@dom.test") + MSG])
        # an existing directory without its Maildir
        home2 = self.vp.add_user("half", maildir=False)
        self.vp.mkdir(home2)
        self.assertExit(self.run_vdel("half"), 0)
        self.assertEqual(len(self.vp.messages(os.path.join(home2, "Maildir"))), 1)

    def test_directory_outside_the_domain_is_not_made(self):
        self.vp.add_user("out", dir=os.path.join(self.inst.tmp, "elsewhere", "out"))
        r = self.run_vdel("out")
        self.assertExit(r, 111, "(#4.3.5)")
        self.assertFalse(os.path.exists(os.path.join(self.inst.tmp, "elsewhere")))

    def test_bounce_mail_flag(self):
        self.vp.add_user("locked", flags=0x10)
        r = self.run_vdel("locked")
        self.assertExit(r, 100, "(#5.2.1)")
        self.assertEqual(self.vp.messages(self.vp.md("locked")), [])

    def test_loop(self):
        looped = b"Delivered-To: JOE@dom.test\nSubject: round\n\nx\n"
        r = self.run_vdel("joe", message=looped)
        self.assertExit(r, 100, "looping")
        self.assertIn("(#5.4.6)", self.said(r))
        self.assertEqual(self.vp.messages(self.vp.md("joe")), [])
        # qmail-local's own line, and one in the body, are not loops
        ok = (b"Delivered-To: dom.test-joe@dom.test\nSubject: s\n\n"
              b"Delivered-To: joe@dom.test\n")
        self.assertExit(self.run_vdel("joe", message=ok), 0)
        # an alias domain's mail looping through the real domain
        self.assertExit(self.run_vdel("joe", host=ALIAS, message=looped), 100, "(#5.4.6)")
        # joe-ext comes back to joe: a loop too
        self.assertExit(self.run_vdel("joe-ext", message=looped), 100, "(#5.4.6)")


class TestCatchAll(VdelCase):
    def test_bounce_no_mailbox(self):
        before = self.vp.tree()
        r = self.run_vdel("nosuch")
        self.assertEqual(r.returncode, 100)
        self.assertEqual(r.stdout, b"Sorry, no mailbox here by that name. (#5.1.1)\n")
        self.assertEqual(self.vp.tree(), before)

    def test_admins_no_user_message(self):
        self.vp.write(os.path.join(self.vp.domains, ".no-user.msg"),
                      "No such user here.\nWrite to info@dom.test.\n", 0o644)
        r = self.run_vdel("nosuch")
        self.assertEqual(r.returncode, 100)
        self.assertEqual(r.stdout, b"No such user here.\nWrite to info@dom.test. (#5.1.1)\n")
        # the domain's own file comes first
        self.vp.write(os.path.join(self.domdir, ".no-user.msg"), "Gone. (#5.1.1)\n", 0o644)
        r = self.run_vdel("nosuch")
        self.assertEqual(r.stdout, b"Gone. (#5.1.1)\n")

    def test_delete(self):
        before = self.vp.tree()
        r = self.run_vdel("nosuch", instruction="delete")
        self.assertExit(r, 0, "deleted")
        self.assertIn("nosuch@dom.test", self.said(r))
        self.assertEqual(self.vp.tree(), before)
        self.assertEqual(self.inst.queued(), [])

    def test_forward(self):
        r = self.run_vdel("nosuch", instruction="catch@other.test", sender="s@x.test")
        self.assertExit(r, 0, "forwarded to catch@other.test")
        q = self.inst.queued()
        self.assertEqual(len(q), 1)
        self.assertEqual(q[0]["sender"], "s@x.test")
        self.assertEqual(q[0]["rcpts"], ["catch@other.test"])
        self.assertTrue(q[0]["mess"].endswith(b"Delivered-To: nosuch@dom.test\n" + MSG),
                        q[0]["mess"])
        # the bounce sender stays the bounce sender
        self.assertExit(self.run_vdel("nosuch", instruction="&catch@other.test", sender=""), 0)
        self.assertEqual(sorted(m["sender"] for m in self.inst.queued()), ["", "s@x.test"])

    def test_forward_loop(self):
        looped = b"Delivered-To: catch@other.test\n\nx\n"
        r = self.run_vdel("nosuch", instruction="catch@other.test", message=looped)
        self.assertExit(r, 100, "(#5.4.6)")
        self.assertEqual(self.inst.queued(), [])

    def test_forward_through_qmailqueue(self):
        """$QMAILQUEUE replaces qmail-queue, as for qmail-local."""
        fake = os.path.join(self.vp.home, "fakeqq")
        self.vp.write(fake, "#!/bin/sh\ncat > %s.msg; cat <&1 > %s.env; exit 31\n"
                      % (fake, fake), 0o755)
        r = self.run_vdel("nosuch", instruction="catch@other.test",
                          env={"QMAILQUEUE": fake})
        self.assertExit(r, 100, "(#5.3.0)")  # 31: refused for good
        self.assertEqual(self.said(r).count("(#"), 1, self.said(r))
        self.assertIn("qmail-queue exit 31", self.said(r))
        with open(fake + ".msg", "rb") as f:
            self.assertEqual(f.read(), b"Delivered-To: nosuch@dom.test\n" + MSG)

    def test_user_directory(self):
        """README: a path; a user's directory gets /Maildir (vpopmail appends
        it), a Maildir is used as it is; Delivered-To names the address
        the mail was for."""
        pm = os.path.join(self.domdir, "postmaster")
        for instr in (pm, pm + "/", pm + "/Maildir", pm + "/Maildir/"):
            r = self.run_vdel("nosuch", instruction=instr)
            self.assertExit(r, 0, "no such mailbox, delivered into")
        self.assertEqual(self.vp.messages(self.vp.md("postmaster")),
                         [self.head("nosuch@dom.test") + MSG] * 4)

    def test_user_directory_with_dot_qmail(self):
        pm = os.path.join(self.domdir, "postmaster")
        self.vp.maildir(os.path.join(pm, "Catch"))
        self.vp.write(os.path.join(pm, ".qmail"), "./Catch/\n")
        self.assertExit(self.run_vdel("nosuch", instruction=pm), 0)
        self.assertEqual(len(self.vp.messages(os.path.join(pm, "Catch"))), 1)
        self.assertEqual(self.vp.messages(self.vp.md("postmaster")), [])

    def test_bad_instructions_defer(self):
        for instr in ("bounce", "postmaster", "./Maildir/", "/a/../b", ""):
            r = self.run_vdel("nosuch", instruction=instr)
            self.assertExit(r, 111, "(#4.3.5)")
        r = self.run_vdel("nosuch", instruction=os.path.join(self.inst.tmp, "nothing"))
        self.assertExit(r, 111, "no Maildir at")

    def test_usage(self):
        vd = os.path.join(self.inst.bin, "vdelivermail")
        for argv in ([vd], [vd, ""], [vd, "", "delete", "extra"]):
            r = self.run_vdel("joe", argv=argv)
            self.assertExit(r, 111, "usage")
        r = self.run_vdel("joe", env={"EXT": None})
        self.assertExit(r, 111, "(#4.3.5)")
        self.assertEqual(self.vp.messages(self.vp.md("joe")), [])


class TestDotQmail(VdelCase):
    def qmail(self, text):
        self.vp.write(os.path.join(self.joe, ".qmail"), text)

    def test_forward_and_keep_a_copy(self):
        self.qmail("# keep a copy\n&away@other.test\n./Maildir/\nmore@other.test\n")
        r = self.run_vdel("joe", sender="s@x.test")
        self.assertExit(r, 0, "(1 Maildir, 2 forwarded, 0 program)")
        self.assertEqual(self.vp.messages(self.vp.md("joe")),
                         [self.head("joe@dom.test", "s@x.test") + MSG])
        q = self.inst.queued()
        self.assertEqual(len(q), 1)  # one qmail-queue run, as qmail-local
        self.assertEqual(q[0]["rcpts"], ["away@other.test", "more@other.test"])
        self.assertEqual(q[0]["sender"], "s@x.test")
        self.assertTrue(q[0]["mess"].endswith(b"Delivered-To: joe@dom.test\n" + MSG))

    def test_absolute_maildir_in_the_domains(self):
        ann = self.vp.add_user("ann")
        self.qmail("%s/Maildir/\n" % ann)
        self.assertExit(self.run_vdel("joe"), 0)
        self.assertEqual(len(self.vp.messages(self.vp.md("ann"))), 1)

    def test_domain_directory_spelled_otherwise(self):
        """~vpopmail moved (control/vpopmailhome elsewhere, users/assign
        still naming the old place): the domain's own directory is still
        allowed, and relative paths are the account's."""
        other = os.path.join(self.inst.tmp, "moved")
        self.vp.mkdir(other, 0o755)
        self.inst.control("vpopmailhome", other + "\n")
        ann = self.vp.add_user("ann")
        self.qmail("./Maildir/\n%s/Maildir/\n" % ann)
        self.assertExit(self.run_vdel("joe"), 0, "(2 Maildir, 0 forwarded, 0 program)")
        self.assertEqual(len(self.vp.messages(self.vp.md("ann"))), 1)
        self.assertEqual(len(self.vp.messages(self.vp.md("joe"))), 1)

    def test_paths_outside_refused(self):
        outside = self.vp.maildir(os.path.join(self.inst.tmp, "outside"))
        for line in ("../postmaster/Maildir/", "./Maildir/../../postmaster/Maildir/",
                     outside + "/"):
            self.qmail("./Maildir/\n" + line + "\n")
            r = self.run_vdel("joe")
            self.assertExit(r, 111, "(#4.3.5)")
        # checked before anything was delivered: no copy in ./Maildir/
        self.assertEqual(self.vp.messages(self.vp.md("joe")), [])
        self.assertEqual(self.vp.messages(outside), [])
        self.assertEqual(self.vp.messages(self.vp.md("postmaster")), [])

    def test_mbox_defers(self):
        self.qmail("./Mailbox\n")
        self.assertExit(self.run_vdel("joe"), 111, "mbox")
        self.assertFalse(os.path.exists(os.path.join(self.joe, "Mailbox")))

    def test_comment_only_deletes(self):
        """qmailadmin's "delete all mail" is a .qmail of "# delete"."""
        self.qmail("# delete\n")
        self.assertExit(self.run_vdel("joe"), 0, "deleted")
        self.assertEqual(self.vp.messages(self.vp.md("joe")), [])

    def test_empty_or_blank_means_the_maildir(self):
        for text in ("", "\n\n  \n"):
            self.qmail(text)
            self.assertExit(self.run_vdel("joe"), 0)
        self.assertEqual(len(self.vp.messages(self.vp.md("joe"))), 2)

    def test_programs(self):
        """|program: sh -c in the account's directory, the message as
        queued on stdin, qmail-command(8)'s exit codes."""
        self.qmail("|cat > got; echo \"$EXT $SENDER\" > env\n./Maildir/\n")
        self.assertExit(self.run_vdel("joe"), 0, "1 program")
        with open(os.path.join(self.joe, "got"), "rb") as f:
            self.assertEqual(f.read(), MSG)
        with open(os.path.join(self.joe, "env"), "rb") as f:
            self.assertEqual(f.read(), b"joe s@sender.test\n")
        self.assertEqual(len(self.vp.messages(self.vp.md("joe"))), 1)
        for code, want in ((100, 100), (64, 100), (77, 100), (111, 111), (1, 111)):
            self.qmail("|echo the program says no; exit %d\n./Maildir/\n" % code)
            r = self.run_vdel("joe")
            self.assertEqual(r.returncode, want, self.said(r))
            self.assertIn("the program says no\n", self.said(r))
        # 99: delivered, and the rest of the file is not followed
        self.qmail("|exit 99\n./Maildir/\n&away@other.test\n")
        r = self.run_vdel("joe")
        self.assertEqual(r.returncode, 99, self.said(r))
        self.assertEqual(len(self.vp.messages(self.vp.md("joe"))), 1)
        self.assertEqual(self.inst.queued(), [])
        # a program killed by a signal: try again later
        self.qmail("|kill -9 $$\n")
        self.assertEqual(self.run_vdel("joe").returncode, 111)

    def test_bad_lines_defer_before_delivering(self):
        self.qmail("./Maildir/\n&not an address\n")
        r = self.run_vdel("joe")
        self.assertExit(r, 111, "line 2")
        self.assertEqual(self.vp.messages(self.vp.md("joe")), [])


class TestQuota(VdelCase):
    def size_of(self, rcpt="joe@dom.test", message=MSG):
        return len(self.head(rcpt) + message)

    def maildirsize(self, md):
        with open(os.path.join(md, "maildirsize"), "rb") as f:
            return f.read().decode()

    def sums(self, md):
        lines = self.maildirsize(md).splitlines()
        b = c = 0
        for l in lines[1:]:
            x, y = l.split()
            b += int(x)
            c += int(y)
        return lines[0], b, c

    def test_exactly_at_the_limit(self):
        self.inst.control("quotawarnpercent", "0\n")  # no warning: 0 is off
        n = self.size_of()
        self.vp.add_user("joe", quota="%dS" % (2 * n))
        md = self.vp.md("joe")
        self.assertExit(self.run_vdel("joe"), 0)
        self.assertEqual(self.maildirsize(md), "%dS\n0 0\n%d 1\n" % (2 * n, n))
        self.assertExit(self.run_vdel("joe"), 0)  # now exactly full
        self.assertEqual(self.sums(md), ("%dS" % (2 * n), 2 * n, 2))
        r = self.run_vdel("joe")
        self.assertEqual(r.returncode, 111, self.said(r))
        self.assertIn("user is over quota (#4.2.2)", self.said(r))
        self.assertEqual(len(self.vp.messages(md)), 2)
        self.inst.control("overquota", "bounce\n")
        r = self.run_vdel("joe")
        self.assertExit(r, 100, "user is over quota (#5.2.2)")
        self.assertEqual(len(self.vp.messages(md)), 2)

    def test_count_limit_and_admins_message(self):
        self.vp.add_user("joe", quota="100000000S,1C")
        self.vp.write(os.path.join(self.domdir, ".over-quota.msg"),
                      "The mailbox is full.\n", 0o644)
        self.assertExit(self.run_vdel("joe"), 0)
        r = self.run_vdel("joe")
        self.assertEqual(r.returncode, 111)
        self.assertTrue(r.stdout.startswith(b"The mailbox is full. (#4.2.2)"), self.said(r))

    def test_maildirsize_missing_is_recalculated(self):
        md = self.vp.md("joe")
        # mail already there: sizes from the names, else from the files
        self.vp.write(os.path.join(md, "cur", "1700000000.1234.host,S=5000:2,S"), b"")
        self.vp.write(os.path.join(md, "new", "1700000001.M1P2Q3.host"), b"x" * 700)
        self.vp.write(os.path.join(md, "cur", "1700000002.M1P2Q3.host,S=900:2,ST"), b"")
        self.vp.maildir(os.path.join(md, ".Sent"))
        self.vp.write(os.path.join(md, ".Sent", "cur", "1700000003.M1.h,S=40:2,S"), b"")
        self.vp.maildir(os.path.join(md, ".Trash"))
        self.vp.write(os.path.join(md, ".Trash", "cur", "1700000004.M1.h,S=99999:2,S"), b"")
        self.vp.add_user("joe", quota="1000000S,1000C")
        self.assertExit(self.run_vdel("joe"), 0)
        n = self.size_of()
        self.assertEqual(self.maildirsize(md), "1000000S,1000C\n5740 3\n%d 1\n" % n)

    def test_maildirsize_damaged_or_for_another_quota(self):
        md = self.vp.md("joe")
        self.vp.add_user("joe", quota="1000000S")
        n = self.size_of()
        for text in ("garbage\n", "", "500S\n10 1\n", "1000000S\n10 x\n"):
            self.vp.write(os.path.join(md, "maildirsize"), text, 0o644)
            self.assertExit(self.run_vdel("joe"), 0)
            have = len(self.vp.messages(md))
            self.assertEqual(self.maildirsize(md),
                             "1000000S\n%d %d\n%d 1\n" % ((have - 1) * n, have - 1, n))
        # a maildirsize that says more than the Maildir holds, recent: it
        # is believed (Courier's rule) and the mail deferred ...
        self.vp.write(os.path.join(md, "maildirsize"), "1000000S\n999999 1\n", 0o644)
        self.assertEqual(self.run_vdel("joe").returncode, 111)
        # ... and once it is 15 minutes old, counted again
        old = time.time() - 16 * 60
        os.utime(os.path.join(md, "maildirsize"), (old, old))
        self.assertExit(self.run_vdel("joe"), 0)

    def test_twenty_at_once(self):
        md = self.vp.md("joe")
        self.vp.add_user("joe", quota="50000000S")
        # first without maildirsize (every run wants to count the
        # Maildir), then with it
        for _ in range(2):
            procs = [self.run_vdel("joe", message=MSG + b"x" * i + b"\n", wait=False)
                     for i in range(20)]
            for p in procs:
                out, err = p.communicate(timeout=60)
                self.assertEqual(p.returncode, 0, out + err)
            files = self.vp.files(md)
            total = sum(os.path.getsize(os.path.join(md, "new", f)) for f in files)
            self.assertEqual(self.sums(md), ("50000000S", total, len(files)))
            for f in files:
                self.assertEqual(int(NAME_RX.match(f).group(1)),
                                 os.path.getsize(os.path.join(md, "new", f)))
        self.assertEqual(len(self.vp.files(md)), 40)

    def test_warning_sent_once(self):
        n = self.size_of()
        # the second message takes the box over 90%, not over the quota
        quota = int(2 * n / 0.95)
        self.vp.add_user("joe", quota="%dS" % quota)
        md = self.vp.md("joe")
        r = self.run_vdel("joe")
        self.assertExit(r, 0)
        self.assertNotIn("warning", self.said(r))
        r = self.run_vdel("joe")
        self.assertExit(r, 0, "quota warning sent")
        msgs = self.vp.messages(md)
        self.assertEqual(len(msgs), 3)
        warn = [m for m in msgs if b"Subject: Mail quota warning" in m]
        self.assertEqual(len(warn), 1)
        w = warn[0].decode()
        self.assertTrue(w.startswith("Delivered-To: joe@dom.test\nDate: "), w)
        self.assertIn("\nFrom: Mail Delivery System <postmaster@dom.test>\n", w)
        self.assertIn("\nTo: joe@dom.test\n", w)
        self.assertIn("is 9", w)
        self.assertTrue(os.path.exists(os.path.join(md, "quotawarn")))
        # the warning is counted in maildirsize
        self.assertEqual(self.sums(md)[1:], (sum(len(m) for m in msgs), 3))
        # not again: over quota now, deferred, and no second warning
        r = self.run_vdel("joe")
        self.assertEqual(r.returncode, 111)
        self.assertEqual(len(self.vp.messages(md)), 3)
        # after a day it is sent again (vpopmail's rule)
        old = time.time() - 86401
        os.utime(os.path.join(md, "quotawarn"), (old, old))
        self.assertEqual(self.run_vdel("joe").returncode, 111)
        self.assertEqual(len([m for m in self.vp.messages(md)
                              if b"Subject: Mail quota warning" in m]), 2)

    def test_warning_rearmed_below_threshold(self):
        n = self.size_of()
        self.vp.add_user("joe", quota="%dS" % int(2 * n / 0.95))
        md = self.vp.md("joe")
        self.run_vdel("joe")
        self.run_vdel("joe")  # warned
        # the user empties the mailbox; the next delivery is under 90%
        for f in self.vp.files(md):
            os.unlink(os.path.join(md, "new", f))
        os.unlink(os.path.join(md, "maildirsize"))
        self.assertExit(self.run_vdel("joe"), 0)
        self.assertFalse(os.path.exists(os.path.join(md, "quotawarn")))
        r = self.run_vdel("joe")
        self.assertExit(r, 0, "quota warning sent")

    def test_admins_warning_message(self):
        self.vp.write(os.path.join(self.vp.domains, ".quotawarn.msg"),
                      "From: Admin <admin@dom.test>\nSubject: Full soon\n\nClean up.\n", 0o644)
        n = self.size_of()
        self.vp.add_user("joe", quota="%dS" % int(n / 0.95))
        md = self.vp.md("joe")
        self.assertExit(self.run_vdel("joe"), 0, "quota warning sent")
        warn = [m for m in self.vp.messages(md) if b"Full soon" in m]
        self.assertEqual(len(warn), 1)
        self.assertRegex(warn[0].decode(),
                         r"\ADelivered-To: joe@dom\.test\nDate: [^\n]+\n"
                         r"From: Admin <admin@dom\.test>\nSubject: Full soon\n\nClean up\.\n\Z")

    def test_overquota_flag_for_smtpd(self):
        n = self.size_of()
        self.vp.add_user("joe", quota="%dS" % n)
        flag = self.inst.path("users", "overquota", "joe@dom.test")
        self.assertExit(self.run_vdel("joe"), 0)
        self.assertFalse(os.path.exists(flag))
        self.assertEqual(self.run_vdel("joe").returncode, 111)  # full
        self.assertTrue(os.path.exists(flag))
        # the admin raises the quota: the next delivery clears the flag
        self.vp.add_user("joe", quota="%dS" % (100 * n))
        self.assertExit(self.run_vdel("joe"), 0)
        self.assertFalse(os.path.exists(flag))

    def test_big_message_does_not_mark_the_box_full(self):
        """A message too big for the room left is refused, but the box
        can take other mail: no flag for qmail-smtpd."""
        self.vp.add_user("joe", quota="100000S")
        flag = self.inst.path("users", "overquota", "joe@dom.test")
        r = self.run_vdel("joe", message=MSG + b"x" * 200000)
        self.assertEqual(r.returncode, 111, self.said(r))
        self.assertFalse(os.path.exists(flag))
        self.assertExit(self.run_vdel("joe"), 0)

    def test_folder_counts_in_its_maildir(self):
        """A .qmail line delivering into a Maildir++ folder of the account
        (./Maildir/.Lists/, with its maildirfolder file) is held to the
        account's quota and counted in the Maildir's maildirsize."""
        n = self.size_of()
        self.inst.control("quotawarnpercent", "0\n")
        self.vp.add_user("joe", quota="%dS" % n)
        md = self.vp.md("joe")
        lists = self.vp.maildir(os.path.join(md, ".Lists"))
        self.vp.write(os.path.join(lists, "maildirfolder"), b"")
        self.vp.write(os.path.join(self.joe, ".qmail"), "./Maildir/.Lists/\n")
        self.assertExit(self.run_vdel("joe"), 0)
        self.assertEqual(len(self.vp.messages(lists)), 1)
        self.assertEqual(self.maildirsize(md), "%dS\n0 0\n%d 1\n" % (n, n))
        self.assertFalse(os.path.exists(os.path.join(lists, "maildirsize")))
        r = self.run_vdel("joe")
        self.assertExit(r, 111, "user is over quota")
        self.assertEqual(len(self.vp.messages(lists)), 1)

    def test_quota_of_another_maildir(self):
        """A Maildir that is not an account's (a catch-all) is held to the
        quota its maildirsize names (vpopmail's read_quota_from_maildir)."""
        catch = self.vp.maildir(os.path.join(self.domdir, "catchall"))
        self.vp.write(os.path.join(catch, "maildirsize"), "10S\n0 0\n", 0o644)
        r = self.run_vdel("nosuch", instruction=catch)
        self.assertEqual(r.returncode, 111, self.said(r))
        self.assertIn("over quota", self.said(r))
        self.vp.write(os.path.join(catch, "maildirsize"), "1000000S\n0 0\n", 0o644)
        self.assertExit(self.run_vdel("nosuch", instruction=catch), 0)


class TestTrouble(VdelCase):
    def test_unreadable_vpasswd_cdb_defers(self):
        os.chmod(os.path.join(self.domdir, "vpasswd.cdb"), 0)
        for who in ("joe", "nosuch"):
            r = self.run_vdel(who)
            self.assertExit(r, 111, "(#4.3.0)")
            self.assertIn("temporary trouble with the account store", self.said(r))
        self.assertEqual(self.vp.messages(self.vp.md("joe")), [])

    def test_damaged_vpasswd_cdb_defers(self):
        self.vp.write(os.path.join(self.domdir, "vpasswd.cdb"), b"\x01" * 100)
        r = self.run_vdel("nosuch")
        self.assertEqual(r.returncode, 111, self.said(r))

    def test_unreadable_users_cdb_defers(self):
        os.chmod(self.inst.path("users", "cdb"), 0)
        self.assertExit(self.run_vdel("joe"), 111, "users/cdb")

    def test_not_a_virtual_domain_defers(self):
        self.assertExit(self.run_vdel("joe", host="other.test"), 111, "not a virtual domain")

    def test_unwritable_maildir_defers(self):
        os.chmod(os.path.join(self.vp.md("joe"), "tmp"), 0o500)
        self.assertExit(self.run_vdel("joe"), 111, "unable to deliver")

    def test_write_error_leaves_nothing(self):
        """A write cut short (here a file size limit) defers, and leaves
        nothing in new/ or tmp/, and nothing counted in maildirsize."""
        import resource
        import signal
        self.vp.add_user("joe", quota="100000000S")
        md = self.vp.md("joe")

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (50000, 50000))
        r = self.run_vdel("joe", message=MSG + b"x" * 200000 + b"\n", preexec=limit)
        self.assertExit(r, 111, "unable to deliver")
        self.assertEqual(os.listdir(os.path.join(md, "new")), [])
        self.assertEqual(os.listdir(os.path.join(md, "tmp")), [])
        with open(os.path.join(md, "maildirsize")) as f:
            self.assertEqual(f.read(), "100000000S\n0 0\n")

    def test_not_seekable_defers(self):
        r, w = os.pipe()
        os.write(w, MSG)
        os.close(w)
        with os.fdopen(r, "rb") as f:
            res = self.run_vdel("joe", stdin=f)
        self.assertExit(res, 111, "(#4.3.0)")

    def test_hostile_names_refused_untouched(self):
        """A name with '/', '..', or a control byte is refused for good
        before anything is read: not even users/cdb (gone here)."""
        os.unlink(self.inst.path("users", "cdb"))
        before = self.vp.tree()
        for ext, host in (("../../etc/passwd", DOM), ("a/b", DOM), ("..", DOM),
                          ("joe\x01", DOM), ("joe\x1b[2J", DOM), ("joe", "../" + DOM),
                          ("joe", "dom.test/x"), ("joe", "dom\ttest"), ("joe", "a..test")):
            r = self.run_vdel(ext, host=host)
            self.assertEqual(r.returncode, 100, (ext, host, self.said(r)))
            line = r.stdout.decode()
            self.assertEqual(line.count("\n"), 1, line)
            self.assertNotIn("\x1b", line)
            self.assertNotIn("\x01", line)
        self.assertEqual(self.vp.tree(), before)
        r = self.run_vdel("joe\x1b[2J")
        self.assertIn("\\033[2J", r.stdout.decode())


class TestThroughQmail(VdelCase):
    """The whole path: qmail-send, qmail-lspawn, qmail-local, the domain's
    .qmail-default, vdelivermail."""

    def setUp(self):
        super().setUp()
        self.inst.start_send()
        self.inst.wait_log(r"^status: local 0/10 remote 0/20$")

    def wait_mail(self, md, n=1, timeout=20):
        return qng.wait_for(lambda: len(self.vp.messages(md)) >= n and self.vp.messages(md),
                            timeout, what="%d message(s) in %s; log:\n%s" % (
                                n, md, self.inst.log("send.log")[-3000:]))

    def test_injected_mail_byte_exact(self):
        self.assertEqual(self.inst.inject(MSG, "s@x.test", ["joe@dom.test"]), 0)
        got = self.wait_mail(self.vp.md("joe"))
        self.assertEqual(len(got), 1)
        self.assertRegex(got[0].decode(),
                         r"\AReturn-Path: <s@x\.test>\nDelivered-To: joe@dom\.test\n"
                         r"Received: \(qmail \d+ invoked by uid \d+\); [^\n]+\n" +
                         re.escape(MSG.decode()) + r"\Z")
        self.inst.wait_log(r"delivery \d+: success: vdelivermail:_delivered_to_joe@dom\.test")

    def test_unknown_user_bounces_to_the_sender(self):
        self.assertEqual(self.inst.inject(MSG, "joe@dom.test", ["nosuch@alias.test"]), 0)
        b = self.wait_mail(self.vp.md("joe"))[0].decode()
        # qmail names the address as virtualdomains made it
        self.assertIn("<alias.test-nosuch@alias.test>:\n"
                      "Sorry, no mailbox here by that name. (#5.1.1)\n", b)
        self.assertIn("Status: 5.1.1", b)
        self.assertTrue(b.startswith("Return-Path: <>\nDelivered-To: joe@dom.test\n"), b)

    def test_over_quota_is_deferred(self):
        self.vp.add_user("joe", quota="10S")
        self.assertEqual(self.inst.inject(MSG, "s@x.test", ["joe@dom.test"]), 0)
        self.inst.wait_log(r"delivery \d+: deferral: user_is_over_quota_\(#4\.2\.2\)")
        self.assertEqual(self.vp.messages(self.vp.md("joe")), [])

    def test_smtp_to_an_alias_domain(self):
        import smtplib
        port = self.inst.start_smtpd(rules="127.0.0.1:allow\n:allow\n")
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
            s.sendmail("s@x.test", ["joe@alias.test"], MSG.replace(b"\n", b"\r\n"))
        got = self.wait_mail(self.vp.md("joe"))[0]
        self.assertIn(b"Delivered-To: joe@dom.test\n", got)
        self.assertTrue(got.endswith(MSG), got)


if __name__ == "__main__":
    unittest.main()
