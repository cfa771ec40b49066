/* SPDX-License-Identifier: ISC */
/*
 * test_rules - tcp.smtp rule lines: parsing (every address form, value
 * delimiters, ranges, CIDR canonicalisation, bad lines and their
 * messages), key expansion, cdb value records, and the lookup order.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "rules.h"

/* A cdb value with its NULs: V("A\0+X=1\0"). */
#define V(s) s, sizeof(s) - 1

struct parse_case {
    const char *line;
    int ret; /* 1 rule, 0 nothing, -1 error */
    enum rules_kind kind;
    const char *key;      /* first key */
    size_t nkeys;
    const char *last;     /* last key */
    const char *data;
    size_t dlen;
    const char *why;      /* error: a substring of the message */
};

#define OK(line, kind, key, data) {line, 1, kind, key, 1, key, V(data), NULL}
#define RANGE(line, kind, first, n, last, data) \
    {line, 1, kind, first, n, last, V(data), NULL}
#define BAD(line, why) {line, -1, RULES_DEFAULT, NULL, 0, NULL, NULL, 0, why}
#define NONE(line) {line, 0, RULES_DEFAULT, NULL, 0, NULL, NULL, 0, NULL}

static const struct parse_case parse_cases[] = {
    /* the admin guide's file, verbatim */
    OK("127.0.0.:allow,RELAYCLIENT=\" \"", RULES_PREFIX, "127.0.0.",
       "A\0+RELAYCLIENT= \0"),
    OK(":allow", RULES_DEFAULT, "", "A\0"),
    OK("127.0.0.:allow,RELAYCLIENT=\"\"", RULES_PREFIX, "127.0.0.",
       "A\0+RELAYCLIENT=\0"),
    OK(":deny", RULES_DEFAULT, "", "D\0"),
    OK("1.2.3.4:deny", RULES_IP, "1.2.3.4", "D\0"),
    OK("1.2.3.4:allow\n", RULES_IP, "1.2.3.4", "A\0"),
    OK("1.2.3.4:allow  \t\r\n", RULES_IP, "1.2.3.4", "A\0"),
    OK("1.2.:allow", RULES_PREFIX, "1.2.", "A\0"),
    OK("1.:allow", RULES_PREFIX, "1.", "A\0"),
    /* the delimiter is whatever follows '=' */
    OK("1.2.3.4:allow,RBLSMTPD=\"-text, with comma\"", RULES_IP, "1.2.3.4",
       "A\0+RBLSMTPD=-text, with comma\0"),
    OK("1.2.3.4:allow,A='x',B=/y z/,C=\"\"", RULES_IP, "1.2.3.4",
       "A\0+A=x\0+B=y z\0+C=\0"),
    OK("1.2.3.4:allow,X=\"a:deny,b\"", RULES_IP, "1.2.3.4",
       "A\0+X=a:deny,b\0"),
    OK("1.2.3.4:allow,X=\"1\",X=\"2\"", RULES_IP, "1.2.3.4",
       "A\0+X=1\0+X=2\0"),
    OK("1.2.3.4:allow,X=\"it's\"", RULES_IP, "1.2.3.4", "A\0+X=it's\0"),
    OK("1.2.3.4:allow,X=::", RULES_IP, "1.2.3.4", "A\0+X=\0"),
    OK("1.2.3.4:deny,RBLSMTPD=\"-go away\"", RULES_IP, "1.2.3.4",
       "D\0+RBLSMTPD=-go away\0"),
    /* ranges */
    RANGE("10.0.0.1-99:allow", RULES_IP, "10.0.0.1", 99, "10.0.0.99", "A\0"),
    RANGE("10.0.1-5.:deny", RULES_PREFIX, "10.0.1.", 5, "10.0.5.", "D\0"),
    RANGE("10.0-255.:allow", RULES_PREFIX, "10.0.", 256, "10.255.",
          "A\0"),
    RANGE("1-3.:allow", RULES_PREFIX, "1.", 3, "3.", "A\0"),
    RANGE("10.0.0.5-5:allow", RULES_IP, "10.0.0.5", 1, "10.0.0.5", "A\0"),
    RANGE("0-255.1.2.3:allow", RULES_IP, "0.1.2.3", 256, "255.1.2.3",
          "A\0"),
    /* host names, lower-cased */
    OK("=Mail.Example.COM:allow", RULES_HOST, "=mail.example.com", "A\0"),
    OK("=localhost:allow,X=\"1\"", RULES_HOST, "=localhost", "A\0+X=1\0"),
    OK("=.example.com:deny", RULES_DOMAIN, "=.example.com", "D\0"),
    OK("=:allow", RULES_ANYHOST, "=", "A\0"),
    /* info@ */
    OK("joe@1.2.3.4:allow", RULES_INFO_IP, "joe@1.2.3.4", "A\0"),
    OK("joe@=Host.Example:allow", RULES_INFO_HOST, "joe@=host.example",
       "A\0"),
    OK("joe@2001:DB8::1:allow", RULES_INFO_IP, "joe@2001:db8::1", "A\0"),
    OK("a@b@1.2.3.4:allow", RULES_INFO_IP, "a@b@1.2.3.4", "A\0"),
    /* IPv6, canonical */
    OK("::1:allow", RULES_IP, "::1", "A\0"),
    OK(":::allow", RULES_IP, "::", "A\0"),
    OK("2001:0DB8:0:0::0005:deny", RULES_IP, "2001:db8::5", "D\0"),
    OK("::ffff:10.0.0.1:allow", RULES_IP, "10.0.0.1", "A\0"),
    OK("dead:beef::1:deny", RULES_IP, "dead:beef::1", "D\0"),
    /* CIDR, host bits masked */
    OK("10.1.2.3/8:allow", RULES_CIDR, "10.0.0.0/8", "A\0"),
    OK("10.0.0.0/0:allow", RULES_CIDR, "0.0.0.0/0", "A\0"),
    OK("192.168.1.255/25:allow", RULES_CIDR, "192.168.1.128/25", "A\0"),
    OK("192.168.1.7/32:deny", RULES_CIDR, "192.168.1.7/32", "D\0"),
    OK("2001:db8:ab::/32:allow", RULES_CIDR, "2001:db8::/32", "A\0"),
    OK("2001:DB8::1/128:allow", RULES_CIDR, "2001:db8::1/128", "A\0"),
    OK("::/0:deny", RULES_CIDR, "::/0", "D\0"),
    OK("::ffff:10.1.0.0/104:allow", RULES_CIDR, "10.0.0.0/8", "A\0"),
    OK("::ffff:0.0.0.0/80:allow", RULES_CIDR, "::/80", "A\0"),
    /* nothing */
    NONE(""),
    NONE("\n"),
    NONE("  \t\r\n"),
    NONE("# 1.2.3.4:deny"),
    NONE("#"),
    /* bad lines */
    BAD("1.2.3.4", "missing :allow or :deny"),
    BAD("1.2.3.4:alow", "expected allow or deny after ':'"),
    BAD("1.2.3.4: allow", "expected allow or deny after ':'"),
    BAD("1.2.3.4:allowed", "allow or deny must be followed"),
    BAD("1.2.3.4:allow RELAYCLIENT=\"\"", "allow or deny must be followed"),
    BAD("1.2.3:allow", "incomplete IPv4 address"),
    BAD("1.2.3.4.:allow", "at most 3 octets"),
    BAD("1.2.3.4.5:allow", "too many octets"),
    BAD("256.1.1.1:allow", "bad octet"),
    BAD("01.2.3.4:allow", "bad octet"),
    BAD("1..3.4:allow", "empty octet"),
    BAD(".:allow", "empty octet"),
    BAD("10.0.0.99-1:allow", "range start is above its end"),
    BAD("10.0.0.1-300:allow", "bad range"),
    BAD("10.0.0.1-:allow", "bad range"),
    BAD("10.0.0.-1:allow", "bad range"),
    BAD("10.1-2.3-4.:allow", "only one octet may be a range"),
    BAD("10.0.0.1--3:allow", "bad range"),
    BAD("host.example:allow", "needs '=' in front"),
    BAD("=bad..host:allow", "bad host name"),
    BAD("=host name:allow", "bad host name"),
    BAD("=-x.:allow", "bad host name"),
    BAD("=.:allow", "bad domain name"),
    BAD("=..example:allow", "bad domain name"),
    BAD("@1.2.3.4:allow", "empty info"),
    BAD("joe@1.2.3.:allow", "whole IP address"),
    BAD("joe@=.example:allow", "whole IP address"),
    BAD("joe@:allow", "whole IP address"),
    BAD("joe@=bad..host:allow", "bad host name after '@='"),
    BAD("10.0.0.0/33:allow", "IPv4: 0-32"),
    BAD("10.0.0.0/08:allow", "IPv4: 0-32"),
    BAD("10.0.0.0/:allow", "IPv4: 0-32"),
    BAD("10.0.0/8:allow", "bad IPv4 address before '/'"),
    BAD("2001:db8::/129:allow", "IPv6: 0-128"),
    BAD("2001:zz8::/32:allow", "bad IPv6 address before '/'"),
    BAD("2001:db8:::1:allow", "bad IPv6 address"),
    BAD("fe80::1%lo:allow", "bad IPv6 address"),
    BAD("1.2.3.4:allow,X", "without '='"),
    BAD("1.2.3.4:allow,", "without '='"),
    BAD("1.2.3.4:allow,X,Y=\"\"", "without '='"),
    BAD("1.2.3.4:allow,=\"x\"", "empty variable name"),
    BAD("1.2.3.4:allow,X=", "no quote character"),
    BAD("1.2.3.4:allow,X=\"abc", "no closing quote"),
    BAD("1.2.3.4:allow,X=\"a\"junk", "expected ','"),
    BAD("1.2.3.4:allow,X=\"a\",", "without '='"),
    BAD("1.2.3.4:allow,MY VAR=\"x\"", "space or control character"),
    /* vpopmail's open-smtp keeps a time stamp after the rule */
    BAD("213.41.186.122:allow,RELAYCLIENT=\" \",RBLSMTPD=\" \" 1030146813",
        "expected ','"),
};

