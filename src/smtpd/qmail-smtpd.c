/* SPDX-License-Identifier: ISC */
/*
 * qmail-smtpd - receive mail over SMTP on fds 0/1, as started by
 * tcpserver, and hand each message to qmail-queue.
 *
 * It has no network code and no privilege: it refuses to run as root,
 * reads its settings once from $QMAIL_HOME/control, takes the client's
 * identity and trust (RELAYCLIENT) from tcpserver's environment, and
 * speaks qmail-1.03's dialogue with the ESMTP extensions of today.  Every
 * way the session can end is one of the die paths below.
 *
 * Started by tcpserver -W (src/tcp/worker.h), it serves one session after
 * another in the same process: the controls are read again only when
 * something in control/ changed (dirwatch), the environment is rebuilt
 * for each client, qmail-queue -m stays for the next session, and a
 * session that tried STARTTLS or AUTH ends the process instead of
 * leaving keys or passwords in memory another client's session could
 * come near.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "dirwatch.h"
#include "fmt.h"
#include "log.h"
#include "opensmtp.h"
#include "priv.h"
#include "ratelimit.h"
#include "smtpd.h"
#include "worker.h"

static struct smtpd_config cf;
static struct smtpd_policy pol;
static struct smtpd_session sess;
static unsigned long file_databytes; /* control/databytes, before $DATABYTES */
static char inbuf[SMTPD_INBUF], outbuf[SMTPD_OUTBUF], databuf[SMTPD_INBUF];
/* A tcpserver -W worker with no client in hand: a die path before the
 * first session takes the next connection to give its reply to. */
static struct worker *early_worker;

/* ---- die paths: every way out, and the reply the client gets ---------- */

static void
log_session(struct smtpd_session *s)
{
    struct bstr helo = BSTR_INIT;
    bool show = s->helo.len &&
                smtpd_safe_cat(&helo, s->helo.s, 100) == 0;

    /* helo is made safe: a HELO with spaces cannot forge fields here */
    log_line("session ip=%s host=%s helo=%s msgs=%lu rcpts=%lu bytes=%llu "
             "end=%s",
             s->remoteip, s->remotehost, show ? helo.s : "-", s->msgs,
             s->rcpts_total, s->bytes_total, s->how);
    bstr_free(&helo);
}

/*
 * End the session: throw away any half-received message (and end
 * qmail-queue unless keep_qq), say why, log.  Returns the exit code.
 */
static int
finish(struct smtpd_session *s, enum reason r, const char *how, bool keep_qq)
{
    if (keep_qq)
        smtpd_forget(s);
    else
        smtpd_abort(s);
    s->how = how;
    if (r != OC_OK)
        smtpd_reply_quiet(s, r, NULL);
    (void)smtpd_flush(s);
    smtpd_tls_end(s);
    log_session(s);
    return strcmp(how, "quit") == 0 || strcmp(how, "eof") == 0 ? 0 : 1;
}

/* End the session and the process. */
static void __attribute__((noreturn))
die(struct smtpd_session *s, enum reason r, const char *how)
{
    _exit(finish(s, r, how, false));
}

/*
 * Before the session exists: one reply written straight out, one line.
 * A worker that has no client yet (its controls could not be read at
 * start) takes one, so the client gets the 421 a process per connection
 * would have given it, instead of tcpserver starting worker after worker
 * that die before taking any connection.
 */
static void __attribute__((noreturn))
die_early(enum reason r, const char *why, const char *what)
{
    const struct outcome *o = outcome_get(r);
    char line[256];
    size_t n = fmt_ull(line, o->smtp);

    if (early_worker) {
        struct worker *w = early_worker;

        early_worker = NULL;
        if (worker_next(w) != 1) {
            log_line("fatal: %s%s", why, what);
            _exit(111);
        }
    }

    line[n++] = ' ';
    for (const char *t = o->text; *t && n < sizeof line - 2; t++)
        line[n++] = *t;
    line[n++] = '\r';
    line[n++] = '\n';
    if (write(1, line, n) < 0) {
        /* the client is gone; the log line still tells why */
    }
    log_line("fatal: %s%s", why, what);
    _exit(1);
}

static void __attribute__((noreturn))
die_nomem(void)
{
    die_early(OC_NOMEM, "out of memory", "");
}

static void __attribute__((noreturn))
die_root(void)
{
    die_early(OC_ROOT, "refusing to run as root: ",
              "start me with tcpserver -u UID -g GID");
}

