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
 *   tools' requests to qmail-send), bin/qmail-queue 4711 qmailq, every
 *   other program in bin 0755 root (whether copied now or installed by
 *   make install) but bin/vchkpw 4710 root:nofiles, the log directory
 *   qmaill:nofiles 0750; for the virtual domains (vpop_tree) the group
 *   vchkpw, the user vpopmail, ~vpopmail/{domains 0711, etc, bin} and
 *   users/rcptmap, users/overquota, users/open-smtp 0755 vpopmail:vchkpw
 *   users/greylist 0700 qmaild:nofiles (qmail-smtpd's greylisting stamps)
 * Single-user mode: the same modes, one owner, no setuid bit.
 *
 * Control files follow qmail-1.03's config-fast: me, defaultdomain and
 * plusdomain (me without its first label when it has two dots or more),
 * locals and rcpthosts; plus databytes and defaultdelivery.  A file that
 * exists is never rewritten.  After building, every promised owner and
 * mode is checked again, so a filesystem that drops them (nosuid, root
 * squash) is named instead of failing later with "qq write error".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bstr.h"
#include "maildir.h"
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

/* run_status - run argv (found by PATH) with stdin on in (-1: as is):
 * its exit code (127: not found), 128 + the signal, or -1 with errno. */
static int
run_status(const char *const argv[], int in)
{
    pid_t pid = fork();
    int st;

    if (pid == -1)
        return -1;
    if (pid == 0) {
        if (in != -1 && dup2(in, 0) == -1)
            _exit(111);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) == -1)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* run - 0 when argv ran and exited 0, else -1. */
static int
run(const char *const argv[])
{
    return run_status(argv, -1) == 0 ? 0 : -1;
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

/* mkdir_parents - the directories above path, as root's mkdir -p. */
static int
mkdir_parents(const char *path)
{
    char buf[PATH_MAX];

    if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf) {
        errno = ENAMETOOLONG;
        return fail("%s", path);
    }
    for (char *p = buf + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(buf, 0755) == -1 && errno != EEXIST)
            return fail("mkdir %s", buf);
        *p = '/';
    }
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

/* program_mode - owner and mode of bin/NAME in the tree. */
static void
program_mode(const char *name, const struct ids *id, bool rootmode,
             uid_t *uid, gid_t *gid, mode_t *mode)
{
    *mode = 0755;
    *uid = id->owner;
    *gid = id->ownergid;
    if (!rootmode)
        return;
    *uid = 0;
    *gid = id->qmail;
    if (strcmp(name, "qmail-queue") == 0) {
        /* the only writer of the queue, for every caller (qmail-1.03) */
        *uid = id->qmailq;
        *mode = 04711;
    } else if (strcmp(name, "vchkpw") == 0) {
        /* reads every domain's accounts and becomes the domain's owner
         * (doc/vchkpw.8): setuid root as vpopmail installs it, but run
         * only by root (qmail-popup) and nofiles (qmaild's qmail-smtpd) */
        *gid = id->nofiles;
        *mode = 04710;
    }
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
        uid_t u;
        gid_t g;
        mode_t m;

        if (de->d_name[0] == '.')
            continue;
        if ((size_t)snprintf(from, sizeof from, "%s/%s", bindir,
                             de->d_name) >= sizeof from ||
            (size_t)snprintf(to, sizeof to, "bin/%s", de->d_name) >=
                sizeof to)
            continue;
        if (stat(from, &st) == -1 || !S_ISREG(st.st_mode) ||
            !(st.st_mode & 0100))
            continue;
        program_mode(de->d_name, id, rootmode, &u, &g, &m);
        if (copy_file(from, to, m, u, g) == -1)
            break;
    }
    closedir(d);
    return errbuf[0] ? -1 : 0;
}

/*
 * fix_programs - give every program already in bin/ (put there by make
 * install, or by an older qmail) its owner and mode: the step that makes
 * a root install's qmail-queue setuid qmailq.
 */
