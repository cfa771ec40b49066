/* SPDX-License-Identifier: ISC */
/*
 * assign - parsing users/assign, building users/cdb, looking addresses up
 * (see assign.h for the format).
 *
 * Stricter than qmail-1.03's qmail-newu where qmail would have built a
 * map that fails at delivery time: uid and gid must be numbers and the
 * home directory absolute (qmail-local refuses a relative one).  Text
 * after the seventh colon is ignored, as qmail does.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "assign.h"
#include "cdbmap.h"
#include "fmt.h"

static bool
number(const char *s, size_t len, unsigned long *v)
{
    if (len == 0 || len > 10 || scan_ulong(s, len, v) != len)
        return false;
    return *v < 4294967295UL; /* (uid_t)-1 means "no change" to setuid */
}

/*
 * assign_parse_line - one line of users/assign, without its newline.
 * Returns ASSIGN_ENTRY (e filled), ASSIGN_END (the final "." line: qmail
 * stops at any line starting with a dot) or ASSIGN_BAD (*why says why).
 */
int
assign_parse_line(const char *line, size_t len, struct assign_entry *e,
                  const char **why)
{
    const char *f[7];
    size_t flen[7];
    size_t pos = 1, k = 0;

    *why = NULL;
    if (len > 0 && line[0] == '.')
        return ASSIGN_END;
    if (memchr(line, '\0', len)) {
        *why = "line contains a NUL byte";
        return ASSIGN_BAD;
    }
    if (len == 0 || (line[0] != '=' && line[0] != '+')) {
        *why = "line must begin with '=' or '+' (or be the final '.')";
        return ASSIGN_BAD;
    }
    while (k < 7) {
        const char *colon = memchr(line + pos, ':', len - pos);

        if (!colon) {
            *why = "too few fields (want local:user:uid:gid:home:dash:ext:)";
            return ASSIGN_BAD;
        }
        f[k] = line + pos;
        flen[k] = (size_t)(colon - (line + pos));
        pos += flen[k] + 1;
        k++;
    }
    e->type = line[0];
    e->local = f[0];
    e->locallen = flen[0];
    e->user = f[1];
    e->userlen = flen[1];
    e->home = f[4];
    e->homelen = flen[4];
    e->dash = f[5];
    e->dashlen = flen[5];
    e->ext = f[6];
    e->extlen = flen[6];
    if (e->userlen == 0) {
        *why = "user name is empty";
        return ASSIGN_BAD;
    }
    if (!number(f[2], flen[2], &e->uid)) {
        *why = "uid is not a number";
        return ASSIGN_BAD;
    }
    if (!number(f[3], flen[3], &e->gid)) {
        *why = "gid is not a number";
        return ASSIGN_BAD;
    }
    if (e->homelen == 0 || e->home[0] != '/') {
        *why = "home directory is not an absolute path";
        return ASSIGN_BAD;
    }
    return ASSIGN_ENTRY;
}

static void
lower(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            s[i] = (char)(s[i] - 'A' + 'a');
}

/* assign_key - the cdb key of an entry ("!local\0" or "!loc"). */
int
assign_key(struct bstr *key, const struct assign_entry *e)
{
    if (bstr_copys(key, "!") == -1 ||
        bstr_catb(key, e->local, e->locallen) == -1)
        return -1;
    if (e->type == '=' && bstr_catc(key, '\0') == -1)
        return -1;
    lower(key->s, key->len);
    return 0;
}

/* assign_value - the cdb value: user, uid, gid, home, dash, ext. */
int
assign_value(struct bstr *val, const struct assign_entry *e)
{
    bstr_truncate(val, 0);
    if (bstr_catb(val, e->user, e->userlen) == -1 ||
        bstr_catc(val, '\0') == -1 || bstr_catu(val, e->uid) == -1 ||
        bstr_catc(val, '\0') == -1 || bstr_catu(val, e->gid) == -1 ||
        bstr_catc(val, '\0') == -1 ||
        bstr_catb(val, e->home, e->homelen) == -1 ||
        bstr_catc(val, '\0') == -1 ||
        bstr_catb(val, e->dash, e->dashlen) == -1 ||
        bstr_catc(val, '\0') == -1 ||
        bstr_catb(val, e->ext, e->extlen) == -1)
        return -1;
    return 0;
}

