/* SPDX-License-Identifier: ISC */
/*
 * fuzz_smtpreply - what qmail-remote reads from and writes to a server.
 * The first byte picks a chunk size; the rest is fed to the reply parser
 * in chunks of that size, reply after reply (pipelined), and also
 * encoded as DATA.  Properties: every reply found has a code 200..599,
 * at least one line and bounded text; the parser consumes its input and
 * stops at the first bad reply; the DATA on the wire has no lone CR or
 * LF, no line starting with a single "." before the end, and ends with
 * CRLF "." CRLF.  Any broken property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/remote/body.h" /* scripts/fuzz has only -Isrc/lib */
#include "../../src/remote/reply.h"

static void
must(int cond)
{
    if (!cond)
        abort();
}

static void
replies(const char *p, size_t n, size_t chunk)
{
    struct reply r;
    size_t off = 0;

    reply_init(&r);
    while (off < n) {
        size_t len = n - off < chunk ? n - off : chunk, used = 0;
        int ev = reply_push(&r, p + off, len, &used);

        must(used <= len);
        off += used;
        if (ev == REPLY_BAD) {
            must(r.err != NULL);
            break;
        }
        if (ev == REPLY_NOMEM)
            break;
        if (ev == REPLY_DONE) {
            must(r.code >= 200 && r.code <= 599);
            must(r.nlines >= 1 && r.nlines <= REPLY_LINES_MAX);
            must(r.text.len <= REPLY_TEXT_MAX + 8);
            reply_reset(&r);
            continue;
        }
        must(ev == REPLY_MORE && used == len);
        must(r.line.len <= REPLY_LINE_MAX + 2);
    }
    reply_free(&r);
}

static void
data(const char *p, size_t n, size_t chunk)
{
    struct body_enc e;
    struct bstr out = BSTR_INIT;

    body_init(&e);
    for (size_t off = 0; off < n; off += chunk)
        if (body_push(&e, p + off, n - off < chunk ? n - off : chunk, &out))
            goto done;
    if (body_end(&e, &out))
        goto done;
    must(out.len >= 3 && !memcmp(out.s + out.len - 3, ".\r\n", 3));
    must(out.len == 3 || (out.len >= 5 &&
                          !memcmp(out.s + out.len - 5, "\r\n.\r\n", 5)));
    for (size_t i = 0; i < out.len; i++) {
        if (out.s[i] == '\r')
            must(i + 1 < out.len && out.s[i + 1] == '\n');
        if (out.s[i] == '\n')
            must(i > 0 && out.s[i - 1] == '\r');
        /* a line of data that starts with "." is stuffed to ".." */
        if ((i == 0 || out.s[i - 1] == '\n') && out.s[i] == '.' &&
            i + 3 < out.len)
            must(out.s[i + 1] == '.');
    }
done:
    bstr_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data_, size_t size)
{
    const char *p = (const char *)data_;
    size_t chunk;

    if (size < 1)
        return 0;
    chunk = (size_t)(data_[0] % 64) + 1;
    replies(p + 1, size - 1, chunk);
    data(p + 1, size - 1, chunk);
    return 0;
}
