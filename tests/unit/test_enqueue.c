/* SPDX-License-Identifier: ISC */
/*
 * test_enqueue - the queue writer: a message lands whole, with the
 * envelope qmail-send expects, or nothing is left behind and e.why says
 * what failed (the file and the errno text) for qmail-queue's stderr.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bstr.h"
#include "enqueue.h"
#include "harness.h"
#include "outcome.h"
#include "qscan.h"
#include "setup.h"

static int home_n;

/* fresh_queue - a new instance; the cwd becomes its queue/. */
static void
fresh_queue(void)
{
    char home[512];
    struct setup_opts o = {0};

    snprintf(home, sizeof home, "%s/home%d", harness_tmpdir(), ++home_n);
    o.home = home;
    o.me = "unit.test";
    CHECK(setup_run(&o) == 0);
    CHECK(chdir(home) == 0);
    CHECK(chdir("queue") == 0);
}

static int
pipe_with(const char *data, size_t len)
{
    int p[2];

    if (pipe(p) == -1)
        return -1;
    if (write(p[1], data, len) != (ssize_t)len)
        return -1;
    close(p[1]);
    return p[0];
}

static size_t
count_files(const char *dir)
{
    struct qscan_ids ids = {0};
    size_t n;

    if (strcmp(dir, "mess") == 0 || strcmp(dir, "info") == 0) {
        if (qscan_split(dir, &ids) == -1)
            return 9999;
    } else if (qscan_dir(dir, &ids) == -1) {
        return 9999;
    }
    n = ids.n;
    qscan_free(&ids);
    return n;
}

static size_t
pid_files(void)
{
    DIR *d = opendir("pid");
    struct dirent *de;
    size_t n = 0;

    if (!d)
        return 9999;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static char *
slurp(const char *path, size_t *len)
{
    static char buf[65536];
    int fd = open(path, O_RDONLY);
    ssize_t r;

    if (fd == -1)
        return NULL;
    r = read(fd, buf, sizeof buf);
    close(fd);
    *len = r > 0 ? (size_t)r : 0;
    return buf;
}

static void
t_whole_message(void)
{
    struct enqueue e;
    static const char env[] = "Fa@b.test\0Tc@d.test\0Te@f.test\0";
    int in, envfd;
    size_t len;
    char *p;

    fresh_queue();
    enqueue_init(&e, 1234, 42, 1065864148);
    in = pipe_with("Subject: x\n\nbody\n", 17);
    envfd = pipe_with(env, sizeof env);
    CHECK_INT(enqueue_begin(&e), 0);
    CHECK_INT(enqueue_message(&e, in, "Received: test\n"), 0);
    CHECK_INT(enqueue_envelope(&e, envfd), 0);
    CHECK_INT(enqueue_commit(&e), 0);
    close(in);
    close(envfd);
    CHECK_INT(count_files("todo"), 1);
    CHECK_INT(count_files("mess"), 1);
    CHECK_INT(pid_files(), 0);
    p = slurp(e.messfn, &len);
    CHECK(p && len == 32 &&
          memcmp(p, "Received: test\nSubject: x\n\nbody\n", 32) == 0);
    p = slurp(e.todofn, &len);
    CHECK(p && len == 40 &&
          memcmp(p, "u1234\0p42\0Fa@b.test\0Tc@d.test\0Te@f.test\0", 40) ==
              0);
    CHECK_INT(e.rcpts, 2);
    CHECK(strncmp(e.messfn, "mess/", 5) == 0);
    {
        char want[QPATH_MAX];
        snprintf(want, sizeof want, "mess/%llu/%llu", e.id % 23, e.id);
        CHECK_STR(e.messfn, want);
    }
}

static void
check_nothing_left(void)
{
    CHECK_INT(count_files("todo"), 0);
    CHECK_INT(count_files("intd"), 0);
    CHECK_INT(count_files("mess"), 0);
    CHECK_INT(pid_files(), 0);
}

static void
t_bad_envelope_leaves_nothing(void)
{
    static const struct {
        const char *env;
        size_t len;
        int code;
        const char *why;
    } bad[] = {
        {"Xa\0\0", 4, QQ_ENVELOPE, "envelope format error"},
        /* no final NUL: short envelope */
        {"Fa\0Tb\0", 6, QQ_READ, "the envelope ended before its last record"},
        /* nothing at all: the caller abandoned the message (qq_abort);
         * nothing failed here, so there is nothing to say */
        {"", 0, QQ_READ, ""},
        {"Fa\0Qb\0\0", 7, QQ_ENVELOPE, "envelope format error"},
    };

    fresh_queue();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct enqueue e;
        int in = pipe_with("x\n", 2);
        int envfd = pipe_with(bad[i].env, bad[i].len);

        enqueue_init(&e, 1, 2, 3);
        CHECK_INT(enqueue_begin(&e), 0);
        CHECK_INT(enqueue_message(&e, in, ""), 0);
        if (!CHECK_INT(enqueue_envelope(&e, envfd), bad[i].code) ||
            !CHECK_STR(e.why, bad[i].why))
            printf("    case %zu\n", i);
        enqueue_cleanup(&e);
        close(in);
        close(envfd);
        check_nothing_left();
    }
}

