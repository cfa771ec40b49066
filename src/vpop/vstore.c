/* SPDX-License-Identifier: ISC */
/*
 * vstore - a domain's vpasswd and vpasswd.cdb (see vstore.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "cdbmap.h"
#include "lock.h"
#include "readfile.h"
#include "vstore.h"

#define VPASSWD_MAX (64 << 20) /* bytes: far above any real domain */

/* path - DIR/name into p.  0, or -1 (no memory). */
static int
path(struct bstr *p, const char *dir, const char *name)
{
    bstr_truncate(p, 0);
    return bstr_catf(p, "%s/%s", dir, name);
}

/* own - mode 600 and, as root, the domain's owner. */
static int
own(const struct vstore *vs, int fd)
{
    if (fchmod(fd, 0600) == -1)
        return -1;
    if (geteuid() == 0 && fchown(fd, vs->uid, vs->gid) == -1)
        return -1;
    return 0;
}

/*
 * vstore_rebuild_cdb - vpasswd.cdb from t: key the name, value the rest
 * of its line.  0, or -1 with errno.
 */
int
vstore_rebuild_cdb(const struct vstore *vs, const struct vpw_table *t)
{
    struct bstr fin = BSTR_INIT, tmp = BSTR_INIT, line = BSTR_INIT;
    struct cdbmap_make mk;
    int e = 0;

    if (path(&fin, vs->dir, "vpasswd.cdb") == -1 ||
        path(&tmp, vs->dir, "cdb.tmp") == -1) /* vpopmail's name */
        goto fail;
    if (cdbmap_make_start(&mk, fin.s, tmp.s) == -1)
        goto fail;
    if (own(vs, mk.fd) == -1)
        goto abort;
    for (size_t i = 0; i < t->n; i++) {
        size_t nl = strlen(t->e[i].name);

        bstr_truncate(&line, 0);
        if (vpw_format(&t->e[i], &line) == -1 ||
            cdbmap_make_add(&mk, t->e[i].name, nl, line.s + nl + 1,
                            line.len - nl - 2) == -1)
            goto abort;
    }
    if (cdbmap_make_finish(&mk) == -1)
        goto fail;
    goto out;
abort:
    e = errno;
    cdbmap_make_abort(&mk);
    errno = e;
fail:
    e = errno ? errno : EIO;
out:
    if (line.s)
        explicit_bzero(line.s, line.len);
    bstr_free(&line);
    bstr_free(&fin);
    bstr_free(&tmp);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/* cdb_stale - is vpasswd.cdb missing or older than vpasswd? */
static bool
cdb_stale(const char *dir)
{
    struct bstr p = BSTR_INIT;
    struct stat pw, db;
    bool stale = false;

    if (path(&p, dir, "vpasswd") == 0 && stat(p.s, &pw) == 0) {
        bstr_truncate(&p, 0);
        stale = path(&p, dir, "vpasswd.cdb") == -1 || stat(p.s, &db) == -1 ||
                db.st_mtim.tv_sec < pw.st_mtim.tv_sec ||
                (db.st_mtim.tv_sec == pw.st_mtim.tv_sec &&
                 db.st_mtim.tv_nsec < pw.st_mtim.tv_nsec);
    }
    bstr_free(&p);
    return stale;
}

/*
 * vstore_lock - take DIR/.vpasswd.lock (waiting at most
 * VSTORE_LOCK_WAIT seconds) and bring a stale vpasswd.cdb up to date.
 * Returns 0, or -1 with errno (EWOULDBLOCK: another tool holds it; EINVAL:
 * vpasswd has a bad line, which the caller reports with vstore_load).
 */
int
vstore_lock(struct vstore *vs, const char *dir, uid_t uid, gid_t gid)
{
    struct bstr p = BSTR_INIT;
    int e;

    vs->lockfd = -1;
    vs->uid = uid;
    vs->gid = gid;
    vs->dir = strdup(dir);
    if (!vs->dir || path(&p, dir, ".vpasswd.lock") == -1)
        goto fail;
    vs->lockfd = open(p.s, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (vs->lockfd == -1 || own(vs, vs->lockfd) == -1 ||
        lock_ex_wait(vs->lockfd, VSTORE_LOCK_WAIT) == -1)
        goto fail;
    if (cdb_stale(dir)) {
        struct vpw_table t;
        size_t bad;

        if (vstore_load(vs, &t, &bad) == -1)
            goto fail;
        e = vstore_rebuild_cdb(vs, &t);
        vpw_table_free(&t);
        if (e == -1)
            goto fail;
    }
    bstr_free(&p);
    return 0;
fail:
    e = errno;
    bstr_free(&p);
    vstore_unlock(vs);
    errno = e;
    return -1;
}

void
vstore_unlock(struct vstore *vs)
{
    if (vs->lockfd != -1)
        close(vs->lockfd); /* releases the flock */
    vs->lockfd = -1;
    free(vs->dir);
    vs->dir = NULL;
}

/*
 * vstore_load - DIR/vpasswd into t (no file: no accounts).  Returns 0,
 * or -1 with errno (EINVAL and *badline for a bad line).
 */
int
vstore_load(const struct vstore *vs, struct vpw_table *t, size_t *badline)
{
    struct bstr p = BSTR_INIT, text = BSTR_INIT;
    int r, e = 0;

    t->e = NULL;
    t->n = 0;
    *badline = 0;
    if (path(&p, vs->dir, "vpasswd") == -1)
        return -1;
    r = readfile_path(p.s, &text, VPASSWD_MAX);
    if (r == -1)
        e = errno;
    else if (r == 1 &&
             vpw_table_parse(t, text.s ? text.s : "", text.len, badline) == -1)
        e = errno;
    if (text.s)
        explicit_bzero(text.s, text.len);
    bstr_free(&text);
    bstr_free(&p);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/*
 * vstore_save - t as the new DIR/vpasswd and vpasswd.cdb (see vstore.h
 * for the order).  The caller holds the lock.  0, or -1 with errno.
 */
int
vstore_save(const struct vstore *vs, const struct vpw_table *t)
{
    struct bstr text = BSTR_INIT, fin = BSTR_INIT;
    uid_t uid = geteuid() == 0 ? vs->uid : ATOMICFILE_KEEP;
    int e = 0;

    if (vs->lockfd == -1) {
        errno = ENOLCK;
        return -1;
    }
    if (vpw_table_format(t, &text) == -1 ||
        path(&fin, vs->dir, "vpasswd") == -1 ||
        atomicfile_write(fin.s, text.s ? text.s : "", text.len, 0600, uid,
                         vs->gid) == -1 ||
        vstore_rebuild_cdb(vs, t) == -1 || atomicfile_syncdir(vs->dir) == -1)
        e = errno ? errno : EIO;
    if (text.s)
        explicit_bzero(text.s, text.len);
    bstr_free(&text);
    bstr_free(&fin);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/*
 * vstore_lookup - the account name in DIR/vpasswd.cdb, as vchkpw and
 * RCPT checks read it (no lock: the cdb is replaced by rename).  Returns
 * 1 found, 0 not, -1 with errno (EINVAL: the record is not a line).
 */
int
vstore_lookup(const char *dir, const char *name, struct vpw *pw)
{
    struct bstr p = BSTR_INIT, val = BSTR_INIT, line = BSTR_INIT;
    int r, e = 0;

    if (path(&p, dir, "vpasswd.cdb") == -1)
        return -1;
    r = cdbmap_find(p.s, name, strlen(name), &val);
    if (r == 1 && (bstr_catf(&line, "%s:", name) == -1 ||
                   bstr_catb(&line, val.s ? val.s : "", val.len) == -1 ||
                   vpw_parse(line.s, line.len, pw) == -1))
        e = errno;
    else if (r == -1)
        e = errno;
    if (line.s)
        explicit_bzero(line.s, line.len);
    if (val.s)
        explicit_bzero(val.s, val.len);
    bstr_free(&line);
    bstr_free(&val);
    bstr_free(&p);
    if (e) {
        errno = e;
        return -1;
    }
    return r;
}
