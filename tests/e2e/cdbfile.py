# SPDX-License-Identifier: ISC
"""cdb files (D. J. Bernstein's format, as tinycdb and vpopmail write them)
read and written by the tests themselves, so that what the programs leave
on disk is checked, and trees are built, without going through our own
code."""
import os
import struct


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


def cdb_items(path):
    """Every (key, value) of a constant database, in file order."""
    with open(path, "rb") as f:
        data = f.read()
    end = struct.unpack("<I", data[:4])[0]
    pos, out = 2048, []
    while pos < end:
        kl, vl = struct.unpack("<II", data[pos:pos + 8])
        out.append((data[pos + 8:pos + 8 + kl], data[pos + 8 + kl:pos + 8 + kl + vl]))
        pos += 8 + kl + vl
    return out


def cdb_bytes(items):
    """A cdb of (key, value) pairs (bytes or str) as a byte string."""
    body = bytearray()
    tables = [[] for _ in range(256)]
    pos = 2048
    for k, v in items:
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        h = cdb_hash(k)
        tables[h & 255].append((h, pos))
        body += struct.pack("<II", len(k), len(v)) + k + v
        pos += 8 + len(k) + len(v)
    header = bytearray()
    tail = bytearray()
    for t in tables:
        n = len(t) * 2
        header += struct.pack("<II", pos + len(tail), n)
        slots = [(0, 0)] * n
        for h, p in t:
            i = (h >> 8) % n
            while slots[i][1] != 0:
                i = (i + 1) % n
            slots[i] = (h, p)
        for h, p in slots:
            tail += struct.pack("<II", h, p)
    return bytes(header + body + tail)


def cdb_write(path, items):
    """cdb_bytes(items) into the file path."""
    with open(path, "wb") as f:
        f.write(cdb_bytes(items))
