/* SPDX-License-Identifier: ISC */
/*
 * vchkpw - vpopmail's checkpassword program: a login from fd 3 against
 * the virtual domains' accounts, then the rest of the command line run
 * as the account (doc/vchkpw.8).
 *
 *   vchkpw [prog [arg ...]]
 *
 * Exits 0 (accepted; without prog), 1 refused, 111 temporary trouble
 * (the store cannot be read), 2 usage (no fd 3).  One log line on stderr
 * for each login, fail2ban-style, never with a password.  It may run
 * setuid root (as vpopmail's does): then it trusts nothing of its
 * caller's but the fd 3 bytes (QMAIL_HOME is the built-in one), and it
 * becomes the domain's owner as soon as it knows the domain.  With
 * AUTHMECH=SCRAM-SHA-256 it speaks the SCRAM conversation on fd 3
 * instead (doc/vchkpw.8, checkpw.h).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "checkpw.h"
#include "datetime.h"
#include "iob.h"
#include "log.h"
#include "opensmtp.h"
#include "priv.h"
#include "scram.h"
#include "vauth.h"
#include "vis.h"
#include "vlogin.h"
#include "vpass.h"
#include "vscram.h"

#define FIRST_WAIT 60  /* seconds for the input, or SCRAM's first message */
#define FINAL_WAIT 300 /* seconds for SCRAM's client-final (a person) */

struct vchk {
    char **prog; /* what to run; NULL: just the verdict */
    const char *ip;
    enum vlogin_service svc;
    struct vconf conf;
    struct vauth auth;
    struct vdomain dom;
    struct vpw pw;
    bool found; /* dom and pw hold the account */
    struct bstr user, domain, shown;
    struct bstr login; /* as given */
};

/* ---- the ends: every exit is here ----------------------------------- */

static const char *
shown(struct vchk *v)
{
    return v->shown.s ? v->shown.s : "";
}

static void __attribute__((noreturn)) refuse(struct vchk *v, const char *why)
{
    log_line("login failed ip=%s user=%s service=%s reason=%s", v->ip, shown(v),
             vlogin_service_name(v->svc), why);
    _exit(1);
}

static void __attribute__((noreturn)) temp(struct vchk *v, const char *what)
{
    log_line("temporary failure ip=%s user=%s service=%s reason=%s: %s", v->ip,
             shown(v), vlogin_service_name(v->svc), what,
             errno ? strerror(errno) : "unknown error");
    _exit(111);
}

static void __attribute__((noreturn)) usage(void)
{
    log_line("usage: vchkpw [prog [arg ...]] with the login on fd 3 (it is "
             "run by qmail-popup or qmail-smtpd, not from a shell)");
    _exit(2);
}

/*
 * open_smtp - POP-before-SMTP: a POP3, IMAP or webmail login (never SMTP
 * AUTH) stamps the client's file in users/open-smtp, unless
 * control/opensmtpage is 0; then the built-in expiry, at most every ten
 * minutes.  Runs as the domain's owner, in QMAIL_HOME.  Trouble is a
 * warning, never a failed login.
 */
static void
open_smtp(struct vchk *v)
{
    unsigned long age;
    size_t removed;
    time_t now = time(NULL);
    char name[OPENSMTP_NAME];
    int r;

    if (v->svc == VLOGIN_SMTP)
        return;
    if (opensmtp_age(&age) == -1) {
        log_line("warning: pop-before-smtp: unable to read %s: %s",
                 OPENSMTP_CONTROL, strerror(errno));
        return;
    }
    if (age == 0)
        return;
    /* not from tcpserver (no address): nothing to record */
    if (opensmtp_name(v->ip, strlen(v->ip), name) == -1)
        return;
    if (opensmtp_record(OPENSMTP_DIR, name, now) == -1) {
        log_line("warning: pop-before-smtp: unable to record ip=%s: %s", name,
                 strerror(errno));
        return;
    }
    r = opensmtp_expire_due(OPENSMTP_DIR, age, now, false, &removed);
    if (r == -1)
        log_line("warning: pop-before-smtp: expiry failed: %s",
                 strerror(errno));
    else if (r == 1 && removed)
        log_line("pop-before-smtp expired=%zu", removed);
}

/* success - log, then run prog as the account, or exit 0 without one. */
/*
 * dovecot_quota - the account's quota for Dovecot's checkpassword-reply
 * (doc/dovecot.md): userdb_quota_rule, named in EXTRA, so IMAP shows the
 * limit vdelivermail enforces even before maildirsize exists.  Other
 * programs ignore both variables; no limit sets neither.
 */
