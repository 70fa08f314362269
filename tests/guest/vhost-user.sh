#!/bin/bash
# Real guests over vhost-user: the QEMU arguments usernat prints, lease and
# gateway ping, a guest whose memory is two regions, a QEMU killed with -9
# and a new one served by the same usernat, and a 20 MB download and upload
# checked by md5, with virtio-net offloads (checksum, TSO) used both ways.
#
# Debian's QEMU 7.2 under TCG crashes with vhost-user when the NIC uses
# MSI-X, so the NIC gets vectors=0 here.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP_SRCDIR/tests/lib/guest.sh"
need_cmd python3 md5sum
guest_prepare

# descendants PID: every process below PID
descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		descendants "$c"
	done
}

# qemu_below PID: the QEMU that a background guest_run PID started
qemu_below() {
	local p
	for p in $(descendants "$1"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = qemu-system-x86 ] &&
			echo "$p"
	done
}

TMP=$(mktemp -d)
BG=()
cleanup() {
	local p
	for p in "${BG[@]}"; do
		kill $(qemu_below "$p") "$p" 2>/dev/null
	done
	for p in "${UN_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
SOCK=$TMP/vu.sock
LOG=$TMP/usernat.log
NIC="-device virtio-net-pci,netdev=n0,vectors=0"

usernat_start "$LOG" --vhost-user "$SOCK" --log-level debug
for _ in $(seq 50); do grep -q "^  -object" "$LOG" && break; sleep 0.1; done
args=$(grep "^  -object" "$LOG")
case "$args" in
*"-netdev vhost-user,id=n0,chardev=c0"*"path=$SOCK"*|\
*"path=$SOCK"*"-netdev vhost-user,id=n0,chardev=c0"*)
	tap_ok "usernat prints the QEMU arguments" ;;
*)
	tap_bail "no vhost-user QEMU arguments printed: $(cat "$LOG")" ;;
esac
# The printed arguments, with the guest's memory size and no MSI-X
args=${args//size=RAM/size=256M}
args=${args/-device virtio-net-pci,netdev=n0/$NIC}

guest_script "$TMP/t.sh" "$GUEST_LEASE_PING"

# 1. the printed arguments, as they are
# shellcheck disable=SC2086
guest_run "$TMP/serial1.log" "$TMP/t.sh" -- $args
guest_check "$TMP/serial1.log" "guest got lease 10.0.2.15 with router and DNS" \
	"DHCP: bound ip=10.0.2.15 .*router=10.0.2.2 dns=10.0.2.3"
guest_check "$TMP/serial1.log" "guest pinged the gateway" "GUEST: ping gw ok"

# 2. two memory backends, one per NUMA node: two regions
MEM2="-object memory-backend-memfd,id=mem0,size=256M,share=on
-object memory-backend-memfd,id=mem1,size=256M,share=on
-numa node,memdev=mem0 -numa node,memdev=mem1"
VU="-chardev socket,id=c0,path=$SOCK -netdev vhost-user,id=n0,chardev=c0"
n_before=$(grep -c "memory table: " "$LOG")
# shellcheck disable=SC2086
guest_run "$TMP/serial2.log" "$TMP/t.sh" --mem 512 -- $MEM2 $VU $NIC
guest_check "$TMP/serial2.log" "two-region guest: lease" "DHCP: bound ip=10.0.2.15 "
guest_check "$TMP/serial2.log" "two-region guest: gateway ping" "GUEST: ping gw ok"
regions=$(grep "memory table: " "$LOG" | tail -n +$((n_before + 1)) |
	sed -n 's/.*memory table: \([0-9]*\) regions.*/\1/p' | sort -n | tail -n 1)
if [ "${regions:-0}" -ge 2 ]; then
	tap_ok "usernat mapped a memory table of $regions regions"
else
	tap_fail "usernat mapped a memory table of 2 or more regions" \
		"$(grep -A2 "memory table" "$LOG" | tail -n 6)"
fi

# 3. QEMU killed with -9 mid-run; then a new QEMU on the same usernat
MEM1="-object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem"
guest_script "$TMP/wait.sh" "$GUEST_LEASE_PING" 'echo "GUEST: waiting"' 'sleep 100'
n_disc=$(grep -c "QEMU disconnected" "$LOG")
# shellcheck disable=SC2086
guest_run "$TMP/serial3.log" "$TMP/wait.sh" --timeout 120 -- $MEM1 $VU $NIC \
	>/dev/null 2>&1 &
RG=$!
BG+=("$RG")
for _ in $(seq 600); do
	grep -q "GUEST: waiting" "$TMP/serial3.log" 2>/dev/null && break
	sleep 0.1
done
qemu=$(qemu_below "$RG")
if grep -q "GUEST: ping gw ok" "$TMP/serial3.log" && [ -n "$qemu" ]; then
	kill -9 "$qemu"
	wait "$RG" 2>/dev/null
	tap_ok "guest up before the kill"
else
	tap_fail "guest up before the kill" "$(tail -n 20 "$TMP/serial3.log")"
fi
for _ in $(seq 50); do
	[ "$(grep -c "QEMU disconnected" "$LOG")" -gt "$n_disc" ] && break
	sleep 0.1
done
[ "$(grep -c "QEMU disconnected" "$LOG")" -gt "$n_disc" ] &&
	tap_ok "usernat saw the killed QEMU go" ||
	tap_fail "usernat saw the killed QEMU go" "$(tail -n 5 "$LOG")"
# shellcheck disable=SC2086
guest_run "$TMP/serial4.log" "$TMP/t.sh" -- $MEM1 $VU $NIC
guest_check "$TMP/serial4.log" "after the kill: new guest gets its lease" \
	"DHCP: bound ip=10.0.2.15 "
guest_check "$TMP/serial4.log" "after the kill: new guest pings the gateway" \
	"GUEST: ping gw ok"

# 4. TCP through the NAT: 20 MB each way, md5 compared
head -c 20971520 /dev/urandom >"$TMP/file.bin"
SUM=$(md5sum <"$TMP/file.bin" | cut -d' ' -f1)
cat >"$TMP/servers.py" <<'EOF'
import functools, hashlib, http.server, socket, sys, threading
d, out = sys.argv[1], sys.argv[2]
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=d)
h.log_message = lambda *a: None
web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
rx = socket.socket()
rx.bind(("127.0.0.1", 0))
rx.listen(1)
with open(out + ".ports", "w") as f:
    f.write("%d %d\n" % (web.server_address[1], rx.getsockname()[1]))
