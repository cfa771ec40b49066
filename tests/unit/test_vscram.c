/* SPDX-License-Identifier: ISC */
/*
 * test_vscram - SCRAM keys beside the hashes: the record text, keys put
 * and got back, stale keys (made with another hash) not used, records
 * of other accounts kept by each rebuild, removal, the file's mode, a
 * damaged file; the server secret (made once, private, damaged); the
 * made-up keys of unknown users (stable per name, different per name).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "vscram.h"

#define HASH "$1$qngsalt$KV/6xc1zTZAmKFJ86ffBG/"

static const unsigned char salt[16] = "0123456789abcdef";

static void
t_record(void)
{
    struct scram_keys k, k2;
    struct bstr rec = BSTR_INIT, h = BSTR_INIT;

    CHECK(scram_keys_make("pencil", 6, salt, 16, 4096, &k) == 0);
    CHECK(vscram_record(&rec, &k, HASH) == 0);
    CHECK(strncmp(rec.s, "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$", 44) ==
          0);
    CHECK(rec.len > strlen(HASH) &&
          strcmp(rec.s + rec.len - strlen(HASH) - 1, " " HASH) == 0);
    CHECK(vscram_parse(rec.s, rec.len, &k2, &h) == 0);
    CHECK(memcmp(&k, &k2, sizeof k) == 0);
    CHECK_BSTR(h, HASH);
    CHECK(vscram_parse(rec.s, rec.len - strlen(HASH) - 1, &k2, &h) == -1);
    CHECK(vscram_parse(rec.s, rec.len - 1 - strlen(HASH), &k2, &h) == -1);
    bstr_truncate(&rec, 0);
    CHECK(vscram_record(&rec, &k, "a b") == -1);
    CHECK(vscram_record(&rec, &k, "a:b") == -1);
    CHECK(vscram_record(&rec, &k, "") == -1);
    bstr_free(&rec);
    bstr_free(&h);
}

static void
t_put_get(void)
{
    const char *dir = harness_tmpdir();
    struct scram_keys k, a, got;
    struct bstr p = BSTR_INIT;
    struct stat st;

    CHECK(scram_keys_make("pencil", 6, salt, 16, 4096, &k) == 0);
    CHECK(scram_keys_make("other", 5, salt, 16, 4096, &a) == 0);
    CHECK_INT(vscram_get(dir, "joe", HASH, &got), 0); /* no file */
    CHECK(vscram_put(dir, getuid(), getgid(), "joe", &k, HASH, 0) == 0);
    CHECK(vscram_put(dir, getuid(), getgid(), "ann", &a, "$1$x$y", 0) == 0);
    CHECK_INT(vscram_get(dir, "joe", HASH, &got), 1);
    CHECK(memcmp(&got, &k, sizeof k) == 0);
    CHECK_INT(vscram_get(dir, "ann", "$1$x$y", &got), 1);
    CHECK(memcmp(&got, &a, sizeof a) == 0);
    /* the password changed under another tool: stale */
    CHECK_INT(vscram_get(dir, "joe", "$1$qngsalt$other", &got), 0);
    CHECK_INT(vscram_get(dir, "nobody", HASH, &got), 0);
    /* replaced, then removed; the other account stays */
    CHECK(vscram_put(dir, getuid(), getgid(), "joe", &a, HASH, 0) == 0);
    CHECK_INT(vscram_get(dir, "joe", HASH, &got), 1);
    CHECK(memcmp(&got, &a, sizeof a) == 0);
    CHECK(vscram_put(dir, getuid(), getgid(), "joe", NULL, NULL, 0) == 0);
    CHECK_INT(vscram_get(dir, "joe", HASH, &got), 0);
    CHECK_INT(vscram_get(dir, "ann", "$1$x$y", &got), 1);
    CHECK(bstr_catf(&p, "%s/" VSCRAM_FILE, dir) == 0);
    CHECK(stat(p.s, &st) == 0 && (st.st_mode & 0777) == 0600);
    bstr_truncate(&p, 0);
    CHECK(bstr_catf(&p, "%s/" VSCRAM_TMP, dir) == 0);
    CHECK(access(p.s, F_OK) == -1); /* no temporary file left */
    /* the lock is another tool's: one try, then ETIMEDOUT */
    {
        struct bstr l = BSTR_INIT;
        int fd;
        pid_t pid;

        CHECK(bstr_catf(&l, "%s/.vpasswd.lock", dir) == 0);
        fd = open(l.s, O_RDWR);
        CHECK(fd != -1);
        pid = fork();
        if (pid == 0) {
            /* flock is per open file: the child's own open conflicts */
            int fd2 = open(l.s, O_RDWR);

            _exit(fd2 != -1 && flock(fd2, LOCK_EX) == 0 ? (sleep(2), 0) : 1);
        }
        usleep(300000);
        errno = 0;
        CHECK(vscram_put(dir, getuid(), getgid(), "x", &k, HASH, 0) == -1);
        CHECK_INT(errno, ETIMEDOUT);
        close(fd);
        bstr_free(&l);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    /* a damaged file: nothing found, and a put fails without harm */
    bstr_truncate(&p, 0);
    CHECK(bstr_catf(&p, "%s/" VSCRAM_FILE, dir) == 0);
    CHECK(truncate(p.s, 100) == 0);
    CHECK(vscram_get(dir, "ann", "$1$x$y", &got) <= 0);
    CHECK(vscram_put(dir, getuid(), getgid(), "joe", &k, HASH, 0) == -1);
    bstr_free(&p);
}

