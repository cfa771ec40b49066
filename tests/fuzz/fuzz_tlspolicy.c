/* SPDX-License-Identifier: ISC */
/*
 * fuzz_tlspolicy - control/tlsdestinations and control/smtproutes-auth
 * as qmail-remote reads them.  The input is a file; it is loaded as
 * both.  When the policy loads, every line's own destination must find
 * a line with the same key (the first among equals), and every level
 * found must be one of the four; when the logins load, every host must
 * find its first line, with a user and a password that hold no newline.
 * Any broken property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/remote/tlspolicy.h" /* scripts/fuzz has only -Isrc/lib */

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
    struct bstr list = BSTR_INIT;
    struct tlspolicy p;
    struct authroutes a;
    size_t bad = 0;

    for (size_t i = 0; i < size; i++)
        if (bstr_catc(&list, data[i] == '\n' ? '\0' : (char)data[i]) == -1)
            goto out;
    if (size && data[size - 1] != '\n' && bstr_catc(&list, '\0') == -1)
        goto out;
    if (tlspolicy_load(&p, &list, &bad) == 0) {
        for (size_t i = 0; i < p.n; i++) {
            const char *d = p.e[i].dest;

            must(p.e[i].level <= TLS_LEVEL_VERIFY);
            if (*d && *d != '.') {
                struct tls_policy r = tlspolicy_find(&p, d);

                must(r.level <= TLS_LEVEL_VERIFY);
                for (size_t j = 0; j < p.n; j++)
                    if (!strcmp(p.e[j].dest, d)) {
                        must(r.level == p.e[j].level);
                        break;
                    }
            }
        }
        (void)tlspolicy_find(&p, "example.com");
        (void)tlspolicy_find(&p, "");
        tlspolicy_free(&p);
    }
    if (authroutes_load(&a, (const char *)data, size, &bad) == 0) {
        for (size_t i = 0; i < a.n; i++) {
            const struct authroute *r = authroutes_find(&a, a.e[i].host);

            must(r != NULL && *r->user && !strchr(r->user, '\n') &&
                 !strchr(r->pass, '\n'));
            for (size_t j = 0; j < i; j++)
                if (!strcmp(a.e[j].host, a.e[i].host)) {
                    must(r == &a.e[j]); /* the first of them */
                    break;
                }
        }
        authroutes_free(&a);
    }
out:
    bstr_free(&list);
    return 0;
}
