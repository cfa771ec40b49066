/* SPDX-License-Identifier: ISC */
/*
 * sendrate - per-destination outbound rate limits (control/ratelimitremote,
 * qmail-control(5)): at most M remote deliveries start to one domain in a
 * window of S seconds.  A window begins with the first delivery to the
 * domain after the last window ended; once M deliveries started in it,
 * the domain's other recipients wait in the queue until it ends (no
 * attempt, no deferral, no retry counted, no bounce), and go then.
 *
 * The rules are lines "domain:M:S": an exact domain, ".example.com" for
 * every domain under example.com, or "*" for every other domain; M 0
 * means no limit (an exception to "*").  The most specific rule wins, as
 * in smtproutes.  Each destination domain has its own window (the rule
 * only gives the numbers), kept in a hash table of the domains seen in
 * a window that has not ended or with messages parked; the others are
 * dropped as the table grows, so memory follows the domains of the last
 * window and the held ones only.
 *
 * A message with nothing left but held recipients is parked with one of
 * their domains (its number and generation, 16 bytes, in arrival order;
 * nothing of it stays loaded).  When the domain's window ends, as many
 * parked messages as the next window admits are let go, the rest wait
 * for the end of that one: held mail is read from disk again at the
 * pace its limit allows, not all of it at every window's end.
 * Times come from the caller; nothing here logs or exits.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "fmt.h"
#include "fnv.h"
#include "grow.h"
#include "send.h"

#define SENDRATE_SECS_MAX 604800UL   /* a window of a week at most */
#define SENDRATE_MAX 1000000UL       /* deliveries per window at most */

static int
scan_field(const char *s, size_t len, unsigned long max, unsigned long *out)
{
    unsigned long u;

    if (len == 0 || len > 10 || scan_ulong(s, len, &u) != len || u > max)
        return -1;
    *out = u;
    return 0;
}

static bool
domain_ok(const char *d, size_t len)
{
    if (len == 1 && d[0] == '*')
        return true;
    if (len == 0 || len > 255)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)d[i];

        /* names, IDNs in UTF-8, literals' brackets; no blanks, no
         * controls, no '@' */
        if (ch <= ' ' || ch == 0x7f || ch == '@' || ch == ':')
            return false;
    }
    return true;
}

/*
 * sendrate_parse - the rules of list (ctl's NUL-separated lines) into r
 * (fresh).  Returns 0, or -1: EINVAL (a line that is not
 * "domain:M:S" with 1 <= S <= a week; r->bad points into list at it),
 * ENOMEM.
 */
int
sendrate_parse(struct sendrate_rules *r, const struct bstr *list)
{
    size_t n = 0;

    memset(r, 0, sizeof *r);
    for (const char *it = ctl_list_next(list, NULL); it;
         it = ctl_list_next(list, it))
        n++;
    if (n == 0)
        return 0;
    r->v = calloc(n, sizeof *r->v);
    if (!r->v)
        return -1;
    for (const char *it = ctl_list_next(list, NULL); it;
         it = ctl_list_next(list, it)) {
        const char *c1 = strchr(it, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        struct sendrate_rule *x = &r->v[r->n];
        size_t dl;

        if (!c1 || !c2 || !domain_ok(it, (size_t)(c1 - it)) ||
            scan_field(c1 + 1, (size_t)(c2 - c1 - 1), SENDRATE_MAX, &x->max) ==
                -1 ||
            scan_field(c2 + 1, strlen(c2 + 1), SENDRATE_SECS_MAX, &x->secs) ==
                -1 ||
            x->secs == 0) {
            r->bad = it;
            errno = EINVAL;
            return -1;
        }
        dl = (size_t)(c1 - it);
        x->dom = strndup(it, dl);
        if (!x->dom)
            return -1;
        r->n++;
    }
    return 0;
}

void
sendrate_rules_free(struct sendrate_rules *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].dom);
    free(r->v);
    memset(r, 0, sizeof *r);
}

static const struct sendrate_rule *
find_rule(const struct sendrate_rules *r, const char *dom)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcasecmp(r->v[i].dom, dom) == 0)
            return &r->v[i];
    return NULL;
}

/*
 * sendrate_rule - the rule for dom: its own line, else that of the
 * nearest ".parent" (for a.b.example.com: .b.example.com, .example.com,
 * .com), else "*"; NULL when none applies or the one that does says 0.
 */
const struct sendrate_rule *
sendrate_rule(const struct sendrate_rules *r, const char *dom)
{
    const struct sendrate_rule *x;

    if (r->n == 0)
        return NULL;
    x = find_rule(r, dom);
    for (const char *p = strchr(dom, '.'); !x && p; p = strchr(p + 1, '.'))
        x = find_rule(r, p);
    if (!x)
        x = find_rule(r, "*");
    return x && x->max ? x : NULL;
}

/* the table's hash: of the domain in lower case */
static size_t
hash(const char *s)
{
    return (size_t)fnv1a_lower(s, strlen(s));
}

int
sendrate_init(struct sendrate *t)
{
    memset(t, 0, sizeof *t);
    t->mask = 63;
    t->tab = calloc(t->mask + 1, sizeof *t->tab);
    return t->tab ? 0 : -1;
}

