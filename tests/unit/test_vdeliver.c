/* SPDX-License-Identifier: ISC */
/*
 * test_vdeliver - vdelivermail's logic without a qmail instance: the
 * outcomes table (codes agree with the exit codes; vpopmail's no-mailbox
 * text word for word), the names refused before any lookup, the
 * .qmail-default instruction, .qmail lines, paths confined to the
 * domains, Delivered-To loop detection in a message's header, the
 * Return-Path line, and the Maildir side: messages named with ",S=",
 * maildirsize recalculated from a Maildir as Courier counts it (folders,
 * not .Trash, not T-flagged, sizes from names else stat), when it is
 * missing, damaged, stale or written for another quota, the limit exactly
 * reached, appends, and the quota warning's text and flag.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "readfile.h"
#include "vdeliver.h"
#include "writeall.h"

#define S(lit) lit, sizeof(lit) - 1

static void
t_outcomes(void)
{
    for (int r = 0; r < VR_COUNT; r++) {
        const struct vdel_outcome *o = vdel_outcome((enum vdel_reason)r);

        if (!CHECK_INT(o->reason, r))
            continue;
        CHECK(o->text && *o->text);
        switch (o->code) {
        case 0:
        case 99:
            CHECK(o->esc == NULL);
            break;
        case 100:
            CHECK(o->esc && o->esc[0] == '5' && o->esc[1] == '.');
            break;
        case 111:
            CHECK(o->esc && o->esc[0] == '4' && o->esc[1] == '.');
            break;
        default:
            CHECK_INT(o->code, -1);
        }
    }
    CHECK_STR(vdel_outcome(VR_NOMAILBOX)->text,
              "Sorry, no mailbox here by that name.");
    CHECK_STR(vdel_outcome(VR_NOMAILBOX)->esc, "5.1.1");
    CHECK_STR(vdel_outcome(VR_LOOP)->esc, "5.4.6");
    CHECK_STR(vdel_outcome(VR_QUOTA_TEMP)->text, "user is over quota");
    CHECK_STR(vdel_outcome(VR_QUOTA_TEMP)->esc, "4.2.2");
    CHECK_STR(vdel_outcome(VR_QUOTA_PERM)->esc, "5.2.2");
    CHECK_INT(vdel_outcome(VR_STORE)->code, 111); /* never a bounce */
}

static void
t_names(void)
{
    static const struct {
        const char *s;
        size_t len;
        bool ok;
    } tab[] = {
        {S("joe"), true},     {S("Joe.Smith"), true}, {S("joe-ext-more"), true},
        {S("a.b"), true},     {S(".qmail"), true}, /* looked up in the cdb,
                                                      never a file name */
        {S(""), false},       {S("../etc"), false},   {S("a..b"), false},
        {S(".."), false},     {S("a/b"), false},      {S("/"), false},
        {S("joe\n"), false},  {S("jo\0e"), false},    {S("jo\x1b[2Je"), false},
        {S("jo\x7f"), false}, {S("dom.com"), true},
    };
    char big[VDEL_NAME_MAX + 2];

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!CHECK_INT(vdel_name_ok(tab[i].s, tab[i].len), tab[i].ok))
            CHECK_STR(tab[i].s, "(the name above)");
    memset(big, 'a', sizeof big);
    CHECK(vdel_name_ok(big, VDEL_NAME_MAX));
    CHECK(!vdel_name_ok(big, VDEL_NAME_MAX + 1));
}

