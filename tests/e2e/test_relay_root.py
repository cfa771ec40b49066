# SPDX-License-Identifier: ISC
"""Root-only: remote delivery in a root-mode instance (qmail-setup -r,
qmail's accounts): qmail-rspawn and its qmail-remote workers run as
qmailr, read the queue's messages (qmailq's, through the qmail group)
and deliver them to an SMTP sink; lock/tcpto stays writable to them."""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import qng
from smtpsink import Sink

HOST = "root.test"


def owner_of(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


@unittest.skipUnless(qng.IS_ROOT, "a root-mode instance needs root")
class RootRelayTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="qng-rootrelay-")
        os.chmod(self.root, 0o755)
        self.addCleanup(shutil.rmtree, self.root, True)
        self.home = os.path.join(self.root, "home")
        r = subprocess.run([os.path.join(qng.BIN, "qmail-setup"), "-r", "-b", qng.BIN, "-m",
                            HOST, self.home], capture_output=True, timeout=60)
        if r.returncode != 0:
            self.skipTest("qmail-setup -r failed: %s" % r.stderr.decode())
        self.env = {"PATH": os.path.join(self.home, "bin") + ":/usr/bin:/bin",
                    "QMAIL_HOME": self.home}
        self.sink = Sink(["127.0.0.2"])
        self.addCleanup(self.sink.stop)
        for name, text in (("smtproutes", ":127.0.0.2:%d\n" % self.sink.port),
                           ("locals", HOST + "\n"), ("dnsservers", "127.0.0.1:1\n")):
            with open(os.path.join(self.home, "control", name), "w") as f:
                f.write(text)
        self.log = open(os.path.join(self.root, "send.log"), "wb")
        self.addCleanup(self.log.close)
        self.send = subprocess.Popen([os.path.join(self.home, "bin", "qmail-start"),
                                      "./Maildir/"], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self.addCleanup(self.stop)

    def stop(self):
        if self.send.poll() is None:
            self.send.send_signal(signal.SIGTERM)
            try:
                self.send.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.send.pid, signal.SIGKILL)
                self.send.wait(timeout=10)

    def read_log(self):
        with open(os.path.join(self.root, "send.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def test_remote_delivery_as_qmailr(self):
        qmailr = pwd.getpwnam("qmailr").pw_uid
        seen = set()
        msgs = 3
        q = pwd.getpwnam("qmailq")

        def as_qmailq():
            # setuid qmail-queue trusts QMAIL_HOME only when not elevated:
            # inject as qmailq itself into this (non-default) tree
            os.setgid(q.pw_gid)
            os.setuid(q.pw_uid)
        for i in range(msgs):
            r = subprocess.run([os.path.join(self.home, "bin", "qmail-inject"), "-f",
                                "s@root.test", "a%d@far.test" % i],
                               input=b"Subject: root %d\n\nbody\n" % i, env=self.env,
                               capture_output=True, timeout=30, preexec_fn=as_qmailq,
                               cwd="/")
            self.assertEqual(r.returncode, 0, r.stderr)
        def look():
            # qmail-rspawn and its workers (which linger 2 s after a message)
            for p in qng.children(self.send.pid):
                if qng.comm(p) == "qmail-rspawn":
                    seen.add(("qmail-rspawn", owner_of(p)))
                    for w in qng.children(p):
                        seen.add((qng.comm(w), owner_of(w)))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(self.sink.txns()) < msgs:
            look()
            time.sleep(0.01)
        look()
        self.assertEqual(len(self.sink.txns()), msgs, self.read_log())
        self.assertIn(("qmail-rspawn", qmailr), seen)
        self.assertTrue([n for n, _ in seen if n != "qmail-rspawn"], seen)  # a worker seen
        for name, uid in seen:
            if uid is not None:
                self.assertEqual(uid, qmailr, (name, seen))
        qng.wait_for(lambda: self.read_log().count(": success: 127.0.0.2_accepted_") == msgs,
                     15, what="the success lines in:\n" + self.read_log())
        st = os.stat(os.path.join(self.home, "queue", "lock", "tcpto"))
        self.assertEqual(st.st_uid, qmailr)


if __name__ == "__main__":
    unittest.main()
