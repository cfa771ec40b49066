# SPDX-License-Identifier: ISC
"""vchkpw, vpopmail's checkpassword program, run as qmail-popup and
qmail-smtpd run it: the login on fd 3 (user\\0password\\0[third\\0]), the
verdict in the exit code (0, 1 refused, 111 temporary, 2 usage), one log
line per login, then the program as the account.  Accounts are a
vpopmail 5.4 tree written by hand (vpoptree.py).  Also the SCRAM-SHA-256
conversation of doc/vchkpw.8 on a socketpair, with a client written from
RFC 5802 (scramclient.py)."""
import base64
import hashlib
import hmac
import os
import shutil
import socket
import stat
import subprocess
import unittest

import pgserver
import qng
from scramclient import ScramClient, attrs
from vpoptree import NO_IMAP, NO_POP, NO_SMTP, NO_WEBMAIL, VpopTree, hash_of

PASSWORD = "s3cret pass"
IP = "192.0.2.7"


class VchkpwCase(unittest.TestCase):
    def setUp(self):
        self.inst = qng.Instance()
        self.addCleanup(self.inst.cleanup)
        self.tree = VpopTree(self.inst)
        self.tree.add_domain("dom.test")
        self.joe_hash = self.tree.add_user("dom.test", "joe", PASSWORD)
        self.vchkpw = os.path.join(self.inst.bin, "vchkpw")

    def run_vchkpw(self, data, args=(), env=None, fd3=True):
        """vchkpw with data on fd 3 (a pipe); returns (exit, stdout, stderr)."""
        e = dict(self.inst.env)
        e["TCPREMOTEIP"] = IP
        e.update(env or {})
        r, w = os.pipe()
        os.write(w, data)
        os.close(w)
        try:
            shell = 'exec "$0" "$@" 3<&0 0</dev/null' if fd3 else 'exec "$0" "$@" 0</dev/null'
            p = subprocess.run(["sh", "-c", shell, self.vchkpw] + list(args), stdin=r, env=e,
                               capture_output=True, timeout=60, cwd=self.inst.tmp,
                               preexec_fn=self.inst.as_owner())
        finally:
            os.close(r)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def login(self, user, password, third=None, **kw):
        data = user.encode() + b"\0" + password.encode() + b"\0"
        if third is not None:
            data += third.encode() + b"\0"
        return self.run_vchkpw(data, **kw)

    def assertExit(self, got, code, msg=None):
        self.assertEqual(got[0], code, msg or got[2])


