/* SPDX-License-Identifier: ISC */
/*
 * auth - the SMTP AUTH exchange (RFC 4954) as a pure state machine: a
 * command's argument and the client's lines in, the next 334 prompt or a
 * verdict out.  Mechanisms PLAIN (RFC 4616), LOGIN (the qmail AUTH
 * patch's prompts), CRAM-MD5 (RFC 2195) and, when the checkpassword
 * program speaks checkpw.h's conversation, SCRAM-SHA-256 (RFC 5802,
 * RFC 7677).  It never reads, writes, logs or checks a password: once
 * the credentials are whole, smtpd_auth_data gives what a checkpassword
 * program reads on fd 3.
 *
 * SCRAM needs the program twice: smtpd_auth_helper says when the
 * exchange waits for it (after client-first, after client-final), the
 * caller sends it smtpd_auth_data's message and hands its answer to
 * smtpd_auth_reply, which checks it and makes the next 334 (the
 * server-first, then the server-final, to which the client answers with
 * an empty line before 235: RFC 4954 has no data with success).  The
 * verdict is the program's exit; qmail-smtpd never sees a key.
 */
#ifndef SMTPD_AUTH_H
#define SMTPD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "bstr.h"
#include "outcome.h"

#define SMTPD_AUTH_LINE_MAX 12288 /* RFC 4954 4: an exchange line */

enum smtpd_auth_mech {
    AUTH_MECH_NONE,
    AUTH_MECH_LOGIN,
    AUTH_MECH_CRAM,
    AUTH_MECH_PLAIN,
    AUTH_MECH_SCRAM,
};

struct smtpd_auth {
    enum smtpd_auth_mech mech;
    unsigned step;
    struct bstr user;  /* the login, NUL-free */
    struct bstr pass;  /* the password, CRAM-MD5's hex digest, or the
                        * SCRAM message for the checkpassword program */
    struct bstr chal;  /* CRAM-MD5's challenge, SCRAM's client nonce */
    struct bstr tmp;
    bool scram;        /* SCRAM-SHA-256 offered; kept by reset */
};

/* the EHLO keyword's mechanisms, in the seeds' order; SCRAM after them */
#define SMTPD_AUTH_MECHS "LOGIN CRAM-MD5 PLAIN"
#define SMTPD_AUTH_MECHS_SCRAM SMTPD_AUTH_MECHS " SCRAM-SHA-256"

enum reason smtpd_auth_start(struct smtpd_auth *a, const char *arg,
                             size_t len, const char *host,
                             unsigned long rnd, time_t now,
                             struct bstr *prompt);
enum reason smtpd_auth_step(struct smtpd_auth *a, const char *line,
                            size_t len, struct bstr *prompt);
int smtpd_auth_data(const struct smtpd_auth *a, struct bstr *out) WUR;
bool smtpd_auth_helper(const struct smtpd_auth *a);
enum reason smtpd_auth_reply(struct smtpd_auth *a, const char *msg,
                             size_t len, struct bstr *prompt);
const char *smtpd_auth_name(enum smtpd_auth_mech m);
void smtpd_auth_reset(struct smtpd_auth *a);
void smtpd_auth_free(struct smtpd_auth *a);

#endif
