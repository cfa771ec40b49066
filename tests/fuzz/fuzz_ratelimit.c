/* SPDX-License-Identifier: ISC */
/*
 * fuzz_ratelimit - control/ratelimits (and $RATELIMIT) lines as
 * qmail-smtpd reads them.  Each line is parsed into one rule set; a
 * refused line must say why.  Then the set must be sane (overrides
 * sorted and unique, keys short and printable, limits in range) and
 * every rule must survive a round trip: written back as a line, parsed
 * into a fresh set, it names the same key with the same limit, and a
 * copy of the set gives the same limits.  Any broken property aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/smtpd/ratelimit.h" /* scripts/fuzz has only -Isrc/lib */

static void
must(int cond)
{
    if (!cond)
        abort();
}

static enum ratelimit_class
class_of(const char *key)
{
    static const char *const names[RL_CLASSES] = {"ip:", "net:", "user:",
                                                  "domain:"};

    for (int c = 0; c < RL_CLASSES; c++)
        if (strncmp(key, names[c], strlen(names[c])) == 0)
            return (enum ratelimit_class)c;
    abort();
}

static void
check(const struct ratelimit_rules *r)
{
    struct ratelimit_rules copy;
    char line[RATESTORE_KEY_MAX + 64];

    memset(&copy, 0, sizeof copy);
    ratelimit_rules_free(&copy);
    must(ratelimit_rules_copy(&copy, r) == 0);
    for (int c = 0; c < RL_CLASSES; c++)
        for (unsigned k = 0; k < RATE_COUNTERS; k++) {
            must(r->limit[c][k] <= UINT32_MAX - 2);
            must(copy.limit[c][k] == r->limit[c][k]);
        }
    for (size_t i = 0; i < r->nov; i++) {
        const struct ratelimit_override *o = &r->ov[i];
        size_t len = strlen(o->key);
        enum ratelimit_class cls = class_of(o->key);

        must(len <= RATESTORE_KEY_MAX);
        must(i == 0 || strcmp(r->ov[i - 1].key, o->key) < 0);
        must(o->set != 0 && o->set < (1u << RATE_COUNTERS));
        for (size_t j = 0; j < len; j++)
            must((unsigned char)o->key[j] > ' ' &&
                 (unsigned char)o->key[j] < 127);
        for (unsigned k = 0; k < RATE_COUNTERS; k++) {
            struct ratelimit_rules one;
            const char *why = NULL;
            int n;

            if (!(o->set & (1u << k)))
                continue;
            must(ratelimit_limit(r, cls, o->key, k) == o->limit[k]);
            must(ratelimit_limit(&copy, cls, o->key, k) == o->limit[k]);
            n = snprintf(line, sizeof line, "%s:%s:%lu", o->key,
                         ratestore_counter_name(k),
                         (unsigned long)o->limit[k]);
            must(n > 0 && (size_t)n < sizeof line);
            memset(&one, 0, sizeof one);
            ratelimit_rules_free(&one);
            must(ratelimit_parse(&one, line, (size_t)n, &why) == 0);
            must(one.nov == 1 && strcmp(one.ov[0].key, o->key) == 0);
            must(ratelimit_limit(&one, cls, o->key, k) == o->limit[k]);
            ratelimit_rules_free(&one);
        }
    }
    ratelimit_rules_free(&copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    struct ratelimit_rules r;

    memset(&r, 0, sizeof r);
    ratelimit_rules_free(&r);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *why = NULL;

        if (ratelimit_parse(&r, p, len, &why) == -1)
            must(why != NULL);
        p += len + 1;
    }
    check(&r);
    ratelimit_rules_free(&r);
    return 0;
}
