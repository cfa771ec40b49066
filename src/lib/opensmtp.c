/* SPDX-License-Identifier: ISC */
/*
 * opensmtp - the POP-before-SMTP directory (see opensmtp.h).
 *
 * A file is fresh when its mtime lies within the age before now and not
 * more than STAMPDIR_SKEW seconds after it (a clock set back must not
 * grant relay for hours).  Only regular files whose names are canonical
 * addresses count, and only those are ever removed.  A login that
 * touches its file in the very microsecond an expiry pass removes it as
 * stale loses that one record; its next login makes it again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "fmt.h"
#include "opensmtp.h"
#include "stampdir.h"

/*
 * opensmtp_name - the file name of the address ip (len bytes): its
 * canonical text, an IPv4-mapped IPv6 address as IPv4.
 * Returns 0, or -1 with EINVAL when ip is not an address.
 */
int
opensmtp_name(const char *ip, size_t len, char out[OPENSMTP_NAME])
{
    struct ipaddr a;

    if (ip == NULL || memchr(ip, '\0', len) || !ipaddr_scan(ip, len, &a)) {
        errno = EINVAL;
        return -1;
    }
    (void)ipaddr_unmap(&a);
    out[ipaddr_fmt(out, &a)] = '\0';
    return 0;
}

/*
 * opensmtp_age - control/opensmtpage (relative to the cwd, QMAIL_HOME):
 * seconds a login grants relay, OPENSMTP_AGE when the file is absent,
 * 0 for off.  Returns 0, or -1 (unreadable; EINVAL: not a number).
 */
int
opensmtp_age(unsigned long *age)
{
    int r = ctl_readulong(OPENSMTP_CONTROL, age);

    if (r == 0)
        *age = OPENSMTP_AGE;
    return r == -1 ? -1 : 0;
}

/* path - dir/name into buf: 0, or -1 (ENAMETOOLONG). */
static int
path(char *buf, size_t n, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, n, "%s/%s", dir, name) >= n) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

static bool
is_fresh(time_t mtime, unsigned long age, time_t now)
{
    return stampdir_age(mtime, now) < age;
}

/* stamp - open (creating) dir's file for name, and set its mtime to when
 * (with newer_only, only when that makes it newer).  0 or -1. */
static int
stamp(const char *dir, const char *name, time_t when, bool newer_only)
{
    char p[PATH_MAX];
    struct stat st;
    const int flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    int fd;

    if (path(p, sizeof p, dir, name) == -1)
        return -1;
    /* O_NONBLOCK: a fifo planted under the name must not hang a login;
     * a file made now is older than nothing (newer_only) */
    fd = open(p, flags | O_CREAT | O_EXCL, 0644);
    if (fd == -1 && errno == EEXIST)
        fd = open(p, flags | (newer_only ? 0 : O_CREAT), 0644);
    else
        newer_only = false;
    if (fd == -1)
        return -1;
    if (stampdir_regular(fd, &st) == -1)
        goto fail;
    /* the caller's umask may have taken the read bits; they are only
     * for the admin's ls, qmail-smtpd needs none */
    if ((st.st_mode & 07777) != 0644 && st.st_uid == geteuid() &&
        fchmod(fd, 0644) == -1)
        goto fail;
    if (!newer_only || st.st_mtime < when)
        return stampdir_close_at(fd, when);
    return close(fd);
fail:
    stampdir_abandon(fd);
    return -1;
}

/*
 * opensmtp_record - a login from ip at when: dir's file for ip created
 * or touched (no rename, no lock).  Returns 0, or -1 (EINVAL: ip is not
 * an address or the name is taken by something not a file).
 */
int
opensmtp_record(const char *dir, const char *ip, time_t when)
{
    char name[OPENSMTP_NAME];

    if (opensmtp_name(ip, ip ? strlen(ip) : 0, name) == -1)
        return -1;
    return stamp(dir, name, when, false);
}

/*
 * opensmtp_fresh - did ip log in within age seconds before now?  One
 * lstat.  Returns 1 (seconds: how long ago), 0 no, -1 error (EINVAL: ip
 * is not an address).
 */
int
opensmtp_fresh(const char *dir, const char *ip, unsigned long age,
               time_t now, unsigned long *seconds)
{
    char name[OPENSMTP_NAME], p[PATH_MAX];
    struct stat st;

    if (opensmtp_name(ip, ip ? strlen(ip) : 0, name) == -1 ||
        path(p, sizeof p, dir, name) == -1)
        return -1;
    if (lstat(p, &st) == -1)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
    if (!S_ISREG(st.st_mode) || !is_fresh(st.st_mtime, age, now))
        return 0;
    *seconds = st.st_mtime < now ? (unsigned long)(now - st.st_mtime) : 0;
    return 1;
}

