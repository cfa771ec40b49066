/* SPDX-License-Identifier: ISC */
/*
 * fields - one message's header as qmail-inject rewrites it
 * (qmail-header(5)).
 *
 * Each field is handled as it arrives: address lists in sender and
 * recipient fields are parsed, completed (rewrite.c) and rendered again;
 * recipients are collected; Bcc, Resent-Bcc, Return-Path and
 * Content-Length are dropped.  At the end of the header, inject_finish
 * writes the fields qmail-inject adds (Date, Message-ID, From, a Cc for
 * hidden recipients, or their Resent- forms; Mail-Followup-To) before
 * the fields kept, in qmail's order.  A field that cannot be parsed is
 * an error, as in qmail-1.03: guessing at recipients would send mail to
 * the wrong people.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "fnv.h"
#include "inject.h"

enum kind {
    K_OTHER, K_SENDER, K_FROM, K_REPLYTO, K_TO, K_CC, K_BCC, K_DATE,
    K_MSGID, K_RSENDER, K_RFROM, K_RREPLYTO, K_RTO, K_RCC, K_RBCC, K_RDATE,
    K_RMSGID, K_RRT, K_ERRORSTO, K_APPTO, K_RETURNPATH, K_CLEN, K_MFT,
    K_COUNT
};
static_assert(K_COUNT <= INJECT_NKIND, "INJECT_NKIND too small");

enum list {
    L_NONE,   /* not an address list, or not one qmail-inject reads */
    L_SENDER, /* rewritten */
    L_RCPT,   /* rewritten; recipients */
    L_RESENT, /* rewritten; recipients of a resent message */
    L_RETURN  /* rewritten; the envelope sender */
};

static const struct {
    const char *name;
    unsigned char list;
    bool drop; /* never passed on */
} kinds[K_COUNT] = {
    [K_OTHER] = {"", L_NONE, false},
    [K_SENDER] = {"Sender", L_SENDER, false},
    [K_FROM] = {"From", L_SENDER, false},
    [K_REPLYTO] = {"Reply-To", L_SENDER, false},
    [K_TO] = {"To", L_RCPT, false},
    [K_CC] = {"Cc", L_RCPT, false},
    [K_BCC] = {"Bcc", L_RCPT, true},
    [K_DATE] = {"Date", L_NONE, false},
    [K_MSGID] = {"Message-ID", L_NONE, false},
    [K_RSENDER] = {"Resent-Sender", L_SENDER, false},
    [K_RFROM] = {"Resent-From", L_SENDER, false},
    [K_RREPLYTO] = {"Resent-Reply-To", L_SENDER, false},
    [K_RTO] = {"Resent-To", L_RESENT, false},
    [K_RCC] = {"Resent-Cc", L_RESENT, false},
    [K_RBCC] = {"Resent-Bcc", L_RESENT, true},
    [K_RDATE] = {"Resent-Date", L_NONE, false},
    [K_RMSGID] = {"Resent-Message-ID", L_NONE, false},
    [K_RRT] = {"Return-Receipt-To", L_SENDER, false},
    [K_ERRORSTO] = {"Errors-To", L_SENDER, false},
    [K_APPTO] = {"Apparently-To", L_RCPT, false},
    [K_RETURNPATH] = {"Return-Path", L_RETURN, true},
    [K_CLEN] = {"Content-Length", L_NONE, true},
    [K_MFT] = {"Mail-Followup-To", L_NONE, false},
};

/* inject_init - a message not begun, under the settings cf. */
void
inject_init(struct inject *ij, const struct inject_conf *cf)
{
    memset(ij, 0, sizeof *ij);
    ij->cf = cf;
}

/* inject_free - release everything the message's state holds. */
void
inject_free(struct inject *ij)
{
    bstr_free(&ij->saved);
    bstr_free(&ij->args);
    bstr_free(&ij->hdr);
    bstr_free(&ij->resent);
    bstr_free(&ij->tocc);
    bstr_free(&ij->sender);
    bstr_free(&ij->tmp);
    headeraddr_free(&ij->a);
}

