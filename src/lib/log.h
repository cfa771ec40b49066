/* SPDX-License-Identifier: ISC */
/*
 * log - one line per event on stderr, written with a single write(2) so
 * lines from concurrent processes never interleave.  Control characters
 * in the formatted text (a hostile HELO, an address with CR LF, an ESC
 * sequence, a UTF-8 C1 control) and bytes that are not UTF-8 are
 * replaced by '?' (vis_mask), so one event can never forge a second log
 * line or rewrite an admin's terminal.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

void log_init(const char *prog);
const char *log_prog(void);
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_vline(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
void log_raw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
void log_die_sys(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#endif
