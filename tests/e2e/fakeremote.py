#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A stand-in for `qmail-remote -m DOMAIN` (qmail-rspawn's worker), for
testing qmail-rspawn and qmail-send without a network.

Reads spawnproto requests on stdin (slot, msgid, sender, recipients,
empty record), answers each with a report on stdout, one at a time, and
exits at the end of its input, like the real worker.  Each recipient's
fate is its local part's prefix:
  ok...     accepted ("r")          bad...    refused for good ("h")
  later...  / far...  deferred ("s") slow...  accepted after 0.3 s
  crash...  the worker kills itself with SIGKILL (no report)
  garble... a report for another slot; junk... bytes that are no report
  anything else: deferred.
Every request is appended to $FAKEREMOTE_LOG as one line:
  "PID DOMAIN SLOT MSGID SENDER RCPT,RCPT,...", and "PID DOMAIN QUIT" at
the end of input."""
import os
import signal
import sys
import time


def records(stream):
    buf = b""
    while True:
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            return
        buf += chunk
        while b"\0" in buf:
            rec, buf = buf.split(b"\0", 1)
            yield rec.decode("utf-8", "replace")


def log(line):
    path = os.environ.get("FAKEREMOTE_LOG")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "-m":
        sys.stderr.write("fakeremote: usage: fakeremote -m domain\n")
        return 100
    domain = sys.argv[2]
    pid = os.getpid()
    fields = []
    for rec in records(sys.stdin):
        if rec != "" or len(fields) < 3:
            fields.append(rec)
            continue
        slot, msgid, sender, rcpts = fields[0], fields[1], fields[2], fields[3:]
        fields = []
        log("%d %s %s %s %s %s" % (pid, domain, slot, msgid, sender or "-", ",".join(rcpts)))
        out = [slot.encode() + b"\0"]
        allok = True
        for r in rcpts:
            local = r.rsplit("@", 1)[0]
            if local.startswith("crash"):
                os.kill(pid, signal.SIGKILL)
            if local.startswith("garble"):
                os.write(1, b"%d\0rfine\0Kfine\0" % (int(slot) + 1))
                time.sleep(5)  # qmail-rspawn must not wait for more
                return 0
            if local.startswith("junk"):
                os.write(1, b"no slot here\0" + b"\x00" * 3)
                time.sleep(5)
                return 0
            if local.startswith("slow"):
                time.sleep(0.3)
            if local.startswith(("ok", "slow")):
                out.append(b"r127.0.0.2 accepted message./Remote host said: 250 ok " +
                           r.encode() + b"/\0")
            elif local.startswith("bad"):
                allok = False
                out.append(b"h127.0.0.2 does not like recipient./Remote host said: 550 no "
                           b"such user " + r.encode() + b"/\0")
            else:
                allok = False
                out.append(b"sRemote host said: 451 try again later/\0")
        out.append(b"K" if allok else b"Z")
        out.append(b"fakeremote done\0")
        os.write(1, b"".join(out))
    log("%d %s QUIT" % (pid, domain))
    return 0


if __name__ == "__main__":
    sys.exit(main())
