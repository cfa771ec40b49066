# SPDX-License-Identifier: ISC
"""bench/tls.py - workload 8 of bench/run: SMTP accept with STARTTLS.

The accept workload's transaction (MAIL, one relayed RCPT, DATA with a
1 KiB body, 250 after the fsync), sent over STARTTLS by bench/tlsload.py
(SESSIONS client processes; smtp-source has no TLS) in three modes:
session (one handshake per connection, then messages back to back),
connection (a new connection and a full handshake per message) and
resume (a new connection per message resuming the previous one's TLS
session).  Both servers get the same ECDSA P-256 certificate, made here
with openssl, and offer session tickets shared by their processes:
qmail-ng's control/tlsticketkeys (qmail-tlskeys), Postfix's tlsmgr(8).
Nothing else of either is changed from the accept workload (qmail-ng:
tcpserver + qmail-smtpd, one process per connection; Postfix: smtpd
processes that are reused, no qmgr).  A round counts only if the client
got a 250 for every message and the queue then holds exactly that many;
in resume mode the number of resumed handshakes is shown.

Called from bench/run's main() with that module as `br`.
"""
import os
import re
import signal
import statistics
import subprocess
import sys
import time

MODES = ("session", "connection", "resume")
MODE_TEXT = {
    "session": "one STARTTLS per connection, then its messages back to back",
    "connection": "a new connection and a full TLS handshake per message",
    "resume": "a new connection per message, resuming the last TLS session",
}
PF_TLS = """\
smtpd_tls_security_level = may
smtpd_tls_chain_files = {pem}
smtpd_tls_loglevel = 0
"""
PF_TLSMGR = "tlsmgr    unix  -       -       n       1000?   1       tlsmgr\n"


def make_cert(br, work):
    """An ECDSA P-256 key and self-signed certificate in one PEM file."""
    d = os.path.join(work, "tls")
    os.makedirs(d, exist_ok=True)
    key, crt = os.path.join(d, "key.pem"), os.path.join(d, "crt.pem")
    for argv in (["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-out", key],
                 ["openssl", "req", "-x509", "-new", "-key", key, "-subj",
                  "/CN=bench.local", "-days", "7", "-out", crt]):
        r = br.run(argv, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(argv[:2]),
                                           r.stderr.decode(errors="replace")))
    pem = os.path.join(d, "bench.pem")
    with open(pem, "wb") as f:
        for p in (key, crt):
            with open(p, "rb") as g:
                f.write(g.read())
    os.chmod(pem, 0o600)
    return pem


def qng_server(br, base, pem):
    q = br.Qng(base, mode="single")
    ctl = os.path.join(q.home, "control")
    dst = os.path.join(ctl, "servercert.pem")
    with open(pem, "rb") as f, open(dst, "wb") as g:
        g.write(f.read())
    keys = os.path.join(ctl, "tlsticketkeys")
    r = br.run([os.path.join(br.BIN, "qmail-tlskeys"), keys], timeout=30)
    if r.returncode != 0:
        raise RuntimeError("qmail-tlskeys: " + r.stderr.decode(errors="replace"))
    uid, gid = br.owner_ids()
    for p in (dst, keys):
        os.chmod(p, 0o600)
        os.chown(p, uid, gid)  # qmail-smtpd runs as that user
    return q


def postfix_server(br, base, pem):
    p = br.Postfix(base, qmgr=False, main_extra=PF_TLS.format(pem=pem))
    with open(os.path.join(p.etc, "master.cf"), "a") as f:
        f.write(PF_TLSMGR)
    return p


def one_round(br, server, mode, messages):
    server.start()
    os.sync()
    time.sleep(0.3)
    argv = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                         "tlsload.py"),
            "127.0.0.1", str(server.port), str(br.SESSIONS), str(messages), mode,
            str(br.SIZE)]
    cpu0 = br.tree_cpu(server.tree())
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=br.ROUND_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate(timeout=10)
        err += b"(timed out)"
    except BaseException:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        raise
    deadline = time.monotonic() + 5
    while server.busy_sessions() and time.monotonic() < deadline:
        time.sleep(0.05)
    cpu = br.tree_cpu(server.tree()) - cpu0
    m = re.search(rb"sent (\d+) of \d+ in ([\d.]+) seconds, (\d+) resumed, (.*)", out)
    sent, secs, resumed = (int(m.group(1)), float(m.group(2)), int(m.group(3))) if m \
        else (0, 0.0, 0)
    proto = m.group(4).decode().strip() if m else "-"
    queued = server.queued()
    server.stop()
    valid = p.returncode == 0 and sent == messages and queued == sent
    note = "" if valid else "tlsload exit %d, sent %d of %d, queue holds %d; %s" % (
        p.returncode, sent, messages, queued,
        err.decode(errors="replace").strip().replace("\n", " | ")[-300:])
    return {"rate": sent / secs if secs > 0 else 0.0, "cpu_us": cpu / sent * 1e6 if sent else None,
            "sent": sent, "queued": queued, "resumed": resumed, "proto": proto,
            "valid": valid, "note": note}


