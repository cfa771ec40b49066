/* SPDX-License-Identifier: ISC */
/*
 * lspawn - qmail-lspawn's work: read qmail-send's requests (spawnproto.h),
 * run one child per delivery, report each when its child ends.
 *
 * The parent never blocks on a delivery: it polls the request pipe, the
 * children's output pipes and a self-pipe for SIGCHLD.  Each child opens
 * the message (as root in a root-mode instance, before giving anything
 * up), finds the user (users.h), becomes that user and runs qmail-local's
 * code (local.h; or the program $QMAILLOCAL names) with its stdout and
 * stderr on a pipe; that output, cut to fit, is the report's text.  A
 * report is sent as soon as its child has exited, even if a grandchild
 * still holds the pipe.
 */
#ifndef LSPAWN_H
#define LSPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "bstr.h"
#include "result.h"
#include "users.h"

#define SPAWN_JOBS_MAX 1000 /* far above any concurrencylocal */
#define SPAWN_HEAD 1000     /* report text: the first bytes of output */
#define SPAWN_TAIL 900      /* and the last ones, when there is more */

struct lspawn_conf {
    const char *defaultdelivery;
    const char *qmail_local; /* $QMAILLOCAL, or NULL: no exec */
    bool workers;            /* per-user workers (lworker.h) */
    const char *local_path;  /* $QMAIL_HOME/bin/qmail-local, for them */
    struct users_conf users;
};

/* The output of one child: its head, and a ring of its tail. */
struct capture {
    struct bstr head;
    char tail[SPAWN_TAIL];
    size_t tailpos;        /* next byte of the ring to write */
    unsigned long long total;
};

void capture_init(struct capture *c);
void capture_free(struct capture *c);
int capture_add(struct capture *c, const char *p, size_t n) WUR;
int capture_text(const struct capture *c, struct bstr *out) WUR;

/* Why lspawn_prepare failed: a result reason and up to two arguments. */
struct lspawn_err {
    enum result_reason r;
    size_t nargs;
    char buf[2][256];
};

int lspawn_run(const struct lspawn_conf *c, int in, int out);
int lspawn_prepare(const struct lspawn_conf *c, unsigned long long msgid,
                   const char *rcpt, int *messfd, struct local_user *u,
                   struct bstr *local, const char **domain,
                   struct lspawn_err *err) WUR;
const char *const *lspawn_err_args(const struct lspawn_err *err,
                                   const char **v);
void lspawn_reset_signals(void);
/* What lspawn_prepare found, handed to the child that delivers it. */
struct lspawn_prep {
    int messfd;
    struct local_user u;
    struct bstr local;
    const char *domain;
};

void lspawn_child(const struct lspawn_conf *c, unsigned long long msgid,
                  const char *sender, const char *rcpt, int outfd,
                  const struct lspawn_prep *pre) __attribute__((noreturn));

#endif
