# SPDX-License-Identifier: ISC
"""DNS servers on loopback for the end-to-end tests.

Two kinds, both started on a free port of 127.0.0.1 and/or ::1 and
stopped (with their files removed) by stop(), or by a with-block:

  Unbound(zones)   Debian's unbound, a real recursive server, answering
                   from local data only (local-zone "." static: nothing
                   it is not given exists, and it never asks the
                   Internet).  zones maps a name to its records:

      z = Unbound({
          "example.test": ["MX 10 mx1.example.test", "MX 20 mx2.example.test"],
          "mx1.example.test": ["A 192.0.2.1", "AAAA 2001:db8::1"],
          "alias.example.test": ["CNAME example.test"],
          ptr_name("192.0.2.1"): ["PTR mx1.example.test"],
      })

                   Record text is "TYPE RDATA" as in a zone file; names
                   in MX, CNAME, PTR and NS data are made absolute.
                   Options: v4/v6 (which addresses to listen on), tcp
                   (False: UDP only, so a truncated answer stays
                   truncated), udp_size (the most unbound puts in a UDP
                   answer, max-udp-size), extra (more "server:" lines).

  StubDNS(handler) a small server of our own, in a thread, for answers a
                   real server will not give: truncated over UDP but
                   whole over TCP, malformed packets, wrong ids, SERVFAIL,
                   silence.  handler(query, tcp) returns the packets to
                   send back (bytes, a list of them, or None for none,
                   which over TCP closes the connection);
                   reply() and rr() build them, zone_handler() answers
                   from a dict like Unbound's without following CNAMEs,
                   rcode_handler(2) says SERVFAIL to everything, silent
                   never answers, truncating(h) sets TC over UDP and
                   lets h answer over TCP.
                   stub.queries lists what was asked: (name, type, tcp,
                   edns) tuples.

A server's servers() gives its dnsservers lines; write_dnsservers(inst,
*servers) writes control/dnsservers of a qng.Instance.  Every wait is
bounded; the servers work as root and as an ordinary user.
"""
import ipaddress
import os
import selectors
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "OPT": 41}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
NAME_DATA = ("MX", "CNAME", "PTR", "NS")

UNBOUND = shutil.which("unbound") or ("/usr/sbin/unbound" if os.path.exists("/usr/sbin/unbound")
                                      else None)


