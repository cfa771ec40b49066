# SPDX-License-Identifier: ISC
# qmail-ng: one non-recursive Makefile (doc/architecture.md, "Where to find things").
#
#   make              build every program into build/bin
#   make check        build, then run unit, fuzz-replay and end-to-end tests
#   make check SAN=1  the same with ASan+UBSan (objects go to build-san/)
#   make run          build and start the demo instance in ./demo (foreground)
#   make bench        side-by-side benchmarks against a private Postfix
#   make fuzz         run each libFuzzer target for FUZZTIME seconds (clang)
#   make install      programs into $(QMAIL_HOME)/bin, tcp tools into $(PREFIX)/bin,
#                     man pages, run scripts and systemd units
#   make install-sendmail  /usr/sbin/sendmail and /usr/lib/sendmail links

PREFIX     ?= /usr/local
QMAIL_HOME ?= /var/qmail
DESTDIR    ?=
FUZZTIME   ?= 60
SAN        ?=
.DEFAULT_GOAL := all

CC      ?= gcc
ifeq ($(origin CC),default)
CC      := gcc
endif

ifeq ($(SAN),1)
B        := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
FORTIFY  :=
else
B        := build
SANFLAGS :=
FORTIFY  := -D_FORTIFY_SOURCE=3
endif

WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wold-style-definition -Wvla \
           -Wwrite-strings -Wimplicit-fallthrough -Werror
CFLAGS  ?= -O2 -g
# libpq's headers for the PostgreSQL account store (src/vpop/vauth_pg.c);
# the library itself is not linked but loaded at its first use
# (src/vpop/pglazy.c), so only the PostgreSQL store pays for loading it.
PG_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null || \
               echo -I$$(pg_config --includedir 2>/dev/null))
ALLCFLAGS = -std=c17 -D_GNU_SOURCE $(CFLAGS) $(WARN) $(FORTIFY) \
           -fstack-protector-strong -fPIE $(SANFLAGS) \
           -Isrc/lib -I$(B)/gen $(EXTRA_INC) $(PG_CFLAGS) -MMD -MP
LDFLAGS ?=
ALLLDFLAGS = -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(SANFLAGS) $(LDFLAGS)
LIBS    := -lcdb -lresolv -lcrypt
SSL_LIBS := $(shell pkg-config --libs openssl 2>/dev/null || echo -lssl -lcrypto)

# Programs and the family folder holding each one's main file.  A program
# is built once its main file exists (families grow file by file).
FAMILIES := queue smtpd tcp tools send local inject remote vpop pop3
WANT_queue  := qmail-queue
WANT_smtpd  := qmail-smtpd
WANT_tcp    := tcpserver tcprules tcprulescheck rblsmtpd
WANT_tools  := qmail-qstat qmail-showctl qmail-setup multilog tai64nlocal logpipe \
               qmail-tlskeys qmail-checkpassword \
               dnsmx dnsip dnsptr qmail-rate
WANT_send   := qmail-send qmail-clean qmail-start qmail-qread \
               qmail-qrm qmail-qrequeue qmail-qexpire
WANT_local  := qmail-lspawn qmail-local qmail-getpw qmail-newu qmail-pw2u \
               forward condredirect bouncesaying except preline \
               maildirmake maildir2mbox
WANT_inject := qmail-inject sendmail predate datemail mailsubj
WANT_remote := qmail-remote qmail-rspawn qmail-tcpok
WANT_vpop   := vadddomain vdeldomain vaddaliasdomain vadduser vdeluser vpasswd \
               vmoduser vsetuserquota valias vuserinfo vdominfo vdelivermail \
               vchkpw vconvert vfixperms vemptymailbox clearopensmtp
