/* SPDX-License-Identifier: ISC */
/*
 * qmail-rspawn - the remote-delivery spawner (spawnproto.h).
 *
 * Remote delivery (DNS, qmail-remote, one SMTP session per destination)
 * is the next milestone.  Until it lands, this spawner answers every
 * request with a temporary failure that says so plainly: remote mail
 * stays queued, is retried on qmail's schedule and bounces only after
 * queuelifetime, exactly as if the remote host were unreachable.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "outcome.h"
#include "spawnproto.h"

static const char why[] =
    "Sorry, remote delivery is not available yet in this qmail-ng; the "
    "message stays queued and will be retried. (#4.3.0)\n";

int
main(void)
{
    struct spawn_reqparser p;
    struct bstr out = BSTR_INIT;
    char buf[65536];

    log_init("qmail-rspawn");
    spawnproto_req_init(&p);
    for (;;) {
        ssize_t r = read(0, buf, sizeof buf);
        size_t off = 0;

        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        while (off < (size_t)r) {
            size_t used;
            int ev = spawnproto_req_push(&p, buf + off, (size_t)r - off,
                                         &used);

            off += used;
            if (ev == SPAWNPROTO_BAD || ev == SPAWNPROTO_NOMEM)
                log_die(EXIT_TEMP, "garbled request from qmail-send");
            if (ev != SPAWNPROTO_REQUEST)
                continue;
            if (spawnproto_report_start(&out, p.req.slot) == -1)
                log_die(EXIT_TEMP, "out of memory");
            for (size_t i = 0; i < p.req.nrcpt; i++)
                if (spawnproto_report_rcpt(&out, 's', why, strlen(why)) == -1)
                    log_die(EXIT_TEMP, "out of memory");
            if (spawnproto_report_end(&out, 'Z', why, strlen(why)) == -1)
                log_die(EXIT_TEMP, "out of memory");
        }
        for (size_t done = 0; done < out.len;) {
            ssize_t w = write(1, out.s + done, out.len - done);
            if (w == -1 && errno == EINTR)
                continue;
            if (w <= 0)
                return 111;
            done += (size_t)w;
        }
        bstr_truncate(&out, 0);
    }
}
