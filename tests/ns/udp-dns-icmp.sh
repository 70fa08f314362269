#!/bin/bash
# Namespace test: outbound NAT for UDP, the DNS forwarder and ICMP echo.
# The Linux kernel in a network namespace is the guest, on a tap attached to
# usernat with --vde tap://.  Everything it reaches lives on this machine:
# - a UDP echo server on the host's 127.0.0.1, reached at the gateway
#   10.0.2.2 (the host loopback mapping);
# - a tiny DNS responder on 127.0.0.1, given to usernat as --dns-upstream,
#   asked through the forwarder at 10.0.2.3;
# - 198.18.0.1 (benchmarking range, RFC 2544) on a dummy interface in the
#   root namespace, or on its lo: pinging it from the guest goes out
#   through usernat's ping sockets (phase 1, net.ipv4.ping_group_range
#   opened, then restored) or its raw socket (phase 2, range closed).
# Phase 2 is a second usernat whose upstream DNS port is closed: the guest
# must get SERVFAIL at once, not a timeout.
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd busybox python3 ping
. "$TOP_SRCDIR/tests/lib/netns.sh"

DUMMY=unp$$
PING_ADDR=198.18.0.1
DNS_NAME=test.usernat.example
DNS_ADDR=198.18.0.42	# only data in an answer, never contacted
RANGE_FILE=/proc/sys/net/ipv4/ping_group_range

ns_setup udp || tap_bail "cannot set up namespace"

# --- host side: servers, dummy address, ping sockets ---------------------
ns_bg python3 "$TOP_SRCDIR/tests/lib/udp-echo.py" "$NS_TMP/echo.port"
ns_bg python3 "$TOP_SRCDIR/tests/lib/dnsd.py" "$NS_TMP/dns.port" "$DNS_NAME" "$DNS_ADDR" \
	"$NS_TMP/dns.log"
wait_for_file "$NS_TMP/echo.port" 10 || tap_bail "UDP echo server did not start"
wait_for_file "$NS_TMP/dns.port" 10 || tap_bail "DNS responder did not start"
ECHO_PORT=$(cat "$NS_TMP/echo.port")
DNS_PORT=$(cat "$NS_TMP/dns.port")
# A port nobody listens on: bind, note, close
CLOSED_PORT=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The ping target: on a dummy interface, or (no dummy driver) on the root
# namespace's lo; local to this machine either way, removed on exit
HAVE_DUMMY=1
if ! ip addr show to "$PING_ADDR/32" | grep -q inet; then
	if ip link add "$DUMMY" type dummy 2>/dev/null; then
		ns_on_exit "ip link del dev $DUMMY 2>/dev/null"
		ip addr add "$PING_ADDR/32" dev "$DUMMY" &&
			ip link set "$DUMMY" up || HAVE_DUMMY=0
	elif ip addr add "$PING_ADDR/32" dev lo 2>/dev/null; then
		ns_on_exit "ip addr del $PING_ADDR/32 dev lo 2>/dev/null"
	else
		HAVE_DUMMY=0
	fi
fi

# ping_group_range is host-wide: tests that change it take turns
exec 9>"${TMPDIR:-/tmp}/usernat-ping_group_range.lock"
flock 9
SAVED_RANGE=$(cat "$RANGE_FILE")
ns_on_exit "echo '$SAVED_RANGE' >$RANGE_FILE"
echo "0 2147483647" >"$RANGE_FILE" || tap_bail "cannot open ping_group_range"

# --- guest helpers ---------------------------------------------------------

# guest_up: DHCP on $TAP in $NS, or static 10.0.2.15/24 via 10.0.2.2
guest_up() {
	local out line
	out=$(udhcpc_ns 2>&1)
	line=$(printf '%s\n' "$out" | grep '^DHCP: bound' | tail -n 1)
	if [ -n "$line" ]; then
		tap_diag "$line"
	else
		tap_diag "no DHCP lease, configuring statically: $out"
		ns_exec ip addr add 10.0.2.15/24 dev "$TAP"
		ns_exec ip route add default via 10.0.2.2
	fi
	ns_exec ip route show default | grep -q "via 10.0.2.2"
}

