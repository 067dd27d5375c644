#!/bin/bash
# wakewordd vs ONNX Runtime on the same files, batch 1, one thread: the
# full-width float ResNet18 (1x1x64x101) and its static int8 QDQ quantization.
# Rounds alternate wakewordd bench and bench/ort_bench.mjs (onnxruntime-node,
# 1 intra-op thread, all graph optimisations) model by model, so load from
# other work on the machine hits both alike; the figure per side is the median
# of the round medians. Prints the ratios wakewordd float / ORT float,
# wakewordd int8 / ORT int8, wakewordd int8 / wakewordd float, and the
# fraction of the core's peak int8 MAC rate the int8 run reaches (the peak
# measured by build/bench/bench_conv2d_s8: fastest of 60 bursts of independent
# vpdpbusd zmm / vpmaddwd ymm, register-only).
#
#   scripts/bench_vs_ort.sh [BUILD] [MODEL...]
# Without MODEL: /work/cache/bench_vs_ort/resnet18_w64.onnx (exported with
# tests/gen/export_resnet.py when missing) and resnet18_w64.int8.onnx (made with
# wakewordd quantize on the fixture speech/noise clips when missing). With
# MODELs, each is compared with ORT; int8 / float needs one of each kind.
# BENCH_ROUNDS (5) and BENCH_RUNS (200 timed runs per round and side).
# A benchmark, not a test: it never fails on a figure.
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-build}
[ $# -gt 0 ] && shift
WW=$build/wakewordd
rounds=${BENCH_ROUNDS:-5}
runs=${BENCH_RUNS:-200}
cache=${BENCH_CACHE:-/work/cache/bench_vs_ort}

if [ ! -x "$WW" ]; then
    echo "bench_vs_ort: $WW not found (make first)" >&2
    exit 1
fi
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
    mkdir -p "$cache" || exit 1
    float=$cache/resnet18_w64.onnx int8=$cache/resnet18_w64.int8.onnx
    if [ ! -f "$float" ]; then
        echo "exporting the full-width ResNet18 to $float ..."
        nice -n 10 /usr/bin/python3 tests/gen/export_resnet.py model "$float" --metadata \
            >"$cache/export.log" 2>&1 || {
            echo "bench_vs_ort: export failed (needs Debian's python3-torch): see $cache/export.log" >&2
            exit 1
        }
    fi
    if [ ! -f "$int8" ]; then
        echo "quantizing it to $int8 (percentile, per channel, fixture clips) ..."
        nice -n 10 "$WW" quantize "$float" --calib tests/fixtures/quant/calib \
            --calib tests/fixtures/quant/valid --method percentile --latency-runs 0 -q \
            -o "$int8" || exit 1
    fi
    models=("$float" "$int8")
fi

have_ort=0
if command -v node >/dev/null && node -e 'require("onnxruntime-node")' >/dev/null 2>&1; then
    have_ort=1
    ort_version=$(node -p 'require("onnxruntime-node/package.json").version')
else
    echo "ONNX Runtime not available (scripts/install-ort.sh installs onnxruntime-node); wakewordd only"
fi

num() { # JSON KEY: the first number after "KEY":
    grep -o "\"$2\": *[-0-9.e+]*" <<<"$1" | head -1 | sed 's/.*: *//'
}
str() { # JSON KEY: the first string value of "KEY"
    grep -o "\"$2\": *\"[^\"]*\"" <<<"$1" | head -1 | sed 's/.*: *"//; s/"$//'
}
median() { # numbers on stdin -> their median
    sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$rounds rounds x $runs runs per side, batch 1, 1 thread$([ $have_ort -eq 1 ] && echo "; onnxruntime-node $ort_version")"

declare -A ww_med ort_med ww_min ort_min kind exec macs shape
for ((r = 1; r <= rounds; r++)); do
    for m in "${models[@]}"; do
        j=$("$WW" bench "$m" --runs "$runs" --warmup 20 --json) || exit 1
        kind[$m]=$(str "$j" kind) exec[$m]=$(str "$j" execution) macs[$m]=$(num "$j" macs)
        shape[$m]=$(str "$j" input_shape | tr x ,)
        isa=$(str "$j" isa)
        ww_med[$m]+="$(num "$j" median_ms) "
        ww_min[$m]+="$(num "$j" min_ms) "
        line="round $r $(basename "$m"): wakewordd $(printf %.3f "$(num "$j" median_ms)") ms"
        if [ $have_ort -eq 1 ]; then
            o=$(node bench/ort_bench.mjs "$m" --runs "$runs" --warmup 20 --shape "${shape[$m]}" \
                --json) || { echo "bench_vs_ort: ORT failed on $m" >&2; exit 1; }
            ort_med[$m]+="$(num "$o" median_ms) "
            ort_min[$m]+="$(num "$o" min_ms) "
            line+=", onnxruntime $(printf %.3f "$(num "$o" median_ms)") ms"
        fi
        echo "  $line"
    done
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"

peak=""
if [ -x "$build/bench/bench_conv2d_s8" ]; then
    peak=$("$build/bench/bench_conv2d_s8" --isa "$isa" --layer 0 --runs 1 |
        grep -o 'measured peak [0-9.]*' | head -1 | awk '{ print $3 }')
fi

echo
printf '%-28s %-10s %-22s %10s %10s %8s\n' model kind "wakewordd runs it as" "wakewordd" "ORT" "ratio"
float_ms="" int8_ms="" int8_model="" float_ratio="-" int8_ratio="-" float_best="" int8_best=""
for m in "${models[@]}"; do
    w=$(tr ' ' '\n' <<<"${ww_med[$m]}" | grep . | median)
    o="-" ratio="-"
    if [ $have_ort -eq 1 ]; then
        o=$(tr ' ' '\n' <<<"${ort_med[$m]}" | grep . | median)
        ratio=$(awk -v a="$w" -v b="$o" 'BEGIN { printf "%.2f", a / b }')
        o=$(printf %.3f "$o")
    fi
    printf '%-28s %-10s %-22s %7.3f ms %7s ms %8s\n' "$(basename "$m")" "${kind[$m]}" \
        "${exec[$m]}" "$w" "$o" "$ratio"
    best=$(tr ' ' '\n' <<<"${ww_min[$m]}" | grep . | sort -g | head -1)
    case ${kind[$m]} in
    float) float_ms=$w float_ratio=$ratio float_best=$best ;;
    "QDQ int8") int8_ms=$w int8_model=$m int8_ratio=$ratio int8_best=$best ;;
    esac
