/* SPDX-License-Identifier: ISC */
/*
 * vcontrol - the qmail files a virtual domain lives in, changed as
 * vpopmail's tools change them: control/rcpthosts (or morercpthosts and
 * its cdb, past VCTL_RCPTHOSTS_MAX domains), control/virtualdomains,
 * control/locals, users/assign (compiled by qmail-newu), and qmail-send
 * told to reread them.  Each file is replaced whole (atomicfile: a
 * reader or a crash sees the old file or the new one), keeping every
 * other line byte for byte, its owner and its mode.  Changes to these
 * shared files are made under one lock, users/assign.lock.  Paths are
 * relative to the cwd, $QMAIL_HOME.  Nothing here exits or logs.
 */
#ifndef VCONTROL_H
#define VCONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

#define VCTL_RCPTHOSTS_MAX 50 /* vpopmail's move to morercpthosts */
#define VCTL_LOCK "users/assign.lock"
#define VCTL_LOCK_WAIT 60 /* seconds */

int vctl_lock(int *fd) WUR;
void vctl_unlock(int fd);

bool vctl_list_has(const char *text, size_t len, const char *item);
int vctl_list_set(const char *path, const char *item, bool present,
                  bool *changed) WUR;
int vctl_list_count(const char *path, size_t *n) WUR;
int vctl_list_compile(const char *path, const char *cdb) WUR;

int vctl_replace(const char *path, const struct bstr *text) WUR;
int vctl_run(const char *prog, struct bstr *err) WUR;
int vctl_reload(void) WUR;

#endif
