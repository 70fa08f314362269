#!/bin/bash
# Namespace test: --dhcp-host gives a guest its fixed address and name, a
# non-default network works end to end, and --no-dhcp serves no lease.
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd busybox
. "$TOP_SRCDIR/tests/lib/netns.sh"

ns_setup static || tap_bail "cannot set up namespace"
ns_exec true
ip link set dev "$TAP" address 52:54:00:ab:cd:ef
LOG=$NS_TMP/usernat.log
usernat_start "$LOG" --vde "tap://$TAP" --net 192.168.77.0/24 \
	--dhcp-host 52:54:00:ab:cd:ef,192.168.77.50,fixedname
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP"
ns_move_tap || tap_bail "cannot move tap"
out=$(udhcpc_ns 2>&1)
case "$out" in
*"ip=192.168.77.50 "*"router=192.168.77.2 "*"hostname=fixedname"*) tap_ok "static lease with name" ;;
*) tap_fail "static lease with name" "$out" ;;
esac
tap_check "ping the gateway 192.168.77.2" ns_exec ping -c 2 -i 0.2 -W 2 192.168.77.2

# --no-dhcp: no offer at all
ns_setup nodhcp || tap_bail "cannot set up second namespace"
LOG2=$NS_TMP/usernat.log
usernat_start "$LOG2" --vde "tap://$TAP" --no-dhcp
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP"
ns_move_tap || tap_bail "cannot move tap"
out=$(ns_exec env RESOLV_CONF="$RESOLV_CONF" busybox udhcpc -i "$TAP" -n -q -t 2 -T 1 \
	-s "$TOP_SRCDIR/tests/guest/udhcpc.script" 2>&1)
[ $? -ne 0 ] && tap_ok "--no-dhcp: no lease" || tap_fail "--no-dhcp: no lease" "$out"
ns_exec ip addr add 10.0.2.30/24 dev "$TAP"
tap_check "--no-dhcp: static guest pings the gateway" ns_exec ping -c 2 -i 0.2 -W 2 10.0.2.2
tap_done
