# SPDX-License-Identifier: ISC
"""tcpserver, tcprules and tcprulescheck end to end: a real tcpserver on
127.0.0.1 (and ::1 when the box has it) running /usr/bin/env or /bin/cat
for each client, rules compiled by tcprules, limits, logging, and a rules
file rewritten under load.  Clients vary their source address inside
127.0.0.0/8 to exercise prefixes, ranges and per-IP limits.  Every wait
is bounded."""
import os
import re
import socket
import subprocess
import threading
import time
import unittest

from qng import BIN, IS_ROOT, Instance, wait_for

TCPSERVER = os.path.join(BIN, "tcpserver")
TCPRULES = os.path.join(BIN, "tcprules")
TCPRULESCHECK = os.path.join(BIN, "tcprulescheck")
ENV = "/usr/bin/env"
CAT = "/bin/cat"


def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def localhost_name():
    """What 127.0.0.1 maps back to here (None when nothing)."""
    try:
        return socket.gethostbyaddr("127.0.0.1")[0].lower()
    except OSError:
        return None


def port_open(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def umask022():
    os.umask(0o022)


# cdb files written and read from tinycdb's format, to check that our files
# are ucspi-tcp's and that ucspi-made files work with our tools
from cdbfile import cdb_get, cdb_write  # noqa: E402


class TcpCase(unittest.TestCase):
    def setUp(self):
        self.inst = Instance()
        self.addCleanup(self.inst.cleanup)
        self.proc = None

    # --- helpers ------------------------------------------------------
    def serve(self, args=(), prog=(ENV,), host="127.0.0.1", rules=None, env=None,
              drop=True, expect_port=True):
        """Start tcpserver -1 ARGS host 0 PROG; returns the port."""
        argv = [TCPSERVER, "-1"] + list(args)
        if rules is not None:
            argv += ["-x", self.inst.rules(rules)]
        if IS_ROOT and drop:
            argv += ["-u", str(self.inst.uid), "-g", str(self.inst.gid)]
        argv += [host, "0"] + list(prog)
        self.proc = self.inst.start(argv, env=env, logname="tcp.log")
        line = self.inst._readline_timeout(self.proc, 10)
        if not expect_port:
            return line
        self.assertIsNotNone(line, "no port printed; log:\n" + self.log())
        self.assertRegex(line, r"^[0-9]+$")
        self.port = int(line)
        return self.port

    def log(self):
        return self.inst.log("tcp.log")

    def connect(self, source=None, host="127.0.0.1", timeout=10):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        if source:
            s.bind((source, 0))
        s.connect((host, self.port))
        return s

    def fetch(self, source=None, host="127.0.0.1", timeout=10):
        """Connect, read to EOF; returns (bytes, client port)."""
        s = self.connect(source, host, timeout)
        cport = s.getsockname()[1]
        out = b""
        try:
            while True:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            s.close()
        return out, cport

    def env_of(self, source=None, host="127.0.0.1"):
        """The program's environment as a dict, or None if closed at once."""
        out, _ = self.fetch(source, host)
        if not out:
            return None
        env = {}
        for line in out.decode(errors="replace").splitlines():
            k, sep, v = line.partition("=")
            if sep:
                env[k] = v
        return env

    def tcprules(self, text, cdb, tmp=None):
        return subprocess.run([TCPRULES, cdb, tmp or cdb + ".tmp"], input=text.encode(),
                              capture_output=True, timeout=30, preexec_fn=umask022)

    def wait_log(self, pattern, timeout=10):
        return wait_for(lambda: re.search(pattern, self.log(), re.M), timeout=timeout,
                        what="log line %r; log:\n%s" % (pattern, self.log()))


class TestEnvironment(TcpCase):
    def test_tcp_variables(self):
        port = self.serve(["-R", "-H"])
        out, cport = self.fetch()
        env = dict(l.split("=", 1) for l in out.decode().splitlines() if "=" in l)
        self.assertEqual(env["PROTO"], "TCP")
        self.assertEqual(env["TCPLOCALIP"], "127.0.0.1")
        self.assertEqual(env["TCPLOCALPORT"], str(port))
        self.assertEqual(env["TCPREMOTEIP"], "127.0.0.1")
        self.assertEqual(env["TCPREMOTEPORT"], str(cport))
        self.assertNotIn("TCPREMOTEHOST", env)
        self.assertNotIn("TCPREMOTEINFO", env)
        name = localhost_name()
        if name:
            self.assertEqual(env.get("TCPLOCALHOST"), name)
        # the program's stdin is the socket too, stderr is ours
        self.assertNotIn("RELAYCLIENT", env)

    def test_stale_variables_removed(self):
        stale = {"TCPREMOTEHOST": "stale.example", "TCPREMOTEINFO": "mallory",
                 "TCPLOCALHOST": "stale.local", "TCPREMOTEIP": "6.6.6.6"}
        self.serve(["-R", "-H", "-l", "mx.test"], env=stale)
        env = self.env_of()
        self.assertNotIn("TCPREMOTEHOST", env)
        self.assertNotIn("TCPREMOTEINFO", env)
        self.assertEqual(env["TCPREMOTEIP"], "127.0.0.1")
        self.assertEqual(env["TCPLOCALHOST"], "mx.test")

    def test_remote_host_lookup(self):
        name = localhost_name()
        if name is None:
            self.skipTest("127.0.0.1 has no name here")
        self.serve(["-R", "-h"])
        self.assertEqual(self.env_of().get("TCPREMOTEHOST"), name)

    def test_paranoid_confirms(self):
        name = localhost_name()
        if name is None:
            self.skipTest("127.0.0.1 has no name here")
        try:
            forward = {a[4][0] for a in socket.getaddrinfo(name, None)}
        except OSError:
            forward = set()
        self.serve(["-R", "-h", "-p"])
        got = self.env_of().get("TCPREMOTEHOST")
        if "127.0.0.1" in forward:
            self.assertEqual(got, name)
        else:
            self.assertIsNone(got)

    def test_banner(self):
        self.serve(["-R", "-H", "-B", "hello there\r\n"])
        out, _ = self.fetch()
        self.assertTrue(out.startswith(b"hello there\r\n"), out[:40])
        self.assertIn(b"PROTO=TCP", out)

    def test_verbose_log_lines(self):
        port = self.serve(["-R", "-H", "-v", "-l", "mx.test"])
        out, cport = self.fetch()
        self.assertIn(b"PROTO=TCP", out)
        pid = self.wait_log(r"^tcpserver: ok ([0-9]+) ").group(1)
        log = self.wait_log(r"^tcpserver: end %s status 0$" % pid).string
        self.assertRegex(log, r"(?m)^tcpserver: status: 0/40$")
        self.assertRegex(log, r"(?m)^tcpserver: status: 1/40$")
        self.assertRegex(log, r"(?m)^tcpserver: pid %s from 127\.0\.0\.1$" % pid)
        self.assertRegex(log, r"(?m)^tcpserver: ok %s mx\.test:127\.0\.0\.1:%d :127\.0\.0\.1::%d$"
                         % (pid, port, cport))

    def test_quiet_logs_nothing(self):
        self.serve(["-R", "-H", "-q", "-x", os.path.join(self.inst.tmp, "missing.cdb")])
        self.assertIsNone(self.env_of())
        time.sleep(0.2)
        self.assertEqual(self.log(), "")

    def test_ident_unreachable(self):
        if port_open("127.0.0.1", 113):
            self.skipTest("something listens on 127.0.0.1:113")
        self.serve(["-H", "-r", "-t", "5"])
        t0 = time.monotonic()
        env = self.env_of()
        self.assertLess(time.monotonic() - t0, 4)
        self.assertNotIn("TCPREMOTEINFO", env)


@unittest.skipUnless(IS_ROOT, "a fake identd needs port 113 (root)")
class TestIdent(TcpCase):
    def identd(self, answer=True):
        try:
            ls = socket.socket()
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(("127.0.0.1", 113))
            ls.listen(5)
        except OSError as e:
            self.skipTest("cannot bind 127.0.0.1:113: %s" % e)
        ls.settimeout(0.2)
        stop = threading.Event()
        self.queries = []
        held = []

        def run():
            while not stop.is_set():
                try:
                    c, _ = ls.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                c.settimeout(5)
                try:
                    q = c.recv(200).decode()
                    self.queries.append(q)
                    if answer:
                        a, _, b = q.strip().partition(",")
                        c.sendall(("%s , %s : USERID : UNIX : joe\r\n"
                                   % (a.strip(), b.strip())).encode())
                        c.close()
                    else:
                        held.append(c)
                except OSError:
                    c.close()

        t = threading.Thread(target=run, daemon=True)
        t.start()

        def fin():
            stop.set()
            t.join(5)
            ls.close()
            for c in held:
                c.close()
        self.addCleanup(fin)

    def test_remote_info(self):
        self.identd()
        port = self.serve(["-H", "-r", "-v"],
                          rules='joe@127.0.0.1:allow,WHO="joe"\n:allow\n')
        out, cport = self.fetch()
        env = dict(l.split("=", 1) for l in out.decode().splitlines() if "=" in l)
        self.assertEqual(env.get("TCPREMOTEINFO"), "joe")
        self.assertEqual(env.get("WHO"), "joe")
        self.assertEqual(self.queries[0], "%d , %d\r\n" % (cport, port))
        self.wait_log(r"^tcpserver: ok [0-9]+ [^ ]*:127\.0\.0\.1:%d :127\.0\.0\.1:joe:%d$"
                      % (port, cport))

    def test_silent_identd_times_out(self):
        self.identd(answer=False)
        self.serve(["-H", "-r", "-t", "1"])
        t0 = time.monotonic()
        env = self.env_of()
        took = time.monotonic() - t0
        self.assertNotIn("TCPREMOTEINFO", env)
        self.assertGreater(took, 0.8)
        self.assertLess(took, 5)


class TestRules(TcpCase):
    def test_admin_guide_file(self):
        # /etc/tcp.smtp as the admin guide prints it
        self.serve(["-R", "-H"], rules='127.0.0.:allow,RELAYCLIENT=" "\n:allow\n')
        self.assertEqual(self.env_of().get("RELAYCLIENT"), " ")
        self.assertEqual(self.env_of(source="127.0.0.7").get("RELAYCLIENT"), " ")
        env = self.env_of(source="127.0.1.1")
        self.assertIsNotNone(env)
        self.assertNotIn("RELAYCLIENT", env)

    def test_seed_empty_relayclient(self):
        self.serve(["-R", "-H"], rules='127.0.0.:allow,RELAYCLIENT=""\n:allow\n')
        self.assertEqual(self.env_of().get("RELAYCLIENT"), "")

    def test_deny_and_default(self):
        self.serve(["-R", "-H", "-v"], rules='127.0.0.2:deny\n:allow,X="1"\n')
        self.assertIsNone(self.env_of(source="127.0.0.2"))
        self.assertEqual(self.env_of().get("X"), "1")
        self.wait_log(r"^tcpserver: deny [0-9]+ [^ ]*:127\.0\.0\.1:[0-9]+ :127\.0\.0\.2::[0-9]+$")

    def test_default_deny(self):
        self.serve(["-R", "-H"], rules='127.0.0.1:allow\n:deny\n')
        self.assertIsNotNone(self.env_of())
        self.assertIsNone(self.env_of(source="127.0.0.3"))

    def test_values_with_delimiters(self):
        self.serve(["-R", "-H"], rules=(
            '127.0.0.1:allow,RBLSMTPD="-text, with comma",Q=\'say "hi"\',E=//\n'))
        env = self.env_of()
        self.assertEqual(env["RBLSMTPD"], "-text, with comma")
        self.assertEqual(env["Q"], 'say "hi"')
        self.assertEqual(env["E"], "")

    def test_rule_overrides_tcp_variables(self):
        self.serve(["-R", "-H"], rules=':allow,TCPLOCALHOST="from.rule"\n')
        self.assertEqual(self.env_of()["TCPLOCALHOST"], "from.rule")

    def test_ranges(self):
        self.serve(["-R", "-H"], rules=(
            '127.0.0.1-5:deny\n127.0.1-2.:allow,NET="12"\n:allow\n'))
        self.assertIsNone(self.env_of(source="127.0.0.3"))
        self.assertIsNone(self.env_of(source="127.0.0.5"))
        self.assertIsNotNone(self.env_of(source="127.0.0.9"))
        self.assertEqual(self.env_of(source="127.0.2.1").get("NET"), "12")
        self.assertNotIn("NET", self.env_of(source="127.0.3.1"))

    def test_cidr_most_specific_first(self):
        self.serve(["-R", "-H"], rules=(
            '127.0.0.0/8:allow,C="8"\n127.0.0.0/30:allow,C="30"\n'
            '127.0.5.:allow,C="dotted"\n127.0.0.9:deny\n:deny\n'))
        self.assertEqual(self.env_of(source="127.0.0.2")["C"], "30")
        self.assertEqual(self.env_of(source="127.0.0.4")["C"], "8")
        self.assertEqual(self.env_of(source="127.0.5.5")["C"], "dotted")
        self.assertIsNone(self.env_of(source="127.0.0.9"))

    def test_cidr_host_bits_masked(self):
        cdb = os.path.join(self.inst.etc, "m.cdb")
        r = self.tcprules('127.1.2.3/16:allow,M="1"\n', cdb)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(cdb_get(cdb, b"127.1.0.0/16"), b'A\0+M=1\0')
        self.assertIsNone(cdb_get(cdb, b"127.1.2.3/16"))

    def test_host_name_rules(self):
        name = localhost_name()
        if name is None:
            self.skipTest("127.0.0.1 has no name here")
        self.serve(["-R", "-h"], rules='=%s:allow,H="exact"\n:deny\n' % name)
        self.assertEqual(self.env_of().get("H"), "exact")

    def test_any_host_rule_needs_a_name(self):
        if localhost_name() is None:
            self.skipTest("127.0.0.1 has no name here")
        self.serve(["-R", "-h"], rules='=:allow,H="named"\n:deny\n')
        self.assertEqual(self.env_of().get("H"), "named")
        self.proc.terminate()
        self.proc.wait(10)
        # without lookups the client has no name: "=" does not apply
        self.serve(["-R", "-H"], rules='=:allow,H="named"\n:deny\n')
        self.assertIsNone(self.env_of())

    def test_missing_cdb(self):
        missing = os.path.join(self.inst.tmp, "missing.cdb")
        self.serve(["-R", "-H", "-x", missing])
        self.assertIsNone(self.env_of())
        self.wait_log(r"warning: dropping connection, unable to read .*missing\.cdb")
        self.proc.terminate()
        self.proc.wait(10)
        self.serve(["-R", "-H", "-X", "-x", missing])
        self.assertIsNotNone(self.env_of())

    def test_changes_apply_to_next_connection(self):
        cdb = self.inst.rules(':allow,GEN="1"\n')
        self.serve(["-R", "-H", "-x", cdb])
        self.assertEqual(self.env_of()["GEN"], "1")
        self.assertEqual(self.tcprules(':allow,GEN="2"\n', cdb).returncode, 0)
        self.assertEqual(self.env_of()["GEN"], "2")
        self.assertEqual(self.tcprules(':deny\n', cdb).returncode, 0)
        self.assertIsNone(self.env_of())

    def test_ucspi_made_cdb(self):
        """ucspi-tcp's tcprules writes no record for allow and "D\\0" for deny."""
        cdb = os.path.join(self.inst.etc, "ucspi.cdb")
        cdb_write(cdb, [(b"127.0.0.1", b""), (b"127.0.0.2", b"D\0"),
                        (b"127.0.0.3", b"+RELAYCLIENT=\0+X=y=z\0"), (b"", b"D\0")])
        self.serve(["-R", "-H", "-x", cdb])
        self.assertIsNotNone(self.env_of())
        self.assertIsNone(self.env_of(source="127.0.0.2"))
        env = self.env_of(source="127.0.0.3")
        self.assertEqual(env["RELAYCLIENT"], "")
        self.assertEqual(env["X"], "y=z")
        self.assertIsNone(self.env_of(source="127.0.0.4"))

    def test_our_cdb_is_ucspi_format(self):
        cdb = os.path.join(self.inst.etc, "ours.cdb")
        r = self.tcprules('127.0.0.:allow,RELAYCLIENT=""\n10.0.0.1-2:deny\n:allow\n', cdb)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(cdb_get(cdb, b"127.0.0."), b"A\0+RELAYCLIENT=\0")
        self.assertEqual(cdb_get(cdb, b"10.0.0.1"), b"D\0")
        self.assertEqual(cdb_get(cdb, b"10.0.0.2"), b"D\0")
        self.assertEqual(cdb_get(cdb, b""), b"A\0")
        self.assertIsNone(cdb_get(cdb, b"10.0.0.3"))

    def test_first_line_wins(self):
        self.serve(["-R", "-H"], rules=('127.0.0.1:allow,N="first"\n'
                                        '127.0.0.1:allow,N="second"\n'))
        self.assertEqual(self.env_of()["N"], "first")


@unittest.skipUnless(have_ipv6(), "no ::1 on this machine")
class TestIPv6(TcpCase):
    def test_ipv6_environment_and_rules(self):
        port = self.serve(["-R", "-H"], host="::1",
                          rules='::1:allow,V6="exact"\n:deny\n')
        out, cport = self.fetch(host="::1")
        env = dict(l.split("=", 1) for l in out.decode().splitlines() if "=" in l)
        self.assertEqual(env["TCPREMOTEIP"], "::1")
        self.assertEqual(env["TCPLOCALIP"], "::1")
        self.assertEqual(env["TCPLOCALPORT"], str(port))
        self.assertEqual(env["TCPREMOTEPORT"], str(cport))
        self.assertEqual(env["V6"], "exact")

    def test_ipv6_cidr(self):
        self.serve(["-R", "-H"], host="::1",
                   rules='0:0:0:0:0:0:0:0/64:allow,V6="cidr64"\n:deny\n')
        self.assertEqual(self.env_of(host="::1")["V6"], "cidr64")

    def test_ipv6_ipv4_rules_do_not_match(self):
        self.serve(["-R", "-H"], host="::1", rules='127.0.0.:allow\n0.0.0.0/0:allow\n:deny\n')
        self.assertIsNone(self.env_of(host="::1"))

    def test_mapped_clients_are_ipv4(self):
        try:
            self.serve(["-R", "-H"], host="::ffff:127.0.0.1",
                       rules='127.0.0.:allow,M="v4"\n:deny\n')
        except AssertionError:
            self.skipTest("cannot bind an IPv4-mapped address: " + self.log())
        env = self.env_of()
        self.assertEqual(env["TCPREMOTEIP"], "127.0.0.1")
        self.assertEqual(env["TCPLOCALIP"], "127.0.0.1")
        self.assertEqual(env["M"], "v4")


class TestLimits(TcpCase):
    def echo(self, s, data=b"x\n", timeout=5):
        s.settimeout(timeout)
        s.sendall(data)
        got = b""
        while not got.endswith(b"\n"):
            chunk = s.recv(100)
            if not chunk:
                break
            got += chunk
        return got

    def closed_soon(self, s, timeout=5):
        s.settimeout(timeout)
        try:
            return s.recv(100) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def test_total_limit_waits(self):
        self.serve(["-R", "-H", "-v", "-c", "2"], prog=(CAT,))
        a, b = self.connect(), self.connect()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        self.assertEqual(self.echo(a, b"a\n"), b"a\n")
        self.assertEqual(self.echo(b, b"b\n"), b"b\n")
        c = self.connect()  # the kernel completes it; nobody serves it yet
        self.addCleanup(c.close)
        c.sendall(b"c\n")
        c.settimeout(0.7)
        with self.assertRaises(socket.timeout):
            c.recv(100)
        self.assertIn("status: 2/2", self.log())
        a.close()
        c.settimeout(10)
        self.assertEqual(c.recv(100), b"c\n")

    def test_per_ip_limit(self):
        self.serve(["-R", "-H", "-c", "10", "-C", "1"], prog=(CAT,))
        a = self.connect()
        self.addCleanup(a.close)
        self.assertEqual(self.echo(a), b"x\n")
        b = self.connect()
        self.addCleanup(b.close)
        self.assertTrue(self.closed_soon(b), "second connection from 127.0.0.1 not closed")
        self.wait_log(r"^tcpserver: deny - 127\.0\.0\.1 per-IP limit 1 reached")
        other = self.connect(source="127.0.0.2")
        self.addCleanup(other.close)
        self.assertEqual(self.echo(other, b"o\n"), b"o\n")
        a.close()

        def again():
            s = self.connect()
            try:
                s.sendall(b"y\n")
                s.settimeout(2)
                return s.recv(100) == b"y\n"
            except OSError:
                return False
            finally:
                s.close()
        wait_for(again, timeout=10, step=0.1, what="127.0.0.1 served again")

    def test_many_connections_no_slot_leak(self):
        self.serve(["-R", "-H", "-v", "-c", "3"], prog=("/bin/true",))
        for _ in range(150):
            self.fetch()
        wait_for(lambda: self.log().rstrip().endswith("status: 0/3"), timeout=10,
                 what="all children reaped")
        self.assertEqual(self.log().count("tcpserver: end "), 150)


class TestProcess(TcpCase):
    def test_port_line(self):
        line = self.serve(["-R", "-H"], expect_port=False)
        self.assertRegex(line, r"^[0-9]+$")
        self.port = int(line)
        self.assertIsNotNone(self.env_of())

    def test_usage_errors(self):
        for argv in ([], ["-R"], ["127.0.0.1", "0"], ["-c", "x", "127.0.0.1", "0", ENV],
                     ["-c", "0", "127.0.0.1", "0", ENV], ["-Z", "127.0.0.1", "0", ENV],
                     ["-u", "nobody", "127.0.0.1", "0", ENV]):
            r = subprocess.run([TCPSERVER] + argv, capture_output=True, timeout=10)
            self.assertEqual(r.returncode, 100, argv)
            self.assertIn(b"tcpserver: usage: ", r.stderr)

    def test_bind_error(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.addCleanup(busy.close)
        r = subprocess.run([TCPSERVER, "-R", "-H", "127.0.0.1", str(busy.getsockname()[1]), ENV],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"tcpserver: fatal: unable to bind", r.stderr)

    def test_sigterm_stops_accepting(self):
        self.serve(["-R", "-H"], prog=(CAT,))
        held = self.connect()
        self.addCleanup(held.close)
        held.sendall(b"1\n")
        held.settimeout(5)
        self.assertEqual(held.recv(10), b"1\n")
        self.proc.terminate()
        self.assertEqual(self.proc.wait(timeout=5), 0)
        with self.assertRaises(OSError):
            self.connect(timeout=2)
        # the child serving a client keeps going, as with ucspi-tcp
        held.sendall(b"2\n")
        self.assertEqual(held.recv(10), b"2\n")

    def test_emfile_does_not_kill_the_server(self):
        import resource
        # 0, 1, 2, the listening socket and the signalfd: a 6th fd fails
        lim = (5, 1024)

        def pre():
            resource.setrlimit(resource.RLIMIT_NOFILE, lim)
        # no -u: a process that changed ids cannot have its limits raised
        argv = [TCPSERVER, "-1", "-R", "-H", "-l", "x", "127.0.0.1", "0", ENV]
        logf = open(os.path.join(self.inst.tmp, "tcp.log"), "ab")
        self.addCleanup(logf.close)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=logf, preexec_fn=pre, env={"PATH": "/usr/bin:/bin"})
        self.inst.procs.append(p)
        line = self.inst._readline_timeout(p, 10)
        self.assertIsNotNone(line, self.log())
        self.port = int(line)
        s = self.connect()
        self.addCleanup(s.close)
        self.wait_log(r"tcpserver: warning: unable to accept: Too many open files")
        time.sleep(0.3)
        self.assertIsNone(p.poll(), "tcpserver died")
        try:
            resource.prlimit(p.pid, resource.RLIMIT_NOFILE, (64, 1024))
        except (OSError, AttributeError) as e:
            self.skipTest("cannot raise the limit of a running process: %s" % e)
        # the client waiting in the backlog is served once fds are available
        s.settimeout(10)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        self.assertIn(b"PROTO=TCP", out)

    def test_service_name_port(self):
        try:
            socket.getservbyname("smtp", "tcp")
        except OSError:
            self.skipTest("no services database")
        # port 25 is probably taken or privileged; only the name lookup matters:
        r = subprocess.run([TCPSERVER, "-R", "-H", "127.0.0.1", "no-such-service-qng", ENV],
                           capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"unable to figure out port number", r.stderr)


class TestTcprules(TcpCase):
    def test_bad_line_keeps_old_cdb(self):
        cdb = self.inst.rules('127.0.0.:allow,RELAYCLIENT=""\n:allow\n')
        with open(cdb, "rb") as f:
            before = f.read()
        bad = '# a comment\n127.0.0.1:allow\n1.2.3:allow\n:allow\n1.2.3.4:alow\n'
        r = self.tcprules(bad, cdb)
        self.assertEqual(r.returncode, 100)
        err = r.stderr.decode()
        self.assertIn("tcprules: fatal: unable to parse this line: 1.2.3:allow (line 3: "
                      "incomplete IPv4 address", err)
        self.assertIn("unable to parse this line: 1.2.3.4:alow (line 5: ", err)
        with open(cdb, "rb") as f:
            self.assertEqual(f.read(), before)
        self.assertFalse(os.path.exists(cdb + ".tmp"))

    def test_write_error(self):
        cdb = os.path.join(self.inst.etc, "x.cdb")
        r = self.tcprules(":allow\n", cdb, tmp=os.path.join(self.inst.tmp, "nodir", "x.tmp"))
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"tcprules: fatal: unable to create", r.stderr)
        self.assertFalse(os.path.exists(cdb))

    def test_usage(self):
        r = subprocess.run([TCPRULES, "only-one"], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 100)
        self.assertIn(b"usage: tcprules rules.cdb rules.tmp", r.stderr)

    def test_empty_input(self):
        cdb = os.path.join(self.inst.etc, "empty.cdb")
        r = self.tcprules("", cdb)
        self.assertEqual(r.returncode, 0)
        self.assertIsNone(cdb_get(cdb, b""))

    def test_swap_under_load(self):
        """Connections while the rules flip between allow and deny: each one
        sees exactly the old or the new decision, never an error."""
        filler = "".join('10.%d.%d.%d:allow,F="%d"\n' % (i // 65536, i // 256 % 256, i % 256, i)
                         for i in range(3000))
        allow = filler + '127.0.0.1:allow,SWAP="A"\n:deny\n'
        deny = filler + '127.0.0.1:deny\n:allow,SWAP="B"\n'
        cdb = self.inst.rules(allow)
        self.serve(["-R", "-H", "-v", "-l", "mx.test", "-c", "40", "-x", cdb])

        stop = threading.Event()
        swaps = [0]
        errors = []

        def rewriter():
            texts = (deny, allow)
            while not stop.is_set():
                r = self.tcprules(texts[swaps[0] % 2], cdb)
                if r.returncode != 0:
                    errors.append("tcprules: %r" % r.stderr)
                    return
                swaps[0] += 1
                time.sleep(0.003)

        outcomes = []
        lock = threading.Lock()

        def client(n):
            for _ in range(n):
                try:
                    out, _ = self.fetch(timeout=10)
                except OSError as e:
                    with lock:
                        errors.append("client: %r" % e)
                    continue
                if out == b"":
                    kind = "deny"
                elif b"\nSWAP=A\n" in out:
                    kind = "A"
                else:
                    kind = "other: %r" % out[-200:]
                with lock:
                    outcomes.append(kind)
                time.sleep(0.01)  # spread the load over many rewrites

        w = threading.Thread(target=rewriter, daemon=True)
        w.start()
        clients = [threading.Thread(target=client, args=(75,), daemon=True) for _ in range(4)]
        t0 = time.monotonic()
        for c in clients:
            c.start()
        for c in clients:
            c.join(120)
        took = time.monotonic() - t0
        stop.set()
        w.join(30)
        self.assertFalse(any(c.is_alive() for c in clients), "clients did not finish")
        self.assertEqual(errors, [])
        self.assertEqual(len(outcomes), 300)
        others = [o for o in outcomes if o not in ("A", "deny")]
        self.assertEqual(others, [])
        self.assertGreater(outcomes.count("A"), 0)
        self.assertGreater(outcomes.count("deny"), 0)
        self.assertGreater(swaps[0], 2)
        log = self.log()
        self.assertNotIn("warning", log)
        self.assertEqual(log.count("tcpserver: deny "), outcomes.count("deny"))
        print("swap under load: 300 connections in %.1fs, %d rewrites, %d allowed, %d denied"
              % (took, swaps[0], outcomes.count("A"), outcomes.count("deny")))


class TestTcprulescheck(TcpCase):
    RULES = ('127.0.0.:allow,RELAYCLIENT=""\n10.0.0.1-3:deny\n'
             '=mail.example.com:allow,NAMED="yes"\n=.example.org:deny\n'
             'joe@10.9.9.9:allow,WHO="joe"\n::1:allow,V6="1"\n'
             '192.168.0.0/16:allow,RBLSMTPD=""\n:allow\n')

    def check(self, cdb, **env):
        e = {"PATH": "/usr/bin:/bin"}
        e.update(env)
        return subprocess.run([TCPRULESCHECK, cdb], env=e, capture_output=True, timeout=10)

    def test_outputs(self):
        cdb = self.inst.rules(self.RULES)
        cases = [
            ({"TCPREMOTEIP": "127.0.0.5"},
             "rule 127.0.0.:\nset environment variable RELAYCLIENT=\nallow connection\n"),
            ({"TCPREMOTEIP": "10.0.0.2"}, "rule 10.0.0.2:\ndeny connection\n"),
            ({"TCPREMOTEIP": "10.0.0.4"}, "rule :\nallow connection\n"),
            ({"TCPREMOTEIP": "1.2.3.4", "TCPREMOTEHOST": "Mail.Example.COM"},
             "rule =mail.example.com:\nset environment variable NAMED=yes\nallow connection\n"),
            ({"TCPREMOTEIP": "1.2.3.4", "TCPREMOTEHOST": "a.b.example.org"},
             "rule =.example.org:\ndeny connection\n"),
            ({"TCPREMOTEIP": "10.9.9.9", "TCPREMOTEINFO": "joe"},
             "rule joe@10.9.9.9:\nset environment variable WHO=joe\nallow connection\n"),
            ({"TCPREMOTEIP": "0:0::1"}, "rule ::1:\nset environment variable V6=1\nallow connection\n"),
            ({"TCPREMOTEIP": "::ffff:192.168.7.7"},
             "rule 192.168.0.0/16:\nset environment variable RBLSMTPD=\nallow connection\n"),
        ]
        for env, want in cases:
            r = self.check(cdb, **env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.decode(), want, env)

    def test_no_rule(self):
        cdb = self.inst.rules("10.0.0.1:deny\n")
        r = self.check(cdb, TCPREMOTEIP="127.0.0.1")
        self.assertEqual(r.stdout.decode(), "default:\nallow connection\n")
        r = self.check(cdb)
        self.assertEqual(r.returncode, 0)

    def test_errors(self):
        r = self.check(os.path.join(self.inst.tmp, "missing.cdb"), TCPREMOTEIP="1.2.3.4")
        self.assertEqual(r.returncode, 111)
        self.assertIn(b"tcprulescheck: fatal: unable to read", r.stderr)
        r = subprocess.run([TCPRULESCHECK], capture_output=True, timeout=10)
        self.assertEqual(r.returncode, 100)
        cdb = self.inst.rules(":allow\n")
        r = self.check(cdb, TCPREMOTEIP="not-an-ip")
        self.assertEqual(r.returncode, 100)

    def test_ucspi_made_cdb(self):
        cdb = os.path.join(self.inst.etc, "ucspi.cdb")
        cdb_write(cdb, [(b"127.0.0.1", b"+RELAYCLIENT=\0"), (b"127.0.0.2", b"D\0")])
        self.assertEqual(self.check(cdb, TCPREMOTEIP="127.0.0.1").stdout.decode(),
                         "rule 127.0.0.1:\nset environment variable RELAYCLIENT=\n"
                         "allow connection\n")
        self.assertEqual(self.check(cdb, TCPREMOTEIP="127.0.0.2").stdout.decode(),
                         "rule 127.0.0.2:\ndeny connection\n")


if __name__ == "__main__":
    unittest.main()
