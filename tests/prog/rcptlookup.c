/* SPDX-License-Identifier: ISC */
/*
 * rcptlookup - bench/vpop.py's micro-benchmark of the RCPT-time recipient
 * map: rcptmap_check() called as qmail-smtpd calls it for each RCPT
 * (from $QMAIL_HOME, home NULL, the domain's map opened, read and closed
 * every time), over a list of addresses read from stdin.
 *
 *   rcptlookup HOME COUNT SECONDS [MODE] < LIST
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
 *
 * MODE "map" (the default) calls rcptmap_check().  MODE "read" does the
 * same lookups for a plain domain (policy, real domain, staleness, the
 * name, the over-quota flag) the same way, except that the map is read()
 * into a buffer instead of mmap()ed by tinycdb's cdb_init: a measure of
 * what mapping and unmapping the small file costs per RCPT.  It fills
 * tinycdb's struct cdb by hand, as cdb_init does, so it is a bench tool
 * only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* rec - the value of key in the in-memory cdb c: its length, or -1. */
static long
rec(struct cdb *c, const char *key, size_t klen, const char **val)
{
    if (cdb_find(c, key, (unsigned)klen) <= 0)
        return -1;
    *val = cdb_get(c, cdb_datalen(c), cdb_datapos(c));
    return *val ? (long)cdb_datalen(c) : -1;
}

/*
 * read_check - rcptmap_check's lookups for a plain (not alias, not
 * catch-all) domain with the map read into memory: open, read, close,
 * the directory's mtime against "\0mtime", the name, the over-quota
 * flag.  The verdict: RCPTMAP_OK, RCPTMAP_UNKNOWN, or RCPTMAP_ERROR.
 */
static enum rcptmap_verdict
read_check(const struct entry *e, unsigned char *buf, size_t cap)
{
    char path[600], now[64];
    const char *dom = e->addr + e->at + 1, *v;
    struct cdb c;
    struct stat st;
    ssize_t n;
    long l;
    int fd;

    if (snprintf(path, sizeof path, "%s/%s", RCPTMAP_DIR, dom) >=
        (int)sizeof path)
        return RCPTMAP_ERROR;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return RCPTMAP_ERROR;
    n = read(fd, buf, cap);
    close(fd);
    if (n < 2048 || (size_t)n == cap)
        return RCPTMAP_ERROR;
    memset(&c, 0, sizeof c);
    c.cdb_fd = -1;
    c.cdb_fsize = (unsigned)n;
    c.cdb_mem = buf;
    c.cdb_dend = 2048; /* as cdb_init: the first table's position */
    {
        unsigned d = (unsigned)buf[0] | (unsigned)buf[1] << 8 |
                     (unsigned)buf[2] << 16 | (unsigned)buf[3] << 24;

        c.cdb_dend = d < 2048 ? 2048 : d >= c.cdb_fsize ? c.cdb_fsize : d;
    }
    if ((l = rec(&c, "\0policy", 7, &v)) == 6 && memcmp(v, "accept", 6) == 0)
        return RCPTMAP_ERROR; /* not the plain case */
    if (rec(&c, "\0real", 5, &v) < 0)
        return RCPTMAP_ERROR;
    if ((l = rec(&c, "\0dir", 4, &v)) < 0 || (size_t)l >= sizeof path)
        return RCPTMAP_ERROR;
    memcpy(path, v, (size_t)l);
    path[l] = '\0';
    if (stat(path, &st) == -1)
        return RCPTMAP_ERROR;
    snprintf(now, sizeof now, "%lld.%09ld", (long long)st.st_mtim.tv_sec,
             (long)st.st_mtim.tv_nsec);
    if ((l = rec(&c, "\0mtime", 6, &v)) < 0 || (size_t)l != strlen(now) ||
        memcmp(v, now, (size_t)l) != 0)
        return RCPTMAP_ERROR; /* stale */
    if ((l = rec(&c, e->addr, e->at, &v)) < 0)
        return RCPTMAP_UNKNOWN;
    if (l > 0 && v[0] == RCPTMAP_MAILBOX) {
        if (snprintf(path, sizeof path, "%s/%.*s", RCPTMAP_OVERQUOTA_DIR,
                     (int)e->len, e->addr) >= (int)sizeof path)
            return RCPTMAP_ERROR;
        if (stat(path, &st) == 0)
            return RCPTMAP_OVERQUOTA;
    }
    return RCPTMAP_OK;
}

int
main(int argc, char **argv)
{
    struct rcptmap_result res = {RCPTMAP_NOMAP, BSTR_INIT};
    struct entry *list;
    int64_t t0, t_end, hit_ns = 0, miss_ns = 0;
    unsigned long count, seconds, done = 0, wrong = 0;
    size_t n;

    static unsigned char buf[1 << 20];
    bool readmode;

    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: rcptlookup HOME COUNT SECONDS [map|read] "
                        "< LIST\n");
        return 111;
    }
    readmode = argc == 5 && strcmp(argv[4], "read") == 0;
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

        if (readmode)
            res.verdict = read_check(e, buf, sizeof buf);
        else if (rcptmap_check(NULL, e->addr, e->at, e->addr + e->at + 1,
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
