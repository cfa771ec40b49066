# SPDX-License-Identifier: ISC
"""bench/delivery.py - workload 4 of bench/run: end-to-end local delivery.

smtp-source sends BENCH_DELIVERY_MESSAGES 1 KiB messages over 20 sessions
to one local mailbox of a server whose queue manager runs; the figure is
messages per second from the start of the client until the last message
is a file in the mailbox's Maildir/new/.  The servers alternate round by
round on fresh instances, as in the accept workload.  A round counts only
if exactly that many files arrived, each one complete (the body the
client sent, byte for byte, one Message-Id each), tmp/ is empty and the
queue emptied afterwards.

qmail-ng: tcpserver + qmail-smtpd as for the accept workload, plus
qmail-start (qmail-send, qmail-lspawn, qmail-clean, qmail-rspawn); the
address box@example.test is in users/assign, its home has Maildir/.
Postfix: the same instance as for the accept workload with qmgr running
and local(8) delivering nobody@example.test into a Maildir (see
PF_DELIVERY).  Both deliver as the same unprivileged user (nobody).

Called from bench/run's main() with that module as `br`; everything it
starts is registered in br.LIVE so that Ctrl-C stops it.
"""
import os
import re
import signal
import statistics
import subprocess
import time

QNG_RCPT = "box@example.test"
PF_RCPT = "nobody@example.test"
DOMAIN = "example.test"

# Postfix delivers with local(8), the agent that does per-user work as
# qmail-local does (it runs as the recipient, looks for .forward as
# qmail-local looks for .qmail, handles aliases, programs and mbox, and
# adds Delivered-To), not virtual(8), which only writes into a mailbox
# named by a table.  local(8) needs a passwd user: nobody, whose home is
# /nonexistent, so the Maildir is named by mail_spool_directory with a
# trailing slash ("SPOOL/nobody/"), which local(8) hands to the same
# deliver_maildir() as home_mailbox = Maildir/.  local_recipient_maps is
# empty because qmail-ng does not look local parts up at RCPT time
# either; biff is off because qmail-local notifies nobody.  The rest are
# Postfix's defaults, qmgr's concurrency included (local(8): at most 2
# parallel deliveries to one recipient; qmail-ng: concurrencylocal 10).
PF_DELIVERY = """\
mydestination = {domain}
local_recipient_maps =
mail_spool_directory = {spool}/
biff = no
"""


def owner(br):
    return br.owner_ids()


def make_maildir(path, uid, gid):
    for d in (path, os.path.join(path, "tmp"), os.path.join(path, "new"),
              os.path.join(path, "cur")):
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o700)
        os.chown(d, uid, gid)


