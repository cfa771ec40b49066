/* SPDX-License-Identifier: ISC */
/*
 * ratelimit - rate limits and send quotas in qmail-smtpd (see
 * ratelimit.h for the rules and the file's lines).
 *
 * When counted: a connection when it is accepted (before the greeting),
 * a message at MAIL, a recipient at RCPT once every other check took it.
 * A refusal counts nothing: when one counter of a command is over its
 * limit, the others the same command already counted are taken back, so
 * the store holds exactly what was let through.  Over an ip/net limit:
 * 421 at connect (and the end of the session), 451 4.7.1 at MAIL and
 * RCPT; over a user's or domain's quota: 451 4.7.1 saying the sending
 * quota is exceeded, and once per counter and window (a CAS mark in the
 * store, so one process of all those refusing tells) a log line and a
 * mail to the postmaster.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datetime.h"
#include "fmt.h"
#include "log.h"
#include "qq.h"
#include "ctl.h"
#include "ratelimit.h"
#include "smtpd.h"

static const char *const class_name[RL_CLASSES] = {"ip", "net", "user",
                                                   "domain"};

/* ---- the rules ---------------------------------------------------------- */

static int
ov_cmp(const void *a, const void *b)
{
    const struct ratelimit_override *x = a, *y = b;

    return strcmp(x->key, y->key);
}

/* ov_find - the override of key, or NULL (the array is kept sorted) */
static struct ratelimit_override *
ov_find(const struct ratelimit_rules *r, const char *key)
{
    size_t lo = 0, hi = r->nov;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, r->ov[mid].key);

        if (c == 0)
            return &r->ov[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* ov_set - the override of key, counter: made in its sorted place */
static int
ov_set(struct ratelimit_rules *r, const char *key, unsigned c, uint32_t n)
{
    struct ratelimit_override *o = ov_find(r, key);
    size_t at = 0;

    if (!o) {
        if (r->nov == r->aov) {
            size_t na = r->aov ? r->aov * 2 : 16;
            void *p = reallocarray(r->ov, na, sizeof *r->ov);

            if (!p)
                return -1;
            r->ov = p;
            r->aov = na;
        }
        while (at < r->nov && strcmp(r->ov[at].key, key) < 0)
            at++;
        memmove(r->ov + at + 1, r->ov + at, (r->nov - at) * sizeof *r->ov);
        o = &r->ov[at];
        memset(o, 0, sizeof *o);
        if (!(o->key = strdup(key))) {
            memmove(r->ov + at, r->ov + at + 1,
                    (r->nov - at) * sizeof *r->ov);
            return -1;
        }
        r->nov++;
    }
    o->limit[c] = n;
    o->set |= (uint16_t)(1u << c);
    return 0;
}

/* ratelimit_rules_free - forget every rule (r can be parsed into again). */
void
ratelimit_rules_free(struct ratelimit_rules *r)
{
    for (size_t i = 0; i < r->nov; i++)
        free(r->ov[i].key);
    free(r->ov);
    memset(r, 0, sizeof *r);
    r->sliding = true;
}

/* ratelimit_rules_copy - to becomes a copy of from.  0, or -1 (ENOMEM). */
int
ratelimit_rules_copy(struct ratelimit_rules *to,
                     const struct ratelimit_rules *from)
{
    ratelimit_rules_free(to);
    memcpy(to->limit, from->limit, sizeof to->limit);
    to->sliding = from->sliding;
    if (from->nov == 0)
        return 0;
    if (!(to->ov = calloc(from->nov, sizeof *to->ov)))
        return -1;
    to->aov = from->nov;
    for (size_t i = 0; i < from->nov; i++) {
        to->ov[i] = from->ov[i];
        if (!(to->ov[i].key = strdup(from->ov[i].key)))
            return -1;
        to->nov = i + 1;
    }
    qsort(to->ov, to->nov, sizeof *to->ov, ov_cmp);
    return 0;
}

/* the key of a name given in a rule: ip and net names canonical */
static int
rule_key(struct bstr *out, enum ratelimit_class cls, const char *name,
         size_t len, const char **why)
{
    char ip[64];

    if (cls == RL_IP || cls == RL_NET) {
        const char *slash = memchr(name, '/', len);
        size_t iplen = slash ? (size_t)(slash - name) : len;

        if (iplen == 0 || iplen >= sizeof ip) {
            *why = "not an address";
            return -1;
        }
        memcpy(ip, name, iplen);
        ip[iplen] = '\0';
        if (ratestore_ipkey(out, ip, cls == RL_NET) == -1) {
            *why = errno == ENOMEM ? "out of memory" : "not an address";
            return -1;
        }
        /* the name ends at len: it is not terminated */
        if (slash && (cls == RL_IP || len - iplen != 3 ||
                      memcmp(out->s + out->len - 3, slash, 3) != 0)) {
            *why = "a network is the /24 (IPv4) or /64 (IPv6) of an address";
            return -1;
        }
        return 0;
    }
    /* names in rules are plain ASCII, so a rule's key is its text in
     * lower case ('%' would read as ratestore_namekey's escapes) */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];

        if (ch <= ' ' || ch == 127) {
            *why = "a name with a space or a control character";
            return -1;
        }
        if (ch > 127 || ch == '%') {
            *why = "a name with an 8-bit byte or '%'";
            return -1;
        }
    }
    if (strlen(class_name[cls]) + 1 + len > RATESTORE_KEY_MAX) {
        *why = "name too long";
        return -1;
    }
    if (ratestore_namekey(out, class_name[cls], name, len) == -1) {
        *why = "out of memory";
        return -1;
    }
    return 0;
}

