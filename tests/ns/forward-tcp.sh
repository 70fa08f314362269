#!/bin/bash
# TCP port forwards: the host connects to a forwarded port and exchanges
# 20 MB (sha256 checked) with an echo server in the guest (the namespace's
# kernel); a forward added at run time works at once; after its removal new
# connections are refused while an established one goes on; the control
# socket lists the inbound flows.
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd busybox python3
. "$TOP_SRCDIR/tests/lib/netns.sh"
CTL=$TOP_BUILDDIR/usernatctl
ECHO=$TOP_SRCDIR/tests/lib/tcp-echo.py

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
ns_setup fwdtcp || tap_bail "cannot set up namespace"
P1=$(free_port) P2=$(free_port)
C=$NS_TMP/ctl LOG=$NS_TMP/usernat.log
usernat_start "$LOG" --vde "tap://$TAP" --control "$C" --forward "tcp:127.0.0.1:$P1-:8080"
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP: $(cat "$LOG")"
ns_move_tap || tap_bail "cannot move tap"
out=$(udhcpc_ns 2>&1)
case "$out" in *"ip=10.0.2.15 "*) ;; *) tap_bail "no lease: $out" ;; esac
ns_exec python3 "$ECHO" server 8080 &
ns_bg_pid_add $!
sleep 0.5

out=$(python3 "$ECHO" client 127.0.0.1 "$P1" 20 2>&1)
[ $? -eq 0 ] && tap_ok "20 MB through a forward given at start: $out" ||
	tap_fail "20 MB through a forward given at start" "$out"

"$CTL" -c "$C" forward-add "tcp:127.0.0.1:$P2-10.0.2.15:8080" >/dev/null &&
	tap_ok "forward-add at run time" || tap_fail "forward-add at run time"
out=$(python3 "$ECHO" client 127.0.0.1 "$P2" 4 2>&1)
[ $? -eq 0 ] && tap_ok "the new forward works at once: $out" ||
	tap_fail "the new forward works at once" "$out"

mkfifo "$NS_TMP/go"
python3 "$ECHO" hold 127.0.0.1 "$P2" "$NS_TMP/go" >"$NS_TMP/hold.out" 2>&1 &
HOLD=$!
ns_bg_pid_add $HOLD
wait_for_log "$NS_TMP/hold.out" "first round trip ok" 10 ||
	tap_fail "established connection before removal" "$(cat "$NS_TMP/hold.out")"
out=$("$CTL" -c "$C" flows)
printf '%s' "$out" | grep -q '"proto":"tcp","state":"[a-z]*","inbound":true' &&
	tap_ok "flows lists the inbound TCP connection" || tap_fail "flows lists the inbound TCP connection" "$out"
"$CTL" -c "$C" forward-remove "tcp:127.0.0.1:$P2-10.0.2.15:8080" >/dev/null &&
	tap_ok "forward-remove" || tap_fail "forward-remove"
out=$(python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$P2),timeout=3)" 2>&1)
case "$out" in *"refused"*) tap_ok "new connections to the removed forward are refused" ;;
*) tap_fail "new connections to the removed forward are refused" "$out" ;; esac
echo go >"$NS_TMP/go"
wait $HOLD
st=$?
[ $st -eq 0 ] && tap_ok "the established connection goes on after the removal" ||
	tap_fail "the established connection goes on after the removal" "$(cat "$NS_TMP/hold.out")"
out=$(python3 "$ECHO" client 127.0.0.1 "$P1" 1 2>&1)
[ $? -eq 0 ] && tap_ok "the first forward still works" || tap_fail "the first forward still works" "$out"
kill -0 "$UN_PID" && tap_ok "usernat alive" || tap_fail "usernat alive"
tap_done
