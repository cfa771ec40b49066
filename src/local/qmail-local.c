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
 */
#include "local.h"

int
main(int argc, char **argv)
{
    return qmail_local_main(argc, argv);
}
