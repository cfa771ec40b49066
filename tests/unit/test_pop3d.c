/* SPDX-License-Identifier: ISC */
/*
 * test_pop3d - qmail-pop3d's pure parts and its Maildir work: the wire
 * encoding of RETR and TOP from a table of message bodies (and the same
 * bytes whatever the split of the input), UIDL of names as qmail,
 * Courier and Dovecot write them, the listing order, and the UPDATE
 * state against a real Maildir in a temporary directory: unlinks,
 * new/ -> cur/ moves, maildirsize deltas, messages another session moved,
 * EXPIRE and the LOGIN-DELAY stamp.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"
#include "pop3d.h"

struct enc_case {
    const char *in;
    size_t inlen; /* 0: strlen */
    int top;      /* -1: RETR, else TOP's line count */
    const char *out;
    size_t outlen; /* 0: strlen */
};

static const struct enc_case encs[] = {
    {"", 0, -1, ".\r\n", 0},
    {"a\n", 0, -1, "a\r\n.\r\n", 0},
    {"a", 0, -1, "a\r\n.\r\n", 0},
    {"a\r\n", 0, -1, "a\r\n.\r\n", 0},
    {"a\r\nb\nc", 0, -1, "a\r\nb\r\nc\r\n.\r\n", 0},
    {"a\r", 0, -1, "a\r\n.\r\n", 0},
    {"a\rb\n", 0, -1, "a\rb\r\n.\r\n", 0},
    {"\n\n", 0, -1, "\r\n\r\n.\r\n", 0},
    {".\n", 0, -1, "..\r\n.\r\n", 0},
    {"..x\n.\n", 0, -1, "...x\r\n..\r\n.\r\n", 0},
    {"a.b\n.", 0, -1, "a.b\r\n..\r\n.\r\n", 0},
    {"H: 1\n\n.body\n", 0, -1, "H: 1\r\n\r\n..body\r\n.\r\n", 0},
    {"x\0y\n", 4, -1, "x\0y\r\n.\r\n", 8},
    {"\xff\xfe\x80\n", 0, -1, "\xff\xfe\x80\r\n.\r\n", 0},
    /* TOP */
    {"H: 1\nH: 2\n\nb1\nb2\nb3\n", 0, 0, "H: 1\r\nH: 2\r\n\r\n.\r\n", 0},
    {"H: 1\nH: 2\n\nb1\nb2\nb3\n", 0, 1, "H: 1\r\nH: 2\r\n\r\nb1\r\n.\r\n", 0},
    {"H: 1\nH: 2\n\nb1\nb2\nb3\n", 0, 2,
     "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n.\r\n", 0},
    {"H: 1\nH: 2\n\nb1\nb2\nb3\n", 0, 99,
     "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n.\r\n", 0},
    {"H: 1\r\n\r\nb1\r\nb2\r\n", 0, 1, "H: 1\r\n\r\nb1\r\n.\r\n", 0},
    {"H: 1\n\n.b1\nb2", 0, 5, "H: 1\r\n\r\n..b1\r\nb2\r\n.\r\n", 0},
    {"H: 1\nH: 2\n", 0, 0, "H: 1\r\nH: 2\r\n.\r\n", 0}, /* no body */
    {"H: 1", 0, 0, "H: 1\r\n.\r\n", 0},
    {"", 0, 0, ".\r\n", 0},
    {"\nb1\nb2\n", 0, 1, "\r\nb1\r\n.\r\n", 0}, /* empty header */
    {"H: 1\n\n\n\nx\n", 0, 2, "H: 1\r\n\r\n\r\n\r\n.\r\n", 0},
};

static void
encode(const char *in, size_t inlen, int top, size_t step, struct bstr *out)
{
    struct pop3d_enc e;

    out->len = 0;
    pop3d_enc_init(&e, top >= 0, top >= 0 ? (unsigned long)top : 0);
    for (size_t i = 0; i < inlen && !e.done; i += step) {
        size_t n = inlen - i < step ? inlen - i : step;
        CHECK_INT(pop3d_enc_push(&e, in + i, n, out), 0);
    }
    CHECK_INT(pop3d_enc_end(&e, out), 0);
}