static void
t_catchall(void)
{
    static const struct {
        const char *s;
        enum vdel_catch kind;
        const char *arg;
    } tab[] = {
        {"bounce-no-mailbox", VDEL_C_BOUNCE, ""},
        {"delete", VDEL_C_DELETE, ""},
        {"postmaster@other.test", VDEL_C_FORWARD, "postmaster@other.test"},
        {"&box@other.test", VDEL_C_FORWARD, "box@other.test"},
        {"/home/vpopmail/domains/dom.test/postmaster", VDEL_C_DIR,
         "/home/vpopmail/domains/dom.test/postmaster"},
        {"/home/vpopmail/domains/dom.test/postmaster/Maildir/", VDEL_C_DIR,
         "/home/vpopmail/domains/dom.test/postmaster/Maildir"},
        {"/", VDEL_C_BAD, ""},
        {"/a/../b", VDEL_C_BAD, ""},
        {"/a/\nb", VDEL_C_BAD, ""},
        {"Delete", VDEL_C_BAD, ""}, /* vpopmail's words are exact */
        {"bounce", VDEL_C_BAD, ""},
        {"", VDEL_C_BAD, ""},
        {"postmaster", VDEL_C_BAD, ""},
        {"a b@c.test", VDEL_C_BAD, ""},
        {"@c.test", VDEL_C_BAD, ""},
        {"a@", VDEL_C_BAD, ""},
        {"a@bad_domain!", VDEL_C_BAD, ""},
        {"./Maildir/", VDEL_C_BAD, ""},
    };
    struct bstr arg = BSTR_INIT;

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        enum vdel_catch k;

        CHECK_INT(vdel_catchall_parse(tab[i].s, strlen(tab[i].s), &k, &arg), 0);
        if (!CHECK_INT(k, tab[i].kind) || !CHECK_BSTR(arg, tab[i].arg))
            CHECK_STR(tab[i].s, "(the instruction above)");
    }
    bstr_free(&arg);
}

static void
t_lines(void)
{
    static const struct {
        const char *line;
        enum vdel_line_kind kind;
        const char *arg;
    } tab[] = {
        {"", VDEL_L_BLANK, ""},
        {"  \t\r", VDEL_L_BLANK, ""},
        {"# delete", VDEL_L_COMMENT, NULL},
        {"./Maildir/", VDEL_L_MAILDIR, "./Maildir/"},
        {"./Maildir/\r", VDEL_L_MAILDIR, "./Maildir/"},
        {"/home/vpopmail/domains/d.test/joe/Maildir/", VDEL_L_MAILDIR,
         "/home/vpopmail/domains/d.test/joe/Maildir/"},
        {"./Mailbox", VDEL_L_MBOX, "./Mailbox"},
        {"../other/Maildir/", VDEL_L_BAD, NULL},
        {"./a/../../b/", VDEL_L_BAD, NULL},
        {"./..", VDEL_L_BAD, NULL},
        {"./..x/", VDEL_L_MAILDIR, "./..x/"}, /* a name, not ".." */
        {"| /usr/bin/autorespond 86400 3 msg .", VDEL_L_PROGRAM,
         "/usr/bin/autorespond 86400 3 msg ."},
        {"|", VDEL_L_BAD, NULL},
        {"|   ", VDEL_L_BAD, NULL},
        {"&joe@other.test", VDEL_L_FORWARD, "joe@other.test"},
        {"joe@other.test", VDEL_L_FORWARD, "joe@other.test"},
        {"joe@other.test  ", VDEL_L_FORWARD, "joe@other.test"},
        {"&joe", VDEL_L_BAD, NULL},
        {"joe smith@other.test", VDEL_L_BAD, NULL},
        {"&", VDEL_L_BAD, NULL},
        {"<joe@other.test>", VDEL_L_BAD, NULL},
    };
    struct vdel_line l;

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        vdel_line_parse(tab[i].line, strlen(tab[i].line), &l);
        if (!CHECK_INT(l.kind, tab[i].kind))
            CHECK_STR(tab[i].line, "(the line above)");
        if (tab[i].arg &&
            !harness_check_mem(l.arg, l.len, tab[i].arg, strlen(tab[i].arg),
                               "arg", __FILE__, __LINE__))
            CHECK_STR(tab[i].line, "(the line above)");
        if (l.kind == VDEL_L_BAD)
            CHECK(l.why != NULL);
    }
    vdel_line_parse(S("|cmd\0x"), &l);
    CHECK_INT(l.kind, VDEL_L_BAD);
}

