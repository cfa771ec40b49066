/* SPDX-License-Identifier: ISC */
/*
 * local - one delivery as dot-qmail(5) says: the whole of qmail-local.
 *
 * qmail_local_main(argc, argv) takes qmail-local's arguments
 *     [-nN] user homedir local dash ext domain sender defaultdelivery
 * with the message on fd 0 (seekable), running as the user.  It writes
 * its result on fds 1 and 2 and ends the process (exit codes 0, 100,
 * 111 as qmail-local(8) says); it returns only on success, with 0, after
 * flushing stdout, and the caller then exits.  It changes the process's
 * environment, umask, cwd and SIGPIPE disposition, so it runs only in a
 * process of its own: qmail-local's, or a child qmail-lspawn forked for
 * this one delivery (which saves an exec per delivery).
 */
#ifndef LOCAL_H
#define LOCAL_H

int qmail_local_main(int argc, char **argv);
int qmail_local_run(int argc, char **argv);

#endif
