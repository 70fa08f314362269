#!/bin/bash
# bench.sh - usernat against libslirp and passt, on the same work, in one run
# (make bench; root).  Prints a markdown table per harness and one line per
# figure, "bench HARNESS BACKEND METRIC MEDIAN UNIT"; the report also goes
# to tests/bench/results.md (BENCH_OUT).
#
# Namespace harness ("ns"): the Linux kernel in a fresh network namespace is
# the guest (one namespace per backend, all up at once and measured in
# turn), on a tap that the backend opens through libvdeplug's tap plugin,
# so every backend sees the same path:
#     usernat --vde tap://TAP            (usernat)
#     vde_plug tap://TAP slirp://        (libslirp, libvdeplug-slirp)
# Host servers listen on 127.0.0.1; the guest reaches them at 10.0.2.2.
#   - iperf3 -t 5 both ways at MTU 1500 and 9000, and the backend's CPU time
#     (utime + stime of the whole process) per GB moved;
#   - 1-byte TCP round trips on one connection, TCP connection rate
#     (connect, 1-byte request, answer, close) and 1-byte UDP round trips,
#     against bench-net.c's echo services;
#   - scale: 10 idle connections held, round trips measured; then 10,000
#     (BENCH_FLOWS), the backend's RSS growth per connection, round trips
#     measured again.
# Real-guest harness ("guest"): the test guest (tests/guest/run-guest.sh,
# QEMU TCG) runs iperf3 -c (the host's binary and libraries, copied in) both
# ways against a server on 127.0.0.1, BENCH_GUEST_IPERF_REPS (3) runs of
# BENCH_GUEST_IPERF_SECS (3) s each way; then downloads GET /blob and
# uploads (POST /upload, base64 text) BENCH_GUEST_MB MiB from
# tests/lib/httpd.py, BENCH_GUEST_REPS (3) times in one boot, md5
# checked both ways, timed inside the guest; over -netdev user (libslirp in
# QEMU), passt's stream socket, and usernat's stream socket, VDE switch,
# in-QEMU plugin and vhost-user.  Every backend at MTU 1500.
#
# Each namespace figure is the median of BENCH_REPS (5) repetitions, except the
# scale run's opening time and memory (one run of 10,000 connections).
# Nothing leaves the machine: servers are on 127.0.0.1, guests are a
# namespace of our own or a QEMU guest, and no name is resolved.
#
# Environment: USERNAT, TOP_SRCDIR, TOP_BUILDDIR (make bench sets them),
# VDEPLUGIN_PATH (for the plugin), BENCH_PARTS ("ns guest"), BENCH_REPS (5),
# BENCH_IPERF_SECS (5), BENCH_RR_SECS (2), BENCH_FLOWS (10000),
# BENCH_HOLD_LIMIT (150 s to open them), BENCH_GUEST_MB (32), BENCH_OUT,
# BENCH_NS_MTUS ("1500 9000"), BENCH_NS_SCALE (1; 0 skips the 10,000-flow
# runs), BENCH_NS_RR (1; 0 skips the round trips), BENCH_NS_DIRS ("g2h
# h2g": the iperf3 directions), BENCH_USERNAT_BASE (another usernat binary, e.g. a build of an
# earlier commit, measured as backend "base" in both harnesses).
set -u
_here=$(cd "$(dirname "$0")" && pwd)
TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$_here/../.." && pwd)}
TOP_BUILDDIR=${TOP_BUILDDIR:-$TOP_SRCDIR}
USERNAT=${USERNAT:-$TOP_BUILDDIR/usernat}
[ -x "$USERNAT" ] || { echo "bench: no usernat at $USERNAT (run make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: needs root (namespaces, taps)" >&2; exit 1; }
# The shared test helpers; tap.sh announces TAP output, which this is not
. "$TOP_SRCDIR/tests/lib/common.sh" >/dev/null
. "$TOP_SRCDIR/tests/lib/netns.sh"

PARTS=${BENCH_PARTS:-ns guest}
REPS=${BENCH_REPS:-5}
IPERF_SECS=${BENCH_IPERF_SECS:-5}
RR_SECS=${BENCH_RR_SECS:-2}
FLOWS=${BENCH_FLOWS:-10000}
HOLD_LIMIT=${BENCH_HOLD_LIMIT:-150}
GUEST_MB=${BENCH_GUEST_MB:-32}
GUEST_IPERF_SECS=${BENCH_GUEST_IPERF_SECS:-3}
GUEST_IPERF_REPS=${BENCH_GUEST_IPERF_REPS:-3}
GUEST_REPS=${BENCH_GUEST_REPS:-3}
NS_MTUS=${BENCH_NS_MTUS:-1500 9000}
NS_SCALE=${BENCH_NS_SCALE:-1}
NS_RR=${BENCH_NS_RR:-1}
NS_DIRS=${BENCH_NS_DIRS:-g2h h2g}
USERNAT_BASE=${BENCH_USERNAT_BASE:-}
OUT=${BENCH_OUT:-$TOP_BUILDDIR/tests/bench/results.md}
ROOTARG=--allow-root	# we are root: usernat refuses to serve guests without it