static void
t_paths(void)
{
    static const struct {
        const char *base, *path, *confine, *want;
        int err;
    } tab[] = {
        {"/v/domains/d.test/joe", "./Maildir/", "/v/domains",
         "/v/domains/d.test/joe/Maildir", 0},
        {"/v/domains/d.test/joe/", ".//Maildir/./", "/v/domains/",
         "/v/domains/d.test/joe/Maildir", 0},
        {"/v/domains/d.test/joe", "/v/domains/d.test/ann/Maildir/",
         "/v/domains", "/v/domains/d.test/ann/Maildir", 0},
        {"/v/domains/d.test/joe", "/etc/Maildir/", "/v/domains", NULL, EACCES},
        {"/v/domains/d.test/joe", "/v/domainsX/Maildir/", "/v/domains", NULL,
         EACCES},
        {"/v/domains/d.test/joe", "/v/domains/", "/v/domains", NULL, EACCES},
        {"/v/domains/d.test/joe", "./../../x/", "/v/domains", NULL, EINVAL},
        {"relative", "./Maildir/", NULL, NULL, EINVAL},
        {"/v/domains/d.test/joe", "/anywhere/Maildir/", NULL,
         "/anywhere/Maildir", 0},
    };
    struct bstr out = BSTR_INIT;

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        int r = vdel_path_resolve(tab[i].base, tab[i].path, strlen(tab[i].path),
                                  tab[i].confine, &out);

        if (tab[i].want) {
            if (!CHECK_INT(r, 0) || !CHECK_BSTR(out, tab[i].want))
                CHECK_STR(tab[i].path, "(the path above)");
        } else if (!CHECK_INT(r, -1) || !CHECK_INT(errno, tab[i].err)) {
            CHECK_STR(tab[i].path, "(the path above)");
        }
    }
    bstr_free(&out);
}

/* msgfile - a message in the test's directory, open for reading. */
static int
msgfile(const char *name, const char *data, size_t len)
{
    char p[600];
    int fd;

    snprintf(p, sizeof p, "%s/%s", harness_tmpdir(), name);
    fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd == -1 || write_all(fd, data, len) == -1)
        return -1;
    return fd;
}

static void
t_loops(void)
{
    static const struct {
        const char *msg;
        int loop;
    } tab[] = {
        {"Received: x\nDelivered-To: joe@dom.test\nSubject: s\n\nbody\n", 1},
        {"DELIVERED-TO:   Joe@Dom.Test  \r\n\r\nbody\n", 1},
        {"Delivered-To: dom.test-joe@dom.test\n\nbody\n", 0},
        {"Delivered-To: joe@dom.test.evil\n\n", 0},
        {"Subject: s\n\nDelivered-To: joe@dom.test\n", 0}, /* in the body */
        {"\nDelivered-To: joe@dom.test\n", 0}, /* no header at all */
        {"Subject: s\r\n\r\nDelivered-To: joe@dom.test\r\n", 0},
        {"Delivered-To: joe@dom.test", 1}, /* a header without newline */
        {"X-Folded: a\n Delivered-To: joe@dom.test\n\n", 0},
        {"", 0},
        {"Delivered-To: ann@dom.test\n\n", 1}, /* the second address */
    };
    const char *addrs[] = {"joe@dom.test", "ann@dom.test"};

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        int fd = msgfile("loop", tab[i].msg, strlen(tab[i].msg));
        size_t which = 9;

        if (!CHECK(fd != -1))
            return;
        if (!CHECK_INT(vdel_loop_scan(fd, addrs, 2, &which), tab[i].loop))
            CHECK_STR(tab[i].msg, "(the message above)");
        if (tab[i].loop)
            CHECK(which == (strstr(tab[i].msg, "ann") ? 1u : 0u));
        close(fd);
    }
    CHECK(vdel_is_dtline(S("Delivered-To: joe@dom.test\n"), "joe@dom.test"));
    CHECK(!vdel_is_dtline(S("Delivered-To joe@dom.test\n"), "joe@dom.test"));
    CHECK(!vdel_is_dtline(S("Delivered-To: \n"), "joe@dom.test"));
}

