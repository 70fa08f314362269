#!/bin/bash
# Namespace test: NAT over IPv6 (UDP, DNS, ICMPv6 echo).  The Linux kernel in
# a network namespace is the guest, on a tap attached to usernat with
# --vde tap://; it gets its address by SLAAC (as in ipv6.sh) and a static
# IPv4 address.  Everything it reaches lives on this machine:
# - a UDP echo server on the host's [::1], reached at the gateway fd00::2
#   (the host loopback mapping);
# - a DNS responder on 127.0.0.1 (tests/lib/dnsd.py, with an AAAA answer),
#   given to usernat as --dns-upstream, asked through dns6, fd00::3;
# - 2001:db8:ffff::1 (documentation prefix, RFC 3849), added to the root
#   namespace's lo for this test only, pinged through the ICMPv6 echo NAT
#   (ping sockets; net.ipv4.ping_group_range opened, then restored);
# - a UDP server only on 127.0.0.1: a dual-stack client trying [fd00::2]
#   first is refused at once (ICMPv6 port unreachable relayed from the
#   host socket's error queue) and falls back to 10.0.2.2.
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd python3 ping
. "$TOP_SRCDIR/tests/lib/netns.sh"

PING6_ADDR=2001:db8:ffff::1
DNS_NAME=v6.usernat.example
DNS_ADDR=198.18.0.42		# only data in an answer, never contacted
DNS_ADDR6=2001:db8:ffff::42	# likewise
RANGE_FILE=/proc/sys/net/ipv4/ping_group_range

[ "$(sysctl -n net.ipv6.conf.lo.disable_ipv6 2>/dev/null)" = 0 ] ||
	tap_bail "IPv6 is disabled on this host's loopback"
ns_setup ipv6nat || tap_bail "cannot set up namespace"

# --- host side -------------------------------------------------------------
cat >"$NS_TMP/echo6.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::1", 0))
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(data, peer)
PY
ns_bg python3 "$NS_TMP/echo6.py" "$NS_TMP/echo6.port"
ns_bg python3 "$TOP_SRCDIR/tests/lib/udp-echo.py" "$NS_TMP/echo4.port"
ns_bg python3 "$TOP_SRCDIR/tests/lib/dnsd.py" "$NS_TMP/dns.port" "$DNS_NAME" \
	"$DNS_ADDR" "$NS_TMP/dns.log" "$DNS_ADDR6"
for f in echo6 echo4 dns; do
	wait_for_file "$NS_TMP/$f.port" 10 || tap_bail "$f server did not start"
done
ECHO6_PORT=$(cat "$NS_TMP/echo6.port")
ECHO4_PORT=$(cat "$NS_TMP/echo4.port")	# 127.0.0.1 only
DNS_PORT=$(cat "$NS_TMP/dns.port")

HAVE_PING6=0
if ip -6 addr add "$PING6_ADDR/128" dev lo 2>/dev/null; then
	ns_on_exit "ip -6 addr del $PING6_ADDR/128 dev lo 2>/dev/null"
	HAVE_PING6=1
fi
# ping_group_range is host-wide: tests that change it take turns
exec 9>"${TMPDIR:-/tmp}/usernat-ping_group_range.lock"
flock 9
SAVED_RANGE=$(cat "$RANGE_FILE")
ns_on_exit "echo '$SAVED_RANGE' >$RANGE_FILE"
echo "0 2147483647" >"$RANGE_FILE" || tap_bail "cannot open ping_group_range"

# --- usernat and the guest ---------------------------------------------------
LOG=$NS_TMP/usernat.log
usernat_start "$LOG" --vde "tap://$TAP" --dns-upstream "127.0.0.1:$DNS_PORT" \
	--no-dhcp --log-level debug
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP: $(cat "$LOG")"
ns_move_tap_ipv6 || tap_bail "cannot move the tap into $NS"
ns_exec ip addr add 10.0.2.15/24 dev "$TAP"
ns_exec ip route add default via 10.0.2.2

