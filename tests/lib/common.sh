# common.sh - paths and usernat helpers for shell tests (bash).
# Works under `make check` (which exports USERNAT, TOP_SRCDIR, TOP_BUILDDIR)
# and by hand from the source tree: bash tests/ns/dhcp-ping.sh

_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$_here/../.." && pwd)}
TOP_BUILDDIR=${TOP_BUILDDIR:-$TOP_SRCDIR}
USERNAT=${USERNAT:-$TOP_BUILDDIR/usernat}
top_srcdir=$TOP_SRCDIR
export TOP_SRCDIR TOP_BUILDDIR USERNAT

. "$TOP_SRCDIR/tests/lib/tap.sh"

[ -x "$USERNAT" ] || tap_bail "usernat binary not found at $USERNAT (run make)"

# usernat_start LOG ARGS...: start usernat in the background, register it for
# cleanup (needs netns.sh's ns_bg_pid_add, or UN_PIDS otherwise), and leave
# its pid in UN_PID.
# Started as root, usernat refuses to serve guests unless told to switch user
# (--runas) or to stay root (--allow-root): as root, --allow-root is added
# unless ARGS have --runas or the test set UN_NO_ALLOW_ROOT=1.  The sandbox
# (seccomp) stays on; UN_EXTRA_ARGS (e.g. "--sandbox-log") is appended to
# every start, for debugging.
UN_PIDS=()
usernat_start() {
	local log=$1 a
	local -a extra=()
	shift
	if [ "$(id -u)" -eq 0 ] && [ -z "${UN_NO_ALLOW_ROOT:-}" ]; then
		extra=(--allow-root)
		for a in "$@"; do
			case "$a" in --runas | --runas=* | -u) extra=() ;; esac
		done
	fi
	# shellcheck disable=SC2206
	extra+=(${UN_EXTRA_ARGS:-})
	"$USERNAT" "$@" "${extra[@]+"${extra[@]}"}" >"$log" 2>&1 &
	UN_PID=$!
	if declare -F ns_bg_pid_add >/dev/null; then
		ns_bg_pid_add "$UN_PID"
	else
		UN_PIDS+=("$UN_PID")
	fi
}

# usernat_stats PID LOG: ask for counters (SIGUSR1) and wait for them in LOG
usernat_stats() {
	local pid=$1 log=$2 n
	n=$(grep -c 'stat tx_drops' "$log" 2>/dev/null)
	kill -USR1 "$pid" || return 1
	local deadline=$((SECONDS + 5))
	while [ "$(grep -c 'stat tx_drops' "$log" 2>/dev/null)" = "$n" ]; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# usernat_stat LOG NAME: the last logged value of counter NAME (0 if none)
usernat_stat() {
	local v
	v=$(grep "stat $2 " "$1" | tail -n 1 | awk '{ print $NF }')
	echo "${v:-0}"
}

# udhcpc_ns [ARGS...]: run busybox udhcpc on $TAP inside $NS, output to stdout
udhcpc_ns() {
	ns_exec env RESOLV_CONF="$RESOLV_CONF" busybox udhcpc -i "$TAP" -n -q \
		-t 5 -T 1 -s "$TOP_SRCDIR/tests/guest/udhcpc.script" "$@"
}

# plugin_lock shared|exclusive: hold the build tree's plugin lock (fd 8)
# until the test exits.  `make install` (tests/plugin/installed.sh) relinks
# .libs/libvdeplug_usernat.so in place for a moment (libtool's relink of a
# module that links an uninstalled library), so a test loading the plugin
# from the build tree at that moment gets "Protocol not supported" from
# libvdeplug: tests that load it hold the lock shared, installed.sh holds it
# exclusive.
plugin_lock() {
	local how=-s
	[ "$1" = exclusive ] && how=-x
	exec 8>>"$TOP_BUILDDIR/tests/.plugin.lock" || return 1
	flock "$how" 8
}
