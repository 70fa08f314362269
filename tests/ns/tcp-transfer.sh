#!/bin/bash
# Namespace test: the TCP NAT against a real Linux TCP stack.
#
# The kernel in a network namespace is the guest, on a tap attached to
# usernat (--vde tap://).  Host servers listen on 127.0.0.1 in the root
# namespace; the guest reaches them at the gateway, 10.0.2.2.  Nothing else
# is contacted.
#
#  - 100 MB download and upload, SHA-256 compared;
#  - the same through netem (1% loss, reordering) when sch_netem exists;
#  - the same through a lossy relay of our own: a second usernat on
#    a QEMU stream socket, a small Python relay between it and a second tap
#    that drops 1% and swaps 5% of the TCP frames each way (works where
#    netem is missing);
#  - iperf3 both ways (numbers as diagnostics only);
#  - a closed port is refused at once; a half-closed guest socket still
#    gets its reply;
#  - 1,000 concurrent connections held, then closed: usernat's descriptor
#    count returns to where it was.
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd python3 sha256sum
. "$TOP_SRCDIR/tests/lib/netns.sh"

BIG_MB=${TCP_TEST_MB:-100}
RELAY_MB=${TCP_RELAY_MB:-100}
MANY=${TCP_TEST_CONNS:-1000}

ns_setup tcp || tap_bail "cannot set up namespace"
W=$NS_TMP	# scripts and files of the whole test (a 2nd ns_setup moves NS_TMP)

# --- host side ---------------------------------------------------------------
# One server, several services, each on its own 127.0.0.1 port:
#   send:  sends the file, then closes
#   sink:  reads to EOF, answers with the SHA-256 of what it got, closes
#   hold:  echoes whatever arrives, until the client closes
cat >"$W/server.py" <<'EOF'
import hashlib, os, selectors, socket, sys, threading
path, portdir = sys.argv[1], sys.argv[2]

def listener(name):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(4096)
    f = os.path.join(portdir, name)
    open(f + ".tmp", "w").write(str(s.getsockname()[1]))
    os.rename(f + ".tmp", f)
    return s

def send(c):
    with c, open(path, "rb") as f:
        c.sendfile(f)

def sink(c):
    with c:
        h = hashlib.sha256()
        while True:
            d = c.recv(1 << 20)
            if not d:
                break
            h.update(d)
        c.sendall(h.hexdigest().encode())

def serve(s, fn):
    while True:
        c, _ = s.accept()
        threading.Thread(target=fn, args=(c,), daemon=True).start()

def hold(s):
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is s:
                c, _ = s.accept()
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                continue
            try:
                d = key.fileobj.recv(65536)
            except OSError:
                d = b""
            if d:
                key.fileobj.sendall(d)
            else:
                sel.unregister(key.fileobj)
                key.fileobj.close()

for name, fn in (("send", send), ("sink", sink)):
    threading.Thread(target=serve, args=(listener(name), fn),
                     daemon=True).start()
hold(listener("hold"))
EOF

# Guest-side clients
cat >"$W/get.py" <<'EOF'
import hashlib, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
h, n = hashlib.sha256(), 0
while True:
    d = s.recv(1 << 20)
    if not d:
        break
    h.update(d)
    n += len(d)
print(n, h.hexdigest())
EOF
cat >"$W/put.py" <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
with open(sys.argv[3], "rb") as f:
    s.sendfile(f)
s.shutdown(socket.SHUT_WR)      # half-close: the answer must still come
reply = b""
while True:
    d = s.recv(100)
    if not d:
        break
    reply += d
print(reply.decode())
EOF
cat >"$W/refused.py" <<'EOF'
import socket, sys, time
t = time.monotonic()
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    sys.exit("connected to a closed port")
except ConnectionRefusedError:
    print("refused after %.3f s" % (time.monotonic() - t))
    sys.exit(0 if time.monotonic() - t < 1 else "too slow")
EOF
cat >"$W/many.py" <<'EOF'
# Open N connections, each echoes one message; hold them until GO exists
import os, resource, selectors, socket, sys, time
host, port, n, held, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    sys.argv[4], sys.argv[5]
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100, n + 100))
socks = []
for i in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((host, port))
    socks.append(s)
sel = selectors.DefaultSelector()
for i, s in enumerate(socks):
    sel.register(s, selectors.EVENT_WRITE, i)
