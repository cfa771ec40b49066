/* SPDX-License-Identifier: ISC */
/*
 * test_mlog - multilog's script parser, its patterns (daemontools'
 * semantics, quirks included), the line reader, and the rotation
 * arithmetic: when current is full, archive names, how many go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mlog.h"

static const struct {
    const char *pattern;
    const char *line;
    bool match;
} patterns[] = {
    /* the examples of the daemontools documentation */
    {"hello", "hello", true},
    {"hello", "hello world", false},
    {"named[*]: Cleaned cache *", "named[135]: Cleaned cache of 3121 RRs.",
     true},
    {"*", "", true},
    {"*", "anything at all", true},
    {"STAT*", "STATUS ok", true},
    {"STAT*", "xSTAT", false},
    {"* fatal: *", "@400000003b4a39c23294b13c fatal: out of memory", true},
    {"* fatal: *", "fatal: out of memory", false},
    /* empty pattern and empty line */
    {"", "", true},
    {"", "x", false},
    {"x", "", false},
    {"*x", "", false},
    {"a*", "", false},
    {"a*", "a", true},
    /* a star stops at the first occurrence of the next character */
    {"*b", "ab", true},
    {"*b", "abab", false},
    {"*c", "abc", true},
    {"*c", "abcd", false},
    {"*:*", "a:b:c", true},
    {"*:c", "a:b:c", false},
    {"a*b*c", "axxbyyc", true},
    {"a*b*c", "axxbyycz", false},
    /* a star followed by a star looks for a literal star */
    {"**", "a*b", true},
    {"**", "ab", false},
    /* no character is special but the star */
    {"a?c", "abc", false},
    {"a?c", "a?c", true},
    {"[x]", "[x]", true},
    {"delivery *: success: *", "delivery 3534823: success: did_0+0+1/",
     true},
    {"delivery *: success: *", "delivery 3534821: deferral: Sorry", false},
};

static void
t_match(void)
{
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        bool got = mlog_match(patterns[i].pattern, patterns[i].line,
                              strlen(patterns[i].line));

        if (!CHECK(got == patterns[i].match))
            printf("    pattern \"%s\" line \"%s\"\n", patterns[i].pattern,
                   patterns[i].line);
    }
}

static void
t_match_binary(void)
{
    /* lines may hold NUL bytes; the length is what counts */
    CHECK(mlog_match("a*c", "a\0bc", 4));
    CHECK(!mlog_match("a", "a\0", 2));
    CHECK(mlog_match("*", "\0\0\0", 3));
}

static const struct {
    const char *args; /* space-separated */
    bool ok;
    bool timestamp;
    size_t ndir;
    unsigned long size, num; /* of the last directory */
    const char *msg;         /* the error, or the first warning */
} scripts[] = {
    {"t ./main", true, true, 1, 99999, 10, ""},
    {"./main", true, false, 1, 99999, 10, ""},
    {"t s1000000 n100 ./main", true, true, 1, 1000000, 100, ""},
    {"s100 ./a", true, false, 1, 4096, 10, "s100: size out of range"},
    {"s99999999 ./a", true, false, 1, 16777215, 10, "s99999999: size out"},
    {"n1 ./a", true, false, 1, 99999, 2, "n1: count below 2"},
    {"n0 ./a", true, false, 1, 99999, 2, "n0: count below 2"},
    {"./a s5000 n3 /abs/b", true, false, 2, 5000, 3, ""},
    {"e -* +x* =st e", true, false, 0, 0, 0, ""},
    {"- + ./a", true, false, 1, 99999, 10, ""},
    {"s4096 t ./a", true, false, 1, 4096, 10, "t is not the first"},
    {"!gzip ./a", true, false, 1, 99999, 10, ""},
    {"", false, false, 0, 0, 0, "empty script"},
    {"x ./a", false, false, 0, 0, 0, "unknown action: x"},
    {"T ./a", false, false, 0, 0, 0, "unknown action: T"},
    {"tt ./a", false, false, 0, 0, 0, "unknown action: tt"},
    {"ex ./a", false, false, 0, 0, 0, "unknown action: ex"},
    {"s ./a", false, false, 0, 0, 0, "size is not a number: s"},
    {"s10k ./a", false, false, 0, 0, 0, "size is not a number: s10k"},
    {"s99999999999999999999999 ./a", false, false, 0, 0, 0,
     "size is not a number"},
    {"n ./a", false, false, 0, 0, 0, "count is not a number: n"},
    {"n-3 ./a", false, false, 0, 0, 0, "count is not a number"},
    {"= ./a", false, false, 0, 0, 0, "status action without a file name"},
    {"! ./a", false, false, 0, 0, 0, "processor action without a command"},
};

