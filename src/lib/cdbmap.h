/* SPDX-License-Identifier: ISC */
/*
 * cdbmap - constant databases (tinycdb): lookups and safe rebuilds.
 *
 * Lookups open the file afresh (cdbmap_open per connection or per
 * message), so a rebuilt map is seen at once without a restart.  A
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
    struct cdb cdb;
};

struct cdbmap_make {
    int fd;
    int started; /* cdb_make_start done: finish releases its memory */
    struct cdb_make cm;
    struct bstr tmp;
    struct bstr final;
};

int cdbmap_open(struct cdbmap *m, const char *path) WUR;
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