static int
complain(struct bstr *errs, unsigned *nbad, unsigned line, const char *why)
{
    if (++*nbad <= ASSIGN_MAX_ERRORS)
        return bstr_catf(errs, "line %u: %s\n", line, why);
    if (*nbad == ASSIGN_MAX_ERRORS + 1)
        return bstr_cats(errs, "(more errors not shown)\n");
    return 0;
}

/*
 * assign_compile - build the cdb from the text of users/assign, through
 * tmp and a rename, so lookups see the old map or the new one.  Every
 * bad line is listed in errs as "line N: why".  Returns 0 (*nentries
 * set); -1 with errno EINVAL when a line is bad or the final "." is
 * missing (the old cdb is kept); -1 with another errno on I/O trouble.
 */
int
assign_compile(const char *text, size_t len, const char *cdb,
               const char *tmp, struct bstr *errs, size_t *nentries)
{
    struct cdbmap_make mk;
    struct bstr key = BSTR_INIT, val = BSTR_INIT, wild = BSTR_INIT;
    unsigned nbad = 0, line = 0;
    size_t pos = 0, n = 0;
    bool ended = false;
    int e;

    bstr_truncate(errs, 0);
    if (cdbmap_make_start(&mk, cdb, tmp) == -1)
        return -1;
    while (pos < len && !ended) {
        const char *l = text + pos;
        const char *nl = memchr(l, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - l) : len - pos;
        struct assign_entry ent;
        const char *why;

        pos += ll + (nl != NULL);
        line++;
        switch (assign_parse_line(l, ll, &ent, &why)) {
        case ASSIGN_END:
            ended = true;
            break;
        case ASSIGN_BAD:
            if (complain(errs, &nbad, line, why) == -1)
                goto fail;
            break;
        default:
            if (!nl) {
                /* qmail wants every entry ended by a newline */
                if (complain(errs, &nbad, line, "last line has no newline")
                    == -1)
                    goto fail;
                break;
            }
            if (assign_key(&key, &ent) == -1 || assign_value(&val, &ent) ==
                                                    -1)
                goto fail;
            if (cdbmap_make_add(&mk, key.s, key.len, val.s, val.len) == -1)
                goto fail;
            if (ent.type == '+' && ent.locallen > 0) {
                char c = key.s[key.len - 1];

                if (!memchr(wild.s ? wild.s : "", c, wild.len) &&
                    bstr_catc(&wild, c) == -1)
                    goto fail;
            }
            n++;
            break;
        }
    }
    if (!ended && complain(errs, &nbad, line + 1,
                           "no final line with a single dot") == -1)
        goto fail;
    if (nbad) {
        cdbmap_make_abort(&mk);
        bstr_free(&key);
        bstr_free(&val);
        bstr_free(&wild);
        errno = EINVAL;
        return -1;
    }
    if (cdbmap_make_add(&mk, "", 0, wild.s ? wild.s : "", wild.len) == -1 ||
        cdbmap_make_finish(&mk) == -1) {
        e = errno;
        cdbmap_make_abort(&mk);
        goto out;
    }
    bstr_free(&key);
    bstr_free(&val);
    bstr_free(&wild);
    *nentries = n;
    return 0;
fail:
    e = errno;
    cdbmap_make_abort(&mk);
out:
    bstr_free(&key);
    bstr_free(&val);
    bstr_free(&wild);
    errno = e;
    return -1;
}

/* local_user_init - an empty answer, ready for a lookup. */
void
local_user_init(struct local_user *u)
{
    struct bstr empty = BSTR_INIT;

    u->user = u->home = u->dash = u->ext = empty;
    u->uid = u->gid = 0;
}

