/* SPDX-License-Identifier: ISC */
/*
 * batch - qmail-remote's batch mode (-m), for qmail-rspawn: requests and
 * reports in the spawn protocol, one connection for all the messages.
 */
#ifndef BATCH_H
#define BATCH_H

#include "bstr.h"
#include "remote.h"

int remote_batch(struct remote *rm, const struct bstr *fail, int in,
                 int out);

#endif
