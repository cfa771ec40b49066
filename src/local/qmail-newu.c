/* SPDX-License-Identifier: ISC */
/*
 * qmail-newu - compile $QMAIL_HOME/users/assign into users/cdb.
 *
 * The new map is written to users/cdb.tmp, fsynced and renamed into
 * place, so qmail-lspawn sees the old map or the new one.  Every bad line
 * is reported with its number and nothing changes: the old users/cdb
 * stays in force.  Then the recipient maps of the virtual domains
 * (users/rcptmap/, which qmail-smtpd checks RCPT against) are brought up
 * to date: a map older than its domain's directory (an alias file made
 * by hand) is rebuilt, one of a domain no longer in users/assign goes.
 * A map that cannot be made is reported, and qmail-smtpd takes every
 * name of that domain, as qmail did.  Exit 0, or 111 (qmail-newu(8)).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assign.h"
#include "bstr.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "readfile.h"
#include "vassign.h"
#include "vauth.h"
#include "vconf.h"
#include "vrcpt.h"

#define ASSIGN_FILE_MAX (1UL << 30)

/* slurp - the whole of fn, or die saying why. */
static void
slurp(const char *fn, struct bstr *out)
{
    int r = readfile_path(fn, out, ASSIGN_FILE_MAX);

    if (r == 1)
        return;
    if (r == 0)
        log_die_sys(EXIT_TEMP, "unable to open %s", fn);
    if (errno == EFBIG)
        log_die(EXIT_TEMP, "%s is too big", fn);
    log_die_sys(EXIT_TEMP, "unable to read %s", fn);
}

/* maps - the virtual domains' recipient maps brought up to date. */
static void
maps(const struct bstr *text)
{
    struct vassign_line l;
    struct vconf c;
    struct vauth a;
    struct vrcpt_sync st = {0, 0, 0, 0, BSTR_INIT};
    const char *bad = NULL;
    size_t pos = 0;
    char cwd[4096];

    if (vassign_next(text->s ? text->s : "", text->len, &pos, &l) != 1)
        return; /* no virtual domains */
    if (vconf_load(&c, &bad) == -1) {
        log_line("warning: recipient maps not updated: unable to read %s: %s",
                 bad ? bad : "settings", strerror(errno));
        return;
    }
    if (vauth_init(&a, &c) == -1 || !getcwd(cwd, sizeof cwd) ||
        vrcpt_sync(&a, text->s ? text->s : "", text->len, cwd, &st) == -1)
        log_line("warning: recipient maps not updated: %s", strerror(errno));
    else if (st.failed)
        log_line("warning: %lu recipient map(s) not updated (their domains "
                 "take every name): %s",
                 st.failed, st.err.s ? st.err.s : "");
    bstr_free(&st.err);
    vauth_close(&a);
    vconf_free(&c);
}

int
main(int argc, char **argv)
{
    struct bstr text = BSTR_INIT, errs = BSTR_INIT;
    size_t n;

    (void)argv;
    log_init("qmail-newu");
    if (argc != 1)
        log_die(EXIT_PERM, "usage: qmail-newu");
    umask(033);
    if (chdir(priv_home()) == -1)
        log_die_sys(EXIT_TEMP, "unable to chdir to %s", priv_home());
    slurp("users/assign", &text);
    if (assign_compile(text.s ? text.s : "", text.len, "users/cdb",
                       "users/cdb.tmp", &errs, &n) == -1) {
        if (errno == EINVAL) {
            char *line = errs.s;

            while (line && *line) {
                char *nl = strchr(line, '\n');

                if (nl)
                    *nl = '\0';
                log_line("users/assign %s", line);
                line = nl ? nl + 1 : NULL;
            }
            log_die(EXIT_TEMP, "bad format in users/assign; "
                               "users/cdb not changed");
        }
        log_die_sys(EXIT_TEMP, "unable to build users/cdb");
    }
    maps(&text);
    bstr_free(&text);
    bstr_free(&errs);
    return 0;
}
