/* SPDX-License-Identifier: ISC */
/*
 * tcpto - the memory of remote addresses whose connections recently
 * timed out (qmail's queue/lock/tcpto), shared by every qmail-remote, so
 * a host that is down costs one connect timeout per back-off period
 * instead of one per message.  As in qmail-1.03, only a timeout counts:
 * a refused connection means the host is up (only that port is closed),
 * and it clears the address like a successful one (tcpto_note).
 *
 * The file is a row of TCPTO_REC-byte records, any number of them up to
 * TCPTO_SLOTS (qmail-setup makes 1024 zero bytes: 32 free slots):
 *   byte 0      'T' when the slot is used; anything else is a free slot
 *   byte 1      4 or 6, the address family
 *   bytes 2-3   check sum: Fletcher-16 of byte 1 and bytes 4-31, big-endian
 *   bytes 4-7   consecutive failures, big-endian
 *   bytes 8-15  time of the last failure, seconds since the epoch, big-endian
 *   bytes 16-31 the address (IPv4 in the first 4 bytes, the rest zero)
 * A record whose check sum, family or count is wrong reads as a free
 * slot, and a short last record is ignored, so a corrupt or truncated
 * file loses marks, never mail.  Updates write one record with pwrite
 * under an exclusive flock (lock.h); tcpto_load reads without it (a
 * record caught half-written fails its check sum: one more attempt).
 *
 * An address with n consecutive failures is down for 2^(n-1) minutes
 * after the last one, at most TCPTO_MAX_BACKOFF seconds.  Failures while
 * it is already down do not count again (twenty deliveries failing at
 * once are one failure); after a quiet day the count starts over.  A
 * connection that is made or refused clears the address; qmail-tcpok
 * clears all.
 */
#ifndef TCPTO_H
#define TCPTO_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "ipaddr.h"

#define TCPTO_REC 32
#define TCPTO_SLOTS 128
#define TCPTO_MAX_BACKOFF 3600
#define TCPTO_FORGET 86400 /* a failure this old no longer counts */
#define TCPTO_LOCK_WAIT 5

struct tcpto_entry {
    struct ipaddr ip;
    unsigned long count;
    long long when;
};

struct tcpto {
    struct tcpto_entry e[TCPTO_SLOTS];
    bool used[TCPTO_SLOTS];
    size_t nslots; /* slots the file holds (whole records) */
};

void tcpto_encode(const struct tcpto_entry *e, unsigned char rec[TCPTO_REC]);
bool tcpto_decode(const unsigned char rec[TCPTO_REC], struct tcpto_entry *e);
void tcpto_parse(struct tcpto *t, const unsigned char *buf, size_t len);
long long tcpto_backoff(unsigned long count);
bool tcpto_is_down(const struct tcpto *t, const struct ipaddr *ip,
                   long long now);

int tcpto_load(const char *path, struct tcpto *t) WUR;
int tcpto_mark(const char *path, const struct ipaddr *ip, long long now) WUR;
int tcpto_clear(const char *path, const struct ipaddr *ip) WUR;
int tcpto_clear_all(const char *path) WUR;
int tcpto_note(const char *path, const struct ipaddr *ip, int err,
               long long now) WUR;

#endif
