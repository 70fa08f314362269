#!/bin/bash
# The vdeplug module, loaded from the build tree with VDEPLUGIN_PATH:
# vde_plug tap://TAP usernat:///opts gives a namespace a lease and the
# gateway; bad URL options fail with a clear message; 100 open/close cycles
# in one process leave no thread, descriptor or leak behind.
. "$(dirname "$0")/../lib/common.sh"
need_cmd vde_plug
plugin_lock shared || tap_bail "cannot take the plugin lock"
PLUGDIR=$TOP_BUILDDIR/.libs
[ -f "$PLUGDIR/libvdeplug_usernat.so" ] || tap_bail "plugin not built"
SYSPLUG=$(dirname "$(cc -print-file-name=libvdeplug.so)")/vdeplug
export VDEPLUGIN_PATH=$PLUGDIR:$SYSPLUG

bad() {
	local desc=$1 url=$2 want=$3 out
	out=$(timeout 5 vde_plug null:// "$url" 2>&1)
	if [ $? -ne 0 ] && printf '%s' "$out" | grep -q -- "$want"; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "$out"
	fi
}
bad "unknown option refused" "usernat:///frobnicate=1" "bad option"
bad "bad value refused with the reason" "usernat:///mtu=5" "mtu: must be"
bad "options without a slash refused" "usernat://mtu=1500" "options go after a slash"
bad "flag with a value refused" "usernat:///no-dhcp=yes" "takes no value"
bad "inconsistent addresses refused" "usernat:///net=10.1.0.0/24/gateway=10.2.0.1" "gateway"

CYC=$TOP_BUILDDIR/tests/plugin/plug-cycles
if [ -x "$CYC" ]; then
	out=$("$CYC" 100 2>&1)
	[ $? -eq 0 ] && tap_ok "100 open/close cycles: $out" || tap_fail "100 open/close cycles" "$out"
	if command -v valgrind >/dev/null; then
		out=$(valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
			--error-exitcode=9 "$CYC" 20 2>&1)
		st=$?
		[ $st -eq 0 ] && tap_ok "valgrind: no leaks or errors over 20 cycles" ||
			tap_fail "valgrind: no leaks or errors over 20 cycles" "$(printf '%s' "$out" | tail -30)"
	else
		tap_skip "valgrind: no leaks" "valgrind not installed"
	fi
else
	tap_fail "100 open/close cycles" "$CYC not built"
fi

if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
	tap_skip "vde_plug tap:// usernat:// gives a lease" "needs root and /dev/net/tun"
	tap_done; exit
fi
. "$TOP_SRCDIR/tests/lib/netns.sh"
ns_setup plug || tap_bail "cannot set up namespace"
vde_plug "tap://$TAP" "usernat:///net=10.7.0.0/24/mtu=1400/dhcp-host=52:54:00:00:07:07,10.7.0.77,plugged" \
	>"$NS_TMP/plug.log" 2>&1 &
ns_bg_pid_add $!
wait_for_tap_attached 10 $! || tap_bail "vde_plug did not open $TAP: $(cat "$NS_TMP/plug.log")"
ip link set dev "$TAP" address 52:54:00:00:07:07
ns_move_tap || tap_bail "cannot move tap"
out=$(udhcpc_ns 2>&1)
case "$out" in
*"ip=10.7.0.77 "*"router=10.7.0.2 "*"mtu=1400"*"hostname=plugged"*) tap_ok "lease through the plugin, options from the URL" ;;
*) tap_fail "lease through the plugin, options from the URL" "$out" ;;
esac
tap_check "ping the gateway through the plugin" ns_exec ping -c 3 -i 0.2 -W 2 10.7.0.2
tap_done
