#!/bin/bash
# wakewordd bench on the narrow ResNet18 fixtures: the JSON fields agree with
# `wakewordd info` (MACs, arena) and with each other (quantiles ordered,
# throughput = batch / median), the execution path and ISA are reported, and
# bad input fails with one line. Timing itself is never asserted (noisy box).
. "$(dirname "$0")/lib.sh"
FIX=$ROOT/tests/fixtures/onnx
M=$FIX/resnet18_w8_stem7_op13/model.onnx

# check_json NAME FILE PYTHON-EXPR...: every expression over the parsed object
# `j` (and `info`, the figures of `wakewordd info`) must hold
check_json() {
    local name=$1 file=$2
    shift 2
    local why
    if why=$(python3 - "$file" "$@" 2>&1 <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
info = {k: int(v) for k, v in (a.split("=") for a in sys.argv[2].split(",") if a)} if "=" in sys.argv[2] else {}
for e in sys.argv[3:]:
    if not eval(e):
        print("failed:", e, "in", json.dumps(j))
        sys.exit(1)
PY
    ); then t_ok "$name"; else t_fail "$name" "$why"; fi
}
# info_figures MODEL [--batch N]: "macs=...,arena=..." from wakewordd info
info_figures() {
    "$WW" info "$@" | awk '$1 == "MACs" { m = $2 } $1 == "arena" { a = $2 }
        END { printf "macs=%s,arena=%s", m, a }'
}

t_run help 0 "$WW" bench --help && grep -q "usage: wakewordd bench" <<<"$OUT" && t_ok help

if t_run float_json 0 "$WW" bench --runs 5 --warmup 2 --json "$M"; then
    echo "$OUT" >"$TMP/f.json"
    check_json float_json "$TMP/f.json" "$(info_figures "$M")" \
        'j["macs"] == info["macs"] == 4416384' 'j["arena_bytes"] == info["arena"] > 0' \
        'j["kind"] == "float" and j["execution"] == "float"' \
        'j["threads"] == 1 and j["batch"] == 1 and j["runs"] == 5 and j["warmup"] == 2' \
        'j["input_shape"] == "1x1x64x101"' \
        '0 < j["min_ms"] <= j["median_ms"] <= j["p95_ms"] <= j["p99_ms"]' \
        'abs(j["inferences_per_s"] * j["median_ms"] / 1000 - 1) < 1e-3' \
        'abs(j["macs_per_s"] * j["median_ms"] / 1000 / j["macs"] - 1) < 1e-3' \
        "j[\"load_ms\"] > 0 and j[\"isa\"] in \"$(t_isa_names)\".split()"
fi
if t_run batch4_json 0 "$WW" bench --runs 5 --warmup 1 --batch 4 --json "$M"; then
    echo "$OUT" >"$TMP/b.json"
    check_json batch4_json "$TMP/b.json" "$(info_figures --batch 4 "$M")" \
        'j["macs"] == info["macs"] == 4 * 4416384' 'j["arena_bytes"] == info["arena"]' \
        'j["batch"] == 4 and j["input_shape"] == "4x1x64x101"' \
        'abs(j["inferences_per_s"] * j["median_ms"] / 4000 - 1) < 1e-3'
fi
# a QDQ model says how it ran, as `info` counts its int8 steps; WW_INT8=0
# keeps it float-simulated
info_int8() { # MODEL: "int8=N" from info's "int8  N of M steps" line
    "$WW" info "$1" | awk '$1 == "int8" { printf "int8=%s", $2 }'
}
for fx in qdq_w8_u8 qdq_w8_s8; do
    Q=$FIX/$fx/model.onnx
    if t_run "qdq_execution_$fx" 0 "$WW" bench --runs 3 --warmup 1 --json "$Q"; then
        echo "$OUT" >"$TMP/q.json"
        check_json "qdq_execution_$fx" "$TMP/q.json" "$(info_figures "$Q"),$(info_int8 "$Q")" \
            'j["kind"] == "QDQ int8" and j["macs"] == info["macs"] > 0' \
            'j["int8_steps"] == info["int8"] <= j["steps"]' \
            '(j["execution"] == "float-simulated QDQ") == (j["int8_steps"] == 0)' \
            'j["execution"] in ("float-simulated QDQ", "int8 kernels", "partly int8 kernels (the rest float-simulated QDQ)")'
    fi
done
# the uint8 fixture is the quantizer's layout: it must run on the int8 kernels
Q=$FIX/qdq_w8_u8/model.onnx
if t_run qdq_u8_on_int8_kernels 0 "$WW" bench --runs 3 --warmup 1 --json "$Q"; then
    echo "$OUT" >"$TMP/q8.json"
    check_json qdq_u8_on_int8_kernels "$TMP/q8.json" "" 'j["execution"] == "int8 kernels"'
