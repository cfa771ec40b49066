/* SPDX-License-Identifier: ISC */
/*
 * greylist - the greylisting store (see greylist.h) and qmail-smtpd's
 * check at RCPT.
 *
 * The rule is postgrey's: a triplet seen for the first time is refused
 * with a temporary error; a retry at least delay seconds and at most
 * window seconds after that first sight passes, and so does every later
 * one until the triplet has not been used for maxage seconds.  A client
 * network that passed clients times is let through for every triplet
 * (postgrey's auto-whitelist-clients).  Any trouble with the store lets
 * the mail through: greylisting is a filter, and a filter that cannot
 * work must not refuse mail.
 *
 * Two processes meeting on one triplet never hurt each other: creating
 * it is O_EXCL (the loser sees it exists), promoting it is one rename
 * (the loser finds it gone and the passed file there), refreshing it is
 * a futimens of the same value.  Expiry removes only well-formed names
 * whose age says so; a retry that meets its triplet just removed is
 * greylisted once more, as after the window.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bstr.h"
#include "greylist.h"
#include "ipaddr.h"
#include "log.h"
#include "smtpd.h"
#include "stampdir.h"
#include "tls.h"
#include "vis.h"

/*
 * greylist_net - the client's network as text: an address masked to
 * GREYLIST_V4PREFIX or GREYLIST_V6PREFIX bits ("192.0.2.0/24",
 * "2001:db8:1:2::/64"; an IPv4-mapped address as IPv4).  Anything that
 * is not an address ("unknown" outside tcpserver) is kept as it is, cut
 * to fit, after a '?' that no address text has: it is only ever hashed.
 */
void
greylist_net(const char *ip, char out[GREYLIST_NET])
{
    struct ipaddr a;
    size_t n, len = ip ? strlen(ip) : 0;
    unsigned prefix;

    if (len && ipaddr_scan(ip, len, &a)) {
        (void)ipaddr_unmap(&a);
        prefix = a.family == AF_INET ? GREYLIST_V4PREFIX : GREYLIST_V6PREFIX;
        ipaddr_mask(&a, prefix);
        n = ipaddr_fmt(out, &a);
        snprintf(out + n, GREYLIST_NET - n, "/%u", prefix);
        return;
    }
    out[0] = '?';
    n = len < GREYLIST_NET - 2 ? len : GREYLIST_NET - 2;
    if (n)
        memcpy(out + 1, ip, n);
    out[n + 1] = '\0';
}

static void
hex(const unsigned char d[32], char out[GREYLIST_HASH])
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[64] = '\0';
}

/* cat_lower - append s (len bytes) with ASCII letters in lower case */
static int
cat_lower(struct bstr *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];

        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (bstr_catc(b, ch) == -1)
            return -1;
    }
    return 0;
}

/*
 * greylist_hash - the file name of a triplet: the hex SHA-256 of
 * "T" net NUL sender NUL rcpt, the addresses in lower case (a sender
 * that changes its case between tries is the same sender).  The lengths
 * make it unambiguous even when an address holds a NUL.  Returns 0, or
 * -1 (ENOMEM, EIO).
 */
int
greylist_hash(const char *net, const char *sender, size_t slen,
              const char *rcpt, size_t rlen, char out[GREYLIST_HASH])
{
    struct bstr b = BSTR_INIT;
    unsigned char d[32];
    int r = -1;

    if (bstr_catf(&b, "T%s%c%zu:", net, '\0', slen) == 0 &&
        cat_lower(&b, sender, slen) == 0 &&
        bstr_catf(&b, "%c%zu:", '\0', rlen) == 0 &&
        cat_lower(&b, rcpt, rlen) == 0 && tls_sha256(b.s, b.len, d) == 0) {
        hex(d, out);
        r = 0;
    }
    bstr_free(&b);
    return r;
}

/* client_hash - the name of a network's pass counter: "C" net */
static int
client_hash(const char *net, char out[GREYLIST_HASH])
{
    char buf[GREYLIST_NET + 1];
    unsigned char d[32];
    size_t n = strlen(net);

    buf[0] = 'C';
    memcpy(buf + 1, net, n);
    if (tls_sha256(buf, n + 1, d) == -1)
        return -1;
    hex(d, out);
    return 0;
}

/* path - dir/XY/HASH+suffix (XY: the hash's first two digits), and in
 * sub (when not NULL) dir/XY.  0, or -1 (ENAMETOOLONG). */
