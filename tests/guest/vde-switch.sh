#!/bin/bash
# Real guest over -netdev vde: usernat hosts the switch (switch://DIR) and
# QEMU joins it with vde://DIR.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP_SRCDIR/tests/lib/guest.sh"
guest_prepare

TMP=$(mktemp -d)
trap 'for p in "${UN_PIDS[@]}"; do kill $p; done 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
usernat_start "$TMP/usernat.log" --vde "switch://$TMP/sw"
for i in $(seq 50); do grep -q "^  -netdev" "$TMP/usernat.log" && break; sleep 0.1; done
args=$(grep "^  -netdev" "$TMP/usernat.log")
case "$args" in *"sock=vde://$TMP/sw"*) tap_ok "prints -netdev vde arguments" ;;
*) tap_bail "unexpected QEMU arguments: $(cat "$TMP/usernat.log")" ;; esac
guest_script "$TMP/t.sh" "$GUEST_LEASE_PING"
# shellcheck disable=SC2086
guest_run "$TMP/serial.log" "$TMP/t.sh" -- $args
guest_check "$TMP/serial.log" "guest got lease 10.0.2.15" "DHCP: bound ip=10.0.2.15 .*router=10.0.2.2"
guest_check "$TMP/serial.log" "guest pinged the gateway" "GUEST: ping gw ok"
tap_done
