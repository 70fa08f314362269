#!/bin/bash
# Namespace test: forward-source=client.  Four namespaces, none of them the
# machine's own:
#   C  (client)  198.18.0.2/24 --veth-- 198.18.0.1/24  H (host)
#   H runs two usernats, each on a tap moved on to its guest namespace:
#     A: --forward-source client --restrict, guest G1
#     B: default (gateway), guest G2
#   G1, G2: the kernel as guest (udhcpc lease, default route via 10.0.2.2),
#           a TCP echo on 8080 and a UDP echo on 7777 that prefix every
#           answer with the peer address they see.
# 198.18.0.0/15 is the benchmarking range (RFC 2544), 2001:db8::/32 the
# documentation prefix (RFC 3849): never on a real net.  The veth also
# carries 2001:db8::1 and ::2, and the guests hold fd00::15 in prefix6.
# Asserted:
# - through A, the guest sees C's address and port, TCP (1 MB) and UDP
#   (several sizes) round trips come back sha256-identical, although
#   --restrict refuses every new outbound flow (the replies are matched to
#   the forwarded flows first); a new connection from G1 to C is refused;
# - a client on H's loopback through A is seen as the gateway, and works;
# - through B the guest sees the gateway; G2 may connect to C (so the
#   refusal through A is the policy's doing);
# - forwards to the IPv6 guest [fd00::15]: through A a client at
#   2001:db8::2 is seen as itself, an IPv4 loopback client as gateway6
#   fd00::2; an IPv6 client toward the IPv4 guest as 10.0.2.2; through B
#   an IPv6 client as fd00::2.
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd busybox python3
. "$TOP_SRCDIR/tests/lib/netns.sh"
[ "$(sysctl -n net.ipv6.conf.all.disable_ipv6 2>/dev/null)" = 0 ] ||
	tap_skip_all "IPv6 is disabled on this machine"

ns_setup fsrc || tap_bail "cannot set up namespace"
G1=$NS T1=$TAP TMP=$NS_TMP
ns_setup fsrc || tap_bail "cannot set up the second namespace"
G2=$NS T2=$TAP
H=usernat-fsrch-$$ C=usernat-fsrcc-$$
ns_on_exit "ip netns del $H 2>/dev/null; ip netns del $C 2>/dev/null"
ip netns add "$H" && ip netns add "$C" || tap_bail "cannot create namespaces"
ip -n "$H" link add vh type veth peer name vc netns "$C" ||
	tap_bail "cannot create the veth pair"
ip -n "$H" addr add 198.18.0.1/24 dev vh && ip -n "$H" link set vh up &&
	ip -n "$H" link set lo up &&
	ip -n "$C" addr add 198.18.0.2/24 dev vc && ip -n "$C" link set vc up &&
	ip -n "$C" link set lo up &&
	ip -n "$H" addr add 2001:db8::1/64 dev vh nodad &&
	ip -n "$C" addr add 2001:db8::2/64 dev vc nodad ||
	tap_bail "cannot configure the veth pair"
ip link set "$T1" netns "$H" && ip link set "$T2" netns "$H" ||
	tap_bail "cannot move the taps to $H"

# Guest servers: echo with "IP PORT\n" of the peer in front
cat >"$TMP/srv.py" <<'EOF'
import os, socket, sys, threading
def peer_str(peer):
    ip = peer[0][7:] if peer[0].startswith("::ffff:") else peer[0]
    return ("%s %d\n" % (ip, peer[1])).encode()
def dual(kind):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return s
def tcp():
    s = dual(socket.SOCK_STREAM)
    s.bind(("::", 8080))
    s.listen(16)
    def one(c, peer):
        with c:
            data = b""
            while True:
                d = c.recv(1 << 16)
                if not d:
                    break
                data += d
            c.sendall(peer_str(peer) + data)
    while True:
        c, peer = s.accept()
        threading.Thread(target=one, args=(c, peer), daemon=True).start()
threading.Thread(target=tcp, daemon=True).start()
u = dual(socket.SOCK_DGRAM)
u.bind(("::", 7777))
open(sys.argv[1] + ".tmp", "w").write("ready")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    data, peer = u.recvfrom(65535)
    u.sendto(peer_str(peer) + data, peer)
EOF

# Client: PROTO HOST PORT; prints "peer=IP:PORT local=IP:PORT" as the guest
# saw it and as the client is, exit 0 if every echo matched (sha256)
cat >"$TMP/cli.py" <<'EOF'
import hashlib, os, socket, sys
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
def split(reply):
    head, _, body = reply.partition(b"\n")
    ip, p = head.decode().split()
    return "%s:%s" % (ip, p), body
