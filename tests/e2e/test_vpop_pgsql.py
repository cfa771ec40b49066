# SPDX-License-Identifier: ISC
"""The PostgreSQL account store (src/vpop/vauth_pg.c) against a real
PostgreSQL started here (pgserver.py), with control/vpopbackend "pgsql":

- every vauth operation, through tests/prog/vauthdrv, on an empty
  database (the first account makes vpopmail's "vpopmail" table);
- databases made with vpopmail 5.4's exact schema (vpgsql.h: many domains
  with and without pw_clear_passwd, and one table per domain), rows put
  there by plain SQL as vpopmail writes them, read and changed through our
  store; other domains' rows untouched;
- hostile names (quotes, backslashes, SQL, NUL, bytes that are not UTF-8,
  over-long) stored and found exactly, or refused;
- the database stopped under a running process (pg_ctl stop -m
  immediate), slow (a lock held, the postmaster stopped with SIGSTOP), or
  the wrong one: temporary failures (111, "temp"), never "no such user",
  and the same process recovers when the database is back;
- vconvert: cdb to PostgreSQL and back, vpasswd byte for byte;
- vpopmail's valias table: valias(8) adds, shows and removes rows, and
  vdelivermail delivers by them before the account (a stopped database
  defers, never bounces).

PostgreSQL missing is a failure with the reason, never a silent pass."""
import itertools
import os
import shutil
import signal
import subprocess
import time
import unittest

import qng
from pgserver import PgServer, pg_bindir

DRIVER = os.path.join(qng.BUILD, "tests", "prog", "vauthdrv")
DBNUM = itertools.count(1)
SAFE = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:$/=,@+")


def esc(s):
    """A driver field: %XX for every byte outside SAFE."""
    b = s if isinstance(s, bytes) else s.encode()
    return "".join(chr(c) if c in SAFE else "%%%02X" % c for c in b)


def unesc(s):
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == "%" and i + 2 < len(s) and all(c in "0123456789ABCDEFabcdef" for c in s[i + 1:i + 3]):
            out.append(int(s[i + 1:i + 3], 16))
            i += 3
        else:
            out += s[i].encode()
            i += 1
    return bytes(out)


class PgTest(unittest.TestCase):
    """One PostgreSQL for the class, one database and one instance per
    test."""

    @classmethod
    def setUpClass(cls):
        if not pg_bindir():
            raise AssertionError("PostgreSQL is not installed here (no /usr/lib/postgresql/*/bin/"
                                 "initdb): run scripts/deps.sh as root to install postgresql")
        if not os.access(DRIVER, os.X_OK):
            raise AssertionError("%s is missing: make all builds it" % DRIVER)
        cls.pg = PgServer()
        try:
            cls.pg.start()
        except Exception:
            cls.pg.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.pg.cleanup()

    def setUp(self):
        if not self.pg.running:
            self.pg.start()
        self.db = "t%d_%d" % (os.getpid(), next(DBNUM))
        self.pg.psql("CREATE DATABASE %s" % self.db, db="postgres")
        self.inst = qng.Instance()
        self.addCleanup(self.inst.cleanup)
        self.driver = os.path.join(self.inst.tmp, "vauthdrv")
        shutil.copy(DRIVER, self.driver)
        os.chmod(self.driver, 0o755)
        self.vhome = os.path.join(self.inst.tmp, "vpopmail")
        self.inst.control("vpopmailhome", self.vhome + "\n")
        self.inst.control("vpopbackend", "pgsql\n")
        self.inst.control("vpoppgsql", self.pg.conninfo(self.db) + "\n")
        self.domains(["example.test", "other.test"])
        self.sessions = []

    def tearDown(self):
        for p in self.sessions:
            if p.poll() is None:
                p.stdin.close()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            p.stdout.close()

    def map_dirs(self):
        """users/rcptmap and users/overquota, the instance owner's."""
        for sub in ("rcptmap", "overquota"):
            os.makedirs(self.inst.path("users", sub), exist_ok=True)
            if qng.IS_ROOT:
                os.chown(self.inst.path("users", sub), self.inst.uid, self.inst.gid)

    def empty_store(self):
        """No domain at all: ~vpopmail/domains empty, users/assign too."""
        vdom = os.path.join(self.vhome, "domains")
        shutil.rmtree(vdom)
        os.makedirs(vdom)
        if qng.IS_ROOT:
            os.chown(vdom, self.inst.uid, self.inst.gid)
        self.inst.write(self.inst.path("users", "assign"), ".\n")
        self.assertEqual(self.inst.run("qmail-newu").returncode, 0)
        self.map_dirs()

    # --- helpers -------------------------------------------------------
    def domains(self, names):
        """users/assign with names as vpopmail domains, and their dirs."""
        lines = ""
        for d in names:
            path = os.path.join(self.vhome, "domains", d)
            os.makedirs(path, exist_ok=True)
            lines += "+%s-:%s:%d:%d:%s:-::\n" % (d, d, self.inst.uid, self.inst.gid, path)
        for root, dirs, files in os.walk(self.vhome):
            if qng.IS_ROOT:
                os.chown(root, self.inst.uid, self.inst.gid)
        self.inst.write(self.inst.path("users", "assign"), lines + ".\n")
        r = self.inst.run("qmail-newu")
        self.assertEqual(r.returncode, 0, r.stderr)

    def domdir(self, d="example.test"):
        return os.path.join(self.vhome, "domains", d)

    def call(self, *fields, timeout=30):
        """One driver command in its own process: (exit code, answer)."""
        r = subprocess.run([self.driver] + [esc(f) for f in fields], capture_output=True,
                           timeout=timeout, cwd=self.inst.home, env=self.inst.env,
                           preexec_fn=self.inst.as_owner())
        return r.returncode, r.stdout.decode(errors="replace").strip()

    def session(self):
        """A driver that stays: send(fields) -> answer, one connection."""
        p = subprocess.Popen([self.driver], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             cwd=self.inst.home, env=self.inst.env,
                             preexec_fn=self.inst.as_owner())
        self.sessions.append(p)

        def send(*fields, timeout=30):
            p.stdin.write((" ".join(esc(f) for f in fields) + "\n").encode())
            p.stdin.flush()
            line = self.inst._readline_timeout(p, timeout)
            if line is None:
                raise AssertionError("the driver gave no answer in %ds" % timeout)
            return line
        return send

    def line(self, name, passwd="$1$salt$hash", uid=1, gid=0, gecos=None, quota="NOQUOTA",
             clear=None, d="example.test"):
        text = "%s:%s:%d:%d:%s:%s/%s:%s" % (name, passwd, uid, gid, gecos if gecos is not None else name,
                                             self.domdir(d), name, quota)
        return text + (":" + clear if clear is not None else "")

    def found(self, answer):
        self.assertTrue(answer.startswith("found "), answer)
        return unesc(answer[6:]).decode("utf-8", "surrogateescape")

    def getall(self, d="example.test"):
        code, out = self.call("getall", d)
        self.assertEqual(code, 0, out)
        self.assertTrue(out.startswith("ok"), out)
        return unesc(out[3:]).decode("utf-8", "surrogateescape")

    def sql(self, text):
        return self.pg.psql(text, db=self.db)


