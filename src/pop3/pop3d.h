/* SPDX-License-Identifier: ISC */
/*
 * pop3d.h - qmail-pop3d's session: the TRANSACTION and UPDATE states of
 * POP3 (RFC 1939 §5, §6) over one Maildir, the current directory.
 *
 * The mailbox is listed once at the start (struct pop3d_box); DELE only
 * marks, and files are unlinked or moved only at QUIT, so a dropped
 * connection changes nothing.  Messages go to the client byte-exact
 * through a streaming encoder (struct pop3d_enc) that never holds a whole
 * message.  The pure parts (encoder, UIDL, ordering) are separate
 * functions that the unit tests call; nothing in this family exits:
 * pop3d_run returns and qmail-pop3d.c decides.
 */
#ifndef POP3D_H
#define POP3D_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "bstr.h"
#include "iob.h"
#include "pop3cmd.h"

#define POP3D_TIMEOUT 1200        /* seconds, each read and write (qmail's) */
#define POP3D_TMP_AGE 129600      /* 36 hours: tmp/ leftovers removed */
#define POP3D_STAMP ".pop3-login" /* LOGIN-DELAY: mtime of the last login */
#define POP3D_CHUNK 65536         /* bytes read from a message at a time */

/* One message of the listing. */
struct pop3d_msg {
    size_t off; /* "new/X" or "cur/X", NUL-terminated, at names.s + off */
    unsigned long long size; /* st_size when listed (qmail-pop3d's) */
    time_t mtime;
    bool deleted;   /* DELE'd in this session */
    bool retrieved; /* RETR'd in this session (EXPIRE 0) */
};

/* The listing: messages numbered from 1 in order of v[]. */
struct pop3d_box {
    struct pop3d_msg *v;
    size_t n, cap;
    struct bstr names;
    int counterr; /* errno of a maildirsize not updated at QUIT, or 0 */
};

enum pop3d_expire { POP3D_EXPIRE_UNSET, POP3D_EXPIRE_NEVER, POP3D_EXPIRE_DAYS };

/* What the environment says; read once, never changed. */
struct pop3d_config {
    /* for the log: $VPOPUSER or $USER, and $TCPREMOTEIP ("-" when unset) */
    const char *user, *ip;
    /* vchkpw's $USER (the mailbox) and $VPOPDOMAIN (its real domain), or
     * NULL: whose over-quota flag deletions clear */
    const char *mailbox, *domain;
    bool logindelay_set;
    unsigned long logindelay; /* seconds */
    enum pop3d_expire expire;
    unsigned long expire_days;
};

/* Why a session ended (for the log and the UPDATE state). */
enum pop3d_end {
    POP3D_END_NONE,
    POP3D_END_QUIT,
    POP3D_END_EOF,
    POP3D_END_TIMEOUT,
    POP3D_END_ERROR
};

struct pop3d {
    const struct pop3d_config *cf;
    struct pop3d_box box;
    struct iob in, out;
    char inbuf[1024], outbuf[8192];
    struct bstr line, enc;
    unsigned long last; /* LAST (RFC 1081): highest message number touched */
    unsigned long nretrieved, ndeleted;
    unsigned long long sent; /* bytes written to the client */
    enum pop3d_end end;
};

/*
 * The wire encoder of RETR and TOP (RFC 1939 §3): LF becomes CRLF (a CRLF
 * in the file stays one CRLF), a line starting with '.' gets another '.',
 * a last line without LF is ended with CRLF; then ".\r\n".  Other bytes,
 * NUL and 8-bit included, pass unchanged.  For TOP it stops after the
 * header, its empty line and `lines` body lines.
 */
struct pop3d_enc {
    bool bol;       /* at the start of a line */
    bool lastcr;    /* the line's last byte so far is a CR */
    size_t linelen; /* bytes of the current line so far */
    bool inheaders;
    bool top;
    unsigned long left; /* TOP: body lines still to send */
    bool done;          /* TOP: the limit is reached; push takes no more */
};

/* pop3d_wire.c: pure */
void pop3d_enc_init(struct pop3d_enc *e, bool top, unsigned long lines);
int pop3d_enc_push(struct pop3d_enc *e, const char *p, size_t n,
                   struct bstr *out) WUR;
int pop3d_enc_end(struct pop3d_enc *e, struct bstr *out) WUR;
const char *pop3d_uidl(const char *name, size_t *len);
bool pop3d_name_ok(const char *name);
int pop3d_msg_cmp(const struct pop3d_msg *a, const struct pop3d_msg *b,
                  const char *names);

/* pop3d_box.c: the Maildir in the current directory */
int pop3d_box_scan(struct pop3d_box *b) WUR;
void pop3d_box_free(struct pop3d_box *b);
const char *pop3d_box_name(const struct pop3d_box *b, size_t i);
int pop3d_box_open(struct pop3d_box *b, size_t i) WUR;
int pop3d_box_update(struct pop3d_box *b, bool expire0,
                     unsigned long *ndeleted) WUR;
int pop3d_expire(unsigned long days, time_t now, unsigned long *nremoved) WUR;
int pop3d_logindelay(unsigned long delay, time_t now, unsigned long *wait) WUR;

/* pop3d.c: the session */
int pop3d_config_env(struct pop3d_config *cf, struct bstr *why) WUR;
void pop3d_init(struct pop3d *s, const struct pop3d_config *cf, int infd,
                int outfd);
int pop3d_put(struct pop3d *s, const char *p, size_t n) WUR;
int pop3d_puts(struct pop3d *s, const char *str) WUR;
int pop3d_flush(struct pop3d *s) WUR;
int pop3d_command(struct pop3d *s, const char *line, size_t len) WUR;
void pop3d_run(struct pop3d *s);
void pop3d_free(struct pop3d *s);

#endif
