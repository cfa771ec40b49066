/* SPDX-License-Identifier: ISC */
/*
 * fuzz_header - the message header as qmail-inject reads it: the header
 * push parser (src/lib/header.c), the address-list parser
 * (src/lib/headeraddr.c) on every field, and qmail-inject's field rules
 * (src/inject/fields.c).  The first byte picks the chunk size; the rest
 * is the message.  Checked:
 *  - the events do not depend on how the input is cut into chunks;
 *  - nothing is lost: the fields, the blank line and the body give the
 *    input back (a last line without LF gets one);
 *  - every field ends in LF and every other LF in it is a fold;
 *  - an address list that parses renders to text that parses to the same
 *    addresses and renders the same again, with no control character but
 *    the LF of a fold;
 *  - qmail-inject's header, when it accepts the fields, has no NUL and no
 *    line that does not start a field or continue one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "header.h"
#include "headeraddr.h"
#include "inject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXHDR 65536

/* run - the events of in[0..n) fed `chunk` bytes at a time, as text. */
static void
run(const char *in, size_t n, size_t chunk, struct bstr *t, struct bstr *re)
{
    struct header h;
    size_t pos = 0, used;
    int ev;

    bstr_truncate(t, 0);
    bstr_truncate(re, 0);
    header_init(&h, MAXHDR);
    for (;;) {
        if (pos < n) {
            size_t len = n - pos < chunk ? n - pos : chunk;

            ev = header_feed(&h, in + pos, len, &used);
            if (used > len || (ev == HEADER_MORE && used != len))
                abort();
            pos += used;
        } else {
            ev = header_eof(&h);
        }
        if (ev == -1) {
            if (bstr_cats(t, "error") == -1)
                abort();
            break;
        }
        if (ev == HEADER_MORE)
            continue;
        if (ev == HEADER_FIELD || ev == HEADER_MBOX) {
            const char *f = h.field.s;
            size_t len = h.field.len;

            if (len == 0 || f[len - 1] != '\n')
                abort();
            for (size_t i = 0; i + 1 < len; i++)
                if (f[i] == '\n' && f[i + 1] != ' ' && f[i + 1] != '\t')
                    abort();
            if (ev == HEADER_FIELD &&
                (h.namelen == 0 || h.value > len || f[h.value - 1] != ':' ||
                 h.namelen >= h.value))
                abort();
            if (bstr_catc(t, ev == HEADER_FIELD ? 'F' : 'M') == -1 ||
                bstr_catb(t, f, len) == -1 || bstr_catb(re, f, len) == -1)
                abort();
            continue;
        }
        /* HEADER_END */
        if (bstr_catf(t, "E%d", (int)h.end) == -1)
            abort();
        if (h.end == HEADER_END_BLANK && bstr_catc(re, '\n') == -1)
            abort();
        if (h.end == HEADER_END_BODY &&
            bstr_catb(re, h.field.s, h.field.len) == -1)
            abort();
        if (bstr_catb(re, in + pos, n - pos) == -1)
            abort();
        break;
    }
    if (h.total > MAXHDR)
        abort();
    header_free(&h);
}

static int
collect(void *ctx, struct headeraddr *a)
{
    struct bstr *b = ctx;

    if (!a->null && a->local.len == 0)
        abort();
    if (a->null && (a->local.len || a->domain.len))
        abort();
    for (size_t i = 0; i < a->local.len; i++)
        if ((unsigned char)a->local.s[i] < 32 && a->local.s[i] != '\t')
            abort();
    for (size_t i = 0; i < a->domain.len; i++)
        if ((unsigned char)a->domain.s[i] <= 32)
            abort();
    if (bstr_catc(b, a->null ? 'N' : 'A') == -1 ||
        bstr_catb(b, a->local.s, a->local.len) == -1 ||
        bstr_catc(b, '\0') == -1 ||
        bstr_catb(b, a->domain.s, a->domain.len) == -1 ||
        bstr_catc(b, '\0') == -1)
        abort();
    return 0;
}