WANT_pop3   := qmail-popup qmail-pop3d
$(foreach f,$(FAMILIES),$(eval PROGS_$(f) := $(filter \
    $(patsubst src/$(f)/%.c,%,$(wildcard src/$(f)/*.c)),$(WANT_$(f)))))
PROGS := $(foreach f,$(FAMILIES),$(PROGS_$(f)))
# ucspi-tcp's tools install beside the admin's other /usr/local tools.
UCSPI_PROGS := tcpserver tcprules tcprulescheck rblsmtpd

LIB_SRC := $(wildcard src/lib/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
LIB_A   := $(B)/libqng.a

# A program that reaches into another family names it here: qmail-newu
# brings the virtual domains' recipient maps up to date (src/vpop).
USES_qmail-newu := vpop
$(B)/src/local/qmail-newu.o: EXTRA_INC := -iquote src/vpop
# qmail-smtpd serves tcpserver -W's connections with tcpserver's own
# per-connection steps (src/tcp/worker.c, conn.c).
USES_qmail-smtpd := tcp
$(B)/src/smtpd/qmail-smtpd.o: EXTRA_INC := -iquote src/tcp
# qmail-pop3d keeps Maildir++'s maildirsize right after DELE with the
# virtual domains' quota code (src/vpop/vdeliver_quota.c).
USES_qmail-pop3d := vpop
$(B)/src/pop3/%.o: EXTRA_INC := -iquote src/vpop

# A family's archive holds its files other than the main files.
define family_rules
$(1)_MAINS := $$(PROGS_$(1):%=src/$(1)/%.c)
$(1)_SRC   := $$(filter-out $$($(1)_MAINS),$$(wildcard src/$(1)/*.c))
$(1)_OBJ   := $$($(1)_SRC:%.c=$(B)/%.o)
$(B)/lib$(1).a: $$($(1)_OBJ)
	@mkdir -p $$(@D)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
$(foreach p,$(PROGS_$(1)),
$(B)/bin/$(p): $(B)/src/$(1)/$(p).o $(B)/lib$(1).a $(USES_$(p):%=$(B)/lib%.a) $(LIB_A)
	@mkdir -p $$(@D)
	@$$(if $$(V),,echo "  LD      $$@")
	$$(Q)$$(CC) $$(ALLLDFLAGS) -o $$@ $$^ $$(LIBS) $$(SSL_LIBS)
)
endef
$(foreach f,$(FAMILIES),$(eval $(call family_rules,$(f))))
FAMILY_A := $(FAMILIES:%=$(B)/lib%.a)

BINS := $(PROGS:%=$(B)/bin/%)
# Test-only programs the e2e tests drive (tests/prog/NAME.c), e.g.
# vauthdrv, every account-store call on any backend.
TESTPROG_SRC := $(wildcard tests/prog/*.c)
TESTPROGS := $(TESTPROG_SRC:tests/prog/%.c=$(B)/tests/prog/%)

all: $(BINS) $(TESTPROGS)
.PHONY: all check check-nodeps print-mains run bench fuzz install install-sendmail clean unit e2e fuzz-replay deps

# The compile-time home is a generated header, rewritten only when it changes.
$(B)/gen/conf_home.h: FORCE
	@mkdir -p $(@D)
	@printf '#define QMAIL_HOME_DEFAULT "%s"\n' '$(QMAIL_HOME)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:
.PHONY: FORCE



V ?=
Q := $(if $(V),,@)

$(B)/%.o: %.c | $(B)/gen/conf_home.h
	@mkdir -p $(@D)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(ALLCFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

# Unit tests: one binary per tests/unit/test_*.c, linked against everything.
# Tests and fuzz targets see every family's private headers.
$(B)/tests/%.o: EXTRA_INC := $(FAMILIES:%=-iquote src/%)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
$(B)/tests/%: $(B)/tests/unit/%.o $(B)/tests/unit/harness.o $(FAMILY_A) $(LIB_A)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALLLDFLAGS) -o $@ $< $(B)/tests/unit/harness.o \
	    -Wl,--start-group $(FAMILY_A) $(LIB_A) -Wl,--end-group \
	    $(LIBS) $(SSL_LIBS)

$(B)/tests/prog/%: $(B)/tests/prog/%.o $(FAMILY_A) $(LIB_A)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALLLDFLAGS) -o $@ $< \
	    -Wl,--start-group $(FAMILY_A) $(LIB_A) -Wl,--end-group \
	    $(LIBS) $(SSL_LIBS)

# Fuzz targets: with gcc, a replay driver runs each saved corpus file.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
# Test and fuzz objects are kept between runs (and make check's output
# ends with its summary line, not with make removing intermediates).
.SECONDARY: $(UNIT_SRC:%.c=$(B)/%.o) $(FUZZ_SRC:%.c=$(B)/%.o) \
    $(B)/tests/unit/harness.o $(B)/tests/fuzz/replay.o \
    $(TESTPROG_SRC:%.c=$(B)/%.o)
$(B)/fuzz/%: $(B)/tests/fuzz/%.o $(B)/tests/fuzz/replay.o $(FAMILY_A) $(LIB_A)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALLLDFLAGS) -o $@ $< $(B)/tests/fuzz/replay.o \
	    -Wl,--start-group $(FAMILY_A) $(LIB_A) -Wl,--end-group \
	    $(LIBS) $(SSL_LIBS)

check: deps
	@$(MAKE) --no-print-directory check-nodeps

check-nodeps: $(BINS) $(TESTPROGS) $(UNIT_BIN) $(FUZZ_REPLAY)
	@B=$(B) scripts/check

unit: $(UNIT_BIN)
	@B=$(B) scripts/check unit
fuzz-replay: $(FUZZ_REPLAY)
	@B=$(B) scripts/check fuzz
e2e: $(BINS) $(TESTPROGS)
	@B=$(B) scripts/check e2e

# Real libFuzzer builds with clang, run for FUZZTIME seconds each.
fuzz: $(B)/gen/conf_home.h
	@B=$(B) FUZZTIME=$(FUZZTIME) scripts/fuzz

deps:
	@scripts/deps.sh

# For scripts/fuzz: the main files it must leave out.
print-mains:
	@echo $(foreach f,$(FAMILIES),$(PROGS_$(f):%=src/$(f)/%.c))

run: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) scripts/demo run

# The bench's root-mode instance (qmail's uids, the setuid qmail-queue) needs
# programs built for its QMAIL_HOME, which bench/run points at each instance.
BENCH_ROOT_HOME := /var/tmp/qng-bench-root
bench: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory B=$(B)-rootbench QMAIL_HOME=$(BENCH_ROOT_HOME) all
	@B=$(B) BENCH_ROOT_BUILD=$(B)-rootbench BENCH_ROOT_HOME=$(BENCH_ROOT_HOME) bench/run

# Where make install puts what is not under QMAIL_HOME.  man pages go
# where man(1) looks (and into QMAIL_HOME/man, qmail's tree); systemd
# units into PREFIX's unit directory, which systemd searches.
MANDIR     ?= $(PREFIX)/share/man
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
LOGDIR     ?= /var/log/qmail
TCPRULES   ?= /etc/tcp.smtp
SBINDIR    ?= /usr/sbin
USRLIBDIR  ?= /usr/lib
# Tools an admin runs from a shell, linked into PREFIX/bin.
PATH_PROGS := multilog tai64nlocal dnsmx dnsip dnsptr qmail-qstat qmail-qread
SUBST = sed -e 's|@QMAIL_HOME@|$(QMAIL_HOME)|g' -e 's|@PREFIX@|$(PREFIX)|g' \
            -e 's|@LOGDIR@|$(LOGDIR)|g' -e 's|@TCPRULES@|$(TCPRULES)|g'
SERVICE_SCRIPTS := qmail-send/run qmail-send/log/run qmail-smtpd/run \
                   qmail-smtpd/log/run qmail-submission/run qmail-submission/log/run \
                   qmail-smtps/run qmail-smtps/log/run \
                   qmail-pop3d/run qmail-pop3d/log/run qmail-pop3s/run qmail-pop3s/log/run
UNITS := qmail-send.service qmail-smtpd.service qmail-pop3d.service \
         qmail-listener@.service

# install_keep SRC DST MODE: a file the admin may edit (rc, run scripts)
# is installed when absent or unchanged; otherwise the new one goes
# beside it as DST.dist and the admin's stays.
define install_keep
	$(SUBST) $(1) > $(2).tmp && chmod $(3) $(2).tmp && \
	if [ ! -e $(2) ] || cmp -s $(2).tmp $(2); then mv -f $(2).tmp $(2); \
	else mv -f $(2).tmp $(2).dist; echo "kept your $(2); the new one is $(2).dist"; fi
endef

install: $(BINS)
	install -d $(DESTDIR)$(QMAIL_HOME)/bin $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(QMAIL_HOME)/man/man1 $(DESTDIR)$(QMAIL_HOME)/man/man5 \
	    $(DESTDIR)$(QMAIL_HOME)/man/man8 $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(QMAIL_HOME)/doc $(DESTDIR)$(SYSTEMDDIR) \
	    $(SERVICE_SCRIPTS:%/run=$(DESTDIR)$(QMAIL_HOME)/supervise/%)
	for p in $(filter-out $(UCSPI_PROGS),$(PROGS)); do \
	    install -m 755 $(B)/bin/$$p $(DESTDIR)$(QMAIL_HOME)/bin/$$p || exit 1; done
	for p in $(UCSPI_PROGS); do \
	    install -m 755 $(B)/bin/$$p $(DESTDIR)$(PREFIX)/bin/$$p || exit 1; done
	for p in $(PATH_PROGS); do \
	    ln -sf $(QMAIL_HOME)/bin/$$p $(DESTDIR)$(PREFIX)/bin/$$p || exit 1; done
	for m in doc/*.[158]; do s=$${m##*.}; \
	    install -m 644 $$m $(DESTDIR)$(QMAIL_HOME)/man/man$$s/ || exit 1; \
	    install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	install -m 644 doc/*.md $(DESTDIR)$(QMAIL_HOME)/doc/
	$(call install_keep,service/rc.in,$(DESTDIR)$(QMAIL_HOME)/rc,755)
	for f in $(SERVICE_SCRIPTS); do \
	    src=$$(echo $$f | sed -e 's/^qmail-\(submission\|smtps\)/qmail-smtpd/' \
	        -e 's/^qmail-pop3s/qmail-pop3d/'); \
	    $(call install_keep,service/$$src.in,$(DESTDIR)$(QMAIL_HOME)/supervise/$$f,755) \
	    || exit 1; done
	for u in $(UNITS); do \
	    $(SUBST) service/systemd/$$u.in > $(DESTDIR)$(SYSTEMDDIR)/$$u || exit 1; \
	    chmod 644 $(DESTDIR)$(SYSTEMDDIR)/$$u; done
	@echo
	@echo "installed.  Next, as root:"
	@echo "  $(QMAIL_HOME)/bin/qmail-setup -r $(QMAIL_HOME)     # users, modes, control files, $(LOGDIR)"
	@echo "  systemctl daemon-reload && systemctl enable --now qmail-send qmail-smtpd"
	@echo "  (POP3: systemctl enable --now qmail-pop3d qmail-listener@pop3s)"
	@echo "  tail -F $(LOGDIR)/current | tai64nlocal"
	@echo "(daemontools/runit: link $(QMAIL_HOME)/supervise/* into /etc/service;"
	@echo " sendmail for PHP and cron: make install-sendmail)"

# The /usr/sbin/sendmail and /usr/lib/sendmail links that PHP's mail() and
# cron use.  A sendmail of another MTA is left alone unless FORCE=1.
install-sendmail:
	@for l in $(DESTDIR)$(SBINDIR)/sendmail $(DESTDIR)$(USRLIBDIR)/sendmail; do \
	    t=$$(readlink "$$l" 2>/dev/null); \
	    if [ -e "$$l" -o -L "$$l" ] && [ "$$t" != "$(QMAIL_HOME)/bin/sendmail" ] && \
	       [ "$(FORCE)" != 1 ]; then \
	        echo "$$l belongs to another MTA ($${t:-a file}); remove that MTA, or make install-sendmail FORCE=1"; \
	        exit 1; fi; done
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(USRLIBDIR)
	ln -sfn $(QMAIL_HOME)/bin/sendmail $(DESTDIR)$(SBINDIR)/sendmail
	ln -sfn $(QMAIL_HOME)/bin/sendmail $(DESTDIR)$(USRLIBDIR)/sendmail

clean:
	rm -rf build build-san

-include $(shell find $(B) -name '*.d' 2>/dev/null)
