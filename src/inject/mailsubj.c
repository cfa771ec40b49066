/* SPDX-License-Identifier: ISC */
/*
 * mailsubj - send standard input with a subject to the recipients
 * (mailsubj(1)).  qmail's script piped "Subject: ...", "To: ..." and the
 * input to qmail-inject; this does the same, after refusing a subject or
 * recipient with a line break in it (which would have let the caller
 * write header fields of its choice).  A UTF-8 subject is encoded as RFC
 * 2047 says.  Exit codes are qmail-inject's.
 */
#include <signal.h>

#include "inject.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"

int
main(int argc, char **argv)
{
    struct bstr head = BSTR_INIT, prog = BSTR_INIT;
    char *av[2];
    const char *why;
    int code;

    log_init("mailsubj");
    if (argc < 3)
        log_die(EXIT_PERM, "usage: mailsubj subject recipient ...");
    for (int i = 1; i < argc; i++)
        if (!inject_text_ok(argv[i]))
            log_die(EXIT_PERM, "%s contains a control character",
                    i == 1 ? "the subject" : "a recipient");
    signal(SIGPIPE, SIG_IGN);
    if (bstr_cats(&head, "Subject: ") == -1 ||
        inject_text(&head, argv[1]) == -1 || bstr_cats(&head, "\nTo: ") == -1)
        log_die(EXIT_TEMP, "out of memory");
    for (int i = 2; i < argc; i++)
        if ((i > 2 && bstr_cats(&head, ",\n  ") == -1) ||
            bstr_cats(&head, argv[i]) == -1)
            log_die(EXIT_TEMP, "out of memory");
    if (bstr_cats(&head, "\n\n") == -1 ||
        bstr_copys(&prog, priv_home()) == -1 ||
        bstr_cats(&prog, "/bin/qmail-inject") == -1)
        log_die(EXIT_TEMP, "out of memory");
    av[0] = prog.s;
    av[1] = NULL;
    code = inject_pipeto(av, false, head.s, head.len, &why);
    if (code == -1)
        log_die_sys(EXIT_TEMP, "%s %s", why, prog.s);
    if (code == -2)
        log_die(EXIT_TEMP, "%s was killed by a signal", prog.s);
    bstr_free(&head);
    bstr_free(&prog);
    return code;
}
