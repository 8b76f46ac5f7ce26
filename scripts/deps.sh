#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make deps: install every build and test dependency from Debian's packages.
#
# Debian 12 (bookworm) plus bookworm-backports for libbpf-dev and bpftool:
# bookworm ships libbpf 1.1 / bpftool 7.1 / uapi headers 6.1, and zerohop needs
# libbpf >= 1.3 and uapi headers >= 6.6 (tcx links) and a bpftool of the same
# generation (see docs/build.md).
# The VM kernel matrix (vm-tests/run) adds QEMU, two Debian kernels (the
# newest linux-image-6.1.*-amd64 of bookworm/bookworm-security and the newest
# linux-image-6.12.*-amd64 of bookworm-backports; their modules land in
# /lib/modules, where virtme-ng finds them) and virtme-ng from PyPI in the
# project's .venv/. If PyPI cannot be reached that last step says so in one
# line and the rest still succeeds: vm-tests/run then reports the matrix as
# skipped.
# Idempotent: when everything is present it changes nothing. On a system it
# cannot handle it prints the exact package list and exits non-zero.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

BASE_PKGS=(
	make gcc clang pkg-config libelf-dev zlib1g-dev libjson-c-dev libcurl4-openssl-dev
	libcmocka-dev iproute2 iputils-ping jq util-linux procps tcpdump iperf3
	gnuplot-nox netsniff-ng etcd-server etcd-client curl python3-prometheus-client
)
BPO_PKGS=(libbpf-dev bpftool linux-libc-dev)
BPO_SUITE=bookworm-backports
BPO_SOURCE=/etc/apt/sources.list.d/zerohop-backports.sources

# vm-tests/run: QEMU; busybox for virtme-ng's initramfs; file (vng reads a
# kernel image's version with it); python3-venv for .venv/.
VM_PKGS=(qemu-system-x86 busybox-static file python3-venv)
# The kernels, by package-name pattern and the suites they come from.
KERNEL_61_RE='^linux-image-6\.1\.0-[0-9]+-amd64(-unsigned)?$'
KERNEL_61_SUITES='bookworm(-security|-updates)?/main'
KERNEL_612_RE='^linux-image-6\.12\.[0-9]+\+deb12-amd64(-unsigned)?$'
KERNEL_612_SUITES="$BPO_SUITE/main"
VENV=$top/.venv
VIRTME_NG=virtme-ng==1.42

# Minimum versions that only backports has.
# linux-libc-dev: <linux/bpf.h> with BPF_TCX_INGRESS and bpf_link_info.tcx (6.6+).
declare -A MIN_VERSION=([libbpf-dev]=1:1.3 [bpftool]=7.3 [linux-libc-dev]=6.6)

# installed_version PKG: its version when installed, else nothing. dpkg-query
# exits 1 for a package it has never seen (a fresh machine): not an error here.
installed_version() {
	{ dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null || true; } |
		awk '$1 == "install" && $3 == "installed" { print $4 }'
}

# kernel_installed RE: an installed package matches RE.
kernel_installed() {
	local pkgs
	pkgs=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 'linux-image-6.*' 2>/dev/null |
		awk '$1 == "ii" { print $2 }') || true
	grep -Eq "$1" <<<"$pkgs"
}

# kernel_package RE SUITES: the newest package matching RE that apt offers
# from SUITES (a regex over apt-cache madison's source column).
kernel_package() {
	{ apt-cache pkgnames linux-image-6. | grep -E "$1" | grep -v -- '-unsigned$' |
		xargs -r apt-cache madison 2>/dev/null |
		awk -F' [|] ' -v s=" $2 " '$3 ~ s { gsub(/ /, "", $1); print $1 }' |
		sort -uV | tail -n 1; } || true
}

# The project's virtual environment with virtme-ng (never the system Python).
# Not reaching PyPI is not an error: one line, and the VM matrix is skipped.
setup_venv() {
	local py=/usr/bin/python3 log
	[ -x "$VENV/bin/vng" ] && [ -x "$VENV/bin/virtme-run" ] && return 0
	[ -x "$py" ] || py=python3
	log=$(mktemp)
	echo "make deps: installing $VIRTME_NG from PyPI into $VENV"
	if "$py" -m venv "$VENV" >"$log" 2>&1 &&
		"$VENV/bin/pip" install -q --disable-pip-version-check --timeout 30 --retries 2 \
			"$VIRTME_NG" >>"$log" 2>&1 && [ -x "$VENV/bin/vng" ]; then
		rm -f "$log"
		return 0
	fi
	echo "make deps: could not install $VIRTME_NG into $VENV ($(grep -v '^\s*$' "$log" | tail -n 1 | cut -c1-160)); the VM kernel matrix will be reported as skipped" >&2
	rm -f "$log"
	return 0
}

