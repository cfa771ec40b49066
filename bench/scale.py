# SPDX-License-Identifier: ISC
"""bench/scale.py - workload 5 of bench/run: a queue of many deferred messages.

For each size in BENCH_SCALE (default 100000,1000000) a fresh journaled
ext4 on a loop device (direct I/O, so nothing is cached twice) gets a
qmail-ng instance whose queue holds that many deferred messages, written
directly in qmail-1.03's format by a few processes running as the
queue's owner (doc/queue-states.md, step 6):
  mess/S/N    a 1.4 KB message; N is its inode number, S = N % 23: the
              file is made in pid/, fstat'ed, and renamed to mess/S/N
  remote/S/N  "T<addr>\\0", one remote recipient; its mtime is the next
              attempt (qmail-1.03's way), set six hours ahead
  info/S/N    "F<sender>\\0" (qmail-1.03's info file); its mtime is the birth
The info files are written last, in one sweep, so every message is born
seconds before qmail-send starts, and none is due while we measure (the
run checks that none started).

Then, from a start of qmail-start with the queue as it is (caches warm
from the writing) and from a second one after dropping the caches:
  start-up      exec of qmail-start to qmail-send's "status: queue read"
                line (it logs that once the whole queue is in its schedule;
                new mail flows meanwhile);
  first         exec to the delivery of a local message that waited in
                todo/ (queued with qmail-queue before the start);
  memory        qmail-send's VmRSS and VmHWM from /proc/PID/status;
  latency       SMTP: connect to the last message's 250, and to the
                message being a file in Maildir/new/ (BENCH_SCALE_INJECTS
                times, one after another), with qmail-send's log lines in
                between;
and how long building the queue, and deleting it (rm -rf + sync), took.

Postfix (BENCH_SCALE_POSTFIX messages, default 100000; 0: skip): its
queue is filled through SMTP with qmgr off, the files moved from
incoming/ to deferred/ with their mtime (Postfix's next-attempt time) an
hour ahead, as qmgr leaves deferred mail; then `postfix start` to the
delivery of a local message that waited in incoming/, qmgr's memory and
the same latency.  qmgr does not read the deferred queue at start (it
scans deferred/ in the background and skips files not yet due), so it
has no figure that matches qmail-send's start-up.
"""
import array
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import threading
import time

import delivery

BODY_LINE = b"X" * 78 + b"\n"
NEXT_ATTEMPT = 6 * 3600    # the remote/ files' mtime: next attempt, from their writing
DUE_GUARD = 3600           # measurements end before birth + this (build < 5 h)
MARGIN = 60                # seconds of a measurement's own duration, at least


def env_sizes(br):
    v = os.environ.get("BENCH_SCALE", "100000,1000000")
    try:
        sizes = [int(x) for x in v.split(",") if x.strip()]
    except ValueError:
        raise ValueError("BENCH_SCALE is a comma-separated list of message counts, not %r" % v)
    for n in sizes:
        if not 1 <= n <= 5000000:
            raise ValueError("BENCH_SCALE: %d is not between 1 and 5000000" % n)
    return sizes


# --- writing a qmail-1.03 queue directly ----------------------------------

def message_bytes(i, uid, date):
    rcpt = "r%d@d%d.remote.test" % (i, i % 997)
    head = ("Received: (qmail %d invoked from network); %s\n"
            "Received: from unknown (HELO client.test) (127.0.0.1)\n"
            "  by scale.bench.local with SMTP; %s\n"
            "From: <bench@client.test>\nTo: <%s>\nDate: %s\n"
            "Message-Id: <%d.scale@client.test>\nSubject: deferred %d\n\n"
            % (1000 + i % 30000, date, date, rcpt, date, i, i))
    return head.encode() + BODY_LINE * 13, rcpt.encode()


