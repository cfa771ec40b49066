/* SPDX-License-Identifier: ISC */
/*
 * vdeliver - vdelivermail's run (see vdeliver.h): the outcomes table,
 * the settings, and the deliveries (the parsers are in vdeliver_parse.c,
 * the Maildir's files in vdeliver_quota.c).
 *
 * Order of a run, as vpopmail 5.4's: arguments and names checked (a bad
 * name bounces before the file system is touched); the domain from
 * users/cdb; the loop check on $EXT@domain; with the PostgreSQL store,
 * $EXT's rows in vpopmail's valias table (--enable-valias), delivered by
 * as a .qmail; the account, else the account named by the part before
 * the first '-'; its BOUNCE_MAIL flag; its directory (made when missing);
 * its .qmail (with "joe-ext", first .qmail-ext and .qmail-default files,
 * as vpopmail's user-ext rule); else its Maildir under its quota.  A name
 * without an account follows the .qmail-default's instruction.
 *
 * What a Maildir copy starts with is vpopmail's: qmail-local's
 * Return-Path line, then "Delivered-To: NAME@REALDOMAIN" (not
 * qmail-local's $DTLINE "dom.com-name@dom.com"), which is also what the
 * loop check looks for.  A forwarded copy gets only the Delivered-To line
 * (the next hop writes its own Return-Path), a program the message as
 * queued.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "outcome.h"
#include "priv.h"
#include "qq.h"
#include "rcptmap.h"
#include "readfile.h"
#include "result.h"
#include "vauth_pg.h"
#include "vdeliver.h"
#include "vis.h"

/*
 * Every way a run ends.  A bounce's text goes to the sender; the others
 * to qmail-send's log.  "Sorry, no mailbox here by that name." is
 * vpopmail's (and qmail's) word for word.
 */
static const struct vdel_outcome outcomes[] = {
    {VR_DELIVERED, 0, NULL, "vdelivermail: delivered"},
    {VR_STOPPED, 99, NULL,
     "vdelivermail: delivered, and a program asked that no further "
     "instruction be followed"},
    {VR_DELETED, 0, NULL,
     "vdelivermail: deleted: no such mailbox, and the domain deletes mail "
     "for those"},
    {VR_DROPPED, 0, NULL,
     "vdelivermail: deleted: the mailbox's .qmail has no delivery line"},
    {VR_NOMAILBOX, 100, "5.1.1", "Sorry, no mailbox here by that name."},
    {VR_BADNAME, 100, "5.1.3", "Sorry, that is not a valid mailbox name:"},
    {VR_BADDOMAIN, 100, "5.1.2", "Sorry, that is not a valid domain name:"},
    {VR_LOOP, 100, "5.4.6",
     "This message is looping: it already has my Delivered-To line for"},
    {VR_DISABLED, 100, "5.2.1", "Sorry, this mailbox does not take mail:"},
    {VR_QUOTA_TEMP, 111, "4.2.2", "user is over quota"},
    {VR_QUOTA_PERM, 100, "5.2.2", "user is over quota"},
    {VR_PROG_PERM, 100, "5.3.0", "vdelivermail: a .qmail program failed:"},
    {VR_PROG_TEMP, 111, "4.3.0",
     "vdelivermail: a .qmail program failed for now:"},
    {VR_FWD_PERM, 100, "5.3.0", "vdelivermail: unable to forward:"},
    {VR_FWD_TEMP, 111, "4.3.0", "vdelivermail: unable to forward for now:"},
    {VR_USAGE, 111, "4.3.5",
     "vdelivermail: usage: | vdelivermail '' "
     "bounce-no-mailbox|delete|ADDRESS|/DIRECTORY in the domain's "
     ".qmail-default"},
    {VR_NOENV, 111, "4.3.5",
     "vdelivermail: $EXT and $HOST are not set: qmail-local runs me from a "
     "virtual domain's .qmail-default"},
    {VR_NOTVIRTUAL, 111, "4.3.5",
     "vdelivermail: not a virtual domain (no +DOMAIN- line in "
     "users/assign):"},
    {VR_CATCHALL, 111, "4.3.5",
     "vdelivermail: bad instruction in the domain's .qmail-default:"},
    {VR_DOTQMAIL, 111, "4.3.5", "vdelivermail: bad .qmail file:"},
    {VR_MBOX, 111, "4.3.5",
     "vdelivermail: mbox delivery is not supported, only Maildirs:"},
    {VR_ACCOUNT, 111, "4.3.5", "vdelivermail: unusable account:"},
    {VR_STORE, 111, "4.3.0",
     "vdelivermail: temporary trouble with the account store:"},
    {VR_CONFIG, 111, "4.3.0", "vdelivermail: unable to read the settings:"},
    {VR_MESSAGE, 111, "4.3.0", "vdelivermail: unable to read the message:"},
    {VR_MAILDIR, 111, "4.3.0", "vdelivermail: unable to deliver:"},
    {VR_DISKFULL, 111, "4.3.1", "vdelivermail: unable to deliver, disk full:"},
    {VR_NOMEM, 111, "4.3.0", "vdelivermail: out of memory"},
};

/* vdel_outcome - the row of reason r. */
const struct vdel_outcome *
vdel_outcome(enum vdel_reason r)
{
    for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++)
        if (outcomes[i].reason == r)
            return &outcomes[i];
    return &outcomes[VR_MAILDIR];
}

/* ---- the run ------------------------------------------------------- */

#define OFF(f) offsetof(struct vdel_settings, f)

/* The control files vdelivermail reads, once, at start. */
static const struct ctl_setting settings[] = {
    {"overquota", CTL_LINE, "defer", 0, 0, OFF(overquota), CTL_NOFLAG},
    {"quotawarnpercent", CTL_ULONG, "90", 0, 100, OFF(warnpercent), CTL_NOFLAG},
};

