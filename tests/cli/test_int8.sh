#!/bin/bash
# QDQ models on the int8 kernels (nn/qdq_compile.c): on by default, WW_INT8=0
# runs them float-simulated; the two agree within one output quantization
# step; ONNX Runtime on the same file agrees within one step; every ISA gives
# the same bytes. Models: the QDQ fixtures (uint8 and int8 activations) and
# the narrow ResNet18 quantized here by `wakewordd quantize`.
source "$(dirname "$0")/lib.sh"
F=$ROOT/tests/fixtures/quant
have_ort=0
node -e 'require("onnxruntime-node")' >/dev/null 2>&1 && have_ort=1
cd "$ROOT" || exit 1

# the quantization step of the tensor a graph output is dequantized from
out_step() { # MODEL
    /usr/bin/python3 - "$1" <<'PY' 2>/dev/null
import sys, onnx, onnx.numpy_helper as nh
m = onnx.load(sys.argv[1]); g = m.graph
init = {t.name: t for t in g.initializer}
out = g.output[0].name
for n in g.node:
    if out in n.output and n.op_type == "DequantizeLinear":
        print("%.9g" % (float(nh.to_array(init[n.input[1]]).max()) * 1.001))
        break
PY
}

# --- the narrow fixture, quantized here
Q=$TMP/narrow.int8.onnx
if t_run "quantize_narrow" 0 "$WW" quantize "$F/narrow_resnet18.onnx" --calib "$F/inputs.npy" \
    --latency-runs 0 -q -o "$Q"; then
    t_ok "quantize_narrow"
fi

int8_steps() { # MODEL [env...]: the N of "int8 N of M steps" from info
    env "${@:2}" "$WW" info "$1" | sed -n 's/^int8 *\([0-9]*\) of.*/\1/p'
}

# int8 by default, all of the compute on it; WW_INT8=0 switches it off
n=$(int8_steps "$Q")
n0=$(int8_steps "$Q" WW_INT8=0)
if [ "${n:-0}" -ge 20 ] && [ "$n0" = 0 ]; then
    t_ok "int8_kernels_by_default_and_WW_INT8_0_off"
else
    t_fail "int8_kernels_by_default_and_WW_INT8_0_off" "int8 steps: default '${n:-}', WW_INT8=0 '${n0:-}'"
fi
# uint8 activations (Relu folded), int8 activations (Relu kept between QDQs)
for t in u8 s8; do
    n=$(int8_steps tests/fixtures/onnx/qdq_w8_$t/model.onnx)
    if [ "${n:-0}" -ge 20 ]; then
        t_ok "int8_kernels_run_the_${t}_fixture"
    else
        t_fail "int8_kernels_run_the_${t}_fixture" "int8 steps: '${n:-}'"
    fi
done

