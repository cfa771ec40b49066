# SPDX-License-Identifier: ISC
"""A test certificate authority made with the openssl command line: a CA,
server certificates signed by it (RSA or ECDSA, any names, valid or
expired), and self-signed ones.  Each certificate comes as a PEM file
holding the key and the chain, the shape of control/servercert.pem.

    ca = TestCA(tmpdir)
    pem = ca.issue("mx.example.test")             # key + cert + CA cert
    old = ca.issue("mx.example.test", expired=True)
    ec = ca.issue("mx.example.test", key="ec")
    selfsigned = ca.selfsigned("mx.example.test")
    ca.cert                                       # the CA certificate
"""
import os
import subprocess

CA_CONF = """\
[ca]
default_ca = test
[test]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}/newcerts
serial = {dir}/serial
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[anything]
commonName = supplied
"""


def _run(*argv, input=None):
    r = subprocess.run(argv, input=input, capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv[:3]),
                                              r.stderr.decode(errors="replace")))
    return r.stdout


def _key(path, kind):
    if kind == "ec":
        _run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-out", path)
    else:
        _run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
             "rsa_keygen_bits:2048", "-out", path)


def _cat(out, *paths, mode=0o600):
    with open(out, "wb") as f:
        for p in paths:
            with open(p, "rb") as g:
                f.write(g.read())
    os.chmod(out, mode)
    return out


class TestCA:
    def __init__(self, directory, name="qmail-ng test CA"):
        self.dir = os.path.join(directory, "ca")
        os.makedirs(os.path.join(self.dir, "newcerts"), exist_ok=True)
        with open(os.path.join(self.dir, "index.txt"), "w"):
            pass
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        self.conf = os.path.join(self.dir, "ca.cnf")
        with open(self.conf, "w") as f:
            f.write(CA_CONF.format(dir=self.dir))
        self.key = os.path.join(self.dir, "ca.key")
        self.cert = os.path.join(self.dir, "ca.pem")
        _key(self.key, "ec")
        _run("openssl", "req", "-x509", "-new", "-key", self.key, "-subj", "/CN=" + name,
             "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", self.cert)
        os.chmod(self.cert, 0o644)
        self.n = 0

    def issue(self, name, key="rsa", expired=False, sans=None):
        """A certificate for name (and sans) signed by the CA; returns the
        path of a PEM with the key, the certificate and the CA's."""
        self.n += 1
        base = os.path.join(self.dir, "srv%d" % self.n)
        _key(base + ".key", key)
        san = ",".join("DNS:" + n for n in (sans or [name]))
        _run("openssl", "req", "-new", "-key", base + ".key", "-subj", "/CN=" + name,
             "-addext", "subjectAltName=" + san, "-out", base + ".csr")
        dates = (["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"]
                 if expired else ["-days", "30"])
        _run("openssl", "ca", "-batch", "-config", self.conf, "-cert", self.cert,
             "-keyfile", self.key, "-in", base + ".csr", "-out", base + ".crt", "-notext",
             *dates)
        return _cat(base + ".pem", base + ".key", base + ".crt", self.cert)

    def selfsigned(self, name, key="rsa"):
        self.n += 1
        base = os.path.join(self.dir, "self%d" % self.n)
        _key(base + ".key", key)
        _run("openssl", "req", "-x509", "-new", "-key", base + ".key", "-subj", "/CN=" + name,
             "-addext", "subjectAltName=DNS:" + name, "-days", "30", "-out", base + ".crt")
        return _cat(base + ".pem", base + ".key", base + ".crt")
