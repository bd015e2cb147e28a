#!/bin/sh
# Installs what hull needs on Debian 12 (as root). Only missing packages are fetched.
# usage: scripts/install-deps.sh [build|test]
set -eu
build="gcc libc6-dev meson ninja-build pkg-config libseccomp-dev libcap-dev libyajl-dev
       libarchive-dev libssl-dev
       libmnl-dev libnftnl-dev busybox-static scdoc"
test="python3 python3-pytest cppcheck clang-format util-linux iproute2 procps qemu-system-x86
      podman conmon containerd netavark nftables
      umoci zstd"
want="$build"
[ "${1:-build}" = test ] && want="$build $test"

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# tests/vm boots Debian's kernel: its vmlinuz is unpacked into a cache, never installed.
[ "$want" = "$build" ] || "$(dirname "$0")"/../tests/vm/fetch-kernel.sh ||
	echo "install-deps: no kernel for tests/vm (its tests will skip)" >&2
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
