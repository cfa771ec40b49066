/* SPDX-License-Identifier: ISC */
/*
 * fuzz_rules - tcp.smtp files as tcprules reads them.  Each line is
 * parsed; every rule must then survive a round trip: its keys, put in a
 * map, must be found by rules_lookup for a client the rule describes,
 * and the value's records must say allow or deny as the line did.
 * Any broken property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/tcp/rules.h" /* scripts/fuzz has only -Isrc/lib */

struct onekey {
    const char *key;
    size_t klen;
};

static int
get(void *ctx, const char *key, size_t klen, struct bstr *val)
{
    const struct onekey *k = ctx;

    if (klen != k->klen || memcmp(key, k->key, klen) != 0)
        return 0;
    return bstr_copys(val, "A") == -1 ? -1 : 1;
}

static void
must(int cond)
{
    if (!cond)
        abort();
}

/* A client the key describes; returns 0 when the kind has none. */
static int
client_for(const struct rules_line *r, const struct bstr *key,
           struct rules_client *c, struct bstr *tmp)
{
    const char *s = key->s;
    size_t len = key->len;
    const char *at, *slash;
    int dots = 0;

    memset(c, 0, sizeof *c);
    must(ipaddr_scan("192.0.2.1", 9, &c->ip));
    switch (r->kind) {
    case RULES_DEFAULT:
        return 1;
    case RULES_IP:
        must(ipaddr_scan(s, len, &c->ip));
        return 1;
    case RULES_PREFIX:
        for (size_t i = 0; i < len; i++)
            dots += s[i] == '.';
        must(bstr_copyb(tmp, s, len) == 0);
        for (int i = dots; i < 4; i++)
            must(bstr_cats(tmp, i == 3 ? "0" : "0.") == 0);
        must(ipaddr_scan(tmp->s, tmp->len, &c->ip));
        return 1;
    case RULES_CIDR:
        slash = memchr(s, '/', len);
        must(slash != NULL);
        must(ipaddr_scan(s, (size_t)(slash - s), &c->ip));
        return 1;
    case RULES_HOST:
        c->host = s + 1;
        return 1;
    case RULES_DOMAIN:
        must(bstr_copys(tmp, "x") == 0 && bstr_cats(tmp, s + 1) == 0);
        c->host = tmp->s;
        return 1;
    case RULES_ANYHOST:
        c->host = "x";
        return 1;
    case RULES_INFO_IP:
    case RULES_INFO_HOST:
        at = strrchr(s, '@');
        must(at != NULL);
        must(bstr_copyb(tmp, s, (size_t)(at - s)) == 0);
        c->info = tmp->s;
        if (r->kind == RULES_INFO_HOST)
            c->host = at + 2;
        else
            must(ipaddr_scan(at + 1, len - (size_t)(at + 1 - s), &c->ip));
        return 1;
    }
    return 0;
}

static void
check_rule(const struct rules_line *r)
{
    struct bstr key = BSTR_INIT, tmp = BSTR_INIT, k2 = BSTR_INIT,
                val = BSTR_INIT;
    size_t n = rules_nkeys(r);

    must(n >= 1 && n <= 256);
    must(rules_denies(r->data.s, r->data.len) == r->deny);
    for (size_t i = 0; i < n; i++) {
        struct rules_client c;
        struct onekey ok;

        must(rules_key(r, i, &key) == 0);
        must(memchr(key.s, '\0', key.len) == NULL);
        if (!client_for(r, &key, &c, &tmp))
            continue;
        ipaddr_unmap(&c.ip);
        ok.key = key.s;
        ok.klen = key.len;
        must(rules_lookup(&c, get, &ok, &k2, &val) == 1);
        must(k2.len == key.len && memcmp(k2.s, key.s, key.len) == 0);
    }
    bstr_free(&key);
    bstr_free(&tmp);
    bstr_free(&k2);
    bstr_free(&val);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    struct rules_line r = RULES_LINE_INIT;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *why = NULL;
        int got = rules_parse(&r, p, len, &why);

        if (got == -1)
            must(why != NULL);
        else if (got == 1)
            check_rule(&r);
        p += len + 1;
    }
    rules_line_free(&r);
    return 0;
}
