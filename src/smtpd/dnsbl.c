/* SPDX-License-Identifier: ISC */
/*
 * dnsbl.c - qmail-smtpd's built-in DNSBL and RHSBL checks: rblsmtpd's
 * job without a process per connection.
 *
 * control/dnsbl lists the IP blocklists, control/rhsbl the domain lists
 * (both in Postfix's postscreen_dnsbl_sites syntax, see src/lib/dnsbl.h);
 * a client whose score (the sum of the weights of the sites that list
 * it) reaches control/dnsblthreshold is refused at MAIL.  The IP queries
 * go out when the session starts, so they overlap the greeting, the HELO
 * domain's at HELO/EHLO, the sender domain's at MAIL; all are awaited at
 * MAIL, within control/dnsbltimeout of the last one sent.  Only the last
 * HELO and the current sender are judged, so a new HELO or MAIL drops
 * the queries of the one before: however many a client sends, the
 * lookups of a session never run out (a way around the checks), and
 * past HELO_EARLY HELOs the HELO domain waits for MAIL to be asked
 * about.  A list that does not answer is skipped with a warning: DNS
 * trouble never refuses mail.  RELAYCLIENT (and POP-before-SMTP), AUTH,
 * $DNSBLSKIP and an empty $RBLSMTPD skip the checks.  Everything of a
 * session lives in s->dnsbl and goes with smtpd_dnsbl_end, so a worker's
 * next session starts clean.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "deadline.h"
#include "dnsbl.h"
#include "dnsbl_name.h"
#include "log.h"
#include "smtpd.h"
#include "vis.h"

#define SITES_MAX 64 /* of each file */
#define HELO_EARLY 4 /* HELO/EHLOs of a session asked about at once */
#define SESSION_QUERIES 1024 /* queries a session may make, all told */

/* at their peak (a new domain's asked before the old one's are dropped):
 * the IP's queries, two HELOs' and a sender's, or a HELO's and two
 * senders' */
_Static_assert(4 * SITES_MAX <= DNSBL_QUERIES_MAX,
               "the queries in use always fit in one lookup");

struct smtpd_dnsbl_conf {
    struct dnsbl_site ip[SITES_MAX], rhs[SITES_MAX];
    size_t nip, nrhs;
    long threshold;
    unsigned timeout_ms, try_ms;
    bool dns_ok; /* dns could be set up */
    struct dns dns;
};

struct smtpd_dnsbl {
    const struct smtpd_dnsbl_conf *c;
    struct dnsbl_lookup look;
    long long deadline;    /* of the queries sent last */
    long ipq[SITES_MAX];   /* query of each site; -1: none */
    long heloq[SITES_MAX]; /* the last HELO's */
    long fromq[SITES_MAX]; /* the last MAIL's */
    unsigned nhelo;        /* HELOs asked about when they came */
    bool heloasked;        /* heloq is the last HELO's */
    bool ipdone, helodone; /* verdicts known (a HELO resets the 2nd) */
    bool warned;           /* a query could not be made (logged) */
    bool spent;            /* SESSION_QUERIES reached (logged) */
    enum reason ipverdict, heloverdict;
    const char *ipzone, *helozone;    /* the zone a refusal names */
    struct bstr ipdetail, helodetail; /* the verdicts' log details */
    struct bstr detail;               /* the sender domain's (per MAIL) */
    struct bstr text;                 /* scratch: a refusal's reply */
    struct bstr name;                 /* scratch: a query name */
};

/* ---- settings ----------------------------------------------------------- */

/*
 * load_sites - the items of a control list; a bad item is logged with
 * its text and why, and skipped.
 */
