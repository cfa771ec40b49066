# SPDX-License-Identifier: ISC
"""bench/relay.py - workloads 6 and 7 of bench/run: relaying to an SMTP sink.

Mail for one remote domain, sink.test, goes through each server to an
SMTP sink of our own on 127.0.0.1 (bench/sink.py: SO_REUSEPORT, two
asyncio processes, every message checked and counted).  Both servers
get their mail the same way, from smtp-source over SMTP on loopback
(relaying allowed from 127.0.0.1), 20 sessions, as in the other
workloads: the same client and the same bytes for both, and all the
work of each server happens in its own process tree, where its CPU is
counted (see bench/README.md for why not each server's sendmail).

6. Relay rate: BENCH_RELAY_MESSAGES 1 KiB messages, one recipient each;
   messages per second from the client's start to the sink's 250 after
   the last message's final dot; servers alternating round by round on
   fresh instances with a fresh sink; the server's and the sink's CPU.
7. Connections per message: BENCH_RELAY_CONN_MESSAGES messages with
   BENCH_RELAY_CONN_RCPTS recipients each at sink.test; the connections,
   transactions and RCPTs the sink saw from each server.
A round counts only if the sink got every message once for each of its
recipients, complete (the body sent, byte for byte, and its own
Message-Id), nothing else (no bounce), and the queue emptied after.

qmail-ng: bench/delivery.py's instance (tcpserver + qmail-smtpd, and
qmail-start: qmail-send, qmail-rspawn running qmail-remote) with
control/smtproutes "sink.test:127.0.0.1:PORT" and ":127.0.0.1:PORT" (so
a bounce also stays on loopback).  Postfix: qmgr running, transport_maps
sending sink.test to smtp:[127.0.0.1]:PORT and relayhost [127.0.0.1]:PORT
for anything else; its SMTP client's defaults otherwise, connection
caching included.  Called from bench/run's main() with that module as
`br`; the sink and the servers are registered in br.LIVE.
"""
import collections
import json
import os
import re
import selectors
import signal
import statistics
import subprocess
import sys
import time

import delivery
import sink as sinkmod

DOMAIN = "sink.test"
RCPT = "rcpt@" + DOMAIN
SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sink.py")
TARGET_CONNS_PER_MSG = 1  # qmail-1.03 opened one per recipient

# Postfix: sink.test by the transport map, the way smtproutes names it
# for qmail-ng; relayhost catches everything else (bounces) so that
# nothing leaves loopback.  inline: needs no postmap.
PF_RELAY = """\
transport_maps = inline:{{ {domain}=smtp:[127.0.0.1]:{port} }}
relayhost = [127.0.0.1]:{port}
"""


