/* SPDX-License-Identifier: ISC */
/*
 * exits - exit-status tables for .qmail programs and qmail-local (see
 * exits.h).
 */
#include <stddef.h>
#include <sys/wait.h>

#include "exits.h"

/* Exit codes a program may use to bounce: 100 and these sysexits. */
static const struct {
    int code;
    enum prog_result result;
} program_codes[] = {
    {0, PROG_OK},
    {99, PROG_STOP},
    {100, PROG_PERM},
    {64, PROG_PERM},  /* EX_USAGE */
    {65, PROG_PERM},  /* EX_DATAERR */
    {70, PROG_PERM},  /* EX_SOFTWARE */
    {76, PROG_PERM},  /* EX_PROTOCOL */
    {77, PROG_PERM},  /* EX_NOPERM */
    {78, PROG_PERM},  /* EX_CONFIG */
    {112, PROG_PERM}, /* qmail's own "bug in the caller" */
};

/* exits_program - what a .qmail program's wait status means. */
enum prog_result
exits_program(int wstatus)
{
    if (!WIFEXITED(wstatus))
        return PROG_TEMP; /* a crash: nothing is known, try again */
    for (size_t i = 0; i < sizeof program_codes / sizeof program_codes[0];
         i++)
        if (program_codes[i].code == WEXITSTATUS(wstatus))
            return program_codes[i].result;
    return PROG_TEMP;
}

/* exits_final - qmail-local's wait status as a report code K, D or Z. */
char
exits_final(int wstatus)
{
    if (!WIFEXITED(wstatus))
        return 'Z';
    switch (WEXITSTATUS(wstatus)) {
    case 0:
        return 'K';
    case 100:
        return 'D';
    default:
        return 'Z';
    }
}

/* exits_rcpt - the recipient code that goes with a final code. */
char
exits_rcpt(char final)
{
    return final == 'K' ? 'r' : final == 'D' ? 'h' : 's';
}
