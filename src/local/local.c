/* SPDX-License-Identifier: ISC */
/*
 * local - qmail-local's work, callable in a fresh child of qmail-lspawn
 * as well as from qmail-local's main (see local.h).
 *
 * Refuses to deliver (temporarily) when the home directory or the .qmail
 * file is group- or world-writable, when the home directory is sticky
 * (the user is editing), or when the .qmail file has a malformed line;
 * bounces a message that already has our Delivered-To line.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdio_ext.h>

#include "bstr.h"
#include "deliver.h"
#include "dotqmail.h"
#include "outcome.h"
#include "priv.h"
#include "result.h"
#include "local.h"

#define BAD_MODE 022 /* group- or world-writable */

/* Set while qmail_local_run runs a delivery: die returns there, with
 * its exit code in jump_code. */
static jmp_buf *jump;
static int jump_code;

static void __attribute__((noreturn))
die(int code, const char *text)
{
    size_t n = strlen(text);

    if (n && (write(2, text, n) < 0 || write(2, "\n", 1) < 0)) {
        /* the report pipe is gone: the exit code still tells */
    }
    if (jump) {
        jump_code = code;
        longjmp(*jump, 1);
    }
    _exit(code);
}

/*
 * fail - die with result r's text and exit code.  The text is cut at
 * 2047 bytes as it always was (a long path cannot make it unbounded).
 */
static void __attribute__((noreturn))
fail(enum result_reason r, const char *const *args, size_t nargs)
{
    struct bstr t = BSTR_INIT;

    if (result_set(&t, r, args, nargs) == -1 || t.len == 0)
        die(EXIT_TEMP, result_get(RS_NOMEM)->text);
    if (t.len > 2047)
        bstr_truncate(&t, 2047);
    die(result_exit(r), t.s);
}

static void __attribute__((noreturn))
die_nomem(void)
{
    fail(RS_NOMEM, RESULT_NOARGS);
}

static void __attribute__((noreturn))
usage(void)
{
    die(EXIT_PERM, "qmail-local: usage: qmail-local [ -nN ] user homedir "
                   "local dash ext domain sender defaultdelivery");
}

static void
say(const char *what, const char *arg)
{
    printf("%s%s\n", what, arg);
}

static void
put_env(const char *name, const char *value)
{
    if (setenv(name, value, 1) == -1)
        die_nomem();
}

/* check_home - qmail's safety rules for the home directory (our cwd). */
static void
check_home(bool doit)
{
    struct stat st;

    if (stat(".", &st) == -1)
        fail(RS_HOME_STAT, RESULT_ARGS(strerror(errno)));
    if (st.st_mode & BAD_MODE)
        fail(RS_HOME_WRITABLE, RESULT_NOARGS);
    if (st.st_mode & S_ISVTX) {
        if (doit)
            fail(RS_HOME_STICKY, RESULT_NOARGS);
        fprintf(stderr, "Warning: home directory is sticky.\n");
    }
}

/*
 * probe - open one candidate .qmail file.  Returns its fd, or -1 when it
 * is not there (or not a regular file); dies on trouble that may pass.
 */
static int
probe(const char *name, bool *xbit)
{
    struct stat st;
    int fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd == -1) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ENAMETOOLONG)
            return -1;
        fail(RS_OPEN, RESULT_ARGS(name, strerror(errno)));
    }
    if (fstat(fd, &st) == -1)
        fail(RS_OPEN, RESULT_ARGS(name, strerror(errno)));
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    if (st.st_mode & BAD_MODE)
        fail(RS_DOTQMAIL_WRITABLE, RESULT_NOARGS);
    *xbit = (st.st_mode & S_IXUSR) != 0;
    return fd;
}

/* exists - does the file (of any kind) exist?  Dies on doubt. */
static bool
exists(const char *name)
{
    struct stat st;

    if (stat(name, &st) == 0)
        return true;
    if (errno == ENOENT || errno == ENOTDIR || errno == ENAMETOOLONG)
        return false;
    fail(RS_OPEN, RESULT_ARGS(name, strerror(errno)));
}

static void
slurp(int fd, const char *name, struct bstr *out)
{
    char buf[8192];

    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            fail(RS_READ, RESULT_ARGS(name, strerror(errno)));
        if (r == 0)
            break;
        if (out->len + (size_t)r > DOTQMAIL_FILE_MAX)
            fail(RS_DOTQMAIL_TOOBIG, RESULT_ARGS(name));
        if (bstr_catb(out, buf, (size_t)r) == -1)
            die_nomem();
    }
    close(fd);
}

