#!/bin/bash
# Namespace test: the sandbox is really in force, and guests keep working
# under it.
# - A daemon started as root with --runas nobody on a tap device: after
#   setup it runs as nobody with no capabilities, no_new_privs and a seccomp
#   filter (/proc/PID/status), and no descriptor inherited from its parent.
#   The guest (the kernel in a namespace) then opens new flows: a DHCP
#   lease, a ping of the gateway, a UDP round trip to a host loopback echo
#   server through 10.0.2.2, a TCP connection (skipped while TCP NAT is not
#   available: refused and counted in drop_tcp_nat), a control client.
# - A call outside the allow-list kills the daemon with SIGSYS: a syscall
#   that isn't on the list (mount), and socket() with an address family
#   that isn't (AF_NETLINK); the hook is USERNAT_TEST_FORBIDDEN_SYSCALL
#   plus SIGUSR2.  --sandbox-log logs instead; --no-sandbox has no filter.
# - Started as root without --runas or --allow-root, usernat refuses.
# - --restrict: DHCP and the gateway's ping still work, a UDP flow gets
#   ICMP administratively prohibited (the guest sees EHOSTUNREACH).
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd busybox python3 ping
. "$TOP_SRCDIR/tests/lib/netns.sh"
CTL=$TOP_BUILDDIR/usernatctl
id nobody >/dev/null 2>&1 || tap_skip_all "no user 'nobody'"

ns_setup sandbox || tap_bail "cannot set up namespace"

# --- host side: UDP and TCP echo servers on 127.0.0.1 ----------------------
cat >"$NS_TMP/echo.py" <<'EOF'
import os, socket, sys, threading
kind, port_file = sys.argv[1], sys.argv[2]
t = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, t)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
if kind == "tcp":
    s.listen(8)
open(port_file + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
def serve(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
while True:
    if kind == "udp":
        d, peer = s.recvfrom(65535)
        s.sendto(d, peer)
    else:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
cat >"$NS_TMP/client.py" <<'EOF'
import errno, socket, sys
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((host, port))
    for size in (1, 500, 1400):
        data = bytes(i & 0xff for i in range(size))
        s.send(data)
        try:
            got = s.recv(65535)
        except OSError as e:
            print("udp error", errno.errorcode.get(e.errno, e.errno))
            sys.exit(3)
        assert got == data, "payload differs"
    print("udp ok")
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect((host, port))
    except OSError as e:
        print("tcp connect", errno.errorcode.get(e.errno, e.errno))
        sys.exit(4)
    data = bytes(i & 0xff for i in range(100000))
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        c = s.recv(65536)
        if not c:
            break
        got += c
    assert got == data, "stream differs"
    print("tcp ok")
EOF
CLIENT=$NS_TMP/client.py
ns_bg python3 "$NS_TMP/echo.py" udp "$NS_TMP/udp.port"
ns_bg python3 "$NS_TMP/echo.py" tcp "$NS_TMP/tcp.port"
wait_for_file "$NS_TMP/udp.port" 10 || tap_bail "UDP echo server did not start"
wait_for_file "$NS_TMP/tcp.port" 10 || tap_bail "TCP echo server did not start"
UDP_PORT=$(cat "$NS_TMP/udp.port")
TCP_PORT=$(cat "$NS_TMP/tcp.port")

# status_field PID NAME: a field of /proc/PID/status, whitespace squeezed
status_field() {
	awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' \
		"/proc/$1/status" 2>/dev/null
}

# exit_status PID TIMEOUT: wait for our child PID to end; its exit status
# in ST ("running" if it didn't end).  Not in a subshell: only this shell
# can wait for its children.
exit_status() {
	local pid=$1 deadline=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		ST=running
		return
	fi
	wait "$pid" 2>/dev/null
	ST=$?
}

# --- phase 1: --runas nobody on a tap, guest traffic after the sandbox ----
LOG=$NS_TMP/usernat.log
CTLSOCK=$NS_TMP/un.ctl
export USERNAT_TEST_FORBIDDEN_SYSCALL=mount
# a descriptor the parent leaks (fd 7, open for writing) must not survive
usernat_start "$LOG" --vde "tap://$TAP" --runas nobody --control "$CTLSOCK" \
	--log-level debug 7>"$NS_TMP/leaked-file"
unset USERNAT_TEST_FORBIDDEN_SYSCALL
UN1=$UN_PID
wait_for_tap_attached 10 "$UN1" || tap_bail "usernat did not open $TAP: $(cat "$LOG")"
wait_for_log "$LOG" "ready on" 10 || tap_bail "usernat not ready: $(cat "$LOG")"
ns_move_tap || tap_bail "cannot move tap"

st=$(status_field "$UN1" Seccomp)
[ "$st" = 2 ] && tap_ok "seccomp filter mode (Seccomp: 2)" ||
	tap_fail "seccomp filter mode (Seccomp: 2)" "Seccomp: '$st'"
st=$(status_field "$UN1" NoNewPrivs)
[ "$st" = 1 ] && tap_ok "no_new_privs (NoNewPrivs: 1)" ||
	tap_fail "no_new_privs (NoNewPrivs: 1)" "NoNewPrivs: '$st'"
caps="$(status_field "$UN1" CapEff) $(status_field "$UN1" CapPrm) $(status_field "$UN1" CapInh) $(status_field "$UN1" CapAmb)"
[ "$caps" = "0000000000000000 0000000000000000 0000000000000000 0000000000000000" ] &&
	tap_ok "no capabilities (CapEff, CapPrm, CapInh, CapAmb all 0)" ||
	tap_fail "no capabilities" "CapEff CapPrm CapInh CapAmb: $caps"
want=$(id -u nobody)
uids=$(status_field "$UN1" Uid)
[ "$uids" = "$want $want $want $want" ] && tap_ok "runs as nobody (uid $want)" ||
	tap_fail "runs as nobody (uid $want)" "Uid: $uids"
groups=$(status_field "$UN1" Groups)
[ -z "$groups" ] && tap_ok "no supplementary groups" ||
	tap_fail "no supplementary groups" "Groups: $groups"
fds=$(ls -l "/proc/$UN1/fd/" 2>&1)
! printf '%s' "$fds" | grep -q "leaked-file" && printf '%s' "$fds" | grep -q "tun" &&
	tap_ok "inherited descriptor closed" ||
	tap_fail "inherited descriptor closed" "$(ls -l "/proc/$UN1/fd/")"
tap_diag "$(grep "ready on" "$LOG")"

# New flows, all opened after the sandbox is in place
out=$(udhcpc_ns 2>&1)
line=$(printf '%s\n' "$out" | grep '^DHCP: bound' | tail -n 1)
case "$line" in
*"ip=10.0.2.15 "*) tap_ok "DHCP lease under the sandbox" ;;
*) tap_fail "DHCP lease under the sandbox" "$out" "$(tail -n 20 "$LOG")" ;;
esac
tap_check "ping the gateway under the sandbox" ns_exec ping -c 2 -i 0.2 -W 2 10.0.2.2
tap_check "UDP round trips to the host loopback under the sandbox" \
	ns_exec python3 "$CLIENT" udp 10.0.2.2 "$UDP_PORT"
