/* SPDX-License-Identifier: ISC */
/*
 * qmail-setup - build or repair a complete QMAIL_HOME tree.
 *
 *   qmail-setup [-r] [-u user] [-b bindir] [-m me] [-d domain] home
 *
 * Single-user mode (default): every file belongs to one account, the
 * invoking user, or nobody/nogroup when run as root, or -u user.  Root
 * mode (-r): qmail-1.03's users, groups, owners and modes, creating
 * missing users and groups, and a setuid qmailq qmail-queue.  Existing
 * control files are never overwritten; directories get their modes back.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "qpath.h"
#include "setup.h"

static void __attribute__((noreturn))
usage(void)
{
    log_die(EXIT_PERM, "usage: qmail-setup [-r] [-u user] [-b bindir] "
                       "[-m me] [-d domain] home");
}

int
main(int argc, char **argv)
{
    struct setup_opts o;
    int c;

    log_init("qmail-setup");
    memset(&o, 0, sizeof o);
    while ((c = getopt(argc, argv, "ru:b:m:d:")) != -1) {
        switch (c) {
        case 'r':
            o.rootmode = true;
            break;
        case 'u':
            o.user = optarg;
            break;
        case 'b':
            /* absolute, because setup works from inside the home */
            o.bindir = realpath(optarg, NULL);
            if (!o.bindir)
                log_die_sys(EXIT_PERM, "bad program directory %s", optarg);
            break;
        case 'm':
            o.me = optarg;
            break;
        case 'd':
            o.domain = optarg;
            break;
        default:
            usage();
        }
    }
    if (optind + 1 != argc || argv[optind][0] != '/')
        usage();
    o.home = argv[optind];
    if (o.rootmode && geteuid() != 0)
        log_die(EXIT_PERM, "root mode (-r) needs root");
    if (setup_run(&o) == -1)
        log_die(EXIT_TEMP, "%s", setup_error());
    free((char *)o.bindir);
    return 0;
}