static int
kind_of(const char *f, size_t namelen)
{
    for (int k = 1; k < K_COUNT; k++)
        if (strlen(kinds[k].name) == namelen &&
            strncasecmp(kinds[k].name, f, namelen) == 0)
            return k;
    return K_OTHER;
}

/* why - fill ij->why: what, then up to 200 bytes of the text concerned. */
static int
why(struct inject *ij, const char *what, const char *reason, const char *s,
    size_t len)
{
    size_t n = len > 200 ? 200 : len;

    snprintf(ij->why, sizeof ij->why, "%s%s%s%s: %.*s%s", what,
             reason ? " (" : "", reason ? reason : "", reason ? ")" : "",
             (int)n, s, n < len ? "..." : "");
    errno = EINVAL;
    return -1;
}

static bool
utf8_ok(const struct bstr *b)
{
    for (size_t i = 0; i < b->len;) {
        size_t n = addr_utf8_valid(b->s + i, b->len - i);

        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* envelope_ok - a may go into the envelope (qmail-queue takes any bytes
 * but NUL; what we refuse here would only bounce later). */
static bool
envelope_ok(struct headeraddr *a)
{
    if (!utf8_ok(&a->local) || !utf8_ok(&a->domain)) {
        a->why = "an address that is not UTF-8";
        return false;
    }
    if (a->local.len + 1 + a->domain.len > ADDR_MAX) {
        a->why = "an address longer than 900 bytes";
        return false;
    }
    return true;
}

static int
add_rcpt(struct bstr *list, struct headeraddr *a)
{
    if (a->null) {
        a->why = "<> is not a recipient";
        errno = EINVAL;
        return -1;
    }
    if (!envelope_ok(a)) {
        errno = EINVAL;
        return -1;
    }
    if (headeraddr_queue(list, a) == -1 || bstr_catc(list, '\0') == -1)
        return -1;
    return 0;
}

/* set_sender - the envelope sender is a (with "-@[]" for VERP). */
static int
set_sender(struct inject *ij, struct headeraddr *a, bool verp)
{
    if (!envelope_ok(a)) {
        errno = EINVAL;
        return -1;
    }
    bstr_truncate(&ij->sender, 0);
    if (bstr_ready(&ij->sender, 64) == -1 ||
        headeraddr_queue(&ij->sender, a) == -1)
        return -1;
    /* qmail-send reads a sender ending in "-@[]" as "one VERP per
     * recipient" */
    if (verp && !a->null && bstr_cats(&ij->sender, "-@[]") == -1)
        return -1;
    ij->sender_set = true;
    return 0;
}

static int
field_cb(void *ctx, struct headeraddr *a)
{
    struct inject *ij = ctx;

    if (inject_rewrite(ij->cf, a) == -1)
        return -1;
    switch (kinds[ij->kind].list) {
    case L_RCPT:
        if (add_rcpt(&ij->hdr, a) == -1)
            return -1;
        if ((ij->kind == K_TO || ij->kind == K_CC) &&
            (headeraddr_queue(&ij->tocc, a) == -1 ||
             bstr_catc(&ij->tocc, '\0') == -1))
            return -1;
        return 0;
    case L_RESENT:
        return add_rcpt(&ij->resent, a);
    case L_RETURN:
        if (ij->sender_set)
            return 0;
        return set_sender(ij, a, ij->cf->veprcpt);
    default:
        return 0;
    }
}

/*
 * inject_field - one field of the message: f[0..len), its name
 * f[0..namelen), its value from f[value]; mbox for a "From " line.
 * Returns 0, or -1 with errno (EINVAL: ij->why says why).
 */
int
inject_field(struct inject *ij, const char *f, size_t len, size_t namelen,
             size_t value, bool mbox)
{
    const struct inject_conf *cf = ij->cf;
    const char *reason;
    int k;

    if (memchr(f, '\0', len))
        return why(ij, "the header contains a NUL byte", NULL, "", 0);
    if (mbox) {
        if (bstr_cats(&ij->saved, "MBOX-Line: ") == -1 ||
            bstr_catb(&ij->saved, f, len) == -1)
            return -1;
        return 0;
    }
    k = kind_of(f, namelen);
    if ((cf->delfrom && k == K_FROM) || (cf->delmsgid && k == K_MSGID) ||
        (cf->delsender && k == K_RETURNPATH))
        return 0;
    ij->seen[k] = true;
    if (kinds[k].list == L_NONE) {
        if (kinds[k].drop)
            return 0;
        return bstr_catb(&ij->saved, f, len);
    }
    ij->kind = k;
    bstr_truncate(&ij->tmp, 0);
    if (headeraddr_list(f + value, len - value, field_cb, ij, &ij->tmp,
                        namelen + 2, &reason) == -1) {
        if (errno == EINVAL || errno == EMSGSIZE)
            return why(ij, "unable to parse this field", reason, f,
                       len && f[len - 1] == '\n' ? len - 1 : len);
        return -1;
    }
    if (kinds[k].drop)
        return 0;
    /* "To: list", or "To:" alone for an empty list */
    if (bstr_catb(&ij->saved, f, namelen) == -1 ||
        bstr_catc(&ij->saved, ':') == -1 ||
        (ij->tmp.len && (bstr_catc(&ij->saved, ' ') == -1 ||
                         bstr_catb(&ij->saved, ij->tmp.s, ij->tmp.len) == -1)) ||
        bstr_catc(&ij->saved, '\n') == -1)
        return -1;
    return 0;
}

/* one_arg - a command-line address into ij->a, completed. */
static int
one_arg(struct inject *ij, const char *s, const char *what)
{
    const char *reason;

    if (headeraddr_one(s, strlen(s), &ij->a, &reason) == -1) {
        if (errno == EINVAL || errno == EMSGSIZE)
            return why(ij, what, reason, s, strlen(s));
        return -1;
    }
    return inject_rewrite(ij->cf, &ij->a);
}

/*
 * inject_sender_arg - the envelope sender from -f: an address ("" and
 * "<>" mean the null sender).  It wins over Return-Path and the
 * environment.  Returns 0, or -1 with errno (EINVAL: ij->why).
 */
int
inject_sender_arg(struct inject *ij, const char *s)
{
    if (*s == '\0') {
        bstr_truncate(&ij->sender, 0);
        if (bstr_ready(&ij->sender, 1) == -1)
            return -1;
        ij->sender_set = true;
        return 0;
    }
    if (one_arg(ij, s, "unable to parse the sender address") == -1)
        return -1;
    if (set_sender(ij, &ij->a, false) == -1) {
        if (errno == EINVAL)
            return why(ij, "unusable sender address", ij->a.why, s,
                       strlen(s));
        return -1;
    }
    return 0;
}

/* inject_rcpt_arg - one recipient from the command line: 0 or -1. */
int
inject_rcpt_arg(struct inject *ij, const char *s)
{
    if (one_arg(ij, s, "unable to parse the recipient address") == -1)
        return -1;
    if (add_rcpt(&ij->args, &ij->a) == -1) {
        if (errno == EINVAL)
            return why(ij, "unusable recipient address", ij->a.why, s,
                       strlen(s));
        return -1;
    }
    return 0;
}

/*
 * default_sender - qmail's default envelope sender: QMAILSUSER (or the
 * user) at QMAILSHOST (or the host), completed; with VERP letters, "m"
 * adds "-TIME.PID" and "r" adds "-" before the "@" and "-@[]" after.
 */
static int
default_sender(struct inject *ij, const struct inject_stamp *st)
{
    const struct inject_conf *cf = ij->cf;
    struct headeraddr *a = &ij->a;

    a->null = a->angle = a->group = false;
    if (bstr_copys(&a->local, cf->suser) == -1 ||
        bstr_copys(&a->domain, cf->shost ? cf->shost : "") == -1)
        return -1;
    if (cf->verpmess &&
        bstr_catf(&a->local, "-%lld.%ld", (long long)st->now, st->pid) == -1)
        return -1;
    if (cf->veprcpt && bstr_catc(&a->local, '-') == -1)
        return -1;
    if (inject_rewrite(cf, a) == -1)
        return -1;
    if (set_sender(ij, a, cf->veprcpt) == -1) {
        if (errno == EINVAL)
            return why(ij, "unusable default sender", a->why, a->local.s,
                       a->local.len);
        return -1;
    }
    return 0;
}

/* default_from - the value of the From: qmail-inject adds. */
static int
default_from(struct inject *ij, struct bstr *out)
{
    const struct inject_conf *cf = ij->cf;
    struct headeraddr *a = &ij->a;

    a->null = a->angle = a->group = false;
    if (bstr_copys(&a->local, cf->user) == -1 ||
        bstr_copys(&a->domain, cf->host ? cf->host : "") == -1 ||
        inject_rewrite(cf, a) == -1)
        return -1;
    if (cf->name && !cf->namecomment) {
        if (inject_phrase(out, cf->name) == -1 ||
            bstr_cats(out, " <") == -1 || headeraddr_cat(out, a) == -1 ||
            bstr_catc(out, '>') == -1)
            return -1;
    } else {
        if (headeraddr_cat(out, a) == -1)
            return -1;
        if (cf->name &&
            (bstr_catc(out, ' ') == -1 || inject_comment(out, cf->name) == -1))
            return -1;
    }
    return bstr_catc(out, '\n');
}

static bool
in_list(const struct bstr *list, const char *s)
{
    for (size_t i = 0; i < list->len; i += strlen(list->s + i) + 1)
        if (strcasecmp(list->s + i, s) == 0)
            return true;
    return false;
}

/* mft - Mail-Followup-To when a To/Cc address is a listed mailing list. */
static int
mft(struct inject *ij, struct bstr *out)
{
    const struct inject_conf *cf = ij->cf;
    bool hit = false;
    size_t i;

    if (!cf->mft_on || ij->seen[K_MFT])
        return 0;
    for (i = 0; i < ij->tocc.len && !hit; i += strlen(ij->tocc.s + i) + 1)
        hit = in_list(&cf->mft, ij->tocc.s + i);
    if (!hit)
        return 0;
    if (bstr_cats(out, "Mail-Followup-To: ") == -1)
        return -1;
    for (i = 0; i < ij->tocc.len; i += strlen(ij->tocc.s + i) + 1)
        if ((i && bstr_cats(out, ",\n  ") == -1) ||
            addr_quote(out, ij->tocc.s + i, strlen(ij->tocc.s + i)) == -1)
            return -1;
    return bstr_catc(out, '\n');
}

/*
 * inject_finish - the header is over: append to out the fields to add
 * (a Return-Path line first when returnpath, as qmail-inject -n shows),
 * then the fields kept.  Settles the envelope sender.  Returns 0 or -1.
 */
int
inject_finish(struct inject *ij, const struct inject_stamp *st,
              bool returnpath, struct bstr *out)
{
    const struct inject_conf *cf = ij->cf;
    bool resent = false;
    const char *pre;

    for (int k = K_RSENDER; k <= K_RMSGID; k++)
        resent = resent || ij->seen[k];
    pre = resent ? "Resent-" : "";
    if (!ij->sender_set && default_sender(ij, st) == -1)
        return -1;
    if (returnpath &&
        (bstr_cats(out, "Return-Path: <") == -1 ||
         (ij->sender.len &&
          addr_quote(out, ij->sender.s, ij->sender.len) == -1) ||
         bstr_cats(out, ">\n") == -1))
        return -1;
    if (!ij->seen[resent ? K_RDATE : K_DATE] &&
        (bstr_cats(out, pre) == -1 || bstr_cats(out, "Date: ") == -1 ||
         inject_date(out, st->now) == -1 || bstr_catc(out, '\n') == -1))
        return -1;
    if (!ij->seen[resent ? K_RMSGID : K_MSGID] &&
        (bstr_cats(out, pre) == -1 || bstr_cats(out, "Message-ID: ") == -1 ||
         inject_msgid(out, st, cf->idhost.s, cf->idhost.len) == -1 ||
         bstr_catc(out, '\n') == -1))
        return -1;
    if (!ij->seen[resent ? K_RFROM : K_FROM] &&
        (bstr_cats(out, pre) == -1 || bstr_cats(out, "From: ") == -1 ||
         default_from(ij, out) == -1))
        return -1;
    if (!ij->seen[resent ? K_RTO : K_TO] && !ij->seen[resent ? K_RCC : K_CC] &&
        (bstr_cats(out, pre) == -1 ||
         bstr_cats(out, "Cc: recipient list not shown: ;\n") == -1))
        return -1;
    if (!resent && mft(ij, out) == -1)
        return -1;
    return bstr_catb(out, ij->saved.s, ij->saved.len);
}

/* ---- the recipient list, duplicates removed ------------------------ */

struct seen_set {
    const char **slot;
    size_t mask;
};

/* seen_add - 1 if s is new (and now in the set), 0 if it was there. */
static int
seen_add(struct seen_set *set, const char *s)
{
    size_t i = (size_t)fnv1a(s, strlen(s)) & set->mask;

    while (set->slot[i]) {
        if (strcmp(set->slot[i], s) == 0)
            return 0;
        i = (i + 1) & set->mask;
    }
    set->slot[i] = s;
    return 1;
}

static size_t
count(const struct bstr *list)
{
    size_t n = 0;

    for (size_t i = 0; i < list->len; i++)
        n += list->s[i] == '\0';
    return n;
}

/*
 * inject_recipients - the envelope recipients: those of the arguments
 * and/or of the header (Resent- fields for a resent message), as -a -A
 * -h -H say, each once.  out gets them NUL-separated, *count their
 * number.  Returns 0 or -1 (ENOMEM).
 */
int
inject_recipients(struct inject *ij, enum inject_rcpt how, struct bstr *out,
                  size_t *n)
{
    bool resent = false;
    const struct bstr *lists[2];
    struct seen_set set;
    size_t total, size = 16;

    for (int k = K_RSENDER; k <= K_RMSGID; k++)
        resent = resent || ij->seen[k];
    if (how == INJECT_RCPT_DEFAULT)
        how = ij->args.len ? INJECT_RCPT_ARGS : INJECT_RCPT_HEADER;
    lists[0] = how != INJECT_RCPT_HEADER ? &ij->args : NULL;
    lists[1] = how != INJECT_RCPT_ARGS ? (resent ? &ij->resent : &ij->hdr)
                                       : NULL;
    total = (lists[0] ? count(lists[0]) : 0) + (lists[1] ? count(lists[1]) : 0);
    while (size < total * 2) {
        if (size > SIZE_MAX / 4 / sizeof *set.slot) {
            errno = ENOMEM;
            return -1;
        }
        size *= 2;
    }
    set.slot = calloc(size, sizeof *set.slot);
    if (!set.slot) {
        errno = ENOMEM;
        return -1;
    }
    set.mask = size - 1;
    *n = 0;
    bstr_truncate(out, 0);
    if (bstr_ready(out, 1) == -1)
        goto fail;
    for (int l = 0; l < 2; l++) {
        const struct bstr *list = lists[l];

        for (size_t i = 0; list && i < list->len;) {
            const char *r = list->s + i;
            size_t len = strlen(r);

            if (seen_add(&set, r)) {
                if (bstr_catb(out, r, len + 1) == -1)
                    goto fail;
                (*n)++;
            }
            i += len + 1;
        }
    }
    free(set.slot);
    return 0;
fail:
    free(set.slot);
    return -1;
}