static int
fix_programs(const struct ids *id)
{
    DIR *d = opendir("bin");
    struct dirent *de;
    char path[PATH_MAX];

    if (!d)
        return fail("opendir bin");
    while ((de = readdir(d))) {
        struct stat st;
        uid_t u;
        gid_t g;
        mode_t m;

        if (de->d_name[0] == '.' ||
            (size_t)snprintf(path, sizeof path, "bin/%s", de->d_name) >=
                sizeof path)
            continue;
        if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode))
            continue;
        program_mode(de->d_name, id, true, &u, &g, &m);
        /* chown clears setuid bits, so the mode comes after it */
        if (chown(path, u, g) == -1 || chmod(path, m) == -1) {
            closedir(d);
            return fail("chown/chmod %s", path);
        }
    }
    closedir(d);
    return 0;
}

/*
 * find_me - the fully qualified host name for control/me, as qmail's
 * config found it: the system's host name, or when that has no dot the
 * canonical name the resolver gives for it (/etc/hosts, then DNS).
 */
static void
find_me(char *buf, size_t n)
{
    struct addrinfo hints, *res = NULL;

    if (gethostname(buf, n) == -1 || !buf[0])
        snprintf(buf, n, "localhost");
    buf[n - 1] = '\0';
    if (strchr(buf, '.'))
        return;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_CANONNAME;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(buf, NULL, &hints, &res) == 0 && res &&
        res->ai_canonname && strchr(res->ai_canonname, '.') &&
        strlen(res->ai_canonname) < n)
        snprintf(buf, n, "%s", res->ai_canonname);
    if (res)
        freeaddrinfo(res);
}

/* parent_domain - config-fast's defaultdomain: me without its first
 * label when me has two dots or more ("mx.a.b" -> "a.b"; "a.b" stays). */
static const char *
parent_domain(const char *me)
{
    const char *dot = strchr(me, '.');

    if (dot && strchr(dot + 1, '.'))
        return dot + 1;
    return me;
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

static void
warn(const struct setup_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
warn(const struct setup_opts *o, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (o->warn)
        o->warn(buf);
}

/*
 * controls - the control files of a new tree (qmail-1.03's config-fast
 * set, plus databytes, defaultdelivery and ratelimits' send quotas);
 * existing files are kept.
 * A me without a dot cannot be completed by qmail-inject's rules (it
 * appends defaultdomain to a dotless host: root@vm becomes root@vm.vm,
 * which is not local), so such a tree gets defaultdomain "localdomain"
 * and both names in locals, with a warning.
 */
#define RATELIMITS_FRESH \
    "# qmail-smtpd's rate limits and send quotas: qmail-control(5),\n" \
    "# qmail-rate(8).  What one authenticated account (and its domain)\n" \
    "# may send, so that a stolen password cannot spray the world:\n" \
    "user:msgs/hour:500\nuser:msgs/day:2000\n" \
    "user:rcpts/hour:1000\nuser:rcpts/day:5000\n" \
    "# per client address, e.g. (none by default: one big sender's\n" \
    "# outbound host can pass thousands of connections a minute)\n" \
    "#ip:conn/min:60\n#ip:msgs/min:120\n#net:conn/min:300\n"

static int
controls(const struct setup_opts *o, uid_t root, gid_t g, bool *fresh)
{
    struct bstr s = BSTR_INIT;
    char me[256];
    const char *dd;
    bool dotless;
    int r = -1;

    /* A tree that has its me (made before, or by qmail-1.03) keeps what
     * it has: no file appears that changes how it behaves, and its host
     * name is not looked up again. */
    *fresh = access("control/me", F_OK) == -1;
    if (!*fresh)
        return 0;
    if (o->me)
        snprintf(me, sizeof me, "%s", o->me);
    else
        find_me(me, sizeof me);
    dotless = !strchr(me, '.');
    dd = dotless ? "localdomain" : parent_domain(me);
    if (dotless)
        warn(o, "warning: the host name %s has no dot; mail to it is "
                "accepted as %s and %s.localdomain, but other hosts "
                "need a fully qualified name: run qmail-setup -m "
                "host.example.com, or write one into control/me",
             me, me, me);

    if (bstr_catf(&s, "%s\n", me) == -1 ||
        write_new("control/me", s.s, 0644, root, g) == -1)
        goto out;
    if (dotless && bstr_catf(&s, "%s.localdomain\n", me) == -1)
        goto out;
    if (write_new("control/locals", s.s, 0644, root, g) == -1)
        goto out;
    bstr_truncate(&s, 0);
    if (bstr_catf(&s, "%s\n", dd) == -1 ||
        write_new("control/defaultdomain", s.s, 0644, root, g) == -1 ||
        write_new("control/plusdomain", s.s, 0644, root, g) == -1)
        goto out;
    bstr_truncate(&s, 0);
    if (bstr_catf(&s, "%s\n", me) == -1 ||
        (dotless && bstr_catf(&s, "%s.localdomain\n", me) == -1) ||
        (o->domain && bstr_catf(&s, "%s\n", o->domain) == -1))
        goto out;
    if (write_new("control/rcpthosts", s.s, 0644, root, g) == -1 ||
        /* the size the seeds' servers announce: SIZE 10000000 */
        write_new("control/databytes", "10000000\n", 0644, root, g) == -1 ||
        write_new("control/defaultdelivery", "./Maildir/\n", 0644, root,
                  g) == -1 ||
        /* send quotas for authenticated accounts (qmail-smtpd(8) says
         * why these and why no per-IP limit by default) */
        write_new("control/ratelimits", RATELIMITS_FRESH, 0644, root, g) ==
            -1)
        goto out;
    r = 0;
out:
    if (r == -1 && !errbuf[0]) {
        errno = ENOMEM;
        fail("out of memory");
    }
    bstr_free(&s);
    return r;
}

/*
 * aliases - in a new root install, root, postmaster and mailer-daemon
 * are delivered out of the box (qmail-1.03 left them to INSTALL.alias,
 * and until then mail to root bounced): into ~alias/Maildir, until the
 * admin writes an address into the .qmail file.
 */
static int
aliases(const struct ids *id)
{
    static const char *const names[] = {"root", "postmaster",
                                        "mailer-daemon"};
    char path[64];
    bool any = false;

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "alias/.qmail-%s", names[i]);
        if (access(path, F_OK) == 0)
            continue;
        if (write_new(path, "./Maildir/\n", 0644, id->alias, id->nofiles) ==
            -1)
            return -1;
        any = true;
    }
    if (!any || access("alias/Maildir", F_OK) == 0)
        return 0;
    if (maildir_make("alias/Maildir", 0700) == -1)
        return fail("maildirmake alias/Maildir");
    if (chown("alias/Maildir", id->alias, id->nofiles) == -1 ||
        chown("alias/Maildir/tmp", id->alias, id->nofiles) == -1 ||
        chown("alias/Maildir/new", id->alias, id->nofiles) == -1 ||
        chown("alias/Maildir/cur", id->alias, id->nofiles) == -1)
        return fail("chown alias/Maildir");
    return 0;
}

