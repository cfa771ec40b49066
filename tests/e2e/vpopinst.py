# SPDX-License-Identifier: ISC
"""An instance with a vpopmail tree (~vpopmail under the instance's tmp,
control/vpopmailhome naming it) and the vpopmail tools run as the
instance's owner; cdb files are read with cdbfile.py, the tests' own
reader, so that tests check what the tools leave on disk without going
through our own code."""
import os
import subprocess

import qng
from cdbfile import cdb_get, cdb_get_all, cdb_hash, cdb_write  # noqa: F401 (for the tests)


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
