/* SPDX-License-Identifier: ISC */
/*
 * qmail-inject - preprocess a message and hand it to qmail-queue
 * (qmail-inject(8), qmail-header(5)).
 *
 * The header is read whole first (at most INJECT_HEADER_MAX bytes):
 * the fields qmail-inject adds come before the ones given, and the
 * recipients may come from it.  The body is then streamed.  Nothing is
 * queued unless all of the message and its envelope reached qmail-queue:
 * any failure on the way abandons the message before qmail-queue commits
 * it.  Exit codes: 0 queued, 100 bad invocation or message, 111
 * temporary trouble.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "header.h"
#include "inject.h"
#include "iob.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "qq.h"

static struct inject_conf cf;
static struct inject ij;
static struct qq qq;
static bool toqueue = true;
static struct iob out;
static char outbuf[8192];
static char inbuf[65536], normbuf[65536 + 1];

/* ---- the ways it ends ------------------------------------------------ */

/* fail - abandon the message in progress (qmail-queue commits nothing),
 * then exit with code and the message. */
static void __attribute__((noreturn))
fail(int code, const char *msg)
{
    if (toqueue)
        qq_abort(&qq);
    log_die(code, "%s", msg);
}

static void __attribute__((noreturn))
die_usage(void)
{
    log_die(EXIT_PERM,
            "usage: qmail-inject [-nNaAhH] [-fsender] [recipient ...]");
}

static void __attribute__((noreturn))
die_nomem(void)
{
    fail(EXIT_TEMP, "out of memory");
}

static void __attribute__((noreturn))
die_read(void)
{
    int e = errno;

    if (toqueue)
        qq_abort(&qq);
    errno = e;
    log_die_sys(EXIT_TEMP, "unable to read the message");
}

/* die_inject - what inject_* refused (ij.why), or a local problem. */
static void __attribute__((noreturn))
die_inject(void)
{
    if (errno == EINVAL)
        fail(EXIT_PERM, ij.why);
    die_nomem();
}

/* ---- output: qmail-queue, or stdout with -n -------------------------- */

static void
put(const char *p, size_t n)
{
    if (toqueue) {
        qq_put(&qq, p, n);
    } else if (iob_put(&out, p, n) == -1) {
        log_die_sys(EXIT_TEMP, "unable to write the message");
    }
}

struct body {
    size_t len;
    char last;
};

/* body_put - body bytes: no NUL reaches the queue (RFC 5322 §2.3). */
static void
body_put(struct body *b, const char *p, size_t n)
{
    if (n == 0)
        return;
    if (memchr(p, '\0', n))
        fail(EXIT_PERM,
             "the message contains a NUL byte: refusing to send it");
    put(p, n);
    b->len += n;
    b->last = p[n - 1];
}

static size_t
readin(void)
{
    for (;;) {
        ssize_t r = read(0, inbuf, sizeof inbuf);

        if (r >= 0)
            return (size_t)r;
        if (errno != EINTR)
            die_read();
    }
}

static const char *
env(const char *name)
{
    return getenv(name);
}

static unsigned long
random32(void)
{
    unsigned int v;

    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
        v = (unsigned int)time(NULL) ^ ((unsigned int)getpid() << 16);
    return v;
}

/* ---- main ------------------------------------------------------------- */

static void
settings(void)
{
    const char *why, *bad, *mft = getenv("QMAILMFTFILE");

    if (inject_conf_env(&cf, env, &why) == -1)
        log_die(EXIT_PERM, "%s", why);
    /* QMAILMFTFILE is the caller's file, named from the caller's cwd */
    if (mft && inject_conf_mft(&cf, mft) == -1)
        log_die_sys(EXIT_TEMP, "unable to read $QMAILMFTFILE %s", mft);
    if (chdir(priv_home()) == -1)
        log_die_sys(EXIT_TEMP, "unable to switch to %s", priv_home());
    if (inject_conf_load(&cf, env, &bad) == -1) {
        if (errno == ENOMEM)
            die_nomem();
        if (errno == EINVAL)
            log_die(EXIT_TEMP,
                    "control/%s (or the variable overriding it) is not "
                    "a valid host name",
                    bad);
        log_die_sys(EXIT_TEMP, "unable to read control/%s", bad);
    }
}