missing=()
for p in "${BASE_PKGS[@]}" "${BPO_PKGS[@]}" "${VM_PKGS[@]}"; do
	v=$(installed_version "$p")
	if [ -z "$v" ]; then
		missing+=("$p")
	elif [ -n "${MIN_VERSION[$p]:-}" ] && ! dpkg --compare-versions "$v" ge "${MIN_VERSION[$p]}"; then
		missing+=("$p")
	fi
done

missing_kernels=()
kernel_installed "$KERNEL_61_RE" || missing_kernels+=("linux-image-6.1.*-amd64")
kernel_installed "$KERNEL_612_RE" || missing_kernels+=("linux-image-6.12.*-amd64")

if [ ${#missing[@]} -eq 0 ] && [ ${#missing_kernels[@]} -eq 0 ]; then
	echo "make deps: all dependencies are installed"
	setup_venv
	exit 0
fi
missing+=("${missing_kernels[@]}")

explain() {
	echo "make deps: $1" >&2
	echo "  install from Debian 12: ${BASE_PKGS[*]}" >&2
	echo "  install from $BPO_SUITE: ${BPO_PKGS[*]} (libbpf-dev >= 1.3, bpftool >= 7.3, linux-libc-dev >= 6.6)" >&2
	echo "  for vm-tests: ${VM_PKGS[*]}, the newest linux-image-6.1.0-N-amd64 (bookworm)," >&2
	echo "    the newest linux-image-6.12.N+deb12-amd64 ($BPO_SUITE), and $VIRTME_NG (PyPI) in $VENV" >&2
	echo "  missing now: ${missing[*]}" >&2
	exit 1
}

command -v dpkg-query >/dev/null || explain "not a Debian system (no dpkg)"
# shellcheck disable=SC1091
. /etc/os-release
[ "${ID:-}" = debian ] && [ "${VERSION_ID:-}" = 12 ] ||
	explain "this script supports Debian 12 (bookworm); found ${PRETTY_NAME:-an unknown system}"
[ "$(id -u)" -eq 0 ] || explain "must run as root to install packages (sudo make deps)"

echo "make deps: installing ${missing[*]}"
if ! grep -rqs "$BPO_SUITE" /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "make deps: adding $BPO_SUITE in $BPO_SOURCE"
	cat >"$BPO_SOURCE" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: $BPO_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o DPkg::Lock::Timeout=300)
# A third-party source that fails to update must not stop us; the install
# below fails clearly if Debian's own lists are missing.
apt-get -q update || echo "make deps: apt-get update reported errors; continuing" >&2
kernels=()
if ! kernel_installed "$KERNEL_61_RE"; then
	k=$(kernel_package "$KERNEL_61_RE" "$KERNEL_61_SUITES")
	[ -n "$k" ] || explain "apt offers no linux-image-6.1.0-N-amd64 from bookworm"
	kernels+=("$k")
fi
if ! kernel_installed "$KERNEL_612_RE"; then
	k=$(kernel_package "$KERNEL_612_RE" "$KERNEL_612_SUITES")
	[ -n "$k" ] || explain "apt offers no linux-image-6.12.N+deb12-amd64 from $BPO_SUITE"
	kernels+=("$k")
fi
apt-get "${apt_opts[@]}" install --no-install-recommends "${BASE_PKGS[@]}" "${VM_PKGS[@]}" ||
	explain "apt-get install failed"
apt-get "${apt_opts[@]}" install --no-install-recommends -t "$BPO_SUITE" "${BPO_PKGS[@]}" ||
	explain "apt-get install from $BPO_SUITE failed"
# Each kernel package name exists in one suite only, so apt takes it from there.
if [ ${#kernels[@]} -gt 0 ]; then
	echo "make deps: installing kernels for vm-tests: ${kernels[*]}"
	apt-get "${apt_opts[@]}" install --no-install-recommends "${kernels[@]}" ||
		explain "apt-get install ${kernels[*]} failed"
fi
setup_venv
echo "make deps: done"