static void
dovecot_quota(struct vchk *v)
{
    struct bstr rule = BSTR_INIT, extra = BSTR_INIT;
    const char *old = getenv("EXTRA");
    int r = vlogin_quota_rule(v->pw.quota, &rule);

    if (r == 1 && old && *old &&
        (bstr_cats(&extra, old) == -1 || bstr_catc(&extra, ' ') == -1))
        r = -1;
    if (r == 1 && (bstr_cats(&extra, "userdb_quota_rule") == -1 ||
                   setenv("userdb_quota_rule", rule.s, 1) == -1 ||
                   setenv("EXTRA", extra.s, 1) == -1))
        r = -1;
    bstr_free(&rule);
    bstr_free(&extra);
    if (r == -1)
        temp(v, "out of memory");
}

static void __attribute__((noreturn)) success(struct vchk *v, const char *mech)
{
    const char *dir = v->pw.dir ? v->pw.dir : "";

    log_line("login ok ip=%s user=%s service=%s mech=%s", v->ip, shown(v),
             vlogin_service_name(v->svc), mech);
    open_smtp(v);
    if (v->prog == NULL)
        _exit(0);
    /* vpopmail's environment: USER the mailbox, VPOPUSER the login */
    if (setenv("USER", v->user.s, 1) == -1 || setenv("HOME", dir, 1) == -1 ||
        setenv("SHELL", "NOLOGIN", 1) == -1 ||
        setenv("VPOPUSER", v->login.s, 1) == -1 ||
        setenv("VPOPDOMAIN", v->dom.real.s ? v->dom.real.s : "", 1) == -1)
        temp(v, "out of memory");
    if (v->svc != VLOGIN_SMTP)
        dovecot_quota(v);
    /* SMTP AUTH needs no mailbox (vpopmail does not change directory) */
    if (chdir(dir) == -1 && v->svc != VLOGIN_SMTP)
        temp(v, "unable to enter the account's directory");
    execvp(v->prog[0], v->prog);
    temp(v, "unable to run the program");
}

/* ---- finding the account ---------------------------------------------- */

/* become - the domain's owner (or vpopmail's) for the rest of the run. */
static void
become(struct vchk *v, uid_t uid, gid_t gid)
{
    if (geteuid() == 0) {
        if (uid == 0) {
            errno = EPERM;
            temp(v, "a virtual domain owned by root");
        }
        if (priv_drop(uid, gid) == -1)
            temp(v, "unable to drop privileges");
    } else if (priv_elevated() && priv_drop(geteuid(), getegid()) == -1) {
        temp(v, "unable to drop privileges");
    }
}

/*
 * find - the account of login: NULL found (v->dom, v->pw), else why not.
 * Trouble reading the store ends the run (111).  Privileges are dropped
 * on every path.
 */
static const char *
find(struct vchk *v, const char *login, size_t len)
{
    int r;

    bstr_truncate(&v->shown, 0);
    if (bstr_copyb(&v->login, login, len) == -1 ||
        vis_cat(&v->shown, login, len > 200 ? 200 : len) == -1)
        temp(v, "out of memory");
    if (vlogin_split(login, len, &v->user, &v->domain) == -1) {
        if (errno == ENOMEM)
            temp(v, "out of memory");
        become(v, v->conf.uid, v->conf.gid);
        return "bad characters in the login";
    }
    if (v->domain.len == 0) {
        r = vlogin_default_domain(&v->conf, &v->domain);
        if (r == -1)
            temp(v, "unable to read ~vpopmail/etc/defaultdomain");
        if (r == 0) {
            become(v, v->conf.uid, v->conf.gid);
            return "no domain and no default domain";
        }
    }
    r = vdomain_find(v->domain.s, v->domain.len, &v->dom);
    if (r == -1)
        temp(v, "unable to read users/cdb");
    if (r == 0) {
        become(v, v->conf.uid, v->conf.gid);
        return "unknown domain";
    }
    become(v, v->dom.uid, v->dom.gid);
    r = vauth_getpw(&v->auth, &v->dom, v->user.s, v->user.len, &v->pw);
    if (r == -1) {
        log_line("warning: %s", v->auth.err.s ? v->auth.err.s : "");
        temp(v, "unable to read the accounts");
    }
    if (r == 0)
        return "unknown user";
    v->found = true;
    return NULL;
}

