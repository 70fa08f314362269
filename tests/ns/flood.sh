#!/bin/bash
# Namespace test of the resource caps (Hardening 4): a guest floods SYNs to
# fresh ports over IPv6 (to a listener on the host's [::1] whose accept
# queue is full, so every connect stays in progress) and pings one address
# with many echo identifiers, while it downloads a checksummed file over
# IPv4 from a host loopback HTTP server again and again.  Past
# --max-half-open the SYNs get RSTs, past --max-icmp-ids-per-guest the
# pings get "administratively prohibited", each counted; the echo flows
# within the cap keep answering, the downloads arrive intact, usernat keeps
# running.
# The ping target is an address on a dummy interface in the root namespace
# (or on its lo): nothing leaves the machine.
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd busybox python3
. "$TOP_SRCDIR/tests/lib/netns.sh"

HALF_OPEN=32		# --max-half-open
ICMP_IDS=16		# --max-icmp-ids-per-guest
FLOOD=200		# SYNs, and echo identifiers
PING_ADDR=198.18.0.79
DUMMY=unf$$

ns_setup flood || tap_bail "cannot set up namespace"
ns_bg python3 "$TOP_SRCDIR/tests/lib/httpd.py" "$NS_TMP/http.port" 4
wait_for_file "$NS_TMP/http.port" 10 || tap_bail "HTTP server did not start"
HTTP_PORT=$(cat "$NS_TMP/http.port")
HTTP_SHA=$(cut -c1-64 "$NS_TMP/http.port.sha256")

# A listener on [::1] that never accepts: backlog 0, filled by one
# connection of its own, so the SYNs of later connects are dropped
cat >"$NS_TMP/full.py" <<'PY'
import os, socket, sys, time
l = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
l.bind(("::1", 0))
l.listen(0)
fill = []
for i in range(4):
    c = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    c.settimeout(0.3)
    try:
        c.connect(l.getsockname()[:2])
    except OSError:
        pass
    fill.append(c)
p = os.path.join(sys.argv[1], "full.port")
open(p + ".tmp", "w").write(str(l.getsockname()[1]))
os.rename(p + ".tmp", p)
time.sleep(3600)
PY
ns_bg python3 "$NS_TMP/full.py" "$NS_TMP"
wait_for_file "$NS_TMP/full.port" 10 || tap_bail "full listener did not start"
FULL_PORT=$(cat "$NS_TMP/full.port")

if ip link add "$DUMMY" type dummy 2>/dev/null; then
	ns_on_exit "ip link del dev $DUMMY 2>/dev/null"
	ip addr add "$PING_ADDR/32" dev "$DUMMY" && ip link set "$DUMMY" up ||
		tap_bail "cannot set up $DUMMY"
elif ip addr add "$PING_ADDR/32" dev lo 2>/dev/null; then
	ns_on_exit "ip addr del $PING_ADDR/32 dev lo 2>/dev/null"
else
	tap_bail "no address for the ping target"
fi

# The flood: N non-blocking connects to [fd00::2]:PORT, then N echo
# requests to TARGET with identifiers 1..N on a raw socket; after a while,
# how many connects were refused, how many echo requests were refused
# (type 3 code 13) and which identifiers got replies; then each identifier
# again: only the answered ones may answer again.
cat >"$NS_TMP/flood.py" <<'PY'
import errno, select, socket, struct, sys, time
port, target, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def echo(i, seq):
    m = struct.pack("!BBHHH", 8, 0, 0, i, seq) + b"flood" * 4
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]
socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(("fd00::2", port))
    except BlockingIOError:
        pass
    socks.append(s)
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
def collect(secs, seq):
    admin, ids = 0, set()
    end = time.time() + secs
    while time.time() < end:
        if not select.select([r], [], [], 0.1)[0]:
            continue
        p = r.recv(2048)
        h = (p[0] & 15) * 4
        t, c = p[h], p[h + 1]
        if t == 3 and c == 13:
            admin += 1
        elif t == 0:
            i, q = struct.unpack("!HH", p[h + 4:h + 8])
            if q == seq:
                ids.add(i)
    return admin, ids
for i in range(1, n + 1):
    r.sendto(echo(i, 1), (target, 0))
admin, ids = collect(2, 1)
refused = sum(1 for s in socks
              if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) ==
              errno.ECONNREFUSED)
