#!/bin/bash
# Command line: bad options fail with a clear message and exit status 2;
# --help lists every option; --version answers.
. "$(dirname "$0")/../lib/common.sh"

expect_usage_error() {
	local desc=$1 want=$2 out st
	shift 2
	out=$("$USERNAT" "$@" 2>&1 </dev/null)
	st=$?
	if [ "$st" -eq 2 ] && printf '%s' "$out" | grep -qi -- "$want"; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "exit status $st, output: $out"
	fi
}

expect_usage_error "unknown option" "Unknown option" --frobnicate
expect_usage_error "bad network" "net" --net 10.0.2.0/40
expect_usage_error "bad gateway" "gateway" --gateway 10.0.2
expect_usage_error "gateway outside network" "gateway" --gateway 10.9.9.9
expect_usage_error "bad MTU" "mtu" --mtu 99999
expect_usage_error "bad MAC" "mac" --mac 01:02:03:04:05:06
expect_usage_error "bad static lease" "dhcp-host" --dhcp-host 52:54:00:12:34:56
expect_usage_error "bad log level" "log-level" --log-level shouty
expect_usage_error "reversed DHCP range" "DHCP range" --dhcp-start 10.0.2.200 --dhcp-end 10.0.2.100
expect_usage_error "two transports" "one of" --vde ptp:///tmp/x --socket /tmp/y
expect_usage_error "stray argument" "unexpected argument" banana
expect_usage_error "poll-us out of range" "poll-us" --poll-us 5000
expect_usage_error "bad DNS upstream" "dns-upstream" --dns-upstream 1.2.3.4:99999
expect_usage_error "value given to a flag (--restrict=no)" "takes no value" --restrict=no
expect_usage_error "value given to a flag (--no-dhcp=1)" "takes no value" --no-dhcp=1

help=$("$USERNAT" --help 2>&1)
missing=
for o in --vde --socket --net --gateway --dns --mtu --mac --no-map-host-loopback \
	--log-level --dhcp-start --dhcp-end --dhcp-host --domain --dns-search \
	--hostname --lease-time --no-dhcp --dns-upstream --udp-timeout \
	--max-flows; do
	printf '%s' "$help" | grep -q -- "$o" || missing="$missing $o"
done
[ -z "$missing" ] && tap_ok "--help lists every option" ||
	tap_fail "--help lists every option" "missing:$missing"
# Every long option of --help is documented in the man page and the README
undoc=
man=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$TOP_SRCDIR/man/usernat.1")
for o in $(printf '%s\n' "$help" | sed -n 's/^ *\(-., \)\{0,1\}--\([a-z0-9-]*\).*/\2/p'); do
	[ "$o" = help ] && continue
	printf '%s' "$man" | grep -q -- "--$o" || undoc="$undoc man:--$o"
	grep -q -- "--$o" "$TOP_SRCDIR/README.md" || undoc="$undoc README:--$o"
done
[ -z "$undoc" ] && tap_ok "every option is in the man page and the README" ||
	tap_fail "every option is in the man page and the README" "missing:$undoc"
"$USERNAT" --version | grep -q '^usernat [0-9]' && tap_ok "--version" ||
	tap_fail "--version"

# A transport that can't be opened: clear message, exit status 1
out=$("$USERNAT" --socket /nonexistent/dir/sock 2>&1)
st=$?
[ "$st" -eq 1 ] && printf '%s' "$out" | grep -q "cannot listen" &&
	tap_ok "unusable socket path: exit 1 with message" ||
	tap_fail "unusable socket path: exit 1 with message" "status $st: $out"
tap_done