def have_ipv6():
    """True when ::1 can be bound (loopback IPv6 is configured)."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def ptr_name(ip):
    """The reverse name of an IPv4 or IPv6 address, without trailing dot."""
    return ipaddress.ip_address(ip).reverse_pointer


def server_line(host, port):
    """A dnsservers line: 127.0.0.1:5353 or [::1]:5353."""
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def write_dnsservers(inst, *servers):
    """Write inst's control/dnsservers.  Each argument is a server object
    (all its addresses), a (host, port) pair or a ready line."""
    lines = []
    for s in servers:
        if isinstance(s, str):
            lines.append(s)
        elif isinstance(s, tuple):
            lines.append(server_line(*s))
        else:
            lines.extend(s.servers())
    inst.control("dnsservers", "".join(l + "\n" for l in lines))


def _free_port(hosts):
    """A port free for UDP and TCP on every host (a race we retry)."""
    for _ in range(50):
        fam = socket.AF_INET6 if ":" in hosts[0] else socket.AF_INET
        u = socket.socket(fam, socket.SOCK_DGRAM)
        u.bind((hosts[0], 0))
        port = u.getsockname()[1]
        socks = [u]
        ok = True
        try:
            for h in hosts:
                f = socket.AF_INET6 if ":" in h else socket.AF_INET
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    if h == hosts[0] and kind == socket.SOCK_DGRAM:
                        continue
                    s = socket.socket(f, kind)
                    socks.append(s)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((h, port))
        except OSError:
            ok = False
        for s in socks:
            s.close()
        if ok:
            return port
    raise RuntimeError("no free port on %s" % (hosts,))


# --- wire format --------------------------------------------------------

def encode_name(name):
    """A domain name in wire format, uncompressed ("" or "." is the root)."""
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            b = label.encode()
            out += bytes([len(b)]) + b
    return out + b"\0"


def _read_name(msg, off):
    """Text name at off (following pointers, bounded) and the offset after it."""
    labels, end, jumps = [], None, 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = (n & 0x3F) << 8 | msg[off + 1]
            jumps += 1
            if jumps > 64:
                raise ValueError("pointer loop")
            continue
        if n == 0:
            return ".".join(labels), (end if end is not None else off + 1)
        labels.append(msg[off + 1:off + 1 + n].decode("latin-1"))
        off += 1 + n


def rdata(rtype, value):
    """The rdata bytes of a record given as text ("10 mx.example.test" for
    MX, an address for A/AAAA, a name for CNAME/PTR/NS) or raw bytes."""
    if isinstance(value, bytes):
        return value
    if rtype == "A":
        return socket.inet_pton(socket.AF_INET, value)
    if rtype == "AAAA":
        return socket.inet_pton(socket.AF_INET6, value)
    if rtype == "MX":
        pref, host = value.split(None, 1)
        return struct.pack(">H", int(pref)) + encode_name(host)
    if rtype in ("CNAME", "PTR", "NS"):
        return encode_name(value)
    if rtype == "TXT":
        b = value.encode()
        return bytes([len(b)]) + b
    if rtype == "SOA":
        mname, rname, *nums = value.split()
        return encode_name(mname) + encode_name(rname) + struct.pack(">5I", *map(int, nums))
    raise ValueError("no encoder for %s" % rtype)


def rr(name, rtype, value, ttl=300, rclass=1):
    """One resource record in wire format."""
    data = rdata(rtype, value)
    t = TYPES[rtype] if isinstance(rtype, str) else rtype
    return encode_name(name) + struct.pack(">HHIH", t, rclass, ttl, len(data)) + data


class Query:
    """A parsed query: id, flags, name (lower case, no dot), type (text),
    qtype (number), edns (an OPT record was present), raw bytes and the
    raw question section."""

    def __init__(self, raw):
        self.raw = raw
        self.id, self.flags, qd, an, ns, ar = struct.unpack(">6H", raw[:12])
        if qd != 1:
            raise ValueError("query with %d questions" % qd)
        self.name, off = _read_name(raw, 12)
        self.name = self.name.lower()
        self.qtype, self.qclass = struct.unpack(">HH", raw[off:off + 4])
        self.type = TYPE_NAMES.get(self.qtype, str(self.qtype))
        self.question = raw[12:off + 4]
        self.edns = False
        p = off + 4
        for _ in range(ar):
            _, p2 = _read_name(raw, p)
            t = struct.unpack(">H", raw[p2:p2 + 2])[0]
            rdlen = struct.unpack(">H", raw[p2 + 8:p2 + 10])[0]
            if t == 41:
                self.edns = True
            p = p2 + 10 + rdlen


def reply(q, answers=(), rcode=0, tc=False, authority=(), additional=(), qid=None,
          question=None, counts=None):
    """An answer to q: answers/authority/additional are lists of rr()
    bytes.  qid, question (raw bytes, b"" for none) and counts (a 4-tuple
    for the header, true or not) let a test lie."""
    flags = 0x8000 | 0x0400 | (q.flags & 0x0100) | 0x0080 | (rcode & 15)
    if tc:
        flags |= 0x0200
    qs = q.question if question is None else question
    if counts is None:
        counts = (1 if qs else 0, len(answers), len(authority), len(additional))
    head = struct.pack(">6H", q.id if qid is None else qid, flags, *counts)
    return head + qs + b"".join(answers) + b"".join(authority) + b"".join(additional)


def _split_record(text):
    rtype, _, value = text.strip().partition(" ")
    return rtype.upper(), value.strip()


def zone_handler(zones):
    """A handler answering from zones (as for Unbound) without following
    CNAMEs: a CNAME is returned alone, so the client must ask again.
    Names not in zones are NXDOMAIN."""
    table = {k.lower().rstrip("."): v for k, v in zones.items()}

    def handler(q, tcp):
        recs = table.get(q.name)
        if recs is None:
            return reply(q, rcode=3)
        out = []
        for text in recs:
            rtype, value = _split_record(text)
            if rtype == q.type or rtype == "CNAME":
                out.append(rr(q.name, rtype, value))
        return reply(q, out)
    return handler


def rcode_handler(rcode):
    """A handler answering every query with rcode (2 SERVFAIL, 3 NXDOMAIN,
    5 REFUSED) and no records."""
    return lambda q, tcp: reply(q, rcode=rcode)


def silent(q, tcp):
    """A handler that never answers (and closes TCP connections)."""
    return None


def truncating(handler):
    """handler over TCP; over UDP only an empty answer with TC set."""
    return lambda q, tcp: handler(q, tcp) if tcp else reply(q, tc=True)


class StubDNS:
    """A scripted DNS server (UDP and TCP on one port) in a thread."""

    def __init__(self, handler, host="127.0.0.1"):
        self.handler = handler
        self.host = host
        self.queries = []
        self.errors = []
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        for _ in range(50):
            self.udp = socket.socket(fam, socket.SOCK_DGRAM)
            self.udp.bind((host, 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(fam, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind((host, self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
        else:
            raise RuntimeError("no free port for the stub DNS server")
        self.tcp.listen(8)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def servers(self):
        return [server_line(self.host, self.port)]

    def _answers(self, raw, tcp):
        try:
            q = Query(raw)
        except (ValueError, IndexError, struct.error) as e:
            self.errors.append("bad query %r: %s" % (raw, e))
            return []
        self.queries.append((q.name, q.type, tcp, q.edns))
        out = self.handler(q, tcp)
        if out is None:
            return []
        return [out] if isinstance(out, bytes) else list(out)

    def _serve_tcp(self, conn):
        conn.settimeout(5)
        try:
            while True:
                head = b""
                while len(head) < 2:
                    chunk = conn.recv(2 - len(head))
                    if not chunk:
                        return
                    head += chunk
                n = struct.unpack(">H", head)[0]
                raw = b""
                while len(raw) < n:
                    chunk = conn.recv(n - len(raw))
                    if not chunk:
                        return
                    raw += chunk
                answers = self._answers(raw, True)
                if not answers:
                    return  # over TCP, no answer closes the connection
                for a in answers:
                    conn.sendall(struct.pack(">H", len(a)) + a)
        except OSError:
            return
        finally:
            conn.close()

    def _run(self):
        sel = selectors.DefaultSelector()
        sel.register(self.udp, selectors.EVENT_READ)
        sel.register(self.tcp, selectors.EVENT_READ)
        while not self._stop.is_set():
            for key, _ in sel.select(timeout=0.1):
                try:
                    if key.fileobj is self.udp:
                        raw, peer = self.udp.recvfrom(65535)
                        for a in self._answers(raw, False):
                            self.udp.sendto(a, peer)
                    else:
                        conn, _ = self.tcp.accept()
                        self._serve_tcp(conn)
                except OSError as e:
                    if not self._stop.is_set():
                        self.errors.append(str(e))
        sel.close()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        self.udp.close()
        self.tcp.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def ask(host, port, name, qtype="A", timeout=2.0):
    """One UDP query from Python; the answer bytes, or None on timeout."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        qid = int.from_bytes(os.urandom(2), "big")
        s.sendto(struct.pack(">6H", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) +
                 struct.pack(">HH", TYPES[qtype], 1), (host, port))
        while True:
            data, _ = s.recvfrom(65535)
            if data[:2] == qid.to_bytes(2, "big"):
                return data
    except (socket.timeout, ConnectionRefusedError):
        return None
    finally:
        s.close()


