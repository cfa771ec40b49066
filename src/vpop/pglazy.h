/* SPDX-License-Identifier: ISC */
/*
 * pglazy - libpq loaded at its first use (see pglazy.c): the programs do
 * not link it, so only the PostgreSQL store pays for loading it.
 */
#ifndef PGLAZY_H
#define PGLAZY_H

int pglazy_load(const char **why);

#endif