static void
test_parse_table(void)
{
    struct rules_line r = RULES_LINE_INIT;
    struct bstr key = BSTR_INIT;

    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *c = &parse_cases[i];
        const char *why = NULL;
        int ret = rules_parse(&r, c->line, strlen(c->line), &why);

        if (!CHECK_INT(ret, c->ret)) {
            printf("    line: %s (%s)\n", c->line, why ? why : "-");
            continue;
        }
        if (ret == -1) {
            CHECK_INT(errno, EINVAL);
            if (!CHECK(why && strstr(why, c->why)))
                printf("    line: %s: got \"%s\", want \"%s\"\n", c->line,
                       why ? why : "(null)", c->why);
            continue;
        }
        if (ret == 0)
            continue;
        if (!CHECK_INT(r.kind, c->kind))
            printf("    line: %s\n", c->line);
        CHECK_INT(rules_nkeys(&r), c->nkeys);
        CHECK_INT(rules_key(&r, 0, &key), 0);
        CHECK_BSTR(key, c->key);
        CHECK_INT(rules_key(&r, c->nkeys - 1, &key), 0);
        CHECK_BSTR(key, c->last);
        CHECK(harness_check_mem(r.data.s, r.data.len, c->data, c->dlen,
                                c->line, __FILE__, __LINE__));
    }
    rules_line_free(&r);
    bstr_free(&key);
}

