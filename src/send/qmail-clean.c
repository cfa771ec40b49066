/* SPDX-License-Identifier: ISC */
/*
 * qmail-clean - removes queue files for qmail-send, which does not own
 * them (mess/, intd/ and todo/ belong to qmailq in a root install).
 *
 * Requests on fd 0, NUL-terminated: "t<id>" (preprocessing is done:
 * remove intd/<id> and todo/<id>), "x<id>" (the message is finished:
 * remove intd/todo leftovers, then mess/S/<id>, always last: as long as
 * it exists its inode, the message number, cannot be given to another)
 * and "o<id>" (an orphan qmail-send found: intd/<id> and mess/S/<id>,
 * refused unless todo/<id> is absent and both are untouched for 36
 * hours).  One answer byte each on fd 1, in order: '+' done, '!' failed
 * or refused, and for "o" '-' when there was nothing left to remove.  Requests that arrive together are done together and
 * todo/ is fsynced once before their answers go out, so a removal
 * qmail-send acts on is durable (a todo/ entry that came back after a
 * crash would be preprocessed, and delivered, again).
 * FIRST_SWEEP seconds after its start and then every hour it also
 * removes what killed qmail-queue processes left, untouched for 36
 * hours: files in pid/, and intd/ files without a todo/ entry (with their
 * mess/ file), logging each.  qmail-send cannot read intd/, which belongs
 * to qmailq.  It exits at end of input, sweeping nothing if that comes
 * first: the end of a qmail-send that stopped at once because another
 * one holds the queue (lock/sendmutex).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "log.h"
#include "nulrec.h"
#include "outcome.h"
#include "priv.h"
#include "qpath.h"
#include "writeall.h"

#define STALE 129600 /* seconds: qmail's 36 hours */
#define FIRST_SWEEP 5 /* seconds from the start to the first sweep */
#define SWEEP_EVERY 3600

static bool
gone(const char *fn)
{
    return unlink(fn) == 0 || errno == ENOENT;
}

/* stale - whether fn exists and has been untouched for STALE seconds at
 * now (every write qmail-queue makes moves the mtime). */
static bool
stale(const char *fn, time_t now)
{
    struct stat st;

    return stat(fn, &st) == 0 && now - st.st_mtime >= STALE;
}

static bool
absent(const char *fn)
{
    struct stat st;

    return stat(fn, &st) == -1 && errno == ENOENT;
}

/*
 * orphan - remove uncommitted message id: intd/<id> (if any) and, when
 * untouched for STALE too, mess/S/<id>, mess last.  Returns '+' when it
 * removed something, '-' when neither was there (gone already), '!' when
 * it refused (todo/<id> exists, intd/<id> is younger) or failed.
 * with_mess: mess/ must be stale too (qmail-send's request); else a young
 * mess/ stays (a new message got the number) and only intd/ goes.
 */
static char
orphan(unsigned long long id, bool with_mess, bool *mess_gone)
{
    char fn[QPATH_MAX];
    time_t now = time(NULL);
    bool intd_gone = false;

    *mess_gone = false;
    qpath_fmt(fn, "todo", id);
    if (!absent(fn))
        return '!';
    qpath_fmt(fn, "intd", id);
    if (!absent(fn)) {
        if (!stale(fn, now) || !gone(fn))
            return '!';
        intd_gone = true;
    }
    qpath_fmt(fn, "mess", id);
    if (absent(fn))
        return intd_gone ? '+' : '-';
    if (!stale(fn, now))
        return with_mess ? '!' : intd_gone ? '+' : '-';
    if (!gone(fn))
        return '!';
    *mess_gone = true;
    return '+';
}

static char
do_request(const char *r, size_t len, bool *synctodo)
{
    char fn[QPATH_MAX];
    unsigned long long id;

    if (len < 2 || scan_ull(r + 1, len - 1, &id) != len - 1 || id == 0)
        return '!';
    switch (r[0]) {
    case 't':
        qpath_fmt(fn, "intd", id);
        if (!gone(fn))
            return '!';
        qpath_fmt(fn, "todo", id);
        if (!gone(fn))
            return '!';
        *synctodo = true;
        return '+';
    case 'o': {
        bool mess_gone;

        return orphan(id, true, &mess_gone);
    }
    case 'x':
        /* mess/ goes last: its inode is the message number, and while
         * it exists no new message can be given the same number (whose
         * intd/ and todo/ entries would otherwise be removed here) */
        qpath_fmt(fn, "intd", id);
        if (!gone(fn))
            return '!';
        qpath_fmt(fn, "todo", id);
        if (!gone(fn))
            return '!';
        qpath_fmt(fn, "mess", id);
        if (!gone(fn))
            return '!';
        return '+';
    default:
        return '!';
    }
}

