# SPDX-License-Identifier: ISC
"""Root-only: the whole installation, as doc/migrating.md and the README
describe it, in a fresh root of its own (a temporary directory standing
for /, with QMAIL_HOME, PREFIX, the log directory and the tcp rules under
it; programs built for that QMAIL_HOME):

  a tree as qmail-1.03 leaves it (control files, users/assign, aliases,
  an rc, a queue with a message in todo/ and a preprocessed one)
  -> make install over it -> qmail-setup -r
  -> the shipped systemd units, booted by a stand-in (systemd is not
     PID 1 here: ExecStart, ExecReload, KillMode=mixed as systemd does
     them) and the daemontools run scripts under Debian's svscan,
     in a network namespace of the test's own (port 25 is the real one)
  -> the old queue delivered, mail over SMTP, reload, stop, mail while
     qmail-send is stopped, start: nothing lost; logs in LOGDIR/current
     and LOGDIR/smtpd/current written by multilog as qmaill.
Nothing outside the temporary root changes but qmail's users (which
every root-mode test creates) and a network namespace that is removed."""
import glob
import re
import os
import pwd
import grp
import shlex
import shutil
import signal
import smtplib  # noqa: F401 (used in the namespace's client below)
import stat
import subprocess
import sys
import tempfile
import time
import unittest

import qng

ME = "mail.example.test"
NS_CLIENT = r'''
import smtplib, sys
s = smtplib.SMTP(timeout=20)
code, msg = s.connect("127.0.0.1", 25)
print(code, msg.decode())
for rcpt in sys.argv[2:]:
    s.sendmail(sys.argv[1], [rcpt], "Subject: to %s\n\nhello %s\n" % (rcpt, rcpt))
s.quit()
'''
# submission (587: MAIL needs AUTH, AUTH needs STARTTLS) and SMTPS (465)
NS_AUTH_CLIENT = r'''
import smtplib, ssl, sys
user, pw, rcpt = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=sys.argv[4])
ctx.check_hostname = False
s = smtplib.SMTP("127.0.0.1", 587, timeout=20)
s.ehlo("client.test")
print("587 before tls auth:", "auth" in s.esmtp_features)
code, _ = s.mail("x@far.test")
print("587 mail without auth:", code)
s.rset()
s.starttls(context=ctx)
s.login(user, pw)
s.sendmail(user, [rcpt], "Subject: over 587\n\nhello\n")
s.quit()
s = smtplib.SMTP_SSL("127.0.0.1", 465, timeout=20, context=ctx)
print("465 tls:", s.sock.version())
s.login(user, pw)
s.sendmail(user, [rcpt], "Subject: over 465\n\nhello\n")
s.quit()
'''

# the POP3 listeners: qmail-popup's greeting on 110 and a refused login
# (vchkpw's verdict), and with a certificate POP3S on 995
NS_POP3_CLIENT = r'''
import poplib, ssl, sys
p = poplib.POP3("127.0.0.1", 110, timeout=30)
print("110:", p.getwelcome().decode())
p.user("nobody@nowhere.test")
try:
    p.pass_("wrong")
except poplib.error_proto as e:
    print("110 pass:", e.args[0].decode())
p.quit()
if len(sys.argv) > 1:
    ctx = ssl.create_default_context(cafile=sys.argv[1])
    ctx.check_hostname = False
    p = poplib.POP3_SSL("127.0.0.1", 995, timeout=30, context=ctx)
    print("995:", p.sock.version(), p.getwelcome().decode())
    p.quit()
'''