pending, deadline = set(range(n)), time.monotonic() + 30
while pending and time.monotonic() < deadline:
    for key, ev in sel.select(1):
        i, s = key.data, key.fileobj
        if ev & selectors.EVENT_WRITE:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                sys.exit("connection %d failed: %s" % (i, os.strerror(err)))
            s.send(b"%08d" % i)
            sel.modify(s, selectors.EVENT_READ, i)
        else:
            if s.recv(8) != b"%08d" % i:
                sys.exit("connection %d: bad echo" % i)
            sel.unregister(s)
            pending.discard(i)
if pending:
    sys.exit("%d connections did not complete" % len(pending))
open(held, "w").write("%d\n" % n)
while not os.path.exists(go):
    time.sleep(0.05)
for s in socks:
    s.close()
print("%d connections held and closed" % n)
EOF

BIG=$W/big
head -c "${BIG_MB}M" /dev/urandom >"$BIG" || tap_bail "cannot make test file"
BIG_SHA=$(sha256sum "$BIG" | cut -c1-64)
BIG_SIZE=$(stat -c %s "$BIG")
ns_bg python3 "$W/server.py" "$BIG" "$W"
for p in send sink hold; do
	wait_for_file "$W/$p" 10 || tap_bail "test server did not start"
done
SEND_PORT=$(cat "$W/send")
SINK_PORT=$(cat "$W/sink")
HOLD_PORT=$(cat "$W/hold")
CLOSED_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# --- helpers -----------------------------------------------------------------

# guest_up: DHCP on $TAP in $NS, or static 10.0.2.15/24 via 10.0.2.2
guest_up() {
	local out
	out=$(udhcpc_ns 2>&1)
	if ! printf '%s\n' "$out" | grep -q '^DHCP: bound'; then
		tap_diag "no DHCP lease, configuring statically: $out"
		ns_exec ip addr add 10.0.2.15/24 dev "$TAP"
		ns_exec ip route add default via 10.0.2.2
	fi
	ns_exec ip route show default | grep -q "via 10.0.2.2"
}

# now_ms: a millisecond clock
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# transfer WHAT: $BIG down (from $SEND_PORT) and up (to $SINK_PORT)
# through the current $NS, checked by SHA-256; rates as diagnostics
transfer() {
	local what=$1 t0 t1 out
	t0=$(now_ms)
	out=$(ns_exec timeout 120 python3 "$W/get.py" 10.0.2.2 "$SEND_PORT" 2>&1)
	t1=$(now_ms)
	if [ "$out" = "$BIG_SIZE $BIG_SHA" ]; then
		tap_ok "$what: download, $((BIG_SIZE >> 20)) MB, SHA-256 matches"
		tap_diag "$what download: $((t1 - t0)) ms, $((BIG_SIZE / 1000 / (t1 - t0 + 1))) MB/s"
	else
		tap_fail "$what: download, SHA-256 matches" "got: $out" \
			"want: $BIG_SIZE $BIG_SHA"
	fi
	t0=$(now_ms)
	out=$(ns_exec timeout 120 python3 "$W/put.py" 10.0.2.2 "$SINK_PORT" "$BIG" 2>&1)
	t1=$(now_ms)
	if [ "$out" = "$BIG_SHA" ]; then
		tap_ok "$what: upload, $((BIG_SIZE >> 20)) MB, SHA-256 matches"
		tap_diag "$what upload: $((t1 - t0)) ms, $((BIG_SIZE / 1000 / (t1 - t0 + 1))) MB/s"
	else
		tap_fail "$what: upload, SHA-256 matches" "got: $out" "want: $BIG_SHA"
	fi
}

fd_count() {
	ls "/proc/$1/fd" 2>/dev/null | wc -l
}

# --- usernat on the tap ------------------------------------------------------
LOG=$W/usernat.log
usernat_start "$LOG" --vde "tap://$TAP" --no-control
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP: $(cat "$LOG")"
ns_move_tap || tap_bail "cannot move tap"
guest_up && tap_ok "guest configured" || tap_fail "guest configured"
START=$SECONDS

transfer "clean link"

# The download reached the tap in batches, several frames per system call
# (io_uring, vde/tap_tx.c); one write() per frame where io_uring is missing
if grep -q 'io_uring unavailable' "$LOG"; then
	tap_skip "frames written to the tap in batches" \
		"$(grep -m1 'io_uring unavailable' "$LOG")"
