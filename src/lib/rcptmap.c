/* SPDX-License-Identifier: ISC */
/*
 * rcptmap - the RCPT-time recipient map of the virtual domains (see
 * rcptmap.h for the format and the promises).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "rcptmap.h"

#define MTIME_MAX 40 /* "SECONDS.NANOSECONDS" */

/* lowdup - a lower-case copy of s[0..len) into out. */
static int
lowdup(struct bstr *out, const char *s, size_t len)
{
    if (bstr_copyb(out, s, len) == -1)
        return -1;
    for (size_t i = 0; i < out->len; i++)
        if (out->s[i] >= 'A' && out->s[i] <= 'Z')
            out->s[i] = (char)(out->s[i] - 'A' + 'a');
    return 0;
}

/*
 * name_ok - may s be a file name under users/: not empty, not starting
 * with '.', no '/', NUL or control byte, at most 255 bytes.
 */
static bool
name_ok(const char *s, size_t len)
{
    if (len == 0 || len > 255 || s[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '/' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* path_of - HOME/DIR/NAME (HOME may be NULL: relative to the cwd). */
static int
path_of(struct bstr *p, const char *home, const char *dir, const char *name)
{
    bstr_truncate(p, 0);
    if (home && bstr_catf(p, "%s/", home) == -1)
        return -1;
    return bstr_catf(p, "%s/%s", dir, name);
}

static int
set_why(struct rcptmap_result *res, const char *what, const char *s,
        size_t len)
{
    bstr_truncate(&res->why, 0);
    if (bstr_cats(&res->why, what) == -1 ||
        (s && bstr_catb(&res->why, s, len) == -1))
        return -1;
    return 0;
}

/* mtime_text - st's mtime as "SEC.NSEC". */
static int
mtime_text(const struct stat *st, struct bstr *out)
{
    bstr_truncate(out, 0);
    return bstr_catf(out, "%lld.%09ld", (long long)st->st_mtim.tv_sec,
                     (long)st->st_mtim.tv_nsec);
}

/* meta - the record "\0name" of the open map (1, 0 absent, -1). */
static int
meta(struct cdbmap *m, const char *name, struct bstr *val)
{
    struct bstr key = BSTR_INIT;
    int r;

    if (bstr_catc(&key, '\0') == -1 || bstr_cats(&key, name) == -1) {
        bstr_free(&key);
        return -1;
    }
    r = cdbmap_get(m, key.s, key.len, val);
    bstr_free(&key);
    return r;
}

/* stale - is the map older than the directory it describes? */
static int
stale(struct cdbmap *m, bool *is)
{
    struct bstr dir = BSTR_INIT, was = BSTR_INIT, now = BSTR_INIT;
    struct stat st;
    int r1, r2, e = 0;

    *is = false;
    r1 = meta(m, "dir", &dir);
    r2 = r1 == 1 ? meta(m, "mtime", &was) : 0;
    if (r1 == -1 || r2 == -1) {
        e = errno;
    } else if (r1 == 1 && r2 == 1 && dir.len > 0 && !memchr(dir.s, 0, dir.len)) {
        if (stat(dir.s, &st) == 0) {
            if (mtime_text(&st, &now) == -1)
                e = errno;
            else
                *is = now.len != was.len || memcmp(now.s, was.s, was.len);
        } else if (errno == ENOENT || errno == ENOTDIR) {
            *is = true; /* the domain's directory is gone */
        } /* EACCES: qmaild may not search ~vpopmail; trust the map */
    }
    bstr_free(&dir);
    bstr_free(&was);
    bstr_free(&now);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/* overquota - is the flag of user@domain there and fresh? */
static bool
overquota(const char *home, const char *user, size_t ulen, const char *domain,
          time_t now)
{
    struct bstr name = BSTR_INIT, p = BSTR_INIT;
    struct stat st;
    bool over = false;

    if (bstr_catb(&name, user, ulen) == -1 ||
        bstr_catf(&name, "@%s", domain) == -1 ||
        path_of(&p, home, RCPTMAP_OVERQUOTA_DIR, name.s) == -1)
        goto out;
    if (stat(p.s, &st) == 0 && S_ISREG(st.st_mode) &&
        now - st.st_mtim.tv_sec < RCPTMAP_OVERQUOTA_AGE &&
        st.st_mtim.tv_sec <= now + 60)
        over = true;
out:
    bstr_free(&name);
    bstr_free(&p);
    return over;
}

/* get - the kind of key s[0..len) in m: its first byte, 0 absent, -1. */
static int
get(struct cdbmap *m, const char *s, size_t len, struct bstr *val)
{
    int r = cdbmap_get(m, s, len, val);

    if (r != 1)
        return r;
    return val->len ? (unsigned char)val->s[0] : 'a';
}

/* verdict - done: set it and say why. */
static int
verdict(struct rcptmap_result *res, enum rcptmap_verdict v, const char *what,
        const char *s, size_t len)
{
    res->verdict = v;
    return set_why(res, what, s, len);
}

/* open_map - the map of domain d (lower case): 1, 0 none, -1. */
static int
open_map(struct cdbmap *m, const char *home, const char *d)
{
    struct bstr p = BSTR_INIT;
    int r;

    if (path_of(&p, home, RCPTMAP_DIR, d) == -1)
        return -1;
    /* read, not mapped: a map is opened for a handful of lookups per
     * RCPT, and mapping it costs more than all of them */
    r = cdbmap_open_seek(m, p.s);
    bstr_free(&p);
    if (r == -1)
        return errno == ENOENT ? 0 : -1;
    return 1;
}

/*
 * lookup - local (lower case) in the open map m of the real domain real.
 * Follows qmail-local's order: the exact name, then NAME-... prefixes
 * from the longest (.qmail-NAME-default), then vpopmail's user-ext rule
 * (the account before the first '-').
 */
static int
lookup(struct cdbmap *m, const char *home, const struct bstr *local,
       const char *real, time_t now, struct rcptmap_result *res)
{
    struct bstr val = BSTR_INIT;
    const char *l = local->s;
    size_t n = local->len;
    int k, e = 0;

    k = get(m, l, n, &val);
    if (k == -1)
        goto fail;
    if (k == RCPTMAP_MAILBOX) {
        bstr_free(&val);
        if (overquota(home, l, n, real, now))
            return verdict(res, RCPTMAP_OVERQUOTA, "mailbox full: ", l, n);
        return verdict(res, RCPTMAP_OK, "mailbox", NULL, 0);
    }
    if (k > 0) {
        bstr_free(&val);
        return verdict(res, RCPTMAP_OK, "alias", NULL, 0);
    }
    for (size_t i = n; i-- > 0;) {
        if (l[i] != '-')
            continue;
        k = get(m, l, i + 1, &val);
        if (k == -1)
            goto fail;
        if (k > 0) {
            bstr_free(&val);
            return verdict(res, RCPTMAP_OK, "prefix ", l, i + 1);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (l[i] != '-')
            continue;
        k = get(m, l, i, &val);
        if (k == -1)
            goto fail;
        bstr_free(&val);
        if (k == RCPTMAP_MAILBOX) {
            if (overquota(home, l, i, real, now))
                return verdict(res, RCPTMAP_OVERQUOTA, "mailbox full: ", l, i);
            return verdict(res, RCPTMAP_OK, "extension of ", l, i);
        }
        break;
    }
    bstr_free(&val);
    return verdict(res, RCPTMAP_UNKNOWN, "no such mailbox", NULL, 0);
fail:
    e = errno;
    bstr_free(&val);
    errno = e;
    return -1;
}

/*
 * rcptmap_check - may local@domain take mail, as far as the map of
 * domain under home (NULL: the cwd) knows?  Returns 0 with the verdict
 * in res (free it with rcptmap_result_free), or -1 (no memory).  Trouble
 * with the map itself is the verdict RCPTMAP_ERROR, never a refusal.
 */
int
rcptmap_check(const char *home, const char *local, size_t llen,
              const char *domain, size_t dlen, time_t now,
              struct rcptmap_result *res)
{
    struct bstr d = BSTR_INIT, l = BSTR_INIT, val = BSTR_INIT,
                real = BSTR_INIT;
    struct cdbmap m, rm;
    bool is_stale, m_open = false, rm_open = false;
    int r, ret = 0;

    res->verdict = RCPTMAP_NOMAP;
    if (lowdup(&d, domain, dlen) == -1 || lowdup(&l, local, llen) == -1)
        goto nomem;
    if (!name_ok(d.s, d.len) || memchr(d.s, '\0', d.len)) {
        if (set_why(res, "not a domain name", NULL, 0) == -1)
            goto nomem;
        goto out;
    }
    r = open_map(&m, home, d.s);
    if (r == 0) {
        if (set_why(res, "no map", NULL, 0) == -1)
            goto nomem;
        goto out;
    }
    if (r == -1)
        goto error;
    m_open = true;
    r = meta(&m, "policy", &val);
    if (r == -1)
        goto error;
    if (r == 1 && val.len == 6 && memcmp(val.s, "accept", 6) == 0) {
        if (verdict(res, RCPTMAP_ACCEPT, "the domain accepts every name",
                    NULL, 0) == -1)
            goto nomem;
        goto out;
    }
    r = meta(&m, "real", &real);
    if (r == -1)
        goto error;
    if (r == 0 || real.len == 0 || !name_ok(real.s, real.len) ||
        memchr(real.s, '\0', real.len)) {
        errno = EINVAL; /* a map without its domain is damaged */
        goto error;
    }
    if (real.len != d.len || memcmp(real.s, d.s, d.len) != 0) {
        /* an alias domain: the names are the real domain's */
        r = open_map(&rm, home, real.s);
        if (r == 0) {
            if (verdict(res, RCPTMAP_ERROR, "alias of a domain without a "
                                            "map: ",
                        real.s, real.len) == -1)
                goto nomem;
            goto out;
        }
        if (r == -1)
            goto error;
        rm_open = true;
        r = meta(&rm, "policy", &val);
        if (r == -1)
            goto error;
        if (r == 1 && val.len == 6 && memcmp(val.s, "accept", 6) == 0) {
            if (verdict(res, RCPTMAP_ACCEPT, "the domain accepts every name",
                        NULL, 0) == -1)
                goto nomem;
            goto out;
        }
    }
    if (stale(rm_open ? &rm : &m, &is_stale) == -1)
        goto error;
    if (is_stale) {
        if (verdict(res, RCPTMAP_STALE, "the domain's directory changed "
                                        "after the map was built (run "
                                        "qmail-newu)",
                    NULL, 0) == -1)
            goto nomem;
        goto out;
    }
    if (l.len == 0 || memchr(l.s, '\0', l.len) || memchr(l.s, '/', l.len)) {
        if (verdict(res, RCPTMAP_UNKNOWN, "no such mailbox", NULL, 0) == -1)
            goto nomem;
        goto out;
    }
    if (l.len == 10 && memcmp(l.s, "postmaster", 10) == 0) {
        if (verdict(res, RCPTMAP_OK, "postmaster (RFC 5321 4.5.1)", NULL,
                    0) == -1)
            goto nomem;
        goto out;
    }
    if (lookup(rm_open ? &rm : &m, home, &l, real.s, now, res) == -1)
        goto error;
    goto out;
error:
    if (verdict(res, RCPTMAP_ERROR, "map unreadable: ", strerror(errno),
                strlen(strerror(errno))) == -1)
        goto nomem;
    goto out;
nomem:
    ret = -1;
out:
    if (m_open)
        cdbmap_close(&m);
    if (rm_open)
        cdbmap_close(&rm);
    bstr_free(&d);
    bstr_free(&l);
    bstr_free(&val);
    bstr_free(&real);
    if (ret == -1)
        errno = ENOMEM;
    return ret;
}

void
rcptmap_result_free(struct rcptmap_result *res)
{
    bstr_free(&res->why);
}

/*
 * rcptmap_make_start - begin the new map of domain (lower case) under
 * home; the old one stays in force until rcptmap_make_finish.  0, or -1
 * with errno (EINVAL: not a name the map can have).
 */
int
rcptmap_make_start(struct rcptmap_make *m, const char *home,
                   const char *domain)
{
    struct bstr fin = BSTR_INIT, tmp = BSTR_INIT, name = BSTR_INIT;
    int r;

    if (!name_ok(domain, strlen(domain))) {
        errno = EINVAL;
        return -1;
    }
    /* a dot file: no domain name starts with '.', so no lookup finds it */
    if (path_of(&fin, home, RCPTMAP_DIR, domain) == -1 ||
        bstr_catf(&name, ".%s.tmp.%ld", domain, (long)getpid()) == -1 ||
        path_of(&tmp, home, RCPTMAP_DIR, name.s) == -1)
        r = -1;
    else
        r = cdbmap_make_start(&m->mk, fin.s, tmp.s);
    bstr_free(&fin);
    bstr_free(&tmp);
    bstr_free(&name);
    if (r == 0 && fchmod(m->mk.fd, 0644) == -1) {
        cdbmap_make_abort(&m->mk);
        return -1;
    }
    return r;
}

static int
add_meta(struct rcptmap_make *m, const char *name, const char *val)
{
    struct bstr key = BSTR_INIT;
    int r;

    if (bstr_catc(&key, '\0') == -1 || bstr_cats(&key, name) == -1)
        r = -1;
    else
        r = cdbmap_make_add(&m->mk, key.s, key.len, val, strlen(val));
    bstr_free(&key);
    return r;
}

/*
 * rcptmap_make_meta - the domain's policy (accept: every name takes
 * mail), the real domain whose names these are, and its directory, whose
 * mtime is taken now: call it after the last change to that directory.
 * 0, or -1 with errno.
 */
int
rcptmap_make_meta(struct rcptmap_make *m, bool accept, const char *real,
                  const char *dir)
{
    struct bstr mt = BSTR_INIT;
    struct stat st;
    int r;

    if (stat(dir, &st) == -1)
        return -1;
    r = mtime_text(&st, &mt) == -1 ||
                add_meta(m, "policy", accept ? "accept" : "check") == -1 ||
                add_meta(m, "real", real) == -1 ||
                add_meta(m, "dir", dir) == -1 ||
                add_meta(m, "mtime", mt.s) == -1
            ? -1
            : 0;
    bstr_free(&mt);
    return r;
}

/*
 * rcptmap_make_add - name (lower case, as in the address) takes mail;
 * kind says how.  A prefix is given with its trailing '-'.  0, or -1.
 */
int
rcptmap_make_add(struct rcptmap_make *m, const char *name, size_t len,
                 enum rcptmap_kind kind)
{
    char v = (char)kind;

    if (len == 0 || memchr(name, '\0', len)) {
        errno = EINVAL;
        return -1;
    }
    return cdbmap_make_add(&m->mk, name, len, &v, 1);
}

/* rcptmap_make_finish - the new map in place, its directory synced. */
int
rcptmap_make_finish(struct rcptmap_make *m)
{
    struct bstr dir = BSTR_INIT;
    char *slash;
    int r;

    if (bstr_copys(&dir, m->mk.final.s) == -1) {
        rcptmap_make_abort(m);
        return -1;
    }
    slash = strrchr(dir.s, '/');
    if (slash)
        *slash = '\0';
    r = cdbmap_make_finish(&m->mk);
    if (r == 0)
        r = atomicfile_syncdir(slash ? dir.s : ".");
    bstr_free(&dir);
    return r;
}

void
rcptmap_make_abort(struct rcptmap_make *m)
{
    cdbmap_make_abort(&m->mk);
}

/* rcptmap_remove - no map for domain any more (none: fine).  0 or -1. */
int
rcptmap_remove(const char *home, const char *domain)
{
    struct bstr p = BSTR_INIT;
    int r = -1;

    if (!name_ok(domain, strlen(domain))) {
        errno = EINVAL;
        return -1;
    }
    if (path_of(&p, home, RCPTMAP_DIR, domain) == 0) {
        r = unlink(p.s) == -1 && errno != ENOENT ? -1 : 0;
        if (r == 0) {
            bstr_truncate(&p, 0);
            if (path_of(&p, home, RCPTMAP_DIR, ".") == 0 &&
                atomicfile_syncdir(p.s) == -1 && errno != ENOENT)
                r = -1; /* no directory: no map to have removed */
        }
    }
    bstr_free(&p);
    return r;
}

/*
 * rcptmap_fresh - is the map of domain there and built after the last
 * change to its domain's directory?  1 yes, 0 no (missing, stale,
 * damaged), -1 with errno (no memory, or the map unreadable).
 */
int
rcptmap_fresh(const char *home, const char *domain)
{
    struct cdbmap m;
    bool is_stale;
    int r;

    if (!name_ok(domain, strlen(domain)))
        return 0;
    r = open_map(&m, home, domain);
    if (r != 1)
        return r;
    r = stale(&m, &is_stale) == -1 ? 0 : !is_stale;
    cdbmap_close(&m);
    return r;
}

/*
 * rcptmap_overquota_set - raise (over) or clear the over-quota flag of
 * user@domain (both lower case).  Raising it again refreshes its time.
 * 0, or -1 with errno (EINVAL: a name that cannot be a file name).
 */
int
rcptmap_overquota_set(const char *home, const char *user, const char *domain,
                      bool over)
{
    struct bstr name = BSTR_INIT, p = BSTR_INIT;
    int r = -1, fd;

    if (!name_ok(user, strlen(user)) || !name_ok(domain, strlen(domain)) ||
        strchr(user, '@')) {
        errno = EINVAL;
        return -1;
    }
    if (bstr_catf(&name, "%s@%s", user, domain) == -1 ||
        path_of(&p, home, RCPTMAP_OVERQUOTA_DIR, name.s) == -1)
        goto out;
    if (!over) {
        r = unlink(p.s) == -1 && errno != ENOENT ? -1 : 0;
        goto out;
    }
    fd = open(p.s, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd == -1)
        goto out;
    r = futimens(fd, NULL);
    if (close(fd) == -1)
        r = -1;
out:
    bstr_free(&name);
    bstr_free(&p);
    return r;
}
