#!/bin/bash
# mkguest.sh — build (once) and cache a tiny Linux guest for usernat's
# end-to-end tests: a Debian cloud kernel plus a busybox initramfs that
# carries just enough modules for virtio-net.
#
# Usage: mkguest.sh [--force]
#
# Output (in the cache directory, printed on success):
#   vmlinuz          the kernel
#   base.cpio.gz     the initramfs (busybox, /init, /etc/udhcpc.script, modules)
#   stamp            hash of mkguest.sh + init + udhcpc.script; the cache is
#                    reused for as long as it matches
#   kernel-version, modules.txt   what was built (informational)
#
# Environment:
#   USERNAT_GUEST_CACHE       cache directory
#                             (default ${XDG_CACHE_HOME:-$HOME/.cache}/usernat/guest)
#   USERNAT_GUEST_KERNEL_PKG  kernel package to use instead of the one the
#                             linux-image-cloud-amd64 meta-package depends on
#
# Needs apt-get, dpkg, cpio, gzip and /bin/busybox (busybox-static); run as
# root if `apt-get update` or installing busybox-static is still needed.

set -eu

die() {
	echo "mkguest.sh: error: $*" >&2
	exit 1
}

note() {
	echo "mkguest.sh: $*" >&2
}

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
CACHE=${USERNAT_GUEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/usernat/guest}

# Modules needed for virtio-net, in load order (init uses the same order).
# af_packet (udhcpc's raw socket) and ipv6 are wanted too, when modular.
MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net af_packet ipv6"
OPTIONAL_MODULES="af_packet ipv6"

FORCE=0
case "${1:-}" in
	--force) FORCE=1 ;;
	"") ;;
	-h|--help)
		sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*) die "unknown argument: $1 (usage: mkguest.sh [--force])" ;;
esac

for f in init udhcpc.script; do
	[ -f "$SCRIPT_DIR/$f" ] || die "missing $SCRIPT_DIR/$f"
done
STAMP=$(cat "$SCRIPT_DIR/mkguest.sh" "$SCRIPT_DIR/init" "$SCRIPT_DIR/udhcpc.script" |
	sha256sum | cut -d' ' -f1)

cache_ok() {
	[ -s "$CACHE/vmlinuz" ] && [ -s "$CACHE/base.cpio.gz" ] &&
		[ -f "$CACHE/stamp" ] && [ "$(cat "$CACHE/stamp")" = "$STAMP" ]
}

# Fast path: nothing to do.
if [ "$FORCE" = 0 ] && cache_ok; then
	echo "$CACHE"
	exit 0
fi

mkdir -p "$CACHE" || die "cannot create cache directory $CACHE"

# Serialise concurrent builders (tests may start several guests at once).
exec 9>"$CACHE/.lock"
flock -w 900 9 || die "timed out waiting for lock $CACHE/.lock"
if [ "$FORCE" = 0 ] && cache_ok; then
	echo "$CACHE"
	exit 0
fi

for c in apt-get apt-cache dpkg cpio gzip sha256sum; do
	command -v "$c" >/dev/null 2>&1 || die "'$c' not found (a Debian-like host is needed)"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mkguest.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

APT_UPDATED=0
apt_update_once() {
	[ "$APT_UPDATED" = 0 ] || return 1
	APT_UPDATED=1
	note "running apt-get update"
	if [ "$(id -u)" != 0 ]; then
		note "not root: cannot run apt-get update"
		return 1
	fi
	apt-get update -qq >"$WORK/apt-update.log" 2>&1 || {
		cat "$WORK/apt-update.log" >&2
		return 1
	}
}

# --- busybox ---------------------------------------------------------------
BUSYBOX=/bin/busybox
if ! [ -x "$BUSYBOX" ]; then
	note "/bin/busybox missing, installing busybox-static"
	[ "$(id -u)" = 0 ] || die "/bin/busybox not found; install busybox-static (as root)"
	apt-get install -y -qq busybox-static >"$WORK/apt-install.log" 2>&1 ||
		{ apt_update_once && apt-get install -y -qq busybox-static >"$WORK/apt-install.log" 2>&1; } ||
		{ cat "$WORK/apt-install.log" >&2; die "cannot install busybox-static"; }
fi
# It must be statically linked: the initramfs has no libc.
if command -v ldd >/dev/null 2>&1 && ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is dynamically linked; install busybox-static"
fi
for applet in sh insmod ip udhcpc ping mount poweroff; do
	"$BUSYBOX" --list | grep -qx "$applet" || die "$BUSYBOX lacks the '$applet' applet"
done

# --- kernel package ------------------------------------------------------------
pick_kernel_pkg() {
	local pkg
	if [ -n "${USERNAT_GUEST_KERNEL_PKG:-}" ]; then
		echo "$USERNAT_GUEST_KERNEL_PKG"
		return 0
	fi
	# The distribution's current cloud kernel, via the meta-package ...
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-.*-cloud-amd64(-unsigned)?$/ { print $2; exit }')
	# ... or else the newest versioned cloud kernel apt knows about.
	if [ -z "$pkg" ]; then
		pkg=$(apt-cache search --names-only '^linux-image-[0-9].*-cloud-amd64$' 2>/dev/null |
			awk '{ print $1 }' | sort -V | tail -n 1)
	fi
	[ -n "$pkg" ] || return 1
	echo "$pkg"
}

KPKG=$(pick_kernel_pkg) || { apt_update_once && KPKG=$(pick_kernel_pkg); } ||
	die "no linux-image-*-cloud-amd64 package known to apt (is apt-get update done?)"