int
main(int argc, char **argv)
{
    struct inject_stamp st;
    enum inject_rcpt how = INJECT_RCPT_DEFAULT;
    struct header h;
    struct inject_crlf crlf = {false};
    struct bstr head = BSTR_INIT, rcpts = BSTR_INIT;
    struct body body = {0, '\n'};
    size_t nlen = 0, npos = 0, nrcpt = 0;
    bool eof = false;
    int opt, ev;

    log_init("qmail-inject");
    signal(SIGPIPE, SIG_IGN); /* a dead qmail-queue is an error, not death */
    st.now = time(NULL);
    st.pid = (long)getpid();
    st.rnd = random32();
    inject_conf_init(&cf);
    settings();
    inject_init(&ij, &cf);

    opterr = 0;
    while ((opt = getopt(argc, argv, "+aAhHnNf:")) != -1) {
        switch (opt) {
        case 'a':
            how = INJECT_RCPT_ARGS;
            break;
        case 'A':
            how = INJECT_RCPT_DEFAULT;
            break;
        case 'h':
            how = INJECT_RCPT_HEADER;
            break;
        case 'H':
            how = INJECT_RCPT_BOTH;
            break;
        case 'n':
            toqueue = false;
            break;
        case 'N':
            toqueue = true;
            break;
        case 'f':
            if (inject_sender_arg(&ij, optarg) == -1)
                die_inject();
            break;
        default:
            die_usage();
        }
    }
    if (how == INJECT_RCPT_DEFAULT)
        how = optind < argc ? INJECT_RCPT_ARGS : INJECT_RCPT_HEADER;
    if (how != INJECT_RCPT_HEADER)
        for (int i = optind; i < argc; i++)
            if (inject_rcpt_arg(&ij, argv[i]) == -1)
                die_inject();

    /* the header, whole */
    header_init(&h, INJECT_HEADER_MAX);
    for (;;) {
        if (npos < nlen) {
            size_t used;

            ev = header_feed(&h, normbuf + npos, nlen - npos, &used);
            npos += used;
        } else if (eof) {
            ev = header_eof(&h);
        } else {
            size_t r = readin();

            if (r == 0) {
                eof = true;
                nlen = inject_crlf_end(&crlf, normbuf);
            } else {
                nlen = inject_crlf(&crlf, inbuf, r, normbuf);
            }
            npos = 0;
            continue;
        }
        if (ev == -1) {
            if (errno == EMSGSIZE)
                log_die(EXIT_PERM,
                        "the header is longer than %u bytes: refusing "
                        "to send the message",
                        INJECT_HEADER_MAX);
            die_nomem();
        }
        if (ev == HEADER_END)
            break;
        if (ev != HEADER_MORE &&
            inject_field(&ij, h.field.s, h.field.len, h.namelen, h.value,
                         ev == HEADER_MBOX) == -1)
            die_inject();
    }
    if (inject_finish(&ij, &st, !toqueue, &head) == -1)
        die_inject();
    if (inject_recipients(&ij, how, &rcpts, &nrcpt) == -1)
        die_nomem();
    if (toqueue && nrcpt == 0)
        log_die(EXIT_PERM, "no recipients: give them as arguments, or in "
                           "To, Cc or Bcc fields");

    if (toqueue) {
        const char *prog = getenv("QMAILQUEUE");

        qq_init(&qq, prog && *prog ? prog : "bin/qmail-queue", false);
        if (qq_open(&qq) == -1)
            log_die_sys(EXIT_TEMP, "unable to run qmail-queue");
    } else {
        iob_init(&out, 1, outbuf, sizeof outbuf, NULL, NULL);
    }
    put(head.s, head.len);
    if (h.end != HEADER_END_EOF)
        put("\n", 1);
    if (h.end == HEADER_END_BODY)
        body_put(&body, h.field.s, h.field.len);
    for (;;) {
        body_put(&body, normbuf + npos, nlen - npos);
        if (eof)
            break;
        nlen = readin();
        if (nlen == 0) {
            eof = true;
            nlen = inject_crlf_end(&crlf, normbuf);
        } else {
            nlen = inject_crlf(&crlf, inbuf, nlen, normbuf);
        }
        npos = 0;
    }
    if (body.len && body.last != '\n')
        put("\n", 1);

    if (!toqueue) {
        if (iob_flush(&out) == -1)
            log_die_sys(EXIT_TEMP, "unable to write the message");
    } else {
        qq_from(&qq, ij.sender.s ? ij.sender.s : "", ij.sender.len);
        for (size_t i = 0; i < rcpts.len; i += strlen(rcpts.s + i) + 1)
            qq_to(&qq, rcpts.s + i, strlen(rcpts.s + i));
        opt = qq_close(&qq);
        qq_end(&qq);
        if (opt != 0) {
            enum reason r = outcome_from_qq(opt);

            log_die(outcome_kind(r) == OUTCOME_PERM ? EXIT_PERM : EXIT_TEMP,
                    "%s", outcome_get(r)->text);
        }
    }
    /* everything freed, so that LeakSanitizer sees no leak */
    bstr_free(&head);
    bstr_free(&rcpts);
    header_free(&h);
    inject_free(&ij);
    inject_conf_free(&cf);
    return 0;
}
