/* SPDX-License-Identifier: ISC */
/*
 * test_smtpd_ratelimit - control/ratelimits' lines (qmail-control(5)):
 * a table of lines with what each must set or why it is refused, names
 * made canonical (addresses, networks, case), a key's own rule over its
 * class's, later lines over earlier ones, and copies ($RATELIMIT's rules
 * start as a copy of the file's).
 */
#include <string.h>

#include "harness.h"
#include "ratelimit.h"

#define C(w, p) RATE_COUNTER(RATE_##w, RATE_##p)

static void
rules_init(struct ratelimit_rules *r)
{
    memset(r, 0, sizeof *r);
    ratelimit_rules_free(r);
}

static void
test_class_lines(void)
{
    static const struct {
        const char *line;
        int cls;
        unsigned counter;
        uint32_t limit;
    } ok[] = {
        {"ip:conn/min:60", RL_IP, C(CONN, MIN), 60},
        {"net:msgs/hour:300", RL_NET, C(MSGS, HOUR), 300},
        {"user:rcpts/day:5000", RL_USER, C(RCPTS, DAY), 5000},
        {"domain:msgs/day:20000", RL_DOMAIN, C(MSGS, DAY), 20000},
        {"  ip:msgs/min:7  \t", RL_IP, C(MSGS, MIN), 7},
        {"ip:msgs/min:0", RL_IP, C(MSGS, MIN), 0},
        {"ip:msgs/min:4294967293", RL_IP, C(MSGS, MIN), 4294967293u},
    };

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct ratelimit_rules r;
        const char *why = NULL;

        rules_init(&r);
        CHECK_INT(ratelimit_parse(&r, ok[i].line, strlen(ok[i].line), &why),
                  0);
        CHECK_INT(r.limit[ok[i].cls][ok[i].counter], ok[i].limit);
        CHECK_INT(ratelimit_limit(&r, ok[i].cls, "ip:192.0.2.1",
                                  ok[i].counter),
                  ok[i].limit);
        CHECK_INT(r.nov, 0);
        ratelimit_rules_free(&r);
    }
}

static void
test_refused_lines(void)
{
    static const struct {
        const char *line;
        const char *why;
    } bad[] = {
        {"ip:msgs/week:1", "not conn, msgs or rcpts per min, hour or day"},
        {"ipx:msgs/min:1", "the class is not ip, net, user, domain or window"},
        {"user:conn/min:5",
         "connections come before AUTH: conn is for ip and net"},
        {"domain:conn/day:5",
         "connections come before AUTH: conn is for ip and net"},
        {"ip:msgs/min:", "the limit is not a number"},
        {"ip:msgs/min:-1", "the limit is not a number"},
        {"ip:msgs/min:1x", "the limit is not a number"},
        {"ip:msgs/min:4294967294", "the limit is not a number"},
        {"ip:msgs/min:99999999999999999999999", "the limit is not a number"},
        {"ip:msgs", "not CLASS:WHAT/PER:N or CLASS:NAME:WHAT/PER:N"},
        {"window:sideways", "not CLASS:WHAT/PER:N or CLASS:NAME:WHAT/PER:N"},
        {"ip:../../etc/passwd:msgs/min:1", "not an address"},
        {"ip:192.0.2.1/24:msgs/min:1",
         "a network is the /24 (IPv4) or /64 (IPv6) of an address"},
        {"net:192.0.2.0/16:msgs/min:1",
         "a network is the /24 (IPv4) or /64 (IPv6) of an address"},
        {"net:2001:db8::/48:msgs/min:1",
         "a network is the /24 (IPv4) or /64 (IPv6) of an address"},
        {"user:a b@c:msgs/min:1",
         "a name with a space or a control character"},
        {"user:\x1b[2J@c:msgs/min:1",
         "a name with a space or a control character"},
        {"user:a%41b@c:msgs/min:1", "a name with an 8-bit byte or '%'"},
        {"user:jos\xc3\xa9@c:msgs/min:1", "a name with an 8-bit byte or '%'"},
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ratelimit_rules r;
        const char *why = NULL;

        rules_init(&r);
        CHECK_INT(ratelimit_parse(&r, bad[i].line, strlen(bad[i].line), &why),
                  -1);
        CHECK_STR(why ? why : "(none)", bad[i].why);
        CHECK_INT(r.nov, 0);
        for (int c = 0; c < RL_CLASSES; c++)
            for (unsigned k = 0; k < RATE_COUNTERS; k++)
                CHECK_INT(r.limit[c][k], 0);
        ratelimit_rules_free(&r);
    }
    {
        struct ratelimit_rules r;
        const char *why = NULL;
        char nul[] = "ip:msgs/min:1\0ip:msgs/min:2";
        char big[600];

        rules_init(&r);
        CHECK_INT(ratelimit_parse(&r, nul, sizeof nul - 1, &why), -1);
        CHECK_STR(why, "a NUL in the line");
        memcpy(big, "user:", 5);
        memset(big + 5, 'a', sizeof big - 5);
        memcpy(big + sizeof big - 14, "@x:msgs/day:1", 13);
        CHECK_INT(ratelimit_parse(&r, big, sizeof big - 1, &why), -1);
        CHECK_STR(why, "name too long");
        /* nothing at all: empty lines and comments */
        CHECK_INT(ratelimit_parse(&r, "", 0, &why), 0);
        CHECK_INT(ratelimit_parse(&r, "   ", 3, &why), 0);
        CHECK_INT(ratelimit_parse(&r, "# ip:msgs/min:1", 15, &why), 0);
        CHECK_INT(r.limit[RL_IP][C(MSGS, MIN)], 0);
        ratelimit_rules_free(&r);
    }
}