W=$(mktemp -d "${TMPDIR:-/tmp}/usernat-bench.XXXXXX") || exit 1
chmod 711 "$W"		# passt, started as root, runs as nobody: it must reach $W/g-passt
PIDS=()			# our background processes, killed on exit
bench_cleanup() {
	local p
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do
		wait "$p" 2>/dev/null
	done
	PIDS=()
	rm -rf "$W"
}
trap bench_cleanup EXIT		# ns_setup replaces it; ns_on_exit keeps it
trap 'exit 130' INT
trap 'exit 143' TERM

# say MSG: progress on stderr
say() {
	printf 'bench: [%4d s] %s\n' "$SECONDS" "$*" >&2
}
NOTES=()
# note MSG: progress, and a line under the tables
note() {
	say "$*"
	NOTES+=("$*")
}

# bg CMD...: start CMD in the background, remember its pid in BG
bg() {
	"$@" &
	BG=$!
	PIDS+=("$BG")
}

# stop PID: TERM (KILL after 3 s), reap, forget
stop() {
	local pid=$1 i p keep=()
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do
		[ "$p" = "$pid" ] || keep+=("$p")
	done
	PIDS=("${keep[@]+"${keep[@]}"}")
}

# --- results ------------------------------------------------------------------
declare -A VALS UNITS
# record HARNESS BACKEND METRIC UNIT VALUE: one repetition's figure
record() {
	local k="$1|$2|$3"
	case "$5" in '' | *[!0-9.e+-]*) return 1 ;; esac
	VALS[$k]="${VALS[$k]:+${VALS[$k]} }$5"
	UNITS["$1|$3"]=$4
}
# med HARNESS BACKEND METRIC: the median of its repetitions (empty if none)
med() {
	local v=${VALS["$1|$2|$3"]:-}
	[ -n "$v" ] || return 0
	printf '%s\n' $v | sort -g | awk '{ a[NR] = $1 }
		END { if (NR % 2) print a[(NR + 1) / 2]
		      else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# fmt X: about three significant digits
fmt() {
	[ -n "$1" ] || { echo "—"; return; }
	awk -v x="$1" 'BEGIN { a = x < 0 ? -x : x
		if (a >= 100) printf "%.0f", x; else if (a >= 10) printf "%.1f", x
		else if (a >= 1) printf "%.2f", x; else printf "%.3g", x }'
}
# ratio A B: A / B as "1.23×" (— if either is missing)
ratio() {
	if [ -z "$1" ] || [ -z "$2" ]; then echo "—"; return; fi
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "—"; else printf "%.2f×\n", a / b }'
}
# calc EXPR: floating point arithmetic
calc() {
	awk "BEGIN { printf \"%.6g\", $1 }"
}

# --- the namespace harness ------------------------------------------------------
# cpu_ticks PID: utime + stime of the whole process, in clock ticks
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
# rss_kb PID: resident set size
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}
fd_count() {
	ls "/proc/$1/fd" 2>/dev/null | wc -l
}
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ns_up BACKEND MTU: a fresh namespace and tap, BACKEND on the tap, the
# guest configured by DHCP; BPID is the backend's pid
ns_up() {
	local be=$1 mtu=$2 log=$W/ns-$1-$2.log
	BPID=''
	ns_setup bench || return 1
	# IPv4 only in the guest: no router solicitations, DAD or MLD
	ns_exec sh -c 'echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6
		echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6' 2>/dev/null
	# shellcheck disable=SC2016  # $1 and $@ are the inner shell's
	case $be in
	usernat)
		bg sh -c 'ulimit -n "$1" 2>/dev/null; shift; exec "$@"' sh "$NOFILE" \
			"$USERNAT" --vde "tap://$TAP" --no-control --mtu "$mtu" $ROOTARG ;;
	base)
		bg sh -c 'ulimit -n "$1" 2>/dev/null; shift; exec "$@"' sh "$NOFILE" \
			"$USERNAT_BASE" --vde "tap://$TAP" --no-control --mtu "$mtu" $ROOTARG ;;
	libslirp)
		bg sh -c 'ulimit -n "$1" 2>/dev/null; shift; exec "$@"' sh "$NOFILE" \
			vde_plug "tap://$TAP" "slirp:///mtu=$mtu" ;;
	esac >"$log" 2>&1
	BPID=$BG
	if ! wait_for_tap_attached 10 "$BPID" || ! ns_move_tap; then
		note "ns $be MTU $mtu: backend did not start: $(tail -n 3 "$log")"
		return 1
	fi
	ns_exec ip link set dev "$TAP" mtu "$mtu"
	if ! udhcpc_ns >"$W/dhcp.log" 2>&1 || ! grep -q '^DHCP: bound' "$W/dhcp.log"; then
		note "ns $be MTU $mtu: no DHCP lease"
		return 1
	fi
	ns_exec ip link set dev "$TAP" mtu "$mtu"	# whatever DHCP said
}