class TestPlain(VchkpwCase):
    def test_ok_and_logged_without_the_password(self):
        r = self.login("joe@dom.test", PASSWORD)
        self.assertExit(r, 0)
        self.assertEqual(r[2], "vchkpw: login ok ip=%s user=joe@dom.test service=smtp "
                               "mech=PLAIN\n" % IP)
        r = self.login("joe@dom.test", "wrong")
        self.assertExit(r, 1)
        self.assertEqual(r[2], "vchkpw: login failed ip=%s user=joe@dom.test service=smtp "
                               "reason=wrong password\n" % IP)
        self.assertNotIn("wrong", r[2].split("reason=")[0])

    def test_runs_the_program_as_the_account(self):
        """HOME, USER (the mailbox), SHELL=NOLOGIN and VPOPUSER (the login)
        as vpopmail sets them, in the account's directory."""
        r = self.login("Joe@Dom.Test", PASSWORD, third="<123.456@pop>",
                       args=["sh", "-c", "pwd; env"])
        self.assertExit(r, 0)
        lines = r[1].splitlines()
        udir = os.path.join(self.tree.domain_dir("dom.test"), "joe")
        self.assertEqual(lines[0], udir)
        self.assertIn("HOME=" + udir, lines)
        self.assertIn("USER=joe", lines)
        self.assertIn("SHELL=NOLOGIN", lines)
        self.assertIn("VPOPUSER=Joe@Dom.Test", lines)
        self.assertIn("service=pop3 mech=PLAIN", r[2])

    def test_percent_and_default_domain(self):
        self.assertExit(self.login("joe%dom.test", PASSWORD), 0)
        r = self.login("joe", PASSWORD)
        self.assertExit(r, 1)
        self.assertIn("reason=no domain and no default domain", r[2])
        self.inst.write(os.path.join(self.tree.home, "etc", "defaultdomain"), "dom.test\n")
        self.assertExit(self.login("joe", PASSWORD), 0)

    def test_unknown_user_and_domain(self):
        r = self.login("bob@dom.test", PASSWORD)
        self.assertExit(r, 1)
        self.assertIn("reason=unknown user", r[2])
        r = self.login("joe@other.test", PASSWORD)
        self.assertExit(r, 1)
        self.assertIn("reason=unknown domain", r[2])

    def test_hash_kinds(self):
        """What vpopmail and its predecessors left in vpasswd is accepted;
        anything else, an empty hash and a locked one never match."""
        for kind in ("yescrypt", "sha512", "md5", "des", "bcrypt"):
            self.tree.add_user("dom.test", "u" + kind, PASSWORD, kind=kind)
            self.assertExit(self.login("u%s@dom.test" % kind, PASSWORD), 0, kind)
            self.assertExit(self.login("u%s@dom.test" % kind, "x" + PASSWORD), 1, kind)
        self.tree.add_user("dom.test", "plain", hash="{PLAIN}" + PASSWORD)
        r = self.login("plain@dom.test", PASSWORD)
        self.assertExit(r, 1)
        self.assertIn("reason=unsupported password hash", r[2])
        self.tree.add_user("dom.test", "nopw", hash="", clear=PASSWORD)
        r = self.login("nopw@dom.test", PASSWORD)
        self.assertExit(r, 1)
        self.assertIn("reason=account has no password", r[2])
        self.tree.add_user("dom.test", "locked", hash="!" + hash_of(PASSWORD))
        self.assertExit(self.login("locked@dom.test", PASSWORD), 1)
        self.assertExit(self.login("joe@dom.test", ""), 1)

    def test_cram_md5_needs_the_clear_text(self):
        chal = "<4711.1700000000@mx.dom.test>"
        self.tree.add_user("dom.test", "cram", PASSWORD, clear=PASSWORD)
        digest = hmac.new(PASSWORD.encode(), chal.encode(), "md5").hexdigest()
        # qmail-smtpd's order: user, challenge, digest
        r = self.login("cram@dom.test", chal, third=digest, args=["true"])
        self.assertExit(r, 0)
        self.assertIn("mech=CRAM-MD5", r[2])
        # vpopmail's order for SMTP: user, digest, challenge
        self.assertExit(self.login("cram@dom.test", digest, third=chal, args=["true"]), 0)
        self.assertExit(self.login("cram@dom.test", chal, third="0" * 32), 1)
        r = self.login("joe@dom.test", chal,
                       third=hmac.new(PASSWORD.encode(), chal.encode(), "md5").hexdigest())
        self.assertExit(r, 1)
        self.assertIn("reason=CRAM-MD5 needs a clear-text password", r[2])

    def test_apop_and_the_service_dovecot_names(self):
        """APOP as qmail-popup sends it (user, digest, timestamp; RFC 1939
        section 7), for POP3 and IMAP only; SERVICE beats the port."""
        ts = "<4711.1700000000@pop.dom.test>"
        self.tree.add_user("dom.test", "apop", PASSWORD, clear=PASSWORD)
        digest = hashlib.md5((ts + PASSWORD).encode()).hexdigest()
        pop = {"TCPLOCALPORT": "110"}
        r = self.login("apop@dom.test", digest, third=ts, args=["true"], env=pop)
        self.assertExit(r, 0)
        self.assertIn("service=pop3 mech=APOP", r[2])
        self.assertExit(self.login("apop@dom.test", "0" * 32, third=ts, env=pop), 1)
        self.assertExit(self.login("apop@dom.test", digest, third="<1.2@x>", env=pop), 1)
        # joe keeps no clear text: APOP cannot be checked
        jd = hashlib.md5((ts + PASSWORD).encode()).hexdigest()
        self.assertExit(self.login("joe@dom.test", jd, third=ts, env=pop), 1)
        # SMTP AUTH never takes APOP's field order
        self.assertExit(self.login("apop@dom.test", digest, third=ts,
                                   env={"TCPLOCALPORT": "587"}), 1)
        # Dovecot on port 2143 says SERVICE=imap: an IMAP login
        r = self.login("apop@dom.test", PASSWORD, args=["true"],
                       env={"TCPLOCALPORT": "2143", "SERVICE": "imap"})
        self.assertExit(r, 0)
        self.assertIn("service=imap", r[2])

    def test_password_with_colons(self):
        """A ':' can only live in the clear field, the last of the line."""
        pw = "a:b::c:"
        self.tree.add_user("dom.test", "colon", pw, clear=pw)
        self.assertExit(self.login("colon@dom.test", pw), 0)
        self.assertExit(self.login("colon@dom.test", "a"), 1)
        chal = "<1.2@h>"
        self.assertExit(self.login("colon@dom.test", chal,
                                   third=hmac.new(pw.encode(), chal.encode(), "md5").hexdigest()), 0)

    def test_account_flags_by_service(self):
        """The service as vpopmail decides it: the local port, else the
        program ("true": SMTP AUTH), POP3 and IMAP from 127.0.0.1 being
        webmail; each has its flag."""
        self.tree.add_user("dom.test", "nosmtp", PASSWORD, flags=NO_SMTP)
        self.tree.add_user("dom.test", "nopop", PASSWORD, flags=NO_POP)
        self.tree.add_user("dom.test", "noimap", PASSWORD, flags=NO_IMAP)
        self.tree.add_user("dom.test", "noweb", PASSWORD, flags=NO_WEBMAIL)
        cases = [
            ("nosmtp", {"TCPLOCALPORT": "587"}, [], 1, "smtp"),
            ("nosmtp", {}, ["/bin/true"], 1, "smtp"),
            ("nosmtp", {"TCPLOCALPORT": "110"}, ["true"], 0, "pop3"),
            ("nopop", {"TCPLOCALPORT": "995"}, ["true"], 1, "pop3"),
            ("nopop", {"TCPLOCALPORT": "25"}, ["true"], 0, "smtp"),
            ("nopop", {}, ["sh", "-c", "exit 0"], 1, "pop3"),
            ("noimap", {"TCPLOCALPORT": "143"}, ["true"], 1, "imap"),
            ("noimap", {}, ["/usr/lib/imapd"], 1, "imap"),
            ("nopop", {"TCPLOCALPORT": "110", "TCPREMOTEIP": "127.0.0.1"}, ["true"], 0, "webmail"),
            ("noweb", {"TCPLOCALPORT": "110", "TCPREMOTEIP": "::ffff:127.0.0.1"}, ["true"], 1,
             "webmail"),
        ]
        for user, env, args, code, service in cases:
            r = self.login(user + "@dom.test", PASSWORD, env=env, args=args)
            self.assertEqual(r[0], code, (user, env, args, r[2]))
            self.assertIn("service=%s" % service, r[2], (user, env, args))
            if code:
                self.assertIn("access denied", r[2])

    def test_hostile_input(self):
        cases = [
            (b"joe@dom.test\0" + PASSWORD.encode() + b"\0" + b"x" * 600 + b"\0",
             "input longer than 512 bytes"),
            (b"joe@dom.test\0" + PASSWORD.encode(), "malformed input"),
            (b"joe@dom.test\0", "malformed input"),
            (b"\0" + PASSWORD.encode() + b"\0", "malformed input"),
            (b"joe@dom.test\0a\0b\0c\0", "malformed input"),
            (b"", "malformed input"),
            (b"joe@dom.test\0s3cret\0 pass\0", "wrong password"),
            (b"../joe@dom.test\0x\0", "bad characters in the login"),
            (b"joe/..@dom.test\0x\0", "bad characters in the login"),
            (b"joe@../../etc\0x\0", "unknown domain"),
            (b"joe@dom.test/..\0x\0", "unknown domain"),
            (b"..@dom.test\0x\0", "unknown user"),
            (b"vpasswd@dom.test\0x\0", "unknown user"),
            (b"joe@\0x\0", "bad characters in the login"),
            (b"evil\x1b[2J\r\nvchkpw: login ok@dom.test\0x\0", "bad characters in the login"),
        ]
        for data, why in cases:
            r = self.run_vchkpw(data)
            self.assertEqual(r[0], 1, (data, r[2]))
            self.assertIn("reason=" + why, r[2], data)
            self.assertEqual(r[2].count("\n"), 1, r[2])
        r = self.run_vchkpw(b"evil\x1b[2J@dom.test\0x\0")
        self.assertIn(r"user=evil\033[2J@dom.test", r[2])

    def test_usage_without_fd3(self):
        r = self.run_vchkpw(b"", fd3=False)
        self.assertEqual(r[0], 2, r[2])

    def test_unreadable_store_is_temporary(self):
        if qng.IS_ROOT and os.geteuid() == 0 and self.inst.as_owner() is None:
            self.skipTest("root reads everything")
        cdb = os.path.join(self.tree.domain_dir("dom.test"), "vpasswd.cdb")
        os.chmod(cdb, 0)
        r = self.login("joe@dom.test", PASSWORD)
        self.assertExit(r, 111)
        self.assertIn("temporary failure ip=%s user=joe@dom.test service=smtp reason=unable "
                      "to read the accounts" % IP, r[2])
        os.chmod(cdb, 0o600)
        os.chmod(self.inst.path("users", "cdb"), 0)
        r = self.login("joe@dom.test", PASSWORD)
        self.assertExit(r, 111)
        self.assertIn("reason=unable to read users/cdb", r[2])