static void
parse(struct ratelimit_rules *r, const char *line)
{
    const char *why = NULL;

    CHECK_INT(ratelimit_parse(r, line, strlen(line), &why), 0);
    if (why)
        CHECK_STR(why, "");
}

/* a key's own rule over its class's; names canonical; the last line wins */
static void
test_overrides(void)
{
    struct ratelimit_rules r, copy;

    rules_init(&r);
    rules_init(&copy);
    CHECK(r.sliding);
    parse(&r, "user:msgs/hour:500");
    parse(&r, "user:Joe@Example.COM:msgs/hour:5000");
    parse(&r, "user:joe@example.com:rcpts/day:9");
    parse(&r, "user:ann@example.com:msgs/hour:0");
    parse(&r, "ip:::FFFF:192.0.2.7:conn/min:2");
    parse(&r, "net:192.0.2.99:msgs/min:3");
    parse(&r, "net:2001:DB8:1:2::77/64:msgs/min:4");
    parse(&r, "domain:EXAMPLE.com:msgs/day:100");
    parse(&r, "domain:example.com:msgs/day:200");
    parse(&r, "window:fixed");
    CHECK(!r.sliding);
    CHECK_INT(r.nov, 6);
    for (size_t i = 1; i < r.nov; i++)
        CHECK(strcmp(r.ov[i - 1].key, r.ov[i].key) < 0);
    CHECK_INT(ratelimit_limit(&r, RL_USER, "user:joe@example.com",
                              C(MSGS, HOUR)), 5000);
    CHECK_INT(ratelimit_limit(&r, RL_USER, "user:joe@example.com",
                              C(RCPTS, DAY)), 9);
    /* a counter the key has no rule for: the class's */
    CHECK_INT(ratelimit_limit(&r, RL_USER, "user:joe@example.com",
                              C(MSGS, DAY)), 0);
    CHECK_INT(ratelimit_limit(&r, RL_USER, "user:bob@example.com",
                              C(MSGS, HOUR)), 500);
    CHECK_INT(ratelimit_limit(&r, RL_USER, "user:ann@example.com",
                              C(MSGS, HOUR)), 0);
    CHECK_INT(ratelimit_limit(&r, RL_IP, "ip:192.0.2.7", C(CONN, MIN)), 2);
    CHECK_INT(ratelimit_limit(&r, RL_NET, "net:192.0.2.0/24", C(MSGS, MIN)),
              3);
    CHECK_INT(ratelimit_limit(&r, RL_NET, "net:2001:db8:1:2::/64",
                              C(MSGS, MIN)), 4);
    CHECK_INT(ratelimit_limit(&r, RL_DOMAIN, "domain:example.com",
                              C(MSGS, DAY)), 200);
    /* a copy, then more rules over it, leave the original alone */
    CHECK_INT(ratelimit_rules_copy(&copy, &r), 0);
    parse(&copy, "user:joe@example.com:msgs/hour:1");
    parse(&copy, "user:new@example.com:msgs/hour:2");
    CHECK_INT(ratelimit_limit(&copy, RL_USER, "user:joe@example.com",
                              C(MSGS, HOUR)), 1);
    CHECK_INT(ratelimit_limit(&copy, RL_USER, "user:new@example.com",
                              C(MSGS, HOUR)), 2);
    CHECK_INT(ratelimit_limit(&copy, RL_DOMAIN, "domain:example.com",
                              C(MSGS, DAY)), 200);
    CHECK(!copy.sliding);
    CHECK_INT(ratelimit_limit(&r, RL_USER, "user:joe@example.com",
                              C(MSGS, HOUR)), 5000);
    CHECK_INT(r.nov, 6);
    ratelimit_rules_free(&copy);
    ratelimit_rules_free(&r);
    CHECK_INT(r.nov, 0);
    CHECK(r.sliding);
}

static const struct test_case cases[] = {
    {"class_lines", test_class_lines},
    {"refused_lines", test_refused_lines},
    {"overrides", test_overrides},
};

TEST_MAIN(cases)