# ns_down: the backend, everything in the namespace, the namespace, the tap
ns_down() {
	local p
	for p in $(ip netns pids "$NS" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	stop "$BPID"
	ip netns del "$NS" 2>/dev/null
	ip link del dev "$TAP" 2>/dev/null
	rm -rf "/etc/netns/$NS"
}

# iperf DIR: one iperf3 run (g2h: guest sends; h2g: -R), the guest the
# client; leaves "BITS_PER_SECOND BYTES" of the receiver in $W/iperf.out
iperf() {
	local port rev=() i
	port=$(free_port)
	[ "$1" = h2g ] && rev=(-R)
	bg iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1
	for i in $(seq 50); do
		[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] && break
		sleep 0.05
	done
	ns_exec timeout $((IPERF_SECS + 30)) iperf3 -c 10.0.2.2 -p "$port" \
		-t "$IPERF_SECS" -J "${rev[@]+"${rev[@]}"}" >"$W/iperf.json" 2>&1
	stop "$BG"
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
r = d["end"]["sum_received"]
print(r["bits_per_second"], r["bytes"])' "$W/iperf.json" >"$W/iperf.out" 2>/dev/null
}

# use BACKEND: make BACKEND's namespace, tap and pid the current ones
declare -A B_NS B_TAP B_PID
use() {
	NS=${B_NS[$1]} TAP=${B_TAP[$1]} BPID=${B_PID[$1]}
}

# iperf_rep BACKEND MTU: one repetition of iperf3 both ways, and the
# backend's CPU time per GB over the two
iperf_rep() {
	local be=$1 mtu=$2 dir c0 c1 bytes=0 ticks=0 out
	use "$be"
	for dir in $NS_DIRS; do
		c0=$(cpu_ticks "$BPID")
		iperf "$dir"
		c1=$(cpu_ticks "$BPID")
		out=$(cat "$W/iperf.out")
		if [ -z "$out" ]; then
			note "ns $be MTU $mtu: iperf3 $dir failed: $(head -c 300 "$W/iperf.json")"
			continue
		fi
		set -- $out
		record ns "$be" "tcp_${dir}_mtu$mtu" Gbit/s "$(calc "$1 / 1e9")"
		say "  $be iperf3 $dir: $(fmt "$(calc "$1 / 1e9")") Gbit/s"
		ticks=$((ticks + c1 - c0))
		bytes=$(calc "$bytes + $2")
	done
	[ "$bytes" = 0 ] || record ns "$be" "cpu_mtu$mtu" s/GB \
		"$(calc "$ticks / $TCK / ($bytes / 1e9)")"
}

# rr_rep BACKEND KIND: one round-trip run (tcp-rr, udp-rr or tcp-crr)
rr_rep() {
	local be=$1 kind=$2 out v
	use "$be"
	case $kind in
	tcp-rr)
		out=$(ns_exec timeout $((RR_SECS + 30)) "$BN" tcp-rr 10.0.2.2 "$P_ECHO" "$RR_SECS" 2>&1)
		v=$(printf '%s\n' "$out" | awk '$1 == "tps" { print $4 }')
		record ns "$be" tcp_rr_rtt us "$v" || note "ns $be: tcp-rr: $out" ;;
	udp-rr)
		out=$(ns_exec timeout $((RR_SECS + 30)) "$BN" udp-rr 10.0.2.2 "$P_UDP" "$RR_SECS" 2>&1)
		v=$(printf '%s\n' "$out" | awk '$1 == "tps" { print $2 }')
		record ns "$be" udp_rr trans/s "$v" || note "ns $be: udp-rr: $out" ;;
	tcp-crr)
		out=$(ns_exec timeout $((RR_SECS + 60)) "$BN" tcp-crr 10.0.2.2 "$P_CRR" "$RR_SECS" 2>&1)
		v=$(printf '%s\n' "$out" | awk '$1 == "cps" { print $2 }')
		record ns "$be" tcp_crr conn/s "$v" || note "ns $be: tcp-crr: $out" ;;
	esac
	say "  $be $kind: $(printf '%s\n' "$out" | head -n 1)"
}

# ns_perf MTU BACKENDS...: every backend up at once, each in its own
# namespace, measured in turn, so that a change in the machine's load
# (it may be shared) hits all of them alike: throughput and CPU; at MTU
# 1500 also the round trips.  Connection churn is last: libslirp keeps
# closed connections around for a while and slows down with them.
ns_perf() {
	local mtu=$1 be kind up=()
	shift
	for be in "$@"; do
		say "ns: $be up, MTU $mtu"
		if ns_up "$be" "$mtu"; then
			up+=("$be")
		else
			ns_down
			continue
		fi
		B_NS[$be]=$NS B_TAP[$be]=$TAP B_PID[$be]=$BPID
	done
	for _ in $(seq "$REPS"); do
		for be in "${up[@]+"${up[@]}"}"; do
			iperf_rep "$be" "$mtu"
		done
	done
	if [ "$mtu" = 1500 ] && [ "$NS_RR" != 0 ]; then
		for kind in tcp-rr udp-rr tcp-crr; do
			for _ in $(seq "$REPS"); do
				for be in "${up[@]+"${up[@]}"}"; do
					rr_rep "$be" "$kind"
				done
			done
		done
	fi
	for be in "${up[@]+"${up[@]}"}"; do
		use "$be"
		ns_down
	done
}