elif usernat_stats "$UN_PID" "$LOG"; then
	b=$(usernat_stat "$LOG" tx_batches)
	[ "$b" -gt 0 ] && tap_ok "frames written to the tap in batches ($b)" ||
		tap_fail "frames written to the tap in batches: tx_batches is $b"
else
	tap_fail "frames written to the tap in batches: no counters"
fi

tap_check "closed port refused within 1 s" \
	ns_exec python3 "$W/refused.py" 10.0.2.2 "$CLOSED_PORT"

# Half-close: the client shut its side after a small upload and still gets
# the answer (put.py does exactly that)
head -c 100000 /dev/urandom >"$W/small"
out=$(ns_exec timeout 10 python3 "$W/put.py" 10.0.2.2 "$SINK_PORT" "$W/small" 2>&1)
[ "$out" = "$(sha256sum "$W/small" | cut -c1-64)" ] &&
	tap_ok "half-closed guest socket still receives the reply" ||
	tap_fail "half-closed guest socket still receives the reply" "$out"

# iperf3, both ways: numbers only
if command -v iperf3 >/dev/null; then
	IPERF_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	ns_bg iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >"$W/iperf3-server.log" 2>&1
	sleep 0.3
	for dir in "" -R; do
		out=$(ns_exec timeout 20 iperf3 -c 10.0.2.2 -p "$IPERF_PORT" -t 5 -f g $dir 2>&1)
		rate=$(printf '%s\n' "$out" | awk '/receiver/ { print $(NF-2), $(NF-1) }')
		name="iperf3 guest->host"
		[ -n "$dir" ] && name="iperf3 host->guest"
		if [ -n "$rate" ]; then
			tap_ok "$name"
			tap_diag "$name: $rate"
		else
			tap_fail "$name" "$out"
		fi
	done
	kill "$NS_BG_PID" 2>/dev/null
else
	tap_skip "iperf3 both ways" "iperf3 not installed"
fi

# 1,000 connections at once, then all closed: descriptors come back
base=$(fd_count "$UN_PID")
rm -f "$W/held" "$W/go"
ns_exec timeout 60 python3 "$W/many.py" 10.0.2.2 "$HOLD_PORT" "$MANY" \
	"$W/held" "$W/go" >"$W/many.out" 2>&1 &
many_pid=$!
if wait_for_file "$W/held" 40; then
	during=$(fd_count "$UN_PID")
	if [ "$during" -ge $((base + MANY)) ]; then
		tap_ok "$MANY concurrent connections"
	else
		tap_fail "$MANY concurrent connections" "usernat has $during descriptors, $base before"
	fi
	touch "$W/go"
	wait "$many_pid"
	n=0
	while [ "$(fd_count "$UN_PID")" -gt "$base" ] && [ "$n" -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	after=$(fd_count "$UN_PID")
	[ "$after" -le "$base" ] &&
		tap_ok "all closed: descriptors back to $after in $((n * 100)) ms" ||
		tap_fail "all closed: descriptors back" "before $base, during $during, after $after"
else
	kill "$many_pid" 2>/dev/null
	tap_fail "$MANY concurrent connections" "$(cat "$W/many.out")"
	tap_fail "all closed: descriptors back" "not reached"
fi

# netem, if the kernel has it
if ns_exec tc qdisc add dev "$TAP" root netem loss 1% reorder 25% 50% delay 1ms 2>"$W/tc.err"; then
	transfer "netem 1% loss, reordering"
	ns_exec tc qdisc del dev "$TAP" root
else
	tap_skip "netem: download" "netem unavailable: $(head -n 1 "$W/tc.err")"
	tap_skip "netem: upload" "netem unavailable"
fi

usernat_stats "$UN_PID" "$LOG"
tap_diag "counters: $(grep -E 'stat (tcp_|drop_tcp)' "$LOG" | grep -v ' 0$' | sed 's/.*stat //' | tr '\n' ' ')"
[ "$(usernat_stat "$LOG" tcp_active)" = 0 ] &&
	tap_ok "no connection left open" ||
	tap_fail "no connection left open" "tcp_active $(usernat_stat "$LOG" tcp_active)"

# Adaptive polling (--poll-us, default 50): it caught wake-ups while the
# traffic flowed, and an idle usernat sleeps (utime + stime in clock ticks)
hits=$(usernat_stat "$LOG" poll_hits)
[ "${hits:-0}" -gt 0 ] && tap_ok "events found by polling during the transfers ($hits)" ||
	tap_fail "events found by polling during the transfers: poll_hits is '$hits'"
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
t0=$(cpu_ticks "$UN_PID")
sleep 2
t1=$(cpu_ticks "$UN_PID")
[ $((t1 - t0)) -le 4 ] && tap_ok "idle: no polling, $((t1 - t0)) clock ticks of CPU in 2 s" ||
	tap_fail "idle: no polling" "$((t1 - t0)) clock ticks of CPU in 2 s (CLK_TCK $(getconf CLK_TCK))"

# --- a lossy link of our own: relay between a second tap and usernat's
# stream socket, dropping and reordering TCP frames both ways -------------
cat >"$W/relay.py" <<'EOF'
import fcntl, os, random, select, socket, struct, sys
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454ca, 0x0002, 0x1000
tap, path, ready = sys.argv[1], sys.argv[2], sys.argv[3]
loss, swap = float(sys.argv[4]), float(sys.argv[5])
rnd = random.Random(1)
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI))
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
open(ready, "w").write("1")
held = [None, None]     # a frame held back (reordering), per direction
stats = [0, 0, 0]

