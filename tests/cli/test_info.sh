#!/bin/bash
# wakewordd info on the ResNet18 fixtures: shapes, op counts, parameters, MACs,
# arena, front end, kind; and its error paths.
. "$(dirname "$0")/lib.sh"
FIX=$ROOT/tests/fixtures/onnx
CONF=/usr/share/libonnx-testdata/data/node

t_run help 0 "$WW" info --help && grep -q "usage: wakewordd info" <<<"$OUT" && t_ok help
t_run bad_option 2 "$WW" info --nope m.onnx && t_ok bad_option
t_run bad_batch 2 "$WW" info --batch 0 "$FIX/resnet18_w8_stem7_op13/model.onnx" && t_ok bad_batch

if t_run resnet 0 "$WW" info "$FIX/resnet18_w8_stem7_op13/model.onnx"; then
    want=("opset 13" "kind       float" "input      features float32 [?, 1, 64, 101]"
        "output     logits float32 [?, 2]" "Conv 20" "Relu 17" "Add 8" "Gemm 1"
        "params     175458" "MACs       4416384" "24 steps" "sample_rate=16000" "n_mels=64"
        "labels=other,wakeword")
    miss=""
    for w in "${want[@]}"; do grep -qF -- "$w" <<<"$OUT" || miss="$miss [$w]"; done
    [ -z "$miss" ] && t_ok resnet || t_fail resnet "missing:$miss" "$OUT"
fi
# MACs scale with the batch; the BN-kept export has more nodes, same MACs
t_run batch4 0 "$WW" info --batch 4 "$FIX/resnet18_w8_stem7_op13/model.onnx" &&
    grep -qF "MACs       17665536" <<<"$OUT" && t_ok batch4
t_run bn_kept 0 "$WW" info "$FIX/resnet18_w8_stem7_op13_bn/model.onnx" &&
    grep -qF "BatchNormalization 20" <<<"$OUT" && grep -qF "MACs       4416384" <<<"$OUT" &&
    grep -qF "no front-end settings" <<<"$OUT" && t_ok bn_kept
t_run qdq_kind 0 "$WW" info "$CONF/test_quantizelinear/model.onnx" &&
    grep -qF "kind       QDQ int8" <<<"$OUT" && t_ok qdq_kind
# models the engine cannot run are still described, with the reason
t_run dynamic_kind 0 "$WW" info "$CONF/test_dynamicquantizelinear/model.onnx" &&
    grep -qF "kind       dynamic-quantized int8" <<<"$OUT" &&
    grep -qF "(DynamicQuantizeLinear): operator not supported" <<<"$OUT" && t_ok dynamic_kind
t_run fp16_kind 0 "$WW" info "$CONF/test_cast_FLOAT_to_FLOAT16/model.onnx" &&
    grep -qF "kind       fp16" <<<"$OUT" && grep -qF "engine     cannot run it:" <<<"$OUT" &&
    t_ok fp16_kind
# fixed shapes other than batch 1 are taken as declared
t_run fixed_batch 0 "$WW" info "$CONF/test_gemm_default_no_bias/model.onnx" &&
    grep -qF "input      a float32 [2, 10]" <<<"$OUT" && grep -qF "MACs       60 " <<<"$OUT" &&
    t_ok fixed_batch
t_expect_error missing "nope.onnx: No such file" "$WW" info "$TMP/nope.onnx"
head -c 1000 "$FIX/resnet18_w8_stem7_op13/model.onnx" >"$TMP/trunc.onnx"
t_expect_error truncated "trunc.onnx: not an ONNX model" "$WW" info "$TMP/trunc.onnx"
t_done
