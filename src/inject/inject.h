/* SPDX-License-Identifier: ISC */
/*
 * inject.h - the injection family: qmail-inject's header rewriting
 * (qmail-header(5)), its settings, and the pieces sendmail, predate,
 * datemail and mailsubj share.
 *
 * Everything here is ordinary library code: it returns 0 or -1 with
 * errno (EINVAL with a reason in the struct for bad input), never exits
 * or logs, and reads no clock or environment it was not handed, so the
 * unit tests drive it with fixed times and settings.  The main files
 * (qmail-inject.c, sendmail.c, ...) decide what a failure means.
 */
#ifndef INJECT_H
#define INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "bstr.h"
#include "headeraddr.h"

#define INJECT_HEADER_MAX (1024u * 1024) /* bytes of header (qmail: none) */
#define INJECT_WHY_MAX 512

/* ---- conf.c: settings ---------------------------------------------- */

struct inject_conf {
    struct bstr me;
    struct bstr defaulthost;   /* added to addresses without a host */
    struct bstr defaultdomain; /* added to hosts without a dot */
    struct bstr plusdomain;    /* replaces a trailing "+" */
    struct bstr idhost;        /* right side of Message-IDs */
    bool me_present, dh_present, dd_present, pd_present, id_present;
    /* QMAILINJECT letters */
    bool namecomment; /* c: From: user@host (Name) */
    bool delsender;   /* s: ignore and delete Return-Path */
    bool delfrom;     /* f: delete From */
    bool delmsgid;    /* i: delete Message-ID */
    bool veprcpt;     /* r: per-recipient VERP */
    bool verpmess;    /* m: per-message VERP */
    /* the default From: and envelope sender */
    const char *user;  /* QMAILUSER, MAILUSER, USER, LOGNAME, anonymous */
    const char *host;  /* QMAILHOST, MAILHOST, or NULL: defaulthost */
    const char *name;  /* QMAILNAME, MAILNAME, NAME, or NULL */
    const char *suser; /* QMAILSUSER, or user */
    const char *shost; /* QMAILSHOST, or host */
    struct bstr mft;   /* QMAILMFTFILE's addresses, NUL-separated */
    bool mft_on;
};

typedef const char *(*inject_getenv)(const char *name);

void inject_conf_init(struct inject_conf *cf);
int inject_conf_env(struct inject_conf *cf, inject_getenv get,
                    const char **why) __attribute__((warn_unused_result));
int inject_conf_mft(struct inject_conf *cf, const char *path)
    __attribute__((warn_unused_result));
int inject_conf_load(struct inject_conf *cf, inject_getenv get,
                     const char **bad) __attribute__((warn_unused_result));
void inject_conf_free(struct inject_conf *cf);
bool inject_host_ok(const char *s, size_t len);
bool inject_text_ok(const char *s);

/* ---- rewrite.c: qmail's address rewriting --------------------------- */

int inject_rewrite(const struct inject_conf *cf, struct headeraddr *a)
    __attribute__((warn_unused_result));

/* ---- newfield.c: fields qmail-inject adds ---------------------------- */

struct inject_stamp {
    time_t now;
    long pid;
    unsigned long rnd; /* 32 random bits for the Message-ID */
};

int inject_date(struct bstr *out, time_t t)
    __attribute__((warn_unused_result));
int inject_msgid(struct bstr *out, const struct inject_stamp *st,
                 const char *idhost, size_t len)
    __attribute__((warn_unused_result));
int inject_phrase(struct bstr *out, const char *name)
    __attribute__((warn_unused_result));
int inject_comment(struct bstr *out, const char *name)
    __attribute__((warn_unused_result));
int inject_text(struct bstr *out, const char *text)
    __attribute__((warn_unused_result));

/* ---- fields.c: one message's header --------------------------------- */

enum inject_rcpt {
    INJECT_RCPT_DEFAULT, /* -A: arguments, else the header */
    INJECT_RCPT_ARGS,    /* -a */
    INJECT_RCPT_HEADER,  /* -h */
    INJECT_RCPT_BOTH     /* -H */
};

#define INJECT_NKIND 24

struct inject {
    const struct inject_conf *cf;
    bool seen[INJECT_NKIND];
    struct bstr saved;  /* the fields kept, rendered, in order */
    struct bstr args;   /* recipients from arguments, NUL-separated */
    struct bstr hdr;    /* To, Cc, Bcc, Apparently-To */
    struct bstr resent; /* Resent-To, Resent-Cc, Resent-Bcc */
    struct bstr tocc;   /* To and Cc, for Mail-Followup-To */
    struct bstr sender; /* the envelope sender, once known */
    bool sender_set;
    int kind;           /* the field being handled */
    struct bstr tmp;
    struct headeraddr a;
    char why[INJECT_WHY_MAX];
};

void inject_init(struct inject *ij, const struct inject_conf *cf);
int inject_sender_arg(struct inject *ij, const char *s)
    __attribute__((warn_unused_result));
int inject_rcpt_arg(struct inject *ij, const char *s)
    __attribute__((warn_unused_result));
int inject_field(struct inject *ij, const char *f, size_t len,
                 size_t namelen, size_t value, bool mbox)
    __attribute__((warn_unused_result));
int inject_finish(struct inject *ij, const struct inject_stamp *st,
                  bool returnpath, struct bstr *out)
    __attribute__((warn_unused_result));
int inject_recipients(struct inject *ij, enum inject_rcpt how,
                      struct bstr *out, size_t *count)
    __attribute__((warn_unused_result));
void inject_free(struct inject *ij);

/* ---- body.c: the byte stream ---------------------------------------- */

struct inject_crlf {
    bool cr; /* a CR is held back: is the next byte LF? */
};

size_t inject_crlf(struct inject_crlf *st, const char *p, size_t n,
                   char *out);
size_t inject_crlf_end(struct inject_crlf *st, char *out);

/* ---- pipeto.c: a program fed a prefix and our input ---------------- */

int inject_pipeto(char *const argv[], bool search, const char *prefix,
                  size_t len, const char **why)
    __attribute__((warn_unused_result));

/* ---- smargs.c: sendmail's command line ------------------------------ */

enum sendmail_mode { SM_DELIVER, SM_QREAD, SM_SMTPD };

struct sendmail_args {
    enum sendmail_mode mode;
    bool header;          /* -t */
    const char *sender;   /* -f or -r; NULL: none */
    const char *fullname; /* -F; NULL: none */
    char **rcpt;          /* recipients (point into argv) */
    int nrcpt;
    char why[INJECT_WHY_MAX];
};

int sendmail_args(struct sendmail_args *a, int argc, char **argv)
    __attribute__((warn_unused_result));

#endif
