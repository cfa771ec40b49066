/* SPDX-License-Identifier: ISC */
/*
 * checks - spamcontrol's checks in qmail-smtpd (checks.h lists them).
 *
 * Control files give the defaults (all off, so an admin who adds none
 * sees qmail-1.03's behaviour), the environment tcpserver sets per rule
 * overrides them for one client, and trusted (RELAYCLIENT, POP-before-
 * SMTP) or authenticated clients skip every check.  The bad* lists keep
 * qmail's meaning for plain lines (exact or "@domain", any case: a hash
 * set, one lookup however long the list) and add spamcontrol's wildmat
 * patterns beside it (src/lib/pattern.h); a '!' line exempts, even from
 * a plain line.  Waits (tarpit, greeting delay) poll the client's socket
 * instead of sleeping, so a client that leaves ends the session at once.
 * DNS trouble never refuses mail: the sender is taken with a log line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "ctl.h"
#include "datetime.h"
#include "dns.h"
#include "fmt.h"
#include "ipaddr.h"
#include "log.h"
#include "pattern.h"
#include "smtpd.h"
#include "vis.h"

#define TARPIT_MAX_MS 60000UL /* the growing tarpit stops growing here */
#define SECS_MAX 3600UL       /* a delay given in seconds, at most */

struct smtpd_checks_cf {
    struct smtpd_set badhelo, badrcptto;
    struct pattern_list bmf, helo, rcpt;
    bool helome, helobareip, helosyntax;
    unsigned long tarpitdelay, greetdelay; /* ms */
};

/*
 * smtpd_checks_secs - "5", "0.3", "1.25": seconds with up to three
 * decimals, as milliseconds, at most SECS_MAX seconds.  0 or -1.
 */
int
smtpd_checks_secs(const char *s, unsigned long *ms)
{
    unsigned long sec = 0, frac = 0, scale = 100;
    size_t i = 0;

    if (!s || !s[0])
        return -1;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        sec = sec * 10 + (unsigned long)(s[i] - '0');
        if (sec > SECS_MAX)
            return -1;
    }
    if (i == 0 && s[i] != '.')
        return -1;
    if (s[i] == '.') {
        size_t d = ++i;

        for (; s[i] >= '0' && s[i] <= '9'; i++) {
            if (i - d >= 3)
                return -1;
            frac += (unsigned long)(s[i] - '0') * scale;
            scale /= 10;
        }
        if (i == d)
            return -1;
    }
    if (s[i] != '\0')
        return -1;
    *ms = sec * 1000 + frac;
    return *ms > SECS_MAX * 1000 ? -1 : 0;
}

/*
 * smtpd_checks_free - release what smtpd_checks_init made (before the
 * settings are read again).
 */
void
smtpd_checks_free(struct smtpd_config *cf)
{
    struct smtpd_checks_cf *c = cf->checks;

    if (!c)
        return;
    smtpd_set_free(&c->badhelo);
    smtpd_set_free(&c->badrcptto);
    pattern_list_free(&c->bmf);
    pattern_list_free(&c->helo);
    pattern_list_free(&c->rcpt);
    free(c);
    cf->checks = NULL;
}

/*
 * smtpd_checks_init - compile the lists (lowercased in place, as
 * badmailfrom is by smtpd_policy_init, which must run first) and read
 * the delays.  Returns 0, or -1 with errno ENOMEM, or EINVAL and
 * cf->checks_bad naming the control file that does not parse.
 */