ns_wait 15 ns_has_addr6 global fd00:: &&
	tap_ok "SLAAC: global address in fd00::/64" ||
	tap_bail "no SLAAC address: $(ns_exec ip -6 addr show dev "$TAP")"
tap_diag "$(ns_exec ip -6 addr show dev "$TAP" scope global)"

# --- DNS over IPv6: an AAAA record through dns6 ------------------------------
cat >"$NS_TMP/aaaa.py" <<'PY'
import socket, struct, sys
server, name = sys.argv[1], sys.argv[2]
q = struct.pack("!HHHHHH", 0x5a5a, 0x0100, 1, 0, 0, 0)
for label in name.split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack("!HH", 28, 1)
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(q, (server, 53))
r, peer = s.recvfrom(4096)
assert peer[:2] == (server, 53), "reply from %s" % (peer,)
qid, flags, qd, an = struct.unpack("!HHHH", r[:8])
assert qid == 0x5a5a and flags & 0x8000 and an == 1, r
i = len(q)
rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", r[i + 2:i + 12])
assert rtype == 28 and rdlen == 16, (rtype, rdlen)
print(socket.inet_ntop(socket.AF_INET6, r[i + 12:i + 28]))
PY
out=$(ns_exec python3 "$NS_TMP/aaaa.py" fd00::3 "$DNS_NAME" 2>&1)
[ "$out" = "$DNS_ADDR6" ] && tap_ok "AAAA through dns6 fd00::3" ||
	tap_fail "AAAA through dns6 fd00::3" "$out"
grep -q "^$DNS_NAME 28\$" "$NS_TMP/dns.log" &&
	tap_ok "AAAA query reached the upstream" ||
	tap_fail "AAAA query reached the upstream" "$(cat "$NS_TMP/dns.log" 2>&1)"
if command -v busybox >/dev/null && busybox --list | grep -qx nslookup; then
	out=$(ns_exec busybox nslookup "$DNS_NAME" fd00::3 2>&1)
	case "$out" in
	*"$DNS_ADDR"*) tap_ok "nslookup (A) over IPv6 through fd00::3" ;;
	*) tap_fail "nslookup (A) over IPv6 through fd00::3" "$out" ;;
	esac
else
	tap_skip "nslookup over IPv6" "no busybox nslookup"
fi

# --- UDP over IPv6 to the host's [::1] via fd00::2 ----------------------------
cat >"$NS_TMP/udp6.py" <<'PY'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(2)
for i, size in enumerate([1, 100, 1000, 1300, 0, 512]):
    data = bytes((i + j) & 0xff for j in range(size))
    s.sendto(data, (host, port))
    got, peer = s.recvfrom(65535)
    assert got == data, "payload %d differs" % size
    assert peer[:2] == (host, port), "reply from %s" % (peer,)
print("round trips ok")
PY
tap_check "UDP round trips to the host's [::1] via [fd00::2]" \
	ns_exec python3 "$NS_TMP/udp6.py" fd00::2 "$ECHO6_PORT"

# --- a dual-stack client falls back to IPv4 at once --------------------------
cat >"$NS_TMP/dual.py" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
for family, host in ((socket.AF_INET6, "fd00::2"), (socket.AF_INET, "10.0.2.2")):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((host, port))
    t0 = time.monotonic()
    s.send(b"hello?")
    try:
        got = s.recv(100)
    except ConnectionRefusedError:
        ms = (time.monotonic() - t0) * 1000
        print("%s refused after %.0f ms" % (host, ms))
        assert family == socket.AF_INET6 and ms < 1000, "too slow"
        continue
    except socket.timeout:
        sys.exit("%s: timeout" % host)
    assert family == socket.AF_INET and got == b"hello?", (host, got)
    print("%s answered" % host)
    sys.exit(0)
