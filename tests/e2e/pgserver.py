# SPDX-License-Identifier: ISC
"""A private PostgreSQL server for the tests: Debian's postgresql binaries
(initdb, pg_ctl, postgres), a cluster in a temporary directory listening
only on a UNIX socket there (listen_addresses=''), trust authentication
for the superuser "postgres".  As root, the cluster belongs to nobody
(PostgreSQL refuses to run as root) and pg_ctl runs through runuser.
Every wait has a timeout; stop() and cleanup() end what start() began.

    pg = PgServer(); pg.start()
    pg.psql("CREATE DATABASE vpopmail", db="postgres")
    conninfo = pg.conninfo("vpopmail")
    pg.stop("immediate"); pg.start()
    pg.cleanup()
"""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

IS_ROOT = os.geteuid() == 0


def pg_bindir():
    """The newest /usr/lib/postgresql/N/bin with initdb, or None."""
    found = []
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        try:
            v = int(os.path.basename(os.path.dirname(d)))
        except ValueError:
            continue
        if os.access(os.path.join(d, "initdb"), os.X_OK):
            found.append((v, d))
    return max(found)[1] if found else None


class PgServer:
    def __init__(self):
        self.bindir = pg_bindir()
        if not self.bindir:
            raise RuntimeError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
                               "scripts/deps.sh installs the package postgresql")
        self.tmp = tempfile.mkdtemp(prefix="qng-pg-")
        os.chmod(self.tmp, 0o755)
        self.data = os.path.join(self.tmp, "data")
        self.sock = os.path.join(self.tmp, "sock")
        self.logfile = os.path.join(self.tmp, "postgres.log")
        os.mkdir(self.sock)
        os.chmod(self.sock, 0o755)
        if IS_ROOT:
            nobody = pwd.getpwnam("nobody")
            for p in (self.tmp, self.sock):
                os.chown(p, nobody.pw_uid, nobody.pw_gid)
        self.running = False
        self._pg("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                 "--locale=C", "--no-sync", timeout=120)

    def _pg(self, prog, *args, timeout=60, check=True):
        argv = [os.path.join(self.bindir, prog)] + list(args)
        if IS_ROOT:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            argv = [runuser, "-u", "nobody", "--"] + argv
        r = subprocess.run(argv, capture_output=True, timeout=timeout, cwd=self.tmp)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s%s\n%s" % (
                prog, r.returncode, r.stdout.decode(errors="replace"),
                r.stderr.decode(errors="replace"), self.log()[-3000:]))
        return r

    def start(self):
        # fsync=off: a crash of the server (stop -m immediate) keeps what
        # was committed, in the kernel's cache; a crash of the machine
        # would not, which no test does
        opts = ("-c listen_addresses='' -k %s -c fsync=off -c full_page_writes=off "
                "-c max_connections=40" % self.sock)
        self._pg("pg_ctl", "-D", self.data, "-l", self.logfile, "-w", "-t", "60", "-o", opts,
                 "start", timeout=90)
        self.running = True

    def stop(self, mode="fast"):
        """pg_ctl stop -m MODE (fast, or immediate: a crash)."""
        if self.running:
            self._pg("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop",
                     timeout=90, check=False)
            self.running = False

    def postmaster_pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def conninfo(self, db="vpopmail", extra="connect_timeout=3"):
        return "host=%s dbname=%s user=postgres %s" % (self.sock, db, extra)

    def psql(self, sql, db="vpopmail", check=True):
        """Run SQL with psql; the rows as a list of lists of strings
        (unaligned, tuples only, fields split on '|')."""
        argv = [os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-v",
                "ON_ERROR_STOP=1", "-h", self.sock, "-U", "postgres", "-d", db]
        r = subprocess.run(argv, input=sql.encode(), capture_output=True, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError("psql failed: %s\nSQL: %s" % (r.stderr.decode(errors="replace"), sql))
        out = r.stdout.decode(errors="surrogateescape")
        return [line.split("|") for line in out.splitlines() if line != ""]

    def log(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def cleanup(self):
        try:
            self.stop("immediate")
        finally:
            if not os.environ.get("QNG_KEEP"):
                shutil.rmtree(self.tmp, ignore_errors=True)
