/* SPDX-License-Identifier: ISC */
/*
 * dotqmail - reading .qmail files (dot-qmail(5)) and finding which one
 * applies to an address extension.
 *
 * The parser reads a whole file (or the defaultdelivery text) into a list
 * of instructions before anything is delivered, so a malformed line stops
 * the delivery before it starts instead of half-way through.  It
 * refuses what qmail-1.03 would have mis-delivered: NUL and control
 * characters, lines that begin with white space, forward addresses with
 * spaces, angle brackets or comments, empty programs, over-long lines.
 * It never touches the filesystem.
 */
#ifndef DOTQMAIL_H
#define DOTQMAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

#define DOTQMAIL_LINE_MAX 16384   /* one instruction */
#define DOTQMAIL_FILE_MAX 8388608 /* a whole .qmail (big forward lists) */
#define DOTQMAIL_ADDR_MAX 900     /* as ADDR_MAX: what the queue stores */

enum dq_kind {
    DQ_PROGRAM, /* |command */
    DQ_FORWARD, /* &address, or a bare address */
    DQ_MBOX,    /* ./file or /file */
    DQ_MAILDIR, /* ./dir/ or /dir/ */
};

struct dq_instr {
    enum dq_kind kind;
    unsigned line; /* 1-based, for messages */
    size_t off;    /* NUL-terminated argument at dotqmail.args.s + off */
    size_t len;
};

struct dotqmail {
    struct dq_instr *v;
    size_t n, cap;
    struct bstr args;
};

/* Why a file was refused; the qmail-1.03 cases keep qmail's words. */
enum dq_error {
    DQ_E_NONE,
    DQ_E_FIRSTBLANK,  /* "first line of .qmail file is blank" */
    DQ_E_PROG_XBIT,   /* program line in a forward-only file */
    DQ_E_FILE_XBIT,   /* mbox/maildir line in a forward-only file */
    DQ_E_NUL,
    DQ_E_CONTROL,
    DQ_E_LONG,
    DQ_E_SPACE,       /* the line begins with white space */
    DQ_E_EMPTYPROG,
    DQ_E_EMPTYADDR,
    DQ_E_BADADDR,     /* spaces, <>, (), commas, no local part or domain */
    DQ_E_TOOBIG,      /* the whole file */
};

struct dq_err {
    enum dq_error code;
    unsigned line;
};

void dotqmail_init(struct dotqmail *d);
void dotqmail_free(struct dotqmail *d);
int dotqmail_parse(struct dotqmail *d, const char *text, size_t len,
                   bool forwardonly, struct dq_err *err) WUR;
const char *dotqmail_arg(const struct dotqmail *d, size_t i);
const char *dotqmail_strerror(enum dq_error code);
bool dotqmail_addr_ok(const char *a, size_t len);

/* Which .qmail file: qmail's search order for dash and ext. */
struct dq_search {
    const char *dash;
    const char *ext; /* the safe extension (dotqmail_safeext) */
    size_t len;
    size_t i;  /* next default candidate: ext[0..i] + "default" */
    int state; /* 0 exact name next, 1 defaults, 2 done */
};

int dotqmail_safeext(struct bstr *out, const char *ext, size_t len) WUR;
void dotqmail_search_init(struct dq_search *s, const char *dash,
                          const char *safeext, size_t len);
int dotqmail_search_next(struct dq_search *s, struct bstr *name,
                         size_t *defpos) WUR;

#endif
