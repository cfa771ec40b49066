/* SPDX-License-Identifier: ISC */
/*
 * greylist - greylisting without a lock: a directory of empty stamp
 * files, one per triplet (client network, envelope sender, recipient),
 * each named by the SHA-256 of the triplet and kept in one of 256
 * subdirectories (the hash's first two hex digits).  A file's name says
 * its state and its mtime when:
 *   HASH      seen, not passed yet; mtime: first sight
 *   HASH.ok   passed; mtime: the last time it passed
 *   HASH.cl   (HASH of the client network alone) one byte per triplet
 *             the network passed; mtime: the last pass
 * Files are made with O_CREAT|O_EXCL, promoted by rename and refreshed
 * with futimens: nobody rewrites a shared file and nobody waits.  Names
 * are only ever hex digests, so no sender, recipient or TCPREMOTEIP can
 * make or test a path outside the directory.  Nothing here exits, logs or
 * sleeps; times come from the caller.
 */
#ifndef GREYLIST_H
#define GREYLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "outcome.h"

#define GREYLIST_DIR "users/greylist"  /* under QMAIL_HOME */
#define GREYLIST_V4PREFIX 24  /* a pool of senders retries from a neighbour */
#define GREYLIST_V6PREFIX 64
#define GREYLIST_NET 64       /* bytes of a network's text, NUL included */
#define GREYLIST_HASH 65      /* hex SHA-256 and its NUL */
#define GREYLIST_EVERY 600    /* seconds between built-in expiry slices */
#define GREYLIST_SLICE 16     /* subdirectories one slice sweeps */
#define GREYLIST_REFRESH 3600 /* a pass older than this is touched again */
#define GREYLIST_STAMP ".expire" /* its mtime: the last expiry slice */
#define GREYLIST_SESSION_NEW 100 /* new triplets one session may record */

/* the settings (control/greylist*, qmail-control(5)) */
struct greylist_conf {
    unsigned long delay;   /* seconds before a retry passes; 0: off */
    unsigned long window;  /* seconds after first sight a retry may come */
    unsigned long maxage;  /* seconds a pass stays good, unused */
    unsigned long clients; /* passes that allow a network; 0: never */
    bool norecord;         /* a first sight is refused but not recorded */
};

enum greylist_verdict {
    GREYLIST_PASS,    /* passed before, still good */
    GREYLIST_PASSED,  /* retried after the delay: passes from now on */
    GREYLIST_CLIENT,  /* the network passed often enough: allowed */
    GREYLIST_NEW,     /* first sight: try again later */
    GREYLIST_EARLY,   /* retried before the delay was over */
    GREYLIST_EXPIRED, /* retried after the window: first sight again */
};

void greylist_net(const char *ip, char out[GREYLIST_NET]);
int greylist_hash(const char *net, const char *sender, size_t slen,
                  const char *rcpt, size_t rlen, char out[GREYLIST_HASH])
    __attribute__((warn_unused_result));
int greylist_check(const char *dir, const struct greylist_conf *c,
                   const char *net, const char *sender, size_t slen,
                   const char *rcpt, size_t rlen, time_t now,
                   enum greylist_verdict *v, unsigned long *age)
    __attribute__((warn_unused_result));
int greylist_client(const char *dir, const struct greylist_conf *c,
                    const char *net, time_t now)
    __attribute__((warn_unused_result));
int greylist_expire(const char *dir, const struct greylist_conf *c,
                    unsigned first, unsigned count, time_t now,
                    size_t *removed) __attribute__((warn_unused_result));
int greylist_expire_due(const char *dir, const struct greylist_conf *c,
                        time_t now, size_t *removed)
    __attribute__((warn_unused_result));

/* qmail-smtpd's step at RCPT (smtpd.h's session) */
struct smtpd_session;
enum reason smtpd_greylist(struct smtpd_session *s, const char *rcpt,
                           size_t rlen);

#endif
