# SPDX-License-Identifier: ISC
"""bench/vpop.py - workload 9 of bench/run: virtual domains (issue 10).

Three parts, each bounded in count and time (bench/README.md, section 9):

  9a. vadduser: BENCH_VPOP_ADDUSERS (10,000) accounts in
      BENCH_VPOP_ADDUSER_DOMAINS (100) domains made by vadddomain, one
      vadduser process per account as an admin's script runs it; total
      wall time and per account.  Then BENCH_VPOP_ADDUSER_CLEAR (100) more
      with the password in clear text, for the cost of hashing it.
  9b. RCPT validation with 100,000 accounts in 1,000 domains
      (BENCH_VPOP_RCPT_DOMAINS x BENCH_VPOP_RCPT_USERS), a vpopmail tree
      written as vpopmail leaves it and taken over by qmail-newu: (a)
      rcptmap_check() per lookup, by tests/prog/rcptlookup, and (b) the
      RCPT latency end to end, one SMTP session of BENCH_VPOP_RCPTS RCPTs
      to hosted addresses with the check on and with the domains in
      control/norcptcheck; Postfix beside it with virtual_mailbox_maps
      (hash) and smtpd_reject_unlisted_recipient yes/no.
  9c. Delivery into 100 virtual mailboxes (BENCH_VPOP_MAILBOXES):
      qmail-smtpd -> qmail-send -> qmail-local -> .qmail-default ->
      vdelivermail, against Postfix smtpd -> qmgr -> virtual(8), into the
      same domains/DOMAIN/USER/Maildir/ layout; BENCH_VPOP_MESSAGES
      (2000) messages per round spread evenly over the mailboxes, 20
      smtp-source clients at a time, servers alternating, both modes.

Called from bench/run's main() with that module as `br`; servers are
registered in br.LIVE (so Ctrl-C stops them) and stopped by the caller's
cleanup as well as here.  The instances of 9b and 9c reuse bench/run's
Qng and Postfix classes and bench/delivery.py's mailbox subclasses.
"""
import os
import random
import signal
import statistics
import subprocess
import time

import delivery

# A real yescrypt hash (of "pw", as vadduser made it), given with -e
# where the bench is not measuring the hashing.
HASH = "$y$j9T$KwCwS4OhKnALD8scfT68K1$9TekfRMvB.gXyVEGCjdKe9HmxCBPkPMWi4ApJ6MAkm."
DELIV_DOMAIN = "vdeliv.test"
TARGET_LOOKUP_US = 50.0


def say(br, *a):
    br.say(*a)


def as_owner(br):
    """A preexec_fn running a child as the instance's owner (nobody as
    root): the vpopmail tools then run in their non-root mode, as the
    e2e tests run them (tests/e2e/vpopinst.py), and own what they make."""
    uid, gid = br.owner_ids()
    if not br.IS_ROOT:
        return None

    def pre():
        os.setgroups([gid])
        os.setgid(gid)
        os.setuid(uid)
    return pre


def tool(br, home, argv, timeout=120):
    """Run HOME/bin/argv[0] as the owner; raises on failure."""
    r = subprocess.run([os.path.join(home, "bin", argv[0])] + list(argv[1:]),
                       env={"QMAIL_HOME": home, "PATH": "/usr/bin:/bin"},
                       cwd="/", capture_output=True, timeout=timeout,
                       preexec_fn=as_owner(br), start_new_session=True)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s %s" % (
            " ".join(argv), r.returncode, r.stdout.decode(errors="replace").strip(),
            r.stderr.decode(errors="replace").strip()))
    return r


def own_tree(br, top):
    uid, gid = br.owner_ids()
    os.chown(top, uid, gid)
    for root, dirs, files in os.walk(top):
        for n in dirs + files:
            os.lchown(os.path.join(root, n), uid, gid)


def vpop_home(br, qhome, base):
    """~vpopmail at base/vpopmail, named by control/vpopmailhome."""
    vhome = os.path.join(base, "vpopmail")
    os.makedirs(vhome)
    os.chmod(vhome, 0o755)
    uid, gid = br.owner_ids()
    os.chown(vhome, uid, gid)
    p = os.path.join(qhome, "control", "vpopmailhome")
    with open(p, "w") as f:
        f.write(vhome + "\n")
    os.chown(p, uid, gid)
    return vhome


def median(xs):
    return statistics.median(xs) if xs else None


# --- 9a. vadduser ----------------------------------------------------------

