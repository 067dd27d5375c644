#!/bin/bash
# wakewordd validate: a model against itself is identical (cosine 1, top-1
# 100 %, max |d| 0); against its int8 quantization it prints exactly the parity
# quantize reports for the same windows (one implementation, quant/report.c)
# and the latency of both; bad input fails with one line.
. "$(dirname "$0")/lib.sh"
F=$ROOT/tests/fixtures/quant
M=$F/narrow_resnet18.onnx
RELU=/usr/share/libonnx-testdata/data/node/test_relu/model.onnx

# check_json NAME FILE PYTHON-EXPR...: every expression over the parsed
# object `j` must hold (`q`: the second file, when given as FILE:FILE2)
check_json() {
    local name=$1 file=$2
    shift 2
    local why
    if why=$(python3 - "$file" "$@" 2>&1 <<'PY'
import json, sys
files = sys.argv[1].split(":")
j = json.load(open(files[0]))
q = json.load(open(files[1])) if len(files) > 1 else None
for e in sys.argv[2:]:
    if not eval(e):
        print("failed:", e, "in", json.dumps(j))
        sys.exit(1)
PY
    ); then t_ok "$name"; else t_fail "$name" "$why"; fi
}

t_run help 0 "$WW" validate --help && grep -q "usage: wakewordd validate" <<<"$OUT" && t_ok help

if t_run self_identical 0 "$WW" validate "$M" "$M" --data "$F/inputs.npy" --runs 5 --json; then
    echo "$OUT" >"$TMP/self.json"
    check_json self_identical "$TMP/self.json" \
        'j["parity"]["windows"] == 16 and j["files"] == 1' \
        'j["parity"]["cosine"] == 1 and j["parity"]["top1_agreement"] == 1' \
        'j["parity"]["max_abs_diff"] == 0 and j["parity"]["score_mean_abs_diff"] == 0' \
        'j["latency"]["runs"] == 5 and j["latency"]["int8_execution"] == "float"' \
        '0 < j["latency"]["float_median_ms"] <= j["latency"]["float_p95_ms"]' \
        '0 < j["latency"]["int8_median_ms"] <= j["latency"]["int8_p95_ms"]' \
        'j["size"]["ratio"] == 1 and j["float_kind"] == j["int8_kind"] == "float"'
fi

# the int8 model, and quantize's own report on the same held-out windows
if t_run quantize_fixture 0 "$WW" quantize "$M" --calib "$F/calib" --validate "$F/valid" \
    --hop-frames 8 --latency-runs 0 -q --report "$TMP/qz.json" -o "$TMP/int8.onnx"; then
    t_ok quantize_fixture
    if t_run int8_parity 0 "$WW" validate "$M" "$TMP/int8.onnx" --data "$F/valid" \
        --hop-frames 8 --runs 5 --report "$TMP/v.json"; then
        check_json int8_parity "$TMP/v.json:$TMP/qz.json" \
            'j["parity"]["windows"] == 150 and j["files"] == 6' \
            'j["parity"] == q["parity"]' \
            '0.99 <= j["parity"]["cosine"] < 1 and j["parity"]["top1_agreement"] >= 0.99' \
            'j["int8_kind"] == "QDQ int8" and j["size"]["ratio"] > 2.5' \
            'j["latency"]["int8_execution"] == "int8 kernels"'
        miss=""
        for w in "size: float 711631 bytes, int8 " "parity (150 windows): logits max|d| " \
            "top-1 agreement " "latency (wakewordd engine, batch 1, 5 runs; int8 = "; do
            grep -qF -- "$w" <<<"$OUT" || miss="$miss [$w]"
        done
        [ -z "$miss" ] && t_ok int8_table || t_fail int8_table "missing:$miss" "$OUT"
    fi
    # --isa scalar runs the same arithmetic: the same parity
    if t_run isa_scalar 0 "$WW" validate "$M" "$TMP/int8.onnx" --data "$F/inputs.npy" --runs 0 \
        --isa scalar --json; then
        echo "$OUT" >"$TMP/s.json"
        check_json isa_scalar "$TMP/s.json" 'j["isa"] == "scalar" and "latency" not in j' \
            'j["parity"]["windows"] == 16 and j["parity"]["cosine"] > 0.99'
    fi
fi

usage_error() { # NAME NEEDLE ARGS...
    local name=$1 needle=$2
    shift 2
    t_run "$name" 2 "$WW" validate "$@" || return
    if head -1 <<<"$ERR" | grep -qF -- "$needle"; then t_ok "$name"; else t_fail "$name" "$ERR"; fi
}
usage_error no_data "--data DATA is required" "$M" "$M"
usage_error one_model "expected FLOAT.onnx and INT8.onnx, got 1" "$M" --data "$F/inputs.npy"
usage_error runs_bad "--runs: 'many' is not a count" "$M" "$M" --data "$F/inputs.npy" --runs many
usage_error hop_bad "--hop-frames: '0' is not a positive count" "$M" "$M" --data "$F/valid" \
    --hop-frames 0
usage_error isa_unknown "--isa: unknown ISA 'mmx'" "$M" "$M" --data "$F/inputs.npy" --isa mmx
usage_error bad_option "unknown option '--nope'" "$M" "$M" --nope

if [ -f "$RELU" ]; then
    t_expect_error different_inputs "not the same model's input" "$WW" validate "$M" "$RELU" \
        --data "$F/inputs.npy"
fi
t_expect_error missing_model "nope.onnx: No such file" "$WW" validate "$M" "$TMP/nope.onnx" \
    --data "$F/inputs.npy"
t_expect_error missing_data "nodata: No such file" "$WW" validate "$M" "$M" --data "$TMP/nodata"
# every data file unusable: each named in a warning, then the error
printf 'not audio\n' >"$TMP/junk.wav"
if t_run no_usable_data 1 "$WW" validate "$M" "$M" --data "$TMP/junk.wav"; then
    if grep -qF "junk.wav" <<<"$ERR" && tail -1 <<<"$ERR" | grep -qF "no usable data: 1 of 1"; then
        t_ok no_usable_data
    else
        t_fail no_usable_data "$ERR"
    fi
fi
# a report that cannot be written fails and leaves nothing behind
t_expect_error report_unwritable "nodir" "$WW" validate "$M" "$M" --data "$F/inputs.npy" \
    --runs 0 --report "$TMP/nodir/r.json"
t_done