static void
t_long_address(void)
{
    struct bstr env = BSTR_INIT;
    struct enqueue e;
    int in, envfd;

    fresh_queue();
    CHECK(bstr_catc(&env, 'F') == 0);
    for (int i = 0; i < 1004; i++)
        CHECK(bstr_catc(&env, 'a') == 0);
    CHECK(bstr_catb(&env, "\0\0", 2) == 0);
    in = pipe_with("x\n", 2);
    envfd = pipe_with(env.s, env.len);
    enqueue_init(&e, 1, 2, 3);
    CHECK_INT(enqueue_begin(&e), 0);
    CHECK_INT(enqueue_message(&e, in, ""), 0);
    CHECK_INT(enqueue_envelope(&e, envfd), QQ_ADDR_TOO_LONG);
    CHECK_STR(e.why, "an envelope address is longer than 1003 bytes");
    enqueue_cleanup(&e);
    close(in);
    close(envfd);
    check_nothing_left();
    bstr_free(&env);
}

static void
t_missing_todo_dir(void)
{
    struct enqueue e;
    static const char env[] = "Fa\0Tb\0";
    int in, envfd;

    fresh_queue();
    CHECK(rmdir("todo") == 0);
    in = pipe_with("x\n", 2);
    envfd = pipe_with(env, sizeof env);
    enqueue_init(&e, 1, 2, 3);
    CHECK_INT(enqueue_begin(&e), 0);
    CHECK_INT(enqueue_message(&e, in, ""), 0);
    CHECK_INT(enqueue_envelope(&e, envfd), 0);
    CHECK_INT(enqueue_commit(&e), QQ_TODO);
    {
        char want[2 * QPATH_MAX + 64];

        snprintf(want, sizeof want,
                 "unable to link %s to %s: No such file or directory",
                 e.intdfn, e.todofn);
        CHECK_STR(e.why, want);
    }
    enqueue_cleanup(&e);
    close(in);
    close(envfd);
    CHECK_INT(count_files("intd"), 0);
    CHECK_INT(count_files("mess"), 0);
}

/* Each step that fails names its file and the errno text; the first
 * failure is the one kept. */
static void
t_failure_texts(void)
{
    struct enqueue e;
    char want[2 * QPATH_MAX + 64];
    int in;

    fresh_queue();
    CHECK(rmdir("pid") == 0);
    enqueue_init(&e, 1, 77, 1700000000);
    CHECK_INT(enqueue_begin(&e), QQ_PID);
    CHECK_STR(e.why, "unable to create pid/77.1700000000.0: No such file or "
                     "directory");
    CHECK_INT(enqueue_fail(&e, QQ_WRITE, 0, "later"), QQ_WRITE);
    CHECK_STR(e.why, "unable to create pid/77.1700000000.0: No such file or "
                     "directory");
    enqueue_cleanup(&e);

    fresh_queue();
    enqueue_init(&e, 1, 2, 3);
    CHECK_INT(enqueue_begin(&e), 0);
    CHECK_STR(e.why, "");
    in = open(".", O_RDONLY | O_DIRECTORY); /* read(2): EISDIR */
    CHECK_INT(enqueue_message(&e, in, "Received: x\n"), QQ_READ);
    CHECK_STR(e.why, "unable to read the message: Is a directory");
    close(in);
    enqueue_cleanup(&e);
    check_nothing_left();

    /* a message file that cannot be written (its fd is read-only) */
    fresh_queue();
    enqueue_init(&e, 1, 2, 3);
    CHECK_INT(enqueue_begin(&e), 0);
    close(e.messfd);
    e.messfd = open(e.messfn, O_RDONLY);
    CHECK_INT(enqueue_write(&e, "x", 1), QQ_WRITE);
    snprintf(want, sizeof want, "unable to write %s: Bad file descriptor",
             e.messfn);
    CHECK_STR(e.why, want);
    enqueue_close(&e);
    enqueue_cleanup(&e);
    check_nothing_left();

    /* an envelope with bytes after its end (batch mode's frame) */
    fresh_queue();
    enqueue_init(&e, 1, 2, 3);
    CHECK_INT(enqueue_begin(&e), 0);
    CHECK_INT(enqueue_envelope_buf(&e, "Fa\0\0x", 5), QQ_ENVELOPE);
    CHECK_STR(e.why, "envelope format error: bytes after its end");
    enqueue_close(&e);
    enqueue_cleanup(&e);
    check_nothing_left();

    /* a text too long for the buffer is cut, never overrun */
    {
        char big[ENQUEUE_WHY_MAX + 100];

        enqueue_init(&e, 1, 2, 3);
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        CHECK_INT(enqueue_fail(&e, QQ_BUG, 2, "%s", big), QQ_BUG);
        CHECK_INT(strlen(e.why), sizeof e.why - 1);
    }
}

static void
t_qstat_counts(void)
{
    struct qscan_counts c;

    fresh_queue();
    for (int i = 0; i < 3; i++) {
        struct enqueue e;
        static const char env[] = "Fa\0Tb\0";
        int in = pipe_with("x\n", 2), envfd = pipe_with(env, sizeof env);

        enqueue_init(&e, 1, 2, 3);
        CHECK_INT(enqueue_begin(&e), 0);
        CHECK_INT(enqueue_message(&e, in, ""), 0);
        CHECK_INT(enqueue_envelope(&e, envfd), 0);
        CHECK_INT(enqueue_commit(&e), 0);
        close(in);
        close(envfd);
    }
    CHECK(qscan_count(&c) == 0);
    CHECK_INT(c.messages, 3);
    CHECK_INT(c.todo, 3);
}

static const struct test_case tests[] = {
    {"whole message and qmail envelope", t_whole_message},
    {"bad envelopes leave nothing", t_bad_envelope_leaves_nothing},
    {"address over 1003 bytes: exit 11", t_long_address},
    {"todo/ missing: exit 66, nothing left", t_missing_todo_dir},
    {"failures say what failed and why", t_failure_texts},
    {"qstat counts committed messages", t_qstat_counts},
};

TEST_MAIN(tests)
