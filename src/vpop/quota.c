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

/* mdq_same - do a and b set the same limits? */
bool
mdq_same(const struct mdquota *a, const struct mdquota *b)
{
    return a->has_bytes == b->has_bytes && a->has_count == b->has_count &&
           (!a->has_bytes || a->bytes == b->bytes) &&
           (!a->has_count || a->count == b->count);
}

/* pct - v as a percentage of lim (100 for a limit of 0), at most 1000. */
static unsigned
pct(long long v, unsigned long long lim)
{
    unsigned long long u = v > 0 ? (unsigned long long)v : 0;

    if (lim == 0)
        return 100;
    if (u / lim >= 10)
        return 1000;
    /* u < 10 * lim: 100 * u fits when lim is below ULLONG_MAX / 1000 */
    if (lim < ULLONG_MAX / 1000)
        return (unsigned)(u * 100 / lim);
    return (unsigned)(u / (lim / 100));
}

/*
 * mdq_percent - how full u is under q: the higher of the byte and the
 * count percentages (Courier's rule), 0 when q limits nothing, at most
 * 1000.  A limit of 0 counts as full (100).
 */
unsigned
mdq_percent(const struct mdquota *q, const struct mdusage *u)
{
    unsigned s = q->has_bytes ? pct(u->bytes, q->bytes) : 0;
    unsigned c = q->has_count ? pct(u->count, q->count) : 0;

    return s > c ? s : c;
}

/*
 * mdq_name_size - the size a message file's name gives (",S=<bytes>"
 * before the ":2," info, Maildir++'s convention, which also allows other
 * ",X=" fields).  true with *size, false when the name has none (or the
 * number is not one).
 */
bool
mdq_name_size(const char *name, size_t len, unsigned long long *size)
{
    const char *colon = memchr(name, ':', len);
    size_t end = colon ? (size_t)(colon - name) : len;

    for (size_t i = end; i >= 3; i--) {
        size_t at = i - 3, n = 0;

        if (name[at] != ',' || name[at + 1] != 'S' || name[at + 2] != '=')
            continue;
        while (i + n < end && name[i + n] >= '0' && name[i + n] <= '9')
            n++;
        return num(name + i, n, size);
    }
    return false;
}

/* mdq_name_trashed - does the name's ":2," info carry the T flag
 * (deleted, not yet expunged: Courier leaves it out of the sums)? */
bool
mdq_name_trashed(const char *name, size_t len)
{
    const char *colon = memchr(name, ':', len);
    size_t i;

    if (!colon)
        return false;
    i = (size_t)(colon - name);
    if (len - i < 3 || name[i + 1] != '2' || name[i + 2] != ',')
        return false;
    for (i += 3; i < len && name[i] >= 'A' && name[i] <= 'Z'; i++)
        if (name[i] == 'T')
            return true;
    return false;
}

/*
 * mdsize_format - a whole maildirsize after a recalculation into out:
 * the quota line, then "<bytes> <count>".  0, or -1 (ENOMEM).
 */
int
mdsize_format(const struct mdquota *q, const struct mdusage *u,
              struct bstr *out)
{
    bstr_truncate(out, 0);
    if (mdq_format(q, out) == -1 || bstr_catc(out, '\n') == -1)
        return -1;
    return mdsize_delta(u->bytes, u->count, out);
}

/* mdsize_delta - append one line "<bytes> <count>\n" to out: 0, or -1. */
int
mdsize_delta(long long bytes, long long count, struct bstr *out)
{
    return bstr_catf(out, "%lld %lld\n", bytes, count);
}
