/* SPDX-License-Identifier: ISC */
/*
 * fuzz_assign - users/assign files as qmail-newu reads them, line by
 * line.  Every accepted entry must survive the trip through the cdb
 * forms: its value splits back into the same fields, its key is "!" and
 * the lowercase local part (with a NUL for an exact entry), the home is
 * absolute.  Any broken property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assign.h"

static void
must(int cond)
{
    if (!cond)
        abort();
}

static bool
same(const struct bstr *b, const char *p, size_t n)
{
    return b->len == n && (n == 0 || memcmp(b->s, p, n) == 0);
}

static void
one_line(const char *l, size_t n)
{
    struct assign_entry e;
    struct bstr key = BSTR_INIT, val = BSTR_INIT;
    struct local_user u;
    const char *why;
    int k = assign_parse_line(l, n, &e, &why);

    if (k != ASSIGN_ENTRY) {
        must(k == ASSIGN_END || (k == ASSIGN_BAD && why != NULL));
        return;
    }
    must(e.type == '=' || e.type == '+');
    must(e.userlen > 0 && e.homelen > 0 && e.home[0] == '/');
    must(e.uid < 4294967295UL && e.gid < 4294967295UL);
    must(!memchr(e.local, ':', e.locallen));
    if (assign_key(&key, &e) == -1 || assign_value(&val, &e) == -1)
        goto out;
    must(key.s[0] == '!');
    must(key.len == 1 + e.locallen + (e.type == '='));
    for (size_t i = 1; i < key.len; i++)
        must(key.s[i] < 'A' || key.s[i] > 'Z');
    local_user_init(&u);
    must(assign_value_parse(val.s, val.len, &u) == 0);
    must(same(&u.user, e.user, e.userlen));
    must(same(&u.home, e.home, e.homelen));
    must(same(&u.dash, e.dash, e.dashlen));
    must(same(&u.ext, e.ext, e.extlen));
    must(u.uid == e.uid && u.gid == e.gid);
    local_user_free(&u);
out:
    bstr_free(&key);
    bstr_free(&val);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t pos = 0;

    while (pos < size) {
        const char *nl = memchr(p + pos, '\n', size - pos);
        size_t n = nl ? (size_t)(nl - (p + pos)) : size - pos;

        one_line(p + pos, n);
        pos += n + 1;
    }
    return 0;
}
