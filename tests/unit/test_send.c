/* SPDX-License-Identifier: ISC */
/*
 * test_send - qmail-send's building blocks: the retry schedule against
 * the admin guide's table, the heap and the message map against simple
 * models under random operations, the bounce composer, and the orphan
 * sweep on a queue made in a temporary directory.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "send.h"

static void
t_retry_table(void)
{
    /* seeds/qmail-admin-guide.txt 5.1: remote attempts at these ages */
    static const long table[] = {0,      400,    1600,   3600,   6400,
                                 10000,  14400,  19600,  25600,  32400,
                                 40000,  48400,  57600,  67600,  78400,
                                 90000,  102400, 115600, 129600, 144400,
                                 160000, 176400, 193600, 211600, 230400,
                                 250000, 270400, 291600, 313600, 336400,
                                 360000, 384400, 409600, 435600, 462400,
                                 490000, 518400, 547600, 577600, 608400};
    time_t birth = 1000000;

    for (size_t k = 0; k + 1 < sizeof table / sizeof table[0]; k++) {
        /* right after attempt k, the next one is attempt k+1 */
        CHECK_INT(retry_next(birth, birth + table[k], 20) - birth,
                  table[k + 1]);
        CHECK_INT(retry_next(birth, birth + table[k + 1] - 1, 20) - birth,
                  table[k + 1]);
    }
    /* local: skip 10 */
    CHECK_INT(retry_next(birth, birth, 10) - birth, 100);
    CHECK_INT(retry_next(birth, birth + 100, 10) - birth, 400);
    /* a clock that went backwards is not a reason to wait forever */
    CHECK_INT(retry_next(birth, birth - 50, 20) - birth, 400);
    CHECK_INT(retry_next(birth, birth, 1) - birth, 1);
}

static void
t_heap_order(void)
{
    struct sched h = {0};
    int64_t last = -1;

    srand(7);
    for (int i = 0; i < 5000; i++) {
        struct sched_item it = {rand() % 1000, (uint64_t)i + 1, 0, 0};
        CHECK(sched_push(&h, &it) == 0);
        if (i % 3 == 0) {
            const struct sched_item *p = sched_peek(&h);
            /* what pops is never later than anything pushed after it */
            CHECK(p != NULL);
            sched_pop(&h);
        }
    }
    while (sched_peek(&h)) {
        const struct sched_item *p = sched_peek(&h);
        if (!CHECK(p->when >= last))
            break;
        last = p->when;
        sched_pop(&h);
    }
    CHECK_INT(h.n, 0);
    sched_free(&h);
}

static void
t_msgmap_model(void)
{
    struct msgmap m;
    static unsigned char model[20000];

    CHECK(msgmap_init(&m) == 0);
    srand(11);
    for (int i = 0; i < 200000; i++) {
        uint64_t id = (uint64_t)(rand() % 20000) + 1;

        if (rand() % 3) {
            struct msg *x = msgmap_add(&m, id);
            CHECK(x != NULL);
            if (x) {
                x->flags = (uint32_t)id;
                model[id - 1] = 1;
            }
        } else {
            msgmap_del(&m, id);
            model[id - 1] = 0;
        }
    }
    size_t n = 0;
    for (uint64_t id = 1; id <= 20000; id++) {
        struct msg *x = msgmap_get(&m, id);

        if (model[id - 1]) {
            n++;
            if (!CHECK(x && x->flags == (uint32_t)id))
                break;
        } else if (!CHECK(x == NULL)) {
            break;
        }
    }
    CHECK_INT(m.n, n);
    msgmap_free(&m);
}

