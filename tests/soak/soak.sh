#!/bin/bash
# Soak test (make soak, SOAK_SECONDS=60 by default; root): mixed traffic
# against one sandboxed usernat for SOAK_SECONDS - DHCP renewals, pings of
# the gateway and (when a local target can be set up) through the ICMP NAT,
# UDP round trips and DNS queries each on a new flow, TCP connections when
# TCP NAT is available - sampling the daemon's resident memory (VmRSS) and
# descriptor count every SOAK_SAMPLE seconds.  After a warm-up, neither may
# grow beyond a small tolerance: the mean of the last three samples against
# the mean of the first three after the warm-up, SOAK_RSS_KB (default
# 2048 kB) and SOAK_FD_SLACK (default 32 descriptors: flows come and go;
# the warm-up is 70 s for runs of 140 s and more, see WARMUP below).
# Once the traffic stops and flows time out (UDP after 3 s, --udp-timeout 3;
# ICMP echo after 60 s), the descriptor count must come back to what it was
# before the traffic started.
# Everything stays on this machine: the guest is a network namespace, the
# servers listen on 127.0.0.1, the ping target is a dummy address.
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd busybox python3 ping
. "$TOP_SRCDIR/tests/lib/netns.sh"

SOAK_SECONDS=${SOAK_SECONDS:-60}
SOAK_SAMPLE=${SOAK_SAMPLE:-5}
SOAK_RSS_KB=${SOAK_RSS_KB:-2048}
SOAK_FD_SLACK=${SOAK_FD_SLACK:-32}
# The warm-up must outlast the longest-lived flows: the traffic pings the
# NAT target once a second, each time with a new echo identifier, so echo
# flows pile up for their first 60 s (ICMP echo's idle timeout) before the
# descriptor count levels off; measured from 15 s, a 600 s run showed that
# ramp (+40 descriptors) and no growth after it.  Runs of 140 s and more
# wait 70 s; shorter ones can't, and allow for the ramp in the slack.
if [ "$SOAK_SECONDS" -ge 140 ]; then
	WARMUP=70
else
	WARMUP=$((SOAK_SECONDS / 4 > 15 ? 15 : SOAK_SECONDS / 4))
	SOAK_FD_SLACK=$((SOAK_FD_SLACK + (SOAK_SECONDS < 60 ? SOAK_SECONDS : 60) - WARMUP))
fi
WARMUP=${SOAK_WARMUP:-$WARMUP}
[ "$SOAK_SECONDS" -ge 20 ] || tap_bail "SOAK_SECONDS must be at least 20"
PING_ADDR=198.18.0.77
DUMMY=uns$$

ns_setup soak || tap_bail "cannot set up namespace"

# --- host side: UDP and TCP echo, a DNS responder, all on 127.0.0.1 -------
cat >"$NS_TMP/servers.py" <<'EOF'
import os, socket, struct, sys, threading
d = sys.argv[1]
def publish(name, s):
    open(os.path.join(d, name + ".tmp"), "w").write(str(s.getsockname()[1]))
    os.rename(os.path.join(d, name + ".tmp"), os.path.join(d, name))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
n = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n.bind(("127.0.0.1", 0))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", 0))
t.listen(64)
def udp_echo():
    while True:
        m, p = u.recvfrom(65535)
        u.sendto(m, p)
def dns():
    # every A query: 198.18.0.42; anything else: NXDOMAIN
    while True:
        q, p = n.recvfrom(4096)
        if len(q) < 17:
            continue
        i = 12
        while i < len(q) and q[i]:
            i += 1 + q[i]
        qend = i + 5
        if qend > len(q):
            continue
        qid, = struct.unpack("!H", q[:2])
        rr = struct.pack("!HHHIH", 0xc00c, 1, 1, 60, 4) + bytes([198, 18, 0, 42])
        n.sendto(struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q[12:qend] + rr, p)
def tcp_client(c):
    try:
        while True:
            m = c.recv(65536)
            if not m:
                break
            c.sendall(m)
    finally:
        c.close()
def tcp_echo():
    while True:
        c, _ = t.accept()
        threading.Thread(target=tcp_client, args=(c,), daemon=True).start()
for f in (udp_echo, dns, tcp_echo):
    threading.Thread(target=f, daemon=True).start()
publish("udp.port", u); publish("dns.port", n); publish("tcp.port", t)
threading.Event().wait()
EOF
ns_bg python3 "$NS_TMP/servers.py" "$NS_TMP"
wait_for_file "$NS_TMP/tcp.port" 10 || tap_bail "servers did not start"
UDP_PORT=$(cat "$NS_TMP/udp.port")
DNS_PORT=$(cat "$NS_TMP/dns.port")
TCP_PORT=$(cat "$NS_TMP/tcp.port")

# The ICMP NAT's target: an address on a dummy interface (or, without the
# dummy driver, on the root namespace's lo), ping sockets for everyone
HAVE_PING_TARGET=0
if ip link add "$DUMMY" type dummy 2>/dev/null; then
	ns_on_exit "ip link del dev $DUMMY 2>/dev/null"
	ip addr add "$PING_ADDR/32" dev "$DUMMY" && ip link set "$DUMMY" up &&
		HAVE_PING_TARGET=1
