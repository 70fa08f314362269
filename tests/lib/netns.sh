# netns.sh — network namespace + tap helpers for usernat's root-only tests.
# Source it from a bash test script (after tap.sh, and after need_root or
# need_netns so that unprivileged runs are skipped cleanly).
#
# Typical flow (a tap in the root namespace gets usernat attached, then is
# moved into a private namespace that plays the guest):
#
#   ns_setup dhcp                      # NS, TAP, NS_TMP, RESOLV_CONF set
#   usernat --vde "tap://$TAP" >"$NS_TMP/usernat.log" 2>&1 &
#   ns_bg_pid_add $!
#   wait_for_tap_attached 10 || tap_bail "usernat did not open $TAP"
#   ns_move_tap                        # tap -> $NS, lo and tap up there
#   ns_exec busybox udhcpc -i "$TAP" -n -q -s "$top_srcdir/tests/guest/udhcpc.script"
#   ns_exec ping -c 1 -W 2 10.0.2.2
#
# Cleanup (an EXIT trap installed by ns_setup; INT/TERM/HUP exit through it)
# kills the registered background pids and anything left inside the
# namespace, deletes the namespace and the tap, and removes NS_TMP. A test
# needing its own exit actions should register them with ns_on_exit rather
# than replacing the trap.
#
# RESOLV_CONF is exported pointing into NS_TMP: tests/guest/udhcpc.script
# writes DNS settings there instead of the host's /etc/resolv.conf. As a
# second safety net, /etc/netns/$NS/resolv.conf exists so that `ip netns
# exec` bind-mounts it over /etc/resolv.conf for commands in the namespace.

_NS_LIST=()		# namespaces created
_NS_TAPS=()		# tap devices created
_NS_PIDS=()		# background pids to kill on exit
_NS_TMPS=()		# temp dirs to remove
_NS_HOOKS=()		# extra cleanup commands (ns_on_exit)
_NS_TRAP_SET=0
_NS_SEQ=0

# ns_cleanup: undo everything (runs from the EXIT trap; safe to call twice).
ns_cleanup() {
	set +e
	local i pid ns tap left

	for ((i = ${#_NS_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${_NS_HOOKS[i]}"
	done
	_NS_HOOKS=()

	# Registered background processes: TERM, then KILL after ~2 s.
	for pid in "${_NS_PIDS[@]+"${_NS_PIDS[@]}"}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for i in $(seq 20); do
		left=0
		for pid in "${_NS_PIDS[@]+"${_NS_PIDS[@]}"}"; do
			kill -0 "$pid" 2>/dev/null && left=1
		done
		[ "$left" = 0 ] && break
		sleep 0.1
	done
	for pid in "${_NS_PIDS[@]+"${_NS_PIDS[@]}"}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	_NS_PIDS=()

	for ns in "${_NS_LIST[@]+"${_NS_LIST[@]}"}"; do
		# Anything still running inside our own namespace was started by
		# this test (e.g. `ns_exec cmd &`).
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		for tap in "${_NS_TAPS[@]+"${_NS_TAPS[@]}"}"; do
			ip -n "$ns" link del dev "$tap" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	_NS_LIST=()

	for tap in "${_NS_TAPS[@]+"${_NS_TAPS[@]}"}"; do
		ip link del dev "$tap" 2>/dev/null
	done
	_NS_TAPS=()

	for i in "${_NS_TMPS[@]+"${_NS_TMPS[@]}"}"; do
		rm -rf "$i"
	done
	_NS_TMPS=()
	return 0
}

# _ns_remove_stale: delete namespaces/taps left behind by earlier runs
# that were SIGKILLed (names carry the pid of a process that is gone).
_ns_remove_stale() {
	local name pid
	for name in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		case "$name" in usernat-*-[0-9]*) ;; *) continue ;; esac
		pid=${name##*-}
		case "$pid" in *[!0-9]*) continue ;; esac
		[ "$pid" = $$ ] && continue
		kill -0 "$pid" 2>/dev/null && continue
		ip netns del "$name" 2>/dev/null
		rm -rf "/etc/netns/$name"
	done
	for name in $(ip -o link show type tun 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
		case "$name" in ut[0-9]*) ;; *) continue ;; esac
		pid=${name#ut}
		pid=${pid%%n*}
		case "$pid" in ''|*[!0-9]*) continue ;; esac
		[ "$pid" = $$ ] && continue
		kill -0 "$pid" 2>/dev/null && continue
		ip link del dev "$name" 2>/dev/null
	done
}

