/* SPDX-License-Identifier: ISC */
/*
 * fuzz_smtproutes - control/smtproutes as qmail-remote reads it.  The
 * input is the file (one route per line); when it loads, every line's
 * own domain must find a route again, an exact domain its own line or
 * an earlier one with the same key, and a lookup of any name must not
 * crash.  Any broken property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/remote/routes.h" /* scripts/fuzz has only -Isrc/lib */

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
    struct routes r;
    size_t bad = 0;

    /* the list as ctl_readlist gives it: NUL-ended lines */
    for (size_t i = 0; i < size; i++)
        if (bstr_catc(&list, data[i] == '\n' ? '\0' : (char)data[i]) == -1)
            goto out;
    if (size && data[size - 1] != '\n' && bstr_catc(&list, '\0') == -1)
        goto out;
    memset(&r, 0, sizeof r);
    if (routes_load(&r, &list, &bad) == 0) {
        for (size_t i = 0; i < r.n; i++) {
            const struct route_entry *e = r.e[i].domain[0] &&
                                                  r.e[i].domain[0] != '.'
                                              ? routes_match(&r, r.e[i].domain)
                                              : NULL;

            if (e)
                must(!strcmp(e->domain, r.e[i].domain));
            else
                must(!r.e[i].domain[0] || r.e[i].domain[0] == '.' ||
                     r.e[i].domain[0] == '[');
        }
        (void)routes_match(&r, "example.com");
        (void)routes_match(&r, "");
        routes_free(&r);
    }
out:
    bstr_free(&list);
    return 0;
}
