#!/bin/bash
# Namespace test, IPv6: the Linux kernel in a network namespace is the
# guest, on a tap attached to usernat with --vde tap://.  It configures a
# global address by SLAAC from our router advertisements (and the MTU from
# them, and its default route via our link-local address), pings the
# gateway and DNS addresses over IPv6, fails DAD for our address, and
# passes DAD for its own.  A raw-socket probe checks the RA's options
# (prefix, MTU, RDNSS, DNSSL); DHCPv6 is exercised stateless and stateful
# by the same probe, and by busybox udhcpc6 or dhclient -6 when present.
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd python3
. "$TOP_SRCDIR/tests/lib/netns.sh"

GW_LL=fe80::5055:aff:fe00:202
PROBE=$TOP_SRCDIR/tests/lib/ip6probe.py

ns_setup ipv6 || tap_bail "cannot set up namespace"
LOG=$NS_TMP/usernat.log
usernat_start "$LOG" --vde "tap://$TAP" --mtu 1400 \
	--dns-search "a.example.test,b.example.test" --log-level debug
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP: $(cat "$LOG")"
ns_move_tap_ipv6 || tap_bail "cannot move the tap into $NS"

ns_wait 10 ns_has_addr6 link fe80:: &&
	tap_ok "link-local address, DAD passed" ||
	tap_fail "link-local address, DAD passed" "$(ns_exec ip -6 addr show dev "$TAP")"
ns_wait 15 ns_has_addr6 global fd00:: &&
	tap_ok "SLAAC: global address in fd00::/64" ||
	tap_fail "SLAAC: global address in fd00::/64" \
		"$(ns_exec ip -6 addr show dev "$TAP")" "$(tail -n 20 "$LOG")"
addrs=$(ns_exec ip -6 addr show dev "$TAP" scope global)
tap_diag "$addrs"
case "$addrs" in
*dadfailed*) tap_fail "DAD of the guest's own address succeeded" "$addrs" ;;
*) tap_ok "DAD of the guest's own address succeeded" ;;
esac
route=$(ns_exec ip -6 route show default)
case "$route" in
*"via $GW_LL dev $TAP"*) tap_ok "default route via our link-local address" ;;
*) tap_fail "default route via our link-local address" "$route" ;;
esac
mtu=$(ns_exec sysctl -n "net.ipv6.conf.$TAP.mtu")
[ "$mtu" = 1400 ] && tap_ok "MTU from the RA" || tap_fail "MTU from the RA" "mtu $mtu"

tap_check "ping -6 the gateway fd00::2" ns_exec ping -6 -c 3 -i 0.2 -W 2 fd00::2
tap_check "ping -6 the DNS address fd00::3" ns_exec ping -6 -c 2 -i 0.2 -W 2 fd00::3
tap_check "ping -6 our link-local address" ns_exec ping -6 -c 2 -i 0.2 -W 2 "$GW_LL%$TAP"
tap_check "large ping -6 (1352 bytes payload)" ns_exec ping -6 -c 2 -i 0.2 -W 2 -s 1352 fd00::2
out=$(ns_exec ping -6 -c 2 -W 1 fd00::77 2>&1)
[ $? -ne 0 ] && tap_ok "no answer for an address nobody owns" ||
	tap_fail "no answer for an address nobody owns" "$out"
neigh=$(ns_exec ip -6 neigh show fd00::2 dev "$TAP")
case "$neigh" in
*"52:55:0a:00:02:02 router"*) tap_ok "neighbour entry: our MAC, router flag" ;;
*) tap_fail "neighbour entry: our MAC, router flag" "$neigh" ;;
esac

# Our RA, as a raw socket sees it
out=$(ns_exec python3 "$PROBE" rs "$TAP" 2>&1)
tap_diag "$out"
for want in "src=$GW_LL" "flags=0x40" "lifetime=9000" "prefix=fd00::/64" \
	"pflags=0xc0" "mtu=1400" "slla=52:55:0a:00:02:02" "rdnss=fd00::3" \
	"dnssl=a.example.test,b.example.test"; do
	case "$out" in
	*"$want"*) tap_ok "RA: $want" ;;
	*) tap_fail "RA: $want" "$out" ;;
	esac
