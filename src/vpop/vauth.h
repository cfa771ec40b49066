/* SPDX-License-Identifier: ISC */
/*
 * vauth - the account store behind every vpop program, whatever holds
 * it: the cdb files of vstore (the default) or PostgreSQL (vconf's
 * backend "pgsql", vpopmail's schema; vauth_pg.c).
 *
 * Lookups never bounce on trouble: -1 means "temporary" (a database that
 * is down, a file that cannot be read), and the program defers (451,
 * 454, exit 111).  Each change is atomic: vstore's lock and rename for
 * the files, one transaction for the database.  User names are looked up
 * in lower case, as vpopmail does.  Nothing here exits or logs; a
 * failure leaves its words in a->err.
 */
#ifndef VAUTH_H
#define VAUTH_H

#include <stddef.h>

#include "bstr.h"
#include "vconf.h"
#include "vdomain.h"
#include "vpw.h"

struct vpg; /* vauth_pg.c's connection */

struct vauth {
    const struct vconf *conf;
    struct vpg *pg;  /* connected at the first use, reused */
    struct bstr err; /* the last failure in words */
};

int vauth_init(struct vauth *a, const struct vconf *c) WUR;
void vauth_close(struct vauth *a);

int vauth_getpw(struct vauth *a, const struct vdomain *d, const char *user,
                size_t len, struct vpw *pw) WUR;
int vauth_getall(struct vauth *a, const struct vdomain *d,
                 struct vpw_table *t) WUR;
int vauth_adduser(struct vauth *a, const struct vdomain *d,
                  const struct vpw *pw) WUR;
int vauth_setpw(struct vauth *a, const struct vdomain *d,
                const struct vpw *pw) WUR;
int vauth_deluser(struct vauth *a, const struct vdomain *d,
                  const char *name) WUR;
int vauth_deldomain(struct vauth *a, const struct vdomain *d) WUR;

#endif
