#!/bin/bash
# wakewordd quantize: the QDQ model loads and runs in ONNX Runtime and matches
# wakewordd's float-simulated execution within one output quantization step;
# parity on held-out speech/noise windows; bad input paths.
source "$(dirname "$0")/lib.sh"
F=$ROOT/tests/fixtures/quant
M=$F/narrow_resnet18.onnx
have_ort=0
node -e 'require("onnxruntime-node")' >/dev/null 2>&1 && have_ort=1
cd "$ROOT" || exit 1

json_get() { # FILE KEY: the first number after "KEY":
    grep -o "\"$2\": [-0-9.e+]*" "$1" | head -1 | sed 's/.*: //'
}

# --- the main run: per-channel + percentile, speech/noise windows every 8 frames
if t_run "quantize_percentile_per_channel" 0 "$WW" quantize "$M" --calib "$F/calib" \
    --validate "$F/valid" --hop-frames 8 --method percentile --latency-runs 3 \
    --report "$TMP/pc.json" -o "$TMP/pc.onnx"; then
    if [ -s "$TMP/pc.onnx" ] && grep -q "top-1 agreement" <<<"$OUT" && grep -q '"layers"' "$TMP/pc.json"; then
        t_ok "quantize_percentile_per_channel"
    else
        t_fail "quantize_percentile_per_channel" "no model or report: ${OUT:0:300}"
    fi
fi

# (b) realistic inputs: top-1 >= 99%, cosine >= 0.99
top1=$(json_get "$TMP/pc.json" top1_agreement)
cos=$(json_get "$TMP/pc.json" cosine)
n=$(json_get "$TMP/pc.json" windows)
if awk -v t="$top1" -v c="$cos" -v n="$n" 'BEGIN { exit !(n >= 100 && t >= 0.99 && c >= 0.99) }'; then
    t_ok "parity_on_speech_and_noise"
else
    t_fail "parity_on_speech_and_noise" "windows $n, top-1 $top1, cosine $cos"
fi

# the same with the KL-divergence (entropy) calibrator
if t_run "quantize_entropy_per_channel" 0 "$WW" quantize "$M" --calib "$F/calib" --validate "$F/valid" \
    --hop-frames 8 --method entropy --latency-runs 0 -q --report "$TMP/en.json" -o "$TMP/en.onnx"; then
    top1=$(json_get "$TMP/en.json" top1_agreement) cos=$(json_get "$TMP/en.json" cosine)
    if awk -v t="$top1" -v c="$cos" 'BEGIN { exit !(t >= 0.99 && c >= 0.99) }'; then
        t_ok "quantize_entropy_per_channel"
    else
        t_fail "quantize_entropy_per_channel" "top-1 $top1, cosine $cos"
    fi
fi

# per-tensor minmax is measurably worse: lower weight SQNR and larger keyword-score error
if t_run "quantize_minmax_per_tensor" 0 "$WW" quantize "$M" --calib "$F/calib" --validate "$F/valid" \
    --hop-frames 8 --method minmax --per-tensor --latency-runs 0 -q --report "$TMP/pt.json" \
    -o "$TMP/pt.onnx"; then
    wsq() { grep '"kind": "weight"' "$1" | grep -o '"sqnr_db": [-0-9.e+]*' | awk '{s += $2; n++} END {print s / n}'; }
    a=$(wsq "$TMP/pc.json") b=$(wsq "$TMP/pt.json")
    sa=$(json_get "$TMP/pc.json" score_mean_abs_diff) sb=$(json_get "$TMP/pt.json" score_mean_abs_diff)
    if awk -v a="$a" -v b="$b" -v sa="$sa" -v sb="$sb" 'BEGIN { exit !(b < a - 3 && sb > sa) }'; then
        t_ok "per_tensor_minmax_is_worse"
    else
        t_fail "per_tensor_minmax_is_worse" "weight SQNR per-channel $a dB vs per-tensor $b dB; score |d| $sa vs $sb"
    fi
