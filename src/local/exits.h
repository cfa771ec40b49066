/* SPDX-License-Identifier: ISC */
/*
 * exits - what the exit status of a child means, in one place.
 *
 * Two tables: a .qmail program's status as qmail-local reads it
 * (qmail-command(8): 0 ok, 99 ok and stop, 100 and sysexits 64 65 70 76
 * 77 78 112 permanent, anything else temporary, a crash temporary), and
 * qmail-local's status as qmail-lspawn reports it (0 delivered, 100
 * failed for good, anything else - 111, another code, a signal - try
 * again later).
 */
#ifndef EXITS_H
#define EXITS_H

enum prog_result {
    PROG_OK,   /* delivered; go on with the next line */
    PROG_STOP, /* delivered; ignore the rest of the file (99) */
    PROG_PERM, /* bounce */
    PROG_TEMP, /* try again later */
};

enum prog_result exits_program(int wstatus);
char exits_final(int wstatus);
char exits_rcpt(char final);

#endif
