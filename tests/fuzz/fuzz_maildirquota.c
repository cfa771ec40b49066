/* SPDX-License-Identifier: ISC */
/*
 * fuzz_maildirquota - Maildir++ quota strings and maildirsize files, as
 * vdelivermail and the POP3 server read them from users' Maildirs.  The
 * input's first line is tried as a quota string: when it parses, writing
 * it and parsing that gives the same limits.  The whole input is tried
 * as a maildirsize file: when it parses, its first line parsed as a
 * quota too, and it counted no more lines than it has newlines.  Any
 * broken property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/vpop/quota.h" /* scripts/fuzz has only -Isrc/lib */

static void
must(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    const char *nl = memchr(t, '\n', size);
    size_t first = nl ? (size_t)(nl - t) : size, newlines = 0;
    struct mdquota q, r;
    struct mdusage u;
    struct bstr b = BSTR_INIT;

    if (mdq_parse(t, first, &q) == 0) {
        must(mdq_format(&q, &b) == 0);
        must(mdq_parse(b.s, b.len, &r) == 0);
        must(r.has_bytes == q.has_bytes && r.has_count == q.has_count &&
             (!q.has_bytes || r.bytes == q.bytes) &&
             (!q.has_count || r.count == q.count));
        (void)mdq_over(&q, &(struct mdusage){0, 0}, 1000, 1);
    }
    for (size_t i = 0; i < size; i++)
        newlines += data[i] == '\n';
    if (mdsize_parse(t, size, &q, &u, &first) == 0) {
        must(nl != NULL && first + 1 <= newlines);
        must(mdq_parse(t, (size_t)(nl - t), &r) == 0);
        (void)mdq_over(&q, &u, 1, 1);
    }
    bstr_free(&b);
    return 0;
}
