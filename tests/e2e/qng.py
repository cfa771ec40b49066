# SPDX-License-Identifier: ISC
"""Shared fixture for the end-to-end tests: a real qmail-ng instance in a
temporary QMAIL_HOME, built by qmail-setup from the freshly built
programs, with tcpserver + qmail-smtpd listening on a free loopback port.

Everything runs as the invoking user; when that is root, the instance
belongs to nobody/nogroup and tcpserver drops to it (doc/architecture.md).
Every wait has a timeout."""
import os
import pwd
import grp
import shutil
import socket
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("QNG_BUILD", os.path.join(REPO, "build"))
BIN = os.path.join(BUILD, "bin")
IS_ROOT = os.geteuid() == 0


def _others_reach(path):
    """Whether a user who is neither owner nor group can reach path."""
    p = os.path.abspath(path)
    while True:
        st = os.stat(p)
        if not st.st_mode & 0o001:
            return False
        if p == "/":
            return True
        p = os.path.dirname(p)


def _public_bin():
    """Run as root from a private checkout (/root/...), the instance's
    unprivileged user could not run the programs: test a copy of them in
    a world-readable temporary directory, removed at exit."""
    import atexit
    tmp = tempfile.mkdtemp(prefix="qng-bin-", dir="/var/tmp")
    os.chmod(tmp, 0o755)
    atexit.register(shutil.rmtree, tmp, True)
    dst = os.path.join(tmp, "bin")
    shutil.copytree(BIN, dst)
    os.chmod(dst, 0o755)
    return dst


if IS_ROOT and os.path.isdir(BIN) and not _others_reach(BIN):
    BIN = _public_bin()


def _sanitized():
    """Whether the programs under test are an ASan/UBSan build (SAN=1)."""
    try:
        with open(os.path.join(BIN, "qmail-send"), "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


SAN = _sanitized()
# What a sanitizer prints when it finds something (ASan, LeakSanitizer,
# UBSan): any of these in any program's log fails the test.
SAN_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
             "SUMMARY: AddressSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")


def sanitizer_reports(tmp, sandir=None):
    """Sanitizer findings under tmp: the files the runtimes wrote into
    sandir (log_path), and sanitizer lines in any file named *log* or
    current (stderr that went to a log).  Returns a text, "" if none."""
    found = []
    if sandir and os.path.isdir(sandir):
        for n in sorted(os.listdir(sandir)):
            with open(os.path.join(sandir, n), "rb") as f:
                text = f.read().decode(errors="replace")
            # An empty file is a runtime that opened its log and was
            # killed before writing a word (the kill -9 tests do that to
            # exiting processes): nothing to judge, so not a finding.
            if text.strip():
                found.append("%s:\n%s" % (n, text[:4000]))
    for root, dirs, files in os.walk(tmp):
        if sandir and os.path.abspath(root).startswith(os.path.abspath(sandir)):
            continue
        for n in files:
            if "log" not in n and n != "current":
                continue
            path = os.path.join(root, n)
            try:
                with open(path, "rb") as f:
                    text = f.read(4 << 20).decode(errors="replace")
            except OSError:
                continue
            if any(m in text for m in SAN_MARKS):
                found.append("%s:\n%s" % (os.path.relpath(path, tmp), text[-4000:]))
    return "\n".join(found)


def owner_ids():
    """uid, gid that own a single-user instance made by this process."""
    if IS_ROOT:
        return pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
    return os.geteuid(), os.getegid()


def children(pid):
    """The pids of a process's children (from /proc; [] when it is gone)."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def session_members(sid):
    """The pids of every live process (zombies are not) in session sid:
    what a test started with start_new_session=True and all that came of
    it (its session and process group ids are its pid)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:
            out.append(int(d))
    return out


