# SPDX-License-Identifier: ISC
"""A vpopmail tree written by hand, exactly as vpopmail 5.4 leaves it, for
the tests of vchkpw and of SMTP AUTH against the account store:
~vpopmail/domains/DOMAIN/ with vpasswd (name:hash:1:flags:gecos:dir:quota
[:clear]) and vpasswd.cdb (key the name, value the rest of the line),
users/assign's line +DOMAIN-:DOMAIN:UID:GID:DIR:-:: compiled by
qmail-newu, and control/vpopmailhome naming ~vpopmail.  The account tools
are not used: the tree is made from the format, not from our writer."""
import crypt  # noqa: the module is deprecated, its libcrypt is what we test
import os
import warnings

import qng
from cdbfile import cdb_items, cdb_write

warnings.filterwarnings("ignore", category=DeprecationWarning)

# vpopmail's flag bits (vauth.h)
NO_POP = 0x02
NO_WEBMAIL = 0x04
NO_IMAP = 0x08
NO_SMTP = 0x800

# a fixed yescrypt setting (libxcrypt's default cost): tests need no
# randomness in their hashes
YESCRYPT_SETTING = "$y$j9T$Vs0S3tBFZdU2UuMu5FBXE.$"


def hash_of(password, kind="yescrypt"):
    """A crypt(3) hash of password: yescrypt, sha512, md5, des or bcrypt."""
    setting = {"yescrypt": YESCRYPT_SETTING,
               "sha512": "$6$qngSaltSalt$",
               "md5": "$1$qngsalt$",
               "des": "qn",
               "bcrypt": "$2b$05$abcdefghijklmnopqrstuu"}[kind]
    h = crypt.crypt(password, setting)
    assert h and not h.startswith("*"), (kind, h)
    return h


class VpopTree:
    """~vpopmail under the instance's temporary directory."""

    def __init__(self, inst):
        self.inst = inst
        self.home = os.path.join(inst.tmp, "vpopmail")
        self.domains = {}
        for d in (self.home, os.path.join(self.home, "domains"), os.path.join(self.home, "etc")):
            os.mkdir(d, 0o755)
            self.own(d)
        inst.control("vpopmailhome", self.home + "\n")

    def own(self, path):
        if qng.IS_ROOT:
            os.chown(path, self.inst.uid, self.inst.gid)

    def write(self, path, data, mode=0o600):
        self.inst.write(path, data, mode=mode)

    def add_domain(self, name):
        d = os.path.join(self.home, "domains", name)
        os.mkdir(d, 0o700)
        self.own(d)
        self.domains[name] = []
        self.assign()
        return d

    def domain_dir(self, name):
        return os.path.join(self.home, "domains", name)

    def assign(self):
        lines = "".join("+%s-:%s:%d:%d:%s:-::\n" % (n, n, self.inst.uid, self.inst.gid,
                                                   self.domain_dir(n))
                        for n in sorted(self.domains))
        self.inst.write(self.inst.path("users", "assign"), lines + ".\n")
        r = self.inst.run("qmail-newu")
        assert r.returncode == 0, r.stderr

    def add_user(self, domain, name, password=None, kind="yescrypt", hash=None, flags=0,
                 clear=None, quota="NOQUOTA", gecos=None):
        """An account; hash (or password hashed as kind) goes into the
        line, clear (when not None) into its last field."""
        d = self.domain_dir(domain)
        udir = os.path.join(d, name)
        if hash is None:
            hash = hash_of(password, kind) if password is not None else ""
        line = "%s:%s:1:%d:%s:%s:%s" % (name, hash, flags, gecos or name, udir, quota)
        if clear is not None:
            line += ":" + clear
        self.domains[domain] = [l for l in self.domains[domain]
                                if l.split(":", 1)[0] != name] + [line]
        self.save(domain)
        if not os.path.isdir(udir):
            os.mkdir(udir, 0o700)
            self.own(udir)
            for sub in ("Maildir", "Maildir/cur", "Maildir/new", "Maildir/tmp"):
                os.mkdir(os.path.join(udir, sub), 0o700)
                self.own(os.path.join(udir, sub))
        return hash

    def save(self, domain):
        d = self.domain_dir(domain)
        lines = sorted(self.domains[domain])
        self.write(os.path.join(d, "vpasswd"), "".join(l + "\n" for l in lines))
        items = []
        for l in lines:
            name, rest = l.split(":", 1)
            items.append((name.encode(), rest.encode()))
        p = os.path.join(d, "vpasswd.cdb")
        cdb_write(p, items)
        os.chmod(p, 0o600)
        self.own(p)

    def scram_records(self, domain):
        """vscram.cdb's records of a domain, as a dict name -> value."""
        p = os.path.join(self.domain_dir(domain), "vscram.cdb")
        if not os.path.exists(p):
            return {}
        return {k.decode(): v.decode() for k, v in cdb_items(p)}
