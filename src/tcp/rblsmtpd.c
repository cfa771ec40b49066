/* SPDX-License-Identifier: ISC */
/*
 * rblsmtpd - ucspi-tcp's DNS blacklist front end for any SMTP server run
 * under tcpserver: "rblsmtpd [-bBcC] [-t n] [-r base] [-a base] prog".
 *
 * It decides, in this order: a fresh POP-before-SMTP stamp for the
 * client (users/open-smtp, a qmail-ng addition) or $RBLSMTPD set and
 * empty (or blank, as the seeds print it) lets the client through; $RBLSMTPD set to a text blocks it with
 * that text (451, or 553 when it starts with '-'); otherwise each -r and
 * -a option, in the order given, asks the DNS until one source lists
 * (TXT under -r: blocked, the TXT text is the reply) or anti-lists (A
 * under -a: let through) $TCPREMOTEIP.  A client let through gets prog,
 * exec'd in our place.  A blocked one gets a small SMTP dialogue that
 * answers every attempt to send with the refusal, for at most -t
 * seconds, and one log line on stderr:
 *
 *   rblsmtpd: 192.0.2.9 pid 4711: 451 listed at zen.example
 *
 * Options act as they come, as in ucspi-tcp 0.88: -b/-B/-c/-C change
 * the sources after them.  Texts from the DNS or the environment are cut
 * to 200 bytes and every byte that is not printable ASCII becomes '?',
 * so no text can add a reply line or a log line.  Temporary DNS trouble
 * never gives a 553 and, without -c, never blocks (a warning line says
 * so).  rblsmtpd does not speak tcpserver -W's worker protocol.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bstr.h"
#include "ctl.h"
#include "dns.h"
#include "dnsbl_name.h"
#include "fmt.h"
#include "ipaddr.h"
#include "log.h"
#include "opensmtp.h"
#include "outcome.h"
#include "priv.h"
#include "worker.h"
#include "writeall.h"

#define TEXT_MAX 200 /* bytes of a text shown to the client (0.88's cut) */
#define CMD_MAX 16   /* bytes of a command word kept; longer is unknown */
#define FAIL_TEXT "temporary RBL lookup error"

enum decision { UNDECIDED, ACCEPT, REJECT, BOUNCE };

struct rbl {
    const char *ip;  /* $TCPREMOTEIP, "" when unset */
    struct ipaddr addr;
    bool addr_ok;    /* ip parsed */
    enum decision decision;
    bool bounce;     /* -b */
    bool failclosed; /* -c */
    bool mustnotbounce; /* a lookup failed: never 553 */
    struct bstr text;   /* the refusal's text (REJECT, BOUNCE) */
    struct dns dns;
    int dns_state;      /* 0 not set up, 1 ready, -1 unusable */
    unsigned long timeout;
};

static void __attribute__((noreturn))
usage(void)
{
    log_line("usage: rblsmtpd [ -b ] [ -B ] [ -c ] [ -C ] [ -t timeout ] "
             "[ -r base ] [ -a base ] smtpd [ arg ... ]");
    exit(EXIT_PERM);
}

static void __attribute__((noreturn))
nomem(void)
{
    log_die(EXIT_TEMP, "out of memory");
}

/* warn - a "warning:" line about this client: lookups that failed. */
static void __attribute__((format(printf, 2, 3)))
warn(const struct rbl *r, const char *fmt, ...)
{
    struct bstr line = BSTR_INIT;
    va_list ap;

    va_start(ap, fmt);
    if (bstr_vcatf(&line, fmt, ap) == -1)
        bstr_truncate(&line, 0);
    va_end(ap);
    log_line("warning: %s pid %ld: %s", r->ip, (long)getpid(),
             line.s ? line.s : "out of memory");
    bstr_free(&line);
}

/*
 * dns_ready - the resolver, set up at the first lookup: control/dnsservers,
 * else resolv.conf, and $DNSCACHEIP over both.  false when it cannot be.
 */
