/* SPDX-License-Identifier: ISC */
/*
 * qmail-clean - removes queue files for qmail-send, which does not own
 * them (mess/, intd/ and todo/ belong to qmailq in a root install).
 *
 * Requests on fd 0, NUL-terminated: "t<id>" (preprocessing is done:
 * remove intd/<id> and todo/<id>) and "x<id>" (the message is finished:
 * remove intd/todo leftovers, then mess/S/<id>, always last: as long as
 * it exists its inode, the message number, cannot be given to another).  One answer byte each on
 * fd 1, in order: '+' done, '!' failed.  Requests that arrive together
 * are done together and todo/ is fsynced once before their answers go
 * out, so a removal qmail-send acts on is durable (a todo/ entry that
 * came back after a crash would be preprocessed, and delivered, again).
 * Every hour it also removes files older than 36 hours from pid/, left
 * by qmail-queue processes that were killed.  It exits at end of input.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

static bool
gone(const char *fn)
{
    return unlink(fn) == 0 || errno == ENOENT;
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
    time_t last_sweep = 0;
    char buf[65536], ans[65536];
    int rc = 0;

    log_init("qmail-clean");
    if (chdir(priv_home()) == -1 || chdir("queue") == -1)
        log_die_sys(EXIT_TEMP, "unable to chdir to the queue");
    nulrec_init(&nr, 64);
    for (;;) {
        struct pollfd p = {0, POLLIN, 0};
        size_t na = 0, off = 0;
        bool synctodo = false;
        ssize_t r;

        if (time(NULL) - last_sweep >= 3600) {
            sweep_pid();
            last_sweep = time(NULL);
        }
        if (poll(&p, 1, 3600 * 1000) == 0)
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
