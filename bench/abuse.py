# SPDX-License-Identifier: ISC
"""bench/abuse.py - workload 13 of bench/run: the SMTP accept rate with the
anti-abuse checks on (issue 13), against Postfix with the same checks.

Both servers ask the same DNS server: Debian's unbound on 127.53.0.1
port 53 (tests/e2e/dnsserver.py), serving three DNSBL zones and one RHSBL
zone as RFC 5782 says test zones must look (127.0.0.2 listed, 127.0.0.1
not), and client.test, the sender's domain, with an MX.  qmail-ng finds it
in control/dnsservers; Postfix uses the C library's resolver, so its
master is started in a mount namespace of its own (unshare -m) where a
private resolv.conf naming 127.53.0.1 is bound over /etc/resolv.conf:
nothing on the machine changes.

The clients (smtp-source on 127.0.0.1) are not trusted: no RELAYCLIENT for
qmail-ng, 127.0.0.1 outside Postfix's mynetworks, so every check runs for
every message and the recipient is in a domain both accept
(rcpthosts / relay_domains).  What each server checks, per connection and
per message:

  check                   qmail-ng                     Postfix
  3 DNSBL zones           control/dnsbl                reject_rbl_client x3
  RHSBL on the sender     control/rhsbl                reject_rhsbl_sender
  sender domain exists    control/mfdnscheck           reject_unknown_sender_domain
  sender patterns         control/badmailfrom          check_sender_access (inline
                                                       + regexp)
  recipient patterns      control/badrcptto            check_recipient_access
  HELO patterns, sanity   control/badhelo,             check_helo_access,
                          control/helocheck            reject_invalid_helo_hostname,
                                                       reject_non_fqdn_helo_hostname
  rates per client IP     control/ratelimits (limits   anvil: connection, message
                          far above the load)          and recipient rate limits
  reverse DNS of client   off (tcpserver -H)           off (smtpd_peername_lookup)

Greylisting is left off on both sides (it defers every first message:
there is nothing to measure). Before the rounds, one smoke test per server
from 127.0.0.2 (listed in all three zones) must be refused, so the figures
are of servers that really check.
"""
import os
import smtplib
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
import dnsserver  # noqa: E402

DNS_ADDR = "127.53.0.1"
ZONES = ["dnsbl1.bench.test", "dnsbl2.bench.test", "dnsbl3.bench.test"]
RHSBL = "rhsbl.bench.test"
RCPT = "bench@example.test"
LISTED = "127.0.0.2"

BAD_SENDERS = ["spammer@bad.test", "@spam.test"]
BAD_RCPTS = ["nobody@example.test", "root@example.test"]
BAD_HELOS = ["localhost", "friend"]

# qmail-ng's control files (their formats: doc/qmail-control.5)
QNG_CONTROLS = {
    "dnsbl": "".join("%s\n" % z for z in ZONES),
    "rhsbl": RHSBL + "\n",
    "mfdnscheck": "1\n",
    "helocheck": "me\nbareip\nsyntax\n",
    "badmailfrom": "".join("%s\n" % a for a in BAD_SENDERS) + "*@*.spam.example\n",
    "badrcptto": "".join("%s\n" % a for a in BAD_RCPTS) + "*+*@example.test\n",
    "badhelo": "".join("%s\n" % h for h in BAD_HELOS) + "*.dynamic.example\n",
    "ratelimits": "ip:conn/min:1000000\nip:msgs/min:1000000\nip:rcpts/min:1000000\n",
    "rcpthosts": "example.test\n",
}
QNG_RULES = "127.:allow\n"

# Postfix: the same lists as inline and regexp tables (no postmap needed)
PF_ABUSE = """\
mynetworks = 192.0.2.0/24
relay_domains = example.test
smtpd_peername_lookup = no
smtpd_helo_required = no
smtpd_client_connection_rate_limit = 1000000
smtpd_client_message_rate_limit = 1000000
smtpd_client_recipient_rate_limit = 1000000
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_recipient_restrictions =
    reject_invalid_helo_hostname,
    reject_non_fqdn_helo_hostname,
    check_helo_access inline:{{ {helos} }},
    check_helo_access regexp:{etc}/helo.regexp,
    check_sender_access inline:{{ {senders} }},
    check_sender_access regexp:{etc}/sender.regexp,
    reject_unknown_sender_domain,
    check_recipient_access inline:{{ {rcpts} }},
    check_recipient_access regexp:{etc}/rcpt.regexp,
    reject_unauth_destination,
    {rbls},
    reject_rhsbl_sender {rhsbl}
"""


def zones():
    z = {"client.test": ["MX 10 mx.client.test"],
         "mx.client.test": ["A 192.0.2.25"]}
    for zone in ZONES + [RHSBL]:
        z["2.0.0.127." + zone] = ["A 127.0.0.2", "TXT \"listed for the bench\""]
        # RFC 5782 5: an RHSBL lists "test", and so everything under it
        z["test." + zone] = ["A 127.0.0.2"]
    # spam.test is listed by the RHSBL; client.test is not
    z["spam.test." + RHSBL] = ["A 127.0.0.2"]
    return z


