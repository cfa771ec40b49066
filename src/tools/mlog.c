/* SPDX-License-Identifier: ISC */
/*
 * mlog - multilog's script, patterns, line reader and rotation
 * arithmetic (see mlog.h).  Where daemontools 0.76 silently does
 * something surprising with a malformed action (an unknown letter, "s"
 * without digits, an empty processor that would archive empty files),
 * the parser refuses the script instead: a typo in log/run must not
 * quietly change what is logged.  Out-of-range sizes and counts are
 * clamped as daemontools clamps them, with a warning.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "mlog.h"

/* number - the whole of s as a decimal number: 0, or -1 if it is not. */
static int
number(const char *s, unsigned long *v)
{
    size_t len = strlen(s);

    if (len == 0 || scan_ulong(s, len, v) != len)
        return -1;
    return 0;
}

static int
fail(struct bstr *msg, const char *what, const char *arg)
{
    bstr_truncate(msg, 0);
    if (bstr_catf(msg, "%s: %s", what, arg) == -1)
        return -1;
    errno = EINVAL;
    return -1;
}

/*
 * mlog_script_parse - check argv as a multilog script and fill s; its
 * strings point into argv, which must outlive s.  Returns 0 with any
 * warnings in msg (one per line, possibly none), or -1 with errno
 * EINVAL and the reason in msg (ENOMEM: out of memory).
 */
int
mlog_script_parse(struct mlog_script *s, char *const *argv, size_t argc,
                  struct bstr *msg)
{
    unsigned long size = MLOG_SIZE_DEF, num = MLOG_NUM_DEF, v;
    const char *processor = NULL;
    size_t ndir = 0;

    bstr_truncate(msg, 0);
    *s = (struct mlog_script)MLOG_SCRIPT_INIT;
    if (argc == 0)
        return fail(msg, "empty script", "no actions given");
    for (size_t i = 0; i < argc; i++)
        if (argv[i][0] == '.' || argv[i][0] == '/')
            ndir++;
    s->act = calloc(argc, sizeof *s->act);
    s->dir = calloc(ndir ? ndir : 1, sizeof *s->dir);
    if (!s->act || !s->dir) {
        mlog_script_free(s);
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        struct mlog_action *act = &s->act[s->nact];

        act->arg = a + 1;
        switch (a[0]) {
        case 't':
            if (strcmp(a, "t") != 0)
                goto unknown;
            act->kind = MLOG_TIMESTAMP;
            if (i == 0)
                s->timestamp = true;
            else if (bstr_cats(msg, "t is not the first action: no "
                                    "timestamps (daemontools ignores it "
                                    "there too)\n") == -1)
                goto nomem;
            break;
        case '-':
            act->kind = MLOG_DESELECT;
            break;
        case '+':
            act->kind = MLOG_SELECT;
            break;
        case 'e':
            if (strcmp(a, "e") != 0)
                goto unknown;
            act->kind = MLOG_ALERT;
            break;
        case '=':
            if (!a[1]) {
                mlog_script_free(s);
                return fail(msg, "status action without a file name", a);
            }
            act->kind = MLOG_STATUS;
            act->index = s->nstatus++;
            break;
        case 's':
            if (number(a + 1, &v) == -1) {
                mlog_script_free(s);
                return fail(msg, "size is not a number", a);
            }
            size = v < MLOG_SIZE_MIN ? MLOG_SIZE_MIN
                 : v > MLOG_SIZE_MAX ? MLOG_SIZE_MAX : v;
            if (size != v &&
                bstr_catf(msg, "%s: size out of range, using %lu\n", a,
                          size) == -1)
                goto nomem;
            act->kind = MLOG_SIZE;
            break;
        case 'n':
            if (number(a + 1, &v) == -1) {
                mlog_script_free(s);
                return fail(msg, "count is not a number", a);
            }
            num = v < MLOG_NUM_MIN ? MLOG_NUM_MIN : v;
            if (num != v &&
                bstr_catf(msg, "%s: count below %lu, using %lu\n", a,
                          MLOG_NUM_MIN, num) == -1)
                goto nomem;
            act->kind = MLOG_NUM;
            break;
        case '!':
            if (!a[1]) {
                mlog_script_free(s);
                return fail(msg, "processor action without a command", a);
            }
            processor = a + 1;
            act->kind = MLOG_PROCESSOR;
            break;
        case '.':
        case '/':
            act->kind = MLOG_DIR;
            act->arg = a;
            act->index = s->ndir;
            s->dir[s->ndir++] = (struct mlog_dirconf){a, size, num, processor};
            break;
        default:
            goto unknown;
        }
        s->nact++;
        continue;
    unknown:
        mlog_script_free(s);
        return fail(msg, "unknown action", a);
    }
    return 0;
nomem:
    mlog_script_free(s);
    errno = ENOMEM;
    return -1;
}