/* store_keys - SCRAM keys for the account from a password proved right,
 * when it has none or stale ones; trouble is only a warning. */
static void
store_keys(struct vchk *v, const char *pass, bool *have, struct scram_keys *k)
{
    int r;

    *have = false;
    if (!v->pw.passwd || !v->pw.passwd[0])
        return;
    r = vscram_load(&v->auth, &v->dom, v->pw.name, v->pw.passwd, k);
    if (r == 1) {
        *have = true;
        return;
    }
    if (r == 0 && vpass_scram_keys(pass, strlen(pass), k) == 0) {
        *have = true;
        if (vscram_store(&v->auth, &v->dom, v->pw.name, k, v->pw.passwd, 0) ==
            0)
            return;
    }
    log_line("warning: unable to store the SCRAM keys of %s: %s", shown(v),
             strerror(errno));
}

/* ---- checkpassword: user\0password\0[third\0] -------------------------- */

/* read_input - fd 3 until its end: its length, or -1 (too long: -2). */
static ssize_t
read_input(struct vchk *v, char *buf, size_t max)
{
    long long deadline = datetime_mono_ms() + FIRST_WAIT * 1000LL;
    size_t n = 0;

    for (;;) {
        ssize_t r;
        int ms;

        if (iob_limit(-1, deadline, &ms) == -1 || iob_poll(3, POLLIN, ms) == -1)
            return -1;
        r = read(3, buf + n, max + 1 - n);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1 && errno == EBADF)
            usage();
        if (r == -1)
            temp(v, "unable to read fd 3");
        if (r == 0)
            return (ssize_t)n;
        n += (size_t)r;
        if (n > max)
            return -2;
    }
}

static void __attribute__((noreturn)) plain(struct vchk *v)
{
    char buf[VLOGIN_IN_MAX + 1];
    struct vlogin_input in;
    const char *why, *mech;
    ssize_t n = read_input(v, buf, VLOGIN_IN_MAX);
    enum vlogin_verdict verdict;

    close(3);
    if (n == -2)
        refuse(v, "input longer than 512 bytes");
    if (n == -1)
        refuse(v, "no input within the time limit");
    if (vlogin_fields(buf, (size_t)n, &in) == -1)
        refuse(v, "malformed input");
    why = find(v, in.user, strlen(in.user));
    if (why)
        refuse(v, why);
    verdict = vlogin_check(&v->pw, &in, v->svc, &mech, &why);
    if (verdict == VLOGIN_TEMP)
        temp(v, why);
    if (verdict == VLOGIN_NO)
        refuse(v, why);
    if (strcmp(mech, "PLAIN") == 0) {
        struct scram_keys k;
        bool have;

        store_keys(v, in.pass, &have, &k);
        explicit_bzero(&k, sizeof k);
    }
    explicit_bzero(buf, sizeof buf);
    success(v, mech);
}

/* ---- the SCRAM conversation (doc/vchkpw.8) ----------------------------- */

static void
say(struct vchk *v, const struct bstr *m, bool must)
{
    if (checkpw_send(3, m->s, m->len) == -1 && must)
        refuse(v, "the caller went away");
}

