/* SPDX-License-Identifier: ISC */
/*
 * test_mlogtai - tai64nlocal's filter: labels become local time in the
 * zone TZ names, everything else passes through byte for byte, however
 * the input is cut into reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "mlogtai.h"

static const struct {
    const char *tz;
    const char *in;
    const char *out;
} conversions[] = {
    /* the seed's stamps: 0x3f87e06f - 2^62 - 10 = 1065869413 */
    {"UTC0", "@400000003f87e06f3172d234 end msg 195408\n",
     "2003-10-11 10:50:13.829608500 end msg 195408\n"},
    {"XXX-2", "@400000003f87e06f3172d234 end msg 195408\n",
     "2003-10-11 12:50:13.829608500 end msg 195408\n"},
    {"XXX5", "@400000003f87e06f3172d234 x\n",
     "2003-10-11 05:50:13.829608500 x\n"},
    /* the Unix epoch, and a label alone on its line */
    {"UTC0", "@400000000000000a00000000\n",
     "1970-01-01 00:00:00.000000000\n"},
    /* upper-case digits are read too */
    {"UTC0", "@400000003F87E06F3172D234 y\n",
     "2003-10-11 10:50:13.829608500 y\n"},
    /* a label at the end of input, without a newline */
    {"UTC0", "@400000003f87e06f3172d234", "2003-10-11 10:50:13.829608500"},
    /* two lines, the second not a label */
    {"UTC0", "@400000003f87e06f3172d234 a\nb\n",
     "2003-10-11 10:50:13.829608500 a\nb\n"},
    /* not labels: left alone */
    {"UTC0", "plain line\n", "plain line\n"},
    {"UTC0", "\n\n", "\n\n"},
    {"UTC0", "@\n", "@\n"},
    {"UTC0", "@4000\n", "@4000\n"},
    {"UTC0", "@nothex at all\n", "@nothex at all\n"},
    {"UTC0", "@400000003f87e06f3172d23 short\n",
     "@400000003f87e06f3172d23 short\n"},
    {"UTC0", "@400000003f87e06f3172d2345 long\n",
     "@400000003f87e06f3172d2345 long\n"},
    {"UTC0", " @400000003f87e06f3172d234 indented\n",
     " @400000003f87e06f3172d234 indented\n"},
    {"UTC0", "@400000003f87e06f3b9aca00 nanoseconds too big\n",
     "@400000003f87e06f3b9aca00 nanoseconds too big\n"},
    {"UTC0", "@000000003f87e06f3172d234 before 1970\n",
     "@000000003f87e06f3172d234 before 1970\n"},
    {"UTC0", "mid @400000003f87e06f3172d234\n",
     "mid @400000003f87e06f3172d234\n"},
};

static void
run(const char *in, size_t n, size_t chunk, struct bstr *out)
{
    struct mlogtai f;

    mlogtai_init(&f);
    for (size_t off = 0; off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;

        CHECK_INT(mlogtai_push(&f, in + off, k, out), 0);
    }
    CHECK_INT(mlogtai_eof(&f, out), 0);
}

static void
t_convert(void)
{
    static const size_t chunks[] = {1, 2, 25, 26, 27, 4096};

    for (size_t i = 0; i < sizeof conversions / sizeof conversions[0]; i++) {
        setenv("TZ", conversions[i].tz, 1);
        tzset();
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            struct bstr out = BSTR_INIT;

            run(conversions[i].in, strlen(conversions[i].in), chunks[c],
                &out);
            if (!CHECK(out.len == strlen(conversions[i].out) &&
                       memcmp(out.s, conversions[i].out, out.len) == 0))
                printf("    case %zu, chunk %zu: \"%.*s\"\n", i, chunks[c],
                       (int)out.len, out.s ? out.s : "");
            bstr_free(&out);
        }
    }
    setenv("TZ", "UTC0", 1);
    tzset();
}

static void
t_long_and_binary(void)
{
    /* long lines and NUL bytes pass through unchanged */
    static char in[10050];
    struct bstr out = BSTR_INIT;

    setenv("TZ", "UTC0", 1);
    tzset();
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (char)(i % 251);
    in[5000] = '\n';
    memcpy(in + 5001, "@400000003f87e06f3172d234 ", 26);
    run(in, sizeof in, 333, &out);
    CHECK_INT(out.len, sizeof in + 4); /* 29 bytes of text for 25 */
    CHECK(out.len >= 5001 && memcmp(out.s, in, 5001) == 0);
    CHECK(out.len >= 5030 &&
          memcmp(out.s + 5001, "2003-10-11 10:50:13.829608500 ", 30) == 0);
    CHECK(out.len == sizeof in + 4 &&
          memcmp(out.s + 5031, in + 5027, sizeof in - 5027) == 0);
    bstr_free(&out);
}

static void
t_local(void)
{
    struct timespec ts = {951782400, 5};
    char out[MLOGTAI_LOCAL_MAX];

    setenv("TZ", "UTC0", 1);
    tzset();
    CHECK_INT(mlogtai_local(out, &ts), 29);
    CHECK_STR(out, "2000-02-29 00:00:00.000000005");
}

static const struct test_case cases[] = {
    {"convert", t_convert},
    {"long_and_binary", t_long_and_binary},
    {"local", t_local},
};

TEST_MAIN(cases)