static void
t_bounce_remote_replies(void)
{
    static const struct {
        const char *para, *want;
    } cases[] = {
        /* the server's reply, its RFC 3463 code, the address talked to */
        {"<a@b.test>:\n192.0.2.1 does not like recipient.\nRemote host "
         "said: 550 5.1.1 no such user\n",
         "Final-Recipient: rfc822; a@b.test\nAction: failed\nStatus: 5.1.1\n"
         "Remote-MTA: dns; [192.0.2.1]\nDiagnostic-Code: smtp; 550 5.1.1 no "
         "such user\n"},
        /* a code of another class, or not three parts: not taken */
        {"<a@b.test>:\n2001:db8::1 failed on DATA command.\nRemote host said: "
         "554 4.1.1 odd\n",
         "Status: 5.0.0\nRemote-MTA: dns; [2001:db8::1]\nDiagnostic-Code: "
         "smtp; 554 4.1.1 odd\n"},
        {"<a@b.test>:\nRemote host said: 550 5.1.1.1.1 x\n",
         "Status: 5.0.0\nDiagnostic-Code: smtp; 550 5.1.1.1.1 x\n"},
        {"<a@b.test>:\nRemote host said: 550 5.1. x\n",
         "Status: 5.0.0\nDiagnostic-Code: smtp; 550 5.1. x\n"},
        /* too short to be a reply, control bytes, no address first */
        {"<a@b.test>:\n999.1.1.1 x\nRemote host said: 5\n",
         "Status: 5.0.0\nDiagnostic-Code: smtp; 5\n"},
        {"<a@b.test>:\nRemote host said: 550 bad\x01\x7f\tbytes\n",
         "Diagnostic-Code: smtp; 550 bad???bytes\n"},
        /* the words on a later line only, not in the middle of one */
        {"<a@b.test>:\nnot Remote host said: 550 5.7.1 no (#5.2.2)\n",
         "Status: 5.2.2\nDiagnostic-Code: x-qmail-ng; not Remote host said: "
         "550 5.7.1 no (#5.2.2)\n"},
    };
    struct send_conf c;
    struct bstr head = BSTR_INIT, tail = BSTR_INIT, rep = BSTR_INIT;

    memset(&c, 0, sizeof c);
    CHECK(bstr_copys(&c.me, "mx.test") == 0);
    CHECK(bstr_copys(&c.bouncefrom, "MAILER-DAEMON") == 0);
    CHECK(bstr_copys(&c.bouncehost, "mx.test") == 0);
    CHECK(bstr_copys(&c.doublebounceto, "postmaster") == 0);
    CHECK(bstr_copys(&c.doublebouncehost, "mx.test") == 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(bstr_copys(&rep, cases[i].para) == 0 &&
              bstr_cats(&rep, "\n") == 0);
        CHECK(bounce_compose(&head, &tail, &c, "s@x.test", &rep, 1, 1, 42,
                             false) == 0);
        if (!strstr(head.s, cases[i].want))
            fprintf(stderr, "case %zu: no\n%s\nin\n%s\n", i, cases[i].want,
                    head.s);
        CHECK(strstr(head.s, cases[i].want) != NULL);
        CHECK(i == 0 || i == 1 || strstr(head.s, "Remote-MTA") == NULL);
    }
    bstr_free(&head);
    bstr_free(&tail);
    bstr_free(&rep);
    bstr_free(&c.me);
    bstr_free(&c.bouncefrom);
    bstr_free(&c.bouncehost);
    bstr_free(&c.doublebounceto);
    bstr_free(&c.doublebouncehost);
}

static void
t_bounce_compose(void)
{
    struct send_conf c;
    struct bstr head = BSTR_INIT, tail = BSTR_INIT, rep = BSTR_INIT;

    memset(&c, 0, sizeof c);
    CHECK(bstr_copys(&c.me, "mx.test") == 0);
    CHECK(bstr_copys(&c.bouncefrom, "MAILER-DAEMON") == 0);
    CHECK(bstr_copys(&c.bouncehost, "mx.test") == 0);
    CHECK(bstr_copys(&c.doublebounceto, "postmaster") == 0);
    CHECK(bstr_copys(&c.doublebouncehost, "mx.test") == 0);
    CHECK(bstr_copys(&rep, "<a@b.test>:\nSorry, no mailbox here by that "
                           "name. (#5.1.1)\n\n<c@d.test>:\nsomething "
                           "(#5.7.1) went (#bad) wrong\n\n") == 0);
    CHECK(bounce_compose(&head, &tail, &c, "s@x.test", &rep, 1065864148,
                         1065864000, 42, false) == 0);
    CHECK(strstr(head.s, "Date: 11 Oct 2003 09:22:28 -0000\n") == head.s);
    CHECK(strstr(head.s, "\nTo: s@x.test\n") != NULL);
    CHECK(strstr(head.s, "boundary=\"qmail-ng-42-1065864148\"") != NULL);
    CHECK(strstr(head.s, "Final-Recipient: rfc822; a@b.test\nAction: failed\n"
                         "Status: 5.1.1\n") != NULL);
    CHECK(strstr(head.s, "Final-Recipient: rfc822; c@d.test\nAction: failed\n"
                         "Status: 5.7.1\n") != NULL);
    CHECK(strstr(head.s, "Arrival-Date: 11 Oct 2003 09:20:00 -0000\n") != NULL);
    CHECK_BSTR(tail, "\n--qmail-ng-42-1065864148--\n");
    /* double bounce: to doublebounceto, with its own wording */
    CHECK(bounce_compose(&head, &tail, &c, "", &rep, 1, 1, 42, false) == 0);
    CHECK(strstr(head.s, "\nTo: postmaster@mx.test\n") != NULL);
    CHECK(strstr(head.s, "but the bounce bounced!") != NULL);
    /* notice: delayed, headers only */
    CHECK(bounce_compose(&head, &tail, &c, "s@x.test", &rep, 1, 1, 42,
                         true) == 0);
    CHECK(strstr(head.s, "Action: delayed\nStatus: 4.1.1\n") != NULL);
    CHECK(strstr(head.s, "Content-Type: text/rfc822-headers\n") != NULL);
    bstr_free(&head);
    bstr_free(&tail);
    bstr_free(&rep);
    bstr_free(&c.me);
    bstr_free(&c.bouncefrom);
    bstr_free(&c.bouncehost);
    bstr_free(&c.doublebounceto);
    bstr_free(&c.doublebouncehost);
}