/*
 * ratelimit_parse - add one line of control/ratelimits (or one word of
 * $RATELIMIT) to r: "CLASS:WHAT/PER:N", "CLASS:NAME:WHAT/PER:N" or
 * "window:fixed|sliding"; a later rule for the same thing wins.  Empty
 * and '#' lines are nothing.  Returns 0, or -1 with *why set (the line
 * is ignored; ENOMEM in errno when memory ran out).
 */
int
ratelimit_parse(struct ratelimit_rules *r, const char *line, size_t len,
                const char **why)
{
    const char *c1, *cn, *cl;
    unsigned long long n;
    struct bstr key = BSTR_INIT;
    int cls = -1, counter;

    errno = 0;
    while (len && isspace((unsigned char)line[len - 1]))
        len--;
    while (len && isspace((unsigned char)*line)) {
        line++;
        len--;
    }
    if (len == 0 || *line == '#')
        return 0;
    if (memchr(line, '\0', len)) {
        *why = "a NUL in the line";
        return -1;
    }
    if (ratestore_window_line(line, len, &r->sliding))
        return 0;
    c1 = memchr(line, ':', len);
    for (cl = line + len - 1; cl > line && *cl != ':'; cl--)
        ;
    for (cn = cl - 1; cn > line && *cn != ':'; cn--)
        ;
    if (!c1 || cl <= line || cn < c1) {
        *why = "not CLASS:WHAT/PER:N or CLASS:NAME:WHAT/PER:N";
        return -1;
    }
    for (int k = 0; k < RL_CLASSES; k++)
        if ((size_t)(c1 - line) == strlen(class_name[k]) &&
            memcmp(line, class_name[k], (size_t)(c1 - line)) == 0)
            cls = k;
    if (cls < 0) {
        *why = "the class is not ip, net, user, domain or window";
        return -1;
    }
    counter = ratestore_counter_parse(cn + 1, (size_t)(cl - cn - 1));
    if (counter < 0) {
        *why = "not conn, msgs or rcpts per min, hour or day";
        return -1;
    }
    if ((cls == RL_USER || cls == RL_DOMAIN) &&
        counter / RATE_PERS == RATE_CONN) {
        *why = "connections come before AUTH: conn is for ip and net";
        return -1;
    }
    if (line + len - cl - 1 == 0 ||
        scan_ull(cl + 1, (size_t)(line + len - cl - 1), &n) !=
            (size_t)(line + len - cl - 1) ||
        n > UINT32_MAX - 2) {
        *why = "the limit is not a number";
        return -1;
    }
    if (cn == c1) {
        r->limit[cls][counter] = (uint32_t)n;
        return 0;
    }
    if (rule_key(&key, (enum ratelimit_class)cls, c1 + 1,
                 (size_t)(cn - c1 - 1), why) == -1 ||
        ov_set(r, key.s, (unsigned)counter, (uint32_t)n) == -1) {
        if (errno == ENOMEM)
            *why = "out of memory";
        bstr_free(&key);
        return -1;
    }
    bstr_free(&key);
    return 0;
}

