/* SPDX-License-Identifier: ISC */
/*
 * maildir - making, delivering into and listing maildirs (see maildir.h).
 *
 * Every path is opened relative to the maildir's own descriptor (openat,
 * linkat), so a delivery cannot wander off if the name is re-pointed
 * half-way, and the caller's working directory is left alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "grow.h"
#include "maildir.h"
#include "writeall.h"

#define MAILDIR_BUF 65536
#define MAILDIR_TRIES 5

/* maildir_make - create path with tmp/, new/, cur/ (EEXIST if path is). */
int
maildir_make(const char *path, mode_t mode)
{
    static const char *const sub[] = {"tmp", "new", "cur"};
    int dfd;

    if (mkdir(path, mode) == -1)
        return -1;
    dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd == -1)
        return -1;
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++)
        if (mkdirat(dfd, sub[i], mode) == -1) {
            int e = errno;
            close(dfd);
            errno = e;
            return -1;
        }
    close(dfd);
    return 0;
}

/* cat_host - the host name with '/' and ':' made safe for a file name. */
static int
cat_host(struct bstr *out)
{
    char host[256];

    if (gethostname(host, sizeof host) == -1 || !host[0])
        memcpy(host, "localhost", 10);
    host[sizeof host - 1] = '\0';
    for (const char *p = host; *p; p++) {
        int r;

        if (*p == '/')
            r = bstr_cats(out, "\\057");
        else if (*p == ':')
            r = bstr_cats(out, "\\072");
        else
            r = bstr_catc(out, *p);
        if (r == -1)
            return -1;
    }
    return 0;
}

/*
 * maildir_uniq - a name no other delivery on any host shares: the time
 * to the microsecond, the pid, a per-process counter, the host.
 */
int
maildir_uniq(struct bstr *out)
{
    static unsigned long long count;
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    bstr_truncate(out, 0);
    if (bstr_catf(out, "%lld.M%06ldP%ldQ%llu.", (long long)ts.tv_sec,
                  ts.tv_nsec / 1000, (long)getpid(), ++count) == -1)
        return -1;
    return cat_host(out);
}

/* copy - the rest of msgfd into fd; *stage says which side failed. */
static int
copy(int fd, int msgfd, enum maildir_stage *stage)
{
    char *buf = malloc(MAILDIR_BUF);

    if (!buf) {
        *stage = MAILDIR_S_READ;
        return -1;
    }
    for (;;) {
        ssize_t r = read(msgfd, buf, MAILDIR_BUF);

        if (r == 0)
            break;
        if (r == -1) {
            if (errno == EINTR)
                continue;
            *stage = MAILDIR_S_READ;
            goto fail;
        }
        if (write_all(fd, buf, (size_t)r) == -1) {
            *stage = MAILDIR_S_WRITE;
            goto fail;
        }
    }
    free(buf);
    return 0;
fail:;
    int e = errno;
    free(buf);
    errno = e;
    return -1;
}

/*
 * maildir_deliver - store head (nhead pieces) and the rest of msgfd as
 * one new message in dir.  name receives the file's name (without
 * "new/").  Returns 0, or -1 with errno and *stage.
 */
int
maildir_deliver(const char *dir, const struct iovec *head, int nhead,
                int msgfd, struct bstr *name, enum maildir_stage *stage)
{
    struct bstr tmp = BSTR_INIT, nw = BSTR_INIT;
    int dfd, fd = -1, newfd = -1, e;

    *stage = MAILDIR_S_OPEN;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd == -1)
        return -1;
    for (int tries = 0;; tries++) {
        if (maildir_uniq(name) == -1)
            goto fail;
        bstr_truncate(&tmp, 0);
        if (bstr_cats(&tmp, "tmp/") == -1 || bstr_catb(&tmp, name->s,
                                                       name->len) == -1)
            goto fail;
        *stage = MAILDIR_S_CREATE;
        fd = openat(dfd, tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
                                    O_NOFOLLOW, 0600);
        if (fd != -1)
            break;
        if (errno != EEXIST || tries >= MAILDIR_TRIES) {
            if (errno == ENOENT)
                *stage = MAILDIR_S_OPEN;
            goto fail;
        }
    }
    *stage = MAILDIR_S_WRITE;
    for (int i = 0; i < nhead; i++)
        if (write_all(fd, head[i].iov_base, head[i].iov_len) == -1)
            goto unlink_fail;
    if (copy(fd, msgfd, stage) == -1)
        goto unlink_fail;
    *stage = MAILDIR_S_WRITE;
    if (fsync(fd) == -1)
        goto unlink_fail;
    if (close(fd) == -1) {
        fd = -1;
        goto unlink_fail;
    }
    fd = -1;
    *stage = MAILDIR_S_LINK;
    if (bstr_cats(&nw, "new/") == -1 ||
        bstr_catb(&nw, name->s, name->len) == -1)
        goto unlink_fail;
    if (linkat(dfd, tmp.s, dfd, nw.s, 0) == -1)
        goto unlink_fail;
    unlinkat(dfd, tmp.s, 0);
    /* the new name must survive a crash before we say "delivered" */
    newfd = openat(dfd, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (newfd == -1 || fsync(newfd) == -1)
        goto fail; /* the file stays in new/: better twice than never */
    close(newfd);
    close(dfd);
    bstr_free(&tmp);
    bstr_free(&nw);
    return 0;
unlink_fail:
    e = errno;
    if (fd != -1)
        close(fd);
    fd = -1;
    unlinkat(dfd, tmp.s, 0);
    errno = e;
fail:
    e = errno;
    if (fd != -1)
        close(fd);
    if (newfd != -1)
        close(newfd);
    close(dfd);
    bstr_free(&tmp);
    bstr_free(&nw);
    errno = e;
    return -1;
}

