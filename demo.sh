#!/bin/bash
# Try usernat: install what is needed, build, start usernat, and boot a tiny
# guest (a Debian kernel and busybox, built once and cached) through it.  The
# guest gets its address by DHCP and pings the gateway, and prints what it
# does; usernat's own log follows.
set -u
top=$(cd "$(dirname "$0")" && pwd)
cd "$top"
"$top/scripts/install-deps.sh" || exit 1
if [ ! -x _build/usernat ]; then
	echo "== building"
	autoreconf -fi >/dev/null 2>&1 && mkdir -p _build && cd _build &&
		../configure -q >/dev/null && make -j2 >/dev/null || { echo "build failed"; exit 1; }
	cd "$top"
fi
echo "== preparing the tiny guest (first time: downloads a Debian kernel)"
tests/guest/mkguest.sh >/dev/null || exit 1

tmp=$(mktemp -d)
trap 'kill $un 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
# as root, usernat switches to an unprivileged user once its socket is open
runas=()
[ "$(id -u)" -ne 0 ] || runas=(--runas nobody)
echo "== starting: usernat --socket $tmp/usernat.sock ${runas[*]}"
_build/usernat --socket "$tmp/usernat.sock" "${runas[@]}" >"$tmp/usernat.log" 2>&1 &
un=$!
for i in $(seq 50); do grep -q '^  -netdev' "$tmp/usernat.log" && break; sleep 0.1; done
cat "$tmp/usernat.log"
args=$(grep '^  -netdev' "$tmp/usernat.log")
cat >"$tmp/guest.sh" <<'GUEST'
echo "guest$ udhcpc -i eth0"
udhcpc -i eth0 -n -q -t 5 -T 1 -s /etc/udhcpc.script
echo "guest$ ip -4 addr show eth0; ip route"
ip -4 addr show eth0 | grep inet; ip route
echo "guest$ ping -c 3 10.0.2.2"
ping -c 3 10.0.2.2
GUEST
echo "== booting the guest with qemu-system-x86_64 -accel tcg ... $args"
# shellcheck disable=SC2086
tests/guest/run-guest.sh --log "$tmp/serial.log" --test "$tmp/guest.sh" -- $args
sed -n '/GUEST: booted/,/GUEST: done/p' "$tmp/serial.log" | grep -v '^GUEST:'
echo "== usernat's log"
kill -USR1 $un; sleep 0.3
grep -v '^Connect\|^  -netdev' "$tmp/usernat.log" | grep -v ' stat [a-z_]* 0$'
grep -q "bytes from 10.0.2.2" "$tmp/serial.log" && echo "== the guest is online through usernat" ||
	{ echo "== something went wrong: full serial log in the output above"; cat "$tmp/serial.log"; exit 1; }
