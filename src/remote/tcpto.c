/* SPDX-License-Identifier: ISC */
/*
 * tcpto - the downed-host memory in queue/lock/tcpto (see tcpto.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lock.h"
#include "tcpto.h"

/* fail_close - close fd, keeping the errno of the failure: -1. */
static int
fail_close(int fd)
{
    int e = errno;

    close(fd);
    errno = e;
    return -1;
}

static void
put_be(unsigned char *p, unsigned long long v, size_t n)
{
    for (size_t i = n; i > 0; i--) {
        p[i - 1] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static unsigned long long
get_be(const unsigned char *p, size_t n)
{
    unsigned long long v = 0;

    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* check - Fletcher-16 over byte 1 and bytes 4..31 of a record. */
static unsigned
check(const unsigned char rec[TCPTO_REC])
{
    unsigned a = rec[1] % 255, b = a;

    for (size_t i = 4; i < TCPTO_REC; i++) {
        a = (a + rec[i]) % 255;
        b = (b + a) % 255;
    }
    return (b << 8) | a;
}

/* tcpto_encode - the record for e. */
void
tcpto_encode(const struct tcpto_entry *e, unsigned char rec[TCPTO_REC])
{
    memset(rec, 0, TCPTO_REC);
    rec[0] = 'T';
    rec[1] = e->ip.family == AF_INET ? 4 : 6;
    put_be(rec + 4, e->count > 0xffffffffUL ? 0xffffffffUL : e->count, 4);
    put_be(rec + 8, (unsigned long long)e->when, 8);
    memcpy(rec + 16, e->ip.b, e->ip.family == AF_INET ? 4 : 16);
    put_be(rec + 2, check(rec), 2);
}

/* tcpto_decode - true when rec is a used, intact record (into e). */
bool
tcpto_decode(const unsigned char rec[TCPTO_REC], struct tcpto_entry *e)
{
    if (rec[0] != 'T' || (rec[1] != 4 && rec[1] != 6) ||
        get_be(rec + 2, 2) != check(rec))
        return false;
    memset(e, 0, sizeof *e);
    e->ip.family = rec[1] == 4 ? AF_INET : AF_INET6;
    memcpy(e->ip.b, rec + 16, rec[1] == 4 ? 4 : 16);
    e->count = (unsigned long)get_be(rec + 4, 4);
    e->when = (long long)get_be(rec + 8, 8);
    if (e->count == 0 || e->when < 0)
        return false;
    if (rec[1] == 4)
        for (size_t i = 20; i < TCPTO_REC; i++)
            if (rec[i])
                return false;
    return true;
}

/* tcpto_parse - the file's bytes into t; bad records are free slots. */
void
tcpto_parse(struct tcpto *t, const unsigned char *buf, size_t len)
{
    t->nslots = len / TCPTO_REC;
    if (t->nslots > TCPTO_SLOTS)
        t->nslots = TCPTO_SLOTS;
    for (size_t i = 0; i < TCPTO_SLOTS; i++)
        t->used[i] = i < t->nslots &&
                     tcpto_decode(buf + i * TCPTO_REC, &t->e[i]);
}

/* tcpto_backoff - seconds an address with count failures stays down. */
long long
tcpto_backoff(unsigned long count)
{
    long long s = 60;

    for (unsigned long i = 1; i < count && s < TCPTO_MAX_BACKOFF; i++)
        s *= 2;
    return s < TCPTO_MAX_BACKOFF ? s : TCPTO_MAX_BACKOFF;
}

/* down - whether entry e still keeps its address away at now. */
static bool
down(const struct tcpto_entry *e, long long now)
{
    /* a time far in the future is a clock that went back: forget it */
    if (e->when > now + 60)
        return false;
    return now < e->when + tcpto_backoff(e->count);
}

static ssize_t
find(const struct tcpto *t, const struct ipaddr *ip)
{
    for (size_t i = 0; i < t->nslots; i++)
        if (t->used[i] && ipaddr_equal(&t->e[i].ip, ip))
            return (ssize_t)i;
    return -1;
}

/* tcpto_is_down - whether ip failed recently enough to be skipped. */
bool
tcpto_is_down(const struct tcpto *t, const struct ipaddr *ip, long long now)
{
    ssize_t i = find(t, ip);

    return i >= 0 && down(&t->e[i], now);
}

/*
 * open_locked - open path and take its lock, reading it into t.
 * Returns the fd, or -1 with errno.  create: make the file if absent.
 */
static int
open_locked(const char *path, bool create, struct tcpto *t)
{
    unsigned char buf[TCPTO_REC * TCPTO_SLOTS];
    size_t len = 0;
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
                            (create ? O_CREAT : 0),
                  0644);

    if (fd == -1)
        return -1;
    if (lock_ex_wait(fd, TCPTO_LOCK_WAIT) == -1)
        return fail_close(fd);
    while (len < sizeof buf) {
        ssize_t r = pread(fd, buf + len, sizeof buf - len, (off_t)len);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            return fail_close(fd);
        if (r == 0)
            break;
        len += (size_t)r;
    }
    tcpto_parse(t, buf, len);
    return fd;
}

/*
 * tcpto_load - read the memory into t (read-only is enough).  A missing
 * file is an empty memory.  Returns 0, or -1 with errno.
 */
int
tcpto_load(const char *path, struct tcpto *t)
{
    unsigned char buf[TCPTO_REC * TCPTO_SLOTS];
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);

    memset(t, 0, sizeof *t);
    if (fd == -1)
        return errno == ENOENT ? 0 : -1;
    /*
     * A shared read of whole records: a record being rewritten at this
     * moment fails its check sum and reads as free, which only means
     * one more connection attempt.
     */
    while (len < sizeof buf) {
        ssize_t r = pread(fd, buf + len, sizeof buf - len, (off_t)len);

        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    tcpto_parse(t, buf, len);
    return 0;
}

static int
put_slot(int fd, size_t i, const unsigned char rec[TCPTO_REC])
{
    ssize_t w;

    do
        w = pwrite(fd, rec, TCPTO_REC, (off_t)(i * TCPTO_REC));
    while (w == -1 && errno == EINTR);
    if (w != TCPTO_REC) {
        if (w >= 0)
            errno = EIO;
        return -1;
    }
    return 0;
}

/*
 * tcpto_mark - ip failed at now: count one more failure, unless it is
 * already down.  A new address takes a free slot, else the slot of the
 * oldest failure.  Returns 0, or -1 with errno (the file is unusable:
 * the caller goes on without it).
 */
int
tcpto_mark(const char *path, const struct ipaddr *ip, long long now)
{
    struct tcpto t;
    unsigned char rec[TCPTO_REC];
    struct tcpto_entry e;
    ssize_t i;
    int fd = open_locked(path, true, &t);

    if (fd == -1)
        return -1;
    i = find(&t, ip);
    if (i >= 0) {
        e = t.e[i];
        if (down(&e, now)) {
            close(fd);
            return 0;
        }
        if (now - e.when > TCPTO_FORGET || e.when > now + 60)
            e.count = 0;
    } else {
        memset(&e, 0, sizeof e);
        for (size_t k = 0; k < TCPTO_SLOTS && i < 0; k++)
            if (k >= t.nslots || !t.used[k])
                i = (ssize_t)k;
        if (i < 0) {
            i = 0;
            for (size_t k = 1; k < t.nslots; k++)
                if (t.e[k].when < t.e[i].when)
                    i = (ssize_t)k;
        }
    }
    e.ip = *ip;
    e.count++;
    e.when = now;
    tcpto_encode(&e, rec);
    if (put_slot(fd, (size_t)i, rec) == -1)
        return fail_close(fd);
    return close(fd);
}

/* tcpto_clear - forget ip (it answered).  Returns 0, or -1 with errno. */
int
tcpto_clear(const char *path, const struct ipaddr *ip)
{
    static const unsigned char zero[TCPTO_REC];
    struct tcpto t;
    ssize_t i;
    int fd;

    /* the common case, nothing to forget, costs no lock and no write */
    if (tcpto_load(path, &t) == -1)
        return -1;
    if (find(&t, ip) < 0)
        return 0;
    fd = open_locked(path, false, &t);
    if (fd == -1)
        return errno == ENOENT ? 0 : -1;
    while ((i = find(&t, ip)) >= 0) {
        t.used[i] = false;
        if (put_slot(fd, (size_t)i, zero) == -1)
            return fail_close(fd);
    }
    return close(fd);
}

/*
 * tcpto_clear_all - forget every address: the file keeps its size and
 * becomes all zero bytes (as qmail-setup made it).  A missing file is
 * already clear.  Returns 0, or -1 with errno.
 */
int
tcpto_clear_all(const char *path)
{
    static const unsigned char zero[TCPTO_REC];
    struct tcpto t;
    struct stat st;
    int fd = open_locked(path, false, &t);

    if (fd == -1)
        return errno == ENOENT ? 0 : -1;
    if (fstat(fd, &st) == -1)
        return fail_close(fd);
    for (size_t i = 0; (off_t)(i * TCPTO_REC) < st.st_size; i++)
        if (put_slot(fd, i, zero) == -1)
            return fail_close(fd);
    if (ftruncate(fd, st.st_size) == -1 || fsync(fd) == -1)
        return fail_close(fd);
    return close(fd);
}

/*
 * tcpto_note - remember what one connection attempt to ip said, the way
 * qmail-1.03's qmail-remote does: err ETIMEDOUT (no answer within
 * timeoutconnect, or the kernel gave up) marks the address; any other
 * result clears it: 0 (connected), ECONNREFUSED (the host answered with
 * a reset: it is up, that port is closed), unreachable.  Returns 0, or
 * -1 with errno.
 */
int
tcpto_note(const char *path, const struct ipaddr *ip, int err, long long now)
{
    if (err == ETIMEDOUT)
        return tcpto_mark(path, ip, now);
    return tcpto_clear(path, ip);
}