static void
t_secret(void)
{
    const char *home = harness_tmpdir();
    unsigned char s1[VSCRAM_SECRET_LEN], s2[VSCRAM_SECRET_LEN];
    struct bstr p = BSTR_INIT;
    struct stat st;
    FILE *f;

    CHECK(vscram_secret(home, getuid(), getgid(), s1) == 0);
    CHECK(vscram_secret(home, getuid(), getgid(), s2) == 0);
    CHECK(memcmp(s1, s2, sizeof s1) == 0);
    CHECK(bstr_catf(&p, "%s/" VSCRAM_SECRET, home) == 0);
    CHECK(stat(p.s, &st) == 0 && (st.st_mode & 0777) == 0600 &&
          st.st_size == 65);
    f = fopen(p.s, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("not hex\n", f);
        fclose(f);
    }
    errno = 0;
    CHECK(vscram_secret(home, getuid(), getgid(), s2) == -1);
    CHECK_INT(errno, EINVAL);
    bstr_free(&p);
}

static void
t_fake(void)
{
    unsigned char secret[VSCRAM_SECRET_LEN];
    struct scram_keys a, b, c;

    memset(secret, 7, sizeof secret);
    CHECK(vscram_fake(secret, "bob@dom.test", 12, &a) == 0);
    CHECK(vscram_fake(secret, "bob@dom.test", 12, &b) == 0);
    CHECK(vscram_fake(secret, "eve@dom.test", 12, &c) == 0);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
    CHECK(memcmp(a.salt, c.salt, SCRAM_SALT_LEN) != 0);
    CHECK_INT(a.iter, SCRAM_ITER_DEFAULT);
    CHECK_INT(a.saltlen, SCRAM_SALT_LEN);
    secret[0] = 8;
    CHECK(vscram_fake(secret, "bob@dom.test", 12, &b) == 0);
    CHECK(memcmp(a.salt, b.salt, SCRAM_SALT_LEN) != 0);
}

static const struct test_case tests[] = {
    {"the record: verifier text and hash", t_record},
    {"put, get, stale, removal, lock, damage", t_put_get},
    {"the server secret", t_secret},
    {"made-up keys for unknown users", t_fake},
};

TEST_MAIN(tests)