/* mlog_script_free - release what mlog_script_parse allocated. */
void
mlog_script_free(struct mlog_script *s)
{
    free(s->act);
    free(s->dir);
    *s = (struct mlog_script)MLOG_SCRIPT_INIT;
}

/*
 * mlog_script_select - run the selection actions over one line (its
 * first MLOG_LINE_MAX bytes): sel[i] says whether the line is selected
 * when action i is reached.  Every line starts selected; -pattern
 * deselects it, +pattern selects it again.
 */
void
mlog_script_select(const struct mlog_script *s, const char *line, size_t len,
                   bool *sel)
{
    bool cur = true;

    if (len > MLOG_LINE_MAX)
        len = MLOG_LINE_MAX;
    for (size_t i = 0; i < s->nact; i++) {
        const struct mlog_action *a = &s->act[i];

        if (a->kind == MLOG_DESELECT && cur)
            cur = !mlog_match(a->arg, line, len);
        else if (a->kind == MLOG_SELECT && !cur)
            cur = mlog_match(a->arg, line, len);
        sel[i] = cur;
    }
}

/*
 * mlog_match - whether pattern matches all of buf[0..len).  A star
 * before the end matches the shortest run of bytes up to the next
 * occurrence of the pattern's following character (so "*x" never looks
 * past the first x); a star at the end matches anything; every other
 * character matches itself.  This is multilog's definition, with no
 * backtracking: "*b" does not match "abab".
 */
bool
mlog_match(const char *pattern, const char *buf, size_t len)
{
    for (;;) {
        char ch = *pattern++;

        if (!ch)
            return len == 0;
        if (ch == '*') {
            const char *hit;

            ch = *pattern;
            if (!ch)
                return true;
            hit = memchr(buf, ch, len);
            if (!hit)
                return false;
            len -= (size_t)(hit - buf);
            buf = hit;
            continue;
        }
        if (!len || *buf != ch)
            return false;
        buf++;
        len--;
    }
}

/* mlog_reader_init - a reader at the start of its first line. */
void
mlog_reader_init(struct mlog_reader *r, bool timestamp)
{
    r->timestamp = timestamp;
    r->tail = false;
    r->len = 0;
}

/*
 * mlog_reader_push - use bytes of in[0..n) until one event is ready.
 * Returns the number of bytes used; ev says what happened.  A LINE
 * event's bytes stay valid until the next call.  now is the moment the
 * bytes were read: a line's timestamp is the moment of its first byte.
 */
size_t
mlog_reader_push(struct mlog_reader *r, const char *in, size_t n,
                 const struct timespec *now, struct mlog_event *ev)
{
    const char *nl;
    size_t k;

    *ev = (struct mlog_event){MLOG_EV_MORE, NULL, 0, false};
    if (n == 0)
        return 0;
    if (r->tail) {
        nl = memchr(in, '\n', n);
        k = nl ? (size_t)(nl - in) : n;
        *ev = (struct mlog_event){MLOG_EV_TAIL, in, k, nl != NULL};
        if (!nl)
            return k;
        r->tail = false;
        return k + 1;
    }
    if (r->len == 0 && r->timestamp) {
        tai64n_fmt(r->head, now);
        r->head[TAI64N_LEN] = ' ';
        r->len = MLOG_STAMP_LEN;
    }
    k = MLOG_LINE_MAX - r->len;
    if (k > n)
        k = n;
    nl = memchr(in, '\n', k);
    if (nl) {
        size_t m = (size_t)(nl - in);

        memcpy(r->head + r->len, in, m);
        *ev = (struct mlog_event){MLOG_EV_LINE, r->head, r->len + m, true};
        r->len = 0;
        return m + 1;
    }
    memcpy(r->head + r->len, in, k);
    r->len += k;
    if (r->len < MLOG_LINE_MAX)
        return k; /* all of in used, the line goes on */
    *ev = (struct mlog_event){MLOG_EV_LINE, r->head, r->len, false};
    r->len = 0;
    if (k < n && in[k] == '\n') {
        ev->end = true;
        return k + 1;
    }
    r->tail = true;
    return k;
}