/* logdir - the loggers' directory (qmail-send's log in DIR/current, as
 * in the seeds; each listener's in DIR/NAME), owned by qmaill, which
 * the loggers run as. */
static int
logdir(const char *dir, const struct ids *id)
{
    static const char *const subs[] = {"smtpd", "submission", "smtps",
                                       "pop3d", "pop3s"};
    char path[PATH_MAX];

    if (mkdir_parents(dir) == -1 ||
        mkdir_own(dir, 0750, id->qmaill, id->nofiles) == -1)
        return -1;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, subs[i]) >=
            sizeof path) {
            errno = ENAMETOOLONG;
            return fail("%s", dir);
        }
        if (mkdir_own(path, 0750, id->qmaill, id->nofiles) == -1)
            return -1;
    }
    return 0;
}

/* tcprules - the guides' /etc/tcp.smtp (this host may relay, everyone
 * may connect), and its cdb, when there is none.  tcprules lives in
 * PREFIX/bin (ucspi-tcp's place) or bin/; found by PATH else. */
static int
tcprules(const struct setup_opts *o, const char *rules)
{
    char cdb[PATH_MAX], tmp[PATH_MAX];
    const char *prog = access("bin/tcprules", X_OK) == 0 ? "bin/tcprules"
                                                         : "tcprules";
    const char *argv[] = {prog, cdb, tmp, NULL};
    int fd, st;

    if ((size_t)snprintf(cdb, sizeof cdb, "%s.cdb", rules) >= sizeof cdb ||
        (size_t)snprintf(tmp, sizeof tmp, "%s.tmp", rules) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return fail("%s", rules);
    }
    if (write_new(rules, "127.0.0.1:allow,RELAYCLIENT=\"\"\n:allow\n", 0644,
                  0, 0) == -1)
        return -1;
    if (access(cdb, F_OK) == 0)
        return 0;
    fd = open(rules, O_RDONLY);
    if (fd == -1)
        return fail("open %s", rules);
    st = run_status(argv, fd);
    close(fd);
    if (st == 127) {
        warn(o, "warning: tcprules not found: compile %s with "
                "tcprules %s %s < %s",
             rules, cdb, tmp, rules);
        return 0;
    }
    if (st != 0) {
        errno = st == -1 ? errno : 0;
        return fail("%s %s failed", prog, cdb);
    }
    return 0;
}

