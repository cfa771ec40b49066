/* SPDX-License-Identifier: ISC */
/*
 * info - a preprocessed message's info/S/N file: its records (u, p, F,
 * and qmail-ng's W once a deferral notice went out), and its mtime,
 * which is the message's birth (qmail's convention: the retry schedule
 * and queuelifetime count from it).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qpath.h"
#include "readfile.h"
#include "send.h"

#define INFO_MAX (64u << 20) /* an info/ file larger is not ours */

/* find - the text of the first record of type rec in a record list. */
static const char *
find(const struct bstr *b, char rec, size_t *len)
{
    size_t i = 0;

    while (i < b->len) {
        const char *p = b->s + i;
        const char *nul = memchr(p, '\0', b->len - i);
        size_t n = nul ? (size_t)(nul - p) : b->len - i;

        if (n && p[0] == rec) {
            *len = n - 1;
            return p + 1;
        }
        i += n + 1;
    }
    return NULL;
}

/*
 * info_read - the sender and birth of message id: 1, 0 when the info
 * file is absent, -1 on error.
 */
int
info_read(uint64_t id, struct bstr *sender, int64_t *birth)
{
    char fn[QPATH_MAX];
    struct bstr b = BSTR_INIT;
    struct stat st;
    const char *f;
    size_t flen;
    int fd;

    qpath_fmt(fn, "info", id);
    fd = open(fn, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return errno == ENOENT ? 0 : -1;
    if (fstat(fd, &st) == -1 || readfile_fd(fd, &b, INFO_MAX) == -1) {
        int e = errno;
        close(fd);
        bstr_free(&b);
        errno = e;
        return -1;
    }
    close(fd);
    *birth = st.st_mtime;
    f = find(&b, 'F', &flen);
    if (!f) {
        bstr_free(&b);
        errno = EINVAL;
        return -1;
    }
    if (bstr_copyb(sender, f, flen) == -1) {
        bstr_free(&b);
        return -1;
    }
    bstr_free(&b);
    return 1;
}

/* info_has - whether the info file carries a record of type rec. */
bool
info_has(uint64_t id, char rec)
{
    char fn[QPATH_MAX];
    struct bstr b = BSTR_INIT;
    size_t len;
    bool has = false;
    int fd;

    qpath_fmt(fn, "info", id);
    fd = open(fn, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return false;
    if (readfile_fd(fd, &b, INFO_MAX) == 0)
        has = find(&b, rec, &len) != NULL;
    close(fd);
    bstr_free(&b);
    return has;
}

/*
 * info_mark - append the empty record rec, keeping the mtime (the
 * message's birth).  Returns 0 or -1.
 */
int
info_mark(uint64_t id, char rec)
{
    char fn[QPATH_MAX], buf[2];
    struct stat st;
    struct timespec times[2];
    int fd, r = -1;

    qpath_fmt(fn, "info", id);
    fd = open(fn, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd == -1)
        return -1;
    buf[0] = rec;
    buf[1] = '\0';
    if (fstat(fd, &st) == 0 && write(fd, buf, 2) == 2) {
        times[0] = st.st_atim;
        times[1] = st.st_mtim;
        if (futimens(fd, times) == 0 && fsync(fd) == 0)
            r = 0;
    }
    close(fd);
    return r;
}