class Unbound:
    """Debian's unbound serving zones from local data on loopback."""

    def __init__(self, zones, v4=True, v6=False, tcp=True, udp_size=None, extra=(),
                 start_timeout=15, addr4="127.0.0.1", port=None):
        """addr4: the IPv4 loopback address to listen on; port: a fixed
        port (bench/abuse.py: 53, for a resolv.conf) instead of a free one."""
        if not UNBOUND:
            raise RuntimeError("unbound is not installed (apt-get install unbound)")
        if not v4 and not v6:
            raise ValueError("listen on IPv4, IPv6 or both")
        self.addr4 = addr4
        self.hosts = ([addr4] if v4 else []) + (["::1"] if v6 else [])
        self.tmp = tempfile.mkdtemp(prefix="qng-unbound-")
        os.chmod(self.tmp, 0o755)
        self.zones = zones
        self.extra = list(extra)
        self.proc = None
        self.log = os.path.join(self.tmp, "unbound.log")
        last = ""
        for _ in range(1 if port else 5):
            self.port = port or _free_port(self.hosts)
            self._write_conf(tcp, udp_size)
            if self._start(start_timeout):
                return
            last = self.read_log()
        self.stop()
        raise RuntimeError("unbound did not start; its log:\n" + last)

    def _write_conf(self, tcp, udp_size):
        lines = [
            "server:",
            "    verbosity: 1",
            "    port: %d" % self.port,
            "    do-ip4: %s" % ("yes" if self.addr4 in self.hosts else "no"),
            "    do-ip6: %s" % ("yes" if "::1" in self.hosts else "no"),
            "    do-udp: yes",
            "    do-tcp: %s" % ("yes" if tcp else "no"),
            '    username: ""',
            '    chroot: ""',
            '    directory: "%s"' % self.tmp,
            '    pidfile: ""',
            "    use-syslog: no",
            '    logfile: ""',
            "    num-threads: 1",
            "    outgoing-range: 16",
            "    so-reuseport: no",
            "    access-control: 127.0.0.0/8 allow",
            "    access-control: ::1 allow",
            '    module-config: "iterator"',
            # nothing outside the given data exists, and nothing is asked
            # of the Internet: every name is under the static root zone
            '    local-zone: "." static',
        ]
        if self.addr4 in self.hosts:
            lines.append("    outgoing-interface: %s" % self.addr4)
        else:
            lines.append("    outgoing-interface: ::1")
        for h in self.hosts:
            lines.append("    interface: %s@%d" % (h, self.port))
        if udp_size:
            lines.append("    max-udp-size: %d" % udp_size)
        lines += ["    " + l.strip() for l in self.extra]
        for name, recs in self.zones.items():
            owner = name.rstrip(".") + "."
            for text in recs:
                rtype, value = _split_record(text)
                if rtype in NAME_DATA:
                    parts = value.split()
                    parts[-1] = parts[-1].rstrip(".") + "."
                    value = " ".join(parts)
                data = "%s 300 IN %s %s" % (owner, rtype, value)
                # unbound.conf keeps a backslash as it is: data with quotes
                # (TXT "a b" "c") goes inside single quotes instead
                if '"' in data:
                    lines.append("    local-data: '%s'" % data)
                else:
                    lines.append('    local-data: "%s"' % data)
        lines += ["remote-control:", "    control-enable: no", ""]
        self.conf = os.path.join(self.tmp, "unbound.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines))

    def _start(self, timeout):
        logf = open(self.log, "wb")
        try:
            self.proc = subprocess.Popen([UNBOUND, "-d", "-c", self.conf], stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf, cwd=self.tmp)
        finally:
            logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                return False
            if all(ask(h, self.port, "ready.invalid", timeout=0.2) for h in self.hosts):
                return True
            time.sleep(0.05)
        self._kill()
        return False

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def read_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def servers(self):
        return [server_line(h, self.port) for h in self.hosts]

    def stop(self):
        self._kill()
        if os.environ.get("QNG_KEEP"):
            print("kept", self.tmp)
            return
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
