/* SPDX-License-Identifier: ISC */
/*
 * setup - building the tree (see setup.h).
 *
 * Owners and modes, root mode (qmail-1.03's):
 *   home, bin, boot, control, doc, man, users   root:qmail   0755
 *   alias                                       alias:qmail  2755
 *   queue                                       qmailq:qmail 0750
 *   queue/pid, intd                             qmailq       0700
 *   queue/mess (+ splits), todo, lock           qmailq       0750
 *   queue/info (+ splits), local, remote, bounce  qmails     0700
 *   lock/tcpto 0644 qmailr, lock/sendmutex 0600 qmails,
 *   lock/trigger fifo 0622 qmails, lock/sendctl fifo 0600 qmails (queue
 *   tools' requests to qmail-send), bin/qmail-queue 4711 qmailq
 * Single-user mode: the same modes, one owner, no setuid bit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bstr.h"
#include "priv.h"
#include "qpath.h"
#include "setup.h"

static char errbuf[512];

const char *
setup_error(void)
{
    return errbuf;
}

static int
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
fail(const char *fmt, ...)
{
    va_list ap;
    int e = errno;
    size_t n;

    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    n = strlen(errbuf);
    if (e)
        snprintf(errbuf + n, sizeof errbuf - n, ": %s", strerror(e));
    return -1;
}

struct ids {
    uid_t owner, alias, qmaild, qmaill, qmailp, qmailq, qmailr, qmails;
    gid_t nofiles, qmail, ownergid;
};

static int
run(const char *const argv[])
{
    pid_t pid = fork();
    int st;

    if (pid == -1)
        return -1;
    if (pid == 0) {
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) == -1)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
ensure_group(const char *name, gid_t *gid)
{
    const char *argv[] = {"groupadd", "-r", name, NULL};

    if (priv_group(name, gid) == 1)
        return 0;
    if (run(argv) == -1 || priv_group(name, gid) != 1) {
        errno = 0;
        return fail("cannot create group %s", name);
    }
    return 0;
}

static int
ensure_user(const char *name, const char *group, const char *home,
            uid_t *uid)
{
    const char *argv[] = {"useradd", "-r", "-g", group, "-d", home, "-s",
                          "/usr/sbin/nologin", "-M", name, NULL};

    if (priv_user(name, uid, NULL) == 1)
        return 0;
    if (run(argv) == -1 || priv_user(name, uid, NULL) != 1) {
        errno = 0;
        return fail("cannot create user %s", name);
    }
    return 0;
}

static int
mkdir_own(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    if (mkdir(path, mode) == -1 && errno != EEXIST)
        return fail("mkdir %s", path);
    if (chown(path, uid, gid) == -1)
        return fail("chown %s", path);
    if (chmod(path, mode) == -1)
        return fail("chmod %s", path);
    return 0;
}

static int
split_dirs(const char *dir, mode_t mode, uid_t uid, gid_t gid)
{
    char path[QPATH_MAX];

    if (mkdir_own(dir, mode, uid, gid) == -1)
        return -1;
    for (unsigned i = 0; i < QPATH_SPLIT; i++) {
        snprintf(path, sizeof path, "%s/%u", dir, i);
        if (mkdir_own(path, mode, uid, gid) == -1)
            return -1;
    }
    return 0;
}

/* write_new - create a file with content unless it already exists. */
static int
write_new(const char *path, const char *content, mode_t mode, uid_t uid,
          gid_t gid)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    size_t n = strlen(content);

    if (fd == -1)
        return errno == EEXIST ? 0 : fail("create %s", path);
    if (write(fd, content, n) != (ssize_t)n || fsync(fd) == -1) {
        close(fd);
        return fail("write %s", path);
    }
    if (close(fd) == -1)
        return fail("close %s", path);
    if (chown(path, uid, gid) == -1)
        return fail("chown %s", path);
    return 0;
}

static int
zero_file(const char *path, size_t size, mode_t mode, uid_t uid, gid_t gid)
{
    int fd = open(path, O_WRONLY | O_CREAT, mode);
    struct stat st;

    if (fd == -1)
        return fail("create %s", path);
    if (fstat(fd, &st) == 0 && (size_t)st.st_size < size &&
        ftruncate(fd, (off_t)size) == -1) {
        close(fd);
        return fail("truncate %s", path);
    }
    close(fd);
    if (chown(path, uid, gid) == -1 || chmod(path, mode) == -1)
        return fail("chown/chmod %s", path);
    return 0;
}

