/* SPDX-License-Identifier: ISC */
/*
 * bstr - growable, binary-safe byte strings.
 *
 * A bstr owns s[0..len) and always keeps s[len] == '\0' once it has
 * storage, so s can be handed to C string functions when the content
 * holds no NUL.  Growth is overflow-checked; on failure the string is
 * unchanged and errno is ENOMEM.
 */
#ifndef BSTR_H
#define BSTR_H

#include <stdarg.h>
#include <stddef.h>

#define WUR __attribute__((warn_unused_result))

struct bstr {
    char *s;
    size_t len;
    size_t cap;
};

#define BSTR_INIT {0, 0, 0}

int bstr_ready(struct bstr *b, size_t n) WUR;
int bstr_readyplus(struct bstr *b, size_t n) WUR;
int bstr_catb(struct bstr *b, const void *p, size_t n) WUR;
int bstr_cats(struct bstr *b, const char *s) WUR;
int bstr_catc(struct bstr *b, char c) WUR;
int bstr_catu(struct bstr *b, unsigned long long u) WUR;
int bstr_copyb(struct bstr *b, const void *p, size_t n) WUR;
int bstr_copys(struct bstr *b, const char *s) WUR;
int bstr_copy(struct bstr *b, const struct bstr *from) WUR;
int bstr_catf(struct bstr *b, const char *fmt, ...) WUR
    __attribute__((format(printf, 2, 3)));
int bstr_vcatf(struct bstr *b, const char *fmt, va_list ap) WUR
    __attribute__((format(printf, 2, 0)));
void bstr_truncate(struct bstr *b, size_t len);
void bstr_free(struct bstr *b);
void bstr_wipe_free(struct bstr *b);
void bstr_lower(struct bstr *b);
int bstr_equals(const struct bstr *b, const char *s);
size_t bstr_fill_nargs(const char *tmpl);
int bstr_cat_fill(struct bstr *b, const char *tmpl, const char *const *args,
                  size_t nargs) WUR;

#endif