def scram_exchange(test, client, env=None, final=None, first=None):
    """One SCRAM conversation with vchkpw over a socketpair.  Returns
    (server-first or None, server-final or None, exit, stderr)."""
    a, b = socket.socketpair()
    e = dict(test.inst.env)
    e.update({"TCPREMOTEIP": IP, "AUTHMECH": "SCRAM-SHA-256"})
    e.update(env or {})
    p = subprocess.Popen(["sh", "-c", 'exec "$0" "$@" 3<&0 0</dev/null', test.vchkpw],
                         stdin=b, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd=test.inst.tmp, preexec_fn=test.inst.as_owner())
    b.close()
    a.settimeout(30)
    f = a.makefile("rb")

    def recv():
        buf = b""
        while True:
            c = f.read(1)
            if not c:
                return None
            if c == b"\0":
                return buf.decode()
            buf += c

    sfirst = sfinal = None
    try:
        a.sendall((first or client.first()).encode() + b"\0")
        sfirst = recv()
        if sfirst is not None and not sfirst.startswith("e="):
            msg = final(sfirst) if final else client.final(sfirst)
            a.sendall(msg.encode() + b"\0")
            sfinal = recv()
    finally:
        f.close()
        a.close()
        out, err = p.communicate(timeout=60)
    return sfirst, sfinal, p.returncode, err.decode(errors="replace")