class TestOperations(PgTest):
    def test_every_operation_on_an_empty_database(self):
        """The first account makes vpopmail's table; then each call."""
        joe = self.line("joe", clear="s3cret")
        self.assertEqual(self.call("getall", "example.test")[0], 111)  # no table: not "none"
        self.assertEqual(self.call("adduser", "example.test", joe), (0, "ok"))
        self.assertEqual(self.sql("SELECT pw_name, pw_domain, pw_passwd, pw_uid, pw_gid, pw_shell, "
                                  "pw_clear_passwd FROM vpopmail"),
                         [["joe", "example.test", "$1$salt$hash", "1", "0", "NOQUOTA", "s3cret"]])
        self.assertEqual(self.found(self.call("getpw", "example.test", "joe")[1]), joe)
        self.assertEqual(self.found(self.call("getpw", "example.test", "JoE")[1]), joe)
        self.assertEqual(self.call("getpw", "example.test", "nobody-here"), (1, "none"))
        self.assertEqual(self.call("getpw", "other.test", "joe"), (1, "none"))
        self.assertEqual(self.call("adduser", "example.test", self.line("joe", passwd="x")),
                         (1, "exists"))
        self.assertEqual(self.call("adduser", "other.test", self.line("joe", d="other.test")),
                         (0, "ok"))
        ann = self.line("ann", quota="50000000S", gid=0x802, uid=2)
        self.assertEqual(self.call("adduser", "example.test", ann), (0, "ok"))
        self.assertEqual(self.getall(), ann + "\n" + joe + "\n")
        joe2 = self.line("joe", passwd="$6$new$hash", gecos="Joe Bloggs", quota="1000S,10C")
        self.assertEqual(self.call("setpw", "example.test", joe2), (0, "ok"))
        self.assertEqual(self.found(self.call("getpw", "example.test", "joe")[1]), joe2)
        self.assertEqual(self.call("setpw", "example.test", self.line("zed")), (1, "noent"))
        self.assertEqual(self.call("deluser", "example.test", "joe"), (0, "ok"))
        self.assertEqual(self.call("getpw", "example.test", "joe"), (1, "none"))
        self.assertEqual(self.call("deluser", "example.test", "joe"), (1, "noent"))
        self.assertEqual(self.found(self.call("getpw", "other.test", "joe")[1]),
                         self.line("joe", d="other.test"))
        self.assertEqual(self.call("deldomain", "example.test"), (0, "ok"))
        self.assertEqual(self.getall(), "")
        self.assertEqual(self.getall("other.test"), self.line("joe", d="other.test") + "\n")

    def test_one_connection_for_the_life_of_a_process(self):
        send = self.session()
        self.assertEqual(send("adduser", "example.test", self.line("joe")), "ok")
        for _ in range(5):
            self.found(send("getpw", "example.test", "joe"))
        rows = self.pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                            "'qmail-ng' AND datname = '%s'" % self.db, db="postgres")
        self.assertEqual(rows, [["1"]])
        # statement_timeout is set on it (connect_timeout=3 in the string)
        rows = self.pg.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                            "'qmail-ng'", db="postgres")
        self.assertEqual(rows, [["1"]])

    def test_uid_and_gid_round_trip_through_int4(self):
        big = self.line("big", uid=4294967295, gid=2147483648)
        self.assertEqual(self.call("adduser", "example.test", big), (0, "ok"))
        self.assertEqual(self.sql("SELECT pw_uid, pw_gid FROM vpopmail"), [["-1", "-2147483648"]])
        self.assertEqual(self.found(self.call("getpw", "example.test", "big")[1]), big)


# vpopmail 5.4's tables exactly as vpgsql.h lays them out (TABLE_LAYOUT,
# VALIAS_TABLE_LAYOUT), created as vpopmail's vauth_create_table does.
MANY_CLEAR = """CREATE TABLE vpopmail ( pw_name varchar(32) NOT NULL,
pw_domain varchar(96) NOT NULL, pw_passwd varchar(40), pw_uid int4, pw_gid int4,
pw_gecos varchar(48), pw_dir varchar(160), pw_shell varchar(20),
pw_clear_passwd varchar(16), PRIMARY KEY("pw_domain", "pw_name") )"""
MANY_NOCLEAR = """CREATE TABLE vpopmail ( pw_name varchar(32) NOT NULL,
pw_domain varchar(96) NOT NULL, pw_passwd varchar(40), pw_uid int4, pw_gid int4,
pw_gecos varchar(48), pw_dir varchar(160), pw_shell varchar(20),
PRIMARY KEY (pw_name, pw_domain ) )"""
SPLIT = """CREATE TABLE %s ( pw_name varchar(32) NOT NULL, pw_passwd varchar(40),
pw_uid int4, pw_gid int4, pw_gecos varchar(48), pw_dir varchar(160),
pw_shell varchar(20), PRIMARY KEY (pw_name ) )"""
VALIAS = """CREATE TABLE valias ( alias varchar(32) NOT NULL, domain varchar(96) NOT NULL,
valias_line varchar(160) NOT NULL );
CREATE INDEX valias_idx ON valias ( alias, domain )"""