/* a file fn with mtime (and atime) at when */
static void
put(const char *fn, time_t when)
{
    struct timespec t[2] = {{when, 0}, {when, 0}};
    int fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    CHECK(fd != -1);
    CHECK(write(fd, "x", 1) == 1);
    CHECK(close(fd) == 0);
    CHECK(utimensat(AT_FDCWD, fn, t, 0) == 0);
}

struct found {
    uint64_t id[64];
    size_t n;
};

static bool
known_42(uint64_t id, void *arg)
{
    (void)arg;
    return id == 42 + 23 * 3;
}

static void
add_found(uint64_t id, void *arg)
{
    struct found *f = arg;

    if (f->n < 64)
        f->id[f->n++] = id;
}

static bool
has(const struct found *f, uint64_t id)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->id[i] == id)
            return true;
    return false;
}

static void
t_orphan_sweep(void)
{
    char old[4096], dir[64], fn[64];
    time_t now = time(NULL), aged = now - ORPHAN_AGE - 10;
    struct orphan_sweep o = {0};
    struct found f = {{0}, 0};
    unsigned calls = 0;

    CHECK(getcwd(old, sizeof old) != NULL);
    CHECK(chdir(harness_tmpdir()) == 0);
    CHECK(mkdir("q", 0700) == 0 && chdir("q") == 0);
    CHECK(mkdir("mess", 0700) == 0 && mkdir("info", 0700) == 0 &&
          mkdir("todo", 0700) == 0);
    for (unsigned i = 0; i < 23; i++) {
        snprintf(dir, sizeof dir, "mess/%u", i);
        CHECK(mkdir(dir, 0700) == 0);
        snprintf(dir, sizeof dir, "info/%u", i);
        CHECK(mkdir(dir, 0700) == 0);
    }
    /* 40 orphans, old, no todo/ or info/ */
    for (unsigned i = 0; i < 40; i++) {
        snprintf(fn, sizeof fn, "mess/%u/%u", (1000 + i) % 23, 1000 + i);
        put(fn, aged);
    }
    /* not orphans: young; committed (todo/); preprocessed (info/);
     * known to the caller; exactly at the limit minus a second */
    put("mess/0/23", now - 3600);
    put("mess/1/24", aged);
    put("todo/24", aged);
    put("mess/2/25", aged);
    put("info/2/25", aged);
    snprintf(fn, sizeof fn, "mess/%u/%u", (42 + 69) % 23, 42 + 69);
    put(fn, aged);
    put("mess/3/26", now - ORPHAN_AGE + 1);
    /* names that are no message files */
    put("mess/4/27", aged);  /* 27 % 23 == 4: an orphan after all */
    put("mess/5/27x", aged);
    put("mess/6/30", aged);  /* 30 belongs in mess/7 */
    CHECK(!orphan_work(&o, now, 10, known_42, add_found, &f)); /* not started */
    orphan_start(&o);
    while (orphan_work(&o, now, 10, known_42, add_found, &f)) {
        /* bounded: at most 10 entries read, so at most 10 found, a call */
        CHECK(f.n <= 10 * (calls + 1));
        if (++calls > 1000)
            break;
    }
    CHECK(calls >= 5); /* 49 entries, 10 a call */
    CHECK_INT(f.n, 41);
    for (unsigned i = 0; i < 40; i++)
        CHECK(has(&f, 1000 + i));
    CHECK(has(&f, 27));
    CHECK(!has(&f, 23) && !has(&f, 24) && !has(&f, 25) && !has(&f, 26) &&
          !has(&f, 111) && !has(&f, 30));
    /* a second sweep finds the same (the sweep only reads) */
    f.n = 0;
    orphan_start(&o);
    while (orphan_work(&o, now, 1000, known_42, add_found, &f))
        ;
    CHECK_INT(f.n, 41);
    orphan_free(&o);
    CHECK(chdir(old) == 0);
}

