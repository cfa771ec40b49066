/* SPDX-License-Identifier: ISC */
/*
 * fuzz_pattern - a bad* control file and a subject: the first line of
 * the input is the subject, the rest the file's lines.  Properties:
 * the matcher agrees with a plain recursive wildmat on short inputs;
 * every line, each byte escaped, matches exactly its own text (any
 * case) and nothing longer; "*" matches everything; the list's verdict
 * is the last matching line's.  Any broken property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

static void
must(int cond)
{
    if (!cond)
        abort();
}

static unsigned char
low(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* the reference: wildmat by recursion (exponential; short inputs only) */
static int
ref(const char *p, size_t pn, const char *s, size_t sn)
{
    if (pn == 0)
        return sn == 0;
    if (p[0] == '*') {
        while (pn > 1 && p[1] == '*') { /* "**" is "*": keep ref fast */
            p++;
            pn--;
        }
        for (size_t k = 0; k <= sn; k++)
            if (ref(p + 1, pn - 1, s + k, sn - k))
                return 1;
        return 0;
    }
    if (sn == 0)
        return 0;
    if (p[0] == '?')
        return ref(p + 1, pn - 1, s + 1, sn - 1);
    if (p[0] == '\\' && pn > 1)
        return low((unsigned char)p[1]) == low((unsigned char)s[0]) &&
               ref(p + 2, pn - 2, s + 1, sn - 1);
    if (p[0] == '[') {
        size_t i = 1;
        int neg = 0, hit = 0;
        unsigned char c = low((unsigned char)s[0]);

        if (i < pn && (p[i] == '^' || p[i] == '!')) {
            neg = 1;
            i++;
        }
        for (int first = 1; i < pn && (first || p[i] != ']'); first = 0) {
            unsigned char lo, hi;

            if (p[i] == '\\' && i + 1 < pn)
                i++;
            lo = hi = low((unsigned char)p[i++]);
            if (i + 1 < pn && p[i] == '-' && p[i + 1] != ']') {
                i++;
                if (p[i] == '\\' && i + 1 < pn)
                    i++;
                hi = low((unsigned char)p[i++]);
            }
            if (lo <= c && c <= hi)
                hit = 1;
        }
        if (i < pn)
            return hit != neg && ref(p + i + 1, pn - i - 1, s + 1, sn - 1);
        /* no ']': the '[' is itself */
    }
    return low((unsigned char)p[0]) == low((unsigned char)s[0]) &&
           ref(p + 1, pn - 1, s + 1, sn - 1);
}

static size_t
stars(const char *p, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        k += p[i] == '*';
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data, *nl = memchr(in, '\n', size);
    size_t slen = nl ? (size_t)(nl - in) : size;
    struct bstr list = BSTR_INIT, esc = BSTR_INIT;
    struct pattern_list l;
    enum pattern_verdict want = PATTERN_NONE;
    size_t at = slen;

    for (size_t i = 0; i < slen; i++)
        if (in[i] == '@')
            at = i;
    must(pattern_glob("*", 1, in, slen));
    /* the file: one item per line, NUL-terminated, as ctl_readlist makes */
    for (const char *p = nl ? nl + 1 : in + size; p < in + size;) {
        const char *e = memchr(p, '\n', (size_t)(in + size - p));
        size_t n = e ? (size_t)(e - p) : (size_t)(in + size - p);

        if (n && !memchr(p, '\0', n)) {
            if (bstr_catb(&list, p, n) == -1 || bstr_catc(&list, '\0') == -1)
                abort();
            if (pattern_is_wild(p, n)) {
                const char *q = p + (p[0] == '!');
                size_t qn = n - (p[0] == '!');
                int hit = qn && q[0] == '@'
                              ? at < slen &&
                                    pattern_glob(q, qn, in + at, slen - at)
                              : pattern_glob(q, qn, in, slen);

                if (hit)
                    want = p[0] == '!' ? PATTERN_EXEMPT : PATTERN_LISTED;
            }
            if (n <= 16 && slen <= 16 && stars(p, n) <= 6)
                must(pattern_glob(p, n, in, slen) == (ref(p, n, in, slen) != 0));
            /* the line, every byte escaped, is a literal */
            bstr_truncate(&esc, 0);
            for (size_t i = 0; i < n; i++)
                if (bstr_catc(&esc, '\\') == -1 || bstr_catc(&esc, p[i]) == -1)
                    abort();
            must(pattern_glob(esc.s, esc.len, p, n));
            must(!pattern_glob(esc.s, esc.len, p, n - 1));
        }
        p += n + 1;
    }
    if (pattern_list_build(&l, &list, PATTERN_ADDR) == -1)
        abort();
    must(pattern_list_match(&l, in, slen) == want);
    pattern_list_free(&l);
    bstr_free(&list);
    bstr_free(&esc);
    return 0;
}
