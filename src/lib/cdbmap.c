/* SPDX-License-Identifier: ISC */
/*
 * cdbmap - tinycdb lookups and atomic rebuilds (see cdbmap.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdbmap.h"

/* cdbmap_open - 0, or -1 (errno ENOENT when the map does not exist). */
int
cdbmap_open(struct cdbmap *m, const char *path)
{
    m->seek = 0;
    m->mem = NULL;
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

/* cdbmap_open_seek - as cdbmap_open, without mapping the file: a small
 * map is read whole now, a bigger one per lookup. */
int
cdbmap_open_seek(struct cdbmap *m, const char *path)
{
    struct stat st;
    size_t got = 0;
    int e;

    m->seek = 1;
    m->mem = NULL;
    m->memlen = 0;
    m->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (m->fd == -1)
        return -1;
    if (fstat(m->fd, &st) == -1)
        goto fail;
    if (st.st_size > CDBMAP_READ_MAX)
        return 0;
    /* one more byte than the size: a file that grew is read per lookup */
    m->mem = malloc((size_t)st.st_size + 1);
    if (!m->mem)
        goto fail;
    for (;;) {
        ssize_t n = read(m->fd, m->mem + got, (size_t)st.st_size + 1 - got);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            goto fail;
        got += (size_t)n;
        if (n == 0 || got > (size_t)st.st_size)
            break;
    }
    if (got > (size_t)st.st_size) {
        free(m->mem);
        m->mem = NULL;
        return 0;
    }
    m->memlen = got;
    return 0;
fail:
    e = errno;
    free(m->mem);
    m->mem = NULL;
    close(m->fd);
    m->fd = -1;
    errno = e;
    return -1;
}

static uint32_t
u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/*
 * get_mem - key in the cdb held in m->mem, by the format's own rules (a
 * 2048-byte table of 256 (position, slots) pairs chosen by the hash's
 * low byte; slots of (hash, record position) probed from (hash >> 8) mod
 * slots; records of key length, value length, key, value): 1 found, 0
 * absent, -1 with errno EPROTO for a damaged file.  Every position is
 * checked against the size.
 */
static int
get_mem(struct cdbmap *m, const void *key, unsigned klen, struct bstr *val)
{
    const unsigned char *b = m->mem;
    size_t n = m->memlen;
    uint32_t h = cdb_hash(key, klen), pos, slots, start;

    if (n < 2048)
        goto damaged;
    pos = u32(b + (h & 255) * 8);
    slots = u32(b + (h & 255) * 8 + 4);
    if (slots == 0)
        return 0;
    if (pos > n || slots > (n - pos) / 8)
        goto damaged;
    start = (h >> 8) % slots;
    for (uint32_t i = 0; i < slots; i++) {
        const unsigned char *sl = b + pos + (size_t)((start + i) % slots) * 8;
        uint32_t rp = u32(sl + 4), kl, vl;

        if (rp == 0)
            return 0;
        if (u32(sl) != h)
            continue;
        if (rp > n - 8)
            goto damaged;
        kl = u32(b + rp);
        vl = u32(b + rp + 4);
        if (kl > n - rp - 8 || vl > n - rp - 8 - kl)
            goto damaged;
        if (kl != klen || memcmp(b + rp + 8, key, klen) != 0)
            continue;
        if (bstr_copyb(val, (const char *)b + rp + 8 + kl, vl) == -1)
            return -1;
        return 1;
    }
    return 0;
damaged:
    errno = EPROTO;
    return -1;
}

/* get_seek - cdbmap_get for a map opened with cdbmap_open_seek. */
static int
get_seek(struct cdbmap *m, const void *key, unsigned klen, struct bstr *val)
{
    unsigned len;
    size_t got = 0;
    int r = cdb_seek(m->fd, key, klen, &len);

    if (r <= 0)
        return r < 0 ? -1 : 0;
    if (bstr_ready(val, len) == -1)
        return -1;
    while (got < len) {
        ssize_t n = read(m->fd, val->s + got, len - got);

        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EPROTO; /* the record runs past the end */
            return -1;
        }
        got += (size_t)n;
    }
    val->len = len;
    val->s[len] = '\0';
    return 1;
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
    if (m->mem)
        return get_mem(m, key, (unsigned)klen, val);
    if (m->seek)
        return get_seek(m, key, (unsigned)klen, val);
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
        if (!m->seek)
            cdb_free(&m->cdb);
        free(m->mem);
        m->mem = NULL;
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
