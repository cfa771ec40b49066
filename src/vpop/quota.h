/* SPDX-License-Identifier: ISC */
/*
 * quota - Maildir++ quotas (Courier's README.maildirquota, which
 * vpopmail, Dovecot and maildrop share): the quota string and the
 * maildirsize file.  Pure; vdelivermail and the POP3 server read and
 * write the files.
 *
 * A quota is "<bytes>S", "<count>C" or both, comma-separated in any order
 * ("1000000S,1000C"); vpopmail's vpasswd also writes "NOQUOTA" (no
 * limit) and, from old versions, a bare number of bytes.
 *
 * maildirsize holds the quota on its first line, then lines of
 * "<bytes> <count>", signed decimal deltas whose sums are the Maildir's
 * current size and message count.  Writers append one line per change
 * with a single write(2); a last line without its newline is a write cut
 * short and is left out.  The file is recalculated from the Maildir when
 * it has grown to MDQ_RECALC_SIZE bytes, when it is over quota and older
 * than MDQ_RECALC_AGE seconds, or when it cannot be read.
 *
 * A recalculation counts the messages in new/ and cur/ of the Maildir
 * and of each folder (a subdirectory ".NAME", except ".Trash"), leaving
 * out names starting with '.' and messages flagged T (deleted); a
 * message's size is the ",S=<bytes>" its name carries (mdq_name_size),
 * else the file's size.  The new file holds the quota line and one line
 * of sums (mdsize_format).
 */
#ifndef QUOTA_H
#define QUOTA_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

#define MDQ_RECALC_SIZE 5120 /* bytes */
#define MDQ_RECALC_AGE 900   /* seconds */

struct mdquota {
    bool has_bytes, has_count;
    unsigned long long bytes, count;
};

struct mdusage {
    long long bytes, count;
};

int mdq_parse(const char *s, size_t len, struct mdquota *q) WUR;
int mdq_format(const struct mdquota *q, struct bstr *out) WUR;
bool mdq_limited(const struct mdquota *q);
bool mdq_over(const struct mdquota *q, const struct mdusage *u,
              long long addbytes, long long addcount);

int mdsize_parse(const char *text, size_t len, struct mdquota *q,
                 struct mdusage *u, size_t *lines) WUR;
bool mdsize_stale(size_t filesize, long long age, bool over);

bool mdq_same(const struct mdquota *a, const struct mdquota *b);
unsigned mdq_percent(const struct mdquota *q, const struct mdusage *u);
bool mdq_name_size(const char *name, size_t len, unsigned long long *size);
bool mdq_name_trashed(const char *name, size_t len);
int mdsize_format(const struct mdquota *q, const struct mdusage *u,
                  struct bstr *out) WUR;
int mdsize_delta(long long bytes, long long count, struct bstr *out) WUR;

#endif
