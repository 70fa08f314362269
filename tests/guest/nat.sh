#!/bin/bash
# Real guest, NAT: over the stream socket and over the VDE switch, the guest
# downloads a file from a host loopback HTTP server and uploads one (md5
# compared on both sides), resolves a name through the DNS forwarder (to a
# responder on host loopback), and fetches a file over UDP (TFTP) from a host
# server — all through the gateway address 10.0.2.2.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP_SRCDIR/tests/lib/guest.sh"
need_cmd python3
guest_prepare

TMP=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" "${UN_PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
python3 "$TOP_SRCDIR/tests/lib/httpd.py" "$TMP/http.port" 16 & PIDS+=($!)
python3 "$TOP_SRCDIR/tests/lib/tftpd.py" "$TMP/tftp.port" 300000 & PIDS+=($!)
python3 "$TOP_SRCDIR/tests/lib/dnsd.py" "$TMP/dns.port" guest.usernat.test 198.18.7.7 "$TMP/dns.log" & PIDS+=($!)
for f in http.port tftp.port dns.port; do
	for i in $(seq 100); do [ -s "$TMP/$f" ] && break; sleep 0.1; done
done
HTTP=$(cat "$TMP/http.port") TFTP=$(cat "$TMP/tftp.port") DNSP=$(cat "$TMP/dns.port")
MD5=$(cat "$TMP/http.port.md5") TMD5=$(cat "$TMP/tftp.port.md5")

guest_script "$TMP/t.sh" "$GUEST_LEASE_PING" "
echo \"GUEST: download \$(wget -q -O - http://10.0.2.2:$HTTP/blob | md5sum)\"
# busybox wget --post-file stops at a NUL byte: upload text
dd if=/dev/urandom bs=1M count=6 2>/dev/null | base64 >/tmp/up
echo \"GUEST: upload-local \$(md5sum < /tmp/up)\"
echo \"GUEST: upload-remote \$(wget -q -O - --post-file /tmp/up http://10.0.2.2:$HTTP/upload)\"
echo \"GUEST: dns \$(nslookup guest.usernat.test 2>&1 | grep -A1 'Name:' | tail -n 1)\"
tftp -g -r file -l /tmp/tftp 10.0.2.2 $TFTP
echo \"GUEST: udp tftp \$(md5sum < /tmp/tftp)\"
"

run_one() {	# run_one NAME USERNAT-TRANSPORT-ARGS -- QEMU-ARGS-TEMPLATE
	local name=$1 log=$TMP/$1.usernat.log serial=$TMP/$1.serial.log args
	shift
	local un_args=()
	while [ "$1" != -- ]; do un_args+=("$1"); shift; done
	shift
	usernat_start "$log" "${un_args[@]}" --dns-upstream "127.0.0.1:$DNSP" --no-control
	for i in $(seq 50); do grep -q '^  -netdev' "$log" && break; sleep 0.1; done
	args=$(grep '^  -netdev' "$log")
	# shellcheck disable=SC2086
	guest_run "$serial" "$TMP/t.sh" --timeout 240 -- $args
	guest_check "$serial" "$name: lease and gateway ping" "GUEST: ping gw ok"
	guest_check "$serial" "$name: 16 MB download, md5 matches" "GUEST: download $MD5"
	local l r
	l=$(sed -n 's/.*GUEST: upload-local \([0-9a-f]\{32\}\).*/\1/p' "$serial")
	r=$(sed -n 's/.*GUEST: upload-remote .*md5=\([0-9a-f]\{32\}\).*/\1/p' "$serial")
	[ -n "$l" ] && [ "$l" = "$r" ] && tap_ok "$name: 8 MB upload, md5 matches" ||
		tap_fail "$name: 8 MB upload, md5 matches" "guest $l, host $r" "$(grep GUEST: "$serial")"
	guest_check "$serial" "$name: DNS name resolved through the forwarder" "GUEST: dns .*198\.18\.7\.7"
	guest_check "$serial" "$name: UDP: 300 kB by TFTP, md5 matches" "GUEST: udp tftp $TMD5"
	kill "$UN_PID"; wait "$UN_PID" 2>/dev/null
}
run_one stream --socket "$TMP/un.sock" --
run_one vde --vde "switch://$TMP/sw" --
tap_done