# run MODEL INPUT DIR [env...]: infer into DIR/<output>.npy
run() {
    local model=$1 input=$2 dir=$3
    shift 3
    rm -rf "$dir" && mkdir -p "$dir"
    env "$@" "$WW" infer "$model" --input "$input" --output-dir "$dir" --npy >/dev/null 2>"$dir.err" &&
        [ -z "$(grep -E 'AddressSanitizer|runtime error:|LeakSanitizer' "$dir.err")" ]
}
first() { ls "$1"/*.npy | head -1; }

# every kernel ISA this CPU runs (lib.sh: from wakewordd's own list)
ISAS=$(t_isas_run tests/fixtures/onnx/qdq_w8_u8/model.onnx)
[ "$(wc -w <<<"$ISAS")" -ge 2 ] && t_ok "int8_isas_found: $(echo $ISAS)" ||
    t_fail "int8_isas_found" "ISAs run here: '$ISAS' (expected scalar and at least one SIMD)"
for case in "narrow:$Q:$F/inputs.npy" \
    "qdq_w8_u8:tests/fixtures/onnx/qdq_w8_u8/model.onnx:tests/fixtures/onnx/qdq_w8_u8/input.npy" \
    "qdq_w8_s8:tests/fixtures/onnx/qdq_w8_s8/model.onnx:tests/fixtures/onnx/qdq_w8_s8/input.npy"; do
    IFS=: read -r tag model input <<<"$case"
    [ -f "$model" ] || {
        t_fail "int8_matches_float_simulated_$tag" "no model $model"
        continue
    }
    step=$(out_step "$model")
    if [ -z "$step" ]; then
        echo "ok - int8_matches_float_simulated_$tag # SKIP python3-onnx missing"
        continue
    fi
    # (a) int8 kernels vs the float simulation of the same graph
    if run "$model" "$input" "$TMP/$tag.i8" && run "$model" "$input" "$TMP/$tag.sim" WW_INT8=0; then
        if c=$(node tests/ort/compare_npy.mjs "$(first "$TMP/$tag.sim")" "$(first "$TMP/$tag.i8")" "$step"); then
            t_ok "int8_matches_float_simulated_$tag"
        else
            t_fail "int8_matches_float_simulated_$tag" "step $step: $c"
        fi
    else
        t_fail "int8_matches_float_simulated_$tag" "$(cat "$TMP/$tag.i8.err" "$TMP/$tag.sim.err")"
        continue
    fi
    # (b) ONNX Runtime on the same file: its reference execution (Q/DQ as
    # written) within one step; its fused int8 kernels within one step too
    if [ "$have_ort" = 1 ]; then
        if node tests/ort/run_npy.mjs "$model" "$input" "$TMP/$tag.ort_ref.npy" --opt disabled 2>"$TMP/ort.err" &&
            node tests/ort/run_npy.mjs "$model" "$input" "$TMP/$tag.ort.npy" 2>>"$TMP/ort.err"; then
            if c1=$(node tests/ort/compare_npy.mjs "$TMP/$tag.ort_ref.npy" "$(first "$TMP/$tag.i8")" "$step") &&
                c2=$(node tests/ort/compare_npy.mjs "$TMP/$tag.ort.npy" "$(first "$TMP/$tag.i8")" "$step"); then
                t_ok "int8_matches_onnxruntime_$tag"
            else
                t_fail "int8_matches_onnxruntime_$tag" "step $step: reference: $c1; ORT int8: ${c2:-}"
            fi
        else
            t_fail "int8_matches_onnxruntime_$tag" "$(cat "$TMP/ort.err")"
        fi
    else
        echo "ok - int8_matches_onnxruntime_$tag # SKIP onnxruntime-node not installed"
    fi
    # (c) every ISA this CPU runs gives the same bytes
    same=1 why=""
    for isa in $ISAS; do
        if ! run "$model" "$input" "$TMP/$tag.$isa" WW_ISA=$isa; then
            same=0 why="$isa: $(cat "$TMP/$tag.$isa.err")"
        elif ! cmp -s "$(first "$TMP/$tag.$isa")" "$(first "$TMP/$tag.i8")"; then
            same=0 why="$why $isa differs from the default ISA;"
        fi
    done
    if [ $same = 1 ]; then
        t_ok "int8_isas_bit_identical_$tag"
    else
        t_fail "int8_isas_bit_identical_$tag" "$why"
    fi
done

# a float op (Sigmoid) reading a conv's 4-D output with channels and space:
# the conv cannot write NHWC there, so it (and the 4-channel input Q) stay
# float-simulated, and the bytes are the simulation's. Its weight DQ is one the
# loader defers (nn/compile.c): this float conv is what must compute it.
if /usr/bin/python3 - "$TMP/layout.onnx" "$TMP/layout.npy" 2>"$TMP/layout.err" <<'PY'
import sys, numpy as np, onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as T
rng = np.random.default_rng(1)
def c(name, a): return nh.from_array(np.asarray(a), name)
w = rng.integers(-127, 128, size=(8, 4, 3, 3)).astype(np.int8)
ws = (rng.random(8).astype(np.float32) * 0.01 + 0.001)
inits = [c("s_in", np.float32(0.05)), c("z_in", np.uint8(128)),
         c("w", w), c("ws", ws), c("wz", np.zeros(8, np.int8)),
         c("b", rng.integers(-500, 500, size=8).astype(np.int32)), c("bs", (ws * 0.05).astype(np.float32)),
         c("bz", np.zeros(8, np.int32)),
         c("s_c", np.float32(0.08)), c("z_c", np.uint8(120)),
         c("s_o", np.float32(0.004)), c("z_o", np.uint8(0))]
nodes = [h.make_node("QuantizeLinear", ["x", "s_in", "z_in"], ["xq"]),
         h.make_node("DequantizeLinear", ["xq", "s_in", "z_in"], ["xd"]),
         h.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"], axis=0),
         h.make_node("DequantizeLinear", ["b", "bs", "bz"], ["bd"], axis=0),
         h.make_node("Conv", ["xd", "wd", "bd"], ["c1"], pads=[1, 1, 1, 1]),
         h.make_node("QuantizeLinear", ["c1", "s_c", "z_c"], ["c1q"]),
         h.make_node("DequantizeLinear", ["c1q", "s_c", "z_c"], ["c1d"]),
         # a float op on a tensor with channels and space: the conv must stay NCHW
         h.make_node("Sigmoid", ["c1d"], ["sg"]),
         h.make_node("QuantizeLinear", ["sg", "s_o", "z_o"], ["sq"]),
         h.make_node("DequantizeLinear", ["sq", "s_o", "z_o"], ["y"])]
g = h.make_graph(nodes, "layout", [h.make_tensor_value_info("x", T.FLOAT, [1, 4, 6, 7])],
                 [h.make_tensor_value_info("y", T.FLOAT, [1, 8, 6, 7])], inits)
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
m.ir_version = 7
onnx.checker.check_model(m)
onnx.save(m, sys.argv[1])
np.save(sys.argv[2], rng.standard_normal((1, 4, 6, 7)).astype(np.float32) * 3)
PY
then
    n=$(int8_steps "$TMP/layout.onnx")
    if [ "$n" = 0 ] && run "$TMP/layout.onnx" "$TMP/layout.npy" "$TMP/lay.i8" &&
        run "$TMP/layout.onnx" "$TMP/layout.npy" "$TMP/lay.sim" WW_INT8=0 &&
        cmp -s "$TMP/lay.i8/y.npy" "$TMP/lay.sim/y.npy"; then
        t_ok "int8_keeps_nchw_tensors_read_by_float_ops_float"
    else
        t_fail "int8_keeps_nchw_tensors_read_by_float_ops_float" "int8 steps '${n:-}'" "$(cat "$TMP/lay.i8.err" 2>/dev/null)"
    fi
else
    echo "ok - int8_keeps_nchw_tensors_read_by_float_ops_float # SKIP python3-onnx missing"
fi
t_done
