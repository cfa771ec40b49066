/* SPDX-License-Identifier: ISC */
/*
 * ratestore - the shared counter file (see ratestore.h).
 *
 * Layout: a 4096-byte header (magic, version, slot size, slot count,
 * the hash seed, a checksum of those), then nslots slots of 512 bytes.
 * Every shared word is read and written with GCC's __atomic builtins,
 * sequentially consistent; the only multi-word step is a key's claim,
 * published by the store of tag = LIVE after the key is written.
 *
 * A counter word is (window << 32) | count, the window being now / the
 * counter's period.  Counting first rolls a stale window (CAS to the new
 * window with count 0, the old word moved to prev when it was the
 * window just before) and then adds with fetch_add; a count over the
 * limit is taken back, so exactly `limit` additions succeed per window
 * however many processes race.  A sliding window weighs the previous
 * window's count by the part of it still inside the last period, rounded
 * up (a client at its limit gains nothing from the window's edge).
 *
 * A slot is reused for another key only when none of its counters holds
 * a count of the current or previous window and no process found or
 * counted in it for FOUND_GRACE seconds ("stale": a process between its
 * lookup and its count keeps the slot), or when a claim
 * was left half done for over CLAIM_STUCK seconds (its process died);
 * the probe sequence is never cut by emptying a slot, so lookups stay
 * correct.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fnv.h"
#include "ipaddr.h"
#include "ratestore.h"

_Static_assert(sizeof(struct ratestore_slot) == 512, "slot size");

#define HDR 4096u
#define MAGIC "QNGRATE\n"
#define TAG_EMPTY 0u
#define TAG_LIVE 1u
#define CLAIM_STUCK 5 /* seconds a claim may take before others break it */
#define FOUND_GRACE 60 /* seconds a slot found or counted in stays its key's */
#define SPINS 2000    /* yields while waiting for another's claim, before
                       * sleeping a millisecond at a time */

struct header {
    char magic[8];
    uint32_t version;
    uint32_t slotsize;
    uint32_t nslots;
    uint32_t zero;
    uint64_t seed;
    uint64_t check;
};

static const unsigned periods[RATE_PERS] = {60, 3600, 86400};
static const char *const whats[RATE_WHATS] = {"conn", "msgs", "rcpts"};
static const char *const pers[RATE_PERS] = {"min", "hour", "day"};

static uint64_t
header_check(const struct header *h)
{
    return fnv1a(h, offsetof(struct header, check));
}

/* ratestore_period - seconds in the period of counter. */
unsigned
ratestore_period(unsigned counter)
{
    return periods[(counter % RATE_COUNTERS) % RATE_PERS];
}

/* ratestore_counter_name - "msgs/hour" for RATE_COUNTER(MSGS, HOUR). */
const char *
ratestore_counter_name(unsigned counter)
{
    static const char *const names[RATE_COUNTERS] = {
        "conn/min", "conn/hour", "conn/day",
        "msgs/min", "msgs/hour", "msgs/day",
        "rcpts/min", "rcpts/hour", "rcpts/day",
    };

    return names[counter % RATE_COUNTERS];
}

/* ratestore_counter_parse - the counter "what/per" names, or -1. */
int
ratestore_counter_parse(const char *s, size_t len)
{
    for (unsigned w = 0; w < RATE_WHATS; w++)
        for (unsigned p = 0; p < RATE_PERS; p++) {
            size_t a = strlen(whats[w]), b = strlen(pers[p]);

            if (len == a + 1 + b && memcmp(s, whats[w], a) == 0 &&
                s[a] == '/' && memcmp(s + a + 1, pers[p], b) == 0)
                return (int)RATE_COUNTER(w, p);
        }
    return -1;
}

/*
 * ratestore_window_line - is s[0..len) (blanks around it allowed)
 * control/ratelimits' "window:fixed" or "window:sliding"?  1 with
 * *sliding set, 0 for any other line.  qmail-smtpd's rules and
 * qmail-rate read the setting through it, so both agree.
 */
int
ratestore_window_line(const char *s, size_t len, bool *sliding)
{
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    if (len == 12 && memcmp(s, "window:fixed", 12) == 0)
        *sliding = false;
    else if (len == 14 && memcmp(s, "window:sliding", 14) == 0)
        *sliding = true;
    else
        return 0;
    return 1;
}

