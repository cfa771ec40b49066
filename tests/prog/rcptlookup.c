/* SPDX-License-Identifier: ISC */
/*
 * rcptlookup - bench/vpop.py's micro-benchmark of the RCPT-time recipient
 * map: rcptmap_check() called as qmail-smtpd calls it for each RCPT
 * (from $QMAIL_HOME, home NULL, the domain's map opened, read and closed
 * every time), over a list of addresses read from stdin.
 *
 *   rcptlookup HOME COUNT SECONDS < LIST
 *
 * LIST has one address per line, '+' before one that must be taken
 * (RCPTMAP_OK) and '-' before one that must be refused
 * (RCPTMAP_UNKNOWN).  The list is cycled until COUNT lookups are done or
 * SECONDS have passed, whichever comes first.  Prints one line
 *
 *   lookups N seconds S hit_ns H miss_ns M wrong W
 *
 * (H and M: total nanoseconds spent in the calls for '+' and '-'
 * addresses) and exits 0, 1 when some verdict was wrong (the first on
 * stderr), or 111 on trouble.  Reads nothing but the maps.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rcptmap.h"

#define LIST_MAX 1000000
#define LINE_MAX_LEN 1024

struct entry {
    char *addr;
    size_t at; /* offset of the '@' */
    size_t len;
    bool taken;
};

static int64_t
ns_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
die(const char *what)
{
    fprintf(stderr, "rcptlookup: %s: %s\n", what, strerror(errno));
    exit(111);
}

/* read_list - the addresses of stdin into *list; their number. */
static size_t
read_list(struct entry **list)
{
    char line[LINE_MAX_LEN];
    size_t n = 0, cap = 0;

    *list = NULL;
    while (n < LIST_MAX && fgets(line, sizeof line, stdin)) {
        size_t len = strcspn(line, "\r\n");
        char *at;

        line[len] = '\0';
        if (len < 4 || (line[0] != '+' && line[0] != '-') ||
            !(at = strrchr(line, '@'))) {
            fprintf(stderr, "rcptlookup: bad line: %s\n", line);
            exit(111);
        }
        if (n == cap) {
            struct entry *bigger;

            cap = cap ? 2 * cap : 1024;
            bigger = realloc(*list, cap * sizeof **list);
            if (!bigger)
                die("realloc");
            *list = bigger;
        }
        (*list)[n].addr = strdup(line + 1);
        if (!(*list)[n].addr)
            die("strdup");
        (*list)[n].at = (size_t)(at - line - 1);
        (*list)[n].len = len - 1;
        (*list)[n].taken = line[0] == '+';
        n++;
    }
    return n;
}

int
main(int argc, char **argv)
{
    struct rcptmap_result res = {RCPTMAP_NOMAP, BSTR_INIT};
    struct entry *list;
    int64_t t0, t_end, hit_ns = 0, miss_ns = 0;
    unsigned long count, seconds, done = 0, wrong = 0;
    size_t n;

    if (argc != 4) {
        fprintf(stderr, "usage: rcptlookup HOME COUNT SECONDS < LIST\n");
        return 111;
    }
    count = strtoul(argv[2], NULL, 10);
    seconds = strtoul(argv[3], NULL, 10);
    if (chdir(argv[1]) == -1)
        die(argv[1]);
    n = read_list(&list);
    if (n == 0) {
        fprintf(stderr, "rcptlookup: no addresses on stdin\n");
        return 111;
    }
    t0 = ns_now();
    t_end = t0 + (int64_t)seconds * 1000000000;
    while (done < count) {
        const struct entry *e = &list[done % n];
        int64_t a = ns_now(), b;
        enum rcptmap_verdict want = e->taken ? RCPTMAP_OK : RCPTMAP_UNKNOWN;

        if (rcptmap_check(NULL, e->addr, e->at, e->addr + e->at + 1,
                          e->len - e->at - 1, time(NULL), &res) == -1)
            die("rcptmap_check");
        b = ns_now();
        if (e->taken)
            hit_ns += b - a;
        else
            miss_ns += b - a;
        if (res.verdict != want && wrong++ == 0)
            fprintf(stderr, "rcptlookup: %s: verdict %d (%.*s), want %d\n",
                    e->addr, (int)res.verdict, (int)res.why.len,
                    res.why.s ? res.why.s : "", (int)want);
        done++;
        if (done % 256 == 0 && b > t_end)
            break;
    }
    printf("lookups %lu seconds %.6f hit_ns %lld miss_ns %lld wrong %lu\n",
           done, (double)(ns_now() - t0) / 1e9, (long long)hit_ns,
           (long long)miss_ns, wrong);
    rcptmap_result_free(&res);
    for (size_t i = 0; i < n; i++)
        free(list[i].addr);
    free(list);
    return wrong ? 1 : 0;
}
