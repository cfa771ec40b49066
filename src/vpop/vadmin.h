/* SPDX-License-Identifier: ISC */
/*
 * vadmin - what vpopmail's tools do to the mail system, each change
 * atomic for whoever looks at it mid-way or after a crash:
 *
 * A domain is added in an order where every state in between is
 * harmless: its directory (with .qmail-default and the postmaster's
 * Maildir) is built under a temporary name and renamed into place, then
 * users/assign gets its line (qmail-newu), then control/virtualdomains
 * (local delivery knows it), its recipient map, then control/rcpthosts
 * (the world may send to it), then qmail-send rereads its controls.
 * Removal runs the same steps backwards.  Before the first step the
 * domain's name goes into users/vdomain.intent; a tool that finds that
 * file left by a crash removes what the interrupted change had done
 * (an unfinished add is undone, an unfinished delete completed), so
 * the domain is wholly there or wholly gone.  All of this runs under
 * users/assign.lock.
 *
 * An account is added by building its directory under a temporary name,
 * renaming it into place, then writing the account (vauth: one atomic
 * replacement of vpasswd and vpasswd.cdb, or one database transaction),
 * then the domain's recipient map; removed in the reverse order.
 *
 * Results are vpopmail's error numbers (verror.h), with the system's
 * words, when there are any, in v->err.  Nothing here exits or prints.
 */
#ifndef VADMIN_H
#define VADMIN_H

#include <stdbool.h>
#include <sys/types.h>

#include "bstr.h"
#include "vauth.h"
#include "vconf.h"
#include "vdomain.h"
#include "verror.h"

#define VADMIN_INTENT "users/vdomain.intent"

struct vadmin {
    struct vconf conf;
    struct vauth auth;
    int lockfd;
    struct bstr err;
};

struct vadmin_domain {
    const char *base;     /* the directory domains/ goes in; NULL: ~vpopmail */
    bool ids;             /* uid and gid given (-u, -i, -g) */
    uid_t uid;
    gid_t gid;
    const char *catchall; /* vdelivermail's instruction; NULL: bounce */
};

struct vadmin_user {
    const char *gecos;   /* NULL: the name, as vpopmail */
    const char *quota;   /* NULL: NOQUOTA */
    const char *clear;   /* the password in clear, or NULL */
    const char *crypted; /* a ready hash (vadduser -e), or NULL */
    unsigned long apop;  /* vpopmail's uid field */
};

int vadmin_open(struct vadmin *v, const char **badfile) WUR;
void vadmin_close(struct vadmin *v);
int vadmin_recover(struct vadmin *v);

int vadmin_parse_email(const char *email, struct bstr *user,
                       struct bstr *domain, const struct vconf *c);
int vadmin_domain_add(struct vadmin *v, const char *domain,
                      const struct vadmin_domain *o,
                      const struct vadmin_user *postmaster);
int vadmin_domain_del(struct vadmin *v, const char *domain);
int vadmin_alias_add(struct vadmin *v, const char *alias, const char *real);
int vadmin_user_add(struct vadmin *v, const char *user, const char *domain,
                    const struct vadmin_user *o);
int vadmin_user_del(struct vadmin *v, const char *user, const char *domain);
int vadmin_user_set(struct vadmin *v, const struct vdomain *d,
                    const struct vpw *pw, bool quota_changed);
int vadmin_find(struct vadmin *v, const char *user, const char *domain,
                struct vdomain *d, struct vpw *pw);
int vadmin_aliases(const char *real, struct bstr *list) WUR;
int vadmin_rebuild_map(struct vadmin *v, const struct vdomain *d);
int vadmin_user_password(struct vadmin *v, const struct vdomain *d,
                         struct vpw *pw, const char *clear,
                         bool quota_changed);

#endif