static size_t
load_sites(const char *file, const struct bstr *list, struct dnsbl_site *out)
{
    size_t n = 0;
    bool full = false;

    for (const char *line = ctl_list_next(list, NULL); line;
         line = ctl_list_next(list, line)) {
        size_t pos = 0, len, linelen = strlen(line);
        const char *item;

        while ((item = dnsbl_item_next(line, linelen, &pos, &len))) {
            struct bstr t = BSTR_INIT;
            const char *why;
            struct dnsbl_site site;

            if (dnsbl_site_parse(item, len, &site, &why) == -1) {
                if (vis_cat(&t, item, len > 200 ? 200 : len) == 0)
                    log_line("warning: control/%s: ignoring \"%s\": %s", file,
                             t.s, why);
                bstr_free(&t);
                continue;
            }
            if (n == SITES_MAX) {
                full = true;
                continue;
            }
            out[n++] = site;
        }
    }
    if (full)
        log_line("warning: control/%s: only the first %d sites are used",
                 file, SITES_MAX);
    return n;
}

/* smtpd_dnsbl_load - the sites, threshold and DNS servers (after
 * ctl_load, at start and at every reload).  0, or -1 (no memory). */
int
smtpd_dnsbl_load(struct smtpd_config *cf)
{
    struct smtpd_dnsbl_conf *c = cf->dnsblc;
    const char *t = cf->dnsblthreshold.s ? cf->dnsblthreshold.s : "";
    char *end;
    long th;

    if (c) {
        dns_free(&c->dns);
        free(c);
        cf->dnsblc = NULL;
    }
    if (cf->dnsbl.len == 0 && cf->rhsbl.len == 0)
        return 0;
    c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->nip = load_sites("dnsbl", &cf->dnsbl, c->ip);
    c->nrhs = load_sites("rhsbl", &cf->rhsbl, c->rhs);
    errno = 0;
    th = strtol(t, &end, 10);
    if (*t == '\0') {
        th = 1;
    } else if (errno || *end != '\0' || th < 1 || th > 1000000) {
        /* 0 or less would refuse every client: never that */
        log_line("warning: control/dnsblthreshold: ignoring \"%.40s\": not "
                 "a whole number from 1 up; using 1",
                 t);
        th = 1;
    }
    c->threshold = th;
    c->timeout_ms = (unsigned)cf->dnsbltimeout * 1000;
    if (dns_init(&c->dns, "control/dnsservers") == -1)
        log_line("warning: dnsbl skipped: no DNS servers: %s",
                 c->dns.err.len ? c->dns.err.s : strerror(errno));
    else
        c->dns_ok = true;
    /* a server gets a share of the time; a lost datagram costs a try */
    c->try_ms = c->timeout_ms / (2 * (unsigned)(c->dns.nsrv ? c->dns.nsrv : 1));
    if (c->try_ms > 2000)
        c->try_ms = 2000;
    if (c->try_ms < 300)
        c->try_ms = 300;
    cf->dnsblc = c;
    return 0;
}

/* ---- the session --------------------------------------------------------- */

/* ask - the query for name into *q (-1 when it cannot be made: a name
 * that cannot be asked is skipped, lack of memory logged once). */
static void
ask(struct smtpd_session *s, const char *name, long *q)
{
    struct smtpd_dnsbl *b = s->dnsbl;
    unsigned long made = b->look.made;

    *q = dnsbl_add(&b->look, name);
    if (*q == -1 && errno != EINVAL && !b->warned) {
        log_line("warning: dnsbl skipped ip=%s query=%s: %s", s->remoteip, name,
                 strerror(errno));
        b->warned = true;
    }
    /* dnsbltimeout counts from the last query sent, not asked again */
    if (b->look.made > made)
        b->deadline = deadline_in(b->c->timeout_ms);
}

/* drop - the queries of q[] are no longer needed; q[] becomes empty. */
static void
drop(struct smtpd_dnsbl *b, long *q)
{
    for (size_t i = 0; i < SITES_MAX; i++) {
        if (q[i] >= 0)
            dnsbl_drop(&b->look, (size_t)q[i]);
        q[i] = -1;
    }
}

