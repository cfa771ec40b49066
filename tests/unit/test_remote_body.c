/* SPDX-License-Identifier: ISC */
/*
 * test_remote_body - the DATA encoder: LF to CRLF, dot-stuffing, a
 * missing last newline, CRs alone or before LF (never a lone CR or LF on
 * the wire), 8-bit detection, the size to announce, input split at every
 * byte, and body_scan on a file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "body.h"
#include "harness.h"

static const struct {
    const char *in;
    const char *wire;
    bool eightbit;
} tab[] = {
    {"", ".\r\n", false},
    {"a\n", "a\r\n.\r\n", false},
    {"a", "a\r\n.\r\n", false},
    {"a\nb\n", "a\r\nb\r\n.\r\n", false},
    {".\n", "..\r\n.\r\n", false},
    {"..x\n.\n", "...x\r\n..\r\n.\r\n", false},
    {"a.\n.b", "a.\r\n..b\r\n.\r\n", false},
    {"\n.\n", "\r\n..\r\n.\r\n", false},
    {"a\r\nb\r\n", "a\r\nb\r\n.\r\n", false},
    {"a\rb\n", "a\r\nb\r\n.\r\n", false},
    {"a\r\r\nb", "a\r\n\r\nb\r\n.\r\n", false},
    {"x\r.\r\n", "x\r\n..\r\n.\r\n", false},
    {"x\n.\r\ny\n", "x\r\n..\r\ny\r\n.\r\n", false},
    {"x\r\n.\ny", "x\r\n..\r\ny\r\n.\r\n", false},
    {"end\r", "end\r\n.\r\n", false},
    {"caf\xc3\xa9\n", "caf\xc3\xa9\r\n.\r\n", true},
    {"\x80", "\x80\r\n.\r\n", true},
};

/* no CR without LF after it, no LF without CR before it */
static bool
clean(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (w[i] == '\r' && (i + 1 == n || w[i + 1] != '\n'))
            return false;
        if (w[i] == '\n' && (i == 0 || w[i - 1] != '\r'))
            return false;
    }
    return true;
}

/* size - what RFC 1870 counts: the wire minus stuffing dots and ".\r\n" */
static unsigned long long
size_of(const char *w, size_t n)
{
    unsigned long long s = n - 3;

    for (size_t i = 0; i + 3 < n; i++)
        if (w[i] == '.' && (i == 0 || w[i - 1] == '\n'))
            s--;
    return s;
}

static void
t_table(void)
{
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        const char *in = tab[i].in;
        struct body_enc e, c;
        struct bstr out = BSTR_INIT;
        bool ok;

        body_init(&e);
        body_init(&c);
        ok = CHECK(body_push(&e, in, strlen(in), &out) == 0) &&
             CHECK(body_end(&e, &out) == 0) && CHECK_BSTR(out, tab[i].wire) &&
             CHECK(clean(out.s, out.len)) &&
             CHECK_INT(e.eightbit, tab[i].eightbit) &&
             CHECK_INT(e.size, size_of(out.s, out.len));
        /* counting alone gives the same size */
        ok = ok && CHECK(body_push(&c, in, strlen(in), NULL) == 0) &&
             CHECK(body_end(&c, NULL) == 0) && CHECK_INT(c.size, e.size);
        if (!ok)
            CHECK_STR(in, "(the input above)");
        bstr_free(&out);
    }
}

/* any split into two pushes gives the same wire bytes */
static void
t_split(void)
{
    static const char in[] = ".a\r\n.\r.\nb\r\r\n..\n\r";
    size_t len = sizeof in - 1;
    struct bstr want = BSTR_INIT, out = BSTR_INIT;
    struct body_enc e;

    body_init(&e);
    CHECK(body_push(&e, in, len, &want) == 0);
    CHECK(body_end(&e, &want) == 0);
    CHECK(clean(want.s, want.len));
    for (size_t cut = 0; cut <= len; cut++) {
        bstr_truncate(&out, 0);
        body_init(&e);
        CHECK(body_push(&e, in, cut, &out) == 0);
        CHECK(body_push(&e, in + cut, len - cut, &out) == 0);
        CHECK(body_end(&e, &out) == 0);
        if (!CHECK_INT(out.len, want.len) ||
            !CHECK(memcmp(out.s, want.s, out.len) == 0))
            CHECK_INT(cut, -1);
    }
    bstr_free(&want);
    bstr_free(&out);
}

/* every byte pattern of CR, LF, '.', 'x' up to 6 bytes stays clean */
static void
t_exhaustive(void)
{
    static const char alpha[] = "\r\n.x";
    char in[6];
    struct bstr out = BSTR_INIT;
    size_t bad = 0;

    for (size_t len = 0; len <= sizeof in; len++) {
        size_t total = 1;

        for (size_t i = 0; i < len; i++)
            total *= 4;
        for (size_t k = 0; k < total; k++) {
            struct body_enc e;
            size_t v = k;

            for (size_t i = 0; i < len; i++, v /= 4)
                in[i] = alpha[v % 4];
            bstr_truncate(&out, 0);
            body_init(&e);
            if (body_push(&e, in, len, &out) == -1 ||
                body_end(&e, &out) == -1 || !clean(out.s, out.len) ||
                out.len < 3 || memcmp(out.s + out.len - 3, ".\r\n", 3) ||
                (out.len > 3 && memcmp(out.s + out.len - 5, "\r\n", 2)))
                bad++;
            /* the end of data appears exactly once, at the end */
            for (size_t i = 0; i + 5 <= out.len; i++)
                if (memcmp(out.s + i, "\r\n.\r\n", 5) == 0 &&
                    i + 5 != out.len)
                    bad++;
            if (out.len > 3 && memcmp(out.s, ".\r\n", 3) == 0)
                bad++;
        }
    }
    CHECK_INT(bad, 0);
    bstr_free(&out);
}

static void
t_scan(void)
{
    char p[512];
    unsigned long long size = 0;
    bool eight = true;
    int fd;
    static char big[200000];

    snprintf(p, sizeof p, "%s/msg", harness_tmpdir());
    fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    memset(big, 'a', sizeof big);
    for (size_t i = 99; i < sizeof big; i += 100)
        big[i] = '\n';
    big[500] = '.'; /* after a newline at 499: stuffed, not counted */
    CHECK(write(fd, big, sizeof big) == (ssize_t)sizeof big);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(body_scan(fd, &size, &eight) == 0);
    CHECK_INT(size, sizeof big + sizeof big / 100);
    CHECK(!eight);
    close(fd);
    CHECK(body_scan(fd, &size, &eight) == -1);
}

static const struct test_case cases[] = {
    {"table", t_table},
    {"split at every byte", t_split},
    {"no lone CR or LF, one end of data", t_exhaustive},
    {"scanning a file", t_scan},
};

TEST_MAIN(cases)