/*
 * ratestore_namekey - the key of a user or domain name: "CLASS:" and the
 * name in lower case, each byte that is blank, a control or 8-bit, and
 * '%' itself, written %XX (so two names never share a key, "jos\xc3\xa9"
 * and "jos??" included).  A key longer than RATESTORE_KEY_MAX keeps its
 * start and ends in '#' and a 64-bit hash of the whole, so a long name
 * is counted like any other instead of escaping its limits.  0, or -1
 * (ENOMEM).
 */
int
ratestore_namekey(struct bstr *out, const char *cls, const char *name,
                  size_t len)
{
    static const char hex[] = "0123456789abcdef";

    bstr_truncate(out, 0);
    if (bstr_cats(out, cls) == -1 || bstr_catc(out, ':') == -1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};

        if (ch <= ' ' || ch >= 127 || ch == '%') {
            if (bstr_catb(out, esc, 3) == -1)
                return -1;
        } else if (bstr_catc(out, (char)(ch >= 'A' && ch <= 'Z' ? ch + 32
                                                                 : ch)) == -1)
            return -1;
    }
    if (out->len > RATESTORE_KEY_MAX) {
        uint64_t h = fnv1a(out->s, out->len);

        bstr_truncate(out, RATESTORE_KEY_MAX - 17);
        if (bstr_catc(out, '#') == -1)
            return -1;
        for (int b = 60; b >= 0; b -= 4)
            if (bstr_catc(out, hex[(h >> b) & 15]) == -1)
                return -1;
    }
    return 0;
}

/*
 * ratestore_ipkey - the key of a client address: "ip:" and its canonical
 * text, or with net "net:" and its /24 (IPv4) or /64 (IPv6) network
 * ("net:192.0.2.0/24").  IPv4-mapped IPv6 counts as IPv4.
 * Returns 0, or -1 with EINVAL (not an address) or ENOMEM.
 */
int
ratestore_ipkey(struct bstr *out, const char *ip, bool net)
{
    struct ipaddr a;
    char buf[IPADDR_FMT];
    size_t n = strlen(ip);

    if (!ipaddr_scan(ip, n, &a)) {
        errno = EINVAL;
        return -1;
    }
    (void)ipaddr_unmap(&a);
    if (net)
        ipaddr_mask(&a, a.family == AF_INET ? 24 : 64);
    ipaddr_fmt(buf, &a);
    bstr_truncate(out, 0);
    if (bstr_cats(out, net ? "net:" : "ip:") == -1 ||
        bstr_cats(out, buf) == -1 ||
        (net && bstr_cats(out, a.family == AF_INET ? "/24" : "/64") == -1))
        return -1;
    return 0;
}

/* ---- the file ----------------------------------------------------------- */

static bool
header_ok(const struct header *h, off_t size)
{
    return memcmp(h->magic, MAGIC, 8) == 0 &&
           h->version == RATESTORE_VERSION &&
           h->slotsize == sizeof(struct ratestore_slot) &&
           h->nslots >= RATESTORE_SLOTS_MIN &&
           h->nslots <= RATESTORE_SLOTS_MAX && h->zero == 0 &&
           h->check == header_check(h) &&
           size == (off_t)HDR + (off_t)h->nslots * (off_t)sizeof(struct ratestore_slot);
}

/*
 * make_file - a new, empty store at path, put in place whole so no
 * process ever maps a half-made one: by rename when it replaces a bad
 * file, by link when there was none, so that of two processes creating
 * it at once the second finds the first's (EEXIST, then 0) instead of
 * putting its own over a file the first already counts in.  Returns 0
 * or -1.
 */
static int
make_file(const char *path, uint32_t nslots, bool replace)
{
    char tmp[4096];
    struct header h;
    off_t size;
    int fd, e, put;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", path,
                         (long)getpid()) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, 8);
    h.version = RATESTORE_VERSION;
    h.slotsize = sizeof(struct ratestore_slot);
    h.nslots = nslots;
    if (getrandom(&h.seed, sizeof h.seed, GRND_NONBLOCK) != sizeof h.seed)
        h.seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^
                 (uint64_t)getpid();
    h.check = header_check(&h);
    (void)unlink(tmp);
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd == -1)
        return -1;
    /* the blocks allocated now, not at the first write into each page
     * of the map (a page fault that would allocate, in every process) */
    size = (off_t)HDR + (off_t)nslots * (off_t)sizeof(struct ratestore_slot);
    if (ftruncate(fd, size) == -1 ||
        ((e = posix_fallocate(fd, 0, size)) != 0 && (errno = e)) ||
        pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
        put = -1;
    else if (replace)
        put = rename(tmp, path);
    else
        put = link(tmp, path) == -1 && errno != EEXIST ? -1 : 0;
    e = errno;
    if (put == -1 || !replace)
        (void)unlink(tmp);
    if (put == -1) {
        close(fd);
        errno = e;
        return -1;
    }
    return close(fd);
}