/* split - argv from a space-separated string, in buf. */
static size_t
split(const char *args, char *buf, size_t size, char **argv, size_t max)
{
    size_t n = 0;

    snprintf(buf, size, "%s", args);
    for (char *p = strtok(buf, " "); p && n < max; p = strtok(NULL, " "))
        argv[n++] = p;
    return n;
}

static void
t_script_parse(void)
{
    for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
        struct mlog_script s;
        struct bstr msg = BSTR_INIT;
        char buf[256], *argv[16];
        size_t argc = split(scripts[i].args, buf, sizeof buf, argv, 16);
        int r = mlog_script_parse(&s, argv, argc, &msg);
        bool ok = true;

        ok &= CHECK_INT(r, scripts[i].ok ? 0 : -1);
        ok &= CHECK(strncmp(msg.s ? msg.s : "", scripts[i].msg,
                            strlen(scripts[i].msg)) == 0);
        if (!scripts[i].msg[0])
            ok &= CHECK_INT(msg.len, 0);
        if (r == 0) {
            ok &= CHECK_INT(s.timestamp, scripts[i].timestamp);
            ok &= CHECK_INT(s.ndir, scripts[i].ndir);
            ok &= CHECK_INT(s.nact, argc);
            if (s.ndir) {
                ok &= CHECK_INT(s.dir[s.ndir - 1].size, scripts[i].size);
                ok &= CHECK_INT(s.dir[s.ndir - 1].num, scripts[i].num);
            }
        }
        if (!ok)
            printf("    script \"%s\": msg \"%s\"\n", scripts[i].args,
                   msg.s ? msg.s : "");
        mlog_script_free(&s);
        bstr_free(&msg);
    }
}

static void
t_script_dirs(void)
{
    char buf[128], *argv[16];
    size_t argc = split("s5000 !gzip ./a n4 s6000 ./b =st =st2 /c", buf,
                        sizeof buf, argv, 16);
    struct mlog_script s;
    struct bstr msg = BSTR_INIT;

    CHECK_INT(argc, 9);
    CHECK_INT(mlog_script_parse(&s, argv, argc, &msg), 0);
    CHECK_INT(s.ndir, 3);
    CHECK_INT(s.nstatus, 2);
    CHECK_STR(s.dir[0].path, "./a");
    CHECK_INT(s.dir[0].size, 5000);
    CHECK_INT(s.dir[0].num, 10);
    CHECK_STR(s.dir[0].processor, "gzip");
    /* settings carry over to later directories until changed */
    CHECK_STR(s.dir[1].path, "./b");
    CHECK_INT(s.dir[1].size, 6000);
    CHECK_INT(s.dir[1].num, 4);
    CHECK_STR(s.dir[1].processor, "gzip");
    CHECK_STR(s.dir[2].path, "/c");
    CHECK_INT(s.act[2].kind, MLOG_DIR);
    CHECK_INT(s.act[2].index, 0);
    CHECK_INT(s.act[8].index, 2);
    CHECK_INT(s.act[6].kind, MLOG_STATUS);
    CHECK_STR(s.act[6].arg, "st");
    CHECK_INT(s.act[7].index, 1);
    mlog_script_free(&s);
    bstr_free(&msg);
}