static void
test_parse_nul(void)
{
    static const char line[] = "1.2.3.4:allow,X=\"a\0b\"";
    struct rules_line r = RULES_LINE_INIT;
    const char *why;

    CHECK_INT(rules_parse(&r, line, sizeof line - 1, &why), -1);
    CHECK(why && strstr(why, "NUL"));
    rules_line_free(&r);
}

/* Every key of a range, in order, and nothing past its end. */
static void
test_range_keys(void)
{
    struct rules_line r = RULES_LINE_INIT;
    struct bstr key = BSTR_INIT;
    const char *why;
    char want[32];

    CHECK_INT(rules_parse(&r, "10.0.1-5.:deny", 14, &why), 1);
    CHECK_INT(rules_nkeys(&r), 5);
    for (size_t i = 0; i < 5; i++) {
        snprintf(want, sizeof want, "10.0.%zu.", i + 1);
        CHECK_INT(rules_key(&r, i, &key), 0);
        CHECK_BSTR(key, want);
    }
    CHECK_INT(rules_key(&r, 5, &key), -1);
    rules_line_free(&r);
    bstr_free(&key);
}

/* --- lookups against an in-memory map ----------------------------------- */

struct memmap {
    const char *keys[16];
    const char *vals[16];
    size_t n;
    char probed[200][80]; /* every key asked for, in order */
    size_t nprobed;
    int fail_at; /* probe number that fails (-1: none) */
};

