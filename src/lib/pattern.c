/* SPDX-License-Identifier: ISC */
/*
 * pattern - wildmat-style patterns for the bad* control files
 * (pattern.h says which lines are patterns and how a list decides).
 *
 * The matcher is the iterative one: a '*' remembers where it stood, and
 * a mismatch returns there with one more subject byte swallowed.  Since
 * '*' is the only element of variable length, going back to the last
 * '*' alone is enough, and the work is at most pattern x subject steps:
 * "*a*a*a*...b" against "aaaa..." costs no more than any other line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "pattern.h"

static unsigned char
low(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* pattern_is_wild - does this control line belong in a pattern list? */
bool
pattern_is_wild(const char *line, size_t len)
{
    if (len && line[0] == '!')
        return true;
    for (size_t i = 0; i < len; i++)
        if (line[i] == '*' || line[i] == '?' || line[i] == '[' ||
            line[i] == '\\')
            return true;
    return false;
}

/*
 * class - does "[...]" at p[0..n) (p[0] is '[') take c?  *used gets the
 * class's length; 0 when it has no closing ']' (then '[' is itself).
 */
static bool
class(const char *p, size_t n, unsigned char c, size_t *used)
{
    size_t i = 1;
    bool neg = false, hit = false;

    *used = 0;
    if (i < n && (p[i] == '^' || p[i] == '!')) {
        neg = true;
        i++;
    }
    /* a ']' first in the set is one of its members */
    for (bool first = true; i < n && (first || p[i] != ']'); first = false) {
        unsigned char lo = low((unsigned char)p[i]), hi;

        if (p[i] == '\\' && i + 1 < n)
            lo = low((unsigned char)p[++i]);
        i++;
        hi = lo;
        if (i + 1 < n && p[i] == '-' && p[i + 1] != ']') {
            i++;
            if (p[i] == '\\' && i + 1 < n)
                i++;
            hi = low((unsigned char)p[i]);
            i++;
        }
        if (lo <= c && c <= hi)
            hit = true;
    }
    if (i >= n)
        return false; /* unterminated: not a class */
    *used = i + 1;
    return hit != neg;
}

/* one - does the element at p[0..n) (not '*') take c?  *used: its size */
static bool
one(const char *p, size_t n, unsigned char c, size_t *used)
{
    *used = 1;
    switch (p[0]) {
    case '?':
        return true;
    case '[': {
        size_t u;
        bool hit = class(p, n, c, &u);

        if (u) {
            *used = u;
            return hit;
        }
        return c == '[';
    }
    case '\\':
        if (n > 1) {
            *used = 2;
            return low((unsigned char)p[1]) == c;
        }
        return c == '\\';
    default:
        return low((unsigned char)p[0]) == c;
    }
}

/*
 * pattern_glob - does the whole of s[0..slen) match pat[0..plen)?
 * ASCII case is ignored; NULs in either are ordinary bytes.
 */
bool
pattern_glob(const char *pat, size_t plen, const char *s, size_t slen)
{
    size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;

    while (si < slen) {
        if (pi < plen && pat[pi] == '*') {
            while (pi < plen && pat[pi] == '*')
                pi++;
            if (pi == plen)
                return true; /* a trailing '*' takes the rest */
            star = pi;
            mark = si;
            continue;
        }
        if (pi < plen) {
            size_t used;

            if (one(pat + pi, plen - pi, low((unsigned char)s[si]), &used)) {
                pi += used;
                si++;
                continue;
            }
        }
        if (star == SIZE_MAX)
            return false;
        pi = star;
        si = ++mark;
    }
    while (pi < plen && pat[pi] == '*')
        pi++;
    return pi == plen;
}

/*
 * pattern_list_build - collect the pattern lines of a ctl list (items
 * NUL-terminated, as ctl_readlist makes them) in file order.  The list
 * points into list, which must outlive it.  Returns 0, or -1 with errno
 * ENOMEM.
 */
int
pattern_list_build(struct pattern_list *l, const struct bstr *list,
                   unsigned flags)
{
    size_t n = 0;

    l->item = NULL;
    l->n = 0;
    for (const char *p = ctl_list_next(list, NULL); p;
         p = ctl_list_next(list, p))
        if (pattern_is_wild(p, strlen(p)))
            n++;
    if (n == 0)
        return 0;
    l->item = calloc(n, sizeof *l->item);
    if (!l->item) {
        errno = ENOMEM;
        return -1;
    }
    for (const char *p = ctl_list_next(list, NULL); p;
         p = ctl_list_next(list, p)) {
        struct pattern_item *it = &l->item[l->n];
        size_t len = strlen(p);

        if (!pattern_is_wild(p, len))
            continue;
        it->neg = p[0] == '!';
        it->p = p + it->neg;
        it->len = len - it->neg;
        it->domain = (flags & PATTERN_ADDR) && it->len && it->p[0] == '@';
        l->n++;
    }
    return 0;
}

/*
 * pattern_list_find - the last pattern that matches s[0..len) (the one
 * that decides), or NULL.
 */
const struct pattern_item *
pattern_list_find(const struct pattern_list *l, const char *s, size_t len)
{
    size_t at = len;

    for (size_t i = 0; i < len; i++)
        if (s[i] == '@')
            at = i;
    for (size_t i = l->n; i-- > 0;) {
        const struct pattern_item *it = &l->item[i];
        bool hit;

        if (it->domain)
            hit = at < len && pattern_glob(it->p, it->len, s + at, len - at);
        else
            hit = pattern_glob(it->p, it->len, s, len);
        if (hit)
            return it;
    }
    return NULL;
}

/*
 * pattern_list_match - the verdict of the last pattern that matches
 * s[0..len), or PATTERN_NONE.
 */
enum pattern_verdict
pattern_list_match(const struct pattern_list *l, const char *s, size_t len)
{
    const struct pattern_item *it = pattern_list_find(l, s, len);

    if (!it)
        return PATTERN_NONE;
    return it->neg ? PATTERN_EXEMPT : PATTERN_LISTED;
}

/* pattern_list_free - release the list (not the ctl list it points into) */
void
pattern_list_free(struct pattern_list *l)
{
    free(l->item);
    l->item = NULL;
    l->n = 0;
}
