/* SPDX-License-Identifier: ISC */
/*
 * pattern - spamcontrol's wildcard lines in badmailfrom, badrcptto and
 * badhelo, matched in time proportional to pattern times subject.
 *
 * A line is a pattern when it starts with '!' (an exemption) or holds
 * one of the wildmat characters '*' (any run of bytes), '?' (one byte),
 * "[...]" (one byte of a set; "[^...]" or "[!...]" one byte not in it,
 * "a-z" a range) or '\' (the next byte as itself).  Matching ignores
 * ASCII case.  Plain lines are the caller's (a hash set: qmail-1.03's
 * exact and "@domain" entries); a pattern list holds only the patterns,
 * in file order, and the last one that matches decides (spamcontrol's
 * rule), so "*@example.com" then "!boss@example.com" lists the domain
 * but the boss.  With PATTERN_ADDR a pattern starting with '@' is
 * matched against the subject's "@domain" (from its last '@'), as a
 * plain "@domain" line is.  Nothing here allocates while matching, and
 * no input makes it backtrack more than once per subject byte.
 */
#ifndef PATTERN_H
#define PATTERN_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

#define PATTERN_ADDR 1u /* '@...' patterns match the subject's @domain */

enum pattern_verdict {
    PATTERN_NONE,   /* no pattern matched */
    PATTERN_LISTED, /* the last match was a plain pattern */
    PATTERN_EXEMPT, /* the last match was a '!' pattern */
};

struct pattern_item {
    const char *p; /* after the '!', NUL-terminated, in the caller's list */
    size_t len;
    bool neg;      /* the line started with '!' */
    bool domain;   /* PATTERN_ADDR and p starts with '@' */
};

struct pattern_list {
    struct pattern_item *item;
    size_t n;
};

bool pattern_is_wild(const char *line, size_t len);
bool pattern_glob(const char *pat, size_t plen, const char *s, size_t slen);
int pattern_list_build(struct pattern_list *l, const struct bstr *list,
                       unsigned flags) WUR;
enum pattern_verdict pattern_list_match(const struct pattern_list *l,
                                        const char *s, size_t len);
const struct pattern_item *pattern_list_find(const struct pattern_list *l,
                                             const char *s, size_t len);
void pattern_list_free(struct pattern_list *l);

#endif
