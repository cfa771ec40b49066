# SPDX-License-Identifier: ISC
"""logpipe (doc/logpipe.8): a program's stdout and stderr go to multilog
in a log directory; the program keeps logpipe's pid (a service manager's
signals reach it) and its exit code; multilog is no child of it."""
import os
import shutil
import subprocess
import tempfile
import unittest

import qng


class LogpipeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="qng-logpipe-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.log = os.path.join(self.tmp, "log")
        self.env = {"PATH": "/usr/bin:/bin", "QMAIL_HOME": os.path.dirname(qng.BIN)}

    def logpipe(self, *args):
        return subprocess.run([os.path.join(qng.BIN, "logpipe")] + list(args), env=self.env,
                              capture_output=True, timeout=30)

    def current(self, want):
        path = os.path.join(self.log, "current")

        def lines():
            try:
                with open(path) as f:
                    got = [l[26:] for l in f.read().splitlines()]
            except OSError:
                return None
            return got if len(got) >= want else None
        return qng.wait_for(lines, 10, what="%d lines in %s" % (want, path))

    def test_output_pid_and_exit_code(self):
        r = self.logpipe(self.log, "sh", "-c",
                         'echo out; echo err >&2; echo "pid $$ ppid $PPID"; exit 3')
        self.assertEqual(r.returncode, 3)
        self.assertEqual((r.stdout, r.stderr), (b"", b""))
        got = self.current(3)
        self.assertEqual(got[:2], ["out", "err"])
        # the program is logpipe itself (same pid): its parent is ours
        self.assertEqual(got[2], "pid %s ppid %d" % (got[2].split()[1], os.getpid()))
        with open(os.path.join(self.log, "current")) as f:
            self.assertTrue(f.read().startswith("@4000"))

    def test_children_finish_their_lines(self):
        """multilog stays until the last writer is gone: a child that
        outlives the program still gets its line into the log."""
        r = self.logpipe(self.log, "sh", "-c", "(sleep 0.5; echo late) & echo early")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(self.current(2), ["early", "late"])

    def test_no_multilog(self):
        self.env["QMAIL_HOME"] = self.tmp
        r = self.logpipe(self.log, "echo", "hi")
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"unable to run %s/bin/multilog" % self.tmp.encode(), r.stderr)

    def test_usage_and_failures(self):
        for args in [(), (self.log,), ("relative", "true")]:
            r = self.logpipe(*args)
            self.assertEqual(r.returncode, 100, args)
            self.assertIn(b"usage: logpipe", r.stderr)
        r = self.logpipe(self.log, "/nonexistent/program")
        self.assertEqual(r.returncode, 111)
        self.assertIn("unable to run /nonexistent/program", "\n".join(self.current(1)))

    @unittest.skipUnless(qng.IS_ROOT, "-u needs root")
    def test_logger_runs_as_user(self):
        os.mkdir(self.log)
        nobody = qng.owner_ids()
        os.chown(self.log, *nobody)
        r = self.logpipe("-u", "nobody", self.log, "echo", "hi")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.current(1), ["hi"])
        self.assertEqual(os.stat(os.path.join(self.log, "current")).st_uid, nobody[0])
        # a user that is not there fails the start, before the program
        r = self.logpipe("-u", "no-such-user-qng", self.log, "sh", "-c", "echo ran")
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"no user no-such-user-qng", r.stderr)
        self.assertEqual(self.current(1), ["hi"])


if __name__ == "__main__":
    unittest.main()
