/* SPDX-License-Identifier: ISC */
/*
 * mlogtai - TAI64N labels to local time, line by line (see mlogtai.h).
 * Labels count as datetime.c counts them: 2^62 + 10 + POSIX seconds, so
 * the text is what `date -d @SECONDS` prints for the same zone.
 */
#include <stdio.h>
#include <string.h>

#include "fmt.h"
#include "mlogtai.h"

/* mlogtai_init - a filter at the start of a line. */
void
mlogtai_init(struct mlogtai *f)
{
    f->pass = false;
    f->n = 0;
}

/*
 * mlogtai_local - ts as local time, "2003-10-11 09:22:29.829608500".
 * Returns the length, or 0 if the moment cannot be shown.
 */
size_t
mlogtai_local(char out[MLOGTAI_LOCAL_MAX], const struct timespec *ts)
{
    struct tm tm;
    int r;

    if (!localtime_r(&ts->tv_sec, &tm))
        return 0;
    r = snprintf(out, MLOGTAI_LOCAL_MAX, "%d-%02d-%02d %02d:%02d:%02d.%09ld",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ts->tv_nsec);
    if (r <= 0 || r >= MLOGTAI_LOCAL_MAX)
        return 0;
    return (size_t)r;
}

/*
 * flush - the held start of a line goes out: converted when it is a
 * label (followed by the end of the line or by a byte that is not a hex
 * digit), unchanged otherwise.
 */
static int
flush(struct mlogtai *f, struct bstr *out)
{
    char text[MLOGTAI_LOCAL_MAX];
    struct timespec ts;
    size_t n = f->n, len;

    f->n = 0;
    if (n >= TAI64N_LEN && f->pre[0] == '@' &&
        (n == TAI64N_LEN || scan_xdigit(f->pre[TAI64N_LEN]) < 0) &&
        tai64n_scan(f->pre, TAI64N_LEN, &ts) == 0 &&
        (len = mlogtai_local(text, &ts)) > 0) {
        if (bstr_catb(out, text, len) == -1)
            return -1;
        return bstr_catb(out, f->pre + TAI64N_LEN, n - TAI64N_LEN);
    }
    return bstr_catb(out, f->pre, n);
}

/* mlogtai_push - filter in[0..n) into out: 0, or -1 (ENOMEM). */
int
mlogtai_push(struct mlogtai *f, const char *in, size_t n, struct bstr *out)
{
    size_t i = 0;

    while (i < n) {
        char c;

        if (f->pass) {
            const char *nl = memchr(in + i, '\n', n - i);
            size_t k = nl ? (size_t)(nl - (in + i)) + 1 : n - i;

            if (bstr_catb(out, in + i, k) == -1)
                return -1;
            i += k;
            if (nl)
                f->pass = false;
            continue;
        }
        c = in[i++];
        if (c == '\n') {
            if (flush(f, out) == -1 || bstr_catc(out, '\n') == -1)
                return -1;
            continue;
        }
        f->pre[f->n++] = c;
        /* decided as soon as it can be: not '@', or not a hex digit */
        if ((f->n == 1 && c != '@') ||
            (f->n > 1 && f->n <= TAI64N_LEN && scan_xdigit(c) < 0) ||
            f->n == TAI64N_LEN + 1) {
            if (flush(f, out) == -1)
                return -1;
            f->pass = true;
        }
    }
    return 0;
}

/* mlogtai_eof - the input ended: what is still held goes out. */
int
mlogtai_eof(struct mlogtai *f, struct bstr *out)
{
    if (f->pass) {
        f->pass = false;
        return 0;
    }
    return flush(f, out);
}
