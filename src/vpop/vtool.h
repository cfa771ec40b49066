/* SPDX-License-Identifier: ISC */
/*
 * vtool - what vpopmail's command-line tools share: starting in
 * $QMAIL_HOME with the settings and the store open, vpopmail's way of
 * saying an error ("Error: TEXT" on stdout, its number as the exit
 * status, 256 - N), asking for a password on the terminal, random
 * passwords, vsetuserquota's quota syntax.  Our own words for what went
 * wrong underneath (a file, errno) go to stderr, after vpopmail's line.
 */
#ifndef VTOOL_H
#define VTOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "vadmin.h"

#define VTOOL_RANDOM_LEN 8   /* vpopmail 5.4's default for -r */
#define VTOOL_PASS_MAX 128   /* vpopmail's MAX_PW_CLEAR_PASSWD (5.4.24+) */
#define VTOOL_GECOS_MAX 48   /* MAX_PW_GECOS */
#define VTOOL_QUOTA_MAX 20   /* MAX_PW_QUOTA */

void vtool_start(const char *prog, struct vadmin *v);
void vtool_start_ro(const char *prog, struct vconf *c);
__attribute__((noreturn)) void vtool_exit(struct vadmin *v, int err);
__attribute__((noreturn)) void vtool_fail(struct vadmin *v, int err,
                                          const char *prefix);
void vtool_detail(const struct vadmin *v);
int vtool_getpass(const char *who, bool twice, struct bstr *out) WUR;
int vtool_random(size_t len, struct bstr *out) WUR;
int vtool_quota_format(const char *in, struct bstr *out) WUR;
int vtool_version(void);

#endif
