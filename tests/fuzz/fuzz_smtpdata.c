/* SPDX-License-Identifier: ISC */
/*
 * fuzz_smtpdata - the DATA/BDAT push parser.  The input is fed whole,
 * then in pieces whose sizes come from the input itself; both runs must
 * agree on where DATA ends or stops (at a bare LF or CR), on the verdict
 * and on every output byte (a refused message's output stops at the same
 * byte); the output must never outgrow the input or contain a CR; DATA
 * stops exactly when the input holds a LF or CR that is not part of a
 * CRLF before the end, BDAT never ends or stops.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/smtpd/smtpd.h" /* scripts/fuzz has only -Isrc/lib */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
    size_t used, outlen;
    bool end, bare;
    enum reason err;
};

/*
 * check_stop - DATA stopped (bare) exactly at the first LF not preceded
 * by CR or CR not followed by LF, just after the byte that showed it,
 * and ended only at a CRLF "." CRLF before any such byte: a reference
 * model written the slow, obvious way.
 */
static void
check_stop(const char *in, size_t n, const struct result *r)
{
    bool bol = true;

    for (size_t i = 0; i < n; i++) {
        char c = in[i];

        if ((c == '\n' && (i == 0 || in[i - 1] != '\r')) ||
            (i > 0 && in[i - 1] == '\r' && c != '\n')) {
            if (!r->bare || r->used != i + 1)
                abort();
            return;
        }
        if (bol && c == '.' && i + 2 < n && in[i + 1] == '\r' &&
            in[i + 2] == '\n') {
            if (!r->end || r->used != i + 3)
                abort();
            return;
        }
        bol = c == '\n';
    }
    if (r->bare || r->end || r->used != n)
        abort();
}

static void
run(const char *in, size_t n, bool dot, unsigned long long max,
    const uint8_t *cuts, size_t ncuts, char *out, struct result *r)
{
    struct smtpd_data d;
    size_t pos = 0, k = 0;

    smtpd_data_init(&d, dot, max);
    r->outlen = 0;
    r->end = r->bare = false;
    while (pos < n && !r->end && !r->bare) {
        size_t piece = ncuts ? (size_t)cuts[k++ % ncuts] + 1 : n;
        size_t used = 0, outlen = 0;
        enum smtpd_data_ev ev;

        if (piece > n - pos)
            piece = n - pos;
        ev = smtpd_data_feed(&d, in + pos, piece, &used, out + r->outlen,
                             &outlen);
        r->end = ev == SMTPD_DATA_END;
        r->bare = ev == SMTPD_DATA_BARE;
        if (used > piece || outlen > used ||
            (ev == SMTPD_DATA_MORE && used != piece))
            abort();
        r->outlen += outlen;
        pos += used;
        if (r->outlen > pos)
            abort();
    }
    r->used = pos;
    r->err = dot ? d.err : smtpd_data_finish(&d);
    if (!dot && (r->end || r->bare))
        abort();
    if (r->bare && r->err != OC_BARENL)
        abort();
    if (memchr(out, '\r', r->outlen))
        abort();
    if (dot)
        check_stop(in, n, r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct result a, b;
    const uint8_t *cuts;
    const char *in;
    char *o1, *o2;
    size_t ncuts, n;
    unsigned long long max;

    if (size < 2)
        return 0;
    ncuts = data[0] % 8;
    if (ncuts + 2 > size)
        return 0;
    max = data[1] < 128 ? 0 : (unsigned long long)(data[1] - 120);
    cuts = data + 2;
    in = (const char *)data + 2 + ncuts;
    n = size - 2 - ncuts;
    o1 = malloc(n + 1);
    o2 = malloc(n + 1);
    if (!o1 || !o2)
        abort();
    for (int dot = 0; dot < 2; dot++) {
        run(in, n, dot, max, NULL, 0, o1, &a);
        run(in, n, dot, max, cuts, ncuts, o2, &b);
        if (a.used != b.used || a.end != b.end || a.bare != b.bare ||
            a.err != b.err ||
            a.outlen != b.outlen || memcmp(o1, o2, a.outlen) != 0)
            abort();
    }
    free(o1);
    free(o2);
    return 0;
}
