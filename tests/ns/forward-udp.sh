#!/bin/bash
# Namespace test: inbound UDP port forwards.  The Linux kernel in a network
# namespace is the guest, on a tap attached to usernat with --vde tap://; it
# gets its lease with udhcpc and runs a UDP echo server on port 7777.  On the
# host side everything is on 127.0.0.1:
# - a forward given at start-up, udp:127.0.0.1:PORT-:7777 (guest address
#   omitted: the single leased guest): datagrams of several sizes, each
#   carrying a checksum the echo server verifies, come back unchanged from
#   127.0.0.1:PORT, for two clients at once;
# - a forward added at run time with usernatctl works at once, and after
#   forward-remove its port gets no answer while the first one still works;
# - usernatctl flows lists the inbound UDP flows with their bytes.
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd busybox python3
. "$TOP_SRCDIR/tests/lib/netns.sh"

CTL=${USERNATCTL:-$TOP_BUILDDIR/usernatctl}
[ -x "$CTL" ] || tap_bail "usernatctl not built (make usernatctl)"

ns_setup fwdudp || tap_bail "cannot set up namespace"
CTLPATH=$NS_TMP/ctl
LOG=$NS_TMP/usernat.log

# Two loopback ports free a moment ago (bound, noted, closed)
read -r PORT PORT2 < <(python3 -c '
import socket
ss = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
SPEC="udp:127.0.0.1:$PORT-:7777"
SPEC2="udp:127.0.0.1:$PORT2-:7777"

# The guest's echo server: checks each datagram's checksum (the first 32
# bytes are the SHA-256 of the rest) and echoes it, or "BAD" if it differs
cat >"$NS_TMP/echo.py" <<'EOF'
import hashlib, os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 7777))
open(sys.argv[1] + ".tmp", "w").write("ready")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    data, peer = s.recvfrom(65535)
    ok = len(data) >= 32 and hashlib.sha256(data[32:]).digest() == data[:32]
    s.sendto(data if ok else b"BAD", peer)
EOF

# The host's client: ROUNDS datagrams of several sizes to 127.0.0.1:PORT
# from NCLIENTS sockets in turn; each must come back unchanged from there
cat >"$NS_TMP/client.py" <<'EOF'
import hashlib, os, socket, sys
port, rounds, nclients = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
socks = []
for _ in range(nclients):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.bind(("127.0.0.1", 0))
    c.settimeout(timeout)
    socks.append(c)
sizes = [0, 1, 100, 1000, 1440 - 32, 512]
for r in range(rounds):
    for i, c in enumerate(socks):
        body = os.urandom(sizes[(r + i) % len(sizes)])
        data = hashlib.sha256(body).digest() + body
        c.sendto(data, ("127.0.0.1", port))
        try:
            got, peer = c.recvfrom(65535)
        except socket.timeout:
            sys.exit("no answer (round %d, client %d)" % (r, i))
        if got != data:
            sys.exit("round %d client %d: echo differs (%r...)" % (r, i, got[:8]))
        if peer != ("127.0.0.1", port):
            sys.exit("reply from %s" % (peer,))
print("%d round trips ok, clients %s" %
      (rounds * nclients, " ".join(str(c.getsockname()[1]) for c in socks)))
EOF

ctl() {
	"$CTL" -c "$CTLPATH" "$@"
}

# Started as root (for the tap): stay root, where usernat wants it said
ROOT_OPT=()
"$USERNAT" --help 2>&1 | grep -q -- --allow-root && ROOT_OPT=(--allow-root)
usernat_start "$LOG" --vde "tap://$TAP" --forward "$SPEC" --control "$CTLPATH" \
	--log-level debug "${ROOT_OPT[@]}"
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP: $(cat "$LOG")"
wait_for_file "$CTLPATH" 10 || tap_bail "no control socket: $(cat "$LOG")"
ns_move_tap || tap_bail "cannot move tap"

out=$(udhcpc_ns 2>&1)
case "$out" in
*"ip=10.0.2.15 "*) tap_ok "guest leased 10.0.2.15" ;;
*) tap_bail "no lease: $out" ;;
esac
ns_bg ip netns exec "$NS" python3 "$NS_TMP/echo.py" "$NS_TMP/echo.ready"
wait_for_file "$NS_TMP/echo.ready" 10 || tap_bail "echo server did not start"