/* local_user_free - release what a lookup filled in. */
void
local_user_free(struct local_user *u)
{
    bstr_free(&u->user);
    bstr_free(&u->home);
    bstr_free(&u->dash);
    bstr_free(&u->ext);
}

/*
 * assign_value_parse - split a cdb value into u.  A trailing NUL after
 * ext is tolerated.  Returns 0, or -1 with errno EINVAL (a corrupt value)
 * or ENOMEM.
 */
int
assign_value_parse(const char *v, size_t len, struct local_user *u)
{
    const char *f[6];
    size_t flen[6];
    size_t pos = 0;

    for (int k = 0; k < 6; k++) {
        const char *nul = memchr(v + pos, '\0', len - pos);
        size_t n = nul ? (size_t)(nul - (v + pos)) : len - pos;

        if (!nul && k < 5)
            goto bad;
        f[k] = v + pos;
        flen[k] = n;
        pos += n + (nul != NULL);
    }
    if (pos != len)
        goto bad;
    if (flen[0] == 0 || !number(f[1], flen[1], &u->uid) ||
        !number(f[2], flen[2], &u->gid) || flen[3] == 0 || f[3][0] != '/')
        goto bad;
    if (bstr_copyb(&u->user, f[0], flen[0]) == -1 ||
        bstr_copyb(&u->home, f[3], flen[3]) == -1 ||
        bstr_copyb(&u->dash, f[4], flen[4]) == -1 ||
        bstr_copyb(&u->ext, f[5], flen[5]) == -1)
        return -1;
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

/*
 * assign_lookup - who gets local (the local part, any case) according to
 * the cdb at cdbpath.  For a wildcard match the rest of local is appended
 * to the entry's ext.  Returns 1 (u filled), 0 (no entry, or no cdb at
 * all), -1 with errno (unreadable or corrupt map: try again later).
 */
int
assign_lookup(const char *cdbpath, const char *local, size_t len,
              struct local_user *u)
{
    struct cdbmap m;
    struct bstr key = BSTR_INIT, val = BSTR_INIT, wild = BSTR_INIT;
    int r;

    if (cdbmap_open(&m, cdbpath) == -1)
        return errno == ENOENT ? 0 : -1;
    if (bstr_copys(&key, "!") == -1 || bstr_catb(&key, local, len) == -1 ||
        bstr_catc(&key, '\0') == -1)
        goto fail;
    lower(key.s, key.len);
    r = cdbmap_get(&m, key.s, key.len, &val);
    if (r == -1)
        goto fail;
    if (r == 1) {
        if (assign_value_parse(val.s, val.len, u) == -1)
            goto fail;
        goto found;
    }
    /* a map without the list of wildcard characters has only "+:" */
    if (cdbmap_get(&m, "", 0, &wild) == -1)
        goto fail;
    for (size_t i = len + 1; i >= 1; i--) {
        /* the key "!" + the first i-1 characters of local */
        if (i > 1 && !memchr(wild.s ? wild.s : "", key.s[i - 1], wild.len))
            continue;
        r = cdbmap_get(&m, key.s, i, &val);
        if (r == -1)
            goto fail;
        if (r == 1) {
            if (assign_value_parse(val.s, val.len, u) == -1 ||
                bstr_catb(&u->ext, local + (i - 1), len - (i - 1)) == -1)
                goto fail;
            goto found;
        }
    }
    cdbmap_close(&m);
    bstr_free(&key);
    bstr_free(&val);
    bstr_free(&wild);
    return 0;
found:
    cdbmap_close(&m);
    bstr_free(&key);
    bstr_free(&val);
    bstr_free(&wild);
    return 1;
fail:;
    int e = errno ? errno : EIO;
    cdbmap_close(&m);
    bstr_free(&key);
    bstr_free(&val);
    bstr_free(&wild);
    errno = e;
    return -1;
}
