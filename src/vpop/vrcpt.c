/* SPDX-License-Identifier: ISC */
/*
 * vrcpt - a virtual domain's recipient map (see vrcpt.h).
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "rcptmap.h"
#include "vauth_pg.h"
#include "vassign.h"
#include "readfile.h"
#include "vrcpt.h"

#define DOT_QMAIL_MAX (1u << 20)

/* word - the next space-separated word of s[*i..len), quotes kept. */
static bool
word(const char *s, size_t len, size_t *i, const char **w, size_t *wl)
{
    while (*i < len && (s[*i] == ' ' || s[*i] == '\t'))
        (*i)++;
    if (*i >= len)
        return false;
    *w = s + *i;
    while (*i < len && s[*i] != ' ' && s[*i] != '\t')
        (*i)++;
    *wl = (size_t)(s + *i - *w);
    return true;
}

/*
 * vrcpt_default_accepts - does a domain whose .qmail-default reads text
 * take mail for every name?  Only vdelivermail with bounce-no-mailbox or
 * delete refuses names it has no account for (with delete they were
 * dropped unread: refusing them at RCPT tells the sender instead).
 */
bool
vrcpt_default_accepts(const char *text, size_t len)
{
    size_t i = 0;

    while (i < len) {
        const char *line = text + i, *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i, j = 1;
        const char *w;
        size_t wl;

        i += n + 1;
        if (n == 0 || line[0] == '#')
            continue;
        if (line[0] != '|')
            return true; /* a forward or a mailbox: takes everything */
        if (!word(line, n, &j, &w, &wl) || wl < 12 ||
            memcmp(w + wl - 12, "vdelivermail", 12) != 0)
            return true; /* another program: no telling */
        if (!word(line, n, &j, &w, &wl)) /* '' */
            return true;
        if (!word(line, n, &j, &w, &wl))
            return true;
        if ((wl == 17 && memcmp(w, "bounce-no-mailbox", 17) == 0) ||
            (wl == 6 && memcmp(w, "delete", 6) == 0))
            return false;
        return true;
    }
    return false; /* no delivery line: qmail-local bounces unknown names */
}

/* dotqmail_name - the address part a .qmail-NAME file stands for. */
static int
dotqmail_name(const char *fn, struct bstr *out)
{
    bstr_truncate(out, 0);
    for (const char *p = fn; *p; p++) {
        char c = *p == ':' ? '.' : *p;

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((unsigned char)c < 0x20 || c == 0x7f)
            return 1; /* not an address anyone can write */
        if (bstr_catc(out, c) == -1)
            return -1;
    }
    return out->len ? 0 : 1;
}

/* files - the .qmail-* files of dir into the map. */
static int
files(struct rcptmap_make *m, const char *dir, bool *has_default,
      struct bstr *deftext)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct bstr name = BSTR_INIT, p = BSTR_INIT;
    int e = 0;

    *has_default = false;
    if (!d)
        return -1;
    while (!e && (errno = 0, de = readdir(d))) {
        const char *fn = de->d_name;
        size_t n;
        int r;

        if (strncmp(fn, ".qmail-", 7) != 0)
            continue;
        fn += 7;
        if (strcmp(fn, "default") == 0) {
            bstr_truncate(&p, 0);
            if (bstr_catf(&p, "%s/.qmail-default", dir) == -1 ||
                readfile_path(p.s, deftext, DOT_QMAIL_MAX) == -1)
                e = errno;
            else
                *has_default = true;
            continue;
        }
        n = strlen(fn);
        if (n > 8 && strcmp(fn + n - 8, "-default") == 0) {
            r = dotqmail_name(fn, &name);
            if (r == 0)
                r = rcptmap_make_add(m, name.s, name.len - 7, RCPTMAP_PREFIX);
        } else {
            r = dotqmail_name(fn, &name);
            if (r == 0)
                r = rcptmap_make_add(m, name.s, name.len, RCPTMAP_ALIAS);
        }
        if (r == -1)
            e = errno;
    }
    if (!e && errno)
        e = errno;
    closedir(d);
    bstr_free(&name);
    bstr_free(&p);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/* table_aliases - the names of vpopmail's valias table for d (the
 * PostgreSQL store; vdelivermail looks there before the account) into
 * the map.  0, or -1. */
static int
table_aliases(struct vauth *a, const struct vdomain *d,
              struct rcptmap_make *m)
{
    struct bstr names = BSTR_INIT;
    size_t i = 0;
    int r = vauth_pg_valias_names(a, d, &names) == -1 ? -1 : 0;

    while (r == 0 && i < names.len) {
        const char *nl = memchr(names.s + i, '\n', names.len - i);
        size_t n = nl ? (size_t)(nl - (names.s + i)) : names.len - i;

        if (n && rcptmap_make_add(m, names.s + i, n, RCPTMAP_ALIAS) == -1)
            r = -1;
        i += n + 1;
    }
    bstr_free(&names);
    return r;
}