static void __attribute__((noreturn))
die_control(const char *file)
{
    die_early(OC_CONTROL, "unable to read controls: ", file);
}

/* ---- settings ----------------------------------------------------------- */

#define OFF(f) offsetof(struct smtpd_config, f)
static const struct ctl_setting settings[] = {
    {"me", CTL_LINE, NULL, 0, 0, OFF(me), CTL_NOFLAG},
    {"smtpgreeting", CTL_LINE, "@me", 0, 0, OFF(greeting), CTL_NOFLAG},
    {"localiphost", CTL_LINE, "@me", 0, 0, OFF(localiphost), CTL_NOFLAG},
    {"rcpthosts", CTL_LIST, NULL, 0, 0, OFF(rcpthosts),
     OFF(rcpthosts_present)},
    {"badmailfrom", CTL_LIST, NULL, 0, 0, OFF(badmailfrom), CTL_NOFLAG},
    /* RCPT checks against the virtual domains' recipient maps */
    {"norcptcheck", CTL_LIST, NULL, 0, 0, OFF(norcptcheck), CTL_NOFLAG},
    {"overquota", CTL_LINE, "defer", 0, 0, OFF(overquota), CTL_NOFLAG},
    {"databytes", CTL_ULONG, "0", 0, ULONG_MAX, OFF(databytes), CTL_NOFLAG},
    {"timeoutsmtpd", CTL_ULONG, "1200", 1, 86400, OFF(timeout), CTL_NOFLAG},
    /* qmail-ng: timeoutsmtpd is per read, so these bound a trickler; the
     * defaults are RFC 5321 4.5.3.2's 5 minutes for a command and 10 for
     * the data, and Postfix's minimum data rate */
    {"timeoutsmtpdcmd", CTL_ULONG, "300", 0, 86400, OFF(cmdtimeout),
     CTL_NOFLAG},
    {"timeoutsmtpddata", CTL_ULONG, "600", 1, 86400, OFF(datatimeout),
     CTL_NOFLAG},
    {"mindatarate", CTL_ULONG, "500", 0, ULONG_MAX, OFF(minrate), CTL_NOFLAG},
    /* TLS: the qmail TLS patch's cipher file, then qmail-ng's */
    {"tlsserverciphers", CTL_LINE, "", 0, 0, OFF(tlsciphers), CTL_NOFLAG},
    {"tlsserverciphersuites", CTL_LINE, "", 0, 0, OFF(tlssuites),
     CTL_NOFLAG},
    {"tlsserverminprotocol", CTL_LINE, "", 0, 0, OFF(tlsmin), CTL_NOFLAG},
    /* AUTH is offered only over TLS unless this says 1 */
    {"authplaintext", CTL_ULONG, "0", 0, 1, OFF(authplain), CTL_NOFLAG},
    /* POP-before-SMTP (0: off) */
    {"opensmtpage", CTL_ULONG, "10800", 0, ULONG_MAX, OFF(opensmtpage),
     CTL_NOFLAG},
    /* DNS blocklists (src/smtpd/dnsbl.c) */
    /* Postfix's postscreen_dnsbl_sites syntax, one site a line; the
     * timeout is postscreen_dnsbl_timeout's default */
    {"dnsbl", CTL_LIST, NULL, 0, 0, OFF(dnsbl), CTL_NOFLAG},
    {"rhsbl", CTL_LIST, NULL, 0, 0, OFF(rhsbl), CTL_NOFLAG},
    /* a line, not a CTL_ULONG: dnsbl.c takes what it always took (strtol's
     * "+2" too) and logs anything else and uses 1, where a bad CTL_ULONG
     * stops all mail with 421 */
    {"dnsblthreshold", CTL_LINE, "1", 0, 0, OFF(dnsblthreshold), CTL_NOFLAG},
    {"dnsbltimeout", CTL_ULONG, "10", 1, 300, OFF(dnsbltimeout), CTL_NOFLAG},
    /* spamcontrol's checks (src/smtpd/checks.c) */
    /* spamcontrol's lists (wildmat patterns, '!' exempts) and checks;
     * all off until a file says otherwise, except qmail's error cap */
    {"badhelo", CTL_LIST, NULL, 0, 0, OFF(badhelo), CTL_NOFLAG},
    {"badrcptto", CTL_LIST, NULL, 0, 0, OFF(badrcptto), CTL_NOFLAG},
    {"helocheck", CTL_LIST, NULL, 0, 0, OFF(helocheck), CTL_NOFLAG},
    {"mfdnscheck", CTL_ULONG, "0", 0, 1, OFF(mfdnscheck), CTL_NOFLAG},
    {"maxrcpt", CTL_ULONG, "0", 0, ULONG_MAX, OFF(maxrcpt), CTL_NOFLAG},
    {"maxerrors", CTL_ULONG, "20", 0, ULONG_MAX, OFF(maxerrors), CTL_NOFLAG},
    {"tarpitcount", CTL_ULONG, "0", 0, ULONG_MAX, OFF(tarpitcount),
     CTL_NOFLAG},
    {"tarpiterrors", CTL_ULONG, "0", 0, ULONG_MAX, OFF(tarpiterrors),
     CTL_NOFLAG},
    {"tarpitdelay", CTL_LINE, "5", 0, 0, OFF(tarpitdelay), CTL_NOFLAG},
    {"greetdelay", CTL_LINE, "0", 0, 0, OFF(greetdelay), CTL_NOFLAG},
    /* rate limits and send quotas (src/smtpd/ratelimit.c) */
    /* the rules' lines (doc/qmail-control.5); absent: no limits */
    {"ratelimits", CTL_LIST, NULL, 0, 0, OFF(ratelimits), CTL_NOFLAG},
    /* greylisting (src/smtpd/greylist.c) */
    /* postgrey's defaults: --delay 300 (here 0, off, until the file
     * says otherwise), --retry-window 2 days, --max-age 35 days,
     * --auto-whitelist-clients 5 */
    {"greylist", CTL_ULONG, "0", 0, 2592000, OFF(greylist), CTL_NOFLAG},
    {"greylistwindow", CTL_ULONG, "172800", 1, ULONG_MAX, OFF(greylistwindow),
     CTL_NOFLAG},
    {"greylistmaxage", CTL_ULONG, "3024000", 1, ULONG_MAX,
     OFF(greylistmaxage), CTL_NOFLAG},
    {"greylistclients", CTL_ULONG, "5", 0, 1000000, OFF(greylistclients),
     CTL_NOFLAG},
};