static int
memget(void *ctx, const char *key, size_t klen, struct bstr *val)
{
    struct memmap *m = ctx;

    if (m->nprobed < 200)
        snprintf(m->probed[m->nprobed], sizeof m->probed[0], "%.*s",
                 (int)klen, key);
    if ((int)m->nprobed++ == m->fail_at) {
        errno = EIO;
        return -1;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (strlen(m->keys[i]) == klen && memcmp(m->keys[i], key, klen) == 0)
            return bstr_copys(val, m->vals[i]) == -1 ? -1 : 1;
    }
    return 0;
}

static void
client(struct rules_client *c, const char *ip, const char *host,
       const char *info)
{
    CHECK(ipaddr_scan(ip, strlen(ip), &c->ip));
    ipaddr_unmap(&c->ip);
    c->host = host;
    c->info = info;
}

/* Independent IPv4 masking for the expected probe list. */
static void
cidr4(char *buf, size_t size, uint32_t a, unsigned plen)
{
    uint32_t m = plen ? a & (0xffffffffu << (32 - plen)) : 0;

    snprintf(buf, size, "%u.%u.%u.%u/%u", m >> 24, m >> 16 & 255,
             m >> 8 & 255, m & 255, plen);
}

static void
test_lookup_order_v4(void)
{
    static struct memmap m;
    struct rules_client c;
    struct bstr key = BSTR_INIT, val = BSTR_INIT;
    const char *want[64];
    char cidr[33][32];
    size_t n = 0;

    m.fail_at = -1;
    client(&c, "1.2.3.4", "mail.example.com", "joe");
    want[n++] = "joe@1.2.3.4";
    want[n++] = "joe@=mail.example.com";
    want[n++] = "1.2.3.4";
    want[n++] = "=mail.example.com";
    for (unsigned p = 33; p-- > 0;) {
        if (p == 24)
            want[n++] = "1.2.3.";
        if (p == 16)
            want[n++] = "1.2.";
        if (p == 8)
            want[n++] = "1.";
        cidr4(cidr[p], sizeof cidr[p], 0x01020304u, p);
        want[n++] = cidr[p];
    }
    want[n++] = "=.example.com";
    want[n++] = "=.com";
    want[n++] = "=";
    want[n++] = "";
    CHECK_INT(rules_lookup(&c, memget, &m, &key, &val), 0);
    CHECK_INT(m.nprobed, n);
    for (size_t i = 0; i < n && i < m.nprobed; i++)
        CHECK_STR(m.probed[i], want[i]);
    CHECK_STR(m.probed[4], "1.2.3.4/32");
    CHECK_STR(m.probed[12], "1.2.3.");
    CHECK_STR(m.probed[13], "1.2.3.0/24");
    bstr_free(&key);
    bstr_free(&val);
}

static void
test_lookup_order_nohost(void)
{
    static struct memmap m;
    struct rules_client c;
    struct bstr key = BSTR_INIT, val = BSTR_INIT;

    m.fail_at = -1;
    client(&c, "10.0.0.1", NULL, NULL);
    CHECK_INT(rules_lookup(&c, memget, &m, &key, &val), 0);
    /* ip, 33 CIDR keys, 3 dotted prefixes, default */
    CHECK_INT(m.nprobed, 1 + 33 + 3 + 1);
    CHECK_STR(m.probed[0], "10.0.0.1");
    CHECK_STR(m.probed[1], "10.0.0.1/32");
    CHECK_STR(m.probed[m.nprobed - 2], "0.0.0.0/0");
    CHECK_STR(m.probed[m.nprobed - 1], "");
    for (size_t i = 0; i < m.nprobed; i++)
        CHECK(m.probed[i][0] != '=' && !strchr(m.probed[i], '@'));
    bstr_free(&key);
    bstr_free(&val);
}