void
sendrate_free(struct sendrate *t)
{
    for (size_t i = 0; t->tab && i <= t->mask; i++)
        while (t->tab[i]) {
            struct sendrate_dom *d = t->tab[i];

            t->tab[i] = d->next;
            free(d->pv);
            free(d);
        }
    free(t->tab);
    free(t->wheap);
    memset(t, 0, sizeof *t);
}

/* ended - has d's window ended at now (or the clock been set back)? */
static bool
ended(const struct sendrate_dom *d, int64_t now)
{
    return now >= d->start + (int64_t)d->secs || now < d->start;
}

/* sendrate_find - dom's window, or NULL when it has none */
struct sendrate_dom *
sendrate_find(const struct sendrate *t, const char *dom)
{
    if (!t->tab)
        return NULL;
    for (struct sendrate_dom *d = t->tab[hash(dom) & t->mask]; d; d = d->next)
        if (strcasecmp(d->name, dom) == 0)
            return d;
    return NULL;
}

/* prune - drop the windows ended by now (of domains with nothing
 * parked); grow the table when it is still full after that */
static int
prune(struct sendrate *t, int64_t now)
{
    size_t i;

    for (i = 0; i <= t->mask; i++) {
        struct sendrate_dom **pp = &t->tab[i];

        while (*pp) {
            struct sendrate_dom *d = *pp;

            if (d->pn == 0 && ended(d, now)) {
                *pp = d->next;
                free(d);
                t->n--;
            } else {
                pp = &d->next;
            }
        }
    }
    if (t->n >= t->mask) {
        size_t nmask = t->mask * 2 + 1;
        struct sendrate_dom **nt = calloc(nmask + 1, sizeof *nt);

        if (!nt)
            return -1;
        for (i = 0; i <= t->mask; i++)
            while (t->tab[i]) {
                struct sendrate_dom *d = t->tab[i];

                t->tab[i] = d->next;
                d->next = nt[hash(d->name) & nmask];
                nt[hash(d->name) & nmask] = d;
            }
        free(t->tab);
        t->tab = nt;
        t->mask = nmask;
    }
    return 0;
}

/*
 * sendrate_held - may a remote delivery to dom start at now?  False
 * when no rule limits it or its window has room; true when the window's
 * M deliveries have started: *until says when the window ends, and
 * *first is true the first time this window holds something back (the
 * caller logs it once per window, not once per message).
 */
bool
sendrate_held(struct sendrate *t, const struct sendrate_rules *r,
              const char *dom, int64_t now, int64_t *until, bool *first)
{
    const struct sendrate_rule *x;
    struct sendrate_dom *d;

    *first = false;
    /* cheapest first: no rules, no window (no rule limits dom, or
     * nothing started to it lately), or one that has ended (or a clock
     * set back): a new window may begin.  The rule is looked for (a
     * walk up dom's labels) only for a window still running. */
    if (r->n == 0 || !(d = sendrate_find(t, dom)) || ended(d, now) ||
        !(x = sendrate_rule(r, dom)))
        return false;
    /* the rule may have changed (SIGHUP): its numbers apply at once */
    d->secs = x->secs;
    if (d->count < x->max)
        return false;
    *until = d->start + (int64_t)x->secs;
    if (!d->logged) {
        d->logged = true;
        *first = true;
    }
    return true;
}

/*
 * sendrate_count - a remote delivery to dom starts at now: counted in
 * its window (begun now when it has none).  Returns 0, or -1 (ENOMEM:
 * the delivery goes uncounted).
 */
int
sendrate_count(struct sendrate *t, const struct sendrate_rules *r,
               const char *dom, int64_t now)
{
    const struct sendrate_rule *x = sendrate_rule(r, dom);
    struct sendrate_dom *d;
    size_t len;

    if (!x)
        return 0;
    d = sendrate_find(t, dom);
    if (d && ended(d, now)) {
        d->start = now;
        d->count = 0;
        d->logged = false;
    }
    if (!d) {
        if (t->n >= t->mask && prune(t, now) == -1)
            return -1;
        len = strlen(dom);
        d = malloc(sizeof *d + len + 1);
        if (!d)
            return -1;
        memset(d, 0, sizeof *d);
        memcpy(d->name, dom, len + 1);
        d->start = now;
        d->next = t->tab[hash(dom) & t->mask];
        t->tab[hash(dom) & t->mask] = d;
        t->n++;
    }
    d->secs = x->secs;
    d->count++;
    return 0;
}

/* ---- parked messages, and when to let them go ----------------------- */

/* wheap_put - the wake heap's slot i holds d */
static void
wheap_put(struct sendrate *t, size_t i, struct sendrate_dom *d)
{
    t->wheap[i] = d;
    d->hpos = i;
}