static const struct {
    const char *args;
    const char *line;
    const char *sel; /* selection at each action: '1' or '0' */
} selections[] = {
    {"./a", "anything", "1"},
    {"-* ./a", "anything", "00"},
    {"-* +STAT* =s ./a", "STATUS", "0111"},
    {"-* +STAT* =s ./a", "other", "0000"},
    {"-x* ./a +x* ./b", "xyz", "0011"},
    {"-x* ./a +x* ./b", "abc", "1111"},
    /* + only selects, - only deselects */
    {"+nomatch ./a", "line", "11"},
    {"-nomatch ./a", "line", "11"},
    {"e -* e +l* e", "line", "10011"},
};

static void
t_script_select(void)
{
    for (size_t i = 0; i < sizeof selections / sizeof selections[0]; i++) {
        struct mlog_script s;
        struct bstr msg = BSTR_INIT;
        char buf[256], *argv[16], got[17] = {0};
        bool sel[16];
        size_t argc = split(selections[i].args, buf, sizeof buf, argv, 16);

        if (!CHECK_INT(mlog_script_parse(&s, argv, argc, &msg), 0))
            continue;
        mlog_script_select(&s, selections[i].line,
                           strlen(selections[i].line), sel);
        for (size_t k = 0; k < argc; k++)
            got[k] = sel[k] ? '1' : '0';
        if (!CHECK_STR(got, selections[i].sel))
            printf("    script \"%s\"\n", selections[i].args);
        mlog_script_free(&s);
        bstr_free(&msg);
    }
}

static void
t_select_first_1000(void)
{
    /* only the first 1000 bytes are judged */
    char buf[32], *argv[4], line[1500];
    size_t argc = split("-*x ./a", buf, sizeof buf, argv, 4);
    struct mlog_script s;
    struct bstr msg = BSTR_INIT;
    bool sel[2];

    memset(line, 'a', sizeof line);
    line[1200] = 'x';
    CHECK_INT(mlog_script_parse(&s, argv, argc, &msg), 0);
    mlog_script_select(&s, line, sizeof line, sel);
    CHECK(sel[1]); /* the x is past byte 1000: unseen */
    line[999] = 'x';
    mlog_script_select(&s, line, sizeof line, sel);
    CHECK(!sel[1]); /* "*x" ends the line at byte 1000 */
    line[999] = 'a';
    line[998] = 'x';
    mlog_script_select(&s, line, sizeof line, sel);
    CHECK(sel[1]); /* and not at 999 */
    mlog_script_free(&s);
    bstr_free(&msg);
}

/* replay - run input through a reader in chunks of k bytes; return what
 * the directories would get (heads and tails, newline when a line ends). */
static void
replay(const char *in, size_t n, size_t k, bool ts, struct bstr *out,
       size_t *lines)
{
    struct mlog_reader r;
    struct mlog_event ev;
    struct timespec now = {1065869403, 829608500};

    mlog_reader_init(&r, ts);
    *lines = 0;
    for (size_t off = 0; off < n;) {
        size_t len = n - off < k ? n - off : k;
        const char *p = in + off;

        off += len;
        for (;;) {
            size_t used = mlog_reader_push(&r, p, len, &now, &ev);

            p += used;
            len -= used;
            if (ev.type == MLOG_EV_MORE)
                break;
            if (ev.type == MLOG_EV_LINE)
                ++*lines;
            if (bstr_catb(out, ev.p, ev.len) == -1 ||
                (ev.end && bstr_catc(out, '\n') == -1))
                return;
        }
        if (!CHECK_INT(len, 0))
            return;
    }
    if (mlog_reader_eof(&r, &ev)) {
        if (ev.type == MLOG_EV_LINE)
            ++*lines;
        if (bstr_catb(out, ev.p, ev.len) == -1 ||
            (ev.end && bstr_catc(out, '\n') == -1))
            return;
    }
    CHECK(!mlog_reader_midline(&r));
}