/* vdel_init - a run of the message on msgfd, from qmail-local's
 * arguments and environment. */
void
vdel_init(struct vdel *d, int argc, char *const *argv, int msgfd)
{
    memset(d, 0, sizeof *d);
    d->argc = argc;
    d->argv = argv;
    d->msgfd = msgfd;
    d->ext = getenv("EXT");
    d->host = getenv("HOST");
    d->sender = getenv("SENDER");
    d->newsender = getenv("NEWSENDER");
    d->rpline_env = getenv("RPLINE");
    d->qqprog_env = getenv("QMAILQUEUE");
    d->qmailhome = priv_home();
    d->now = time(NULL);
    d->reason = VR_MAILDIR;
}

/* vdel_free - release what the run holds. */
void
vdel_free(struct vdel *d)
{
    if (d->have_pw)
        vpw_free(&d->pw);
    if (d->have_dom)
        vdomain_free(&d->dom);
    if (d->have_auth)
        vauth_close(&d->auth);
    if (d->have_conf)
        vconf_free(&d->conf);
    bstr_free(&d->set.overquota);
    bstr_free(&d->user);
    bstr_free(&d->hostl);
    bstr_free(&d->account);
    bstr_free(&d->extpart);
    bstr_free(&d->rcpt);
    bstr_free(&d->rpline);
    bstr_free(&d->domains);
    bstr_free(&d->ownmd);
    bstr_free(&d->qqprog);
    bstr_free(&d->fwd);
    bstr_free(&d->detail);
    bstr_free(&d->custom);
    bstr_free(&d->notes);
}

/* end - the run ends for reason r, with words (printf) after its text,
 * or none (fmt NULL).  Returns the exit code. */
static int __attribute__((format(printf, 3, 4)))
end(struct vdel *d, enum vdel_reason r, const char *fmt, ...)
{
    va_list ap;
    int ok = 0;

    d->reason = r;
    bstr_truncate(&d->detail, 0);
    if (fmt) {
        va_start(ap, fmt);
        ok = bstr_vcatf(&d->detail, fmt, ap);
        va_end(ap);
    }
    if (ok == -1)
        bstr_truncate(&d->detail, 0);
    return vdel_outcome(r)->code;
}

/* nomem - out of memory: a deferral. */
static int
nomem(struct vdel *d)
{
    return end(d, VR_NOMEM, NULL);
}

/* note - something that went wrong on the side, for the line's end. */
static void __attribute__((format(printf, 2, 3)))
note(struct vdel *d, const char *fmt, ...)
{
    va_list ap;
    size_t keep = d->notes.len;
    int r = 0;

    if (d->notes.len)
        r = bstr_cats(&d->notes, "; ");
    va_start(ap, fmt);
    if (r == 0)
        r = bstr_vcatf(&d->notes, fmt, ap);
    va_end(ap);
    if (r == -1)
        bstr_truncate(&d->notes, keep);
}

/*
 * admin_msg - an admin's text for a bounce or deferral: NAME in the
 * domain's directory, else in ~vpopmail/domains (vpopmail's places).
 * 1 found (in d->custom), 0 none.
 */
static int
admin_msg(struct vdel *d, const char *name)
{
    struct bstr p = BSTR_INIT;
    const char *dirs[2] = {d->have_dom ? d->dom.dir.s : NULL, d->domains.s};
    int r = 0;

    for (size_t i = 0; i < 2 && r != 1; i++) {
        if (!dirs[i])
            continue;
        bstr_truncate(&p, 0);
        if (bstr_catf(&p, "%s/%s", dirs[i], name) == -1)
            break;
        r = readfile_path(p.s, &d->custom, VDEL_MSGFILE_MAX);
    }
    bstr_free(&p);
    if (r != 1)
        bstr_truncate(&d->custom, 0);
    while (d->custom.len && (d->custom.s[d->custom.len - 1] == '\n' ||
                             d->custom.s[d->custom.len - 1] == '\r'))
        bstr_truncate(&d->custom, d->custom.len - 1);
    return d->custom.len ? 1 : 0;
}

/* rewind_msg - back to the message's start: 0, or the exit code. */
static int
rewind_msg(struct vdel *d)
{
    if (lseek(d->msgfd, 0, SEEK_SET) == 0)
        return 0;
    return end(d, VR_MESSAGE, "%s", strerror(errno));
}

/* loop_check - bounce if the header has a Delivered-To for one of the
 * n addresses.  0, or the exit code. */
static int
loop_check(struct vdel *d, const char *const *addrs, size_t n)
{
    size_t which = 0;
    int r = vdel_loop_scan(d->msgfd, addrs, n, &which);

    if (r == -1)
        return end(d, VR_MESSAGE, "%s", strerror(errno));
    if (r == 1)
        return end(d, VR_LOOP, "%s.", addrs[which]);
    return 0;
}

/* ---- deliveries -------------------------------------------------------- */

/*
 * run_program - "sh -c cmd" in dir with the message on its stdin (as
 * queued: no lines of ours), output to ours; its exit code means what it
 * means to qmail-local (qmail-command(8)).  0 (*stop for 99), or the
 * exit code.
 */