static void
t_encode(void)
{
    struct bstr out = BSTR_INIT;

    for (size_t i = 0; i < sizeof encs / sizeof encs[0]; i++) {
        const struct enc_case *t = &encs[i];
        size_t inlen = t->inlen ? t->inlen : strlen(t->in);
        size_t outlen = t->outlen ? t->outlen : strlen(t->out);

        /* whole, byte by byte, and in threes: the same bytes */
        static const size_t steps[] = {1 << 20, 1, 3};
        for (size_t k = 0; k < 3; k++) {
            encode(t->in, inlen, t->top, steps[k], &out);
            if (!harness_check_mem(out.s, out.len, t->out, outlen, "encoded",
                                   __FILE__, __LINE__))
                fprintf(stderr, "  encode case %zu step %zu\n", i, steps[k]);
        }
    }
    bstr_free(&out);
}

/* unstuff - what a client gets back from the wire form (RFC 1939 §3). */
static void
unstuff(const char *w, size_t n, struct bstr *out)
{
    size_t i = 0;

    out->len = 0;
    while (i < n) {
        const char *nl = memchr(w + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - w) + 1 : n;

        if (end - i == 3 && memcmp(w + i, ".\r\n", 3) == 0)
            break;
        if (w[i] == '.')
            i++;
        CHECK_INT(bstr_catb(out, w + i, end - i), 0);
        i = end;
    }
}

static void
t_encode_roundtrip(void)
{
    /* random messages with CRLF lines: unstuffed output is the input */
    struct bstr in = BSTR_INIT, out = BSTR_INIT, back = BSTR_INIT;
    unsigned seed = 12345;

    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)(rand_r(&seed) % 2000);
        static const char alpha[] = "ab.\r\n\0\xff ";

        in.len = 0;
        for (size_t i = 0; i < n; i++) {
            char c = alpha[rand_r(&seed) % (sizeof alpha - 1)];
            if (c == '\r' || c == '\n')
                CHECK_INT(bstr_cats(&in, "\r\n"), 0);
            else
                CHECK_INT(bstr_catc(&in, c), 0);
        }
        CHECK_INT(bstr_cats(&in, "\r\n"), 0);
        encode(in.s, in.len, -1, 1 + (size_t)(rand_r(&seed) % 100), &out);
        unstuff(out.s, out.len, &back);
        CHECK(harness_check_mem(back.s, back.len, in.s, in.len, "roundtrip",
                                __FILE__, __LINE__));
        /* no line of the wire form is a lone dot but the last */
        CHECK(out.len >= 3 && memcmp(out.s + out.len - 3, ".\r\n", 3) == 0);
        CHECK(memmem(out.s, out.len - 3, "\r\n.\r\n", 5) == NULL ||
              out.len == 3);
    }
    bstr_free(&in);
    bstr_free(&out);
    bstr_free(&back);
}

static void
t_uidl(void)
{
    static const struct {
        const char *name, *uidl;
    } t[] = {
        {"new/1000.1234.host", "1000.1234.host"},
        {"cur/1000.1234.host:2,", "1000.1234.host"},
        {"cur/1000.1234.host:2,S", "1000.1234.host"},
        {"cur/1000.1234.host:2,RS", "1000.1234.host"},
        {"new/1700000000.M12345P678Q1.mx.example.com,S=1234",
         "1700000000.M12345P678Q1.mx.example.com,S=1234"},
        {"cur/1700000000.M12345P678Q1.mx.example.com,S=1234,W=1262:2,S",
         "1700000000.M12345P678Q1.mx.example.com,S=1234,W=1262"},
        {"cur/1700000000.M12345P678Q1.mx.example.com,S=1234:2,",
         "1700000000.M12345P678Q1.mx.example.com,S=1234"},
        {"cur/1700000000.H1P2.host\\0572:2,S", "1700000000.H1P2.host\\0572"},
        {"cur/x:y:z", "x"},
        {"1000.plain", "1000.plain"},
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t n;
        const char *u = pop3d_uidl(t[i].name, &n);

        if (!harness_check_mem(u, n, t[i].uidl, strlen(t[i].uidl), "uidl",
                               __FILE__, __LINE__))
            fprintf(stderr, "  uidl of %s\n", t[i].name);
    }
}

