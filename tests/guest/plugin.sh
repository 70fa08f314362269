#!/bin/bash
# Real guest with usernat inside QEMU: -netdev vde,sock=usernat://... loads
# libvdeplug_usernat.so from the build tree; no other process runs.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP_SRCDIR/tests/lib/guest.sh"
plugin_lock shared || tap_bail "cannot take the plugin lock"
[ -f "$TOP_BUILDDIR/.libs/libvdeplug_usernat.so" ] || tap_bail "plugin not built"
guest_prepare
TMP=$(mktemp -d)
trap 'kill $HTTPD 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
python3 "$TOP_SRCDIR/tests/lib/httpd.py" "$TMP/http.port" 8 &
HTTPD=$!
for i in $(seq 100); do [ -s "$TMP/http.port" ] && break; sleep 0.1; done
HTTP=$(cat "$TMP/http.port") MD5=$(cat "$TMP/http.port.md5")
export VDEPLUGIN_PATH=$TOP_BUILDDIR/.libs:$(dirname "$(cc -print-file-name=libvdeplug.so)")/vdeplug
guest_script "$TMP/t.sh" "$GUEST_LEASE_PING" "
echo \"GUEST: download \$(wget -q -O - http://10.0.2.2:$HTTP/blob | md5sum)\""
guest_run "$TMP/serial.log" "$TMP/t.sh" -- \
	-netdev "vde,id=n0,sock=usernat:///dns-search=plugin.test" -device virtio-net-pci,netdev=n0
guest_check "$TMP/serial.log" "lease through the in-QEMU plugin" "DHCP: bound ip=10.0.2.15 .*search=plugin.test"
guest_check "$TMP/serial.log" "gateway ping through the in-QEMU plugin" "GUEST: ping gw ok"
guest_check "$TMP/serial.log" "8 MB HTTP download from host loopback, md5 matches" "GUEST: download $MD5"
tap_done