fi

# (a) ONNX Runtime runs the QDQ model and matches wakewordd within one output step
if [ "$have_ort" = 1 ] && [ -s "$TMP/pc.onnx" ]; then
    lo=$(grep -A0 '"tensor": "logits"' "$TMP/pc.json" | grep -o '"min": [-0-9.e+]*' | sed 's/.*: //')
    hi=$(grep -A0 '"tensor": "logits"' "$TMP/pc.json" | grep -o '"max": [-0-9.e+]*' | sed 's/.*: //')
    step=$(awk -v lo="$lo" -v hi="$hi" 'BEGIN { if (lo > 0) lo = 0; if (hi < 0) hi = 0; printf "%.9g", (hi - lo) / 255 * 1.001 }')
    mkdir -p "$TMP/ww"
    if node tests/ort/run_npy.mjs "$TMP/pc.onnx" "$F/inputs.npy" "$TMP/ort.npy" 2>"$TMP/ort.err" &&
        "$WW" infer "$TMP/pc.onnx" --input "$F/inputs.npy" --output-dir "$TMP/ww" --npy >/dev/null 2>&1; then
        if cmp=$(node tests/ort/compare_npy.mjs "$TMP/ort.npy" "$TMP/ww/logits.npy" "$step"); then
            t_ok "ort_runs_qdq_and_matches_within_one_step"
        else
            t_fail "ort_runs_qdq_and_matches_within_one_step" "step $step: $cmp"
        fi
    else
        t_fail "ort_runs_qdq_and_matches_within_one_step" "$(cat "$TMP/ort.err")"
    fi
else
    echo "ok - ort_runs_qdq_and_matches_within_one_step # SKIP onnxruntime-node not installed"
fi

# the ONNX helper's ResNet18 variants whose graphs differ from the main
# fixture's (unfolded BatchNorm; a Shape/Gather/Reshape head): ORT's reference execution of each
# QDQ output (optimisations off: Q/DQ in float, as the ONNX spec defines them)
# matches wakewordd within one output step; ORT's fused int8 kernels round
# each requantization on their own, which may add one more step.
if [ "$have_ort" = 1 ]; then
    for d in "$ROOT"/tests/fixtures/onnx/resnet18_*_bn "$ROOT"/tests/fixtures/onnx/resnet18_*_viewhead_*; do
        [ -f "$d/model.onnx" ] || continue
        v=$(basename "$d")
        name="ort_matches_on_$v"
        rm -rf "$TMP/v" && mkdir -p "$TMP/v/ww"
        if ! t_run "$name" 0 "$WW" quantize "$d/model.onnx" --calib "$F/inputs.npy" --latency-runs 0 -q \
            --report "$TMP/v/r.json" -o "$TMP/v/q.onnx"; then continue; fi
        if ! node tests/ort/run_npy.mjs "$TMP/v/q.onnx" "$F/inputs.npy" "$TMP/v/ref.npy" --opt disabled 2>"$TMP/v/err" ||
            ! node tests/ort/run_npy.mjs "$TMP/v/q.onnx" "$F/inputs.npy" "$TMP/v/int8.npy" 2>>"$TMP/v/err" ||
            ! "$WW" infer "$TMP/v/q.onnx" --input "$F/inputs.npy" --output-dir "$TMP/v/ww" --npy >/dev/null 2>>"$TMP/v/err"; then
            t_fail "$name" "$(cat "$TMP/v/err")"
            continue
        fi
        out=$(ls "$TMP/v/ww" | head -1)
        line=$(grep "\"tensor\": \"${out%.npy}\"" "$TMP/v/r.json")
        lo=$(grep -o '"min": [-0-9.e+]*' <<<"$line" | sed 's/.*: //')
        hi=$(grep -o '"max": [-0-9.e+]*' <<<"$line" | sed 's/.*: //')
        step=$(awk -v lo="${lo:-0}" -v hi="${hi:-0}" 'BEGIN { if (lo > 0) lo = 0; if (hi < 0) hi = 0; printf "%.9g", (hi - lo) / 255 * 1.001 }')
        two=$(awk -v s="$step" 'BEGIN { printf "%.9g", 2 * s }')
        if c1=$(node tests/ort/compare_npy.mjs "$TMP/v/ref.npy" "$TMP/v/ww/$out" "$step") &&
            c2=$(node tests/ort/compare_npy.mjs "$TMP/v/int8.npy" "$TMP/v/ww/$out" "$two"); then
            t_ok "$name"
        else
            t_fail "$name" "step $step: reference: $c1; int8 kernels: ${c2:-}"
        fi
    done