/* what an expiry pass removes: files not fresh for age at now */
struct expiry {
    unsigned long age;
    time_t now;
};

/* stale_addr - an address file (by its canonical name) not fresh */
static int
stale_addr(const char *name, time_t mtime, void *arg)
{
    const struct expiry *x = arg;
    char canon[OPENSMTP_NAME];

    if (opensmtp_name(name, strlen(name), canon) == -1 ||
        strcmp(canon, name) != 0)
        return 0;
    return !is_fresh(mtime, x->age, x->now);
}

/*
 * opensmtp_expire - remove every address file of dir that is not fresh
 * at now (with age 0: every one).  Other names are left alone.  Returns
 * 0 (removed: how many), or -1 when dir cannot be read (files that
 * vanish meanwhile are no error).
 */
int
opensmtp_expire(const char *dir, unsigned long age, time_t now,
                size_t *removed)
{
    struct expiry x = {age, now};

    *removed = 0;
    return stampdir_sweep(dir, stale_addr, &x, removed);
}

/*
 * opensmtp_expire_due - the built-in expiry: a pass when the last one
 * (dir/.expire, src/lib/stampdir.h) is OPENSMTP_EVERY seconds old, or
 * when force says so, by whoever takes the stamp's flock first; a
 * process that finds it taken skips, never waits.  Returns 1 (a pass
 * ran; removed: how many), 0 not due or another process is at it, -1
 * error.
 */
int
opensmtp_expire_due(const char *dir, unsigned long age, time_t now,
                    bool force, size_t *removed)
{
    char p[PATH_MAX];
    int fd, r;

    *removed = 0;
    if (path(p, sizeof p, dir, OPENSMTP_STAMP) == -1)
        return -1;
    if ((r = stampdir_due(p, OPENSMTP_EVERY, now, force, &fd)) != 1)
        return r;
    if (opensmtp_expire(dir, age, now, removed) == -1) {
        stampdir_abandon(fd);
        return -1;
    }
    return stampdir_done(fd, now) == -1 ? -1 : 1;
}

/*
 * opensmtp_parse - one line of vpopmail's old open-smtp file,
 *   IP:allow,RELAYCLIENT="",RBLSMTPD="" TIMESTAMP
 * (the rules part is tcprules', its quotes may hold spaces; the stamp
 * is the last blank-separated field; a trailing CR LF is ignored):
 * name gets the address's file name, *when the stamp.  Pure: reads
 * nothing but line.  Returns 0, or -1 with EINVAL when it is not such a
 * line.
 */
int
opensmtp_parse(const char *line, size_t len, char name[OPENSMTP_NAME],
               unsigned long long *when)
{
    size_t end = len, t, colon;

    if (memchr(line, '\0', len))
        goto bad;
    while (end && (line[end - 1] == '\n' || line[end - 1] == '\r' ||
                   line[end - 1] == ' ' || line[end - 1] == '\t'))
        end--;
    t = end;
    while (t && line[t - 1] != ' ' && line[t - 1] != '\t')
        t--;
    /* digits only, and no more than 19 of them (no overflow) */
    if (t == 0 || t == end || end - t > 19 ||
        scan_ull(line + t, end - t, when) != end - t)
        goto bad;
    /* the address ends where ":allow" starts (an IPv6 address has
     * colons, never "allow") */
    for (colon = 0; colon + 6 <= t; colon++)
        if (memcmp(line + colon, ":allow", 6) == 0)
            break;
    if (colon + 6 > t || (line[colon + 6] != ',' && line[colon + 6] != ' ' &&
                          line[colon + 6] != '\t'))
        goto bad;
    if (opensmtp_name(line, colon, name) == -1)
        goto bad;
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

/*
 * opensmtp_import - one line of the old open-smtp file (opensmtp_parse):
 * the address's file with mtime TIMESTAMP (a future one as now), unless
 * it already has a newer one.  Returns 1 recorded, 0 skipped (expired
 * at now), -1 error (EINVAL: not such a line).
 */
int
opensmtp_import(const char *dir, const char *line, size_t len,
                unsigned long age, time_t now)
{
    char name[OPENSMTP_NAME];
    unsigned long long ts;

    if (opensmtp_parse(line, len, name, &ts) == -1)
        return -1;
    if (now < 0 || ts > (unsigned long long)now)
        ts = now < 0 ? 0 : (unsigned long long)now;
    if (!is_fresh((time_t)ts, age, now))
        return 0;
    return stamp(dir, name, (time_t)ts, true) == -1 ? -1 : 1;
}