/* sweep_intd - intd/ files of messages never committed (no todo/),
 * untouched for STALE seconds, go with their mess/ files. */
static void
sweep_intd(void)
{
    DIR *d = opendir("intd");
    struct dirent *de;
    time_t now = time(NULL);

    if (!d)
        return;
    while ((de = readdir(d))) {
        char fn[QPATH_MAX], mfn[QPATH_MAX];
        unsigned long long id;
        bool mess_gone;

        if (!qpath_scan_id(de->d_name, &id) || id == 0)
            continue;
        qpath_fmt(fn, "intd", id);
        qpath_fmt(mfn, "mess", id);
        if (!stale(fn, now))
            continue;
        if (orphan(id, false, &mess_gone) != '+')
            log_line("warning: unable to remove orphan %s", fn);
        else if (mess_gone)
            log_line("warning: removed orphan %s and %s: never queued "
                     "(no todo/ entry), untouched for 36 hours",
                     fn, mfn);
        else
            log_line("warning: removed orphan %s: never queued (no todo/ "
                     "entry), untouched for 36 hours", fn);
    }
    closedir(d);
}

static void
sweep_pid(void)
{
    DIR *d = opendir("pid");
    struct dirent *de;
    time_t now = time(NULL);

    if (!d)
        return;
    while ((de = readdir(d))) {
        char fn[300];
        struct stat st;

        if (de->d_name[0] == '.')
            continue;
        snprintf(fn, sizeof fn, "pid/%s", de->d_name);
        if (stat(fn, &st) == 0 && now - st.st_mtime > STALE && unlink(fn) == 0)
            log_line("removed stale %s", fn);
    }
    closedir(d);
}

int
main(void)
{
    struct nulrec nr;
    time_t next_sweep = time(NULL) + FIRST_SWEEP;
    char buf[65536], ans[65536];
    int rc = 0;

    log_init("qmail-clean");
    /* a Ctrl-C reaches the whole process group: qmail-clean ends when
     * qmail-send, which still needs it to finish, closes its pipe */
    signal(SIGINT, SIG_IGN);
    if (chdir(priv_home()) == -1 || chdir("queue") == -1)
        log_die_sys(EXIT_TEMP, "unable to chdir to the queue");
    nulrec_init(&nr, 64);
    for (;;) {
        struct pollfd p = {0, POLLIN, 0};
        size_t na = 0, off = 0;
        bool synctodo = false;
        time_t now = time(NULL);
        ssize_t r;

        if (now >= next_sweep) {
            sweep_pid();
            sweep_intd();
            now = time(NULL);
            next_sweep = now + SWEEP_EVERY;
        }
        if (next_sweep - now > SWEEP_EVERY)
            next_sweep = now + SWEEP_EVERY; /* the clock went back */
        if (poll(&p, 1, (int)(next_sweep - now) * 1000) == 0)
            continue;
        r = read(0, buf, sizeof buf);
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* qmail-send is gone: so are we */
        while (off < (size_t)r) {
            size_t used;
            int ev = nulrec_push(&nr, buf + off, (size_t)r - off, &used);

            off += used;
            if (ev == NULREC_RECORD && na < sizeof ans) {
                ans[na++] = do_request(nr.rec.s, nr.rec.len, &synctodo);
            } else if (ev == NULREC_TOOLONG || ev == NULREC_NOMEM) {
                nulrec_free(&nr);
                log_die(EXIT_TEMP, ev == NULREC_NOMEM ? "out of memory"
                                   : "garbled request from qmail-send");
            }
        }
        if (synctodo) {
            int fd = open("todo", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

            if (fd == -1 || fsync(fd) == -1) {
                /* not durable: say so, qmail-send will not deliver yet */
                for (size_t i = 0; i < na; i++)
                    ans[i] = '!';
            }
            if (fd != -1)
                close(fd);
        }
        if (na && write_all(1, ans, na) == -1) {
            rc = EXIT_TEMP;
            break;
        }
    }
    nulrec_free(&nr);
    return rc;
}
