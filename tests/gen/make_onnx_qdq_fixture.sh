#!/bin/bash
# QDQ int8 versions of a committed ResNet18 parity fixture (made by
# `wakewordd quantize`: uint8 asymmetric and int8 symmetric activations,
# per-channel int8 weights), with ONNX Runtime's outputs for them computed
# with graph optimisations disabled (QuantizeLinear/DequantizeLinear run as
# written) — the reference for the engine's float-simulated QDQ path.
#   tests/gen/make_onnx_qdq_fixture.sh [BUILD]      (needs node + onnxruntime-node)
set -eu
cd "$(dirname "$0")/../.."
ww=${1:-build}/wakewordd
src=tests/fixtures/onnx/resnet18_w8_stem7_op13
for kind in u8 s8; do
    out=tests/fixtures/onnx/qdq_w8_$kind
    mkdir -p "$out"
    extra=""
    [ "$kind" = s8 ] && extra=--symmetric-activations
    "$ww" quantize "$src/model.onnx" --calib "$src/input.npy" -o "$out/model.onnx" --force \
        --latency-runs 0 -q $extra
    cp "$src/input.npy" "$out/input.npy"
    node tests/gen/ort_onnx_reference.mjs "$out/model.onnx" "$out/input.npy" "$out/output.npy"
    echo "$out: $(stat -c %s "$out/model.onnx") bytes"
done
