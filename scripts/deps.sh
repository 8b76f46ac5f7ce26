#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make deps: install every build and test dependency from Debian's packages.
#
# Debian 12 (bookworm) plus bookworm-backports for libbpf-dev and bpftool:
# bookworm ships libbpf 1.1 / bpftool 7.1 / uapi headers 6.1, and zerohop needs
# libbpf >= 1.3 and uapi headers >= 6.6 (tcx links) and a bpftool of the same
# generation (see docs/build.md).
# Idempotent: when everything is present it changes nothing. On a system it
# cannot handle it prints the exact package list and exits non-zero.
set -euo pipefail

BASE_PKGS=(
	make gcc clang pkg-config libelf-dev zlib1g-dev libjson-c-dev libcurl4-openssl-dev
	libcmocka-dev iproute2 iputils-ping jq util-linux procps
)
BPO_PKGS=(libbpf-dev bpftool linux-libc-dev)
BPO_SUITE=bookworm-backports
BPO_SOURCE=/etc/apt/sources.list.d/zerohop-backports.sources

# Minimum versions that only backports has.
# linux-libc-dev: <linux/bpf.h> with BPF_TCX_INGRESS and bpf_link_info.tcx (6.6+).
declare -A MIN_VERSION=([libbpf-dev]=1:1.3 [bpftool]=7.3 [linux-libc-dev]=6.6)

installed_version() {
	dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null |
		awk '$1 == "install" && $3 == "installed" { print $4 }'
}

missing=()
for p in "${BASE_PKGS[@]}" "${BPO_PKGS[@]}"; do
	v=$(installed_version "$p")
	if [ -z "$v" ]; then
		missing+=("$p")
	elif [ -n "${MIN_VERSION[$p]:-}" ] && ! dpkg --compare-versions "$v" ge "${MIN_VERSION[$p]}"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "make deps: all dependencies are installed"
	exit 0
fi

explain() {
	echo "make deps: $1" >&2
	echo "  install from Debian 12: ${BASE_PKGS[*]}" >&2
	echo "  install from $BPO_SUITE: ${BPO_PKGS[*]} (libbpf-dev >= 1.3, bpftool >= 7.3, linux-libc-dev >= 6.6)" >&2
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
apt-get "${apt_opts[@]}" install --no-install-recommends "${BASE_PKGS[@]}" ||
	explain "apt-get install failed"
apt-get "${apt_opts[@]}" install --no-install-recommends -t "$BPO_SUITE" "${BPO_PKGS[@]}" ||
	explain "apt-get install from $BPO_SUITE failed"
echo "make deps: done"