static int
make_fifo(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    struct stat st;

    if (lstat(path, &st) == 0 && !S_ISFIFO(st.st_mode) && unlink(path) == -1)
        return fail("remove non-fifo %s", path);
    if (mkfifo(path, mode) == -1 && errno != EEXIST)
        return fail("mkfifo %s", path);
    if (chown(path, uid, gid) == -1 || chmod(path, mode) == -1)
        return fail("chown/chmod %s", path);
    return 0;
}

static int
copy_file(const char *from, const char *to, mode_t mode, uid_t uid, gid_t gid)
{
    char tmp[PATH_MAX], buf[65536];
    int in, out;
    ssize_t r;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s.new", to) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return fail("%s", to);
    }
    in = open(from, O_RDONLY);
    if (in == -1)
        return fail("open %s", from);
    unlink(tmp);
    out = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0700);
    if (out == -1) {
        close(in);
        return fail("create %s", tmp);
    }
    while ((r = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)r) != r) {
            close(in);
            close(out);
            return fail("write %s", tmp);
        }
    close(in);
    if (r == -1 || fsync(out) == -1 || close(out) == -1)
        return fail("copy %s", from);
    /* chown clears setuid bits, so the mode comes after it */
    if (chown(tmp, uid, gid) == -1 || chmod(tmp, mode) == -1)
        return fail("chown/chmod %s", tmp);
    if (rename(tmp, to) == -1)
        return fail("rename %s", to);
    return 0;
}

static int
copy_programs(const char *bindir, const struct ids *id, bool rootmode)
{
    DIR *d = opendir(bindir);
    struct dirent *de;
    char from[PATH_MAX], to[PATH_MAX];

    if (!d)
        return fail("opendir %s", bindir);
    while ((de = readdir(d))) {
        struct stat st;
        bool qq;

        if (de->d_name[0] == '.')
            continue;
        snprintf(from, sizeof from, "%s/%s", bindir, de->d_name);
        if (stat(from, &st) == -1 || !S_ISREG(st.st_mode) ||
            !(st.st_mode & 0100))
            continue;
        snprintf(to, sizeof to, "bin/%s", de->d_name);
        qq = strcmp(de->d_name, "qmail-queue") == 0;
        if (rootmode && qq) {
            if (copy_file(from, to, 04711, id->qmailq, id->qmail) == -1)
                break;
        } else if (rootmode) {
            if (copy_file(from, to, 0755, 0, id->qmail) == -1)
                break;
        } else if (copy_file(from, to, 0755, id->owner, id->ownergid) == -1) {
            break;
        }
    }
    closedir(d);
    return errbuf[0] ? -1 : 0;
}

static int
hostname_default(char *buf, size_t n)
{
    if (gethostname(buf, n) == -1 || !buf[0])
        snprintf(buf, n, "localhost");
    buf[n - 1] = '\0';
    return 0;
}

static int
resolve_ids(const struct setup_opts *o, struct ids *id)
{
    if (o->rootmode) {
        char alias_home[PATH_MAX];

        snprintf(alias_home, sizeof alias_home, "%s/alias", o->home);
        if (ensure_group("nofiles", &id->nofiles) == -1 ||
            ensure_group("qmail", &id->qmail) == -1 ||
            ensure_user("alias", "nofiles", alias_home, &id->alias) == -1 ||
            ensure_user("qmaild", "nofiles", o->home, &id->qmaild) == -1 ||
            ensure_user("qmaill", "nofiles", o->home, &id->qmaill) == -1 ||
            ensure_user("qmailp", "nofiles", o->home, &id->qmailp) == -1 ||
            ensure_user("qmailq", "qmail", o->home, &id->qmailq) == -1 ||
            ensure_user("qmailr", "qmail", o->home, &id->qmailr) == -1 ||
            ensure_user("qmails", "qmail", o->home, &id->qmails) == -1)
            return -1;
        id->owner = 0;
        id->ownergid = id->qmail;
        return 0;
    }
    if (o->user) {
        if (priv_user(o->user, &id->owner, &id->ownergid) != 1) {
            errno = 0;
            return fail("no such user %s", o->user);
        }
    } else if (geteuid() == 0) {
        /* Root never owns a single-user instance: qmail refuses to
         * deliver as uid 0, and nothing parsing mail should run as
         * root.  nobody/nogroup needs no change to the system. */
        if (priv_user("nobody", &id->owner, &id->ownergid) != 1) {
            errno = 0;
            return fail("no user nobody");
        }
        if (priv_group("nogroup", &id->ownergid) == -1)
            return fail("looking up group nogroup");
    } else {
        id->owner = geteuid();
        id->ownergid = getegid();
    }
    id->alias = id->qmaild = id->qmaill = id->qmailp = id->owner;
    id->qmailq = id->qmailr = id->qmails = id->owner;
    id->nofiles = id->qmail = id->ownergid;
    return 0;
}

