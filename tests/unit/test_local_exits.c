/* SPDX-License-Identifier: ISC */
/*
 * test_local_exits - the exit-status tables (a .qmail program's status
 * for qmail-local, qmail-local's for qmail-lspawn's report) and the
 * report text kept from a child's output.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "exits.h"
#include "harness.h"
#include "lspawn.h"

/* Wait statuses made the way the kernel makes them. */
#define EXITED(code) ((code) << 8)
#define KILLED(sig) (sig)

static const struct {
    int status;
    enum prog_result prog;
    char final;
} status_cases[] = {
    {EXITED(0), PROG_OK, 'K'},
    {EXITED(99), PROG_STOP, 'Z'},
    {EXITED(100), PROG_PERM, 'D'},
    {EXITED(111), PROG_TEMP, 'Z'},
    {EXITED(64), PROG_PERM, 'Z'},
    {EXITED(65), PROG_PERM, 'Z'},
    {EXITED(70), PROG_PERM, 'Z'},
    {EXITED(76), PROG_PERM, 'Z'},
    {EXITED(77), PROG_PERM, 'Z'},
    {EXITED(78), PROG_PERM, 'Z'},
    {EXITED(112), PROG_PERM, 'Z'},
    {EXITED(1), PROG_TEMP, 'Z'},
    {EXITED(2), PROG_TEMP, 'Z'},
    {EXITED(66), PROG_TEMP, 'Z'},
    {EXITED(67), PROG_TEMP, 'Z'},
    {EXITED(75), PROG_TEMP, 'Z'},
    {EXITED(101), PROG_TEMP, 'Z'},
    {EXITED(127), PROG_TEMP, 'Z'},
    {EXITED(255), PROG_TEMP, 'Z'},
    {KILLED(SIGKILL), PROG_TEMP, 'Z'},
    {KILLED(SIGSEGV), PROG_TEMP, 'Z'},
    {KILLED(SIGSEGV) | 0x80, PROG_TEMP, 'Z'}, /* with a core file */
    {KILLED(SIGTERM), PROG_TEMP, 'Z'},
};

static void
t_statuses(void)
{
    for (size_t i = 0; i < sizeof status_cases / sizeof status_cases[0];
         i++) {
        int st = status_cases[i].status;

        if (!CHECK_INT(exits_program(st), status_cases[i].prog) ||
            !CHECK_INT(exits_final(st), status_cases[i].final))
            printf("    status 0x%x\n", st);
    }
    CHECK_INT(exits_rcpt('K'), 'r');
    CHECK_INT(exits_rcpt('D'), 'h');
    CHECK_INT(exits_rcpt('Z'), 's');
}

static void
t_capture_short(void)
{
    struct capture c;
    struct bstr t = BSTR_INIT;

    capture_init(&c);
    CHECK(capture_text(&c, &t) == 0);
    CHECK_INT(t.len, 0);
    CHECK(capture_add(&c, "did 0+0+1\n", 10) == 0);
    CHECK(capture_text(&c, &t) == 0);
    CHECK_BSTR(t, "did 0+0+1\n");
    capture_free(&c);
    bstr_free(&t);
}

static void
t_capture_long(void)
{
    /* every split of a long output keeps the same head and tail */
    static char out[5000];
    struct bstr t = BSTR_INIT, want = BSTR_INIT;

    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (char)('a' + i % 26);
    CHECK(bstr_catb(&want, out, SPAWN_HEAD) == 0);
    CHECK(bstr_cats(&want, "...") == 0);
    CHECK(bstr_catb(&want, out + sizeof out - SPAWN_TAIL, SPAWN_TAIL) == 0);
    for (size_t step = 1; step <= sizeof out; step = step * 3 + 1) {
        struct capture c;

        capture_init(&c);
        for (size_t off = 0; off < sizeof out; off += step)
            CHECK(capture_add(&c, out + off,
                              sizeof out - off < step ? sizeof out - off
                                                      : step) == 0);
        CHECK(capture_text(&c, &t) == 0);
        if (!CHECK(t.len == want.len && memcmp(t.s, want.s, t.len) == 0))
            printf("    step %zu\n", step);
        CHECK(t.len <= 2000); /* fits a report (SPAWN_TEXT_MAX) */
        capture_free(&c);
    }
    bstr_free(&t);
    bstr_free(&want);
}

static void
t_capture_exact_fit(void)
{
    /* head plus a full tail, nothing left out: no "..." */
    static char out[SPAWN_HEAD + SPAWN_TAIL];
    struct capture c;
    struct bstr t = BSTR_INIT;

    memset(out, 'x', sizeof out);
    capture_init(&c);
    CHECK(capture_add(&c, out, sizeof out) == 0);
    CHECK(capture_text(&c, &t) == 0);
    CHECK_INT(t.len, sizeof out);
    CHECK(memchr(t.s, '.', t.len) == NULL);
    capture_free(&c);
    bstr_free(&t);
}

static const struct test_case cases[] = {
    {"exit status tables", t_statuses},
    {"short output", t_capture_short},
    {"long output: head and tail", t_capture_long},
    {"output that just fits", t_capture_exact_fit},
};

TEST_MAIN(cases)