/* The control files (again, in a worker, after control/ changed). */
static void
load_controls(void)
{
    const char *bad = NULL;

    if (chdir(priv_home()) == -1)
        die_control(priv_home());
    if (ctl_load(settings, sizeof settings / sizeof settings[0], &cf,
                 &bad) == -1) {
        if (errno == ENOMEM)
            die_nomem();
        die_control(bad ? bad : "?");
    }
    file_databytes = cf.databytes;
    cf.tls_cert = access("control/servercert.pem", F_OK) == 0;
    if (!cf.rcpthosts_present)
        log_line("warning: control/rcpthosts is missing: "
                 "no relay control, anyone may relay");
    smtpd_policy_free(&pol);
    if (smtpd_policy_init(&pol, &cf, "control/morercpthosts.cdb") == -1) {
        if (errno == ENOMEM)
            die_nomem();
        die_control("morercpthosts.cdb");
    }
    if (smtpd_checks_init(&cf) == -1) {
        if (errno == ENOMEM)
            die_nomem();
        die_control(cf.checks_bad ? cf.checks_bad : "?");
    }
    if (smtpd_dnsbl_load(&cf) == -1)
        die_nomem();
    if (smtpd_rate_load(&cf) == -1) /* control/ratelimits (ratelimit.c) */
        die_nomem();
}

/* The settings tcpserver's environment gives this client. */
static void
load_env(void)
{
    const char *x;

    cf.databytes = file_databytes;
    /* qmail: the environment (tcpserver rules) overrides the file. */
    if ((x = getenv("DATABYTES"))) {
        unsigned long long u;
        size_t n = 0;

        while (x[n])
            n++;
        if (n && scan_ull(x, n, &u) == n && u <= ULONG_MAX)
            cf.databytes = (unsigned long)u;
        else
            log_line("warning: ignoring DATABYTES=%s: not a number", x);
    }
    /* spamcontrol's switches, set per listener or per client in tcp.smtp:
     * "-" turns the feature off, "!" makes it required before MAIL */
    x = getenv("UCSPITLS");
    cf.tls_off = x && strcmp(x, "-") == 0;
    cf.tls_required = x && strcmp(x, "!") == 0;
    x = getenv("SMTPAUTH");
    cf.auth_off = x && strcmp(x, "-") == 0;
    cf.auth_required = x && strcmp(x, "!") == 0;
    /* SCRAM-SHA-256 only with a checkpassword program that speaks
     * doc/vchkpw.8's conversation, which the admin says (run script or
     * tcp.smtp) */
    x = getenv("SMTPAUTHSCRAM");
    cf.auth_scram = x && strcmp(x, "1") == 0;
    cf.smtps = getenv("SMTPS") != NULL;
}

