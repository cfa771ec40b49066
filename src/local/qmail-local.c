/* SPDX-License-Identifier: ISC */
/*
 * qmail-local - deliver or forward one message as dot-qmail(5) says.
 *
 * qmail-local [-nN] user homedir local dash ext domain sender
 *             defaultdelivery
 * The message is on fd 0 (seekable).  Runs as the user, in homedir.
 * Refuses to deliver (temporarily) when the home directory or the .qmail
 * file is group- or world-writable, when the home directory is sticky
 * (the user is editing), or when the .qmail file has a malformed line;
 * bounces a message that already has our Delivered-To line.  Exit codes:
 * 0 delivered ("did F+W+P" on stdout), 100 permanent failure, 111
 * temporary failure; the reason on stderr.  -n prints what would be done.
 * The work is in local.c, which qmail-lspawn also runs in its children.
 *
 * qmail-local --worker defaultdelivery: qmail-lspawn's per-user worker
 * (lworker.h), exec'd by it after becoming the user, with its socket on
 * fd 3; never started by hand.
 */
#include <string.h>

#include "local.h"
#include "lworker.h"

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--worker") == 0)
        lworker_main(3, argv[2]);
    return qmail_local_main(argc, argv);
}
