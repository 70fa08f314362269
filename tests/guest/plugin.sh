#!/bin/bash
# Real guest with usernat inside QEMU: -netdev vde,sock=usernat://... loads
# libvdeplug_usernat.so from the build tree; no other process runs.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP_SRCDIR/tests/lib/guest.sh"
[ -f "$TOP_BUILDDIR/.libs/libvdeplug_usernat.so" ] || tap_bail "plugin not built"
guest_prepare
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export VDEPLUGIN_PATH=$TOP_BUILDDIR/.libs:$(dirname "$(cc -print-file-name=libvdeplug.so)")/vdeplug
guest_script "$TMP/t.sh" "$GUEST_LEASE_PING"
guest_run "$TMP/serial.log" "$TMP/t.sh" -- \
	-netdev "vde,id=n0,sock=usernat:///dns-search=plugin.test" -device virtio-net-pci,netdev=n0
guest_check "$TMP/serial.log" "lease through the in-QEMU plugin" "DHCP: bound ip=10.0.2.15 .*search=plugin.test"
guest_check "$TMP/serial.log" "gateway ping through the in-QEMU plugin" "GUEST: ping gw ok"
tap_done
