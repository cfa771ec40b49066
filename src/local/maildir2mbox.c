/* SPDX-License-Identifier: ISC */
/*
 * maildir2mbox - move the messages of $MAILDIR onto the end of the mbox
 * $MAIL, through the temporary file $MAILTMP (same filesystem).
 *
 * $MAIL is locked (dot-lock and flock) while the old mbox and the
 * messages, oldest first, are copied to $MAILTMP, which is fsynced and
 * renamed over $MAIL; only then are the messages removed from the
 * maildir.  A crash leaves the mail in the maildir, or in both places,
 * never nowhere.  Each message gets a "From " line made from its
 * Return-Path and its delivery time, and ">From " quoting.  Exit 0, or
 * 111 with nothing removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bstr.h"
#include "lock.h"
#include "log.h"
#include "maildir.h"
#include "mbox.h"
#include "outcome.h"
#include "writeall.h"

#define CLEAN_AGE (36UL * 3600) /* maildir(5): tmp files older are dead */
#define LOCK_SECONDS 300

static const char *
need(const char *name)
{
    const char *v = getenv(name);

    if (!v || !*v)
        log_die(EXIT_TEMP, "%s not set", name);
    return v;
}

static void
put(int fd, const char *p, size_t n, const char *tmp)
{
    if (write_all(fd, p, n) == -1)
        log_die_sys(EXIT_TEMP, "unable to write to %s", tmp);
}

/* sender - the address of a first line "Return-Path: <addr>", or "". */
static void
sender(const char *buf, size_t n, struct bstr *out)
{
    static const char rp[] = "Return-Path: <";
    const char *nl = memchr(buf, '\n', n);
    size_t len = nl ? (size_t)(nl - buf) : 0;

    bstr_truncate(out, 0);
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    if (len < sizeof rp || memcmp(buf, rp, sizeof rp - 1) != 0 ||
        buf[len - 1] != '>')
        return;
    if (bstr_catb(out, buf + sizeof rp - 1, len - sizeof rp) == -1)
        log_die(EXIT_TEMP, "out of memory");
}

static void
one_message(int out, const char *maildir, const char *name,
            unsigned long long t, const char *tmp)
{
    struct bstr path = BSTR_INIT, from = BSTR_INIT, who = BSTR_INIT;
    struct bstr q = BSTR_INIT;
    struct mbox_quoter mq;
    char buf[65536];
    bool first = true;
    int fd;

    if (bstr_catf(&path, "%s/%s", maildir, name) == -1)
        log_die(EXIT_TEMP, "out of memory");
    fd = open(path.s, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        log_die_sys(EXIT_TEMP, "unable to read $MAILDIR/%s", name);
    mbox_quote_init(&mq);
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            log_die_sys(EXIT_TEMP, "unable to read $MAILDIR/%s",
                        name);
        if (first) {
            first = false;
            sender(buf, r > 0 ? (size_t)r : 0, &who);
            if (mbox_ufline(&from, who.s ? who.s : "", (time_t)t) == -1)
                log_die(EXIT_TEMP, "out of memory");
            put(out, from.s, from.len, tmp);
        }
        if (r == 0)
            break;
        bstr_truncate(&q, 0);
        if (mbox_quote_push(&mq, buf, (size_t)r, &q) == -1)
            log_die(EXIT_TEMP, "out of memory");
        put(out, q.s ? q.s : "", q.len, tmp);
    }
    bstr_truncate(&q, 0);
    if (mbox_quote_end(&mq, &q) == -1)
        log_die(EXIT_TEMP, "out of memory");
    put(out, q.s, q.len, tmp);
    close(fd);
    bstr_free(&path);
    bstr_free(&from);
    bstr_free(&who);
    bstr_free(&q);
}

int
main(void)
{
    struct maildir_list l = {0};
    struct bstr dot = BSTR_INIT;
    const char *mail, *tmp, *maildir;
    char buf[65536];
    int lockfd, oldfd, newfd;

    log_init("maildir2mbox");
    umask(077);
    mail = need("MAIL");
    tmp = need("MAILTMP");
    maildir = need("MAILDIR");
    if (maildir_clean_tmp(maildir, CLEAN_AGE) == -1 ||
        maildir_scan(maildir, &l) == -1)
        log_die_sys(EXIT_TEMP, "unable to scan $MAILDIR");
    if (l.n == 0) {
        maildir_list_free(&l);
        return 0; /* nothing new */
    }

    lockfd = open(mail, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (lockfd == -1)
        log_die_sys(EXIT_TEMP, "unable to lock %s", mail);
    if (lock_dot(mail, LOCK_SECONDS, &dot) == -1 ||
        lock_ex_wait(lockfd, LOCK_SECONDS) == -1)
        log_die_sys(EXIT_TEMP, "unable to lock %s", mail);
    oldfd = open(mail, O_RDONLY | O_CLOEXEC);
    if (oldfd == -1)
        log_die_sys(EXIT_TEMP, "unable to read %s", mail);
    newfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (newfd == -1)
        log_die_sys(EXIT_TEMP, "unable to create %s", tmp);
    for (;;) {
        ssize_t r = read(oldfd, buf, sizeof buf);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            log_die_sys(EXIT_TEMP, "unable to read %s", mail);
        if (r == 0)
            break;
        put(newfd, buf, (size_t)r, tmp);
    }
    close(oldfd);
    for (size_t i = 0; i < l.n; i++)
        one_message(newfd, maildir, maildir_list_name(&l, i), l.v[i].time,
                    tmp);
    if (fsync(newfd) == -1 || close(newfd) == -1)
        log_die_sys(EXIT_TEMP, "unable to write to %s", tmp);
    if (rename(tmp, mail) == -1)
        log_die_sys(EXIT_TEMP, "unable to move %s to %s", tmp, mail);
    lock_dot_release(&dot);
    close(lockfd);
    for (size_t i = 0; i < l.n; i++) {
        struct bstr path = BSTR_INIT;

        if (bstr_catf(&path, "%s/%s", maildir, maildir_list_name(&l, i)) ==
                -1 ||
            unlink(path.s) == -1)
            log_line("warning: $MAILDIR/%s will be delivered twice; unable "
                     "to unlink: %s", maildir_list_name(&l, i),
                     strerror(errno));
        bstr_free(&path);
    }
    maildir_list_free(&l);
    bstr_free(&dot);
    return 0;
}
