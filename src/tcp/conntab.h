/* SPDX-License-Identifier: ISC */
/*
 * conntab - tcpserver's table of live children: which client address
 * each pid serves, and how many children each address has.
 *
 * Both maps are open-addressing hash tables sized once, at twice the
 * child limit rounded up to a power of two, so adding and removing never
 * allocate and never take more than a bounded number of probes.  The
 * hash is keyed with a per-process random seed, so clients cannot pick
 * addresses that collide.  Addresses are 16 bytes: IPv4 as ::ffff:a.b.c.d.
 */
#ifndef CONNTAB_H
#define CONNTAB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONNTAB_MAX 100000 /* the largest child limit a table may have */

struct conntab_kid {
    pid_t pid; /* 0: free slot */
    unsigned char ip[16];
};

struct conntab_ip {
    size_t count; /* 0: free slot */
    unsigned char ip[16];
};

struct conntab {
    size_t limit;
    size_t n;    /* live children */
    size_t mask; /* table size - 1 */
    uint64_t seed;
    struct conntab_kid *kids;
    struct conntab_ip *ips;
};

int conntab_init(struct conntab *t, size_t limit)
    __attribute__((warn_unused_result));
void conntab_free(struct conntab *t);
size_t conntab_count(const struct conntab *t, const unsigned char ip[16]);
int conntab_add(struct conntab *t, pid_t pid, const unsigned char ip[16])
    __attribute__((warn_unused_result));
int conntab_remove(struct conntab *t, pid_t pid, unsigned char ip[16]);

#endif