fi

# the output is a valid ONNX model (official checker, when Debian's python3-onnx is there)
if [ -s "$TMP/pc.onnx" ] && /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
    if msg=$(/usr/bin/python3 - "$TMP/pc.onnx" 2>&1 <<'EOF'
import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
ops = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")]
assert ops and ops[0] >= 13, ops
kinds = {n.op_type for n in m.graph.node}
assert {"QuantizeLinear", "DequantizeLinear", "Conv", "Add", "Gemm"} <= kinds, kinds
assert "Relu" not in kinds, "Relu should be folded into its producer's quantization"
meta = {p.key: p.value for p in m.metadata_props}
assert meta.get("sample_rate") == "16000" and meta.get("quantization_method") == "percentile 99.99", meta
axes = [a.i for n in m.graph.node if n.op_type == "DequantizeLinear" for a in n.attribute if a.name == "axis"]
assert len(axes) >= 20, "per-channel DequantizeLinear on every Conv weight"
EOF
    ); then
        t_ok "output_passes_onnx_checker"
    else
        t_fail "output_passes_onnx_checker" "$msg"
    fi
else
    echo "ok - output_passes_onnx_checker # SKIP python3-onnx not installed"
fi

# --mode fp16: half the size, and ONNX Runtime's float16 run stays close to
# wakewordd's float32 one
if t_run "fp16_mode" 0 "$WW" quantize "$M" --mode fp16 -o "$TMP/f16.onnx"; then
    if [ "$have_ort" = 1 ]; then
        mkdir -p "$TMP/f32out"
        if node tests/ort/run_npy.mjs "$TMP/f16.onnx" "$F/inputs.npy" "$TMP/f16.npy" 2>"$TMP/ort.err" &&
            "$WW" infer "$M" --input "$F/inputs.npy" --output-dir "$TMP/f32out" --npy >/dev/null 2>&1 &&
            cmp=$(node tests/ort/compare_npy.mjs "$TMP/f16.npy" "$TMP/f32out/logits.npy" 0.05); then
            t_ok "fp16_mode"
        else
            t_fail "fp16_mode" "$(cat "$TMP/ort.err") $cmp"
        fi
    else
        echo "ok - fp16_mode # SKIP onnxruntime-node not installed"
    fi
fi

# --mode dynamic: ConvInteger with run-time activation quantization; ORT runs
# it and stays close to wakewordd's float32 output
if t_run "dynamic_mode" 0 "$WW" quantize "$M" --mode dynamic -o "$TMP/dyn.onnx"; then
    if [ "$have_ort" = 1 ]; then
        mkdir -p "$TMP/f32out"
        if node tests/ort/run_npy.mjs "$TMP/dyn.onnx" "$F/inputs.npy" "$TMP/dyn.npy" 2>"$TMP/ort.err" &&
            "$WW" infer "$M" --input "$F/inputs.npy" --output-dir "$TMP/f32out" --npy >/dev/null 2>&1 &&
            cmp=$(node tests/ort/compare_npy.mjs "$TMP/dyn.npy" "$TMP/f32out/logits.npy" 0.25); then
            t_ok "dynamic_mode"
        else
            t_fail "dynamic_mode" "$(cat "$TMP/ort.err") $cmp"
        fi
    else
        echo "ok - dynamic_mode # SKIP onnxruntime-node not installed"
    fi
