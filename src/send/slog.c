/* SPDX-License-Identifier: ISC */
/*
 * slog - qmail-send's log on fd 1, one line per event in qmail-1.03's
 * words (DESIGN.md §3), collected in a buffer and written out by
 * slog_flush() at the end of each main-loop turn (and when full), so a
 * burst of events costs one write.  The logger in front stamps the
 * lines.  A write error is not fatal: the log must never stop mail.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "send.h"

static char buf[65536];
static size_t len;

void
slog_flush(void)
{
    size_t off = 0;

    while (off < len) {
        ssize_t w = write(1, buf + off, len - off);
        if (w == -1 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    len = 0;
}

/* slog - one line; control characters in it become '?'. */
void
slog(const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    for (int i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = '?';
    line[n++] = '\n';
    if (len + (size_t)n > sizeof buf)
        slog_flush();
    for (int i = 0; i < n; i++)
        buf[len++] = line[i];
}

/*
 * slog_text - a delivery report as qmail logs it: spaces become '_',
 * newlines '/', other control characters '?' (so
 * "did 0+0+1\n" is logged "did_0+0+1/").
 */
void
slog_text(struct bstr *out, const char *text, size_t n)
{
    bstr_truncate(out, 0);
    for (size_t i = 0; i < n && i < 1000; i++) {
        char c = text[i];

        if (c == ' ')
            c = '_';
        else if (c == '\n')
            c = '/';
        else if ((unsigned char)c < 0x20 || c == 0x7f)
            c = '?';
        if (bstr_catc(out, c) == -1)
            return;
    }
}