class TestVpopmailSchema(PgTest):
    def vdir(self, d, name):
        return "/home/vpopmail/domains/%s/%s" % (d, name)

    def test_many_domains_with_clear_passwords(self):
        self.sql(MANY_CLEAR)
        self.sql(VALIAS)
        # as vpopmail's vauth_adduser inserts (gid 0, quota NOQUOTA) and
        # vauth_setpw then updates; another domain's rows beside them
        self.sql("""INSERT INTO "vpopmail" ( pw_name, pw_domain, pw_passwd, pw_uid, pw_gid, pw_gecos,
            pw_dir, pw_shell , pw_clear_passwd ) VALUES
            ( 'postmaster', 'example.test', '$1$d5aL7bcE$TxWMw9Qj7chKv8zBJ3vVK/', 0, 0, 'Postmaster',
              '%s', 'NOQUOTA' ,'pm-pass' ),
            ( 'joe', 'example.test', '$1$AbCdEfGh$0123456789abcdefghijk.', 1, 2048, 'Joe',
              '%s', '50000000S' ,'' ),
            ( 'joe', 'other.test', '$1$x$y', 0, 0, 'Other Joe', '%s', 'NOQUOTA', 'o' )"""
                 % (self.vdir("example.test", "postmaster"), self.vdir("example.test", "joe"),
                    self.vdir("other.test", "joe")))
        self.sql("""INSERT INTO "vpopmail" (pw_name, pw_domain, pw_passwd, pw_uid, pw_gid)
            VALUES ('nulls', 'example.test', NULL, NULL, NULL)""")
        self.sql("INSERT INTO valias (alias, domain, valias_line) VALUES "
                 "('info', 'example.test', '&joe@example.test'), "
                 "('info', 'other.test', '&joe@other.test')")
        pm = "postmaster:$1$d5aL7bcE$TxWMw9Qj7chKv8zBJ3vVK/:0:0:Postmaster:%s:NOQUOTA:pm-pass" % (
            self.vdir("example.test", "postmaster"))
        joe = "joe:$1$AbCdEfGh$0123456789abcdefghijk.:1:2048:Joe:%s:50000000S:" % (
            self.vdir("example.test", "joe"))
        self.assertEqual(self.found(self.call("getpw", "example.test", "postmaster")[1]), pm)
        self.assertEqual(self.found(self.call("getpw", "example.test", "Joe")[1]), joe)
        self.assertEqual(self.found(self.call("getpw", "example.test", "nulls")[1]),
                         "nulls::0:0:::")
        self.assertEqual(self.getall(), joe + "\n" + "nulls::0:0:::\n" + pm + "\n")
        # vpopmail's column widths hold: a 40-byte hash fits, a SHA-512
        # one (106 bytes) and a long gecos are refused, not cut
        ann = self.line("ann", passwd="$1$" + "a" * 37, clear="c", gecos="Ann")
        self.assertEqual(self.call("adduser", "example.test", ann), (0, "ok"))
        self.assertEqual(self.found(self.call("getpw", "example.test", "ann")[1]), ann)
        code, out = self.call("adduser", "example.test", self.line("bob", passwd="$6$" + "b" * 103))
        self.assertEqual(code, 1, out)
        self.assertTrue(out.startswith("refused"), out)
        code, out = self.call("setpw", "example.test", self.line("ann", gecos="g" * 49, clear="c"))
        self.assertTrue(out.startswith("refused"), out)
        self.assertEqual(self.found(self.call("getpw", "example.test", "ann")[1]), ann)
        self.assertEqual(self.call("getpw", "example.test", "bob"), (1, "none"))
        # deldomain: its accounts and valias rows go, other.test's stay
        self.assertEqual(self.call("deldomain", "example.test"), (0, "ok"))
        self.assertEqual(self.sql("SELECT pw_name, pw_domain FROM vpopmail"), [["joe", "other.test"]])
        self.assertEqual(self.sql("SELECT alias, domain FROM valias"), [["info", "other.test"]])

    def test_many_domains_without_clear_passwords(self):
        self.sql(MANY_NOCLEAR)
        self.sql("""INSERT INTO "vpopmail" ( pw_name, pw_domain, pw_passwd, pw_uid, pw_gid, pw_gecos,
            pw_dir, pw_shell ) VALUES ( 'joe', 'example.test', '$1$a$b', 1, 0, 'joe', '%s',
            'NOQUOTA' )""" % self.vdir("example.test", "joe"))
        self.assertEqual(self.found(self.call("getpw", "example.test", "joe")[1]),
                         "joe:$1$a$b:1:0:joe:%s:NOQUOTA" % self.vdir("example.test", "joe"))
        # a clear text has no column to go to: the account is stored without
        self.assertEqual(self.call("adduser", "example.test", self.line("ann", clear="pw")),
                         (0, "ok"))
        self.assertEqual(self.found(self.call("getpw", "example.test", "ann")[1]), self.line("ann"))

    def test_one_table_per_domain(self):
        """vpopmail without many domains: example_test, other_test."""
        self.sql(SPLIT % "example_test")
        self.sql("""INSERT INTO "example_test" ( pw_name, pw_passwd, pw_uid, pw_gid, pw_gecos, pw_dir,
            pw_shell ) VALUES ( 'joe', '$1$a$b', 1, 0, 'joe', '%s', 'NOQUOTA' )"""
                 % self.vdir("example.test", "joe"))
        joe = "joe:$1$a$b:1:0:joe:%s:NOQUOTA" % self.vdir("example.test", "joe")
        self.assertEqual(self.found(self.call("getpw", "example.test", "joe")[1]), joe)
        self.assertEqual(self.call("getpw", "example.test", "ann"), (1, "none"))
        # a domain without its table yet: temporary, not "no such user"
        code, out = self.call("getpw", "other.test", "joe")
        self.assertEqual(code, 111, out)
        ann = self.line("ann")
        self.assertEqual(self.call("adduser", "example.test", ann), (0, "ok"))
        self.assertEqual(self.getall(), ann + "\n" + joe + "\n")
        # the first account of another domain makes that domain's table
        self.assertEqual(self.call("adduser", "other.test", self.line("zed", d="other.test")),
                         (0, "ok"))
        self.assertEqual(self.sql("SELECT pw_name FROM other_test"), [["zed"]])
        self.assertEqual(self.sql("SELECT to_regclass('vpopmail') IS NULL"), [["t"]])
        self.assertEqual(self.call("deluser", "example.test", "joe"), (0, "ok"))
        self.assertEqual(self.call("deldomain", "example.test"), (0, "ok"))
        self.assertEqual(self.sql("SELECT to_regclass('example_test') IS NULL"), [["t"]])
        self.assertEqual(self.found(self.call("getpw", "other.test", "zed")[1]),
                         self.line("zed", d="other.test"))


