# SPDX-License-Identifier: ISC
"""Helpers for the POP3 tests: a POP3 listener on a free loopback port
(tcpserver + whatever command line), a raw line-by-line POP3 client that
can switch to TLS, and a test CA's certificate installed as
control/servercert.pem.  Every read has a timeout."""
import os
import socket
import ssl

import qng
from testca import TestCA


def start_pop(inst, argv, env=None, name="pop3", rules=None):
    """tcpserver on 127.0.0.1 (a free port) running argv for each
    connection, with rules (tcp.pop3 text, compiled and given with -x) or
    none; stderr goes to tmp/NAME.log.  Returns the port."""
    cmd = [os.path.join(inst.bin, "tcpserver"), "-1", "-R", "-H", "-v"]
    if rules is not None:
        cmd += ["-x", inst.rules(rules, name="tcp.pop3")]
    if qng.IS_ROOT:
        cmd += ["-u", str(inst.uid), "-g", str(inst.gid)]
    cmd += ["127.0.0.1", "0"] + list(argv)
    p = inst.start(cmd, env=env, logname=name + ".log")
    line = inst._readline_timeout(p, 10)
    if not line:
        raise RuntimeError("tcpserver did not print its port; log:\n" + inst.log(name + ".log"))
    return int(line.split()[-1])


def start_pop3_chain(inst, host="test.local", env=None, name="pop3", rules=None):
    """The seeds' POP3 server: tcpserver + qmail-popup HOST vchkpw
    qmail-pop3d Maildir (see start_pop).  Returns the port."""
    b = inst.bin
    return start_pop(inst, [os.path.join(b, "qmail-popup"), host, os.path.join(b, "vchkpw"),
                            os.path.join(b, "qmail-pop3d"), "Maildir"],
                     env=env, name=name, rules=rules)


def install_cert(inst, name="test.local"):
    """A certificate for name from a fresh test CA as
    control/servercert.pem; returns two client contexts trusting the CA:
    one that checks the name (for Raw), one that does not (for poplib,
    which connects to 127.0.0.1 and would check that)."""
    ca = TestCA(inst.tmp)
    pem = ca.issue(name)
    with open(pem, "rb") as f:
        inst.write(inst.path("control", "servercert.pem"), f.read(), mode=0o600)
    inst.pop_cafile = ca.cert  # for openssl s_client
    ctx = ssl.create_default_context(cafile=ca.cert)
    noname = ssl.create_default_context(cafile=ca.cert)
    noname.check_hostname = False
    return ctx, noname


class Raw:
    """A raw POP3 client: exact reply lines (str, CR LF removed)."""

    def __init__(self, port, host="127.0.0.1", timeout=15, tls=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname="test.local")
        self.f = self.sock.makefile("rb")
        self.greeting = self.line()

    def rawline(self):
        line = self.f.readline(1 << 20)
        if not line:
            raise EOFError("connection closed")
        return line

    def line(self):
        return self.rawline().decode("utf-8", "replace").rstrip("\r\n")

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.line()

    def multi(self):
        """The lines of a multi-line reply after its first, up to '.'."""
        out = []
        for _ in range(100000):
            line = self.line()
            if line == ".":
                return out
            out.append(line)
        raise AssertionError("no end of the multi-line reply")

    def starttls(self, ctx):
        self.f.close()
        self.sock = ctx.wrap_socket(self.sock, server_hostname="test.local")
        self.f = self.sock.makefile("rb")

    def rest(self, timeout=10):
        """Everything the server still says until it closes (bytes); a
        reset counts as the close.  Raises socket.timeout if it does not."""
        self.sock.settimeout(timeout)
        out = b""
        try:
            for _ in range(100000):
                chunk = self.f.read1(65536)
                if not chunk:
                    break
                out += chunk
        except (ConnectionResetError, ssl.SSLEOFError):
            pass
        return out

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass
