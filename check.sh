#!/bin/bash
# Install what is needed, build, and run the whole test suite:
#   unit tests, command-line and plugin tests, namespace tests (root),
#   real-guest tests (QEMU TCG), the unit and namespace tests again in a
#   build with ASan and UBSan, the frame fuzzer for 30 s under ASan/UBSan,
#   and make distcheck.
# Ends with one line: "N passed, N failed, N skipped".
# Options: FUZZ_SECONDS=N (default 30), SKIP_DISTCHECK=1, SKIP_FUZZ=1,
# SKIP_SANITIZERS=1.
set -u
top=$(cd "$(dirname "$0")" && pwd)
cd "$top"
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
JOBS=${JOBS:-2}
log() { printf '=== %s\n' "$*"; }

"$top/scripts/install-deps.sh" || { echo "0 passed, 1 failed"; exit 1; }

extra_pass=0 extra_fail=0
result() {	# result STATUS NAME
	if [ "$1" -eq 0 ]; then
		extra_pass=$((extra_pass + 1)); echo "PASS: $2"
	else
		extra_fail=$((extra_fail + 1)); echo "FAIL: $2"
	fi
}

log "bootstrap and build"
autoreconf -fi >/dev/null 2>&1 || { echo "autoreconf failed"; echo "0 passed, 1 failed"; exit 1; }
rm -rf _build && mkdir -p _build && cd _build
if ! { ../configure --enable-werror >configure.out 2>&1 && make -j"$JOBS" >make.out 2>&1; }; then
	tail -50 configure.out make.out 2>/dev/null
	echo "0 passed, 1 failed"
	exit 1
fi

log "make check"
make -j"$JOBS" check >check.out 2>&1
check_st=$?
grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):' check.out | sed 's/^/  /' | grep -v '^  PASS' || true
grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' check.out
for f in $(find tests -name '*.log' ! -name test-suite.log); do
	if grep -q '^not ok' "$f" || grep -q '^Bail out' "$f"; then
		echo "--- $f"; tail -40 "$f"
	fi
done
cd "$top"

asan_st=0
if [ -z "${SKIP_SANITIZERS:-}" ]; then
	log "unit and namespace tests under ASan/UBSan"
	rm -rf _asan && mkdir _asan && cd _asan
	if ../configure --enable-sanitizers >configure.out 2>&1 &&
		make -j"$JOBS" >make.out 2>&1; then
		# one at a time: namespace tests share host-wide settings
		# (net.ipv4.ping_group_range), and ASan slows them down
		make -j1 check TESTS="$(make -s print-sanitizer-tests)" \
			>check.out 2>&1
		asan_st=$?
		grep -E '^(FAIL|ERROR|XPASS|SKIP):' check.out | sed 's/^/  /' || true
		grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' check.out
		for f in $(find tests -name '*.log' ! -name test-suite.log); do
			if grep -q '^not ok' "$f" || grep -q '^Bail out' "$f" ||
				grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"; then
				echo "--- _asan/$f"; tail -40 "$f"
			fi
		done
	else
		tail -30 configure.out make.out
		result 1 "build with --enable-sanitizers"
	fi
	cd "$top"
fi

if [ -z "${SKIP_FUZZ:-}" ]; then
	log "fuzzing for $FUZZ_SECONDS s under ASan/UBSan"
	rm -rf _fuzz && mkdir _fuzz && cd _fuzz
	if ../configure CC=clang --enable-fuzzing >configure.out 2>&1 &&
		make -j"$JOBS" tests/fuzz/fuzz-frame >make.out 2>&1; then
		make fuzz FUZZ_SECONDS="$FUZZ_SECONDS" >fuzz.out 2>&1
		st=$?
		tail -3 fuzz.out
		[ $st -eq 0 ] || tail -60 fuzz.out
		result $st "fuzz-frame ${FUZZ_SECONDS}s under ASan/UBSan"
	else
		tail -30 configure.out make.out
		result 1 "fuzz-frame build"
	fi
	cd "$top"
fi

if [ -z "${SKIP_DISTCHECK:-}" ]; then
	log "make distcheck (unit and command-line tests)"
	cd _build
	make distcheck TESTS="$(make -s print-quick-tests)" >distcheck.out 2>&1
	st=$?
	[ $st -eq 0 ] || tail -40 distcheck.out
	result $st "make distcheck"
	cd "$top"
fi

# Totals over every TAP result of make check (and of the sanitizer build's),
# plus the steps above
trs=$(find _build/tests -name '*.trs'
	[ -z "${SKIP_SANITIZERS:-}" ] && [ -d _asan/tests ] && find _asan/tests -name '*.trs')
read -r pass fail skip < <(cat $trs /dev/null |
	awk '/^:test-result: (PASS|XFAIL)/ { p++ } /^:test-result: (FAIL|XPASS|ERROR)/ { f++ }
	     /^:test-result: SKIP/ { s++ } END { print p+0, f+0, s+0 }')
# a script that errored (bad exit, bail out) counts as a failure too
errs=$(grep -l '^:global-test-result: ERROR' $trs /dev/null 2>/dev/null | wc -l)
# make check itself failing outside any test (a build error) is a failure
if [ "$check_st" -ne 0 ] && [ "$fail" -eq 0 ] && [ "$errs" -eq 0 ]; then
	echo "make check failed:"; tail -20 _build/check.out
	errs=1
fi
if [ "$asan_st" -ne 0 ] && [ "$fail" -eq 0 ] && [ "$errs" -eq 0 ]; then
	echo "make check under ASan/UBSan failed:"; tail -20 _asan/check.out
	errs=1
fi
pass=$((pass + extra_pass))
fail=$((fail + extra_fail + errs))
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
