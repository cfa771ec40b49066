/* SPDX-License-Identifier: ISC */
/*
 * vauth - the account store (see vauth.h).  This file holds the cdb
 * backend: each change takes the domain's .vpasswd.lock, reads vpasswd,
 * changes the table and writes vpasswd and vpasswd.cdb back (vstore).
 * With the backend "pgsql" each call goes to vauth_pg.c instead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vauth.h"
#include "vauth_pg.h"
#include "vstore.h"

/* fail - words for a->err, errno kept.  Always -1. */
static int
fail(struct vauth *a, const char *what, const struct vdomain *d)
{
    int e = errno ? errno : EIO;

    bstr_truncate(&a->err, 0);
    if (bstr_catf(&a->err, "%s for %s: %s", what, d->real.s, strerror(e)) ==
        -1)
        bstr_truncate(&a->err, 0);
    errno = e;
    return -1;
}

int
vauth_init(struct vauth *a, const struct vconf *c)
{
    *a = (struct vauth){.conf = c, .pg = NULL, .err = BSTR_INIT};
    return bstr_copys(&a->err, "");
}

void
vauth_close(struct vauth *a)
{
    vauth_pg_close(a);
    bstr_free(&a->err);
}

/* lowered - user in lower case into out (names are kept so). */
static int
lowered(struct bstr *out, const char *user, size_t len)
{
    if (len == 0 || memchr(user, '\0', len)) {
        errno = EINVAL;
        return -1;
    }
    if (bstr_copyb(out, user, len) == -1)
        return -1;
    for (size_t i = 0; i < out->len; i++)
        if (out->s[i] >= 'A' && out->s[i] <= 'Z')
            out->s[i] = (char)(out->s[i] - 'A' + 'a');
    return 0;
}

/*
 * vauth_getpw - the account user of d.  1 found (pw filled: vpw_free
 * it), 0 none, -1 temporary trouble (a->err says which).  A name that
 * could never be an account (empty, NUL, ':', control bytes) is 0.
 */
int
vauth_getpw(struct vauth *a, const struct vdomain *d, const char *user,
            size_t len, struct vpw *pw)
{
    struct bstr name = BSTR_INIT;
    int r;

    memset(pw, 0, sizeof *pw);
    if (lowered(&name, user, len) == -1) {
        bstr_free(&name);
        return errno == EINVAL ? 0 : fail(a, "no memory", d);
    }
    for (size_t i = 0; i < name.len; i++)
        if ((unsigned char)name.s[i] < 0x20 || name.s[i] == ':' ||
            name.s[i] == 0x7f || name.s[i] == '/') {
            bstr_free(&name);
            return 0;
        }
    if (a->conf->backend == VCONF_PGSQL) {
        r = vauth_pg_getpw(a, d, name.s, pw);
        bstr_free(&name);
        return r;
    }
    r = vstore_lookup(d->dir.s, name.s, pw);
    bstr_free(&name);
    if (r == -1 && errno == ENOENT)
        return 0; /* a domain without vpasswd.cdb has no accounts yet */
    if (r == -1)
        return fail(a, "unable to read vpasswd.cdb", d);
    return r;
}

/* vauth_getall - every account of d, sorted by name.  0, or -1. */
int
vauth_getall(struct vauth *a, const struct vdomain *d, struct vpw_table *t)
{
    struct vstore vs = {.dir = d->dir.s, .lockfd = -1};
    size_t bad;

    if (a->conf->backend == VCONF_PGSQL)
        return vauth_pg_getall(a, d, t);
    if (vstore_load(&vs, t, &bad) == -1) {
        if (errno == EINVAL) {
            bstr_truncate(&a->err, 0);
            if (bstr_catf(&a->err, "%s/vpasswd line %zu is damaged",
                          d->dir.s, bad) == -1)
                bstr_truncate(&a->err, 0);
            errno = EINVAL;
            return -1;
        }
        return fail(a, "unable to read vpasswd", d);
    }
    return 0;
}

enum op { OP_ADD, OP_SET, OP_DEL };

/* change - one locked read-change-write of d's vpasswd. */
static int
change(struct vauth *a, const struct vdomain *d, enum op op,
       const struct vpw *pw, const char *name)
{
    struct vstore vs;
    struct vpw_table t = {0};
    struct vpw copy;
    struct bstr line = BSTR_INIT;
    size_t bad;
    int e = 0;
    const char *what = "unable to change vpasswd";

    if (vstore_lock(&vs, d->dir.s, d->uid, d->gid) == -1)
        return fail(a, errno == EWOULDBLOCK ? "vpasswd is locked by another "
                                              "tool"
                                            : "unable to lock vpasswd",
                    d);
    if (vstore_load(&vs, &t, &bad) == -1) {
        e = errno;
        what = "unable to read vpasswd";
        goto out;
    }
    if (op == OP_DEL) {
        if (vpw_table_del(&t, name) == -1)
            e = errno;
    } else {
        /* a private copy the table can own */
        if (vpw_format(pw, &line) == -1 ||
            vpw_parse(line.s, line.len - 1, &copy) == -1) {
            e = errno;
            goto out;
        }
        if (op == OP_SET && vpw_table_del(&t, copy.name) == -1) {
            e = errno;
            vpw_free(&copy);
            goto out;
        }
        if (vpw_table_add(&t, &copy) == -1) {
            e = errno;
            vpw_free(&copy);
            goto out;
        }
    }
    if (!e && vstore_save(&vs, &t) == -1)
        e = errno;
out:
    if (line.s)
        explicit_bzero(line.s, line.len);
    bstr_free(&line);
    vpw_table_free(&t);
    vstore_unlock(&vs);
    if (e) {
        errno = e;
        if (e == EEXIST || e == ENOENT)
            return -1; /* the caller says it in its own words */
        return fail(a, what, d);
    }
    return 0;
}

/* vauth_adduser - a new account (EEXIST: the name is taken).  0 or -1. */
int
vauth_adduser(struct vauth *a, const struct vdomain *d, const struct vpw *pw)
{
    if (a->conf->backend == VCONF_PGSQL)
        return vauth_pg_adduser(a, d, pw);
    return change(a, d, OP_ADD, pw, NULL);
}

/* vauth_setpw - replace the account pw->name (ENOENT: none).  0 or -1. */
int
vauth_setpw(struct vauth *a, const struct vdomain *d, const struct vpw *pw)
{
    if (a->conf->backend == VCONF_PGSQL)
        return vauth_pg_setpw(a, d, pw);
    return change(a, d, OP_SET, pw, NULL);
}

/* vauth_deluser - remove the account name (ENOENT: none).  0 or -1. */
int
vauth_deluser(struct vauth *a, const struct vdomain *d, const char *name)
{
    if (a->conf->backend == VCONF_PGSQL)
        return vauth_pg_deluser(a, d, name);
    return change(a, d, OP_DEL, NULL, name);
}

/*
 * vauth_deldomain - forget every account of d.  With the cdb files there
 * is nothing to do beyond removing the domain's directory, which the
 * caller does; PostgreSQL deletes the domain's rows.  0, or -1.
 */
int
vauth_deldomain(struct vauth *a, const struct vdomain *d)
{
    if (a->conf->backend == VCONF_PGSQL)
        return vauth_pg_deldomain(a, d);
    return 0;
}
