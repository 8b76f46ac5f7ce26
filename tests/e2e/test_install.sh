#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make install DESTDIR=... PREFIX=/usr/local` from the build directory of
# this test run: the binaries, the systemd unit with its paths filled in
# (and accepted by systemd-analyze verify), the example agent config and
# the docs. Nothing is installed outside the temporary DESTDIR.
. "$(dirname "$0")/lib.sh"

BUILD=${BUILD:-$(dirname "$ZH")}
[ -x "$BUILD/zerohop" ] || { tap_fail "no $BUILD/zerohop (run make BUILD=$BUILD)"; exit 1; }
command -v jq >/dev/null || bail "jq is needed (apt-get install jq)"
mk_tmpdir D || bail "temporary directory"

# -o: install what this run built; never rebuild here.
bins=()
for b in zerohop zerohop-agent zerohop-controller; do
	[ -e "$BUILD/$b" ] && bins+=(-o "$BUILD/$b")
done
if out=$(make -C "$ZH_TOP" --no-print-directory install BUILD="$BUILD" DESTDIR="$D" \
	PREFIX=/usr/local "${bins[@]}" 2>&1); then
	tap_ok "make install DESTDIR=... PREFIX=/usr/local"
else
	tap_fail "make install DESTDIR=... PREFIX=/usr/local"
	printf '%s\n' "$out" | sed 's/^/# /'
	finish
fi

P=$D/usr/local
check "zerohop installed, executable" test -x "$P/bin/zerohop"
expect_eq "installed zerohop is the built one" "$("$P/bin/zerohop" --version)" \
	"$("$BUILD/zerohop" --version)"
if [ -x "$BUILD/zerohop-agent" ]; then
	check "zerohop-agent installed, executable" test -x "$P/bin/zerohop-agent"
	check "installed zerohop-agent is the built one" cmp "$BUILD/zerohop-agent" \
		"$P/bin/zerohop-agent"
else
	tap_skip "zerohop-agent is not built in $BUILD (no agent/main.c): not installed"
	check_fails "no zerohop-agent installed when it is not built" test -e "$P/bin/zerohop-agent"
fi

unit=$P/lib/systemd/system/zerohop-agent.service
check "unit installed in PREFIX/lib/systemd/system" test -f "$unit"
expect_eq "unit is 0644" "$(stat -c %a "$unit")" 644
expect_eq "unit ExecStart uses BINDIR" "$(grep '^ExecStart=' "$unit")" \
	"ExecStart=/usr/local/bin/zerohop-agent --config /etc/zerohop/agent.json"
expect_eq "no @VARIABLE@ left in the unit" "$(grep -c '@[A-Z]*@' "$unit")" 0
expect_eq "unit Documentation points at the installed docs" \
	"$(sed -n 's/^Documentation=//p' "$unit")" \
	"file:/usr/local/share/doc/zerohop/operations.md file:/usr/local/share/doc/zerohop/metrics.md"
for k in Type=simple Restart=on-failure After=network-online.target; do
	expect_eq "unit has $k" "$(grep -c "^$k\$" "$unit")" 1
done
expect_eq "unit keeps the host network (no PrivateNetwork)" "$(grep -c '^PrivateNetwork' "$unit")" 0
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
for c in CAP_BPF CAP_NET_ADMIN CAP_SYS_ADMIN CAP_PERFMON; do
	expect_eq "unit allows $c" "$(grep -cw "$c" <<<"$caps")" 1
done

# systemd-analyze verify insists that the ExecStart binary exists on this
# machine, and /usr/local/bin is not where this test installed it: verify
# a copy whose ExecStart points into DESTDIR (at zerohop when no agent was
# built; the path itself is checked above).
if command -v systemd-analyze >/dev/null; then
	exe=$P/bin/zerohop-agent
	[ -x "$exe" ] || exe=$P/bin/zerohop
	mk_tmpdir V || bail "temporary directory"
	sed "s|^ExecStart=/usr/local/bin/zerohop-agent|ExecStart=$exe|" "$unit" \
		>"$V/zerohop-agent.service"
	if out=$(systemd-analyze verify "$V/zerohop-agent.service" 2>&1) && [ -z "$out" ]; then
		tap_ok "systemd-analyze verify: no errors or warnings"
	else
		tap_fail "systemd-analyze verify: no errors or warnings"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
else
	tap_skip "systemd-analyze is not installed (package systemd): unit not verified"
fi

doc=$P/share/doc/zerohop
check "example agent config installed" test -f "$doc/agent.example.json"
check "example agent config is JSON" jq -e . "$doc/agent.example.json"
if [ -x "$P/bin/zerohop-agent" ]; then
	check "zerohop-agent --check accepts the example config" \
		"$P/bin/zerohop-agent" --config "$doc/agent.example.json" --check
else
	tap_skip "zerohop-agent is not built: example config not checked by it"
fi
for f in README.md LICENSE metrics.md operations.md; do
	check "docs: $f installed" test -f "$doc/$f"
done
expect_eq "nothing installed outside PREFIX" \
	"$(cd "$D" && find . -mindepth 1 -maxdepth 2 | sort | tr '\n' ' ')" "./usr ./usr/local "

finish
