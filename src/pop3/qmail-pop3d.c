/* SPDX-License-Identifier: ISC */
/*
 * qmail-pop3d - serve one Maildir over POP3 after login: run by the
 * checkpassword program (vchkpw) as the mailbox owner, in its home
 * directory, as "qmail-pop3d Maildir", with the client on fds 0 and 1.
 * Its first reply, "+OK ", answers the client's PASS.  It never runs as
 * root, never changes a file before QUIT, and logs one line when the
 * session starts and one when it ends.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "maildir.h"
#include "pop3d.h"
#include "priv.h"
#include "rcptmap.h"

static const char *const reasons[] = {
    [POP3D_END_NONE] = "eof",    [POP3D_END_QUIT] = "quit",
    [POP3D_END_EOF] = "eof",     [POP3D_END_TIMEOUT] = "timeout",
    [POP3D_END_ERROR] = "error",
};

/* The ways a session ends before its first +OK.  Once the client has
 * its -ERR, the exit is 0, as qmail-pop3d's: the login itself was good,
 * and a qmail-popup that sees a non-zero exit says "authorization
 * failed" after it. */
static void __attribute__((noreturn))
die_reply(struct pop3d *s, const char *reply, int code)
{
    if (pop3d_puts(s, reply) == 0)
        (void)!pop3d_flush(s);
    _exit(code);
}

static void __attribute__((noreturn))
die_root(void)
{
    log_line("invoked as uid 0, terminating");
    _exit(1);
}

static void __attribute__((noreturn))
die_nomaildir(struct pop3d *s)
{
    log_line("user=%s ip=%s has no Maildir to serve", s->cf->user, s->cf->ip);
    die_reply(s, "-ERR this user has no $HOME/Maildir\r\n", 0);
}

static void __attribute__((noreturn))
die_scan(struct pop3d *s)
{
    log_line("user=%s unable to scan $HOME/Maildir: %s", s->cf->user,
             strerror(errno));
    die_reply(s, "-ERR unable to scan $HOME/Maildir\r\n", 0);
}

static void __attribute__((noreturn))
die_logindelay(struct pop3d *s, unsigned long wait)
{
    log_line("refused user=%s ip=%s login-delay wait=%lu", s->cf->user,
             s->cf->ip, wait);
    die_reply(s, "-ERR [LOGIN-DELAY] too soon after the last login\r\n", 0);
}

int
main(int argc, char **argv)
{
    struct pop3d *s = calloc(1, sizeof *s); /* its buffers: not on the stack */
    struct pop3d_config cf;
    struct bstr why = BSTR_INIT;
    struct sigaction sa;
    unsigned long long bytes = 0;
    unsigned long n;
    time_t now = time(NULL);

    log_init("qmail-pop3d");
    if (!s) {
        (void)!write(1, "-ERR out of memory\r\n", 20);
        _exit(1);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL); /* a dead client is a write error */
    if (getuid() == 0)
        die_root();
    if (pop3d_config_env(&cf, &why) != 0)
        log_line("ignored: %.*s", (int)(why.len > 2 ? why.len - 2 : 0),
                 why.s ? why.s : "");
    bstr_free(&why);
    pop3d_init(s, &cf, 0, 1);

    if (argc < 2 || !argv[1][0] || chdir(argv[1]) == -1)
        die_nomaildir(s);
    if (cf.logindelay_set && cf.logindelay > 0) {
        unsigned long wait;
        int r = pop3d_logindelay(cf.logindelay, now, &wait);

        if (r == 1)
            die_logindelay(s, wait);
        if (r == -1)
            log_line("user=%s cannot stamp the login time: %s", cf.user,
                     strerror(errno));
    }
    (void)!maildir_clean_tmp(".", POP3D_TMP_AGE);
    if (cf.expire == POP3D_EXPIRE_DAYS && cf.expire_days > 0) {
        if (pop3d_expire(cf.expire_days, now, &n) == -1)
            log_line("user=%s expire: %s", cf.user, strerror(errno));
        if (n)
            log_line("expired user=%s messages=%lu days=%lu", cf.user, n,
                     cf.expire_days);
    }
    if (pop3d_box_scan(&s->box) == -1)
        die_scan(s);

    for (size_t i = 0; i < s->box.n; i++)
        bytes += s->box.v[i].size;
    log_line("session user=%s ip=%s messages=%zu bytes=%llu", cf.user, cf.ip,
             s->box.n, bytes);
    if (pop3d_puts(s, "+OK \r\n") == 0 && pop3d_flush(s) == 0)
        pop3d_run(s);
    if (s->box.counterr)
        log_line("user=%s maildirsize not updated: %s", cf.user,
                 strerror(s->box.counterr));
    /* room was made: qmail-smtpd may take this mailbox's mail again at
     * RCPT (vdelivermail raises the flag anew if it is still full) */
    if (s->ndeleted && cf.domain &&
        rcptmap_overquota_set(priv_home(), cf.mailbox, cf.domain, false) == -1 &&
        errno != EINVAL)
        log_line("user=%s unable to clear the over-quota flag: %s", cf.user,
                 strerror(errno));
    log_line("end user=%s ip=%s retrieved=%lu deleted=%lu sent=%llu reason=%s",
             cf.user, cf.ip, s->nretrieved, s->ndeleted, s->sent,
             reasons[s->end]);
    pop3d_free(s);
    free(s);
    return 0;
}