/*
 * ratestore_open - map the store at path.  With create, a missing file,
 * or one of another version, size or checksum, is replaced by a new one
 * of nslots slots (rs->replaced says so, for the caller's log); without,
 * such a file is an error (EINVAL for a bad one).  Returns 0, or -1 with
 * errno set (EACCES, ENOENT, ...): callers fail open.
 */
int
ratestore_open(struct ratestore *rs, const char *path, uint32_t nslots,
               bool create)
{
    memset(rs, 0, sizeof *rs);
    rs->fd = -1;
    if (nslots < RATESTORE_SLOTS_MIN || nslots > RATESTORE_SLOTS_MAX) {
        errno = EINVAL;
        return -1;
    }
    /* a few tries: another process may be replacing the file as we look */
    for (int tries = 0; tries < 4; tries++) {
        struct header h;
        struct stat st;
        int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        void *m;

        if (fd == -1) {
            if (errno != ENOENT || !create)
                return -1;
            if (make_file(path, nslots, false) == -1)
                return -1;
            continue;
        }
        if (fstat(fd, &st) == -1) {
            int e = errno;

            close(fd);
            errno = e;
            return -1;
        }
        if (!S_ISREG(st.st_mode) ||
            pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h ||
            !header_ok(&h, st.st_size)) {
            close(fd);
            if (!create) {
                errno = EINVAL;
                return -1;
            }
            if (make_file(path, nslots, true) == -1)
                return -1;
            rs->replaced = true;
            continue;
        }
        rs->maplen = (size_t)st.st_size;
        m = mmap(NULL, rs->maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;

            close(fd);
            errno = e;
            return -1;
        }
        rs->fd = fd;
        rs->dev = st.st_dev;
        rs->ino = st.st_ino;
        rs->map = m;
        rs->nslots = h.nslots;
        rs->seed = h.seed;
        rs->slot = (struct ratestore_slot *)(rs->map + HDR);
        return 0;
    }
    errno = EAGAIN;
    return -1;
}

/* ratestore_close - unmap and close (safe on a closed or failed store). */
void
ratestore_close(struct ratestore *rs)
{
    if (rs->map)
        munmap(rs->map, rs->maplen);
    if (rs->fd != -1)
        close(rs->fd);
    rs->map = NULL;
    rs->slot = NULL;
    rs->fd = -1;
    rs->nslots = 0;
}

/*
 * ratestore_moved - is path no longer the file rs maps (removed by an
 * admin, or replaced by a process that found it bad)?  A process that
 * keeps the store open (a tcpserver -W worker) asks before each session,
 * so it does not go on counting in a file nobody else sees.
 */
bool
ratestore_moved(const struct ratestore *rs, const char *path)
{
    struct stat st;

    return rs->map && (stat(path, &st) == -1 || st.st_dev != rs->dev ||
                       st.st_ino != rs->ino);
}

/* ---- slots -------------------------------------------------------------- */

