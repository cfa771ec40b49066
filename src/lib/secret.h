/* SPDX-License-Identifier: ISC */
/* secret - freeing strings that held a password: wiped first. */
#ifndef SECRET_H
#define SECRET_H

void secret_free(char *s);

#endif