/* smtpd_dnsbl_start - at connect: the IP queries, unless skipped. */
void
smtpd_dnsbl_start(struct smtpd_session *s)
{
    const struct smtpd_dnsbl_conf *c = s->cf->dnsblc;
    const char *skip = getenv("DNSBLSKIP"), *rbl = getenv("RBLSMTPD");
    struct smtpd_dnsbl *b;
    struct ipaddr ip;

    s->dnsbl = NULL;
    if (!c || !c->dns_ok || (c->nip == 0 && c->nrhs == 0))
        return;
    /* trusted clients skip the anti-spam checks; so does a tcp rule with
     * DNSBLSKIP (the qmail-dnsbl patch's name) or rblsmtpd's RBLSMTPD="" */
    if (s->relayclient || skip || (rbl && *rbl == '\0'))
        return;
    b = calloc(1, sizeof *b);
    if (!b) {
        log_line("warning: dnsbl skipped ip=%s: out of memory", s->remoteip);
        return;
    }
    b->c = c;
    /* the settings' resolver state serves every session of the process;
     * a lookup writes only its error text (d->err) */
    dnsbl_init(&b->look, (struct dns *)&c->dns, c->try_ms);
    for (size_t i = 0; i < SITES_MAX; i++)
        b->ipq[i] = b->heloq[i] = b->fromq[i] = -1;
    s->dnsbl = b;
    if (!ipaddr_scan(s->remoteip, strlen(s->remoteip), &ip))
        return; /* not on the network ("unknown"): no IP to ask about */
    for (size_t i = 0; i < c->nip; i++) {
        if (dnsbl_name(&b->name, &ip, c->ip[i].zone) == -1) {
            log_line("warning: dnsbl skipped ip=%s zone=%s: %s", s->remoteip,
                     c->ip[i].zone,
                     errno == ENAMETOOLONG ? "the query name is too long"
                                           : strerror(errno));
            continue;
        }
        ask(s, b->name.s, &b->ipq[i]);
    }
}

/* plain_domain - a HELO or sender domain worth asking a list about: a
 * name with a dot, not an address literal or a bare IP address. */
static bool
plain_domain(const char *d, size_t len)
{
    struct ipaddr ip;

    if (len == 0 || len > 253 || d[0] == '[' || !memchr(d, '.', len) ||
        memchr(d, '\0', len))
        return false;
    return !ipaddr_scan(d, len, &ip);
}

/*
 * ask_domain - the RHSBL queries of domain into q[], in place of the
 * ones q[] held.  They are dropped after the new ones are asked, so a
 * domain asked again is the same query, not a second one.
 */
static void
ask_domain(struct smtpd_session *s, const char *d, size_t len, long *q)
{
    struct smtpd_dnsbl *b = s->dnsbl;
    long now[SITES_MAX];
    char dom[254];

    for (size_t i = 0; i < SITES_MAX; i++)
        now[i] = -1;
    if (plain_domain(d, len)) {
        memcpy(dom, d, len);
        dom[len] = '\0';
        for (size_t i = 0; i < b->c->nrhs; i++)
            if (dnsbl_rhsname(&b->name, dom, b->c->rhs[i].zone) == 0)
                ask(s, b->name.s, &now[i]);
    }
    drop(b, q);
    memcpy(q, now, sizeof now);
}

/* ask_helo - the queries of the session's HELO domain. */
static void
ask_helo(struct smtpd_session *s)
{
    struct smtpd_dnsbl *b = s->dnsbl;

    ask_domain(s, s->helo.s ? s->helo.s : "", s->helo.len, b->heloq);
    b->heloasked = true;
}

/*
 * smtpd_dnsbl_helo - at HELO/EHLO: the HELO domain's queries, in place
 * of the last HELO's (only the last one is judged).  Past HELO_EARLY of
 * them in a session they wait for MAIL, so that EHLO after EHLO costs no
 * queries.
 */