out=$(python3 "$NS_TMP/client.py" "$PORT" 5 2 2>&1)
tap_result $? "start-up forward: 10 checksummed round trips, two clients" "$out"
tap_diag "$out"
clients=${out##*clients }

# The listing: the two clients' inbound flows, with bytes both ways
cat >"$NS_TMP/flows.py" <<'EOF'
import json, sys
reply = json.loads(sys.stdin.read())
want = set("127.0.0.1:" + p for p in sys.argv[2].split())
state = sys.argv[1]
assert reply["ok"], reply
got = [f for f in reply["flows"] if f["proto"] == "udp" and f["host"] in want]
assert len(got) == len(want), "flows: %s" % reply["flows"]
for f in got:
    assert f["inbound"] is True, f
    assert f["guest"] == "10.0.2.15:7777", f
    assert f["state"] == state, f
    assert f["bytes_from_guest"] > 0 and f["bytes_to_guest"] > 0, f
    assert f["bytes_from_guest"] == f["bytes_to_guest"], f
print("%d flows as expected" % len(got))
EOF
out=$(ctl flows 2>&1)
tap_diag "$out"
res=$(printf '%s' "$out" | python3 "$NS_TMP/flows.py" active "$clients" 2>&1)
tap_result $? "usernatctl flows lists the inbound UDP flows with bytes" "$res"

# A forward added at run time works at once
out=$(ctl forward-add "$SPEC2" 2>&1)
case "$out" in
*'"ok":true'*) tap_ok "forward-add $SPEC2" ;;
*) tap_fail "forward-add $SPEC2" "$out" ;;
esac
out=$(ctl forward-list 2>&1)
case "$out" in
*"$SPEC"*"$SPEC2"* | *"$SPEC2"*"$SPEC"*) tap_ok "forward-list shows both" ;;
*) tap_fail "forward-list shows both" "$out" ;;
esac
out=$(python3 "$NS_TMP/client.py" "$PORT2" 4 1 2>&1)
tap_result $? "run-time forward: 4 round trips at once" "$out"
clients2=${out##*clients }

# Removed: new datagrams get no answer; the other forward goes on
out=$(ctl forward-remove "$SPEC2" 2>&1)
case "$out" in
*'"ok":true'*) tap_ok "forward-remove $SPEC2" ;;
*) tap_fail "forward-remove $SPEC2" "$out" ;;
esac
out=$(python3 "$NS_TMP/client.py" "$PORT2" 1 1 1 2>&1)
case "$out" in
*"no answer"* | *"refused"*) tap_ok "removed forward: no answer" ;;
*) tap_fail "removed forward: no answer" "$out" ;;
esac
out=$(ctl flows 2>&1)
res=$(printf '%s' "$out" | python3 "$NS_TMP/flows.py" forward-gone "$clients2" 2>&1)
tap_result $? "the removed forward's flow is listed as forward-gone" "$res" "$out"
out=$(python3 "$NS_TMP/client.py" "$PORT" 3 1 2>&1)
tap_result $? "start-up forward still works" "$out"

usernat_stats "$UN_PID" "$LOG"
[ "$(usernat_stat "$LOG" udp_inbound_flows)" -ge 4 ] && tap_ok "counter udp_inbound_flows" ||
	tap_fail "counter udp_inbound_flows" "$(grep ' stat ' "$LOG")"
[ "$(usernat_stat "$LOG" udp_inbound)" -ge 17 ] && tap_ok "counter udp_inbound" ||
	tap_fail "counter udp_inbound" "$(grep ' stat ' "$LOG")"
[ "$(usernat_stat "$LOG" udp_inbound_replies)" -ge 17 ] && tap_ok "counter udp_inbound_replies" ||
	tap_fail "counter udp_inbound_replies" "$(grep ' stat ' "$LOG")"
n_info=$(grep -vc "debug:" "$LOG")
[ "$n_info" -lt 60 ] && tap_ok "no info line per datagram ($n_info lines)" ||
	tap_fail "no info line per datagram" "$(grep -v debug: "$LOG" | tail -n 20)"
kill -0 "$UN_PID" && tap_ok "usernat still running" || tap_fail "usernat still running"
tap_done
