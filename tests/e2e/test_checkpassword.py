# SPDX-License-Identifier: ISC
"""qmail-checkpassword against the checkpassword interface
(cr.yp.to/checkpwd/interface.html): the login on fd 3, exit 0 by running
the next program, 1 refused, 111 trouble, 2 usage; a password file with
yescrypt, SHA-512 and {PLAIN} entries (the hashes made by libcrypt and
openssl here, not by our code)."""
import ctypes
import ctypes.util
import hmac
import os
import subprocess
import tempfile
import unittest

import qng

PW = "corr3ct horse"


def crypt(pw, prefix):
    lib = ctypes.CDLL(ctypes.util.find_library("crypt"))
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt.restype = ctypes.c_char_p
    setting = lib.crypt_gensalt(prefix.encode(), 0, None, 0)
    return lib.crypt(pw.encode(), setting).decode()


class CheckpasswordTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="qng-cp-")
        self.addCleanup(subprocess.run, ["rm", "-rf", self.tmp])
        self.prog = os.path.join(qng.BIN, "qmail-checkpassword")
        self.file = os.path.join(self.tmp, "passwd")
        with open(self.file, "w") as f:
            f.write("# comment\n\n"
                    "yes@example.test:%s\n"
                    "sha@example.test:%s:1000:1000::/x:/bin/sh\n"
                    "plain@example.test:{PLAIN}%s\n"
                    "locked@example.test:!%s\n"
                    "broken line without colon\n"
                    "empty@example.test:\n"
                    "nul@example.test:{PLAIN}a\0b\n"
                    % (crypt(PW, "$y$"), crypt(PW, "$6$"), PW, crypt(PW, "$6$")))

    def run_cp(self, data, args=None, prog=("sh", "-c", "echo ok $USER")):
        r, w = os.pipe()
        os.write(w, data)
        os.close(w)
        argv = [self.prog] + (["-f", self.file] if args is None else args) + list(prog)
        p = subprocess.run(argv, pass_fds=(r,), stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30, preexec_fn=lambda: os.dup2(r, 3))
        os.close(r)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def test_good_logins_run_the_program(self):
        for user in ("yes@example.test", "sha@example.test", "plain@example.test"):
            self.assertEqual(self.run_cp(b"%s\0%s\0" % (user.encode(), PW.encode())),
                             (0, "ok %s\n" % user, ""), user)
        # checkpassword's third field, the timestamp, is ignored
        self.assertEqual(self.run_cp(b"yes@example.test\0" + PW.encode() + b"\0<1.2@h>\0")[0],
                         0)

    def test_refusals(self):
        for data in (b"yes@example.test\0wrong\0", b"nobody@example.test\0" + PW.encode() + b"\0",
                     b"locked@example.test\0" + PW.encode() + b"\0",
                     b"YES@example.test\0" + PW.encode() + b"\0",   # names are exact
                     b"yes@example.test\0" + PW.encode(),            # no final NUL
                     b"yes@example.test\0",                          # no password
                     b"", b"\0\0",
                     b"../yes@example.test\0" + PW.encode() + b"\0",  # path tricks
                     b"yes@example.test:x\0" + PW.encode() + b"\0",
                     b"a\nb\0" + PW.encode() + b"\0",
                     b"empty@example.test\0\0",                      # no hash: no login
                     b"nul@example.test\0a\0",                       # a NUL in the file
                     b"x" * 600 + b"\0p\0"):                         # over 512 bytes
            code, out, err = self.run_cp(data)
            self.assertEqual((code, out), (1, ""), data[:40])
            self.assertEqual(err, "")  # a wrong password is the caller's to log

    def test_cram_md5(self):
        chal = b"<12345.1065864148@mx.example.test>"
        good = hmac.new(PW.encode(), chal, "md5").hexdigest().encode()
        self.assertEqual(self.run_cp(b"plain@example.test\0" + chal + b"\0" + good + b"\0")[0],
                         0)
        self.assertEqual(self.run_cp(b"plain@example.test\0" + chal + b"\0" + b"0" * 32 +
                                     b"\0")[0], 1)
        # a crypt hash cannot answer a challenge
        self.assertEqual(self.run_cp(b"yes@example.test\0" + chal + b"\0" + good + b"\0")[0], 1)

    def test_trouble_is_111_and_usage_2(self):
        code, out, err = self.run_cp(b"yes@example.test\0x\0",
                                     args=["-f", os.path.join(self.tmp, "missing")])
        self.assertEqual(code, 111)
        self.assertIn("qmail-checkpassword: fatal: unable to read", err)
        code, out, err = self.run_cp(b"yes@example.test\0" + PW.encode() + b"\0",
                                     prog=("/nonexistent/prog",))
        self.assertEqual(code, 111)
        self.assertEqual(self.run_cp(b"", prog=())[0], 2)

    def test_system_account_refuses_cram_and_unknown(self):
        """Without -f: an unknown system user and any CRAM-MD5 login are
        refused (there is no plaintext to answer a challenge with)."""
        self.assertEqual(self.run_cp(b"no-such-user-qng\0x\0", args=[])[0], 1)
        self.assertEqual(self.run_cp(b"root\0<1.2@h>\0" + b"a" * 32 + b"\0", args=[])[0], 1)


if __name__ == "__main__":
    unittest.main()