static uint64_t
ld(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static bool
cas(uint64_t *p, uint64_t *old, uint64_t new)
{
    return __atomic_compare_exchange_n(p, old, new, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}

static uint32_t
window(unsigned counter, time_t now)
{
    return (uint32_t)((uint64_t)now / ratestore_period(counter));
}

static bool
key_is(const struct ratestore_slot *sl, uint64_t h, const char *key,
       size_t len)
{
    uint32_t kl = __atomic_load_n(&sl->keylen, __ATOMIC_SEQ_CST);

    return ld(&sl->hash) == h && kl == len && memcmp(sl->key, key, len) == 0;
}

/* stale - no counter of the slot holds a count of its current or
 * previous window, and no process found it or counted in it lately (a
 * time further ahead than that is a scribble): it may serve another key */
static bool
stale(const struct ratestore_slot *sl, time_t now)
{
    int64_t used = (int64_t)ld(&sl->used);

    if (used > (int64_t)now - FOUND_GRACE && used <= (int64_t)now + FOUND_GRACE)
        return false;
    for (unsigned c = 0; c < RATE_COUNTERS; c++) {
        uint64_t w = ld(&sl->cnt[c]);
        uint32_t cur = window(c, now);

        if ((uint32_t)w && ((w >> 32) == cur || (w >> 32) + 1 == cur))
            return false;
    }
    return true;
}

/* claim - fill a slot we hold in the claiming state and publish it */
static void
claim(struct ratestore_slot *sl, uint64_t h, const char *key, size_t len,
      time_t now)
{
    for (unsigned c = 0; c < RATE_COUNTERS; c++) {
        __atomic_store_n(&sl->cnt[c], 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&sl->prev[c], 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&sl->told[c], 0, __ATOMIC_SEQ_CST);
    }
    memcpy(sl->key, key, len);
    __atomic_store_n(&sl->keylen, (uint32_t)len, __ATOMIC_SEQ_CST);
    __atomic_store_n(&sl->hash, h, __ATOMIC_SEQ_CST);
    __atomic_store_n(&sl->used, (uint64_t)now, __ATOMIC_SEQ_CST);
    __atomic_store_n(&sl->tag, TAG_LIVE, __ATOMIC_SEQ_CST);
}

/* claim_dead - the claim tag t was left by a process that died (made
 * over CLAIM_STUCK seconds ago), or is a scribble (a time further ahead
 * than that): no one will finish it */
static bool
claim_dead(uint64_t t, time_t now)
{
    int64_t at = (int64_t)(t >> 2);

    return at + CLAIM_STUCK < (int64_t)now || at > (int64_t)now + CLAIM_STUCK;
}

/*
 * wait_claim - another process is claiming the slot: wait for it to
 * publish, however long the scheduler keeps it away (it may be claiming
 * the very key we look for: going on past the slot would claim a second
 * slot for it and split its counts), until the claim is dead by now
 * (claim_dead: the caller may break it) or CLAIM_STUCK seconds have
 * passed in real time.  Returns the tag then seen.
 */
static uint64_t
wait_claim(struct ratestore_slot *sl, time_t now)
{
    uint64_t t = ld(&sl->tag);

    for (long i = 0; (t & 3) == 2; i++) {
        if (claim_dead(t, now) || i >= SPINS + CLAIM_STUCK * 1000L)
            break;
        if (i < SPINS)
            sched_yield();
        else {
            struct timespec ms = {0, 1000000};

            nanosleep(&ms, NULL);
        }
        t = ld(&sl->tag);
    }
    return t;
}

/*
 * ratestore_find - the slot of key (len bytes, at most RATESTORE_KEY_MAX)
 * in *idx.  With create, a missing key claims an empty slot of its probe
 * sequence, else a stale one.  Returns 1 found (or made), 0 absent
 * (without create), -1 with ENOSPC (every probed slot live and busy: the
 * table is full) or ENAMETOOLONG.
 */
int
ratestore_find(struct ratestore *rs, const char *key, size_t len, time_t now,
               bool create, uint32_t *idx)
{
    uint64_t h;

    if (len > RATESTORE_KEY_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (rs->nslots == 0) {
        errno = EBADF;
        return -1;
    }
    h = fnv1a_more(FNV1A_BASIS ^ rs->seed, key, len);
    for (int round = 0; round < 2; round++) {
        uint32_t reuse = UINT32_MAX;

        for (uint32_t i = 0; i < RATESTORE_PROBES && i < rs->nslots; i++) {
            uint32_t j = (uint32_t)((h + i) % rs->nslots);
            struct ratestore_slot *sl = &rs->slot[j];
            uint64_t t = ld(&sl->tag);

            if ((t & 3) == 2)
                t = wait_claim(sl, now);
            if (t == TAG_LIVE) {
                if (key_is(sl, h, key, len)) {
                    /* ours until we count, even if all its counts are old */
                    if (create && ld(&sl->used) != (uint64_t)now)
                        __atomic_store_n(&sl->used, (uint64_t)now,
                                         __ATOMIC_SEQ_CST);
                    *idx = j;
                    return 1;
                }
                if (reuse == UINT32_MAX && stale(sl, now))
                    reuse = j;
                continue;
            }
            if ((t & 3) == 2) {
                /* a claim left half done: its process died */
                if (claim_dead(t, now) && reuse == UINT32_MAX)
                    reuse = j;
                continue;
            }
            if (t != TAG_EMPTY) {
                /* scribbled on: treat as reusable garbage */
                if (reuse == UINT32_MAX)
                    reuse = j;
                continue;
            }
            /* empty: the key is nowhere further along */
            if (!create)
                return 0;
            if (cas(&sl->tag, &t, ((uint64_t)now << 2) | 2)) {
                claim(sl, h, key, len, now);
                *idx = j;
                return 1;
            }
            /* another process claimed it first: look again (it may be
             * claiming this very key) */
            round = -1;
            break;
        }
        if (round == -1)
            continue;
        if (!create)
            return 0;
        if (reuse != UINT32_MAX) {
            struct ratestore_slot *sl = &rs->slot[reuse];
            uint64_t t = ld(&sl->tag);

            if (cas(&sl->tag, &t, ((uint64_t)now << 2) | 2)) {
                /* someone counted in it since we looked: not stale */
                if (t == TAG_LIVE && !stale(sl, now)) {
                    __atomic_store_n(&sl->tag, TAG_LIVE, __ATOMIC_SEQ_CST);
                    continue;
                }
                claim(sl, h, key, len, now);
                *idx = reuse;
                return 1;
            }
            continue;
        }
        break;
    }
    errno = ENOSPC;
    return -1;
}

static struct ratestore_slot *
slot_at(const struct ratestore *rs, uint32_t idx)
{
    return rs->nslots ? &rs->slot[idx % rs->nslots] : NULL;
}

/* roll - the counter's word for the current window, rolling it (and
 * moving the old count to prev) when it belongs to another window */
static uint64_t
roll(struct ratestore_slot *sl, unsigned c, uint32_t win)
{
    uint64_t old = ld(&sl->cnt[c]);

    for (;;) {
        uint64_t new = (uint64_t)win << 32;

        if ((uint32_t)(old >> 32) == win)
            return old;
        if (cas(&sl->cnt[c], &old, new)) {
            /* a window in the future (clock set back, or a scribble) is
             * forgotten like an old one */
            __atomic_store_n(&sl->prev[c],
                             (uint32_t)(old >> 32) + 1 == win
                                 ? old
                                 : (uint64_t)(win - 1) << 32,
                             __ATOMIC_SEQ_CST);
            return new;
        }
    }
}

/* weigh - the part of a last window's count n still within the period,
 * rounded up: just after a window rolls, all of it still counts */
static uint64_t
weigh(uint64_t n, unsigned c, time_t now)
{
    uint64_t per = ratestore_period(c);
    uint64_t left = per - (uint64_t)now % per;

    return (n * left + per - 1) / per;
}

/* the previous window's part of a sliding count */
static uint64_t
prev_part(const struct ratestore_slot *sl, unsigned c, uint32_t win,
          time_t now)
{
    uint64_t p = ld(&sl->prev[c]);

    if ((uint32_t)(p >> 32) + 1 != win)
        return 0;
    return weigh((uint32_t)p, c, now);
}

/*
 * ratestore_add - count one more on counter of slot idx, unless that
 * would take it past limit (0: no limit).  sliding weighs in the last
 * window.  *count (may be NULL) gets the count with this one, or the
 * count that refused it.  Returns 1 counted, 0 over the limit (nothing
 * counted).
 */
/*
 * catch_up - a process whose clock reads a second behind another's, at
 * a window's edge, finds the counter already in the next window: it
 * counts there, as at that window's start, instead of rolling the
 * counter back and wiping the newer window's count.  Returns the window
 * to use, *now moved with it.
 */
static uint32_t
catch_up(const struct ratestore_slot *sl, unsigned c, time_t *now)
{
    uint32_t win = window(c, *now);

    if ((uint32_t)(ld(&sl->cnt[c]) >> 32) == win + 1) {
        win++;
        *now = (time_t)((uint64_t)win * ratestore_period(c));
    }
    return win;
}

int
ratestore_add(struct ratestore *rs, uint32_t idx, unsigned counter,
              uint64_t limit, bool sliding, time_t now, uint64_t *count)
{
    struct ratestore_slot *sl = slot_at(rs, idx);
    unsigned c = counter % RATE_COUNTERS;
    uint32_t win;
    uint64_t before, extra, total;

    if (!sl)
        return 1;
    win = catch_up(sl, c, &now);
    __atomic_store_n(&sl->used, (uint64_t)now, __ATOMIC_SEQ_CST);
    before = roll(sl, c, win);
    extra = sliding ? prev_part(sl, c, win, now) : 0;
    if ((uint32_t)before >= UINT32_MAX - 1 ||
        (limit && (uint32_t)before + extra >= limit)) {
        if (count)
            *count = (uint32_t)before + extra;
        return 0;
    }
    before = __atomic_fetch_add(&sl->cnt[c], 1, __ATOMIC_SEQ_CST);
    total = (uint64_t)(uint32_t)before + 1 + extra;
    if ((uint32_t)(before >> 32) == win && limit && total > limit) {
        /* others got there first: take ours back */
        ratestore_undo(rs, idx, c, now);
        if (count)
            *count = total - 1;
        return 0;
    }
    if (count)
        *count = total;
    return 1;
}

/* ratestore_undo - take back one count of this window (a refusal after
 * it was counted); nothing when the window has rolled since. */
void
ratestore_undo(struct ratestore *rs, uint32_t idx, unsigned counter,
               time_t now)
{
    struct ratestore_slot *sl = slot_at(rs, idx);
    unsigned c = counter % RATE_COUNTERS;
    uint32_t win;
    uint64_t old;

    if (!sl)
        return;
    win = catch_up(sl, c, &now);
    old = ld(&sl->cnt[c]);
    while ((uint32_t)(old >> 32) == win && (uint32_t)old > 0)
        if (cas(&sl->cnt[c], &old, old - 1))
            break;
}

/* ratestore_count - the counter's count now (read only). */
uint64_t
ratestore_count(const struct ratestore *rs, uint32_t idx, unsigned counter,
                bool sliding, time_t now)
{
    const struct ratestore_slot *sl = slot_at(rs, idx);
    unsigned c = counter % RATE_COUNTERS;
    uint32_t win = window(c, now);
    uint64_t w, n = 0;

    if (!sl)
        return 0;
    w = ld(&sl->cnt[c]);
    if ((uint32_t)(w >> 32) == win)
        n = (uint32_t)w;
    if (sliding) {
        if ((uint32_t)(w >> 32) + 1 == win)
            n += weigh((uint32_t)w, c, now);
        else if ((uint32_t)(w >> 32) == win)
            n += prev_part(sl, c, win, now);
    }
    return n;
}

/*
 * ratestore_tell - true for exactly one caller per counter and window
 * (the one that tells the admin a limit was reached), false for the rest.
 */
bool
ratestore_tell(struct ratestore *rs, uint32_t idx, unsigned counter,
               time_t now)
{
    struct ratestore_slot *sl = slot_at(rs, idx);
    unsigned c = counter % RATE_COUNTERS;
    uint32_t mark = window(c, now) + 1;
    uint32_t t;

    if (!sl)
        return false;
    t = __atomic_load_n(&sl->told[c], __ATOMIC_SEQ_CST);
    while (t != mark)
        if (__atomic_compare_exchange_n(&sl->told[c], &t, mark, false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return true;
    return false;
}

/*
 * ratestore_key - the key of slot idx into out (RATESTORE_KEY_MAX bytes,
 * not terminated), its length in *len.  Returns 1 for a live slot, 0 for
 * another.  A key with bytes a key cannot have (a scribble) is refused.
 */
int
ratestore_key(const struct ratestore *rs, uint32_t idx, char *out,
              size_t *len)
{
    const struct ratestore_slot *sl = slot_at(rs, idx);
    uint32_t kl;

    if (!sl || ld(&sl->tag) != TAG_LIVE)
        return 0;
    kl = __atomic_load_n(&sl->keylen, __ATOMIC_SEQ_CST);
    if (kl == 0 || kl > RATESTORE_KEY_MAX)
        return 0;
    memcpy(out, sl->key, kl);
    for (uint32_t i = 0; i < kl; i++)
        if ((unsigned char)out[i] <= ' ' || (unsigned char)out[i] >= 127)
            return 0;
    *len = kl;
    return 1;
}

/* ratestore_reset - every counter of slot idx back to 0 (the key stays). */
void
ratestore_reset(struct ratestore *rs, uint32_t idx)
{
    struct ratestore_slot *sl = slot_at(rs, idx);

    if (!sl)
        return;
    for (unsigned c = 0; c < RATE_COUNTERS; c++) {
        __atomic_store_n(&sl->cnt[c], 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&sl->prev[c], 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&sl->told[c], 0, __ATOMIC_SEQ_CST);
    }
}