/*
 * vrcpt_build - the map of d (a real domain or an alias of one) under
 * home, replacing the old one.  0, or -1 with errno (a->err says what
 * the store could not do); the old map stays in force then.
 */
int
vrcpt_build(struct vauth *a, const struct vdomain *d, const char *home)
{
    struct rcptmap_make m;
    struct vpw_table t = {0};
    struct bstr deftext = BSTR_INIT;
    bool has_default = false, accept = false;
    int e;

    if (rcptmap_make_start(&m, home, d->name.s) == -1)
        return -1;
    if (!vdomain_is_alias(d)) {
        if (vauth_getall(a, d, &t) == -1)
            goto fail;
        for (size_t i = 0; i < t.n; i++)
            if (!(t.e[i].gid & VPW_BOUNCE_MAIL) &&
                rcptmap_make_add(&m, t.e[i].name, strlen(t.e[i].name),
                                 RCPTMAP_MAILBOX) == -1)
                goto fail;
        if (files(&m, d->dir.s, &has_default, &deftext) == -1 ||
            (a->conf->backend == VCONF_PGSQL && table_aliases(a, d, &m) == -1))
            goto fail;
        accept = has_default &&
                 vrcpt_default_accepts(deftext.s ? deftext.s : "",
                                       deftext.len);
    }
    if (rcptmap_make_meta(&m, accept, d->real.s, d->dir.s) == -1)
        goto fail;
    vpw_table_free(&t);
    bstr_free(&deftext);
    return rcptmap_make_finish(&m);
fail:
    e = errno ? errno : EIO;
    rcptmap_make_abort(&m);
    vpw_table_free(&t);
    bstr_free(&deftext);
    errno = e;
    return -1;
}

/* note - the first trouble of a sync, in words. */
static void
note(struct vrcpt_sync *st, const char *what, const char *name,
     const char *why)
{
    st->failed++;
    if (st->err.len == 0 &&
        bstr_catf(&st->err, "%s %s: %s", what, name, why) == -1)
        bstr_truncate(&st->err, 0);
}

/* listed - does users/assign have a virtual domain line for name? */
static bool
listed(const char *assign, size_t len, const char *name)
{
    struct vassign_line l;
    size_t pos = 0, n = strlen(name);

    while (vassign_next(assign, len, &pos, &l) == 1)
        if (l.domainlen == n && memcmp(l.domain, name, n) == 0)
            return true;
    return false;
}

/*
 * vrcpt_sync - every virtual domain of users/assign (its text) with a
 * map that is current: a missing or stale one is built (a hand-made
 * .qmail file, vpasswd changed by another tool), and maps of domains
 * that are gone are removed.  With the PostgreSQL store every map is
 * built afresh: another host of a fleet (or a panel writing the tables)
 * changes accounts without touching this host's directories, so a
 * directory's mtime says nothing there.  Run by qmail-newu after
 * users/cdb.
 * Returns 0 (troubles with single domains counted in st, the first
 * described), or -1 with errno when the map directory cannot be read.
 */
int
vrcpt_sync(struct vauth *a, const char *assign, size_t len, const char *home,
           struct vrcpt_sync *st)
{
    struct vassign_line l;
    struct bstr name = BSTR_INIT, dir = BSTR_INIT;
    size_t pos = 0;
    DIR *d;
    struct dirent *de;
    int e = 0;

    while (vassign_next(assign, len, &pos, &l) == 1) {
        struct vdomain vd;
        int r;

        if (bstr_copyb(&name, l.domain, l.domainlen) == -1) {
            e = errno;
            break;
        }
        r = a->conf->backend == VCONF_PGSQL ? 0 : rcptmap_fresh(home, name.s);
        if (r == 1) {
            st->kept++;
            continue;
        }
        r = vdomain_find(name.s, name.len, &vd);
        if (r != 1) {
            note(st, "unable to find", name.s,
                 r == 0 ? "not in users/cdb" : strerror(errno));
            continue;
        }
        if (vrcpt_build(a, &vd, home) == -1)
            note(st, "unable to build the recipient map of", name.s,
                 a->err.len ? a->err.s : strerror(errno));
        else
            st->built++;
        vdomain_free(&vd);
    }
    if (!e && bstr_catf(&dir, "%s/%s", home, RCPTMAP_DIR) == -1)
        e = errno;
    d = e ? NULL : opendir(dir.s);
    if (!e && !d && errno != ENOENT)
        e = errno;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.' || listed(assign, len, de->d_name))
            continue;
        if (rcptmap_remove(home, de->d_name) == -1)
            note(st, "unable to remove the recipient map of", de->d_name,
                 strerror(errno));
        else
            st->removed++;
    }
    if (d)
        closedir(d);
    bstr_free(&name);
    bstr_free(&dir);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}