static int
run_program(struct vdel *d, const char *cmd, size_t len, const char *dir,
            bool *stop)
{
    struct bstr c = BSTR_INIT;
    pid_t pid;
    int status, code;

    *stop = false;
    if ((code = rewind_msg(d)) != 0)
        return code;
    if (bstr_copyb(&c, cmd, len) == -1)
        return nomem(d);
    pid = fork();
    if (pid == -1) {
        bstr_free(&c);
        return end(d, VR_PROG_TEMP, "unable to fork: %s", strerror(errno));
    }
    if (pid == 0) {
        sigset_t none;
        struct bstr msg = BSTR_INIT;
        int r;

        signal(SIGPIPE, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (chdir(dir) == -1 || (d->msgfd != 0 && dup2(d->msgfd, 0) == -1))
            r = result_set(&msg, RS_CHDIR, RESULT_ARGS(dir, strerror(errno)));
        else {
            execl("/bin/sh", "sh", "-c", c.s, (char *)NULL);
            r = result_set(&msg, RS_RUN_SH, RESULT_ARGS(strerror(errno)));
        }
        if (r == 0 && bstr_catc(&msg, '\n') == 0 &&
            write(1, msg.s, msg.len) < 0)
            _exit(EXIT_TEMP);
        _exit(EXIT_TEMP);
    }
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR) {
            bstr_free(&c);
            return end(d, VR_PROG_TEMP, "unable to wait: %s", strerror(errno));
        }
    d->nprogram++;
    if (WIFEXITED(status)) {
        switch (WEXITSTATUS(status)) {
        case 0:
            bstr_free(&c);
            return 0;
        case 99:
            *stop = true;
            bstr_free(&c);
            return 0;
        case 100:
        case 64: /* sysexits: usage, data, software, protocol, perms, conf */
        case 65:
        case 70:
        case 76:
        case 77:
        case 78:
        case 112:
            code = end(d, VR_PROG_PERM, "\"%s\" exited %d", c.s,
                       WEXITSTATUS(status));
            bstr_free(&c);
            return code;
        default:
            code = end(d, VR_PROG_TEMP, "\"%s\" exited %d", c.s,
                       WEXITSTATUS(status));
            bstr_free(&c);
            return code;
        }
    }
    code = end(d, VR_PROG_TEMP, "\"%s\" was killed by signal %d", c.s,
               WTERMSIG(status));
    bstr_free(&c);
    return code;
}

/* add_forward - one more address for the forward at the end. */
static int
add_forward(struct vdel *d, const char *a, size_t len)
{
    if (bstr_catb(&d->fwd, a, len) == -1 || bstr_catc(&d->fwd, '\0') == -1)
        return nomem(d);
    d->nfwd++;
    return 0;
}

/*
 * forward - queue the message once for every collected address, with
 * our Delivered-To line on top and $NEWSENDER (else $SENDER) as the
 * envelope sender, through qmail-queue or $QMAILQUEUE.  0, or the exit
 * code (qmail-queue's verdict).
 */
static int
forward(struct vdel *d)
{
    struct qq qq;
    struct bstr dt = BSTR_INIT;
    const char *sender = d->newsender ? d->newsender
                         : d->sender  ? d->sender
                                      : "";
    const char *a = NULL;
    char buf[65536];
    int code;

    if (d->nfwd == 0)
        return 0;
    if ((code = rewind_msg(d)) != 0)
        return code;
    if (bstr_catf(&dt, "Delivered-To: %s\n", d->rcpt.s) == -1)
        return nomem(d);
    qq_init(&qq, d->qqprog.s, false);
    if (qq_open(&qq) == -1) {
        bstr_free(&dt);
        return end(d, VR_FWD_TEMP, "unable to run %s: %s", d->qqprog.s,
                   strerror(errno));
    }
    qq_put(&qq, dt.s, dt.len);
    bstr_free(&dt);
    for (;;) {
        ssize_t r = read(d->msgfd, buf, sizeof buf);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            int e = errno;
            qq_abort(&qq);
            return end(d, VR_MESSAGE, "%s", strerror(e));
        }
        if (r == 0)
            break;
        qq_put(&qq, buf, (size_t)r);
    }
    qq_from(&qq, sender, strlen(sender));
    while ((a = ctl_list_next(&d->fwd, a)))
        qq_to(&qq, a, strlen(a));
    code = qq_close(&qq);
    if (code == 0) {
        d->nforward += (unsigned)d->nfwd;
        return 0;
    }
    /* qmail-queue's words without their own "(#x.y.z)": the row adds one */
    const char *why = outcome_get(outcome_from_qq(code))->text;
    const char *cut = strstr(why, " (#");

    return end(
        d, outcome_qq_kind(code) == OUTCOME_PERM ? VR_FWD_PERM : VR_FWD_TEMP,
        "%.*s (qmail-queue exit %d)",
        (int)(cut ? (size_t)(cut - why) : strlen(why)), why, code);
}

/* maildirsize_quota - the quota on the first line of a Maildir's
 * maildirsize (vpopmail's quota for a Maildir that is not an account's);
 * none when there is no such file or line. */
static void
maildirsize_quota(const char *maildir, struct mdquota *q)
{
    struct bstr p = BSTR_INIT, text = BSTR_INIT;
    const char *nl;

    memset(q, 0, sizeof *q);
    if (bstr_catf(&p, "%s/maildirsize", maildir) == 0 &&
        readfile_path(p.s, &text, 65536) == 1 &&
        (nl = memchr(text.s, '\n', text.len)) &&
        mdq_parse(text.s, (size_t)(nl - text.s), q) == -1)
        memset(q, 0, sizeof *q);
    bstr_free(&p);
    bstr_free(&text);
}

/*
 * store_failed - the words for a failed vdq_store.  EDQUOT is the file
 * system's quota (a domain under its own uid, vadddomain -u): over quota,
 * as vpopmail says, under control/overquota's rule.
 */
static int
store_failed(struct vdel *d, const char *maildir, enum maildir_stage stage,
             int e)
{
    if (stage == MAILDIR_S_READ)
        return end(d, VR_MESSAGE, "%s", strerror(e));
    if (e == EDQUOT) {
        note(d, "%s: %s", maildir, strerror(e));
        return end(d,
                   bstr_equals(&d->set.overquota, "bounce") ? VR_QUOTA_PERM
                                                            : VR_QUOTA_TEMP,
                   NULL);
    }
    if (e == ENOSPC)
        return end(d, VR_DISKFULL, "%s: %s", maildir, strerror(e));
    if (stage == MAILDIR_S_OPEN)
        return end(d, VR_MAILDIR, "no Maildir at %s: %s", maildir, strerror(e));
    return end(d, VR_MAILDIR, "%s: %s", maildir, strerror(e));
}

