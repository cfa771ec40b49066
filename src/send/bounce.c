/* SPDX-License-Identifier: ISC */
/*
 * bounce - failure reports and the messages that carry them back.
 *
 * While a message is being delivered, every recipient that fails for
 * good adds a paragraph "<addr>:\ntext\n\n" to bounce/N (fsynced before
 * the recipient is marked done, so no failure is ever forgotten).  When
 * the message is finished, bounce/N becomes one bounce message: QSBMF
 * text (qmail's bounce format, readable by people and by qmail-era
 * scripts) as the first part of an RFC 3464 multipart/report, with a
 * message/delivery-status part and the original message (its header and
 * the first 10 KB of its body, or control/bouncemaxbytes of it: a copy
 * that was cut says so).  Bounces go to the sender; a bounce of a bounce
 * (empty sender) goes to doublebounceto with the sender "#@[]"; a bounce
 * of that is dropped (triple bounce).  The same composer writes deferral
 * notices (Action: delayed) with the original headers only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datetime.h"
#include "ipaddr.h"
#include "outcome.h"
#include "priv.h"
#include "qpath.h"
#include "qq.h"
#include "readfile.h"
#include "result.h"
#include "send.h"
#include "writeall.h"

#define BOUNCE_TEXT_MAX 2000
#define BOUNCE_BODY_DEFAULT 10240 /* of the body, without bouncemaxbytes */
#define BOUNCE_HEADER_MAX 65536   /* of the header, without bouncemaxbytes */

/*
 * bounce_paragraph - append to p the QSBMF paragraph saying that rcpt
 * failed with text: "<rcpt>:\ntext\n\n".  As qmail-1.03 writes it, a
 * newline in the address becomes '_'; blank lines are dropped from the
 * text (they separate paragraphs) and a NUL becomes '?', so neither can
 * make a paragraph of its own.  0, or -1 when out of memory.
 */
int
bounce_paragraph(struct bstr *p, const char *rcpt, const char *text,
                 size_t len)
{
    if (bstr_catc(p, '<') == -1)
        return -1;
    for (const char *r = rcpt; *r; r++)
        if (bstr_catc(p, *r == '\n' ? '_' : *r) == -1)
            return -1;
    if (bstr_cats(p, ">:\n") == -1)
        return -1;
    for (size_t i = 0; i < len && i < BOUNCE_TEXT_MAX; i++) {
        char c = text[i];

        if (c == '\n' && p->s[p->len - 1] == '\n')
            continue;
        if (c == '\0')
            c = '?';
        if (bstr_catc(p, c) == -1)
            return -1;
    }
    if (p->s[p->len - 1] != '\n' && bstr_catc(p, '\n') == -1)
        return -1;
    return bstr_catc(p, '\n');
}

/*
 * bounce_append - add the paragraph saying that rcpt failed for good with
 * text to bounce/N, without waiting for the disk: the open descriptor,
 * for the caller to fsync before the recipient counts as done, or -1.
 */
int
bounce_append(uint64_t id, const char *rcpt, const char *text, size_t len)
{
    char fn[QPATH_MAX];
    struct bstr p = BSTR_INIT;
    int fd = -1;

    if (bounce_paragraph(&p, rcpt, text, len) == -1)
        goto out;
    qpath_fmt(fn, "bounce", id);
    fd = open(fn, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd == -1)
        goto out;
    if (write_all(fd, p.s, p.len) == -1) {
        close(fd);
        fd = -1;
    }
out:
    bstr_free(&p);
    return fd;
}

/* bounce_add - bounce_append, fsynced: 0 once on disk, or -1. */
int
bounce_add(uint64_t id, const char *rcpt, const char *text, size_t len)
{
    int fd = bounce_append(id, rcpt, text, len);
    int rc = 0;

    if (fd == -1)
        return -1;
    if (fsync(fd) == -1)
        rc = -1;
    if (close(fd) == -1)
        rc = -1;
    return rc;
}

/*
 * remote_mta - "Remote-MTA: dns; [IP]" when the text began with the
 * address qmail-remote talked to ("192.0.2.1 does not like ...").
 */