note "kernel package: $KPKG"

mkdir -p "$WORK/deb"
dl() { (cd "$WORK/deb" && apt-get download -q "$KPKG") >"$WORK/apt-download.log" 2>&1; }
dl || { apt_update_once && dl; } || {
	cat "$WORK/apt-download.log" >&2
	die "apt-get download $KPKG failed"
}
DEB=$(find "$WORK/deb" -maxdepth 1 -name '*.deb' | head -n 1)
[ -n "$DEB" ] || die "apt-get download $KPKG produced no .deb"
dpkg -x "$DEB" "$WORK/kernel" || die "dpkg -x $DEB failed"

VMLINUZ=$(find "$WORK/kernel/boot" -maxdepth 1 -name 'vmlinuz-*' 2>/dev/null | head -n 1)
[ -n "$VMLINUZ" ] || die "no /boot/vmlinuz-* in $KPKG"
# Modules live in /lib/modules or, on merged-/usr packages, /usr/lib/modules.
MODROOT=
for d in "$WORK"/kernel/lib/modules/* "$WORK"/kernel/usr/lib/modules/*; do
	[ -d "$d/kernel" ] && { MODROOT=$d; break; }
done
[ -n "$MODROOT" ] || die "no lib/modules/<version>/kernel in $KPKG"
KVER=$(basename "$MODROOT")
note "kernel version: $KVER"

# --- initramfs tree -----------------------------------------------------------
ROOT=$WORK/root
mkdir -p "$ROOT"/bin "$ROOT"/proc "$ROOT"/sys "$ROOT"/dev "$ROOT"/tmp \
	"$ROOT"/etc "$ROOT"/run "$ROOT"/lib/modules "$ROOT"/root "$ROOT"/usr \
	"$ROOT"/var
chmod 1777 "$ROOT/tmp"
ln -s bin "$ROOT/sbin"
ln -s ../bin "$ROOT/usr/bin"
ln -s ../bin "$ROOT/usr/sbin"
ln -s ../run "$ROOT/var/run"

cp "$BUSYBOX" "$ROOT/bin/busybox"
chmod 755 "$ROOT/bin/busybox"
for applet in $("$BUSYBOX" --list); do
	case "$applet" in
		busybox|*/*) continue ;;
	esac
	ln -sf busybox "$ROOT/bin/$applet"
done

install -m 755 "$SCRIPT_DIR/init" "$ROOT/init"
install -m 755 "$SCRIPT_DIR/udhcpc.script" "$ROOT/etc/udhcpc.script"
echo "guest" >"$ROOT/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$ROOT/etc/hosts"
echo "root:x:0:0:root:/root:/bin/sh" >"$ROOT/etc/passwd"
echo "root:x:0:" >"$ROOT/etc/group"
: >"$ROOT/etc/resolv.conf"

# A /dev/console node lets the kernel give /init a console before devtmpfs
# is mounted (init redirects to the devtmpfs one anyway, so this is optional).
if [ "$(id -u)" = 0 ]; then
	mknod -m 600 "$ROOT/dev/console" c 5 1 || true
	mknod -m 666 "$ROOT/dev/null" c 1 3 || true
fi

# Kernel modules: copy the modular ones (decompressed: busybox insmod wants a
# plain ELF), skip those built into this kernel.
BUILTIN=$MODROOT/modules.builtin
: >"$WORK/modules.txt"
for m in $MODULES; do
	if [ -f "$BUILTIN" ] && grep -Eq "/${m}\.ko(\.[a-z]+)?\$" "$BUILTIN"; then
		echo "$m builtin" >>"$WORK/modules.txt"
		continue
	fi
	src=$(find "$MODROOT/kernel" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" \) -print | head -n 1)
	if [ -z "$src" ]; then
		case " $OPTIONAL_MODULES " in
			*" $m "*)
				echo "$m absent" >>"$WORK/modules.txt"
				continue
				;;
		esac
		die "module $m is neither built in nor shipped in $KPKG"
	fi
	dst=$ROOT/lib/modules/$m.ko
	case "$src" in
		*.ko) cp "$src" "$dst" ;;
		*.ko.xz) xz -dc "$src" >"$dst" || die "cannot decompress $src (xz)" ;;
		*.ko.zst) zstd -qdc "$src" >"$dst" || die "cannot decompress $src (zstd)" ;;
		*.ko.gz) gzip -dc "$src" >"$dst" || die "cannot decompress $src (gzip)" ;;
	esac
	echo "$m module" >>"$WORK/modules.txt"
done

# --- pack ------------------------------------------------------------------------
(cd "$ROOT" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) | gzip -9n >"$WORK/base.cpio.gz" ||
	die "packing the initramfs failed"

# Install atomically-ish: data files first, the stamp last.
cp "$VMLINUZ" "$CACHE/vmlinuz.tmp"
mv -f "$CACHE/vmlinuz.tmp" "$CACHE/vmlinuz"
cp "$WORK/base.cpio.gz" "$CACHE/base.cpio.gz.tmp"
mv -f "$CACHE/base.cpio.gz.tmp" "$CACHE/base.cpio.gz"
echo "$KPKG $KVER" >"$CACHE/kernel-version"
cp "$WORK/modules.txt" "$CACHE/modules.txt"
echo "$STAMP" >"$CACHE/stamp.tmp"
mv -f "$CACHE/stamp.tmp" "$CACHE/stamp"

note "built guest: $KVER ($(tr '\n' ' ' <"$WORK/modules.txt"))"
echo "$CACHE"
