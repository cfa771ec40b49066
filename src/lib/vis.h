/* SPDX-License-Identifier: ISC */
/*
 * vis - envelope bytes made safe to show to an admin.
 *
 * Addresses come from strangers (SMTP) and from local users (sendmail);
 * printed as they are, an ESC sequence, a newline or a UTF-8-encoded C1
 * control forges lines or rewrites an admin's terminal.  vis_cat copies
 * bytes and writes each byte that is not safe as a backslash and three
 * octal digits: C0 controls (NUL included), DEL, the two bytes of each
 * UTF-8 C1 control (U+0080..U+009F), every byte that is not part of a
 * valid UTF-8 sequence, and the backslash itself (so that the escaping
 * is unambiguous).  Printable ASCII and valid UTF-8 text pass unchanged.
 */
#ifndef VIS_H
#define VIS_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

int vis_cat(struct bstr *out, const char *s, size_t len) WUR;
bool vis_clean(const char *s, size_t len);
void vis_mask(char *s, size_t len, char with);

#endif