/*
 * pop_before_smtp - a client without RELAYCLIENT whose IP logged in over
 * POP3 or IMAP within control/opensmtpage relays as if tcpserver had set
 * RELAYCLIENT="" (one lstat of users/open-smtp/IP per connection).
 */
static void
pop_before_smtp(struct smtpd_session *s)
{
    unsigned long age;

    if (s->relayclient || cf.opensmtpage == 0)
        return;
    switch (opensmtp_fresh(OPENSMTP_DIR, s->remoteip, cf.opensmtpage,
                           time(NULL), &age)) {
    case 1:
        s->relayclient = s->tcprelayclient = "";
        log_line("pop-before-smtp ip=%s age=%lus", s->remoteip, age);
        break;
    case -1:
        /* EINVAL: not an address ("unknown" outside tcpserver) */
        if (errno != EINVAL)
            log_line("warning: pop-before-smtp: unable to stat %s/%s: %s",
                     OPENSMTP_DIR, s->remoteip, strerror(errno));
        break;
    default:
        break;
    }
}

static const char *
env_or(const char *name, const char *def)
{
    const char *v = getenv(name);

    return v ? v : def;
}

/*
 * auth_args - the AUTH patch's command line: "qmail-smtpd checkpassword
 * subprogram..." (as in "qmail-smtpd /bin/checkpassword true"), or the
 * older patch's "qmail-smtpd hostname checkpassword subprogram...",
 * told apart by the hostname having no '/' where the program's path
 * has one.  The hostname goes into CRAM-MD5's challenge (default: me).
 */
static void
auth_args(int argc, char **argv)
{
    cf.authhost = cf.me.s;
    if (argc >= 4 && !strchr(argv[1], '/') && argv[2][0] == '/') {
        cf.authhost = argv[1];
        cf.checkpw = argv + 2;
    } else if (argc >= 2) {
        cf.checkpw = argv + 1;
    }
}

/* ---- main: settings, then the command loop ---------------------------- */

/*
 * session_start - set up the session for the client on fds 0/1 from
 * tcpserver's environment.  kept is qmail-queue -m left running by the
 * last session in this process (pid -1: none): it serves this one too
 * when this one uses our own qmail-queue, else it is ended.
 */
static void
session_start(struct smtpd_session *s, struct qq *kept)
{
    const char *qqenv;
    struct stat st;

    if (setenv("QMAIL_QUEUE_ORIGIN", "network", 1) == -1)
        die_nomem();
    memset(s, 0, sizeof *s);
    if (smtpd_session_init(s, inbuf, outbuf, databuf) == -1)
        die_nomem();
    s->cf = &cf;
    s->auth.scram = cf.auth_scram;
    s->pol = &pol;
    s->remoteip = env_or("TCPREMOTEIP", "unknown");
    s->remotehost = env_or("TCPREMOTEHOST", "unknown");
    s->remoteinfo = getenv("TCPREMOTEINFO");
    s->local = env_or("TCPLOCALHOST", env_or("TCPLOCALIP", "unknown"));
    s->relayclient = getenv("RELAYCLIENT");
    s->tcpremoteinfo = s->remoteinfo;
    s->tcprelayclient = s->relayclient;
    pop_before_smtp(s);
    smtpd_checks_start(s); /* after RELAYCLIENT is known */
    /* the DNSBL queries go out now, to be answered during the greeting */
    smtpd_dnsbl_start(s);
    qqenv = getenv("QMAILQUEUE");
    s->qqprog = qqenv ? qqenv : "bin/qmail-queue";
    /* Our own qmail-queue serves the whole session (qmail-queue -m); a
     * $QMAILQUEUE program gets qmail's interface, one run per message. */
    if (kept && kept->pid != -1 && !qqenv)
        s->qq = *kept;
    else {
        if (kept && kept->pid != -1)
            qq_end(kept);
        qq_init(&s->qq, s->qqprog, qqenv == NULL);
        qq_capture(&s->qq); /* what qmail-queue says goes into our logs */
    }
    iob_settimeout(&s->in, (unsigned)cf.timeout);
    iob_settimeout(&s->out, (unsigned)cf.timeout);
    /* the client's socket (under tcpserver; a pipe in some tests):
     * reads and writes tried before any wait */
    if (fstat(0, &st) == 0 && S_ISSOCK(st.st_mode)) {
        s->in.op = iob_sockread;
        s->out.op = iob_sockwrite;
    }
    /* SMTPS: TLS from the first byte, so this process ends with it */
    s->secrets = cf.smtps;
}