/*
 * ratelimit_limit - the limit of counter for key (of class cls): the
 * key's own rule, else the class's; 0 means none.
 */
uint32_t
ratelimit_limit(const struct ratelimit_rules *r, enum ratelimit_class cls,
                const char *key, unsigned counter)
{
    const struct ratelimit_override *o;

    if (r->nov && (o = ov_find(r, key)) && (o->set & (1u << counter)))
        return o->limit[counter];
    return r->limit[cls][counter];
}

/* ---- in qmail-smtpd ----------------------------------------------------- */

/*
 * parse_words - rules separated by spaces or commas ($RATELIMIT), or one
 * per item of a control list; a bad one is logged and skipped.
 */
static int
parse_words(struct ratelimit_rules *r, const char *s, bool words,
            const char *where)
{
    while (*s) {
        size_t n = words ? strcspn(s, " \t,") : strlen(s);
        const char *why = NULL;

        if (n && ratelimit_parse(r, s, n, &why) == -1) {
            if (errno == ENOMEM)
                return -1;
            log_line("warning: ratelimit: ignoring %s rule \"%.*s\": %s",
                     where, (int)(n > 200 ? 200 : n), s, why);
        }
        s += n;
        if (!words)
            break;
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
    }
    return 0;
}

/*
 * smtpd_rate_load - parse control/ratelimits (cf->ratelimits) into
 * cf->ratec, made at the first call and kept, with its store, for the
 * life of the process.  Returns 0, or -1 (no memory).
 */
int
smtpd_rate_load(struct smtpd_config *cf)
{
    struct smtpd_rate *rt = cf->ratec;

    if (!rt) {
        if (!(rt = calloc(1, sizeof *rt)))
            return -1;
        rt->store.fd = -1;
        rt->path = RATESTORE_PATH;
        ratelimit_rules_free(&rt->file);
        ratelimit_rules_free(&rt->env);
        cf->ratec = rt;
    }
    ratelimit_rules_free(&rt->file);
    for (const char *l = ctl_list_next(&cf->ratelimits, NULL); l;
         l = ctl_list_next(&cf->ratelimits, l))
        if (parse_words(&rt->file, l, false, "control/ratelimits") == -1)
            return -1;
    return 0;
}

static const struct ratelimit_rules *
rules(const struct smtpd_session *s)
{
    const struct smtpd_rate *rt = s->cf->ratec;

    return rt->env_given ? &rt->env : &rt->file;
}

/* store - the store, opened at the first need of each session that has
 * none yet; NULL (logged once a session) when it cannot be had */
static struct ratestore *
store(struct smtpd_session *s)
{
    struct smtpd_rate *rt = s->cf->ratec;

    if (rt->store_open)
        return &rt->store;
    if (s->rate_tried)
        return NULL;
    s->rate_tried = true;
    if (ratestore_open(&rt->store, rt->path, RATESTORE_SLOTS, true) == -1) {
        log_line("warning: ratelimit: unable to open %s: %s: limits not "
                 "enforced ip=%s",
                 rt->path, strerror(errno), s->remoteip);
        return NULL;
    }
    if (rt->store.replaced)
        log_line("warning: ratelimit: %s was not a valid store: replaced "
                 "by an empty one ip=%s",
                 rt->path, s->remoteip);
    rt->store_open = true;
    return &rt->store;
}

/* user_key - "user:NAME" or "domain:DOMAIN" of the AUTH user, as
 * ratestore_namekey writes it.  0, or -1 (none/no memory) */
