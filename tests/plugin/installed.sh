#!/bin/bash
# The public library as an embedder sees it: `make install` into a staging
# directory, then examples/embed.c is built against the installed usernat.h
# and usernat.pc alone, and runs.
. "$(dirname "$0")/../lib/common.sh"
need_cmd pkg-config cc make
plugin_lock exclusive || tap_bail "cannot take the plugin lock"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
if ! out=$(make -C "$TOP_BUILDDIR" install DESTDIR="$STAGE" 2>&1); then
	tap_fail "make install DESTDIR=..." "$(printf '%s' "$out" | tail -20)"
	tap_done; exit
fi
tap_ok "make install DESTDIR=..."
pc=$(find "$STAGE" -name usernat.pc | head -n 1)
hdr=$(find "$STAGE" -name usernat.h | head -n 1)
plug=$(find "$STAGE" -name libvdeplug_usernat.so | head -n 1)
[ -n "$pc" ] && [ -n "$hdr" ] && tap_ok "usernat.h and usernat.pc installed" ||
	tap_fail "usernat.h and usernat.pc installed" "$(find "$STAGE" -type f)"
[ -n "$plug" ] && tap_ok "plugin installed at ${plug#$STAGE}" || tap_fail "plugin installed"
libdir=$(dirname "$pc")/..
# pkg-config finds the staged usernat.pc, its prefix moved under $STAGE
export PKG_CONFIG_PATH=$(dirname "$pc")
prefix=$(pkg-config --variable=prefix usernat)
cflags=$(pkg-config --define-variable=prefix="$STAGE$prefix" --cflags usernat)
libs=$(pkg-config --define-variable=prefix="$STAGE$prefix" --libs usernat)
tap_diag "cflags: $cflags libs: $libs"
if out=$(cc "$TOP_SRCDIR/examples/embed.c" $cflags $libs -o "$STAGE/embed" 2>&1); then
	tap_ok "example builds against the installed header and pkg-config file"
	out=$(LD_LIBRARY_PATH=$(cd "$libdir" && pwd) "$STAGE/embed" 2>&1)
	[ $? -eq 0 ] && tap_ok "example runs: $(printf '%s' "$out" | tail -n 1)" ||
		tap_fail "example runs" "$out"
else
	tap_fail "example builds against the installed header and pkg-config file" "$out"
fi
tap_done