static int
remote_mta(struct bstr *out, const struct result_view *v)
{
    char buf[IPADDR_FMT];

    if (!v->has_ip)
        return 0;
    ipaddr_fmt(buf, &v->ip);
    return bstr_catf(out, "Remote-MTA: dns; [%s]\n", buf);
}

/*
 * dsn_fields - one per-recipient block of the delivery-status part for
 * each paragraph of the report.
 */
static int
dsn_fields(struct bstr *out, const struct bstr *report, bool delay)
{
    size_t i = 0;

    while (i < report->len) {
        const char *p = report->s + i;
        const char *end = strstr(p, "\n\n");
        size_t n = end ? (size_t)(end - p) : report->len - i;
        const char *nl = memchr(p, '\n', n);
        struct result_view v;

        i += n + 2;
        if (!nl || nl - p < 3 || p[0] != '<' || nl[-1] != ':' || nl[-2] != '>')
            continue;
        result_parse(nl + 1, n - (size_t)(nl + 1 - p), &v);
        if (!v.esc[0])
            snprintf(v.esc, sizeof v.esc, "%s", delay ? "4.0.0" : "5.0.0");
        v.esc[0] = delay ? '4' : '5'; /* the class is the report's, not the text's */
        if (bstr_catf(out, "\nFinal-Recipient: rfc822; %.*s\n",
                      (int)(nl - p - 3), p + 1) == -1 ||
            bstr_catf(out, "Action: %s\nStatus: %s\n",
                      delay ? "delayed" : "failed", v.esc) == -1 ||
            remote_mta(out, &v) == -1 ||
            bstr_cats(out, v.said ? "Diagnostic-Code: smtp; "
                                  : "Diagnostic-Code: x-qmail-ng; ") == -1)
            return -1;
        for (const char *t = v.said ? v.said : nl + 1,
                        *stop = v.said ? v.said + v.saidlen : p + n;
             t < stop; t++) {
            char c = *t == '\n' ? ' ' : *t;
            if ((unsigned char)c < 0x20 || c == 0x7f)
                c = '?';
            if (bstr_catc(out, c) == -1)
                return -1;
        }
        if (bstr_catc(out, '\n') == -1)
            return -1;
    }
    return 0;
}

/*
 * bounce_compose - the bounce (or, with delay, the deferral notice) for
 * a message of sender, from its report paragraphs.  head is everything
 * up to where the original message goes, tail what follows it.  The
 * caller puts "Return-Path: <sender>\n" and the message (or, for a
 * notice, its header) in between.  Returns 0 or -1.
 */
