#!/bin/bash
# Install what usernat needs to build, test and benchmark on Debian 12.
# Run as root.  Does nothing for packages already installed.
set -eu
PKGS=(
	# build
	build-essential autoconf automake libtool pkg-config git
	libglib2.0-dev libvdeplug-dev vdeplug libseccomp-dev
	# tests: guests, namespaces, clients and peers
	qemu-system-x86 busybox-static cpio xz-utils kmod iproute2
	iputils-ping netcat-openbsd socat python3 iperf3 dnsutils
	tshark valgrind
	# fuzzing (libFuzzer, ASan/UBSan runtimes)
	clang libclang-rt-14-dev
	# benchmark peers
	libvdeplug-slirp passt
)
missing=()
for p in "${PKGS[@]}"; do
	case "$p" in \#*) continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
