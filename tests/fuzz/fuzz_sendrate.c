/* SPDX-License-Identifier: ISC */
/*
 * fuzz_sendrate - control/ratelimitremote as qmail-send reads it.  The
 * input is the file (one rule per line, given as ctl_readlist would:
 * empty and '#' lines left out).  When it loads, an exact domain's rule
 * must be found for that domain again (or say "no limit"), and a rule
 * of at most 5 deliveries must hold the sixth back within its window and
 * no earlier one; a lookup of any name must not crash.  When it does not
 * load, it must say which line.  Any broken property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../src/send/send.h" /* scripts/fuzz has only -Isrc/lib */

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
    struct sendrate_rules r;
    size_t i = 0;

    while (i < size) {
        size_t j = i;

        while (j < size && data[j] != '\n')
            j++;
        if (j > i && data[i] != '#' && !memchr(data + i, '\0', j - i) &&
            (bstr_catb(&list, (const char *)data + i, j - i) == -1 ||
             bstr_catc(&list, '\0') == -1))
            goto out;
        i = j + 1;
    }
    if (sendrate_parse(&r, &list) == 0) {
        for (size_t k = 0; k < r.n; k++) {
            const struct sendrate_rule *want = NULL, *x;
            const char *dom = r.v[k].dom;
            struct sendrate t;
            const int64_t T = 1800000000;
            int64_t until;
            bool first;

            must(r.v[k].secs >= 1);
            if (!strcmp(dom, "*"))
                continue;
            for (size_t m = 0; m < r.n && !want; m++)
                if (!strcasecmp(r.v[m].dom, dom))
                    want = &r.v[m];
            x = sendrate_rule(&r, dom);
            must(want != NULL);
            must(want->max ? x == want : x == NULL);
            if (!x || x->max > 5 || sendrate_init(&t) == -1)
                continue;
            for (unsigned long n = 0; n < x->max; n++) {
                must(!sendrate_held(&t, &r, dom, T, &until, &first));
                must(sendrate_count(&t, &r, dom, T) == 0);
            }
            must(sendrate_held(&t, &r, dom, T, &until, &first) && first);
            must(until == T + (int64_t)x->secs);
            must(!sendrate_held(&t, &r, dom, until, &until, &first));
            sendrate_free(&t);
        }
        (void)sendrate_rule(&r, "example.com");
        (void)sendrate_rule(&r, "");
    } else {
        must(r.bad != NULL);
    }
    sendrate_rules_free(&r);
out:
    bstr_free(&list);
    return 0;
}
