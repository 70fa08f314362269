# guest.sh - helpers for real-guest tests (bash): a tiny Debian-kernel guest
# booted under QEMU TCG, checked from its serial log.

GUEST_DIR=$TOP_SRCDIR/tests/guest
need_cmd qemu-system-x86_64 cpio busybox

# guest_prepare: build (or reuse) the cached guest image; skip all if we can't
guest_prepare() {
	local out
	if ! out=$("$GUEST_DIR/mkguest.sh" 2>&1); then
		tap_skip_all "cannot build the test guest: $(printf '%s' "$out" | tail -n 1)"
	fi
}

# guest_script FILE LINES...: write a test script for the guest
guest_script() {
	local f=$1
	shift
	printf '%s\n' "#!/bin/sh" "$@" >"$f"
}

# The usual guest job: get a lease, ping the gateway, print markers
GUEST_LEASE_PING='
udhcpc -i eth0 -n -q -t 5 -T 1 -s /etc/udhcpc.script || echo "GUEST: no lease"
if ping -c 3 -W 2 10.0.2.2 >/tmp/ping.out 2>&1; then echo "GUEST: ping gw ok"; else echo "GUEST: ping gw failed"; cat /tmp/ping.out; fi'

# guest_run LOG SCRIPT [run-guest options] -- QEMU args: boot, wait
guest_run() {
	local log=$1 script=$2
	shift 2
	"$GUEST_DIR/run-guest.sh" --log "$log" --test "$script" "$@"
}

# guest_check LOG DESC REGEX: ok if the serial log has a line matching REGEX
guest_check() {
	local log=$1 desc=$2 re=$3
	if grep -Eq -- "$re" "$log"; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "no line matching '$re' in the serial log; its tail:" \
			"$(tail -n 25 "$log" 2>/dev/null)"
	fi
}

# guest_mac N: a fixed MAC for guest number N
guest_mac() {
	printf '52:54:00:00:10:%02x' "$1"
}
