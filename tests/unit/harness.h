/* SPDX-License-Identifier: ISC */
/*
 * harness - the unit-test harness: check macros that record file:line,
 * a table of named cases, and the summary line "N passed, N failed".
 * A case passes when none of its checks failed.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct test_case {
    const char *name;
    void (*fn)(void);
};

bool harness_check(bool ok, const char *expr, const char *file, int line);
bool harness_check_long(long long a, long long b, const char *ea,
                        const char *eb, const char *file, int line);
bool harness_check_str(const char *a, const char *b, const char *ea,
                       const char *eb, const char *file, int line);
bool harness_check_mem(const void *a, size_t alen, const void *b,
                       size_t blen, const char *ea, const char *file,
                       int line);
int harness_run(const struct test_case *cases, size_t n);
const char *harness_tmpdir(void);

#define CHECK(c) harness_check((c), #c, __FILE__, __LINE__)
#define CHECK_INT(a, b) \
    harness_check_long((long long)(a), (long long)(b), #a, #b, __FILE__, \
                       __LINE__)
#define CHECK_STR(a, b) harness_check_str((a), (b), #a, #b, __FILE__, __LINE__)
/* CHECK_BSTR - a struct bstr's bytes equal the C string want exactly. */
#define CHECK_BSTR(bs, want) \
    harness_check_mem((bs).s, (bs).len, (want), strlen(want), #bs, \
                      __FILE__, __LINE__)

#define TEST_MAIN(cases) \
    int main(void) \
    { \
        return harness_run(cases, sizeof(cases) / sizeof((cases)[0])); \
    }

#endif