def comm(pid):
    """A process's name (its comm), or "" when it is gone."""
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def wait_for(pred, timeout=10.0, step=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    if callable(what):  # a description made when it is needed (what is left)
        what = what()
    raise TimeoutError("timed out after %.1fs waiting for %s" % (timeout, what))


class Instance:
    """One QMAIL_HOME under a fresh temporary directory.

    inst = Instance(me="test.local", rcpthosts=["example.test"])
    port = inst.start_smtpd(rules='127.0.0.1:allow,RELAYCLIENT=""\\n:allow\\n')
    ...
    inst.stop()          # also registered by tests through addCleanup
    """

    def __init__(self, me="test.local", rcpthosts=("example.test",), locals_=None):
        self.tmp = tempfile.mkdtemp(prefix="qng-e2e-")
        os.chmod(self.tmp, 0o755)
        self.home = os.path.join(self.tmp, "home")
        self.etc = os.path.join(self.tmp, "etc")
        os.mkdir(self.etc)
        os.chmod(self.etc, 0o755)
        self.uid, self.gid = owner_ids()
        self.procs = []
        self.logs = []
        subprocess.run([os.path.join(BIN, "qmail-setup"), "-b", BIN, "-m", me, self.home],
                       check=True, timeout=30)
        self.control("rcpthosts", "".join(h + "\n" for h in rcpthosts))
        if locals_ is not None:
            self.control("locals", "".join(h + "\n" for h in locals_))
        # DNS never leaves the machine: a test that wants answers starts
        # its own server (dnsserver.py) and rewrites this file
        self.control("dnsservers", "127.0.0.1:1\n")
        self.bin = os.path.join(self.home, "bin")
        self.env = {
            "PATH": self.bin + ":/usr/bin:/bin",
            "QMAIL_HOME": self.home,
        }
        # A sanitizer build writes its reports into tmp/san (any uid may:
        # programs run as nobody or as qmail's users), where cleanup()
        # finds them: a report fails the test that caused it.
        self.sandir = os.path.join(self.tmp, "san")
        if SAN:
            os.mkdir(self.sandir)
            os.chmod(self.sandir, 0o1777)
            for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
                opts = [o for o in os.environ.get(var, "").split(":") if o]
                opts.append("log_path=" + os.path.join(self.sandir, var.split("_")[0].lower()))
                self.env[var] = ":".join(opts)

    def as_owner(self):
        """A preexec_fn that makes a child the instance's owner (when the
        tests run as root), or None."""
        if not IS_ROOT:
            return None
        uid, gid = self.uid, self.gid

        def pre():
            os.setgroups([gid])
            os.setgid(gid)
            os.setuid(uid)
        return pre

    # --- files -------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.home, *parts)

    def write(self, path, content, mode=0o644):
        data = content.encode() if isinstance(content, str) else content
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        if IS_ROOT:
            os.chown(path, self.uid, self.gid)

    def control(self, name, content):
        """Write control/NAME (content None removes it)."""
        p = self.path("control", name)
        if content is None:
            if os.path.exists(p):
                os.unlink(p)
            return
        self.write(p, content)

    def rules(self, text, name="tcp.smtp"):
        """Write etc/NAME and compile it with tcprules; returns the cdb path."""
        src = os.path.join(self.etc, name)
        cdb = src + ".cdb"
        with open(src, "w") as f:
            f.write(text)
        with open(src, "rb") as f:
            r = subprocess.run([os.path.join(BIN, "tcprules"), cdb, cdb + ".tmp"], stdin=f,
                               capture_output=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("tcprules failed: %s" % r.stderr.decode(errors="replace"))
        os.chmod(cdb, 0o644)
        return cdb

    # --- processes ---------------------------------------------------
    def start(self, argv, env=None, logname="log", stdout_to_log=False):
        """Start a long-running program; stderr (and with stdout_to_log,
        stdout too) goes to tmp/LOGNAME."""
        e = dict(self.env)
        if env:
            e.update(env)
        logpath = os.path.join(self.tmp, logname)
        logf = open(logpath, "ab")
        p = subprocess.Popen(argv, env=e, stdin=subprocess.DEVNULL,
                             stdout=logf if stdout_to_log else subprocess.PIPE,
                             stderr=logf, cwd=self.tmp)
        self.procs.append(p)
        self.logs.append(logf)
        return p

    def start_smtpd(self, rules=None, env=None, host="127.0.0.1", tcpserver_args=(),
                    smtpd_argv=None):
        """tcpserver + qmail-smtpd on a free port of host; returns the port.
        rules: tcp.smtp text (compiled and passed with -x) or None."""
        argv = [os.path.join(self.bin, "tcpserver"), "-1", "-R", "-H", "-v"]
        if rules is not None:
            argv += ["-x", self.rules(rules)]
        if IS_ROOT:
            argv += ["-u", str(self.uid), "-g", str(self.gid)]
        argv += list(tcpserver_args)
        # QNG_SMTPD_WORKERS=N runs every qmail-smtpd as a tcpserver -W N
        # worker (the whole suite can be run both ways)
        if os.environ.get("QNG_SMTPD_WORKERS") and "-W" not in tcpserver_args:
            argv += ["-W", os.environ["QNG_SMTPD_WORKERS"]]
        argv += [host, "0"]
        argv += smtpd_argv or [os.path.join(self.bin, "qmail-smtpd")]
        p = self.start(argv, env=env, logname="smtpd.log")
        line = self._readline_timeout(p, 10)
        if not line:
            raise RuntimeError("tcpserver did not print its port; log:\n" + self.log("smtpd.log"))
        self.port = int(line.split()[-1])
        return self.port

    def _readline_timeout(self, p, timeout):
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            ch = os.read(p.stdout.fileno(), 1)
            if not ch:
                break
            if ch == b"\n":
                return buf.decode()
            buf += ch
        return None

    def start_send(self, defaultdelivery="./Maildir/", fake_local=False, env=None,
                   fake_remote=False):
        """qmail-start with qmail-send and its helpers; the log goes to
        tmp/send.log.  fake_local replaces qmail-lspawn by the test double
        tests/e2e/fakespawn.py (answers by recipient name; its requests
        are logged to tmp/spawn.log); fake_remote makes qmail-rspawn run
        tests/e2e/fakeremote.py instead of qmail-remote (answers by
        recipient name; requests logged to tmp/remote.log)."""
        here = os.path.dirname(os.path.abspath(__file__))
        e = {"FAKESPAWN_LOG": os.path.join(self.tmp, "spawn.log"),
             "FAKEREMOTE_LOG": os.path.join(self.tmp, "remote.log")}
        for fake, src, dst in ((fake_local, "fakespawn.py", "qmail-lspawn"),
                               (fake_remote, "fakeremote.py", "fakeremote")):
            if not fake:
                continue
            dst = os.path.join(self.bin, dst)
            shutil.copy(os.path.join(here, src), dst)
            os.chmod(dst, 0o755)
            if IS_ROOT:
                os.chown(dst, self.uid, self.gid)
        if fake_remote:
            e["QMAILREMOTE"] = os.path.join(self.bin, "fakeremote")
        for log in (e["FAKESPAWN_LOG"], e["FAKEREMOTE_LOG"]):
            if not os.path.exists(log):
                self.write(log, b"")
        if env:
            e.update(env)
        self.send = self.start([os.path.join(self.bin, "qmail-start"), defaultdelivery],
                               env=e, logname="send.log", stdout_to_log=True)
        return self.send

    def wait_log(self, pattern, logname="send.log", timeout=15, count=1):
        """Wait until the log has count lines matching the regex; return them."""
        import re
        rx = re.compile(pattern)

        def found():
            lines = [l for l in self.log(logname).splitlines() if rx.search(l)]
            return lines if len(lines) >= count else None
        return wait_for(found, timeout, what="%d log line(s) matching %r in %s:\n%s" % (
            count, pattern, logname, self.log(logname)[-3000:]))

    def inject(self, body, sender, rcpts, env=None):
        """Queue a message with qmail-queue (as the instance owner)."""
        envl = b"F" + sender.encode() + b"\0" + b"".join(
            b"T" + r.encode() + b"\0" for r in rcpts) + b"\0"
        r, w = os.pipe()
        e = dict(self.env)
        if env:
            e.update(env)
        pre = self.as_owner()
        p = subprocess.Popen([os.path.join(self.bin, "qmail-queue")], stdin=subprocess.PIPE,
                             stdout=r, env=e, preexec_fn=pre)
        os.close(r)
        p.stdin.write(body if isinstance(body, bytes) else body.encode())
        p.stdin.close()
        os.write(w, envl)
        os.close(w)
        return p.wait(timeout=30)

    def log(self, logname="smtpd.log"):
        try:
            with open(os.path.join(self.tmp, logname), "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def smtpd_pipe(self, data, env=None, timeout=20):
        """Run qmail-smtpd on a pipe (no network), as tcpserver would have
        after accepting a client at 127.0.0.1.  Returns (stdout bytes,
        stderr text, exit code)."""
        e = dict(self.env)
        e.update({"PROTO": "TCP", "TCPLOCALIP": "127.0.0.1", "TCPLOCALPORT": "25",
                  "TCPREMOTEIP": "127.0.0.1", "TCPREMOTEPORT": "40000",
                  "TCPLOCALHOST": "test.local"})
        if env:
            e.update(env)
        pre = self.as_owner()
        r = subprocess.run([os.path.join(self.bin, "qmail-smtpd")], input=data, env=e,
                           capture_output=True, timeout=timeout, preexec_fn=pre, cwd=self.tmp)
        return r.stdout, r.stderr.decode(errors="replace"), r.returncode

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
            if p.stdout:
                p.stdout.close()
        for f in self.logs:
            f.close()
        self.procs = []
        self.logs = []

    def cleanup(self):
        self.stop()
        if SAN:
            time.sleep(0.2)  # helpers that exit after their parent report last
        reports = sanitizer_reports(self.tmp, self.sandir)
        if os.environ.get("QNG_KEEP"):
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if reports:
            raise AssertionError("sanitizer output in the instance's logs:\n" + reports)

    # --- queue inspection --------------------------------------------
    def queue_ids(self, sub="todo"):
        d = self.path("queue", sub)
        return sorted(int(n) for n in os.listdir(d) if n.isdigit())

    def queued(self):
        """Every committed message: list of dicts with id, message bytes,
        sender, recipients, and the raw envelope."""
        out = []
        for i in self.queue_ids("todo"):
            try:
                with open(self.path("queue", "mess", str(i % 23), str(i)), "rb") as f:
                    mess = f.read()
                with open(self.path("queue", "todo", str(i)), "rb") as f:
                    env = f.read()
            except FileNotFoundError:
                # a running qmail-send preprocessed it since the listing:
                # it is in info/ now (messages() looks there next)
                continue
            recs = env.split(b"\0")
            sender = None
            rcpts = []
            for r in recs:
                if r.startswith(b"F"):
                    sender = r[1:].decode("utf-8", "surrogateescape")
                elif r.startswith(b"T"):
                    rcpts.append(r[1:].decode("utf-8", "surrogateescape"))
            out.append({"id": i, "mess": mess, "sender": sender, "rcpts": rcpts, "env": env})
        return out

    def messages(self):
        """Every message in the queue, preprocessed or not: dicts with id,
        mess, sender, rcpts (all recipients, done or not) and pending (those
        not yet done)."""
        out = []
        q = self.path("queue")
        for m in self.queued():
            m["pending"] = list(m["rcpts"])
            out.append(m)
        for d in range(23):
            for name in os.listdir(os.path.join(q, "info", str(d))):
                i = int(name)
                try:
                    with open(os.path.join(q, "info", str(d), name), "rb") as f:
                        info = f.read()
                    with open(os.path.join(q, "mess", str(d), name), "rb") as f:
                        mess = f.read()
                except FileNotFoundError:
                    continue
                sender = None
                for r in info.split(b"\0"):
                    if r.startswith(b"F"):
                        sender = r[1:].decode("utf-8", "surrogateescape")
                rcpts, pending = [], []
                for chan in ("local", "remote"):
                    try:
                        with open(os.path.join(q, chan, str(d), name), "rb") as f:
                            recs = f.read().split(b"\0")
                    except FileNotFoundError:
                        continue
                    for r in recs:
                        if r[:1] in (b"T", b"D"):
                            a = r[1:].decode("utf-8", "surrogateescape")
                            rcpts.append(a)
                            if r[:1] == b"T":
                                pending.append(a)
                if any(m["id"] == i for m in out):
                    continue
                out.append({"id": i, "mess": mess, "sender": sender, "rcpts": rcpts,
                            "pending": pending})
        return out

    def queue_files(self):
        """Every file under queue/ except lock/ (to check nothing is left)."""
        res = []
        q = self.path("queue")
        for root, dirs, files in os.walk(q):
            if os.path.relpath(root, q).startswith("lock"):
                continue
            for n in files:
                res.append(os.path.relpath(os.path.join(root, n), q))
        return sorted(res)

    def run(self, prog, *args, input=None, env=None, timeout=30):
        e = dict(self.env)
        if env:
            e.update(env)
        return subprocess.run([os.path.join(self.bin, prog)] + list(args), input=input,
                              env=e, capture_output=True, timeout=timeout)


def smtp_raw(port, data, host="127.0.0.1", timeout=10, read_until_close=True):
    """Send raw bytes after the greeting and return everything the server
    said (greeting included) until it closes or goes quiet."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        out = b""
        s.settimeout(timeout)
        out += s.recv(4096)
        if data:
            s.sendall(data)
        s.settimeout(2 if not read_until_close else timeout)
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


class Dialog:
    """A line-by-line SMTP client on a raw socket, for exact replies.

    d = Dialog(port); d.greeting  -> '220 test.local ESMTP'
    d.cmd('HELO x')               -> ['250 test.local']  (all reply lines)
    """

    def __init__(self, port, host="127.0.0.1", timeout=10):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.f = self.s.makefile("rb")
        self.greeting = self.reply()[0]

    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("connection closed; got %r" % lines)
            line = line.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return lines

    def send(self, data):
        self.s.sendall(data.encode() if isinstance(data, str) else data)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def close(self):
        try:
            self.f.close()
            self.s.close()
        except OSError:
            pass