static void
t_reader_roundtrip(void)
{
    static const size_t chunks[] = {1, 2, 3, 7, 999, 1000, 1001, 4096};
    struct bstr in = BSTR_INIT, want = BSTR_INIT;

    /* short lines, an empty line, a 1000-byte line, a 1001-byte line,
     * a 5000-byte line, and a final line without its newline */
    CHECK(bstr_cats(&in, "one\n\ntwo\n") == 0);
    for (size_t len = 999; len <= 1002; len++) {
        for (size_t i = 0; i < len; i++)
            CHECK(bstr_catc(&in, (char)('a' + i % 26)) == 0);
        CHECK(bstr_catc(&in, '\n') == 0);
    }
    for (size_t i = 0; i < 5000; i++)
        CHECK(bstr_catc(&in, (char)('0' + i % 10)) == 0);
    CHECK(bstr_cats(&in, "\nlast") == 0);
    CHECK(bstr_copy(&want, &in) == 0);
    CHECK(bstr_catc(&want, '\n') == 0);
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        struct bstr out = BSTR_INIT;
        size_t lines;

        replay(in.s, in.len, chunks[c], false, &out, &lines);
        if (!CHECK(out.len == want.len &&
                   memcmp(out.s, want.s, want.len) == 0))
            printf("    chunk size %zu\n", chunks[c]);
        CHECK_INT(lines, 9);
        bstr_free(&out);
    }
    bstr_free(&in);
    bstr_free(&want);
}

static void
t_reader_events(void)
{
    struct mlog_reader r;
    struct mlog_event ev;
    struct timespec now = {0x3f87e06f - 10, 0x3172d234};
    char big[1500];
    size_t used;

    /* a timestamp goes in front of each line, empty lines too */
    mlog_reader_init(&r, true);
    used = mlog_reader_push(&r, "hi\n\n", 4, &now, &ev);
    CHECK_INT(used, 3);
    CHECK_INT(ev.type, MLOG_EV_LINE);
    CHECK(ev.end);
    CHECK(harness_check_mem(ev.p, ev.len, "@400000003f87e06f3172d234 hi", 28,
                            "head", __FILE__, __LINE__));
    used = mlog_reader_push(&r, "\n", 1, &now, &ev);
    CHECK_INT(used, 1);
    CHECK(harness_check_mem(ev.p, ev.len, "@400000003f87e06f3172d234 ", 26,
                            "empty", __FILE__, __LINE__));
    /* a long line: 1000 bytes of head (stamp included), then the tail */
    memset(big, 'x', sizeof big);
    big[1499] = '\n';
    used = mlog_reader_push(&r, big, sizeof big, &now, &ev);
    CHECK_INT(used, 1000 - 26);
    CHECK_INT(ev.type, MLOG_EV_LINE);
    CHECK_INT(ev.len, 1000);
    CHECK(!ev.end);
    CHECK(mlog_reader_midline(&r));
    used = mlog_reader_push(&r, big + 974, sizeof big - 974, &now, &ev);
    CHECK_INT(ev.type, MLOG_EV_TAIL);
    CHECK_INT(ev.len, 1500 - 974 - 1);
    CHECK(ev.end);
    CHECK_INT(used, 1500 - 974);
    CHECK(!mlog_reader_midline(&r));
    /* nothing pushed, nothing happens; end of input at a line start */
    CHECK_INT(mlog_reader_push(&r, "", 0, &now, &ev), 0);
    CHECK_INT(ev.type, MLOG_EV_MORE);
    CHECK(!mlog_reader_eof(&r, &ev));
    /* a partial last line is finished with a newline */
    used = mlog_reader_push(&r, "part", 4, &now, &ev);
    CHECK_INT(used, 4);
    CHECK_INT(ev.type, MLOG_EV_MORE);
    CHECK(mlog_reader_midline(&r));
    CHECK(mlog_reader_eof(&r, &ev));
    CHECK_INT(ev.type, MLOG_EV_LINE);
    CHECK(ev.end);
    CHECK_INT(ev.len, 30);
}

static const struct {
    unsigned long bytes, size;
    const char *buf;
    size_t want;
} chunks[] = {
    /* far from full: everything */
    {0, 10000, "aaa\nbbb\nccc", 11},
    /* within 2000 bytes of full: up to the last newline */
    {8000, 10000, "aaa\nbbb\nccc", 8},
    {7990, 10000, "aaa\nbbb\nccc", 8},
    {7989, 10000, "aaa\nbbb\nccc", 8},
    {7988, 10000, "aaa\nbbb\nccc", 11},
    /* no newline at all: up to the size, not past it */
    {9995, 10000, "abcdefghij", 5},
    {9995, 10000, "ab\ncdefghij", 3},
    {10000, 10000, "abc", 0},
};

