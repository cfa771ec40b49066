/* SPDX-License-Identifier: ISC */
/*
 * showctl - the table of every control file qmail-ng knows, with its
 * default and meaning, and the printer behind qmail-showctl.
 */
#ifndef SHOWCTL_H
#define SHOWCTL_H

#include <stdio.h>

struct showctl_entry {
    const char *name;
    char kind;           /* 'v' one value, 'n' a number, 'l' a list, 'c' a
                            file shown by its size only (a cdb, a secret) */
    const char *def;     /* default text; "@me": control/me's value,
                            "~user": user's home */
    const char *meaning; /* one line for the admin */
};

extern const struct showctl_entry showctl_table[];
const struct showctl_entry *showctl_find(const char *name);
int showctl_print(FILE *out);

#endif
