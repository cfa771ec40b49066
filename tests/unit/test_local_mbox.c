/* SPDX-License-Identifier: ISC */
/*
 * test_local_mbox - ">From " quoting (a table, fed in every chunking),
 * the "From " line, and appending to an mbox file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "mbox.h"

static const struct {
    const char *in, *out;
} quote_cases[] = {
    {"", "\n"},
    {"a\n", "a\n\n"},
    {"no newline", "no newline\n\n"},
    {"From me\n", ">From me\n\n"},
    {"x\nFrom me\n", "x\n>From me\n\n"},
    {">From me\n", ">>From me\n\n"},
    {">>>From x\n", ">>>>From x\n\n"},
    {"From\n", "From\n\n"},
    {"From", "From\n\n"},
    {"Fromage\n", "Fromage\n\n"},
    {"from me\n", "from me\n\n"},
    {" From me\n", " From me\n\n"},
    {"x From y\n", "x From y\n\n"},
    {">\n>>\n", ">\n>>\n\n"},
    {">", ">\n\n"},
    {">F", ">F\n\n"},
    {"Fro", "Fro\n\n"},
    {"\n\nFrom a\nFrom b", "\n\n>From a\n>From b\n\n"},
    {"From a\r\n", ">From a\r\n\n"},
    {">From", ">From\n\n"},
    {">>From \n", ">>>From \n\n"},
    {"FFrom x\n", "FFrom x\n\n"},
    {"From From x\n", ">From From x\n\n"},
};

static void
quote_in_chunks(const char *in, size_t step, struct bstr *out)
{
    struct mbox_quoter q;
    size_t len = strlen(in);

    bstr_truncate(out, 0);
    mbox_quote_init(&q);
    for (size_t off = 0; off < len; off += step)
        CHECK(mbox_quote_push(&q, in + off,
                              len - off < step ? len - off : step, out) == 0);
    CHECK(mbox_quote_end(&q, out) == 0);
}

static void
t_quote_table(void)
{
    struct bstr out = BSTR_INIT;

    for (size_t i = 0; i < sizeof quote_cases / sizeof quote_cases[0]; i++) {
        size_t len = strlen(quote_cases[i].in);

        for (size_t step = 1; step <= len + 1; step++) {
            quote_in_chunks(quote_cases[i].in, step, &out);
            if (!CHECK(out.len == strlen(quote_cases[i].out) &&
                       memcmp(out.s, quote_cases[i].out, out.len) == 0)) {
                printf("    input \"%s\" step %zu: got \"%.*s\"\n",
                       quote_cases[i].in, step, (int)out.len, out.s);
                break;
            }
        }
    }
    bstr_free(&out);
}

static void
t_needs_quote(void)
{
    CHECK(mbox_needs_quote("From x", 6));
    CHECK(mbox_needs_quote(">>From ", 7));
    CHECK(!mbox_needs_quote("From", 4));
    CHECK(!mbox_needs_quote(">", 1));
    CHECK(!mbox_needs_quote("", 0));
    CHECK(!mbox_needs_quote("xFrom ", 6));
}

static void
t_long_gt_run(void)
{
    /* a line of a million '>' is held as a count, not in memory */
    struct mbox_quoter q;
    struct bstr out = BSTR_INIT;
    char gt[4096];

    memset(gt, '>', sizeof gt);
    mbox_quote_init(&q);
    for (int i = 0; i < 256; i++)
        CHECK(mbox_quote_push(&q, gt, sizeof gt, &out) == 0);
    CHECK_INT(out.len, 0);
    CHECK(mbox_quote_push(&q, "From \n", 6, &out) == 0);
    CHECK_INT(out.len, 256 * sizeof gt + 1 + 6);
    CHECK(mbox_quote_end(&q, &out) == 0);
    bstr_free(&out);
}

static void
t_ufline(void)
{
    struct bstr u = BSTR_INIT;

    CHECK(mbox_ufline(&u, "joe@example.com", 0) == 0);
    CHECK_BSTR(u, "From joe@example.com Thu Jan  1 00:00:00 1970\n");
    CHECK(mbox_ufline(&u, "", 1700000000) == 0);
    CHECK_BSTR(u, "From MAILER-DAEMON Tue Nov 14 22:13:20 2023\n");
    CHECK(mbox_ufline(&u, "a b\tc\nd@x", 0) == 0);
    CHECK_BSTR(u, "From a-b-c-d@x Thu Jan  1 00:00:00 1970\n");
    bstr_free(&u);
}

static void
t_append(void)
{
    struct bstr path = BSTR_INIT, msg = BSTR_INIT, err = BSTR_INIT;
    struct iovec head[2];
    char buf[512];
    ssize_t n;
    int fd;

    CHECK(bstr_catf(&path, "%s/box", harness_tmpdir()) == 0);
    CHECK(bstr_catf(&msg, "%s/msg", harness_tmpdir()) == 0);
    fd = open(msg.s, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd != -1);
    CHECK(write(fd, "Subject: s\n\nFrom here\nend", 25) == 25);
    head[0].iov_base = (void *)"From a@b x\n";
    head[0].iov_len = 11;
    head[1].iov_base = (void *)"Return-Path: <a@b>\n";
    head[1].iov_len = 19;
    for (int i = 0; i < 2; i++) {
        CHECK(lseek(fd, 0, SEEK_SET) == 0);
        CHECK_INT(mbox_append(path.s, head, 2, fd, &err), 0);
    }
    close(fd);
    fd = open(path.s, O_RDONLY);
    n = read(fd, buf, sizeof buf);
    close(fd);
    CHECK_INT(n, 2 * 58);
    CHECK(n == 116 && memcmp(buf,
                             "From a@b x\nReturn-Path: <a@b>\nSubject: s\n\n"
                             ">From here\nend\n\n"
                             "From a@b x\nReturn-Path: <a@b>\nSubject: s\n\n"
                             ">From here\nend\n\n",
                             116) == 0);
    /* the dot-lock is gone afterwards */
    CHECK(bstr_cats(&path, ".lock") == 0);
    CHECK(access(path.s, F_OK) == -1);
    bstr_free(&path);
    bstr_free(&msg);
    bstr_free(&err);
}

static void
t_append_unwritable(void)
{
    struct bstr err = BSTR_INIT, path = BSTR_INIT;
    struct iovec head[1] = {{(void *)"x\n", 2}};

    CHECK(bstr_catf(&path, "%s/nodir/box", harness_tmpdir()) == 0);
    CHECK_INT(mbox_append(path.s, head, 1, 0, &err), -1);
    CHECK(bstr_catc(&err, '\0') == 0);
    CHECK(strstr(err.s, "Unable to open") != NULL);
    CHECK(strstr(err.s, "(#4.2.1)") != NULL);
    bstr_free(&err);
    bstr_free(&path);
}

static const struct test_case cases[] = {
    {"quoting table in every chunking", t_quote_table},
    {"needs quote", t_needs_quote},
    {"a long run of '>'", t_long_gt_run},
    {"From_ line", t_ufline},
    {"append twice", t_append},
    {"append where nothing can be made", t_append_unwritable},
};

TEST_MAIN(cases)