out=$(ns_exec python3 "$CLIENT" tcp 10.0.2.2 "$TCP_PORT" 2>&1)
st=$?
usernat_stats "$UN1" "$LOG"
if [ $st -eq 0 ]; then
	tap_ok "TCP connection to the host loopback under the sandbox"
elif [ "$(usernat_stat "$LOG" drop_tcp_nat)" -gt 0 ]; then
	tap_skip "TCP connection to the host loopback under the sandbox" \
		"TCP NAT not available yet (drop_tcp_nat $(usernat_stat "$LOG" drop_tcp_nat)): $out"
else
	tap_fail "TCP connection to the host loopback under the sandbox" "$out" \
		"$(tail -n 20 "$LOG")"
fi
if [ -x "$CTL" ]; then
	out=$("$CTL" -c "$CTLSOCK" stats 2>&1)
	printf '%s' "$out" | grep -q '"ok":true' &&
		tap_ok "control client served under the sandbox" ||
		tap_fail "control client served under the sandbox" "$out"
else
	tap_skip "control client served under the sandbox" "usernatctl not built"
fi
kill -0 "$UN1" 2>/dev/null && tap_ok "usernat alive after the traffic" ||
	tap_fail "usernat alive after the traffic" "$(tail -n 20 "$LOG")"

# The forbidden call: SIGSYS, exit status 128 + 31
kill -USR2 "$UN1"
exit_status "$UN1" 10
st=$ST
[ "$st" = 159 ] && tap_ok "mount() kills the sandboxed daemon (SIGSYS)" ||
	tap_fail "mount() kills the sandboxed daemon (SIGSYS)" "exit status $st" \
		"$(tail -n 5 "$LOG")"
grep -q "sandbox test: mount returned" "$LOG" &&
	tap_fail "the forbidden call never returned" "$(grep 'sandbox test' "$LOG")" ||
	tap_ok "the forbidden call never returned"
if dmesg 2>/dev/null | grep "type=1326" | grep -q "pid=$UN1 "; then
	tap_diag "kernel: $(dmesg | grep "type=1326" | grep "pid=$UN1 " | tail -n 1)"
fi

