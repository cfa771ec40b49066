/* SPDX-License-Identifier: ISC */
/*
 * maildir - the maildir(5) format: making one, delivering into one,
 * listing what it holds.
 *
 * A delivery writes tmp/<unique>, fsyncs it, links it into new/ and
 * fsyncs new/, then removes the tmp/ name: a reader sees a whole message
 * in new/ or nothing, and after a crash the message is either in new/ or
 * was never reported delivered.  Names follow the modern convention
 * "<sec>.M<usec>P<pid>Q<n>.<host>" ('/' and ':' in the host name are
 * written as \057 and \072).  Nothing here changes the working
 * directory, exits or logs.
 */
#ifndef MAILDIR_H
#define MAILDIR_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "bstr.h"

/* Where a delivery failed, so the caller can say it in words. */
enum maildir_stage {
    MAILDIR_S_OPEN,   /* the maildir (or its tmp/, new/) is not there */
    MAILDIR_S_CREATE, /* creating the file in tmp/ */
    MAILDIR_S_READ,   /* reading the message */
    MAILDIR_S_WRITE,  /* writing or fsyncing the file */
    MAILDIR_S_LINK,   /* moving it into new/ */
};

struct maildir_entry {
    unsigned long long time; /* the leading seconds of the name */
    size_t off;              /* "new/NAME" or "cur/NAME" at names.s + off */
};

struct maildir_list {
    struct maildir_entry *v;
    size_t n, cap;
    struct bstr names;
};

int maildir_make(const char *path, mode_t mode) WUR;
int maildir_uniq(struct bstr *out) WUR;
int maildir_deliver(const char *dir, const struct iovec *head, int nhead,
                    int msgfd, struct bstr *name, enum maildir_stage *stage)
    WUR;
int maildir_scan(const char *dir, struct maildir_list *out) WUR;
const char *maildir_list_name(const struct maildir_list *l, size_t i);
void maildir_list_free(struct maildir_list *l);
int maildir_clean_tmp(const char *dir, unsigned long age) WUR;

#endif
