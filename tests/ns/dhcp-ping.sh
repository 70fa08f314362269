#!/bin/bash
# Namespace test: the Linux kernel in a network namespace is the guest, on a
# tap attached to usernat with --vde tap://.  busybox udhcpc gets its lease
# and every option; ping reaches the gateway and the DNS address; the lease
# is stable across a client restart; a static lease and a second client.
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd busybox
. "$TOP_SRCDIR/tests/lib/netns.sh"

ns_setup dhcp || tap_bail "cannot set up namespace"
LOG=$NS_TMP/usernat.log
usernat_start "$LOG" --vde "tap://$TAP" --domain example.test \
	--dns-search "a.example.test,b.example.test" --mtu 1400 \
	--hostname guesthost --lease-time 3600 --log-level debug
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP: $(cat "$LOG")"
ns_move_tap || tap_bail "cannot move tap"

out=$(udhcpc_ns 2>&1)
line=$(printf '%s\n' "$out" | grep '^DHCP: bound' | tail -n 1)
tap_diag "$line"
case "$line" in
*"ip=10.0.2.15 "*) tap_ok "lease 10.0.2.15" ;;
*) tap_fail "lease 10.0.2.15" "$out" ;;
esac
for want in "mask=24 " "router=10.0.2.2" "dns=10.0.2.3" \
	"domain=example.test" "mtu=1400" "lease=3600" "hostname=guesthost"; do
	case "$line" in
	*"$want"*) tap_ok "option $want" ;;
	*) tap_fail "option $want" "$line" ;;
	esac
done
case "$line" in
*"search=a.example.test b.example.test"*) tap_ok "option 119 search list" ;;
*) tap_fail "option 119 search list" "$line" ;;
esac
tap_check "address configured" ns_exec sh -c "ip -4 addr show dev $TAP | grep -q 10.0.2.15/24"
tap_check "interface MTU applied" ns_exec sh -c "ip link show dev $TAP | grep -q 'mtu 1400'"
tap_check "ping the gateway" ns_exec ping -c 3 -i 0.2 -W 2 10.0.2.2
tap_check "ping the DNS address" ns_exec ping -c 2 -i 0.2 -W 2 10.0.2.3
tap_check "large ping (1372 bytes payload)" ns_exec ping -c 2 -i 0.2 -W 2 -s 1372 10.0.2.2
out=$(ns_exec ping -c 2 -W 1 10.0.2.77 2>&1)
[ $? -ne 0 ] && tap_ok "no answer for an address nobody owns" ||
	tap_fail "no answer for an address nobody owns" "$out"
tap_check "ARP entry for the gateway" ns_exec sh -c "ip neigh show 10.0.2.2 | grep -q 52:55:0a:00:02:02"

# The client restarts (flush its address): same lease again
ns_exec ip addr flush dev "$TAP"
out=$(udhcpc_ns 2>&1)
case "$out" in
*"ip=10.0.2.15 "*) tap_ok "same lease after client restart" ;;
*) tap_fail "same lease after client restart" "$out" ;;
esac

# A second client with another MAC (a macvlan in the namespace) gets .16
if ns_exec ip link add link "$TAP" name mv0 type macvlan mode private 2>/dev/null; then
	ns_exec ip link set mv0 address 52:54:00:00:00:02 up
	out=$(ns_exec env RESOLV_CONF="$NS_TMP/r2" busybox udhcpc -i mv0 -n -q -t 5 -T 1 \
		-s "$TOP_SRCDIR/tests/guest/udhcpc.script" 2>&1)
	case "$out" in
	*"ip=10.0.2.16 "*) tap_ok "second client gets 10.0.2.16" ;;
	*) tap_fail "second client gets 10.0.2.16" "$out" ;;
	esac
else
	tap_skip "second client gets 10.0.2.16" "macvlan not available"
fi

usernat_stats "$UN_PID" "$LOG"
[ "$(usernat_stat "$LOG" dhcp_ack)" -ge 2 ] && tap_ok "dhcp_ack counted" ||
	tap_fail "dhcp_ack counted" "$(grep stat "$LOG")"
grep -q "lease 10.0.2.15" "$LOG" && tap_ok "lease logged" || tap_fail "lease logged" "$(cat "$LOG")"
kill -0 "$UN_PID" && tap_ok "usernat still running" || tap_fail "usernat still running"
tap_done
