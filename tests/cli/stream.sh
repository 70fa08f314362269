#!/bin/bash
# The -netdev stream transport, driven by a python client speaking QEMU's
# framing: DHCP and ARP answered, an oversized length closes only that
# connection, a client that goes away and comes back is served again, two
# clients see each other's broadcasts (hub), and a second daemon on the same
# path is refused.  Needs no root.
. "$(dirname "$0")/../lib/common.sh"
need_cmd python3

TMP=$(mktemp -d)
SOCK=$TMP/un.sock
LOG=$TMP/usernat.log
cleanup() {
	for p in "${UN_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
usernat_start "$LOG" --socket "$SOCK"
for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || tap_bail "usernat did not listen: $(cat "$LOG")"
grep -q "addr.path=$SOCK" "$LOG" && tap_ok "prints the QEMU arguments" ||
	tap_fail "prints the QEMU arguments" "$(cat "$LOG")"

CLIENT="$TOP_SRCDIR/tests/cli/stream-client.py"
tap_check "DHCP over the stream socket" python3 "$CLIENT" "$SOCK" dhcp
tap_check "ARP for the gateway" python3 "$CLIENT" "$SOCK" arp
tap_check "oversized frame length closes the connection" python3 "$CLIENT" "$SOCK" oversize
kill -0 "${UN_PIDS[0]}" && tap_ok "daemon survives the bad connection" ||
	tap_fail "daemon survives the bad connection"
grep -q "over maximum" "$LOG" && tap_ok "bad length logged" ||
	tap_fail "bad length logged" "$(cat "$LOG")"
tap_check "a new connection is served after that" python3 "$CLIENT" "$SOCK" dhcp
tap_check "split and batched frames" python3 "$CLIENT" "$SOCK" fragments
tap_check "two clients: broadcast reaches the other one" python3 "$CLIENT" "$SOCK" hub
tap_check "zero-length and runt frames are ignored" python3 "$CLIENT" "$SOCK" runts

out=$("$USERNAT" --socket "$SOCK" 2>&1)
st=$?
[ "$st" -ne 0 ] && printf '%s' "$out" | grep -q "in use" &&
	tap_ok "second daemon on the same path refused" ||
	tap_fail "second daemon on the same path refused" "$st: $out"
kill -0 "${UN_PIDS[0]}" && tap_ok "first daemon unaffected" || tap_fail "first daemon unaffected"

# A socket file left by a killed daemon is replaced
kill -9 "${UN_PIDS[0]}"; wait "${UN_PIDS[0]}" 2>/dev/null
UN_PIDS=()
usernat_start "$LOG.2" --socket "$SOCK"
for i in $(seq 50); do grep -q "ready" "$LOG.2" && break; sleep 0.1; done
tap_check "stale socket of a killed daemon replaced" python3 "$CLIENT" "$SOCK" dhcp
tap_done
