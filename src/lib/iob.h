/* SPDX-License-Identifier: ISC */
/*
 * iob - buffered fd I/O where every read and write has a deadline.
 *
 * One struct iob is one direction of one fd.  The raw operation is
 * swappable (STARTTLS swaps in TLS) and is responsible for waiting: the
 * default ops wait for the fd at most `timeout` seconds in all (a
 * deadline fixed when the operation starts, whatever signals arrive),
 * then fail with ETIMEDOUT.  A deadline (an absolute monotonic time, see
 * deadline.h) can bound a whole series of operations besides: each
 * waits no longer than is left, and once it has passed they fail with
 * ETIMEDOUT at once (bytes already buffered are still handed out).  Line
 * reads take a maximum length and never grow memory past it; the rest
 * of an over-long line is consumed and dropped.
 * Nothing here exits or logs.
 */
#ifndef IOB_H
#define IOB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bstr.h"

/*
 * op - read or write at most n bytes, waiting no longer than timeout_ms
 * in all (-1: for ever); -1 with ETIMEDOUT when that time is up.
 */
typedef ssize_t (*iob_op)(void *ctx, int fd, void *buf, size_t n,
                          int timeout_ms);

struct iob {
    int fd;
    char *buf;
    size_t cap;
    size_t pos; /* read: next unread byte */
    size_t len; /* read: end of data; write: bytes pending */
    int timeout_ms;
    long long deadline; /* datetime_mono_ms() time, 0: none */
    iob_op op;
    void *ctx;
};

enum { IOB_EOF = 0, IOB_LINE = 1, IOB_LONG = 2 };

ssize_t iob_fdread(void *ctx, int fd, void *buf, size_t n, int timeout_ms);
ssize_t iob_sockread(void *ctx, int fd, void *buf, size_t n, int timeout_ms);
ssize_t iob_sockwrite(void *ctx, int fd, void *buf, size_t n, int timeout_ms);
ssize_t iob_fdwrite(void *ctx, int fd, void *buf, size_t n, int timeout_ms);

int iob_poll(int fd, short events, int timeout_ms);
int iob_limit(int timeout_ms, long long deadline, int *ms);

void iob_init(struct iob *b, int fd, char *buf, size_t cap, iob_op op,
              void *ctx);
void iob_settimeout(struct iob *b, unsigned seconds);
void iob_setdeadline(struct iob *b, long long mono_ms);
bool iob_expired(const struct iob *b);

ssize_t iob_fill(struct iob *b) WUR;
size_t iob_buffered(const struct iob *b);
const char *iob_peek(const struct iob *b);
void iob_skip(struct iob *b, size_t n);
ssize_t iob_get(struct iob *b, void *out, size_t n) WUR;
int iob_getline(struct iob *b, struct bstr *line, size_t max) WUR;

int iob_put(struct iob *b, const void *p, size_t n) WUR;
int iob_puts(struct iob *b, const char *s) WUR;
int iob_flush(struct iob *b) WUR;

#endif