/* ---- checking what was promised ------------------------------------- */

struct expect {
    const char *path;
    uid_t uid;
    gid_t gid;
    mode_t mode;
};

static int
add_problem(struct bstr *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
add_problem(struct bstr *p, const char *fmt, ...)
{
    va_list ap;
    int r;

    if (p->len && bstr_cats(p, "; ") == -1)
        return -1;
    va_start(ap, fmt);
    r = bstr_vcatf(p, fmt, ap);
    va_end(ap);
    return r;
}

static const char *
user_name(uid_t uid, char *buf, size_t n)
{
    struct passwd *pw = getpwuid(uid);

    if (pw)
        snprintf(buf, n, "%s", pw->pw_name);
    else
        snprintf(buf, n, "%lu", (unsigned long)uid);
    return buf;
}

static int
check_one(struct bstr *p, const struct expect *e)
{
    struct stat st;
    char have[64], want[64];

    if (lstat(e->path, &st) == -1)
        return add_problem(p, "%s: %s", e->path, strerror(errno));
    if (st.st_uid == e->uid && st.st_gid == e->gid &&
        (st.st_mode & 07777) == e->mode)
        return 0;
    return add_problem(p, "%s is %s:%lu mode %04o, should be %s:%lu mode %04o",
                       e->path, user_name(st.st_uid, have, sizeof have),
                       (unsigned long)st.st_gid,
                       (unsigned)(st.st_mode & 07777),
                       user_name(e->uid, want, sizeof want),
                       (unsigned long)e->gid, (unsigned)e->mode);
}

/*
 * verify - stat every directory and file whose owner and mode the tree
 * promises and say what differs.  In root mode qmail-queue must be there,
 * setuid qmailq, on a filesystem that honours setuid bits: without it
 * every message is refused with "qq write error or disk full".
 */
static int
verify(const struct setup_opts *o, const struct ids *id, uid_t root,
       gid_t g)
{
    const struct expect want[] = {
        {".", root, g, 0755},
        {"bin", root, g, 0755},
        {"control", root, g, 0755},
        {"users", root, g, 0755},
        {"alias", id->alias, g, 02755},
        {"queue", id->qmailq, g, 0750},
        {"queue/pid", id->qmailq, g, 0700},
        {"queue/intd", id->qmailq, g, 0700},
        {"queue/todo", id->qmailq, g, 0750},
        {"queue/mess", id->qmailq, g, 0750},
        {"queue/info", id->qmails, g, 0700},
        {"queue/local", id->qmails, g, 0700},
        {"queue/remote", id->qmails, g, 0700},
        {"queue/bounce", id->qmails, g, 0700},
        {"queue/lock", id->qmailq, g, 0750},
        {"queue/lock/trigger", id->qmails, g, 0622},
        {"queue/lock/sendmutex", id->qmails, g, 0600},
        {"queue/lock/tcpto", id->qmailr, g, 0644},
    };
    struct bstr p = BSTR_INIT;
    struct statvfs vfs;
    int e = 0;

    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        e |= check_one(&p, &want[i]);
    if (o->rootmode) {
        struct expect qq = {"bin/qmail-queue", id->qmailq, id->qmail, 04711};

        if (access(qq.path, F_OK) == -1) {
            warn(o, "warning: %s/bin/qmail-queue is missing: install the "
                    "programs (make install) and run qmail-setup -r again",
                 o->home);
        } else {
            e |= check_one(&p, &qq);
            if (statvfs("bin", &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
                e |= add_problem(&p, "bin is on a filesystem mounted "
                                     "nosuid: qmail-queue cannot become "
                                     "qmailq (remount it without nosuid)");
        }
    }
    if (e) {
        bstr_free(&p);
        errno = ENOMEM;
        return fail("out of memory");
    }
    if (p.len) {
        errno = 0;
        fail("the tree is not as qmail needs it: %s", p.s);
        bstr_free(&p);
        return -1;
    }
    bstr_free(&p);
    return 0;
}

/* vhome_control - control/vpopmailhome's first line into buf: 1, 0 (no
 * file or empty), -1. */
static int
vhome_control(char *buf, size_t n)
{
    FILE *f = fopen("control/vpopmailhome", "r");
    size_t len;

    if (!f)
        return errno == ENOENT ? 0 : fail("open control/vpopmailhome");
    if (!fgets(buf, (int)n, f))
        buf[0] = '\0';
    fclose(f);
    len = strcspn(buf, "\r\n");
    while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        len--;
    buf[len] = '\0';
    if (buf[0] && buf[0] != '/') {
        errno = 0;
        return fail("control/vpopmailhome is not an absolute path");
    }
    return buf[0] ? 1 : 0;
}

/* mkdir_new - path made with owner and mode when missing; an existing
 * directory (an old vpopmail tree's) is left as it is. */
static int
mkdir_new(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    if (mkdir(path, mode) == -1)
        return errno == EEXIST ? 0 : fail("mkdir %s", path);
    if (chown(path, uid, gid) == -1 || chmod(path, mode) == -1)
        return fail("chown/chmod %s", path);
    return 0;
}

/* link_programs - ~vpopmail/bin/NAME for each vpopmail program, a link
 * to ours, where an old tree's .qmail-default files and run scripts name
 * them (| /home/vpopmail/bin/vdelivermail ...).  A program of vpopmail's
 * own that is there stays, with a warning: the admin switches. */
static int
link_programs(const struct setup_opts *o, const char *vbin, uid_t uid,
              gid_t gid)
{
    static const char *const names[] = {
        "vadddomain", "vaddaliasdomain", "vadduser",      "valias",
        "vchkpw",     "vconvert",        "vdeldomain",    "vdelivermail",
        "vdeluser",   "vdominfo",        "vemptymailbox", "vfixperms",
        "vmoduser",   "vpasswd",         "vsetuserquota", "vuserinfo",
        /* old crontabs: 40 * * * * root /home/vpopmail/bin/clearopensmtp */
        "clearopensmtp"};
    char from[PATH_MAX], to[PATH_MAX];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct stat st;

        if ((size_t)snprintf(to, sizeof to, "%s/bin/%s", o->home,
                             names[i]) >= sizeof to ||
            (size_t)snprintf(from, sizeof from, "%s/%s", vbin, names[i]) >=
                sizeof from) {
            errno = ENAMETOOLONG;
            return fail("%s", vbin);
        }
        if (access(to, F_OK) == -1)
            continue; /* not installed (yet): the next run links it */
        if (lstat(from, &st) == 0) {
            if (!S_ISLNK(st.st_mode))
                warn(o, "warning: %s is not qmail-ng's (vpopmail's own?): "
                        "to use ours, replace it with a link to %s",
                     from, to);
            continue;
        }
        if (symlink(to, from) == -1 || lchown(from, uid, gid) == -1)
            return fail("symlink %s", from);
    }
    return 0;
}

/*
 * vpop_tree - what the virtual domains need (DESIGN §3): ~vpopmail with
 * domains/, etc/ and bin/, and users/rcptmap, users/overquota,
 * users/open-smtp (755, vpopmail's: the tools write the recipient maps,
 * vdelivermail the over-quota flags, vchkpw the POP-before-SMTP stamps;
 * qmail-smtpd reads all three).  ~vpopmail is
 * control/vpopmailhome, else the user vpopmail's home, else
 * /home/vpopmail as vpopmail's default.  Root mode creates the group
 * vchkpw and the user vpopmail when missing; a new single-user tree keeps
 * ~vpopmail inside home and names it in control/vpopmailhome (an old one
 * gets only the two users/ directories: no control file appears).  What an
 * old vpopmail tree has is kept as it is, except that domains/ gets the
 * search bits (711) that let qmail-smtpd see whether a recipient map is
 * stale (a domain directory's mtime), never inside a domain.
 */
static int
vpop_tree(const struct setup_opts *o, const struct ids *id, gid_t g,
          bool fresh)
{
    char vhome[PATH_MAX - 32], path[PATH_MAX];
    uid_t vu = id->owner;
    gid_t vg = id->ownergid;
    struct stat st;
    int r = vhome_control(vhome, sizeof vhome);

    if (r == -1)
        return -1;
    if (o->rootmode) {
        struct passwd *pw;

        if (r == 0) {
            pw = getpwnam("vpopmail");
            snprintf(vhome, sizeof vhome, "%s",
                     pw && pw->pw_dir[0] == '/' ? pw->pw_dir
                                                : "/home/vpopmail");
        }
        if (ensure_group("vchkpw", &vg) == -1 ||
            ensure_user("vpopmail", "vchkpw", vhome, &vu) == -1)
            return -1;
        /* an existing vpopmail keeps its own group (vpopmail's is 89) */
        if (priv_user("vpopmail", &vu, &vg) != 1) {
            errno = 0;
            return fail("no user vpopmail");
        }
    } else if (r == 0 && !fresh) {
        /* an old tree gets no control file: without one, the tools look
         * for the user vpopmail's home, which is not the owner's to make */
        goto maps;
    } else if (r == 0) {
        if ((size_t)snprintf(vhome, sizeof vhome, "%s/vpopmail", o->home) >=
            sizeof vhome) {
            errno = ENAMETOOLONG;
            return fail("%s/vpopmail", o->home);
        }
        snprintf(path, sizeof path, "%s\n", vhome);
        if (write_new("control/vpopmailhome", path, 0644, id->owner, g) ==
            -1)
            return -1;
    }
    if (mkdir_parents(vhome) == -1 || mkdir_new(vhome, 0755, vu, vg) == -1)
        return -1;
    snprintf(path, sizeof path, "%s/domains", vhome);
    if (mkdir_new(path, 0711, vu, vg) == -1)
        return -1;
    if (stat(path, &st) == 0 && (st.st_mode & 0011) != 0011 &&
        chmod(path, (st.st_mode & 07777) | 0011) == -1)
        return fail("chmod %s", path);
    snprintf(path, sizeof path, "%s/etc", vhome);
    if (mkdir_new(path, 0755, vu, vg) == -1)
        return -1;
    snprintf(path, sizeof path, "%s/bin", vhome);
    if (mkdir_new(path, 0755, vu, vg) == -1 || link_programs(o, path, vu, vg) == -1)
        return -1;
maps:
    return mkdir_own("users/rcptmap", 0755, vu, vg) == -1 ||
                   mkdir_own("users/overquota", 0755, vu, vg) == -1 ||
                   mkdir_own("users/open-smtp", 0755, vu, vg) == -1
               ? -1
               : 0;
}

/* setup_run - build the tree: 0, or -1 with setup_error() saying why. */
int
setup_run(const struct setup_opts *o)
{
    struct ids id;
    uid_t root;
    gid_t g;
    bool fresh;

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
        /* greylisting's stamps (src/smtpd/greylist.h): qmail-smtpd's */
        mkdir_own("users/greylist", 0700, id.qmaild, id.nofiles) == -1 ||
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

    /* the rate-limit counters (src/lib/ratestore.h): qmail-smtpd (qmaild)
     * makes, maps and replaces users/ratelimit/rate.db; qmail-rate, as
     * root, reads and resets it */
    if (mkdir_own("users/ratelimit", 0700, id.qmaild, id.nofiles) == -1)
        return -1;

    if (controls(o, root, g, &fresh) == -1 ||
        (o->rootmode && fresh && aliases(&id) == -1))
        return -1;
    if (o->bindir && copy_programs(o->bindir, &id, o->rootmode) == -1)
        return -1;
    if (o->rootmode && fix_programs(&id) == -1)
        return -1;
    if (vpop_tree(o, &id, g, fresh) == -1)
        return -1;
    if (o->rootmode && o->logdir && logdir(o->logdir, &id) == -1)
        return -1;
    if (o->rootmode && o->rules && tcprules(o, o->rules) == -1)
        return -1;
    return verify(o, &id, root, g);
}
