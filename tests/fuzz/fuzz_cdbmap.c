/* SPDX-License-Identifier: ISC */
/*
 * fuzz_cdbmap - a map file as qmail-smtpd reads a recipient map
 * (cdbmap_open_seek: read whole and looked up in memory, every position
 * checked against the size), against tinycdb's own mapped lookup.  The
 * input is the file; the keys looked up are fixed names, rcptmap's meta
 * keys and the input's own first bytes.  A found value must be the
 * mapped lookup's too (tinycdb reads within the file: what it finds, we
 * must find the same); a damaged file may fail, never crash or read
 * outside the buffer (ASan).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cdbmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    static const char *const keys[] = {"joe", "postmaster", "a-b",
                                       "\0policy", "\0real", "\0mtime"};
    static const size_t klen[] = {3, 10, 3, 7, 5, 6};
    struct bstr v = BSTR_INIT, w = BSTR_INIT;

    if (size > CDBMAP_READ_MAX)
        return 0;
    if (fd == -1) {
        fd = memfd_create("fuzz_cdbmap", MFD_CLOEXEC);
        if (fd == -1)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) == -1 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    for (size_t i = 0; i <= sizeof keys / sizeof keys[0]; i++) {
        const char *k = i < 6 ? keys[i] : (const char *)data;
        size_t kl = i < 6 ? klen[i] : (size < 8 ? size : 8);
        struct cdbmap m, mm;
        int r, rm;

        if (cdbmap_open_seek(&m, path) == -1)
            abort();
        r = cdbmap_get(&m, k, kl, &v);
        cdbmap_close(&m);
        /* tinycdb refuses a file shorter than its table */
        if (size < 2048 || cdbmap_open(&mm, path) == -1)
            continue;
        rm = cdbmap_get(&mm, k, kl, &w);
        cdbmap_close(&mm);
        if (rm == 1 && !(r == 1 && v.len == w.len &&
                         memcmp(v.s, w.s, v.len) == 0))
            abort();
        if (r == 1 && rm == 0)
            abort();
    }
    bstr_free(&v);
    bstr_free(&w);
    return 0;
}