static int
path(char p[PATH_MAX], char *sub, const char *dir, const char *h,
     const char *suffix)
{
    if ((size_t)snprintf(p, PATH_MAX, "%s/%.2s/%s%s", dir, h, h, suffix) >=
        PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (sub)
        snprintf(sub, PATH_MAX, "%s/%.2s", dir, h);
    return 0;
}

static int
set_mtime(const char *p, time_t when)
{
    struct timespec ts[2];

    ts[0].tv_sec = ts[1].tv_sec = when;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    return utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
}

/* look - lstat p: 1 a regular file (st filled), 0 none, -1 error
 * (EINVAL: something else took the name) */
static int
look(const char *p, struct stat *st)
{
    if (lstat(p, st) == -1)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
    if (!S_ISREG(st->st_mode)) {
        errno = EINVAL;
        return -1;
    }
    return 1;
}

/* create - p made new (its directory sub too, when missing) with mtime
 * now: 1, or 0 when it exists already, or -1 */
static int
create(const char *p, const char *sub, time_t now)
{
    int fd = stampdir_open(p, sub, O_WRONLY | O_CREAT | O_EXCL, 0600);

    if (fd == -1)
        return errno == EEXIST ? 0 : -1;
    return stampdir_close_at(fd, now) == -1 ? -1 : 1;
}

/*
 * client_count - one more pass of net: a byte appended to its counter
 * (O_APPEND: two processes both count), which starts again from nothing
 * when its last pass is maxage old; no more bytes once it reaches
 * clients.  0 or -1.
 */
static int
client_count(const char *dir, const struct greylist_conf *c, const char *net,
             time_t now)
{
    char h[GREYLIST_HASH], p[PATH_MAX], sub[PATH_MAX];
    struct stat st;
    int fd;

    if (client_hash(net, h) == -1 || path(p, sub, dir, h, ".cl") == -1)
        return -1;
    fd = stampdir_open(p, sub, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd == -1)
        return -1;
    if (stampdir_regular(fd, &st) == -1)
        goto fail;
    if (st.st_size > 0 && stampdir_age(st.st_mtime, now) >= c->maxage) {
        if (ftruncate(fd, 0) == -1)
            goto fail;
        st.st_size = 0;
    }
    if ((unsigned long long)st.st_size < c->clients &&
        write(fd, "+", 1) != 1)
        goto fail;
    return stampdir_close_at(fd, now);
fail:
    stampdir_abandon(fd);
    return -1;
}

/*
 * greylist_client - has net passed c->clients times (and the last of
 * them less than maxage ago)?  Returns 1 (its counter's mtime refreshed
 * when an hour old), 0 no (or c->clients is 0), -1 error.
 */
int
greylist_client(const char *dir, const struct greylist_conf *c,
                const char *net, time_t now)
{
    char h[GREYLIST_HASH], p[PATH_MAX];
    struct stat st;
    int r;

    if (c->clients == 0)
        return 0;
    if (client_hash(net, h) == -1 || path(p, NULL, dir, h, ".cl") == -1)
        return -1;
    if ((r = look(p, &st)) != 1)
        return r;
    if ((unsigned long long)st.st_size < c->clients ||
        stampdir_age(st.st_mtime, now) >= c->maxage)
        return 0;
    if (stampdir_age(st.st_mtime, now) >= GREYLIST_REFRESH)
        (void)set_mtime(p, now); /* at worst it expires an hour early */
    return 1;
}

/*
 * greylist_check - the verdict on a triplet at now (age: seconds since
 * its first sight, or since its last pass for GREYLIST_PASS), the store
 * updated to match.  Returns 0, or -1 when the store cannot be used
 * (the caller lets the mail through).
 */
int
greylist_check(const char *dir, const struct greylist_conf *c,
               const char *net, const char *sender, size_t slen,
               const char *rcpt, size_t rlen, time_t now,
               enum greylist_verdict *v, unsigned long *age)
{
    char h[GREYLIST_HASH], ok[PATH_MAX], pend[PATH_MAX], sub[PATH_MAX];
    unsigned long window = c->window > c->delay ? c->window : c->delay;
    struct stat st;
    bool promoted = true;
    int r;

    *age = 0;
    if (greylist_hash(net, sender, slen, rcpt, rlen, h) == -1 ||
        path(ok, NULL, dir, h, ".ok") == -1 ||
        path(pend, sub, dir, h, "") == -1)
        return -1;
    /* passed before: the common case, one lstat */
    if ((r = look(ok, &st)) == -1)
        return -1;
    if (r == 1) {
        *age = stampdir_age(st.st_mtime, now);
        if (*age < c->maxage) {
            if (*age >= GREYLIST_REFRESH && set_mtime(ok, now) == -1 &&
                errno != ENOENT)
                return -1;
            *v = GREYLIST_PASS;
            return 0;
        }
        if (unlink(ok) == -1 && errno != ENOENT)
            return -1;
    }
    /* first sight? (not recorded with norecord: refused all the same) */
    if (c->norecord) {
        if ((r = look(pend, &st)) == -1)
            return -1;
        if (r == 0) {
            *v = GREYLIST_NEW;
            return 0;
        }
    }
    if ((r = create(pend, sub, now)) == -1)
        return -1;
    if (r == 1) {
        *v = GREYLIST_NEW;
        return 0;
    }
    if ((r = look(pend, &st)) == -1)
        return -1;
    if (r == 0) {
        /* promoted (or expired) by another process since our lstat */
        if ((r = look(ok, &st)) == -1)
            return -1;
        *v = r == 1 ? GREYLIST_PASS : GREYLIST_NEW;
        return 0;
    }
    *age = stampdir_age(st.st_mtime, now);
    if (*age < c->delay) {
        *v = GREYLIST_EARLY;
        return 0;
    }
    if (*age > window) {
        /* too late for a retry of that first try: this is a first try */
        if (set_mtime(pend, now) == -1)
            return -1;
        *v = GREYLIST_EXPIRED;
        return 0;
    }
    if (rename(pend, ok) == -1) {
        if (errno != ENOENT)
            return -1;
        /* another process promoted it first, and counted the pass */
        promoted = false;
    }
    if (set_mtime(ok, now) == -1 && errno != ENOENT)
        return -1;
    *v = GREYLIST_PASSED;
    if (promoted && c->clients && client_count(dir, c, net, now) == -1)
        return -1;
    return 0;
}

/* hexname - is name 64 hex digits followed by suffix exactly?  Which
 * suffix: 0 none, 1 ".ok", 2 ".cl"; -1 not one of ours */
static int
kind(const char *name)
{
    size_t i;

    for (i = 0; i < 64; i++)
        if (!((name[i] >= '0' && name[i] <= '9') ||
              (name[i] >= 'a' && name[i] <= 'f')))
            return -1;
    if (name[64] == '\0')
        return 0;
    if (strcmp(name + 64, ".ok") == 0)
        return 1;
    if (strcmp(name + 64, ".cl") == 0)
        return 2;
    return -1;
}

/* what a sweep removes, at now */
struct expiry {
    const struct greylist_conf *c;
    time_t now;
};

/* stale - a triplet not passed and older than the window, or a pass or
 * a counter maxage old; 0 for names not ours */
static int
stale(const char *name, time_t mtime, void *arg)
{
    const struct expiry *x = arg;
    unsigned long window = x->c->window > x->c->delay ? x->c->window
                                                       : x->c->delay;
    unsigned long age = stampdir_age(mtime, x->now);
    int k = kind(name);

    if (k == -1)
        return 0;
    return k == 0 ? age > window : age >= x->c->maxage;
}

/*
 * greylist_expire - remove the stale files of count subdirectories
 * from the first-th (of 256, in hash order, wrapping around): a triplet
 * not passed and older than the window, a pass or a counter maxage old.
 * Other names are left alone.  Returns 0 (removed: how many), or -1.
 */
int
greylist_expire(const char *dir, const struct greylist_conf *c,
                unsigned first, unsigned count, time_t now, size_t *removed)
{
    char d[PATH_MAX];
    struct expiry x = {c, now};

    *removed = 0;
    for (unsigned i = 0; i < count && i < 256; i++) {
        if ((size_t)snprintf(d, sizeof d, "%s/%02x", dir,
                             (first + i) % 256) >= sizeof d) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (stampdir_sweep(d, stale, &x, removed) == -1 && errno != ENOENT)
            return -1;
    }
    return 0;
}

/*
 * greylist_expire_due - the built-in expiry: every GREYLIST_EVERY
 * seconds (the mtime of dir/.expire) GREYLIST_SLICE subdirectories are
 * swept, by whoever takes the stamp's flock first (a process that finds
 * it taken skips, never waits); the whole store in 256 / SLICE slices.
 * Returns 1 (a slice ran; removed: how many), 0 not due, -1 error.
 */
int
greylist_expire_due(const char *dir, const struct greylist_conf *c,
                    time_t now, size_t *removed)
{
    char p[PATH_MAX];
    struct stat st;
    unsigned long long turn = (unsigned long long)now / GREYLIST_EVERY, k = 1;
    unsigned first, count;
    int fd, r;

    *removed = 0;
    if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, GREYLIST_STAMP) >=
        sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if ((r = stampdir_due(p, GREYLIST_EVERY, now, false, &fd)) != 1)
        return r;
    /* every slice whose turn came since the last pass, not only now's:
     * with passes further apart than GREYLIST_EVERY (a quiet server) the
     * slices in between would never be swept */
    if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_mtime < now)
        k = turn - (unsigned long long)st.st_mtime / GREYLIST_EVERY;
    if (k < 1)
        k = 1;
    count = k * GREYLIST_SLICE > 256 ? 256 : (unsigned)(k * GREYLIST_SLICE);
    first = (unsigned)(((turn - (count / GREYLIST_SLICE - 1)) *
                        GREYLIST_SLICE) % 256);
    if (greylist_expire(dir, c, first, count, now, removed) == -1) {
        stampdir_abandon(fd);
        return -1;
    }
    return stampdir_done(fd, now) == -1 ? -1 : 1;
}