fi

# calibration from model inputs in a .npy
t_run "calib_from_npy" 0 "$WW" quantize "$M" --calib "$F/inputs.npy" --latency-runs 0 -q \
    -o "$TMP/npy.onnx" && { [ -s "$TMP/npy.onnx" ] && t_ok "calib_from_npy" || t_fail "calib_from_npy" "no output"; }

# audio at another rate is resampled (and said so)
if t_run "calib_resampled" 0 "$WW" quantize "$M" --calib "$F/valid_22k.wav" --latency-runs 0 \
    -o "$TMP/r.onnx"; then
    grep -q "resampled to 16000 Hz" <<<"$ERR" && t_ok "calib_resampled" || t_fail "calib_resampled" "$ERR"
fi

# in-graph input normalisation (x - x.mean(dim=3, keepdim=True): ReduceMean +
# Sub, tests/gen/export_mean_norm.py) stays float ahead of the first
# QuantizeLinear; the convs, the pool and the Gemm behind it run on the int8
# kernels, within one output step of the float simulation
MN=$ROOT/tests/fixtures/onnx/meannorm_conv_op17
if t_run "mean_norm_input_stays_float" 0 "$WW" quantize "$MN/model.onnx" --calib "$MN/input.npy" \
    --latency-runs 0 -q --report "$TMP/mn.json" -o "$TMP/mn.onnx"; then
    floats=$(grep -o '"float_nodes": \[.*\]' "$TMP/mn.json" | grep -o '"op_type": "[A-Za-z]*"' | sed 's/.*: //' | tr -d '"' | tr '\n' ' ')
    steps=$("$WW" bench --profile --runs 1 --warmup 0 "$TMP/mn.onnx" 2>&1 |
        awk '$1 ~ /^[0-9]+$/ && NF >= 3 { printf "%s ", $2 }')
    if [ "$floats" = "ReduceMean Sub Flatten " ] &&
        [[ "$steps" == "ReduceMean Sub QuantizeLinear(int8) Conv(int8) Conv(int8) GlobalAveragePool(int8) "*"Gemm(int8) "* ]]; then
        t_ok "mean_norm_input_stays_float"
    else
        t_fail "mean_norm_input_stays_float" "left float: '$floats'" "steps: '$steps'"
    fi
    line=$(grep '"tensor": "logits"' "$TMP/mn.json")
    lo=$(grep -o '"min": [-0-9.e+]*' <<<"$line" | sed 's/.*: //')
    hi=$(grep -o '"max": [-0-9.e+]*' <<<"$line" | sed 's/.*: //')
    step=$(awk -v lo="${lo:-0}" -v hi="${hi:-0}" 'BEGIN { if (lo > 0) lo = 0; if (hi < 0) hi = 0; printf "%.9g", (hi - lo) / 255 * 1.001 }')
    mkdir -p "$TMP/mn8" "$TMP/mnsim"
    if "$WW" infer "$TMP/mn.onnx" --input "$MN/input.npy" --output-dir "$TMP/mn8" --npy >/dev/null 2>&1 &&
        WW_INT8=0 "$WW" infer "$TMP/mn.onnx" --input "$MN/input.npy" --output-dir "$TMP/mnsim" --npy >/dev/null 2>&1 &&
        c=$(node tests/ort/compare_npy.mjs "$TMP/mnsim/logits.npy" "$TMP/mn8/logits.npy" "$step"); then
        t_ok "mean_norm_int8_matches_float_simulated"
    else
        t_fail "mean_norm_int8_matches_float_simulated" "step $step: ${c:-infer failed}"
    fi
fi

# the same model exported at opset 11 (ReduceMean-11 means what ReduceMean-13
# does) is lifted to 13 for the per-channel DequantizeLinears, not refused
if /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
    /usr/bin/python3 - "$MN/model.onnx" "$TMP/mn11.onnx" <<'EOF'
