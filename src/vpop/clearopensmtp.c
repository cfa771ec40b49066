/* SPDX-License-Identifier: ISC */
/*
 * clearopensmtp - vpopmail's cron job, kept so that old crontabs
 * (40 * * * * root /home/vpopmail/bin/clearopensmtp) do no harm: with no
 * argument it runs the POP-before-SMTP expiry pass now, silently, and
 * exits 0 (the logins run the same pass every ten minutes anyway, so
 * the cron line is no longer needed).  clearopensmtp -i FILE imports
 * vpopmail's old open-smtp file once.  Run as root it first becomes the
 * owner of users/open-smtp, so it never leaves root-owned files there.
 * See clearopensmtp(8).
 *
 * Exits 0 done (or nothing to do), 100 usage, 111 trouble.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "opensmtp.h"
#include "priv.h"

#define LINE_MAX_BYTES 1024 /* an open-smtp line is about 60 bytes */
#define BAD_SHOWN 20        /* bad lines named on stderr, then counted */

struct tally {
    unsigned long lines, imported, expired, bad;
};

static void __attribute__((noreturn)) usage(void)
{
    log_line("usage: clearopensmtp [-i open-smtp-file]");
    _exit(100);
}

/* become_owner - as root, the owner of users/open-smtp; 0 when the
 * directory is missing (nothing to do), 1 ready. */
static int
become_owner(void)
{
    struct stat st;

    if (lstat(OPENSMTP_DIR, &st) == -1) {
        if (errno == ENOENT)
            return 0;
        log_die_sys(111, "unable to stat %s", OPENSMTP_DIR);
    }
    if (!S_ISDIR(st.st_mode))
        log_die(111, "%s is not a directory", OPENSMTP_DIR);
    if (geteuid() == 0 && st.st_uid != 0 &&
        priv_drop(st.st_uid, st.st_gid) == -1)
        log_die_sys(111, "unable to become the owner of %s", OPENSMTP_DIR);
    return 1;
}

/* one_line - import line (n bytes, or too long), counting the result. */
static void
one_line(const char *line, size_t n, bool toolong, unsigned long age,
         time_t now, struct tally *t)
{
    int r;

    t->lines++;
    if (n == 0 && !toolong)
        return; /* an empty line (a trailing newline) is no entry */
    r = toolong ? -1 : opensmtp_import(OPENSMTP_DIR, line, n, age, now);
    if (r == 1) {
        t->imported++;
    } else if (r == 0) {
        t->expired++;
    } else if (errno != EINVAL && !toolong) {
        log_die_sys(111, "unable to record line %lu in %s", t->lines,
                    OPENSMTP_DIR);
    } else {
        if (++t->bad <= BAD_SHOWN)
            log_line("line %lu: not an open-smtp entry (IP:allow,... "
                     "TIMESTAMP)%s",
                     t->lines, toolong ? ": too long" : "");
    }
}

/* import - every line of f; f was opened before privileges dropped. */
static void
import(FILE *f, const char *name, unsigned long age, time_t now)
{
    char line[LINE_MAX_BYTES];
    struct tally t = {0, 0, 0, 0};
    size_t n = 0;
    bool toolong = false;
    int c;

    while ((c = getc(f)) != EOF) {
        if (c == '\n') {
            one_line(line, n, toolong, age, now, &t);
            n = 0;
            toolong = false;
        } else if (n < sizeof line) {
            line[n++] = (char)c;
        } else {
            toolong = true;
        }
    }
    if (ferror(f))
        log_die_sys(111, "unable to read %s", name);
    if (n || toolong)
        one_line(line, n, toolong, age, now, &t);
    if (t.bad > BAD_SHOWN)
        log_line("%lu more bad lines", t.bad - BAD_SHOWN);
    log_line("imported %lu addresses, skipped %lu expired, %lu bad lines",
             t.imported, t.expired, t.bad);
}

int
main(int argc, char **argv)
{
    FILE *f = NULL;
    const char *file = NULL;
    unsigned long age;
    size_t removed;
    time_t now;

    log_init("clearopensmtp");
    umask(022);
    if (argc == 3 && strcmp(argv[1], "-i") == 0)
        file = argv[2];
    else if (argc != 1)
        usage();
    /* the file is read as the caller (root may read /etc/vpopmail) */
    if (file && (f = fopen(file, "r")) == NULL)
        log_die_sys(111, "unable to open %s", file);
    if (chdir(priv_home()) == -1)
        log_die_sys(111, "unable to enter %s", priv_home());
    if (opensmtp_age(&age) == -1)
        log_die_sys(111, "unable to read %s", OPENSMTP_CONTROL);
    if (become_owner() == 0) {
        if (file)
            log_die(111, "%s/%s is missing: run qmail-setup", priv_home(),
                    OPENSMTP_DIR);
        return 0;
    }
    now = time(NULL);
    if (file) {
        if (age == 0)
            log_line("warning: %s is 0 (POP-before-SMTP is off): every "
                     "entry counts as expired",
                     OPENSMTP_CONTROL);
        import(f, file, age, now);
        fclose(f);
        return 0;
    }
    if (opensmtp_expire_due(OPENSMTP_DIR, age, now, true, &removed) == -1)
        log_die_sys(111, "unable to expire %s", OPENSMTP_DIR);
    return 0;
}