static void
t_loop_huge_header(void)
{
    /* a header line of 200 KB, then ours: still found, memory bounded */
    static char msg[200100];
    const char *addrs[] = {"joe@dom.test"};
    size_t which;
    int fd;

    memset(msg, 'x', sizeof msg);
    memcpy(msg, "X-Big: ", 7);
    msg[199000] = '\n';
    memcpy(msg + 199001, "Delivered-To: joe@dom.test\n\nbody\n", 33);
    fd = msgfile("big", msg, 199001 + 33);
    if (!CHECK(fd != -1))
        return;
    CHECK_INT(vdel_loop_scan(fd, addrs, 1, &which), 1);
    close(fd);
}

static void
t_rpline(void)
{
    struct bstr b = BSTR_INIT;

    CHECK_INT(vdel_rpline("Return-Path: <a@b.test>\n", "x@y", &b), 0);
    CHECK_BSTR(b, "Return-Path: <a@b.test>\n");
    CHECK_INT(vdel_rpline(NULL, "a@b.test", &b), 0);
    CHECK_BSTR(b, "Return-Path: <a@b.test>\n");
    CHECK_INT(vdel_rpline(NULL, "", &b), 0);
    CHECK_BSTR(b, "Return-Path: <>\n");
    /* a forged line in the environment is not copied */
    CHECK_INT(vdel_rpline("Return-Path: <a>\nX-Evil: 1\n", "a@b", &b), 0);
    CHECK_BSTR(b, "Return-Path: <a@b>\n");
    CHECK_INT(vdel_rpline("Nonsense", NULL, &b), 0);
    CHECK_BSTR(b, "");
    bstr_free(&b);
}

/* --- the Maildir side ------------------------------------------------- */

static char md[600];

static void
put(const char *rel, const char *data)
{
    char p[800];
    int fd;

    snprintf(p, sizeof p, "%s/%s", md, rel);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd != -1 && write_all(fd, data, strlen(data)) == 0);
    if (fd != -1)
        close(fd);
}

static void
mkd(const char *rel)
{
    char p[800];

    snprintf(p, sizeof p, "%s/%s", md, rel);
    CHECK(maildir_make(p, 0700) == 0);
}

static void
read_md(const char *rel, struct bstr *out)
{
    char p[800];

    snprintf(p, sizeof p, "%s/%s", md, rel);
    if (readfile_path(p, out, 1 << 20) != 1)
        bstr_truncate(out, 0);
}

/* age - set a file's mtime secs seconds back. */
static void
age(const char *rel, long secs)
{
    char p[800];
    struct timespec t[2] = {{0, UTIME_OMIT}, {time(NULL) - secs, 0}};

    snprintf(p, sizeof p, "%s/%s", md, rel);
    CHECK(utimensat(AT_FDCWD, p, t, 0) == 0);
}

static void
t_usage(void)
{
    struct mdusage u;

    snprintf(md, sizeof md, "%s/Maildir", harness_tmpdir());
    mkd("");
    mkd(".Sent");
    mkd(".Trash");
    mkd(".Sent.2024");
    put("new/1700000000.M1P1Q1.h,S=1000", "not the size the name says");
    put("cur/1700000001.M1P1Q1.h,S=2000:2,S", "");
    put("cur/1700000002.M1P1Q1.h:2,S", "12345");    /* no S=: stat, 5 bytes */
    put("cur/1700000003.M1P1Q1.h,S=4000:2,ST", ""); /* deleted: left out */
    put("new/.hidden,S=9999", "");
    put(".Sent/cur/1700000004.M1P1Q1.h,S=300:2,S", "");
    put(".Sent.2024/new/1700000005.M1P1Q1.h,S=70", "");
    put(".Trash/cur/1700000006.M1P1Q1.h,S=50000:2,S", ""); /* not counted */
    put("tmp/1700000007.M1P1Q1.h,S=80000", "");            /* not yet mail */
    put("maildirfolder", "");
    CHECK_INT(vdq_usage(md, &u), 0);
    CHECK_INT(u.bytes, 1000 + 2000 + 5 + 300 + 70);
    CHECK_INT(u.count, 5);
    /* names that claim absurd sizes: the sum saturates */
    put(".Sent/new/1.M1.h,S=9223372036854775807", "");
    put(".Sent/new/2.M1.h,S=9223372036854775807", "");
    CHECK_INT(vdq_usage(md, &u), 0);
    CHECK_INT(u.bytes, LLONG_MAX);
    CHECK_INT(u.count, 7);
    {
        char p[800];

        snprintf(p, sizeof p, "%s/.Sent/new/1.M1.h,S=9223372036854775807", md);
        CHECK(unlink(p) == 0);
        snprintf(p, sizeof p, "%s/.Sent/new/2.M1.h,S=9223372036854775807", md);
        CHECK(unlink(p) == 0);
    }
}

