# SPDX-License-Identifier: ISC
"""tcpserver under a burst: many clients connecting at the same moment
against a -c limit.  Those over the limit wait in the listen queue and
are served as slots free up (ucspi-tcp's way), so the queue must hold
them: with ucspi-tcp's backlog of 20, the clients whose handshake the
kernel completed while the accept queue was full (SYN cookies) waited
for ever for a greeting.  The listen queue's length is read back with
ss(8) where it is installed.  Every wait is bounded."""
import re
import selectors
import shutil
import socket
import subprocess
import time
import unittest

from test_tcp import TcpCase

# greets, holds the connection a moment, ends: a busy SMTP server's shape
GREETER = ("/bin/sh", "-c", 'printf "220 burst\\r\\n"; exec sleep 0.5')
SS = shutil.which("ss")


def somaxconn():
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 4096


class BurstTest(TcpCase):
    def listen_queue(self):
        """The listening socket's queue length as the kernel has it."""
        out = subprocess.run([SS, "-Hltn", "sport = :%d" % self.port], capture_output=True,
                             timeout=10).stdout.decode()
        fields = out.split()
        self.assertGreaterEqual(len(fields), 3, out)
        return int(fields[2])

    def burst(self, n, timeout):
        """n clients connect at once; returns ({i: bytes read}, seconds)."""
        sel = selectors.DefaultSelector()
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        t0 = time.monotonic()
        for i in range(n):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", self.port))
            socks.append(s)
            sel.register(s, selectors.EVENT_READ, i)
        got = {}
        deadline = t0 + timeout
        while len(got) < n and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.5):
                try:
                    data = key.fileobj.recv(100)
                except BlockingIOError:
                    continue
                except OSError as e:
                    data = ("error: %s" % e).encode()
                got[key.data] = data
                sel.unregister(key.fileobj)
                key.fileobj.close()
        sel.close()
        return got, time.monotonic() - t0

    def test_500_at_once_against_c_100(self):
        self.serve(["-R", "-H", "-v", "-c", "100"], prog=GREETER)
        got, took = self.burst(500, timeout=60)
        missing = 500 - len(got)
        self.assertEqual(missing, 0, "%d clients never greeted in %.0f s" % (missing, took))
        self.assertEqual(set(got.values()), {b"220 burst\r\n"})
        # five rounds of 0.5 s and the forks: well within the bound
        self.assertLess(took, 30)
        # never more than 100 at once; the waiting ones taken as slots freed
        counts = [int(c) for c in re.findall(r"^tcpserver: status: (\d+)/100$", self.log(),
                                             re.M)]
        self.assertEqual(max(counts), 100)
        self.assertEqual(self.log().count("tcpserver: pid "), 500)

    @unittest.skipUnless(SS, "ss(8) is not installed")
    def test_default_backlog(self):
        # the kernel's maximum (net.core.somaxconn), not ucspi-tcp's 20
        self.serve(["-R", "-H", "-c", "100"], prog=GREETER)
        self.assertEqual(self.listen_queue(), somaxconn())

    @unittest.skipUnless(SS, "ss(8) is not installed")
    def test_b_sets_backlog(self):
        self.serve(["-R", "-H", "-c", "100", "-b", "7"], prog=GREETER)
        self.assertEqual(self.listen_queue(), 7)


if __name__ == "__main__":
    unittest.main()