class TestHostileNames(PgTest):
    def test_names_stored_and_found_exactly_or_refused(self):
        self.assertEqual(self.call("adduser", "example.test", self.line("joe")), (0, "ok"))
        for name in ("x' or '1'='1", "x'; drop table vpopmail; --", "o'brien", "back\\slash",
                     "quo\"te", "per%cent", "sp ace", "\\'", "'", "é.lève"):
            with self.subTest(name=name):
                self.assertEqual(self.call("getpw", "example.test", name), (1, "none"))
                line = self.line(name)
                self.assertEqual(self.call("adduser", "example.test", line), (0, "ok"))
                self.assertEqual(self.found(self.call("getpw", "example.test", name)[1]), line)
                self.assertEqual(self.call("adduser", "example.test", line), (1, "exists"))
        self.assertEqual(self.sql("SELECT count(*) FROM vpopmail"), [["11"]])
        self.assertEqual(self.found(self.call("getpw", "example.test", "joe")[1]), self.line("joe"))
        # upper case is kept lower, as vpopmail keeps names
        self.assertEqual(self.call("adduser", "example.test", self.line("MiXeD")), (0, "ok"))
        self.assertEqual(self.sql("SELECT pw_name FROM vpopmail WHERE pw_name LIKE 'mix%'"),
                         [["mixed"]])
        # what cannot be a name: found nowhere, refused when added
        self.assertEqual(self.call("getpw", "example.test", "jo\0e"), (1, "none"))
        self.assertEqual(self.call("getpw", "example.test", "joe\0"), (1, "none"))
        self.assertEqual(self.call("getpw", "example.test", b"\xff\xfe"), (1, "none"))
        self.assertEqual(self.call("getpw", "example.test", "j" * 300), (1, "none"))
        code, out = self.call("adduser", "example.test", self.line("n" * 33))
        self.assertTrue(out.startswith("refused"), out)
        code, out = self.call("adduser", "example.test",
                              b"bad\xff:x:1:0:g:/d:NOQUOTA")
        self.assertTrue(out.startswith("refused"), out)
        self.assertEqual(self.call("adduser", "example.test", "a\x01b:x:1:0:g:/d:NOQUOTA")[1],
                         "badline")
        self.assertEqual(self.sql("SELECT count(*) FROM vpopmail WHERE length(pw_name) > 32 "
                                  "OR pw_name LIKE 'bad%'"), [["0"]])


