# tap.sh — TAP (version 13) output helpers for usernat's shell tests.
# Source it from a bash test script; the output suits automake's tap-driver.
#
#   . "$srcdir/tests/lib/tap.sh"
#   need_root                       # or: need_cmd qemu-system-x86_64 socat
#   tap_plan 3                      # optional; otherwise tap_done prints it
#   tap_check "tap exists" ip link show dev "$TAP"
#   if something; then tap_ok "it worked"; else tap_fail "it broke" "got: $x"; fi
#   tap_skip "ipv6 works" "no ipv6 support yet"
#   tap_diag "some remark"
#   tap_done                        # last command: prints the plan if needed,
#                                   # returns 1 if any test failed
#
# A test script's `exit` status then is tap_done's: 0 when all passed.

TAP_COUNT=0		# tests reported so far
TAP_FAILED=0		# of which failed
TAP_PLANNED=		# N once tap_plan N has printed "1..N"

echo "TAP version 13"

# _tap_desc TEXT: a description safe for a result line ('#' starts a
# directive in TAP, so escape it; keep it on one line).
_tap_desc() {
	local d=${1//$'\n'/ }
	printf '%s' "${d//#/\\#}"
}

# tap_diag MSG...: print a diagnostic; each line of MSG gets a "# " prefix.
tap_diag() {
	local line
	printf '%s\n' "$*" | while IFS= read -r line; do
		printf '# %s\n' "$line"
	done
}

# tap_plan N: announce N tests up front.
tap_plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}

# tap_ok DESC: a passing test.
tap_ok() {
	TAP_COUNT=$((TAP_COUNT + 1))
	echo "ok $TAP_COUNT - $(_tap_desc "$1")"
}

# tap_fail DESC [DIAG...]: a failing test, with optional diagnostic lines.
tap_fail() {
	local desc=$1
	shift
	TAP_COUNT=$((TAP_COUNT + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_COUNT - $(_tap_desc "$desc")"
	local d
	for d in "$@"; do
		tap_diag "$d"
	done
}

# tap_result STATUS DESC [DIAG...]: ok if STATUS is 0, else not ok.
#   tap_result $? "thing worked"
tap_result() {
	local st=$1
	shift
	if [ "$st" -eq 0 ]; then
		tap_ok "$1"
	else
		tap_fail "$@"
	fi
}

# tap_skip DESC REASON: a skipped test.
tap_skip() {
	TAP_COUNT=$((TAP_COUNT + 1))
	local why=${2:-}
	echo "ok $TAP_COUNT - $(_tap_desc "$1") # SKIP ${why//$'\n'/ }"
}

# tap_todo_fail DESC REASON: a known failure (not counted as a failure).
tap_todo_fail() {
	TAP_COUNT=$((TAP_COUNT + 1))
	local why=${2:-}
	echo "not ok $TAP_COUNT - $(_tap_desc "$1") # TODO ${why//$'\n'/ }"
}

# tap_skip_all REASON: skip the whole script (prints "1..0 # SKIP REASON")
# and exit 0. Only valid before any test result was printed.
tap_skip_all() {
	local why=$1
	echo "1..0 # SKIP ${why//$'\n'/ }"
	TAP_PLANNED=0
	exit 0
}

# tap_bail REASON: abort the whole run ("Bail out!") and exit 1.
tap_bail() {
	echo "Bail out! $(_tap_desc "$1")"
	exit 1
}

# tap_check DESC CMD [ARGS...]: run CMD; ok if it exits 0, else not ok with
# its exit status and (the tail of) its output as diagnostics.
tap_check() {
	local desc=$1 out st
	shift
	if out=$("$@" 2>&1); then
		tap_ok "$desc"
		return 0
	else
		st=$?
		tap_fail "$desc" "command: $*" "exit status: $st"
		[ -z "$out" ] || tap_diag "$(printf '%s\n' "$out" | tail -n 20)"
		return 0
	fi
}

# tap_done: finish. Prints the plan if tap_plan was not used, warns when
# the count does not match a plan given earlier, and returns 1 if any test
# failed (0 otherwise).
tap_done() {
	if [ -z "$TAP_PLANNED" ]; then
		echo "1..$TAP_COUNT"
		TAP_PLANNED=$TAP_COUNT
	elif [ "$TAP_PLANNED" != "$TAP_COUNT" ]; then
		tap_diag "planned $TAP_PLANNED tests but ran $TAP_COUNT"
		return 1
	fi
	[ "$TAP_FAILED" -eq 0 ]
}

# need_cmd CMD...: skip the whole script unless every CMD is available.
need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || tap_skip_all "'$c' not found"
	done
}

# need_root: skip the whole script unless we are root and have /dev/net/tun
# (needed for tap devices and network namespaces).
need_root() {
	[ "$(id -u)" -eq 0 ] || tap_skip_all "needs root"
	[ -c /dev/net/tun ] || tap_skip_all "/dev/net/tun missing"
}

# need_netns: need_root, plus `ip` and the ability to really create a network
# namespace (fails e.g. in unprivileged containers).
need_netns() {
	need_root
	need_cmd ip
	ip netns help >/dev/null 2>&1 || ip netns list >/dev/null 2>&1 ||
		tap_skip_all "'ip netns' not supported"
	if command -v unshare >/dev/null 2>&1; then
		unshare --net true 2>/dev/null || tap_skip_all "cannot create network namespaces"
	fi
}
