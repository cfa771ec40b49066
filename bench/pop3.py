# SPDX-License-Identifier: ISC
"""bench/pop3.py - workload 10 of bench/run: POP3 against Dovecot's POP3
on the same Maildirs (issue 11, Performance; bench/README.md section 10).

BENCH_POP3_CLIENTS (20) clients in parallel, each with an account of its
own in one virtual domain; a session is USER, PASS, STAT, RETR of each of
the BENCH_POP3_MESSAGES (50) messages of BENCH_POP3_SIZE (4096) bytes,
QUIT, nothing deleted, so every round reads the same mail.  Each client
runs BENCH_POP3_SESSIONS (20) sessions back to back per round.  The two
servers read the same Maildirs and check the same passwords through the
same vchkpw (the account store of qmail-ng's vpopmail tools):

  qmail-ng: tcpserver + qmail-popup HOST vchkpw qmail-pop3d Maildir
  Dovecot:  2.3 as scripts/dovecot-conf configures it (checkpassword
            passdb running vchkpw, prefetch userdb, its index files on,
            as it ships; one login and one pop3 process per connection,
            Dovecot's defaults)

Servers alternate within a round (the order swaps every round) for
BENCH_POP3_ROUNDS (BENCH_ROUNDS, else 3) rounds after one unmeasured
warm-up session per account and server (Dovecot builds its index then;
qmail-pop3d has none to build).  Figures: sessions per second of wall
time, and CPU per session: for qmail-ng the CPU of tcpserver's tree
(tcpserver's own and its reaped children's: qmail-popup, vchkpw,
qmail-pop3d), for Dovecot the sum over all of its processes of their own
CPU and their reaped children's (/proc/PID/stat), so the checkpassword
runs count on both sides.  Medians, the ratio and the target (>= 1.2x).

Bounded: every socket wait has a timeout, each round
BENCH_POP3_TIMEOUT (120) seconds; clients still running then are killed
and the round is marked invalid.  Everything started here is stopped.
"""
import os
import pwd
import select
import signal
import socket
import statistics
import subprocess
import time

import vpop

DOMAIN = "pop3.test"
PASSWORD = "pw"  # vpop.HASH is its yescrypt hash, as vadduser makes it
DOVECOT = "/usr/sbin/dovecot"
REPLY = "/usr/lib/dovecot/checkpassword-reply"


def say(br, *a):
    br.say(*a)


def median(xs):
    return statistics.median(xs) if xs else None


# --- the mail -------------------------------------------------------------

