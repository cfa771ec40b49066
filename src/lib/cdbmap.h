/* SPDX-License-Identifier: ISC */
/*
 * cdbmap - constant databases (tinycdb): lookups and safe rebuilds.
 *
 * Lookups open the file afresh (cdbmap_open per connection or per
 * message), so a rebuilt map is seen at once without a restart.
 * cdbmap_open maps the file (tinycdb's cdb_init); cdbmap_open_seek does
 * not: a small map (CDBMAP_READ_MAX) is read whole at open and looked up
 * in memory, a bigger one is read record by record per lookup
 * (tinycdb's cdb_seek).  For a map opened for a few lookups, as
 * qmail-smtpd's recipient maps per RCPT, that is several times cheaper
 * than mapping and unmapping it (munmap flushes every CPU's TLB).  A
 * rebuild writes a temporary file, fsyncs it and renames it over the
 * old one: readers see the old map or the new one, never a mix.
 */
#ifndef CDBMAP_H
#define CDBMAP_H

#include <cdb.h>
#include <stddef.h>

#include "bstr.h"

struct cdbmap {
    int fd;
    int seek;            /* cdbmap_open_seek: no mapping */
    unsigned char *mem;  /* ... and the whole file, when it is small */
    size_t memlen;
    struct cdb cdb;
};

/* cdbmap_open_seek reads a map up to this size whole, at open */
#define CDBMAP_READ_MAX 262144

struct cdbmap_make {
    int fd;
    int started; /* cdb_make_start done: finish releases its memory */
    struct cdb_make cm;
    struct bstr tmp;
    struct bstr final;
};

int cdbmap_open(struct cdbmap *m, const char *path) WUR;
int cdbmap_open_seek(struct cdbmap *m, const char *path) WUR;
int cdbmap_get(struct cdbmap *m, const void *key, size_t klen,
               struct bstr *val) WUR;
void cdbmap_close(struct cdbmap *m);
int cdbmap_find(const char *path, const void *key, size_t klen,
                struct bstr *val) WUR;

int cdbmap_make_start(struct cdbmap_make *mk, const char *final,
                      const char *tmp) WUR;
int cdbmap_make_add(struct cdbmap_make *mk, const void *key, size_t klen,
                    const void *val, size_t vlen) WUR;
int cdbmap_make_finish(struct cdbmap_make *mk) WUR;
void cdbmap_make_abort(struct cdbmap_make *mk);

#endif
