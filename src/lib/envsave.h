/* SPDX-License-Identifier: ISC */
/*
 * envsave - a copy of the environment to start from again: a process
 * that serves one client (or one delivery) after another rebuilds its
 * environment from the copy before each, so nothing set for the last
 * one (a rule's variables, qmail-local's RPLINE) reaches the next.
 */
#ifndef ENVSAVE_H
#define ENVSAVE_H

int envsave_take(char ***saved) __attribute__((warn_unused_result));
int envsave_restore(char **saved) __attribute__((warn_unused_result));

#endif
