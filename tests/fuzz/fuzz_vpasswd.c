/* SPDX-License-Identifier: ISC */
/*
 * fuzz_vpasswd - a vpasswd file as the vpopmail tools read it.  When the
 * text parses, every account must be written back (vpw_format cannot
 * refuse what vpw_parse read), the text written must parse again into
 * the same accounts, field for field, and writing that gives the same
 * bytes; a new account added and deleted leaves the table as it was.
 * Any broken property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/vpop/vpw.h" /* scripts/fuzz has only -Isrc/lib */

static void
must(int cond)
{
    if (!cond)
        abort();
}

static int
same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vpw_table t, u;
    struct bstr a = BSTR_INIT, b = BSTR_INIT;
    struct vpw pw;
    size_t bad;

    if (vpw_table_parse(&t, (const char *)data, size, &bad) == -1)
        return 0;
    must(vpw_table_format(&t, &a) == 0);
    must(vpw_table_parse(&u, a.s ? a.s : "", a.len, &bad) == 0);
    must(u.n == t.n);
    for (size_t i = 0; i < t.n; i++) {
        const struct vpw *x = &t.e[i], *y = &u.e[i];

        must(same(x->name, y->name) && same(x->passwd, y->passwd) &&
             x->uid == y->uid && x->gid == y->gid && same(x->gecos, y->gecos) &&
             same(x->dir, y->dir) && same(x->quota, y->quota) &&
             same(x->clear, y->clear));
    }
    must(vpw_table_format(&u, &b) == 0);
    must(a.len == b.len && (!a.len || !memcmp(a.s, b.s, a.len)));
    if (vpw_parse("zz-fuzz::1:0:g:/d:NOQUOTA", 25, &pw) == 0) {
        size_t n = t.n;

        if (vpw_table_add(&t, &pw) == 0) {
            must(t.n == n + 1 && vpw_table_find(&t, "zz-fuzz"));
            must(vpw_table_del(&t, "zz-fuzz") == 0 && t.n == n);
        }
        vpw_free(&pw);
    }
    vpw_table_free(&t);
    vpw_table_free(&u);
    bstr_free(&a);
    bstr_free(&b);
    return 0;
}