done
echo "(medians of $rounds round medians; ratio = wakewordd / ORT; ISA $isa)"
if [ $have_ort -eq 1 ]; then
    # the fastest run of all rounds: what each side does when the machine
    # leaves it alone for a moment, steadier than medians under heavy load
    for m in "${models[@]}"; do
        a=$(tr ' ' '\n' <<<"${ww_min[$m]}" | grep . | sort -g | head -1)
        b=$(tr ' ' '\n' <<<"${ort_min[$m]}" | grep . | sort -g | head -1)
        awk -v n="$(basename "$m")" -v a="$a" -v b="$b" \
            'BEGIN { printf "best run %-22s wakewordd %.3f ms, ORT %.3f ms, ratio %.2f\n", n, a, b, a / b }'
    done
fi
[ -n "$float_ms" ] && echo "wakewordd float / ORT float: $float_ratio"
[ -n "$int8_model" ] && echo "wakewordd int8 / ORT int8: $int8_ratio (target <= 0.7)"
if [ -n "$float_ms" ] && [ -n "$int8_ms" ]; then
    awk -v q="$int8_ms" -v f="$float_ms" \
        'BEGIN { printf "wakewordd int8 / wakewordd float: %.2f (target <= 0.25)\n", q / f }'
    awk -v q="$int8_best" -v f="$float_best" \
        'BEGIN { printf "  on the best runs: %.2f (float suffers more from load: longer runs)\n", q / f }'
fi
if [ -n "$int8_model" ]; then
    if [ -n "$peak" ]; then
        awk -v m="${macs[$int8_model]}" -v t="$int8_ms" -v p="$peak" -v e="${exec[$int8_model]}" \
            'BEGIN { g = m / (t * 1e-3) / 1e9
                     printf "int8 run: %.1f GMAC/s = %.1f%% of the measured peak %.1f GMAC/s (%s)\n",
                         g, 100 * g / p, p, e }'
        awk -v m="${macs[$int8_model]}" -v t="$int8_best" -v p="$peak" \
            'BEGIN { g = m / (t * 1e-3) / 1e9
                     printf "  best int8 run: %.1f GMAC/s = %.1f%% of it\n", g, 100 * g / p }'
    else
        echo "int8 peak: not measured ($build/bench/bench_conv2d_s8 missing or no int8 SIMD ISA)"
    fi
fi
