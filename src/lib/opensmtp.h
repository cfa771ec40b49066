/* SPDX-License-Identifier: ISC */
/*
 * opensmtp - POP-before-SMTP without a lock: a directory of empty files,
 * one per client IP address, each named by the address's canonical text
 * and stamped (mtime) with the time of the client's last POP3 or IMAP
 * login.  A login creates or touches its own file; qmail-smtpd stats one
 * file per connection; expiry removes files older than the age.  Nobody
 * rewrites a shared file and nobody waits for a lock, so logins and SMTP
 * connections never queue behind each other.
 *
 * Names are only ever made from a parsed IP address (IPv4-mapped IPv6
 * written as IPv4): "../x", "", "1.2.3.4/.." and the like are refused,
 * so no caller can make or test a path outside the directory.  Nothing
 * here exits, logs or sleeps; times come from the caller.
 */
#ifndef OPENSMTP_H
#define OPENSMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "bstr.h"
#include "ipaddr.h"

#define OPENSMTP_DIR "users/open-smtp"       /* under QMAIL_HOME */
#define OPENSMTP_CONTROL "control/opensmtpage"
#define OPENSMTP_AGE 10800UL  /* seconds a login grants relay (3 hours) */
#define OPENSMTP_EVERY 600    /* seconds between built-in expiry passes */
#define OPENSMTP_STAMP ".expire" /* its mtime: the last expiry pass */
#define OPENSMTP_NAME IPADDR_FMT /* bytes of a name, its NUL included */

int opensmtp_name(const char *ip, size_t len, char out[OPENSMTP_NAME]) WUR;
int opensmtp_age(unsigned long *age) WUR;
int opensmtp_record(const char *dir, const char *ip, time_t when) WUR;
int opensmtp_fresh(const char *dir, const char *ip, unsigned long age,
                   time_t now, unsigned long *seconds) WUR;
int opensmtp_expire(const char *dir, unsigned long age, time_t now,
                    size_t *removed) WUR;
int opensmtp_expire_due(const char *dir, unsigned long age, time_t now,
                        bool force, size_t *removed) WUR;
int opensmtp_parse(const char *line, size_t len, char name[OPENSMTP_NAME],
                   unsigned long long *when) WUR;
int opensmtp_import(const char *dir, const char *line, size_t len,
                    unsigned long age, time_t now) WUR;

#endif
