#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""bench/lspawncost.py - what exec'ing qmail-local per delivery would cost.

qmail-lspawn hands each delivery to a per-user worker (src/local/
lworker.h) that runs qmail-local's code delivery after delivery; with
LSPAWNWORKERS=0 it forks a child per delivery that runs that code; with
$QMAILLOCAL naming a program it forks and execs that (the qmail-1.03
layout).  This drives the real qmail-lspawn through the spawn protocol
(src/lib/spawnproto.h), one delivery at a time and with 10 in flight, in
these variants, interleaved round by round:

  worker     the default: a resident worker of the user, no fork
  fork       LSPAWNWORKERS=0: fork, qmail-local's code in the child
  exec       QMAILLOCAL=BIN/qmail-local: fork + exec of qmail-local
  exec-true  QMAILLOCAL=/bin/true: fork + exec of a program that does
             nothing (the exec alone, no delivery)
  fork-fail  QMAILLOCAL=/nonexistent: fork, a failed execv, exit (the
             fork alone, no delivery)

Every delivery in fork and exec is a real one into a Maildir, checked at
the end.  The Maildir is on tmpfs (/dev/shm) unless LSPAWNCOST_DISK=1,
so that fsync does not hide the process costs.  Figures: wall time per
delivery (one at a time), deliveries per second (10 in flight), CPU per
delivery of qmail-lspawn and everything it started (from RUSAGE_CHILDREN,
so the driver itself is not counted, plus the workers' own from /proc
before qmail-lspawn lets them go), and the fastest single delivery
from request to report (on a busy machine the closest to an idle one's).

Usage: QNG_BUILD=build bench/lspawncost.py [deliveries per round] [rounds]
LSPAWNCOST_ROOT=1 (as root): a root-mode tree, each delivery switching
to the user as on a real server; else a single-user instance (owned by
nobody when run as root, by the caller otherwise).  The machine's own
fork and exec prices: bench/forkcost.c.
"""
import os
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import qng  # noqa: E402

HOST = "host.test"
MSG = b"From: a@b.test\nSubject: cost\n\n" + b"x" * 1000 + b"\n"
VARIANTS = ("worker", "fork", "exec", "exec-true", "fork-fail")
INFLIGHT = 10
TIMEOUT = 120


def request(slot, msgid, rcpt):
    return b"%d\0%d\0sender@b.test\0%s\0\0" % (slot, msgid, rcpt.encode())


ROOTMODE = os.environ.get("LSPAWNCOST_ROOT") == "1"


class Setup:
    """An instance with one users/assign user whose home (on tmpfs or on
    the instance's disk) holds Maildir/, and one message in the queue.
    LSPAWNCOST_ROOT=1 (as root): a root-mode tree (qmail-setup -r), where
    each delivery's child becomes the user (nobody) before qmail-local's
    code runs, as on a real server; else a single-user instance
    (tests/e2e/qng.py's, owned by nobody when run as root)."""

    def __init__(self):
        self.inst = None
        self.tmp = tempfile.mkdtemp(prefix="qng-lspawncost-")
        os.chmod(self.tmp, 0o755)
        if ROOTMODE:
            if not qng.IS_ROOT:
                sys.exit("lspawncost: LSPAWNCOST_ROOT=1 needs root")
            self.home = os.path.join(self.tmp, "home")
            r = subprocess.run([os.path.join(qng.BIN, "qmail-setup"), "-r", "-b", qng.BIN,
                                "-m", HOST, self.home], capture_output=True, timeout=60)
            if r.returncode:
                raise RuntimeError("qmail-setup -r: %r" % r.stderr)
            self.env = {"PATH": "/usr/bin:/bin", "QMAIL_HOME": self.home}
            self.uid, self.gid = qng.owner_ids()  # nobody
        else:
            self.inst = qng.Instance(me=HOST, locals_=[HOST])
            self.home, self.env = self.inst.home, dict(self.inst.env)
            self.uid, self.gid = self.inst.uid, self.inst.gid
        disk = os.environ.get("LSPAWNCOST_DISK") == "1"
        self.mtmp = tempfile.mkdtemp(prefix="qng-lspawncost-", dir=self.tmp if disk
                                     else "/dev/shm")
        os.chmod(self.mtmp, 0o755)
        self.user_home = os.path.join(self.mtmp, "joe")
        os.mkdir(self.user_home)
        os.chmod(self.user_home, 0o755)
        for sub in ("", "/tmp", "/new", "/cur"):
            d = os.path.join(self.user_home, "Maildir") + sub
            os.mkdir(d)
            os.chmod(d, 0o700)
        if qng.IS_ROOT:
            for root, dirs, _files in os.walk(self.user_home):
                os.chown(root, self.uid, self.gid)
        with open(os.path.join(self.home, "users", "assign"), "w") as f:
            f.write("=joe:joe:%d:%d:%s:::\n.\n" % (self.uid, self.gid, self.user_home))
        r = subprocess.run([os.path.join(qng.BIN, "qmail-newu")], env=self.env,
                           capture_output=True, timeout=30)
        if r.returncode:
            raise RuntimeError("qmail-newu: %r" % r.stderr)
        self.msgid = 1001
        p = os.path.join(self.home, "queue", "mess", str(self.msgid % 23), str(self.msgid))
        with open(p, "wb") as f:
            f.write(MSG)
        os.chmod(p, 0o640)
        if qng.IS_ROOT and not ROOTMODE:
            os.chown(p, self.uid, self.gid)

    def new_count(self):
        return len(os.listdir(os.path.join(self.user_home, "Maildir", "new")))

    def cleanup(self):
        shutil.rmtree(self.mtmp, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.inst:
            self.inst.cleanup()


def env_for(setup, variant):
    e = dict(setup.env)
    e["QMAILLOCAL"] = {"worker": "", "fork": "", "exec": os.path.join(qng.BIN, "qmail-local"),
                       "exec-true": "/bin/true", "fork-fail": "/nonexistent"}[variant]
    if variant == "fork":
        e["LSPAWNWORKERS"] = "0"
    return e


def resident_cpu(ppid):
    """CPU seconds of ppid's children still running (per-user workers,
    which qmail-lspawn does not wait for when it ends, so their CPU never
    reaches RUSAGE_CHILDREN), with what they waited for."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(st[1]) == ppid:  # fields after the name: state, ppid, ...
            total += sum(int(x) for x in st[11:15])  # utime stime cutime cstime
    return total / tick


def run(setup, variant, n, inflight):
    """n deliveries through one qmail-lspawn, at most inflight at once.
    Returns (wall seconds, CPU seconds of qmail-lspawn and its children,
    the final codes seen, the fastest delivery's seconds from request to
    report)."""
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen([os.path.join(qng.BIN, "qmail-lspawn"), "./Maildir/"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         env=env_for(setup, variant), cwd="/")
    finals = {}
    sent = done = 0
    buf = b""
    free = list(range(inflight))
    t_req = {}
    fastest = float("inf")
    deadline = time.monotonic() + TIMEOUT
    try:
        while done < n:
            while free and sent < n:
                slot = free.pop()
                p.stdin.write(request(slot, setup.msgid, "joe@" + HOST))
                t_req[slot] = time.monotonic()
                sent += 1
            p.stdin.flush()
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("%s: %d of %d reports in %d s" % (variant, done, n, TIMEOUT))
            r, _, _ = select.select([p.stdout], [], [], left)
            if not r:
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError("%s: qmail-lspawn ended early" % variant)
            buf += chunk
            # a local report is three records: slot, recipient, final
            recs = buf.split(b"\0")
            while len(recs) > 3:
                slot, _rcpt, final = recs[:3]
                recs = recs[3:]
                finals[final[:1]] = finals.get(final[:1], 0) + 1
                fastest = min(fastest, time.monotonic() - t_req[int(slot)])
                free.append(int(slot))
                done += 1
            buf = b"\0".join(recs)
        resident = resident_cpu(p.pid)
    finally:
        p.stdin.close()
        p.wait(timeout=30)
        p.stdout.close()
    wall = time.monotonic() - t0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime) + resident
    return wall, cpu, finals, fastest


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    if not 1 <= n <= 100000 or not 1 <= rounds <= 100:
        sys.exit("usage: lspawncost.py [deliveries 1..100000] [rounds 1..100]")
    setup = Setup()
    res = {(v, k): [] for v in VARIANTS for k in (1, INFLIGHT)}
    try:
        for v in VARIANTS:  # warm the page cache: not measured
            run(setup, v, 20, 1)
        before = setup.new_count()
        for _ in range(rounds):
            for v in VARIANTS:
                for k in (1, INFLIGHT):
                    wall, cpu, finals, fastest = run(setup, v, n, k)
                    want = b"Z" if v == "fork-fail" else b"K"
                    if finals != {want: n}:
                        raise RuntimeError("%s: reports %r, expected %d %s"
                                           % (v, finals, n, want))
                    res[(v, k)].append((wall, cpu, fastest))
        delivered = setup.new_count() - before
        want = 3 * 2 * rounds * n  # worker, fork, exec deliver
        if delivered != want:
            raise RuntimeError("%d messages in the Maildir, expected %d" % (delivered, want))
    finally:
        setup.cleanup()
    print("qmail-lspawn, %d deliveries per round, %d rounds, medians; Maildir on %s; %s"
          % (n, rounds, "disk" if os.environ.get("LSPAWNCOST_DISK") == "1" else "tmpfs",
             "root mode (qmail-setup -r; deliveries as nobody)" if ROOTMODE else
             "single-user instance owned by nobody, started as root" if qng.IS_ROOT else
             "as uid %d" % os.getuid()))
    print("%-10s %14s %14s %16s %12s" % ("variant", "us/delivery", "deliveries/s",
                                         "CPU us/delivery", "fastest us"))
    print("%-10s %14s %14s %16s %12s" % ("", "(1 at a time)", "(%d at once)" % INFLIGHT,
                                         "(1 at a time)", "(1 at a time)"))
    for v in VARIANTS:
        one = res[(v, 1)]
        par = res[(v, INFLIGHT)]
        print("%-10s %14.0f %14.0f %16.0f %12.0f" % (
            v, statistics.median(r[0] for r in one) / n * 1e6,
            statistics.median(n / r[0] for r in par),
            statistics.median(r[1] for r in one) / n * 1e6,
            min(r[2] for r in one) * 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
