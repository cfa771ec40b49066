# SPDX-License-Identifier: ISC
"""A SCRAM-SHA-256 client written from RFC 5802 section 3 (with RFC 7677's
hash) using only hashlib and hmac, to test the server side without our
own C code on both ends.

c = ScramClient("joe@dom.test", "secret")
first = c.first()                 # "n,,n=joe@dom.test,r=..."
final = c.final(server_first)     # "c=biws,r=...,p=..."
c.verify(server_final)            # True when v= is the server's proof
"""
import base64
import hashlib
import hmac
import os


def _h(b):
    return hashlib.sha256(b).digest()


def _hmac(k, m):
    return hmac.new(k, m, "sha256").digest()


def saslname(user):
    return user.replace("=", "=3D").replace(",", "=2C")


def attrs(msg):
    """A message's attributes as a dict (first value of each letter)."""
    out = {}
    for item in msg.split(","):
        if len(item) >= 2 and item[1] == "=" and item[0] not in out:
            out[item[0]] = item[2:]
    return out


class ScramClient:
    def __init__(self, user, password, nonce=None, gs2="n,,"):
        self.user = user
        self.password = password.encode() if isinstance(password, str) else password
        self.cnonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self.gs2 = gs2
        self.bare = "n=%s,r=%s" % (saslname(user), self.cnonce)
        self.server_sig = None
        self.salt = None
        self.iter = None

    def first(self):
        return self.gs2 + self.bare

    def final(self, server_first, password=None, nonce=None):
        a = attrs(server_first)
        snonce = a["r"]
        if not snonce.startswith(self.cnonce) or len(snonce) <= len(self.cnonce):
            raise ValueError("server nonce does not extend ours: %r" % server_first)
        self.salt = base64.b64decode(a["s"])
        self.iter = int(a["i"])
        pw = self.password if password is None else password.encode()
        salted = hashlib.pbkdf2_hmac("sha256", pw, self.salt, self.iter)
        ckey = _hmac(salted, b"Client Key")
        stored = _h(ckey)
        skey = _hmac(salted, b"Server Key")
        without = "c=%s,r=%s" % (base64.b64encode(self.gs2.encode()).decode(),
                                 nonce or snonce)
        am = ",".join([self.bare, server_first, without]).encode()
        sig = _hmac(stored, am)
        proof = bytes(x ^ y for x, y in zip(ckey, sig))
        self.server_sig = _hmac(skey, am)
        return without + ",p=" + base64.b64encode(proof).decode()

    def verify(self, server_final):
        a = attrs(server_final)
        return "v" in a and hmac.compare_digest(base64.b64decode(a["v"]), self.server_sig)