class TestDatabaseTrouble(PgTest):
    def test_stopped_database_is_temporary_and_recovers(self):
        send = self.session()
        joe = self.line("joe")
        self.assertEqual(send("adduser", "example.test", joe), "ok")
        self.assertEqual(self.found(send("getpw", "example.test", "joe")), joe)
        self.pg.stop("immediate")
        try:
            for cmd in (("getpw", "example.test", "joe"), ("getpw", "example.test", "ann"),
                        ("getall", "example.test"), ("adduser", "example.test", self.line("ann")),
                        ("setpw", "example.test", joe), ("deluser", "example.test", "joe"),
                        ("deldomain", "example.test")):
                with self.subTest(cmd=cmd[0], session=True):
                    t0 = time.monotonic()
                    answer = send(*cmd)
                    self.assertTrue(answer.startswith("temp "), answer)
                    self.assertLess(time.monotonic() - t0, 8)
                with self.subTest(cmd=cmd[0], session=False):
                    code, out = self.call(*cmd)
                    self.assertEqual(code, 111, out)
                    self.assertTrue(out.startswith("temp "), out)
        finally:
            self.pg.start()
        # the same process, a new connection
        self.assertEqual(self.found(send("getpw", "example.test", "joe")), joe)
        self.assertEqual(send("getpw", "example.test", "ann"), "none")
        self.assertEqual(send("adduser", "example.test", self.line("ann")), "ok")
        # a restart between two calls is not even seen: the kept
        # connection broke before its first statement ran, so it is made
        # again and the call done
        self.pg.stop("fast")
        self.pg.start()
        self.assertEqual(self.found(send("getpw", "example.test", "ann")), self.line("ann"))

    def test_slow_database_times_out_as_temporary(self):
        self.assertEqual(self.call("adduser", "example.test", self.line("joe")), (0, "ok"))
        # a lock held by another session: statement_timeout (3s here)
        argv = [os.path.join(self.pg.bindir, "psql"), "-X", "-q", "-h", self.pg.sock, "-U",
                "postgres", "-d", self.db]
        locker = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            locker.stdin.write(b"BEGIN;\nLOCK TABLE vpopmail IN ACCESS EXCLUSIVE MODE;\n"
                               b"SELECT pg_sleep(60);\n")
            locker.stdin.flush()
            qng.wait_for(lambda: self.sql("SELECT count(*) FROM pg_locks WHERE mode = "
                                          "'AccessExclusiveLock' AND relation = "
                                          "'vpopmail'::regclass") == [["1"]],
                         timeout=20, what="the lock")
            t0 = time.monotonic()
            code, out = self.call("getpw", "example.test", "joe")
            took = time.monotonic() - t0
            self.assertEqual(code, 111, out)
            self.assertIn("ETIMEDOUT", out)
            self.assertLess(took, 10)
        finally:
            # the server's side of it sleeps on with the lock, client or not
            self.sql("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE mode = "
                     "'AccessExclusiveLock' AND relation = 'vpopmail'::regclass")
            locker.kill()
            locker.wait()
        # a postmaster that does not answer: the connection's deadline
        pid = self.pg.postmaster_pid()
        os.kill(pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            code, out = self.call("getpw", "example.test", "joe")
            took = time.monotonic() - t0
            self.assertEqual(code, 111, out)
            self.assertIn("ETIMEDOUT", out)
            self.assertLess(took, 10)
        finally:
            os.kill(pid, signal.SIGCONT)
        self.assertEqual(self.found(self.call("getpw", "example.test", "joe")[1]),
                         self.line("joe"))
        # a server process that stops answering on a kept connection:
        # the client's own deadline (statement_timeout cannot fire)
        send = self.session()
        self.found(send("getpw", "example.test", "joe"))
        rows = self.sql("SELECT pid FROM pg_stat_activity WHERE application_name = 'qmail-ng'")
        self.assertEqual(len(rows), 1, rows)
        backend = int(rows[0][0])
        os.kill(backend, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            answer = send("getpw", "example.test", "joe")
            took = time.monotonic() - t0
            self.assertTrue(answer.startswith("temp ETIMEDOUT"), answer)
            self.assertLess(took, 10)
        finally:
            os.kill(backend, signal.SIGCONT)
        self.assertEqual(self.found(send("getpw", "example.test", "joe")), self.line("joe"))

    def test_wrong_database_is_temporary(self):
        """An empty database (a wrong dbname) has no vpopmail table: that
        must not bounce mail as "no such user"."""
        code, out = self.call("getpw", "example.test", "joe")
        self.assertEqual(code, 111, out)
        self.inst.control("vpoppgsql", self.pg.conninfo("no_such_db") + "\n")
        code, out = self.call("getpw", "example.test", "joe")
        self.assertEqual(code, 111, out)
        self.assertIn("no_such_db", out)
        self.inst.control("vpoppgsql", "host=%s/nowhere dbname=x connect_timeout=2\n" % self.pg.sock)
        code, out = self.call("getpw", "example.test", "joe")
        self.assertEqual(code, 111, out)
        self.inst.control("vpoppgsql", "host='unterminated\n")
        code, out = self.call("getpw", "example.test", "joe")
        self.assertEqual(code, 111, out)


class TestVconvert(PgTest):
    """vconvert -c -m and -m -c, with control/vpopbackend still cdb."""

    def setUp(self):
        super().setUp()
        self.inst.control("vpopbackend", "cdb\n")
        self.vconvert = os.path.join(self.inst.bin, "vconvert")

    def run_vconvert(self, *args):
        r = subprocess.run([self.vconvert] + list(args), capture_output=True, timeout=60,
                           env=self.inst.env, preexec_fn=self.inst.as_owner(), cwd=self.inst.tmp)
        return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")

    def vpasswd(self, d="example.test"):
        with open(os.path.join(self.domdir(d), "vpasswd"), "rb") as f:
            return f.read()

    def put_vpasswd(self, data, d="example.test"):
        self.inst.write(os.path.join(self.domdir(d), "vpasswd"), data, mode=0o600)

    def test_cdb_to_sql_and_back_byte_for_byte(self):
        # sorted by name as vpopmail keeps it: a clear text, none, an
        # empty one, flags, quotas, a gecos with quotes and backslashes
        text = ("ann:$1$aa$AbCdEfGhIjKlMnOpQrStU.:1:0:Ann 'O\\Brien\":%s/ann:50000000S:pw:with:colons\n"
                "joe:$6$saltsalt$" + "h" * 86 + ":2:2050:Joe:%s/joe:1000000S,1000C\n"
                "postmaster:$y$j9T$abc$def:1:0:Postmaster:%s/postmaster:NOQUOTA:\n"
                "zed::1:0::%s/zed:NOQUOTA\n") % ((self.domdir(),) * 4)
        original = text.encode()
        self.put_vpasswd(original)
        self.put_vpasswd(b"", d="other.test")
        # a stale row of example.test and other.test's row in the database
        self.sql(MANY_CLEAR.replace("varchar(40)", "varchar(255)").replace("varchar(16)", "varchar(255)"))
        self.sql("INSERT INTO vpopmail (pw_name, pw_domain, pw_passwd) VALUES "
                 "('gone', 'example.test', 'x'), ('keep', 'third.test', 'y')")
        code, out, err = self.run_vconvert("-c", "-m", "EXAMPLE.test")
        self.assertEqual((code, out), (0, "converting example.test... done\n"), err)
        self.assertEqual(self.sql("SELECT pw_name, pw_uid, pw_gid, pw_shell, coalesce(pw_clear_passwd, 'NULL') "
                                  "FROM vpopmail WHERE pw_domain = 'example.test' ORDER BY 1"),
                         [["ann", "1", "0", "50000000S", "pw:with:colons"],
                          ["joe", "2", "2050", "1000000S,1000C", "NULL"],
                          ["postmaster", "1", "0", "NOQUOTA", ""],
                          ["zed", "1", "0", "NOQUOTA", "NULL"]])
        self.assertEqual(self.sql("SELECT pw_name FROM vpopmail WHERE pw_domain <> 'example.test'"),
                         [["keep"]])
        # back: vpasswd and vpasswd.cdb rebuilt from the database
        self.put_vpasswd(b"junk:x:1:0::/x:NOQUOTA\n")
        code, out, err = self.run_vconvert("-m", "-c", "example.test")
        self.assertEqual((code, out), (0, "converting example.test... done\n"), err)
        self.assertEqual(self.vpasswd(), original)
        self.assertEqual(self.call("getpw", "example.test", "ann")[1][:10], "found ann:")
        self.assertEqual(self.call("getpw", "example.test", "junk"), (1, "none"))
        # the same store read as the tools read it, backend cdb
        self.inst.control("vpopbackend", "pgsql\n")
        self.assertEqual(self.getall().encode(), original)

    def test_all_domains_aliases_and_failures(self):
        assign = self.inst.path("users", "assign")
        with open(assign) as f:
            lines = f.read().replace(".\n", "")
        lines += "+alias.test-:example.test:%d:%d:%s:-::\n.\n" % (
            self.inst.uid, self.inst.gid, self.domdir())
        self.inst.write(assign, lines)
        self.assertEqual(self.inst.run("qmail-newu").returncode, 0)
        self.put_vpasswd(self.line("joe").encode() + b"\n")
        # other.test has no vpasswd: not converted, the rest is
        code, out, err = self.run_vconvert("-c", "-m")
        self.assertEqual(code, 100, out + err)
        self.assertEqual(out, "converting example.test... done\n"
                              "converting other.test... domain conversion failed\n"
                              "alias.test is an alias of example.test.\n")
        self.assertIn("other.test/vpasswd", err)
        code, out, err = self.run_vconvert("-c", "-m", "nosuch.test")
        self.assertEqual((code, out), (100, "converting nosuch.test... domain conversion failed\n"))
        self.assertEqual(self.sql("SELECT pw_name, pw_domain FROM vpopmail"),
                         [["joe", "example.test"]])
        for args in ((), ("-c",), ("-c", "-c"), ("-x", "-c", "-m"), ("-e", "-c")):
            code, out, err = self.run_vconvert(*args)
            self.assertEqual(code, 100, args)
            self.assertIn("usage", out)

    def test_database_down_or_refusing_changes_nothing(self):
        line = self.line("joe")
        self.put_vpasswd((line + "\n").encode())
        self.assertEqual(self.run_vconvert("-c", "-m", "example.test")[0], 0)
        # vpopmail's narrow pw_passwd column: a SHA-512 hash does not fit;
        # the transaction leaves the domain's rows as they were
        self.sql("DROP TABLE vpopmail")
        self.sql(MANY_CLEAR)
        self.sql("INSERT INTO vpopmail (pw_name, pw_domain, pw_passwd) VALUES ('old', 'example.test', 'x')")
        self.put_vpasswd((self.line("joe", passwd="$6$" + "s" * 100) + "\n").encode())
        code, out, err = self.run_vconvert("-c", "-m", "example.test")
        self.assertEqual(code, 100, out + err)
        self.assertIn("domain conversion failed", out)
        self.assertEqual(self.sql("SELECT pw_name FROM vpopmail"), [["old"]])
        # stopped: 111 both ways, vpasswd untouched
        self.put_vpasswd((line + "\n").encode())
        self.pg.stop("immediate")
        try:
            for args in (("-c", "-m"), ("-m", "-c")):
                code, out, err = self.run_vconvert(*args, "example.test")
                self.assertEqual(code, 111, out + err)
                self.assertEqual(out, "converting example.test... domain conversion failed\n")
                self.assertEqual(self.vpasswd(), (line + "\n").encode())
        finally:
            self.pg.start()


class TestTools(PgTest):
    """vpopmail's tools with control/vpopbackend pgsql: the accounts live
    in the database, vchkpw logs in from it, and a stopped database is a
    temporary failure for the login."""

    def tool(self, *args, fd3=None):
        argv = [os.path.join(self.inst.bin, args[0])] + list(args[1:])
        stdin = None
        if fd3 is not None:
            r, w = os.pipe()
            os.write(w, fd3)
            os.close(w)
            argv = ["sh", "-c", 'exec "$0" "$@" 3<&0 0</dev/null'] + argv
            stdin = r
        try:
            p = subprocess.run(argv, stdin=stdin, capture_output=True, timeout=60,
                               env=dict(self.inst.env, TCPREMOTEIP="192.0.2.7"),
                               preexec_fn=self.inst.as_owner(), cwd=self.inst.tmp)
        finally:
            if stdin is not None:
                os.close(stdin)
        return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")

    def login(self, user, password):
        return self.tool("vchkpw", "/bin/true",
                         fd3=user.encode() + b"\0" + password.encode() + b"\0")[0]

    def test_accounts_in_the_database(self):
        self.empty_store()
        self.assertEqual(self.tool("vadddomain", "new.test", "pm-pass"), (0, ""))
        self.assertEqual(self.tool("vadduser", "joe@new.test", "joe-pass"), (0, ""))
        self.assertEqual(self.sql("SELECT pw_name FROM vpopmail WHERE pw_domain = 'new.test' "
                                  "ORDER BY 1"), [["joe"], ["postmaster"]])
        self.assertFalse(os.path.exists(os.path.join(self.vhome, "domains", "new.test", "vpasswd")))
        self.assertEqual(self.login("joe@new.test", "joe-pass"), 0)
        self.assertEqual(self.login("JOE@new.test", "joe-pass"), 0)
        self.assertEqual(self.login("joe@new.test", "wrong"), 1)
        self.assertEqual(self.login("nobody@new.test", "joe-pass"), 1)
        self.assertEqual(self.tool("vpasswd", "joe@new.test", "new-pass")[0], 0)
        self.assertEqual(self.login("joe@new.test", "new-pass"), 0)
        self.assertEqual(self.tool("vsetuserquota", "joe@new.test", "10M")[0], 0)
        self.assertEqual(self.sql("SELECT pw_shell FROM vpopmail WHERE pw_name = 'joe'"),
                         [["10485760S"]])
        code, out = self.tool("vuserinfo", "joe@new.test")
        self.assertEqual(code, 0, out)
        self.assertIn("quota:     10485760S", out)
        # the database stopped: a login is deferred, never refused
        self.pg.stop("immediate")
        try:
            self.assertEqual(self.login("joe@new.test", "new-pass"), 111)
            self.assertEqual(self.login("nobody@new.test", "x"), 111)
            self.assertNotEqual(self.tool("vadduser", "ann@new.test", "x")[0], 0)
        finally:
            self.pg.start()
        self.assertEqual(self.login("joe@new.test", "new-pass"), 0)
        self.assertEqual(self.tool("vdeluser", "joe@new.test")[0], 0)
        self.assertEqual(self.login("joe@new.test", "new-pass"), 1)
        self.assertEqual(self.tool("vdeldomain", "new.test")[0], 0)
        self.assertEqual(self.sql("SELECT count(*) FROM vpopmail"), [["0"]])

    @unittest.skipUnless(qng.IS_ROOT and shutil.which("unshare"), "needs root and unshare")
    def test_no_libpq_is_temporary(self):
        """The programs do not link libpq but load it when the PostgreSQL
        store is used: without it (hidden here in a private mount
        namespace) a login is deferred (111), with the reason logged."""
        lib = None
        for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"):
            if os.path.exists(os.path.join(d, "libpq.so.5")):
                lib = os.path.realpath(os.path.join(d, "libpq.so.5"))
                break
        if not lib:
            self.skipTest("libpq.so.5 not found")
        self.assertEqual(self.tool("vadddomain", "new.test", "pm-pass")[0], 0)
        self.assertEqual(self.tool("vadduser", "joe@new.test", "joe-pass")[0], 0)
        self.assertEqual(self.login("joe@new.test", "joe-pass"), 0)
        r, w = os.pipe()
        os.write(w, b"joe@new.test\0joe-pass\0")
        os.close(w)
        try:
            p = subprocess.run(["unshare", "-m", "sh", "-c",
                                'mount --bind /dev/null "$0" && exec "$@" 3<&0 0</dev/null',
                                lib, os.path.join(self.inst.bin, "vchkpw"), "/bin/true"],
                               stdin=r, capture_output=True, timeout=60, cwd=self.inst.tmp,
                               env=dict(self.inst.env, TCPREMOTEIP="192.0.2.7"))
        finally:
            os.close(r)
        err = p.stderr.decode(errors="replace")
        if "mount" in err and p.returncode != 111:
            self.skipTest("no private mount namespace here: " + err)
        self.assertEqual(p.returncode, 111, err)
        self.assertIn("unable to load libpq", err)


class TestSmtp(PgTest):
    """qmail-smtpd in front of the PostgreSQL store, as the seeds run it
    (qmail-smtpd vchkpw true): AUTH against the database (RFC 4954: 235,
    and 454 4.7.0 while it is down, never 535), and RCPT checks from the
    recipient map, which keep answering while the database is down."""

    tool = TestTools.tool

    def test_auth_and_rcpt_with_the_database_up_and_down(self):
        import base64
        import smtplib
        self.empty_store()
        self.assertEqual(self.tool("vadddomain", "new.test", "pm-pass"), (0, ""))
        self.assertEqual(self.tool("vadduser", "joe@new.test", "joe-pass"), (0, ""))
        self.inst.control("rcpthosts", "new.test\n")
        self.inst.control("authplaintext", "1\n")  # AUTH without TLS, for the test
        port = self.inst.start_smtpd(env={"SMTPAUTHSCRAM": "1"},
                                     smtpd_argv=[os.path.join(self.inst.bin, "qmail-smtpd"),
                                                 os.path.join(self.inst.bin, "vchkpw"),
                                                 "/bin/true"])
        plain = base64.b64encode(b"\0joe@new.test\0joe-pass").decode()

        def session(expect_auth, expect_auth_text):
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
                s.ehlo("client.test")
                self.assertIn("PLAIN", s.esmtp_features.get("auth", ""))
                code, msg = s.docmd("AUTH", "PLAIN " + plain)
                self.assertEqual(code, expect_auth, msg)
                self.assertIn(expect_auth_text, msg)
                s.rset()
                self.assertEqual(s.mail("a@sender.test")[0], 250)
                self.assertEqual(s.rcpt("joe@new.test")[0], 250)
                code, msg = s.rcpt("nobody@new.test")
                self.assertEqual(code, 550, msg)
                self.assertTrue(msg.startswith(b"5.1.1 "), msg)

        session(235, b"2.0.0")
        self.pg.stop("immediate")
        try:
            session(454, b"4.")
        finally:
            self.pg.start()
        session(235, b"2.0.0")


class TestScramKeys(PgTest):
    """SCRAM-SHA-256 keys in vpopmail_scram, shared by every host."""

    def test_keys_kept_replaced_and_gone_with_the_account(self):
        v1 = "SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy"
        v2 = "SCRAM-SHA-256$4096:bmV3$bmV3c3Q=:bmV3c2U="
        self.assertEqual(self.call("scramget", "example.test", "joe"), (1, "none"))  # no table
        self.assertEqual(self.call("adduser", "example.test", self.line("joe")), (0, "ok"))
        self.assertEqual(self.call("adduser", "example.test", self.line("ann")), (0, "ok"))
        self.assertEqual(self.call("scramput", "example.test", "joe", v1, "$1$salt$hash"), (0, "ok"))
        self.assertEqual(self.call("scramput", "example.test", "ann", v1, "$1$salt$hash"), (0, "ok"))
        self.assertEqual(self.call("scramget", "example.test", "joe"),
                         (0, "found %s $1$salt$hash" % v1))
        self.assertEqual(self.call("scramget", "other.test", "joe"), (1, "none"))
        self.assertEqual(self.call("scramput", "example.test", "joe", v2, "$6$x$y"), (0, "ok"))
        self.assertEqual(self.call("scramget", "example.test", "joe"), (0, "found %s $6$x$y" % v2))
        self.assertEqual(self.sql("SELECT pw_name, pw_domain, hash FROM vpopmail_scram ORDER BY 1"),
                         [["ann", "example.test", "$1$salt$hash"], ["joe", "example.test", "$6$x$y"]])
        self.assertEqual(self.call("scramdel", "example.test", "ann"), (0, "ok"))
        self.assertEqual(self.call("scramget", "example.test", "ann"), (1, "none"))
        self.assertEqual(self.call("scramput", "example.test", "ann", v1, "h"), (0, "ok"))
        self.assertEqual(self.call("deluser", "example.test", "joe"), (0, "ok"))
        self.assertEqual(self.call("scramget", "example.test", "joe"), (1, "none"))
        self.assertEqual(self.call("deldomain", "example.test"), (0, "ok"))
        self.assertEqual(self.sql("SELECT count(*) FROM vpopmail_scram"), [["0"]])
        self.pg.stop("immediate")
        try:
            self.assertEqual(self.call("scramget", "example.test", "joe")[0], 111)
            self.assertEqual(self.call("scramput", "example.test", "joe", v1, "h")[0], 111)
        finally:
            self.pg.start()


class TestValias(PgTest):
    """vpopmail's valias table (--enable-valias), read and changed."""

    def test_vpopmail_rows_read_added_and_removed(self):
        self.assertEqual(self.call("valiasget", "example.test", "info"), (1, "none"))  # no table
        self.assertEqual(self.call("valiasnames", "example.test"), (0, "ok"))
        self.sql(VALIAS)
        # as vpopmail's valias_insert writes them
        self.sql("INSERT INTO valias(alias,domain,valias_line) VALUES "
                 "('info','example.test','&joe@example.test'), "
                 "('info','example.test','/home/vpopmail/domains/example.test/ann/Maildir/'), "
                 "('sales','example.test','|/usr/bin/true'), "
                 "('info','other.test','&x@other.test')")
        code, out = self.call("valiasget", "example.test", "info")
        self.assertEqual(code, 0, out)
        self.assertEqual(unesc(out[6:]), b"&joe@example.test\n"
                                         b"/home/vpopmail/domains/example.test/ann/Maildir/\n")
        self.assertEqual(self.call("valiasget", "example.test", "x' or '1'='1"), (1, "none"))
        self.assertEqual(unesc(self.call("valiasnames", "example.test")[1][3:]), b"info\nsales\n")
        self.assertEqual(self.call("valiasadd", "example.test", "info", "  &new@example.test"),
                         (0, "ok"))
        self.assertEqual(unesc(self.call("valiasget", "example.test", "info")[1][6:]).split(b"\n")[2],
                         b"&new@example.test")
        self.assertTrue(self.call("valiasadd", "example.test", "info", "a\nb")[1].startswith("refused"))
        self.assertTrue(self.call("valiasadd", "example.test", "info", "   ")[1].startswith("refused"))
        self.assertEqual(self.call("valiasdel", "example.test", "info", "&joe@example.test"),
                         (0, "ok"))
        self.assertEqual(self.call("valiasdel", "example.test", "info", "&joe@example.test"),
                         (1, "noent"))
        self.assertEqual(self.call("valiasdel", "example.test", "sales"), (0, "ok"))
        self.assertEqual(self.call("valiasdel", "example.test", "sales"), (1, "noent"))
        self.assertEqual(unesc(self.call("valiasnames", "example.test")[1][3:]), b"info\n")
        self.assertEqual(self.sql("SELECT count(*) FROM valias WHERE domain = 'other.test'"), [["1"]])
        self.pg.stop("immediate")
        try:
            self.assertEqual(self.call("valiasget", "example.test", "info")[0], 111)
            self.assertEqual(self.call("valiasnames", "example.test")[0], 111)
            self.assertEqual(self.call("valiasadd", "example.test", "info", "&x@y")[0], 111)
        finally:
            self.pg.start()

    def test_first_alias_makes_the_table(self):
        self.assertEqual(self.call("valiasadd", "example.test", "postmaster", "&joe@example.test"),
                         (0, "ok"))
        self.assertEqual(self.sql("SELECT alias, domain, valias_line FROM valias"),
                         [["postmaster", "example.test", "&joe@example.test"]])


class TestValiasDelivery(PgTest):
    """valias(8) and vdelivermail with the PostgreSQL store use vpopmail's
    valias table (--enable-valias), not .qmail-NAME files: the tool adds,
    shows and removes rows; vdelivermail looks there before the account
    and delivers by the rows as by a .qmail; a stopped database defers
    (111), never bounces."""

    MSG = b"Subject: hello\nFrom: a@b.test\n\nbody line\n"

    def setUp(self):
        super().setUp()
        self.map_dirs()
        self.domdir_ = self.domdir()
        with open(os.path.join(self.domdir_, ".qmail-default"), "w") as f:
            f.write("| %s '' bounce-no-mailbox\n" % os.path.join(self.inst.bin, "vdelivermail"))
        self.assertEqual(self.call("adduser", "example.test", self.line("bob")), (0, "ok"))
        self.bobmd = os.path.join(self.domdir_, "bob", "Maildir")
        for sub in ("", "new", "cur", "tmp"):
            os.makedirs(os.path.join(self.bobmd, sub), exist_ok=True)
        for root, dirs, files in os.walk(self.vhome):
            if qng.IS_ROOT:
                os.chown(root, self.inst.uid, self.inst.gid)

    def tool(self, *args):
        p = subprocess.run([os.path.join(self.inst.bin, args[0])] + list(args[1:]),
                           capture_output=True, timeout=60, env=self.inst.env,
                           preexec_fn=self.inst.as_owner(), cwd=self.inst.tmp)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def vdel(self, ext, host="example.test", sender="s@sender.test"):
        """vdelivermail as qmail-local runs it from the domain's
        .qmail-default: (exit code, its line)."""
        mp = os.path.join(self.inst.tmp, "msg-%d" % time.monotonic_ns())
        with open(mp, "wb") as f:
            f.write(self.MSG)
        os.chmod(mp, 0o644)
        e = dict(self.inst.env, EXT=ext, HOST=host, LOCAL="%s-%s" % (host, ext), USER=host,
                 HOME=self.domdir_, SENDER=sender, NEWSENDER=sender,
                 RPLINE="Return-Path: <%s>\n" % sender)
        with open(mp, "rb") as f:
            r = subprocess.run([os.path.join(self.inst.bin, "vdelivermail"), "",
                                "bounce-no-mailbox"], stdin=f, capture_output=True,
                               env=e, timeout=60, preexec_fn=self.inst.as_owner(),
                               cwd=self.domdir_)
        return r.returncode, (r.stdout + r.stderr).decode(errors="replace")

    def mails(self, md):
        out = []
        for n in sorted(os.listdir(os.path.join(md, "new"))):
            with open(os.path.join(md, "new", n), "rb") as f:
                out.append(f.read())
        return out

    def test_rows_added_shown_delivered_and_removed(self):
        line = self.bobmd + "/"
        self.assertEqual(self.tool("valias", "-i", line, "Info@example.test")[0], 0)
        self.assertEqual(self.sql("SELECT alias, domain, valias_line FROM valias"),
                         [["info", "example.test", line]])
        self.assertFalse(os.path.exists(os.path.join(self.domdir_, ".qmail-info")))
        self.assertEqual(self.tool("valias", "-i", "&ann@other.test", "info@example.test")[0], 0)
        code, out, err = self.tool("valias", "-i", line, "info@example.test")
        self.assertEqual(code, 255)
        self.assertIn("already exists", err)
        self.assertEqual(self.tool("valias", "info@example.test"),
                         (0, "info@example.test -> %s\ninfo@example.test -> &ann@other.test\n"
                          % line, ""))
        self.assertEqual(self.tool("valias", "-n", "example.test"), (0, "info\n", ""))
        self.assertEqual(self.tool("valias", "-s", "example.test")[:2],
                         (0, "info@example.test -> %s\ninfo@example.test -> &ann@other.test\n"
                          % line))
        self.assertEqual(self.tool("valias", "nosuch@example.test")[0], 255)
        # vdelivermail: the rows, as a .qmail: bob's Maildir and a forward
        code, said = self.vdel("info")
        self.assertEqual(code, 0, said)
        self.assertIn("the valias table's info@example.test", said)
        self.assertEqual(self.mails(self.bobmd),
                         [b"Return-Path: <s@sender.test>\nDelivered-To: info@example.test\n"
                          + self.MSG])
        q = self.inst.queued()
        self.assertEqual([(m["sender"], m["rcpts"]) for m in q], [("s@sender.test", ["ann@other.test"])])
        self.assertTrue(q[0]["mess"].endswith(b"Delivered-To: info@example.test\n" + self.MSG))
        # a row wins over an account of the name, as in vpopmail
        self.assertEqual(self.tool("valias", "-i", "&ann@other.test", "bob@example.test")[0], 0)
        self.assertEqual(self.vdel("bob")[0], 0)
        self.assertEqual(len(self.mails(self.bobmd)), 1)
        self.assertEqual(len(self.inst.queued()), 2)
        # removed: the account, and the catch-all for a name without one
        self.assertEqual(self.tool("valias", "-d", "bob@example.test")[0], 0)
        self.assertEqual(self.tool("valias", "-d", "info@example.test")[0], 0)
        self.assertEqual(self.tool("valias", "-d", "info@example.test")[0], 0)  # none: as the file
        self.assertEqual(self.sql("SELECT count(*) FROM valias"), [["0"]])
        self.assertEqual(self.tool("valias", "-n", "example.test")[0], 255)
        self.assertEqual(self.vdel("bob")[0], 0)
        self.assertEqual(len(self.mails(self.bobmd)), 2)
        code, said = self.vdel("info")
        self.assertEqual(code, 100, said)
        self.assertIn("no mailbox here by that name", said)

    def test_rows_are_in_the_recipient_map(self):
        """qmail-smtpd must take at RCPT an alias that only the valias
        table has: the map the tool rebuilds names it (as 'a', an alias),
        read here with the test's own cdb reader."""
        import vpopinst
        self.assertEqual(self.tool("valias", "-i", "&ann@other.test", "sales@example.test")[0], 0)
        m = self.inst.path("users", "rcptmap", "example.test")
        self.assertEqual(vpopinst.cdb_get(m, "sales"), b"a")
        self.assertEqual(vpopinst.cdb_get(m, "bob"), b"m")
        self.assertIsNone(vpopinst.cdb_get(m, "nosuch"))
        self.assertEqual(self.tool("valias", "-d", "sales@example.test")[0], 0)
        self.assertIsNone(vpopinst.cdb_get(m, "sales"))

    def test_bad_row_defers_before_any_delivery(self):
        self.sql(VALIAS)
        self.sql("INSERT INTO valias VALUES ('info', 'example.test', '%s/'), "
                 "('info', 'example.test', './mbox')" % self.bobmd)
        code, said = self.vdel("info")
        self.assertEqual(code, 111, said)
        self.assertEqual(self.mails(self.bobmd), [])

    def test_stopped_database_defers_never_bounces(self):
        self.assertEqual(self.tool("valias", "-i", self.bobmd + "/", "info@example.test")[0], 0)
        self.pg.stop("immediate")
        try:
            for who in ("info", "bob", "nosuch"):
                code, said = self.vdel(who)
                self.assertEqual(code, 111, said)
                self.assertIn("(#4.3.0)", said)
            code, said = self.vdel("info")
            self.assertIn("valias info@example.test", said)
            self.assertEqual(self.mails(self.bobmd), [])
            code, out, err = self.tool("valias", "-i", "&x@other.test", "info@example.test")
            self.assertNotIn(code, (0, 255))
            self.assertIn("Error:", out)
            self.assertNotEqual(self.tool("valias", "info@example.test")[0], 0)
        finally:
            self.pg.start()
        self.assertEqual(self.vdel("info")[0], 0)
        self.assertEqual(len(self.mails(self.bobmd)), 1)


if __name__ == "__main__":
    unittest.main()
