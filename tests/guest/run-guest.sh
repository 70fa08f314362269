#!/bin/bash
# run-guest.sh — boot usernat's test guest under QEMU (TCG) and run a script in it.
#
# Usage:
#   run-guest.sh [--timeout SECS] [--mem MB] [--append KARGS] [--file SRC[:DEST]]...
#                --log FILE --test SCRIPT -- QEMU_NET_ARGS...
#
#   --log FILE      the guest's serial console is written here (CR stripped
#                   after QEMU exits, so lines end in plain \n)
#   --test SCRIPT   copied into the guest as /test.sh and run by /init with
#                   `sh /test.sh`
#   --timeout SECS  kill QEMU after SECS seconds (default 90)
#   --mem MB        guest memory (default 256)
#   --append KARGS  extra kernel command line arguments
#   --file SRC[:DEST]  also put host file SRC into the guest at DEST
#                   (default /SRC's basename); may be repeated
#   after --        QEMU network arguments, e.g.
#                   -netdev stream,id=n0,server=off,addr.type=unix,addr.path=/tmp/x.sock
#                   -device virtio-net-pci,netdev=n0
#
# Exit status: 0 when the log shows "GUEST: done" (the test script's own
# status is logged as "GUEST: test exit N" — check that too), 124 when QEMU
# was killed by the timeout, 1 otherwise (log tail printed to stderr), 2 on
# usage errors.
#
# Builds the guest with mkguest.sh on first use (see there for the cache).
# Safe to run several instances at once.

set -eu

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
PROG=run-guest.sh

usage() {
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

# die MESSAGE [STATUS]
die() {
	echo "$PROG: error: $1" >&2
	exit "${2:-1}"
}

TIMEOUT=90
MEM=256
LOG=
TEST=
APPEND=
FILES=()

while [ $# -gt 0 ]; do
	case "$1" in
		--timeout) [ $# -ge 2 ] || usage; TIMEOUT=$2; shift 2 ;;
		--timeout=*) TIMEOUT=${1#*=}; shift ;;
		--mem) [ $# -ge 2 ] || usage; MEM=$2; shift 2 ;;
		--mem=*) MEM=${1#*=}; shift ;;
		--log) [ $# -ge 2 ] || usage; LOG=$2; shift 2 ;;
		--log=*) LOG=${1#*=}; shift ;;
		--test) [ $# -ge 2 ] || usage; TEST=$2; shift 2 ;;
		--test=*) TEST=${1#*=}; shift ;;
		--append) [ $# -ge 2 ] || usage; APPEND=$2; shift 2 ;;
		--append=*) APPEND=${1#*=}; shift ;;
		--file) [ $# -ge 2 ] || usage; FILES+=("$2"); shift 2 ;;
		--file=*) FILES+=("${1#*=}"); shift ;;
		--) shift; break ;;
		-h|--help) usage ;;
		*) echo "$PROG: unknown argument: $1" >&2; usage ;;
	esac
done
# Everything left is passed to QEMU.

[ -n "$LOG" ] || { echo "$PROG: --log is required" >&2; usage; }
[ -n "$TEST" ] || { echo "$PROG: --test is required" >&2; usage; }
[ -f "$TEST" ] || die "test script not found: $TEST" 2
case "$TIMEOUT" in ''|*[!0-9]*) die "--timeout wants whole seconds" 2 ;; esac
case "$MEM" in ''|*[!0-9]*) die "--mem wants megabytes" 2 ;; esac
command -v qemu-system-x86_64 >/dev/null 2>&1 || die "qemu-system-x86_64 not found"

# Build or reuse the cached guest (fast when the cache is current).
CACHE=$(bash "$SCRIPT_DIR/mkguest.sh" | tail -n 1) || die "mkguest.sh failed"
if ! [ -s "$CACHE/vmlinuz" ] || ! [ -s "$CACHE/base.cpio.gz" ]; then
	die "no guest in $CACHE"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/run-guest.XXXXXX")
QEMU_PID=
# shellcheck disable=SC2317  # invoked from the traps
cleanup() {
	if [ -n "$QEMU_PID" ]; then
		kill "$QEMU_PID" 2>/dev/null || true
		wait "$QEMU_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Overlay initramfs with /test.sh (and any --file), appended to the base one:
# the kernel unpacks concatenated (compressed) cpio archives in order.
mkdir -p "$TMP/overlay"
install -m 755 "$TEST" "$TMP/overlay/test.sh"
for spec in "${FILES[@]+"${FILES[@]}"}"; do
	src=${spec%%:*}
	if [ "$src" = "$spec" ]; then
		dest=/$(basename "$src")
	else
		dest=${spec#*:}
	fi
	[ -f "$src" ] || die "--file: not found: $src" 2
	case "$dest" in /*) ;; *) dest=/$dest ;; esac
	mkdir -p "$TMP/overlay$(dirname "$dest")"
	cp -p "$src" "$TMP/overlay$dest"
done
(cd "$TMP/overlay" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) | gzip -1n >"$TMP/overlay.cpio.gz" ||
	die "cannot build the overlay cpio"
cat "$CACHE/base.cpio.gz" "$TMP/overlay.cpio.gz" >"$TMP/initrd.gz"

# Without any network arguments, keep QEMU from adding its default NIC.
if [ $# -eq 0 ]; then
	set -- -nic none
fi

mkdir -p "$(dirname "$LOG")"
: >"$LOG"

START=$(date +%s.%N)
set +e
# Run in the background and wait, so that our INT/TERM traps can fire and
# kill QEMU; stdin is /dev/null so nothing waits on the terminal.
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 \
	-accel tcg \
	-m "$MEM" \
	-smp 1 \
	-nographic \
	-no-reboot \
	-display none \
	-monitor none \
	-vga none \
	-global virtio-net-pci.romfile= \
	-serial "file:$LOG" \
	-kernel "$CACHE/vmlinuz" \
	-initrd "$TMP/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1${APPEND:+ $APPEND}" \
	"$@" \
	</dev/null >"$TMP/qemu.out" 2>&1 &
QEMU_PID=$!
wait "$QEMU_PID"
RC=$?
QEMU_PID=
set -e
END=$(date +%s.%N)

# The serial console turns \n into \r\n; make the log plain text.
if [ -f "$LOG" ]; then
	tr -d '\r' <"$LOG" >"$TMP/log.clean" && cat "$TMP/log.clean" >"$LOG"
fi

ELAPSED=$(awk -v a="$START" -v b="$END" 'BEGIN { printf "%.1f", b - a }')

if grep -q 'GUEST: done' "$LOG" 2>/dev/null; then
	exit 0
fi

{
	if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
		echo "$PROG: guest timed out after ${TIMEOUT}s (no 'GUEST: done')"
	else
		echo "$PROG: guest did not finish (qemu exit $RC after ${ELAPSED}s, no 'GUEST: done')"
	fi
	if [ -s "$TMP/qemu.out" ]; then
		echo "--- qemu output:"
		tail -n 20 "$TMP/qemu.out"
	fi
	echo "--- tail of $LOG:"
	tail -n 30 "$LOG" 2>/dev/null
} >&2
if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
	exit 124
fi
exit 1