/* setup_run - build the tree: 0, or -1 with setup_error() saying why. */
int
setup_run(const struct setup_opts *o)
{
    struct ids id;
    struct bstr s = BSTR_INIT;
    char me[256];
    uid_t root;
    gid_t g;

    errbuf[0] = '\0';
    if (resolve_ids(o, &id) == -1)
        return -1;
    root = o->rootmode ? 0 : id.owner;
    g = id.qmail;

    if (mkdir(o->home, 0755) == -1 && errno != EEXIST)
        return fail("mkdir %s", o->home);
    if (chdir(o->home) == -1)
        return fail("chdir %s", o->home);
    if (chown(".", root, g) == -1 || chmod(".", 0755) == -1)
        return fail("chown/chmod %s", o->home);
    if (mkdir_own("bin", 0755, root, g) == -1 ||
        mkdir_own("boot", 0755, root, g) == -1 ||
        mkdir_own("control", 0755, root, g) == -1 ||
        mkdir_own("doc", 0755, root, g) == -1 ||
        mkdir_own("man", 0755, root, g) == -1 ||
        mkdir_own("users", 0755, root, g) == -1 ||
        mkdir_own("alias", 02755, id.alias, g) == -1)
        return -1;

    if (mkdir_own("queue", 0750, id.qmailq, g) == -1 ||
        mkdir_own("queue/pid", 0700, id.qmailq, g) == -1 ||
        mkdir_own("queue/intd", 0700, id.qmailq, g) == -1 ||
        mkdir_own("queue/todo", 0750, id.qmailq, g) == -1 ||
        split_dirs("queue/mess", 0750, id.qmailq, g) == -1 ||
        split_dirs("queue/info", 0700, id.qmails, g) == -1 ||
        split_dirs("queue/local", 0700, id.qmails, g) == -1 ||
        split_dirs("queue/remote", 0700, id.qmails, g) == -1 ||
        mkdir_own("queue/bounce", 0700, id.qmails, g) == -1 ||
        mkdir_own("queue/lock", 0750, id.qmailq, g) == -1 ||
        zero_file("queue/lock/tcpto", 1024, 0644, id.qmailr, g) == -1 ||
        zero_file("queue/lock/sendmutex", 0, 0600, id.qmails, g) == -1 ||
        make_fifo("queue/lock/trigger", 0622, id.qmails, g) == -1 ||
        make_fifo("queue/lock/sendctl", 0600, id.qmails, g) == -1)
        return -1;

    if (o->me)
        snprintf(me, sizeof me, "%s", o->me);
    else
        hostname_default(me, sizeof me);
    if (bstr_catf(&s, "%s\n", me) == -1)
        return fail("out of memory");
    if (write_new("control/me", s.s, 0644, root, g) == -1 ||
        write_new("control/locals", s.s, 0644, root, g) == -1)
        goto out;
    if (o->domain && bstr_catf(&s, "%s\n", o->domain) == -1)
        goto out;
    if (write_new("control/rcpthosts", s.s, 0644, root, g) == -1)
        goto out;
    if (o->bindir && copy_programs(o->bindir, &id, o->rootmode) == -1)
        goto out;
    bstr_free(&s);
    return 0;
out:
    bstr_free(&s);
    return -1;
}