def writer(qdir, w, procs, n, uid, gid, out_fd, go_fd):
    """One writer process: messages w, w+procs, ... below n.  Phase 1
    writes mess/ and remote/, reports on out_fd, waits for a byte on
    go_fd, phase 2 writes info/ and reports again.  Runs as uid/gid."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    os.chdir(qdir)
    date = time.strftime("%d %b %Y %H:%M:%S -0000", time.gmtime())
    tmp = "pid/scale.%d.%d" % (os.getpid(), w)
    ids = array.array("Q")
    info = b"Fbench@client.test\0"
    later = time.time() + NEXT_ATTEMPT
    for i in range(w, n, procs):
        mess, rcpt = message_bytes(i, uid, date)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        os.write(fd, mess)
        ino = os.fstat(fd).st_ino
        os.close(fd)
        s = ino % 23
        os.rename(tmp, "mess/%d/%d" % (s, ino))
        fd = os.open("remote/%d/%d" % (s, ino), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"T" + rcpt + b"\0")
        os.utime(fd, (later, later))
        os.close(fd)
        ids.append(ino)
    os.write(out_fd, b"1 %d\n" % len(ids))
    if os.read(go_fd, 1) != b"g":
        return
    for ino in ids:
        fd = os.open("info/%d/%d" % (ino % 23, ino), os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     0o600)
        os.write(fd, info)
        os.close(fd)
    os.write(out_fd, b"2 %d\n" % len(ids))


class Workers:
    """The writer processes, so that cleanup() can kill them on Ctrl-C."""

    def __init__(self):
        self.pids = []

    def stop(self):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in self.pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self.pids = []


def build_queue(br, qdir, n, procs, uid, gid, timeout):
    """Write n deferred messages into qdir with procs processes.
    Returns {seconds, phase1_s, phase2_s, birth_wall (earliest birth)}."""
    rfd, wfd = os.pipe()
    go_r, go_w = os.pipe()
    ws = Workers()
    br.LIVE.append(ws)
    try:
        t0 = time.monotonic()
        for w in range(procs):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    os.close(rfd)
                    os.close(go_w)
                    writer(qdir, w, procs, n, uid, gid, wfd, go_r)
                    code = 0
                except BaseException as e:  # report, never return into the parent's code
                    try:
                        os.write(wfd, b"E %s\n" % str(e).encode()[:300])
                    except OSError:
                        pass
                os._exit(code)
            ws.pids.append(pid)
        os.close(wfd)
        os.close(go_r)
        wfd = go_r = None
        got = {1: 0, 2: 0}
        done = {1: 0, 2: 0}
        marks = {}
        buf = b""
        deadline = t0 + timeout
        with os.fdopen(rfd, "rb", buffering=0) as f:
            rfd = None
            while done[2] < procs:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError("building the queue took more than %d s" % timeout)
                if not select.select([f], [], [], min(left, 5.0))[0]:
                    continue
                chunk = f.read(4096)
                if not chunk:
                    raise RuntimeError("a queue writer died (phase 1: %d, phase 2: %d of %d)"
                                       % (got[1], got[2], n))
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.startswith(b"E "):
                        raise RuntimeError("queue writer: " + line[2:].decode(errors="replace"))
                    phase, count = (int(x) for x in line.split())
                    got[phase] += count
                    done[phase] += 1
                    if phase == 1 and done[1] == procs:
                        marks[1] = time.monotonic()
                        marks["birth"] = time.time()
                        os.write(go_w, b"g" * procs)
        t2 = time.monotonic()
        if got[1] != n or got[2] != n:
            raise RuntimeError("queue writers wrote %d/%d of %d messages" % (got[1], got[2], n))
        return {"seconds": round(t2 - t0, 1), "phase1_s": round(marks[1] - t0, 1),
                "phase2_s": round(t2 - marks[1], 1), "birth_wall": marks["birth"]}
    finally:
        for fd in (rfd, wfd, go_r, go_w):
            if fd is not None:
                os.close(fd)
        ws.stop()
        if ws in br.LIVE:
            br.LIVE.remove(ws)


# --- watching qmail-send's log --------------------------------------------

class LogTap:
    """Reads qmail-send's log from a pipe in a thread, stamping each line
    with time.monotonic() as it arrives, and copies it to a file."""

    def __init__(self, rfd, path):
        self.rfd = rfd
        self.lines = []
        self.lock = threading.Lock()
        self.out = open(path, "ab")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self.rfd, 65536)
            except OSError:
                break
            if not chunk:
                break
            now = time.monotonic()
            self.out.write(chunk)
            buf += chunk
            parts = buf.split(b"\n")
            buf = parts.pop()
            with self.lock:
                self.lines.extend((now, p.decode(errors="replace")) for p in parts)
        self.out.close()

    def find(self, pattern, after=0.0):
        rx = re.compile(pattern)
        with self.lock:
            for t, line in self.lines:
                if t >= after and rx.search(line):
                    return t, line
        return None

    def count(self, pattern):
        rx = re.compile(pattern)
        with self.lock:
            return sum(1 for _t, line in self.lines if rx.search(line))

    def wait(self, pattern, timeout, after=0.0, alive=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hit = self.find(pattern, after)
            if hit:
                return hit
            if alive is not None and alive.poll() is not None:
                time.sleep(0.2)
                return self.find(pattern, after)
            time.sleep(0.005)
        return None

    def close(self):
        self.thread.join(timeout=10)
        try:
            os.close(self.rfd)
        except OSError:
            pass


# --- measuring ------------------------------------------------------------

def vm_kb(pid):
    """{VmRSS, VmHWM} in kB of pid, or {}."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def queue_one(inst, uid, gid, tag):
    """A local message into inst's todo/ with qmail-queue, as the owner."""
    r, w = os.pipe()
    os.write(w, b"Fbench@client.test\0T%s\0\0" % delivery.QNG_RCPT.encode())
    os.close(w)
    try:
        p = subprocess.run([os.path.join(inst.home, "bin", "qmail-queue")],
                           input=b"Subject: %s\n\nwaiting in todo/\n" % tag.encode(),
                           stdout=r, stderr=subprocess.PIPE, timeout=60,
                           env={"QMAIL_HOME": inst.home, "PATH": "/usr/bin:/bin"},
                           user=uid, group=gid, extra_groups=[])
    finally:
        os.close(r)
    if p.returncode != 0:
        raise RuntimeError("qmail-queue exit %d: %s" % (p.returncode,
                                                        p.stderr.decode(errors="replace")))