done

# DHCPv6, stateless and stateful, from the probe
out=$(ns_exec python3 "$PROBE" dhcp6 "$TAP" info 2>&1)
tap_diag "$out"
case "$out" in
*"type=7 "*"dns=fd00::3"*"domains=a.example.test,b.example.test"*)
	tap_ok "DHCPv6 Information-request: DNS and search list" ;;
*) tap_fail "DHCPv6 Information-request: DNS and search list" "$out" ;;
esac
out=$(ns_exec python3 "$PROBE" dhcp6 "$TAP" solicit 2>&1)
tap_diag "$out"
case "$out" in
*"type=7 "*"addr=fd00::"*) tap_ok "DHCPv6 Solicit, Request: an address" ;;
*) tap_fail "DHCPv6 Solicit, Request: an address" "$out" ;;
esac
addr1=$(printf '%s' "$out" | sed -n 's/.*addr=\([^ ]*\).*/\1/p')
out=$(ns_exec python3 "$PROBE" dhcp6 "$TAP" rapid 2>&1)
tap_diag "$out"
addr2=$(printf '%s' "$out" | sed -n 's/.*addr=\([^ ]*\).*/\1/p')
case "$out" in
*"type=7 "*"rapid-commit"*) [ -n "$addr1" ] && [ "$addr1" = "$addr2" ] &&
	tap_ok "DHCPv6 Rapid Commit: the same address again" ||
	tap_fail "DHCPv6 Rapid Commit: the same address again" "$addr1 / $addr2" ;;
*) tap_fail "DHCPv6 Rapid Commit: the same address again" "$out" ;;
esac

# A real DHCPv6 client, if the tooling has one
if busybox --list 2>/dev/null | grep -qx udhcpc6; then
	out=$(ns_exec busybox udhcpc6 -i "$TAP" -n -q -t 3 -T 1 -l \
		-s /bin/true 2>&1)
	[ $? -eq 0 ] && tap_ok "busybox udhcpc6 (stateless)" ||
		tap_fail "busybox udhcpc6 (stateless)" "$out"
elif command -v dhclient >/dev/null 2>&1; then
	out=$(ns_exec timeout 20 dhclient -6 -S -1 -v \
		-lf "$NS_TMP/dhclient6.leases" -pf "$NS_TMP/dhclient6.pid" \
		-sf /bin/true "$TAP" 2>&1)
	[ $? -eq 0 ] && tap_ok "dhclient -6 -S (stateless)" ||
		tap_fail "dhclient -6 -S (stateless)" "$out"
else
	tap_skip "a real DHCPv6 client" "busybox has no udhcpc6 and dhclient is not installed"
fi

# DAD for our address fails in the guest (we defend it)
ns_exec ip -6 addr add fd00::2/64 dev "$TAP"
ns_wait 5 sh -c "ip netns exec '$NS' ip -6 addr show dev '$TAP' | grep 'fd00::2/64' | grep -q dadfailed" &&
	tap_ok "DAD for fd00::2 fails in the guest" ||
	tap_fail "DAD for fd00::2 fails in the guest" "$(ns_exec ip -6 addr show dev "$TAP")"
ns_exec ip -6 addr del fd00::2/64 dev "$TAP" 2>/dev/null

usernat_stats "$UN_PID" "$LOG"
for c in ndp_ns ndp_rs ndp_ra ndp_dad icmp6_echo_gw dhcp6_inform dhcp6_solicit; do
	[ "$(usernat_stat "$LOG" "$c")" -ge 1 ] && tap_ok "counter $c" ||
		tap_fail "counter $c" "$(grep "stat $c " "$LOG")"
done
tap_diag "drop_ip6_nat: $(usernat_stat "$LOG" drop_ip6_nat)," \
	"ip6_mcast_ignored: $(usernat_stat "$LOG" ip6_mcast_ignored)"
grep -q "dhcp6: lease fd00::" "$LOG" && tap_ok "DHCPv6 lease logged" ||
	tap_fail "DHCPv6 lease logged" "$(grep dhcp6 "$LOG")"
kill -0 "$UN_PID" && tap_ok "usernat still running" || tap_fail "usernat still running"
tap_done