for i in range(1, n + 1):
    r.sendto(echo(i, 2), (target, 0))
admin2, ids2 = collect(2, 2)
print("refused=%d admin=%d answered=%d admin2=%d answered2=%d same=%d" %
      (refused, admin, len(ids), admin2, len(ids2), ids == ids2))
PY

LOG=$NS_TMP/usernat.log
usernat_start "$LOG" --vde "tap://$TAP" --max-half-open "$HALF_OPEN" \
	--max-icmp-ids-per-guest "$ICMP_IDS"
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP"
ip link set dev "$TAP" netns "$NS" || tap_bail "cannot move tap"
for s in disable_ipv6=0 forwarding=0 accept_ra=1 autoconf=1 accept_dad=1; do
	ns_exec sysctl -qw "net.ipv6.conf.$TAP.$s" || tap_bail "sysctl $s"
done
ns_exec ip link set dev lo up
# The flood is 400 frames in a burst, beside a download: room for all of
# them in the tap's queue toward usernat (500 frames by default), so that a
# loaded machine, where usernat reads late, loses none of them there
ns_exec ip link set dev "$TAP" txqueuelen 4096
ns_exec ip link set dev "$TAP" up
out=$(udhcpc_ns 2>&1)
case "$out" in *"ip=10.0.2.15 "*) tap_ok "lease" ;; *) tap_bail "no lease: $out" ;; esac
has_global() {
	ns_exec ip -6 addr show dev "$TAP" scope global | grep "inet6 fd00::" |
		grep -qv tentative
}
deadline=$((SECONDS + 15))
until has_global; do
	[ "$SECONDS" -lt "$deadline" ] || tap_bail "no SLAAC address"
	sleep 0.2
done
tap_ok "SLAAC address"

ns_exec python3 "$TOP_SRCDIR/tests/lib/fetch-until.py" "http://10.0.2.2:$HTTP_PORT/blob" \
	"$HTTP_SHA" "$NS_TMP/stop" >"$NS_TMP/fetch.log" 2>&1 &
FETCH=$!
ns_bg_pid_add "$FETCH"
sleep 0.5
res=$(ns_exec python3 "$NS_TMP/flood.py" "$FULL_PORT" "$PING_ADDR" "$FLOOD" 2>&1)
tap_diag "flood: $res"
touch "$NS_TMP/stop"
wait $FETCH
fetched=$(tail -n 1 "$NS_TMP/fetch.log")

want_refused=$((FLOOD - HALF_OPEN))
want_admin=$((FLOOD - ICMP_IDS))
case "$res" in
"refused=$want_refused "*) tap_ok "SYNs past --max-half-open refused with RST ($want_refused)" ;;
*) tap_fail "SYNs past --max-half-open refused with RST" "$res" ;;
esac
case "$res" in
*" admin=$want_admin answered=$ICMP_IDS "*) tap_ok "echo identifiers past the cap refused, $ICMP_IDS answered" ;;
*) tap_fail "echo identifiers past the cap refused" "$res" \
	"$(ns_exec ip -s link show dev "$TAP")" ;;
esac
case "$res" in
*" admin2=$want_admin answered2=$ICMP_IDS same=1") tap_ok "the echo flows within the cap keep answering" ;;
*) tap_fail "the echo flows within the cap keep answering" "$res" ;;
esac
case "$fetched" in
[1-9]*" bad=0") tap_ok "downloads during the flood intact ($fetched)" ;;
*) tap_fail "downloads during the flood intact" "$(tail -3 "$NS_TMP/fetch.log")" ;;
esac
kill -0 "$UN_PID" && tap_ok "usernat alive" || tap_fail "usernat alive" "$(tail "$LOG")"
usernat_stats "$UN_PID" "$LOG" || tap_fail "counters" "$(tail "$LOG")"
v=$(usernat_stat "$LOG" tcp_limit)
[ "$v" -ge "$want_refused" ] && tap_ok "counted: tcp_limit ($v)" ||
	tap_fail "counted: tcp_limit" "$v"
v=$(usernat_stat "$LOG" icmp_id_limit)
[ "$v" -eq $((2 * want_admin)) ] && tap_ok "counted: icmp_id_limit ($v)" ||
	tap_fail "counted: icmp_id_limit" "$v"
tap_done