def message(i, size):
    """A message of exactly size bytes (LF line ends, as stored)."""
    head = ("Return-Path: <bench@client.test>\nDelivered-To: u@%s\n"
            "From: bench@client.test\nTo: u@%s\nSubject: pop3 bench %d\n"
            "Message-Id: <%d@client.test>\n\n" % (DOMAIN, DOMAIN, i, i)).encode()
    line = b"x" * 75 + b"\n"
    body = (line * (size // len(line) + 1))[:max(0, size - len(head) - 1)] + b"\n"
    return (head + body)[:size] if size > len(head) else head


def fill(md, n, size, uid, gid):
    """n messages in md/cur, named as vdelivermail names them (with ,S=)
    and already seen by a client (:2,), so that neither server has to
    move anything from new/."""
    t = int(time.time())
    for i in range(n):
        data = message(i, size)
        name = "%d.M%06dP%d.bench,S=%d:2," % (t, i, os.getpid(), len(data))
        p = os.path.join(md, "cur", name)
        with open(p, "wb") as f:
            f.write(data)
        os.chown(p, uid, gid)


# --- a POP3 client that costs little -----------------------------------

class Pop3Error(Exception):
    pass


def session(port, user, nmsg, timeout=30):
    """One session; returns the bytes RETR brought, or raises Pop3Error."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    buf = bytearray()

    def line():
        while True:
            i = buf.find(b"\r\n")
            if i >= 0:
                ln = bytes(buf[:i])
                del buf[:i + 2]
                return ln
            chunk = s.recv(65536)
            if not chunk:
                raise Pop3Error("connection closed")
            buf.extend(chunk)

    def ok(cmd=None):
        if cmd is not None:
            s.sendall(cmd)
        ln = line()
        if not ln.startswith(b"+OK"):
            raise Pop3Error("%r -> %r" % (cmd, ln[:200]))
        return ln

    def multiline():
        while True:
            i = buf.find(b"\r\n.\r\n")
            if i >= 0:
                n = i + 5
                del buf[:n]
                return n
            chunk = s.recv(262144)
            if not chunk:
                raise Pop3Error("connection closed in a RETR")
            buf.extend(chunk)

    try:
        ok()
        ok(b"USER " + user.encode() + b"\r\n")
        ok(b"PASS " + PASSWORD.encode() + b"\r\n")
        st = ok(b"STAT\r\n").split()
        if len(st) < 2 or int(st[1]) != nmsg:
            raise Pop3Error("STAT says %r, not %d messages" % (st, nmsg))
        got = 0
        for i in range(1, nmsg + 1):
            ok(b"RETR %d\r\n" % i)
            got += multiline()
        ok(b"QUIT\r\n")
        return got
    except (OSError, ValueError) as e:
        raise Pop3Error(str(e))
    finally:
        s.close()


def client_proc(port, user, nsess, nmsg, go_fd, out_fd):
    """A forked client: wait for go, run nsess sessions, report
    'ok errors first-error' on out_fd, exit."""
    okc = errc = 0
    first = ""
    try:
        if os.read(go_fd, 1) == b"g":
            for _ in range(nsess):
                try:
                    session(port, user, nmsg)
                    okc += 1
                except Pop3Error as e:
                    errc += 1
                    first = first or str(e)
        os.write(out_fd, ("%d %d %s" % (okc, errc, first.replace("\n", " ")[:300])).encode())
    finally:
        os._exit(0)


def run_clients(br, port, users, nsess, nmsg, timeout):
    """Start one forked client per user, release them together; returns
    (wall seconds, sessions ok, errors, first error, complete)."""
    go_r, go_w = os.pipe()
    kids = {}
    for u in users:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(go_w)
            os.close(r)
            client_proc(port, u, nsess, nmsg, go_r, w)
        os.close(w)
        kids[pid] = r
    os.close(go_r)
    t0 = time.monotonic()
    os.write(go_w, b"g" * len(users))
    os.close(go_w)
    deadline = t0 + timeout
    out = {r: b"" for r in kids.values()}
    open_fds = set(kids.values())
    while open_fds and time.monotonic() < deadline:
        rl, _, _ = select.select(list(open_fds), [], [], max(0.0, deadline - time.monotonic()))
        for fd in rl:
            d = os.read(fd, 4096)
            if d:
                out[fd] += d
            else:
                open_fds.discard(fd)
    wall = time.monotonic() - t0
    complete = not open_fds
    for pid in kids:
        if not complete:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        os.waitpid(pid, 0)
    for fd in kids.values():
        os.close(fd)
    okc = errc = 0
    first = ""
    for d in out.values():
        parts = d.decode(errors="replace").split(" ", 2)
        if len(parts) >= 2:
            okc += int(parts[0])
            errc += int(parts[1])
            if len(parts) == 3 and parts[2] and not first:
                first = parts[2]
    return wall, okc, errc, first, complete


# --- the servers ----------------------------------------------------------

def comm_alive(pids, names):
    return [p for p in pids if (br_stat(p) or ("", "Z"))[0] in names
            and (br_stat(p) or ("", "Z"))[1] != "Z"]


def br_stat(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    r = s.rindex(")")
    return s[s.index("(") + 1:r], s[r + 2:].split()[0]


class OurPop3:
    """tcpserver + qmail-popup HOST vchkpw qmail-pop3d Maildir."""

    name = "qmail-ng"
    workers = ("qmail-popup", "vchkpw", "qmail-pop3d")

    def __init__(self, br, home, base):
        self.br, self.home, self.base = br, home, base
        self.proc = None

    def start(self):
        br = self.br
        b = os.path.join(self.home, "bin")
        argv = [os.path.join(b, "tcpserver"), "-1", "-R", "-H", "-c", "200"]
        if br.IS_ROOT:
            uid, gid = br.owner_ids()
            argv += ["-u", str(uid), "-g", str(gid)]
        argv += ["127.0.0.1", "0", os.path.join(b, "qmail-popup"), "bench.local",
                 os.path.join(b, "vchkpw"), os.path.join(b, "qmail-pop3d"), "Maildir"]
        self.log = open(os.path.join(self.base, "pop3d.log"), "ab")
        self.proc = subprocess.Popen(argv, env={"QMAIL_HOME": self.home,
                                                "PATH": b + ":/usr/bin:/bin"},
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.log, cwd=self.base, start_new_session=True)
        br.LIVE.append(self)
        line = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            r, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if r:
                c = os.read(self.proc.stdout.fileno(), 1)
                if not c:
                    break
                line += c
        try:
            self.port = int(line.split()[-1])
        except (IndexError, ValueError):
            raise RuntimeError("tcpserver for qmail-popup printed no port (%r)" % line)
        return self

    def cpu(self):
        return self.br.cpu_seconds(self.proc.pid)

    def settle(self, timeout=10):
        """Wait until every session's processes are gone and reaped (so
        their CPU is in tcpserver's children's times)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not comm_alive(list(self.br.descendants(self.proc.pid)), self.workers):
                return True
            time.sleep(0.02)
        return False

    def stop(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.log.close()
        self.proc = None
        if self in self.br.LIVE:
            self.br.LIVE.remove(self)


class DovecotPop3:
    """Dovecot's POP3 as scripts/dovecot-conf configures it."""

    name = "Dovecot"
    workers = ("pop3", "pop3-login")

    def __init__(self, br, home, base):
        self.br, self.home = br, home
        self.dir = os.path.join(base, "dovecot")
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.port = br.free_port()
        self.conf = os.path.join(self.dir, "dovecot.conf")
        argv = [os.path.join(br.REPO, "scripts", "dovecot-conf"), "-q", home, "-d", self.dir,
                "--pop3", str(self.port), "-o", self.conf, "--plaintext"]
        if br.IS_ROOT:
            uid, _ = br.owner_ids()
            argv += ["--user", pwd.getpwuid(uid).pw_name, "--login-user", "dovenull"]
        r = br.run(argv)
        if r.returncode != 0:
            raise RuntimeError("dovecot-conf: " + r.stderr.decode(errors="replace"))
        self.proc = None

    def start(self):
        self.err = open(os.path.join(self.dir, "master.err"), "ab")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.err,
                                     cwd=self.dir, start_new_session=True)
        self.br.LIVE.append(self)
        if not wait_pop3(self.port):
            raise RuntimeError("Dovecot gives no +OK on port %d: %s" % (self.port, self.tail()))
        return self

    def tail(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log"), "rb") as f:
                return " | ".join(f.read().decode(errors="replace").splitlines()[-5:])
        except OSError:
            return ""

    def pids(self):
        sid = self.proc.pid
        out = [sid]
        for pid, st in self.br.descendants(sid).items():
            out.append(pid)
        return out

    def cpu(self):
        return sum(self.br.cpu_seconds(p) for p in self.pids())

    def settle(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not comm_alive(self.pids(), self.workers):
                return True
            time.sleep(0.02)
        return False

    def stop(self):
        if self.proc is None:
            return
        sid = self.proc.pid
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while self.br.group_alive(sid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.br.group_alive(sid):
            try:
                os.killpg(sid, signal.SIGKILL)
            except OSError:
                pass
        self.err.close()
        self.proc = None
        if self in self.br.LIVE:
            self.br.LIVE.remove(self)


def wait_pop3(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if s.recv(64).startswith(b"+OK"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


# --- the workload ---------------------------------------------------------

def dovecot_missing():
    if not os.access(DOVECOT, os.X_OK) or not os.access(REPLY, os.X_OK):
        return "Dovecot is not installed (apt-get install dovecot-pop3d)"
    if not os.path.exists("/usr/lib/dovecot/pop3"):
        return "dovecot-pop3d is not installed"
    return None


def ours_missing(br):
    for p in ("qmail-popup", "qmail-pop3d", "vchkpw", "tcpserver"):
        if not os.access(os.path.join(br.BIN, p), os.X_OK):
            return "%s/%s is not built" % (br.BIN, p)
    return None


def vchkpw_cost(br, home, user, n=10):
    """CPU seconds of one vchkpw login (the password check both servers
    share), as the mean over n runs of vchkpw with no program."""
    import resource
    vchkpw = os.path.join(home, "bin", "vchkpw")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(n):
        r, w = os.pipe()
        os.write(w, user.encode() + b"\0" + PASSWORD.encode() + b"\0")
        os.close(w)
        p = subprocess.run(["sh", "-c", 'exec "$0" 3<&0 0</dev/null', vchkpw], stdin=r,
                           env={"QMAIL_HOME": home, "TCPREMOTEIP": "127.0.0.1",
                                "SERVICE": "pop3"},
                           capture_output=True, timeout=60, preexec_fn=vpop.as_owner(br))
        os.close(r)
        if p.returncode != 0:
            return None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) / n


def one_round(br, server, users, nsess, nmsg, size, timeout):
    if not server.settle():
        return {"valid": False, "note": "sessions of an earlier round still running"}
    c0 = server.cpu()
    wall, okc, errc, first, complete = run_clients(br, server.port, users, nsess, nmsg, timeout)
    settled = server.settle()
    c1 = server.cpu()
    want = len(users) * nsess
    valid = complete and okc == want and errc == 0 and settled
    note = ""
    if not valid:
        note = "%d of %d sessions ok, %d errors%s%s" % (
            okc, want, errc, "" if complete else ", timed out",
            (": " + first) if first else "")
    return {"valid": valid, "note": note, "rate": okc / wall if wall > 0 else 0.0,
            "wall": round(wall, 3), "cpu_ms": (c1 - c0) / okc * 1e3 if okc else None}


def workload(br, work, result, have_qng):
    """Section 10 of the table; returns bench/run's exit status so far."""
    nclients = br.env_int("BENCH_POP3_CLIENTS", 20, 1, 200)
    nmsg = br.env_int("BENCH_POP3_MESSAGES", 50, 1, 10000)
    size = br.env_int("BENCH_POP3_SIZE", 4096, 256, 10**6)
    nsess = br.env_int("BENCH_POP3_SESSIONS", 20, 1, 100000)
    rounds = br.env_int("BENCH_POP3_ROUNDS", min(br.ROUNDS, 3) if "BENCH_ROUNDS" in os.environ
                        else 3, 1, 100)
    timeout = br.env_int("BENCH_POP3_TIMEOUT", 120, 5, 3600)
    out = {"clients": nclients, "messages": nmsg, "size": size, "sessions_per_client": nsess,
           "rounds": rounds}
    result["pop3"] = out
    say(br, "")
    say(br, "10. POP3: %d clients in parallel, each session USER/PASS/STAT, RETR of %d "
        "messages of %d bytes, QUIT" % (nclients, nmsg, size))
    say(br, "  (nothing deleted), %d sessions per client per round; both servers on the same "
        "Maildirs and the" % nsess)
    say(br, "  same account store through the same vchkpw (yescrypt hashes, as vadduser "
        "makes them);")
    say(br, "  Dovecot 2.3 as scripts/dovecot-conf writes it (index files on, its defaults).")
    why = dovecot_missing()
    if why:
        say(br, "  skipped: " + why)
        out["skipped"] = why
        return 0
    servers = []
    base = os.path.join(work, "pop3")
    q = br.Qng(base, mode="single")
    vpop.vpop_home(br, q.home, base)
    vpop.tool(br, q.home, ["vadddomain", DOMAIN, ""])
    users = ["u%03d@%s" % (i, DOMAIN) for i in range(nclients)]
    uid, gid = br.owner_ids()
    for u in users:
        vpop.tool(br, q.home, ["vadduser", "-e", vpop.HASH, u])
        r = vpop.tool(br, q.home, ["vuserinfo", "-d", u])
        home = r.stdout.decode().strip().splitlines()[-1].strip()
        fill(os.path.join(home, "Maildir"), nmsg, size, uid, gid)
    why_ours = ours_missing(br) if have_qng else "qmail-ng is not ready"
    if why_ours:
        say(br, "  qmail-ng side skipped: %s; measuring Dovecot alone" % why_ours)
        out["qng_skipped"] = why_ours
    else:
        servers.append(OurPop3(br, q.home, base))
    servers.append(DovecotPop3(br, q.home, base))
    status = 0 if not why_ours else 1
    try:
        for s in servers:
            s.start()
            # warm-up: one session per account (Dovecot makes its index)
            w = run_clients(br, s.port, users, 1, nmsg, timeout)
            if w[1] != len(users):
                raise RuntimeError("%s: warm-up failed: %d of %d sessions, %s" % (
                    s.name, w[1], len(users), w[3]))
        rs = {s.name: [] for s in servers}
        say(br, "  %-6s %28s %28s" % ("round", "qmail-ng sess/s (CPU ms/sess)",
                                      "Dovecot sess/s (CPU ms/sess)"))
        for i in range(1, rounds + 1):
            order = servers if i % 2 else list(reversed(servers))
            row = {}
            for s in order:
                r = one_round(br, s, users, nsess, nmsg, size, timeout)
                rs[s.name].append(r)
                row[s.name] = r

            def cell(r):
                if r is None:
                    return "%28s" % "-"
                t = "%.1f (%s)" % (r.get("rate", 0), "-" if r.get("cpu_ms") is None
                                   else "%.2f" % r["cpu_ms"])
                return "%28s" % (t + ("" if r["valid"] else " INVALID"))
            say(br, "  %-6d %s %s" % (i, cell(row.get("qmail-ng")), cell(row.get("Dovecot"))))
            for name, r in row.items():
                if not r["valid"]:
                    say(br, "         %s: %s" % (name, r["note"]))
        o = {}
        for name, lst in rs.items():
            ok = [r for r in lst if r["valid"]]
            if len(ok) < rounds:
                status = 1
            o[name] = {"rounds": [round(r.get("rate", 0), 1) for r in lst],
                       "cpu_ms_per_session": [None if r.get("cpu_ms") is None
                                              else round(r["cpu_ms"], 3) for r in lst],
                       "valid_rounds": len(ok),
                       "median": round(median([r["rate"] for r in ok]), 1) if ok else None,
                       "median_cpu_ms": round(median([r["cpu_ms"] for r in ok]), 3)
                       if ok else None}
        qm = o.get("qmail-ng", {}).get("median")
        dm = o.get("Dovecot", {}).get("median")
        qc = o.get("qmail-ng", {}).get("median_cpu_ms")
        dc = o.get("Dovecot", {}).get("median_cpu_ms")
        o["ratio"] = round(qm / dm, 3) if qm and dm else None
        o["cpu_ratio"] = round(dc / qc, 3) if qc and dc else None
        say(br, "  %-6s %28s %28s" % ("median", *[
            "%.1f (%.2f)" % (o[n]["median"], o[n]["median_cpu_ms"])
            if n in o and o[n]["median"] else "-" for n in ("qmail-ng", "Dovecot")]))
        if o["ratio"] is not None:
            say(br, "  ratio qmail-ng/Dovecot: %.2f sessions/s, %.2f CPU per session "
                "(Dovecot's/ours)  (target >= %.1f: %s)" % (
                    o["ratio"], o["cpu_ratio"] or 0, br.TARGET_RATIO,
                    "met" if o["ratio"] >= br.TARGET_RATIO else "NOT met"))
        out.update(o)
        cost = vchkpw_cost(br, q.home, users[0])
        if cost is not None:
            out["vchkpw_cpu_ms"] = round(cost * 1e3, 3)
            say(br, "  of which the shared password check (vchkpw alone, yescrypt): %.2f ms "
                "CPU per login" % (cost * 1e3))
            rest = {n: o[n]["median_cpu_ms"] - cost * 1e3 for n in ("qmail-ng", "Dovecot")
                    if n in o and o[n]["median_cpu_ms"] is not None}
            if rest:
                out["cpu_ms_beyond_vchkpw"] = {n: round(v, 3) for n, v in rest.items()}
                say(br, "  CPU per session beyond it: %s" % ", ".join(
                    "%s %.2f ms" % (n, v) for n, v in rest.items()))
    finally:
        for s in servers:
            s.stop()
    return status
