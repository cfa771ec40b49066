# SPDX-License-Identifier: ISC
"""A real Dovecot 2.3 serving IMAP (and POP3 when asked) for an instance's
virtual domains, configured by scripts/dovecot-conf, on free loopback
ports, with everything it writes under the instance's tmp/dovecot.

    dc = DovecotServer(inst, pop3=True)     # inst: a VpopInstance
    dc.start()                              # waits for every greeting
    imaplib.IMAP4("127.0.0.1", dc.ports["imap"])
    dc.stop()                               # master and all its children

When run as root, the auth process (so vchkpw) runs as the instance's
owner, who owns the domains, and the login processes as dovenull; as an
ordinary user everything runs as that user.  Every wait is bounded."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

import qng

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
REPLY = "/usr/lib/dovecot/checkpassword-reply"
CONF = os.path.join(qng.REPO, "scripts", "dovecot-conf")


def available():
    """Why Dovecot cannot be used here, or None when it can."""
    if not os.access(DOVECOT, os.X_OK):
        return "dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)"
    if not os.access(REPLY, os.X_OK):
        return "no %s (dovecot-core)" % REPLY
    for proto in ("imap", "pop3"):
        if not os.path.exists("/usr/lib/dovecot/" + proto):
            return "dovecot-%sd is not installed" % proto
    return None


def free_port(host="127.0.0.1"):
    s = socket.socket()
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _greeting(port, host="127.0.0.1", timeout=2.0):
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            return s.recv(512)
    except OSError:
        return b""


class DovecotServer:
    def __init__(self, inst, imap=True, imaps=True, pop3=False, pop3s=False,
                 host="127.0.0.1", max_connections=10, plaintext=True):
        self.inst = inst
        self.host = host
        self.dir = os.path.join(inst.tmp, "dovecot")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.log = os.path.join(self.dir, "dovecot.log")
        self.ports = {}
        for name, want in (("imap", imap), ("imaps", imaps), ("pop3", pop3), ("pop3s", pop3s)):
            if want:
                self.ports[name] = free_port(host)
        self.proc = None
        argv = [CONF, "-q", inst.home, "-d", self.dir, "-l", host, "-o", self.conf,
                "--max-connections", str(max_connections)]
        if plaintext:
            argv.append("--plaintext")
        if qng.IS_ROOT:
            argv += ["--user", pwd.getpwuid(inst.uid).pw_name, "--login-user", "dovenull"]
        for name, p in self.ports.items():
            argv += ["--" + name, str(p)]
        subprocess.run(argv, check=True, timeout=30, capture_output=True)

    def start(self, timeout=20):
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "master.err"), "ab"),
                                     start_new_session=True, cwd=self.dir)
        deadline = time.monotonic() + timeout
        for name, p in self.ports.items():
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("dovecot exited %d:\n%s" % (self.proc.returncode,
                                                                   self.logs()))
                if name.endswith("s"):
                    # TLS listeners say nothing first: a connection is enough
                    try:
                        socket.create_connection((self.host, p), timeout=1).close()
                        break
                    except OSError:
                        pass
                elif _greeting(p, self.host).startswith((b"* OK", b"+OK")):
                    break
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError("dovecot did not answer on %s/%d:\n%s" % (
                        name, p, self.logs()))
                time.sleep(0.05)
        return self

    def pids(self):
        """Dovecot's processes: the master's session (all it started)."""
        if self.proc is None:
            return []
        return qng.session_members(self.proc.pid)

    def stop(self, timeout=15):
        """SIGTERM the master, then wait for every process of its session
        (the master stops its children); SIGKILL what is left."""
        if self.proc is None:
            return
        sid = self.proc.pid
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        deadline = time.monotonic() + timeout
        while qng.session_members(sid) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in qng.session_members(sid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc = None

    def logs(self):
        text = ""
        for n in ("master.err", "dovecot.log"):
            try:
                with open(os.path.join(self.dir, n), "rb") as f:
                    text += f.read().decode(errors="replace")[-6000:]
            except OSError:
                pass
        return text
