/* SPDX-License-Identifier: ISC */
/*
 * ctl - qmail control files: one value, or one item per line.
 *
 * Semantics are qmail's: a value is the first line with trailing
 * whitespace stripped; a list skips empty lines and lines starting with
 * '#'; an absent file means the default.  An unreadable file (EACCES,
 * EIO) is an error, never silently the default: the caller fails
 * temporarily.  Paths are relative to the caller's cwd ($QMAIL_HOME).
 */
#ifndef CTL_H
#define CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

enum ctl_type { CTL_LINE, CTL_ULONG, CTL_LIST };

#define CTL_NOFLAG ((size_t)-1)

/*
 * One setting of a program's table.  def is the default text; "@name"
 * means "the value of setting name" (earlier in the same table); NULL on
 * a CTL_LINE means the file is required.  For CTL_LINE and CTL_LIST the
 * field at off is a struct bstr (lists hold NUL-terminated items); for
 * CTL_ULONG an unsigned long checked against [min, max].  present_off,
 * unless CTL_NOFLAG, names a bool set to whether the file exists.
 */
struct ctl_setting {
    const char *file;
    enum ctl_type type;
    const char *def;
    unsigned long min, max;
    size_t off;
    size_t present_off;
};

int ctl_readline(const char *fn, struct bstr *out) WUR;
int ctl_readulong(const char *fn, unsigned long *out) WUR;
int ctl_readlist(const char *fn, struct bstr *out) WUR;
int ctl_load(const struct ctl_setting *tab, size_t n, void *conf,
             const char **badfile) WUR;
const char *ctl_list_next(const struct bstr *list, const char *prev);

#endif