# udp_client HOST PORT: datagrams of several sizes to HOST:PORT and back,
# each checked (payload and source); a closed port must be refused
cat >"$NS_TMP/udp-client.py" <<'EOF'
import socket, sys
host, port, closed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for i, size in enumerate([1, 100, 1000, 1472, 0, 512]):
    data = bytes((i + j) & 0xff for j in range(size))
    s.sendto(data, (host, port))
    got, peer = s.recvfrom(65535)
    assert got == data, "payload %d differs" % size
    assert peer == (host, port), "reply from %s" % (peer,)
print("round trips ok")
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(2)
c.connect((host, closed))
c.send(b"anyone?")
try:
    c.recv(100)
    sys.exit("closed port answered")
except ConnectionRefusedError:
    print("closed port: refused")
EOF

# --- phase 1 ---------------------------------------------------------------
LOG=$NS_TMP/usernat.log
usernat_start "$LOG" --vde "tap://$TAP" --dns-upstream "127.0.0.1:$DNS_PORT" \
	--log-level debug
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP: $(cat "$LOG")"
ns_move_tap || tap_bail "cannot move tap"
guest_up && tap_ok "guest configured" || tap_fail "guest configured"

tap_check "UDP round trips to the host's loopback via 10.0.2.2, closed port refused" \
	ns_exec python3 "$NS_TMP/udp-client.py" 10.0.2.2 "$ECHO_PORT" "$CLOSED_PORT"

out=$(ns_exec busybox nslookup "$DNS_NAME" 10.0.2.3 2>&1)
case "$out" in
*"Address: $DNS_ADDR"* | *"Address 1: $DNS_ADDR"*) tap_ok "nslookup through 10.0.2.3" ;;
*) tap_fail "nslookup through 10.0.2.3" "$out" ;;
esac
out=$(ns_exec busybox nslookup nosuch.usernat.example 10.0.2.3 2>&1)
case "$out" in
*NXDOMAIN*) tap_ok "NXDOMAIN relayed" ;;
*) tap_fail "NXDOMAIN relayed" "$out" ;;
esac
if command -v dig >/dev/null; then
	out=$(ns_exec dig +short +time=2 +tries=1 @10.0.2.3 "$DNS_NAME" A 2>&1)
	[ "$out" = "$DNS_ADDR" ] && tap_ok "dig through 10.0.2.3" ||
		tap_fail "dig through 10.0.2.3" "$out"
else
	tap_skip "dig through 10.0.2.3" "dig not installed"
fi
grep -q "^$DNS_NAME 1\$" "$NS_TMP/dns.log" && tap_ok "query reached the upstream" ||
	tap_fail "query reached the upstream" "$(cat "$NS_TMP/dns.log" 2>&1)"

tap_check "ping the gateway (answered by usernat)" ns_exec ping -c 3 -i 0.2 -W 2 10.0.2.2
if [ "$HAVE_DUMMY" = 1 ]; then
	out=$(ns_exec ping -c 3 -i 0.2 -W 2 "$PING_ADDR" 2>&1)
	case "$out" in
	*"bytes from $PING_ADDR"*", 0% packet loss"*) tap_ok "ping $PING_ADDR through ping sockets" ;;
	*) tap_fail "ping $PING_ADDR through ping sockets" "$out" ;;
	esac
	grep -q "ICMP echo NAT: using ping sockets" "$LOG" &&
		tap_ok "usernat used ping sockets" ||
		tap_fail "usernat used ping sockets" "$(grep -i icmp "$LOG")"
	tap_check "large ping (1400 bytes payload)" \
		ns_exec ping -c 2 -i 0.2 -W 2 -s 1400 "$PING_ADDR"
	# two pings at once: separate flows, each gets its own replies
	ns_exec ping -c 3 -i 0.2 -W 2 "$PING_ADDR" >"$NS_TMP/p1" 2>&1 &
	p1=$!
	ns_exec ping -c 3 -i 0.2 -W 2 "$PING_ADDR" >"$NS_TMP/p2" 2>&1
	r2=$?
	wait "$p1"
	r1=$?
	[ "$r1" = 0 ] && [ "$r2" = 0 ] &&
		grep -q " 0% packet loss" "$NS_TMP/p1" && grep -q " 0% packet loss" "$NS_TMP/p2" &&
		! grep -q DUP "$NS_TMP/p1" "$NS_TMP/p2" &&
		tap_ok "two concurrent pings, no loss, no duplicates" ||
		tap_fail "two concurrent pings, no loss, no duplicates" "$(cat "$NS_TMP/p1" "$NS_TMP/p2")"
