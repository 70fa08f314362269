#!/bin/bash
# Real guest, port forwards, in one boot:
# - `usernat --forward tcp:127.0.0.1:PORT-:8080` (guest address omitted: the
#   one leased guest): the host exchanges 4 MB (sha256 checked) with an echo
#   listener in the guest (busybox nc -ll -e, one cat per connection);
# - `--forward udp:127.0.0.1:UPORT-:7777`: datagrams of several sizes come
#   back as the guest's echo server (tests/guest/udp-echo.c, built static:
#   the guest's busybox has no UDP server) answers them, "ECHO " + the same
#   bytes, from UPORT; the guest saw them from the gateway address;
# - forwards added at run time through the control socket work at once (TCP
#   and UDP); after forward-remove new TCP connections are refused (UDP
#   gets no answer) while an established connection goes on;
# - a forward added at run time to the guest's IPv6 address (SLAAC, read
#   from its console) reaches the same listener over IPv6.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP_SRCDIR/tests/lib/guest.sh"
need_cmd python3
guest_prepare

TMP=$(mktemp -d)
trap 'kill "${UN_PIDS[@]}" $QPID $HOLD 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
CTL=$TOP_BUILDDIR/usernatctl
[ -x "$CTL" ] || tap_bail "usernatctl not built"
CC=${CC:-cc}
"$CC" -static -O2 -o "$TMP/udp-echo" "$TOP_SRCDIR/tests/guest/udp-echo.c" \
	>"$TMP/cc.log" 2>&1 ||
	tap_skip_all "cannot build a static udp-echo for the guest: $(tail -n 1 "$TMP/cc.log")"
read -r PORT PORT2 < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
read -r PORT6 < <(python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
read -r UPORT UPORT2 < <(python3 -c '
import socket
ss = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
SOCK=$TMP/un.sock C=$TMP/ctl
usernat_start "$TMP/usernat.log" --socket "$SOCK" --control "$C" \
	--forward "tcp:127.0.0.1:$PORT-:8080" --forward "udp:127.0.0.1:$UPORT-:7777"
for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done

# nc -e runs a program per connection: cat, then a marker for its end
printf '%s\n' '#!/bin/sh' 'cat' 'echo "GUEST: echo connection ended" >/dev/console' \
	>"$TMP/echo.sh"
chmod 755 "$TMP/echo.sh"
guest_script "$TMP/t.sh" "$GUEST_LEASE_PING" '
echo 1 >/proc/sys/net/ipv6/conf/eth0/accept_ra
echo 1 >/proc/sys/net/ipv6/conf/eth0/autoconf
i=0
while [ $i -lt 60 ]; do
	a=$(ip -6 addr show dev eth0 scope global)
	case "$a" in *"inet6 fd00::"*) case "$a" in *tentative*) ;; *) break ;; esac ;; esac
	sleep 0.5
	i=$((i + 1))
done
ping6 -c 1 -W 2 fd00::2 >/dev/null 2>&1
echo "GUEST: addr6 $(ip -6 addr show dev eth0 scope global | grep -o "fd00::[0-9a-f:]*")"
nc -ll -p 8080 -e /echo.sh &
NC=$!
echo "GUEST: listening"
/udp-echo 7777
echo "GUEST: udp echo done"
kill $NC'
"$GUEST_DIR/run-guest.sh" --timeout 240 --log "$TMP/serial.log" --test "$TMP/t.sh" \
	--file "$TMP/echo.sh:/echo.sh" --file "$TMP/udp-echo:/udp-echo" -- \
	-netdev "stream,id=n0,server=off,addr.type=unix,addr.path=$SOCK" \
	-device virtio-net-pci,netdev=n0 &
QPID=$!
for i in $(seq 900); do grep -q "GUEST: listening" "$TMP/serial.log" 2>/dev/null && break; sleep 0.1; done
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

# UDP client: PORT [N]: N datagrams of several sizes to 127.0.0.1:PORT,
# each answered "ECHO " + the same bytes from there (2 s each, as TCG is
# slow); exit 1 on no answer
cat >"$TMP/udp.py" <<'EOF'
import os, socket, sys
port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 6
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.bind(("127.0.0.1", 0))
c.settimeout(3)
sizes = [1, 100, 1000, 1400, 0, 512]
for i in range(n):
    data = os.urandom(sizes[i % len(sizes)])
    c.sendto(data, ("127.0.0.1", port))
    try:
        got, src = c.recvfrom(65535)
    except socket.timeout:
        sys.exit("no answer to datagram %d (%d bytes)" % (i, len(data)))
    if got != b"ECHO " + data:
        sys.exit("datagram %d: wrong answer %r..." % (i, got[:16]))
    if src != ("127.0.0.1", port):
        sys.exit("answer from %s" % (src,))
print("%d datagrams echoed by the guest" % n)
EOF
ok=1
for try in 1 2 3 4 5; do
	if out=$(python3 "$TMP/udp.py" "$UPORT" 2>&1); then
		ok=0; break
	fi
	sleep 1
done
[ $ok -eq 0 ] && tap_ok "UDP forward round trips, content checked: $out" ||
	tap_fail "UDP forward round trips, content checked" "$out" "$(tail -5 "$TMP/usernat.log")"