static void
t_name_ok(void)
{
    CHECK(pop3d_name_ok("1000.1.host"));
    CHECK(pop3d_name_ok("1000.1.host:2,S"));
    CHECK(pop3d_name_ok("\xc3\xa9t\xc3\xa9"));
    CHECK(!pop3d_name_ok(".hidden"));
    CHECK(!pop3d_name_ok(""));
    CHECK(!pop3d_name_ok("a b"));
    CHECK(!pop3d_name_ok("a\r\n.\r\nb"));
    CHECK(!pop3d_name_ok("a\tb"));
    CHECK(!pop3d_name_ok("a\x7f"));
}

/* --- a Maildir in the temporary directory --- */

static char home[600];

static void
put_file(const char *name, const char *text, time_t mtime)
{
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    struct timeval tv[2] = {{mtime, 0}, {mtime, 0}};

    CHECK(fd != -1);
    if (fd == -1)
        return;
    CHECK_INT(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    CHECK_INT(utimes(name, tv), 0);
}

static bool
exists(const char *name)
{
    struct stat st;

    return lstat(name, &st) == 0;
}

static void
fresh(const char *name)
{
    char cmd[800];

    CHECK(chdir(harness_tmpdir()) == 0);
    snprintf(home, sizeof home, "%s/%s", harness_tmpdir(), name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
    CHECK_INT(system(cmd), 0);
    CHECK_INT(mkdir(home, 0700), 0);
    CHECK_INT(chdir(home), 0);
    CHECK_INT(mkdir("new", 0700), 0);
    CHECK_INT(mkdir("cur", 0700), 0);
    CHECK_INT(mkdir("tmp", 0700), 0);
}

static void
t_scan_order(void)
{
    struct pop3d_box b = {0};

    fresh("order");
    put_file("cur/300.c:2,S", "3", 1000);
    put_file("new/200.b", "22", 1000);
    put_file("new/100.z", "1", 2000); /* newest by mtime, oldest by name */
    put_file("new/050.a", "55555", 500);
    put_file("new/.hidden", "x", 1);
    put_file("cur/a b", "x", 1);
    CHECK_INT(mkdir("new/adir", 0700), 0);
    CHECK_INT(symlink("/etc/passwd", "new/alink"), 0);
    CHECK_INT(pop3d_box_scan(&b), 0);
    CHECK_INT(b.n, 4);
    if (b.n == 4) {
        CHECK_STR(pop3d_box_name(&b, 0), "new/050.a");
        CHECK_STR(pop3d_box_name(&b, 1), "new/200.b");
        CHECK_STR(pop3d_box_name(&b, 2), "cur/300.c:2,S");
        CHECK_STR(pop3d_box_name(&b, 3), "new/100.z");
        CHECK_INT(b.v[0].size, 5);
        CHECK_INT(b.v[1].size, 2);
    }
    pop3d_box_free(&b);

    /* no cur/: an error, not an empty box */
    CHECK_INT(rmdir("cur") == 0 || system("rm -rf cur") == 0, 1);
    CHECK_INT(pop3d_box_scan(&b), -1);
    CHECK_INT(errno, ENOENT);
    pop3d_box_free(&b);
}

static long long
sums(long long *count)
{
    /* the sums of maildirsize's lines after the first */
    FILE *f = fopen("maildirsize", "r");
    char line[200];
    long long bytes = 0;

    *count = 0;
    if (!f)
        return -1;
    if (fgets(line, sizeof line, f))
        while (fgets(line, sizeof line, f)) {
            long long b, c;
            if (sscanf(line, "%lld %lld", &b, &c) == 2) {
                bytes += b;
                *count += c;
            }
        }
    fclose(f);
    return bytes;
}

static void
t_update(void)
{
    struct pop3d_box b = {0};
    unsigned long nd = 0;
    long long count;

    fresh("update");
    put_file("new/1.a,S=100", "0123456789",
             1);                          /* Maildir++ size from the name */
    put_file("new/2.b", "0123456789", 2); /* st_size */
    put_file("cur/3.c:2,S", "01234", 3);  /* deleted */
    put_file("new/4.d", "keep", 4);       /* moved to cur/ */
    put_file("cur/5.e:2,S", "keep", 5);   /* stays */
    put_file("maildirsize", "1000000S\n124 5\n", 10);
    CHECK_INT(pop3d_box_scan(&b), 0);
    CHECK_INT(b.n, 5);
    b.v[0].deleted = b.v[1].deleted = b.v[2].deleted = true;
    CHECK_INT(pop3d_box_update(&b, false, &nd), 0);
    CHECK_INT(nd, 3);
    CHECK(!exists("new/1.a,S=100") && !exists("new/2.b") &&
          !exists("cur/3.c:2,S"));
    CHECK(!exists("new/4.d") && exists("cur/4.d:2,"));
    CHECK(exists("cur/5.e:2,S"));
    CHECK_INT(sums(&count), 124 - 100 - 10 - 5);
    CHECK_INT(count, 2);
    pop3d_box_free(&b);

    /* without maildirsize nothing is created */
    CHECK_INT(unlink("maildirsize"), 0);
    CHECK_INT(pop3d_box_scan(&b), 0);
    b.v[0].deleted = true;
    CHECK_INT(pop3d_box_update(&b, false, &nd), 0);
    CHECK_INT(nd, 1);
    CHECK(!exists("maildirsize"));
    pop3d_box_free(&b);

    /* EXPIRE 0: retrieved messages go too */
    put_file("new/6.f", "x", 6);
    CHECK_INT(pop3d_box_scan(&b), 0);
    CHECK_INT(b.n, 2);
    for (size_t i = 0; i < b.n; i++)
        b.v[i].retrieved = strcmp(pop3d_box_name(&b, i), "new/6.f") == 0;
    CHECK_INT(pop3d_box_update(&b, true, &nd), 0);
    CHECK_INT(nd, 1);
    CHECK(!exists("new/6.f") && !exists("cur/6.f:2,"));
    pop3d_box_free(&b);
}

static void
t_moved(void)
{
    struct pop3d_box b = {0};
    unsigned long nd = 0;
    long long count;
    int fd;
    char buf[16];

    fresh("moved");
    put_file("new/1.a", "one", 1);
    put_file("new/2.b", "two", 2);
    put_file("new/3.c", "three", 3);
    put_file("maildirsize", "0S\n11 3\n", 10);
    CHECK_INT(pop3d_box_scan(&b), 0);
    CHECK_INT(b.n, 3);
    /* another session: moved 1 and 2 into cur/ with flags, removed 3 */
    CHECK_INT(rename("new/1.a", "cur/1.a:2,S"), 0);
    CHECK_INT(rename("new/2.b", "cur/2.b:2,"), 0);
    CHECK_INT(unlink("new/3.c"), 0);
    fd = pop3d_box_open(&b, 0);
    CHECK(fd != -1);
    if (fd != -1) {
        CHECK_INT(read(fd, buf, sizeof buf), 3);
        close(fd);
    }
    CHECK_STR(pop3d_box_name(&b, 0), "cur/1.a:2,S");
    CHECK_INT(pop3d_box_open(&b, 2), -1);
    CHECK_INT(errno, ENOENT);
    /* QUIT: 2 followed into cur/, 3 already gone is not an error */
    b.v[1].deleted = b.v[2].deleted = true;
    CHECK_INT(pop3d_box_update(&b, false, &nd), 0);
    CHECK_INT(nd, 1);
    CHECK(!exists("cur/2.b:2,"));
    CHECK(exists("cur/1.a:2,S"));
    CHECK_INT(sums(&count), 11 - 3);
    CHECK_INT(count, 2);
    pop3d_box_free(&b);
}

static void
t_expire(void)
{
    unsigned long n = 99;
    long long count;
    time_t now = time(NULL);

    fresh("expire");
    put_file("cur/1.a,S=50:2,S", "x", 1);
    put_file("new/2.b", "new mail is never expired", 1);
    put_file("maildirsize", "0S\n75 2\n", 10);
    /* ctime is now: nothing is a day old */
    CHECK_INT(pop3d_expire(1, now, &n), 0);
    CHECK_INT(n, 0);
    CHECK(exists("cur/1.a,S=50:2,S"));
    /* two days on, it is */
    CHECK_INT(pop3d_expire(1, now + 2 * 86400, &n), 0);
    CHECK_INT(n, 1);
    CHECK(!exists("cur/1.a,S=50:2,S"));
    CHECK(exists("new/2.b"));
    CHECK_INT(sums(&count), 25);
    CHECK_INT(count, 1);
    /* a huge number of days neither overflows nor removes anything */
    put_file("cur/3.c:2,", "x", 1);
    CHECK_INT(pop3d_expire((unsigned long)-1, now + 2 * 86400, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(pop3d_expire(1UL << 62, now + 2 * 86400, &n), 0);
    CHECK_INT(n, 0);
}

static void
t_logindelay(void)
{
    unsigned long wait = 0;
    time_t now = time(NULL);

    fresh("delay");
    CHECK_INT(pop3d_logindelay(60, now, &wait), 0);
    CHECK(exists(POP3D_STAMP));
    CHECK_INT(pop3d_logindelay(60, now + 10, &wait), 1);
    CHECK_INT(wait, 50);
    CHECK_INT(pop3d_logindelay(60, now + 61, &wait), 0);
    /* a stamp in the future (clock set back) does not lock anyone out */
    put_file(POP3D_STAMP, "", now + 3600);
    CHECK_INT(pop3d_logindelay(60, now, &wait), 0);
    /* a symlink is never followed */
    CHECK_INT(unlink(POP3D_STAMP), 0);
    CHECK_INT(symlink("elsewhere", POP3D_STAMP), 0);
    CHECK_INT(pop3d_logindelay(60, now + 61, &wait), -1);
    CHECK(!exists("elsewhere"));
    /* nor does a FIFO block the login */
    CHECK_INT(unlink(POP3D_STAMP), 0);
    CHECK_INT(mkfifo(POP3D_STAMP, 0600), 0);
    CHECK_INT(pop3d_logindelay(60, now + 61, &wait), -1);
}

/* session - run pop3d over a socketpair with input in (then EOF unless
 * keep_open), an input timeout of timeout_s; the replies into out. */
static enum pop3d_end
session(const char *in, bool keep_open, unsigned timeout_s, struct bstr *out)
{
    static struct pop3d s;
    struct pop3d_config cf = {.user = "u", .ip = "i"};
    int sv[2];
    char buf[4096];
    ssize_t n;

    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK_INT(write(sv[0], in, strlen(in)), (long long)strlen(in));
    if (!keep_open)
        CHECK_INT(shutdown(sv[0], SHUT_WR), 0);
    pop3d_init(&s, &cf, sv[1], sv[1]);
    iob_settimeout(&s.in, timeout_s);
    CHECK_INT(pop3d_box_scan(&s.box), 0);
    pop3d_run(&s);
    CHECK_INT(shutdown(sv[1], SHUT_WR), 0);
    out->len = 0;
    while ((n = read(sv[0], buf, sizeof buf)) > 0)
        CHECK_INT(bstr_catb(out, buf, (size_t)n), 0);
    close(sv[0]);
    close(sv[1]);
    enum pop3d_end end = s.end;
    pop3d_free(&s);
    return end;
}

static void
t_session(void)
{
    struct bstr out = BSTR_INIT;

    fresh("session");
    put_file("new/1.a", "x\n", 1);
    /* EOF after DELE: nothing removed */
    CHECK_INT(session("DELE 1\r\nSTAT\r\n", false, 5, &out), POP3D_END_EOF);
    CHECK_BSTR(out, "+OK \r\n+OK 0 0\r\n");
    CHECK(exists("new/1.a"));
    /* a half line then EOF: the half line is not run */
    CHECK_INT(session("STAT\r\nQUI", false, 5, &out), POP3D_END_EOF);
    CHECK_BSTR(out, "+OK 1 2\r\n");
    CHECK(exists("new/1.a"));
    /* a client that says nothing: the timeout ends it, nothing changes */
    CHECK_INT(session("DELE 1\r\n", true, 1, &out), POP3D_END_TIMEOUT);
    CHECK_BSTR(out, "+OK \r\n");
    CHECK(exists("new/1.a"));
    /* QUIT ends it there: what follows is not read */
    CHECK_INT(session("RETR 1\r\nQUIT\r\nDELE 1\r\n", false, 5, &out),
              POP3D_END_QUIT);
    CHECK_BSTR(out, "+OK \r\nx\r\n.\r\n+OK \r\n");
    CHECK(!exists("new/1.a") && exists("cur/1.a:2,"));
    bstr_free(&out);
}

static const struct test_case cases[] = {
    {"encode", t_encode},
    {"encode_roundtrip", t_encode_roundtrip},
    {"uidl", t_uidl},
    {"name_ok", t_name_ok},
    {"scan_order", t_scan_order},
    {"update", t_update},
    {"moved", t_moved},
    {"expire", t_expire},
    {"logindelay", t_logindelay},
    {"session", t_session},
};

TEST_MAIN(cases)
