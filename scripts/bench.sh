#!/bin/bash
# `make bench`: runs every benchmark program in BUILD/bench, one after another
# (never in parallel: they measure time). Benchmarks print their own figures;
# nothing here is a pass/fail test. BENCH_FILTER=regex picks some.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(uname -r)"
echo "load:   $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews figures)"
for b in "$build"/bench/bench_*; do
    [ -x "$b" ] || continue
    [ -n "${BENCH_FILTER:-}" ] && ! [[ $b =~ $BENCH_FILTER ]] && continue
    echo
    echo "== $(basename "$b")"
    "$b" || echo "$(basename "$b") failed with status $?"
done
for s in scripts/bench_*.sh; do
    [ -f "$s" ] || continue
    [ -n "${BENCH_FILTER:-}" ] && ! [[ $s =~ $BENCH_FILTER ]] && continue
    echo
    echo "== $s"
    bash "$s" "$build" || echo "$s failed with status $?"
done