void
smtpd_dnsbl_helo(struct smtpd_session *s)
{
    struct smtpd_dnsbl *b = s->dnsbl;

    if (!b || b->c->nrhs == 0)
        return;
    b->helodone = false;
    b->heloasked = false;
    if (b->nhelo < HELO_EARLY) {
        b->nhelo++;
        ask_helo(s);
    }
}

/*
 * score - add up the weights of the sites whose answers pass their
 * filters, noting each in detail ("zone:answer,...", for a domain list
 * the whole query name "domain.zone:answer"); a site whose lookup failed
 * is logged and counts nothing.  *best is the zone of the heaviest
 * positive listing.
 */
static long
score(struct smtpd_session *s, const struct dnsbl_site *sites, size_t n,
      const long *q, bool rhs, struct bstr *detail, const char **best)
{
    struct smtpd_dnsbl *b = s->dnsbl;
    long total = 0;
    int top = 0;

    *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const unsigned char(*a)[4];
        size_t na;
        const char *why;
        enum dnsbl_state st;

        if (q[i] < 0)
            continue;
        st = dnsbl_result(&b->look, (size_t)q[i], &a, &na, &why);
        if (st == DNSBL_FAILED || st == DNSBL_PENDING) {
            log_line("warning: dnsbl skipped ip=%s zone=%s query=%s: %s",
                     s->remoteip, sites[i].zone,
                     dnsbl_qname(&b->look, (size_t)q[i]), why);
            continue;
        }
        if (st != DNSBL_LISTED)
            continue;
        for (size_t k = 0; k < na; k++) {
            if (!dnsbl_site_match(&sites[i], a[k]))
                continue;
            total += sites[i].weight;
            if (bstr_catf(detail, "%s%s:%u.%u.%u.%u", detail->len ? "," : "",
                          rhs ? dnsbl_qname(&b->look, (size_t)q[i])
                              : sites[i].zone,
                          a[k][0], a[k][1], a[k][2], a[k][3]) == -1)
                bstr_truncate(detail, 0);
            if (sites[i].weight > top) {
                top = sites[i].weight;
                *best = sites[i].zone;
            }
            break; /* a site counts once, however many records match */
        }
    }
    return total;
}

/*
 * decide - the verdict of one check: r when the score reaches the
 * threshold, with detail ("...;score=N") and *zone (the heaviest site
 * that listed, which the reply names); OC_OK otherwise, and a listing
 * below the threshold is logged.
 */
static enum reason
decide(struct smtpd_session *s, enum reason r, const struct dnsbl_site *sites,
       size_t n, const long *q, const char *check, struct bstr *detail,
       const char **zone)
{
    struct smtpd_dnsbl *b = s->dnsbl;
    long total;

    bstr_truncate(detail, 0);
    total = score(s, sites, n, q, r != OC_DNSBL, detail, zone);
    if (detail->len && bstr_catf(detail, ";score=%ld", total) == -1)
        bstr_truncate(detail, 0);
    if (total < b->c->threshold || !*zone) {
        if (detail->len)
            log_line("dnsbl pass ip=%s check=%s detail=%s threshold=%ld",
                     s->remoteip, check, detail->s, b->c->threshold);
        return OC_OK;
    }
    return r;
}

/*
 * refuse - the reply and log line of a refusal at MAIL: r's text naming
 * zone.  Without the memory for that text the refusal is a temporary
 * one (OC_TEMPFAIL), never a reply with the table's "%s" in it.
 */
static int
refuse(struct smtpd_session *s, enum reason r, const struct bstr *detail,
       const char *zone, const char *from, size_t len)
{
    struct bstr *text = &s->dnsbl->text;

    s->cur_from = from;
    s->cur_from_len = len;
    s->detail = detail->len ? detail->s : NULL;
    bstr_truncate(text, 0);
    if (outcome_cat(text, r, OUTCOME_ARGS(zone)) == 0)
        smtpd_reply_text(s, r, text->s);
    else
        smtpd_reply(s, OC_TEMPFAIL, NULL);
    s->detail = NULL;
    return 1;
}