# ns_setup NAME: create namespace NS ("usernat-NAME-<pid>") and tap device
# TAP ("ut<pid>", "ut<pid>n2" for a second call, ...) in the root namespace,
# plus a temp dir NS_TMP. Exports NS, TAP, NS_TMP, RESOLV_CONF. Returns
# non-zero (after cleaning up) if anything fails.
ns_setup() {
	local name=${1:-test}
	name=${name//[^A-Za-z0-9_]/_}
	_NS_SEQ=$((_NS_SEQ + 1))

	if [ "$_NS_TRAP_SET" = 0 ]; then
		trap ns_cleanup EXIT
		trap 'exit 129' HUP
		trap 'exit 130' INT
		trap 'exit 143' TERM
		_NS_TRAP_SET=1
		_ns_remove_stale
	fi

	NS=usernat-$name-$$
	TAP=ut$$
	if [ "$_NS_SEQ" -gt 1 ]; then
		NS=usernat-$name$_NS_SEQ-$$
		TAP=ut$$n$_NS_SEQ
	fi
	# Interface names are at most 15 characters (IFNAMSIZ - 1).
	if [ "${#TAP}" -gt 15 ]; then
		echo "ns_setup: tap name too long: $TAP" >&2
		return 1
	fi

	NS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/usernat-$name.XXXXXX") || return 1
	_NS_TMPS+=("$NS_TMP")

	ip netns add "$NS" || { echo "ns_setup: cannot create netns $NS" >&2; return 1; }
	_NS_LIST+=("$NS")
	mkdir -p "/etc/netns/$NS" && : >"/etc/netns/$NS/resolv.conf"

	ip tuntap add dev "$TAP" mode tap || { echo "ns_setup: cannot create tap $TAP" >&2; return 1; }
	_NS_TAPS+=("$TAP")

	RESOLV_CONF=$NS_TMP/resolv.conf
	: >"$RESOLV_CONF"
	export NS TAP NS_TMP RESOLV_CONF
}

# ns_move_tap [TAP]: move the tap into $NS and bring lo and the tap up there.
ns_move_tap() {
	local tap=${1:-$TAP}
	ip link set dev "$tap" netns "$NS" || return 1
	ns_exec ip link set dev lo up || return 1
	ns_exec ip link set dev "$tap" up
}

# ns_move_tap_ipv6 [TAP]: like ns_move_tap, with the tap set to take our
# router advertisements: a host acting as a router, or with accept_ra 0,
# would ignore them; the sysctls are set before the link comes up so that
# SLAAC starts with the first RA.
ns_move_tap_ipv6() {
	local tap=${1:-$TAP} s
	ip link set dev "$tap" netns "$NS" || return 1
	for s in disable_ipv6=0 forwarding=0 accept_ra=1 autoconf=1 accept_dad=1; do
		ns_exec sysctl -qw "net.ipv6.conf.$tap.$s" || return 1
	done
	ns_exec ip link set dev lo up || return 1
	ns_exec ip link set dev "$tap" up
}

# ns_wait SECS CMD...: until CMD succeeds (checked every 0.2 s), or fail.
ns_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# ns_has_addr6 SCOPE PREFIX [TAP]: the tap in $NS has an address of SCOPE
# (link, global) starting with PREFIX whose duplicate detection is over.
ns_has_addr6() {
	ns_exec ip -6 addr show dev "${3:-$TAP}" scope "$1" |
		grep "inet6 $2" | grep -qv tentative
}

# ns_exec CMD...: run CMD inside $NS.
ns_exec() {
	ip netns exec "$NS" "$@"
}

# ns_bg_pid_add PID...: kill these on exit (TERM, then KILL).
ns_bg_pid_add() {
	_NS_PIDS+=("$@")
}

# ns_bg CMD...: start CMD in the background (root namespace), register its
# pid for cleanup, and leave it in $NS_BG_PID.
ns_bg() {
	"$@" &
	NS_BG_PID=$!
	_NS_PIDS+=("$NS_BG_PID")
}

# ns_on_exit CMD: run the shell command CMD during cleanup (last added, first run).
ns_on_exit() {
	_NS_HOOKS+=("$1")
}

# wait_for_file PATH TIMEOUT: wait up to TIMEOUT (whole) seconds, give or
# take one, for PATH to exist; returns 1 on timeout.
wait_for_file() {
	local path=$1 timeout=${2:-10}
	local deadline=$((SECONDS + timeout + 1))
	while [ ! -e "$path" ]; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# wait_for_log FILE REGEX TIMEOUT: wait up to TIMEOUT (whole) seconds for a
# line of FILE to match the extended regex REGEX; returns 1 on timeout.
wait_for_log() {
	local file=$1 regex=$2 timeout=${3:-10}
	local deadline=$((SECONDS + timeout + 1))
	until [ -f "$file" ] && grep -Eq -- "$regex" "$file"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# tap_is_attached [TAP] [PID]: true if some process (PID, if given) has
# the tap device open (/proc/*/fdinfo shows "iff: TAP" for tun fds).
tap_is_attached() {
	local tap=${1:-$TAP} pid=${2:-}
	if [ -n "$pid" ]; then
		grep -qsx "iff:[[:space:]]*$tap" "/proc/$pid/fdinfo/"*
	else
		grep -qsx "iff:[[:space:]]*$tap" /proc/[0-9]*/fdinfo/*
	fi
}

# wait_for_tap_attached TIMEOUT [PID]: wait until $TAP is opened (by PID).
wait_for_tap_attached() {
	local timeout=${1:-10} pid=${2:-}
	local deadline=$((SECONDS + timeout + 1))
	until tap_is_attached "$TAP" "$pid"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		# Give up early if the process meant to open it has died.
		[ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
}