static void
t_chunk_full(void)
{
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
        if (!CHECK_INT(mlog_chunk(chunks[i].bytes, chunks[i].size,
                                  chunks[i].buf, strlen(chunks[i].buf)),
                       chunks[i].want))
            printf("    case %zu\n", i);
    CHECK(!mlog_full(7999, 10000, '\n'));
    CHECK(mlog_full(8000, 10000, '\n'));
    CHECK(!mlog_full(8000, 10000, 'x'));
    CHECK(!mlog_full(9999, 10000, 'x'));
    CHECK(mlog_full(10000, 10000, 'x'));
}

static void
t_archive_names(void)
{
    struct timespec ts = {0x3f87e06f - 10, 0x3172d234};
    char name[MLOG_ARCHIVE_LEN + 1];
    char n0[] = "@400000003f87e0741c7b34d4.s";
    char n1[] = "@400000003f87e06f3172d234.u";
    char n2[] = "@400000003f87e07005d90c24.s";
    char *names[] = {n0, n1, n2};

    mlog_archive_name(name, &ts, 's');
    CHECK_STR(name, "@400000003f87e06f3172d234.s");
    CHECK(mlog_is_archive(name));
    CHECK(mlog_is_archive("@400000003f87e06f3172d234"));
    CHECK(!mlog_is_archive("@400000003f87e06f3172d23"));
    CHECK(!mlog_is_archive("current"));
    CHECK(!mlog_is_archive("lock"));
    CHECK(!mlog_is_archive(""));
    mlog_sort_names(names, 3);
    CHECK_STR(names[0], "@400000003f87e06f3172d234.u");
    CHECK_STR(names[2], "@400000003f87e0741c7b34d4.s");
}

static const struct {
    size_t archives;
    unsigned long num;
    size_t remove;
} prunes[] = {
    {0, 10, 0}, {8, 10, 0}, {9, 10, 0}, {10, 10, 1},
    {12, 10, 3}, {1, 2, 0}, {2, 2, 1}, {5, 2, 4},
    /* a count below 2 never comes from a script; still no overrun */
    {0, 0, 0}, {3, 0, 3}, {3, 1, 3},
};

static void
t_prune_count(void)
{
    for (size_t i = 0; i < sizeof prunes / sizeof prunes[0]; i++)
        CHECK_INT(mlog_prune_count(prunes[i].archives, prunes[i].num),
                  prunes[i].remove);
}

static void
t_status_alert(void)
{
    char st[MLOG_STATUS_LEN], al[MLOG_ALERT_MAX + 4], line[1200];
    size_t n;

    mlog_status_fill(st, "abc", 3);
    CHECK(memcmp(st, "abc\n\n", 5) == 0);
    CHECK(st[1000] == '\n');
    memset(line, 'z', sizeof line);
    mlog_status_fill(st, line, sizeof line);
    CHECK(st[999] == 'z');
    CHECK(st[1000] == '\n');
    n = mlog_alert_fill(al, "short", 5);
    CHECK(harness_check_mem(al, n, "short\n", 6, "alert", __FILE__,
                            __LINE__));
    n = mlog_alert_fill(al, line, 201);
    CHECK_INT(n, 204);
    CHECK(memcmp(al + 199, "z...\n", 5) == 0);
    n = mlog_alert_fill(al, line, 200);
    CHECK_INT(n, 201);
}

static const struct test_case cases[] = {
    {"match", t_match},
    {"match_binary", t_match_binary},
    {"script_parse", t_script_parse},
    {"script_dirs", t_script_dirs},
    {"script_select", t_script_select},
    {"select_first_1000", t_select_first_1000},
    {"reader_roundtrip", t_reader_roundtrip},
    {"reader_events", t_reader_events},
    {"chunk_full", t_chunk_full},
    {"archive_names", t_archive_names},
    {"prune_count", t_prune_count},
    {"status_alert", t_status_alert},
};

TEST_MAIN(cases)