def stop_group(proc, what, warn, leader_first=True):
    """Stop the process group led by proc, each step bounded: SIGTERM to
    the leader alone (qmail-send: its helpers leave when their input
    closes), then SIGTERM and SIGKILL to the whole group; reaps proc."""
    if proc is None:
        return
    steps = [(signal.SIGTERM, 15, False), (signal.SIGTERM, 5, True), (signal.SIGKILL, 5, True)]
    for sig, wait, group in steps[0 if leader_first else 1:]:
        try:
            if group:
                os.killpg(proc.pid, sig)
            else:
                os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc.poll() is not None and not _group_alive(proc.pid):
                return
            time.sleep(0.05)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        warn("%s %d did not exit" % (what, proc.pid))


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def make_qng_mailbox(br, mode=None):
    """A class: bench/run's Qng plus local delivery into one Maildir
    (mode: as bench/run's Qng; None: BENCH_QNG_MODE)."""

    class QngMailbox(br.Qng):
        """Qng with example.test local, box@example.test delivered into
        MAIL/box/Maildir, and qmail-start running beside tcpserver."""

        rcpt = QNG_RCPT

        def __init__(self, base):
            super().__init__(base, mode)
            uid, gid = owner(br)
            ctl = os.path.join(self.home, "control")
            with open(os.path.join(ctl, "locals"), "a") as f:
                f.write(DOMAIN + "\n")
            for name, value in qng_extra():
                with open(os.path.join(ctl, name), "w") as f:
                    f.write(value + "\n")
            mail = os.path.join(base, "mail")
            boxhome = os.path.join(mail, "box")
            for d in (mail, boxhome):
                os.makedirs(d, exist_ok=True)
                os.chmod(d, 0o755)
                os.chown(d, uid, gid)
            self.maildir = os.path.join(boxhome, "Maildir")
            make_maildir(self.maildir, uid, gid)
            self.boxes = [(self.maildir, QNG_RCPT)]
            write_assign(br, self.home, [("box", boxhome)], uid, gid)
            self.send = None
            self.send_log = os.path.join(base, "send.log")

        def start_send(self, stdout=None):
            """qmail-start ./Maildir/ in its own process group; as root it
            drops to the instance's owner by itself.  Its log (qmail-send's
            stdout) goes to send.log, or to stdout when given."""
            env = {"PATH": os.path.join(self.home, "bin") + ":/usr/bin:/bin",
                   "QMAIL_HOME": self.home}
            logf = open(self.send_log, "ab")
            self.send = subprocess.Popen(
                [os.path.join(self.home, "bin", "qmail-start"), "./Maildir/"],
                env=env, stdin=subprocess.DEVNULL,
                stdout=stdout if stdout is not None else logf, stderr=logf,
                cwd=self.base, start_new_session=True)
            logf.close()
            if self not in br.LIVE:
                br.LIVE.append(self)
            return self.send

        def start(self):
            port = self.start_smtp()
            self.start_send()
            return port

        def start_smtp(self):
            port = super().start()
            while br.LIVE.count(self) > 1:
                br.LIVE.remove(self)
            return port

        def stop_smtp(self):
            super().stop()
            if self.send is not None and self not in br.LIVE:
                br.LIVE.append(self)

        def send_tree(self):
            if not self.send:
                return []
            return [self.send.pid] + list(br.descendants(self.send.pid))

        def tree(self):
            return super().tree() + self.send_tree()

        def queue_files(self):
            q = os.path.join(self.home, "queue")
            return sum(br.count_files(os.path.join(q, d)) for d in ("mess", "todo", "intd"))

        def leftovers(self):
            """Queue files still there, and qmail-send's warnings."""
            q = os.path.join(self.home, "queue")
            names = []
            for d in ("mess", "todo", "intd", "info", "local", "remote"):
                for root, _dirs, files in os.walk(os.path.join(q, d)):
                    names += [os.path.relpath(os.path.join(root, f), q) for f in files]
            warn = []
            try:
                with open(self.send_log, errors="replace") as f:
                    warn = [l.strip() for l in f if l.startswith(("warning", "alert"))]
            except OSError:
                pass
            return "files: %s; log: %s" % (" ".join(sorted(names)[:6]),
                                           " | ".join(warn[-3:]) or "no warnings")

        def stop_send(self):
            stop_group(self.send, "qmail-start", br.warn)
            self.send = None

        def stop(self):
            self.stop_send()
            super().stop()
            while self in br.LIVE:
                br.LIVE.remove(self)

        def tail_send_log(self, n=5):
            try:
                with open(self.send_log, "rb") as f:
                    return " | ".join(f.read().decode(errors="replace").splitlines()[-n:])
            except OSError:
                return ""

        def why(self):
            return "send log: %s; smtpd log: %s" % (self.tail_send_log(), self.tail_log())

    return QngMailbox