static int
user_key(struct smtpd_session *s, struct bstr *out, bool domain)
{
    const char *u = s->authuser.s;
    size_t n = s->authuser.len;

    if (domain) {
        const char *at = memrchr(u, '@', n);

        if (!at || at + 1 == u + n)
            return -1;
        n -= (size_t)(at + 1 - u);
        u = at + 1;
    }
    return ratestore_namekey(out, domain ? "domain" : "user", u, n);
}

struct hit {
    uint32_t idx;
    unsigned counter;
};

/* notify - tell the postmaster, in a mail queued with qmail-queue, that
 * a quota was reached; the log line says whether it went */
static void
notify(struct smtpd_session *s, const char *key, unsigned counter,
       uint32_t limit, time_t now)
{
    struct qq q;
    struct bstr *m = &s->cf->ratec->text;
    const char *me = s->cf->me.s;
    const char *name = ratestore_counter_name(counter);
    int code = 111;
    int e = 0;

    bstr_truncate(m, 0);
    e |= bstr_catf(m, "From: MAILER-DAEMON@%s\nTo: postmaster@%s\n"
                      "Subject: sending quota reached: %s %s\nDate: ",
                   me, me, key, name);
    e |= date822_cat(m, now);
    e |= bstr_catf(m,
                   "\nAuto-Submitted: auto-generated\n\n"
                   "qmail-smtpd on %s refused a message from %s because\n"
                   "the sending quota %s (limit %lu) of %s was reached.\n"
                   "Every further message or recipient in this %s gets\n"
                   "451 4.7.1 and is not queued; this is the only notice "
                   "for it.\n\n"
                   "If the account did not send these messages, its "
                   "password may be\nstolen: change it.  To see the "
                   "counters: qmail-rate show %.*s %s\n",
                   me, s->remoteip, name, (unsigned long)limit, key,
                   strchr(name, '/') + 1, (int)strcspn(key, ":"), key,
                   key + strcspn(key, ":") + (key[strcspn(key, ":")] != 0));
    if (e) {
        log_line("warning: ratelimit: out of memory: postmaster not told");
        return;
    }
    qq_init(&q, "bin/qmail-queue", false);
    if (qq_open(&q) == 0) {
        char *pm = NULL;

        qq_put(&q, m->s, m->len);
        qq_from(&q, "", 0);
        bstr_truncate(m, 0);
        if (bstr_catf(m, "postmaster@%s", me) == 0)
            pm = m->s;
        if (pm)
            qq_to(&q, pm, m->len);
        code = qq_close(&q);
        if (!pm && code == 0)
            code = 111;
    }
    log_line("ratelimit: quota reached key=%s counter=%s limit=%lu ip=%s: "
             "%s",
             key, name, (unsigned long)limit, s->remoteip,
             code == 0 ? "postmaster told"
                       : "unable to queue the postmaster's notice");
    qq_end(&q);
}

/*
 * count - count one `what` for the client's ip and net (ipnet) and the
 * AUTH user and its domain (user), against every limit that applies.
 * Returns OC_OK (counted, or not limited, or the store failed: open),
 * or the refusal (nothing counted; s->detail says which rule).
 */