fi
# --profile: one entry per executed step, in order, their MACs summing to the
# model's, each with a time; the int8 steps say so in their op name
if t_run profile_json 0 "$WW" bench --runs 4 --warmup 1 --profile --json "$Q"; then
    echo "$OUT" >"$TMP/p.json"
    check_json profile_json "$TMP/p.json" "" \
        'len(j["profile"]) == j["steps"]' \
        'sum(s["macs"] for s in j["profile"]) == j["macs"]' \
        'all(s["mean_us"] > 0 for s in j["profile"] if s["macs"] > 0)' \
        'sum(s["op"].endswith("(int8)") for s in j["profile"]) == j["int8_steps"]' \
        'any(s["op"] == "Conv(int8)" for s in j["profile"])'
fi
if t_run profile_text 0 "$WW" bench --runs 3 --warmup 1 --profile "$Q" &&
    grep -q "^profile    mean per step" <<<"$OUT" && grep -qE "^  [0-9]+ +Conv\(int8\) " <<<"$OUT"; then
    t_ok profile_text
else
    t_fail profile_text "$OUT"
fi
if t_run qdq_int8_off 0 env WW_INT8=0 "$WW" bench --runs 3 --warmup 1 --json "$Q"; then
    echo "$OUT" >"$TMP/qoff.json"
    check_json qdq_int8_off "$TMP/qoff.json" "" \
        'j["execution"] == "float-simulated QDQ" and j["int8_steps"] == 0'
fi
# --isa picks the kernels and is reported; the scalar ones give the same MACs
if t_run isa_scalar 0 "$WW" bench --runs 3 --warmup 1 --isa scalar --json "$M"; then
    echo "$OUT" >"$TMP/s.json"
    check_json isa_scalar "$TMP/s.json" "" 'j["isa"] == "scalar"' 'j["macs"] == 4416384'
fi
if grep -qw avx2 /proc/cpuinfo; then
    t_run isa_avx2 0 "$WW" bench --runs 3 --warmup 1 --isa avx2 "$M" &&
        grep -qF "ISA avx2, 1 thread" <<<"$OUT" && t_ok isa_avx2
fi
if grep -qw avx_vnni /proc/cpuinfo; then
    t_run isa_avxvnni 0 "$WW" bench --runs 3 --warmup 1 --isa avxvnni "$M" &&
        grep -qF "ISA avxvnni, 1 thread" <<<"$OUT" && t_ok isa_avxvnni
fi
if t_run text 0 "$WW" bench --runs 5 --warmup 1 "$M"; then
    miss=""
    for w in "engine     float, ISA " "arena      428160 bytes" "MACs       4416384 per run" \
        "latency    median " "(5 runs after 1 warm-up)" " inferences/s, " " GMAC/s"; do
        grep -qF -- "$w" <<<"$OUT" || miss="$miss [$w]"
    done
    [ -z "$miss" ] && t_ok text || t_fail text "missing:$miss" "$OUT"
fi

# usage errors: exit 2, the reason first
usage_error() { # NAME NEEDLE ARGS...
    local name=$1 needle=$2
    shift 2
    t_run "$name" 2 "$WW" bench "$@" || return
    if head -1 <<<"$ERR" | grep -qF -- "$needle"; then t_ok "$name"; else t_fail "$name" "$ERR"; fi
}
usage_error threads_refused "the engine is single-threaded" --threads 2 "$M"
usage_error threads_bad "--threads: 'x' is not a count" --threads x "$M"
usage_error runs_zero "--runs: '0' is not a count" --runs 0 "$M"
usage_error runs_garbage "--runs: '5x' is not a count" --runs 5x "$M"
usage_error batch_bad "--batch: '-1' is not a count" --batch -1 "$M"
usage_error isa_unknown "--isa: unknown ISA 'sse9'" --isa sse9 "$M"
usage_error no_model "expected one MODEL.onnx, got 0" --runs 3
usage_error bad_option "unknown option '--nope'" --nope "$M"
# runtime errors: exit 1, one line
if [ "$(uname -m)" = x86_64 ]; then
    t_expect_error isa_not_on_cpu "ISA neondot is not supported" "$WW" bench --isa neondot "$M"
fi
t_expect_error missing "nope.onnx: No such file" "$WW" bench "$TMP/nope.onnx"
head -c 1000 "$M" >"$TMP/trunc.onnx"
t_expect_error truncated "trunc.onnx: not an ONNX model" "$WW" bench "$TMP/trunc.onnx"
# a model with a fixed batch of 2 runs at it (and counts 2 inferences a run);
# asking for another batch fails cleanly
GEMM=/usr/share/libonnx-testdata/data/node/test_gemm_default_no_bias/model.onnx
if [ -f "$GEMM" ]; then
    if t_run fixed_batch 0 "$WW" bench --runs 3 --warmup 0 --json "$GEMM"; then
        echo "$OUT" >"$TMP/g.json"
        check_json fixed_batch "$TMP/g.json" "$(info_figures "$GEMM")" \
            'j["batch"] == 2 and j["macs"] == info["macs"] == 60' \
            'abs(j["inferences_per_s"] * j["median_ms"] / 2000 - 1) < 1e-3'
    fi
    t_expect_error fixed_batch_mismatch "has a fixed batch of 2, not 3" "$WW" bench --batch 3 \
        --runs 1 "$GEMM"
fi
t_done
