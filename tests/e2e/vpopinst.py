# SPDX-License-Identifier: ISC
"""An instance with a vpopmail tree (~vpopmail under the instance's tmp,
control/vpopmailhome naming it) and the vpopmail tools run as the
instance's owner, plus a reader of cdb files (D. J. Bernstein's format, as
tinycdb writes it) so that tests check what the tools leave on disk
without going through our own code."""
import os
import struct
import subprocess

import qng


def cdb_hash(key):
    h = 5381
    for b in key:
        h = ((h << 5) + h) & 0xFFFFFFFF
        h ^= b
    return h


def cdb_get_all(path, key):
    """Every value of key in the cdb at path, in file order."""
    with open(path, "rb") as f:
        data = f.read()
    if isinstance(key, str):
        key = key.encode()
    h = cdb_hash(key)
    pos, slots = struct.unpack_from("<II", data, (h & 255) * 8)
    out = []
    if slots == 0:
        return out
    start = (h >> 8) % slots
    for i in range(slots):
        hp, rp = struct.unpack_from("<II", data, pos + ((start + i) % slots) * 8)
        if rp == 0:
            break
        if hp != h:
            continue
        klen, vlen = struct.unpack_from("<II", data, rp)
        if data[rp + 8:rp + 8 + klen] == key:
            out.append(data[rp + 8 + klen:rp + 8 + klen + vlen])
    return out


def cdb_get(path, key):
    """The first value of key, or None (also when there is no file)."""
    if not os.path.exists(path):
        return None
    v = cdb_get_all(path, key)
    return v[0] if v else None


def cdb_write(path, records):
    """A cdb of (key, value) byte pairs, as tinycdb and vpopmail make them:
    for the tests that build a vpopmail tree by hand."""
    body = b""
    tables = [[] for _ in range(256)]
    pos = 2048
    for k, v in records:
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        h = cdb_hash(k)
        tables[h & 255].append((h, pos))
        rec = struct.pack("<II", len(k), len(v)) + k + v
        body += rec
        pos += len(rec)
    header = b""
    tail = b""
    for t in tables:
        n = len(t) * 2
        slots = [(0, 0)] * n
        for h, p in t:
            i = (h >> 8) % n
            while slots[i][1] != 0:
                i = (i + 1) % n
            slots[i] = (h, p)
        header += struct.pack("<II", pos + len(tail), n)
        for h, p in slots:
            tail += struct.pack("<II", h, p)
    with open(path, "wb") as f:
        f.write(header + body + tail)


class VpopInstance(qng.Instance):
    """qng.Instance plus ~vpopmail at tmp/vpopmail."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.vhome = os.path.join(self.tmp, "vpopmail")
        os.mkdir(self.vhome)
        os.chmod(self.vhome, 0o755)
        if qng.IS_ROOT:
            os.chown(self.vhome, self.uid, self.gid)
            os.chown(self.path("users"), self.uid, self.gid)
        self.control("vpopmailhome", self.vhome + "\n")

    def domdir(self, domain):
        return os.path.join(self.vhome, "domains", domain)

    def tool(self, *argv, input=None, env=None, timeout=60):
        """Run a tool from the instance's bin as its owner: (rc, stdout, stderr)."""
        e = dict(self.env)
        if env:
            e.update(env)
        r = subprocess.run([os.path.join(self.bin, argv[0])] + list(argv[1:]),
                           input=input, capture_output=True, env=e, timeout=timeout,
                           preexec_fn=self.as_owner(), cwd=self.tmp,
                           start_new_session=True)
        return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")

    def ok(self, test, *argv, **kw):
        rc, out, err = self.tool(*argv, **kw)
        test.assertEqual(rc, 0, "%s: rc %d\nstdout: %s\nstderr: %s" % (argv, rc, out, err))
        return out

    def read(self, *parts):
        with open(self.path(*parts), "rb") as f:
            return f.read().decode(errors="replace")

    def vpasswd_lines(self, domain):
        with open(os.path.join(self.domdir(domain), "vpasswd")) as f:
            return f.read().splitlines()

    def map_fresh(self, domain):
        """Does users/rcptmap/DOMAIN record its directory's mtime as it is
        now (the map is not stale)?"""
        m = self.path("users", "rcptmap", domain)
        rec = cdb_get(m, b"\0mtime")
        d = cdb_get(m, b"\0dir")
        if rec is None or d is None:
            return False
        st = os.stat(d)
        return rec.decode() == "%d.%09d" % (st.st_mtime_ns // 10**9, st.st_mtime_ns % 10**9)

    def account(self, domain, name):
        for line in self.vpasswd_lines(domain):
            if line.split(":", 1)[0] == name:
                return line.split(":", 7)
        return None
