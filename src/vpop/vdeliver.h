/* SPDX-License-Identifier: ISC */
/*
 * vdeliver - vdelivermail, vpopmail 5.4's delivery agent for virtual
 * domains.  qmail-local runs it from the domain directory's
 * .qmail-default ("| vdelivermail '' INSTRUCTION") as the domain's owner,
 * with the message on fd 0 (a seekable file) and the recipient in $EXT
 * (the mailbox name) and $HOST (the domain).  With the PostgreSQL store
 * it first looks for $EXT in vpopmail's valias table and, when found,
 * delivers by those lines as by a .qmail.  It finds the account (an
 * alias domain's real domain; for "joe-ext" also "joe"), honours its
 * BOUNCE_MAIL flag and its own .qmail, stores the message in its Maildir
 * under the Maildir++ quota, and for a name without an account follows
 * INSTRUCTION: bounce-no-mailbox, delete, an address to forward to, or a
 * directory to deliver into.
 *
 * Guarantees: a name with '/', "..", or a control byte is refused before
 * anything on disk is touched; trouble with the account store, a control
 * file or a disk is a deferral (111), never a bounce (100), which is kept
 * for what will not change by itself (a file-system quota, EDQUOT, is
 * "over quota" and follows control/overquota, as vpopmail's); every run ends with one line that
 * says what happened and why, control bytes escaped (vis).  A message in
 * new/ is complete, fsynced, and named with its size (",S=").  Nothing
 * here exits: vdel_run returns the exit code.
 */
#ifndef VDELIVER_H
#define VDELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "bstr.h"
#include "maildir.h"
#include "quota.h"
#include "vauth.h"
#include "vconf.h"
#include "vdomain.h"
#include "vpw.h"

#define VDEL_NAME_MAX 255          /* $EXT, in bytes */
#define VDEL_DOTQMAIL_MAX 65536    /* a .qmail file, in bytes */
#define VDEL_MSGFILE_MAX 4096      /* .no-user.msg, .over-quota.msg */
#define VDEL_WARNFILE_MAX 65536    /* .quotawarn.msg */
#define VDEL_WARN_AGAIN 86400      /* seconds between two quota warnings */
#define VDEL_WARN_FLAG "quotawarn" /* in the Maildir: when we last warned */
#define VDEL_MODE_DIR 0700         /* directories and Maildirs we create */
#define VDEL_FULL_ROOM 4096        /* less room than this: the box is full */

/* Every way a run ends: one row of vdeliver.c's table each. */
enum vdel_reason {
    VR_DELIVERED,
    VR_STOPPED,
    VR_DELETED,
    VR_DROPPED,
    VR_NOMAILBOX,
    VR_BADNAME,
    VR_BADDOMAIN,
    VR_LOOP,
    VR_DISABLED,
    VR_QUOTA_TEMP,
    VR_QUOTA_PERM,
    VR_PROG_PERM,
    VR_PROG_TEMP,
    VR_FWD_PERM,
    VR_FWD_TEMP,
    VR_USAGE,
    VR_NOENV,
    VR_NOTVIRTUAL,
    VR_CATCHALL,
    VR_DOTQMAIL,
    VR_MBOX,
    VR_ACCOUNT,
    VR_STORE,
    VR_CONFIG,
    VR_MESSAGE,
    VR_MAILDIR,
    VR_DISKFULL,
    VR_NOMEM,
    VR_COUNT
};

struct vdel_outcome {
    enum vdel_reason reason;
    int code;         /* exit code: 0, 99, 100 or 111 */
    const char *esc;  /* RFC 3463 code, NULL for a delivery */
    const char *text; /* the start of the line */
};

/* The domain's instruction for names without an account. */
enum vdel_catch {
    VDEL_C_BOUNCE,  /* bounce-no-mailbox */
    VDEL_C_DELETE,  /* delete */
    VDEL_C_FORWARD, /* an address */
    VDEL_C_DIR,     /* an absolute path: a Maildir or a user's directory */
    VDEL_C_BAD,
};

/* One line of a .qmail file (dot-qmail(5), as vdelivermail reads it). */
enum vdel_line_kind {
    VDEL_L_BLANK,
    VDEL_L_COMMENT,
    VDEL_L_PROGRAM, /* arg: the command for sh -c */
    VDEL_L_FORWARD, /* arg: the address, '&' removed */
    VDEL_L_MAILDIR, /* arg: the path, ending in '/' */
    VDEL_L_MBOX,    /* arg: the path (not supported: deferred) */
    VDEL_L_BAD,     /* why: what is wrong */
};

struct vdel_line {
    enum vdel_line_kind kind;
    const char *arg; /* into the line given, not NUL-terminated */
    size_t len;
    const char *why;
};

