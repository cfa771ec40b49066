# SPDX-License-Identifier: ISC
"""bench/popbsmtp.py - workload 11 of bench/run: POP-before-SMTP without
the lock (issue 11 section 2).  qmail-ng only: Postfix has no
POP-before-SMTP of its own to compare with.

The SMTP connection rate (connect, 220 greeting, QUIT, 221, close) of
tcpserver + qmail-smtpd, BENCH_POPB_CLIENTS (20) client processes, each
bound to a source address of its own (127.0.0.2 ...) so that every
connection is one without RELAYCLIENT and qmail-smtpd looks at
users/open-smtp/IP, BENCH_POPB_CONNECTIONS (4000) connections per run,
BENCH_POPB_ROUNDS (3) rounds of each configuration in turn, the median
taken:

  A. users/open-smtp empty;
  B. 10,000 stamps there (BENCH_POPB_FILES), the clients' own among them
     (so each connection is granted and logs its pop-before-smtp line);
  C. B, with 10,000 POP3 logins per minute (BENCH_POPB_LOGINS_PER_MIN)
     from 1,000 addresses (BENCH_POPB_LOGIN_IPS) running beside it:
     vchkpw processes started at that pace as qmail-popup starts them
     (the login on fd 3, TCPREMOTEIP, TCPLOCALPORT=110), each stamping
     its file and running the built-in expiry when due (BENCH_POPB_DRIVERS,
     4, processes share the pace; the rate reached is printed);
  D. the same login load with control/opensmtpage 0 (vchkpw does all its
     work but records nothing, qmail-smtpd stats nothing): C against D is
     what the directory costs under load, C against B is mostly the CPU
     the logins themselves take on this machine.

Accounts use an MD5-crypt hash so that the login load measures process
starts and the directory, not password hashing.  Each run is bounded in
count and in time (BENCH_POPB_TIMEOUT, 120 s).  Called from bench/run's
main() with that module as `br`; also runs alone: `B=build python3
bench/popbsmtp.py` (no Postfix, no root needed).
"""
import multiprocessing
import os
import socket
import statistics
import subprocess
import time

import vpop

DOMAIN = "popb.test"
PASSWORD = "pw"
# crypt("pw", "$1$benchslt$"): MD5-crypt, what old vpopmail trees hold
MD5_HASH = "$1$benchslt$bNbhv.Z85Z4X2vhZfDO7E/"


def say(br, *a):
    br.say(*a)


def client(port, src, count, deadline, out):
    """count connections from src: connect, greeting, QUIT; puts (done, errors)."""
    done = errors = 0
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        try:
            s = socket.socket()
            s.settimeout(10)
            s.bind((src, 0))
            s.connect(("127.0.0.1", port))
            f = s.makefile("rb")
            line = f.readline(1024)
            if not line.startswith(b"220"):
                errors += 1
            s.sendall(b"QUIT\r\n")
            line = f.readline(1024)
            if not line.startswith(b"221"):
                errors += 1
            f.close()
            s.close()
            done += 1
        except OSError:
            errors += 1
    out.put((done, errors))


