#!/bin/bash
# Real guest over QEMU's -netdev stream socket: lease and gateway ping,
# using exactly the QEMU arguments usernat prints.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP_SRCDIR/tests/lib/guest.sh"
guest_prepare

TMP=$(mktemp -d)
trap 'for p in "${UN_PIDS[@]}"; do kill $p; done 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
SOCK=$TMP/un.sock
usernat_start "$TMP/usernat.log" --socket "$SOCK"
for i in $(seq 50); do grep -q "^  -netdev" "$TMP/usernat.log" && break; sleep 0.1; done
args=$(grep "^  -netdev" "$TMP/usernat.log")
[ -n "$args" ] && tap_ok "usernat prints the QEMU arguments" ||
	tap_bail "no QEMU arguments printed: $(cat "$TMP/usernat.log")"
guest_script "$TMP/t.sh" "$GUEST_LEASE_PING"
# shellcheck disable=SC2086
guest_run "$TMP/serial.log" "$TMP/t.sh" -- $args
guest_check "$TMP/serial.log" "guest booted and finished" "GUEST: done"
guest_check "$TMP/serial.log" "guest got lease 10.0.2.15 with router and DNS" \
	"DHCP: bound ip=10.0.2.15 .*router=10.0.2.2 dns=10.0.2.3"
guest_check "$TMP/serial.log" "guest pinged the gateway" "GUEST: ping gw ok"
kill -0 "${UN_PIDS[0]}" && tap_ok "usernat still running" || tap_fail "usernat still running"
tap_done
