#!/bin/bash
# Runs every test program against one or more build directories and prints the
# total as its last line: "N passed, N failed".
#   tests/run.sh build [build-asan ...]
# Test programs: BUILD/tests/test_* (C) and tests/cli/*.sh (shell, given the
# binary as $WAKEWORDD and the build dir as $BUILD). Each prints "ok - name" or
# "not ok - name" per case; a program that exits non-zero without reporting a
# failure (a crash, a sanitizer report) counts as one failure.
# TEST_FILTER=regex limits the programs run.
set -u
cd "$(dirname "$0")/.." || exit 1
total_pass=0
total_fail=0
failed_list=()
logdir=$(mktemp -d /tmp/wwrun-XXXXXX)

run_one() { # label, command...
    local label=$1; shift
    local log="$logdir/$(echo "$label" | tr '/ ' '__').log"
    local start=$SECONDS
    timeout --kill-after=10 900 "$@" >"$log" 2>&1
    local rc=$?
    local p f
    p=$(grep -c '^ok - ' "$log")
    f=$(grep -c '^not ok - ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "not ok - $label exited with status $rc" >>"$log"
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    printf '%-52s %4d passed %3d failed  %3ds\n' "$label" "$p" "$f" $((SECONDS - start))
    if [ "$f" -ne 0 ]; then
        failed_list+=("$label")
        grep -E '^(not ok|#  )' "$log" | head -40 | sed 's/^/    /'
        grep -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$log" | head -5 | sed 's/^/    /'
    fi
}

for build in "$@"; do
    [ -x "$build/wakewordd" ] || { echo "not ok - $build/wakewordd is missing"; total_fail=$((total_fail + 1)); continue; }
    export WAKEWORDD="$PWD/$build/wakewordd" BUILD="$PWD/$build"
    case "$build" in *asan*)
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98 ;;
    esac
    echo "== $build"
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        [ -n "${TEST_FILTER:-}" ] && ! [[ $t =~ $TEST_FILTER ]] && continue
        run_one "$t" "$t"
    done
    for t in tests/cli/test_*.sh; do
        [ -f "$t" ] || continue
        [ -n "${TEST_FILTER:-}" ] && ! [[ $t =~ $TEST_FILTER ]] && continue
        run_one "$build:$t" bash "$t"
    done
done
# Short libFuzzer runs (make check sets FUZZ_CHECK_SECONDS and builds
# build-fuzz/ with clang): one test per target, passed when it ran that long
# without a crash. Without a libFuzzer build, fuzz.sh says it skipped.
if [ "${FUZZ_CHECK_SECONDS:-0}" != 0 ] && { [ -z "${TEST_FILTER:-}" ] || [[ fuzz =~ $TEST_FILTER ]]; }; then
    echo "== build-fuzz (libFuzzer, ${FUZZ_CHECK_SECONDS} s per target)"
    unset ASAN_OPTIONS UBSAN_OPTIONS
    run_one "build-fuzz:scripts/fuzz.sh" scripts/fuzz.sh build-fuzz "$FUZZ_CHECK_SECONDS"
    grep -h -E '^(ok - |# skip)' "$logdir"/build-fuzz*.log 2>/dev/null | sed 's/^/    /'
fi
if [ ${#failed_list[@]} -ne 0 ]; then
    echo "failed programs (logs in $logdir):"
    printf '  %s\n' "${failed_list[@]}"
else
    rm -rf "$logdir"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