static bool
dns_ready(struct rbl *r)
{
    struct bstr path = BSTR_INIT;
    const char *cacheip = getenv("DNSCACHEIP");

    if (r->dns_state)
        return r->dns_state == 1;
    r->dns_state = -1;
    if (bstr_copys(&path, priv_home()) == -1 ||
        bstr_cats(&path, "/control/dnsservers") == -1)
        nomem();
    if (dns_init(&r->dns, path.s) == -1) {
        warn(r, "unable to set up DNS: %s", r->dns.err.s ? r->dns.err.s : "");
        bstr_free(&path);
        return false;
    }
    bstr_free(&path);
    if (cacheip && dns_servers_env(&r->dns, cacheip) == -1)
        warn(r, "DNSCACHEIP ignored: %s", r->dns.err.s); /* the rest serve */
    r->dns_state = 1;
    return true;
}

/*
 * lookup_failed - a source that could not be asked, or did not answer:
 * never a 553 now, and with -c the client is refused (451).
 */
static void
lookup_failed(struct rbl *r, const char *why)
{
    r->mustnotbounce = true;
    warn(r, "%s%s", why,
         r->failclosed ? " (-c: refusing the client)" : " (skipped)");
}

/* query_name - the name to ask under base; false (and a warning) if none. */
static bool
query_name(struct rbl *r, const char *base, struct bstr *name)
{
    if (!r->addr_ok) {
        lookup_failed(r, "no client address in $TCPREMOTEIP to look up");
        return false;
    }
    if (dnsbl_name(name, &r->addr, base) == -1) {
        if (errno == ENOMEM)
            nomem();
        lookup_failed(r, errno == ENAMETOOLONG
                             ? "the query name under that base is too long"
                             : "the base is not a valid domain name");
        return false;
    }
    if (!dns_ready(r)) {
        lookup_failed(r, "no DNS to ask");
        return false;
    }
    return true;
}

/* rbl - -r base: a TXT record lists the client, its text is the reply. */
static void
rbl(struct rbl *r, const char *base)
{
    struct bstr name = BSTR_INIT;
    struct dns_txtlist l;
    int res;

    if (r->decision != UNDECIDED)
        return;
    if (!query_name(r, base, &name)) {
        if (r->failclosed && bstr_copys(&r->text, FAIL_TEXT) == -1)
            nomem();
        if (r->failclosed)
            r->decision = REJECT;
        bstr_free(&name);
        return;
    }
    res = dns_txt(&r->dns, name.s, &l);
    if (res == DNS_TEMP) {
        lookup_failed(r, r->dns.err.len ? r->dns.err.s : "TXT lookup failed");
        if (r->failclosed) {
            if (bstr_copys(&r->text, FAIL_TEXT) == -1)
                nomem();
            r->decision = REJECT;
        }
    } else if (res == DNS_OK) {
        /* every record's text, joined as ucspi-tcp joins them */
        bstr_truncate(&r->text, 0);
        for (size_t i = 0; i < l.n; i++)
            if (bstr_catb(&r->text, l.txt[i].s, l.txt[i].len) == -1)
                nomem();
        if (r->text.len) /* an empty text lists nobody (0.88) */
            r->decision = r->bounce ? BOUNCE : REJECT;
        dns_txtlist_free(&l);
    }
    bstr_free(&name);
}

/* antirbl - -a base: an A record anti-lists the client: let it through. */
static void
antirbl(struct rbl *r, const char *base)
{
    struct bstr name = BSTR_INIT;
    struct dns_iplist l;
    int res;

    if (r->decision != UNDECIDED)
        return;
    if (!query_name(r, base, &name)) {
        if (!r->failclosed)
            r->decision = ACCEPT;
        bstr_free(&name);
        return;
    }
    res = dns_ip(&r->dns, name.s, AF_INET, &l);
    if (res == DNS_TEMP) {
        lookup_failed(r, r->dns.err.len ? r->dns.err.s : "A lookup failed");
        if (!r->failclosed)
            r->decision = ACCEPT;
    } else if (res == DNS_OK) {
        if (l.n)
            r->decision = ACCEPT;
        dns_iplist_free(&l);
    }
    bstr_free(&name);
}