/*
 * send_warning - the quota warning into the account's Maildir, unless
 * one went out in the last VDEL_WARN_AGAIN seconds.  It is not refused
 * for quota (it says the mailbox is full) but is counted in maildirsize.
 * Trouble is a note, never the run's outcome.
 */
static void
send_warning(struct vdel *d, const char *maildir, const struct vdel_quota *qs,
             const struct mdusage *u)
{
    struct bstr custom = BSTR_INIT, text = BSTR_INIT, p = BSTR_INIT;
    struct vdel_stored st = {BSTR_INIT, 0, MAILDIR_S_OPEN, 0};
    struct iovec head;
    int r = vdq_warn_claim(maildir, d->now);

    if (r == -1)
        note(d, "quota warning not sent: %s", strerror(errno));
    if (r != 1)
        return;
    /* an admin's .quotawarn.msg: the domain's, else ~vpopmail/domains' */
    r = 0;
    for (int i = 0; i < 2 && r != 1; i++) {
        bstr_truncate(&p, 0);
        r = bstr_catf(&p, "%s/.quotawarn.msg",
                      i == 0 ? d->dom.dir.s : d->domains.s) == -1
                ? -1
                : readfile_path(p.s, &custom, VDEL_WARNFILE_MAX);
    }
    if (r != 1)
        bstr_truncate(&custom, 0);
    if (vdel_warn_text(&text, d->rcpt.s, d->dom.real.s, &qs->q, u, d->now,
                       &custom) == -1) {
        note(d, "quota warning not sent: out of memory");
        goto out;
    }
    head.iov_base = text.s;
    head.iov_len = text.len;
    if (vdq_store(maildir, &head, 1, -1, qs->file ? maildir : NULL, &st) ==
        -1) {
        note(d, "quota warning not sent: %s", strerror(errno));
        if (vdq_warn_rearm(maildir) == -1) /* try again next time */
            note(d, "quota warning flag not removed: %s", strerror(errno));
    } else
        note(d, "quota warning sent (%u%% full)", mdq_percent(&qs->q, u));
out:
    bstr_free(&custom);
    bstr_free(&text);
    bstr_free(&p);
    bstr_free(&st.name);
}

/* overquota_flag - tell qmail-smtpd (rcptmap) whether the account's
 * mailbox is full; trouble is a note. */
static void
overquota_flag(struct vdel *d, bool over)
{
    if (rcptmap_overquota_set(d->qmailhome, d->account.s, d->dom.real.s,
                              over) == -1)
        note(d, "over-quota flag not %s: %s", over ? "set" : "cleared",
             strerror(errno));
}

/*
 * deliver_into - deliver_maildir's work: the message into path, counted
 * in the maildirsize of qdir (path, or the Maildir path is a folder of).
 */
static int
deliver_into(struct vdel *d, const char *path, const char *qdir, bool own)
{
    struct vdel_stored st = {BSTR_INIT, 0, MAILDIR_S_OPEN, 0};
    struct vdel_quota qs;
    struct mdquota q;
    struct mdusage after;
    struct bstr dt = BSTR_INIT;
    struct iovec head[2];
    struct stat sb;
    long long add;
    int code;

    memset(&q, 0, sizeof q);
    if (own) {
        const char *qs_ = d->pw.quota ? d->pw.quota : "";

        if (mdq_parse(qs_, strlen(qs_), &q) == -1)
            note(d, "quota \"%s\" not understood, not enforced", qs_);
        if (stat(path, &sb) == -1 && errno == ENOENT &&
            maildir_make(path, VDEL_MODE_DIR) == -1 && errno != EEXIST)
            return end(d, VR_MAILDIR, "unable to make %s: %s", path,
                       strerror(errno));
    } else {
        maildirsize_quota(qdir, &q);
    }
    if (bstr_catf(&dt, "Delivered-To: %s\n", d->rcpt.s) == -1)
        return nomem(d);
    head[0].iov_base = d->rpline.s;
    head[0].iov_len = d->rpline.len;
    head[1].iov_base = dt.s;
    head[1].iov_len = dt.len;
    add = (long long)(d->rpline.len + dt.len) + d->msgsize;
    if (vdq_check(qdir, &q, add, d->now, &qs) == -1) {
        int e = errno;
        bstr_free(&dt);
        return store_failed(d, qdir,
                            e == ENOENT ? MAILDIR_S_OPEN : MAILDIR_S_WRITE, e);
    }
    if (qs.over) {
        bool bounce = bstr_equals(&d->set.overquota, "bounce");

        bstr_free(&dt);
        if (own && mdq_over(&q, &qs.u, VDEL_FULL_ROOM, 1))
            overquota_flag(d, true); /* no room left for mail at all */
        if (own && d->set.warnpercent &&
            mdq_percent(&q, &qs.u) >= d->set.warnpercent)
            send_warning(d, qdir, &qs, &qs.u);
        admin_msg(d, ".over-quota.msg");
        return end(d, bounce ? VR_QUOTA_PERM : VR_QUOTA_TEMP, NULL);
    }
    if ((code = rewind_msg(d)) != 0) {
        bstr_free(&dt);
        return code;
    }
    if (vdq_store(path, head, 2, d->msgfd, qs.file ? qdir : NULL, &st) == -1) {
        int e = errno;
        bstr_free(&dt);
        bstr_free(&st.name);
        return store_failed(d, path, st.stage, e);
    }
    bstr_free(&dt);
    bstr_free(&st.name);
    if (st.counterr)
        note(d, "maildirsize not updated: %s", strerror(st.counterr));
    d->nmaildir++;
    d->stored = st.size;
    if (!own)
        return 0;
    after = qs.u;
    after.bytes += (long long)st.size;
    after.count++;
    if (!mdq_limited(&q) || !mdq_over(&q, &after, 0, 0))
        overquota_flag(d, false);
    if (mdq_limited(&q) && d->set.warnpercent) {
        if (mdq_percent(&q, &after) >= d->set.warnpercent)
            send_warning(d, qdir, &qs, &after);
        else if (vdq_warn_rearm(qdir) == -1)
            note(d, "quota warning flag not removed: %s", strerror(errno));
    }
    return 0;
}