# rr_runs BACKEND METRIC: REPS TCP round-trip runs, recorded under METRIC
rr_runs() {
	local out v
	for _ in $(seq "$REPS"); do
		out=$(ns_exec timeout $((RR_SECS + 60)) "$BN" tcp-rr 10.0.2.2 "$P_ECHO" "$RR_SECS" 2>&1)
		v=$(printf '%s\n' "$out" | awk '$1 == "tps" { print $4 }')
		record ns "$1" "$2" us "$v" || note "ns $1: $2: $out"
	done
}

# hold N NAME: N more connections held open (files NAME.ready, NAME.go);
# waits until they are open; prints "SECS OPEN"
hold() {
	local n=$1 f=$W/$2
	rm -f "$f.ready" "$f.go"
	ns_exec "$BN" hold 10.0.2.2 "$P_ECHO" "$n" "$f.ready" "$f.go" "$HOLD_LIMIT" \
		>"$f.out" 2>&1 &
	wait_for_file "$f.ready" $((HOLD_LIMIT + 30)) && cat "$f.ready"
}

# ns_scale BACKEND: 10 idle flows, then FLOWS; memory and round trips
ns_scale() {
	local be=$1 rss0 rss1 fd1 out secs open
	say "ns: $be, $FLOWS connections"
	ns_up "$be" 1500 || { ns_down; return; }
	if ! hold 10 h10 >/dev/null; then
		note "ns $be: 10 connections not opened: $(cat "$W/h10.out")"
		ns_down
		return
	fi
	rr_runs "$be" rtt_idle10
	rss0=$(rss_kb "$BPID")
	out=$(hold $((FLOWS - 10)) hmany)
	if [ -z "$out" ]; then
		note "ns $be: the scale run failed: $(cat "$W/hmany.out")"
		ns_down
		return
	fi
	read -r secs open <<<"$out"
	open=$((open + 10))
	rss1=$(rss_kb "$BPID")
	fd1=$(fd_count "$BPID")
	say "  $open connections open in $secs s; RSS $rss0 -> $rss1 kB, $fd1 descriptors"
	[ "$open" -lt "$FLOWS" ] &&
		note "ns $be: only $open of $FLOWS connections open after ${HOLD_LIMIT} s; figures are for $open"
	record ns "$be" flows_open conns "$open"
	record ns "$be" scale_open s "$secs"
	record ns "$be" mem_per_conn B "$(calc "($rss1 - $rss0) * 1024 / ($open - 10)")"
	rr_runs "$be" rtt_idle10k
	touch "$W/h10.go" "$W/hmany.go"
	ns_down
}

ns_part() {
	local c be mtu
	for c in ip ss iperf3 vde_plug busybox cc python3; do
		command -v "$c" >/dev/null || { note "ns harness skipped: '$c' not found"; return; }
	done
	BN=$W/bench-net
	cc -O2 -o "$BN" "$TOP_SRCDIR/tests/bench/bench-net.c" 2>"$W/cc.log" ||
		{ note "ns harness skipped: bench-net.c: $(cat "$W/cc.log")"; return; }
	# descriptors: the server, the backend and the guest's client each
	# hold FLOWS of them
	NOFILE=$(ulimit -Hn)
	[ "$NOFILE" = unlimited ] && NOFILE=1048576
	[ "$NOFILE" -gt 1048576 ] && NOFILE=1048576
	ulimit -n "$NOFILE"
	if [ "$NOFILE" -lt $((FLOWS + 200)) ]; then
		note "descriptor limit $NOFILE: scale run with $((NOFILE - 200)) connections, not $FLOWS"
		FLOWS=$((NOFILE - 200))
	fi
	TCK=$(getconf CLK_TCK)
	ns_on_exit bench_cleanup	# ns_setup takes over the EXIT trap
	bg "$BN" serve "$W/ports"
	wait_for_file "$W/ports" 10 || { note "ns harness skipped: echo server did not start"; return; }
	read -r P_ECHO P_CRR P_UDP <"$W/ports"
	for mtu in $NS_MTUS; do
		ns_perf "$mtu" usernat libslirp ${USERNAT_BASE:+base}
	done
	[ "$NS_SCALE" = 0 ] && return
	for be in usernat libslirp; do
		ns_scale "$be"
	done
}

# --- the real-guest harness -------------------------------------------------------
# BENCH_GUEST_BACKENDS: which, in this order; BENCH_GUEST_ROUNDS (1): boots of
# each, interleaved (a, b, c, a, b, c...), every transfer of every round
# going into the median, so a change in the machine's load hits all alike;
# BENCH_USERNAT_BASE: another usernat binary (e.g. a build of the previous
# commit) measured over vhost-user too, as "base-vhost-user"
GUEST_BACKENDS=${BENCH_GUEST_BACKENDS:-libslirp passt usernat-stream usernat-vde usernat-plugin usernat-vhost-user}
GUEST_ROUNDS=${BENCH_GUEST_ROUNDS:-1}
[ -z "$USERNAT_BASE" ] || GUEST_BACKENDS="$GUEST_BACKENDS base-vhost-user"