/* ---- qmail-smtpd's check at RCPT ------------------------------------ */

/* greylist_off - does tcpserver's environment switch greylisting off for
 * this client (NOGREYLIST set, or GREYLIST=0)? */
static bool
greylist_off(void)
{
    const char *x = getenv("GREYLIST");

    return getenv("NOGREYLIST") != NULL || (x && strcmp(x, "0") == 0);
}

static void
log_trouble(const struct smtpd_session *s, const char *what)
{
    log_line("warning: greylist: unable to %s in %s: %s; accepting "
             "without greylisting ip=%s",
             what, GREYLIST_DIR, strerror(errno), s->remoteip);
}

/*
 * smtpd_greylist - RCPT's greylisting step, after every other check
 * passed: OC_OK, or why the recipient must be tried again later.  Off
 * without control/greylist, for trusted (RELAYCLIENT, POP-before-SMTP)
 * and authenticated clients and when the environment says so.  The
 * decision is made here for every sender, the null sender too (as
 * postgrey does: a bounce from a real MTA is retried like any mail).
 */
enum reason
smtpd_greylist(struct smtpd_session *s, const char *rcpt, size_t rlen)
{
    const struct smtpd_config *cf = s->cf;
    struct greylist_conf c;
    char net[GREYLIST_NET];
    enum greylist_verdict v;
    unsigned long age;
    size_t removed;
    time_t now;

    c.delay = cf->greylist;
    c.window = cf->greylistwindow;
    c.maxage = cf->greylistmaxage;
    c.clients = cf->greylistclients;
    /* what one session can make the store hold is bounded: past
     * GREYLIST_SESSION_NEW new triplets, more are refused unrecorded (a
     * real MTA's retry records them then, a spray of made-up senders or
     * recipients fills no disk) */
    c.norecord = s->grey_new >= GREYLIST_SESSION_NEW;
    if (c.delay == 0 || s->relayclient || s->authuser.len || greylist_off())
        return OC_OK;
    now = time(NULL);
    greylist_net(s->remoteip, net);
    if (greylist_expire_due(GREYLIST_DIR, &c, now, &removed) == -1 &&
        !s->grey_warned) {
        s->grey_warned = true;
        log_line("warning: greylist: unable to expire old entries in %s: "
                 "%s ip=%s",
                 GREYLIST_DIR, strerror(errno), s->remoteip);
    }
    if (s->grey_client == 0) {
        int r = greylist_client(GREYLIST_DIR, &c, net, now);

        if (r == -1) {
            log_trouble(s, "read the client's counter");
            return OC_OK;
        }
        s->grey_client = r == 1 ? 1 : 2;
    }
    if (s->grey_client == 1)
        return OC_OK;
    if (greylist_check(GREYLIST_DIR, &c, net, s->txn.sender.s,
                       s->txn.sender.len, rcpt, rlen, now, &v, &age) == -1) {
        log_trouble(s, "check or record the triplet");
        return OC_OK;
    }
    switch (v) {
    case GREYLIST_PASSED: {
        struct bstr *t = &s->tmp;

        bstr_truncate(t, 0);
        if (bstr_cats(t, "greylist passed ip=") == 0 &&
            bstr_cats(t, s->remoteip) == 0 &&
            bstr_catf(t, " net=%s after=%lus from=<", net, age) == 0 &&
            vis_cat(t, s->txn.sender.s, s->txn.sender.len) == 0 &&
            bstr_cats(t, "> rcpt=<") == 0 && vis_cat(t, rcpt, rlen) == 0 &&
            bstr_catc(t, '>') == 0)
            log_line("%s", t->s);
        return OC_OK;
    }
    case GREYLIST_PASS:
    case GREYLIST_CLIENT:
        return OC_OK;
    case GREYLIST_EARLY:
        return OC_GREYLIST_EARLY;
    case GREYLIST_EXPIRED:
        return OC_GREYLIST_LATE;
    case GREYLIST_NEW:
    default:
        if (!c.norecord)
            s->grey_new++;
        return OC_GREYLIST;
    }
}