static int
add_entry(struct maildir_list *l, const char *sub, const char *name)
{
    struct maildir_entry *e;
    unsigned long long t = 0;

    if (grow(&l->v, &l->cap, l->n + 1, sizeof *l->v, 64) == -1)
        return -1;
    e = &l->v[l->n];
    (void)scan_ull(name, strlen(name), &t);
    e->time = t;
    e->off = l->names.len;
    if (bstr_cats(&l->names, sub) == -1 || bstr_catc(&l->names, '/') == -1 ||
        bstr_cats(&l->names, name) == -1 || bstr_catc(&l->names, '\0') == -1)
        return -1;
    l->n++;
    return 0;
}

static const struct maildir_list *sorting;

static int
by_time(const void *a, const void *b)
{
    const struct maildir_entry *x = a, *y = b;

    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return strcmp(sorting->names.s + x->off, sorting->names.s + y->off);
}

/*
 * maildir_scan - every message in dir/new and dir/cur, oldest first (by
 * the time its name starts with).  Names are "new/X" or "cur/X",
 * relative to dir.  Returns 0 or -1.
 */
int
maildir_scan(const char *dir, struct maildir_list *out)
{
    static const char *const sub[] = {"new", "cur"};
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd == -1)
        return -1;
    for (size_t i = 0; i < 2; i++) {
        int sfd = openat(dfd, sub[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;
        struct dirent *de;

        if (sfd == -1 || !(d = fdopendir(sfd))) {
            int e = errno;
            if (sfd != -1)
                close(sfd);
            close(dfd);
            errno = e;
            return -1;
        }
        errno = 0;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            if (add_entry(out, sub[i], de->d_name) == -1) {
                int e = errno;
                closedir(d);
                close(dfd);
                errno = e;
                return -1;
            }
            errno = 0;
        }
        if (errno) {
            int e = errno;
            closedir(d);
            close(dfd);
            errno = e;
            return -1;
        }
        closedir(d);
    }
    close(dfd);
    sorting = out;
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, by_time);
    sorting = NULL;
    return 0;
}

/* maildir_list_name - the i-th name ("new/X" or "cur/X"). */
const char *
maildir_list_name(const struct maildir_list *l, size_t i)
{
    return l->names.s + l->v[i].off;
}

/* maildir_list_free - release a list from maildir_scan. */
void
maildir_list_free(struct maildir_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
    bstr_free(&l->names);
}

/*
 * maildir_clean_tmp - remove files in dir/tmp not touched for age
 * seconds: deliveries that died half-way (maildir(5) says 36 hours).
 * Returns 0 or -1.
 */
int
maildir_clean_tmp(const char *dir, unsigned long age)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int tfd;
    DIR *d;
    struct dirent *de;
    time_t now = time(NULL);

    if (dfd == -1)
        return -1;
    tfd = openat(dfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(dfd);
    if (tfd == -1 || !(d = fdopendir(tfd))) {
        int e = errno;
        if (tfd != -1)
            close(tfd);
        errno = e;
        return -1;
    }
    while ((de = readdir(d))) {
        struct stat st;

        if (de->d_name[0] == '.')
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode) && now - st.st_atime > (time_t)age)
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
    return 0;
}