static void
t_check(void)
{
    struct mdquota q = {true, true, 3375, 100}, none = {0};
    struct vdel_quota qs;
    struct bstr b = BSTR_INIT;
    time_t now = time(NULL);

    /* no maildirsize: recalculated, quota line first */
    CHECK_INT(vdq_check(md, &q, 0, now, &qs), 0);
    CHECK(qs.recalculated && qs.file && !qs.over);
    CHECK_INT(qs.u.bytes, 3375);
    read_md("maildirsize", &b);
    CHECK_BSTR(b, "3375S,100C\n3375 5\n");
    /* exactly at the limit is not over; one byte more is */
    CHECK_INT(vdq_check(md, &q, 0, now, &qs), 0);
    CHECK(!qs.recalculated && !qs.over);
    q.bytes = 3375 + 10;
    put("maildirsize", "3385S,100C\n3375 5\n");
    CHECK_INT(vdq_check(md, &q, 10, now, &qs), 0);
    CHECK(!qs.over && !qs.recalculated);
    CHECK_INT(vdq_check(md, &q, 11, now, &qs), 0);
    CHECK(qs.over && !qs.recalculated); /* recent: trusted */
    /* over and older than 15 minutes: counted again (the file says more
     * than the Maildir holds) */
    put("maildirsize", "3385S,100C\n99999 5\n");
    age("maildirsize", MDQ_RECALC_AGE - 60);
    CHECK_INT(vdq_check(md, &q, 10, now, &qs), 0);
    CHECK(qs.over && !qs.recalculated);
    age("maildirsize", MDQ_RECALC_AGE + 60);
    CHECK_INT(vdq_check(md, &q, 10, now, &qs), 0);
    CHECK(!qs.over && qs.recalculated);
    CHECK_INT(qs.u.bytes, 3375);
    /* the count limit */
    q.count = 5;
    CHECK_INT(vdq_check(md, &q, 1, now, &qs), 0);
    CHECK(qs.over && qs.recalculated); /* another quota: recalculated */
    read_md("maildirsize", &b);
    CHECK_BSTR(b, "3385S,5C\n3375 5\n");
    /* damaged, and grown past 5120 bytes */
    put("maildirsize", "garbage\n");
    CHECK_INT(vdq_check(md, &q, 0, now, &qs), 0);
    CHECK(qs.recalculated);
    {
        char big[6000];

        memcpy(big, "3385S,5C\n", 9);
        for (size_t i = 9; i + 4 <= sizeof big - 1; i += 4)
            memcpy(big + i, "0 0\n", 4);
        big[9 + ((sizeof big - 10) / 4) * 4] = '\0';
        put("maildirsize", big);
    }
    CHECK_INT(vdq_check(md, &q, 0, now, &qs), 0);
    CHECK(qs.recalculated);
    read_md("maildirsize", &b);
    CHECK_BSTR(b, "3385S,5C\n3375 5\n");
    /* no limit and no file: nothing is written */
    {
        char p[800];

        snprintf(p, sizeof p, "%s/maildirsize", md);
        CHECK(unlink(p) == 0);
        CHECK_INT(vdq_check(md, &none, 1, now, &qs), 0);
        CHECK(!qs.file && !qs.over && !qs.recalculated);
        CHECK(access(p, F_OK) == -1 && errno == ENOENT);
        CHECK_INT(vdq_add(md, 10, 1), 0); /* still none */
        CHECK(access(p, F_OK) == -1 && errno == ENOENT);
    }
    /* a missing Maildir is an error, not a quota */
    CHECK_INT(vdq_check("/nonexistent/Maildir", &q, 0, now, &qs), -1);
    CHECK_INT(errno, ENOENT);
    bstr_free(&b);
}

