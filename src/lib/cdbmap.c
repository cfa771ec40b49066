/* SPDX-License-Identifier: ISC */
/*
 * cdbmap - tinycdb lookups and atomic rebuilds (see cdbmap.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cdbmap.h"

/* cdbmap_open - 0, or -1 (errno ENOENT when the map does not exist). */
int
cdbmap_open(struct cdbmap *m, const char *path)
{
    m->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (m->fd == -1)
        return -1;
    if (cdb_init(&m->cdb, m->fd) != 0) {
        int e = errno ? errno : EINVAL;
        close(m->fd);
        m->fd = -1;
        errno = e;
        return -1;
    }
    return 0;
}

/* cdbmap_get - 1 found (value in val), 0 absent, -1 error. */
int
cdbmap_get(struct cdbmap *m, const void *key, size_t klen, struct bstr *val)
{
    unsigned len;
    int r;

    if (klen > UINT_MAX) {
        errno = EINVAL;
        return -1;
    }
    r = cdb_find(&m->cdb, key, (unsigned)klen);
    if (r <= 0)
        return r < 0 ? -1 : 0;
    len = cdb_datalen(&m->cdb);
    if (bstr_ready(val, len) == -1)
        return -1;
    if (cdb_read(&m->cdb, val->s, len, cdb_datapos(&m->cdb)) != 0)
        return -1;
    val->len = len;
    val->s[len] = '\0';
    return 1;
}

void
cdbmap_close(struct cdbmap *m)
{
    if (m->fd != -1) {
        cdb_free(&m->cdb);
        close(m->fd);
        m->fd = -1;
    }
}

/* cdbmap_find - one lookup in a map opened for it: 1, 0, or -1. */
int
cdbmap_find(const char *path, const void *key, size_t klen, struct bstr *val)
{
    struct cdbmap m;
    int r;

    if (cdbmap_open(&m, path) == -1)
        return -1;
    r = cdbmap_get(&m, key, klen, val);
    cdbmap_close(&m);
    return r;
}

/*
 * cdbmap_make_start - begin writing tmp, to be renamed to final.
 * tmp NULL means final with ".tmp" appended.  Returns 0 or -1.
 */
int
cdbmap_make_start(struct cdbmap_make *mk, const char *final, const char *tmp)
{
    struct bstr t = BSTR_INIT, f = BSTR_INIT;

    mk->fd = -1;
    mk->started = 0;
    mk->tmp = t;
    mk->final = f;
    if (bstr_copys(&mk->final, final) == -1)
        goto fail;
    if (tmp ? bstr_copys(&mk->tmp, tmp)
            : bstr_catf(&mk->tmp, "%s.tmp", final))
        goto fail;
    mk->fd = open(mk->tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (mk->fd == -1)
        goto fail;
    if (cdb_make_start(&mk->cm, mk->fd) != 0)
        goto fail;
    mk->started = 1;
    return 0;
fail:
    cdbmap_make_abort(mk);
    return -1;
}

int
cdbmap_make_add(struct cdbmap_make *mk, const void *key, size_t klen,
                const void *val, size_t vlen)
{
    if (klen > UINT_MAX || vlen > UINT_MAX) {
        errno = EINVAL;
        return -1;
    }
    return cdb_make_add(&mk->cm, key, (unsigned)klen, val, (unsigned)vlen) ==
                   0
               ? 0
               : -1;
}

/* cdbmap_make_finish - write the index, fsync, rename into place. */
int
cdbmap_make_finish(struct cdbmap_make *mk)
{
    mk->started = 0;
    if (cdb_make_finish(&mk->cm) != 0)
        goto fail;
    if (fsync(mk->fd) == -1)
        goto fail;
    if (close(mk->fd) == -1) {
        mk->fd = -1;
        goto fail;
    }
    mk->fd = -1;
    if (rename(mk->tmp.s, mk->final.s) == -1)
        goto fail;
    bstr_free(&mk->tmp);
    bstr_free(&mk->final);
    return 0;
fail:
    cdbmap_make_abort(mk);
    return -1;
}

/* cdbmap_make_abort - drop the temporary file; the old map stays. */
void
cdbmap_make_abort(struct cdbmap_make *mk)
{
    int e = errno;

    /* tinycdb has no other way to release the record lists */
    if (mk->started && mk->fd != -1)
        (void)cdb_make_finish(&mk->cm);
    mk->started = 0;
    if (mk->fd != -1) {
        close(mk->fd);
        mk->fd = -1;
    }
    if (mk->tmp.s)
        unlink(mk->tmp.s);
    bstr_free(&mk->tmp);
    bstr_free(&mk->final);
    errno = e;
}
