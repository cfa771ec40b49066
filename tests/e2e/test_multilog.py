# SPDX-License-Identifier: ISC
"""multilog and tai64nlocal, end to end: the real programs on pipes and
temporary directories.  Stamps, rotation without losing or repeating a
line, selection, status files, alerts, the lock, restarts, a line seen
by `tail -f` at once, a full disk (a file size limit, or a small tmpfs
when root) waited out, and tai64nlocal against Python's own clock
arithmetic."""
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

import qng

MULTILOG = os.path.join(qng.BIN, "multilog")
TAI64NLOCAL = os.path.join(qng.BIN, "tai64nlocal")
STAMP = re.compile(rb"^@(4[0-9a-f]{15})([0-9a-f]{8}) ")
ARCHIVE = re.compile(r"^@[0-9a-f]{24}\.[su]$")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def label_time(label):
    """POSIX seconds and nanoseconds of a TAI64N label (hex text)."""
    return int(label[:16], 16) - 2 ** 62 - 10, int(label[16:24], 16)


class MultilogTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="qng-multilog-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.procs = []
        self.addCleanup(self.reap)

    def reap(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
            for f in (p.stdin, p.stdout, p.stderr):
                if f:
                    f.close()

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def run_ml(self, args, data, timeout=30, preexec=None):
        return subprocess.run([MULTILOG] + list(args), input=data, cwd=self.tmp,
                              capture_output=True, timeout=timeout, preexec_fn=preexec)

    def start_ml(self, args, preexec=None, stderr_name="stderr"):
        err = open(self.path(stderr_name), "wb")
        p = subprocess.Popen([MULTILOG] + list(args), stdin=subprocess.PIPE, stderr=err,
                             cwd=self.tmp, preexec_fn=preexec)
        err.close()
        self.procs.append(p)
        return p

    def read(self, *parts):
        with open(self.path(*parts), "rb") as f:
            return f.read()

    def archives(self, d):
        return sorted(n for n in os.listdir(self.path(d)) if n.startswith("@"))

    def all_lines(self, d):
        """Every line of the directory, oldest archive first, then current."""
        data = b"".join(self.read(d, n) for n in self.archives(d))
        return (data + self.read(d, "current")).splitlines()

    def wait_file(self, path, pred, timeout=10, what="file"):
        def check():
            try:
                with open(path, "rb") as f:
                    return pred(f.read())
            except FileNotFoundError:
                return False
        return qng.wait_for(check, timeout=timeout, what=what)

    # --- stamps, selection, status, alerts -----------------------------
    def test_stamps_are_tai64n_and_now(self):
        before = time.time()
        r = self.run_ml(["t", "./main"], b"new msg 1\nend msg 1\n\n")
        after = time.time()
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = self.read("main", "current").split(b"\n")
        self.assertEqual(lines[-1], b"")
        self.assertEqual(len(lines), 4)
        last = None
        for line, text in zip(lines, [b"new msg 1", b"end msg 1", b""]):
            m = STAMP.match(line)
            self.assertIsNotNone(m, line)
            self.assertEqual(line[26:], text)
            secs, nano = label_time(m.group(1).decode() + m.group(2).decode())
            self.assertLess(nano, 10 ** 9)
            t = secs + nano / 1e9
            self.assertGreaterEqual(t, before - 1)
            self.assertLessEqual(t, after + 1)
            if last is not None:
                self.assertGreaterEqual(t, last)
            last = t
        # a clean end: current complete (0744), nothing archived
        self.assertEqual(mode(self.path("main", "current")), 0o744)
        self.assertEqual(mode(self.path("main")), 0o700)
        self.assertEqual(mode(self.path("main", "lock")), 0o600)
        self.assertEqual(self.archives("main"), [])

    def test_selection_patterns(self):
        data = (b"keep 1\ndrop 2\nkeep 3 drop\nstatus: local 0/10 remote 1/20\n"
                b"delivery 7: success: did_0+0+1/\ndelivery 8: deferral: Sorry\ndead drop\n")
        r = self.run_ml(["-*", "+keep*", "./keep",
                         "+*", "-drop*", "./nodrop",
                         "-*", "+delivery *: success: *", "./ok",
                         "-*", "+*drop", "./enddrop"], data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.read("keep", "current"), b"keep 1\nkeep 3 drop\n")
        self.assertEqual(self.read("nodrop", "current"),
                         b"keep 1\nkeep 3 drop\nstatus: local 0/10 remote 1/20\n"
                         b"delivery 7: success: did_0+0+1/\ndelivery 8: deferral: Sorry\n"
                         b"dead drop\n")
        self.assertEqual(self.read("ok", "current"), b"delivery 7: success: did_0+0+1/\n")
        # multilog's star stops at the first d: "dead drop" is not selected
        self.assertEqual(self.read("enddrop", "current"), b"keep 3 drop\n")

    def test_patterns_see_the_timestamp(self):
        data = b"fatal: out of memory\nall is well\n"
        r = self.run_ml(["t", "-*", "+* fatal: *", "./f", "-*", "+fatal: *", "./never"], data)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = self.read("f", "current").splitlines()
        self.assertEqual(len(got), 1)
        self.assertTrue(STAMP.match(got[0]))
        self.assertTrue(got[0].endswith(b" fatal: out of memory"))
        self.assertEqual(self.read("never", "current"), b"")

    def test_status_file(self):
        data = b"STAT a longer first status line\nother\nSTAT short\nnot status\n"
        r = self.run_ml(["-*", "+STAT*", "=status"], data)
        self.assertEqual(r.returncode, 0, r.stderr)
        st = self.read("status")
        self.assertEqual(len(st), 1001)
        self.assertEqual(st, b"STAT short" + b"\n" * 991)
        self.assertEqual(mode(self.path("status")), 0o600)  # as daemontools
        # a long line: its first 1000 bytes, then one newline
        r = self.run_ml(["=status"], b"x" * 1500 + b"\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.read("status"), b"x" * 1000 + b"\n")

    def test_alert_to_stderr(self):
        data = b"quiet\nALERT disk\n" + b"ALERT " + b"y" * 300 + b"\n"
        r = self.run_ml(["-*", "+ALERT*", "e"], data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"ALERT disk\n" + (b"ALERT " + b"y" * 194) + b"...\n")

    def test_long_lines_and_partial_last_line(self):
        long1 = b"L" * 999 + b"x" + b"z" * 2000
        data = long1 + b"\nshort\nno newline at the end"
        r = self.run_ml(["-*x", "./a", "+*", "./b"], data)
        self.assertEqual(r.returncode, 0, r.stderr)
        # the line is judged on its first 1000 bytes, written whole
        self.assertEqual(self.read("a", "current"), b"short\nno newline at the end\n")
        self.assertEqual(self.read("b", "current"), data + b"\n")

    # --- rotation --------------------------------------------------------
    def numbered(self, n, width=40):
        return [("line %06d " % i).encode().ljust(width, b"x") for i in range(n)]

    def test_rotation_loses_nothing(self):
        lines = self.numbered(3000)
        r = self.run_ml(["s4096", "n1000", "./main"], b"".join(x + b"\n" for x in lines))
        self.assertEqual(r.returncode, 0, r.stderr)
        arch = self.archives("main")
        self.assertGreater(len(arch), 20)
        for n in arch:
            self.assertRegex(n, ARCHIVE)
            self.assertTrue(n.endswith(".s"))
            p = self.path("main", n)
            self.assertEqual(mode(p), 0o744)
            size = os.path.getsize(p)
            # finished at a line boundary within 2000 bytes of the size
            self.assertLessEqual(size, 4096)
            self.assertGreaterEqual(size, 4096 - 2000)
            self.assertTrue(self.read("main", n).endswith(b"\n"))
        self.assertEqual(self.all_lines("main"), lines)
        for leftover in ("previous", "processed", "newstate"):
            self.assertFalse(os.path.exists(self.path("main", leftover)))

    def test_rotation_keeps_count(self):
        lines = self.numbered(3000)
        r = self.run_ml(["s4096", "n4", "./main"], b"".join(x + b"\n" for x in lines))
        self.assertEqual(r.returncode, 0, r.stderr)
        # daemontools' count includes current: n4 keeps three archives
        self.assertEqual(len(self.archives("main")), 3)
        kept = self.all_lines("main")
        self.assertEqual(kept, lines[-len(kept):])
        self.assertGreater(len(kept), 3 * (4096 - 2000) // 41)

    def test_sigalrm_rotates_now(self):
        p = self.start_ml(["./main"])
        p.stdin.write(b"before alarm\n")
        p.stdin.flush()
        self.wait_file(self.path("main", "current"), lambda b: b == b"before alarm\n")
        p.send_signal(signal.SIGALRM)
        qng.wait_for(lambda: self.archives("main"), what="an archive after ALRM")
        p.stdin.write(b"after alarm\n")
        p.stdin.close()
        self.assertEqual(p.wait(timeout=10), 0)
        arch = self.archives("main")
        self.assertEqual(len(arch), 1)
        self.assertEqual(self.read("main", arch[0]), b"before alarm\n")
        self.assertEqual(self.read("main", "current"), b"after alarm\n")

    def test_processor(self):
        lines = self.numbered(300)
        r = self.run_ml(["s4096", "!tr a-z A-Z", "./main"], b"".join(x + b"\n" for x in lines))
        self.assertEqual(r.returncode, 0, r.stderr)
        arch = self.archives("main")
        self.assertGreater(len(arch), 1)
        archived = b"".join(self.read("main", n) for n in arch).splitlines()
        current = self.read("main", "current").splitlines()
        # archives went through the processor, current not yet
        k = len(archived)
        self.assertEqual(archived, [x.upper() for x in lines[:k]])
        self.assertEqual(current, lines[k:])
        self.assertTrue(os.path.exists(self.path("main", "state")))
        for leftover in ("previous", "processed", "newstate"):
            self.assertFalse(os.path.exists(self.path("main", leftover)))

    # --- the lock, restarts, signals -------------------------------------
    def test_second_multilog_refused(self):
        p = self.start_ml(["./main"])
        p.stdin.write(b"first\n")
        p.stdin.flush()
        self.wait_file(self.path("main", "current"), lambda b: b == b"first\n")
        r = self.run_ml(["./main"], b"second\n", timeout=10)
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"another multilog is writing it", r.stderr)
        p.stdin.write(b"third\n")
        p.stdin.close()
        self.assertEqual(p.wait(timeout=10), 0)
        self.assertEqual(self.read("main", "current"), b"first\nthird\n")

    def test_restart_appends(self):
        for text in (b"one\n", b"two\n", b"three\n"):
            r = self.run_ml(["./main"], text)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(mode(self.path("main", "current")), 0o744)
        self.assertEqual(self.read("main", "current"), b"one\ntwo\nthree\n")
        self.assertEqual(self.archives("main"), [])

    def test_restart_after_kill_keeps_data(self):
        p = self.start_ml(["./main"])
        p.stdin.write(b"before the crash\n")
        p.stdin.flush()
        self.wait_file(self.path("main", "current"), lambda b: b == b"before the crash\n")
        self.assertEqual(mode(self.path("main", "current")), 0o644)
        p.kill()
        p.wait(timeout=10)
        r = self.run_ml(["./main"], b"after\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        # as daemontools: the unfinished current is kept as @<label>.u
        arch = self.archives("main")
        self.assertEqual(len(arch), 1)
        self.assertTrue(arch[0].endswith(".u"))
        self.assertEqual(self.read("main", arch[0]), b"before the crash\n")
        self.assertEqual(self.read("main", "current"), b"after\n")

    def test_sigterm_finishes_the_line(self):
        p = self.start_ml(["./main"])
        p.stdin.write(b"whole line\nhalf a ")
        p.stdin.flush()
        self.wait_file(self.path("main", "current"), lambda b: b == b"whole line\n")
        p.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        self.assertIsNone(p.poll(), "exited in the middle of a line")
        p.stdin.write(b"line\nnot read\n")
        p.stdin.flush()
        self.assertEqual(p.wait(timeout=10), 0)
        self.assertEqual(self.read("main", "current"), b"whole line\nhalf a line\n")
        self.assertEqual(mode(self.path("main", "current")), 0o744)

    def test_sighup_exits_cleanly(self):
        p = self.start_ml(["./main"])
        p.stdin.write(b"one\n")
        p.stdin.flush()
        self.wait_file(self.path("main", "current"), lambda b: b == b"one\n")
        p.send_signal(signal.SIGHUP)
        self.assertEqual(p.wait(timeout=10), 0)
        self.assertEqual(mode(self.path("main", "current")), 0o744)

    def test_tail_sees_line_at_once(self):
        p = self.start_ml(["t", "./main"])
        cur = self.path("main", "current")
        for i in range(5):
            line = b"delivery %d: success: did_0+0+1/" % i
            p.stdin.write(line + b"\n")
            p.stdin.flush()
            self.wait_file(cur, lambda b: b.endswith(line + b"\n"), timeout=5,
                           what="line %d in current" % i)
        # an incomplete line is not written before its newline
        p.stdin.write(b"incomplete")
        p.stdin.flush()
        time.sleep(0.3)
        self.assertFalse(self.read("main", "current").endswith(b"incomplete"))
        p.stdin.write(b" now\n")
        p.stdin.flush()
        self.wait_file(cur, lambda b: b.endswith(b" incomplete now\n"), timeout=5)
        self.assertIsNone(p.poll())
        p.stdin.close()
        self.assertEqual(p.wait(timeout=10), 0)

    # --- usage and fatal errors ------------------------------------------
    def test_usage_and_fatal_exits(self):
        for args in ([], ["x", "./main"], ["s", "./main"], ["!", "./main"], ["=", "./main"],
                     ["nfive", "./main"]):
            r = self.run_ml(args, b"line\n")
            self.assertEqual(r.returncode, 100, (args, r.stderr))
            self.assertIn(b"usage", r.stderr)
        with open(self.path("afile"), "w") as f:
            f.write("x")
        for d in ["./afile/sub", "./no/such/parent"]:
            r = self.run_ml([d], b"line\n")
            self.assertEqual(r.returncode, 111, (d, r.stderr))
            self.assertIn(b"fatal", r.stderr)
        r = self.run_ml(["s100", "n1", "./main"], b"x\n")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"size out of range, using 4096", r.stderr)

    # --- a full disk -------------------------------------------------------
    def outage_over(self, p):
        """The feeder closes stdin; multilog must end well, having said
        once that it waits and once that it works again."""
        p.stdin.close()
        self.assertEqual(p.wait(timeout=30), 0)
        err = self.read("stderr")
        self.assertEqual(err.count(b"retrying"), 1, err)
        self.assertEqual(err.count(b"working again"), 1, err)

    def test_file_size_limit_waited_out(self):
        limit = 3000

        def pre():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        lines = self.numbered(400, width=30)
        p = self.start_ml(["t", "s8192", "./main"], preexec=pre)
        p.stdin.write(b"".join(x + b"\n" for x in lines))
        p.stdin.flush()

        self.wait_file(self.path("stderr"), lambda b: b"retrying" in b, timeout=15,
                       what="the outage warning")
        self.assertIn(b"File too large", self.read("stderr"))
        # current stopped at the limit, cut nowhere but where write(2) cut
        self.assertLessEqual(os.path.getsize(self.path("main", "current")), limit)
        time.sleep(1.5)  # a retry or two while still blocked
        self.assertIsNone(p.poll())
        resource.prlimit(p.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        self.outage_over(p)
        got = self.all_lines("main")
        self.assertEqual([x[26:] for x in got], lines)
        for x in got:
            self.assertTrue(STAMP.match(x), x)

    def test_status_file_size_limit_waited_out(self):
        def pre():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (500, resource.RLIM_INFINITY))
        p = self.start_ml(["=status"], preexec=pre)
        p.stdin.write(b"status one\n")
        p.stdin.flush()
        self.wait_file(self.path("stderr"), lambda b: b"retrying" in b, timeout=15)
        resource.prlimit(p.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        self.outage_over(p)
        self.assertEqual(self.read("status"), b"status one" + b"\n" * 991)

    def test_tmpfs_full_waited_out(self):
        if not qng.IS_ROOT:
            self.skipTest("mounting a small tmpfs needs root")
        mnt = self.path("small")
        os.mkdir(mnt)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt],
                           capture_output=True, timeout=30)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs here: %s" % r.stderr.decode(errors="replace"))
        self.addCleanup(subprocess.run, ["umount", "-l", mnt], timeout=30)
        # fill it up, leaving a few KB
        filler = os.path.join(mnt, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        os.truncate(filler, os.path.getsize(filler) - 8192)
        lines = self.numbered(1000, width=40)
        p = self.start_ml(["s4096", "n100", os.path.join(mnt, "log")])
        p.stdin.write(b"".join(x + b"\n" for x in lines))
        p.stdin.flush()
        self.wait_file(self.path("stderr"), lambda b: b"retrying" in b, timeout=15,
                       what="the disk full warning")
        self.assertIn(b"No space left on device", self.read("stderr"))
        time.sleep(1.5)
        self.assertIsNone(p.poll())
        os.unlink(filler)
        self.outage_over(p)
        d = os.path.join(mnt, "log")
        arch = sorted(n for n in os.listdir(d) if n.startswith("@"))
        data = b""
        for n in arch + ["current"]:
            with open(os.path.join(d, n), "rb") as f:
                data += f.read()
        self.assertEqual(data.splitlines(), lines)


class Tai64nlocalTest(unittest.TestCase):
    def convert(self, data, tz=None, timeout=30):
        env = dict(os.environ)
        if tz is not None:
            env["TZ"] = tz
        r = subprocess.run([TAI64NLOCAL], input=data, capture_output=True, env=env,
                           timeout=timeout)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def expect(self, label, tzoffset_hours=None):
        secs, nano = label_time(label)
        if tzoffset_hours is None:
            t = time.localtime(secs)
            return "%d-%02d-%02d %02d:%02d:%02d.%09d" % (
                t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, nano)
        t = time.gmtime(secs + 3600 * tzoffset_hours)
        return "%d-%02d-%02d %02d:%02d:%02d.%09d" % (
            t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, nano)

    def test_seed_stamps(self):
        labels = ["400000003f87e06f3172d234", "400000003f87e07005d90c24",
                  "400000003f88003f221f30fc", "400000000000000a00000000",
                  "40000000ffffffff3b9ac9ff"]
        data = "".join("@%s line %d\n" % (l, i) for i, l in enumerate(labels)).encode()
        for tz, hours in (("UTC0", 0), ("XXX-3", 3), ("YYY7", -7)):
            out = self.convert(data, tz=tz).decode().splitlines()
            want = ["%s line %d" % (self.expect(l, hours), i) for i, l in enumerate(labels)]
            self.assertEqual(out, want, tz)
        # the machine's own zone, against Python's localtime
        out = self.convert(data).decode().splitlines()
        self.assertEqual(out, ["%s line %d" % (self.expect(l), i) for i, l in enumerate(labels)])

    def test_multilog_stamps(self):
        tmp = tempfile.mkdtemp(prefix="qng-tai-")
        self.addCleanup(shutil.rmtree, tmp, True)
        r = subprocess.run([MULTILOG, "t", "./main"], input=b"new msg 1\nend msg 1\n",
                           cwd=tmp, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(tmp, "main", "current"), "rb") as f:
            raw = f.read()
        out = self.convert(raw, tz="UTC0").decode().splitlines()
        for line, conv in zip(raw.decode().splitlines(), out):
            self.assertEqual(conv, self.expect(line[1:25], 0) + line[25:])
        self.assertEqual(len(out), 2)

    def test_pass_through(self):
        data = (b"plain line\n\n@not a label\n@400000003f87e06f3172d23 short\n"
                b"@400000003f87e06f3172d2345 long\n mid @400000003f87e06f3172d234\n"
                b"bin\x00ary \xff\xfe bytes\n" + b"z" * 100000 + b"\nno newline")
        self.assertEqual(self.convert(data, tz="UTC0"), data)

    def test_follows_a_live_log(self):
        p = subprocess.Popen([TAI64NLOCAL], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env=dict(os.environ, TZ="UTC0"))
        try:
            p.stdin.write(b"@400000003f87e06f3172d234 end msg 195408\n")
            p.stdin.flush()
            import selectors
            sel = selectors.DefaultSelector()
            sel.register(p.stdout, selectors.EVENT_READ)
            self.assertTrue(sel.select(timeout=5), "no output before end of input")
            line = p.stdout.readline()
            self.assertEqual(line, b"2003-10-11 10:50:13.829608500 end msg 195408\n")
        finally:
            p.stdin.close()
            p.wait(timeout=10)
            p.stdout.close()

    def test_arguments_refused(self):
        r = subprocess.run([TAI64NLOCAL, "file"], input=b"", capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 100)


if __name__ == "__main__":
    unittest.main()