/*
 * session_run - the dialogue, until it ends; returns with s->fate and
 * s->how saying how.
 */
static void
session_run(struct smtpd_session *s)
{
    /* SMTPS (RFC 8314): TLS from the first byte, then the greeting */
    if (cf.smtps && (smtpd_tls_prepare(s) == -1 || smtpd_tls_begin(s) == -1)) {
        s->fate = OC_OK;
        s->how = "tls";
        return;
    }
    /* over its connections per minute: 421 and the end (ratelimit.c) */
    if (smtpd_rate_connect(s) == -1)
        return;
    /* a client that talks before the greeting is refused */
    if (smtpd_checks_greet(s) == -1)
        return;
    smtpd_greet(s);
    while (smtpd_read_command(s) != -1 && smtpd_dispatch(s) != -1)
        ;
}

/*
 * serve_worker - tcpserver -W: one session after another.  The controls
 * are read again only when something in control/ changed; a session
 * with secrets in memory (STARTTLS, AUTH) ends the process.
 */
static void __attribute__((noreturn))
serve_worker(struct worker *w, int argc, char **argv)
{
    struct smtpd_session *s = &sess;
    struct qq kept;
    int watch;
    int r;

    early_worker = w;
    load_controls();
    early_worker = NULL;
    auth_args(argc, argv);
    watch = dirwatch_open("control");
    qq_init(&kept, "bin/qmail-queue", true);
    while ((r = worker_next(w)) == 1) {
        int code;

        if (dirwatch_changed(watch)) {
            load_controls();
            auth_args(argc, argv); /* cf.me may have moved */
        }
        load_env();
        session_start(s, &kept);
        session_run(s);
        if (s->secrets)
            die(s, s->fate, s->how);
        code = finish(s, s->fate, s->how, true);
        kept = s->qq;
        smtpd_session_free(s);
        /* nothing this client sent or was sent stays readable */
        explicit_bzero(inbuf, sizeof inbuf);
        explicit_bzero(outbuf, sizeof outbuf);
        explicit_bzero(databuf, sizeof databuf);
        explicit_bzero(kept.buf, sizeof kept.buf);
        explicit_bzero(kept.said, sizeof kept.said);
        if (!worker_done(w, code)) {
            qq_end(&kept);
            _exit(code);
        }
    }
    if (r == -1)
        log_line("fatal: unable to get the next connection from tcpserver: "
                 "%s", strerror(errno));
    qq_end(&kept);
    _exit(r == 0 ? 0 : 111);
}

int
main(int argc, char **argv)
{
    static struct worker w;
    struct smtpd_session *s = &sess;
    struct sigaction sa;

    log_init(argv[0] ? argv[0] : "qmail-smtpd");
    /* Whatever ran us (tcpserver, inetd, a script) may have left signals
     * blocked or SIGCHLD ignored: then qmail-queue could not be waited
     * for, and its own alarm would never ring. */
    sigemptyset(&sa.sa_mask);
    sigprocmask(SIG_SETMASK, &sa.sa_mask, NULL);
    sa.sa_flags = 0;
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL); /* a dead client or qq is an error */

    /* Nothing that parses network input runs as root (doc/architecture.md). */
    if (getuid() == 0 || geteuid() == 0)
        die_root();
    switch (worker_init(&w)) {
    case 1:
        serve_worker(&w, argc, argv);
    case 0:
        break;
    default:
        log_line("fatal: unable to start as a tcpserver -W worker: %s",
                 strerror(errno));
        _exit(111);
    }
    load_controls();
    load_env();
    auth_args(argc, argv);
    session_start(s, NULL);
    session_run(s);
    die(s, s->fate, s->how);
}