guest_check "$TMP/serial.log" "the guest saw the datagrams from the gateway" \
	"GUEST: udp from 10.0.2.2 "

# Run-time forwards work at once
out=$("$CTL" -c "$C" forward-add "tcp:127.0.0.1:$PORT2-10.0.2.15:8080" 2>&1)
case "$out" in *'"ok":true'*) tap_ok "forward-add TCP at run time" ;;
*) tap_fail "forward-add TCP at run time" "$out" ;; esac
out=$(python3 "$TOP_SRCDIR/tests/lib/tcp-echo.py" client 127.0.0.1 "$PORT2" 1 2>&1)
tap_result $? "the new TCP forward works at once: $out" "$out"
out=$("$CTL" -c "$C" forward-add "udp:127.0.0.1:$UPORT2-:7777" 2>&1)
case "$out" in *'"ok":true'*) tap_ok "forward-add UDP at run time" ;;
*) tap_fail "forward-add UDP at run time" "$out" ;; esac
out=$(python3 "$TMP/udp.py" "$UPORT2" 3 2>&1)
tap_result $? "the new UDP forward works at once: $out" "$out"

# A forward to the guest's IPv6 (SLAAC) address, from a loopback client:
# the guest's listener (nc listens on [::]) is reached over IPv6
ADDR6=$(sed -n 's/.*GUEST: addr6 \(fd00::[0-9a-f:]*\).*/\1/p' "$TMP/serial.log" | head -n 1)
if [ -z "$ADDR6" ]; then
	tap_fail "the guest has a SLAAC address" "$(grep 'GUEST: addr6' "$TMP/serial.log")"
else
	out=$("$CTL" -c "$C" forward-add "tcp:127.0.0.1:$PORT6-[$ADDR6]:8080" 2>&1)
	case "$out" in *'"ok":true'*) tap_ok "forward-add TCP to the guest's IPv6 address $ADDR6" ;;
	*) tap_fail "forward-add TCP to the guest's IPv6 address $ADDR6" "$out" ;; esac
	out=$(python3 "$TOP_SRCDIR/tests/lib/tcp-echo.py" client 127.0.0.1 "$PORT6" 2 2>&1)
	tap_result $? "2 MB through the forward to [$ADDR6]:8080: $out" "$out" "$(tail -5 "$TMP/usernat.log")"
fi

# Removal: new connections refused, an established one goes on
mkfifo "$TMP/go"
python3 "$TOP_SRCDIR/tests/lib/tcp-echo.py" hold 127.0.0.1 "$PORT2" "$TMP/go" >"$TMP/hold.out" 2>&1 &
HOLD=$!
for i in $(seq 300); do grep -q "first round trip ok" "$TMP/hold.out" && break; sleep 0.1; done
grep -q "first round trip ok" "$TMP/hold.out" && tap_ok "a connection established before the removal" ||
	tap_fail "a connection established before the removal" "$(cat "$TMP/hold.out")"
out=$("$CTL" -c "$C" forward-remove "tcp:127.0.0.1:$PORT2-10.0.2.15:8080" 2>&1)
case "$out" in *'"ok":true'*) tap_ok "forward-remove TCP" ;;
*) tap_fail "forward-remove TCP" "$out" ;; esac
out=$(python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT2), timeout=3)" 2>&1)
case "$out" in *refused*) tap_ok "new connections to the removed forward are refused" ;;
*) tap_fail "new connections to the removed forward are refused" "$out" ;; esac
echo go >"$TMP/go"
wait $HOLD
st=$?
HOLD=
[ $st -eq 0 ] && tap_ok "the established connection goes on after the removal: $(tail -n 1 "$TMP/hold.out")" ||
	tap_fail "the established connection goes on after the removal" "$(cat "$TMP/hold.out")"
"$CTL" -c "$C" forward-remove "udp:127.0.0.1:$UPORT2-:7777" >/dev/null 2>&1
out=$(python3 "$TMP/udp.py" "$UPORT2" 1 2>&1)
case "$out" in *"no answer"*) tap_ok "the removed UDP forward gets no answer" ;;
*) tap_fail "the removed UDP forward gets no answer" "$out" ;; esac
out=$(python3 "$TOP_SRCDIR/tests/lib/tcp-echo.py" client 127.0.0.1 "$PORT" 1 2>&1)
tap_result $? "the start-up TCP forward still works" "$out"

# End the guest: QUIT ends its UDP echo, then the script
python3 -c "
import socket
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(5)
c.sendto(b'QUIT', ('127.0.0.1', $UPORT))
print(c.recv(16))" >/dev/null 2>&1
wait $QPID
QPID=
guest_check "$TMP/serial.log" "the guest's UDP echo ended on QUIT" "GUEST: udp echo done"
n=$(grep -c "GUEST: echo connection ended" "$TMP/serial.log")
[ "$n" -ge 5 ] && tap_ok "the guest saw $n echo connections end" ||
	tap_fail "the guest saw the echo connections end" "only $n; serial log tail:" \
		"$(tail -n 15 "$TMP/serial.log")"
tap_done