def adduser_part(br, work, out):
    n = br.env_int("BENCH_VPOP_ADDUSERS", 10000, 1, 1000000)
    ndom = br.env_int("BENCH_VPOP_ADDUSER_DOMAINS", 100, 1, 10000)
    nclear = br.env_int("BENCH_VPOP_ADDUSER_CLEAR", 100, 0, 100000)
    limit = br.env_int("BENCH_VPOP_ADDUSER_TIMEOUT", 1800, 10, 86400)
    per = -(-n // ndom)
    say(br, "")
    say(br, "9a. vadduser: %d accounts in %d domains (%d each, made by vadddomain), one "
        "vadduser process" % (n, ndom, per))
    say(br, "  per account in sequence, as an admin's script runs it (vadduser -e HASH "
        "NAME@DOMAIN: a hashed")
    say(br, "  password, so this is the tool's own work: store, vpasswd.cdb, recipient map, "
        "Maildir, fsyncs);")
    say(br, "  then %d more with the password in clear text (yescrypt and SCRAM keys made "
        "by the tool)." % nclear)
    base = os.path.join(work, "vpop-adduser")
    q = br.Qng(base, mode="single")
    vhome = vpop_home(br, q.home, base)
    domains = ["a%03d.test" % i for i in range(ndom)]
    t0 = time.monotonic()
    for d in domains:
        tool(br, q.home, ["vadddomain", d, ""])
    t_dom = time.monotonic() - t0
    say(br, "  vadddomain x %d: %.1f s, %.1f ms per domain" % (ndom, t_dom, t_dom / ndom * 1e3))
    done = 0
    chunk = max(1, n // 10)
    chunks = []
    t0 = tc = time.monotonic()
    deadline = t0 + limit
    note = ""
    for d in domains:
        for i in range(per):
            if done >= n:
                break
            if time.monotonic() > deadline:
                note = "stopped after %d s (BENCH_VPOP_ADDUSER_TIMEOUT)" % limit
                break
            tool(br, q.home, ["vadduser", "-e", HASH, "user%04d@%s" % (i, d)])
            done += 1
            if done % chunk == 0:
                now = time.monotonic()
                chunks.append((now - tc) / chunk)
                tc = now
        if note or done >= n:
            break
    total = time.monotonic() - t0
    lines = 0
    for d in domains:
        with open(os.path.join(vhome, "domains", d, "vpasswd")) as f:
            lines += sum(1 for _ in f)
    valid = done == n and lines == n + ndom
    if not valid and not note:
        note = "vpasswd files hold %d accounts, expected %d" % (lines, n + ndom)
    say(br, "  vadduser x %d: %.1f s total, %.1f ms per account (%.0f accounts/s)%s"
        % (done, total, total / max(1, done) * 1e3, done / total if total else 0,
           "" if valid else "  INVALID: " + note))
    if chunks:
        say(br, "  ms per account by tenths of the run: " + " ".join(
            "%.1f" % (c * 1e3) for c in chunks))
    res = {"accounts": done, "domains": ndom, "seconds": round(total, 2),
           "ms_per_account": round(total / max(1, done) * 1e3, 2),
           "vadddomain_ms": round(t_dom / ndom * 1e3, 1),
           "ms_by_tenth": [round(c * 1e3, 2) for c in chunks], "valid": valid, "note": note}
    if nclear:
        tool(br, q.home, ["vadddomain", "clear.test", ""])
        t0 = time.monotonic()
        for i in range(nclear):
            tool(br, q.home, ["vadduser", "user%04d@clear.test" % i, "secret%d" % i])
        tc = time.monotonic() - t0
        res["clear_ms_per_account"] = round(tc / nclear * 1e3, 2)
        say(br, "  vadduser NAME@DOMAIN PASSWORD x %d: %.1f ms per account; %d of them "
            "would take %.0f s" % (nclear, tc / nclear * 1e3, n, tc / nclear * n))
    out["adduser"] = res
    return 0 if valid else 1


# --- 9b. RCPT validation ----------------------------------------------------

def rcpt_tree(br, q, base, ndom, nuser):
    """A vpopmail tree as vpopmail 5.4 leaves it (domains/DOMAIN with
    vpasswd and .qmail-default; users/assign, control/virtualdomains and
    rcpthosts naming the domains), without the accounts' Maildirs (RCPT
    checks never look at them), then qmail-newu, which compiles
    users/cdb and builds every domain's recipient map.  Returns the
    domains, the names and qmail-newu's time."""
    uid, gid = br.owner_ids()
    vhome = vpop_home(br, q.home, base)
    ddir = os.path.join(vhome, "domains")
    os.makedirs(ddir)
    os.chmod(ddir, 0o711)
    domains = ["d%04d.test" % i for i in range(ndom)]
    names = ["postmaster"] + ["user%03d" % i for i in range(1, nuser)]
    assign, vd = [], []
    instr = "| %s/bin/vdelivermail '' bounce-no-mailbox\n" % q.home
    for d in domains:
        dd = os.path.join(ddir, d)
        os.mkdir(dd)
        os.chmod(dd, 0o700)
        with open(os.path.join(dd, ".qmail-default"), "w") as f:
            f.write(instr)
        with open(os.path.join(dd, "vpasswd"), "w") as f:
            for nm in names:
                f.write("%s:%s:1:0:%s:%s/%s:NOQUOTA\n" % (nm, HASH, nm, dd, nm))
        for fn in (".qmail-default", "vpasswd"):
            os.chmod(os.path.join(dd, fn), 0o600)
        assign.append("+%s-:%s:%d:%d:%s:-::\n" % (d, d, uid, gid, dd))
        vd.append("%s:%s\n" % (d, d))
    with open(os.path.join(q.home, "users", "assign"), "w") as f:
        f.write("".join(assign) + ".\n")
    ctl = os.path.join(q.home, "control")
    with open(os.path.join(ctl, "virtualdomains"), "w") as f:
        f.write("".join(vd))
    with open(os.path.join(ctl, "rcpthosts"), "a") as f:
        f.write("".join(d + "\n" for d in domains))
    own_tree(br, vhome)
    own_tree(br, os.path.join(q.home, "users"))
    own_tree(br, ctl)
    t0 = time.monotonic()
    tool(br, q.home, ["qmail-newu"], timeout=1800)
    t_newu = time.monotonic() - t0
    maps = os.listdir(os.path.join(q.home, "users", "rcptmap"))
    if len([m for m in maps if not m.startswith(".")]) != ndom:
        raise RuntimeError("qmail-newu made %d recipient maps, expected %d"
                           % (len(maps), ndom))
    return domains, names, t_newu


def lookup_rounds(br, q, domains, names, rounds):
    """(a) rcptlookup over a shuffled list, half hosted addresses (not
    postmaster, which is answered before the map is read), half not."""
    prog = os.path.join(br.BUILD, "tests", "prog", "rcptlookup")
    if not os.access(prog, os.X_OK):
        raise RuntimeError("%s is missing (make all builds it)" % prog)
    count = br.env_int("BENCH_VPOP_LOOKUPS", 200000, 1, 10**8)
    rng = random.Random(10)
    lines = []
    for i in range(20000):
        d = rng.choice(domains)
        if i % 2:
            lines.append("+%s@%s\n" % (rng.choice(names[1:]), d))
        else:
            lines.append("-no%s@%s\n" % (rng.choice(names[1:]), d))
    data = "".join(lines).encode()
    res = {"map": [], "read": []}
    for _ in range(rounds):
        for mode in ("map", "read"):
            res[mode].append(one_lookup_run(br, prog, q, count, data, mode))
    return res


def one_lookup_run(br, prog, q, count, data, mode):
    """One run of rcptlookup in mode (map: rcptmap_check itself; read:
    the same lookups with the map read() instead of mmap()ed)."""
    r = subprocess.run([prog, q.home, str(count), "60", mode], input=data,
                       capture_output=True, timeout=180, preexec_fn=as_owner(br))
    f = r.stdout.decode().split()
    if r.returncode != 0 or len(f) < 10:
        raise RuntimeError("rcptlookup: exit %d: %s %s" % (
            r.returncode, r.stdout.decode(errors="replace"),
            r.stderr.decode(errors="replace")[-300:]))
    n, secs, hit_ns, miss_ns = int(f[1]), float(f[3]), int(f[5]), int(f[7])
    # the list (even length) alternates -, +, -, +, ... from the start
    misses, hits = (n + 1) // 2, n // 2
    return {"lookups": n, "per_s": n / secs, "us": secs / n * 1e6,
            "hit_us": hit_ns / 1e3 / max(1, hits),
            "miss_us": miss_ns / 1e3 / max(1, misses)}


def rcpt_session(br, port, rcpts, batch=100):
    """One SMTP session: EHLO, then every address of rcpts as RCPT, each
    waiting for its reply, MAIL/RSET around each batch.  Returns the
    seconds spent in RCPT round trips and the replies that were not 250."""
    s = br.Session(port, timeout=30)
    bad = []
    spent = 0.0
    try:
        if s.greeting[0] != 220:
            raise RuntimeError("greeting %r" % (s.greeting,))
        code, lines = s.cmd("EHLO " + br.HELO)
        if code != 250:
            raise RuntimeError("EHLO -> %r" % lines)
        for i in range(0, len(rcpts), batch):
            code, lines = s.cmd("MAIL FROM:<%s>" % br.SENDER)
            if code != 250:
                raise RuntimeError("MAIL -> %r" % lines)
            for a in rcpts[i:i + batch]:
                t = time.perf_counter()
                code, lines = s.cmd("RCPT TO:<%s>" % a)
                spent += time.perf_counter() - t
                if code != 250:
                    bad.append("%s: %s" % (a, " ".join(lines)))
            s.cmd("RSET")
    finally:
        s.close()
    return spent, bad


def postfix_rcpt(br, base, domains, names, check):
    """A Postfix with the same 1,000 domains and 100,000 addresses as
    virtual mailboxes (hash maps, postmap'd), smtpd_reject_unlisted_recipient
    as check says; qmgr off (nothing is sent)."""
    etc = os.path.join(base, "maps")
    os.makedirs(etc)
    os.chmod(etc, 0o755)
    vd = os.path.join(etc, "vdomains")
    vm = os.path.join(etc, "vmailbox")
    with open(vd, "w") as f:
        f.write("".join("%s x\n" % d for d in domains))
    with open(vm, "w") as f:
        for d in domains:
            f.write("".join("%s@%s %s/%s/Maildir/\n" % (n, d, d, n) for n in names))
    extra = ("virtual_mailbox_domains = hash:%s\nvirtual_mailbox_maps = hash:%s\n"
             "virtual_mailbox_base = %s\nsmtpd_reject_unlisted_recipient = %s\n"
             % (vd, vm, base, "yes" if check else "no"))
    p = br.Postfix(base, qmgr=False, main_extra=extra)
    t0 = time.monotonic()
    for m in (vd, vm):
        r = br.run([br.tool("postmap"), "-c", p.etc, "hash:" + m], timeout=600)
        if r.returncode != 0:
            raise RuntimeError("postmap %s: %s" % (m, r.stderr.decode(errors="replace")))
    return p, time.monotonic() - t0


def rcpt_part(br, work, out, have_qng):
    ndom = br.env_int("BENCH_VPOP_RCPT_DOMAINS", 1000, 1, 100000)
    nuser = br.env_int("BENCH_VPOP_RCPT_USERS", 100, 2, 100000)
    nrcpt = br.env_int("BENCH_VPOP_RCPTS", 1000, 1, 100000)
    rounds = br.env_int("BENCH_VPOP_ROUNDS", br.ROUNDS, 1, 100)
    status = 0
    say(br, "")
    say(br, "9b. RCPT validation: %d accounts in %d domains (%d each, postmaster included), "
        "written as" % (ndom * nuser, ndom, nuser))
    say(br, "  vpopmail leaves them (vpasswd, .qmail-default with vdelivermail "
        "bounce-no-mailbox, users/assign),")
    say(br, "  recipient maps built by qmail-newu; Postfix: the same addresses in "
        "virtual_mailbox_maps (hash).")
    base = os.path.join(work, "vpop-rcpt")
    q = br.Qng(os.path.join(base, "qng"), mode="single")
    t0 = time.monotonic()
    domains, names, t_newu = rcpt_tree(br, q, os.path.join(base, "qng"), ndom, nuser)
    say(br, "  tree written in %.1f s; qmail-newu (users/cdb and %d maps): %.1f s"
        % (time.monotonic() - t0 - t_newu, ndom, t_newu))
    res = {"domains": ndom, "accounts": ndom * nuser, "qmail_newu_s": round(t_newu, 2)}

    # (a) rcptmap_check, as qmail-smtpd calls it
    lks = lookup_rounds(br, q, domains, names, rounds)
    lk = lks["map"]
    say(br, "  (a) rcptmap_check() per RCPT, map opened each time as qmail-smtpd does "
        "(tests/prog/rcptlookup,")
    say(br, "      %d lookups per round, half hosted addresses, half unknown names of "
        "hosted domains);" % lk[0]["lookups"])
    say(br, "      beside it, alternating, 'read': the same opens, lookups and stats with "
        "the map read()")
    say(br, "      into a buffer instead of mmap()ed (tinycdb's cdb_init) and unmapped "
        "each time:")
    say(br, "      %-6s %12s %10s %10s %10s %12s" % ("round", "lookups/s", "us/lookup",
                                                    "us hit", "us miss", "read: us"))
    for i, (r, rr) in enumerate(zip(lk, lks["read"]), 1):
        say(br, "      %-6d %12.0f %10.2f %10.2f %10.2f %12.2f" % (
            i, r["per_s"], r["us"], r["hit_us"], r["miss_us"], rr["us"]))
    med_us = median([r["us"] for r in lk])
    med_read = median([r["us"] for r in lks["read"]])
    say(br, "      median %12.0f %10.2f %10.2f %10.2f %12.2f" % (
        median([r["per_s"] for r in lk]), med_us, median([r["hit_us"] for r in lk]),
        median([r["miss_us"] for r in lk]), med_read))
    say(br, "      target < %.0f us per lookup (rcptmap_check): %s" % (
        TARGET_LOOKUP_US, "met" if med_us < TARGET_LOOKUP_US else "NOT met"))
    res["lookup"] = {"rounds": [{k: round(v, 2) for k, v in r.items()} for r in lk],
                     "median_per_s": round(median([r["per_s"] for r in lk])),
                     "median_us": round(med_us, 2),
                     "median_hit_us": round(median([r["hit_us"] for r in lk]), 2),
                     "median_miss_us": round(median([r["miss_us"] for r in lk]), 2),
                     "read_rounds_us": [round(r["us"], 2) for r in lks["read"]],
                     "read_median_us": round(med_read, 2)}

    # (b) end to end: RCPT round trips with the check on and off
    rng = random.Random(11)
    rcpts = ["%s@%s" % (rng.choice(names[1:]), rng.choice(domains)) for _ in range(nrcpt)]
    pf_on, t_pm = postfix_rcpt(br, os.path.join(base, "pf-on"), domains, names, True)
    pf_off, _ = postfix_rcpt(br, os.path.join(base, "pf-off"), domains, names, False)
    norcpt = os.path.join(q.home, "control", "norcptcheck")
    uid, gid = br.owner_ids()
    servers = []
    try:
        if have_qng:
            q.start()
            servers.append(q)
        pf_on.start()
        pf_off.start()
        # One session each to warm the caches and start Postfix's daemons,
        # and a proof that the check is on: an unknown name is refused.
        for port, on in ([(q.port, True)] if have_qng else []) + [(pf_on.port, True),
                                                                  (pf_off.port, False)]:
            _, bad = rcpt_session(br, port, rcpts[:50] + ["nosuchuser@" + domains[0]])
            if len(bad) != (1 if on else 0) or (bad and not bad[0].split(": ", 1)[1]
                                                .startswith("550")):
                raise RuntimeError("RCPT check on port %d: expected %s, got %r"
                                   % (port, "one 550" if on else "no refusal", bad[:3]))
        kinds = (["qng-on", "qng-off"] if have_qng else []) + ["pf-on", "pf-off"]
        per = {k: [] for k in kinds}
        say(br, "  (b) RCPT round trip in one SMTP session, %d RCPTs to hosted addresses "
            "(MAIL/RSET every 100)," % nrcpt)
        say(br, "      each waiting for its 250; check off: qmail-ng with the domains in "
            "control/norcptcheck,")
        say(br, "      Postfix with smtpd_reject_unlisted_recipient = no.  us per RCPT:")
        say(br, "      %-6s %s" % ("round", " ".join("%10s" % k for k in kinds)))
        for i in range(1, rounds + 1):
            row = []
            for k in kinds:
                if k.startswith("qng"):
                    if k == "qng-off":
                        with open(norcpt, "w") as f:
                            f.write("".join(d + "\n" for d in domains))
                        os.chown(norcpt, uid, gid)
                    elif os.path.exists(norcpt):
                        os.unlink(norcpt)
                    port = q.port
                else:
                    port = pf_on.port if k == "pf-on" else pf_off.port
                spent, bad = rcpt_session(br, port, rcpts)
                if bad:
                    status = 1
                    say(br, "      %s: %d RCPTs refused, first: %s" % (k, len(bad), bad[0]))
                per[k].append(spent / nrcpt * 1e6)
                row.append("%10.1f" % per[k][-1])
            say(br, "      %-6d %s" % (i, " ".join(row)))
        meds = {k: median(v) for k, v in per.items()}
        say(br, "      median %s" % " ".join("%10.1f" % meds[k] for k in kinds))
        res["rcpt_us"] = {k: [round(x, 1) for x in v] for k, v in per.items()}
        res["rcpt_median_us"] = {k: round(v, 1) for k, v in meds.items()}
        added = {}
        if have_qng:
            added["qng"] = meds["qng-on"] - meds["qng-off"]
        added["postfix"] = meds["pf-on"] - meds["pf-off"]
        say(br, "      added by the check (median on - median off): " + ", ".join(
            "%s %.1f us" % ("qmail-ng" if k == "qng" else "Postfix", v)
            for k, v in added.items()))
        if have_qng:
            say(br, "      ratio of RCPT round trips with the check, qmail-ng/Postfix "
                "(lower is faster): %.2f" % (meds["qng-on"] / meds["pf-on"]))
        res["added_us"] = {k: round(v, 1) for k, v in added.items()}
        res["postmap_s"] = round(t_pm, 2)
    finally:
        for s in (pf_off, pf_on) + ((q,) if have_qng else ()):
            s.stop()
    out["rcpt"] = res
    return status


# --- 9c. delivery into 100 virtual mailboxes --------------------------------

def make_servers(br, nbox):
    QngMailbox = delivery.make_qng_mailbox(br, mode="single")
    PostfixMailbox = delivery.make_postfix_mailbox(br)

    class QngVirtual(QngMailbox):
        """qmail-ng with DELIV_DOMAIN made by vadddomain and nbox accounts
        by vadduser: mail goes qmail-send -> qmail-lspawn -> qmail-local
        (users/assign's +DOMAIN- line) -> .qmail-default -> vdelivermail."""

        def __init__(self, base):
            super().__init__(base)
            self.vhome = vpop_home(br, self.home, base)
            tool(br, self.home, ["vadddomain", DELIV_DOMAIN, ""])
            self.rcpts, self.maildirs = [], []
            for i in range(nbox):
                name = "mbox%03d" % i
                tool(br, self.home, ["vadduser", "-n", "%s@%s" % (name, DELIV_DOMAIN)])
                self.rcpts.append("%s@%s" % (name, DELIV_DOMAIN))
                self.maildirs.append(os.path.join(self.vhome, "domains", DELIV_DOMAIN,
                                                  name, "Maildir"))
            # vdelivermail writes vpopmail's Delivered-To: the address
            self.delivered_to = list(self.rcpts)

    class PostfixVirtual(PostfixMailbox):
        """Postfix with DELIV_DOMAIN in virtual_mailbox_domains and its nbox
        addresses in virtual_mailbox_maps (hash), delivered by virtual(8)
        into BASE/vpopmail/domains/DOMAIN/NAME/Maildir/ as the owner."""

        def __init__(self, base):
            self.vbase = os.path.join(base, "vpopmail", "domains")
            uid, gid = br.owner_ids()
            self.vmap = os.path.join(base, "vmailbox")
            self.virtual_main = (
                "virtual_mailbox_domains = %s\nvirtual_mailbox_maps = hash:%s\n"
                "virtual_mailbox_base = %s\nvirtual_uid_maps = static:%d\n"
                "virtual_gid_maps = static:%d\n"
                % (DELIV_DOMAIN, self.vmap, self.vbase, uid, gid))
            super().__init__(base)
            self.rcpts, self.maildirs = [], []
            lines = []
            for i in range(nbox):
                name = "mbox%03d" % i
                md = os.path.join(self.vbase, DELIV_DOMAIN, name, "Maildir")
                os.makedirs(os.path.dirname(md), exist_ok=True)
                delivery.make_maildir(md, uid, gid)
                self.rcpts.append("%s@%s" % (name, DELIV_DOMAIN))
                self.maildirs.append(md)
                lines.append("%s@%s %s/%s/Maildir/\n" % (name, DELIV_DOMAIN, DELIV_DOMAIN, name))
            own_tree(br, os.path.join(base, "vpopmail"))
            with open(self.vmap, "w") as f:
                f.write("".join(lines))
            r = br.run([br.tool("postmap"), "-c", self.etc, "hash:" + self.vmap], timeout=120)
            if r.returncode != 0:
                raise RuntimeError("postmap: " + r.stderr.decode(errors="replace"))
            self.delivered_to = list(self.rcpts)

        def configure(self, qmgr, main_extra=""):
            super().configure(qmgr, main_extra + self.virtual_main)

    return QngVirtual, PostfixVirtual


def client_argv(br, port, mode, rcpt, k):
    argv = [br.tool("smtp-source"), "-s", "1", "-m", str(k), "-l", str(br.SIZE),
            "-f", br.SENDER, "-t", rcpt, "-M", br.HELO]
    if mode == "session":
        argv.append("-d")
    return argv + ["127.0.0.1:%d" % port]


def count_all(maildirs):
    return sum(delivery.count_new(m) for m in maildirs)


def deliver_round(br, server, mode, per_box, body):
    """Start server; one smtp-source per mailbox, per_box messages each,
    at most SESSIONS at a time; wait until every message is in its
    mailbox; check; stop.  Same rules as delivery.one_round."""
    server.start()
    os.sync()
    time.sleep(0.3)
    n = per_box * len(server.rcpts)
    jobs = list(range(len(server.rcpts)))
    running = {}
    failed = []
    cpu0 = br.tree_cpu(server.tree())
    t0 = time.monotonic()
    deadline = t0 + br.ROUND_TIMEOUT
    t_sent = t_last = None
    got = last_got = 0
    last_change = t0
    try:
        while time.monotonic() < deadline:
            while jobs and len(running) < br.SESSIONS:
                j = jobs.pop(0)
                running[j] = subprocess.Popen(
                    client_argv(br, server.port, mode, server.rcpts[j], per_box),
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
            for j, p in list(running.items()):
                if p.poll() is not None:
                    err = p.stderr.read()
                    p.stderr.close()
                    if p.returncode != 0:
                        failed.append("%s: exit %d %s" % (server.rcpts[j], p.returncode,
                                                          err.decode(errors="replace")[-200:]))
                    del running[j]
            if t_sent is None and not jobs and not running:
                t_sent = time.monotonic()
            now = time.monotonic()
            got = count_all(server.maildirs)
            if got >= n:
                t_last = now
                break
            if got != last_got:
                last_got, last_change = got, now
            if t_sent is not None and now - max(t_sent, last_change) > (5 if failed else 60):
                break
            time.sleep(0.02)
    finally:
        for p in running.values():
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=10)
            p.stderr.close()
    if t_sent is None:
        t_sent = time.monotonic()
    cpu, left, leftovers = delivery.settle(br, server, cpu0)
    why = server.why()
    server.stop()
    note = ""
    if failed:
        note = "%d clients failed, first: %s" % (len(failed), failed[0])
    elif t_last is None:
        note = "%d of %d delivered in time; %s" % (got, n, why)
    else:
        for md, dt in zip(server.maildirs, server.delivered_to):
            note = delivery.check_maildir(md, per_box, dt, body)
            if note:
                note = "%s: %s" % (dt, note)
                break
        if not note and left:
            note = "%d files left in the queue 30 s after the last delivery: %s" % (
                left, leftovers)
    elapsed = (t_last or time.monotonic()) - t0
    return {"rate": (n if t_last else got) / elapsed, "seconds": round(elapsed, 3),
            "accept_s": round(t_sent - t0, 3),
            "cpu_us": cpu / got * 1e6 if got else None,
            "delivered": count_all(server.maildirs), "valid": not note, "note": note}


def deliver_part(br, work, out, have_qng):
    nbox = br.env_int("BENCH_VPOP_MAILBOXES", 100, 1, 10000)
    n = br.env_int("BENCH_VPOP_MESSAGES", 2000, 1, 1000000)
    rounds = br.env_int("BENCH_VPOP_ROUNDS", br.ROUNDS, 1, 100)
    modes = [m.strip() for m in os.environ.get("BENCH_VPOP_MODES", "session,connection")
             .split(",") if m.strip()]
    for m in modes:
        if m not in br.MODE_TEXT:
            raise ValueError("unknown mode %r in BENCH_VPOP_MODES" % m)
    per_box = max(1, n // nbox)
    n = per_box * nbox
    QngVirtual, PostfixVirtual = make_servers(br, nbox)
    body = delivery.expected_body(br.SIZE)
    say(br, "")
    say(br, "9c. Delivery into %d virtual mailboxes of %s: %d messages per round, %d to "
        "each mailbox," % (nbox, DELIV_DOMAIN, n, per_box))
    say(br, "  one smtp-source per mailbox (-s 1 -m %d, one recipient per message), %d at "
        "a time, %d rounds," % (per_box, br.SESSIONS, rounds))
    say(br, "  servers alternating on fresh instances.  qmail-ng: accounts made by "
        "vadddomain/vadduser,")
    say(br, "  qmail-send -> qmail-local -> .qmail-default -> vdelivermail; Postfix: qmgr "
        "-> virtual(8),")
    say(br, "  virtual_mailbox_maps (hash) into the same DOMAIN/NAME/Maildir/ layout, "
        "both as the same user.")
    say(br, "  figure = messages per second from the first client's start until the last "
        "message is in new/;")
    say(br, "  a round counts only if each mailbox got exactly its messages, complete, "
        "with its Delivered-To,")
    say(br, "  and the queue emptied.  CPU: both servers' whole process trees, per message.")
    status = 0
    res = {"mailboxes": nbox, "messages": n, "rounds": rounds}
    servers = (["qng"] if have_qng else []) + ["postfix"]
    for mode in modes:
        rs = {s: [] for s in servers}
        say(br, "")
        say(br, "  mode %-10s %s" % (mode, "each client sends its messages over one "
                                     "connection" if mode == "session" else
                                     "one new connection per message"))
        say(br, "  %-6s %24s %24s" % ("round", "qmail-ng msgs/s (CPU us)",
                                      "Postfix msgs/s (CPU us)"))
        for i in range(1, rounds + 1):
            row = {}
            for s in servers:
                b = os.path.join(work, "vdeliv-%s-%s-%d" % (s, mode, i))
                server = QngVirtual(b) if s == "qng" else PostfixVirtual(b)
                r = deliver_round(br, server, mode, per_box, body)
                os.sync()
                rs[s].append(r)
                row[s] = r

            def cell(r):
                if r is None:
                    return "%24s" % "-"
                t = "%.0f (%s)" % (r["rate"], "-" if r["cpu_us"] is None else
                                   "%.0f" % r["cpu_us"])
                return "%24s" % (t + ("" if r["valid"] else " INVALID"))
            say(br, "  %-6d %s %s" % (i, cell(row.get("qng")), cell(row.get("postfix"))))
            for s in servers:
                if not row[s]["valid"]:
                    say(br, "         %s: %s" % (s, row[s]["note"]))
        o = {}
        for s in servers:
            ok = [r for r in rs[s] if r["valid"]]
            cpus = [r["cpu_us"] for r in ok if r["cpu_us"] is not None]
            o[s] = {"rounds": [round(r["rate"], 1) for r in rs[s]],
                    "cpu_us_per_msg": [None if r["cpu_us"] is None else round(r["cpu_us"])
                                       for r in rs[s]],
                    "accept_s": [r["accept_s"] for r in rs[s]],
                    "valid_rounds": len(ok),
                    "median": round(median([r["rate"] for r in ok]), 1) if ok else None,
                    "median_cpu_us": round(median(cpus)) if cpus else None}
            if len(ok) < rounds:
                status = 1
        qm = o.get("qng", {}).get("median")
        pm = o["postfix"]["median"]
        o["ratio"] = round(qm / pm, 3) if qm and pm else None
        say(br, "  %-6s %24s %24s" % ("median", *[
            "%.0f (%s)" % (o[s]["median"], o[s]["median_cpu_us"])
            if s in o and o[s]["median"] else "-" for s in ("qng", "postfix")]))
        if o["ratio"] is not None:
            say(br, "  ratio qmail-ng/Postfix: %.2f  (target >= %.1f: %s)" % (
                o["ratio"], br.TARGET_RATIO,
                "met" if o["ratio"] >= br.TARGET_RATIO else "NOT met"))
        res[mode] = o
    out["delivery"] = res
    return status


def workload(br, work, result, have_qng):
    """Section 9 of the table; returns bench/run's exit status so far (0/1)."""
    parts = [p.strip() for p in os.environ.get("BENCH_VPOP_PARTS", "adduser,rcpt,delivery")
             .split(",") if p.strip()]
    for p in parts:
        if p not in ("adduser", "rcpt", "delivery"):
            raise ValueError("unknown part %r in BENCH_VPOP_PARTS (adduser, rcpt, delivery)"
                             % p)
    out = {}
    status = 0
    result["vpop"] = out
    if "adduser" in parts:
        if have_qng:
            status |= adduser_part(br, work, out)
        else:
            say(br, "9a. vadduser: skipped, qmail-ng is not ready")
    if "rcpt" in parts:
        status |= rcpt_part(br, work, out, have_qng)
    if "delivery" in parts:
        status |= deliver_part(br, work, out, have_qng)
    return status