static enum reason
count(struct smtpd_session *s, unsigned what, bool ipnet, bool user)
{
    struct smtpd_rate *rt = s->cf->ratec;
    const struct ratelimit_rules *r;
    struct hit done[RL_CLASSES * RATE_PERS];
    size_t ndone = 0;
    time_t now = time(NULL);
    struct ratestore *st = NULL;

    if (!rt)
        return OC_OK;
    r = rules(s);
    for (int cls = 0; cls < RL_CLASSES; cls++) {
        bool isip = cls == RL_IP || cls == RL_NET;
        uint32_t idx = 0;
        bool have = false;

        if (isip ? !ipnet : !user)
            continue;
        if (isip ? ratestore_ipkey(&rt->key, s->remoteip, cls == RL_NET) == -1
                 : user_key(s, &rt->key, cls == RL_DOMAIN) == -1)
            continue; /* "unknown" outside tcpserver; a user without @ */
        for (unsigned per = 0; per < RATE_PERS; per++) {
            unsigned c = RATE_COUNTER(what, per);
            uint32_t lim = ratelimit_limit(r, (enum ratelimit_class)cls,
                                           rt->key.s, c);
            uint64_t n = 0;
            int w;

            if (lim == 0)
                continue;
            if (!st && !(st = store(s)))
                return OC_OK;
            if (!have) {
                if (ratestore_find(st, rt->key.s, rt->key.len, now, true,
                                   &idx) != 1) {
                    if (!s->rate_warned)
                        log_line("warning: ratelimit: unable to count "
                                 "%s: %s: not limited ip=%s",
                                 rt->key.s,
                                 errno == ENOSPC ? "the store is full"
                                                 : strerror(errno),
                                 s->remoteip);
                    s->rate_warned = true;
                    break;
                }
                have = true;
            }
            if (ratestore_add(st, idx, c, lim, r->sliding, now, &n) == 1) {
                done[ndone].idx = idx;
                done[ndone++].counter = c;
                continue;
            }
            /* over: what this command counted so far is taken back */
            while (ndone) {
                ndone--;
                ratestore_undo(st, done[ndone].idx, done[ndone].counter, now);
            }
            /* the log's detail= is the rule as control/ratelimits says
             * it, the name in it made canonical */
            w = snprintf(rt->detail, sizeof rt->detail, "%s:%s:%lu",
                         rt->key.s, ratestore_counter_name(c),
                         (unsigned long)lim);
            s->detail = w > 0 && (size_t)w < sizeof rt->detail ? rt->detail
                                                                : NULL;
            if (isip)
                return what == RATE_CONN   ? OC_RATE_CONN
                       : what == RATE_MSGS ? OC_RATE_MSGS
                                           : OC_RATE_RCPTS;
            if (ratestore_tell(st, idx, c, now))
                notify(s, rt->key.s, c, lim, now);
            return what == RATE_MSGS ? OC_QUOTA_MSGS : OC_QUOTA_RCPTS;
        }
    }
    return OC_OK;
}

/*
 * smtpd_rate_connect - at the start of a session: this client's rules
 * ($RATELIMIT, $RATELIMITSKIP, trust) and its connection counted.
 * Returns 0, or -1 when it is over a limit: the 421 is queued, logged,
 * and the session must end (s->how "ratelimit").
 */
int
smtpd_rate_connect(struct smtpd_session *s)
{
    struct smtpd_rate *rt = s->cf->ratec;
    const char *x;
    enum reason r;

    if (!rt)
        return 0;
    s->rate_skip = s->tcprelayclient != NULL || getenv("RATELIMITSKIP");
    rt->env_given = false;
    if ((x = getenv("RATELIMIT")) && *x) {
        if (ratelimit_rules_copy(&rt->env, &rt->file) == -1 ||
            parse_words(&rt->env, x, true, "$RATELIMIT") == -1) {
            log_line("warning: ratelimit: out of memory: $RATELIMIT "
                     "ignored ip=%s", s->remoteip);
            ratelimit_rules_free(&rt->env);
        } else {
            rt->env_given = true;
        }
    }
    /* a worker's store gone from under it (removed, replaced): map the
     * file that is there now, at the first need */
    if (rt->store_open && ratestore_moved(&rt->store, rt->path)) {
        ratestore_close(&rt->store);
        rt->store_open = false;
    }
    if (s->rate_skip)
        return 0;
    r = count(s, RATE_CONN, true, false);
    if (r == OC_OK)
        return 0;
    smtpd_reply(s, r, NULL);
    s->fate = OC_OK;
    s->how = "ratelimit";
    return -1;
}

/* smtpd_rate_mail - count a message at MAIL: OC_OK, or the refusal. */
enum reason
smtpd_rate_mail(struct smtpd_session *s)
{
    bool user = s->authuser.len != 0;

    return count(s, RATE_MSGS, !s->rate_skip && !user, user);
}

/* smtpd_rate_rcpt - count a recipient at RCPT: OC_OK, or the refusal. */
enum reason
smtpd_rate_rcpt(struct smtpd_session *s)
{
    bool user = s->authuser.len != 0;

    return count(s, RATE_RCPTS, !s->rate_skip && !user, user);
}
