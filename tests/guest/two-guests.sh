#!/bin/bash
# Two guests on one usernat switch at the same time: two different leases,
# both reach the gateway, and they reach each other directly.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP_SRCDIR/tests/lib/guest.sh"
guest_prepare

TMP=$(mktemp -d)
trap 'for p in "${UN_PIDS[@]}"; do kill $p; done 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
usernat_start "$TMP/usernat.log" --vde "switch://$TMP/sw"
for i in $(seq 50); do [ -S "$TMP/sw/ctl" ] && break; sleep 0.1; done
guest_script "$TMP/t.sh" "$GUEST_LEASE_PING" '
me=$(ip -4 -o addr show dev eth0 | sed -n "s/.* inet \([0-9.]*\).*/\1/p")
echo "GUEST: my address $me"
# wait for the other guest, then ping it (whichever of .15/.16 is not me)
for peer in 10.0.2.15 10.0.2.16; do
	[ "$peer" = "$me" ] && continue
	i=0
	while [ $i -lt 40 ]; do
		if ping -c 1 -W 1 $peer >/dev/null 2>&1; then echo "GUEST: peer $peer reachable"; break; fi
		i=$((i + 1))
	done
done
sleep 2'
for n in 1 2; do
	"$GUEST_DIR/run-guest.sh" --timeout 150 --log "$TMP/serial$n.log" --test "$TMP/t.sh" -- \
		-netdev "vde,id=n0,sock=vde://$TMP/sw" \
		-device "virtio-net-pci,netdev=n0,mac=$(guest_mac $n)" &
	pids+=($!)
done
wait "${pids[@]}"
a=$(sed -n 's/.*GUEST: my address \([0-9.]*\).*/\1/p' "$TMP/serial1.log")
b=$(sed -n 's/.*GUEST: my address \([0-9.]*\).*/\1/p' "$TMP/serial2.log")
tap_diag "guest 1: $a, guest 2: $b"
case "$a$b" in 10.0.2.1510.0.2.16|10.0.2.1610.0.2.15) tap_ok "two different leases (.15 and .16)" ;;
*) tap_fail "two different leases (.15 and .16)" "got '$a' and '$b'" ;; esac
guest_check "$TMP/serial1.log" "guest 1 pinged the gateway" "GUEST: ping gw ok"
guest_check "$TMP/serial2.log" "guest 2 pinged the gateway" "GUEST: ping gw ok"
guest_check "$TMP/serial1.log" "guest 1 reaches guest 2 directly" "GUEST: peer .* reachable"
guest_check "$TMP/serial2.log" "guest 2 reaches guest 1 directly" "GUEST: peer .* reachable"
tap_done
