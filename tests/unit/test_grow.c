/* SPDX-License-Identifier: ISC */
/*
 * test_grow - the doubling-array primitive: each row gives the capacity
 * before, the elements needed, the element size and the first capacity,
 * and the result and capacity grow must leave.  The elements already
 * there must survive a growth, and a refusal must leave the array as it
 * was (same pointer, same capacity, same bytes).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "harness.h"

struct row {
    const char *name;
    size_t cap, need, elsize, first;
    int rc;       /* 0 or -1 (then errno ENOMEM) */
    size_t want;  /* capacity afterwards */
};

static const struct row rows[] = {
    /* first growth: the first capacity, whatever the element size */
    {"first growth", 0, 1, 8, 64, 0, 64},
    {"first growth, elsize 1", 0, 1, 1, 16, 0, 16},
    {"first 0 is taken as 1", 0, 1, 4, 0, 0, 1},
    {"first 0, need 5", 0, 5, 4, 0, 0, 8},
    /* doubling, as the eight call sites did by hand */
    {"doubling", 64, 65, 24, 64, 0, 128},
    {"doubling, elsize 1", 16, 17, 1, 16, 0, 32},
    {"doubling from a small cap", 1, 2, 8, 1024, 0, 2},
    /* need larger than double: doubled as often as it takes */
    {"need past double", 8, 100, 4, 8, 0, 128},
    {"need past first", 0, 100, 4, 16, 0, 128},
    {"need exactly a power", 16, 64, 2, 16, 0, 64},
    /* enough room already: nothing changes */
    {"need == cap", 64, 64, 8, 64, 0, 64},
    {"need < cap", 64, 3, 8, 64, 0, 64},
    {"need 0 on empty", 0, 0, 8, 64, 0, 0},
    /* need * elsize does not fit in a size_t: refused before realloc */
    {"need*elsize overflows", 4, SIZE_MAX / 16 + 1, 16, 4, -1, 4},
    {"need SIZE_MAX, elsize 2", 4, SIZE_MAX, 2, 4, -1, 4},
    {"need SIZE_MAX, elsize 24", 8, SIZE_MAX, 24, 8, -1, 8},
    {"overflow on empty", 0, SIZE_MAX / 8 + 1, 8, 64, -1, 0},
    {"elsize 0 refused", 4, 5, 0, 4, -1, 4},
};

static void
fill(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 7 + 3);
}

static int
same(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 7 + 3))
            return 0;
    return 1;
}

static void
t_table(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        size_t bytes = r->cap * r->elsize;
        unsigned char *v = NULL, *before;
        size_t cap = r->cap;
        int rc;

        if (bytes) {
            v = malloc(bytes);
            if (!CHECK(v != NULL))
                return;
            fill(v, bytes);
        }
        before = v;
        errno = 0;
        rc = grow(&v, &cap, r->need, r->elsize, r->first);
        if (!CHECK_INT(rc, r->rc) || !CHECK_INT(cap, r->want))
            CHECK_STR(r->name, "");  /* names the failing row */
        if (rc == -1) {
            CHECK_INT(errno, ENOMEM);
            CHECK(v == before);
        } else if (r->need <= r->cap) {
            CHECK(v == before);
        } else {
            CHECK(v != NULL);
            /* every byte of the new capacity is writable */
            memset(v + bytes, 0xa5, cap * r->elsize - bytes);
        }
        CHECK(same(v, bytes));
        free(v);
    }
}

struct item {
    unsigned long long id;
    char tag[13];
};

/* The way the call sites use it: one more element at a time. */
static void
t_push_one_at_a_time(void)
{
    struct item *v = NULL;
    size_t n = 0, cap = 0, grew = 0, last = 0;

    for (unsigned long long k = 0; k < 20000; k++) {
        if (!CHECK(grow(&v, &cap, n + 1, sizeof *v, 8) == 0))
            break;
        if (cap != last) {
            /* 8, 16, 32, ...: a power of two times the first */
            CHECK_INT(cap, last ? last * 2 : 8);
            last = cap;
            grew++;
        }
        v[n].id = k;
        memset(v[n].tag, (int)(k & 0x7f), sizeof v[n].tag);
        n++;
    }
    CHECK_INT(n, 20000);
    CHECK_INT(cap, 8 << 12); /* 32768 */
    CHECK_INT(grew, 13);
    for (size_t i = 0; i < n; i++)
        if (!CHECK(v[i].id == i && v[i].tag[12] == (char)(i & 0x7f)))
            break;
    free(v);
}

/* A refusal in the middle of use keeps what was pushed. */
static void
t_refusal_keeps_contents(void)
{
    unsigned long long *v = NULL, *before;
    size_t cap = 0;

    CHECK(grow(&v, &cap, 3, sizeof *v, 4) == 0);
    CHECK_INT(cap, 4);
    v[0] = 11;
    v[1] = 22;
    v[2] = 33;
    before = v;
    errno = 0;
    CHECK(grow(&v, &cap, SIZE_MAX / sizeof *v + 1, sizeof *v, 4) == -1);
    CHECK_INT(errno, ENOMEM);
    CHECK(v == before);
    CHECK_INT(cap, 4);
    CHECK(v[0] == 11 && v[1] == 22 && v[2] == 33);
    CHECK(grow(&v, &cap, 5, sizeof *v, 4) == 0);
    CHECK_INT(cap, 8);
    CHECK(v[0] == 11 && v[1] == 22 && v[2] == 33);
    free(v);
}

static const struct test_case tests[] = {
    {"table of growths and refusals", t_table},
    {"one element at a time", t_push_one_at_a_time},
    {"refusal keeps contents", t_refusal_keeps_contents},
};

TEST_MAIN(tests)
