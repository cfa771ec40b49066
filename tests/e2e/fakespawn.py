#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A stand-in spawner for qmail-send's scheduling tests (src/lib/spawnproto.h):
it answers by the recipient's local part instead of delivering, so the
tests can make any delivery succeed, fail or defer on demand:
  ok...     r / K  "did 0+0+1"
  bad...    h / D  "Sorry, no mailbox here by that name. (#5.1.1)"
  later...  s / Z  "Temporary trouble, try later. (#4.3.0)"
  slow...   like ok, after a second
  sleepy... like ok, after three seconds
Each request is appended to $FAKESPAWN_LOG as "msgid sender rcpt,rcpt".
The real spawners are exercised by the end-to-end delivery tests."""
import os
import sys
import threading
import time

log = os.environ.get("FAKESPAWN_LOG")
lock = threading.Lock()


def answer(slot, rcpts):
    out = b"%d\0" % slot
    final = None
    for r in rcpts:
        local = r.split(b"@")[0].split(b"-")[-1]
        if local.startswith(b"bad"):
            out += b"hSorry, no mailbox here by that name. (#5.1.1)\n\0"
            final = final or b"DSorry, no mailbox here by that name. (#5.1.1)\n"
        elif local.startswith(b"later"):
            out += b"sTemporary trouble, try later. (#4.3.0)\n\0"
            final = final or b"ZTemporary trouble, try later. (#4.3.0)\n"
        else:
            if local.startswith(b"sleepy"):
                time.sleep(3)
            elif local.startswith(b"slow"):
                time.sleep(1)
            out += b"rdid 0+0+1\n\0"
    out += (final or b"Kdid 0+0+1\n") + b"\0"
    with lock:
        os.write(1, out)


def main():
    fields = []
    partial = b""
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        parts = (partial + chunk).split(b"\0")
        partial = parts.pop()  # after the last NUL: incomplete
        fields.extend(parts)
        while True:
            # a request: slot, msgid, sender, rcpt..., "" (sender may be "")
            try:
                end = fields.index(b"", 3)
            except ValueError:
                break
            f, fields = fields[:end], fields[end + 1:]
            slot, msgid, sender, rcpts = int(f[0]), f[1], f[2], f[3:]
            if log:
                with open(log, "ab") as fh:
                    fh.write(b"%s %s %s\n" % (msgid, sender, b",".join(rcpts)))
            threading.Thread(target=answer, args=(slot, rcpts)).start()
    # let running answers finish
    for t in threading.enumerate():
        if t is not threading.current_thread():
            t.join()


if __name__ == "__main__":
    main()