class Unit:
    """A stand-in for systemd running one unit: ExecStart as the main
    process in a session of its own (the unit's "control group"),
    ExecReload with $MAINPID, stop as KillMode=mixed does it (KillSignal
    to the main process only, then wait for every process of the unit
    to end; SIGKILL to what is left after the timeout)."""

    ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LANG": "C"}
    if qng.SAN:
        # LeakSanitizer stops the process with ptrace at exit, which a
        # process that changed its uid (tcpserver -u, setuid qmail-queue)
        # does not allow: it then fails ("LeakSanitizer has encountered
        # a fatal error") or spins.  ASan and UBSan stay on.
        ENV["ASAN_OPTIONS"] = "detect_leaks=0"

    def __init__(self, path, netns, journal, instance=""):
        self.keys = {}
        section = None
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line or line[0] in "#;":
                    continue
                if line.startswith("["):
                    section = line.strip("[]")
                    continue
                k, _, v = line.partition("=")
                k = "%s.%s" % (section, k.strip())
                v = v.strip().replace("%i", instance)
                if v == "":
                    self.keys.pop(k, None)
                else:
                    self.keys.setdefault(k, []).append(v)
        self.netns = netns
        self.journal = journal
        self.proc = None

    def get(self, key, default=None):
        v = self.keys.get("Service." + key)
        return v[-1] if v else default

    def start(self):
        argv = shlex.split(self.get("ExecStart"))
        self.log = open(self.journal, "ab")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.netns] + argv, env=self.ENV,
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, start_new_session=True, cwd="/")
        self.sid = self.proc.pid
        return self.proc.pid

    def reload(self):
        cmd = self.get("ExecReload").replace("$MAINPID", str(self.proc.pid))
        subprocess.run(shlex.split(cmd), check=True, timeout=10)

    def stop(self, timeout=30):
        assert self.get("KillMode") == "mixed"
        sig = getattr(signal, self.get("KillSignal", "SIGTERM"))
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        deadline = time.monotonic() + timeout
        left = []
        while time.monotonic() < deadline:
            self.proc.poll()
            left = [p for p in qng.session_members(self.sid) if p != self.proc.pid or
                    self.proc.returncode is None]
            if not left:
                break
            time.sleep(0.05)
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait(timeout=10)
        self.log.close()
        return left


def run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 120)
    return subprocess.run(argv, **kw)


