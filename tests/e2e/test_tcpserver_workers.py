# SPDX-License-Identifier: ISC
"""tcpserver -W: resident workers, end to end on 127.0.0.0/8.

What the option promises (doc/tcpserver.1): a program that speaks the
worker protocol serves connection after connection in one process; each
client gets exactly the environment a fresh child would have had (the
rules cdb read for every connection, nothing of the last client left);
the log lines are those of a child per connection; a worker that exits
or is killed is reaped and replaced; a program that does not speak the
protocol is run once per connection as without -W.  The first half uses
tests/prog/wenv (prints its environment, then obeys one line), the second
half qmail-smtpd as the seeds' run script starts it.  Every wait is
bounded."""
import os
import re
import shutil
import signal
import smtplib
import socket
import time
import unittest

import qng
from qng import BIN, IS_ROOT, Instance, wait_for

TCPSERVER = os.path.join(BIN, "tcpserver")
WENV = os.path.join(qng.BUILD, "tests", "prog", "wenv")


class WorkerCase(unittest.TestCase):
    def setUp(self):
        self.inst = Instance()
        self.addCleanup(self.inst.cleanup)
        # a copy the instance's user can run (the build may be private)
        self.wenv = os.path.join(self.inst.tmp, "wenv")
        shutil.copy(WENV, self.wenv)
        os.chmod(self.wenv, 0o755)

    def serve(self, args, prog=None, rules=None, env=None, logname="tcp.log"):
        argv = [TCPSERVER, "-1", "-v", "-R", "-H"] + list(args)
        if rules is not None:
            argv += ["-x", self.inst.rules(rules)]
        if IS_ROOT:
            argv += ["-u", str(self.inst.uid), "-g", str(self.inst.gid)]
        argv += ["127.0.0.1", "0"] + list(prog or [self.wenv])
        self.proc = self.inst.start(argv, env=env, logname=logname)
        line = self.inst._readline_timeout(self.proc, 10)
        self.assertIsNotNone(line, "no port; log:\n" + self.inst.log(logname))
        self.port = int(line)
        self.logname = logname
        return self.port

    def log(self):
        return self.inst.log(self.logname)

    def wait_log(self, pattern, count=1, timeout=10):
        wait_for(lambda: len(re.findall(pattern, self.log(), re.M)) >= count,
                 timeout=timeout,
                 what="%d x %r in the log:\n%s" % (count, pattern, self.log()))

    def ends(self):
        return len(re.findall(r"^tcpserver: (end|deny) ", self.log(), re.M))

    def session(self, source="127.0.0.1", line=b"done 0\n", keep=False):
        """One wenv session: returns (env dict, client port[, socket])."""
        before = self.ends()
        s = socket.socket()
        s.settimeout(10)
        s.bind((source, 0))
        s.connect(("127.0.0.1", self.port))
        cport = s.getsockname()[1]
        buf = b""
        while not buf.endswith(b"\n.\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        env = {}
        for l in buf.decode(errors="replace").splitlines():
            k, sep, v = l.partition("=")
            if sep:
                env[k] = v
        if keep:
            return env, cport, s
        if line is not None:
            s.sendall(line)
        # the session's end closes the client's socket, the worker lives on
        self.assertEqual(s.recv(1), b"", "socket not closed at the session's end")
        s.close()
        # and tcpserver has logged it before the next connection comes
        wait_for(lambda: self.ends() > before, timeout=10, what="end line")
        return env, cport


class TestWorkers(WorkerCase):
    def test_reuse_and_log_lines(self):
        self.serve(["-W", "100"])
        pids = set()
        for _ in range(5):
            env, cport = self.session()
            pids.add(env["PID"])
            self.assertEqual(env["TCPREMOTEPORT"], str(cport))
        self.assertEqual(len(pids), 1, pids)
        pid = pids.pop()
        log = self.log()
        # the lines of a child per connection, with the worker's pid
        self.assertEqual(len(re.findall(r"^tcpserver: pid %s from 127\.0\.0\.1$" % pid,
                                        log, re.M)), 5, log)
        self.assertEqual(len(re.findall(r"^tcpserver: ok %s localhost:127\.0\.0\.1:%d "
                                        r":127\.0\.0\.1::[0-9]+$" % (pid, self.port),
                                        log, re.M)), 5, log)
        self.assertEqual(len(re.findall(r"^tcpserver: end %s status 0$" % pid, log,
                                        re.M)), 5, log)
        self.assertRegex(log, r"(?m)^tcpserver: status: 0/40$")

    def test_environment_per_client(self):
        rules = ('127.0.0.2:allow,FOO="two",RELAYCLIENT=""\n'
                 '127.0.0.3:allow,BAR="three"\n'
                 ':allow\n')
        # tcpserver's own environment: kept; stale client facts: removed
        self.serve(["-W", "100"], rules=rules,
                   env={"BASE": "1", "TCPREMOTEHOST": "stale.example",
                        "TCPREMOTEINFO": "mallory"})
        seen = []
        for src in ("127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.1", "127.0.0.3"):
            env, cport = self.session(src)
            seen.append(env["PID"])
            self.assertEqual(env["TCPREMOTEIP"], src)
            self.assertEqual(env["TCPREMOTEPORT"], str(cport))
            self.assertEqual(env["BASE"], "1")
            self.assertEqual(env["PROTO"], "TCP")
            self.assertNotIn("TCPREMOTEHOST", env)
            self.assertNotIn("TCPREMOTEINFO", env)
            self.assertNotIn("UCSPI_WORKER", env)
            self.assertEqual(env.get("FOO"), "two" if src == "127.0.0.2" else None, src)
            self.assertEqual(env.get("RELAYCLIENT"), "" if src == "127.0.0.2" else None,
                             src)
            self.assertEqual(env.get("BAR"), "three" if src == "127.0.0.3" else None, src)
        self.assertEqual(len(set(seen)), 1, "one worker served them all: %s" % seen)

    def test_rules_change_apply_to_next_connection(self):
        self.serve(["-W", "100"], rules='127.0.0.1:allow,X="old"\n')
        env, _ = self.session()
        self.assertEqual(env["X"], "old")
        self.inst.rules('127.0.0.1:allow,X="new"\n')
        env2, _ = self.session()
        self.assertEqual(env2["X"], "new")
        self.assertEqual(env["PID"], env2["PID"])
        self.inst.rules('127.0.0.1:deny\n')
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.assertEqual(s.recv(100), b"")
        s.close()
        self.wait_log(r"^tcpserver: deny %s " % env["PID"])
        self.wait_log(r"^tcpserver: end %s status 25600$" % env["PID"])

    def test_deny_then_serve_with_the_same_worker(self):
        self.serve(["-W", "100"], rules="127.0.0.4:deny\n:allow\n")
        env, _ = self.session()
        s = socket.socket()
        s.settimeout(10)
        s.bind(("127.0.0.4", 0))
        s.connect(("127.0.0.1", self.port))
        self.assertEqual(s.recv(100), b"")
        s.close()
        self.wait_log(r"^tcpserver: deny %s [^:]*:127\.0\.0\.1:%d :127\.0\.0\.4::[0-9]+$"
                      % (env["PID"], self.port))
        # the worker writes the deny line before it tells tcpserver it is
        # free again; tcpserver's end line comes after it has heard that
        self.wait_log(r"^tcpserver: end %s status 25600$" % env["PID"])
        env2, _ = self.session()
        self.assertEqual(env["PID"], env2["PID"])

    def test_uses_limit_replaces_the_worker(self):
        self.serve(["-W", "2"])
        pids = [self.session()[0]["PID"] for _ in range(5)]
        self.assertEqual(pids[0], pids[1])
        self.assertNotEqual(pids[1], pids[2])
        self.assertEqual(pids[2], pids[3])
        self.assertNotEqual(pids[3], pids[4])
        # each worker's two sessions are logged once each, exit included
        for p in set(pids):
            self.assertEqual(len(re.findall(r"^tcpserver: end %s status 0$" % p, self.log(),
                                            re.M)), pids.count(p), self.log())
        wait_for(lambda: not os.path.exists("/proc/%s" % pids[0]), timeout=10,
                 what="the first worker to exit")

    def test_exit_codes_and_exits(self):
        self.serve(["-W", "100"])
        env, _ = self.session(line=b"done 3\n")
        pid = env["PID"]
        self.wait_log(r"^tcpserver: end %s status 768$" % pid)
        env, _ = self.session(line=b"exit 5\n")
        self.assertEqual(env["PID"], pid)
        self.wait_log(r"^tcpserver: end %s status 1280$" % pid)
        env, _ = self.session()
        self.assertNotEqual(env["PID"], pid, "an exited worker is replaced")

    def test_worker_killed_mid_session(self):
        self.serve(["-W", "100"])
        env, _, s = self.session(keep=True)
        pid = int(env["PID"])
        os.kill(pid, signal.SIGKILL)
        self.assertEqual(s.recv(10), b"")
        s.close()
        self.wait_log(r"^tcpserver: end %d status 9$" % pid)
        self.wait_log(r"^tcpserver: status: 0/40$", count=2)
        env2, _ = self.session()
        self.assertNotEqual(env2["PID"], str(pid))

    def test_connection_to_a_worker_that_dies_before_taking_it(self):
        # the only worker is stopped, then killed with a connection waiting
        # in its socket: tcpserver kept a copy and gives it to a new worker
        self.serve(["-W", "100", "-c", "1"])
        env, _ = self.session()
        pid = int(env["PID"])
        os.kill(pid, signal.SIGSTOP)
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        time.sleep(0.3)
        os.kill(pid, signal.SIGKILL)
        buf = b""
        while not buf.endswith(b"\n.\n"):
            chunk = s.recv(65536)
            self.assertTrue(chunk, "the connection was lost with its worker; log:\n" + self.log())
            buf += chunk
        self.assertNotIn(b"PID=%d\n" % pid, buf)
        self.assertIn(b"TCPREMOTEIP=127.0.0.1", buf)
        s.sendall(b"done 0\n")
        self.assertEqual(s.recv(1), b"")
        s.close()

    def test_concurrency_limit(self):
        self.serve(["-W", "100", "-c", "3"])
        held = [self.session(keep=True) for _ in range(3)]
        pids = {h[0]["PID"] for h in held}
        self.assertEqual(len(pids), 3)
        # a fourth client waits in the backlog until a session ends
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            s.recv(10)
        held[0][2].sendall(b"done 0\n")
        s.settimeout(10)
        buf = b""
        while not buf.endswith(b"\n.\n"):
            chunk = s.recv(65536)
            self.assertTrue(chunk, "fourth client not served")
            buf += chunk
        self.assertIn(("PID=%s" % held[0][0]["PID"]).encode(), buf,
                      "the worker that became idle took it")
        s.close()
        for h in held:
            h[2].close()
        self.assertEqual(len(re.findall(r"^tcpserver: status: 3/3$", self.log(), re.M)) >= 1,
                         True, self.log())

    def test_per_ip_limit(self):
        self.serve(["-W", "100", "-C", "1"])
        env, _, s = self.session(keep=True)
        s2 = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.assertEqual(s2.recv(10), b"")
        s2.close()
        self.wait_log(r"^tcpserver: deny - 127\.0\.0\.1 per-IP limit 1 reached")
        s.sendall(b"done 0\n")
        self.assertEqual(s.recv(10), b"")
        s.close()

    def test_program_without_the_protocol(self):
        # /usr/bin/env never says hello: one process per connection, as ucspi
        self.serve(["-W", "100"], prog=["/usr/bin/env"], env={"BASE": "1"})
        outs = []
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            buf = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            s.close()
            outs.append(buf.decode())
        for o in outs:
            self.assertIn("TCPREMOTEIP=127.0.0.1", o)
            self.assertIn("BASE=1", o)
            self.assertNotIn("UCSPI_WORKER", o)
        self.wait_log(r"^tcpserver: warning: /usr/bin/env does not speak the -W worker "
                      r"protocol: running it once per connection$")
        self.assertEqual(len(re.findall("does not speak", self.log())), 1)

    def test_sigterm_lets_idle_workers_go(self):
        self.serve(["-W", "100", "-c", "5"])
        held = [self.session(keep=True) for _ in range(2)]
        pids = [int(h[0]["PID"]) for h in held]
        held[1][2].sendall(b"done 0\n")
        self.assertEqual(held[1][2].recv(1), b"")
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        # the idle one ends with tcpserver, the busy one finishes its client
        wait_for(lambda: not os.path.exists("/proc/%d/status" % pids[1])
                 or "Z" in open("/proc/%d/status" % pids[1]).read().split("State:")[1][:5],
                 timeout=10, what="idle worker exit")
        held[0][2].sendall(b"done 0\n")
        self.assertEqual(held[0][2].recv(1), b"")
        for h in held:
            h[2].close()

    def test_bad_w_argument(self):
        for bad in ("x", "-1", "", "99999999999999999999999"):
            r = self.inst.run(TCPSERVER, "-W", bad, "127.0.0.1", "0", self.wenv)
            self.assertEqual(r.returncode, 100, bad)
            self.assertIn(b"-W uses", r.stderr)


class TestSmtpdWorkers(WorkerCase):
    """qmail-smtpd as a worker: what one client set up never reaches the
    next, and changes to control/ apply to the next connection."""

    def start(self, rules, env=None):
        port = self.inst.start_smtpd(rules=rules, env=env, tcpserver_args=["-W", "100"])
        self.port = port
        self.logname = "smtpd.log"
        return port

    def send(self, src, rcpt, body=b"Subject: t\r\n\r\nhello\r\n"):
        """One message from src; returns None when accepted, else the
        refusal (code, text)."""
        before = self.ends()
        c = smtplib.SMTP(timeout=15, source_address=(src, 0))
        c.connect("127.0.0.1", self.port)
        try:
            c.sendmail("a@sender.example", [rcpt], body)
            err = None
        except smtplib.SMTPRecipientsRefused as e:
            err = e.recipients[rcpt]
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as e:
            err = (e.smtp_code, e.smtp_error)
        c.quit()
        wait_for(lambda: self.ends() > before, timeout=10, what="end line")
        return err

    def worker_pids(self):
        return set(re.findall(r"^tcpserver: ok ([0-9]+) ", self.log(), re.M))

    def test_relay_and_databytes_per_client(self):
        self.start('127.0.0.2:allow,RELAYCLIENT=""\n'
                   '127.0.0.3:allow,DATABYTES="100"\n'
                   ':allow\n')
        big = b"Subject: big\r\n\r\n" + b"x" * 500 + b"\r\n"
        self.assertIsNone(self.send("127.0.0.2", "r@remote.example"))
        self.assertEqual(self.send("127.0.0.3", "r@remote.example")[0], 553)
        self.assertEqual(self.send("127.0.0.3", "u@example.test", big)[0], 552)
        self.assertIsNone(self.send("127.0.0.1", "u@example.test", big))
        self.assertEqual(self.send("127.0.0.1", "r@remote.example")[0], 553)
        self.assertIsNone(self.send("127.0.0.2", "r@remote.example", big))
        self.assertEqual(len(self.worker_pids()), 1, self.log())
        self.assertEqual(len(self.inst.queue_ids()), 3)

    def test_controls_changed_apply_to_next_connection(self):
        self.start(":allow\n")
        self.assertEqual(self.send("127.0.0.1", "u@new.example")[0], 553)
        # written in place
        self.inst.control("rcpthosts", "example.test\nnew.example\n")
        self.assertIsNone(self.send("127.0.0.1", "u@new.example"))
        # replaced by rename, as vadddomain does
        p = self.inst.path("control", "rcpthosts")
        self.inst.write(p + ".tmp", "example.test\n")
        os.rename(p + ".tmp", p)
        self.assertEqual(self.send("127.0.0.1", "u@new.example")[0], 553)
        self.inst.control("databytes", "50\n")
        self.assertEqual(self.send("127.0.0.1", "u@example.test",
                                   b"Subject: x\r\n\r\n" + b"y" * 200 + b"\r\n")[0], 552)
        self.assertEqual(len(self.worker_pids()), 1, self.log())

    def test_unreadable_controls_answer_each_client(self):
        """A worker that cannot read its controls at start takes the next
        connection and gives it qmail's 421, as a process per connection
        does (it used to die before taking any, leaving clients with
        nothing while tcpserver started worker after worker)."""
        self.inst.control("databytes", "not a number\n")
        self.start(":allow\n")
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as c:
                c.settimeout(10)
                got = b""
                while not got.endswith(b"\n"):
                    chunk = c.recv(512)
                    if not chunk:
                        break
                    got += chunk
                self.assertEqual(got, b"421 unable to read controls (#4.3.0)\r\n")
        wait_for(lambda: self.log().count("unable to read controls: databytes") >= 3,
                 timeout=10, what="three fatal lines")
        # fixed: the next worker serves again
        self.inst.control("databytes", "0\n")
        self.assertIsNone(self.send("127.0.0.1", "u@example.test"))

    def test_leftover_input_never_reaches_the_next_client(self):
        self.start(":allow\n")
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.assertTrue(s.recv(1000).startswith(b"220 "))
        # pipelined past QUIT: a smuggled transaction for whoever comes next
        s.sendall(b"QUIT\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n"
                  b"Subject: smuggled\r\n\r\n.\r\n")
        out = b""
        while True:
            chunk = s.recv(1000)
            if not chunk:
                break
            out += chunk
        s.close()
        self.assertTrue(out.startswith(b"221 "), out)
        self.wait_log(r"^tcpserver: end [0-9]+ status 0$")
        d = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.assertTrue(d.recv(1000).startswith(b"220 "))
        d.sendall(b"NOOP\r\n")
        self.assertEqual(d.recv(1000), b"250 ok\r\n")
        d.sendall(b"QUIT\r\n")
        d.close()
        self.assertEqual(self.inst.queue_ids(), [])
        self.assertEqual(len(self.worker_pids()), 1, self.log())

    def test_auth_or_starttls_ends_the_worker(self):
        self.start(":allow\n")
        c = smtplib.SMTP("127.0.0.1", self.port, timeout=10)
        c.ehlo()
        code, _ = c.docmd("AUTH", "PLAIN AGEAYg==")
        self.assertGreaterEqual(code, 500)
        c.quit()
        self.wait_log(r"^tcpserver: end [0-9]+ status 0$")
        self.assertIsNone(self.send("127.0.0.1", "u@example.test"))
        pids = re.findall(r"^tcpserver: ok ([0-9]+) ", self.log(), re.M)
        self.assertEqual(len(pids), 2)
        self.assertNotEqual(pids[0], pids[1], "a session that tried AUTH ends its process")

    def test_qmailqueue_per_client(self):
        out = os.path.join(self.inst.tmp, "out")
        os.mkdir(out)
        os.chmod(out, 0o1777)  # the filter runs as the session's user
        marker = os.path.join(out, "filtered")
        filt = os.path.join(self.inst.tmp, "filter.sh")
        with open(filt, "w") as f:
            f.write("#!/bin/sh\necho x >> %s\nexec %s/qmail-queue\n" % (marker, self.inst.bin))
        os.chmod(filt, 0o755)
        self.start('127.0.0.2:allow,QMAILQUEUE="%s"\n:allow\n' % filt)
        self.assertIsNone(self.send("127.0.0.1", "u@example.test"))
        self.assertIsNone(self.send("127.0.0.2", "u@example.test"))
        self.assertIsNone(self.send("127.0.0.1", "u@example.test"))
        self.assertIsNone(self.send("127.0.0.2", "u@example.test"))
        with open(marker) as f:
            self.assertEqual(f.read().count("x"), 2)
        self.assertEqual(len(self.inst.queue_ids()), 4)
        self.assertEqual(len(self.worker_pids()), 1, self.log())

    def test_accepted_mail_survives_kill_9(self):
        self.start(":allow\n")
        self.assertIsNone(self.send("127.0.0.1", "u@example.test"))
        pid = int(self.worker_pids().pop())
        os.kill(pid, signal.SIGKILL)
        self.wait_log(r"^tcpserver: status: 0/", count=2)
        self.assertEqual(len(self.inst.queue_ids()), 1)
        self.assertIsNone(self.send("127.0.0.1", "u@example.test"))
        self.assertEqual(len(self.inst.queue_ids()), 2)


if __name__ == "__main__":
    unittest.main()