# --- phase 2: the argument filter, log-only mode, no sandbox -------------
# start_sock TAG CALL EXTRA...: a daemon on a stream socket, the hook set
# to CALL; its log is $NS_TMP/TAG.log
start_sock() {
	local tag=$1
	export USERNAT_TEST_FORBIDDEN_SYSCALL=$2
	shift 2
	usernat_start "$NS_TMP/$tag.log" --socket "$NS_TMP/$tag.sock" \
		--no-control "$@"
	unset USERNAT_TEST_FORBIDDEN_SYSCALL
	wait_for_log "$NS_TMP/$tag.log" "ready on" 10 ||
		tap_bail "usernat not ready: $(cat "$NS_TMP/$tag.log")"
}
start_sock netlink netlink
UN2=$UN_PID
kill -USR2 "$UN2"
exit_status "$UN2" 10
st=$ST
[ "$st" = 159 ] && tap_ok "socket(AF_NETLINK) kills the sandboxed daemon (SIGSYS)" ||
	tap_fail "socket(AF_NETLINK) kills the sandboxed daemon" "exit status $st" \
		"$(cat "$NS_TMP/netlink.log")"

start_sock log mount --sandbox-log
UN3=$UN_PID
[ "$(status_field "$UN3" Seccomp)" = 2 ] && tap_ok "--sandbox-log: filter loaded" ||
	tap_fail "--sandbox-log: filter loaded" "$(status_field "$UN3" Seccomp)"
kill -USR2 "$UN3"
wait_for_log "$NS_TMP/log.log" "sandbox test: mount returned" 5
kill -0 "$UN3" 2>/dev/null && grep -q "sandbox test: mount returned" "$NS_TMP/log.log" &&
	tap_ok "--sandbox-log: the forbidden call is logged, not fatal" ||
	tap_fail "--sandbox-log: the forbidden call is logged, not fatal" \
		"$(cat "$NS_TMP/log.log")"

start_sock nosb mount --no-sandbox
UN4=$UN_PID
[ "$(status_field "$UN4" Seccomp)" = 0 ] && [ "$(status_field "$UN4" NoNewPrivs)" = 0 ] &&
	tap_ok "--no-sandbox: no filter, no no_new_privs" ||
	tap_fail "--no-sandbox: no filter" "$(grep -E 'Seccomp|NoNewPrivs' "/proc/$UN4/status")"
kill -USR2 "$UN4"
wait_for_log "$NS_TMP/nosb.log" "sandbox test: mount returned" 5 &&
	kill -0 "$UN4" 2>/dev/null && tap_ok "--no-sandbox: the call just fails" ||
	tap_fail "--no-sandbox: the call just fails" "$(cat "$NS_TMP/nosb.log")"

# --- phase 3: root without --runas or --allow-root -----------------------
out=$("$USERNAT" --socket "$NS_TMP/root.sock" --no-control 2>&1)
st=$?
[ "$st" = 2 ] && printf '%s' "$out" | grep -q "refusing to serve guests as root" &&
	tap_ok "root without --runas or --allow-root: refused, status 2" ||
	tap_fail "root without --runas or --allow-root: refused, status 2" "status $st: $out"
[ ! -e "$NS_TMP/root.sock" ] && tap_ok "refused daemon removed its socket" ||
	tap_fail "refused daemon removed its socket"
out=$("$USERNAT" --socket "$NS_TMP/x.sock" --runas no-such-user-here 2>&1)
st=$?
[ "$st" = 2 ] && printf '%s' "$out" | grep -q "no user" &&
	tap_ok "--runas with an unknown user: status 2" ||
	tap_fail "--runas with an unknown user: status 2" "status $st: $out"

# --- phase 4: --restrict ---------------------------------------------------
ns_setup sandbox || tap_bail "cannot set up the second namespace"
LOG5=$NS_TMP/usernat.log
usernat_start "$LOG5" --vde "tap://$TAP" --restrict --runas nobody --no-control
UN5=$UN_PID
wait_for_tap_attached 10 "$UN5" || tap_bail "usernat did not open $TAP: $(cat "$LOG5")"
ns_move_tap || tap_bail "cannot move tap"
out=$(udhcpc_ns 2>&1)
printf '%s\n' "$out" | grep -q '^DHCP: bound.*ip=10.0.2.15 ' &&
	tap_ok "--restrict: DHCP still served" ||
	tap_fail "--restrict: DHCP still served" "$out"
tap_check "--restrict: the gateway still answers pings" \
	ns_exec ping -c 2 -i 0.2 -W 2 10.0.2.2
out=$(ns_exec python3 "$CLIENT" udp 10.0.2.2 "$UDP_PORT" 2>&1)
case "$out" in
*EHOSTUNREACH*) tap_ok "--restrict: UDP flow refused (ICMP admin prohibited)" ;;
*) tap_fail "--restrict: UDP flow refused (ICMP admin prohibited)" "$out" ;;
esac
usernat_stats "$UN5" "$LOG5"
[ "$(usernat_stat "$LOG5" drop_policy)" -ge 1 ] && tap_ok "--restrict: drop_policy counted" ||
	tap_fail "--restrict: drop_policy counted" "$(grep ' stat ' "$LOG5")"
grep -q "policy: refused UDP" "$LOG5" && tap_ok "--restrict: refusal logged" ||
	tap_fail "--restrict: refusal logged" "$(cat "$LOG5")"
kill -0 "$UN5" && tap_ok "--restrict: usernat still running" ||
	tap_fail "--restrict: usernat still running"
tap_done
