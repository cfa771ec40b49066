/* SPDX-License-Identifier: ISC */
/*
 * slog - qmail-send's log on fd 1, one line per event in qmail-1.03's
 * words (qmail-send(8)), collected in a buffer and written out by
 * slog_flush() at the end of each main-loop turn (and when full), so a
 * burst of events costs one write.  The logger in front stamps the
 * lines.  A write error is not fatal: the log must never stop mail.
 * slog_die is qmail-send's one way out when it cannot go on: an alert
 * line, then exit 111, so its supervisor starts it again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "outcome.h"
#include "send.h"
#include "vis.h"
#include "writeall.h"

static char buf[65536];
static size_t len;

void
slog_flush(void)
{
    if (write_all(1, buf, len) == -1) {
        /* the log is gone: nothing to tell it with */
    }
    len = 0;
}

/*
 * slog - one line.  Envelope data (addresses, remote servers' texts) goes
 * through slog_vis or slog_text first; what is left unsafe in the line
 * (only our own words could be) still cannot reach a terminal: C0
 * controls, DEL and UTF-8 C1 controls become '?'.
 */
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
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];

        if (c < 0x20 || c == 0x7f)
            line[i] = '?';
        else if (c == 0xc2 && i + 1 < n &&
                 (unsigned char)line[i + 1] >= 0x80 &&
                 (unsigned char)line[i + 1] < 0xa0)
            line[i] = line[i + 1] = '?';
    }
    line[n++] = '\n';
    if (len + (size_t)n > sizeof buf)
        slog_flush();
    for (int i = 0; i < n; i++)
        buf[len++] = line[i];
}

/*
 * slog_vis - s[0..n), envelope bytes, made safe to show in the log
 * (vis.h: control characters, DEL, UTF-8 C1 controls, invalid UTF-8 and
 * the backslash as \ooo), in b.  Returns b's text (a C string), or "?"
 * when out of memory.
 */
const char *
slog_vis(struct bstr *b, const char *s, size_t n)
{
    bstr_truncate(b, 0);
    if (vis_cat(b, s, n) == -1)
        return "?";
    return b->s ? b->s : "";
}

/*
 * slog_text - a delivery report as qmail logs it: spaces become '_',
 * newlines '/' (so "did 0+0+1\n" is logged "did_0+0+1/"), and what is
 * unsafe to show of the rest (a remote server's words, vis.h) \ooo.  At
 * most 1000 bytes of it; empty when out of memory.
 */
void
slog_text(struct bstr *out, const char *text, size_t n)
{
    struct bstr t = BSTR_INIT;

    bstr_truncate(out, 0);
    for (size_t i = 0; i < n && i < 1000; i++) {
        char c = text[i];

        if (c == ' ')
            c = '_';
        else if (c == '\n')
            c = '/';
        if (bstr_catc(&t, c) == -1)
            goto out;
    }
    if (vis_cat(out, t.s ? t.s : "", t.len) == -1)
        bstr_truncate(out, 0);
out:
    bstr_free(&t);
}

/*
 * slog_die - log "alert: what", write the log out and exit 111 (a
 * temporary failure: qmail-start's supervisor starts qmail-send again,
 * and every unfinished delivery is tried again then).
 */
void
slog_die(const char *what)
{
    slog("alert: %s", what);
    slog_flush();
    _exit(EXIT_TEMP);
}

/* slog_nomem - slog_die when out of memory. */
void
slog_nomem(void)
{
    slog_die("out of memory, exiting");
}
