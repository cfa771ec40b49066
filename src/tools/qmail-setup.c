/* SPDX-License-Identifier: ISC */
/*
 * qmail-setup - build or repair a complete QMAIL_HOME tree.
 *
 *   qmail-setup [-r] [-u user] [-b bindir] [-m me] [-d domain]
 *               [-l logdir] [-x rules] home
 *
 * Single-user mode (default): every file belongs to one account, the
 * invoking user, or nobody/nogroup when run as root, or -u user.  Root
 * mode (-r): qmail-1.03's users, groups, owners and modes, creating
 * missing users and groups, a setuid qmailq qmail-queue, the loggers'
 * directory and the tcp rules (by default /var/log/qmail and
 * /etc/tcp.smtp when home is the built-in QMAIL_HOME).  Existing control
 * files are never overwritten; directories get their modes back; what
 * could not be made as promised is named, and the exit code is 111.
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

#include "conf_home.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "qpath.h"
#include "setup.h"

static void __attribute__((noreturn))
usage(void)
{
    log_die(EXIT_PERM, "usage: qmail-setup [-r] [-u user] [-b bindir] "
                       "[-m me] [-d domain] [-l logdir] [-x rules] home");
}

static void
warn(const char *text)
{
    log_line("%s", text);
}

/* absolute - a path option, which must be absolute ("" for none). */
static const char *
absolute(const char *path)
{
    if (!path[0])
        return NULL;
    if (path[0] != '/')
        usage();
    return path;
}

int
main(int argc, char **argv)
{
    struct setup_opts o;
    bool logset = false, rulesset = false;
    int c;

    log_init("qmail-setup");
    memset(&o, 0, sizeof o);
    o.warn = warn;
    while ((c = getopt(argc, argv, "ru:b:m:d:l:x:")) != -1) {
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
        case 'l':
            o.logdir = absolute(optarg);
            logset = true;
            break;
        case 'x':
            o.rules = absolute(optarg);
            rulesset = true;
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
    /* the system's own install gets the system's log and rules files;
     * any other tree (a test, a second instance) only when asked */
    if (o.rootmode && strcmp(o.home, QMAIL_HOME_DEFAULT) == 0) {
        if (!logset)
            o.logdir = "/var/log/qmail";
        if (!rulesset)
            o.rules = "/etc/tcp.smtp";
    }
    if (setup_run(&o) == -1)
        log_die(EXIT_TEMP, "%s", setup_error());
    free((char *)o.bindir);
    return 0;
}
