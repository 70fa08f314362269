#!/bin/bash
# Namespace test: a hostile guest sends malformed frames of every kind while
# a well-behaved one keeps its lease, pings, and downloads a checksummed
# file from a host loopback HTTP server (tests/lib/httpd.py); usernat drops
# and counts the bad frames and keeps serving, and the file arrives intact.
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd busybox python3
. "$TOP_SRCDIR/tests/lib/netns.sh"

ns_setup bad || tap_bail "cannot set up namespace"
ns_bg python3 "$TOP_SRCDIR/tests/lib/httpd.py" "$NS_TMP/http.port" 4
wait_for_file "$NS_TMP/http.port" 10 || tap_bail "HTTP server did not start"
HTTP_PORT=$(cat "$NS_TMP/http.port")	# 127.0.0.1 only: 10.0.2.2 to the guest
HTTP_SHA=$(cut -c1-64 "$NS_TMP/http.port.sha256")
# The guest downloads the file again and again until the attack is over
# (STOP exists), checking every copy (tests/lib/fetch-until.py).
LOG=$NS_TMP/usernat.log
usernat_start "$LOG" --vde "tap://$TAP"
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP"
ns_move_tap || tap_bail "cannot move tap"
out=$(udhcpc_ns 2>&1)
case "$out" in *"ip=10.0.2.15 "*) tap_ok "lease before the attack" ;; *) tap_fail "lease before the attack" "$out" ;; esac

ns_exec ping -i 0.05 -c 200 -W 2 10.0.2.2 >"$NS_TMP/ping.log" 2>&1 &
PING=$!
ns_exec python3 "$TOP_SRCDIR/tests/lib/fetch-until.py" "http://10.0.2.2:$HTTP_PORT/blob" \
	"$HTTP_SHA" "$NS_TMP/stop" >"$NS_TMP/fetch.log" 2>&1 &
FETCH=$!
sent=$(ns_exec python3 "$TOP_SRCDIR/tests/lib/inject.py" "$TAP" 20 2>&1)
tap_diag "malformed frames sent: $sent"
touch "$NS_TMP/stop"
wait $FETCH
fetched=$(tail -n 1 "$NS_TMP/fetch.log")
case "$fetched" in
[1-9]*" bad=0") tap_ok "downloads during the attack intact ($fetched)" ;;
*) tap_fail "downloads during the attack intact" "$(tail -3 "$NS_TMP/fetch.log")" ;;
esac
wait $PING
st=$?
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$NS_TMP/ping.log")
[ "$st" -eq 0 ] && [ "${received:-0}" -ge 190 ] && tap_ok "pings answered during the attack ($received/200)" ||
	tap_fail "pings answered during the attack" "$(tail -3 "$NS_TMP/ping.log")"
kill -0 "$UN_PID" && tap_ok "usernat alive" || tap_fail "usernat alive" "$(tail "$LOG")"
usernat_stats "$UN_PID" "$LOG"
for c in drop_ip_totlen drop_ip_hdrlen drop_ip_csum drop_icmp_csum drop_ip_frag \
	drop_udp_short drop_tcp_short drop_dhcp_malformed drop_arp_malformed drop_ethertype; do
	v=$(usernat_stat "$LOG" $c)
	[ "$v" -gt 0 ] && tap_ok "counted: $c ($v)" || tap_fail "counted: $c" "$(grep 'stat ' "$LOG")"
done
out=$(ns_exec sh -c "ip addr flush dev $TAP; RESOLV_CONF=$RESOLV_CONF busybox udhcpc -i $TAP -n -q -t 5 -T 1 -s $TOP_SRCDIR/tests/guest/udhcpc.script" 2>&1)
case "$out" in *"ip=10.0.2.15 "*) tap_ok "same lease after the attack" ;; *) tap_fail "same lease after the attack" "$out" ;; esac
tap_check "gateway ARP entry still ours" ns_exec sh -c "ip neigh flush dev $TAP; ping -c1 -W2 10.0.2.2 >/dev/null && ip neigh show 10.0.2.2 | grep -q 52:55:0a:00:02:02"
tap_done