/*
 * smtpd_dnsbl_mail - at MAIL, after its checks passed: the verdicts for
 * the client's IP, its HELO domain and the sender's domain, in that
 * order.  0 go on; 1 refused (the reply is queued and logged).
 */
int
smtpd_dnsbl_mail(struct smtpd_session *s, const char *from, size_t len)
{
    struct smtpd_dnsbl *b = s->dnsbl;
    const struct smtpd_dnsbl_conf *c;
    const char *at, *zone;
    enum reason r;

    if (!b || s->authuser.len || s->relayclient)
        return 0;
    c = b->c;
    /* a client asking for sender after sender (MAIL, RSET, ...) makes
     * this server a query amplifier against the lists: past the budget
     * its MAILs wait for another session, refused, not let through */
    if (b->look.made >= SESSION_QUERIES) {
        if (!b->spent) {
            log_line("warning: dnsbl ip=%s: %lu lookups in one session",
                     s->remoteip, b->look.made);
            b->spent = true;
        }
        s->cur_from = from;
        s->cur_from_len = len;
        smtpd_reply(s, OC_DNSBL_BUDGET, NULL);
        return 1;
    }
    /* refused at an earlier MAIL: nothing more to ask about */
    if (b->ipdone && b->ipverdict != OC_OK)
        return refuse(s, b->ipverdict, &b->ipdetail, b->ipzone, from, len);
    if (b->heloasked && b->helodone && b->heloverdict != OC_OK)
        return refuse(s, b->heloverdict, &b->helodetail, b->helozone, from,
                      len);
    if (!b->heloasked)
        ask_helo(s); /* a HELO past HELO_EARLY */
    at = len ? memrchr(from, '@', len) : NULL;
    if (at)
        ask_domain(s, at + 1, len - (size_t)(at + 1 - from), b->fromq);
    else
        ask_domain(s, "", 0, b->fromq); /* <>: the last MAIL's go */
    if (dnsbl_wait(&b->look, b->deadline) == -1)
        log_line("warning: dnsbl skipped ip=%s: unable to wait for answers: "
                 "%s",
                 s->remoteip, strerror(errno));
    if (!b->ipdone) {
        b->ipverdict = decide(s, OC_DNSBL, c->ip, c->nip, b->ipq, "ip",
                              &b->ipdetail, &b->ipzone);
        b->ipdone = true;
    }
    if (b->ipverdict != OC_OK)
        return refuse(s, b->ipverdict, &b->ipdetail, b->ipzone, from, len);
    if (!b->helodone) {
        b->heloverdict = decide(s, OC_RHSBL_HELO, c->rhs, c->nrhs, b->heloq,
                                "helo", &b->helodetail, &b->helozone);
        b->helodone = true;
    }
    if (b->heloverdict != OC_OK)
        return refuse(s, b->heloverdict, &b->helodetail, b->helozone, from,
                      len);
    r = decide(s, OC_RHSBL_FROM, c->rhs, c->nrhs, b->fromq, "sender",
               &b->detail, &zone);
    if (r != OC_OK)
        return refuse(s, r, &b->detail, zone, from, len);
    return 0;
}

/* smtpd_dnsbl_end - the session is over: its lookups and verdicts go. */
void
smtpd_dnsbl_end(struct smtpd_session *s)
{
    struct smtpd_dnsbl *b = s->dnsbl;

    if (!b)
        return;
    dnsbl_free(&b->look);
    bstr_free(&b->ipdetail);
    bstr_free(&b->helodetail);
    bstr_free(&b->detail);
    bstr_free(&b->text);
    bstr_free(&b->name);
    free(b);
    s->dnsbl = NULL;
}