elif ip addr add "$PING_ADDR/32" dev lo 2>/dev/null; then
	ns_on_exit "ip addr del $PING_ADDR/32 dev lo 2>/dev/null"
	HAVE_PING_TARGET=1
fi
RANGE_FILE=/proc/sys/net/ipv4/ping_group_range
SAVED_RANGE=$(cat "$RANGE_FILE")
ns_on_exit "echo '$SAVED_RANGE' >$RANGE_FILE"
echo "0 2147483647" >"$RANGE_FILE"

LOG=$NS_TMP/usernat.log
usernat_start "$LOG" --vde "tap://$TAP" --dns-upstream "127.0.0.1:$DNS_PORT" \
	--udp-timeout 3 --lease-time 60 --no-control --runas nobody
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP: $(cat "$LOG")"
ns_move_tap || tap_bail "cannot move tap"
out=$(udhcpc_ns 2>&1)
printf '%s\n' "$out" | grep -q '^DHCP: bound' || tap_bail "no DHCP lease: $out"
tap_ok "guest configured"

# --- the guest's traffic ------------------------------------------------------
cat >"$NS_TMP/traffic.py" <<'EOF'
import errno, os, socket, struct, subprocess, sys, time
end = time.time() + float(sys.argv[1])
udp_port, tcp_port, ping_addr = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
# renew_gap: the address was gone for a moment (udhcpc deconfigures the
# interface when it renews), not usernat's doing
stats = dict(udp=0, dns=0, tcp=0, tcp_fail=0, ping=0, fail=0, renew_gap=0)
def udp_once():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(os.urandom(200), ("10.0.2.2", udp_port))
    s.recvfrom(2048)
    s.close()
    stats["udp"] += 1
def dns_once():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    q = struct.pack("!HHHHHH", os.getpid() & 0xffff, 0x100, 1, 0, 0, 0) + \
        b"\x04soak\x07usernat\x07example\x00\x00\x01\x00\x01"
    s.sendto(q, ("10.0.2.3", 53))
    r, _ = s.recvfrom(2048)
    assert r[:2] == q[:2]
    s.close()
    stats["dns"] += 1
def tcp_once():
    try:
        s = socket.create_connection(("10.0.2.2", tcp_port), timeout=3)
    except OSError as e:
        if e.errno in (errno.ENETUNREACH, errno.EADDRNOTAVAIL):
            raise
        stats["tcp_fail"] += 1
        return
    data = os.urandom(20000)
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        c = s.recv(65536)
        if not c:
            break
        got += c
    s.close()
    if got != data:
        raise RuntimeError("TCP stream differs")
    stats["tcp"] += 1
