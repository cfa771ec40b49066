/* SPDX-License-Identifier: ISC */
/*
 * log - event lines on stderr (see log.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vis.h"
#include "writeall.h"

#define LOG_MAX 4000

static const char *prog = "qmail-ng";

void
log_init(const char *name)
{
    const char *slash = strrchr(name, '/');

    prog = slash ? slash + 1 : name;
}

const char *
log_prog(void)
{
    return prog;
}

static void
emit(const char *prefix, const char *fmt, va_list ap, const char *suffix)
{
    char buf[LOG_MAX + 2];
    size_t n = 0;
    int r;

    if (prefix) {
        r = snprintf(buf, LOG_MAX, "%s: ", prefix);
        n = r > 0 ? (size_t)r : 0;
    }
    r = vsnprintf(buf + n, LOG_MAX - n, fmt, ap);
    if (r > 0)
        n += (size_t)r < LOG_MAX - n ? (size_t)r : LOG_MAX - n - 1;
    if (suffix) {
        r = snprintf(buf + n, LOG_MAX - n, "%s", suffix);
        if (r > 0)
            n += (size_t)r < LOG_MAX - n ? (size_t)r : LOG_MAX - n - 1;
    }
    vis_mask(buf, n, '?');
    buf[n++] = '\n';
    /* write_all is write(2) and errno only: as safe as this was */
    if (write_all(2, buf, n) == -1)
        return; /* stderr is gone: nothing to tell it with */
}

/* log_vline - "prog: text" on stderr. */
void
log_vline(const char *fmt, va_list ap)
{
    int e = errno;

    emit(prog, fmt, ap, NULL);
    errno = e;
}

void
log_line(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vline(fmt, ap);
    va_end(ap);
}

/* log_raw - a line with no program prefix (qmail-send's log style). */
void
log_raw(const char *fmt, ...)
{
    va_list ap;
    int e = errno;

    va_start(ap, fmt);
    emit(NULL, fmt, ap, NULL);
    va_end(ap);
    errno = e;
}

/* log_die - "prog: fatal: text", then exit(code). */
void
log_die(int code, const char *fmt, ...)
{
    char pre[128];
    va_list ap;

    snprintf(pre, sizeof pre, "%s: fatal", prog);
    va_start(ap, fmt);
    emit(pre, fmt, ap, NULL);
    va_end(ap);
    exit(code);
}

/* log_die_sys - as log_die, with ": strerror(errno)" appended. */
void
log_die_sys(int code, const char *fmt, ...)
{
    char pre[128], suf[256];
    va_list ap;

    snprintf(suf, sizeof suf, ": %s", strerror(errno));
    snprintf(pre, sizeof pre, "%s: fatal", prog);
    va_start(ap, fmt);
    emit(pre, fmt, ap, suf);
    va_end(ap);
    exit(code);
}
