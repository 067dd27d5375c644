#!/bin/bash
# Every input that once crashed a fuzz target (tests/fuzz/regressions/<target>/,
# one case each) and each target's seed corpus (one case per target) replayed
# through the target's own entry point, LLVMFuzzerTestOneInput, built with an
# ordinary main (tests/fuzz/replay_main.c) into $BUILD/fuzz-replay/: gcc as
# built, then under ASan+UBSan in build-asan. A crash or a sanitizer report
# fails the case. Runs from the repository root (the targets find their
# templates and seeds there).
. "$(dirname "$0")/lib.sh"
cd "$ROOT" || exit 1
BUILD=${BUILD:-$ROOT/build}
# leaks inside system libraries we cannot fix, each explained in the file
export LSAN_OPTIONS="suppressions=$ROOT/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

replay() { # name bin args...: one case, passes when bin exits 0 with no sanitizer report
    local name=$1 bin=$2
    shift 2
    "$bin" -q "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ $rc -eq 0 ] && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/err"; then
        t_ok "$name"
    else
        t_fail "$name" "exit $rc" "$(grep -m3 -E 'ERROR|runtime error|SUMMARY|not ok' "$TMP/err" "$TMP/out")"
    fi
}

n_targets=0
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    bin=$BUILD/fuzz-replay/$name
    if [ ! -x "$bin" ]; then
        t_fail "$name: $bin is not built (make tests-built)"
        continue
    fi
    n_targets=$((n_targets + 1))
    dir=tests/fuzz/regressions/${name#fuzz_}
    if [ -d "$dir" ]; then
        for f in "$dir"/*; do
            [ -f "$f" ] && replay "$name replays regression ${f#tests/fuzz/regressions/}" "$bin" "$f"
        done
    fi
    # the seed corpus, as scripts/fuzz.sh collects it
    seeds=()
    for g in $(sed -n 's/.*seeds:[[:space:]]*//p' "$src"); do
        [ -f "$g" ] && seeds+=("$g")
    done
    if [ ${#seeds[@]} -gt 0 ]; then
        replay "$name runs its ${#seeds[@]} seed inputs" "$bin" "${seeds[@]}"
    else
        t_fail "$name has no seed inputs (seeds: lines of $src)"
    fi
done
[ $n_targets -ge 6 ] && t_ok "$n_targets fuzz targets built for replay" ||
    t_fail "only $n_targets fuzz targets built for replay"
t_done