class Sink:
    """bench/sink.py in its own process group; status() reads its
    counters, stop() ends it and returns its report (None if it wrote
    none)."""

    def __init__(self, br, d, procs, body_file):
        self.br = br
        self.dir = d
        self.procs = procs
        self.body_file = body_file
        self.proc = None
        self.port = None
        self.log = os.path.join(d, "sink.log")
        os.makedirs(d)

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, SINK, "--dir", self.dir, "--procs", str(self.procs),
             "--body", self.body_file, "--name", DOMAIN],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=logf,
            start_new_session=True)
        logf.close()
        self.br.LIVE.append(self)
        line = self._readline(15)
        if not line.startswith("port "):
            raise RuntimeError("the sink did not start (said %r); %s" % (line, self.tail_log()))
        self.port = int(line.split()[1])
        if not self.br.wait_greeting(self.port):
            raise RuntimeError("the sink gives no 220 greeting; %s" % self.tail_log())
        # wait_greeting's sessions are counted: start from their numbers
        time.sleep(0.1)
        self.base = self.status()
        return self.port

    def _readline(self, timeout):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(buf) < 100:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            ch = os.read(self.proc.stdout.fileno(), 1)
            if not ch or ch == b"\n":
                break
            buf += ch
        sel.close()
        return buf.decode(errors="replace")

    def tail_log(self):
        try:
            with open(self.log, "rb") as f:
                return "sink log: " + " | ".join(
                    f.read().decode(errors="replace").splitlines()[-3:])
        except OSError:
            return "no sink log"

    def status(self):
        return sinkmod.read_status(os.path.join(self.dir, "status"), self.procs)

    def workers(self):
        return list(self.br.descendants(self.proc.pid)) if self.proc else []

    def tree(self):
        return [self.proc.pid] + self.workers() if self.proc else []

    def stop(self):
        if self in self.br.LIVE:
            self.br.LIVE.remove(self)
        if self.proc is None:
            return None
        try:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.br.warn("the sink did not stop in 20 s; killing it")
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.br.warn("sink %d did not exit" % self.proc.pid)
        self.proc.stdout.close()
        self.proc = None
        try:
            with open(os.path.join(self.dir, "report.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


def make_classes(br):
    QngMailbox = delivery.make_qng_mailbox(br)

    class QngRelay(QngMailbox):
        """bench/delivery.py's qmail-ng instance (queue manager running)
        with sink.test, and every other remote domain, routed to the sink
        by control/smtproutes."""

        rcpt = RCPT

        def __init__(self, base, sink_port):
            super().__init__(base)
            with open(os.path.join(self.home, "control", "smtproutes"), "w") as f:
                f.write("%s:127.0.0.1:%d\n:127.0.0.1:%d\n" % (DOMAIN, sink_port, sink_port))

    class PostfixRelay(br.Postfix):
        """A private Postfix with qmgr, relaying sink.test (and anything
        else) to the sink."""

        rcpt = RCPT

        def __init__(self, base, sink_port):
            extra = PF_RELAY.format(domain=DOMAIN, port=sink_port) + delivery.postfix_extra()
            super().__init__(base, qmgr=True, main_extra=extra)

        def queue_files(self):
            return self.queued()

        def leftovers(self):
            names = []
            for d in br.PF_DIRS:
                for root, _dirs, files in os.walk(os.path.join(self.queue, d)):
                    names += [os.path.relpath(os.path.join(root, f), self.queue)
                              for f in files]
            return "files: %s; maillog: %s" % (" ".join(sorted(names)[:6]), self.tail_log(3))

        def why(self):
            return "maillog: %s" % self.tail_log()

    return QngRelay, PostfixRelay


def check_report(rep, n, nrcpt, sender):
    """None if the sink's report shows n messages, each delivered once to
    each of its nrcpt recipients at sink.test, complete, from the client's
    sender and nothing else; else what is wrong."""
    if rep is None:
        return "the sink wrote no report"
    if rep["missing_workers"]:
        return "sink workers %s wrote no report" % rep["missing_workers"]
    if rep["bad"]:
        s = rep["bad_samples"][0] if rep["bad_samples"] else {}
        return "%d bad messages at the sink (first: %s, from <%s> to %s)" % (
            rep["bad"], s.get("why"), s.get("sender"), s.get("rcpts"))
    other = {s: k for s, k in rep["senders"].items() if s != sender.lower()}
    if other:
        return "messages from other senders (bounces?): %s" % other
    d = rep["deliveries"]
    if len(d) != n:
        return "%d distinct Message-Ids at the sink, expected %d" % (len(d), n)
    names = collections.Counter()
    for mid, rcpts in d.items():
        if len(rcpts) != nrcpt or len(set(rcpts)) != nrcpt:
            return "message %s reached %d recipients (%d distinct), expected %d" % (
                mid, len(rcpts), len(set(rcpts)), nrcpt)
        names.update(rcpts)
    if len(names) != nrcpt or any(k != n for k in names.values()) or \
            any(not a.endswith("@" + DOMAIN) for a in names):
        return "recipients at the sink: %s" % dict(names.most_common(4))
    return None


def one_round(br, server, sink, mode, n, nrcpt):
    """Start server, send n messages of nrcpt recipients with smtp-source,
    wait (bounded) until the sink accepted them all and the queue is
    empty, stop server and sink, check.  Returns a dict of figures."""
    server.start()
    os.sync()
    time.sleep(0.3)
    argv = br.smtp_source_argv(server.port, mode, rcpt=RCPT, messages=n)
    if nrcpt > 1:
        argv[-1:-1] = ["-r", str(nrcpt)]
    want = n * nrcpt
    base = sink.base
    workers = sink.workers()
    cpu0 = br.tree_cpu(server.tree())
    scpu0 = {p: br.cpu_seconds(p) for p in workers}
    scpu0_all = br.tree_cpu(sink.tree())
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    deadline = t0 + br.ROUND_TIMEOUT
    t_sent = t_last = None
    got = last_got = 0
    last_change = t0
    out = err = b""
    try:
        # Poll the sink's counters (bounded by the round's timeout, and
        # once the client is done by 60 s without progress, 5 s if it
        # failed).
        while time.monotonic() < deadline:
            if t_sent is None and p.poll() is not None:
                t_sent = time.monotonic()
                out, err = p.communicate(timeout=10)
            st = sink.status()
            got = st["delivered_rcpts"] - base["delivered_rcpts"]
            now = time.monotonic()
            if got >= want:
                t_last = st["t_last"]
                break
            if got != last_got:
                last_got, last_change = got, now
            if t_sent is not None and \
                    now - max(t_sent, last_change) > (60 if p.returncode == 0 else 5):
                break
            time.sleep(0.02)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            o, e = p.communicate(timeout=10)
            out, err = out + o, err + e + b"(killed)"
    if t_sent is None:
        t_sent = time.monotonic()
    t_end = time.monotonic()
    # CPU of the sink up to here: the rate's window, more or less.
    scpu = {q: br.cpu_seconds(q) - scpu0.get(q, 0.0) for q in sink.workers()}
    sink_cpu = br.tree_cpu(sink.tree()) - scpu0_all
    cpu, left, leftovers = delivery.settle(br, server, cpu0)
    why = server.why()
    server.stop()
    rep = sink.stop()
    counts = [int(x) for x in re.findall(rb"\d+", out)]
    sent = counts[-1] if counts else 0
    note = ""
    if p.returncode != 0 or sent != n:
        note = "smtp-source exit %s, reported %d of %d: %s" % (
            p.returncode, sent, n, err.decode(errors="replace").strip()[-200:])
    elif t_last is None:
        note = "the sink got %d of %d recipients in time; %s" % (got, want, why)
    else:
        note = check_report(rep, n, nrcpt, br.SENDER) or ""
        if not note and left:
            note = "%d files left in the queue 30 s after the last delivery: %s" % (
                left, leftovers)
    stop = t_last if t_last is not None else t_end
    elapsed = max(1e-6, stop - t0)
    msgs = got / nrcpt
    r = {"rate": (n if t_last else msgs) / elapsed, "seconds": round(elapsed, 3),
         "accept_s": round(t_sent - t0, 3),
         "cpu_us": cpu / msgs * 1e6 if msgs else None,
         "sink_cpu_us": sink_cpu / msgs * 1e6 if msgs else None,
         "sink_busiest": max(scpu.values()) / max(1e-6, t_end - t0) if scpu else None,
         "sent": sent, "valid": not note, "note": note}
    for k in ("connections", "transactions", "rcpts", "delivered_rcpts", "bytes"):
        r[k] = rep[k] - base[k] if rep else None
    return r


def rates(br, work, mode, have_qng, n, rounds, procs, body_file):
    """6: the rounds of one mode; returns the figures for the JSON line."""
    QngRelay, PostfixRelay = make_classes(br)
    servers = (["qng"] if have_qng else []) + ["postfix"]
    res = {s: [] for s in servers}
    say = br.say
    w = 30
    say("")
    say("  mode %-10s %s" % (mode, br.MODE_TEXT[mode] % br.SESSIONS))
    say("  %-6s %*s %*s" % ("", w, "qmail-ng", w, "Postfix"))
    say("  %-6s %*s %*s" % ("round", w, "msgs/s (CPU us/msg) conns", w,
                            "msgs/s (CPU us/msg) conns"))

    def cell(r):
        if r is None:
            return "%*s" % (w, "-")
        txt = "%.0f (%s) %s" % (r["rate"], "-" if r["cpu_us"] is None else "%.0f" % r["cpu_us"],
                                "-" if r["connections"] is None else r["connections"])
        return "%*s" % (w, txt + ("" if r["valid"] else " INVALID"))

    for i in range(1, rounds + 1):
        row = {}
        for s in servers:
            base = os.path.join(work, "relay-%s-%s-%d" % (s, mode, i))
            os.makedirs(base)
            os.chmod(base, 0o755)
            sink = Sink(br, os.path.join(base, "sink"), procs, body_file)
            sink.start()
            cls = QngRelay if s == "qng" else PostfixRelay
            server = cls(os.path.join(base, "mta"), sink.port)
            r = one_round(br, server, sink, mode, n, 1)
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

        def med(key):
            xs = [r[key] for r in ok if r[key] is not None]
            return statistics.median(xs) if xs else None

        out[s] = {"rounds": [round(r["rate"], 1) for r in res[s]],
                  "cpu_us_per_msg": [None if r["cpu_us"] is None else round(r["cpu_us"])
                                     for r in res[s]],
                  "sink_cpu_us_per_msg": [None if r["sink_cpu_us"] is None
                                          else round(r["sink_cpu_us"]) for r in res[s]],
                  "sink_busiest_worker": [None if r["sink_busiest"] is None
                                          else round(r["sink_busiest"], 3) for r in res[s]],
                  "connections": [r["connections"] for r in res[s]],
                  "transactions": [r["transactions"] for r in res[s]],
                  "accept_s": [r["accept_s"] for r in res[s]],
                  "seconds": [r["seconds"] for r in res[s]],
                  "valid_rounds": len(ok),
                  "median": round(med("rate"), 1) if ok else None,
                  "median_cpu_us": round(med("cpu_us")) if med("cpu_us") else None,
                  "median_sink_cpu_us": round(med("sink_cpu_us"))
                  if med("sink_cpu_us") else None,
                  "max_sink_busiest": round(max(r["sink_busiest"] for r in ok
                                                if r["sink_busiest"] is not None), 3)
                  if any(r["sink_busiest"] is not None for r in ok) else None,
                  "median_connections": med("connections"),
                  "median_accept_s": round(med("accept_s"), 2) if ok else None}
    q = out.get("qng", {}).get("median")
    p = out["postfix"]["median"]
    out["ratio"] = round(q / p, 3) if q and p else None

    def medcell(s):
        o = out.get(s)
        if not o or o["median"] is None:
            return "%*s" % (w, "-")
        return "%*s" % (w, "%.0f (%s) %s" % (o["median"], o["median_cpu_us"],
                                             "-" if o["median_connections"] is None
                                             else "%g" % o["median_connections"]))

    say("  %-6s %s %s" % ("median", medcell("qng"), medcell("postfix")))
    name = {"qng": "qmail-ng", "postfix": "Postfix"}
    acc = ["%s %.1f s" % (name[s], out[s]["median_accept_s"])
           for s in servers if out[s]["median_accept_s"] is not None]
    if acc:
        say("  (client done after, median: %s)" % ", ".join(acc))
    sk = ["%s %s us/msg, busiest worker %.0f%% of a CPU" % (
        name[s], out[s]["median_sink_cpu_us"], 100 * out[s]["max_sink_busiest"])
        for s in servers if out[s]["median_sink_cpu_us"] is not None
        and out[s]["max_sink_busiest"] is not None]
    if sk:
        say("  (sink CPU, median: %s)" % "; ".join(sk))
    if out["ratio"] is not None:
        say("  ratio qmail-ng/Postfix: %.2f  (target >= %.1f: %s)" % (
            out["ratio"], br.TARGET_RATIO,
            "met" if out["ratio"] >= br.TARGET_RATIO else "NOT met"))
    return out


def connections(br, work, have_qng, n, nrcpt, procs, body_file):
    """7: one round per server of n messages x nrcpt recipients."""
    QngRelay, PostfixRelay = make_classes(br)
    servers = (["qng"] if have_qng else []) + ["postfix"]
    res = {}
    for s in servers:
        base = os.path.join(work, "relay-conn-%s" % s)
        os.makedirs(base)
        os.chmod(base, 0o755)
        sink = Sink(br, os.path.join(base, "sink"), procs, body_file)
        sink.start()
        cls = QngRelay if s == "qng" else PostfixRelay
        server = cls(os.path.join(base, "mta"), sink.port)
        res[s] = one_round(br, server, sink, "session", n, nrcpt)
        os.sync()
    say = br.say
    w = 14
    say("  %-28s %*s %*s" % ("", w, "qmail-ng", w, "Postfix"))

    def row(label, f):
        cells = []
        for s in ("qng", "postfix"):
            r = res.get(s)
            v = f(r) if r is not None else None
            cells.append("%*s" % (w, "-" if v is None else v))
        say("  %-28s %s %s" % (label, cells[0], cells[1]))

    def per(a, b):
        return lambda r: None if r[a] is None or not r[b] else "%.2f" % (r[a] / r[b])

    row("connections", lambda r: r["connections"])
    row("SMTP transactions", lambda r: r["transactions"])
    row("RCPTs", lambda r: r["rcpts"])
    row("connections per message", per("connections", "sent"))
    row("transactions per message", per("transactions", "sent"))
    row("messages/s (to last 250)", lambda r: "%.0f" % r["rate"])
    row("CPU us/msg (server)", lambda r: None if r["cpu_us"] is None else "%.0f" % r["cpu_us"])
    row("valid", lambda r: "yes" if r["valid"] else "NO")
    for s in servers:
        if not res[s]["valid"]:
            say("         %s: %s" % (s, res[s]["note"]))
    q = res.get("qng")
    if q and q["connections"] is not None:
        limit = TARGET_CONNS_PER_MSG * n
        say("  qmail-ng: %d connections for %d messages (target <= %d; qmail-1.03: %d): %s" % (
            q["connections"], n, limit, n * nrcpt,
            "met" if q["valid"] and q["connections"] <= limit else "NOT met"))
    keep = ("connections", "transactions", "rcpts", "delivered_rcpts", "bytes", "sent",
            "rate", "seconds", "accept_s", "cpu_us", "sink_cpu_us", "valid", "note")
    out = {"messages": n, "rcpts_per_message": nrcpt}
    for s in servers:
        out[s] = {k: (round(res[s][k], 3) if isinstance(res[s][k], float) else res[s][k])
                  for k in keep}
    return out


def relay_ready(br, work, procs, body_file):
    """None if qmail-ng relays one message to a sink within 30 s (so a
    missing or broken qmail-remote costs one check, not every round's
    timeout), else why not."""
    if not os.access(os.path.join(br.BIN, "qmail-remote"), os.X_OK):
        return "%s/qmail-remote is missing (not built yet?)" % br.BIN
    QngRelay, _ = make_classes(br)
    base = os.path.join(work, "relay-smoke")
    os.makedirs(base)
    os.chmod(base, 0o755)
    sink = Sink(br, os.path.join(base, "sink"), 1, body_file)
    server = None
    try:
        sink.start()
        server = QngRelay(os.path.join(base, "mta"), sink.port)
        server.start()
        argv = br.smtp_source_argv(server.port, "session", rcpt=RCPT, messages=1)
        argv[argv.index("-s") + 1] = "1"
        r = br.run(argv, timeout=60)
        if r.returncode != 0:
            return "smtp-source failed: %s" % r.stderr.decode(errors="replace").strip()[-200:]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if sink.status()["delivered_rcpts"] - sink.base["delivered_rcpts"] >= 1:
                return None
            time.sleep(0.05)
        return "one message did not reach the sink in 30 s; %s" % server.why()
    finally:
        if server is not None:
            server.stop()
        sink.stop()


def workload(br, work, result, have_qng):
    """Sections 6 and 7 of the table; returns bench/run's exit status so
    far (0/1)."""
    n = br.env_int("BENCH_RELAY_MESSAGES", 2000, 1, 1000000)
    rounds = br.env_int("BENCH_RELAY_ROUNDS", br.ROUNDS, 1, 100)
    cn = br.env_int("BENCH_RELAY_CONN_MESSAGES", 1000, 0, 1000000)
    cr = br.env_int("BENCH_RELAY_CONN_RCPTS", 10, 1, 100)
    procs = br.env_int("BENCH_RELAY_SINK_PROCS", 2, 1, 32)
    modes = [m.strip() for m in os.environ.get("BENCH_RELAY_MODES", "session").split(",")
             if m.strip()]
    for m in modes:
        if m not in br.MODE_TEXT:
            raise ValueError("unknown mode %r in BENCH_RELAY_MODES" % m)
    say = br.say
    status = 0
    body_file = os.path.join(work, "relay-body")
    with open(body_file, "wb") as f:
        f.write(delivery.expected_body(br.SIZE).replace(b"\n", b"\r\n"))
    os.chmod(body_file, 0o644)

    if have_qng:
        why = relay_ready(br, work, procs, body_file)
        if why:
            say("")
            say("!! qmail-ng does not relay yet, measuring Postfix only: " + why)
            result["qng_relay_error"] = why
            have_qng = False
            status = 1

    say("")
    say("6. Relay rate: %d sessions, %d messages per round to %s, relayed to an SMTP sink "
        "on 127.0.0.1," % (br.SESSIONS, n, RCPT))
    say("  %d rounds, servers alternating, fresh queues and a fresh sink every round, queue "
        "manager running" % rounds)
    say("  client: smtp-source -s %d -m %d -l %d -f %s -t %s -M %s (plus -d in session mode)"
        % (br.SESSIONS, n, br.SIZE, br.SENDER, RCPT, br.HELO))
    say("  qmail-ng: smtproutes %s:127.0.0.1:PORT -> qmail-rspawn -> qmail-remote; Postfix: "
        "transport_maps" % DOMAIN)
    say("  %s -> smtp:[127.0.0.1]:PORT (connection cache on, its default).  sink: bench/sink.py,"
        % DOMAIN)
    say("  %d asyncio processes on one SO_REUSEPORT port.  figure = messages per second from "
        "the client's" % procs)
    say("  start to the sink's 250 after the last message's final dot; a round counts only if "
        "the sink got")
    say("  each message once, complete (the body sent, its own Message-Id), nothing else, "
        "and the queue")
    say("  emptied.  CPU: the server's process trees until the queue is empty, per message; "
        "conns: TCP")
    say("  connections the sink accepted.")
    if delivery.qng_extra():
        say("  qmail-ng's control/ also has (BENCH_QNG_CONTROL): "
            + "; ".join("%s=%s" % kv for kv in delivery.qng_extra()))
    if delivery.postfix_extra():
        say("  Postfix's main.cf also has (BENCH_POSTFIX_MAIN): "
            + "; ".join(delivery.postfix_extra().splitlines()))
    out = {"messages": n, "rounds": rounds, "sink_procs": procs}
    for mode in modes:
        o = rates(br, work, mode, have_qng, n, rounds, procs, body_file)
        out[mode] = o
        if o["postfix"]["valid_rounds"] < rounds or \
                (have_qng and o["qng"]["valid_rounds"] < rounds):
            status = 1

    if cn:
        say("")
        say("7. Connections per message: %d messages x %d recipients at %s (smtp-source -r %d, "
            "%d sessions)," % (cn, cr, DOMAIN, cr, br.SESSIONS))
        say("  one round per server; what the sink saw (qmail-1.03 opens one connection per "
            "recipient: %d)" % (cr * cn))
        o = connections(br, work, have_qng, cn, cr, procs, body_file)
        out["connections"] = o
        if not o["postfix"]["valid"] or (have_qng and not o["qng"]["valid"]):
            status = 1
    result["relay"] = out
    return status
