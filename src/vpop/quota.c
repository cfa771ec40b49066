/* SPDX-License-Identifier: ISC */
/*
 * quota - Maildir++ quota strings and maildirsize (see quota.h).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "fmt.h"
#include "quota.h"

#define NUM_MAX 19 /* digits: fits a long long */

/* num - an unsigned decimal of 1..NUM_MAX digits filling s[0..len). */
static bool
num(const char *s, size_t len, unsigned long long *v)
{
    return len && len <= NUM_MAX && scan_ull(s, len, v) == len &&
           *v <= (unsigned long long)LLONG_MAX;
}

/*
 * mdq_parse - a quota string into q ("NOQUOTA" and "" give no limit).
 * Returns 0, or -1 with errno EINVAL.
 */
int
mdq_parse(const char *s, size_t len, struct mdquota *q)
{
    unsigned long long v;

    memset(q, 0, sizeof *q);
    if (len == 0 || (len == 7 && memcmp(s, "NOQUOTA", 7) == 0))
        return 0;
    if (num(s, len, &v)) { /* vpopmail's old form: bytes */
        q->has_bytes = true;
        q->bytes = v;
        return 0;
    }
    while (len) {
        const char *comma = memchr(s, ',', len);
        size_t l = comma ? (size_t)(comma - s) : len;
        char unit = l ? s[l - 1] : 0;

        if (l < 2 || !num(s, l - 1, &v))
            goto bad;
        if (unit == 'S' && !q->has_bytes) {
            q->has_bytes = true;
            q->bytes = v;
        } else if (unit == 'C' && !q->has_count) {
            q->has_count = true;
            q->count = v;
        } else {
            goto bad; /* another unit, or one given twice */
        }
        if (comma && l + 1 == len)
            goto bad; /* a trailing comma */
        l += comma ? 1 : 0;
        s += l;
        len -= l;
    }
    return 0;
bad:
    memset(q, 0, sizeof *q);
    errno = EINVAL;
    return -1;
}

/* mdq_limited - whether q limits anything. */
bool
mdq_limited(const struct mdquota *q)
{
    return q->has_bytes || q->has_count;
}

/* mdq_format - append q as maildirsize's first line wants it (no newline):
 * "1000000S,1000C", "1000000S", "1000C"; "NOQUOTA" for none. */
int
mdq_format(const struct mdquota *q, struct bstr *out)
{
    if (!mdq_limited(q))
        return bstr_cats(out, "NOQUOTA");
    if (q->has_bytes && bstr_catf(out, "%lluS", q->bytes) == -1)
        return -1;
    if (q->has_bytes && q->has_count && bstr_catc(out, ',') == -1)
        return -1;
    if (q->has_count && bstr_catf(out, "%lluC", q->count) == -1)
        return -1;
    return 0;
}

/*
 * mdq_over - would usage u plus addbytes and addcount exceed q?  At the
 * limit exactly is not over (Courier's rule: over means more than the
 * quota).  Negative totals (a file gone wrong) count as zero.
 */
bool
mdq_over(const struct mdquota *q, const struct mdusage *u, long long addbytes,
         long long addcount)
{
    long long b = u->bytes > 0 ? u->bytes : 0;
    long long c = u->count > 0 ? u->count : 0;

    addbytes = addbytes > 0 ? addbytes : 0;
    addcount = addcount > 0 ? addcount : 0;

    if (q->has_bytes && (addbytes > LLONG_MAX - b ||
                         (unsigned long long)(b + addbytes) > q->bytes))
        return true;
    if (q->has_count && (addcount > LLONG_MAX - c ||
                         (unsigned long long)(c + addcount) > q->count))
        return true;
    return false;
}

/* snum - a signed decimal filling s[0..len). */
static bool
snum(const char *s, size_t len, long long *v)
{
    unsigned long long u;
    bool neg = len && s[0] == '-';

    if (neg) {
        s++;
        len--;
    }
    if (!num(s, len, &u))
        return false;
    *v = neg ? -(long long)u : (long long)u;
    return true;
}

/* add - *acc += v, saturating instead of overflowing. */
static void
add(long long *acc, long long v)
{
    if (v > 0 && *acc > LLONG_MAX - v)
        *acc = LLONG_MAX;
    else if (v < 0 && *acc < LLONG_MIN - v)
        *acc = LLONG_MIN;
    else
        *acc += v;
}

/*
 * mdsize_parse - maildirsize's text: the quota from its first line into
 * q, the sums of the complete lines after it into u, their number into
 * *lines.  Returns 0, or -1 with errno EINVAL for a file to recalculate
 * (no complete first line, a bad quota, a line that is not two numbers).
 */
int
mdsize_parse(const char *text, size_t len, struct mdquota *q, struct mdusage *u,
             size_t *lines)
{
    const char *nl = memchr(text, '\n', len);
    size_t l;

    memset(u, 0, sizeof *u);
    *lines = 0;
    if (!nl || mdq_parse(text, (size_t)(nl - text), q) == -1)
        goto bad;
    l = (size_t)(nl - text) + 1;
    text += l;
    len -= l;
    while ((nl = memchr(text, '\n', len))) {
        long long v[2];
        size_t i = 0, at = 0;

        l = (size_t)(nl - text);
        /* two integers separated (and maybe surrounded) by blanks */
        for (int k = 0; k < 2; k++) {
            size_t from;

            while (at < l && (text[at] == ' ' || text[at] == '\t'))
                at++;
            from = at;
            while (at < l && text[at] != ' ' && text[at] != '\t')
                at++;
            if (!snum(text + from, at - from, &v[i++]))
                goto bad;
        }
        while (at < l && (text[at] == ' ' || text[at] == '\t'))
            at++;
        if (at != l)
            goto bad;
        add(&u->bytes, v[0]);
        add(&u->count, v[1]);
        (*lines)++;
        text += l + 1;
        len -= l + 1;
    }
    return 0; /* what is left has no newline: a torn write, left out */
bad:
    memset(u, 0, sizeof *u);
    errno = EINVAL;
    return -1;
}

/* mdsize_stale - should maildirsize be recalculated (see quota.h)? */
bool
mdsize_stale(size_t filesize, long long age, bool over)
{
    return filesize >= MDQ_RECALC_SIZE || (over && age > MDQ_RECALC_AGE);
}