static void
t_log_texts(void)
{
    static const struct {
        const char *in, *text, *vis;
    } cases[] = {
        /* qmail's substitutions first: spaces '_', newlines '/' */
        {"did 0+0+1\n", "did_0+0+1/", "did 0+0+1\\012"},
        /* a remote server's hostile words: ESC, BEL, CR, DEL, C1 (UTF-8
         * CSI and NEL), bytes that are no UTF-8, the backslash */
        {"550 \033[2J\a\r\177x", "550_\\033[2J\\007\\015\\177x",
         "550 \\033[2J\\007\\015\\177x"},
        {"a\302\233b\302\205c", "a\\302\\233b\\302\\205c",
         "a\\302\\233b\\302\\205c"},
        {"\377\300\257 \\", "\\377\\300\\257_\\134", "\\377\\300\\257 \\134"},
        /* text in UTF-8 is shown as it is */
        {"r\303\251sum\303\251 \344\270\255", "r\303\251sum\303\251_\344\270\255",
         "r\303\251sum\303\251 \344\270\255"},
        {"", "", ""},
    };
    struct bstr out = BSTR_INIT, v = BSTR_INIT;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        slog_text(&out, cases[i].in, strlen(cases[i].in));
        CHECK_STR(out.s ? out.s : "", cases[i].text);
        CHECK_STR(slog_vis(&v, cases[i].in, strlen(cases[i].in)), cases[i].vis);
    }
    /* a NUL inside is shown too */
    CHECK_STR(slog_vis(&v, "a\0b", 3), "a\\000b");
    bstr_free(&out);
    bstr_free(&v);
}

static void
t_bounce_paragraph(void)
{
    struct bstr p = BSTR_INIT;

    /* qmail-1.03: a newline in the address becomes '_'; blank lines in
     * the text go (they would start a paragraph of their own) */
    CHECK(bounce_paragraph(&p, "a\nb@x.test", "first\n\n\n<forged@x>:\nno\n",
                           strlen("first\n\n\n<forged@x>:\nno\n")) == 0);
    CHECK_BSTR(p, "<a_b@x.test>:\nfirst\n<forged@x>:\nno\n\n");
    bstr_truncate(&p, 0);
    CHECK(bounce_paragraph(&p, "c@x.test", "\nno final newline", 17) == 0);
    CHECK_BSTR(p, "<c@x.test>:\nno final newline\n\n");
    bstr_free(&p);
}

static void
t_bounce_quote(void)
{
    struct send_conf c;

    memset(&c, 0, sizeof c);
    /* without bouncemaxbytes: the header and 10240 bytes of the body */
    CHECK_INT(bounce_quote(&c, 100000, 3000, false), 3000 + 10240);
    CHECK_INT(bounce_quote(&c, 5000, 3000, false), 5000); /* all of it */
    CHECK_INT(bounce_quote(&c, 100000, 3000, true), 3000); /* a notice */
    /* a header without end (no empty line) counts up to 64 KB */
    CHECK_INT(bounce_quote(&c, 10000000, 10000000, false), 65536 + 10240);
    CHECK_INT(bounce_quote(&c, 10000000, 10000000, true), 65536);
    /* with it: that many bytes from the start, header or not */
    c.bouncemaxbytes_set = true;
    c.bouncemaxbytes = 5000;
    CHECK_INT(bounce_quote(&c, 100000, 3000, false), 5000);
    CHECK_INT(bounce_quote(&c, 100000, 8000, false), 5000);
    CHECK_INT(bounce_quote(&c, 4000, 3000, false), 4000);
    CHECK_INT(bounce_quote(&c, 100000, 3000, true), 3000);
    CHECK_INT(bounce_quote(&c, 100000, 8000, true), 5000);
    c.bouncemaxbytes = 0; /* nothing of the original */
    CHECK_INT(bounce_quote(&c, 100000, 3000, false), 0);
}

static const struct test_case tests[] = {
    {"bounce copies: header and 10 KB, or bouncemaxbytes", t_bounce_quote},
    {"log texts: qmail's _ and /, then envelope bytes as \\ooo", t_log_texts},
    {"bounce paragraphs cannot forge others", t_bounce_paragraph},
    {"orphan sweep: old mess/ files without todo/ or info/, bounded slices",
     t_orphan_sweep},
    {"bounces quote remote replies, hostile ones too", t_bounce_remote_replies},
    {"retry schedule matches the admin guide's table", t_retry_table},
    {"heap pops in time order", t_heap_order},
    {"message map against a model", t_msgmap_model},
    {"bounce and notice composition", t_bounce_compose},
};

TEST_MAIN(tests)