@unittest.skipUnless(qng.IS_ROOT, "a root install needs root")
class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.environ["PATH"] = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        cls.root = tempfile.mkdtemp(prefix="qng-install-", dir="/var/tmp")
        os.chmod(cls.root, 0o755)
        r = cls.root
        cls.qh = r + "/var/qmail"
        cls.prefix = r + "/usr/local"
        cls.logdir = r + "/var/log/qmail"
        cls.rules = r + "/etc/tcp.smtp"
        cls.units = r + "/usr/local/lib/systemd/system"
        cls.mail = r + "/home/joe"
        os.makedirs(r + "/etc")
        cls.netns = "qng-install-%d" % os.getpid()
        # qmail's users, as an earlier qmail install left them
        scratch = os.path.join(r, "scratch")
        out = run([os.path.join(qng.BIN, "qmail-setup"), "-r", scratch])
        if out.returncode != 0:
            raise unittest.SkipTest("qmail-setup -r failed: %s" % out.stderr.decode())
        shutil.rmtree(scratch)
        cls.write_103_tree()
        cls.install_out = cls.make_install()
        # as an admin runs it: PREFIX/bin (tcprules) is on the PATH
        if qng.SAN:
            cls.no_leak_checks()
        cls.setup_out = run([cls.qh + "/bin/qmail-setup", "-r", "-l", cls.logdir, "-x",
                             cls.rules, cls.qh],
                            env={"PATH": cls.prefix + "/bin:" + os.environ["PATH"]})
        # the listeners bind port 25: in a network namespace of our own,
        # where the machine allows one (not in every chroot or container)
        cls.no_netns = None
        r = run(["ip", "netns", "add", cls.netns])
        if r.returncode == 0:
            r = run(["ip", "netns", "exec", cls.netns, "ip", "link", "set", "lo", "up"])
        if r.returncode != 0:
            cls.no_netns = "no network namespace here: %s" % r.stderr.decode().strip()

    @classmethod
    def tearDownClass(cls):
        run(["ip", "netns", "del", cls.netns])
        if os.environ.get("QNG_KEEP"):
            print("kept", cls.root)
        else:
            shutil.rmtree(cls.root, ignore_errors=True)

    # --- the tree qmail-1.03 left ------------------------------------
    @classmethod
    def own(cls, path, user, group, mode):
        os.chown(path, pwd.getpwnam(user).pw_uid if user != "root" else 0,
                 grp.getgrnam(group).gr_gid)
        os.chmod(path, mode)

    @classmethod
    def put(cls, rel, data, user="root", group="qmail", mode=0o644):
        p = os.path.join(cls.qh, rel)
        with open(p, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        cls.own(p, user, group, mode)
        return p

    @classmethod
    def write_103_tree(cls):
        """qmail-1.03's tree (INSTALL, hier.c's owners and modes), with
        an admin's control files, users/assign, aliases and rc, and two
        messages in the queue (one in todo/, one preprocessed)."""
        qh = cls.qh
        os.makedirs(qh)
        cls.own(qh, "root", "qmail", 0o755)
        for d in ["bin", "boot", "control", "doc", "man", "users"]:
            os.mkdir(os.path.join(qh, d))
            cls.own(os.path.join(qh, d), "root", "qmail", 0o755)
        os.mkdir(qh + "/alias")
        cls.own(qh + "/alias", "alias", "qmail", 0o2755)
        q = qh + "/queue"
        dirs = [("", "qmailq", 0o750), ("pid", "qmailq", 0o700), ("intd", "qmailq", 0o700),
                ("todo", "qmailq", 0o750), ("bounce", "qmails", 0o700),
                ("lock", "qmailq", 0o750)]
        for d, u, m in dirs:
            os.makedirs(os.path.join(q, d), exist_ok=True)
            cls.own(os.path.join(q, d), u, "qmail", m)
        for d, u, m in [("mess", "qmailq", 0o750), ("info", "qmails", 0o700),
                        ("local", "qmails", 0o700), ("remote", "qmails", 0o700)]:
            os.mkdir(os.path.join(q, d))
            cls.own(os.path.join(q, d), u, "qmail", m)
            for i in range(23):
                os.mkdir(os.path.join(q, d, str(i)))
                cls.own(os.path.join(q, d, str(i)), u, "qmail", m)
        cls.put("queue/lock/tcpto", b"\0" * 1024, "qmailr", "qmail", 0o644)
        cls.put("queue/lock/sendmutex", b"", "qmails", "qmail", 0o600)
        os.mkfifo(q + "/lock/trigger")
        cls.own(q + "/lock/trigger", "qmails", "qmail", 0o622)
        # an old program that make install replaces
        cls.put("bin/qmail-send", "#!/bin/sh\necho qmail-1.03\n", mode=0o711)
        cls.controls = {
            "me": ME + "\n",
            "rcpthosts": ME + "\nexample.test\n",
            "locals": ME + "\nexample.test\n",
            "concurrencyremote": "5\n",
            "defaultdelivery": "./Maildir/\n",
        }
        for name, text in cls.controls.items():
            cls.put("control/" + name, text)
        # joe: a users/assign mailbox, as nobody
        nobody = pwd.getpwnam("nobody")
        os.makedirs(cls.mail)
        run([os.path.join(qng.BIN, "maildirmake"), cls.mail + "/Maildir"], check=True)
        for root, ds, fs in os.walk(cls.mail):
            for n in ds + fs + [""]:
                os.chown(os.path.join(root, n), nobody.pw_uid, nobody.pw_gid)
        cls.put("users/assign", "=joe:nobody:%d:%d:%s:::\n.\n" % (
            nobody.pw_uid, nobody.pw_gid, cls.mail))
        run([os.path.join(qng.BIN, "qmail-newu")], env={"QMAIL_HOME": qh}, check=True)
        for a in ["postmaster", "root", "mailer-daemon"]:
            cls.put("alias/.qmail-" + a, "&joe@example.test\n", "alias", "nofiles")
        # the rc of a Life-with-qmail install: kept by make install
        cls.old_rc = ('#!/bin/sh\nexec env - PATH="%s/bin:$PATH" qmail-start '
                      '"`cat %s/control/defaultdelivery`"\n' % (qh, qh))
        cls.put("rc", cls.old_rc, mode=0o755)
        # the queue: one message committed but not preprocessed (mess,
        # intd and todo), one preprocessed for local delivery whose next
        # attempt (the local/ file's mtime, qmail-1.03's way) is past
        cls.old_ids = []
        for i, pre in enumerate([False, True]):
            tmp = cls.put("queue/mess/0/new", b"Received: (qmail 1 invoked by uid 0); "
                          b"1 Jan 2020 00:00:00 -0000\nSubject: left by qmail-1.03 %d\n\n"
                          b"old %d\n" % (i, i), "qmailq", "qmail", 0o644)
            n = os.stat(tmp).st_ino
            os.rename(tmp, "%s/mess/%d/%d" % (q, n % 23, n))
            if pre:
                cls.put("queue/info/%d/%d" % (n % 23, n), b"Fold@far.test\0", "qmails",
                        "qmail", 0o600)
                loc = cls.put("queue/local/%d/%d" % (n % 23, n), b"Tjoe@example.test\0",
                              "qmails", "qmail", 0o600)
                os.utime(loc, (time.time() - 3600, time.time() - 3600))
            else:
                cls.put("queue/intd/%d" % n, b"u0\0p1\0Fold@far.test\0Tjoe@example.test\0",
                        "qmailq", "qmail", 0o644)
                os.link("%s/intd/%d" % (q, n), "%s/todo/%d" % (q, n))
            cls.old_ids.append(n)

    @classmethod
    def make_install(cls):
        """make install, for this root: a copy of the tested build with
        the objects that know QMAIL_HOME rebuilt (conf_home.h)."""
        build = os.path.join(cls.root, "build")
        shutil.copytree(qng.BUILD, build, symlinks=True, ignore=shutil.ignore_patterns("fuzz*"))
        # the dependency files name the old build directory: point them
        # at the copy, so that make rebuilds what a changed header (the
        # new conf_home.h above all) touches
        old = os.path.relpath(qng.BUILD, qng.REPO) + "/"
        for d in glob.glob(build + "/**/*.d", recursive=True):
            with open(d) as f:
                text = f.read()
            text = re.sub(r"(?:^|(?<=\s))" + re.escape(old), build + "/", text)
            with open(d, "w") as f:
                f.write(text)
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
        argv = ["make", "-C", qng.REPO, "-j2", "--no-print-directory", "install",
                "B=" + build, "QMAIL_HOME=" + cls.qh, "PREFIX=" + cls.prefix,
                "LOGDIR=" + cls.logdir, "TCPRULES=" + cls.rules, "SYSTEMDDIR=" + cls.units,
                "SBINDIR=" + cls.root + "/usr/sbin", "USRLIBDIR=" + cls.root + "/usr/lib"]
        if qng.SAN:
            argv.append("SAN=1")
        r = run(argv, env=env, timeout=900)
        if r.returncode != 0:
            raise AssertionError("make install failed:\n%s%s" % (
                r.stdout.decode()[-3000:], r.stderr.decode()[-3000:]))
        return r.stdout.decode()

    @classmethod
    def no_leak_checks(cls):
        """SAN builds only: rc and the run scripts start with env -, so
        Unit.ENV's ASAN_OPTIONS would not reach the programs; the
        installed copies get it on their env lines."""
        for f in [cls.qh + "/rc", cls.qh + "/rc.dist"] + [
                cls.qh + "/supervise/%s/run" % n
                for n in ("qmail-smtpd", "qmail-submission", "qmail-smtps", "qmail-pop3d",
                          "qmail-pop3s")]:
            if os.path.exists(f):
                with open(f) as fh:
                    text = fh.read()
                with open(f, "w") as fh:
                    fh.write(text.replace("env - PATH=", "env - ASAN_OPTIONS=detect_leaks=0 PATH="))

    # --- helpers -----------------------------------------------------
    def smtp(self, *rcpts, sender="sender@far.test"):
        r = run(["ip", "netns", "exec", self.netns, sys.executable, "-c", NS_CLIENT, sender]
                + list(rcpts), timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout.decode()

    def pop3(self, *args):
        r = run(["ip", "netns", "exec", self.netns, sys.executable, "-c", NS_POP3_CLIENT]
                + list(args), timeout=90)
        self.assertEqual(r.returncode, 0, r.stderr.decode() + self.log("pop3d") +
                         self.log("pop3s"))
        return r.stdout.decode()

    def joe_mail(self):
        return sorted(glob.glob(self.mail + "/Maildir/new/*"))

    def wait_mail(self, n, timeout=30):
        return qng.wait_for(lambda: len(self.joe_mail()) >= n and self.joe_mail(), timeout,
                            what="%d messages in joe's Maildir (log:\n%s)" % (n, self.log()))

    def log(self, sub=""):
        try:
            with open(os.path.join(self.logdir, sub, "current"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def wait_log(self, text, sub="", timeout=30):
        return qng.wait_for(lambda: text in self.log(sub), timeout,
                            what="%r in %s/current:\n%s" % (text, sub, self.log(sub)[-2000:]))

    def unit(self, name, instance=""):
        u = Unit(os.path.join(self.units, name), self.netns,
                 os.path.join(self.root, "journal-" + name), instance)
        self.addCleanup(lambda: u.proc and u.proc.poll() is None and u.stop())
        return u

    def qstat(self):
        r = run([self.qh + "/bin/qmail-qstat"], env={"QMAIL_HOME": self.qh})
        return r.stdout.decode()

    # --- the tests ---------------------------------------------------
    def test_1_install_over_qmail_103(self):
        """make install keeps what the admin owns; qmail-setup -r repairs
        modes and adds nothing that changes the old tree's behaviour."""
        qh = self.qh
        self.assertIn("qmail-setup -r", self.install_out)
        # programs replaced, the admin's rc kept with ours beside it
        with open(qh + "/bin/qmail-send", "rb") as f:
            self.assertTrue(f.read(4) == b"\x7fELF")
        with open(qh + "/rc") as f:
            want = self.old_rc
            if qng.SAN:
                want = want.replace("env - PATH=", "env - ASAN_OPTIONS=detect_leaks=0 PATH=")
            self.assertEqual(f.read(), want)
        self.assertTrue(os.path.exists(qh + "/rc.dist"))
        self.assertIn("kept your %s/rc" % qh, self.install_out)
        # man pages where man looks, admin tools on PATH
        self.assertTrue(os.path.exists(self.prefix + "/share/man/man8/qmail-smtpd.8"))
        self.assertTrue(os.path.exists(qh + "/man/man8/qmail-smtpd.8"))
        for p in ["multilog", "tai64nlocal", "dnsmx", "tcpserver", "tcprules"]:
            self.assertTrue(os.access(self.prefix + "/bin/" + p, os.X_OK), p)
        r = self.setup_out
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        st = os.stat(qh + "/bin/qmail-queue")
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid),
                         (0o4711, pwd.getpwnam("qmailq").pw_uid))
        for name, text in self.controls.items():
            with open(qh + "/control/" + name) as f:
                self.assertEqual(f.read(), text, name)
        self.assertEqual(sorted(os.listdir(qh + "/control")), sorted(self.controls))
        with open(qh + "/alias/.qmail-root") as f:
            self.assertEqual(f.read(), "&joe@example.test\n")
        self.assertIn("messages in queue: 2\n", self.qstat())
        st = os.stat(self.logdir)
        self.assertEqual(st.st_uid, pwd.getpwnam("qmaill").pw_uid)
        # the POP3 listeners: the seeds' command line, one script for 110
        # and 995, their log directories, POP-before-SMTP's directory
        for name in ("qmail-pop3d", "qmail-pop3s"):
            for f in ("run", "log/run"):
                self.assertTrue(os.access(qh + "/supervise/%s/%s" % (name, f), os.X_OK), name)
            st = os.stat(os.path.join(self.logdir, name[len("qmail-"):]))
            self.assertEqual(st.st_uid, pwd.getpwnam("qmaill").pw_uid)
        with open(qh + "/supervise/qmail-pop3d/run") as f:
            script = f.read()
        for want in ["tcpserver -v -R -H -l", self.root + "/etc/tcp.pop3.cdb",
                     '"$QMAIL/bin/qmail-popup" "$LOCAL"',
                     '"$QMAIL/bin/vchkpw" "$QMAIL/bin/qmail-pop3d" Maildir',
                     'PORT=995 MODE="POP3S=1"', "PORT=110"]:
            self.assertIn(want, script.replace("`dirname %s`/" % self.rules,
                                               self.root + "/etc/"))
        st = os.stat(qh + "/users/open-smtp")
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)),
                         (pwd.getpwnam("vpopmail").pw_uid, 0o755))
        # the shipped units are valid for systemd itself
        if shutil.which("systemd-analyze"):
            tmpl = os.path.join(self.root, "qmail-listener@submission.service")
            shutil.copy(os.path.join(self.units, "qmail-listener@.service"), tmpl)
            # make install ships the submission (587) and SMTPS (465)
            # listeners' run scripts for the template
            for name in ("qmail-submission", "qmail-smtps", "qmail-pop3s"):
                self.assertTrue(os.access(qh + "/supervise/%s/run" % name, os.X_OK), name)
                self.assertTrue(os.access(qh + "/supervise/%s/log/run" % name, os.X_OK), name)
            r = run(["systemd-analyze", "verify", "--man=no",
                     os.path.join(self.units, "qmail-send.service"),
                     os.path.join(self.units, "qmail-smtpd.service"),
                     os.path.join(self.units, "qmail-pop3d.service"), tmpl])
            self.assertEqual((r.returncode, r.stdout + r.stderr), (0, b""))

    def test_2_systemd_units(self):
        """The units, booted: the old queue is delivered, SMTP works,
        reload is HUP, stop lets everything end by itself, mail taken
        while qmail-send is stopped is delivered after the start."""
        if self.no_netns:
            self.skipTest(self.no_netns)
        send = self.unit("qmail-send.service")
        smtpd = self.unit("qmail-smtpd.service")
        send.start()
        smtpd.start()
        self.wait_mail(2)
        self.wait_log("end msg %d" % self.old_ids[0])
        self.wait_log("status: local 0/10 remote 0/5")
        # the listener answers on port 25 with the old tree's name
        qng.wait_for(lambda: "tcpserver: status:" in self.log("smtpd"), 15,
                     what="tcpserver's first line in smtpd/current")
        greet = self.smtp("joe@example.test", "postmaster@" + ME)
        self.assertIn(ME + " ESMTP", greet)
        self.wait_mail(4)
        # the logs are multilog's, written as qmaill, TAI64N-stamped
        for sub in ["", "smtpd"]:
            st = os.stat(os.path.join(self.logdir, sub, "current"))
            self.assertEqual(st.st_uid, pwd.getpwnam("qmaill").pw_uid)
            self.assertTrue(self.log(sub).startswith("@4000"), self.log(sub)[:200])
        self.assertIn("ok ", self.log("smtpd"))
        # qmail-pop3d.service: qmail-popup answers on 110, vchkpw refuses
        pop3 = self.unit("qmail-pop3d.service")
        pop3.start()
        qng.wait_for(lambda: "tcpserver: status:" in self.log("pop3d"), 15,
                     what="tcpserver's first line in pop3d/current")
        out = self.pop3()
        self.assertRegex(out, r"110: \+OK")
        self.assertIn("110 pass: -ERR", out)
        self.wait_log("login failed ip=127.0.0.1 user=nobody@nowhere.test", "pop3d")
        self.assertTrue(self.log("pop3d").startswith("@4000"))
        self.assertEqual(pop3.stop(), [])
        # reload = HUP: qmail-send rereads its control files and stays
        send.reload()
        self.wait_log("status: control files reread")
        self.assertIsNone(send.proc.poll())
        # stop: TERM to qmail-send alone; helpers and logger end by themselves
        qng.wait_for(lambda: "messages in queue: 0\n" in self.qstat(), 15, what="empty queue")
        left = send.stop()
        self.assertEqual(left, [], "killed after the timeout")
        log = self.log()
        self.assertIn("status: exiting", log)
        self.assertNotIn("alert:", log)
        # mail while qmail-send is stopped waits in the queue
        self.smtp("joe@example.test")
        self.assertIn("messages in queue: 1\n", self.qstat())
        send.start()
        self.wait_mail(5)
        qng.wait_for(lambda: "messages in queue: 0\n" in self.qstat(), 15, what="empty queue")
        self.assertEqual(send.stop(), [])
        self.assertEqual(smtpd.stop(), [])
        self.assertIn("tcpserver: status:", self.log("smtpd"))

    @unittest.skipUnless(shutil.which("svscan") and shutil.which("svc") and
                         shutil.which("setuidgid"), "needs Debian's daemontools")
    def test_3_daemontools_run_scripts(self):
        """supervise/qmail-send, qmail-smtpd, qmail-submission (587),
        qmail-smtps (465), qmail-pop3d (110) and qmail-pop3s (995) under
        svscan, their log/run through setuidgid: mail flows in on all
        three SMTP listeners, AUTH with the password file the run script
        finds, POP3 answers in the clear and over TLS, svc -d stops."""
        if self.no_netns:
            self.skipTest(self.no_netns)
        import testca
        ca = testca.TestCA(self.root)
        qmaild = pwd.getpwnam("qmaild")
        for name, src in (("servercert.pem", ca.issue(ME)), ("smtppasswd", None)):
            dst = os.path.join(self.qh, "control", name)
            text = "joe@example.test:{PLAIN}s3cret\n"
            if src:
                with open(src) as f:
                    text = f.read()
            with open(dst, "w") as f:
                f.write(text)
            os.chmod(dst, 0o600)
            os.chown(dst, qmaild.pw_uid, qmaild.pw_gid)
        self.addCleanup(lambda: [os.unlink(os.path.join(self.qh, "control", n))
                                 for n in ("servercert.pem", "smtppasswd")])
        before = len(self.joe_mail())
        services = ["qmail-send", "qmail-smtpd", "qmail-submission", "qmail-smtps",
                    "qmail-pop3d", "qmail-pop3s"]
        scan = os.path.join(self.root, "service")
        os.mkdir(scan)
        for s in services:
            os.symlink(os.path.join(self.qh, "supervise", s), os.path.join(scan, s))
        log = open(os.path.join(self.root, "svscan.log"), "ab")
        p = subprocess.Popen(["ip", "netns", "exec", self.netns, "svscan", scan],
                             env=Unit.ENV, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                             start_new_session=True, cwd="/")

        def down():
            for s in services:
                d = os.path.join(self.qh, "supervise", s)
                run(["svc", "-dx", d, d + "/log"], timeout=10)
            if p.poll() is None:
                p.terminate()
            p.wait(timeout=10)

            def left():
                out = []
                for pid in qng.session_members(p.pid):
                    try:
                        with open("/proc/%d/cmdline" % pid, "rb") as f:
                            out.append("%d %s" % (pid, f.read().replace(b"\0", b" ").decode(
                                errors="replace")))
                    except OSError:
                        pass
                return out
            qng.wait_for(lambda: not qng.session_members(p.pid), 30,
                         what=lambda: "supervised processes to end: %s" % left())
            log.close()
        self.addCleanup(down)
        qng.wait_for(lambda: "status: local 0/10" in self.log().split("status: exiting")[-1],
                     30, what="qmail-send under supervise")
        qng.wait_for(lambda: self.log("smtpd").count("tcpserver: status: 0/100") >= 3, 30,
                     what="tcpserver under supervise")
        for sub in ("submission", "smtps", "pop3d", "pop3s"):
            qng.wait_for(lambda: "tcpserver: status: 0/100" in self.log(sub), 30,
                         what="the %s listener under supervise" % sub)
        out = self.pop3(ca.cert)
        self.assertRegex(out, r"110: \+OK")
        self.assertRegex(out, r"995: TLSv1\.[23] \+OK")
        self.smtp("joe@example.test")
        self.wait_mail(before + 1)
        r = run(["ip", "netns", "exec", self.netns, sys.executable, "-c", NS_AUTH_CLIENT,
                 "joe@example.test", "s3cret", "joe@example.test", ca.cert], timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr.decode() + self.log("submission") +
                         self.log("smtps"))
        out = r.stdout.decode()
        self.assertIn("587 before tls auth: False", out)
        self.assertIn("587 mail without auth: 530", out)
        self.assertRegex(out, r"465 tls: TLSv1\.[23]")
        self.wait_mail(before + 3)
        self.assertIn("auth ok ip=127.0.0.1 user=joe@example.test", self.log("submission"))
        self.assertIn("auth ok ip=127.0.0.1 user=joe@example.test", self.log("smtps"))
        send = os.path.join(self.qh, "supervise", "qmail-send")
        exits = self.log().count("status: exiting")
        r = run(["svc", "-d", send], timeout=10)
        self.assertEqual(r.returncode, 0)
        qng.wait_for(lambda: self.log().count("status: exiting") > exits, 30,
                     what="qmail-send's exit under svc -d")
        self.assertNotIn("alert:", self.log())

    def test_4_sendmail_links(self):
        """make install-sendmail: links for PHP and cron, refused when
        another MTA's sendmail is there unless FORCE=1."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
        base = ["make", "-C", qng.REPO, "--no-print-directory", "install-sendmail",
                "QMAIL_HOME=" + self.qh, "SBINDIR=" + self.root + "/usr/sbin",
                "USRLIBDIR=" + self.root + "/usr/lib"]
        os.makedirs(self.root + "/usr/sbin", exist_ok=True)
        other = self.root + "/usr/sbin/sendmail"
        with open(other, "w") as f:
            f.write("#!/bin/sh\n# another MTA\n")
        r = run(base, env=env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"belongs to another MTA", r.stdout + r.stderr)
        with open(other) as f:
            self.assertIn("another MTA", f.read())
        r = run(base + ["FORCE=1"], env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        for l in [other, self.root + "/usr/lib/sendmail"]:
            self.assertEqual(os.readlink(l), self.qh + "/bin/sendmail")
        # again: ours already, no FORCE needed
        self.assertEqual(run(base, env=env).returncode, 0)


if __name__ == "__main__":
    unittest.main()