/*
 * deliver_maildir - the message into the Maildir at path (no trailing
 * '/').  own: the account's own Maildir, made when missing, under the
 * account's quota, with the warning and the over-quota flag; else under
 * the quota its maildirsize names, if any.  0, or the exit code.
 */
static int
deliver_maildir(struct vdel *d, const char *path, bool own)
{
    struct bstr qdir = BSTR_INIT;
    int code;

    /* a folder (./Maildir/.Lists/) counts in its Maildir's maildirsize */
    if (vdq_quota_dir(path, &qdir) == -1) {
        code = end(d, VR_MAILDIR, "%s: %s", path, strerror(errno));
        bstr_free(&qdir);
        return code;
    }
    own = own || bstr_equals(&qdir, d->ownmd.s ? d->ownmd.s : "");
    code = deliver_into(d, path, qdir.s, own);
    bstr_free(&qdir);
    return code;
}

/*
 * line_path - a .qmail Maildir line as an absolute path: a relative one
 * from base (it cannot climb out: ".." is refused); an absolute one only
 * below ~vpopmail/domains or the domain's own directory (which users/assign
 * may spell differently, through a symlink).  0, or -1 with errno.
 */
static int
line_path(struct vdel *d, const char *base, const struct vdel_line *l,
          struct bstr *out)
{
    if (l->arg[0] != '/')
        return vdel_path_resolve(base, l->arg, l->len, NULL, out);
    if (vdel_path_resolve(base, l->arg, l->len, d->domains.s, out) == 0)
        return 0;
    if (errno != EACCES || !d->have_dom)
        return -1;
    return vdel_path_resolve(base, l->arg, l->len, d->dom.dir.s, out);
}

/*
 * run_lines - deliver by the lines of text (a .qmail file's, or an
 * alias's rows in the valias table), in order (forwards queued together
 * at the end, as qmail-local does); relative paths from base; what is
 * "the file" in the words is label.  Every line is checked before the
 * first delivery, so a bad line defers without duplicates.  Text of
 * blank lines only is not used (*used false); comments only delete the
 * message, as vpopmail's .qmail does.  0 with *used, or the exit code.
 */
static int
run_lines(struct vdel *d, const char *base, const char *label,
          const struct bstr *text, bool *used)
{
    struct bstr path = BSTR_INIT;
    struct vdel_line l;
    bool stop = false, any = false;
    size_t lineno;
    int code = 0;

    *used = false;
    /* two passes: check every line, then deliver */
    for (int pass = 0; pass < 2 && !stop; pass++) {
        size_t i = 0;

        for (lineno = 1; i < text->len && !stop; lineno++) {
            const char *s = text->s + i, *nl = memchr(s, '\n', text->len - i);
            size_t len = nl ? (size_t)(nl - s) : text->len - i;

            i += len + 1;
            vdel_line_parse(s, len, &l);
            if (pass == 0) {
                if (l.kind == VDEL_L_BAD) {
                    code = end(d, VR_DOTQMAIL, "%s line %zu: %s", label, lineno,
                               l.why);
                    goto out;
                }
                if (l.kind == VDEL_L_MBOX) {
                    code = end(d, VR_MBOX, "%s line %zu", label, lineno);
                    goto out;
                }
                if (l.kind == VDEL_L_MAILDIR &&
                    line_path(d, base, &l, &path) == -1) {
                    code = errno == ENOMEM
                               ? nomem(d)
                               : end(d, VR_DOTQMAIL,
                                     "%s line %zu: a Maildir outside %s", label,
                                     lineno, d->domains.s);
                    goto out;
                }
                if (l.kind == VDEL_L_FORWARD) {
                    struct bstr a = BSTR_INIT;
                    const char *one[1];

                    if (bstr_copyb(&a, l.arg, l.len) == -1) {
                        code = nomem(d);
                        goto out;
                    }
                    one[0] = a.s;
                    code = loop_check(d, one, 1);
                    bstr_free(&a);
                    if (code)
                        goto out;
                }
                if (l.kind != VDEL_L_BLANK)
                    *used = true;
                continue;
            }
            switch (l.kind) {
            case VDEL_L_PROGRAM:
                code = run_program(d, l.arg, l.len, base, &stop);
                any = true;
                break;
            case VDEL_L_FORWARD:
                code = add_forward(d, l.arg, l.len);
                any = true;
                break;
            case VDEL_L_MAILDIR:
                if (line_path(d, base, &l, &path) == -1) {
                    code = nomem(d);
                    break;
                }
                code = deliver_maildir(
                    d, path.s,
                    bstr_equals(&path, d->ownmd.s ? d->ownmd.s : ""));
                any = true;
                break;
            default:
                break;
            }
            if (code)
                goto out;
        }
        if (pass == 0 && !*used)
            goto out; /* blank lines only: as if there were no file */
    }
    if ((code = forward(d)) != 0)
        goto out;
    if (!any)
        code = end(d, VR_DROPPED, "%s", label);
    else if (stop)
        code = end(d, VR_STOPPED, "to %s by %s", d->rcpt.s, label);
    else
        code = end(d, VR_DELIVERED,
                   "to %s by %s (%u Maildir, %u forwarded, %u program)",
                   d->rcpt.s, label, d->nmaildir, d->nforward, d->nprogram);
out:
    bstr_free(&path);
    return code;
}