def write_assign(br, home, users, uid, gid):
    """users/assign with one exact entry per (name, home) pair, all with
    the same uid and gid, compiled by qmail-newu and owned by uid."""
    with open(os.path.join(home, "users", "assign"), "w") as f:
        for name, h in users:
            f.write("=%s:%s:%d:%d:%s:::\n" % (name, name, uid, gid, h))
        f.write(".\n")
    r = br.run([os.path.join(home, "bin", "qmail-newu")],
               env={"QMAIL_HOME": home, "PATH": "/usr/bin:/bin"}, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("qmail-newu failed: %s" % r.stderr.decode(errors="replace"))
    for root, dirs, files in os.walk(os.path.join(home, "users")):
        for n in dirs + files:
            os.chown(os.path.join(root, n), uid, gid)


def qng_extra():
    """BENCH_QNG_CONTROL: control files (name=value, separated by ';')
    written into the qmail-ng delivery instance, e.g. concurrencylocal=20."""
    out = []
    for x in os.environ.get("BENCH_QNG_CONTROL", "").split(";"):
        if "=" in x:
            name, value = x.split("=", 1)
            name = name.strip()
            if not name or "/" in name or name.startswith("."):
                raise SystemExit("BENCH_QNG_CONTROL: bad control file name %r" % name)
            out.append((name, value.strip()))
    return out


def postfix_extra():
    """BENCH_POSTFIX_MAIN: main.cf lines (separated by ';') added to the
    delivery instance, e.g. local_destination_concurrency_limit = 10."""
    v = os.environ.get("BENCH_POSTFIX_MAIN", "")
    return "".join(x.strip() + "\n" for x in v.split(";") if x.strip())


def postfix_main(spool):
    return PF_DELIVERY.format(domain=DOMAIN, spool=spool) + postfix_extra()


def make_postfix_mailbox(br):
    class PostfixMailbox(br.Postfix):
        """Postfix with qmgr and local(8) delivering nobody@example.test
        into SPOOL/nobody/ (a Maildir)."""

        rcpt = PF_RCPT

        def __init__(self, base, qmgr=True):
            self.spool = os.path.join(base, "spool")
            super().__init__(base, qmgr=qmgr, main_extra=postfix_main(self.spool))
            os.makedirs(self.spool)
            os.chmod(self.spool, 0o755)
            self.maildir = os.path.join(self.spool, "nobody")
            uid, gid = owner(br)
            make_maildir(self.maildir, uid, gid)
            self.boxes = [(self.maildir, PF_RCPT)]

        def queue_files(self):
            return self.queued()

        def leftovers(self):
            names = []
            for d in br.PF_DIRS:
                for root, _dirs, files in os.walk(os.path.join(self.queue, d)):
                    names += [os.path.relpath(os.path.join(root, f), self.queue) for f in files]
            return "files: %s; maillog: %s" % (" ".join(sorted(names)[:6]), self.tail_log(3))

        def why(self):
            return "maillog: %s" % self.tail_log()

    return PostfixMailbox


def expected_body(size):
    """The body smtp-source -l SIZE sends, as it lands in a Maildir (LF line
    ends): SIZE bytes of 'X' cut into 80-byte CRLF lines, the first byte
    of each full line a digit (line number mod 10), then one more CRLF."""
    b = bytearray(b"X" * size)
    for i in range(80, size, 80):
        b[i - 80] = ord("0123456789"[(i // 80) % 10])
        b[i - 2] = ord("\r")
        b[i - 1] = ord("\n")
    return (bytes(b) + b"\r\n").replace(b"\r\n", b"\n")


def check_maildir(maildir, n, rcpt, body):
    """None if maildir/new holds exactly n complete messages for rcpt and
    tmp/ is empty, else what is wrong."""
    new = os.path.join(maildir, "new")
    names = os.listdir(new)
    if len(names) != n:
        return "%d files in new/, expected %d" % (len(names), n)
    tmp = os.listdir(os.path.join(maildir, "tmp"))
    if tmp:
        return "%d files left in tmp/" % len(tmp)
    mids = set()
    bad = 0
    first_bad = ""
    dt = ("delivered-to: " + rcpt).encode()
    for name in names:
        with open(os.path.join(new, name), "rb") as f:
            data = f.read(1 << 20)
        head, sep, got = data.partition(b"\n\n")
        low = head.lower()
        mid = [l for l in low.split(b"\n") if l.startswith(b"message-id:")]
        if not sep or got != body or dt not in low or len(mid) != 1:
            bad += 1
            first_bad = first_bad or name
            continue
        mids.add(mid[0])
    if bad:
        return "%d incomplete or wrong messages (first: new/%s)" % (bad, first_bad)
    if len(mids) != n:
        return "%d distinct Message-Ids in %d messages" % (len(mids), n)
    return None


def count_new(maildir):
    try:
        with os.scandir(os.path.join(maildir, "new")) as it:
            return sum(1 for _ in it)
    except FileNotFoundError:
        return 0


def settle(br, server, cpu0):
    """Let the queue empty (at most 30 s), so that the CPU of finishing
    each message (qmail-clean, qmgr removing its file) is counted and a
    message delivered twice would show: (CPU seconds of the server's tree
    since cpu0, the queue files left, what they are)."""
    end = time.monotonic() + 30
    while server.queue_files() and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(0.2)
    cpu = br.tree_cpu(server.tree()) - cpu0
    left = server.queue_files()
    return cpu, left, server.leftovers() if left else ""


def count_boxes(boxes):
    return sum(count_new(m) for m, _rcpt in boxes)


def one_round(br, server, mode, n, body):
    """Start server, send n messages, wait until each of server.boxes (a
    list of (Maildir, recipient)) has all n, check.  With more than one
    box every message goes to all of them (smtp-source -r: the client's
    recipients are server.rcpt, then 2, 3, ... prepended to it).
    Returns a dict: rate (msgs/s, first sent to last delivered), sent,
    delivered (files), cpu_us (per message), accept_s, valid, note."""
    server.start()
    os.sync()
    time.sleep(0.3)
    argv = br.smtp_source_argv(server.port, mode, rcpt=server.rcpt, messages=n)
    nbox = len(server.boxes)
    if nbox > 1:
        argv[-1:-1] = ["-r", str(nbox)]
    files = n * nbox
    cpu0 = br.tree_cpu(server.tree())
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    deadline = t0 + br.ROUND_TIMEOUT
    t_sent = t_last = None
    got = last_got = 0
    last_change = t0
    out = err = b""
    try:
        # Poll the mailbox (bounded by the round's timeout, and once the
        # client is done by 60 s without progress, 5 s if it failed).
        while time.monotonic() < deadline:
            if t_sent is None and p.poll() is not None:
                t_sent = time.monotonic()
                out, err = p.communicate(timeout=10)
            got = count_boxes(server.boxes)
            now = time.monotonic()
            if got >= files:
                t_last = now
                break
            if got != last_got:
                last_got, last_change = got, now
            if t_sent is not None and \
                    now - max(t_sent, last_change) > (60 if p.returncode == 0 else 5):
                break
            time.sleep(0.02 if nbox == 1 else 0.05)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            o, e = p.communicate(timeout=10)
            out, err = out + o, err + e + b"(killed)"
    if t_sent is None:
        t_sent = time.monotonic()
    cpu, left, leftovers = settle(br, server, cpu0)
    counts = [int(x) for x in re.findall(rb"\d+", out)]
    sent = counts[-1] if counts else 0
    why = server.why()
    server.stop()
    note = ""
    if p.returncode != 0 or sent != n:
        note = "smtp-source exit %s, reported %d of %d: %s" % (
            p.returncode, sent, n, err.decode(errors="replace").strip()[-200:])
    elif t_last is None:
        note = "%d of %d delivered in time; %s" % (got, files, why)
    else:
        for maildir, rcpt in server.boxes:
            note = check_maildir(maildir, n, rcpt, body) or ""
            if note:
                if nbox > 1:
                    note = "%s: %s" % (rcpt, note)
                break
        if not note and left:
            note = "%d files left in the queue 30 s after the last delivery: %s" % (
                left, leftovers)
    elapsed = (t_last or time.monotonic()) - t0
    done = got / nbox  # messages, counted in whole deliveries
    return {"rate": n / elapsed if t_last else done / elapsed, "seconds": round(elapsed, 3),
            "accept_s": round(t_sent - t0, 3),
            "cpu_us": cpu / done * 1e6 if got else None, "sent": sent,
            "delivered": count_boxes(server.boxes), "valid": not note, "note": note}


def delivery_rates(br, work, mode, have_qng, n, rounds, classes=None, tag="deliv"):
    """Rounds of one_round, servers alternating; classes: the (qmail-ng,
    Postfix) server classes, one mailbox each unless given; tag names the
    rounds' work directories.  Returns the figures as a dict."""
    QngMailbox, PostfixMailbox = classes or (make_qng_mailbox(br), make_postfix_mailbox(br))
    body = expected_body(br.SIZE)
    servers = (["qng"] if have_qng else []) + ["postfix"]
    res = {s: [] for s in servers}
    say = br.say
    say("")
    say("  mode %-10s %s" % (mode, br.MODE_TEXT[mode] % br.SESSIONS))
    say("  %-6s %24s %24s" % ("", "qmail-ng", "Postfix"))
    say("  %-6s %24s %24s" % ("round", "msgs/s (CPU us/msg)", "msgs/s (CPU us/msg)"))

    def cell(r):
        if r is None:
            return "%24s" % "-"
        txt = "%.0f (%s)" % (r["rate"], "-" if r["cpu_us"] is None else "%.0f" % r["cpu_us"])
        return "%24s" % (txt + ("" if r["valid"] else " INVALID"))

    for i in range(1, rounds + 1):
        row = {}
        for s in servers:
            base = os.path.join(work, "%s-%s-%s-%d" % (tag, s, mode, i))
            server = QngMailbox(base) if s == "qng" else PostfixMailbox(base)
            r = one_round(br, server, mode, n, body)
            os.sync()
            res[s].append(r)
            row[s] = r
        say("  %-6d %s %s" % (i, cell(row.get("qng")), cell(row.get("postfix"))))
        for s in servers:
            if not row[s]["valid"]:
                say("         %s: %s" % (s, row[s]["note"]))
    out = {"mode": mode, "messages": n}
    for s in servers:
        ok = [r for r in res[s] if r["valid"]]
        cpus = [r["cpu_us"] for r in ok if r["cpu_us"] is not None]
        out[s] = {"rounds": [round(r["rate"], 1) for r in res[s]],
                  "cpu_us_per_msg": [None if r["cpu_us"] is None else round(r["cpu_us"])
                                     for r in res[s]],
                  "accept_s": [r["accept_s"] for r in res[s]],
                  "seconds": [r["seconds"] for r in res[s]],
                  "delivered": [r["delivered"] for r in res[s]],
                  "valid_rounds": len(ok),
                  "median": round(statistics.median(r["rate"] for r in ok), 1) if ok else None,
                  "median_cpu_us": round(statistics.median(cpus)) if cpus else None,
                  "median_accept_s": round(statistics.median(r["accept_s"] for r in ok), 2)
                  if ok else None}
    q = out.get("qng", {}).get("median")
    p = out["postfix"]["median"]
    out["ratio"] = round(q / p, 3) if q and p else None

    def med(s):
        o = out.get(s)
        if not o or o["median"] is None:
            return "%24s" % "-"
        return "%24s" % ("%.0f (%s)" % (o["median"], o["median_cpu_us"]))

    say("  %-6s %s %s" % ("median", med("qng"), med("postfix")))
    acc = ["%s %.1f s" % ("qmail-ng" if s == "qng" else "Postfix", out[s]["median_accept_s"])
           for s in servers if out[s]["median_accept_s"] is not None]
    if acc:
        say("  (client done after, median: %s)" % ", ".join(acc))
    if out["ratio"] is not None:
        say("  ratio qmail-ng/Postfix: %.2f  (target >= %.1f: %s)" % (
            out["ratio"], br.TARGET_RATIO,
            "met" if out["ratio"] >= br.TARGET_RATIO else "NOT met"))
    return out


def all_valid(o, rounds, have_qng):
    """Every round of delivery_rates' figures o counted, for each server."""
    return o["postfix"]["valid_rounds"] >= rounds and \
        (not have_qng or o["qng"]["valid_rounds"] >= rounds)


def env_modes(br, name, default):
    """The smtp-source modes the variable name lists (comma-separated)."""
    modes = [m.strip() for m in os.environ.get(name, default).split(",") if m.strip()]
    for m in modes:
        if m not in br.MODE_TEXT:
            raise ValueError("unknown mode %r in %s" % (m, name))
    return modes


def workload(br, work, result, have_qng):
    """Section 4 of the table; returns bench/run's exit status so far (0/1)."""
    n = br.env_int("BENCH_DELIVERY_MESSAGES", 2000, 1, 1000000)
    rounds = br.env_int("BENCH_DELIVERY_ROUNDS", br.ROUNDS, 1, 100)
    modes = env_modes(br, "BENCH_DELIVERY_MODES", "session,connection")
    say = br.say
    say("")
    say("4. Local delivery rate: %d sessions, %d messages per round to one local mailbox, "
        "%d rounds," % (br.SESSIONS, n, rounds))
    say("  servers alternating, fresh queues and Maildirs every round, queue manager running")
    say("  client: smtp-source -s %d -m %d -l %d -f %s -t RCPT -M %s (plus -d in session "
        "mode)" % (br.SESSIONS, n, br.SIZE, br.SENDER, br.HELO))
    say("  qmail-ng: %s -> users/assign -> qmail-local -> Maildir; Postfix: %s -> local(8)"
        % (QNG_RCPT, PF_RCPT))
    say("  -> Maildir (mail_spool_directory with a trailing /).  figure = messages per second "
        "from the")
    say("  client's start until the last message is a file in Maildir/new/; a round counts "
        "only if exactly")
    say("  that many arrived, each with the body sent, a Delivered-To and its own Message-Id, "
        "tmp/ is")
    say("  empty and the queue emptied.  CPU: the server's process trees (SMTP side and queue "
        "manager")
    say("  with delivery agents), from the client's start until the queue is empty, per "
        "message.")
    if qng_extra():
        say("  qmail-ng's control/ also has (BENCH_QNG_CONTROL): "
            + "; ".join("%s=%s" % kv for kv in qng_extra()))
        result["qng_control_extra"] = dict(qng_extra())
    if postfix_extra():
        say("  Postfix's main.cf also has (BENCH_POSTFIX_MAIN): "
            + "; ".join(postfix_extra().splitlines()))
        result["postfix_main_extra"] = postfix_extra()
    out = {"messages": n, "rounds": rounds}
    status = 0
    for mode in modes:
        o = delivery_rates(br, work, mode, have_qng, n, rounds)
        out[mode] = o
        if not all_valid(o, rounds, have_qng):
            status = 1
    result["delivery"] = out
    return status


# Workload 12: one message to MANY local mailboxes.  Every message has
# MANY recipients (smtp-source -r), each a different local user with a
# Maildir of its own, so the figure is the cost of a delivery per
# recipient: qmail-send schedules each recipient, qmail-lspawn runs
# qmail-local for it; Postfix's qmgr hands each recipient to local(8)
# (local_destination_recipient_limit is 1).
MANY = 100

# Postfix: local(8), as in workload 4, with the users as aliases that
# name a Maildir each ("2nobody SPOOL/2nobody/"), because local(8)
# delivers to passwd users only and the bench adds none.  An alias is
# looked up per recipient as qmail-local's users/assign entry is, and
# delivered by local(8)'s own Maildir writer, with Delivered-To; a
# texthash table owned by root makes local(8) deliver as default_privs
# (nobody), the owner of qmail-ng's Maildirs too.  Appended to workload
# 4's main.cf (later lines win).
PF_MANY = """\
alias_maps = texthash:{aliases}
alias_database =
"""


def many_names(base_local):
    """The local parts smtp-source -r MANY sends to: base_local itself,
    then 2, 3, ... MANY prepended to it."""
    return [base_local] + ["%d%s" % (k, base_local) for k in range(2, MANY + 1)]


def make_qng_mailboxes(br):
    QngMailbox = make_qng_mailbox(br)

    class QngMailboxes(QngMailbox):
        """QngMailbox with MANY users in users/assign, each with a home
        MAIL/NAME holding Maildir/ (qmail-start ./Maildir/)."""

        def __init__(self, base):
            super().__init__(base)
            uid, gid = owner(br)
            mail = os.path.join(base, "mail")
            users, self.boxes = [], []
            for name in many_names(QNG_RCPT.split("@")[0]):
                h = os.path.join(mail, name)
                os.makedirs(h, exist_ok=True)
                os.chmod(h, 0o755)
                os.chown(h, uid, gid)
                make_maildir(os.path.join(h, "Maildir"), uid, gid)
                users.append((name, h))
                self.boxes.append((os.path.join(h, "Maildir"), "%s@%s" % (name, DOMAIN)))
            write_assign(br, self.home, users, uid, gid)

    return QngMailboxes


def make_postfix_mailboxes(br):
    PostfixMailbox = make_postfix_mailbox(br)

    class PostfixMailboxes(PostfixMailbox):
        """Postfix with local(8) delivering MANY aliases, each into its own
        Maildir SPOOL/NAME/."""

        def __init__(self, base):
            super().__init__(base)
            aliases = os.path.join(base, "aliases")
            self.configure(True, postfix_main(self.spool) + PF_MANY.format(aliases=aliases))
            uid, gid = owner(br)
            self.boxes = []
            with open(aliases, "w") as f:
                for name in many_names(PF_RCPT.split("@")[0]):
                    md = os.path.join(self.spool, name)
                    make_maildir(md, uid, gid)
                    f.write("%s %s/\n" % (name, md))  # texthash: key value
                    self.boxes.append((md, "%s@%s" % (name, DOMAIN)))

    return PostfixMailboxes


def mailboxes_workload(br, work, result, have_qng):
    """Section 12 of the table; returns bench/run's exit status so far."""
    n = br.env_int("BENCH_MAILBOXES_MESSAGES", 200, 1, 100000)
    rounds = br.env_int("BENCH_MAILBOXES_ROUNDS", br.ROUNDS, 1, 100)
    modes = env_modes(br, "BENCH_MAILBOXES_MODES", "session")
    say = br.say
    say("")
    say("12. One message to %d local mailboxes: %d sessions, %d messages per round, "
        "%d rounds," % (MANY, br.SESSIONS, n, rounds))
    say("  each message with %d recipients, %d different local users' Maildirs "
        "(%d files per round)" % (MANY, MANY, MANY * n))
    say("  client: smtp-source -s %d -m %d -r %d -l %d -f %s -t RCPT -M %s (plus -d in "
        "session mode)" % (br.SESSIONS, n, MANY, br.SIZE, br.SENDER, br.HELO))
    say("  qmail-ng: box, 2box ... %dbox@%s -> users/assign (%d users, a home each) -> "
        "qmail-local" % (MANY, DOMAIN, MANY))
    say("  -> HOME/Maildir/; Postfix: nobody, 2nobody ... -> local(8) -> aliases (texthash) "
        "-> SPOOL/NAME/.")
    say("  figure = messages per second (deliveries per second = %d x that) from the client's "
        "start" % MANY)
    say("  until the last file is in its new/; checks and CPU as in workload 4, for every "
        "Maildir.")
    classes = (make_qng_mailboxes(br), make_postfix_mailboxes(br))
    out = {"messages": n, "rounds": rounds, "recipients": MANY}
    status = 0
    for mode in modes:
        o = delivery_rates(br, work, mode, have_qng, n, rounds, classes, "many")
        for s in ("qng", "postfix"):
            if s in o and o[s]["median"] is not None:
                o[s]["median_deliveries_per_s"] = round(o[s]["median"] * MANY, 1)
        q = o.get("qng", {}).get("median_deliveries_per_s")
        p = o["postfix"].get("median_deliveries_per_s")
        say("  deliveries per second, median: qmail-ng %s, Postfix %s"
            % (q if q is not None else "-", p if p is not None else "-"))
        out[mode] = o
        if not all_valid(o, rounds, have_qng):
            status = 1
    result["mailboxes"] = out
    return status
