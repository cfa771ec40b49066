/* SPDX-License-Identifier: ISC */
/*
 * test_smtpd_received - the Received line (src/smtpd/received.c): qmail's
 * exact format, and that no client-supplied field can break out of it.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "smtpd.h"

#define WHEN 1065864148 /* 11 Oct 2003 09:22:28 UTC, as in the seed */

static const struct {
    const char *name;
    struct smtpd_trace t;
    const char *want;
} cases[] = {
    {"the seed's line",
     {"unknown", "ping.ovh.net", NULL, "213.186.33.13", "mx3.ovh.net", false, NULL, false},
     "Received: from unknown (HELO ping.ovh.net) (213.186.33.13)\n"
     "  by mx3.ovh.net with SMTP; 11 Oct 2003 09:22:28 -0000\n"},
    {"no HELO given",
     {"unknown", NULL, NULL, "192.0.2.1", "mx.example", false, NULL, false},
     "Received: from unknown (192.0.2.1)\n"
     "  by mx.example with SMTP; 11 Oct 2003 09:22:28 -0000\n"},
    {"HELO equal to the host name, in any case",
     {"client.example", "CLIENT.example", NULL, "192.0.2.1", "mx", false, NULL, false},
     "Received: from client.example (192.0.2.1)\n"
     "  by mx with SMTP; 11 Oct 2003 09:22:28 -0000\n"},
    {"HELO differing from the host name",
     {"client.example", "other.example", NULL, "192.0.2.1", "mx", false, NULL, false},
     "Received: from client.example (HELO other.example) (192.0.2.1)\n"
     "  by mx with SMTP; 11 Oct 2003 09:22:28 -0000\n"},
    {"empty HELO",
     {"unknown", "", NULL, "192.0.2.1", "mx", false, NULL, false},
     "Received: from unknown (HELO ) (192.0.2.1)\n"
     "  by mx with SMTP; 11 Oct 2003 09:22:28 -0000\n"},
    {"ident answer",
     {"unknown", "h", "joe", "192.0.2.1", "mx", false, NULL, false},
     "Received: from unknown (HELO h) (joe@192.0.2.1)\n"
     "  by mx with SMTP; 11 Oct 2003 09:22:28 -0000\n"},
    {"SMTPUTF8",
     {"unknown", "h", NULL, "2001:db8::1", "mx", true, NULL, false},
     "Received: from unknown (HELO h) (2001:db8::1)\n"
     "  by mx with UTF8SMTP; 11 Oct 2003 09:22:28 -0000\n"},
    {"STARTTLS: ESMTPS and the cipher, as the TLS patch showed it",
     {"unknown", "h", NULL, "192.0.2.1", "mx", false,
      "TLSv1.3 TLS_AES_256_GCM_SHA384", false},
     "Received: from unknown (HELO h) (192.0.2.1)\n"
     "  by mx with ESMTPS (TLSv1.3 TLS_AES_256_GCM_SHA384 encrypted); "
     "11 Oct 2003 09:22:28 -0000\n"},
    {"AUTH without TLS: ESMTPA (RFC 3848)",
     {"unknown", "h", "joe", "192.0.2.1", "mx", false, NULL, true},
     "Received: from unknown (HELO h) (joe@192.0.2.1)\n"
     "  by mx with ESMTPA; 11 Oct 2003 09:22:28 -0000\n"},
    {"TLS, AUTH and SMTPUTF8: UTF8SMTPSA (RFC 6531)",
     {"unknown", "h", NULL, "192.0.2.1", "mx", true, "TLSv1.2 X(Y)\nZ", true},
     "Received: from unknown (HELO h) (192.0.2.1)\n"
     "  by mx with UTF8SMTPSA (TLSv1.2 X?Y??Z encrypted); "
     "11 Oct 2003 09:22:28 -0000\n"},
    {"injection through HELO",
     {"unknown", "x)\n  by evil; 1 Jan 1970\nX-Bad: yes (", NULL, "192.0.2.1",
      "mx", false, NULL, false},
     "Received: from unknown (HELO x\?\?\?\?by\?evil\?\?1\?Jan\?1970\?X-Bad:\?yes\?\?) "
     "(192.0.2.1)\n  by mx with SMTP; 11 Oct 2003 09:22:28 -0000\n"},
    {"injection through ident and host",
     {"a\r\nb", "[192.0.2.9]", "u(s)er\tx", "192.0.2.1", "m\x7f\xc3\xa9",
      false, NULL, false},
     "Received: from a\?\?b (HELO [192.0.2.9]) (u\?s\?er\?x@192.0.2.1)\n"
     "  by m\?\?\? with SMTP; 11 Oct 2003 09:22:28 -0000\n"},
};

static void
test_table(void)
{
    struct bstr b = BSTR_INIT;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bstr_truncate(&b, 0);
        CHECK(smtpd_received(&b, &cases[i].t, WHEN) == 0);
        if (!CHECK_BSTR(b, cases[i].want))
            printf("    case: %s\n    got: %s", cases[i].name, b.s);
    }
    bstr_free(&b);
}

static void
test_caps(void)
{
    struct smtpd_trace t = {"unknown", NULL, NULL, "192.0.2.1", "mx", false, NULL, false};
    struct bstr b = BSTR_INIT;
    char helo[2000];
    const char *nl;

    memset(helo, 'h', sizeof helo - 1);
    helo[sizeof helo - 1] = '\0';
    t.helo = helo;
    t.remotehost = helo + 1000;
    CHECK(smtpd_received(&b, &t, WHEN) == 0);
    /* each field capped; still exactly two lines */
    nl = memchr(b.s, '\n', b.len);
    CHECK(nl != NULL);
    CHECK((size_t)(nl - b.s) < 2 * SMTPD_FIELD_MAX + 60);
    CHECK(memchr(nl + 1, '\n', b.len - (size_t)(nl - b.s) - 1) ==
          b.s + b.len - 1);
    for (size_t i = 0; i < b.len; i++)
        if (b.s[i] != '\n' && ((unsigned char)b.s[i] < 32 ||
                               (unsigned char)b.s[i] > 126))
            CHECK(!"unsafe byte");
    bstr_free(&b);
}

static void
test_safe_cat(void)
{
    struct bstr b = BSTR_INIT;

    CHECK(smtpd_safe_cat(&b, "ok.example-1_[1.2.3.4]:a@b+c=d/e%f", 100) == 0);
    CHECK_BSTR(b, "ok.example-1_[1.2.3.4]:a@b+c=d/e%f");
    bstr_truncate(&b, 0);
    CHECK(smtpd_safe_cat(&b, "a b(c)d;e<f>g\"h\\i,j", 100) == 0);
    CHECK_BSTR(b, "a?b?c?d?e?f?g?h?i?j");
    bstr_truncate(&b, 0);
    CHECK(smtpd_safe_cat(&b, "abcdef", 3) == 0);
    CHECK_BSTR(b, "abc");
    bstr_free(&b);
}

static const struct test_case tests[] = {
    {"format", test_table},
    {"length caps", test_caps},
    {"safe characters", test_safe_cat},
};

TEST_MAIN(tests)
