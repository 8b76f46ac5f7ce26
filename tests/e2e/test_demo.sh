#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make demo` is one of the README's two commands: run scripts/demo.sh (the
# build is already there) and check it finishes, shows what it says it
# shows, and leaves nothing behind. The demo builds and removes its own
# namespaces (zhdemo-*), etcd, agents and pins.
. "$(dirname "$0")/lib.sh"
require_root
command -v etcd >/dev/null || skip_all "needs etcd (make deps installs etcd-server)"
mk_tmpdir T || bail "no temporary directory"

build=$(dirname "$ZH")
if BUILD=$build timeout 300 "$ZH_TOP/scripts/demo.sh" >"$T/demo.log" 2>&1; then
	tap_ok "scripts/demo.sh exits 0"
else
	tap_fail "scripts/demo.sh exits 0"
	tail -n 30 "$T/demo.log" | sed 's/^/# /'
fi
check "the demo applies the intent with zerohop apply" grep -q '\$ zerohop apply -f' "$T/demo.log"
check "the demo shows the agent in zerohop status" grep -q 'agent: source etcd:' "$T/demo.log"
check "the demo's cross-host and peered pings succeed (no FAILED line)" \
	bash -c "! grep -q FAILED '$T/demo.log'"
expect_eq "no demo namespace is left" "$(ip netns list | grep -c '^zhdemo')" 0
expect_eq "no demo instance is left" "$(ls "$ZH_PINS" 2>/dev/null | grep -c '^zhdemo')" 0
expect_eq "no demo process is left" "$(pgrep -fc 'zhdemo' || true)" 0
finish
