/* SPDX-License-Identifier: ISC */
/*
 * fuzz_multilog_pattern - multilog's patterns, script and line reader.
 * The input is a pattern (or script: its words), a NUL, then log input.
 * Properties, any broken one aborts:
 *  - mlog_match agrees with a second, index-based implementation of
 *    daemontools' definition, and a pattern without a star matches only
 *    itself;
 *  - the line reader, fed in chunks of any size, gives back exactly the
 *    input (plus the final newline multilog adds), and with timestamps
 *    every line head starts with a label and is at most 1000 bytes;
 *  - a script that parses can judge any line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/tools/mlog.h" /* scripts/fuzz has only -Isrc/lib */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* reference - daemontools' match, written with indexes. */
static bool
reference(const char *p, const char *s, size_t len)
{
    size_t i = 0, j = 0;

    while (p[i]) {
        if (p[i] == '*') {
            if (!p[i + 1])
                return true;
            while (j < len && s[j] != p[i + 1])
                j++;
            if (j == len)
                return false;
            i++;
            continue;
        }
        if (j == len || s[j] != p[i])
            return false;
        i++;
        j++;
    }
    return j == len;
}

static void
check_match(const char *pattern, const char *line, size_t len)
{
    bool got = mlog_match(pattern, line, len);

    if (got != reference(pattern, line, len))
        abort();
    if (!strchr(pattern, '*') &&
        got != (strlen(pattern) == len && memcmp(pattern, line, len) == 0))
        abort();
}

static void
check_reader(const char *in, size_t n, size_t chunk, bool ts)
{
    struct timespec now = {1065869403, 829608500};
    struct bstr out = BSTR_INIT;
    struct mlog_reader r;
    struct mlog_event ev;
    size_t stamps = 0;

    mlog_reader_init(&r, ts);
    for (size_t off = 0; off < n;) {
        size_t len = n - off < chunk ? n - off : chunk;
        const char *p = in + off;

        off += len;
        for (;;) {
            size_t used = mlog_reader_push(&r, p, len, &now, &ev);

            if (used > len)
                abort();
            p += used;
            len -= used;
            if (ev.type == MLOG_EV_MORE)
                break;
            if (ev.type == MLOG_EV_LINE) {
                if (ev.len > MLOG_LINE_MAX)
                    abort();
                if (ts) {
                    if (ev.len < MLOG_STAMP_LEN || ev.p[0] != '@' ||
                        ev.p[TAI64N_LEN] != ' ')
                        abort();
                    ev.p += MLOG_STAMP_LEN;
                    ev.len -= MLOG_STAMP_LEN;
                    stamps++;
                }
            }
            if (bstr_catb(&out, ev.p, ev.len) == -1 ||
                (ev.end && bstr_catc(&out, '\n') == -1))
                abort();
        }
        if (len)
            abort(); /* MORE means every byte was used */
    }
    if (mlog_reader_eof(&r, &ev)) {
        if (ev.type == MLOG_EV_LINE && ts) {
            ev.p += MLOG_STAMP_LEN;
            ev.len -= MLOG_STAMP_LEN;
        }
        if (bstr_catb(&out, ev.p, ev.len) == -1 || bstr_catc(&out, '\n') == -1)
            abort();
    }
    if (mlog_reader_midline(&r))
        abort();
    {
        size_t want = n + (n && in[n - 1] != '\n');

        if (out.len != want || (n && memcmp(out.s, in, n) != 0))
            abort();
    }
    bstr_free(&out);
    (void)stamps;
}

static void
check_script(char *words, const char *line, size_t len)
{
    char *argv[32];
    size_t argc = 0;
    struct mlog_script s;
    struct bstr msg = BSTR_INIT;

    for (char *p = strtok(words, " \n"); p && argc < 32;
         p = strtok(NULL, " \n"))
        argv[argc++] = p;
    if (mlog_script_parse(&s, argv, argc, &msg) == 0) {
        bool sel[32];

        for (size_t i = 0; i < s.ndir; i++)
            if (s.dir[i].size < MLOG_SIZE_MIN ||
                s.dir[i].size > MLOG_SIZE_MAX || s.dir[i].num < MLOG_NUM_MIN)
                abort();
        mlog_script_select(&s, line, len, sel);
        mlog_script_free(&s);
    } else if (s.act || s.dir) {
        abort();
    }
    bstr_free(&msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nul = memchr(data, 0, size);
    size_t plen = nul ? (size_t)(nul - (const char *)data) : size;
    const char *line = nul ? nul + 1 : "";
    size_t llen = nul ? size - plen - 1 : 0;
    char *pattern = malloc(plen + 1);
    size_t chunk = plen ? 1 + (unsigned char)data[0] % 97 : 4096;

    if (!pattern)
        return 0;
    memcpy(pattern, data, plen);
    pattern[plen] = '\0';
    check_match(pattern, line, llen);
    /* the line's own pieces as patterns too */
    for (size_t i = 0; i < llen && i < 64; i += 7)
        check_match(pattern + (plen > i ? i : plen), line + i, llen - i);
    check_reader(line, llen, chunk, false);
    check_reader(line, llen, chunk + 500, true);
    check_script(pattern, line, llen);
    free(pattern);
    return 0;
}