/*
 * mlog_reader_eof - the input ended: if a line was left unfinished, an
 * event that ends it (the final newline multilog adds) and true.
 */
bool
mlog_reader_eof(struct mlog_reader *r, struct mlog_event *ev)
{
    if (r->tail) {
        *ev = (struct mlog_event){MLOG_EV_TAIL, r->head, 0, true};
        r->tail = false;
        return true;
    }
    if (r->len) {
        *ev = (struct mlog_event){MLOG_EV_LINE, r->head, r->len, true};
        r->len = 0;
        return true;
    }
    *ev = (struct mlog_event){MLOG_EV_MORE, NULL, 0, false};
    return false;
}

/* mlog_reader_midline - whether part of a line has been read. */
bool
mlog_reader_midline(const struct mlog_reader *r)
{
    return r->tail || r->len > 0;
}

/*
 * mlog_status_fill - what the = action writes over its file: the first
 * MLOG_LINE_MAX bytes of the line, then newlines up to MLOG_STATUS_LEN
 * bytes, so a shorter line fully hides a longer one before it.
 */
void
mlog_status_fill(char out[MLOG_STATUS_LEN], const char *line, size_t len)
{
    if (len > MLOG_LINE_MAX)
        len = MLOG_LINE_MAX;
    memcpy(out, line, len);
    memset(out + len, '\n', MLOG_STATUS_LEN - len);
}

/*
 * mlog_alert_fill - what the e action prints: the line and a newline,
 * or its first MLOG_ALERT_MAX bytes and "...\n".  Returns the length.
 */
size_t
mlog_alert_fill(char out[MLOG_ALERT_MAX + 4], const char *line, size_t len)
{
    if (len > MLOG_ALERT_MAX) {
        memcpy(out, line, MLOG_ALERT_MAX);
        memcpy(out + MLOG_ALERT_MAX, "...\n", 4);
        return MLOG_ALERT_MAX + 4;
    }
    memcpy(out, line, len);
    out[len] = '\n';
    return len + 1;
}

/* window - where the last MLOG_WINDOW bytes before size begin. */
static unsigned long
window(unsigned long size)
{
    return size > MLOG_WINDOW ? size - MLOG_WINDOW : 0;
}

/*
 * mlog_chunk - how many bytes of buf to append next to a current file
 * holding `bytes` (< size) bytes: never past size, and once the file is
 * within MLOG_WINDOW of size, only up to the last newline, so files end
 * at line boundaries (a line longer than the window may still be cut at
 * size, as daemontools cuts it).
 */
size_t
mlog_chunk(unsigned long bytes, unsigned long size, const char *buf,
           size_t len)
{
    size_t n = len;

    if (bytes >= size)
        return 0;
    if (n > size - bytes)
        n = size - bytes;
    if (bytes + n >= window(size)) {
        const char *nl = memrchr(buf, '\n', n);

        if (nl)
            n = (size_t)(nl - buf) + 1;
    }
    return n;
}

/*
 * mlog_full - whether current is finished after a write that left it
 * with `bytes` bytes, the last one `last`: it reached size, or it ends a
 * line within MLOG_WINDOW of size.
 */
bool
mlog_full(unsigned long bytes, unsigned long size, char last)
{
    return bytes >= size || (bytes >= window(size) && last == '\n');
}

/* mlog_archive_name - "@<label>.<code>", e.g. "@400000003f87e06f3172d234.s" */
void
mlog_archive_name(char out[MLOG_ARCHIVE_LEN + 1], const struct timespec *ts,
                  char code)
{
    tai64n_fmt(out, ts);
    out[TAI64N_LEN] = '.';
    out[TAI64N_LEN + 1] = code;
    out[TAI64N_LEN + 2] = '\0';
}

/*
 * mlog_is_archive - whether a directory entry counts as an old log file:
 * daemontools counts every name starting with '@' at least 25 bytes long.
 */
bool
mlog_is_archive(const char *name)
{
    return name[0] == '@' && strnlen(name, TAI64N_LEN) >= TAI64N_LEN;
}

/*
 * mlog_prune_count - how many of the oldest archives to remove so that,
 * with current, at most num log files remain (n10: nine archives).
 */
size_t
mlog_prune_count(size_t archives, unsigned long num)
{
    size_t k = archives >= num ? archives - num + 1 : 0;

    return k > archives ? archives : k; /* num 0 must not mean one more */
}

static int
cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* mlog_sort_names - oldest archive first (labels sort as text). */
void
mlog_sort_names(char **names, size_t n)
{
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_name);
}
