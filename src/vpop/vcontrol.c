/* SPDX-License-Identifier: ISC */
/*
 * vcontrol - qmail's control files and users/assign, edited for the
 * virtual domains (see vcontrol.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomicfile.h"
#include "cdbmap.h"
#include "lock.h"
#include "readfile.h"
#include "vcontrol.h"

#define CTLFILE_MAX (64u << 20)

/* vctl_lock - take users/assign.lock (bounded wait).  0, or -1. */
int
vctl_lock(int *fd)
{
    *fd = open(VCTL_LOCK, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (*fd == -1)
        return -1;
    if (lock_ex_wait(*fd, VCTL_LOCK_WAIT) == -1) {
        int e = errno;

        close(*fd);
        *fd = -1;
        errno = e;
        return -1;
    }
    return 0;
}

void
vctl_unlock(int fd)
{
    if (fd != -1)
        close(fd);
}

/* item_len - a line's length without trailing white space. */
static size_t
item_len(const char *s, size_t n)
{
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    return n;
}

/* same - does the line s[0..n) name item (any case)? */
static bool
same(const char *s, size_t n, const char *item)
{
    size_t k = strlen(item);

    n = item_len(s, n);
    if (n != k)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = s[i], b = item[i];

        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z')
            b = (char)(b - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}

/* vctl_list_has - does the list text hold the line item (any case)? */
bool
vctl_list_has(const char *text, size_t len, const char *item)
{
    size_t i = 0;

    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;

        if (same(text + i, n, item))
            return true;
        i += n + 1;
    }
    return false;
}

/*
 * vctl_replace - path's new content text, with the old file's owner and
 * mode (a new file: 0644, the caller's).  0, or -1 with errno.
 */
int
vctl_replace(const char *path, const struct bstr *text)
{
    struct stat st;
    mode_t mode = 0644;
    uid_t uid = ATOMICFILE_KEEP;
    gid_t gid = (gid_t)-1;

    if (stat(path, &st) == 0) {
        mode = st.st_mode & 07777;
        if (geteuid() == 0) {
            uid = st.st_uid;
            gid = st.st_gid;
        }
    } else if (errno != ENOENT) {
        return -1;
    }
    return atomicfile_write(path, text->s ? text->s : "", text->len, mode,
                            uid, gid);
}

/*
 * vctl_list_set - make the one-item-per-line file path hold item
 * (present) or not.  Other lines stay as they were; an added item goes
 * last.  *changed says whether the file was rewritten.  0, or -1.
 */
int
vctl_list_set(const char *path, const char *item, bool present,
              bool *changed)
{
    struct bstr old = BSTR_INIT, neu = BSTR_INIT;
    int r = readfile_path(path, &old, CTLFILE_MAX), e = 0;
    bool has;
    size_t i = 0;

    *changed = false;
    if (r == -1)
        return -1;
    has = vctl_list_has(old.s ? old.s : "", old.len, item);
    if (has == present) {
        bstr_free(&old);
        return 0;
    }
    if (present) {
        if (bstr_copy(&neu, &old) == -1 ||
            (neu.len && neu.s[neu.len - 1] != '\n' &&
             bstr_catc(&neu, '\n') == -1) ||
            bstr_catf(&neu, "%s\n", item) == -1)
            e = errno;
    } else {
        if (bstr_copys(&neu, "") == -1)
            e = errno;
        while (!e && i < old.len) {
            const char *nl = memchr(old.s + i, '\n', old.len - i);
            size_t n = nl ? (size_t)(nl - (old.s + i)) : old.len - i;

            if (!same(old.s + i, n, item) &&
                bstr_catb(&neu, old.s + i, n + (nl != NULL)) == -1)
                e = errno;
            i += n + 1;
        }
    }
    if (!e && vctl_replace(path, &neu) == -1)
        e = errno;
    bstr_free(&old);
    bstr_free(&neu);
    if (e) {
        errno = e;
        return -1;
    }
    *changed = true;
    return 0;
}

/* vctl_list_count - the items of path (no file: 0).  0, or -1. */
int
vctl_list_count(const char *path, size_t *n)
{
    struct bstr t = BSTR_INIT;
    int r = readfile_path(path, &t, CTLFILE_MAX);
    size_t i = 0;

    *n = 0;
    if (r == -1)
        return -1;
    while (i < t.len) {
        const char *nl = memchr(t.s + i, '\n', t.len - i);
        size_t k = nl ? (size_t)(nl - (t.s + i)) : t.len - i;

        if (item_len(t.s + i, k) > 0 && t.s[i] != '#')
            (*n)++;
        i += k + 1;
    }
    bstr_free(&t);
    return 0;
}

/*
 * vctl_list_compile - path's items, lower case, as the keys of the cdb
 * (values empty: qmail-newmrh's morercpthosts.cdb).  No file: an empty
 * cdb.  0, or -1.
 */
int
vctl_list_compile(const char *path, const char *cdb)
{
    struct bstr t = BSTR_INIT, key = BSTR_INIT, tmp = BSTR_INIT;
    struct cdbmap_make mk;
    struct stat st;
    size_t i = 0;
    int r = readfile_path(path, &t, CTLFILE_MAX), e = 0;

    if (r == -1 || bstr_catf(&tmp, "%s.tmp", cdb) == -1 ||
        cdbmap_make_start(&mk, cdb, tmp.s) == -1) {
        e = errno;
        goto out;
    }
    if (stat(path, &st) == 0 && fchmod(mk.fd, st.st_mode & 0644) == -1)
        goto abort;
    while (i < t.len) {
        const char *line = t.s + i, *nl = memchr(line, '\n', t.len - i);
        size_t k = nl ? (size_t)(nl - line) : t.len - i;
        size_t n = item_len(line, k);

        i += k + 1;
        if (n == 0 || line[0] == '#')
            continue;
        if (bstr_copyb(&key, line, n) == -1)
            goto abort;
        for (size_t j = 0; j < key.len; j++)
            if (key.s[j] >= 'A' && key.s[j] <= 'Z')
                key.s[j] = (char)(key.s[j] - 'A' + 'a');
        if (cdbmap_make_add(&mk, key.s, key.len, "", 0) == -1)
            goto abort;
    }
    if (cdbmap_make_finish(&mk) == -1)
        e = errno;
    goto out;
abort:
    e = errno;
    cdbmap_make_abort(&mk);
out:
    bstr_free(&t);
    bstr_free(&key);
    bstr_free(&tmp);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/*
 * vctl_run - run the program prog (a path, no arguments: qmail-newu) and
 * wait for it.  0 when it exited 0; -1 otherwise, with what it said on
 * stderr (its first 4 KB) or how it ended in err.
 */
int
vctl_run(const char *prog, struct bstr *err)
{
    int p[2], status, e;
    pid_t pid;
    char buf[512];
    ssize_t n;

    bstr_truncate(err, 0);
    if (pipe2(p, O_CLOEXEC) == -1)
        return -1;
    pid = fork();
    if (pid == -1) {
        e = errno;
        close(p[0]);
        close(p[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        if (dup2(p[1], 2) == -1)
            _exit(111);
        execl(prog, prog, (char *)NULL);
        _exit(111);
    }
    close(p[1]);
    while ((n = read(p[0], buf, sizeof buf)) > 0 || (n == -1 && errno == EINTR))
        if (n > 0 && err->len < 4096 && bstr_catb(err, buf, (size_t)n) == -1)
            break;
    close(p[0]);
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            return -1;
    while (err->len && (err->s[err->len - 1] == '\n'))
        bstr_truncate(err, err->len - 1);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (err->len == 0 &&
        bstr_catf(err, "%s %s %d", prog,
                  WIFEXITED(status) ? "exited with" : "was killed by signal",
                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)) ==
            -1)
        return -1;
    errno = EIO;
    return -1;
}

/*
 * vctl_reload - ask a running qmail-send to reread its control files
 * (queue/lock/sendctl's "reload").  None running: nothing to do, 0.
 * 0, or -1 with errno.
 */
int
vctl_reload(void)
{
    int fd = open("queue/lock/sendctl", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    ssize_t w;

    if (fd == -1)
        return errno == ENXIO || errno == ENOENT ? 0 : -1;
    w = write(fd, "reload\n", 7); /* one short write to a fifo: atomic */
    close(fd);
    if (w == -1 && errno == EAGAIN)
        return 0; /* a full fifo: qmail-send is busy reading requests */
    return w == 7 ? 0 : -1;
}