def wait_count(maildir, want, timeout):
    """Time (monotonic) at which maildir/new has want files, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if delivery.count_new(maildir) >= want:
            return time.monotonic()
        time.sleep(0.002)
    return None


def smtp_one(br, port, rcpt, tag):
    """One message over SMTP; returns the time of the 250 after DATA."""
    s = br.Session(port)
    try:
        for line, want in (("EHLO " + br.HELO, 250), ("MAIL FROM:<%s>" % br.SENDER, 250),
                           ("RCPT TO:<%s>" % rcpt, 250), ("DATA", 354),
                           ("Subject: %s\r\n\r\nlatency probe\r\n." % tag, 250)):
            code, lines = s.cmd(line)
            if code != want:
                raise RuntimeError("%s -> %r" % (line.split("\r")[0], lines))
        return time.monotonic()
    finally:
        s.close()


def latencies(br, port, rcpt, maildir, k, tap=None):
    """k messages, one after another: SMTP start -> 250 and -> delivered,
    and for qmail-ng (tap) the moments qmail-send logged them."""
    out = []
    for i in range(k):
        before = delivery.count_new(maildir)
        t0 = time.monotonic()
        t_acc = smtp_one(br, port, rcpt, "probe %d" % i)
        t_del = wait_count(maildir, before + 1, 30)
        r = {"accepted_ms": round((t_acc - t0) * 1000, 1),
             "delivered_ms": round((t_del - t0) * 1000, 1) if t_del else None}
        if tap:
            new = tap.find(r"^new msg \d+", t0)
            start = tap.find(r"^starting delivery \d+: msg \d+ to local ", t0)
            r["new_msg_ms"] = round((new[0] - t0) * 1000, 1) if new else None
            r["starting_ms"] = round((start[0] - t0) * 1000, 1) if start else None
        out.append(r)
        time.sleep(0.2)
    return out


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def qng_start(br, inst, label, k, timeout):
    """One start of qmail-start on inst's queue: start-up, first delivery
    of the message waiting in todo/, memory, k latencies over SMTP, stop.
    Returns a dict of figures."""
    res = {"label": label}
    before = delivery.count_new(inst.maildir)
    rfd, wfd = os.pipe()
    t0 = time.monotonic()
    try:
        inst.start_send(stdout=wfd)
    finally:
        os.close(wfd)
    tap = LogTap(rfd, inst.send_log)
    try:
        pid = inst.send.pid  # qmail-start execs qmail-send: the same process
        st = tap.wait(r"^status: queue read", timeout, alive=inst.send)
        if not st:
            raise RuntimeError("qmail-send printed no status line in %d s; log: %s"
                               % (timeout, inst.tail_send_log()))
        res["startup_s"] = round(st[0] - t0, 3)
        res["mem_start_kb"] = vm_kb(pid)
        t_first = wait_count(inst.maildir, before + 1, 60)
        if t_first:
            # the log line's arrival, not our poll after the status line:
            # qmail-send delivers new mail while it still reads the queue
            d = tap.find(r"^delivery \d+: success: ", after=t0)
            t_first = min(t_first, d[0]) if d else t_first
        res["first_delivery_s"] = round(t_first - t0, 3) if t_first else None
        if k:
            port = inst.start_smtp()
            res["latency"] = latencies(br, port, delivery.QNG_RCPT, inst.maildir, k, tap)
            inst.stop_smtp()
        res["mem_end_kb"] = vm_kb(pid)
        res["remote_started"] = tap.count(r"^starting delivery \d+: msg \d+ to remote ")
        t = time.monotonic()
        inst.stop_send()
        res["stop_s"] = round(time.monotonic() - t, 2)
    finally:
        inst.stop_smtp()
        inst.stop_send()
        tap.close()
    return res


def rm_timed(path, timeout=3600):
    """rm -rf path, then sync: seconds."""
    t = time.monotonic()
    subprocess.run(["rm", "-rf", "--one-file-system", path], timeout=timeout, check=False)
    os.sync()
    return round(time.monotonic() - t, 1)


def fs_used(path):
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize, st.f_files - st.f_ffree


def loop_size(n, per_msg_kib):
    gb = -(-n * per_msg_kib // (1 << 20)) + 2
    return max(4, gb), int(n * 3.3) + 100000


def enough_space(br, gb, base):
    st = os.statvfs(base)
    free = st.f_bavail * st.f_frsize
    return free > (gb << 30) + (2 << 30), free


def scale_qng(br, n, procs, k, timeout, cold):
    """Build a queue of n deferred messages and measure qmail-ng on it."""
    QngMailbox = delivery.make_qng_mailbox(br, mode="single")
    uid, gid = br.owner_ids()
    gb, inodes = loop_size(n, 14)
    ok, free = enough_space(br, gb, br.TMPBASE)
    if not ok:
        return {"n": n, "skipped": "needs a %d GiB image, %d GiB free in %s"
                % (gb, free >> 30, br.TMPBASE)}
    fs = br.LoopFs(gb=gb, inodes=inodes, dio=True)
    out = {"n": n, "procs": procs, "image_gb": gb}
    try:
        mnt = fs.start()
        inst = QngMailbox(os.path.join(mnt, "qng"))
        qdir = os.path.join(inst.home, "queue")
        used0, files0 = fs_used(mnt)
        b = build_queue(br, qdir, n, procs, uid, gid, timeout=max(600, n // 500))
        t = time.monotonic()
        os.sync()
        b["sync_s"] = round(time.monotonic() - t, 1)
        used1, files1 = fs_used(mnt)
        b["disk_mb"] = round((used1 - used0) / 1e6)
        b["files"] = files1 - files0
        births = b.pop("birth_wall")
        out["build"] = b
        br.say("  %9s: built in %.0f s (%.0f s for mess/ + remote/, %.0f s for info/, "
               "%d processes), sync %.0f s, %d files, %d MB"
               % ("{:,}".format(n), b["seconds"], b["phase1_s"], b["phase2_s"], procs,
                  b["sync_s"], b["files"], b["disk_mb"]))
        runs = []
        for label in ["warm", "cold"] if cold else ["warm"]:
            # none may come due while we measure
            est = MARGIN + k + 3 * (runs[-1]["startup_s"] if runs else n / 20000)
            if time.time() + est > births + DUE_GUARD:
                runs.append({"label": label, "skipped": "the queue would come due "
                             "during the measurement"})
                br.say("  %9s  %s start skipped: %s" % ("", label, runs[-1]["skipped"]))
                continue
            queue_one(inst, uid, gid, "first after %s start" % label)
            if label == "cold":
                drop_caches()
            else:
                os.sync()
            r = qng_start(br, inst, label, k if label == "warm" else 1, timeout)
            runs.append(r)
            lat = [x["delivered_ms"] for x in r.get("latency", []) if x["delivered_ms"]]
            br.say("  %9s  %s start: status line after %.2f s, first delivery after %s s, "
                   "VmRSS %d MB (VmHWM %d MB)%s%s"
                   % ("", label, r["startup_s"], r["first_delivery_s"],
                      r["mem_end_kb"].get("VmRSS", 0) // 1024,
                      r["mem_end_kb"].get("VmHWM", 0) // 1024,
                      ", SMTP to Maildir %s ms" % "/".join("%.0f" % x for x in lat)
                      if lat else "",
                      ", %d REMOTE DELIVERIES STARTED" % r["remote_started"]
                      if r["remote_started"] else ""))
        out["runs"] = runs
        files = fs_used(mnt)[1]
        out["delete_s"] = rm_timed(qdir)
        out["delete_files"] = files - fs_used(mnt)[1]
        br.say("  %9s  deleted (rm -rf + sync): %d files in %.0f s"
               % ("", out["delete_files"], out["delete_s"]))
    finally:
        fs.stop()
    return out


def is_for(path, rcpt):
    with open(path, "rb") as f:
        return rcpt.encode() in f.read(1 << 16)


def scale_postfix(br, n, k, timeout):
    """n deferred messages in a private Postfix's queue; start to first
    delivery, qmgr's memory, latencies."""
    PostfixMailbox = delivery.make_postfix_mailbox(br)
    gb, inodes = loop_size(n, 10)
    ok, free = enough_space(br, gb, br.TMPBASE)
    if not ok:
        return {"n": n, "skipped": "needs a %d GiB image, %d GiB free" % (gb, free >> 30)}
    fs = br.LoopFs(gb=gb, inodes=inodes, dio=True)
    out = {"n": n}
    try:
        mnt = fs.start()
        pf = PostfixMailbox(os.path.join(mnt, "postfix"), qmgr=False)
        used0, files0 = fs_used(mnt)
        pf.start()
        t = time.monotonic()
        r = subprocess.run(br.smtp_source_argv(pf.port, "session", messages=n),
                           capture_output=True, timeout=max(600, n // 100))
        accept_s = time.monotonic() - t
        smtp_one(br, pf.port, delivery.PF_RCPT, "first after start")  # the waiting one
        pf.stop()
        if r.returncode != 0:
            raise RuntimeError("smtp-source: " + r.stderr.decode(errors="replace")[-300:])
        # incoming/ -> deferred/X/ (hash_queue_depth 1: X is the id's first
        # character), mtime an hour ahead, as qmgr leaves a deferred message;
        # the local one, the newest file, stays in incoming/.
        inc = os.path.join(pf.queue, "incoming")
        names = []
        for root, _dirs, files in os.walk(inc):
            names += [os.path.join(root, f) for f in files]
        names.sort(key=lambda p: os.stat(p).st_mtime_ns)
        local = [p for p in names[-10:] if is_for(p, delivery.PF_RCPT)]
        if len(names) != n + 1 or len(local) != 1:
            raise RuntimeError("Postfix's incoming/ holds %d files (%d for %s), not %d + 1"
                               % (len(names), len(local), delivery.PF_RCPT, n))
        later = time.time() + NEXT_ATTEMPT
        t = time.monotonic()
        for path in names:
            if path == local[0]:
                continue
            name = os.path.basename(path)
            d = os.path.join(pf.queue, "deferred", name[0])
            os.makedirs(d, mode=0o700, exist_ok=True)
            dst = os.path.join(d, name)
            os.rename(path, dst)
            os.utime(dst, (later, later))
        move_s = time.monotonic() - t
        pw = br.pwd.getpwnam("postfix")
        for x in os.listdir(os.path.join(pf.queue, "deferred")):
            os.chown(os.path.join(pf.queue, "deferred", x), pw.pw_uid, pw.pw_gid)
        deferred = br.count_files(os.path.join(pf.queue, "deferred"))
        os.sync()
        used1, files1 = fs_used(mnt)
        out["build"] = {"smtp_s": round(accept_s, 1), "move_s": round(move_s, 1),
                        "deferred": deferred, "disk_mb": round((used1 - used0) / 1e6),
                        "files": files1 - files0}
        br.say("  Postfix %s: %d deferred (smtp-source %.0f s, moved to deferred/ in %.0f s), "
               "%d MB" % ("{:,}".format(n), deferred, accept_s, move_s,
                          out["build"]["disk_mb"]))
        if deferred != n:
            raise RuntimeError("Postfix's deferred queue holds %d, not %d" % (deferred, n))
        pf.configure(qmgr=True, main_extra=delivery.postfix_main(pf.spool))
        before = delivery.count_new(pf.maildir)
        t0 = time.monotonic()
        pf.start()
        res = {"started_s": round(time.monotonic() - t0, 3)}
        t_first = wait_count(pf.maildir, before + 1, timeout)
        res["first_delivery_s"] = round(t_first - t0, 3) if t_first else None
        qmgr = [p for p, st in br.descendants(pf.master).items() if st[0] == "qmgr"]
        res["latency"] = latencies(br, pf.port, delivery.PF_RCPT, pf.maildir, k)
        res["mem_end_kb"] = vm_kb(qmgr[0]) if qmgr else {}
        res["deferred_left"] = br.count_files(os.path.join(pf.queue, "deferred"))
        pf.stop()
        out["run"] = res
        lat = [x["delivered_ms"] for x in res["latency"] if x["delivered_ms"]]
        br.say("  %9s  postfix start returned after %.2f s, first delivery after %s s, qmgr "
               "VmRSS %d MB (VmHWM %d MB), SMTP to Maildir %s ms"
               % ("", res["started_s"], res["first_delivery_s"],
                  res["mem_end_kb"].get("VmRSS", 0) // 1024,
                  res["mem_end_kb"].get("VmHWM", 0) // 1024,
                  "/".join("%.0f" % x for x in lat)))
        files = fs_used(mnt)[1]
        out["delete_s"] = rm_timed(pf.queue)
        out["delete_files"] = files - fs_used(mnt)[1]
    finally:
        fs.stop()
    return out


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def table(br, res):
    """The summary: one column per queue."""
    cols = []
    for r in res["qng"]:
        cols.append(("qmail-ng %s" % "{:,}".format(r["n"]), r, "qng"))
    if res.get("postfix"):
        cols.append(("Postfix %s" % "{:,}".format(res["postfix"]["n"]), res["postfix"], "pf"))
    w = 18

    def run_of(r, label):
        for x in r.get("runs", []):
            if x["label"] == label and "skipped" not in x:
                return x
        return None

    def row(name, f):
        cells = []
        for _h, r, kind in cols:
            try:
                v = f(r, kind)
            except (KeyError, TypeError, IndexError):
                v = None
            cells.append("%*s" % (w, "-" if v is None else v))
        br.say("  %-34s%s" % (name, "".join(cells)))

    br.say("")
    br.say("  %-34s%s" % ("", "".join("%*s" % (w, h) for h, _r, _k in cols)))

    def build(r, kind):
        b = r["build"]
        return "%.0f s" % (b["seconds"] + b["sync_s"] if kind == "qng"
                           else b["smtp_s"] + b["move_s"])
    row("queue built in (incl. sync)", build)
    row("disk used (MB) / files", lambda r, k: "%d / %s" % (r["build"]["disk_mb"],
                                                           "{:,}".format(r["build"]["files"])))
    row("start-up, warm (exec -> status:)",
        lambda r, k: "%.2f s" % run_of(r, "warm")["startup_s"] if k == "qng" else None)
    row("start-up, cold caches", lambda r, k: "%.2f s" % run_of(r, "cold")["startup_s"]
        if k == "qng" else None)
    row("`postfix start` returned after", lambda r, k: "%.2f s" % r["run"]["started_s"]
        if k == "pf" else None)
    row("start -> 1st delivery, warm", lambda r, k: "%.2f s" % (
        run_of(r, "warm")["first_delivery_s"] if k == "qng" else r["run"]["first_delivery_s"]))
    row("start -> 1st delivery, cold", lambda r, k: "%.2f s" % run_of(r, "cold")[
        "first_delivery_s"] if k == "qng" else None)

    def mem(r, k, key):
        m = run_of(r, "warm")["mem_end_kb"] if k == "qng" else r["run"]["mem_end_kb"]
        return "%.0f MB" % (m[key] / 1024)
    row("VmRSS (qmail-send / qmgr)", lambda r, k: mem(r, k, "VmRSS"))
    row("VmHWM (peak)", lambda r, k: mem(r, k, "VmHWM"))

    def lat(r, k, key, f):
        ls = (run_of(r, "warm") if k == "qng" else r["run"])["latency"]
        return "%.0f ms" % f([x[key] for x in ls if x[key] is not None])
    row("SMTP -> Maildir, median", lambda r, k: lat(r, k, "delivered_ms", med))
    row("SMTP -> Maildir, max", lambda r, k: lat(r, k, "delivered_ms", max))
    row("  of which SMTP (to the 250)", lambda r, k: lat(r, k, "accepted_ms", med))

    def step(r, k, a, b):
        if k != "qng":
            return None
        ls = run_of(r, "warm")["latency"]
        return "%.0f ms" % med([x[b] - x[a] for x in ls
                                if x[a] is not None and x[b] is not None])
    row("  250 -> qmail-send's new msg", lambda r, k: step(r, k, "accepted_ms", "new_msg_ms"))
    row("  new msg -> starting delivery", lambda r, k: step(r, k, "new_msg_ms", "starting_ms"))
    row("  starting delivery -> Maildir", lambda r, k: step(r, k, "starting_ms", "delivered_ms"))
    row("deleted (rm -rf + sync)", lambda r, k: "%.0f s" % r["delete_s"])
    row("  files per second", lambda r, k: "%.0f" % (r["delete_files"] / max(r["delete_s"], 0.1)))


def workload(br, result, have_qng):
    """Section 5 of the table; returns 0, or 1 if a target was missed or a
    part failed."""
    sizes = env_sizes(br)
    procs = br.env_int("BENCH_SCALE_PROCS", 2, 1, 64)
    k = br.env_int("BENCH_SCALE_INJECTS", 5, 1, 100)
    pf_n = br.env_int("BENCH_SCALE_POSTFIX", 100000, 0, 5000000)
    timeout = br.env_int("BENCH_SCALE_TIMEOUT", 600, 10, 7200)
    cold = os.environ.get("BENCH_SCALE_COLD", "1") != "0"
    say = br.say
    say("")
    say("5. Queue scale: %s deferred messages (remote recipients, born seconds before the "
        "start, so" % " and ".join("{:,}".format(n) for n in sizes))
    say("  none is due for hours) written directly in qmail-1.03's format, on a fresh "
        "journaled ext4")
    say("  (loop device, direct I/O) per queue; qmail-send started with the queue as written "
        "(warm) and")
    say("  after dropping the caches (cold); one local message waits in todo/ at each start; "
        "%d more" % k)
    say("  sent one by one over SMTP to box@example.test.  Targets: VmRSS < 256 MB and "
        "SMTP -> Maildir")
    say("  < 1 s at 1M.")
    res = {"sizes": sizes, "qng": [], "postfix": None}
    result["scale"] = res
    status = 0
    if not have_qng:
        say("  (qmail-ng is not ready: skipped)")
        return 1
    if not shutil.which("losetup"):
        say("  (losetup is missing: skipped)")
        return 1
    for n in sizes:
        r = scale_qng(br, n, procs, k, timeout, cold)
        res["qng"].append(r)
        if "skipped" in r:
            say("  %9s: skipped: %s" % ("{:,}".format(n), r["skipped"]))
            status = 1
    if pf_n:
        res["postfix"] = scale_postfix(br, pf_n, k, timeout)
    done = [r for r in res["qng"] if "skipped" not in r]
    if done or res["postfix"]:
        table(br, {"qng": done, "postfix": res["postfix"]})
    for r in done:
        warm = [x for x in r["runs"] if x["label"] == "warm" and "skipped" not in x]
        if not warm:
            status = 1
            continue
        w = warm[0]
        lat = [x["delivered_ms"] for x in w["latency"]]
        r["targets"] = {"rss_ok": w["mem_end_kb"].get("VmRSS", 1 << 30) < 256 * 1024,
                        "hwm_ok": w["mem_end_kb"].get("VmHWM", 1 << 30) < 256 * 1024,
                        "latency_ok": None not in lat and max(lat) < 1000}
        if r["n"] >= 1000000:
            say("  at %s: VmRSS %s, VmHWM %s (target < 256 MB); SMTP -> Maildir %s (target < 1 s)"
                % ("{:,}".format(r["n"]), "met" if r["targets"]["rss_ok"] else "NOT met",
                   "met" if r["targets"]["hwm_ok"] else "NOT met",
                   "met" if r["targets"]["latency_ok"] else "NOT met"))
            if not all(r["targets"].values()):
                status = 1
        if any(x.get("remote_started") for x in r["runs"]):
            status = 1
    return status
