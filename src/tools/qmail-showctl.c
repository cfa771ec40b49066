/* SPDX-License-Identifier: ISC */
/*
 * qmail-showctl - print the effective configuration of an instance:
 * where it lives, who owns it, and for every control file the value in
 * force (the file's, or the default when it is absent), then any file
 * in control/ that qmail-ng does not know (usually a typo).
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "qpath.h"
#include "showctl.h"

int
main(void)
{
    struct stat st;
    const char *home;

    log_init("qmail-showctl");
    home = priv_home();
    if (chdir(home) == -1)
        log_die_sys(EXIT_TEMP, "unable to chdir to %s", home);
    printf("qmail home directory: %s\n", home);
    printf("subdirectory split: %d\n", QPATH_SPLIT);
    if (stat("queue", &st) == 0)
        printf("queue owner: uid %lu gid %lu\n", (unsigned long)st.st_uid,
               (unsigned long)st.st_gid);
    printf("\n");
    if (showctl_print(stdout) == -1)
        log_die_sys(EXIT_TEMP, "unable to read control files");
    if (fflush(stdout) == EOF || ferror(stdout))
        log_die_sys(EXIT_TEMP, "unable to write output");
    return 0;
}
