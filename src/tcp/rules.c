/* SPDX-License-Identifier: ISC */
/*
 * rules - parsing tcp.smtp lines, their cdb keys, and lookups (see
 * rules.h).
 *
 * The line syntax is ucspi-tcp's: address:allow or address:deny, then
 * ,VAR=<d>value<d> where <d> is whatever character follows the '='.
 * Addresses are checked strictly, so a typo is an error at tcprules
 * time instead of a rule that silently never matches.  IPv6 literals and
 * CIDR blocks of both families are additions; their keys hold a '/' or a
 * ':' and so never collide with a ucspi key.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fmt.h"
#include "rules.h"

/* --- small helpers ---------------------------------------------------- */

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * A decimal number of at most `max` without leading zeros, spanning all
 * of s[0..len).  Returns true and sets *v.
 */
static bool
scan_small(const char *s, size_t len, unsigned max, unsigned *v)
{
    unsigned long u = 0;

    if (len == 0 || len > 3 || (s[0] == '0' && len > 1))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return false;
        u = u * 10 + (unsigned long)(s[i] - '0');
    }
    if (u > max)
        return false;
    *v = (unsigned)u;
    return true;
}

/* host_ok - labels of [A-Za-z0-9_-] joined by single dots, <= 253. */
static bool
host_ok(const char *s, size_t len)
{
    size_t label = 0;

    if (len == 0 || len > RULES_HOST_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        if (!(is_digit(c) || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0;
}

static int
cat_lower(struct bstr *b, const char *s, size_t len)
{
    if (bstr_readyplus(b, len) == -1)
        return -1;
    for (size_t i = 0; i < len; i++)
        b->s[b->len++] = lower(s[i]);
    b->s[b->len] = '\0';
    return 0;
}

static int
cat_ip(struct bstr *b, const struct ipaddr *ip)
{
    char buf[IPADDR_FMT];

    return bstr_catb(b, buf, ipaddr_fmt(buf, ip));
}

/* --- addresses ---------------------------------------------------------- */

/*
 * Dotted IPv4, whole ("1.2.3.4") or a prefix ending in a dot ("1.2.");
 * one octet may be a range "lo-hi".  The key is the text without the
 * range, which is already canonical once leading zeros are refused.
 */
static int
parse_dotted(struct rules_line *r, const char *a, size_t len,
             const char **why)
{
    size_t parts = 0, i = 0;
    bool prefix = len > 0 && a[len - 1] == '.';
    size_t end = prefix ? len - 1 : len;

    r->key.len = 0;
    while (i <= end) {
        size_t start = i, dash = SIZE_MAX;
        unsigned lo, hi;

        while (i < end && a[i] != '.') {
            if (a[i] == '-') {
                if (dash != SIZE_MAX) {
                    *why = "bad range in IPv4 address";
                    return -1;
                }
                dash = i;
            } else if (!is_digit(a[i])) {
                *why = "bad IPv4 address (a host name needs '=' in front)";
                return -1;
            }
            i++;
        }
        if (i == start) {
            *why = "empty octet in IPv4 address";
            return -1;
        }
        if (++parts > 4) {
            *why = "too many octets in IPv4 address";
            return -1;
        }
        if (parts > 1 && bstr_catc(&r->key, '.') == -1)
            return -1;
        if (dash != SIZE_MAX) {
            if (r->ranged) {
                *why = "only one octet may be a range";
                return -1;
            }
            if (!scan_small(a + start, dash - start, 255, &lo) ||
                !scan_small(a + dash + 1, i - dash - 1, 255, &hi)) {
                *why = "bad range in IPv4 address (octets are 0-255)";
                return -1;
            }
            if (lo > hi) {
                *why = "range start is above its end";
                return -1;
            }
            r->ranged = true;
            r->lo = lo;
            r->hi = hi;
            r->range_at = r->key.len;
        } else {
            if (!scan_small(a + start, i - start, 255, &lo)) {
                *why = "bad octet in IPv4 address (0-255, no leading zeros)";
                return -1;
            }
            if (bstr_catb(&r->key, a + start, i - start) == -1)
                return -1;
        }
        i++; /* the dot, or one past the end */
    }
    if (prefix) {
        if (parts == 4) {
            *why = "an IPv4 prefix has at most 3 octets";
            return -1;
        }
        if (bstr_catc(&r->key, '.') == -1)
            return -1;
        r->kind = RULES_PREFIX;
    } else {
        if (parts != 4) {
            *why = "incomplete IPv4 address (a prefix must end with '.')";
            return -1;
        }
        r->kind = RULES_IP;
    }
    return 0;
}

/* "addr/len" for either family: stored with the host bits cleared. */
static int
parse_cidr(struct rules_line *r, const char *a, size_t len, size_t slash,
           const char **why)
{
    struct ipaddr ip;
    unsigned plen;

    if (!ipaddr_scan(a, slash, &ip)) {
        *why = ip.family == AF_INET6 ? "bad IPv6 address before '/'"
                                     : "bad IPv4 address before '/'";
        return -1;
    }
    if (!scan_small(a + slash + 1, len - slash - 1, ipaddr_bits(&ip),
                    &plen)) {
        *why = ip.family == AF_INET6 ? "bad prefix length (IPv6: 0-128)"
                                     : "bad prefix length (IPv4: 0-32)";
        return -1;
    }
    /* ::ffff:a.b.c.d/n names IPv4 peers, which are looked up as IPv4 */
    if (ip.family == AF_INET6 && plen >= 96 && ipaddr_unmap(&ip))
        plen -= 96;
    ipaddr_mask(&ip, plen);
    r->kind = RULES_CIDR;
    r->key.len = 0;
    if (cat_ip(&r->key, &ip) == -1 || bstr_catc(&r->key, '/') == -1 ||
        bstr_catu(&r->key, plen) == -1)
        return -1;
    return 0;
}

static int
parse_ip6(struct rules_line *r, const char *a, size_t len, const char **why)
{
    struct ipaddr ip;

    if (!ipaddr_scan(a, len, &ip) || ip.family != AF_INET6) {
        *why = "bad IPv6 address";
        return -1;
    }
    ipaddr_unmap(&ip);
    r->kind = RULES_IP;
    r->key.len = 0;
    return cat_ip(&r->key, &ip);
}

/* "=", "=host", "=.domain" */
static int
parse_host(struct rules_line *r, const char *a, size_t len,
           const char **why)
{
    r->key.len = 0;
    if (bstr_catc(&r->key, '=') == -1)
        return -1;
    if (len == 1) {
        r->kind = RULES_ANYHOST;
        return 0;
    }
    if (a[1] == '.') {
        if (!host_ok(a + 2, len - 2)) {
            *why = "bad domain name after '=.'";
            return -1;
        }
        r->kind = RULES_DOMAIN;
    } else {
        if (!host_ok(a + 1, len - 1)) {
            *why = "bad host name after '='";
            return -1;
        }
        r->kind = RULES_HOST;
    }
    return cat_lower(&r->key, a + 1, len - 1);
}

/* "info@1.2.3.4", "info@::1", "info@=host" */
static int
parse_info(struct rules_line *r, const char *a, size_t len, size_t at,
           const char **why)
{
    const char *rest = a + at + 1;
    size_t rlen = len - at - 1;
    struct ipaddr ip;

    if (at == 0 || at > RULES_INFO_MAX) {
        *why = at ? "info before '@' is too long" : "empty info before '@'";
        return -1;
    }
    for (size_t i = 0; i < at; i++) {
        if ((unsigned char)a[i] < 0x20 || a[i] == 0x7f) {
            *why = "control character in info before '@'";
            return -1;
        }
    }
    r->key.len = 0;
    if (bstr_catb(&r->key, a, at + 1) == -1)
        return -1;
    if (rlen > 1 && rest[0] == '=' && rest[1] != '.') {
        if (!host_ok(rest + 1, rlen - 1)) {
            *why = "bad host name after '@='";
            return -1;
        }
        r->kind = RULES_INFO_HOST;
        return cat_lower(&r->key, rest, rlen);
    }
    if (!ipaddr_scan(rest, rlen, &ip)) {
        *why = "info@ needs a whole IP address or =host after the '@'";
        return -1;
    }
    ipaddr_unmap(&ip);
    r->kind = RULES_INFO_IP;
    return cat_ip(&r->key, &ip);
}

static int
parse_addr(struct rules_line *r, const char *a, size_t len, const char **why)
{
    const char *at = NULL, *slash;

    for (size_t i = len; i > 0; i--) {
        if (a[i - 1] == '@') {
            at = a + i - 1;
            break;
        }
    }
    if (len == 0) {
        r->kind = RULES_DEFAULT;
        r->key.len = 0;
        return bstr_copys(&r->key, "");
    }
    if (at)
        return parse_info(r, a, len, (size_t)(at - a), why);
    if (a[0] == '=')
        return parse_host(r, a, len, why);
    slash = memchr(a, '/', len);
    if (slash)
        return parse_cidr(r, a, len, (size_t)(slash - a), why);
    if (memchr(a, ':', len))
        return parse_ip6(r, a, len, why);
    return parse_dotted(r, a, len, why);
}

/* --- instruction and environment ----------------------------------------- */

/* Does "allow" or "deny" start s[0..len), followed by the end or ','? */
static size_t
instruction(const char *s, size_t len, bool *deny, bool *clean)
{
    size_t n = 0;

    if (len >= 5 && memcmp(s, "allow", 5) == 0) {
        n = 5;
        *deny = false;
    } else if (len >= 4 && memcmp(s, "deny", 4) == 0) {
        n = 4;
        *deny = true;
    }
    *clean = n && (n == len || s[n] == ',');
    return n;
}

static int
parse_env(struct rules_line *r, const char *s, size_t len, const char **why)
{
    size_t i = 0;

    while (i < len) {
        size_t name, eq, val, close;
        char delim;

        if (s[i] != ',') {
            *why = "expected ',' before the next VAR=value";
            return -1;
        }
        name = ++i;
        while (i < len && s[i] != '=' && s[i] != ',')
            i++;
        if (i == len || s[i] != '=') {
            *why = "variable assignment without '='";
            return -1;
        }
        eq = i;
        if (eq == name) {
            *why = "empty variable name";
            return -1;
        }
        for (size_t k = name; k < eq; k++) {
            if ((unsigned char)s[k] <= 0x20 || s[k] == 0x7f) {
                *why = "space or control character in variable name";
                return -1;
            }
        }
        if (eq + 1 == len) {
            *why = "no quote character after VAR= (write VAR=\"value\")";
            return -1;
        }
        delim = s[eq + 1];
        val = eq + 2;
        close = val;
        while (close < len && s[close] != delim)
            close++;
        if (close == len) {
            *why = "value has no closing quote character";
            return -1;
        }
        if (bstr_catc(&r->data, '+') == -1 ||
            bstr_catb(&r->data, s + name, eq - name + 1) == -1 ||
            bstr_catb(&r->data, s + val, close - val) == -1 ||
            bstr_catb(&r->data, "", 1) == -1)
            return -1;
        i = close + 1;
    }
    return 0;
}

/*
 * rules_parse - parse one line of a rules file (newline optional).
 * Returns 1 with *r filled, 0 for a blank or comment line, -1 with errno
 * EINVAL and *why naming the problem, or -1 with errno ENOMEM.
 */
int
rules_parse(struct rules_line *r, const char *line, size_t len,
            const char **why)
{
    size_t colon = len, skip = 0;
    bool deny = false, clean = false, partial = false;

    *why = NULL;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
                       line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (len == 0 || line[0] == '#')
        return 0;
    if (memchr(line, '\0', len)) {
        *why = "NUL byte in line";
        goto bad;
    }
    /* the first ':' followed by allow/deny: IPv6 addresses hold colons */
    for (size_t i = 0; i < len; i++) {
        if (line[i] != ':')
            continue;
        skip = instruction(line + i + 1, len - i - 1, &deny, &clean);
        if (skip && clean) {
            colon = i;
            break;
        }
        if (skip)
            partial = true;
    }
    if (colon == len) {
        if (partial)
            *why = "allow or deny must be followed by ,VAR=value or end "
                   "the line";
        else if (memchr(line, ':', len))
            *why = "expected allow or deny after ':'";
        else
            *why = "missing :allow or :deny";
        goto bad;
    }
    r->deny = deny;
    r->ranged = false;
    r->lo = r->hi = 0;
    r->range_at = 0;
    r->data.len = 0;
    errno = 0;
    if (parse_addr(r, line, colon, why) == -1)
        goto fail;
    if (bstr_catb(&r->data, deny ? "D" : "A", 2) == -1)
        return -1;
    skip = colon + 1 + (deny ? 4 : 5);
    if (parse_env(r, line + skip, len - skip, why) == -1)
        goto fail;
    return 1;
fail:
    if (!*why)
        return -1; /* out of memory, errno set */
bad:
    errno = EINVAL;
    return -1;
}

/* rules_line_free - release what rules_parse allocated. */
void
rules_line_free(struct rules_line *r)
{
    bstr_free(&r->key);
    bstr_free(&r->data);
}

/* rules_nkeys - how many cdb keys the parsed line stands for. */
size_t
rules_nkeys(const struct rules_line *r)
{
    return r->ranged ? (size_t)(r->hi - r->lo) + 1 : 1;
}

/*
 * rules_key - the i-th key (0 <= i < rules_nkeys) into out.
 * Returns 0, or -1 with errno set.
 */
int
rules_key(const struct rules_line *r, size_t i, struct bstr *out)
{
    if (!r->ranged)
        return bstr_copyb(out, r->key.s, r->key.len);
    if (i > (size_t)(r->hi - r->lo)) {
        errno = EINVAL;
        return -1;
    }
    if (bstr_copyb(out, r->key.s, r->range_at) == -1 ||
        bstr_catu(out, r->lo + i) == -1 ||
        bstr_catb(out, r->key.s + r->range_at, r->key.len - r->range_at) ==
            -1)
        return -1;
    return 0;
}

/* --- lookup --------------------------------------------------------------- */

struct probe {
    rules_get_fn get;
    void *ctx;
    struct bstr *key;
    struct bstr *val;
};

static int
probe(struct probe *p)
{
    return p->get(p->ctx, p->key->s ? p->key->s : "", p->key->len, p->val);
}

/* PROBE - look p->key up; a hit or an error returns from the caller. */
#define PROBE(p)                                                             \
    do {                                                                     \
        int r_ = probe(p);                                                   \
        if (r_ != 0)                                                         \
            return r_;                                                       \
    } while (0)

/* CIDR keys from the longest prefix to /0, IPv4 dotted ones among them. */
static int
probe_prefixes(struct probe *p, const struct ipaddr *ip, const char *text)
{
    unsigned bits = ipaddr_bits(ip);

    for (unsigned plen = bits + 1; plen-- > 0;) {
        struct ipaddr net = *ip;

        if (ip->family == AF_INET && plen % 8 == 0 && plen >= 8 &&
            plen <= 24) {
            const char *dot = text;

            for (unsigned k = 0; k < plen / 8; k++)
                dot = strchr(dot, '.') + 1;
            if (bstr_copyb(p->key, text, (size_t)(dot - text)) == -1)
                return -1;
            PROBE(p);
        }
        ipaddr_mask(&net, plen);
        p->key->len = 0;
        if (cat_ip(p->key, &net) == -1 || bstr_catc(p->key, '/') == -1 ||
            bstr_catu(p->key, plen) == -1)
            return -1;
        PROBE(p);
    }
    return 0;
}

/*
 * rules_lookup - find the rule for client c, most specific first:
 *   info@ip, info@=host, ip, =host, the address prefixes from the
 *   longest (IPv4: /32../0 with "a.b.c." "a.b." "a." at /24 /16 /8,
 *   each before the CIDR key of the same length; IPv6: /128../0),
 *   =.domain suffixes from the longest, "=", then the default "".
 * Host keys are tried only when the host is known, info keys only when
 * the info is.  Returns 1 (key and val set), 0 no rule, -1 error.
 */
int
rules_lookup(const struct rules_client *c, rules_get_fn get, void *ctx,
             struct bstr *key, struct bstr *val)
{
    struct probe p = {get, ctx, key, val};
    char ip[IPADDR_FMT];
    int r;

    ipaddr_fmt(ip, &c->ip);
    if (c->info) {
        if (bstr_copys(key, c->info) == -1 || bstr_catc(key, '@') == -1 ||
            bstr_cats(key, ip) == -1)
            return -1;
        PROBE(&p);
        if (c->host) {
            if (bstr_copys(key, c->info) == -1 ||
                bstr_cats(key, "@=") == -1 || bstr_cats(key, c->host) == -1)
                return -1;
            PROBE(&p);
        }
    }
    if (bstr_copys(key, ip) == -1)
        return -1;
    PROBE(&p);
    if (c->host) {
        if (bstr_copys(key, "=") == -1 || bstr_cats(key, c->host) == -1)
            return -1;
        PROBE(&p);
    }
    r = probe_prefixes(&p, &c->ip, ip);
    if (r != 0)
        return r;
    if (c->host) {
        for (const char *d = strchr(c->host, '.'); d; d = strchr(d + 1, '.')) {
            if (bstr_copys(key, "=") == -1 || bstr_cats(key, d) == -1)
                return -1;
            PROBE(&p);
        }
        if (bstr_copys(key, "=") == -1)
            return -1;
        PROBE(&p);
    }
    if (bstr_copys(key, "") == -1)
        return -1;
    PROBE(&p);
    return 0;
}

/* --- cdb values ------------------------------------------------------------ */

/*
 * rules_rec_next - the record at *pos of a cdb value, then advance *pos.
 * A '+' record without '=' and an unterminated tail are skipped as
 * ucspi-tcp does.  Returns 1 with *rec filled, 0 at the end.
 */
int
rules_rec_next(const char *data, size_t len, size_t *pos,
               struct rules_rec *rec)
{
    while (*pos < len) {
        const char *s = data + *pos;
        const char *nul = memchr(s, '\0', len - *pos);
        const char *eq;

        if (!nul)
            return 0;
        *pos += (size_t)(nul - s) + 1;
        memset(rec, 0, sizeof *rec);
        rec->type = s[0];
        if (rec->type != '+')
            return 1;
        eq = memchr(s + 1, '=', (size_t)(nul - s - 1));
        if (!eq)
            continue;
        rec->name = s + 1;
        rec->namelen = (size_t)(eq - s - 1);
        rec->value = eq + 1;
        rec->valuelen = (size_t)(nul - eq - 1);
        return 1;
    }
    return 0;
}

/* rules_denies - true when the value holds a deny record. */
bool
rules_denies(const char *data, size_t len)
{
    struct rules_rec rec;
    size_t pos = 0;

    while (rules_rec_next(data, len, &pos, &rec))
        if (rec.type == 'D')
            return true;
    return false;
}
