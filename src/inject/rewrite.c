/* SPDX-License-Identifier: ISC */
/*
 * rewrite - qmail's rewriting of incomplete addresses (qmail-header(5)),
 * applied to every address of the sender and recipient fields, to the
 * recipients on the command line and to the envelope sender:
 *
 *   joe               ->  joe@defaulthost     (no host)
 *   eric@mammoth.cs+  ->  eric@mammoth.cs.plusdomain   (trailing "+")
 *   djb@silverton     ->  djb@silverton.defaultdomain  (no dot)
 *
 * in that order, so that a defaulthost without dots or ending in "+"
 * gets completed too.  "<>" and the VERP placeholder "x@[]" are left
 * alone; a domain literal never gets a domain appended.  Source routes
 * and a trailing "." or "@" were dropped by the parser already.
 */
#include <string.h>

#include "inject.h"

/* inject_rewrite - complete a's domain as qmail-inject does: 0 or -1. */
int
inject_rewrite(const struct inject_conf *cf, struct headeraddr *a)
{
    struct bstr *d = &a->domain;

    if (a->null || bstr_equals(d, "[]"))
        return 0;
    if (d->len == 0 && bstr_copy(d, &cf->defaulthost) == -1)
        return -1;
    if (d->len && d->s[0] == '[')
        return 0;
    if (d->len && d->s[d->len - 1] == '+') {
        bstr_truncate(d, d->len - 1);
        if ((d->len && bstr_catc(d, '.') == -1) ||
            bstr_catb(d, cf->plusdomain.s, cf->plusdomain.len) == -1)
            return -1;
    }
    if (!memchr(d->s, '.', d->len) &&
        (bstr_catc(d, '.') == -1 ||
         bstr_catb(d, cf->defaultdomain.s, cf->defaultdomain.len) == -1))
        return -1;
    return 0;
}
