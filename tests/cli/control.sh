#!/bin/bash
# The control socket and usernatctl: every command, malformed and oversized
# requests, a half-sent request, and a client that never reads its replies;
# none of it disturbs the daemon or its traffic.  Needs no root.
. "$(dirname "$0")/../lib/common.sh"
need_cmd python3
CTL=${USERNATCTL:-$TOP_BUILDDIR/usernatctl}
[ -x "$CTL" ] || tap_bail "usernatctl not built"

TMP=$(mktemp -d)
trap 'for p in "${UN_PIDS[@]}"; do kill $p; done 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
SOCK=$TMP/un.sock C=$TMP/un.ctl
usernat_start "$TMP/usernat.log" --socket "$SOCK" --control "$C"
for i in $(seq 50); do [ -S "$C" ] && break; sleep 0.1; done
[ -S "$C" ] || tap_bail "no control socket: $(cat "$TMP/usernat.log")"
mode=$(stat -c %a "$C")
[ "$mode" = 600 ] && tap_ok "control socket mode 0600" || tap_fail "control socket mode 0600" "mode $mode"

python3 "$TOP_SRCDIR/tests/cli/stream-client.py" "$SOCK" dhcp-ack >/dev/null 2>&1
ctl() { "$CTL" -c "$C" "$@"; }
out=$(ctl stats); tap_diag "$(printf '%s' "$out" | cut -c1-150)"
printf '%s' "$out" | grep -q '"ok":true,"counters":{.*"frames_in":[1-9]' &&
	tap_ok "stats" || tap_fail "stats" "$out"
out=$(ctl leases)
printf '%s' "$out" | grep -q '"mac":"52:54:00:aa:bb:01","ip":"10.0.2.15"' &&
	tap_ok "leases lists the stream client's lease" || tap_fail "leases" "$out"
ctl log-level debug | grep -q '"ok":true' && tap_ok "log-level debug" || tap_fail "log-level debug"
python3 "$TOP_SRCDIR/tests/cli/stream-client.py" "$SOCK" dhcp >/dev/null 2>&1
ctl log-level info >/dev/null
grep -q "debug:" "$TMP/usernat.log" && tap_ok "debug lines appear after log-level debug" ||
	tap_fail "debug lines appear after log-level debug" "$(tail -5 "$TMP/usernat.log")"
out=$(ctl log-level shouty); [ $? -ne 0 ] && printf '%s' "$out" | grep -q '"ok":false' &&
	tap_ok "bad log level refused" || tap_fail "bad log level refused" "$out"
ctl pcap-start "$TMP/c.pcap" 1M | grep -q '"ok":true' && tap_ok "pcap-start" || tap_fail "pcap-start"
python3 "$TOP_SRCDIR/tests/cli/stream-client.py" "$SOCK" arp >/dev/null 2>&1
ctl pcap-stop | grep -q '"ok":true' && tap_ok "pcap-stop" || tap_fail "pcap-stop"
if command -v tshark >/dev/null; then
	n=$(tshark -r "$TMP/c.pcap" -Y arp 2>/dev/null | wc -l)
	[ "$n" -ge 2 ] && tap_ok "capture started at run time has the ARP exchange" ||
		tap_fail "capture started at run time has the ARP exchange" "$n frames"
else
	tap_skip "capture readable" "no tshark"
fi
out=$(ctl pcap-start /nonexistent/dir/x.pcap); [ $? -ne 0 ] && tap_ok "pcap-start to a bad path: error reply" ||
	tap_fail "pcap-start to a bad path: error reply" "$out"
ctl version | grep -q '"version"' && tap_ok "version" || tap_fail "version"
ctl help | grep -q 'commands' && tap_ok "help" || tap_fail "help"

out=$(python3 "$TOP_SRCDIR/tests/cli/control-client.py" "$C" 2>&1)
st=$?
tap_diag "$out"
[ $st -eq 0 ] && tap_ok "malformed, oversized, half-sent requests and a non-reading client" ||
	tap_fail "malformed, oversized, half-sent requests and a non-reading client" "$out"
kill -0 "${UN_PIDS[0]}" && tap_ok "daemon alive" || tap_fail "daemon alive"
python3 "$TOP_SRCDIR/tests/cli/stream-client.py" "$SOCK" arp && tap_ok "traffic still served" ||
	tap_fail "traffic still served"
out=$(ctl stats) && tap_ok "control still answers" || tap_fail "control still answers" "$out"
tap_done