else
	tap_skip "ping $PING_ADDR through ping sockets" "cannot add $PING_ADDR"
	tap_skip "usernat used ping sockets" "cannot add $PING_ADDR"
	tap_skip "large ping" "cannot add $PING_ADDR"
	tap_skip "two concurrent pings" "cannot add $PING_ADDR"
fi

usernat_stats "$UN_PID" "$LOG"
for c in udp_flows udp_in udp_out udp_icmp_relayed dns_queries dns_replies; do
	[ "$(usernat_stat "$LOG" "$c")" -ge 1 ] && tap_ok "counter $c" ||
		tap_fail "counter $c" "$(grep ' stat ' "$LOG")"
done
if [ "$HAVE_DUMMY" = 1 ]; then
	[ "$(usernat_stat "$LOG" icmp_echo_in)" -ge 11 ] && tap_ok "counter icmp_echo_in" ||
		tap_fail "counter icmp_echo_in" "$(grep ' stat ' "$LOG")"
fi
tap_diag "$(grep -v -e debug: -e ' stat ' "$LOG")"
n_info=$(grep -vc "debug:" "$LOG")
[ "$n_info" -lt 60 ] && tap_ok "no info line per packet ($n_info lines)" ||
	tap_fail "no info line per packet" "$(grep -v debug: "$LOG" | tail -n 20)"
kill -0 "$UN_PID" && tap_ok "usernat still running" || tap_fail "usernat still running"

# --- phase 2: upstream refuses; raw socket for echo ------------------------
echo "1 0" >"$RANGE_FILE"
ns_setup udp || tap_bail "cannot set up second namespace"
LOG2=$NS_TMP/usernat.log
usernat_start "$LOG2" --vde "tap://$TAP" --dns-upstream "127.0.0.1:$CLOSED_PORT"
UN2=$UN_PID
wait_for_tap_attached 10 "$UN2" || tap_bail "usernat did not open $TAP: $(cat "$LOG2")"
ns_move_tap || tap_bail "cannot move tap"
guest_up && tap_ok "second guest configured" || tap_fail "second guest configured"

t0=$(date +%s%N)
out=$(ns_exec busybox nslookup "$DNS_NAME" 10.0.2.3 2>&1)
st=$?
ms=$((($(date +%s%N) - t0) / 1000000))
tap_diag "nslookup with a refusing upstream: status $st after $ms ms"
case "$out" in
*SERVFAIL*) tap_ok "SERVFAIL when the upstream refuses" ;;
*) tap_fail "SERVFAIL when the upstream refuses" "$out" ;;
esac
[ "$st" -ne 0 ] && [ "$ms" -lt 3000 ] && tap_ok "nslookup fails within 3 s" ||
	tap_fail "nslookup fails within 3 s" "status $st, $ms ms"

if [ "$HAVE_DUMMY" = 1 ]; then
	out=$(ns_exec ping -c 2 -i 0.2 -W 2 "$PING_ADDR" 2>&1)
	case "$out" in
	*"bytes from $PING_ADDR"*", 0% packet loss"*) tap_ok "ping $PING_ADDR through the raw socket" ;;
	*) tap_fail "ping $PING_ADDR through the raw socket" "$out" ;;
	esac
	grep -q "ICMP echo NAT: using a raw socket" "$LOG2" &&
		tap_ok "usernat used a raw socket" ||
		tap_fail "usernat used a raw socket" "$(grep -i icmp "$LOG2")"
else
	tap_skip "ping through the raw socket" "cannot add $PING_ADDR"
	tap_skip "usernat used a raw socket" "cannot add $PING_ADDR"
fi
usernat_stats "$UN2" "$LOG2"
[ "$(usernat_stat "$LOG2" dns_servfail)" -ge 1 ] && tap_ok "counter dns_servfail" ||
	tap_fail "counter dns_servfail" "$(grep ' stat ' "$LOG2")"
kill -0 "$UN2" && tap_ok "second usernat still running" ||
	tap_fail "second usernat still running"
tap_done