/*
 * run_dotqmail - deliver by the .qmail file at base/name (run_lines).
 * An absent file is not used (*used false).  0 with *used, or the exit
 * code.
 */
static int
run_dotqmail(struct vdel *d, const char *base, const char *name, bool *used)
{
    struct bstr p = BSTR_INIT, text = BSTR_INIT;
    int r, code = 0;

    *used = false;
    if (bstr_catf(&p, "%s/%s", base, name) == -1)
        return nomem(d);
    r = readfile_path(p.s, &text, VDEL_DOTQMAIL_MAX);
    if (r == 0 || (r == -1 && errno == ENOENT))
        code = 0;
    else if (r == -1)
        code = errno == EFBIG ? end(d, VR_DOTQMAIL, "%s is over %d bytes", p.s,
                                    VDEL_DOTQMAIL_MAX)
                              : end(d, VR_ACCOUNT, "unable to read %s: %s", p.s,
                                    strerror(errno));
    else
        code = run_lines(d, base, p.s, &text, used);
    bstr_free(&p);
    bstr_free(&text);
    return code;
}

/*
 * dotqmail_names - the account's .qmail files to look for, in vpopmail's
 * order: for "joe-x-y" (found as joe) .qmail-x-y, .qmail-x-default,
 * .qmail-default (a '.' of the extension written ':'), then .qmail.
 * Names separated by NUL in out.  0, or -1 (ENOMEM).
 */
static int
dotqmail_names(const struct bstr *ext, struct bstr *out)
{
    struct bstr e = BSTR_INIT;
    int r = -1;

    bstr_truncate(out, 0);
    if (bstr_copyb(&e, ext->s ? ext->s : "", ext->len) == -1)
        return -1;
    for (size_t i = 0; i < e.len; i++)
        if (e.s[i] == '.')
            e.s[i] = ':';
    if (e.len) {
        if (bstr_catf(out, ".qmail-%s", e.s) == -1 ||
            bstr_catc(out, '\0') == -1)
            goto out;
        for (size_t i = e.len + 1; i-- > 0;)
            if (i == 0 || e.s[i - 1] == '-') {
                if (bstr_cats(out, ".qmail-") == -1 ||
                    bstr_catb(out, e.s, i) == -1 ||
                    bstr_cats(out, "default") == -1 ||
                    bstr_catc(out, '\0') == -1)
                    goto out;
            }
    }
    if (bstr_cats(out, ".qmail") == -1 || bstr_catc(out, '\0') == -1)
        goto out;
    r = 0;
out:
    bstr_free(&e);
    return r;
}

/*
 * make_home - the account's directory when it is missing, as vpopmail
 * makes it: only below the domain's directory.  0, or the exit code.
 */
static int
make_home(struct vdel *d)
{
    const char *dir = d->pw.dir;
    size_t dlen = d->dom.dir.len;
    struct bstr p = BSTR_INIT;
    struct stat st;

    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return end(d, VR_ACCOUNT, "%s is not a directory", dir);
        return 0;
    }
    if (errno != ENOENT)
        return end(d, VR_ACCOUNT, "%s: %s", dir, strerror(errno));
    while (dlen > 1 && d->dom.dir.s[dlen - 1] == '/')
        dlen--;
    if (!(strlen(dir) > dlen && memcmp(dir, d->dom.dir.s, dlen) == 0 &&
          dir[dlen] == '/'))
        return end(d, VR_ACCOUNT, "%s is missing, and not in %s", dir,
                   d->dom.dir.s);
    /* each missing component below the domain's directory (a hashed
     * layout has one more level) */
    for (size_t i = dlen + 1;; i++) {
        if (dir[i] != '/' && dir[i] != '\0')
            continue;
        bstr_truncate(&p, 0);
        if (bstr_catb(&p, dir, i) == -1) {
            bstr_free(&p);
            return nomem(d);
        }
        if (mkdir(p.s, VDEL_MODE_DIR) == -1 && errno != EEXIST) {
            int e = errno;
            bstr_free(&p);
            return end(d, VR_ACCOUNT, "unable to make %s: %s", dir,
                       strerror(e));
        }
        if (dir[i] == '\0')
            break;
    }
    bstr_free(&p);
    return 0;
}

/* deliver_account - mail for the account in d->pw. */
static int
deliver_account(struct vdel *d)
{
    struct bstr names = BSTR_INIT;
    const char *n = NULL, *dir = d->pw.dir;
    bool used = false;
    int code;

    if (bstr_catf(&d->rcpt, "%s@%s", d->account.s, d->dom.real.s) == -1)
        return nomem(d);
    if (d->pw.gid & VPW_BOUNCE_MAIL)
        return end(d, VR_DISABLED, "%s", d->rcpt.s);
    if (d->extpart.len) {
        /* found by the part before '-': that name too must not loop */
        const char *one[1] = {d->rcpt.s};

        if ((code = loop_check(d, one, 1)) != 0)
            return code;
    }
    if (!dir || dir[0] != '/' || !vdel_path_safe(dir, strlen(dir)))
        return end(d, VR_ACCOUNT, "%s has the directory \"%s\" in vpasswd",
                   d->rcpt.s, dir ? dir : "");
    if (vdel_path_resolve(dir, "Maildir", 7, NULL, &d->ownmd) == -1)
        return nomem(d);
    if ((code = make_home(d)) != 0)
        return code;
    if (dotqmail_names(&d->extpart, &names) == -1)
        return nomem(d);
    while (!used && (n = ctl_list_next(&names, n)))
        if ((code = run_dotqmail(d, dir, n, &used)) != 0 || used) {
            bstr_free(&names);
            return code;
        }
    bstr_free(&names);
    code = deliver_maildir(d, d->ownmd.s, true);
    if (code == 0)
        code = end(d, VR_DELIVERED, "to %s (Maildir, %llu bytes)", d->rcpt.s,
                   d->stored);
    return code;
}

