/* SPDX-License-Identifier: ISC */
/*
 * bstr - growable byte strings (see bstr.h).
 *
 * Capacity grows by half again plus a small constant so that appending
 * one byte at a time stays linear; every size computation is checked
 * against SIZE_MAX before it is used.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bstr.h"
#include "fmt.h"

/* bstr_ready - make room for n bytes plus the terminating NUL. */
int
bstr_ready(struct bstr *b, size_t n)
{
    size_t want, grow;
    char *p;

    if (n >= SIZE_MAX - 32) {
        errno = ENOMEM;
        return -1;
    }
    want = n + 1;
    if (b->s && want <= b->cap)
        return 0;
    grow = want + (want >> 1) + 30;
    if (grow < want)
        grow = want;
    p = realloc(b->s, grow);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    b->s = p;
    b->cap = grow;
    b->s[b->len] = '\0';
    return 0;
}

/* bstr_readyplus - make room for n more bytes after len. */
int
bstr_readyplus(struct bstr *b, size_t n)
{
    if (n > SIZE_MAX - 64 - b->len) {
        errno = ENOMEM;
        return -1;
    }
    return bstr_ready(b, b->len + n);
}

int
bstr_catb(struct bstr *b, const void *p, size_t n)
{
    if (bstr_readyplus(b, n) == -1)
        return -1;
    if (n)
        memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

int
bstr_cats(struct bstr *b, const char *s)
{
    return bstr_catb(b, s, strlen(s));
}

int
bstr_catc(struct bstr *b, char c)
{
    return bstr_catb(b, &c, 1);
}

int
bstr_catu(struct bstr *b, unsigned long long u)
{
    char buf[FMT_ULONG];

    return bstr_catb(b, buf, fmt_ull(buf, u));
}

int
bstr_copyb(struct bstr *b, const void *p, size_t n)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
    return bstr_catb(b, p, n);
}

int
bstr_copys(struct bstr *b, const char *s)
{
    return bstr_copyb(b, s, strlen(s));
}

int
bstr_copy(struct bstr *b, const struct bstr *from)
{
    return bstr_copyb(b, from->s, from->len);
}

int
bstr_vcatf(struct bstr *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        errno = EINVAL;
        return -1;
    }
    if (bstr_readyplus(b, (size_t)n) == -1)
        return -1;
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int
bstr_catf(struct bstr *b, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = bstr_vcatf(b, fmt, ap);
    va_end(ap);
    return r;
}

/* bstr_truncate - shorten to len bytes (no effect if already shorter). */
void
bstr_truncate(struct bstr *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->s[len] = '\0';
    }
}

void
bstr_free(struct bstr *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

/*
 * bstr_wipe_free - bstr_free after zeroing every byte of the buffer, for
 * a process that goes on to serve someone else (freed heap is reused).
 */
void
bstr_wipe_free(struct bstr *b)
{
    if (b->s)
        explicit_bzero(b->s, b->cap);
    bstr_free(b);
}

/* bstr_lower - ASCII lowercase in place; other bytes are left alone. */
void
bstr_lower(struct bstr *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (b->s[i] >= 'A' && b->s[i] <= 'Z')
            b->s[i] = (char)(b->s[i] + 32);
}

/* bstr_fill_nargs - how many arguments ("%s") the template tmpl takes. */
size_t
bstr_fill_nargs(const char *tmpl)
{
    size_t n = 0;

    for (const char *p = tmpl; (p = strstr(p, "%s")); p += 2)
        n++;
    return n;
}

/*
 * bstr_cat_fill - append the template tmpl with args[i] in the place of
 * its i-th "%s" (a table's text, not a printf format: nothing else in it
 * is special).  Returns 0, or -1: ENOMEM, or EINVAL when nargs is not
 * the number tmpl takes (b is then unchanged).
 */
int
bstr_cat_fill(struct bstr *b, const char *tmpl, const char *const *args,
              size_t nargs)
{
    size_t used = 0, len0 = b->len;

    if (nargs != bstr_fill_nargs(tmpl)) {
        errno = EINVAL;
        return -1;
    }
    for (const char *p; (p = strstr(tmpl, "%s")); tmpl = p + 2) {
        if (bstr_catb(b, tmpl, (size_t)(p - tmpl)) == -1 ||
            bstr_cats(b, args[used] ? args[used] : "(null)") == -1)
            goto fail;
        used++;
    }
    if (bstr_cats(b, tmpl) == -1)
        goto fail;
    return 0;
fail:
    bstr_truncate(b, len0);
    return -1;
}

/* bstr_equals - 1 if the content is exactly the C string s. */
int
bstr_equals(const struct bstr *b, const char *s)
{
    size_t n = strlen(s);

    return b->len == n && (n == 0 || memcmp(b->s, s, n) == 0);
}