# guest_script FILE PORT IPERF_PORT: the guest's job (busybox sh); times in 1/100 s
# from /proc/uptime
guest_script() {
	cat >"$1" <<EOF
#!/bin/sh
udhcpc -i eth0 -n -q -t 5 -T 1 -s /etc/udhcpc.script >/dev/null 2>&1 || echo "GUEST: no lease"
cs() { read u _ </proc/uptime; echo \$(( \${u%.*} * 100 + 1\${u#*.} - 100 )); }
# busybox wget --post-file stops at a NUL byte: upload base64 text,
# 4 MiB of random bytes encoded and repeated up to $GUEST_MB MiB
dd if=/dev/urandom bs=1M count=4 2>/dev/null | base64 >/tmp/part
: >/tmp/rep
while [ \$(stat -c %s /tmp/rep) -lt $((GUEST_MB << 20)) ]; do cat /tmp/part >>/tmp/rep; done
head -c $((GUEST_MB << 20)) /tmp/rep >/tmp/up
rm -f /tmp/rep /tmp/part
echo "GUEST: upmd5 \$(md5sum </tmp/up)"
# iperf3 (the host's binary and libraries, put in by --file) against the
# host's server: the network's throughput with no file behind it
if command -v iperf3 >/dev/null; then
	for i in \$(seq $GUEST_IPERF_REPS); do
		for d in g2h h2g; do
			r=; [ \$d = h2g ] && r=-R
			x=\$(iperf3 -c 10.0.2.2 -p $3 -t $GUEST_IPERF_SECS -f m \$r 2>&1 |
				awk '/receiver/ { for (k = 1; k < NF; k++) if (\$(k + 1) == "Mbits/sec") print \$k }')
			echo "GUEST: i\$d \$i \${x:-failed}"
		done
	done
fi
for i in \$(seq $GUEST_REPS); do
	# the same download into /dev/null: what the network path carries
	# when the guest doesn't also write 32 MiB to its tmpfs (unchecked)
	a=\$(cs); wget -q -O /dev/null http://10.0.2.2:$2/blob && b=\$(cs) &&
		echo "GUEST: nl \$i \$((b - a)) $((GUEST_MB << 20)) -"
	a=\$(cs); wget -q -O /tmp/dl http://10.0.2.2:$2/blob; b=\$(cs)
	echo "GUEST: dl \$i \$((b - a)) \$(stat -c %s /tmp/dl) \$(md5sum </tmp/dl)"
	rm -f /tmp/dl
	a=\$(cs); r=\$(wget -q -O - --post-file /tmp/up http://10.0.2.2:$2/upload); b=\$(cs)
	echo "GUEST: ul \$i \$((b - a)) \$r"
done
EOF
}

# guest_parse BACKEND SERIAL: record the transfers whose md5 matched
guest_parse() {
	local be=$1 log=$2 upmd5 ok=0 tag i cs size sum rest want metric
	upmd5=$(sed -n 's/^GUEST: upmd5 \([0-9a-f]\{32\}\).*/\1/p' "$log")
	while read -r _ tag i cs size sum rest; do
		case $tag in
		ig2h | ih2g)	# Mbit/s of iperf3's receiver
			if [ "${cs:-failed}" = failed ]; then
				note "guest $be: iperf3 $tag $i failed"
			else
				record guest "$be" "tcp_${tag#i}_iperf" MB/s "$(calc "$cs / 8")"
				ok=$((ok + 1))
			fi
			continue ;;
		dl)	# "SIZE MD5  -"
			want=$BLOB_MD5 metric=tcp_h2g ;;
		nl)	# "SIZE -": into /dev/null, wget's exit status only
			want=- metric=tcp_h2g_null ;;
		ul)	# "bytes=N sha256=... md5=..." from httpd.py
			sum=$(printf '%s\n' "$rest" | sed -n 's/.*md5=\([0-9a-f]*\).*/\1/p')
			size=${size#bytes=}
			want=$upmd5 metric=tcp_g2h ;;
		*) continue ;;
		esac
		if [ "$sum" != "$want" ] || [ "${cs:-0}" -le 0 ]; then
			note "guest $be: $tag $i failed or md5 mismatch: $cs $size $sum"
			continue
		fi
		record guest "$be" "$metric" MB/s "$(calc "$size / ($cs / 100) / 1e6")"
		ok=$((ok + 1))
	done < <(grep -E '^GUEST: (dl|nl|ul|ig2h|ih2g) ' "$log")
	say "  $be: $ok transfers; iperf3 $(fmt "$(med guest "$be" tcp_h2g_iperf)") /" \
		"$(fmt "$(med guest "$be" tcp_g2h_iperf)"), download $(fmt "$(med guest "$be" tcp_h2g)")," \
		"upload $(fmt "$(med guest "$be" tcp_g2h)") MB/s"
}

# guest_one BACKEND ROUND: start the backend, boot the guest through it,
# record
guest_one() {
	local be=$1 d=$W/g-$1-$2 bpid='' ipid args=() i un=$USERNAT
	mkdir -p "$d"
	say "guest: $be"
	# shellcheck disable=SC2054  # commas in QEMU arguments
	case $be in
	libslirp)
		args=(-netdev user,id=n0 -device virtio-net-pci,netdev=n0) ;;
	passt)
		# passt started as root runs as nobody: its socket's directory
		# must be nobody's
		chown nobody "$d" 2>/dev/null
		# (and cannot open a -l log file there: stderr it is)
		bg passt -f -q -4 -s "$d/passt.sock" -a 10.0.2.15 -n 24 -g 10.0.2.2 \
			-m 1500 -t none -u none >"$d/passt.log" 2>&1
		bpid=$BG
		wait_for_file "$d/passt.sock" 10 &&
			args=(-netdev "stream,id=n0,server=off,addr.type=unix,addr.path=$d/passt.sock"
				-device virtio-net-pci,netdev=n0) ;;
	usernat-stream | usernat-vde | usernat-vhost-user | base-vhost-user)
		case $be in
		usernat-stream) args=(--socket "$d/un.sock") ;;
		usernat-vde) args=(--vde "switch://$d/sw") ;;
		usernat-vhost-user) args=(--vhost-user "$d/vu.sock") ;;
		base-vhost-user) args=(--vhost-user "$d/vu.sock") un=$USERNAT_BASE ;;
		esac
		bg "$un" "${args[@]}" --no-control $ROOTARG >"$d/usernat.log" 2>&1
		bpid=$BG
		for i in $(seq 50); do
			grep -q '^  -' "$d/usernat.log" && break
			sleep 0.1
		done
		# the QEMU arguments usernat prints; the guest has 256 MB; no
		# MSI-X for vhost-user under TCG (QEMU 7.2 crashes)
		read -r -a args < <(grep -m 1 '^  -' "$d/usernat.log" |
			sed 's/size=RAM/size=256M/')
		[[ "$be" = *vhost-user ]] &&
			args=("${args[@]/%netdev=n0/netdev=n0,vectors=0}")
		;;
	usernat-plugin)
		args=(-netdev vde,id=n0,sock=usernat:// -device virtio-net-pci,netdev=n0) ;;
	esac
	if [ ${#args[@]} -eq 0 ]; then
		note "guest $be: backend did not start: $(grep -hv syslog "$d"/*.log 2>/dev/null | tail -n 3)"
		[ -z "$bpid" ] || stop "$bpid"
		return
	fi
	# a server of its own per boot: one a vanished guest left waiting
	# can't hold up the next backend
	ipid=''
	if [ ${#IPERF_FILES[@]} -gt 0 ]; then
		bg iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >"$d/iperf3.log" 2>&1
		ipid=$BG
	fi
	VDEPLUGIN_PATH=$PLUGIN_PATH "$TOP_SRCDIR/tests/guest/run-guest.sh" \
		--timeout 400 --log "$d/serial.log" --test "$W/guest.sh" \
		"${IPERF_FILES[@]+"${IPERF_FILES[@]}"}" -- "${args[@]}" \
		>"$d/run.log" 2>&1 ||
		note "guest $be: the guest did not finish: $(tail -n 5 "$d/run.log" | tr '\n' ' ')"
	[ -z "$bpid" ] || stop "$bpid"
	[ -z "$ipid" ] || stop "$ipid"
	guest_parse "$be" "$d/serial.log"
}

guest_part() {
	local be
	for c in qemu-system-x86_64 python3 cpio; do
		command -v "$c" >/dev/null || { note "guest harness skipped: '$c' not found"; return; }
	done
	if ! "$TOP_SRCDIR/tests/guest/mkguest.sh" >"$W/mkguest.log" 2>&1; then
		note "guest harness skipped: cannot build the guest: $(tail -n 1 "$W/mkguest.log")"
		return
	fi
	PLUGIN_PATH=${VDEPLUGIN_PATH:-$TOP_BUILDDIR/.libs:$(dirname "$(cc -print-file-name=libvdeplug.so)")/vdeplug}
	bg python3 "$TOP_SRCDIR/tests/lib/httpd.py" "$W/http.port" "$GUEST_MB"
	wait_for_file "$W/http.port" 30 || { note "guest harness skipped: httpd.py did not start"; return; }
	BLOB_MD5=$(cat "$W/http.port.md5")
	# iperf3 and the libraries it links, copied into the guest at the
	# same paths (the guest's kernel runs the host's Debian userland)
	IPERF_FILES=()
	if command -v iperf3 >/dev/null && command -v ldd >/dev/null; then
		IPERF_FILES=(--file "$(command -v iperf3):/bin/iperf3")
		for f in $(ldd "$(command -v iperf3)" | grep -o '/[^ ]*'); do
			IPERF_FILES+=(--file "$f:$f")
		done
		IPERF_PORT=$(free_port)
	else
		note "guest harness: no iperf3 on the host; wget transfers only"
	fi
	guest_script "$W/guest.sh" "$(cat "$W/http.port")" "${IPERF_PORT:-0}"
	if [[ " $GUEST_BACKENDS " == *" passt "* ]] && ! command -v passt >/dev/null; then
		note "guest passt skipped: passt not installed"
		GUEST_BACKENDS=$(printf '%s\n' $GUEST_BACKENDS | grep -vx passt | tr '\n' ' ')
	fi
	for r in $(seq "$GUEST_ROUNDS"); do
		for be in $GUEST_BACKENDS; do
			guest_one "$be" "$r"
		done
	done
}

# guest_label BACKEND: its column heading
guest_label() {
	case $1 in
	libslirp) echo "-netdev user (libslirp)" ;;
	passt) echo "passt (stream)" ;;
	base-vhost-user) echo "base vhost-user ($(basename "$(dirname "$USERNAT_BASE")"))" ;;
	*) echo "${1//-/ }" ;;
	esac
}

