/* SPDX-License-Identifier: ISC */
/*
 * rcptmap - which addresses of a virtual domain can take mail, in a form
 * qmail-smtpd (as qmaild, which cannot read the domains' directories)
 * can read at RCPT time in O(1).
 *
 * One cdb per domain, QMAIL_HOME/users/rcptmap/DOMAIN, mode 644, written
 * by the v* tools and qmail-newu (which read the domain's directory and
 * accounts) to a temporary file, fsynced and renamed into place.  Keys:
 *
 *   NAME          an address NAME@DOMAIN that takes mail: an account,
 *                 an alias (.qmail-NAME, valias) or a mailing list;
 *                 the value is "m" (a mailbox, which may be over quota)
 *                 or "a" (anything else)
 *   NAME-         a prefix: NAME-anything@DOMAIN is delivered
 *                 (.qmail-NAME-default); value "d"
 *   "\0policy"    "check" (refuse unknown names) or "accept" (a
 *                 catch-all, or the admin's choice: no check)
 *   "\0real"      the domain whose accounts these are (an alias domain
 *                 names its real domain; its map holds no names)
 *   "\0dir"       the domain's directory, "\0mtime" its mtime when the
 *                 map was built: a directory changed since (a .qmail
 *                 file or vpasswd edited by hand) makes the map stale,
 *                 and a stale map accepts everything
 *
 * Over quota: users/overquota/USER@REALDOMAIN exists while vdelivermail
 * last found that mailbox full.  Its mtime is when; a flag older than
 * RCPTMAP_OVERQUOTA_AGE seconds is not trusted (the owner may have
 * emptied the mailbox since), so mail is accepted and vdelivermail looks
 * again.  Lookups never fail closed: trouble reading the map means
 * "no opinion" and the caller accepts as qmail did.  Nothing here exits
 * or logs.
 */
#ifndef RCPTMAP_H
#define RCPTMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "bstr.h"
#include "cdbmap.h"

#define RCPTMAP_DIR "users/rcptmap"
#define RCPTMAP_OVERQUOTA_DIR "users/overquota"
#define RCPTMAP_OVERQUOTA_AGE 900 /* seconds, as maildirsize's rule */

enum rcptmap_verdict {
    RCPTMAP_NOMAP,     /* not a mapped domain: no opinion */
    RCPTMAP_OK,        /* the address takes mail */
    RCPTMAP_UNKNOWN,   /* no such mailbox */
    RCPTMAP_OVERQUOTA, /* a mailbox that is full */
    RCPTMAP_ACCEPT,    /* the domain accepts everything (catch-all) */
    RCPTMAP_STALE,     /* the map is older than the domain's directory */
    RCPTMAP_ERROR,     /* the map could not be read: no opinion */
};

enum rcptmap_kind { RCPTMAP_MAILBOX = 'm', RCPTMAP_ALIAS = 'a',
                    RCPTMAP_PREFIX = 'd' };

/* What rcptmap_check found, for the log line. */
struct rcptmap_result {
    enum rcptmap_verdict verdict;
    struct bstr why; /* e.g. "prefix sales-", "stale map" */
};

int rcptmap_check(const char *home, const char *local, size_t llen,
                  const char *domain, size_t dlen, time_t now,
                  struct rcptmap_result *res) WUR;
void rcptmap_result_free(struct rcptmap_result *res);

struct rcptmap_make {
    struct cdbmap_make mk;
};

int rcptmap_make_start(struct rcptmap_make *m, const char *home,
                       const char *domain) WUR;
int rcptmap_make_meta(struct rcptmap_make *m, bool accept, const char *real,
                      const char *dir) WUR;
int rcptmap_make_add(struct rcptmap_make *m, const char *name, size_t len,
                     enum rcptmap_kind kind) WUR;
int rcptmap_make_finish(struct rcptmap_make *m) WUR;
void rcptmap_make_abort(struct rcptmap_make *m);
int rcptmap_remove(const char *home, const char *domain) WUR;
int rcptmap_fresh(const char *home, const char *domain) WUR;

int rcptmap_overquota_set(const char *home, const char *user,
                          const char *domain, bool over) WUR;

#endif