def qng_server(br, base):
    q = br.Qng(base)
    ctl = os.path.join(q.home, "control")
    for name, text in QNG_CONTROLS.items():
        with open(os.path.join(ctl, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(ctl, name), 0o644)
    with open(os.path.join(ctl, "dnsservers"), "w") as f:
        f.write(DNS_ADDR + "\n")
    rules = os.path.join(base, "tcp.smtp")
    with open(rules, "w") as f:
        f.write(QNG_RULES)
    with open(rules, "rb") as f:
        r = br.run([os.path.join(br.BIN, "tcprules"), q.cdb, q.cdb + ".tmp"], stdin=f)
    if r.returncode != 0:
        raise RuntimeError("tcprules failed: %s" % r.stderr.decode(errors="replace"))
    os.chmod(q.cdb, 0o644)
    return q


def postfix_server(br, base, resolv):
    etc = os.path.join(base, "etc")
    extra = PF_ABUSE.format(
        etc=etc,
        helos=", ".join("%s=REJECT" % h for h in BAD_HELOS),
        senders=", ".join("%s=REJECT" % (a[1:] if a.startswith("@") else a)
                          for a in BAD_SENDERS),
        rcpts=", ".join("%s=REJECT" % a for a in BAD_RCPTS),
        rbls=",\n    ".join("reject_rbl_client " + z for z in ZONES),
        rhsbl=RHSBL)

    class PostfixNS(br.Postfix):
        """Postfix whose master sees resolv (bound over /etc/resolv.conf in
        a private mount namespace)."""

        def postfix(self, *args, timeout=60):
            if args[:1] != ("start",):
                return super().postfix(*args, timeout=timeout)
            script = 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"'
            return br.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script,
                           "sh", resolv, br.tool("postfix"), "-c", self.etc] + list(args),
                          timeout=timeout)

    p = PostfixNS(base, qmgr=False, main_extra=extra)
    for name, text in (("helo.regexp", "/\\.dynamic\\.example$/ REJECT\n"),
                       ("sender.regexp", "/@.*\\.spam\\.example$/ REJECT\n"),
                       ("rcpt.regexp", "/\\+.*@example\\.test$/ REJECT\n")):
        with open(os.path.join(etc, name), "w") as f:
            f.write(text)
    return p


def refused_from_listed(port):
    """True when a client on 127.0.0.2 (listed in every zone) gets its
    recipient refused, or is refused before that."""
    try:
        with smtplib.SMTP("127.0.0.1", port, source_address=(LISTED, 0), timeout=30) as c:
            c.ehlo("client.test")
            code, _ = c.mail("bench@client.test")
            if code >= 400:
                return True
            code, _ = c.rcpt(RCPT)
            return code >= 400
    except smtplib.SMTPException:
        return True


def accepted_from_clean(port):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        c.ehlo("client.test")
        c.mail("bench@client.test")
        code, _ = c.rcpt(RCPT)
        c.rset()
        return code == 250


def workload(br, work, result, have_qng):
    say = br.say
    status = 0
    modes = [m.strip() for m in os.environ.get("BENCH_ABUSE_MODES", "connection,session")
             .split(",") if m.strip()]
    if not dnsserver.UNBOUND:
        say("")
        say("!! 13. abuse: unbound is not installed (apt-get install unbound); skipped")
        return 1
    d = os.path.join(work, "abuse")
    os.makedirs(d)
    os.chmod(d, 0o755)
    resolv = os.path.join(d, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver %s\noptions attempts:2 timeout:5\n" % DNS_ADDR)
    os.chmod(resolv, 0o644)
    dns = dnsserver.Unbound(zones(), addr4=DNS_ADDR, port=53)
    br.LIVE.append(dns)
    try:
        def make(kind, base):
            return qng_server(br, base) if kind == "qng" else postfix_server(br, base, resolv)

        say("")
        say("13. SMTP accept rate with the anti-abuse checks on: 3 DNSBL zones and an RHSBL "
            "on unbound at %s:53," % DNS_ADDR)
        say("  the sender's domain looked up, sender/recipient/HELO patterns, per-IP rate "
            "counters; untrusted")
        say("  clients on 127.0.0.1 (listed: 127.0.0.2), recipient %s; otherwise as in 2 "
            "(see bench/abuse.py)" % RCPT)
        checks = {}
        for kind in (["qng"] if have_qng else []) + ["postfix"]:
            s = make(kind, os.path.join(d, "smoke-" + kind))
            s.start()
            try:
                checks[kind] = {"listed_refused": refused_from_listed(s.port),
                                "clean_accepted": accepted_from_clean(s.port)}
            finally:
                s.stop()
            ok = all(checks[kind].values())
            say("  smoke %-9s listed client refused: %s, clean client accepted: %s%s"
                % ("qmail-ng" if kind == "qng" else "Postfix",
                   checks[kind]["listed_refused"], checks[kind]["clean_accepted"],
                   "" if ok else "  !! the checks are not working: figures invalid"))
            if not ok:
                status = 1
        result["abuse"] = {"smoke": checks}
        for mode in modes:
            out = br.accept_rates(d, mode, have_qng, make=make, rcpt=RCPT, tag="abuse-")
            result["abuse"][mode] = out
            if out["postfix"]["valid_rounds"] < br.ROUNDS or \
                    (have_qng and out["qng"]["valid_rounds"] < br.ROUNDS):
                status = 1
    finally:
        if dns in br.LIVE:
            br.LIVE.remove(dns)
        dns.stop()
    return status