/*
 * pop_stamp - a POP3/IMAP login from the client within
 * control/opensmtpage (users/open-smtp/IP, as qmail-smtpd reads it)
 * counts as the open-smtp line's RBLSMTPD="".
 */
static bool
pop_stamp(const struct rbl *r)
{
    struct bstr ctl = BSTR_INIT, dir = BSTR_INIT;
    unsigned long age = OPENSMTP_AGE, secs;
    bool fresh = false;
    int n;

    if (!r->addr_ok)
        return false;
    if (bstr_copys(&ctl, priv_home()) == -1 ||
        bstr_catf(&ctl, "/%s", OPENSMTP_CONTROL) == -1 ||
        bstr_copys(&dir, priv_home()) == -1 ||
        bstr_catf(&dir, "/%s", OPENSMTP_DIR) == -1)
        nomem();
    n = ctl_readulong(ctl.s, &age);
    if (n == -1)
        warn(r, "unable to read %s: %s: using %lu", ctl.s, strerror(errno),
             (unsigned long)OPENSMTP_AGE);
    if (n != 1)
        age = OPENSMTP_AGE;
    if (age > 0) {
        n = opensmtp_fresh(dir.s, r->ip, age, time(NULL), &secs);
        if (n == 1)
            fresh = true;
        else if (n == -1 && errno != EINVAL)
            warn(r, "pop-before-smtp: unable to stat %s/%s: %s", dir.s, r->ip,
                 strerror(errno));
    }
    bstr_free(&ctl);
    bstr_free(&dir);
    return fresh;
}

/*
 * blank - nothing but spaces and tabs.  The OVH guides among the seeds
 * print vpopmail's open-smtp lines as RBLSMTPD=" "; a refusal with no
 * text means nothing, so such a value lets the client through as ""
 * does (ucspi-tcp 0.88 would refuse with "451  ").
 */
static bool
blank(const char *v)
{
    return v[strspn(v, " \t")] == '\0';
}

/* --- the blocked client's dialogue ------------------------------------ */

static struct bstr reply; /* "451 text\r\n": read-only once built */

static void
say(const char *s, size_t n)
{
    if (write_all(1, s, n) == -1)
        _exit(0); /* the client is gone */
}

static void
on_alarm(int sig)
{
    (void)sig;
    _exit(0); /* -t seconds are up: drop the client */
}

/*
 * command - one line's verb (its bytes up to the first space, a CR at
 * the line's end already gone), answered as 0.88 does: QUIT ends,
 * HELO EHLO MAIL RSET NOOP get 250, everything else the refusal.
 */
static void
command(const char *verb, size_t n)
{
    static const char *const ok[] = {"helo", "ehlo", "mail", "rset", "noop"};
    char lower[CMD_MAX];

    for (size_t i = 0; i < n; i++)
        lower[i] = verb[i] >= 'A' && verb[i] <= 'Z'
                       ? (char)(verb[i] - 'A' + 'a')
                       : verb[i];
    if (n == 4 && memcmp(lower, "quit", 4) == 0) {
        say("221 rblsmtpd.local\r\n", 20);
        _exit(0);
    }
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (n == 4 && memcmp(lower, ok[i], 4) == 0) {
            say("250 rblsmtpd.local\r\n", 20);
            return;
        }
    say(reply.s, reply.len);
}

/*
 * dialogue - greet, then answer line after line until QUIT, the end of
 * the input or the alarm.  A line is read to its LF however long it is,
 * but only its first CMD_MAX bytes are kept: a client that talks without
 * end costs no memory, only the time -t gives it.
 */
