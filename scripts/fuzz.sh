#!/bin/bash
# `make fuzz`: runs every libFuzzer target in BUILD/fuzz for SECONDS each.
# Corpora live in BUILD/corpus/<target>, seeded from the globs on the
# "seeds:" line of tests/fuzz/<target>.c; crashes go to BUILD/crashes/<target>/
# and each one found must become a regression test.
set -u
build=${1:-build-fuzz}
secs=${2:-60}
cd "$(dirname "$0")/.." || exit 1
status=0
for f in "$build"/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    [ -n "${FUZZ_FILTER:-}" ] && ! [[ $name =~ $FUZZ_FILTER ]] && continue
    corpus="$build/corpus/$name"
    crashes="$build/crashes/$name"
    mkdir -p "$corpus" "$crashes"
    seeds=$(sed -n 's/.*seeds:[[:space:]]*//p' "tests/fuzz/$name.c" | head -1)
    for s in $seeds; do [ -f "$s" ] && cp -n "$s" "$corpus/" 2>/dev/null; done
    log="$build/$name.log"
    "$f" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$log" | tail -1)
    ncrash=$(find "$crashes" -type f | wc -l)
    if [ $rc -eq 0 ] && [ "$ncrash" -eq 0 ]; then
        echo "ok - $name: ${execs:-?} executions in ${secs}s, no crash"
    else
        echo "not ok - $name: exit $rc, ${execs:-?} executions, $ncrash crash file(s) in $crashes (log $log)"
        status=1
    fi
done
exit $status
