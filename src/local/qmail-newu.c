/* SPDX-License-Identifier: ISC */
/*
 * qmail-newu - compile $QMAIL_HOME/users/assign into users/cdb.
 *
 * The new map is written to users/cdb.tmp, fsynced and renamed into
 * place, so qmail-lspawn sees the old map or the new one.  Every bad line
 * is reported with its number and nothing changes: the old users/cdb
 * stays in force.  Exit 0, or 111 (qmail-newu(8)).
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
    bstr_free(&text);
    bstr_free(&errs);
    return 0;
}