class TestScram(VchkpwCase):
    def test_login(self):
        # keys come from a clear-text login first (no clear field here)
        self.assertExit(self.login("joe@dom.test", PASSWORD), 0)
        rec = self.tree.scram_records("dom.test")["joe"]
        self.assertRegex(rec, r"^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:"
                              r"[A-Za-z0-9+/=]{44} ")
        self.assertTrue(rec.endswith(" " + self.joe_hash))
        st = os.stat(os.path.join(self.tree.domain_dir("dom.test"), "vscram.cdb"))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        c = ScramClient("joe@dom.test", PASSWORD)
        sfirst, sfinal, code, err = scram_exchange(self, c)
        self.assertEqual(code, 0, err)
        self.assertTrue(c.verify(sfinal), sfinal)
        self.assertEqual(c.iter, 4096)
        self.assertIn("login ok ip=%s user=joe@dom.test service=smtp mech=SCRAM-SHA-256" % IP, err)
        # the secret for made-up salts was made, private
        st = os.stat(os.path.join(self.tree.home, "etc", "vscram.secret"))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)

    def test_wrong_password_and_unknown_users_look_alike(self):
        self.assertExit(self.login("joe@dom.test", PASSWORD), 0)
        c = ScramClient("joe@dom.test", "wrong")
        sf1, fin, code, err = scram_exchange(self, c)
        self.assertEqual((fin, code), ("e=invalid-proof", 1), err)
        self.assertIn("reason=wrong password", err)
        shapes = []
        for user in ("bob@dom.test", "bob@dom.test", "eve@nowhere.test", "x/y@dom.test"):
            c = ScramClient(user, PASSWORD)
            sfirst, fin, code, err = scram_exchange(self, c)
            self.assertEqual((fin, code), ("e=invalid-proof", 1), err)
            a = attrs(sfirst)
            shapes.append((user, a["s"], a["i"], len(a["r"]) - len(c.cnonce)))
        self.assertIn("reason=unknown domain", err.replace("bad characters in the login",
                                                           "unknown domain"))
        a = attrs(sf1)
        real = (len(base64.b64decode(a["s"])), a["i"], len(a["r"]) - len(c.cnonce))
        for user, salt, it, nlen in shapes:
            self.assertEqual((len(base64.b64decode(salt)), it, nlen), real, user)
        self.assertEqual(shapes[0][1], shapes[1][1])  # the same name, the same salt
        self.assertNotEqual(shapes[0][1], shapes[2][1])

    def test_keys_from_the_clear_text_and_stale_keys(self):
        """An account with a clear field needs no prior login; keys made
        before another tool changed the hash are not used."""
        self.tree.add_user("dom.test", "clr", PASSWORD, clear=PASSWORD)
        c = ScramClient("clr@dom.test", PASSWORD)
        _, fin, code, err = scram_exchange(self, c)
        self.assertEqual(code, 0, err)
        self.assertTrue(c.verify(fin))
        # joe: keys from a login, then vpopmail's vpasswd changes the hash
        self.assertExit(self.login("joe@dom.test", PASSWORD), 0)
        self.tree.add_user("dom.test", "joe", "new password", kind="sha512")
        c = ScramClient("joe@dom.test", PASSWORD)
        _, fin, code, err = scram_exchange(self, c)
        self.assertEqual(code, 1, err)
        self.assertIn("reason=no SCRAM keys", err)
        c = ScramClient("joe@dom.test", "new password")
        self.assertEqual(scram_exchange(self, c)[2], 1)
        self.assertExit(self.login("joe@dom.test", "new password"), 0)
        c = ScramClient("joe@dom.test", "new password")
        self.assertEqual(scram_exchange(self, c)[2], 0)

    def test_flags(self):
        self.tree.add_user("dom.test", "nosmtp", PASSWORD, flags=NO_SMTP, clear=PASSWORD)
        c = ScramClient("nosmtp@dom.test", PASSWORD)
        _, fin, code, err = scram_exchange(self, c)
        self.assertEqual((fin, code), ("e=other-error", 1), err)
        self.assertIn("reason=smtp access denied", err)

    def test_malformed_and_channel_binding(self):
        self.assertExit(self.login("joe@dom.test", PASSWORD), 0)
        for first, err_attr in (("p=tls-unique,,n=joe@dom.test,r=abc",
                                 "e=channel-binding-not-supported"),
                                ("n,,m=x,n=joe@dom.test,r=abc", "e=extensions-not-supported"),
                                ("n,,n=joe@dom.test", "e=invalid-encoding"),
                                ("n,,n=jo=e@dom.test,r=abc", "e=invalid-encoding")):
            sfirst, _, code, err = scram_exchange(self, None, first=first)
            self.assertEqual((sfirst, code), (err_attr, 1), (first, err))
        # y,, (a client that could bind but thinks we cannot) is fine
        c = ScramClient("joe@dom.test", PASSWORD, gs2="y,,")
        _, fin, code, err = scram_exchange(self, c)
        self.assertEqual(code, 0, err)
        # a client-final without its proof, and with the wrong binding
        c = ScramClient("joe@dom.test", PASSWORD)
        _, fin, code, err = scram_exchange(
            self, c, final=lambda sf: c.final(sf).rsplit(",p=", 1)[0])
        self.assertEqual((fin, code), ("e=invalid-encoding", 1), err)
        c = ScramClient("joe@dom.test", PASSWORD)
        _, fin, code, err = scram_exchange(
            self, c, final=lambda sf: c.final(sf).replace("c=biws", "c=eSws"))
        self.assertEqual((fin, code), ("e=channel-bindings-dont-match", 1), err)

    def test_replay(self):
        """A client-final recorded from one exchange is worth nothing in
        the next: the server's nonce differs."""
        self.assertExit(self.login("joe@dom.test", PASSWORD), 0)
        c = ScramClient("joe@dom.test", PASSWORD, nonce="fixednonce")
        recorded = []

        def keep(sf):
            m = c.final(sf)
            recorded.append(m)
            return m
        self.assertEqual(scram_exchange(self, c, final=keep)[2], 0)
        c2 = ScramClient("joe@dom.test", PASSWORD, nonce="fixednonce")
        _, fin, code, err = scram_exchange(self, c2, final=lambda sf: recorded[0])
        self.assertEqual((fin, code), ("e=other-error", 1), err)

    def test_unreadable_store_is_temporary(self):
        self.assertExit(self.login("joe@dom.test", PASSWORD), 0)
        if qng.IS_ROOT and self.inst.as_owner() is None:
            self.skipTest("root reads everything")
        os.chmod(os.path.join(self.tree.domain_dir("dom.test"), "vpasswd.cdb"), 0)
        c = ScramClient("joe@dom.test", PASSWORD)
        sfirst, _, code, err = scram_exchange(self, c)
        self.assertEqual((sfirst, code), (None, 111), err)


