/* SPDX-License-Identifier: ISC */
/*
 * vrcpt - building a virtual domain's RCPT-time recipient map
 * (src/lib/rcptmap.h) from what delivery will look at: the domain's
 * accounts (vauth; an account flagged to bounce its mail takes none),
 * its .qmail-NAME and .qmail-NAME-default files (qmail-local reads them
 * before .qmail-default; ':' in a file name is '.' in the address), and
 * its .qmail-default: vdelivermail with bounce-no-mailbox or delete
 * refuses unknown names, anything else (a catch-all address or Maildir,
 * another program) takes them all.  Needs to read the domain's
 * directory: run by the tools and qmail-newu as root or the domain's
 * owner.  Nothing here exits or logs.
 */
#ifndef VRCPT_H
#define VRCPT_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "vauth.h"
#include "vdomain.h"

bool vrcpt_default_accepts(const char *text, size_t len);
int vrcpt_build(struct vauth *a, const struct vdomain *d, const char *home)
    WUR;

/* What vrcpt_sync did, and the first trouble in words. */
struct vrcpt_sync {
    unsigned long built, kept, removed, failed;
    struct bstr err;
};

int vrcpt_sync(struct vauth *a, const char *assign, size_t len,
               const char *home, struct vrcpt_sync *st) WUR;

#endif
