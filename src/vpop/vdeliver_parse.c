/* SPDX-License-Identifier: ISC */
/*
 * vdeliver_parse - what vdelivermail reads from others, as pure
 * functions (see vdeliver.h): $EXT and $HOST, the .qmail-default's
 * instruction, .qmail lines and the paths in them, Delivered-To lines in
 * a message's header, $RPLINE; and the quota warning's text.  Every
 * input is hostile: lengths are checked before any byte is read, nothing
 * is read past len, and nothing here touches a file but the message
 * vdel_loop_scan is given.  Nothing here exits or logs.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "datetime.h"
#include "iob.h"
#include "vdeliver.h"

#define HEADER_LINE_MAX 65536 /* a longer line cannot be a Delivered-To */

/* has_dotdot - does s hold a path component ".."? */
static bool
has_dotdot(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        bool start = i == 0 || s[i - 1] == '/';

        if (start && i + 2 <= len && s[i] == '.' && s[i + 1] == '.' &&
            (i + 2 == len || s[i + 2] == '/'))
            return true;
    }
    return false;
}

/* has_control - does s hold a C0 control byte (NUL included) or DEL? */
static bool
has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return true;
    return false;
}

/* vdel_path_safe - a path without a ".." component or a control byte? */
bool
vdel_path_safe(const char *s, size_t len)
{
    return !has_control(s, len) && !has_dotdot(s, len);
}

/*
 * vdel_name_ok - may $EXT or $HOST be used at all?  1 to VDEL_NAME_MAX
 * bytes without '/', "..", or a control byte: anything else could only
 * be an attempt at a path, and is refused before any lookup.
 */
bool
vdel_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > VDEL_NAME_MAX || memchr(s, '/', len) ||
        has_control(s, len))
        return false;
    for (size_t i = 0; i + 1 < len; i++)
        if (s[i] == '.' && s[i + 1] == '.')
            return false;
    return true;
}

/*
 * vdel_address_ok - could s be forwarded to?  LOCAL@DOMAIN, at most
 * ADDR_MAX bytes, no blank or control byte, a domain name after the
 * last '@'.
 */
bool
vdel_address_ok(const char *s, size_t len)
{
    size_t at;

    if (len == 0 || len > ADDR_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == '<' ||
            s[i] == '>' || s[i] == ',')
            return false;
    at = len;
    while (at > 0 && s[at - 1] != '@')
        at--;
    if (at < 2 || at == len)
        return false; /* no '@', nothing before or after it */
    return addr_domain_valid(s + at, len - at, true);
}

/*
 * vdel_catchall_parse - the .qmail-default's last argument: the words
 * bounce-no-mailbox and delete, an address (a leading '&' allowed), or
 * an absolute path (a Maildir, or a directory holding one).  arg gets
 * the address, or the path without trailing '/'.  0, or -1 (ENOMEM).
 */
int
vdel_catchall_parse(const char *s, size_t len, enum vdel_catch *kind,
                    struct bstr *arg)
{
    bstr_truncate(arg, 0);
    *kind = VDEL_C_BAD;
    if (len == 17 && memcmp(s, "bounce-no-mailbox", 17) == 0) {
        *kind = VDEL_C_BOUNCE;
        return 0;
    }
    if (len == 6 && memcmp(s, "delete", 6) == 0) {
        *kind = VDEL_C_DELETE;
        return 0;
    }
    if (len > 0 && s[0] == '/') {
        while (len > 1 && s[len - 1] == '/')
            len--;
        if (len > 1 && !has_control(s, len) && !has_dotdot(s, len))
            *kind = VDEL_C_DIR;
        return *kind == VDEL_C_DIR ? bstr_copyb(arg, s, len) : 0;
    }
    if (len > 0 && s[0] == '&') {
        s++;
        len--;
    }
    if (vdel_address_ok(s, len)) {
        *kind = VDEL_C_FORWARD;
        return bstr_copyb(arg, s, len);
    }
    return 0;
}

/*
 * vdel_line_parse - one .qmail line (without its newline; trailing
 * blanks and CR are ignored) as vdelivermail reads it: "#" a comment,
 * "|cmd" a program, "./path/" or "/path/" a Maildir, "./path" or "/path"
 * an mbox, "&address" or "address" a forward.  A line that cannot be
 * right is VDEL_L_BAD with out->why.
 */
