/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dotqmail - .qmail files as qmail-local reads them.  The first byte
 * picks the x bit; the rest is the file.  Whatever the parser accepts
 * must be safe to act on: no NUL or control character in any argument,
 * no argument starting with white space, file lines that look like
 * files, forward addresses that pass the address check, nothing but
 * forwards in a forward-only file, line numbers in order.  The same
 * bytes as an extension must only ever name files in the home
 * directory: no "..", no dot after the leading one.  Any broken property
 * aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dotqmail.h"

static void
must(int cond)
{
    if (!cond)
        abort();
}

static void
check_parse(const char *text, size_t len, bool forwardonly)
{
    struct dotqmail d;
    struct dq_err err;
    unsigned last = 0;

    dotqmail_init(&d);
    if (dotqmail_parse(&d, text, len, forwardonly, &err) == -1) {
        must(errno == EINVAL || errno == ENOMEM);
        if (errno == EINVAL)
            must(err.code != DQ_E_NONE);
        dotqmail_free(&d);
        return;
    }
    for (size_t i = 0; i < d.n; i++) {
        const struct dq_instr *in = &d.v[i];
        const char *a = dotqmail_arg(&d, i);

        must(strlen(a) == in->len);
        must(in->line >= last && in->line > 0);
        last = in->line;
        for (size_t k = 0; k < in->len; k++) {
            unsigned char c = (unsigned char)a[k];
            must(c >= 0x20 || c == '\t');
            must(c != 0x7f);
        }
        switch (in->kind) {
        case DQ_PROGRAM:
            must(!forwardonly);
            must(in->len > 0);
            break;
        case DQ_MAILDIR:
            must(!forwardonly);
            must(a[0] == '.' || a[0] == '/');
            must(a[in->len - 1] == '/');
            break;
        case DQ_MBOX:
            must(!forwardonly);
            must(a[0] == '.' || a[0] == '/');
            must(a[in->len - 1] != '/');
            must(a[in->len - 1] != ' ' && a[in->len - 1] != '\t');
            break;
        case DQ_FORWARD:
            must(dotqmail_addr_ok(a, in->len));
            break;
        }
    }
    dotqmail_free(&d);
}

static void
check_search(const char *ext, size_t len)
{
    struct bstr safe = BSTR_INIT, name = BSTR_INIT;
    struct dq_search s;
    size_t defpos;
    int r, n = 0;

    if (memchr(ext, '\0', len))
        return; /* an argument cannot hold one */
    if (dotqmail_safeext(&safe, ext, len) == -1)
        return;
    must(safe.len == len);
    dotqmail_search_init(&s, "-", safe.s ? safe.s : "", safe.len);
    while ((r = dotqmail_search_next(&s, &name, &defpos)) == 1) {
        must(name.len >= 7 && memcmp(name.s, ".qmail-", 7) == 0);
        must(memchr(name.s + 1, '.', name.len - 1) == NULL);
        must(defpos == (size_t)-1 || defpos <= len);
        n++;
        must((size_t)n <= len + 2);
    }
    must(r == 0);
    bstr_free(&safe);
    bstr_free(&name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    check_parse((const char *)data + 1, size - 1, data[0] & 1);
    check_search((const char *)data + 1, size - 1 > 2000 ? 2000 : size - 1);
    return 0;
}