/*
 * new_sender - NEWSENDER: local-owner@host when .qmail<dash><ext>-owner
 * exists, the VERP form local-owner-@host-@[] when -owner-default exists
 * too; the sender unchanged for bounces ("" and "#@[]").
 */
static void
new_sender(struct qlocal *q, const struct bstr *safeext)
{
    struct bstr name = BSTR_INIT;

    if (bstr_copys(&q->newsender, q->sender) == -1)
        die_nomem();
    if (!*q->sender || strcmp(q->sender, "#@[]") == 0)
        return;
    if (bstr_copys(&name, ".qmail") == -1 || bstr_cats(&name, q->dash) ==
                                                 -1 ||
        bstr_catb(&name, safeext->s, safeext->len) == -1 ||
        bstr_cats(&name, "-owner") == -1)
        die_nomem();
    if (exists(name.s)) {
        bool verp;

        if (bstr_cats(&name, "-default") == -1)
            die_nomem();
        verp = exists(name.s);
        bstr_truncate(&q->newsender, 0);
        if (bstr_cats(&q->newsender, q->local) == -1 ||
            bstr_cats(&q->newsender, verp ? "-owner-@" : "-owner@") == -1 ||
            bstr_cats(&q->newsender, q->host) == -1 ||
            (verp && bstr_cats(&q->newsender, "-@[]") == -1))
            die_nomem();
    }
    bstr_free(&name);
}

static void
set_env(struct qlocal *q, const char *ext)
{
    struct bstr h = BSTR_INIT;
    static const char *const hostvar[] = {"HOST2", "HOST3", "HOST4"};
    static const char *const extvar[] = {"EXT2", "EXT3", "EXT4"};

    put_env("SENDER", q->sender);
    put_env("RECIPIENT", q->recipient.s);
    put_env("USER", q->user);
    put_env("HOME", q->home);
    put_env("LOCAL", q->local);
    put_env("HOST", q->host);
    put_env("EXT", ext);
    put_env("DTLINE", q->dtline.s);
    put_env("RPLINE", q->rpline.s);
    put_env("UFLINE", q->ufline.s);
    for (int i = 0; i < 3; i++) {
        if (qlocal_hostpart(&h, q->host, i + 2) == -1)
            die_nomem();
        put_env(hostvar[i], h.s ? h.s : "");
        put_env(extvar[i], qlocal_extpart(ext, i + 2));
    }
    bstr_free(&h);
}

/* refuse - a .qmail that cannot be followed: qmail's words where it had
 * them, the file and line otherwise. */
static void __attribute__((noreturn))
refuse(const char *name, const struct dq_err *err)
{
    char line[FMT_ULONG];

    switch (err->code) {
    case DQ_E_FIRSTBLANK:
        fail(RS_DOTQMAIL_BLANK, RESULT_NOARGS);
    case DQ_E_PROG_XBIT:
    case DQ_E_FILE_XBIT:
        fail(RS_DOTQMAIL_XBIT, RESULT_ARGS(dotqmail_strerror(err->code)));
    case DQ_E_TOOBIG:
        fail(RS_DOTQMAIL_TOOBIG, RESULT_ARGS(name));
    default:
        fail(RS_DOTQMAIL_LINE,
             RESULT_ARGS(name, result_num(line, err->line),
                         dotqmail_strerror(err->code)));
    }
}

