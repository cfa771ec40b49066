/* SPDX-License-Identifier: ISC */
/*
 * tai64nlocal - copy stdin to stdout, turning a TAI64N label at the
 * start of a line ("@400000003f87e06f3172d234") into local time
 * ("2003-10-11 11:22:29.829608500"), as daemontools' tai64nlocal does:
 *
 *   tail -f /var/log/qmail/current | tai64nlocal
 *
 * Output is written before each read, so it follows a live log.  Other
 * lines pass through unchanged.  Exit 0 at end of input, 111 on a read
 * or write error, 100 when given arguments.
 */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mlogtai.h"
#include "outcome.h"
#include "writeall.h"

#define IN_MAX 16384

static void
put(struct bstr *out)
{
    if (write_all(1, out->s, out->len) == -1)
        log_die_sys(EXIT_TEMP, "unable to write output");
    bstr_truncate(out, 0);
}

int
main(int argc, char **argv)
{
    static char buf[IN_MAX];
    struct bstr out = BSTR_INIT;
    struct mlogtai f;

    (void)argv;
    log_init("tai64nlocal");
    if (argc > 1)
        log_die(EXIT_PERM, "usage: tai64nlocal < log");
    tzset();
    mlogtai_init(&f);
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);

        if (n == -1) {
            if (errno == EINTR)
                continue;
            log_die_sys(EXIT_TEMP, "unable to read input");
        }
        if (n == 0)
            break;
        if (mlogtai_push(&f, buf, (size_t)n, &out) == -1)
            log_die(EXIT_TEMP, "out of memory");
        put(&out);
    }
    if (mlogtai_eof(&f, &out) == -1)
        log_die(EXIT_TEMP, "out of memory");
    put(&out);
    bstr_free(&out);
    return 0;
}