/* is_maildir - does dir have new/ (then it is a Maildir, not a home)? */
static bool
is_maildir(const char *dir)
{
    struct bstr p = BSTR_INIT;
    struct stat st;
    bool r = bstr_catf(&p, "%s/new", dir) == 0 && stat(p.s, &st) == 0 &&
             S_ISDIR(st.st_mode);

    bstr_free(&p);
    return r;
}

/* deliver_nobody - a name without an account: the domain's instruction. */
static int
deliver_nobody(struct vdel *d)
{
    struct bstr arg = BSTR_INIT, md = BSTR_INIT;
    const char *instr = d->argv[2];
    enum vdel_catch kind;
    bool used = false;
    int code = 0;

    if (bstr_catf(&d->rcpt, "%s@%s", d->user.s, d->dom.real.s) == -1 ||
        vdel_catchall_parse(instr, strlen(instr), &kind, &arg) == -1)
        return nomem(d);
    switch (kind) {
    case VDEL_C_BOUNCE:
        admin_msg(d, ".no-user.msg");
        code = end(d, VR_NOMAILBOX, NULL);
        break;
    case VDEL_C_DELETE:
        code = end(d, VR_DELETED, "(%s)", d->rcpt.s);
        break;
    case VDEL_C_FORWARD: {
        const char *one[1] = {arg.s};

        if ((code = loop_check(d, one, 1)) != 0 ||
            (code = add_forward(d, arg.s, arg.len)) != 0 ||
            (code = forward(d)) != 0)
            break;
        code = end(d, VR_DELIVERED, "for %s: no such mailbox, forwarded to %s",
                   d->rcpt.s, arg.s);
        break;
    }
    case VDEL_C_DIR:
        if (is_maildir(arg.s)) {
            code = deliver_maildir(d, arg.s, false);
        } else {
            /* a user's directory: its .qmail, else its Maildir */
            if ((code = run_dotqmail(d, arg.s, ".qmail", &used)) != 0 || used)
                break;
            if (bstr_catf(&md, "%s/Maildir", arg.s) == -1) {
                code = nomem(d);
                break;
            }
            code = deliver_maildir(d, md.s, false);
        }
        if (code == 0)
            code = end(d, VR_DELIVERED,
                       "for %s: no such mailbox, delivered into %s (%llu "
                       "bytes)",
                       d->rcpt.s, md.len ? md.s : arg.s, d->stored);
        break;
    default:
        code = end(d, VR_CATCHALL, "\"%s\"", instr);
        break;
    }
    bstr_free(&arg);
    bstr_free(&md);
    return code;
}

/*
 * deliver_valias - vpopmail's valias table (vpopmail built with
 * --enable-valias keeps aliases there instead of .qmail-NAME files): with
 * the PostgreSQL store, the rows of $EXT at the real domain are looked at
 * before any account, as vpopmail's process_valias does, and delivered
 * by as an account's .qmail is (relative paths from the domain's
 * directory, where .qmail-NAME would be).  The store in trouble defers:
 * mail for an alias must not go to an account or the catch-all for want
 * of an answer.  0 with *used (false: no rows, or blank ones only; the
 * run goes on), or the exit code.
 */
static int
deliver_valias(struct vdel *d, bool *used)
{
    struct bstr lines = BSTR_INIT, label = BSTR_INIT;
    int r, code;

    *used = false;
    if (d->conf.backend != VCONF_PGSQL)
        return 0;
    r = vauth_pg_valias_get(&d->auth, &d->dom, d->user.s, &lines);
    if (r == -1) {
        code = end(d, VR_STORE, "valias %s@%s: %s", d->user.s, d->dom.real.s,
                   d->auth.err.len ? d->auth.err.s : strerror(errno));
        goto out;
    }
    code = 0;
    if (r == 0)
        goto out;
    if (bstr_catf(&d->rcpt, "%s@%s", d->user.s, d->dom.real.s) == -1 ||
        bstr_catf(&label, "the valias table's %s@%s", d->user.s,
                  d->dom.real.s) == -1) {
        code = nomem(d);
        goto out;
    }
    code = run_lines(d, d->dom.dir.s, label.s, &lines, used);
    if (code == 0 && !*used)
        bstr_truncate(&d->rcpt, 0); /* the account's, or the catch-all's */
out:
    bstr_free(&lines);
    bstr_free(&label);
    return code;
}

/* lookup - the account for $EXT, else for the part before its first
 * '-'.  1 found (d->pw, d->account, d->ext), 0 none, or -(exit code). */
static int
lookup(struct vdel *d)
{
    const char *dash;
    int r;

    r = vauth_getpw(&d->auth, &d->dom, d->user.s, d->user.len, &d->pw);
    if (r == 1) {
        d->have_pw = true;
        return bstr_copy(&d->account, &d->user) == -1 ? -nomem(d) : 1;
    }
    dash = memchr(d->user.s, '-', d->user.len);
    if (r == 0 && dash && dash > d->user.s) {
        size_t len = (size_t)(dash - d->user.s);

        r = vauth_getpw(&d->auth, &d->dom, d->user.s, len, &d->pw);
        if (r == 1) {
            d->have_pw = true;
            if (bstr_copyb(&d->account, d->user.s, len) == -1 ||
                bstr_copys(&d->extpart, dash + 1) == -1)
                return -nomem(d);
            return 1;
        }
    }
    if (r == -1)
        return -end(d, VR_STORE, "%s", d->auth.err.s);
    return 0;
}