@unittest.skipUnless(qng.IS_ROOT and shutil.which("unshare"), "needs root and unshare")
class TestRoot(VchkpwCase):
    """Run by root (as a setuid vchkpw is): the user vpopmail, which root
    needs, exists only in a private mount namespace's /etc/passwd, so no
    other test sees it.  vchkpw becomes the domain's owner before it reads
    an account, and runs the program as that owner, with no other group."""

    def setUp(self):
        super().setUp()
        self.passwd = os.path.join(self.inst.tmp, "passwd")
        with open("/etc/passwd") as f:
            # a system that has a vpopmail (qmail-setup -r makes one) gets
            # this test's instead
            text = "".join(l for l in f if not l.startswith("vpopmail:"))
        with open(self.passwd, "w") as f:
            f.write(text + "vpopmail:x:64999:%d::/nonexistent:/usr/sbin/nologin\n"
                    % self.inst.gid)
        probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind %s /etc/passwd"
                                % self.passwd], capture_output=True, timeout=30)
        if probe.returncode != 0:
            self.skipTest("no private mount namespace here")

    def as_root(self, data, args=(), env=None):
        e = dict(self.inst.env)
        e.update({"TCPREMOTEIP": IP})
        e.update(env or {})
        r, w = os.pipe()
        os.write(w, data)
        os.close(w)
        try:
            p = subprocess.run(["unshare", "-m", "sh", "-c",
                                'mount --bind "$0" /etc/passwd && exec "$@" 3<&0 0</dev/null',
                                self.passwd, self.vchkpw] + list(args), stdin=r, env=e,
                               capture_output=True, timeout=60, cwd=self.inst.tmp)
        finally:
            os.close(r)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def test_runs_as_the_domain_owner(self):
        r = self.as_root(b"joe@dom.test\0" + PASSWORD.encode() + b"\0",
                         args=["sh", "-c", "id -u; id -g; id -G"])
        self.assertEqual(r[0], 0, r[2])
        self.assertEqual(r[1].split(), [str(self.inst.uid), str(self.inst.gid),
                                        str(self.inst.gid)])
        # the keys it made at that login belong to the domain's owner
        st = os.stat(os.path.join(self.tree.domain_dir("dom.test"), "vscram.cdb"))
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (self.inst.uid, self.inst.gid, 0o600))

    def test_domain_owned_by_root_refused(self):
        with open(self.inst.path("users", "assign"), "w") as f:
            f.write("+dom.test-:dom.test:0:0:%s:-::\n.\n" % self.tree.domain_dir("dom.test"))
        self.assertEqual(self.inst.run("qmail-newu").returncode, 0)
        r = self.as_root(b"joe@dom.test\0" + PASSWORD.encode() + b"\0")
        self.assertEqual(r[0], 111, r[2])
        self.assertIn("reason=a virtual domain owned by root", r[2])

    def test_scram_secret_is_vpopmails(self):
        # root's files of ~vpopmail go to its owner: vpopmail, as on a server
        os.chown(self.tree.home, 64999, os.stat(self.tree.home).st_gid)
        c = ScramClient("bob@nowhere.test", PASSWORD)
        a, b = socket.socketpair()
        e = dict(self.inst.env)
        e.update({"TCPREMOTEIP": IP, "AUTHMECH": "SCRAM-SHA-256"})
        p = subprocess.Popen(["unshare", "-m", "sh", "-c",
                              'mount --bind "$0" /etc/passwd && exec "$@" 3<&0 0</dev/null',
                              self.passwd, self.vchkpw], stdin=b, env=e,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.inst.tmp)
        b.close()
        a.settimeout(30)
        a.sendall(c.first().encode() + b"\0")
        first = b""
        while not first.endswith(b"\0"):
            chunk = a.recv(1)
            if not chunk:
                break
            first += chunk
        a.sendall(c.final(first[:-1].decode()).encode() + b"\0")
        a.close()
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 1, err)
        self.assertIn("reason=unknown domain", err.decode())
        st = os.stat(os.path.join(self.tree.home, "etc", "vscram.secret"))
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (64999, 0o600))