def out(d, frame):
    if d == 0:
        s.sendall(struct.pack("!I", len(frame)) + frame)
    else:
        os.write(fd, frame)

def relay(d, frame):
    tcp = len(frame) > 34 and frame[12:14] == b"\x08\x00" and frame[23] == 6
    if tcp and rnd.random() < loss:
        stats[0] += 1
        return
    if tcp and held[d] is None and rnd.random() < swap:
        held[d] = frame
        stats[1] += 1
        return
    out(d, frame)
    if held[d] is not None:
        out(d, held[d])
        held[d] = None

buf = b""
while True:
    r, _, _ = select.select([fd, s], [], [], 0.002)
    if not r:
        for d in (0, 1):
            if held[d] is not None:
                out(d, held[d])
                held[d] = None
    if fd in r:
        relay(0, os.read(fd, 65536))
    if s in r:
        d = s.recv(1 << 20)
        if not d:
            break
        buf += d
        while len(buf) >= 4:
            n = struct.unpack("!I", buf[:4])[0]
            if len(buf) < 4 + n:
                break
            relay(1, buf[4:4 + n])
            buf = buf[4 + n:]
EOF

NS1=$NS
if ns_setup tcprelay; then
	SOCK=$W/stream.sock
	LOG2=$W/usernat-relay.log
	usernat_start "$LOG2" --socket "$SOCK" --no-control
	UN2_PID=$UN_PID
	wait_for_file "$SOCK" 10 || tap_bail "usernat did not open $SOCK: $(cat "$LOG2")"
	ns_bg python3 "$W/relay.py" "$TAP" "$SOCK" "$W/relay.ready" 0.01 0.05
	wait_for_file "$W/relay.ready" 10 || tap_bail "relay did not start"
	ns_move_tap || tap_bail "cannot move the relay's tap"
	guest_up || tap_fail "guest behind the relay configured"
	BIG=$W/relay-big
	head -c "${RELAY_MB}M" "$W/big" >"$BIG"
	BIG_SHA=$(sha256sum "$BIG" | cut -c1-64)
	BIG_SIZE=$(stat -c %s "$BIG")
	mkdir -p "$W/relay"
	ns_bg python3 "$W/server.py" "$BIG" "$W/relay"
	for p in send sink; do
		wait_for_file "$W/relay/$p" 10 || tap_bail "test server did not start"
	done
	SEND_PORT=$(cat "$W/relay/send")
	SINK_PORT=$(cat "$W/relay/sink")
	transfer "relay, 1% loss, 5% swapped"
	usernat_stats "$UN2_PID" "$LOG2"
	tap_diag "relay counters: $(grep -E 'stat (tcp_|drop_tcp)' "$LOG2" | grep -v ' 0$' | sed 's/.*stat //' | tr '\n' ' ')"
else
	tap_skip "relay: download" "cannot set up a second namespace"
	tap_skip "relay: upload" "cannot set up a second namespace"
fi
NS=$NS1

grep -iE "error|critical" "$LOG" && tap_fail "no errors logged" ||
	tap_ok "no errors logged"
tap_diag "total time $((SECONDS - START)) s"
tap_done