void
vdel_line_parse(const char *line, size_t len, struct vdel_line *out)
{
    memset(out, 0, sizeof *out);
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
                       line[len - 1] == '\r'))
        len--;
    out->arg = line;
    out->len = len;
    if (len == 0) {
        out->kind = VDEL_L_BLANK;
        return;
    }
    if (line[0] == '#') {
        out->kind = VDEL_L_COMMENT;
        return;
    }
    if (memchr(line, '\0', len)) {
        out->kind = VDEL_L_BAD;
        out->why = "a NUL byte";
        return;
    }
    if (line[0] == '|') {
        out->arg++;
        out->len--;
        while (out->len && (*out->arg == ' ' || *out->arg == '\t')) {
            out->arg++;
            out->len--;
        }
        out->kind = out->len ? VDEL_L_PROGRAM : VDEL_L_BAD;
        out->why = out->len ? NULL : "an empty command";
        return;
    }
    if (line[0] == '.' || line[0] == '/') {
        if (has_control(line, len) || has_dotdot(line, len)) {
            out->kind = VDEL_L_BAD;
            out->why = "a path with \"..\" or a control byte";
            return;
        }
        out->kind = line[len - 1] == '/' ? VDEL_L_MAILDIR : VDEL_L_MBOX;
        return;
    }
    if (line[0] == '&') {
        out->arg++;
        out->len--;
    }
    out->kind =
        vdel_address_ok(out->arg, out->len) ? VDEL_L_FORWARD : VDEL_L_BAD;
    if (out->kind == VDEL_L_BAD)
        out->why = "not an address (LOCAL@DOMAIN)";
}

/*
 * vdel_path_resolve - a .qmail's path into out as a clean absolute path
 * (no "." or empty components, no trailing '/'): a relative one is taken
 * from base; with confine, the result must lie below that directory.
 * 0, or -1 with errno (EINVAL: "..", a control byte, a relative base;
 * EACCES: outside confine; ENOMEM).
 */
int
vdel_path_resolve(const char *base, const char *path, size_t len,
                  const char *confine, struct bstr *out)
{
    struct bstr raw = BSTR_INIT;
    size_t clen;
    int r = -1;

    bstr_truncate(out, 0);
    if (has_control(path, len) || has_dotdot(path, len) ||
        ((len == 0 || path[0] != '/') &&
         (!base || base[0] != '/' || !vdel_path_safe(base, strlen(base))))) {
        errno = EINVAL;
        return -1;
    }
    if ((len == 0 || path[0] != '/') &&
        (bstr_cats(&raw, base) == -1 || bstr_catc(&raw, '/') == -1))
        goto out;
    if (bstr_catb(&raw, path, len) == -1)
        goto out;
    /* copy component by component, leaving out "." and empty ones */
    for (size_t i = 0; i < raw.len;) {
        size_t j = i;

        while (j < raw.len && raw.s[j] != '/')
            j++;
        if (j > i && !(j - i == 1 && raw.s[i] == '.') &&
            (bstr_catc(out, '/') == -1 ||
             bstr_catb(out, raw.s + i, j - i) == -1))
            goto out;
        i = j + 1;
    }
    if (out->len == 0 && bstr_catc(out, '/') == -1)
        goto out;
    r = 0;
    if (confine) {
        clen = strlen(confine);
        while (clen > 1 && confine[clen - 1] == '/')
            clen--;
        if (!(out->len > clen && memcmp(out->s, confine, clen) == 0 &&
              out->s[clen] == '/')) {
            errno = EACCES;
            r = -1;
        }
    }
out:;
    int e = errno;
    bstr_free(&raw);
    errno = e;
    return r;
}

/* same_nocase - a[0..n) and b[0..n) equal but for ASCII case? */
static bool
same_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];

        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

/*
 * vdel_is_dtline - is this header line "Delivered-To: addr"?  Case, and
 * blanks around the address, do not matter (vpopmail compares without
 * case; a host that spells the name differently still loops).
 */
bool
vdel_is_dtline(const char *line, size_t len, const char *addr)
{
    static const char name[] = "delivered-to:";
    size_t i = sizeof name - 1, alen = strlen(addr);

    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
                       line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (len < i || !same_nocase(line, name, i))
        return false;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return len - i == alen && same_nocase(line + i, addr, alen);
}

/*
 * vdel_loop_scan - does the message's header (fd, from its start, up to
 * the first empty line) hold a Delivered-To line for one of addrs?
 * 1 (*which the index), 0, or -1 with errno.
 */