class TestPgsql(VchkpwCase):
    """Accounts in PostgreSQL (control/vpopbackend pgsql): vchkpw finds
    them there, and keeps SCRAM keys in the database's vpopmail_scram, so
    that every host of a fleet sees the keys any of them made."""

    @classmethod
    def setUpClass(cls):
        if not pgserver.pg_bindir():
            raise unittest.SkipTest("PostgreSQL is not installed")
        cls.pg = pgserver.PgServer()
        try:
            cls.pg.start()
        except Exception:
            cls.pg.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.pg.cleanup()

    def setUp(self):
        super().setUp()
        self.db = "vchkpw%d_%d" % (os.getpid(), id(self) % 100000)
        self.pg.psql("CREATE DATABASE %s" % self.db, db="postgres")
        self.pg.psql("""CREATE TABLE vpopmail ( pw_name varchar(32) NOT NULL,
            pw_domain varchar(96) NOT NULL, pw_passwd varchar(40), pw_uid int4, pw_gid int4,
            pw_gecos varchar(48), pw_dir varchar(160), pw_shell varchar(20),
            PRIMARY KEY (pw_name, pw_domain ) )""", db=self.db)
        self.pg.psql("INSERT INTO vpopmail VALUES ('pat', 'dom.test', '%s', 1, 0, 'Pat', "
                     "'%s', 'NOQUOTA')" % (hash_of(PASSWORD, "md5"),
                                           os.path.join(self.tree.domain_dir("dom.test"), "joe")),
                     db=self.db)
        self.inst.control("vpopbackend", "pgsql\n")
        self.inst.control("vpoppgsql", self.pg.conninfo(self.db) + "\n")

    def test_login_and_scram_keys_in_the_database(self):
        self.assertExit(self.login("pat@dom.test", PASSWORD), 0)
        self.assertExit(self.login("joe@dom.test", PASSWORD), 1)  # the files are not asked
        rows = self.pg.psql("SELECT pw_name, pw_domain, scram FROM vpopmail_scram", db=self.db)
        self.assertEqual([r[:2] for r in rows], [["pat", "dom.test"]])
        self.assertTrue(rows[0][2].startswith("SCRAM-SHA-256$4096:"), rows)
        self.assertEqual(self.tree.scram_records("dom.test"), {})
        c = ScramClient("pat@dom.test", PASSWORD)
        _, fin, code, err = scram_exchange(self, c)
        self.assertEqual(code, 0, err)
        self.assertTrue(c.verify(fin))

    def test_database_down_is_temporary(self):
        self.pg.stop("immediate")
        try:
            r = self.login("pat@dom.test", PASSWORD)
            self.assertExit(r, 111)
            c = ScramClient("pat@dom.test", PASSWORD)
            sfirst, _, code, err = scram_exchange(self, c)
            self.assertEqual((sfirst, code), (None, 111), err)
        finally:
            self.pg.start()


if __name__ == "__main__":
    unittest.main()