int
qmail_local_main(int argc, char **argv)
{
    struct qlocal q;
    struct dotqmail dq;
    struct dq_search search;
    struct dq_err err;
    struct bstr safeext = BSTR_INIT, name = BSTR_INIT, text = BSTR_INIT;
    struct bstr qqprog = BSTR_INIT;
    const char **fwd = NULL;
    const char *ext, *defaultdelivery, *source;
    size_t nfwd = 0, defpos = (size_t)-1;
    bool doit = true, xbit = false, found = false;
    int opt, fd = -1;

    umask(077);
    signal(SIGPIPE, SIG_IGN);
    optind = 1;
    while ((opt = getopt(argc, argv, "nN")) != -1)
        switch (opt) {
        case 'n':
            doit = false;
            break;
        case 'N':
            doit = true;
            break;
        default:
            usage();
        }
    if (argc - optind != 8)
        usage();
    argv += optind;
    qlocal_init(&q);
    q.user = argv[0];
    q.home = argv[1];
    q.local = argv[2];
    q.dash = argv[3];
    ext = q.ext = argv[4];
    q.host = argv[5];
    q.sender = argv[6];
    defaultdelivery = argv[7];
    q.now = time(NULL);
    if (q.home[0] != '/')
        usage();

    if (chdir(q.home) == -1)
        fail(RS_CHDIR, RESULT_ARGS(q.home, strerror(errno)));
    check_home(doit);
    if (qlocal_lines(&q) == -1)
        die_nomem();
    if (doit) {
        int code = qlocal_loopcheck(&q);

        if (code)
            die(code, q.err.s);
    }
    set_env(&q, ext);

    /* which .qmail: the exact name, then the -default files */
    if (dotqmail_safeext(&safeext, ext, strlen(ext)) == -1)
        die_nomem();
    dotqmail_search_init(&search, q.dash, safeext.s ? safeext.s : "",
                         safeext.len);
    for (;;) {
        int r = dotqmail_search_next(&search, &name, &defpos);

        if (r == -1)
            die_nomem();
        if (r == 0)
            break;
        fd = probe(name.s, &xbit);
        if (fd != -1) {
            found = true;
            break;
        }
    }
    if (found && defpos != (size_t)-1 && defpos <= strlen(ext))
        put_env("DEFAULT", ext + defpos);
    else
        unsetenv("DEFAULT");
    if (!found && *q.dash)
        fail(RS_NOMAILBOX, RESULT_NOARGS);

    new_sender(&q, &safeext);
    put_env("NEWSENDER", q.newsender.s);

    source = found ? name.s : "defaultdelivery";
    if (found)
        slurp(fd, name.s, &text);
    if (text.len == 0) {
        /* no file, or an empty one: the administrator's default */
        source = "defaultdelivery";
        xbit = false;
        if (bstr_copys(&text, defaultdelivery) == -1)
            die_nomem();
    }
    dotqmail_init(&dq);
    if (dotqmail_parse(&dq, text.s ? text.s : "", text.len, xbit, &err) ==
        -1) {
        if (errno == ENOMEM)
            die_nomem();
        refuse(source, &err);
    }

    if (getenv("QMAILQUEUE") && *getenv("QMAILQUEUE"))
        q.qqprog = getenv("QMAILQUEUE");
    else {
        if (bstr_catf(&qqprog, "%s/bin/qmail-queue", priv_home()) == -1)
            die_nomem();
        q.qqprog = qqprog.s;
    }
    fwd = calloc(dq.n + 1, sizeof *fwd);
    if (!fwd)
        die_nomem();

    for (size_t i = 0; i < dq.n; i++) {
        const char *arg = dotqmail_arg(&dq, i);
        bool stop = false;
        int code = 0;

        switch (dq.v[i].kind) {
        case DQ_MAILDIR:
            q.nfile++;
            if (doit)
                code = qlocal_maildir(&q, arg);
            else
                say("maildir ", arg);
            break;
        case DQ_MBOX:
            q.nfile++;
            if (doit)
                code = qlocal_mbox(&q, arg);
            else
                say("mbox ", arg);
            break;
        case DQ_PROGRAM:
            q.nprogram++;
            if (doit) {
                fflush(stdout);
                code = qlocal_program(&q, arg, &stop);
            } else {
                say("program ", arg);
            }
            break;
        case DQ_FORWARD:
            q.nforward++;
            if (doit)
                fwd[nfwd++] = arg;
            else
                say("forward ", arg);
            break;
        }
        if (code)
            die(code, q.err.s ? q.err.s : "");
        if (stop)
            break;
    }
    if (nfwd) {
        int code = qlocal_forward(&q, fwd, nfwd);

        if (code)
            die(code, q.err.s);
    }
    printf("did %lu+%lu+%lu\n", q.nfile, q.nforward, q.nprogram);
    if (q.qp)
        printf("qp %ld\n", q.qp);
    if (fflush(stdout) == EOF)
        die(EXIT_TEMP, "");
    free(fwd);
    dotqmail_free(&dq);
    qlocal_free(&q);
    bstr_free(&safeext);
    bstr_free(&name);
    bstr_free(&text);
    bstr_free(&qqprog);
    return 0;
}

/*
 * qmail_local_run - one delivery as qmail_local_main does it, returning
 * its exit code instead of exiting (qmail-lspawn's per-user workers,
 * lworker.c).  What the delivery printed but had not flushed when it
 * failed is dropped, as _exit would drop it.  The environment and the
 * descriptors are the caller's to reset between deliveries.
 */
int
qmail_local_run(int argc, char **argv)
{
    jmp_buf jb;
    int code;

    jump = &jb;
    if (setjmp(jb) == 0)
        code = qmail_local_main(argc, argv);
    else
        code = jump_code;
    jump = NULL;
    if (code != 0)
        __fpurge(stdout);
    return code;
}