static void
addresses(const char *v, size_t len)
{
    static struct bstr out, out2, got, got2;
    const char *why;

    bstr_truncate(&out, 0);
    bstr_truncate(&got, 0);
    if (headeraddr_list(v, len, collect, &got, &out, 4, &why) == -1) {
        if (!why)
            abort(); /* a refusal always says why */
        return;
    }
    for (size_t i = 0; i < out.len; i++) {
        unsigned char c = (unsigned char)out.s[i];

        if (c == '\n' ? i + 2 >= out.len || out.s[i + 1] != ' ' ||
                            out.s[i + 2] != ' '
                      : (c < 32 && c != '\t') || c == 127)
            abort();
    }
    bstr_truncate(&out2, 0);
    bstr_truncate(&got2, 0);
    if (headeraddr_list(out.s ? out.s : "", out.len, collect, &got2, &out2, 4,
                        &why) == -1)
        abort();
    if (got.len != got2.len || (got.len && memcmp(got.s, got2.s, got.len)) ||
        out.len != out2.len || (out.len && memcmp(out.s, out2.s, out.len)))
        abort();
}

static const char *
noenv(const char *name)
{
    (void)name;
    return NULL;
}

/* inject - qmail-inject's rules over the fields of in[0..n). */
static void
inject(const char *in, size_t n)
{
    static struct inject_conf cf;
    static bool ready;
    struct inject_stamp st = {1700000000, 1, 1};
    struct inject ij;
    struct header h;
    struct bstr out = BSTR_INIT, rc = BSTR_INIT;
    size_t pos = 0, used, cnt;
    int ev;
    bool ok = true;

    if (!ready) {
        const char *why;

        inject_conf_init(&cf);
        if (inject_conf_env(&cf, noenv, &why) == -1 ||
            bstr_copys(&cf.defaulthost, "host") == -1 ||
            bstr_copys(&cf.defaultdomain, "example") == -1 ||
            bstr_copys(&cf.plusdomain, "plus.example") == -1 ||
            bstr_copys(&cf.idhost, "id.example") == -1)
            abort();
        ready = true;
    }
    inject_init(&ij, &cf);
    header_init(&h, MAXHDR);
    for (;;) {
        ev = pos < n ? header_feed(&h, in + pos, n - pos, &used)
                     : header_eof(&h);
        if (pos < n)
            pos += used;
        if (ev == -1 || ev == HEADER_END)
            break;
        if (ev != HEADER_MORE &&
            inject_field(&ij, h.field.s, h.field.len, h.namelen, h.value,
                         ev == HEADER_MBOX) == -1) {
            ok = false;
            break;
        }
    }
    if (ok && ev == HEADER_END) {
        if (inject_finish(&ij, &st, true, &out) == -1 ||
            inject_recipients(&ij, INJECT_RCPT_BOTH, &rc, &cnt) == -1)
            abort();
        if (out.len && memchr(out.s, '\0', out.len))
            abort();
        for (size_t i = 0; i < out.len; i++) {
            /* each line starts a field (a name and a colon) or folds */
            if (i > 0 && out.s[i - 1] != '\n')
                continue;
            if (out.s[i] == '\n')
                abort(); /* an empty line would end the header early */
            if (out.s[i] == ' ' || out.s[i] == '\t')
                continue;
            if (!memchr(out.s + i, ':', out.len - i))
                abort();
        }
    }
    bstr_free(&out);
    bstr_free(&rc);
    header_free(&h);
    inject_free(&ij);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct bstr t1, t2, r1, r2;
    const char *in = (const char *)data + 1;
    size_t n, chunk;

    if (size == 0)
        return 0;
    n = size - 1;
    chunk = (size_t)data[0] % 17 + 1;
    run(in, n, n ? n : 1, &t1, &r1);
    run(in, n, chunk, &t2, &r2);
    if (t1.len != t2.len || (t1.len && memcmp(t1.s, t2.s, t1.len)))
        abort();
    /* nothing lost: the pieces give the input back, unless the parser
     * refused (too big) or added the LF a last line lacked */
    if (!(t1.len >= 5 && memcmp(t1.s + t1.len - 5, "error", 5) == 0)) {
        if (r1.len != n && !(r1.len == n + 1 && r1.s[n] == '\n'))
            abort();
        if (n && memcmp(r1.s, in, n < r1.len ? n : r1.len))
            abort();
    }
    /* every field's value as an address list */
    {
        struct header h;
        size_t pos = 0, used;
        int ev;

        header_init(&h, MAXHDR);
        for (;;) {
            ev = pos < n ? header_feed(&h, in + pos, n - pos, &used)
                         : header_eof(&h);
            if (pos < n)
                pos += used;
            if (ev == -1 || ev == HEADER_END)
                break;
            if (ev == HEADER_FIELD)
                addresses(h.field.s + h.value, h.field.len - h.value);
        }
        header_free(&h);
    }
    inject(in, n);
    return 0;
}
