# SPDX-License-Identifier: ISC
"""qmail-queue end to end: the message and envelope land byte-exact, every
failure leaves nothing behind, and kill -9 at any moment leaves the queue
holding complete messages or none.  qmail-qstat counts what is committed."""
import os
import random
import re
import resource
import signal
import subprocess
import time
import unittest

import qng


def run_queue(inst, message, envelope, env=None, preexec=None, kill_after=None, slices=1):
    """Run qmail-queue with message on fd 0 and envelope on fd 1.
    Returns the exit code (negative: killed by that signal)."""
    e = dict(inst.env)
    if env:
        e.update(env)
    r, w = os.pipe()
    p = subprocess.Popen([os.path.join(inst.bin, "qmail-queue")], stdin=subprocess.PIPE,
                         stdout=r, stderr=subprocess.DEVNULL, env=e, preexec_fn=preexec,
                         cwd=inst.tmp)
    os.close(r)
    try:
        if kill_after is not None or slices > 1:
            # feed in the background, in slices a millisecond apart;
            # kill at the given moment (None: let it finish)
            import threading

            def feed():
                try:
                    step = max(1, len(message) // slices)
                    for off in range(0, len(message), step):
                        p.stdin.write(message[off:off + step])
                        p.stdin.flush()
                        time.sleep(0.001)
                    p.stdin.close()
                    os.write(w, envelope)
                except (BrokenPipeError, OSError):
                    pass
                finally:
                    try:
                        os.close(w)
                    except OSError:
                        pass
            t = threading.Thread(target=feed)
            t.start()
            if kill_after is not None:
                time.sleep(kill_after)
                try:
                    p.send_signal(signal.SIGKILL)
                except ProcessLookupError:
                    pass
            t.join(timeout=30)
            return p.wait(timeout=30)
        try:
            p.stdin.write(message)
            p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            os.write(w, envelope)
        except BrokenPipeError:
            pass
        os.close(w)
        w = None
        return p.wait(timeout=30)
    finally:
        if w is not None:
            try:
                os.close(w)
            except OSError:
                pass


def envelope(sender, *rcpts):
    out = b"F" + sender.encode() + b"\0"
    for r in rcpts:
        out += b"T" + r.encode() + b"\0"
    return out + b"\0"


class QueueTest(unittest.TestCase):
    def setUp(self):
        self.inst = qng.Instance()
        self.addCleanup(self.inst.cleanup)

    def leftovers(self):
        return [f for f in self.inst.queue_files()]

    def test_message_and_envelope_byte_exact(self):
        msg = b"From: a@b.test\nSubject: hello\n\nbody line\n.leading dot\n"
        rc = run_queue(self.inst, msg, envelope("a@b.test", "c@example.test", "d@example.test"))
        self.assertEqual(rc, 0)
        q = self.inst.queued()
        self.assertEqual(len(q), 1)
        m = q[0]
        first, rest = m["mess"].split(b"\n", 1)
        self.assertRegex(first.decode(),
                         r"^Received: \(qmail \d+ invoked by uid \d+\); "
                         r"\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d -0000$")
        self.assertEqual(rest, msg)
        self.assertEqual(m["sender"], "a@b.test")
        self.assertEqual(m["rcpts"], ["c@example.test", "d@example.test"])
        # qmail's info records come first: u<uid> p<pid>
        recs = m["env"].split(b"\0")
        self.assertRegex(recs[0].decode(), r"^u\d+$")
        self.assertRegex(recs[1].decode(), r"^p\d+$")
        pid = int(recs[1][1:])
        self.assertIn(("(qmail %d " % pid).encode(), first)
        # the message is in mess/<inode % 23>/<inode>, named by its inode
        st = os.stat(self.inst.path("queue", "mess", str(m["id"] % 23), str(m["id"])))
        self.assertEqual(st.st_ino, m["id"])

    def test_invoked_from_network(self):
        rc = run_queue(self.inst, b"x\n", envelope("a@b", "c@d"),
                       env={"QMAIL_QUEUE_ORIGIN": "network"})
        self.assertEqual(rc, 0)
        first = self.inst.queued()[0]["mess"].split(b"\n", 1)[0]
        self.assertRegex(first.decode(), r"^Received: \(qmail \d+ invoked from network\); ")

    def test_bounce_sender_and_no_recipients(self):
        self.assertEqual(run_queue(self.inst, b"x\n", envelope("", "c@d")), 0)
        self.assertEqual(self.inst.queued()[0]["sender"], "")

    def test_exit_codes_and_nothing_left(self):
        cases = [
            (b"Xbad\0\0", 91),                     # not an envelope
            (b"Fa@b\0Tc@d\0", 54),                 # envelope cut short
            (b"F" + b"a" * 1004 + b"\0\0", 11),    # address too long
            (b"Fa@b\0Xc@d\0\0", 91),               # bad record type
        ]
        for env, code in cases:
            with self.subTest(code=code, env=env[:20]):
                self.assertEqual(run_queue(self.inst, b"hello\n", env), code)
                self.assertEqual(self.leftovers(), [])

    def test_missing_home_and_queue(self):
        rc = run_queue(self.inst, b"x\n", envelope("a", "b"),
                       env={"QMAIL_HOME": self.inst.tmp + "/nonexistent"})
        self.assertEqual(rc, 61)
        os.rename(self.inst.path("queue", "todo"), self.inst.path("queue", "todo.off"))
        try:
            rc = run_queue(self.inst, b"x\n", envelope("a", "b"))
            self.assertEqual(rc, 66)
        finally:
            os.rename(self.inst.path("queue", "todo.off"), self.inst.path("queue", "todo"))
        self.assertEqual(self.leftovers(), [])

    def test_disk_full_is_temporary_and_leaves_nothing(self):
        # RLIMIT_FSIZE makes every write past 4 KiB fail as a full disk would.
        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        rc = run_queue(self.inst, b"x" * 100000 + b"\n", envelope("a@b", "c@d"), preexec=limit)
        self.assertEqual(rc, 53)
        self.assertEqual(self.leftovers(), [])

    def test_sigterm_cleans_up(self):
        r, w = os.pipe()
        p = subprocess.Popen([os.path.join(self.inst.bin, "qmail-queue")], stdin=subprocess.PIPE,
                             stdout=r, env=self.inst.env, stderr=subprocess.DEVNULL)
        os.close(r)
        p.stdin.write(b"partial message\n")
        p.stdin.flush()
        qng.wait_for(lambda: any(f.startswith("mess/") for f in self.leftovers()), 10,
                     what="qmail-queue to create its message file")
        p.terminate()
        rc = p.wait(timeout=10)
        os.close(w)
        p.stdin.close()
        self.assertNotEqual(rc, 0)
        self.assertEqual(self.leftovers(), [])

    def test_kill9_at_random_points(self):
        """kill -9 in a loop: every committed message is complete.

        The message is fed in slices so that qmail-queue lives long
        enough to be killed in every phase whatever the disk (tmpfs makes
        the fsyncs free); kill times are spread over the measured length
        of an uninterrupted run, and every 8th run is left to finish."""
        random.seed(1234)
        sent = {}
        committed_ok = 0
        killed = 0

        def body_of(i, size):
            return (("message %d " % i).encode() * (size // 10 + 1))[:size] + b"\nEND%d\n" % i

        def one(i, kill_after):
            size = random.choice([10, 1000, 60000, 300000])
            body = body_of(i, size)
            sent[i] = body
            env = envelope("s%d@x.test" % i, "r%d@example.test" % i)
            return run_queue(self.inst, body, env, kill_after=kill_after, slices=8)

        # how long does an uninterrupted run take here?
        t0 = time.monotonic()
        for i in range(5):
            self.assertEqual(one(1000 + i, None), 0)
        full = (time.monotonic() - t0) / 5
        deadline = time.monotonic() + 60
        for i in range(150):
            if time.monotonic() > deadline:
                break
            rc = one(i, None if i % 8 == 0 else random.uniform(0, full * 1.2))
            if rc == 0:
                committed_ok += 1
            elif rc == -signal.SIGKILL:
                killed += 1
        if os.environ.get("QNG_VERBOSE"):
            print("kill9: killed %d, committed %d, full run %.1f ms" % (killed, committed_ok, full * 1000))
        # The loop must really have interrupted some and finished others.
        self.assertGreater(killed, 10)
        self.assertGreater(committed_ok, 10)
        # Every todo entry names a complete message and a complete envelope.
        q = self.inst.queued()
        for m in q:
            sender = m["sender"]
            self.assertIsNotNone(sender, "envelope without sender: %r" % m["env"])
            i = int(re.match(r"s(\d+)@x\.test$", sender).group(1))
            self.assertEqual(m["rcpts"], ["r%d@example.test" % i])
            self.assertEqual(m["mess"].split(b"\n", 1)[1], sent[i])
        # Each process that exited 0 committed its message (5 timing runs too).
        self.assertGreaterEqual(len(q), committed_ok + 5)
        # qmail-qstat counts exactly the committed messages.
        out = self.inst.run("qmail-qstat").stdout.decode()
        self.assertEqual(out, "messages in queue: %d\n"
                              "messages in queue but not yet preprocessed: %d\n" % (len(q), len(q)))


def frame(kind, payload=b""):
    return kind + len(payload).to_bytes(4, "big") + payload


class BatchTest(unittest.TestCase):
    """qmail-queue -m: many messages over one socket, each on its own."""

    def setUp(self):
        self.inst = qng.Instance()
        self.addCleanup(self.inst.cleanup)

    def start(self):
        import socket
        a, b = socket.socketpair()
        p = subprocess.Popen([os.path.join(self.inst.bin, "qmail-queue"), "-m"], stdin=b,
                             stdout=b, stderr=subprocess.DEVNULL, env=self.inst.env)
        b.close()
        a.settimeout(20)
        self.addCleanup(a.close)
        return p, a

    def test_many_messages_one_process(self):
        p, s = self.start()
        for i in range(5):
            s.sendall(frame(b"D", b"Subject: %d\n\n" % i) + frame(b"D", b"body %d\n" % i))
            s.sendall(frame(b"E", envelope("s%d@x.test" % i, "r%d@example.test" % i)))
            self.assertEqual(s.recv(1), b"\0")
        s.shutdown(1)
        self.assertEqual(p.wait(timeout=10), 0)
        q = self.inst.queued()
        self.assertEqual(len(q), 5)
        pids = set()
        for m in q:
            i = int(m["sender"][1])
            first, rest = m["mess"].split(b"\n", 1)
            self.assertEqual(rest, b"Subject: %d\n\nbody %d\n" % (i, i))
            self.assertEqual(m["rcpts"], ["r%d@example.test" % i])
            pids.add(m["env"].split(b"\0")[1])
            self.assertIn(b"(qmail %d invoked" % p.pid, first)
        self.assertEqual(pids, {b"p%d" % p.pid})

    def test_failure_and_abort_affect_one_message(self):
        p, s = self.start()
        # 1: address too long -> 11, nothing left of it
        s.sendall(frame(b"D", b"x\n") + frame(b"E", b"F" + b"a" * 1004 + b"\0\0"))
        self.assertEqual(s.recv(1), bytes([11]))
        # 2: aborted half-way -> no answer, nothing left
        s.sendall(frame(b"D", b"half a message\n") + frame(b"A"))
        # 3: fine
        s.sendall(frame(b"D", b"ok\n") + frame(b"E", envelope("a@b", "c@d")))
        self.assertEqual(s.recv(1), b"\0")
        # 4: bad envelope -> 91
        s.sendall(frame(b"D", b"y\n") + frame(b"E", b"Xnope\0\0"))
        self.assertEqual(s.recv(1), bytes([91]))
        s.shutdown(1)
        self.assertEqual(p.wait(timeout=10), 0)
        self.assertEqual(len(self.inst.queued()), 1)
        self.assertEqual(len([f for f in self.inst.queue_files() if f.startswith("mess/")]), 1)

    def test_end_of_file_mid_message_leaves_nothing(self):
        p, s = self.start()
        s.sendall(frame(b"D", b"cut short\n"))
        s.shutdown(1)
        self.assertEqual(p.wait(timeout=10), 54)
        self.assertEqual(self.inst.queue_files(), [])

    def test_malformed_frames(self):
        for junk in [b"Z\0\0\0\0", b"D\xff\xff\xff\xff", b"A\0\0\0\1x"]:
            p, s = self.start()
            s.sendall(frame(b"D", b"x\n") + junk)
            s.shutdown(1)
            self.assertEqual(p.wait(timeout=10), 91, junk)
        self.assertEqual(self.inst.queue_files(), [])

    def test_disk_full_answers_53_and_goes_on(self):
        import socket
        a, b = socket.socketpair()

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        p = subprocess.Popen([os.path.join(self.inst.bin, "qmail-queue"), "-m"], stdin=b,
                             stdout=b, stderr=subprocess.DEVNULL, env=self.inst.env,
                             preexec_fn=limit)
        b.close()
        a.settimeout(20)
        big = b"z" * 60000
        a.sendall(frame(b"D", big) + frame(b"D", big) + frame(b"E", envelope("a", "b")))
        self.assertEqual(a.recv(1), bytes([53]))
        a.sendall(frame(b"D", b"small\n") + frame(b"E", envelope("a", "b")))
        self.assertEqual(a.recv(1), b"\0")
        a.close()
        self.assertEqual(p.wait(timeout=10), 0)
        self.assertEqual(len(self.inst.queued()), 1)


class QstatTest(unittest.TestCase):
    def test_empty_queue_output_matches_seed_format(self):
        inst = qng.Instance()
        self.addCleanup(inst.cleanup)
        r = inst.run("qmail-qstat")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout.decode(), "messages in queue: 0\n"
                                            "messages in queue but not yet preprocessed: 0\n")

    def test_preprocessed_messages_count(self):
        inst = qng.Instance()
        self.addCleanup(inst.cleanup)
        for i in range(3):
            self.assertEqual(run_queue(inst, b"x\n", envelope("a", "b")), 0)
        # Simulate qmail-send having preprocessed one: info/ written, todo/ gone.
        ids = inst.queue_ids("todo")
        n = ids[0]
        info = inst.path("queue", "info", str(n % 23), str(n))
        with open(info, "wb") as f:
            f.write(b"Fa\0")
        os.unlink(inst.path("queue", "todo", str(n)))
        out = inst.run("qmail-qstat").stdout.decode()
        self.assertEqual(out, "messages in queue: 3\n"
                              "messages in queue but not yet preprocessed: 2\n")

    def test_showctl_reports_values_and_defaults(self):
        inst = qng.Instance(me="mx.example.test")
        self.addCleanup(inst.cleanup)
        inst.control("databytes", "10000000\n")
        inst.control("rcpthosts", "example.test\n")
        inst.control("rcpthost", "typo.test\n")
        r = inst.run("qmail-showctl")
        self.assertEqual(r.returncode, 0)
        out = r.stdout.decode()
        self.assertIn("qmail home directory: %s\n" % inst.home, out)
        self.assertIn("me: mx.example.test", out)
        self.assertIn("databytes: 10000000", out)
        self.assertIn("smtpgreeting: (default) mx.example.test", out)
        self.assertIn("queuelifetime: (default) 604800", out)
        self.assertIn("  example.test\n", out)
        self.assertIn("rcpthost: not a control file", out)

    def test_showctl_knows_the_virtual_domain_files(self):
        inst = qng.Instance(me="mx.example.test")
        self.addCleanup(inst.cleanup)
        inst.control("overquota", "bounce\n")
        inst.control("norcptcheck", "legacy.test\n")
        inst.control("morercpthosts", "more.test\n")
        inst.control("vpopbackend", "pgsql\n")
        inst.control("vpoppgsql", "host=/run/postgresql password=hunter2\n")
        r = inst.run("qmail-showctl")
        self.assertEqual(r.returncode, 0)
        out = r.stdout.decode()
        self.assertIn("overquota: bounce (", out)
        self.assertIn("norcptcheck: ", out)
        self.assertIn("  legacy.test\n", out)
        self.assertIn("quotawarnpercent: (default) 90 (", out)
        self.assertIn("vpopbackend: pgsql (", out)
        self.assertIn("vpopclearpasswd: (default) 0 (", out)
        # qmail-setup names the instance's own ~vpopmail
        self.assertIn("vpopmailhome: %s (" % inst.path("vpopmail"), out)
        os.unlink(inst.path("control", "vpopmailhome"))
        out = inst.run("qmail-showctl").stdout.decode()
        self.assertIn("vpopmailhome: (default) /", out)
        self.assertIn("morercpthosts: present, 10 bytes.", out)
        # the connection string may hold a password: its size only
        self.assertIn("vpoppgsql: present, 38 bytes.", out)
        self.assertNotIn("hunter2", out)
        self.assertNotIn("not a control file", out)


if __name__ == "__main__":
    unittest.main()
