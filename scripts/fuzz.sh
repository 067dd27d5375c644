#!/bin/bash
# `make fuzz`: runs every libFuzzer target in BUILD/fuzz for SECONDS each.
#   scripts/fuzz.sh [BUILD [SECONDS]]     FUZZ_FILTER=regex picks targets,
#                                         FUZZ_RUNS=N stops a target after N executions,
#                                         FUZZ_SEED=N fixes libFuzzer's random seed
# Corpora live in BUILD/corpus/<target>, seeded from the globs on the
# "seeds:" lines of tests/fuzz/<target>.c (plus tests/fuzz/regressions/<target>/);
# tests/fuzz/<target>.dict, if present, is passed as a dictionary. Crashes go
# to BUILD/crashes/<target>/ and each one found must become a regression test
# (tests/fuzz/regressions/<target>/, replayed by tests/cli/test_fuzz_regressions.sh).
# Prints one "ok - " / "not ok - " line per target (tests/run.sh counts them);
# without a libFuzzer build it says so and runs nothing.
set -u
build=${1:-build-fuzz}
secs=${2:-60}
cd "$(dirname "$0")/.." || exit 1
if [ -f "$build/fuzz/.unsupported" ]; then
    echo "# skip - fuzz targets: $(cat "$build/fuzz/.unsupported")"
    exit 0
fi
# leaks inside system libraries we cannot fix (each one explained there)
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
status=0
n=0
for f in "$build"/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    [ -n "${FUZZ_FILTER:-}" ] && ! [[ $name =~ $FUZZ_FILTER ]] && continue
    n=$((n + 1))
    corpus="$build/corpus/$name"
    crashes="$build/crashes/$name"
    mkdir -p "$corpus" "$crashes"
    seeds=$(sed -n 's/.*seeds:[[:space:]]*//p' "tests/fuzz/$name.c")
    # named by content, as libFuzzer names its own corpus files
    for s in $seeds tests/fuzz/regressions/"${name#fuzz_}"/*; do
        [ -f "$s" ] && cp "$s" "$corpus/$(sha1sum <"$s" | cut -c1-40)"
    done
    dict=()
    [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
    log="$build/$name.log"
    runs=()
    [ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
    [ -n "${FUZZ_SEED:-}" ] && runs+=(-seed="$FUZZ_SEED")
    start=$SECONDS
    "$f" -max_total_time="$secs" "${runs[@]}" -rss_limit_mb=2048 -timeout=60 -print_final_stats=1 \
        "${dict[@]}" -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1
    rc=$?
    took=$((SECONDS - start))
    execs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$log" | tail -1)
    # crash-, leak-, timeout-, oom- files fail the run; a slow-unit- file
    # (over 10 s once, e.g. on a stalled machine) is only mentioned
    ncrash=$(find "$crashes" -type f ! -name 'slow-unit-*' | wc -l)
    nslow=$(find "$crashes" -type f -name 'slow-unit-*' | wc -l)
    [ "$nslow" -gt 0 ] && echo "# $name: $nslow slow input(s) kept in $crashes"
    if [ $rc -eq 0 ] && [ "$ncrash" -eq 0 ]; then
        echo "ok - $name: ${execs:-?} executions in ${took}s, no crash"
    else
        echo "not ok - $name: exit $rc, ${execs:-?} executions, $ncrash crash file(s) in $crashes (log $log)"
        grep -m3 -E 'ERROR: |runtime error|SUMMARY' "$log" | sed 's/^/#  /'
        status=1
    fi
done
[ $n -eq 0 ] && echo "# skip - no fuzz targets built in $build/fuzz"
exit $status