last_ping = 0
while time.time() < end:
    for f in (udp_once, dns_once, tcp_once):
        try:
            f()
        except OSError as e:
            if e.errno in (errno.ENETUNREACH, errno.EADDRNOTAVAIL):
                stats["renew_gap"] += 1
                continue
            stats["fail"] += 1
            print("error:", f.__name__, e, file=sys.stderr)
        except Exception as e:
            stats["fail"] += 1
            print("error:", f.__name__, e, file=sys.stderr)
    if time.time() - last_ping > 1:
        last_ping = time.time()
        for a in ["10.0.2.2"] + ([ping_addr] if ping_addr != "-" else []):
            r = subprocess.run(["ping", "-c", "1", "-W", "2", a],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            stats["ping" if r.returncode == 0 else "fail"] += 1
    time.sleep(0.02)
print(" ".join("%s=%d" % kv for kv in stats.items()))
EOF
target=-
[ "$HAVE_PING_TARGET" = 1 ] && target=$PING_ADDR
IDLE_FDS=$(ls "/proc/$UN_PID/fd" | wc -l)
ns_exec python3 "$NS_TMP/traffic.py" "$SOAK_SECONDS" "$UDP_PORT" "$TCP_PORT" \
	"$target" >"$NS_TMP/traffic.out" 2>"$NS_TMP/traffic.err" &
TRAFFIC=$!
# DHCP renewals: udhcpc again every 10 s (a REQUEST for the same address)
(
	while kill -0 "$TRAFFIC" 2>/dev/null; do
		sleep 10
		udhcpc_ns >>"$NS_TMP/renew.out" 2>&1
	done
) &
RENEW=$!
ns_bg_pid_add "$TRAFFIC" "$RENEW"

# --- sampling ----------------------------------------------------------------
samples=()
t0=$SECONDS
while kill -0 "$TRAFFIC" 2>/dev/null; do
	sleep "$SOAK_SAMPLE"
	kill -0 "$UN_PID" 2>/dev/null && kill -0 "$TRAFFIC" 2>/dev/null || break
	rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$UN_PID/status")
	fds=$(ls "/proc/$UN_PID/fd" | wc -l)
	samples+=("$((SECONDS - t0)) $rss $fds")
	tap_diag "t=$((SECONDS - t0))s VmRSS ${rss} kB, $fds descriptors"
done
wait "$TRAFFIC"
kill "$RENEW" 2>/dev/null
tap_diag "traffic: $(cat "$NS_TMP/traffic.out")"
[ -s "$NS_TMP/traffic.err" ] && tap_diag "$(sort "$NS_TMP/traffic.err" | uniq -c | head)"

kill -0 "$UN_PID" 2>/dev/null && tap_ok "usernat alive after ${SOAK_SECONDS}s" ||
	tap_fail "usernat alive after ${SOAK_SECONDS}s" "$(tail -n 30 "$LOG")"
# traffic of every kind went through, and failures stayed rare
read -r udp dns tcp tcp_fail ping fail renew_gap < <(sed -E 's/[a-z_]+=//g' "$NS_TMP/traffic.out")
[ "${udp:-0}" -gt 0 ] && [ "${dns:-0}" -gt 0 ] && [ "${ping:-0}" -gt 0 ] &&
	tap_ok "UDP, DNS and ping traffic flowed" ||
	tap_fail "UDP, DNS and ping traffic flowed" "$(cat "$NS_TMP/traffic.out")"
if [ "${tcp:-0}" -gt 0 ]; then
	tap_ok "TCP traffic flowed ($tcp connections)"
else
	usernat_stats "$UN_PID" "$LOG"
	tap_skip "TCP traffic flowed" "no TCP connection succeeded (drop_tcp_nat $(usernat_stat "$LOG" drop_tcp_nat))"
fi
total=$((udp + dns + tcp + ping))
[ "$((fail * 100))" -le "$total" ] && tap_ok "failures under 1% ($fail of $total)" ||
	tap_fail "failures under 1% ($fail of $total)" "$(sort "$NS_TMP/traffic.err" | uniq -c | head)"
grep -q "DHCP: bound" "$NS_TMP/renew.out" && tap_ok "DHCP renewals served" ||
	tap_fail "DHCP renewals served" "$(tail -n 5 "$NS_TMP/renew.out" 2>&1)"

# growth after the warm-up: the first three samples at or after WARMUP
# against the last three, by their means
after=()
for x in "${samples[@]+"${samples[@]}"}"; do
	read -r t rss fds <<<"$x"
	[ "$t" -lt "$WARMUP" ] || after+=("$rss $fds")
done
# mean FIELD FIRST COUNT: mean of field FIELD (1: RSS, 2: fds) of after[]
mean() {
	local i sum=0 v
	for ((i = $2; i < $2 + $3; i++)); do
		v=$(echo "${after[i]}" | cut -d' ' -f"$1")
		sum=$((sum + v))
	done
	echo $((sum / $3))
}
n=${#after[@]}
if [ "$n" -lt 3 ]; then
	tap_fail "enough samples after the warm-up" "${#samples[@]} samples"
else
	r0=$(mean 1 0 3) r1=$(mean 1 $((n - 3)) 3)
	f0=$(mean 2 0 3) f1=$(mean 2 $((n - 3)) 3)
	[ "$((r1 - r0))" -le "$SOAK_RSS_KB" ] &&
		tap_ok "VmRSS flat: $r0 kB -> $r1 kB (tolerance $SOAK_RSS_KB kB)" ||
		tap_fail "VmRSS flat: $r0 kB -> $r1 kB (tolerance $SOAK_RSS_KB kB)" \
			"${samples[@]}"
	[ "$((f1 - f0))" -le "$SOAK_FD_SLACK" ] &&
		tap_ok "descriptors flat under load: $f0 -> $f1 (tolerance $SOAK_FD_SLACK)" ||
		tap_fail "descriptors flat under load: $f0 -> $f1 (tolerance $SOAK_FD_SLACK)" \
			"${samples[@]}"
fi
# the traffic has stopped: once flows time out, the idle count again (UDP
# flows after 3 s, ICMP echo flows after 60 s idle: icmp.c)
deadline=$((SECONDS + 75))
while fds=$(ls "/proc/$UN_PID/fd" 2>/dev/null | wc -l) &&
	[ "$fds" -gt "$IDLE_FDS" ] && [ "$SECONDS" -lt "$deadline" ]; do
	sleep 0.5
done
[ "$fds" -le "$IDLE_FDS" ] &&
	tap_ok "descriptors back to idle after the traffic: $fds (before: $IDLE_FDS)" ||
	tap_fail "descriptors back to idle after the traffic: $fds (before: $IDLE_FDS)" \
		"$(ls -l "/proc/$UN_PID/fd" 2>&1 | tail -n 30)"
usernat_stats "$UN_PID" "$LOG"
tap_diag "$(grep -E ' stat (udp_flows|udp_flows_expired|dns_queries|dhcp_request|icmp_flows|icmp_echo_in|tcp_[a-z_]*|drop_[a-z_]*) ' "$LOG" | sed 's/.*stat //' | tr '\n' ' ')"
tap_done