int
bounce_compose(struct bstr *head, struct bstr *tail,
               const struct send_conf *c, const char *sender,
               const struct bstr *report, time_t now, int64_t birth,
               uint64_t id, bool delay)
{
    bool dbl = sender[0] == '\0';
    struct bstr boundary = BSTR_INIT;
    int rc = -1;

    bstr_truncate(head, 0);
    bstr_truncate(tail, 0);
    if (bstr_catf(&boundary, "qmail-ng-%llu-%lld", (unsigned long long)id,
                  (long long)now) == -1)
        goto out;
    if (bstr_cats(head, "Date: ") == -1 || date822_cat(head, now) == -1 ||
        bstr_catf(head, "\nFrom: %s@%s\n", c->bouncefrom.s,
                  c->bouncehost.s) == -1)
        goto out;
    if (dbl ? bstr_catf(head, "To: %s@%s\n", c->doublebounceto.s,
                        c->doublebouncehost.s)
            : bstr_catf(head, "To: %s\n", sender))
        goto out;
    if (bstr_catf(head, "Subject: %s\n",
                  delay ? "warning: message delayed" : "failure notice") ==
            -1 ||
        bstr_catf(head, "Message-ID: <%lld.%llu.%s@%s>\n", (long long)now,
                  (unsigned long long)id, delay ? "notice" : "bounce",
                  c->me.s) == -1 ||
        bstr_cats(head, "MIME-Version: 1.0\n") == -1 ||
        bstr_catf(head,
                  "Content-Type: multipart/report; "
                  "report-type=delivery-status;\n\tboundary=\"%s\"\n\n",
                  boundary.s) == -1 ||
        bstr_cats(head, "This is a MIME-formatted delivery report.\n") ==
            -1 ||
        bstr_catf(head,
                  "\n--%s\nContent-Type: text/plain; charset=us-ascii\n\n",
                  boundary.s) == -1)
        goto out;

    /* QSBMF: the part people and qmail-era scripts read */
    if (bstr_catf(head, "Hi. This is the qmail-send program at %s.\n",
                  c->me.s) == -1)
        goto out;
    if (delay) {
        if (bstr_cats(head,
                      "I haven't been able to deliver your message to the "
                      "following addresses yet.\nThis is only a warning: "
                      "I'm still trying, you don't need to send it again.\n"
                      "\n") == -1)
            goto out;
    } else if (dbl) {
        if (bstr_cats(head,
                      "I tried to deliver a bounce message to this address, "
                      "but the bounce bounced!\n\n") == -1)
            goto out;
    } else if (bstr_cats(head,
                         "I'm afraid I wasn't able to deliver your message to "
                         "the following addresses.\nThis is a permanent "
                         "error; I've given up. Sorry it didn't work "
                         "out.\n\n") == -1) {
        goto out;
    }
    if (bstr_catb(head, report->s, report->len) == -1)
        goto out;
    if (bstr_cats(head, delay ? "--- Below this line are the headers of "
                                "the message.\n"
                        : dbl ? "--- Below this line is the original "
                                "bounce.\n"
                              : "--- Below this line is a copy of the "
                                "message.\n") == -1)
        goto out;

    /* RFC 3464: the part programs read */
    if (bstr_catf(head, "\n--%s\nContent-Type: message/delivery-status\n\n",
                  boundary.s) == -1 ||
        bstr_catf(head, "Reporting-MTA: dns; %s\nArrival-Date: ", c->me.s) ==
            -1 ||
        date822_cat(head, (time_t)birth) == -1 ||
        bstr_catc(head, '\n') == -1 || dsn_fields(head, report, delay) == -1)
        goto out;
    if (bstr_catf(head, "\n--%s\nContent-Type: %s\n\n", boundary.s,
                  delay ? "text/rfc822-headers" : "message/rfc822") == -1)
        goto out;
    if (bstr_catf(tail, "\n--%s--\n", boundary.s) == -1)
        goto out;
    rc = 0;
out:
    bstr_free(&boundary);
    return rc;
}

/*
 * bounce_quote - how many bytes of an original of size bytes, whose
 * header (up to the empty line) is hdr bytes, a bounce quotes (for a
 * deferral notice, headers_only: the header at most).  With
 * control/bouncemaxbytes, its first bouncemaxbytes bytes, counted from
 * the start as the qmail patches that named the file count them;
 * without, the header (at most BOUNCE_HEADER_MAX of it) and the first
 * BOUNCE_BODY_DEFAULT bytes of the body.  A forged sender is not flooded
 * with whatever was sent in its name.
 */
unsigned long long
bounce_quote(const struct send_conf *c, unsigned long long size,
             unsigned long long hdr, bool headers_only)
{
    unsigned long long q;

    if (hdr > BOUNCE_HEADER_MAX)
        hdr = BOUNCE_HEADER_MAX;
    if (c->bouncemaxbytes_set)
        q = c->bouncemaxbytes;
    else
        q = hdr + (headers_only ? 0 : BOUNCE_BODY_DEFAULT);
    if (headers_only && q > hdr)
        q = hdr;
    return q < size ? q : size;
}

/* header_len - bytes of the header at the start of buf[0..n): up to and
 * with the newline before the first empty line; n when none is seen. */
static size_t
header_len(const char *buf, size_t n)
{
    bool nl = true; /* at the start of a line */

    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n' && nl)
            return i;
        nl = buf[i] == '\n';
    }
    return n;
}

/*
 * copy_message - the original into the bounce (for a notice, its header),
 * as much of it as bounce_quote allows; a copy that was cut ends with a
 * line saying so.  0, or -1 (errno set).
 */