static void __attribute__((noreturn)) scram(struct vchk *v)
{
    unsigned char secret[VSCRAM_SECRET_LEN], rnd[18];
    struct bstr in = BSTR_INIT, msg = BSTR_INIT, out = BSTR_INIT,
                nonce = BSTR_INIT, low = BSTR_INIT;
    struct scram_server ss = {0};
    struct scram_keys k;
    const char *why;
    int r;

    /* read while we may: the secret belongs to vpopmail */
    if (vscram_secret(v->conf.home.s, v->conf.uid, v->conf.gid, secret) == -1)
        temp(v, "unable to read ~vpopmail/" VSCRAM_SECRET);
    r = checkpw_recv(3, &in, &msg, SCRAM_MSG_MAX,
                     datetime_mono_ms() + FIRST_WAIT * 1000LL);
    if (r == -1 && errno == EBADF)
        usage();
    if (r != 1)
        refuse(v, "no SCRAM client-first message");
    if (scram_server_start(&ss, msg.s, msg.len) == -1) {
        if (errno == ENOMEM)
            temp(v, "out of memory");
        if (bstr_copys(&out, errno != ENOTSUP ? "e=invalid-encoding"
                             : msg.s[0] == 'p'
                                 ? "e=channel-binding-not-supported"
                                 : "e=extensions-not-supported") == 0)
            say(v, &out, false);
        refuse(v, "malformed SCRAM client-first message");
    }
    why = find(v, ss.first.user.s, ss.first.user.len);
    if (!why && (r = vscram_load(&v->auth, &v->dom, v->pw.name, v->pw.passwd,
                                 &k)) == -1) {
        if (v->auth.err.len)
            log_line("warning: %s", v->auth.err.s);
        temp(v, "unable to read the SCRAM keys");
    }
    if (!why && r == 0) {
        /* no keys: from the clear text when the domain keeps it */
        bool have = false;

        if (v->pw.clear && v->pw.clear[0] && v->pw.passwd && v->pw.passwd[0])
            store_keys(v, v->pw.clear, &have, &k);
        if (!have)
            why = v->pw.passwd && v->pw.passwd[0] ? "no SCRAM keys"
                                                  : "account has no password";
    }
    if (why) {
        /* made-up keys: the same salt for the same name, a proof that
         * cannot match, and nothing on the wire that tells */
        if (bstr_copy(&low, &ss.first.user) == -1)
            temp(v, "out of memory");
        bstr_lower(&low);
        if (vscram_fake(secret, low.s, low.len, &k) == -1)
            temp(v, "unable to make up keys");
    }
    explicit_bzero(secret, sizeof secret);
    if (vpass_random(rnd, sizeof rnd) == -1 ||
        base64_encode(&nonce, rnd, sizeof rnd) == -1 ||
        scram_server_challenge(&ss, &k, nonce.s, nonce.len, &out) == -1)
        temp(v, "unable to make the server-first message");
    explicit_bzero(&k, sizeof k);
    say(v, &out, true);
    r = checkpw_recv(3, &in, &msg, SCRAM_MSG_MAX,
                     datetime_mono_ms() + FINAL_WAIT * 1000LL);
    if (r != 1)
        refuse(v, why ? why : "no SCRAM client-final message");
    r = scram_server_finish(&ss, msg.s, msg.len, &out);
    if (r == -1 && errno != EINVAL)
        temp(v, "unable to check the proof");
    if (r == 1 && !why) {
        if (vlogin_allowed(&v->pw, v->svc)) {
            say(v, &out, true);
            close(3);
            success(v, SCRAM_MECH);
        }
        why = v->svc == VLOGIN_SMTP ? "smtp access denied"
                                    : "access denied for the service";
    }
    /* out holds the error scram_server_finish chose, unless the proof
     * was good for an account that may not log in here */
    if (r == 1) {
        bstr_truncate(&out, 0);
        if (bstr_cats(&out, "e=other-error") == -1)
            bstr_truncate(&out, 0);
    }
    if (out.len)
        say(v, &out, false);
    refuse(v, why       ? why
              : r == -1 ? "malformed SCRAM client-final message"
                        : "wrong password");
}

/* remote_ip - TCPREMOTEIP, an IPv4-mapped address shown as IPv4 */
static const char *
remote_ip(void)
{
    const char *ip = getenv("TCPREMOTEIP");

    if (ip == NULL || *ip == '\0')
        return "unknown";
    if (strncmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, '.'))
        return ip + 7;
    return ip;
}

int
main(int argc, char **argv)
{
    struct vchk v = {.found = false};
    const char *mech = getenv("AUTHMECH"), *bad;
    struct sigaction sa;

    umask(077);
    prctl(PR_SET_DUMPABLE, 0); /* no core file with a password in it */
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGPIPE, &sa, NULL);
    log_init("vchkpw");
    v.prog = argc > 1 ? argv + 1 : NULL;
    v.ip = remote_ip();
    if (vlogin_service_named(getenv("SERVICE"), v.ip, &v.svc) == 0)
        v.svc = vlogin_service(getenv("TCPLOCALPORT"), v.prog ? v.prog[0] : NULL,
                               v.ip);
    if (chdir(priv_home()) == -1)
        temp(&v, "unable to enter QMAIL_HOME");
    if (vconf_load(&v.conf, &bad) == -1) {
        log_line("warning: unable to read %s", bad ? bad : "?");
        temp(&v, "unable to read the settings");
    }
    if (vauth_init(&v.auth, &v.conf) == -1)
        temp(&v, "out of memory");
    if (mech && strcmp(mech, SCRAM_MECH) == 0)
        scram(&v);
    plain(&v);
}
