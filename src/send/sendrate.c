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
 * a window that has not ended; ended ones are dropped as the table
 * grows, so memory follows the domains of the last window only.
 * Times come from the caller; nothing here logs or exits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "fmt.h"
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

/* FNV-1a of the domain in lower case */
static size_t
hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch - 'A' + 'a');
        h = (h ^ ch) * 1099511628211ULL;
    }
    return (size_t)h;
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
            free(d);
        }
    free(t->tab);
    memset(t, 0, sizeof *t);
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

/* prune - drop the windows ended by now; grow the table when it is
 * still full after that */
static int
prune(struct sendrate *t, int64_t now)
{
    size_t i;

    for (i = 0; i <= t->mask; i++) {
        struct sendrate_dom **pp = &t->tab[i];

        while (*pp) {
            struct sendrate_dom *d = *pp;

            if (now >= d->start + (int64_t)d->secs || now < d->start) {
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
    const struct sendrate_rule *x = sendrate_rule(r, dom);
    struct sendrate_dom *d;

    *first = false;
    if (!x || !(d = sendrate_find(t, dom)))
        return false;
    /* a window ended, or a clock set back: a new window may begin */
    if (now >= d->start + (int64_t)d->secs || now < d->start)
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
    if (d && (now >= d->start + (int64_t)d->secs || now < d->start)) {
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
        memcpy(d->name, dom, len + 1);
        d->start = now;
        d->count = 0;
        d->logged = false;
        d->next = t->tab[hash(dom) & t->mask];
        t->tab[hash(dom) & t->mask] = d;
        t->n++;
    }
    d->secs = x->secs;
    d->count++;
    return 0;
}