static void __attribute__((noreturn))
dialogue(void)
{
    char buf[4096], verb[CMD_MAX];
    size_t vlen = 0;
    bool inverb = true, overlong = false;

    say("220 rblsmtpd.local\r\n", 20);
    for (;;) {
        ssize_t got = read(0, buf, sizeof buf);

        if (got == -1 && errno == EINTR)
            continue;
        if (got <= 0)
            _exit(0);
        for (ssize_t i = 0; i < got; i++) {
            char c = buf[i];

            if (c == '\n') {
                if (!overlong && vlen && verb[vlen - 1] == '\r' && inverb)
                    vlen--; /* "QUIT\r\n" */
                command(verb, overlong ? 0 : vlen); /* overlong: unknown */
                vlen = 0;
                inverb = true;
                overlong = false;
                continue;
            }
            if (!inverb)
                continue;
            if (c == ' ') {
                inverb = false;
                continue;
            }
            if (vlen == CMD_MAX)
                overlong = true;
            else
                verb[vlen++] = c;
        }
    }
}

/*
 * block - the refusal: its code and text made safe, the log line, then
 * the dialogue (or with -t 0 the refusal alone).
 */
static void __attribute__((noreturn))
block(struct rbl *r)
{
    bool temp = r->mustnotbounce || r->decision == REJECT;

    if (bstr_copys(&reply, temp ? "451 " : "553 ") == -1)
        nomem();
    if (r->text.len > TEXT_MAX)
        bstr_truncate(&r->text, TEXT_MAX);
    if (bstr_catb(&reply, r->text.s ? r->text.s : "", r->text.len) == -1)
        nomem();
    for (size_t i = 0; i < reply.len; i++)
        if ((unsigned char)reply.s[i] < 32 || (unsigned char)reply.s[i] > 126)
            reply.s[i] = '?';
    log_line("%s pid %ld: %s", r->ip, (long)getpid(), reply.s);
    if (bstr_cats(&reply, "\r\n") == -1)
        nomem();
    signal(SIGPIPE, SIG_IGN);
    if (r->timeout == 0) {
        say(reply.s, reply.len);
        _exit(0);
    }
    signal(SIGALRM, on_alarm);
    alarm(r->timeout > 86400 ? 86400 : (unsigned)r->timeout);
    dialogue();
}

int
main(int argc, char **argv)
{
    struct rbl r;
    const char *env;
    int opt;

    log_init("rblsmtpd");
    memset(&r, 0, sizeof r);
    r.timeout = 60;
    /*
     * Started by tcpserver -W as a resident worker: say nothing (no hello)
     * and go, so tcpserver runs us once per connection.  Going on would
     * exec prog with the worker's descriptor, and a prog that speaks the
     * protocol would then be handed clients we never saw.
     */
    if (getenv(WORKER_ENV))
        _exit(0);
    env = getenv("TCPREMOTEIP");
    r.ip = env ? env : "";
    r.addr_ok = ipaddr_scan(r.ip, strlen(r.ip), &r.addr);

    env = getenv("RBLSMTPD");
    if (pop_stamp(&r))
        r.decision = ACCEPT;
    else if (env && blank(env))
        r.decision = ACCEPT;
    else if (env && *env == '-') {
        if (bstr_copys(&r.text, env + 1) == -1)
            nomem();
        r.decision = BOUNCE;
    } else if (env) {
        if (bstr_copys(&r.text, env) == -1)
            nomem();
        r.decision = REJECT;
    }

    while ((opt = getopt(argc, argv, "+bBcCt:r:a:")) != -1) {
        size_t n;

        switch (opt) {
        case 'b':
            r.bounce = true;
            break;
        case 'B':
            r.bounce = false;
            break;
        case 'c':
            r.failclosed = true;
            break;
        case 'C':
            r.failclosed = false;
            break;
        case 't':
            n = strlen(optarg);
            if (n == 0 || scan_ulong(optarg, n, &r.timeout) != n)
                usage();
            break;
        case 'r':
            rbl(&r, optarg);
            break;
        case 'a':
            antirbl(&r, optarg);
            break;
        default:
            usage();
        }
    }
    argv += optind;
    if (!*argv)
        usage();
    if (r.dns_state)
        dns_free(&r.dns);
    if (r.decision == REJECT || r.decision == BOUNCE)
        block(&r);
    bstr_free(&r.text);
    execvp(*argv, argv);
    log_die_sys(EXIT_TEMP, "unable to run %s", *argv);
}