threading.Thread(target=web.serve_forever, daemon=True).start()
c, _ = rx.accept()
m, n = hashlib.md5(), 0
while True:
    b = c.recv(1 << 16)
    if not b:
        break
    m.update(b)
    n += len(b)
with open(out, "w") as f:
    f.write("%s %d\n" % (m.hexdigest(), n))
EOF
python3 "$TMP/servers.py" "$TMP" "$TMP/received" &
BG+=("$!")
for _ in $(seq 50); do [ -s "$TMP/received.ports" ] && break; sleep 0.1; done
read -r HPORT RPORT <"$TMP/received.ports"
guest_script "$TMP/tcp.sh" \
	'udhcpc -i eth0 -n -q -t 5 -T 1 -s /etc/udhcpc.script || echo "GUEST: no lease"' \
	"wget -q -O - http://10.0.2.2:$HPORT/file.bin | md5sum | sed 's/^/GUEST: dl md5 /'" \
	"nc 10.0.2.2 $RPORT </up.bin; echo \"GUEST: ul exit \$?\""
# shellcheck disable=SC2086
guest_run "$TMP/serial5.log" "$TMP/tcp.sh" --timeout 180 \
	--file "$TMP/file.bin:/up.bin" -- $MEM1 $VU $NIC
for _ in $(seq 30); do [ -s "$TMP/received" ] && break; sleep 0.1; done
usernat_stats "${UN_PIDS[0]}" "$LOG"
no_tcp=$(usernat_stat "$LOG" drop_tcp_nat)
tcp_check() {
	local desc=$1 ok=$2
	if [ "$ok" = 1 ]; then
		tap_ok "$desc"
	elif [ "${no_tcp:-0}" -gt 0 ]; then
		tap_skip "$desc" "TCP NAT not available"
	else
		tap_fail "$desc" "$(grep GUEST "$TMP/serial5.log" | tail -n 5)"
	fi
}
grep -q "GUEST: dl md5 $SUM " "$TMP/serial5.log" && dl=1 || dl=0
tcp_check "20 MB download through the NAT, md5 matches" "$dl"
grep -q "^$SUM 20971520\$" "$TMP/received" 2>/dev/null && ul=1 || ul=0
tcp_check "20 MB upload through the NAT, md5 matches" "$ul"

# 5. offloads: the guest's driver acked them, and they were used both ways
# (TSO super-frames to the guest, GSO super-frames and partial checksums
# from it), with no frame dropped for a bad offload header
gso_in=$(usernat_stat "$LOG" offload_gso_in)
tso_out=$(usernat_stat "$LOG" offload_tso_out)
csum_in=$(usernat_stat "$LOG" offload_csum_in)
bad_off=$(usernat_stat "$LOG" drop_offload)
[ "${tso_out:-0}" -gt 0 ] &&
	tap_ok "TSO frames sent to the guest ($tso_out)" ||
	tap_fail "TSO frames sent to the guest" "offload_tso_out=${tso_out:-none}"
[ "${gso_in:-0}" -gt 0 ] &&
	tap_ok "GSO frames received from the guest ($gso_in)" ||
	tap_fail "GSO frames received from the guest" "offload_gso_in=${gso_in:-none}"
[ "${csum_in:-0}" -gt 0 ] &&
	tap_ok "partial checksums received from the guest ($csum_in)" ||
	tap_fail "partial checksums received from the guest" \
		"offload_csum_in=${csum_in:-none}"
[ "${bad_off:-1}" = 0 ] &&
	tap_ok "no frame dropped for bad offload information" ||
	tap_fail "no frame dropped for bad offload information" \
		"drop_offload=${bad_off:-none}"

if grep -q "closing the connection" "$LOG"; then
	tap_fail "no connection was closed as broken" \
		"$(grep "closing the connection" "$LOG")"
else
	tap_ok "no connection was closed as broken"
fi
kill -0 "${UN_PIDS[0]}" && tap_ok "usernat still running" ||
	tap_fail "usernat still running"
tap_done
