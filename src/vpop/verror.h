/* SPDX-License-Identifier: ISC */
/*
 * verror - vpopmail's error numbers and their texts, which its tools
 * print as "Error: TEXT" and return as their exit status (a negative
 * number, so the shell sees 256 - N): scripts that parse them keep
 * working.  Pure data.
 */
#ifndef VERROR_H
#define VERROR_H

enum va_err {
    VA_SUCCESS = 0,
    VA_ILLEGAL_USERNAME = -1,
    VA_USERNAME_EXISTS = -2,
    VA_BAD_DIR = -3,
    VA_BAD_U_DIR = -4,
    VA_BAD_D_DIR = -5,
    VA_BAD_V_DIR = -6,
    VA_EXIST_U_DIR = -7,
    VA_BAD_U_DIR2 = -8,
    VA_SUBDIR_CREATION = -9,
    VA_USER_DOES_NOT_EXIST = -10,
    VA_DOMAIN_DOES_NOT_EXIST = -11,
    VA_INVALID_DOMAIN_NAME = -12,
    VA_DOMAIN_ALREADY_EXISTS = -13,
    VA_COULD_NOT_MAKE_DOMAIN_DIR = -14,
    VA_COULD_NOT_OPEN_QMAIL_DEFAULT = -15,
    VA_CAN_NOT_MAKE_DOMAINS_DIR = -16,
    VA_COULD_NOT_UPDATE_FILE = -17,
    VA_CRYPT_FAILED = -18,
    VA_COULD_NOT_OPEN_DOT_QMAIL = -19,
    VA_BAD_CHAR = -20,
    VA_BAD_UID = -22,
    VA_NO_AUTH_CONNECTION = -23,
    VA_MEMORY_ALLOC_ERR = -24,
    VA_USER_NAME_TOO_LONG = -25,
    VA_DOMAIN_NAME_TOO_LONG = -26,
    VA_PASSWD_TOO_LONG = -27,
    VA_GECOS_TOO_LONG = -28,
    VA_QUOTA_TOO_LONG = -29,
    VA_DIR_TOO_LONG = -30,
    VA_CLEAR_PASSWD_TOO_LONG = -31,
    VA_ALIAS_LINE_TOO_LONG = -32,
    VA_NULL_POINTER = -33,
    VA_INVALID_EMAIL_CHAR = -34,
    VA_PARSE_ERROR = -35,
    VA_CANNOT_READ_LIMITS = -36,
    VA_CANNOT_READ_ASSIGN = -37,
};

const char *verror(int err);

#endif