if proto == "tcp":
    data = os.urandom(1 << 20)
    c = socket.create_connection((host, port), timeout=10)
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        d = c.recv(1 << 16)
        if not d:
            break
        reply += d
    peer, body = split(reply)
    if hashlib.sha256(body).digest() != hashlib.sha256(data).digest():
        sys.exit("echo differs: %d bytes of %d" % (len(body), len(data)))
    local = c.getsockname()
else:
    c = socket.socket(family, socket.SOCK_DGRAM)
    c.settimeout(2)
    c.connect((host, port))	# for getsockname(); recvfrom() still checks
    seen = set()
    for size in (1, 100, 1000, 1400, 0, 512):
        data = os.urandom(size)
        c.send(data)
        try:
            reply, src = c.recvfrom(65535)
        except socket.timeout:
            sys.exit("no answer to %d bytes" % size)
        peer, body = split(reply)
        if hashlib.sha256(body).digest() != hashlib.sha256(data).digest():
            sys.exit("echo of %d bytes differs" % size)
        if src[:2] != (host, port):
            sys.exit("answer from %s" % (src,))
        seen.add(peer)
    if len(seen) != 1:
        sys.exit("peer changed: %s" % seen)
    local = c.getsockname()
print("peer=%s local=%s:%d" % (peer, local[0], local[1]))
EOF

# usernat_start runs "$USERNAT ARGS": here "ip netns exec H usernat ARGS"
start_in_h() {
	local log=$1
	shift
	USERNAT=ip usernat_start "$log" netns exec "$H" "$UN_BIN" "$@"
}
UN_BIN=$USERNAT
start_in_h "$TMP/a.log" --vde "tap://$T1" --no-control \
	--forward-source client --restrict \
	--forward tcp:198.18.0.1:2201-:8080 --forward udp:198.18.0.1:2201-:7777 \
	--forward tcp:127.0.0.1:2202-:8080 --forward udp:127.0.0.1:2202-:7777 \
	--forward "tcp:[2001:db8::1]:2203-[fd00::15]:8080" \
	--forward "udp:[2001:db8::1]:2203-[fd00::15]:7777" \
	--forward "tcp:127.0.0.1:2204-[fd00::15]:8080" \
	--forward "tcp:[2001:db8::1]:2205-:8080"
PID_A=$UN_PID
start_in_h "$TMP/b.log" --vde "tap://$T2" --no-control \
	--forward tcp:198.18.0.1:2211-:8080 --forward udp:198.18.0.1:2211-:7777 \
	--forward "tcp:[2001:db8::1]:2213-[fd00::15]:8080" \
	--forward "udp:[2001:db8::1]:2213-[fd00::15]:7777"
PID_B=$UN_PID
TAP=$T1 wait_for_tap_attached 10 "$PID_A" ||
	tap_bail "usernat A did not open $T1: $(cat "$TMP/a.log")"
TAP=$T2 wait_for_tap_attached 10 "$PID_B" ||
	tap_bail "usernat B did not open $T2: $(cat "$TMP/b.log")"

# Taps on to the guests; each gets its lease and starts its servers
for g in 1 2; do
	eval "NS=\$G$g TAP=\$T$g"
	ip -n "$H" link set dev "$TAP" netns "$NS" && ns_exec ip link set lo up &&
		ns_exec ip link set "$TAP" up || tap_bail "cannot move $TAP"
	out=$(udhcpc_ns 2>&1)
	case "$out" in
	*"ip=10.0.2.15 "*"router=10.0.2.2 "*) tap_ok "guest $g leased 10.0.2.15" ;;
	*) tap_bail "guest $g: no lease: $out" ;;
	esac
	# fd00::15, the router as next hop (whatever RAs say meanwhile), and a
	# ping so that usernat knows where fd00::15 is
	ns_exec ip addr add fd00::15/64 dev "$TAP" nodad &&
		ns_exec ip -6 route replace default via fd00::2 dev "$TAP" &&
		ns_exec busybox ping -6 -c 1 -W 2 fd00::2 >/dev/null ||
		tap_bail "guest $g: no IPv6 to fd00::2"
	ns_bg ip netns exec "$NS" python3 "$TMP/srv.py" "$TMP/ready$g"
	wait_for_file "$TMP/ready$g" 10 || tap_bail "guest $g's servers did not start"
done