def conn_rate(br, port, clients, total, limit):
    """Connections per second of clients processes, total in all."""
    per = -(-total // clients)
    q = multiprocessing.Queue()
    deadline = time.monotonic() + limit
    procs = [multiprocessing.Process(target=client,
                                     args=(port, "127.0.0.%d" % (2 + i), per, deadline, q))
             for i in range(clients)]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    done = errors = 0
    for _ in procs:
        try:
            d, e = q.get(timeout=max(1.0, deadline - time.monotonic() + 15))
        except Exception:
            errors += 1
            continue
        done += d
        errors += e
    elapsed = time.monotonic() - t0
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
            p.join(timeout=5)
    return done / elapsed if elapsed > 0 else 0.0, done, errors


def login_driver(vchkpw, env, per_min, nips, first, step, stop_at, stop, out, owner):
    """vchkpw at per_min logins a minute from addresses first, first +
    step, ... (of nips) until stop is set or stop_at (monotonic); puts
    (logins, failures, seconds)."""
    if owner:
        os.setgroups([owner[1]])
        os.setgid(owner[1])
        os.setuid(owner[0])
    gap = 60.0 / per_min
    running = []
    started = fails = 0
    data = ("user0@%s\0%s\0" % (DOMAIN, PASSWORD)).encode()
    t0 = time.monotonic()
    nxt = t0
    while time.monotonic() < stop_at and not stop.is_set():
        now = time.monotonic()
        if now < nxt:
            time.sleep(min(nxt - now, 0.01))
        else:
            k = (first + started * step) % nips
            ip = "10.%d.%d.%d" % (1 + k // 65536, k // 256 % 256, k % 256)
            e = dict(env)
            e["TCPREMOTEIP"] = ip
            login_on_fd3(data)
            try:
                running.append(subprocess.Popen([vchkpw, "true"], env=e, pass_fds=(3,),
                                                stdin=subprocess.DEVNULL,
                                                stdout=subprocess.DEVNULL,
                                                stderr=subprocess.DEVNULL))
            except OSError:
                fails += 1
            os.close(3)
            started += 1
            nxt += gap
            if nxt < now - 1.0:
                nxt = now  # fell behind by more than a second: do not burst
        still = []
        for p in running:
            rc = p.poll()
            if rc is None:
                still.append(p)
            elif rc != 0:
                fails += 1
        running = still
    for p in running:
        try:
            if p.wait(timeout=10) != 0:
                fails += 1
        except subprocess.TimeoutExpired:
            p.kill()
            fails += 1
    out.put((started, fails, time.monotonic() - t0))


def login_on_fd3(data):
    """A pipe holding data, its read end on descriptor 3 (for pass_fds)."""
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    if r != 3:
        os.dup2(r, 3)
        os.close(r)


def set_age(home, value, uid, gid):
    p = os.path.join(home, "control", "opensmtpage")
    if value is None:
        if os.path.exists(p):
            os.unlink(p)
        return
    with open(p, "w") as f:
        f.write("%s\n" % value)
    os.chown(p, uid, gid)


def fill(dirpath, n, clients, uid, gid):
    now = time.time()
    for i in range(n):
        name = "10.200.%d.%d" % (i // 256 % 256, i % 256) if i < 65536 else \
            "10.201.%d.%d" % (i // 256 % 256, i % 256)
        p = os.path.join(dirpath, name)
        with open(p, "w"):
            pass
        os.chown(p, uid, gid)
        t = now - (i % 10000)  # all fresh: nothing for the expiry to do
        os.utime(p, (t, t))
    for i in range(clients):
        p = os.path.join(dirpath, "127.0.0.%d" % (2 + i))
        with open(p, "w"):
            pass
        os.chown(p, uid, gid)


def workload(br, work, result, have_qng):
    """Section 11 of the table; returns bench/run's exit status so far (0/1)."""
    out = {}
    result["popbsmtp"] = out
    say(br, "")
    if not have_qng:
        say(br, "11. POP-before-SMTP: skipped, qmail-ng is not ready")
        return 0
    clients = br.env_int("BENCH_POPB_CLIENTS", 20, 1, 200)
    total = br.env_int("BENCH_POPB_CONNECTIONS", 4000, 10, 10**6)
    rounds = br.env_int("BENCH_POPB_ROUNDS", 3, 1, 20)
    nfiles = br.env_int("BENCH_POPB_FILES", 10000, 0, 10**6)
    per_min = br.env_int("BENCH_POPB_LOGINS_PER_MIN", 10000, 1, 10**6)
    nips = br.env_int("BENCH_POPB_LOGIN_IPS", 1000, 1, 60000)
    limit = br.env_int("BENCH_POPB_TIMEOUT", 120, 5, 3600)
    drivers = br.env_int("BENCH_POPB_DRIVERS", 4, 1, 64)
    say(br, "11. POP-before-SMTP: SMTP connections (connect, greeting, QUIT) per second, "
        "%d clients from" % clients)
    say(br, "  127.0.0.2-%d (no RELAYCLIENT: each connection stats users/open-smtp/IP), "
        "%d connections a run," % (1 + clients, total))
    say(br, "  median of %d rounds; logins: vchkpw as qmail-popup runs it, %d a minute from "
        "%d addresses" % (rounds, per_min, nips))
    base = os.path.join(work, "popbsmtp")
    q = br.Qng(base, mode="single")
    uid, gid = br.owner_ids()
    vpop.vpop_home(br, q.home, base)
    vpop.tool(br, q.home, ["vadddomain", DOMAIN, ""])
    vpop.tool(br, q.home, ["vadduser", "-e", MD5_HASH, "user0@" + DOMAIN])
    odir = os.path.join(q.home, "users", "open-smtp")
    env = {"PATH": "/usr/bin:/bin", "QMAIL_HOME": q.home, "TCPLOCALPORT": "110"}
    # one login by hand: it must be accepted and stamp its address
    login_on_fd3(("user0@%s\0%s\0" % (DOMAIN, PASSWORD)).encode())
    e = dict(env, TCPREMOTEIP="10.250.0.1")
    chk = subprocess.run([os.path.join(q.home, "bin", "vchkpw"), "true"], env=e,
                         pass_fds=(3,), capture_output=True, timeout=60,
                         preexec_fn=vpop.as_owner(br))
    os.close(3)
    if chk.returncode != 0 or not os.path.exists(os.path.join(odir, "10.250.0.1")):
        raise RuntimeError("vchkpw login for the bench failed: exit %d %s"
                           % (chk.returncode, chk.stderr.decode(errors="replace")))
    os.unlink(os.path.join(odir, "10.250.0.1"))
    port = q.start()
    owner = (uid, gid) if br.IS_ROOT else None

    def one(config):
        """One run of config: (conn/s, connections, errors, logins/min or None)."""
        set_age(q.home, 0 if config == "D" else None, uid, gid)
        drv = []
        if config in ("C", "D"):
            mq = multiprocessing.Queue()
            stop = multiprocessing.Event()
            drv = [multiprocessing.Process(
                target=login_driver,
                args=(os.path.join(q.home, "bin", "vchkpw"), env, per_min / drivers, nips,
                      k, drivers, time.monotonic() + limit + 30, stop, mq, owner))
                for k in range(drivers)]
            for d in drv:
                d.start()
            time.sleep(2.0)  # the load is running before the clients start
        rate, done, errors = conn_rate(br, port, clients, total, limit)
        per_min_done = None
        if drv:
            stop.set()
            started = fails = 0
            secs = 0.0
            for _ in drv:
                try:
                    a, b, c = mq.get(timeout=30)
                except Exception:
                    fails = -1
                    continue
                started += a
                fails += b if fails >= 0 else 0
                secs = max(secs, c)
            per_min_done = (started * 60.0 / secs if secs > 0 else 0.0, fails)
            for d in drv:
                d.join(timeout=15)
                if d.is_alive():
                    d.kill()
                    d.join(timeout=5)
        return rate, done, errors, per_min_done

    res = {c: [] for c in "ABCD"}
    logins = {"C": [], "D": []}
    try:
        for rnd in range(rounds):
            for c in "ABCD":
                if c == "A":
                    for n in os.listdir(odir):
                        if not n.startswith("."):
                            os.unlink(os.path.join(odir, n))
                if c == "B":
                    fill(odir, nfiles, clients, uid, gid)
                rate, done, errors, lg = one(c)
                res[c].append(rate)
                extra = ""
                if lg:
                    logins[c].append(lg[0])
                    extra = ", beside %.0f logins/min (%d failed), %d files" % (
                        lg[0], lg[1], len(os.listdir(odir)))
                say(br, "  round %d %s: %7.0f conn/s (%d connections, %d errors)%s"
                    % (rnd + 1, c, rate, done, errors, extra))
    finally:
        q.stop()
        set_age(q.home, None, uid, gid)
    med = {c: statistics.median(v) for c, v in res.items() if v}
    out.update({"conn_per_s": med, "rounds": res, "clients": clients,
                "connections": total, "files": nfiles, "logins_per_min": per_min,
                "login_ips": nips,
                "logins_per_min_done": {c: statistics.median(v) for c, v in logins.items()
                                        if v}})
    grants = 0
    try:
        with open(q.log, "rb") as f:
            grants = f.read().count(b"pop-before-smtp ip=127.0.0.")
    except OSError:
        pass
    say(br, "")
    say(br, "  %-58s %10s" % ("", "conn/s"))
    say(br, "  %-58s %10.0f" % ("A  empty users/open-smtp", med["A"]))
    say(br, "  %-58s %10.0f   B/A %.2f" % ("B  %d stamps (clients granted)" % nfiles, med["B"],
                                          med["B"] / med["A"]))
    say(br, "  %-58s %10.0f   C/B %.2f" % ("C  B + %d logins/min from %d IPs" % (per_min, nips),
                                          med["C"], med["C"] / med["B"]))
    say(br, "  %-58s %10.0f   C/D %.2f" % ("D  the same logins, opensmtpage 0 (no stamps)",
                                          med["D"], med["C"] / med["D"]))
    say(br, "  grants logged by qmail-smtpd: %d; %d CPUs (the logins take CPU from SMTP: "
        "compare C with D)" % (grants, os.cpu_count()))
    out["grants_logged"] = grants
    return 0


if __name__ == "__main__":
    import importlib.machinery
    import importlib.util
    import shutil
    import sys
    import tempfile

    here = os.path.dirname(os.path.abspath(__file__))
    loader = importlib.machinery.SourceFileLoader("benchrun", os.path.join(here, "run"))
    spec = importlib.util.spec_from_loader("benchrun", loader)
    br = importlib.util.module_from_spec(spec)
    loader.exec_module(br)
    work = tempfile.mkdtemp(prefix="qng-bench-popb-", dir=br.TMPBASE)
    os.chmod(work, 0o755)
    result = {}
    try:
        status = workload(br, work, result, True)
    finally:
        br.cleanup()
        if not br.KEEP:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(status)
