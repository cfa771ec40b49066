/* SPDX-License-Identifier: ISC */
/*
 * headeraddr - address lists of header fields (RFC 5322 §3.4: To, Cc,
 * From, Reply-To, ...): tokenise, parse, hand each address to a callback
 * that may rewrite it, and render the list again.
 *
 * It reads mailboxes ("a@b", "Name <a@b>", "a@b (Name)"), groups
 * ("undisclosed-recipients:;"), comments, quoted strings, domain
 * literals and the obsolete forms qmail accepts: source routes (dropped),
 * a trailing "." or "@" (dropped), old-style lists separated by blanks
 * ("a b" is read as "a, b") and ";" between addresses outside a group
 * (read as ",").  Bytes past 0x7f are text (RFC 6532).
 * It refuses, with a reason: control characters, unbalanced quotes,
 * comments, brackets or groups, nested groups, more than one "@" in an
 * address, empty labels, an empty local part.  Rendering keeps phrases
 * and comments as written and folds long lists after commas.
 */
#ifndef HEADERADDR_H
#define HEADERADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

#define HEADERADDR_MAX (16u * 1024 * 1024) /* bytes of one list */
#define HEADERADDR_LINE 78                 /* fold lists past this column */

/* One address as the callback sees it; the callback may change it. */
struct headeraddr {
    struct bstr local;  /* the local part, unquoted */
    struct bstr domain; /* the domain, "[literal]" with brackets; empty
                           when the address had no "@" */
    bool angle;         /* written as <...> */
    bool null;          /* "<>" (local and domain empty) */
    bool group;         /* a member of a group */
    const char *why;    /* set by a callback that refuses the address */
};

/* fn - called once per address, left to right: 0 to go on, -1 to stop
 * (errno set; a->why for EINVAL). */
typedef int (*headeraddr_fn)(void *ctx, struct headeraddr *a);

int headeraddr_list(const char *s, size_t len, headeraddr_fn fn, void *ctx,
                    struct bstr *out, size_t col, const char **why)
    __attribute__((warn_unused_result));
int headeraddr_one(const char *s, size_t len, struct headeraddr *a,
                   const char **why) __attribute__((warn_unused_result));
int headeraddr_cat(struct bstr *out, const struct headeraddr *a)
    __attribute__((warn_unused_result));
int headeraddr_queue(struct bstr *out, const struct headeraddr *a)
    __attribute__((warn_unused_result));
void headeraddr_free(struct headeraddr *a);

#endif