static int
copy_message(struct qq *q, const struct send_conf *c, uint64_t id,
             bool headers_only)
{
    char fn[QPATH_MAX], buf[65536];
    struct stat st;
    unsigned long long quote, done = 0;
    size_t hdr;
    ssize_t r;
    int fd;
    char last = '\n';

    qpath_fmt(fn, "mess", id);
    fd = open(fn, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    if (fstat(fd, &st) == -1)
        goto fail;
    /* the header, as far as BOUNCE_HEADER_MAX reaches */
    do
        r = pread(fd, buf, BOUNCE_HEADER_MAX < sizeof buf ? BOUNCE_HEADER_MAX
                                                          : sizeof buf, 0);
    while (r == -1 && errno == EINTR);
    if (r == -1)
        goto fail;
    hdr = header_len(buf, (size_t)r);
    quote = bounce_quote(c, (unsigned long long)st.st_size, hdr,
                         headers_only);
    while (done < quote) {
        size_t want = quote - done < sizeof buf ? (size_t)(quote - done)
                                                : sizeof buf;

        r = read(fd, buf, want);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            goto fail;
        if (r == 0)
            break;
        qq_put(q, buf, (size_t)r);
        last = buf[r - 1];
        done += (size_t)r;
    }
    close(fd);
    if (headers_only ? done < hdr : done < (unsigned long long)st.st_size) {
        char note[160];

        if (last != '\n')
            qq_puts(q, "\n");
        snprintf(note, sizeof note,
                 "\n--- The rest of the message was cut: this copy holds "
                 "its first %llu of %llu bytes.\n",
                 done, (unsigned long long)st.st_size);
        qq_puts(q, note);
    }
    return 0;
fail:
    {
        int e = errno;

        close(fd);
        errno = e;
    }
    return -1;
}

/*
 * bounce_inject - queue the bounce of message id (or, with delay, the
 * deferral notice built from delayreport) through qmail-queue.
 * Returns 0 with *qp set, 1 for a triple bounce (nothing to send), or -1
 * (errno set; the caller keeps bounce/N and tries again later).
 */
int
bounce_inject(const struct send_conf *c, uint64_t id, const char *sender,
              bool delay, const struct bstr *delayreport, pid_t *qp)
{
    char fn[QPATH_MAX];
    struct bstr report = BSTR_INIT, head = BSTR_INIT, tail = BSTR_INIT;
    struct bstr prog = BSTR_INIT, to = BSTR_INIT;
    struct qq q;
    int64_t birth = 0;
    struct bstr s2 = BSTR_INIT;
    int code, rc = -1;

    if (strcmp(sender, "#@[]") == 0)
        return 1; /* a bounce of a double bounce goes nowhere */
    if (delay) {
        if (bstr_copy(&report, delayreport) == -1)
            goto out;
    } else {
        qpath_fmt(fn, "bounce", id);
        if (readfile_path(fn, &report, 0) != 1)
            goto out;
    }
    if (info_read(id, &s2, &birth) != 1)
        birth = time(NULL);
    if (bounce_compose(&head, &tail, c, sender, &report, time(NULL), birth,
                       id, delay) == -1)
        goto out;
    if (sender[0] == '\0') {
        if (bstr_catf(&to, "%s@%s", c->doublebounceto.s,
                      c->doublebouncehost.s) == -1)
            goto out;
    } else if (bstr_copys(&to, sender) == -1) {
        goto out;
    }
    if (bstr_catf(&prog, "%s/bin/qmail-queue", priv_home()) == -1)
        goto out;
    qq_init(&q, prog.s, false);
    if (qq_open(&q) == -1)
        goto out;
    *qp = q.pid;
    qq_put(&q, head.s, head.len);
    qq_puts(&q, "Return-Path: <");
    qq_puts(&q, sender);
    qq_puts(&q, ">\n");
    if (copy_message(&q, c, id, delay) == -1) {
        qq_abort(&q);
        goto out;
    }
    qq_put(&q, tail.s, tail.len);
    if (sender[0] == '\0')
        qq_from(&q, "#@[]", 4);
    else
        qq_from(&q, "", 0);
    qq_to(&q, to.s, to.len);
    code = qq_close(&q);
    qq_end(&q);
    if (code != 0) {
        errno = EAGAIN;
        goto out;
    }
    rc = 0;
out:
    bstr_free(&report);
    bstr_free(&head);
    bstr_free(&tail);
    bstr_free(&prog);
    bstr_free(&to);
    bstr_free(&s2);
    return rc;
}
