/* SPDX-License-Identifier: ISC */
/*
 * ratestore - counters shared by every qmail-smtpd process without a
 * lock: a fixed-size file mapped MAP_SHARED, holding an open-addressing
 * hash table of slots.  A key ("ip:192.0.2.1", "user:joe@example.com")
 * claims a slot with a compare-and-swap; its counters (connections,
 * messages, recipients, each per minute, hour and day) are 64-bit words
 * packing a window number and a count, added to with atomic operations
 * and reset by a compare-and-swap when the window rolls.  Being a file,
 * it survives restarts, which daily quotas need.
 *
 * Trust: any process that can write the file can scribble on it, so the
 * header is checked at open (magic, version, sizes, a checksum; a file
 * that fails is replaced by a fresh one through rename, never used), the
 * table's size is kept in our own memory, every index is reduced modulo
 * it and every key length is clamped.  Garbage in a slot can at worst
 * make its counts wrong, never make us read or write outside the map.
 * Nothing here exits, logs or sleeps; every function takes the time.
 */
#ifndef RATESTORE_H
#define RATESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "bstr.h"

#define RATESTORE_DIR "users/ratelimit"        /* under QMAIL_HOME */
#define RATESTORE_PATH "users/ratelimit/rate.db"
#define RATESTORE_SLOTS 16384u   /* a new file's slots (8 MB, sparse) */
#define RATESTORE_SLOTS_MIN 16u
#define RATESTORE_SLOTS_MAX (1u << 22)
#define RATESTORE_PROBES 32u     /* slots looked at for one key */
#define RATESTORE_KEY_MAX 300u   /* bytes of a key ("user:" + a path) */
#define RATESTORE_VERSION 1u

/* What a counter counts, and over which period (what/per). */
enum ratestore_what { RATE_CONN, RATE_MSGS, RATE_RCPTS, RATE_WHATS };
enum ratestore_per { RATE_MIN, RATE_HOUR, RATE_DAY, RATE_PERS };
#define RATE_COUNTERS (RATE_WHATS * RATE_PERS)
#define RATE_COUNTER(what, per) ((what) * RATE_PERS + (per))

/* One slot: 512 bytes, every field naturally aligned. */
struct ratestore_slot {
    uint64_t tag;      /* 0 empty, 1 live, (t << 2) | 2 being claimed at t */
    uint64_t hash;     /* of the key, with the file's seed */
    uint64_t used;     /* when a process last counted here */
    uint64_t cnt[RATE_COUNTERS];  /* (window << 32) | count */
    uint64_t prev[RATE_COUNTERS]; /* the same, for the window before */
    uint32_t told[RATE_COUNTERS]; /* 1 + the window the admin was told of */
    uint32_t keylen;
    char key[RATESTORE_KEY_MAX];
    char pad[512 - 3 * 8 - 2 * 8 * RATE_COUNTERS - 4 * RATE_COUNTERS - 4 -
             RATESTORE_KEY_MAX];
};

struct ratestore {
    int fd;
    unsigned char *map;
    size_t maplen;
    uint32_t nslots;   /* from the header, checked against the file size */
    uint64_t seed;
    struct ratestore_slot *slot;
    bool replaced;     /* open found a bad file and put a new one there */
    dev_t dev;         /* the file mapped, to see whether path still is it */
    ino_t ino;
};

int ratestore_open(struct ratestore *rs, const char *path, uint32_t nslots,
                   bool create) WUR;
void ratestore_close(struct ratestore *rs);
bool ratestore_moved(const struct ratestore *rs, const char *path);
int ratestore_find(struct ratestore *rs, const char *key, size_t len,
                   time_t now, bool create, uint32_t *idx) WUR;
int ratestore_add(struct ratestore *rs, uint32_t idx, unsigned counter,
                  uint64_t limit, bool sliding, time_t now, uint64_t *count);
void ratestore_undo(struct ratestore *rs, uint32_t idx, unsigned counter,
                    time_t now);
uint64_t ratestore_count(const struct ratestore *rs, uint32_t idx,
                         unsigned counter, bool sliding, time_t now);
bool ratestore_tell(struct ratestore *rs, uint32_t idx, unsigned counter,
                    time_t now);
int ratestore_key(const struct ratestore *rs, uint32_t idx, char *out,
                  size_t *len);
void ratestore_reset(struct ratestore *rs, uint32_t idx);
unsigned ratestore_period(unsigned counter);
const char *ratestore_counter_name(unsigned counter);
int ratestore_counter_parse(const char *s, size_t len);
int ratestore_window_line(const char *s, size_t len, bool *sliding);
int ratestore_ipkey(struct bstr *out, const char *ip, bool net) WUR;
int ratestore_namekey(struct bstr *out, const char *cls, const char *name,
                      size_t len) WUR;

#endif