static void
test_lookup_order_v6(void)
{
    static struct memmap m;
    struct rules_client c;
    struct bstr key = BSTR_INIT, val = BSTR_INIT;

    m.fail_at = -1;
    client(&c, "2001:db8::1", "h.example", "joe");
    CHECK_INT(rules_lookup(&c, memget, &m, &key, &val), 0);
    CHECK_INT(m.nprobed, 4 + 129 + 1 + 1 + 1);
    CHECK_STR(m.probed[0], "joe@2001:db8::1");
    CHECK_STR(m.probed[1], "joe@=h.example");
    CHECK_STR(m.probed[2], "2001:db8::1");
    CHECK_STR(m.probed[3], "=h.example");
    CHECK_STR(m.probed[4], "2001:db8::1/128");
    CHECK_STR(m.probed[5], "2001:db8::/127");
    CHECK_STR(m.probed[4 + 96], "2001:db8::/32");
    CHECK_STR(m.probed[4 + 128], "::/0");
    CHECK_STR(m.probed[133], "=.example");
    CHECK_STR(m.probed[134], "=");
    CHECK_STR(m.probed[135], "");
    bstr_free(&key);
    bstr_free(&val);
}

/* A mapped client is looked up as IPv4. */
static void
test_lookup_mapped(void)
{
    static struct memmap m;
    struct rules_client c;
    struct bstr key = BSTR_INIT, val = BSTR_INIT;

    m.fail_at = -1;
    m.keys[0] = "127.0.0.";
    m.vals[0] = "A";
    m.n = 1;
    client(&c, "::ffff:127.0.0.1", NULL, NULL);
    CHECK_INT(rules_lookup(&c, memget, &m, &key, &val), 1);
    CHECK_BSTR(key, "127.0.0.");
    bstr_free(&key);
    bstr_free(&val);
}

struct pick_case {
    const char *ip, *host, *info;
    const char *want; /* matched key, or NULL for none */
};

static void
test_lookup_pick(void)
{
    static struct memmap m;
    static const char *keys[] = {
        "joe@10.1.2.3", "10.1.2.3",     "=mx.example.com", "10.1.2.",
        "10.1.2.0/24",  "10.1.0.0/16",  "10.0.0.0/8",      "=.example.com",
        "=",            "2001:db8::/32", "2001:db8::5",     "joe@=mx.example.com",
    };
    static const struct pick_case c[] = {
        {"10.1.2.3", NULL, NULL, "10.1.2.3"},
        {"10.1.2.3", NULL, "joe", "joe@10.1.2.3"},
        {"10.1.2.3", "mx.example.com", "ann", "10.1.2.3"},
        {"10.1.2.4", "mx.example.com", NULL, "=mx.example.com"},
        {"10.1.2.4", "mx.example.com", "joe", "joe@=mx.example.com"},
        {"10.1.2.4", NULL, NULL, "10.1.2."}, /* dotted before /24 */
        {"10.1.9.9", NULL, NULL, "10.1.0.0/16"},
        {"10.9.9.9", "a.example.com", NULL, "10.0.0.0/8"},
        {"11.0.0.1", "a.b.example.com", NULL, "=.example.com"},
        {"11.0.0.1", "example.org", NULL, "="},
        {"11.0.0.1", NULL, NULL, NULL},
        {"2001:db8::5", NULL, NULL, "2001:db8::5"},
        {"2001:db8:1::5", NULL, NULL, "2001:db8::/32"},
        {"2001:db9::5", NULL, NULL, NULL},
    };
    struct bstr key = BSTR_INIT, val = BSTR_INIT;

    m.fail_at = -1;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        m.keys[i] = keys[i];
        m.vals[i] = "A";
    }
    m.n = sizeof keys / sizeof keys[0];
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        struct rules_client cl;
        int r;

        client(&cl, c[i].ip, c[i].host, c[i].info);
        m.nprobed = 0;
        r = rules_lookup(&cl, memget, &m, &key, &val);
        if (!CHECK_INT(r, c[i].want ? 1 : 0))
            printf("    client %s\n", c[i].ip);
        if (r == 1 && c[i].want)
            CHECK_BSTR(key, c[i].want);
    }
    bstr_free(&key);
    bstr_free(&val);
}