in_c() { ip netns exec "$C" "$@"; }
in_h() { ip netns exec "$H" "$@"; }

# check DESC WANT_PEER CMD...: the client's output has peer=WANT_PEER
# (a case pattern; "client": the client's own address and port)
check() {
	local desc=$1 want=$2 out local
	shift 2
	out=$("$@" 2>&1)
	local=${out##*local=}
	[ "$want" = client ] && want=$local
	# shellcheck disable=SC2254  # $want is a pattern
	case "$out" in
	*peer=$want\ *) tap_ok "$desc ($out)" ;;
	*) tap_fail "$desc" "want peer=$want" "$out" ;;
	esac
}

check "A, TCP from 198.18.0.2: the guest sees the client, 1 MB echo" client \
	in_c python3 "$TMP/cli.py" tcp 198.18.0.1 2201
check "A, UDP from 198.18.0.2: the guest sees the client, 6 echoes" client \
	in_c python3 "$TMP/cli.py" udp 198.18.0.1 2201
out=$(in_c python3 "$TMP/cli.py" tcp 198.18.0.1 2201 2>&1)
case "$out" in
*"peer=198.18.0.2:"*) tap_ok "A, a second TCP connection: same address" ;;
*) tap_fail "A, a second TCP connection: same address" "$out" ;;
esac
check "A, TCP from H's loopback: the guest sees the gateway" "10.0.2.2:[0-9]*" \
	in_h python3 "$TMP/cli.py" tcp 127.0.0.1 2202
check "A, UDP from H's loopback: the guest sees the gateway" "10.0.2.2:[0-9]*" \
	in_h python3 "$TMP/cli.py" udp 127.0.0.1 2202
check "B (default), TCP from 198.18.0.2: the guest sees the gateway" \
	"10.0.2.2:[0-9]*" in_c python3 "$TMP/cli.py" tcp 198.18.0.1 2211
check "B (default), UDP from 198.18.0.2: the guest sees the gateway" \
	"10.0.2.2:[0-9]*" in_c python3 "$TMP/cli.py" udp 198.18.0.1 2211

# IPv6 guests
check "A, TCP from 2001:db8::2 to [fd00::15]: the guest sees the client" client \
	in_c python3 "$TMP/cli.py" tcp 2001:db8::1 2203
check "A, UDP from 2001:db8::2 to [fd00::15]: the guest sees the client" client \
	in_c python3 "$TMP/cli.py" udp 2001:db8::1 2203
check "A, TCP from H's 127.0.0.1 to [fd00::15]: the guest sees gateway6" \
	"fd00::2:[0-9]*" in_h python3 "$TMP/cli.py" tcp 127.0.0.1 2204
check "A, TCP from 2001:db8::2 to the IPv4 guest: it sees the gateway" \
	"10.0.2.2:[0-9]*" in_c python3 "$TMP/cli.py" tcp 2001:db8::1 2205
check "B (default), TCP from 2001:db8::2 to [fd00::15]: it sees gateway6" \
	"fd00::2:[0-9]*" in_c python3 "$TMP/cli.py" tcp 2001:db8::1 2213
check "B (default), UDP from 2001:db8::2 to [fd00::15]: it sees gateway6" \
	"fd00::2:[0-9]*" in_c python3 "$TMP/cli.py" udp 2001:db8::1 2213

# --restrict still refuses new flows from G1 to C; G2 may open them
ns_bg ip netns exec "$C" python3 -c '
import socket
s = socket.socket(); s.bind(("198.18.0.2", 2300)); s.listen(8)
while True: s.accept()[0].close()'
sleep 0.3
connect='
import socket, sys
try:
    socket.create_connection(("198.18.0.2", 2300), timeout=3).close()
    print("connected")
except OSError as e:
    print(e)'
out=$(ip netns exec "$G2" python3 -c "$connect" 2>&1)
[ "$out" = connected ] && tap_ok "B: the guest reaches 198.18.0.2 by NAT" ||
	tap_fail "B: the guest reaches 198.18.0.2 by NAT" "$out"
out=$(ip netns exec "$G1" python3 -c "$connect" 2>&1)
case "$out" in
*refused*) tap_ok "A: --restrict refuses a new connection to 198.18.0.2" ;;
*) tap_fail "A: --restrict refuses a new connection to 198.18.0.2" "$out" ;;
esac

kill -0 "$PID_A" && kill -0 "$PID_B" && tap_ok "both usernats still running" ||
	tap_fail "both usernats still running" "$(tail -5 "$TMP/a.log" "$TMP/b.log")"
tap_done
