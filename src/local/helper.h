/* SPDX-License-Identifier: ISC */
/*
 * helper - what the .qmail helper programs (forward, condredirect,
 * bouncesaying, except, preline) and qmail-local share: running a
 * program and waiting for it, and queueing a forwarded copy.
 */
#ifndef HELPER_H
#define HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bstr.h"

#define HELPER_EXEC_TEMP 111 /* the program could not be run, try later */
#define HELPER_EXEC_PERM 100 /* the program does not exist */

int helper_run(char *const *argv, int *wstatus) WUR;
const char *helper_qqprog(struct bstr *buf);
int helper_forward(int msgfd, const char *qqprog, const char *dtline,
                   size_t dtlen, const char *sender, size_t slen,
                   const char *const *rcpts, size_t n, long *qp,
                   struct bstr *err);

#endif