/* wheap_up, wheap_down - d at slot i moves to where its wake belongs */
static void
wheap_up(struct sendrate *t, size_t i)
{
    struct sendrate_dom *d = t->wheap[i];

    while (i > 0 && t->wheap[(i - 1) / 2]->wake > d->wake) {
        wheap_put(t, i, t->wheap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    wheap_put(t, i, d);
}

static void
wheap_down(struct sendrate *t, size_t i)
{
    struct sendrate_dom *d = t->wheap[i];

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= t->wn)
            break;
        if (c + 1 < t->wn && t->wheap[c + 1]->wake < t->wheap[c]->wake)
            c++;
        if (t->wheap[c]->wake >= d->wake)
            break;
        wheap_put(t, i, t->wheap[c]);
        i = c;
    }
    wheap_put(t, i, d);
}

/*
 * sendrate_park - message id (its remote channel at generation gen) waits
 * for dom's window, which ends at when: it goes to the end of dom's
 * parked ones, and dom is looked at again by then.  Returns 0, or -1:
 * ENOMEM, or ENOENT when dom has no window (the caller keeps the message
 * some other way).
 */
int
sendrate_park(struct sendrate *t, const char *dom, uint64_t id, uint32_t gen,
              int64_t when)
{
    struct sendrate_dom *d = sendrate_find(t, dom);

    if (!d) {
        errno = ENOENT;
        return -1;
    }
    if (d->pn == 0 &&
        grow(&t->wheap, &t->wcap, t->wn + 1, sizeof *t->wheap, 16) == -1)
        return -1;
    if (d->ph + d->pn == d->pcap) {
        if (d->ph > 0 && d->ph >= d->pn) {
            /* half of it or more let go already: move down, no growth */
            memmove(d->pv, d->pv + d->ph, d->pn * sizeof *d->pv);
            d->ph = 0;
        } else if (grow(&d->pv, &d->pcap, d->pcap + 1, sizeof *d->pv, 16) ==
                   -1) {
            return -1;
        }
    }
    d->pv[d->ph + d->pn].id = id;
    d->pv[d->ph + d->pn].gen = gen;
    t->parked++;
    if (d->pn++ == 0) {
        d->wake = when;
        wheap_put(t, t->wn++, d);
        wheap_up(t, d->hpos);
    } else if (when < d->wake) {
        d->wake = when;
        wheap_up(t, d->hpos);
    }
    return 0;
}

/*
 * sendrate_release - every domain whose wake has come by now lets go as
 * many of its parked messages, first parked first, as its window admits:
 * all of them once no rule limits it; M (the rule's) when its window has
 * ended, since a new one begins with the next delivery; what is left of
 * M in a window still running.  Each is handed to go, which says whether
 * it still waited (one requeued or removed since takes no place).  The
 * rest stay parked, the domain looked at again when its window ends: the
 * running one's, or the one those let go begin (now plus S; if they are
 * slower to start, that one is found running then, and its end waited
 * for).
 */
void
sendrate_release(struct sendrate *t, const struct sendrate_rules *r,
                 int64_t now, bool (*go)(uint64_t id, uint32_t gen, void *arg),
                 void *arg)
{
    while (t->wn && t->wheap[0]->wake <= now) {
        struct sendrate_dom *d = t->wheap[0];
        const struct sendrate_rule *x = sendrate_rule(r, d->name);
        unsigned long left = ULONG_MAX;
        int64_t next = 0;

        if (x && !ended(d, now)) {
            /* as sendrate_held: a changed rule applies at once (a window
             * it ends is found ended on the next pass of this loop) */
            d->secs = x->secs;
            left = d->count < x->max ? x->max - d->count : 0;
            next = d->start + (int64_t)x->secs;
        } else if (x) {
            left = x->max;
            next = now + (int64_t)x->secs;
        }
        while (left && d->pn) {
            struct sendrate_parked p = d->pv[d->ph++];

            d->pn--;
            t->parked--;
            if (go(p.id, p.gen, arg))
                left--;
        }
        if (d->pn == 0) {
            /* out of the heap: its last slot's domain takes its place */
            struct sendrate_dom *last = t->wheap[--t->wn];

            free(d->pv);
            d->pv = NULL;
            d->ph = d->pcap = 0;
            if (last != d) {
                wheap_put(t, 0, last);
                wheap_down(t, 0);
            }
        } else {
            d->wake = next;
            wheap_down(t, 0);
        }
    }
}

/* sendrate_waiting - are messages parked for dom? */
bool
sendrate_waiting(const struct sendrate *t, const char *dom)
{
    const struct sendrate_dom *d;

    return t->parked && (d = sendrate_find(t, dom)) && d->pn;
}

/* sendrate_wake - when a domain with parked messages is to be looked at
 * next; 0 when none has any */
int64_t
sendrate_wake(const struct sendrate *t)
{
    return t->wn ? t->wheap[0]->wake : 0;
}

/*
 * sendrate_recheck - the rules changed (SIGHUP): every domain with parked
 * messages is looked at at now, so that the new rules decide how many go
 * (a lifted limit lets all of them go, a kept one as many as it admits).
 */
void
sendrate_recheck(struct sendrate *t, int64_t now)
{
    /* the same wake for all: still a heap */
    for (size_t i = 0; i < t->wn; i++)
        t->wheap[i]->wake = now;
}
