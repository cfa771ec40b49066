#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# scripts/deps.sh - check what building and testing qmail-ng needs.  As root
# on Debian, install what is missing with apt-get; otherwise print the exact
# command and stop.  Quiet when everything is there.
set -u

missing=()
need_pkg() { missing+=("$1"); }

command -v gcc >/dev/null 2>&1 || need_pkg gcc
command -v make >/dev/null 2>&1 || need_pkg make
command -v pkg-config >/dev/null 2>&1 || need_pkg pkg-config
[ -f /usr/include/cdb.h ] || need_pkg libcdb-dev
pkg-config --exists openssl 2>/dev/null || [ -f /usr/include/openssl/ssl.h ] || need_pkg libssl-dev
# libpq for the PostgreSQL account store (src/vpop/vauth_pg.c)
[ -f /usr/include/postgresql/libpq-fe.h ] || pkg-config --exists libpq 2>/dev/null ||
    need_pkg libpq-dev
# a real PostgreSQL (initdb, pg_ctl, postgres, psql) for test_vpop_pgsql
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkg postgresql
# crypt(3) with yescrypt for qmail-checkpassword
[ -f /usr/include/crypt.h ] || need_pkg libcrypt-dev
# the openssl command: the tests make their own CA and certificates
command -v openssl >/dev/null 2>&1 || need_pkg openssl
# swaks: an independent SMTP client with STARTTLS and AUTH for the tests
command -v swaks >/dev/null 2>&1 || need_pkg swaks
# ...whose TLS and CRAM-MD5 need these Perl modules
perl -MNet::SSLeay -e1 2>/dev/null || need_pkg libnet-ssleay-perl
perl -MIO::Socket::SSL -e1 2>/dev/null || need_pkg libio-socket-ssl-perl
perl -MDigest::HMAC_MD5 -e1 2>/dev/null || need_pkg libdigest-hmac-perl
command -v python3 >/dev/null 2>&1 || need_pkg python3
# runuser lives in /usr/sbin, outside an ordinary user's PATH
command -v runuser >/dev/null 2>&1 || [ -x /usr/sbin/runuser ] || [ -x /sbin/runuser ] ||
    need_pkg util-linux
# pgrep and ps for the tests that kill processes at random moments
command -v pgrep >/dev/null 2>&1 || need_pkg procps
# service names such as "smtp" for tcpserver (the guides' command lines)
[ -f /etc/services ] || need_pkg netbase
# a real DNS server on loopback for the DNS tests (tests/e2e/dnsserver.py);
# it lives in /usr/sbin, outside an ordinary user's PATH
command -v unbound >/dev/null 2>&1 || [ -x /usr/sbin/unbound ] || need_pkg unbound
# Dovecot 2.3: IMAP on the same Maildirs (tests/e2e/test_dovecot.py, the
# demo's IMAP) and the POP3 server the benchmark compares ours with
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need_pkg dovecot-core
[ -x /usr/lib/dovecot/imap ] || need_pkg dovecot-imapd
[ -x /usr/lib/dovecot/pop3 ] || need_pkg dovecot-pop3d
# Debian's daemontools (svscan, supervise, svc, setuidgid): the install
# test runs the shipped run scripts under the real supervisor
command -v svscan >/dev/null 2>&1 || need_pkg daemontools
# systemd-analyze checks the shipped units (systemd need not be PID 1)
command -v systemd-analyze >/dev/null 2>&1 || need_pkg systemd
# ip netns: the install test's listener binds port 25 in a namespace
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || need_pkg iproute2
# the brief libFuzzer runs in `make check` (skipped when clang is absent)
command -v clang >/dev/null 2>&1 || need_pkg clang
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
    ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer*.a >/dev/null 2>&1 ||
    need_pkg libclang-rt-14-dev

[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/qng-deps.log 2>&1; then
        apt-get update -qq >/dev/null 2>&1
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/qng-deps.log 2>&1 || {
            cat /tmp/qng-deps.log; echo "deps: apt-get failed"; exit 1; }
    fi
    exit 0
fi
echo "deps: missing ${missing[*]}"
echo "deps: as root, run:  $cmd"
exit 1
