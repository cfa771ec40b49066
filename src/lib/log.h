/* SPDX-License-Identifier: ISC */
/*
 * log - one line per event on stderr, written with a single write(2) so
 * lines from concurrent processes never interleave.  Control characters
 * in the formatted text (a hostile HELO, an address with CR LF) are
 * replaced by '?', so one event can never forge a second log line.
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