int
vdel_loop_scan(int fd, const char *const *addrs, size_t n, size_t *which)
{
    struct bstr line = BSTR_INIT;
    struct iob in;
    char buf[8192];
    int r, found = 0;

    if (lseek(fd, 0, SEEK_SET) == -1)
        return -1;
    iob_init(&in, fd, buf, sizeof buf, NULL, NULL);
    for (;;) {
        r = iob_getline(&in, &line, HEADER_LINE_MAX);
        if (r == -1) {
            found = -1;
            break;
        }
        if (line.len == 0 || line.s[0] == '\n' ||
            (line.s[0] == '\r' && line.len <= 2))
            break; /* the end of the header (or of the message) */
        if (r != IOB_LONG)
            for (size_t i = 0; i < n; i++)
                if (vdel_is_dtline(line.s, line.len, addrs[i])) {
                    *which = i;
                    found = 1;
                }
        if (found || r == IOB_EOF)
            break;
    }
    int e = errno;
    bstr_free(&line);
    errno = e;
    return found;
}

/*
 * vdel_rpline - the Return-Path line for a Maildir copy: qmail-local's
 * $RPLINE when it is one line of that form, else made from the sender
 * (a newline in it becomes '_'), else none.  0, or -1 (ENOMEM).
 */
int
vdel_rpline(const char *env, const char *sender, struct bstr *out)
{
    static const char pre[] = "Return-Path: <";
    size_t len, from;

    bstr_truncate(out, 0);
    if (env) {
        len = strlen(env);
        if (len >= sizeof pre + 1 && memcmp(env, pre, sizeof pre - 1) == 0 &&
            memcmp(env + len - 2, ">\n", 2) == 0 &&
            memchr(env, '\n', len) == env + len - 1)
            return bstr_copyb(out, env, len);
    }
    if (!sender)
        return 0;
    if (bstr_cats(out, pre) == -1)
        return -1;
    from = out->len;
    if (*sender && addr_quote(out, sender, strlen(sender)) == -1)
        return -1;
    for (size_t i = from; i < out->len; i++)
        if (out->s[i] == '\n' || out->s[i] == '\r')
            out->s[i] = '_';
    return bstr_cats(out, ">\n");
}

/*
 * vdel_warn_text - the quota warning for rcpt: with custom (an admin's
 * .quotawarn.msg, a whole message with its own header), vpopmail's
 * Delivered-To and Date lines and then the file as it is; else our own
 * message from postmaster@domain, saying how full the mailbox is.
 * 0, or -1 (ENOMEM).
 */
int
vdel_warn_text(struct bstr *out, const char *rcpt, const char *domain,
               const struct mdquota *q, const struct mdusage *u, time_t now,
               const struct bstr *custom)
{
    bstr_truncate(out, 0);
    if (bstr_catf(out, "Delivered-To: %s\nDate: ", rcpt) == -1 ||
        date822_cat(out, now) == -1 || bstr_catc(out, '\n') == -1)
        return -1;
    if (custom && custom->len)
        return bstr_catb(out, custom->s, custom->len);
    if (bstr_catf(out,
                  "From: Mail Delivery System <postmaster@%s>\n"
                  "To: %s\n"
                  "Subject: Mail quota warning: your mailbox is %u%% full\n"
                  "Message-ID: <%lld.%ld.quotawarn@%s>\n"
                  "Auto-Submitted: auto-generated\n"
                  "MIME-Version: 1.0\n"
                  "Content-Type: text/plain; charset=us-ascii\n"
                  "\n"
                  "Your mailbox %s is %u%% full.\n",
                  domain, rcpt, mdq_percent(q, u), (long long)now,
                  (long)getpid(), domain, rcpt, mdq_percent(q, u)) == -1)
        return -1;
    if (q->has_bytes &&
        bstr_catf(out, "It holds %lld bytes of the %llu it may hold.\n",
                  u->bytes, q->bytes) == -1)
        return -1;
    if (q->has_count &&
        bstr_catf(out, "It holds %lld messages of the %llu it may hold.\n",
                  u->count, q->count) == -1)
        return -1;
    return bstr_cats(out,
                     "\n"
                     "When it is full, new mail for you is refused.  Please "
                     "delete the mail\n"
                     "you no longer need, or ask your administrator for a "
                     "larger quota.\n");
}
