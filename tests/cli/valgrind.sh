#!/bin/bash
# The daemon under valgrind: start, serve a DHCP exchange, ARP, a ping of
# the gateway and a UDP round trip to a loopback echo server over the
# stream socket, control requests, then SIGTERM.  It must exit 0 with no
# memory error and no definite leak (--error-exitcode=9).  --no-sandbox:
# valgrind and seccomp don't mix.  Needs no root.
. "$(dirname "$0")/../lib/common.sh"
need_cmd python3 valgrind

TMP=$(mktemp -d)
VG_PID=
cleanup() {
	[ -z "$VG_PID" ] || kill -KILL "$VG_PID" 2>/dev/null
	[ -z "${ECHO_PID:-}" ] || kill "$ECHO_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
SOCK=$TMP/un.sock C=$TMP/un.ctl LOG=$TMP/usernat.log
CLIENT=$TOP_SRCDIR/tests/cli/stream-client.py
CTL=$TOP_BUILDDIR/usernatctl

# A UDP echo server on the host's loopback, reached at 10.0.2.2
python3 - "$TMP/echo.port" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    d, peer = s.recvfrom(65535)
    s.sendto(d, peer)
EOF
ECHO_PID=$!
for i in $(seq 50); do [ -e "$TMP/echo.port" ] && break; sleep 0.1; done
[ -e "$TMP/echo.port" ] || tap_bail "echo server did not start"

# The daemon's real binary: through libtool when $USERNAT is its wrapper
run=()
if [ -x "$TOP_BUILDDIR/libtool" ] && grep -q "libtool" "$USERNAT" 2>/dev/null; then
	run=("$TOP_BUILDDIR/libtool" --mode=execute)
fi
root=()
[ "$(id -u)" -ne 0 ] || root=(--allow-root)
"${run[@]+"${run[@]}"}" valgrind --leak-check=full \
	--errors-for-leak-kinds=definite --error-exitcode=9 \
	--log-file="$TMP/valgrind.out" \
	"$USERNAT" --socket "$SOCK" --control "$C" --no-sandbox \
	--dns-upstream 127.0.0.1:9 --log-level debug \
	"${root[@]+"${root[@]}"}" >"$LOG" 2>&1 &
VG_PID=$!
for i in $(seq 300); do grep -q "ready on" "$LOG" 2>/dev/null && break; sleep 0.1; done
grep -q "ready on" "$LOG" && tap_ok "daemon ready under valgrind" ||
	tap_bail "daemon not ready under valgrind: $(cat "$LOG" "$TMP/valgrind.out")"

tap_check "DHCP exchange" python3 "$CLIENT" "$SOCK" dhcp-ack
tap_check "ARP for the gateway" python3 "$CLIENT" "$SOCK" arp
tap_check "split and batched frames" python3 "$CLIENT" "$SOCK" fragments
tap_check "oversized length closes the connection" python3 "$CLIENT" "$SOCK" oversize

# Ping of the gateway and a UDP round trip, in QEMU's stream framing
cat >"$TMP/nat.py" <<'EOF'
import socket, struct, sys, time
path, port = sys.argv[1], int(sys.argv[2])
# the MAC stream-client.py got the lease of 10.0.2.15 for (anti-spoofing)
MAC, GW = bytes.fromhex("525400aabb01"), bytes.fromhex("52550a000202")
SRC, DST = bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2])

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def ip4(proto, l4):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64,
                    proto, 0, SRC, DST)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return GW + MAC + b"\x08\x00" + h + l4

def exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b

def wait_for(s, pred, what):
    end = time.time() + 10
    while time.time() < end:
        f = exact(s, struct.unpack("!I", exact(s, 4))[0])
        if pred(f):
            return f
    sys.exit("no " + what)

def send(s, f):
    s.sendall(struct.pack("!I", len(f)) + f)

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.settimeout(10)
icmp = struct.pack("!BBHHH", 8, 0, 0, 0x77, 1) + b"valgrind"
icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
send(s, ip4(1, icmp))
wait_for(s, lambda f: len(f) > 34 and f[23] == 1 and f[34] == 0,
         "echo reply")
data = b"through the NAT"
udp = struct.pack("!HHHH", 40000, port, 8 + len(data), 0) + data
send(s, ip4(17, udp))
f = wait_for(s, lambda f: len(f) > 42 and f[23] == 17 and
             struct.unpack("!H", f[34:36])[0] == port, "UDP reply")
assert f[42:42 + len(data)] == data, "payload differs"
print("ping and UDP ok")
EOF
tap_check "ping of the gateway and a UDP round trip" \
	python3 "$TMP/nat.py" "$SOCK" "$(cat "$TMP/echo.port")"
if [ -x "$CTL" ]; then
	out=$("$CTL" -c "$C" stats && "$CTL" -c "$C" leases && "$CTL" -c "$C" flows)
	printf '%s' "$out" | grep -q '"ok":true' && tap_ok "control requests" ||
		tap_fail "control requests" "$out"
else
	tap_skip "control requests" "usernatctl not built"
fi

kill -TERM "$VG_PID"
for i in $(seq 300); do kill -0 "$VG_PID" 2>/dev/null || break; sleep 0.1; done
wait "$VG_PID"
st=$?
VG_PID=
tap_diag "$(grep -E 'ERROR SUMMARY|definitely lost|indirectly lost' "$TMP/valgrind.out")"
[ "$st" -eq 0 ] && tap_ok "exit status 0: no memory error, no definite leak" ||
	tap_fail "exit status 0: no memory error, no definite leak" "status $st" \
		"$(tail -n 60 "$TMP/valgrind.out")"
grep -q "ERROR SUMMARY: 0 errors" "$TMP/valgrind.out" &&
	tap_ok "valgrind: 0 errors" || tap_fail "valgrind: 0 errors" \
	"$(grep -A20 'Invalid\|uninitialised\|definitely' "$TMP/valgrind.out" | head -60)"
tap_done