/* setup - names, message, settings, domain: 0, or the exit code. */
static int
setup(struct vdel *d)
{
    const char *bad = NULL;
    struct stat st;

    if (d->argc != 3)
        return end(d, VR_USAGE, NULL);
    if (!d->ext || !d->host)
        return end(d, VR_NOENV, NULL);
    if (!vdel_name_ok(d->ext, strlen(d->ext)))
        return end(d, VR_BADNAME, "\"%s\"", d->ext);
    if (!vdel_name_ok(d->host, strlen(d->host)))
        return end(d, VR_BADDOMAIN, "\"%s\"", d->host);
    if (bstr_copys(&d->user, d->ext) == -1)
        return nomem(d);
    bstr_lower(&d->user);
    if (vdomain_lower(d->host, strlen(d->host), &d->hostl) == -1)
        return errno == EINVAL ? end(d, VR_BADDOMAIN, "\"%s\"", d->host)
                               : nomem(d);
    if (fstat(d->msgfd, &st) == -1 || lseek(d->msgfd, 0, SEEK_SET) == -1)
        return end(d, VR_MESSAGE, "not a seekable file: %s", strerror(errno));
    d->msgsize = (long long)st.st_size;
    if (chdir(d->qmailhome) == -1)
        return end(d, VR_CONFIG, "unable to switch to %s: %s", d->qmailhome,
                   strerror(errno));
    if (ctl_load(settings, sizeof settings / sizeof settings[0], &d->set,
                 &bad) == -1)
        return end(d, VR_CONFIG, "control/%s: %s", bad, strerror(errno));
    if (!bstr_equals(&d->set.overquota, "bounce") &&
        !bstr_equals(&d->set.overquota, "defer") &&
        !bstr_equals(&d->set.overquota, ""))
        note(d, "control/overquota is neither defer nor bounce: deferring");
    if (vconf_load(&d->conf, &bad) == -1)
        return end(d, VR_CONFIG, "%s: %s", bad ? bad : "vpopmail",
                   strerror(errno));
    d->have_conf = true;
    if (vauth_init(&d->auth, &d->conf) == -1)
        return nomem(d);
    d->have_auth = true;
    if (vconf_domains_dir(&d->conf, &d->domains) == -1 ||
        vdel_rpline(d->rpline_env, d->sender, &d->rpline) == -1)
        return nomem(d);
    if (d->qqprog_env && *d->qqprog_env
            ? bstr_copys(&d->qqprog, d->qqprog_env) == -1
            : bstr_catf(&d->qqprog, "%s/bin/qmail-queue", d->qmailhome) == -1)
        return nomem(d);
    switch (vdomain_find(d->hostl.s, d->hostl.len, &d->dom)) {
    case 1:
        d->have_dom = true;
        return 0;
    case 0:
        return end(d, VR_NOTVIRTUAL, "%s", d->hostl.s);
    default:
        return end(d, VR_STORE, "unable to read users/cdb: %s",
                   strerror(errno));
    }
}

/*
 * vdel_run - the whole delivery (see the top of this file).  Returns the
 * exit code for qmail-local; d->reason and the words for vdel_report.
 */
int
vdel_run(struct vdel *d)
{
    struct bstr a1 = BSTR_INIT, a2 = BSTR_INIT;
    const char *addrs[2];
    bool used = false;
    int code, r;

    if ((code = setup(d)) != 0)
        return code;
    /* vpopmail's first check: $EXT at the domain as given, and at the
     * real domain (what our Delivered-To lines say) */
    if (bstr_catf(&a1, "%s@%s", d->user.s, d->hostl.s) == -1 ||
        bstr_catf(&a2, "%s@%s", d->user.s, d->dom.real.s) == -1) {
        code = nomem(d);
        goto out;
    }
    addrs[0] = a1.s;
    addrs[1] = a2.s;
    if ((code = loop_check(d, addrs, 2)) != 0)
        goto out;
    if ((code = deliver_valias(d, &used)) != 0 || used)
        goto out;
    r = lookup(d);
    if (r < 0)
        code = -r;
    else if (r == 1)
        code = deliver_account(d);
    else
        code = deliver_nobody(d);
out:
    bstr_free(&a1);
    bstr_free(&a2);
    return code;
}

/* cat_lines - s with each line made safe (vis), newlines kept. */
static int
cat_lines(struct bstr *out, const struct bstr *s)
{
    for (size_t i = 0; i < s->len;) {
        const char *nl = memchr(s->s + i, '\n', s->len - i);
        size_t len = nl ? (size_t)(nl - (s->s + i)) : s->len - i;

        if (i && bstr_catc(out, '\n') == -1)
            return -1;
        if (len && s->s[i + len - 1] == '\r')
            len--;
        if (vis_cat(out, s->s + i, len) == -1)
            return -1;
        i += (nl ? (size_t)(nl - (s->s + i)) + 1 : len);
    }
    return 0;
}

/*
 * vdel_report - the run's line for qmail-local (its output is the
 * delivery's report, and a bounce's text): the row's text, the details,
 * the enhanced code, then the notes.  An admin's message file replaces
 * the row's text.  Bytes from outside are escaped (vis).  0, or -1.
 */
int
vdel_report(const struct vdel *d, struct bstr *line)
{
    const struct vdel_outcome *o = vdel_outcome(d->reason);

    bstr_truncate(line, 0);
    if (d->custom.len) {
        if (cat_lines(line, &d->custom) == -1)
            return -1;
    } else {
        if (bstr_cats(line, o->text) == -1)
            return -1;
        if (d->detail.len && (bstr_catc(line, ' ') == -1 ||
                              vis_cat(line, d->detail.s, d->detail.len) == -1))
            return -1;
    }
    if (o->esc && !(d->custom.len && strstr(line->s, "(#")) &&
        bstr_catf(line, " (#%s)", o->esc) == -1)
        return -1;
    if (d->notes.len && (bstr_cats(line, "; ") == -1 ||
                         vis_cat(line, d->notes.s, d->notes.len) == -1))
        return -1;
    return bstr_catc(line, '\n');
}