int
smtpd_checks_init(struct smtpd_config *cf)
{
    struct smtpd_checks_cf *c;

    smtpd_checks_free(cf);
    cf->checks_bad = NULL;
    c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    cf->checks = c;
    bstr_lower(&cf->badhelo);
    bstr_lower(&cf->badrcptto);
    bstr_lower(&cf->helocheck);
    if (smtpd_set_build(&c->badhelo, &cf->badhelo) == -1 ||
        smtpd_set_build(&c->badrcptto, &cf->badrcptto) == -1 ||
        pattern_list_build(&c->bmf, &cf->badmailfrom, PATTERN_ADDR) == -1 ||
        pattern_list_build(&c->helo, &cf->badhelo, 0) == -1 ||
        pattern_list_build(&c->rcpt, &cf->badrcptto, PATTERN_ADDR) == -1)
        return -1;
    for (const char *p = ctl_list_next(&cf->helocheck, NULL); p;
         p = ctl_list_next(&cf->helocheck, p)) {
        if (strcmp(p, "me") == 0)
            c->helome = true;
        else if (strcmp(p, "bareip") == 0)
            c->helobareip = true;
        else if (strcmp(p, "syntax") == 0)
            c->helosyntax = true;
        else {
            cf->checks_bad = "helocheck";
            errno = EINVAL;
            return -1;
        }
    }
    if (smtpd_checks_secs(cf->tarpitdelay.s, &c->tarpitdelay) == -1) {
        cf->checks_bad = "tarpitdelay";
        errno = EINVAL;
        return -1;
    }
    if (smtpd_checks_secs(cf->greetdelay.s, &c->greetdelay) == -1) {
        cf->checks_bad = "greetdelay";
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/* An environment variable that is a number overrides the file's. */
static void
env_ulong(const char *name, unsigned long *v)
{
    const char *x = getenv(name);
    unsigned long long u;
    size_t n;

    if (!x)
        return;
    n = strlen(x);
    if (n && scan_ull(x, n, &u) == n && u <= ULONG_MAX)
        *v = (unsigned long)u;
    else
        log_line("warning: ignoring %s=%s: not a number", name, x);
}

static void
env_secs(const char *name, unsigned long *ms)
{
    const char *x = getenv(name);

    if (x && smtpd_checks_secs(x, ms) == -1)
        log_line("warning: ignoring %s=%s: not a number of seconds", name, x);
}

/* A switch such as MFDNSCHECK: unset keeps the file's, "" or "1" turns
 * it on (spamcontrol: set means on), "-" or "0" off. */
static void
env_switch(const char *name, bool *on)
{
    const char *x = getenv(name);

    if (x)
        *on = strcmp(x, "-") != 0 && strcmp(x, "0") != 0;
}

/*
 * smtpd_checks_start - this session's settings: the control files,
 * then tcpserver's environment for this client (a worker reads it again
 * for each session), counters at zero.
 */
void
smtpd_checks_start(struct smtpd_session *s)
{
    const struct smtpd_config *cf = s->cf;
    const struct smtpd_checks_cf *c = cf->checks;
    struct smtpd_checks *k = &s->chk;

    /* zero: each session starts zeroed, and smtpd_session_free let go of
     * what the last one made (smtpd_checks_end) */
    memset(k, 0, sizeof *k);
    /* qregex's switches: set means the check is off for this client */
    k->badhelo = getenv("NOBADHELO") == NULL;
    k->badmailfrom = getenv("NOBADMAILFROM") == NULL;
    k->badrcptto = getenv("NOBADRCPTTO") == NULL;
    if (c && getenv("NOHELOCHECK") == NULL) {
        k->helome = c->helome;
        k->helobareip = c->helobareip;
        k->helosyntax = c->helosyntax;
    }
    k->mfdns = cf->mfdnscheck != 0;
    env_switch("MFDNSCHECK", &k->mfdns);
    k->maxrcpt = cf->maxrcpt;
    env_ulong("MAXRECIPIENTS", &k->maxrcpt); /* spamcontrol's name */
    k->maxerrors = cf->maxerrors;
    env_ulong("MAXERRORS", &k->maxerrors);
    k->tarpitcount = cf->tarpitcount;
    env_ulong("TARPITCOUNT", &k->tarpitcount); /* the tarpit patch's */
    k->tarpiterrors = cf->tarpiterrors;
    env_ulong("TARPITERRORS", &k->tarpiterrors);
    k->tarpitdelay = c ? c->tarpitdelay : 5000;
    env_secs("TARPITDELAY", &k->tarpitdelay);
    k->greetdelay = c ? c->greetdelay : 0;
    env_secs("SMTPD_GREETDELAY", &k->greetdelay); /* the greetdelay patch's */
}

/* smtpd_checks_end - let go of what the session's checks made (the
 * resolver, the last sender domain) and zero the rest. */
void
smtpd_checks_end(struct smtpd_session *s)
{
    struct smtpd_checks *k = &s->chk;

    if (k->dns) {
        dns_free(k->dns);
        free(k->dns);
    }
    bstr_wipe_free(&k->mfdns_dom);
    memset(k, 0, sizeof *k);
}

/* smtpd_checks_helo - a new HELO or EHLO: its verdict is decided afresh
 * at the next MAIL, then kept for the MAILs after it. */
void
smtpd_checks_helo(struct smtpd_session *s)
{
    s->chk.helo_known = false;
}

/* smtpd_checks_skip - trusted or authenticated: no anti-spam checks. */
bool
smtpd_checks_skip(const struct smtpd_session *s)
{
    return s->relayclient != NULL || s->authuser.len != 0;
}

/*
 * wait_client - wait ms, or less if the client hangs up (then -1).
 * Bytes the client sends meanwhile stay unread for the command loop;
 * buffered says some already wait in ours (pipelined commands), so a
 * client that shut its side down after them has not left.
 */
static int
wait_client(int fd, unsigned long ms, bool wake_on_data, bool buffered)
{
    long long end = datetime_mono_ms() + (long long)ms;
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};

    if (wake_on_data)
        p.events |= POLLIN;
    for (;;) {
        long long left = end - datetime_mono_ms();
        int r;

        if (left <= 0)
            return 0;
        r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            return -1;
        if (r == 0)
            return 0;
        if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
            return -1;
        if (p.revents & POLLRDHUP) {
            int n = 0;

            /* gone without a word; a client that pipelined its commands
             * and then shut its side down is still to be answered */
            if (!buffered && (ioctl(fd, FIONREAD, &n) == -1 || n == 0))
                return -1;
            p.events &= ~POLLRDHUP;
            if (wake_on_data)
                return 1;
            continue;
        }
        if (p.revents & POLLIN)
            return 1;
    }
}

/*
 * smtpd_checks_greet - before the greeting: wait greetdelay for a client
 * that talks first (postscreen's pregreet test).  A talker is refused
 * with 554 and the session ends; a client that hangs up ends it too.
 * Returns 0 (greet it), or -1 with s->fate and s->how set.
 */
int
smtpd_checks_greet(struct smtpd_session *s)
{
    int r, n = 0;

    if (s->chk.greetdelay == 0 || s->cf->smtps || smtpd_checks_skip(s))
        return 0;
    r = wait_client(0, s->chk.greetdelay, true, false);
    if (r == 0)
        return 0;
    if (r == 1 && ioctl(0, FIONREAD, &n) == 0 && n > 0) {
        char junk[4096];

        /* read what it said, so closing does not reset the connection
         * before our reply gets there */
        if (read(0, junk, sizeof junk) < 0) {
            /* gone: the reply below fails the same way */
        }
        smtpd_reply(s, OC_PREGREET, NULL);
        s->fate = OC_OK;
        s->how = "pregreet";
        return -1;
    }
    s->fate = OC_OK;
    s->how = "eof";
    return -1;
}

/*
 * smtpd_checks_badmailfrom - is the sender listed in badmailfrom, by
 * a plain line (qmail's exact or @domain) or a pattern, and not
 * exempted by a '!' line?  For every client, trusted and authenticated
 * ones too, as qmail-1.03 checked it (an admin's list of forged senders
 * keeps working as before); not with NOBADMAILFROM.
 */
bool
smtpd_checks_badmailfrom(const struct smtpd_session *s, const char *a,
                         size_t len)
{
    const struct smtpd_checks_cf *c = s->cf->checks;
    enum pattern_verdict v;

    if (!s->chk.badmailfrom || len == 0)
        return false;
    v = c ? pattern_list_match(&c->bmf, a, len) : PATTERN_NONE;
    if (v == PATTERN_EXEMPT)
        return false;
    return v == PATTERN_LISTED || smtpd_policy_badmailfrom(s->pol, a, len);
}

/* set_detail - the deciding pattern line, cut to fit, for log_reject */
static void
set_detail(struct smtpd_session *s, const struct pattern_item *it)
{
    char *d = s->chk.detail;
    size_t max = sizeof s->chk.detail - 4, n = it->len < max ? it->len : max;

    memcpy(d, it->p, n);
    if (n < it->len) {
        memcpy(d + n, "...", 3);
        n += 3;
    }
    d[n] = '\0';
    s->detail = d;
}

/* Is h one of our IPv4 or IPv6 addresses, bracketed or bare? */
static bool
helo_is_ours(const char *h, size_t len)
{
    char lit[80];

    if (len >= 2 && h[0] == '[')
        return smtpd_ipme(h, len) == 1;
    if (len + 8 > sizeof lit)
        return false;
    lit[0] = '[';
    if (memchr(h, ':', len)) {
        memcpy(lit + 1, "IPv6:", 5);
        memcpy(lit + 6, h, len);
        lit[len + 6] = ']';
        return smtpd_ipme(lit, len + 7) == 1;
    }
    memcpy(lit + 1, h, len);
    lit[len + 1] = ']';
    return smtpd_ipme(lit, len + 2) == 1;
}

static bool
bare_ip(const char *h, size_t len)
{
    unsigned char a[16];

    return ipaddr_scan4(h, len, a) || ipaddr_scan6(h, len, a);
}

static bool
let_dig(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

/*
 * smtpd_checks_helo_syntax - RFC 5321 4.1.2: Domain (labels of letters,
 * digits and inner hyphens, at most 63 bytes each, 255 in all) or an
 * address-literal ("[1.2.3.4]", "[IPv6:...]").
 */
bool
smtpd_checks_helo_syntax(const char *h, size_t len)
{
    size_t label = 0;

    if (len == 0 || len > 255)
        return false;
    if (h[0] == '[') {
        unsigned char a[16];

        if (len < 3 || h[len - 1] != ']')
            return false;
        if (len > 7 && strncasecmp(h + 1, "IPv6:", 5) == 0)
            return ipaddr_scan6(h + 6, len - 7, a);
        return ipaddr_scan4(h + 1, len - 2, a);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];

        if (c == '.') {
            if (label == 0 || h[i - 1] == '-')
                return false;
            label = 0;
        } else if (let_dig(c) || (c == '-' && label > 0)) {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 && h[len - 1] != '-';
}

/* helo_verdict - the HELO checks' verdict (OC_OK: none refuses it). */
static enum reason
helo_verdict(const struct smtpd_session *s)
{
    const struct smtpd_checks_cf *c = s->cf->checks;
    const struct smtpd_checks *k = &s->chk;
    const char *h = s->helo.s;
    size_t len = s->helo.len;
    char low[SMTPD_CMD_MAX + 1];

    if (!h || !c)
        return OC_OK; /* no HELO at all: qmail takes MAIL without one */
    if (k->badhelo && len <= SMTPD_CMD_MAX) {
        enum pattern_verdict v;

        for (size_t i = 0; i < len; i++)
            low[i] = (h[i] >= 'A' && h[i] <= 'Z') ? (char)(h[i] + 32) : h[i];
        v = pattern_list_match(&c->helo, low, len);
        if (v == PATTERN_LISTED ||
            (v == PATTERN_NONE && smtpd_set_has(&c->badhelo, low, len)))
            return OC_BADHELO;
    }
    if (k->helome &&
        ((s->cf->me.len == len && s->cf->me.s &&
          strncasecmp(s->cf->me.s, h, len) == 0) ||
         helo_is_ours(h, len)))
        return OC_HELO_ME;
    if (k->helobareip && bare_ip(h, len))
        return OC_HELO_BAREIP;
    if (k->helosyntax && !smtpd_checks_helo_syntax(h, len))
        return OC_HELO_SYNTAX;
    return OC_OK;
}

/* helo_reason - helo_verdict, worked out once per HELO (helo_is_ours
 * asks the kernel for every interface's address) */
static enum reason
helo_reason(struct smtpd_session *s)
{
    if (!s->chk.helo_known) {
        s->chk.helo_r = helo_verdict(s);
        s->chk.helo_known = true;
    }
    return s->chk.helo_r;
}

/* session_dns - the session's resolver for MFDNSCHECK, made at its
 * first use (control/dnsservers and resolv.conf read once a session):
 * NULL when it cannot be made (logged) */
static struct dns *
session_dns(struct smtpd_session *s)
{
    struct smtpd_checks *k = &s->chk;
    struct dns *d;

    if (k->dns)
        return k->dns;
    d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (dns_init(d, "control/dnsservers") == -1) {
        log_line("warning: badmailfromunknown skipped ip=%s: unable to read "
                 "dnsservers: %s",
                 s->remoteip, d->err.len ? d->err.s : strerror(errno));
        dns_free(d);
        free(d);
        return NULL;
    }
    d->timeout_ms = 3000;
    k->dns = d;
    return d;
}

/*
 * sender_exists - does the sender's domain have an MX, or else an A or
 * AAAA record?  1 yes or could not tell (logged: DNS trouble never
 * refuses), 0 no (NXDOMAIN, a null MX, or nothing at all).  The last
 * domain's answer is kept for the session: a client repeating its MAIL
 * is not a lookup each time.
 */
static int
sender_exists(struct smtpd_session *s, const char *a, size_t len)
{
    struct smtpd_checks *k = &s->chk;
    size_t at = addr_at(a, len);
    char dom[DNS_NAME_MAX + 1];
    size_t dl = len - at - 1;
    struct dns *d;
    struct dns_mxlist mx;
    struct dns_iplist ip;
    int r, found = 1;
    const char *why = NULL;

    if (at >= len || dl == 0 || dl > DNS_NAME_MAX || a[at + 1] == '[')
        return 1; /* no domain, or a literal: nothing to look up */
    memcpy(dom, a + at + 1, dl);
    dom[dl] = '\0';
    if (k->mfdns_dom.len == dl && strncasecmp(k->mfdns_dom.s, dom, dl) == 0)
        return k->mfdns_found;
    if (!(d = session_dns(s)))
        return 1;
    r = dns_mx(d, dom, &mx);
    if (r == DNS_OK) {
        size_t n = mx.n;

        dns_mxlist_free(&mx);
        if (n == 0) {
            r = dns_ip(d, dom, AF_UNSPEC, &ip);
            if (r == DNS_OK) {
                found = ip.n > 0;
                dns_iplist_free(&ip);
            }
        }
    }
    if (r == DNS_PERM)
        found = 0;
    else if (r == DNS_TEMP)
        why = d->err.len ? d->err.s : "temporary DNS failure";
    if (why) {
        struct bstr t = BSTR_INIT;

        if (vis_cat(&t, dom, strlen(dom)) == 0)
            log_line("warning: badmailfromunknown skipped ip=%s domain=%s: "
                     "%s",
                     s->remoteip, t.s, why);
        bstr_free(&t);
    } else if (bstr_copyb(&k->mfdns_dom, dom, dl) == 0) {
        k->mfdns_found = found; /* an answer, not trouble: worth keeping */
    } else {
        bstr_free(&k->mfdns_dom); /* out of memory: nothing kept */
    }
    return found;
}

/*
 * smtpd_checks_mail - the act step's checks of a well-formed MAIL: the
 * HELO it came after (badhelo, HELO sanity), then the sender's domain
 * (MFDNSCHECK).  They wait for MAIL so that a client may still
 * authenticate after an odd EHLO.  A refusal is about the sender.
 */
enum reason
smtpd_checks_mail(struct smtpd_session *s, const struct smtpd_mail_arg *m)
{
    enum reason r;

    s->chk.rcpts = 0;
    if (smtpd_checks_skip(s))
        return OC_OK;
    r = helo_reason(s);
    if (r == OC_BADHELO && s->helo.len <= SMTPD_CMD_MAX) {
        char low[SMTPD_CMD_MAX + 1];
        const struct pattern_item *it;

        for (size_t i = 0; i < s->helo.len; i++)
            low[i] = (s->helo.s[i] >= 'A' && s->helo.s[i] <= 'Z')
                         ? (char)(s->helo.s[i] + 32)
                         : s->helo.s[i];
        it = pattern_list_find(&s->cf->checks->helo, low, s->helo.len);
        if (it && !it->neg)
            set_detail(s, it);
    }
    if (r == OC_OK && s->chk.mfdns && m->addr.len &&
        !sender_exists(s, m->addr.s, m->addr.len))
        r = OC_MFDNS;
    if (r != OC_OK) {
        s->cur_from = m->addr.s;
        s->cur_from_len = m->addr.len;
    }
    return r;
}

/*
 * smtpd_checks_rcpt - RCPT's checks on a parsed recipient: the most a
 * message may have (control/maxrcpt; SMTPD_RCPT_MAX for everyone), and
 * badrcptto.  Pure.
 */
enum reason
smtpd_checks_rcpt(const struct smtpd_session *s, const struct bstr *a)
{
    const struct smtpd_checks_cf *c = s->cf->checks;
    char low[ADDR_MAX + 1];
    size_t at;
    enum pattern_verdict v;

    if (s->txn.nrcpt >= SMTPD_RCPT_MAX)
        return OC_TOOMANYRCPT;
    if (smtpd_checks_skip(s))
        return OC_OK;
    if (s->chk.maxrcpt && s->txn.nrcpt >= s->chk.maxrcpt)
        return OC_MAXRCPT;
    if (!c || !s->chk.badrcptto || a->len == 0 || a->len > ADDR_MAX)
        return OC_OK;
    for (size_t i = 0; i < a->len; i++)
        low[i] = (a->s[i] >= 'A' && a->s[i] <= 'Z') ? (char)(a->s[i] + 32)
                                                    : a->s[i];
    v = pattern_list_match(&c->rcpt, low, a->len);
    if (v == PATTERN_LISTED)
        return OC_BADRCPTTO;
    if (v == PATTERN_EXEMPT)
        return OC_OK;
    if (smtpd_set_has(&c->badrcptto, low, a->len))
        return OC_BADRCPTTO;
    at = addr_at(low, a->len);
    if (at < a->len && smtpd_set_has(&c->badrcptto, low + at, a->len - at))
        return OC_BADRCPTTO;
    return OC_OK;
}

/*
 * smtpd_checks_tarpit - before RCPT's reply: past tarpitcount RCPTs in
 * this message, wait tarpitdelay; past tarpiterrors errors in this
 * session, wait tarpitdelay for each error beyond (at most a minute).
 * Returns 0, or -1 with the fate set when the client left meanwhile.
 */
int
smtpd_checks_tarpit(struct smtpd_session *s)
{
    struct smtpd_checks *k = &s->chk;
    unsigned long ms = 0;

    k->rcpts++;
    if (smtpd_checks_skip(s) || k->tarpitdelay == 0)
        return 0;
    if (k->tarpitcount && k->rcpts > k->tarpitcount)
        ms = k->tarpitdelay > TARPIT_MAX_MS ? TARPIT_MAX_MS : k->tarpitdelay;
    if (k->tarpiterrors && s->errors >= k->tarpiterrors) {
        unsigned long steps = s->errors - k->tarpiterrors + 1;
        unsigned long e = steps > TARPIT_MAX_MS / k->tarpitdelay
                              ? TARPIT_MAX_MS
                              : steps * k->tarpitdelay;

        if (e > ms)
            ms = e;
    }
    if (ms == 0)
        return 0;
    if (!k->tarpitting) {
        k->tarpitting = true;
        log_line("tarpit ip=%s rcpts=%lu errors=%u delay=%lums", s->remoteip,
                 k->rcpts, s->errors, ms);
    }
    if (smtpd_flush(s) == -1) {
        s->fate = OC_OK;
        s->how = "write";
        return -1;
    }
    if (wait_client(0, ms, false, s->in.pos < s->in.len) == -1) {
        s->fate = OC_OK;
        s->how = "eof";
        return -1;
    }
    return 0;
}

/*
 * smtpd_checks_detail - before a badmailfrom or badrcptto refusal's
 * reply: when a pattern (not a plain line) refused a, the log line's
 * detail= names it.
 */
void
smtpd_checks_detail(struct smtpd_session *s, enum reason r, const char *a,
                    size_t len)
{
    const struct smtpd_checks_cf *c = s->cf->checks;
    const struct pattern_list *l;
    const struct pattern_item *it;
    char low[ADDR_MAX + 1];

    if (!c || len > ADDR_MAX)
        return;
    if (r == OC_BADMAILFROM)
        l = &c->bmf;
    else if (r == OC_BADRCPTTO)
        l = &c->rcpt;
    else
        return;
    for (size_t i = 0; i < len; i++)
        low[i] = (a[i] >= 'A' && a[i] <= 'Z') ? (char)(a[i] + 32) : a[i];
    it = pattern_list_find(l, low, len);
    if (it && !it->neg)
        set_detail(s, it);
}

/* smtpd_checks_errors_over - has the session had its errors
 * (control/maxerrors, 0: no limit)? */
bool
smtpd_checks_errors_over(const struct smtpd_session *s)
{
    return s->chk.maxerrors && s->errors >= s->chk.maxerrors;
}