static void
t_store(void)
{
    static const char body[] = "Subject: s\n\nbody without final newline";
    struct mdquota q = {true, false, 1000000, 0};
    struct vdel_quota qs;
    struct vdel_stored st = {BSTR_INIT, 0, MAILDIR_S_OPEN, 0};
    struct iovec head[2] = {{(char *)"Return-Path: <a@b>\n", 19},
                            {(char *)"Delivered-To: joe@dom.test\n", 27}};
    struct bstr b = BSTR_INIT, name = BSTR_INIT;
    int fd = msgfile("m", body, sizeof body - 1);

    if (!CHECK(fd != -1))
        return;
    CHECK_INT(vdq_check(md, &q, 0, time(NULL), &qs), 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK_INT(vdq_store(md, head, 2, fd, qs.file ? md : NULL, &st), 0);
    CHECK_INT(st.size, 19 + 27 + sizeof body - 1);
    CHECK_INT(st.counterr, 0);
    {
        char want[64];

        snprintf(want, sizeof want, ",S=%llu", st.size);
        CHECK(st.name.len > strlen(want) &&
              strcmp(st.name.s + st.name.len - strlen(want), want) == 0);
    }
    CHECK(bstr_catf(&name, "new/%s", st.name.s) == 0);
    read_md(name.s, &b);
    CHECK_BSTR(b, "Return-Path: <a@b>\nDelivered-To: joe@dom.test\n"
                  "Subject: s\n\nbody without final newline");
    read_md("maildirsize", &b);
    {
        char want[64];

        snprintf(want, sizeof want, "1000000S\n3375 5\n%llu 1\n", st.size);
        CHECK_BSTR(b, want);
    }
    /* the usage count sees the new file by its name */
    {
        struct mdusage u;

        CHECK_INT(vdq_usage(md, &u), 0);
        CHECK_INT(u.bytes, 3375 + (long long)st.size);
    }
    /* nothing left in tmp/ but what the test put there */
    {
        char p[800];

        snprintf(p, sizeof p, "%s/tmp/1700000007.M1P1Q1.h,S=80000", md);
        CHECK(unlink(p) == 0);
        snprintf(p, sizeof p, "%s/tmp", md);
        CHECK(rmdir(p) == 0); /* empty */
        CHECK(mkdir(p, 0700) == 0);
    }
    /* no Maildir: the stage says so */
    CHECK_INT(vdq_store("/nonexistent/Maildir", head, 2, fd, NULL, &st), -1);
    CHECK_INT(st.stage, MAILDIR_S_OPEN);
    close(fd);
    bstr_free(&st.name);
    bstr_free(&b);
    bstr_free(&name);
}

static void
t_warning(void)
{
    struct mdquota q = {true, true, 1000, 10};
    struct mdusage u = {920, 3};
    struct bstr b = BSTR_INIT, custom = BSTR_INIT;
    time_t now = 1700000000;

    CHECK_INT(vdel_warn_text(&b, "joe@dom.test", "dom.test", &q, &u, now, NULL),
              0);
    {
        static const char want[] =
            "Delivered-To: joe@dom.test\nDate: 14 Nov 2023 22:13:20 -0000\n"
            "From: Mail Delivery System <postmaster@dom.test>\n"
            "To: joe@dom.test\n"
            "Subject: Mail quota warning: your mailbox is 92% full\n";

        CHECK(b.len > sizeof want - 1 &&
              memcmp(b.s, want, sizeof want - 1) == 0);
    }
    CHECK(strstr(b.s, "\n\nYour mailbox joe@dom.test is 92% full.\n"));
    CHECK(strstr(b.s, "It holds 920 bytes of the 1000 it may hold.\n"));
    CHECK(strstr(b.s, "It holds 3 messages of the 10 it may hold.\n"));
    CHECK(bstr_copys(&custom, "From: admin@dom.test\nSubject: full\n\nx\n") ==
          0);
    CHECK_INT(
        vdel_warn_text(&b, "joe@dom.test", "dom.test", &q, &u, now, &custom),
        0);
    CHECK_BSTR(b, "Delivered-To: joe@dom.test\nDate: 14 Nov 2023 22:13:20 "
                  "-0000\nFrom: admin@dom.test\nSubject: full\n\nx\n");
    /* the flag: once, then again after a day, or after a rearm */
    CHECK_INT(vdq_warn_claim(md, time(NULL)), 1);
    CHECK_INT(vdq_warn_claim(md, time(NULL)), 0);
    age(VDEL_WARN_FLAG, VDEL_WARN_AGAIN - 100);
    CHECK_INT(vdq_warn_claim(md, time(NULL)), 0);
    age(VDEL_WARN_FLAG, VDEL_WARN_AGAIN + 1);
    CHECK_INT(vdq_warn_claim(md, time(NULL)), 1);
    CHECK_INT(vdq_warn_claim(md, time(NULL)), 0);
    CHECK_INT(vdq_warn_rearm(md), 0);
    CHECK_INT(vdq_warn_rearm(md), 0); /* none: fine */
    CHECK_INT(vdq_warn_claim(md, time(NULL)), 1);
    bstr_free(&b);
    bstr_free(&custom);
}

static void
t_add(void)
{
    struct bstr b = BSTR_INIT;

    put("maildirsize", "1000S\n10 1\n");
    CHECK_INT(vdq_add(md, 250, 1), 0);
    CHECK_INT(vdq_add(md, -10, -1), 0);
    read_md("maildirsize", &b);
    CHECK_BSTR(b, "1000S\n10 1\n250 1\n-10 -1\n");
    bstr_free(&b);
}

static void
t_quota_dir(void)
{
    struct bstr b = BSTR_INIT;
    char p[800];

    CHECK_INT(vdq_quota_dir(md, &b), 0); /* t_usage left maildirfolder */
    CHECK_STR(b.s, harness_tmpdir());
    snprintf(p, sizeof p, "%s/maildirfolder", md);
    CHECK(unlink(p) == 0);
    CHECK_INT(vdq_quota_dir(md, &b), 0);
    CHECK_STR(b.s, md);
    snprintf(p, sizeof p, "%s/.Sent/", md);
    CHECK_INT(vdq_quota_dir(p, &b), 0); /* no maildirfolder: its own */
    snprintf(p, sizeof p, "%s/.Sent", md);
    CHECK_STR(b.s, p);
    put(".Sent/maildirfolder", "");
    snprintf(p, sizeof p, "%s/.Sent/", md);
    CHECK_INT(vdq_quota_dir(p, &b), 0); /* a folder: the Maildir above */
    CHECK_STR(b.s, md);
    CHECK_INT(vdq_quota_dir("/nonexistent/Maildir", &b), 0);
    CHECK_STR(b.s, "/nonexistent/Maildir");
    bstr_free(&b);
}

static const struct test_case cases[] = {
    {"outcomes: codes and enhanced codes agree", t_outcomes},
    {"names refused before any lookup", t_names},
    {"the .qmail-default instruction", t_catchall},
    {".qmail lines", t_lines},
    {"paths: resolved, confined", t_paths},
    {"Delivered-To loops in the header only", t_loops},
    {"a loop after a huge header line", t_loop_huge_header},
    {"the Return-Path line", t_rpline},
    {"Maildir usage as Courier counts it", t_usage},
    {"maildirsize: missing, exact limit, stale, damaged, another quota",
     t_check},
    {"a stored message: ,S= name, bytes, maildirsize line", t_store},
    {"appending to maildirsize", t_add},
    {"the quota warning: text and flag", t_warning},
    {"a folder counts in its Maildir", t_quota_dir},
};

TEST_MAIN(cases)
