/* SPDX-License-Identifier: ISC */
/*
 * vdelivermail - vpopmail's delivery agent for virtual domains, run by
 * qmail-local from a domain's .qmail-default:
 *
 *   | vdelivermail '' bounce-no-mailbox|delete|ADDRESS|/DIRECTORY
 *
 * The message is on stdin; $EXT and $HOST name the recipient.  Exit 0
 * (delivered), 99 (delivered, ignore the rest of the .qmail file), 100
 * (bounce) or 111 (try later), with one line on stdout saying why
 * (vdeliver.h; doc/vdelivermail.8).
 */
#include <signal.h>

#include "vdeliver.h"
#include "writeall.h"

int
main(int argc, char **argv)
{
    struct vdel d;
    struct bstr line = BSTR_INIT;
    int code;

    signal(SIGPIPE, SIG_IGN); /* a dead qmail-queue is an error, not death */
    vdel_init(&d, argc, argv, 0);
    code = vdel_run(&d);
    if (vdel_report(&d, &line) == -1 || write_all(1, line.s, line.len) == -1)
        code = code ? code : 0; /* the delivery stands; the words are lost */
    vdel_free(&d);
    bstr_free(&line);
    return code;
}
