#!/bin/bash
# Makes the fixed QDQ models fuzz_qdq mutates: a small float CNN with every
# pattern nn/qdq_compile.c knows (stem conv on the quantized input, conv+relu,
# conv with a residual add and relu, maxpool, strided conv, global average
# pool, flatten, gemm), quantized by `wakewordd quantize` with uint8
# asymmetric (qdq_u8.onnx) and int8 symmetric (qdq_s8.onnx) activations.
# Attributes at their defaults are written out so the fuzzer can change them.
#   tests/fuzz/make_qdq_template.sh [BUILD]    (needs /usr/bin/python3 + onnx, numpy)
set -eu
cd "$(dirname "$0")/../.."
ww=${1:-build}/wakewordd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp" <<'PY'
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(8)
inits = []
def w(name, *shape, scale=0.4):
    inits.append(numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name))
    return name
def conv(x, y, cin, cout, stride=1, name=None):
    return helper.make_node("Conv", [x, w(y + "_w", cout, cin, 3, 3), w(y + "_b", cout, scale=0.1)], [y],
                            kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[stride, stride],
                            dilations=[1, 1], group=1, name=y)
nodes = [
    conv("x", "c1", 1, 4), helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
    conv("r1", "c2", 4, 4), helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
    conv("r2", "c3", 4, 4),
    helper.make_node("Add", ["c3", "r1"], ["a3"], name="add3"),
    helper.make_node("Relu", ["a3"], ["r3"], name="relu3"),
    helper.make_node("MaxPool", ["r3"], ["p3"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0],
                     dilations=[1, 1], ceil_mode=0, name="pool3"),
    conv("p3", "c4", 4, 8, stride=2), helper.make_node("Relu", ["c4"], ["r4"], name="relu4"),
    helper.make_node("GlobalAveragePool", ["r4"], ["g4"], name="gap"),
    helper.make_node("Flatten", ["g4"], ["f4"], axis=1, name="flatten"),
    helper.make_node("Gemm", ["f4", w("fc_w", 2, 8), w("fc_b", 2, scale=0.1)], ["logits"], transB=1,
                     transA=0, alpha=1.0, beta=1.0, name="fc"),
]
g = helper.make_graph(nodes, "fuzz_qdq",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
                      [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_qdq_template")
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, out + "/float.onnx")
np.save(out + "/calib.npy", rng.standard_normal((32, 1, 8, 8)).astype(np.float32))
PY
"$ww" quantize "$tmp/float.onnx" --calib "$tmp/calib.npy" -o tests/fuzz/qdq_u8.onnx --force \
    --latency-runs 0 -q
"$ww" quantize "$tmp/float.onnx" --calib "$tmp/calib.npy" -o tests/fuzz/qdq_s8.onnx --force \
    --latency-runs 0 -q --symmetric-activations
for k in u8 s8; do
    echo "tests/fuzz/qdq_$k.onnx: $(stat -c %s tests/fuzz/qdq_$k.onnx) bytes, $("$ww" info tests/fuzz/qdq_$k.onnx | grep -i int8)"
done