def rates(br, work, mode, have_qng, pem, messages):
    servers = (["qng"] if have_qng else []) + ["postfix"]
    res = {s: [] for s in servers}
    br.say("")
    br.say("  mode %-10s %s" % (mode, MODE_TEXT[mode]))
    br.say("  %-6s %30s %30s" % ("round", "qmail-ng msgs/s (CPU us/msg)",
                                 "Postfix msgs/s (CPU us/msg)"))

    def cell(r):
        txt = "%.0f (%s)" % (r["rate"], "-" if r["cpu_us"] is None else "%.0f" % r["cpu_us"])
        if mode == "resume":
            txt += " %d res." % r["resumed"]
        return "%30s" % (txt + ("" if r["valid"] else " INVALID"))

    for i in range(1, br.ROUNDS + 1):
        row = {}
        for s in servers:
            base = os.path.join(work, "tls-%s-%s-%d" % (s, mode, i))
            server = qng_server(br, base, pem) if s == "qng" else \
                postfix_server(br, base, pem)
            row[s] = one_round(br, server, mode, messages)
            res[s].append(row[s])
            os.sync()
        br.say("  %-6d %s" % (i, " ".join(cell(row[s]) for s in servers)))
        for s in servers:
            if not row[s]["valid"]:
                br.say("         %s: %s" % (s, row[s]["note"]))
    out = {"mode": mode}
    for s in servers:
        ok = [r for r in res[s] if r["valid"]]
        cpus = [r["cpu_us"] for r in ok if r["cpu_us"] is not None]
        out[s] = {"rounds": [round(r["rate"], 1) for r in res[s]],
                  "cpu_us_per_msg": [None if r["cpu_us"] is None else round(r["cpu_us"])
                                     for r in res[s]],
                  "resumed": [r["resumed"] for r in res[s]],
                  "proto": res[s][0]["proto"] if res[s] else "-",
                  "valid_rounds": len(ok),
                  "median": round(statistics.median(r["rate"] for r in ok), 1) if ok else None,
                  "median_cpu_us": round(statistics.median(cpus)) if cpus else None}
    q = out.get("qng", {}).get("median")
    p = out["postfix"]["median"]
    out["ratio"] = round(q / p, 3) if q and p else None
    br.say("  %-6s %s" % ("median", " ".join(
        "%30s" % ("%.0f (%s)" % (out[s]["median"], out[s]["median_cpu_us"])
                  if out[s]["median"] is not None else "-") for s in servers)))
    if out["ratio"] is not None:
        target = " (target >= %.1f: %s)" % (br.TARGET_RATIO, "met" if out["ratio"] >=
                                            br.TARGET_RATIO else "NOT met") \
            if mode == "session" else " (reported as it is)"
        br.say("  ratio qmail-ng/Postfix: %.2f%s" % (out["ratio"], target))
    return out


def workload(br, work, result, have_qng):
    messages = br.env_int("BENCH_TLS_MESSAGES", 2000, 1, 1000000)
    modes = [m for m in os.environ.get("BENCH_TLS_MODES", ",".join(MODES)).split(",") if m]
    for m in modes:
        if m not in MODES:
            sys.exit("bench: unknown mode %r in BENCH_TLS_MODES (%s)" % (m, ", ".join(MODES)))
    pem = make_cert(br, work)
    br.say("")
    br.say("8. SMTP accept with STARTTLS: %d client processes (bench/tlsload.py), %d "
           "messages per round, %d rounds," % (br.SESSIONS, messages, br.ROUNDS))
    br.say("  servers alternating, fresh queues; the same ECDSA P-256 certificate; "
           "session tickets shared")
    br.say("  by the server's processes (qmail-ng: control/tlsticketkeys, Postfix: "
           "tlsmgr); the transaction")
    br.say("  is the accept workload's; msgs/s of the client's sending time, CPU of "
           "the server's process tree.")
    status = 0
    result["tls"] = {}
    # the client checked first: without TLS, on Postfix, against smtp-source
    ref = br.one_round(br.Postfix(os.path.join(work, "tls-check-smtp-source")), "session")
    own = one_round(br, br.Postfix(os.path.join(work, "tls-check-tlsload")), "plain", messages)
    br.say("")
    br.say("  client check, Postfix without TLS, session mode: smtp-source -d %.0f msgs/s "
           "(CPU %s us/msg), tlsload.py plain %.0f msgs/s (CPU %s us/msg)%s"
           % (ref["rate"], "%.0f" % ref["cpu_us"] if ref["cpu_us"] else "-", own["rate"],
              "%.0f" % own["cpu_us"] if own["cpu_us"] else "-",
              "" if ref["valid"] and own["valid"] else " INVALID"))
    result["tls"]["client_check"] = {"smtp_source": round(ref["rate"], 1),
                                     "tlsload_plain": round(own["rate"], 1)}
    for mode in modes:
        out = rates(br, work, mode, have_qng, pem, messages)
        result["tls"][mode] = out
        if out["postfix"]["valid_rounds"] < br.ROUNDS or \
                (have_qng and out["qng"]["valid_rounds"] < br.ROUNDS):
            status = 1
    for s in ("qng", "postfix"):
        o = result["tls"].get(modes[0], {}).get(s)
        if o:
            br.say("  %s negotiated %s" % ("qmail-ng" if s == "qng" else "Postfix", o["proto"]))
    return status