import sys, onnx
m = onnx.load(sys.argv[1])
for o in m.opset_import:
    if o.domain in ("", "ai.onnx"):
        o.version = 11
onnx.save(m, sys.argv[2])
EOF
    t_run "mean_norm_opset11_lifted" 0 "$WW" quantize "$TMP/mn11.onnx" --calib "$MN/input.npy" \
        --latency-runs 0 -q -o "$TMP/mn11q.onnx" && t_ok "mean_norm_opset11_lifted"
else
    echo "ok - mean_norm_opset11_lifted # SKIP python3-onnx not installed"
fi

# --- bad input
t_expect_error "already_quantized" "already quantized" \
    "$WW" quantize "$TMP/pc.onnx" --calib "$F/calib" -o "$TMP/again.onnx"
echo x >"$TMP/exists.onnx"
t_expect_error "output_exists" "exists; use --force" \
    "$WW" quantize "$M" --calib "$F/calib" -o "$TMP/exists.onnx"
[ "$(cat "$TMP/exists.onnx")" = x ] || t_fail "output_exists_untouched" "the existing file changed"
t_expect_error "unsupported_op" "odd_sin' (Sin): operator not supported" \
    "$WW" quantize "$F/unsupported_op.onnx" --calib "$F/calib" -o "$TMP/u.onnx"

# calibration files that are all unusable: each named and skipped, then an error
mkdir -p "$TMP/bad"
: >"$TMP/bad/empty.wav"
echo "not audio" >"$TMP/bad/text.wav"
cp "$ROOT/tests/fixtures/mel/silence.wav" "$TMP/bad/silence.wav"
if t_run "no_calibration_left" 1 "$WW" quantize "$M" --calib "$TMP/bad" -o "$TMP/b.onnx"; then
    if grep -q "no usable calibration data: 3 of 3 files skipped" <<<"$ERR" &&
        grep -q "silence.wav: silent" <<<"$ERR" && grep -q "empty.wav" <<<"$ERR" &&
        [ ! -e "$TMP/b.onnx" ]; then
        t_ok "no_calibration_left"
    else
        t_fail "no_calibration_left" "$ERR"
    fi
fi
t_run "missing_calib_path" 1 "$WW" quantize "$M" --calib "$TMP/nope" -o "$TMP/n.onnx" &&
    { grep -q "nope: No such file" <<<"$ERR" && t_ok "missing_calib_path" || t_fail "missing_calib_path" "$ERR"; }

# an interrupted run leaves no output and no temporary file
mkdir -p "$TMP/int"
"$WW" quantize "$M" --calib "$F/calib" --latency-runs 1000000 -q -o "$TMP/int/x.onnx" 2>/dev/null &
pid=$!
sleep 2
kill -INT "$pid" 2>/dev/null
wait "$pid"
st=$?
if [ "$st" -ne 0 ] && [ -z "$(ls -A "$TMP/int")" ]; then
    t_ok "interrupt_leaves_nothing"
else
    t_fail "interrupt_leaves_nothing" "status $st, left: $(ls -A "$TMP/int")"
fi

# usage
t_run "help" 0 "$WW" quantize --help && { grep -q -- "--method" <<<"$OUT" && t_ok "help" || t_fail "help" "$OUT"; }
t_run "bad_method" 2 "$WW" quantize "$M" --calib "$F/calib" -o "$TMP/m.onnx" --method kl &&
    { grep -q "'kl' is not minmax" <<<"$ERR" && t_ok "bad_method" || t_fail "bad_method" "$ERR"; }
t_run "missing_output" 2 "$WW" quantize "$M" --calib "$F/calib" && t_ok "missing_output"
t_run "bad_mode" 2 "$WW" quantize "$M" --calib "$F/calib" -o "$TMP/d.onnx" --mode int4 &&
    t_ok "bad_mode"
t_done