sys.exit("no address worked")
PY
out=$(ns_exec python3 "$NS_TMP/dual.py" "$ECHO4_PORT" 2>&1)
st=$?
tap_diag "$out"
case "$out" in
*"fd00::2 refused"*"10.0.2.2 answered"*) [ "$st" = 0 ] &&
	tap_ok "dual-stack client: IPv6 refused at once, IPv4 works" ||
	tap_fail "dual-stack client: IPv6 refused at once, IPv4 works" "$out" ;;
*) tap_fail "dual-stack client: IPv6 refused at once, IPv4 works" "$out" ;;
esac

# --- ICMPv6 echo NAT ----------------------------------------------------------
tap_check "ping -6 the gateway fd00::2 (answered by usernat)" \
	ns_exec ping -6 -c 2 -i 0.2 -W 2 fd00::2
if [ "$HAVE_PING6" = 1 ]; then
	out=$(ns_exec ping -6 -c 3 -i 0.2 -W 2 "$PING6_ADDR" 2>&1)
	case "$out" in
	*"bytes from $PING6_ADDR"*", 0% packet loss"*)
		tap_ok "ping -6 $PING6_ADDR through ICMPv6 echo NAT" ;;
	*) tap_fail "ping -6 $PING6_ADDR through ICMPv6 echo NAT" "$out" ;;
	esac
	grep -q "ICMPv6 echo NAT: using ping sockets" "$LOG" &&
		tap_ok "usernat used ICMPv6 ping sockets" ||
		tap_fail "usernat used ICMPv6 ping sockets" "$(grep -i icmp "$LOG")"
	ns_exec ping -6 -c 3 -i 0.2 -W 2 "$PING6_ADDR" >"$NS_TMP/p1" 2>&1 &
	p1=$!
	ns_exec ping -6 -c 3 -i 0.2 -W 2 "$PING6_ADDR" >"$NS_TMP/p2" 2>&1
	r2=$?
	wait "$p1"
	r1=$?
	[ "$r1" = 0 ] && [ "$r2" = 0 ] && ! grep -q DUP "$NS_TMP/p1" "$NS_TMP/p2" &&
		tap_ok "two concurrent ping -6, no loss, no duplicates" ||
		tap_fail "two concurrent ping -6" "$(cat "$NS_TMP/p1" "$NS_TMP/p2")"
else
	tap_skip "ping -6 through ICMPv6 echo NAT" "cannot add $PING6_ADDR to lo"
	tap_skip "usernat used ICMPv6 ping sockets" "cannot add $PING6_ADDR to lo"
	tap_skip "two concurrent ping -6" "cannot add $PING6_ADDR to lo"
fi

# --- counters, flows ---------------------------------------------------------
usernat_stats "$UN_PID" "$LOG"
for c in udp_flows udp_in udp_out udp_icmp_relayed dns_queries dns_replies; do
	[ "$(usernat_stat "$LOG" "$c")" -ge 1 ] && tap_ok "counter $c" ||
		tap_fail "counter $c" "$(grep ' stat ' "$LOG")"
done
if [ "$HAVE_PING6" = 1 ]; then
	[ "$(usernat_stat "$LOG" icmp_echo_in)" -ge 9 ] &&
		tap_ok "counter icmp_echo_in" ||
		tap_fail "counter icmp_echo_in" "$(grep ' stat ' "$LOG")"
fi
grep -q "UDP flow \[fd00::.*\]:[0-9]* -> \[fd00::2\]:$ECHO6_PORT: new" "$LOG" &&
	tap_ok "IPv6 UDP flow logged" ||
	tap_fail "IPv6 UDP flow logged" "$(grep 'UDP flow' "$LOG" | head)"
tap_diag "drop_ip6_nat: $(usernat_stat "$LOG" drop_ip6_nat)"
kill -0 "$UN_PID" && tap_ok "usernat still running" || tap_fail "usernat still running"
tap_done