/* The control files vdelivermail reads (one table in vdeliver.c). */
struct vdel_settings {
    struct bstr overquota;     /* control/overquota: defer (default), bounce */
    unsigned long warnpercent; /* control/quotawarnpercent, 0 never warns */
};

/* What the quota check found for one Maildir. */
struct vdel_quota {
    struct mdquota q;  /* the limit */
    struct mdusage u;  /* usage before this delivery */
    bool over;         /* this delivery would go over */
    bool file;         /* maildirsize exists: deliveries are added to it */
    bool recalculated; /* it was written again from the Maildir */
};

/* What vdq_store did. */
struct vdel_stored {
    struct bstr name;         /* the file's name in new/ */
    unsigned long long size;  /* its bytes */
    enum maildir_stage stage; /* where a failure happened */
    int counterr;             /* errno of a failed maildirsize update, or 0 */
};

/* One run: what qmail-local gave, what was found, what happened. */
struct vdel {
    /* arguments and environment */
    int argc;
    char *const *argv;
    const char *ext, *host, *sender, *newsender, *rpline_env, *qqprog_env;
    const char *qmailhome;
    int msgfd;
    time_t now;
    /* configuration and lookups */
    struct vdel_settings set;
    struct vconf conf;
    struct vauth auth;
    struct vdomain dom;
    struct vpw pw;
    bool have_conf, have_auth, have_dom, have_pw;
    struct bstr user;    /* $EXT in lower case */
    struct bstr hostl;   /* $HOST in lower case */
    struct bstr account; /* the account's name (user, or its prefix) */
    struct bstr extpart; /* after "account-" when found by the prefix */
    struct bstr rcpt;    /* the address we deliver for: NAME@REALDOMAIN */
    struct bstr rpline;  /* "Return-Path: <...>\n" or empty */
    struct bstr domains; /* ~vpopmail/domains */
    struct bstr ownmd;   /* the account's Maildir */
    struct bstr qqprog;  /* qmail-queue, or $QMAILQUEUE */
    long long msgsize;   /* the message as given, in bytes */
    /* deliveries made */
    struct bstr fwd; /* forward addresses, each NUL-terminated */
    size_t nfwd;
    unsigned nmaildir, nprogram, nforward;
    unsigned long long stored; /* bytes of the last Maildir file */
    /* the outcome */
    enum vdel_reason reason;
    struct bstr detail; /* words after the row's text */
    struct bstr custom; /* an admin's .no-user.msg or .over-quota.msg */
    struct bstr notes;  /* what went wrong on the side (a flag, a warning) */
};

const struct vdel_outcome *vdel_outcome(enum vdel_reason r);

/* vdeliver_parse.c: pure */
bool vdel_name_ok(const char *s, size_t len);
bool vdel_path_safe(const char *s, size_t len);
int vdel_catchall_parse(const char *s, size_t len, enum vdel_catch *kind,
                        struct bstr *arg) WUR;
void vdel_line_parse(const char *line, size_t len, struct vdel_line *out);
bool vdel_address_ok(const char *s, size_t len);
int vdel_path_resolve(const char *base, const char *path, size_t len,
                      const char *confine, struct bstr *out) WUR;
bool vdel_is_dtline(const char *line, size_t len, const char *addr);
int vdel_loop_scan(int fd, const char *const *addrs, size_t n,
                   size_t *which) WUR;
int vdel_rpline(const char *env, const char *sender, struct bstr *out) WUR;
int vdel_warn_text(struct bstr *out, const char *rcpt, const char *domain,
                   const struct mdquota *q, const struct mdusage *u, time_t now,
                   const struct bstr *custom) WUR;

/* vdeliver_quota.c: Maildir files, maildirsize and the warning flag */
int vdq_usage(const char *maildir, struct mdusage *u) WUR;
int vdq_check(const char *maildir, const struct mdquota *q, long long add,
              time_t now, struct vdel_quota *out) WUR;
int vdq_add(const char *maildir, long long bytes, long long count) WUR;
int vdq_lock(const char *maildir, bool exclusive) WUR;
void vdq_unlock(int fd);
int vdq_store(const char *maildir, const struct iovec *head, int nhead,
              int msgfd, const char *countdir, struct vdel_stored *st) WUR;
int vdq_quota_dir(const char *maildir, struct bstr *out) WUR;
int vdq_warn_claim(const char *maildir, time_t now) WUR;
int vdq_warn_rearm(const char *maildir) WUR;

/* the run */
void vdel_init(struct vdel *d, int argc, char *const *argv, int msgfd);
int vdel_run(struct vdel *d);
int vdel_report(const struct vdel *d, struct bstr *line) WUR;
void vdel_free(struct vdel *d);

#endif
