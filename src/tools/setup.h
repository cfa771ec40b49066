/* SPDX-License-Identifier: ISC */
/*
 * setup - creating a QMAIL_HOME tree with qmail-1.03's layout and modes
 * (doc/queue-states.md lists every queue directory).
 */
#ifndef SETUP_H
#define SETUP_H

#include <stdbool.h>

struct setup_opts {
    const char *home;
    const char *user;   /* single-user owner */
    const char *bindir; /* copy programs from here into home/bin */
    const char *me;     /* control/me; default: the host name */
    const char *domain; /* also accept mail for this domain */
    const char *logdir; /* root mode: the loggers' directory, or NULL */
    const char *rules;  /* root mode: tcp.smtp to create, or NULL */
    bool rootmode;
    void (*warn)(const char *text); /* told of each warning, or NULL */
};

int setup_run(const struct setup_opts *o);
const char *setup_error(void);

#endif
