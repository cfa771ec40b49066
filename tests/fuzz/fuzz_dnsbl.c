/* SPDX-License-Identifier: ISC */
/*
 * fuzz_dnsbl - control/dnsbl and control/rhsbl as qmail-smtpd reads
 * them: lines, items of a line (blanks, commas, '#' comments), each item
 * a site zone[=filter][*weight].  A site that parses must be sane (a
 * lower-case zone of allowed characters with a dot, at most 253 bytes; a
 * weight within +-DNSBL_WEIGHT_MAX; no empty filter octet) and must
 * survive a round trip: written out canonically (each octet as a
 * bracketed list of ranges) and parsed again it is the same site.  A site
 * that does not parse must say why.  Any broken property aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsbl.h"

static void
must(int cond)
{
    if (!cond)
        abort();
}

static bool
bit(const unsigned char b[32], unsigned v)
{
    return b[v >> 3] & (1u << (v & 7));
}

/* canon - the site as text: zone=[a..b;c].[..]...*w */
static size_t
canon(const struct dnsbl_site *s, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "%s", s->zone);

    if (s->filtered) {
        for (int i = 0; i < 4; i++) {
            bool first = true;

            n += (size_t)snprintf(out + n, cap - n, "%s[", i ? "." : "=");
            for (unsigned v = 0; v < 256;) {
                unsigned w = v;

                if (!bit(s->filter[i], v)) {
                    v++;
                    continue;
                }
                while (w + 1 < 256 && bit(s->filter[i], w + 1))
                    w++;
                n += (size_t)snprintf(out + n, cap - n, "%s%u..%u",
                                      first ? "" : ";", v, w);
                first = false;
                v = w + 1;
            }
            n += (size_t)snprintf(out + n, cap - n, "]");
        }
    }
    n += (size_t)snprintf(out + n, cap - n, "*%d", s->weight);
    must(n < cap);
    return n;
}

static void
check_site(const char *item, size_t len)
{
    struct dnsbl_site s, again;
    const char *why = NULL;
    static char text[256 * 12 * 4 + 512];
    size_t zl;

    if (dnsbl_site_parse(item, len, &s, &why) == -1) {
        must(why != NULL && why[0] != '\0');
        return;
    }
    zl = strlen(s.zone);
    must(zl > 0 && zl <= 253 && strchr(s.zone, '.') != NULL);
    for (size_t i = 0; i < zl; i++)
        must((s.zone[i] >= 'a' && s.zone[i] <= 'z') ||
             (s.zone[i] >= '0' && s.zone[i] <= '9') || s.zone[i] == '-' ||
             s.zone[i] == '_' || s.zone[i] == '.');
    must(s.weight >= -DNSBL_WEIGHT_MAX && s.weight <= DNSBL_WEIGHT_MAX);
    if (s.filtered)
        for (int i = 0; i < 4; i++) {
            bool any = false;

            for (unsigned v = 0; v < 256; v++)
                any |= bit(s.filter[i], v);
            must(any);
        }
    else {
        unsigned char a[4] = {127, 0, 0, 2};

        must(dnsbl_site_match(&s, a));
    }
    len = canon(&s, text, sizeof text);
    must(dnsbl_site_parse(text, len, &again, &why) == 0);
    must(memcmp(&s, &again, sizeof s) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t i = 0;

    while (i < size) {
        const char *nl = memchr(text + i, '\n', size - i);
        size_t linelen = nl ? (size_t)(nl - (text + i)) : size - i;
        const char *line = text + i, *item;
        size_t pos = 0, len;

        i += linelen + 1;
        if (linelen && line[0] == '#')
            continue; /* ctl_readlist's comments */
        while ((item = dnsbl_item_next(line, linelen, &pos, &len))) {
            must(item >= line && item + len <= line + linelen && len > 0);
            check_site(item, len);
        }
        must(pos == linelen);
    }
    return 0;
}
