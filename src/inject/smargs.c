/* SPDX-License-Identifier: ISC */
/*
 * smargs - sendmail's command line, as programs that expect Sendmail
 * write it: PHP's mail() ("sendmail -t -i"), cron ("-FCronDaemon -i -oem
 * -oi -t"), mailx ("sendmail -i -- addr"), MTA-agnostic scripts.
 *
 * Options cluster and take their argument attached or as the next word
 * ("-fx", "-f x", "-ti").  Options that only tune Sendmail's own
 * machinery (-o, -B, -N, -e, -v, -i, ...) are accepted and ignored, as
 * qmail's sendmail did; -C and -X, which made Sendmail read or write a
 * file the caller named, are ignored as well, so a mail() argument can
 * never reach the file system.  Modes other than -bm, -bp and -bs, and
 * queue runs (-q), are refused with a reason.  Options end at the first
 * word that is not one; a recipient starting with "-" is refused, so a
 * misplaced option is never mailed to.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "inject.h"

/* What an option letter is. */
enum { O_BAD, O_FLAG, O_ARG, O_REST };

static int
optkind(char c)
{
    if (c && strchr("tiImvxGUnsq", c))
        return O_FLAG;
    if (c && strchr("frFbBoNphLRVXCOeA", c))
        return O_ARG;
    if (c && strchr("dEJ", c))
        return O_REST; /* takes the rest of the word, if any */
    return O_BAD;
}

static int bad(struct sendmail_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(struct sendmail_args *a, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(a->why, sizeof a->why, fmt, ap);
    va_end(ap);
    errno = EINVAL;
    return -1;
}

static int
option(struct sendmail_args *a, char c, const char *val)
{
    switch (c) {
    case 't':
        a->header = true;
        break;
    case 'f':
    case 'r':
        a->sender = val;
        break;
    case 'F':
        a->fullname = val;
        break;
    case 'b':
        if (strcmp(val, "m") == 0)
            a->mode = SM_DELIVER;
        else if (strcmp(val, "p") == 0)
            a->mode = SM_QREAD;
        else if (strcmp(val, "s") == 0)
            a->mode = SM_SMTPD;
        else
            return bad(a,
                       "-b%s is not supported (qmail-ng's sendmail has -bm "
                       "to send, -bp to list the queue, -bs to speak SMTP)",
                       val);
        break;
    case 'q':
        return bad(a,
                   "-q is not supported: qmail-send runs the queue by "
                   "itself (send it SIGALRM to retry deferred mail now)");
    case 'I':
        return bad(a,
                   "-I (newaliases) is not supported: qmail's aliases are "
                   "~alias/.qmail-* files");
    default:
        break; /* every other known letter is ignored, as qmail did */
    }
    return 0;
}

/*
 * sendmail_args - parse argv.  Returns 0 with a filled in, or -1 with
 * errno EINVAL and a->why saying what is wrong.
 */
int
sendmail_args(struct sendmail_args *a, int argc, char **argv)
{
    const char *prog = argc > 0 && argv[0] ? argv[0] : "sendmail";
    const char *slash = strrchr(prog, '/');
    int i = 1;

    memset(a, 0, sizeof *a);
    a->mode = SM_DELIVER;
    if (slash)
        prog = slash + 1;
    if (strcmp(prog, "newaliases") == 0)
        return bad(a, "newaliases is not supported: qmail's aliases are "
                      "~alias/.qmail-* files");
    if (strcmp(prog, "mailq") == 0)
        a->mode = SM_QREAD;
    for (; i < argc; i++) {
        const char *w = argv[i];

        if (strcmp(w, "--") == 0) {
            i++;
            break;
        }
        if (w[0] != '-' || w[1] == '\0')
            break;
        for (const char *p = w + 1; *p; p++) {
            int k = optkind(*p);
            char s[2] = {*p, '\0'};

            if (k == O_BAD)
                return bad(a, "unknown option -%s", s);
            if (k == O_REST)
                break;
            if (k == O_FLAG) {
                if (option(a, *p, "") == -1)
                    return -1;
                continue;
            }
            if (p[1] == '\0' && i + 1 >= argc)
                return bad(a, "option -%s needs an argument", s);
            if (option(a, *p, p[1] ? p + 1 : argv[++i]) == -1)
                return -1;
            break;
        }
    }
    a->rcpt = argv + i;
    a->nrcpt = argc - i;
    for (int k = 0; k < a->nrcpt; k++)
        if (a->rcpt[k][0] == '-')
            return bad(a,
                       "%s: options go before the recipients, and a "
                       "recipient cannot start with \"-\"",
                       a->rcpt[k]);
    return 0;
}
