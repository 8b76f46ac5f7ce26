# SPDX-License-Identifier: GPL-2.0-only
# zerohop build: BPF objects -> libbpf skeletons -> loader library -> CLI.
# Quiet by default; `make V=1` shows every command.

VERSION     := 0.1.0
BUILD       ?= build
PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      ?= $(PREFIX)/bin
DOCDIR      ?= $(PREFIX)/share/doc/zerohop
SYSTEMD_UNITDIR ?= $(PREFIX)/lib/systemd/system

CC          ?= cc
CLANG       ?= clang
BPFTOOL     ?= bpftool
PKG_CONFIG  ?= pkg-config

# vmlinux.h: from the running kernel's BTF by default. Without
# /sys/kernel/btf/vmlinux, point VMLINUX_BTF at another BTF/ELF file
# (e.g. a vmlinux from linux-image-*-dbg) or VMLINUX_H at a ready header.
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
VMLINUX_H   ?=

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
MAKEFLAGS += --no-print-directory
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:

BPF_PROGS   := xdp_uplink tc_uplink tc_port
BPF_OBJS    := $(patsubst %,$(BUILD)/bpf/%.bpf.o,$(BPF_PROGS))
BPF_SKELS   := $(patsubst %,$(BUILD)/bpf/%.skel.h,$(BPF_PROGS))
BPF_HDRS    := $(wildcard bpf/lib/*.h) $(wildcard include/*.h)

BPF_CFLAGS  := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
               -I$(BUILD) -Iinclude -Ibpf

LIBBPF_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBBPF_LIBS   := $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf)
JSONC_CFLAGS  := $(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)
JSONC_LIBS    := $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null || echo -ljson-c)
CURL_CFLAGS   := $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null)
CURL_LIBS     := $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null || echo -lcurl)

CFLAGS      ?= -O2 -g
ZH_CFLAGS   := $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation \
               -D_GNU_SOURCE -DZH_VERSION='"$(VERSION)"' \
               -Iinclude -Iloader -Icontroller -Iagent -I$(BUILD)/bpf \
               $(LIBBPF_CFLAGS) $(JSONC_CFLAGS) $(CURL_CFLAGS)
LDLIBS      := $(LIBBPF_LIBS) -lelf -lz $(JSONC_LIBS) $(CURL_LIBS)

LOADER_SRCS := $(wildcard loader/*.c)
LOADER_OBJS := $(patsubst loader/%.c,$(BUILD)/obj/loader/%.o,$(LOADER_SRCS))
CLI_SRCS    := $(wildcard loader/cli/*.c)
CLI_OBJS    := $(patsubst loader/cli/%.c,$(BUILD)/obj/cli/%.o,$(CLI_SRCS))
LIBZH       := $(BUILD)/libzerohop.a
# controller/: data model + etcd client (libzhctl.a), zerohop-controller
# from controller/cmd/. agent/: libzhagent.a (all but main.c, so unit tests
# can link it) and zerohop-agent.
CTL_SRCS    := $(wildcard controller/*.c)
CTL_OBJS    := $(patsubst controller/%.c,$(BUILD)/obj/controller/%.o,$(CTL_SRCS))
LIBCTL      := $(BUILD)/libzhctl.a
CTLD_SRCS   := $(wildcard controller/cmd/*.c)
CTLD_OBJS   := $(patsubst controller/cmd/%.c,$(BUILD)/obj/ctld/%.o,$(CTLD_SRCS))
AGENT_SRCS  := $(filter-out agent/main.c,$(wildcard agent/*.c))
AGENT_OBJS  := $(patsubst agent/%.c,$(BUILD)/obj/agent/%.o,$(AGENT_SRCS))
LIBAGENT    := $(BUILD)/libzhagent.a
BINS        := $(BUILD)/zerohop $(if $(wildcard agent/main.c),$(BUILD)/zerohop-agent) \
               $(if $(CTLD_SRCS),$(BUILD)/zerohop-controller)

UNIT_TESTS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS   := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(wildcard tests/bpf/test_*.c))
TEST_LIBS   := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)
# tests/tools/: helper programs for the e2e tests, linked with libzhctl.a.
TEST_TOOLS  := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(wildcard tests/tools/*.c))

.PHONY: all deps check test tests demo bench bench-build install clean help

all: $(BINS)

help:
	@echo 'make            build BPF objects, skeletons and build/zerohop'
	@echo 'make deps       install build and test dependencies (Debian 12, root)'
	@echo 'make check      deps + build + every test suite (root)'
	@echo 'make demo       deps + build + a demo cloud in network namespaces: 2 shards, 3 hosts, peering (root)'
	@echo 'make bench      build + benchmarks vs the Linux vxlan device (root; build/bench/)'
	@echo 'make install    install into $$(DESTDIR)$$(PREFIX)'
	@echo 'make clean      remove build/'
	@echo 'V=1             show commands'

deps:
	$(Q)scripts/deps.sh

# --- BPF ----------------------------------------------------------------

$(BUILD)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)if [ -n "$(VMLINUX_H)" ]; then \
		cp "$(VMLINUX_H)" $@; \
	elif [ -r "$(VMLINUX_BTF)" ]; then \
		$(BPFTOOL) btf dump file "$(VMLINUX_BTF)" format c > $@; \
	else \
		echo "zerohop: no kernel BTF at $(VMLINUX_BTF); set VMLINUX_BTF=FILE (a vmlinux with BTF) or VMLINUX_H=FILE (see docs/build.md)" >&2; \
		exit 1; \
	fi

$(BUILD)/bpf/%.tmp.o: bpf/%.bpf.c $(BUILD)/vmlinux.h $(BPF_HDRS)
	$(call msg,CLANG,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# `bpftool gen object` links the object and strips DWARF, keeping BTF.
$(BUILD)/bpf/%.bpf.o: $(BUILD)/bpf/%.tmp.o
	$(call msg,BPFLINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

# --- user space -----------------------------------------------------------

$(BUILD)/obj/loader/%.o: loader/%.c $(BPF_SKELS) $(wildcard loader/*.h) $(wildcard include/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ZH_CFLAGS) -c $< -o $@

$(BUILD)/obj/cli/%.o: loader/cli/%.c $(wildcard loader/*.h) $(wildcard loader/cli/*.h) $(wildcard include/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ZH_CFLAGS) -c $< -o $@

$(BUILD)/obj/controller/%.o: controller/%.c $(wildcard controller/*.h) $(wildcard include/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ZH_CFLAGS) -c $< -o $@

$(BUILD)/obj/ctld/%.o: controller/cmd/%.c $(wildcard controller/*.h) $(wildcard controller/cmd/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ZH_CFLAGS) -c $< -o $@

$(BUILD)/obj/agent/%.o: agent/%.c $(BPF_SKELS) $(wildcard agent/*.h) $(wildcard controller/*.h) \
			$(wildcard loader/*.h) $(wildcard include/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ZH_CFLAGS) -c $< -o $@

$(LIBZH): $(LOADER_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(LIBCTL): $(CTL_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(LIBAGENT): $(AGENT_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/zerohop: $(CLI_OBJS) $(LIBCTL) $(LIBZH)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ZH_CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/zerohop-agent: $(BUILD)/obj/agent/main.o $(LIBAGENT) $(LIBCTL) $(LIBZH)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ZH_CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/zerohop-controller: $(CTLD_OBJS) $(LIBCTL)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ZH_CFLAGS) $^ $(LDLIBS) -lcrypt -o $@

# --- tests ----------------------------------------------------------------

$(BUILD)/tests/%: tests/unit/%.c $(LIBAGENT) $(LIBCTL) $(LIBZH)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ZH_CFLAGS) $< $(LIBAGENT) $(LIBCTL) $(LIBZH) $(TEST_LIBS) $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/bpf/%.c $(wildcard tests/bpf/*.h) $(LIBZH) $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ZH_CFLAGS) $< $(LIBZH) $(TEST_LIBS) $(LDLIBS) -o $@

$(BUILD)/tests/tools/%: tests/tools/%.c $(LIBCTL) $(wildcard controller/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ZH_CFLAGS) $< $(LIBCTL) $(LDLIBS) -o $@

tests: $(BINS) $(UNIT_TESTS) $(BPF_TESTS) $(TEST_TOOLS)

# Native suites, then the kernel matrix (vm-tests/run) in one summary.
check: deps
	$(Q)$(MAKE) tests
	$(Q)tests/run unit bpf e2e vm

test: tests
	$(Q)tests/run

demo: deps
	$(Q)$(MAKE) all
	$(Q)scripts/demo.sh

# --- benchmarks -------------------------------------------------------------

BENCH_BINS  := $(BUILD)/bench/bench_paths $(BUILD)/bench/udp_echo $(BUILD)/bench/cp_bench \
	       $(BUILD)/bench/peer_bench

$(BUILD)/bench/bench_paths: tests/bench/bench_paths.c tests/bpf/pkt.h $(LIBZH) $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ZH_CFLAGS) -Itests/bpf $< $(LIBZH) $(LDLIBS) -o $@

$(BUILD)/bench/udp_echo: tests/bench/udp_echo.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ZH_CFLAGS) $< -lm -o $@

$(BUILD)/bench/cp_bench: tests/bench/cp_bench.c tests/bench/cp_common.h $(LIBCTL) $(LIBZH)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ZH_CFLAGS) $< $(LIBCTL) $(LIBZH) $(LDLIBS) -o $@

$(BUILD)/bench/peer_bench: tests/bench/peer_bench.c tests/bench/cp_common.h $(LIBCTL) $(LIBZH)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ZH_CFLAGS) $< $(LIBCTL) $(LIBZH) $(LDLIBS) -o $@

bench-build: $(BINS) $(BENCH_BINS)

bench: deps
	$(Q)$(MAKE) all
	$(Q)$(MAKE) bench-build
	$(Q)rc=0; BUILD=$(BUILD) tests/bench/run || rc=1; \
		BUILD=$(BUILD) tests/bench/cp_run || rc=1; \
		BUILD=$(BUILD) tests/bench/peer_run || rc=1; exit $$rc

# --- install / clean --------------------------------------------------------

install: $(BINS)
	$(call msg,INSTALL,$(DESTDIR)$(BINDIR)/zerohop)
	$(Q)install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DOCDIR)
	$(Q)install -m 0755 $(BUILD)/zerohop $(DESTDIR)$(BINDIR)/zerohop
	$(Q)install -m 0644 README.md LICENSE $(wildcard docs/*.md) $(DESTDIR)$(DOCDIR)/
	$(if $(filter $(BUILD)/zerohop-agent,$(BINS)),$(call msg,INSTALL,$(DESTDIR)$(BINDIR)/zerohop-agent))
	$(if $(filter $(BUILD)/zerohop-agent,$(BINS)),$(Q)install -m 0755 $(BUILD)/zerohop-agent $(DESTDIR)$(BINDIR)/zerohop-agent)
	$(if $(filter $(BUILD)/zerohop-controller,$(BINS)),$(call msg,INSTALL,$(DESTDIR)$(BINDIR)/zerohop-controller))
	$(if $(filter $(BUILD)/zerohop-controller,$(BINS)),$(Q)install -m 0755 $(BUILD)/zerohop-controller $(DESTDIR)$(BINDIR)/zerohop-controller)
	$(call msg,INSTALL,$(DESTDIR)$(SYSTEMD_UNITDIR)/zerohop-agent.service)
	$(Q)install -d $(DESTDIR)$(SYSTEMD_UNITDIR)
	$(Q)sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' agent/zerohop-agent.service \
		> $(DESTDIR)$(SYSTEMD_UNITDIR)/zerohop-agent.service
	$(Q)chmod 0644 $(DESTDIR)$(SYSTEMD_UNITDIR)/zerohop-agent.service
	$(Q)install -m 0644 agent/agent.example.json $(DESTDIR)$(DOCDIR)/

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)