# --- the report -----------------------------------------------------------------
# ns_row METRIC LABEL [TARGET WHAT COND]: a row of the namespace table;
# the target is met when awk condition COND holds for x, which is WHAT:
# "ratio" (usernat / libslirp) or "own" (usernat's own figure)
ns_row() {
	local m=$1 label=$2 target=${3:-} what=${4:-} cond=${5:-} a b x met="" u
	a=$(med ns libslirp "$m")
	b=$(med ns usernat "$m")
	[ -n "$a$b" ] || return 0
	case $what in
	ratio) [ -n "$a" ] && [ -n "$b" ] && x=$(calc "$b / $a") ;;
	own) x=$b ;;
	esac
	if [ -n "${x:-}" ]; then
		met=$(awk -v x="$x" "BEGIN { print (($cond) ? \"yes\" : \"**no**\") }")
	fi
	u=${UNITS["ns|$m"]}
	[ "$u" = us ] && u=µs
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$u" \
		"$(fmt "$a")" "$(fmt "$b")" "$(ratio "$b" "$a")" "$target" "$met"
}

report() {
	local m be cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo "# usernat benchmark"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); usernat $(git -C "$TOP_SRCDIR" describe --always --dirty 2>/dev/null || echo '?')"
	echo "- machine: $cpu, $(nproc) cores, $(awk '/^MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
	echo "- peers: libslirp $(dpkg-query -W -f '${Version}' libslirp0 2>/dev/null)," \
		"libvdeplug-slirp $(dpkg-query -W -f '${Version}' libvdeplug-slirp 2>/dev/null)," \
		"passt $(dpkg-query -W -f '${Version}' passt 2>/dev/null)," \
		"QEMU $(qemu-system-x86_64 --version 2>/dev/null | awk 'NR == 1 { print $4 }')," \
		"iperf3 $(iperf3 --version 2>/dev/null | awk 'NR == 1 { print $2 }')"
	echo "- load average at start: $LOAD0, at the end: $(cut -d' ' -f1-3 /proc/loadavg); run time $((SECONDS / 60)) min $((SECONDS % 60)) s"
	echo "- medians of $REPS repetitions (scale: opening time and memory from one run)"
	echo
	if [[ " $PARTS " == *" ns "* ]]; then
		echo "## Namespace harness (Linux in a netns on a tap, through libvdeplug's tap plugin)"
		echo
		echo "| | unit | libslirp | usernat | usernat / libslirp | target | met |"
		echo "|---|---|---:|---:|---:|---|---|"
		ns_row tcp_g2h_mtu1500 "TCP guest→host, MTU 1500 (iperf3)" "≥ 3×" ratio "x >= 3"
		ns_row tcp_h2g_mtu1500 "TCP host→guest, MTU 1500 (iperf3 -R)" "≥ 3×" ratio "x >= 3"
		ns_row tcp_g2h_mtu9000 "TCP guest→host, MTU 9000" "≥ 5×" ratio "x >= 5"
		ns_row tcp_h2g_mtu9000 "TCP host→guest, MTU 9000" "≥ 5×" ratio "x >= 5"
		ns_row cpu_mtu1500 "backend CPU per GB moved, MTU 1500"
		ns_row cpu_mtu9000 "backend CPU per GB moved, MTU 9000"
		ns_row tcp_rr_rtt "TCP 1-byte round trip" "≤ 0.7×" ratio "x <= 0.7"
		ns_row tcp_crr "TCP connect, request, close" "≥ 2×" ratio "x >= 2"
		ns_row udp_rr "UDP 1-byte round trips"
		ns_row flows_open "connections held open"
		ns_row scale_open "time to open them"
		ns_row mem_per_conn "backend RSS per idle connection" "≤ 4096 B" own "x <= 4096"
		ns_row rtt_idle10 "TCP round trip, 10 idle connections"
		ns_row rtt_idle10k "TCP round trip, $FLOWS idle connections"
		ns_row rtt_idle_growth "round trip, $FLOWS idle / 10 idle" "usernat ≤ 1.10" own "x <= 1.10"
		echo
		echo "iperf3 -t $IPERF_SECS, the guest the client. CPU: utime + stime of the backend's"
		echo "process (usernat; vde_plug with the slirp plugin) over the iperf3 runs, per GB"
		echo "received; it includes the guest kernel's receive work, which a tap runs in the"
		echo "writer's write(). Round trips: tests/bench/bench-net.c in the namespace against"
		echo "its echo services on 127.0.0.1, ${RR_SECS} s per run; round trip = 1 / transactions"
		echo "per second on one connection. RSS per connection: the backend's VmRSS growth"
		echo "from 10 to $FLOWS open connections, divided by the difference (kernel socket"
		echo "memory not included)."
		echo
	fi
	if [[ " $PARTS " == *" guest "* ]]; then
		echo "## Real-guest harness (QEMU TCG guest: iperf3, and busybox wget $GUEST_MB MiB each way; MTU 1500)"
		echo
		printf '| MB/s '
		for be in $GUEST_BACKENDS; do
			printf '| %s ' "$(guest_label "$be")"
		done
		echo "| vhost-user / libslirp | vhost-user / passt | stream / passt | vhost-user / stream |"
		printf '|---'
		for be in $GUEST_BACKENDS; do
			printf '|---:'
		done
		echo "|---:|---:|---:|---:|"
		for m in tcp_g2h_iperf tcp_h2g_iperf tcp_h2g tcp_h2g_null tcp_g2h; do
			[ -n "$(med guest usernat-vhost-user "$m")$(med guest libslirp "$m")" ] || continue
			case $m in
			tcp_g2h_iperf) printf '| TCP guest→host (iperf3) ' ;;
			tcp_h2g_iperf) printf '| TCP host→guest (iperf3 -R) ' ;;
			tcp_h2g) printf '| host→guest (GET) ' ;;
			tcp_h2g_null) printf '| host→guest, into /dev/null ' ;;
			*) printf '| guest→host (POST) ' ;;
			esac
			for be in $GUEST_BACKENDS; do
				printf '| %s ' "$(fmt "$(med guest "$be" "$m")")"
			done
			printf '| %s | %s | %s | %s |\n' \
				"$(ratio "$(med guest usernat-vhost-user "$m")" "$(med guest libslirp "$m")")" \
				"$(ratio "$(med guest usernat-vhost-user "$m")" "$(med guest passt "$m")")" \
				"$(ratio "$(med guest usernat-stream "$m")" "$(med guest passt "$m")")" \
				"$(ratio "$(med guest usernat-vhost-user "$m")" "$(med guest usernat-stream "$m")")"
		done
		echo
		echo "Targets: vhost-user ≥ 3× -netdev user and ≥ 2× passt's stream socket, on the"
		echo "iperf3 rows (the guest runs the host's iperf3 -c 10.0.2.2 -t $GUEST_IPERF_SECS against a server"
		echo "on 127.0.0.1, $GUEST_IPERF_REPS runs each way per boot; the receiver's figure)."
		echo "The wget rows move a file: timed inside the guest (/proc/uptime, 10 ms steps), md5 checked both ways"
		echo "(GET saves to the guest's tmpfs, which costs the TCG guest about as much as"
		echo "the network does; the /dev/null row is the same GET without that, unchecked);"
		echo "the guest has one TCG vCPU. passt: -a 10.0.2.15 -n 24 -g 10.0.2.2 -m 1500;"
		echo "vhost-user's NIC without MSI-X (vectors=0: QEMU 7.2 crashes under TCG);"
		echo "vhost-user negotiates checksum offload and TSO both ways (the stream socket"
		echo "has no virtio-net header, so the guest segments and checksums itself)."
		echo "$GUEST_ROUNDS boot(s) per backend, interleaved, $GUEST_IPERF_REPS iperf3 runs and $GUEST_REPS wget transfers each way per boot."
		echo
	fi
	if [ ${#NOTES[@]} -gt 0 ]; then
		echo "Notes:"
		echo
		printf -- '- %s\n' "${NOTES[@]}"
		echo
	fi
	echo "Raw repetitions:"
	echo
	echo '```'
	for k in $(printf '%s\n' "${!VALS[@]}" | sort); do
		echo "${k//|/ }: ${VALS[$k]}"
	done
	echo '```'
}

# bench_lines: "bench HARNESS BACKEND METRIC MEDIAN UNIT", one per figure
bench_lines() {
	local k h b m
	for k in $(printf '%s\n' "${!VALS[@]}" | sort); do
		IFS='|' read -r h b m <<<"$k"
		echo "bench $h $b $m $(med "$h" "$b" "$m") ${UNITS["$h|$m"]}"
	done
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
say "work directory $W; parts: $PARTS"
[[ " $PARTS " == *" ns "* ]] && ns_part
[[ " $PARTS " == *" guest "* ]] && guest_part
for be in libslirp usernat; do	# a derived figure: latency growth with idle flows
	a=$(med ns "$be" rtt_idle10k) b=$(med ns "$be" rtt_idle10)
	[ -n "$a" ] && [ -n "$b" ] && record ns "$be" rtt_idle_growth x "$(calc "$a / $b")"
done
report >"$W/report.md"
bench_lines >"$W/lines"
cat "$W/report.md"
echo
cat "$W/lines"
mkdir -p "$(dirname "$OUT")" &&
	{ cat "$W/report.md"; echo; echo '```'; cat "$W/lines"; echo '```'; } >"$OUT" &&
	say "written to $OUT"
say "done in $((SECONDS / 60)) min $((SECONDS % 60)) s"
