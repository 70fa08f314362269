#!/bin/bash
# Real guest, IPv6: over the stream socket, the guest's kernel configures
# an fd00::/64 address by SLAAC from usernat's router advertisements, with a
# default route via usernat's link-local address, and busybox ping6 reaches
# the gateway (fd00::2), the DNS address and the link-local address.  IPv4
# (lease, gateway ping) works alongside.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP_SRCDIR/tests/lib/guest.sh"
guest_prepare

GW_LL=fe80::5055:aff:fe00:202
TMP=$(mktemp -d)
trap 'for p in "${UN_PIDS[@]}"; do kill $p; done 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
usernat_start "$TMP/usernat.log" --socket "$TMP/un.sock" --no-control \
	--mtu 1400
for i in $(seq 50); do grep -q "^  -netdev" "$TMP/usernat.log" && break; sleep 0.1; done
args=$(grep "^  -netdev" "$TMP/usernat.log")
[ -n "$args" ] || tap_bail "no QEMU arguments printed: $(cat "$TMP/usernat.log")"

guest_script "$TMP/t.sh" '
echo 1 >/proc/sys/net/ipv6/conf/eth0/accept_ra
echo 1 >/proc/sys/net/ipv6/conf/eth0/autoconf
ip link set dev eth0 up
i=0
while [ $i -lt 60 ]; do
	a=$(ip -6 addr show dev eth0 scope global)
	case "$a" in *"inet6 fd00::"*) case "$a" in *tentative*) ;; *) break ;; esac ;; esac
	sleep 0.5
	i=$((i + 1))
done
echo "GUEST: addr6 $(ip -6 addr show dev eth0 scope global | grep inet6)"
echo "GUEST: route6 $(ip -6 route show default)"
echo "GUEST: mtu6 $(cat /proc/sys/net/ipv6/conf/eth0/mtu)"
if ping6 -c 3 -W 2 fd00::2 >/tmp/p6 2>&1; then echo "GUEST: ping6 gw ok"; else echo "GUEST: ping6 gw failed"; cat /tmp/p6; fi
if ping6 -c 2 -W 2 fd00::3 >/tmp/p6 2>&1; then echo "GUEST: ping6 dns ok"; else echo "GUEST: ping6 dns failed"; cat /tmp/p6; fi
if ping6 -c 2 -W 2 -I eth0 '"$GW_LL"' >/tmp/p6 2>&1; then echo "GUEST: ping6 ll ok"; else echo "GUEST: ping6 ll failed"; cat /tmp/p6; fi
'"$GUEST_LEASE_PING"
# shellcheck disable=SC2086
guest_run "$TMP/serial.log" "$TMP/t.sh" --timeout 180 -- $args
guest_check "$TMP/serial.log" "guest booted and finished" "GUEST: done"
guest_check "$TMP/serial.log" "SLAAC address in fd00::/64" \
	"GUEST: addr6 .*inet6 fd00::[0-9a-f:]+/64 scope global"
guest_check "$TMP/serial.log" "default route via our link-local address" \
	"GUEST: route6 default via $GW_LL dev eth0"
guest_check "$TMP/serial.log" "MTU from the RA" "GUEST: mtu6 1400"
guest_check "$TMP/serial.log" "ping6 -c 3 fd00::2" "GUEST: ping6 gw ok"
guest_check "$TMP/serial.log" "ping6 fd00::3" "GUEST: ping6 dns ok"
guest_check "$TMP/serial.log" "ping6 our link-local address" "GUEST: ping6 ll ok"
guest_check "$TMP/serial.log" "IPv4 alongside: lease and gateway ping" "GUEST: ping gw ok"
grep -q "GUEST: addr6 .*dadfailed" "$TMP/serial.log" &&
	tap_fail "guest's DAD succeeded" "$(grep 'GUEST: addr6' "$TMP/serial.log")" ||
	tap_ok "guest's DAD succeeded"
kill -0 "${UN_PIDS[0]}" && tap_ok "usernat still running" || tap_fail "usernat still running"
tap_done