static void
test_lookup_error(void)
{
    static struct memmap m;
    struct rules_client c;
    struct bstr key = BSTR_INIT, val = BSTR_INIT;

    client(&c, "10.0.0.1", "h.example", "joe");
    for (int at = 0; at < 40; at++) {
        m.nprobed = 0;
        m.fail_at = at;
        CHECK_INT(rules_lookup(&c, memget, &m, &key, &val), -1);
        CHECK_INT(m.nprobed, at + 1);
    }
    bstr_free(&key);
    bstr_free(&val);
}

/* Parse, expand into keys, look up: the path tcprules + tcpserver take. */
static void
test_round_trip(void)
{
    static struct memmap m;
    static char keybuf[8][32];
    struct rules_line r = RULES_LINE_INIT;
    struct bstr key = BSTR_INIT, val = BSTR_INIT;
    struct rules_client c;
    const char *why;

    CHECK_INT(rules_parse(&r, "127.0.0.1-5:deny", 16, &why), 1);
    for (size_t i = 0; i < rules_nkeys(&r); i++) {
        CHECK_INT(rules_key(&r, i, &key), 0);
        snprintf(keybuf[i], sizeof keybuf[i], "%s", key.s);
        m.keys[m.n] = keybuf[i];
        m.vals[m.n++] = "D";
    }
    m.fail_at = -1;
    client(&c, "127.0.0.3", NULL, NULL);
    CHECK_INT(rules_lookup(&c, memget, &m, &key, &val), 1);
    CHECK_BSTR(key, "127.0.0.3");
    client(&c, "127.0.0.6", NULL, NULL);
    CHECK_INT(rules_lookup(&c, memget, &m, &key, &val), 0);
    rules_line_free(&r);
    bstr_free(&key);
    bstr_free(&val);
}

/* --- cdb values ------------------------------------------------------------ */

static void
test_records(void)
{
    static const char d[] = "A\0+X=1\0+NOEQUALS\0+EMPTY=\0+K=a=b\0junk";
    struct rules_rec rec;
    size_t pos = 0;

    CHECK_INT(rules_rec_next(d, sizeof d - 1, &pos, &rec), 1);
    CHECK_INT(rec.type, 'A');
    CHECK_INT(rules_rec_next(d, sizeof d - 1, &pos, &rec), 1);
    CHECK_INT(rec.type, '+');
    CHECK(rec.namelen == 1 && rec.name[0] == 'X');
    CHECK_STR(rec.value, "1");
    CHECK_INT(rules_rec_next(d, sizeof d - 1, &pos, &rec), 1);
    CHECK(rec.namelen == 5 && memcmp(rec.name, "EMPTY", 5) == 0);
    CHECK_INT(rec.valuelen, 0);
    CHECK_INT(rules_rec_next(d, sizeof d - 1, &pos, &rec), 1);
    CHECK(rec.namelen == 1 && rec.name[0] == 'K');
    CHECK_STR(rec.value, "a=b");
    /* the unterminated tail is not a record */
    CHECK_INT(rules_rec_next(d, sizeof d - 1, &pos, &rec), 0);
    CHECK_INT(rules_rec_next(d, sizeof d - 1, &pos, &rec), 0);
}

static void
test_denies(void)
{
    CHECK(!rules_denies("", 0));
    CHECK(!rules_denies(V("A\0")));
    CHECK(!rules_denies(V("+RELAYCLIENT=\0"))); /* ucspi's allow */
    CHECK(rules_denies(V("D\0")));
    CHECK(rules_denies(V("D\0+X=1\0")));
    CHECK(rules_denies(V("+X=1\0D\0")));
    CHECK(!rules_denies(V("+X=D\0")));
    CHECK(!rules_denies(V("D"))); /* unterminated: not a record */
}

static const struct test_case cases[] = {
    {"parse: every syntax, good and bad", test_parse_table},
    {"parse: NUL byte refused", test_parse_nul},
    {"keys: range expansion", test_range_keys},
    {"lookup order: IPv4 with host and info", test_lookup_order_v4},
    {"lookup order: IPv4 alone", test_lookup_order_nohost},
    {"lookup order: IPv6", test_lookup_order_v6},
    {"lookup: mapped client as IPv4", test_lookup_mapped},
    {"lookup: most specific rule wins", test_lookup_pick},
    {"lookup: errors stop the search", test_lookup_error},
    {"parse, keys, lookup round trip", test_round_trip},
    {"cdb value records", test_records},
    {"deny records", test_denies},
};

TEST_MAIN(cases)
