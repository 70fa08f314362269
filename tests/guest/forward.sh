#!/bin/bash
# Real guest, port forward: `usernat --forward tcp:127.0.0.1:PORT-:8080`
# (guest address omitted: the one leased guest); the host connects to PORT
# and exchanges 4 MB (sha256 checked) with an echo listener in the guest.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP_SRCDIR/tests/lib/guest.sh"
need_cmd python3
guest_prepare

TMP=$(mktemp -d)
trap 'kill "${UN_PIDS[@]}" $QPID 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SOCK=$TMP/un.sock
usernat_start "$TMP/usernat.log" --socket "$SOCK" --no-control --forward "tcp:127.0.0.1:$PORT-:8080"
for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
guest_script "$TMP/t.sh" "$GUEST_LEASE_PING" '
echo "GUEST: listening"
nc -l -p 8080 -e /bin/cat
echo "GUEST: listener done"'
"$GUEST_DIR/run-guest.sh" --timeout 180 --log "$TMP/serial.log" --test "$TMP/t.sh" -- \
	-netdev "stream,id=n0,server=off,addr.type=unix,addr.path=$SOCK" \
	-device virtio-net-pci,netdev=n0 &
QPID=$!
for i in $(seq 600); do grep -q "GUEST: listening" "$TMP/serial.log" 2>/dev/null && break; sleep 0.1; done
guest_check "$TMP/serial.log" "guest got its lease" "DHCP: bound ip=10.0.2.15 "
ok=1
for try in 1 2 3 4 5 6 7 8 9 10; do
	if out=$(python3 "$TOP_SRCDIR/tests/lib/tcp-echo.py" client 127.0.0.1 "$PORT" 4 2>&1); then
		ok=0; break
	fi
	sleep 1	# the listener may not be up yet
done
[ $ok -eq 0 ] && tap_ok "4 MB through the forward to the guest: $out" ||
	tap_fail "4 MB through the forward to the guest" "$out" "$(tail -5 "$TMP/usernat.log")"
wait $QPID
QPID=
guest_check "$TMP/serial.log" "guest's listener saw the connection end" "GUEST: listener done"
tap_done
