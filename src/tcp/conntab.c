/* SPDX-License-Identifier: ISC */
/*
 * conntab - live children by pid and by client address (see conntab.h).
 *
 * Linear probing with backward-shift deletion: no tombstones, so a table
 * that has seen millions of connections probes as little as a new one.
 * A table holds at most `limit` entries in 2 * limit slots or more.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "conntab.h"

static uint64_t
mix(uint64_t h)
{
    h ^= h >> 31;
    h *= 0x7fb5d329728ea185ULL;
    h ^= h >> 27;
    h *= 0x81dadef4bc2dd44dULL;
    h ^= h >> 33;
    return h;
}

static size_t
hash_ip(const struct conntab *t, const unsigned char ip[16])
{
    uint64_t a, b;

    memcpy(&a, ip, 8);
    memcpy(&b, ip + 8, 8);
    return (size_t)mix(mix(a ^ t->seed) ^ b);
}

static size_t
hash_pid(const struct conntab *t, pid_t pid)
{
    return (size_t)mix((uint64_t)(uint32_t)pid ^ t->seed);
}

/*
 * conntab_init - an empty table for at most limit children
 * (1..CONNTAB_MAX).  Returns 0, or -1 with errno EINVAL or ENOMEM.
 */
int
conntab_init(struct conntab *t, size_t limit)
{
    size_t size = 2;

    memset(t, 0, sizeof *t);
    if (limit == 0 || limit > CONNTAB_MAX) {
        errno = EINVAL;
        return -1;
    }
    while (size < 2 * limit)
        size *= 2;
    t->kids = calloc(size, sizeof *t->kids);
    t->ips = calloc(size, sizeof *t->ips);
    if (!t->kids || !t->ips) {
        conntab_free(t);
        errno = ENOMEM;
        return -1;
    }
    t->limit = limit;
    t->mask = size - 1;
    if (getrandom(&t->seed, sizeof t->seed, GRND_NONBLOCK) !=
        (ssize_t)sizeof t->seed)
        t->seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
    return 0;
}

/* conntab_free - release the tables (t may be half initialised). */
void
conntab_free(struct conntab *t)
{
    free(t->kids);
    free(t->ips);
    t->kids = NULL;
    t->ips = NULL;
}

static size_t
find_ip(const struct conntab *t, const unsigned char ip[16])
{
    size_t i = hash_ip(t, ip) & t->mask;

    while (t->ips[i].count && memcmp(t->ips[i].ip, ip, 16) != 0)
        i = (i + 1) & t->mask;
    return i;
}

static size_t
find_pid(const struct conntab *t, pid_t pid)
{
    size_t i = hash_pid(t, pid) & t->mask;

    while (t->kids[i].pid && t->kids[i].pid != pid)
        i = (i + 1) & t->mask;
    return i;
}

/* conntab_count - how many live children serve address ip. */
size_t
conntab_count(const struct conntab *t, const unsigned char ip[16])
{
    return t->ips[find_ip(t, ip)].count;
}

/*
 * conntab_add - record child pid serving ip.
 * Returns 0, or -1 with errno ENOSPC when limit children are recorded
 * EEXIST when pid already is, or EINVAL when pid is not positive.
 */
int
conntab_add(struct conntab *t, pid_t pid, const unsigned char ip[16])
{
    size_t k, i;

    if (pid <= 0) {
        errno = EINVAL;
        return -1;
    }
    if (t->n >= t->limit) {
        errno = ENOSPC;
        return -1;
    }
    k = find_pid(t, pid);
    if (t->kids[k].pid) {
        errno = EEXIST;
        return -1;
    }
    t->kids[k].pid = pid;
    memcpy(t->kids[k].ip, ip, 16);
    i = find_ip(t, ip);
    if (!t->ips[i].count)
        memcpy(t->ips[i].ip, ip, 16);
    t->ips[i].count++;
    t->n++;
    return 0;
}

/* Is slot home..at a chain that passes over hole?  (all mod size) */
static int
stays(size_t home, size_t hole, size_t at)
{
    if (hole <= at)
        return home > hole && home <= at;
    return home > hole || home <= at;
}

static void
del_kid(struct conntab *t, size_t hole)
{
    for (size_t j = (hole + 1) & t->mask; t->kids[j].pid;
         j = (j + 1) & t->mask) {
        size_t home = hash_pid(t, t->kids[j].pid) & t->mask;
        if (stays(home, hole, j))
            continue;
        t->kids[hole] = t->kids[j];
        hole = j;
    }
    memset(&t->kids[hole], 0, sizeof t->kids[hole]);
}

static void
del_ip(struct conntab *t, size_t hole)
{
    for (size_t j = (hole + 1) & t->mask; t->ips[j].count;
         j = (j + 1) & t->mask) {
        size_t home = hash_ip(t, t->ips[j].ip) & t->mask;
        if (stays(home, hole, j))
            continue;
        t->ips[hole] = t->ips[j];
        hole = j;
    }
    memset(&t->ips[hole], 0, sizeof t->ips[hole]);
}

/*
 * conntab_remove - forget child pid; its address goes to ip (may be
 * NULL).  Returns 1, or 0 when pid was not recorded.
 */
int
conntab_remove(struct conntab *t, pid_t pid, unsigned char ip[16])
{
    size_t k = find_pid(t, pid), i;

    if (pid <= 0 || !t->kids[k].pid)
        return 0;
    if (ip)
        memcpy(ip, t->kids[k].ip, 16);
    i = find_ip(t, t->kids[k].ip);
    if (t->ips[i].count && --t->ips[i].count == 0)
        del_ip(t, i);
    del_kid(t, k);
    t->n--;
    return 1;
}
