#!/bin/bash
# A QEMU that exits and comes back reconnects to the same usernat (no
# restart) and its guest gets the same lease again.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP_SRCDIR/tests/lib/guest.sh"
guest_prepare

TMP=$(mktemp -d)
trap 'for p in "${UN_PIDS[@]}"; do kill $p; done 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
SOCK=$TMP/un.sock
usernat_start "$TMP/usernat.log" --socket "$SOCK"
for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
guest_script "$TMP/t.sh" "$GUEST_LEASE_PING"
NET="-netdev stream,id=n0,server=off,addr.type=unix,addr.path=$SOCK -device virtio-net-pci,netdev=n0,mac=$(guest_mac 7)"
for run in 1 2; do
	# shellcheck disable=SC2086
	guest_run "$TMP/serial$run.log" "$TMP/t.sh" -- $NET
	guest_check "$TMP/serial$run.log" "boot $run: lease 10.0.2.15" "DHCP: bound ip=10.0.2.15 "
	guest_check "$TMP/serial$run.log" "boot $run: gateway ping" "GUEST: ping gw ok"
done
n=$(grep -c "connection .* from QEMU" "$TMP/usernat.log")
[ "$n" -ge 2 ] && tap_ok "usernat served two connections without restarting" ||
	tap_fail "usernat served two connections without restarting" "$(cat "$TMP/usernat.log")"
tap_done
