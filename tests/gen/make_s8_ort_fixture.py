#!/usr/bin/python3
"""ONNX Runtime's answers for the int8 kernels (tests/fixtures/s8/).

Builds small QDQ ONNX graphs (uint8/int8 activations, int8 per-channel weights,
int32 bias) for conv (strides, pads, dilations, groups, depthwise, ReLU, the
residual join), Add, MaxPool, GlobalAveragePool and QuantizeLinear, runs them
with onnxruntime-node (all graph optimizations, 1 thread: the QDQ groups become
QLinearConv / QLinearAdd ... as in a real deployment) and saves inputs,
parameters and ORT's quantized outputs as .npy. test_kernels_s8 runs the same
data through our kernels.

Needs Debian's python3-onnx + numpy (/usr/bin/python3) and
node_modules/onnxruntime-node (scripts/install-ort.sh).
    /usr/bin/python3 tests/gen/make_s8_ort_fixture.py
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "s8")
rng = np.random.default_rng(20261124)

RUNNER = r"""
const ort = require('onnxruntime-node');
const fs = require('fs');
(async () => {
  const jobs = JSON.parse(fs.readFileSync(process.argv[2]));
  for (const j of jobs) {
    const s = await ort.InferenceSession.create(j.model,
        {graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1});
    const feeds = {};
    for (const f of j.feeds) {
      const buf = fs.readFileSync(f.file);
      const T = {uint8: Uint8Array, int8: Int8Array, float32: Float32Array}[f.dtype];
      const a = new T(buf.buffer, buf.byteOffset, buf.length / T.BYTES_PER_ELEMENT);
      feeds[f.name] = new ort.Tensor(f.dtype, a, f.shape);
    }
    const out = (await s.run(feeds))['y'];
    fs.writeFileSync(j.out, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
    fs.writeFileSync(j.out + '.shape', JSON.stringify(out.dims));
  }
})().catch(e => { console.error(e); process.exit(1); });
"""

NP = {"u8": np.uint8, "s8": np.int8}
TP = {"u8": TensorProto.UINT8, "s8": TensorProto.INT8}
TID = {"u8": 0, "s8": 1}


def qrange(t):
    return (0, 255) if t == "u8" else (-128, 127)


def qparams(t, scale, zp):
    return [helper.make_tensor("s", TensorProto.FLOAT, [], [scale]),
            helper.make_tensor("z", TP[t], [], [zp])]


def scalar_inits(prefix, t, scale, zp):
    return [helper.make_tensor(prefix + "_s", TensorProto.FLOAT, [], [np.float32(scale)]),
            helper.make_tensor(prefix + "_z", TP[t], [], [zp])]


def rand_q(t, shape):
    lo, hi = qrange(t)
    return rng.integers(lo, hi + 1, size=shape).astype(NP[t])


class Builder:
    def __init__(self):
        self.nodes, self.inits, self.inputs = [], [], []

    def q_input(self, name, t, shape):
        self.inputs.append(helper.make_tensor_value_info(name, TP[t], shape))

    def dq(self, src, t, scale, zp, dst):
        self.inits += scalar_inits(dst, t, scale, zp)
        self.nodes.append(helper.make_node("DequantizeLinear", [src, dst + "_s", dst + "_z"], [dst]))

    def q(self, src, t, scale, zp, dst):
        self.inits += scalar_inits(dst, t, scale, zp)
        self.nodes.append(helper.make_node("QuantizeLinear", [src, dst + "_s", dst + "_z"], [dst]))

    def model(self, out_t, out_shape=None):
        y = helper.make_tensor_value_info("y", TP[out_t] if out_t in TP else out_t, out_shape)
        g = helper.make_graph(self.nodes, "g", self.inputs, [y], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        m.ir_version = 8
        onnx.checker.check_model(m) if out_shape else None
        return m


def conv_case(name, c_in, c_out, h, w, k, stride, pads, dil, groups, xt, xs, xz, yt, ys, yz,
              relu, fuse=None):
    b = Builder()
    b.q_input("x", xt, [1, c_in, h, w])
    b.dq("x", xt, xs, xz, "xf")
    cg = c_in // groups
    wq = rng.integers(-128, 128, size=(c_out, cg, k[0], k[1])).astype(np.int8)
    ws = (rng.uniform(0.5, 2.0, size=c_out) * 0.02 / np.sqrt(cg * k[0] * k[1])).astype(np.float32)
    bias = rng.integers(-3000, 3001, size=c_out).astype(np.int32)
    bs = (np.float32(xs) * ws).astype(np.float32)
    b.inits += [numpy_helper.from_array(wq, "W"), numpy_helper.from_array(ws, "W_s"),
                numpy_helper.from_array(np.zeros(c_out, np.int8), "W_z"),
                numpy_helper.from_array(bias, "B"), numpy_helper.from_array(bs, "B_s"),
                numpy_helper.from_array(np.zeros(c_out, np.int32), "B_z")]
    b.nodes.append(helper.make_node("DequantizeLinear", ["W", "W_s", "W_z"], ["wf"], axis=0))
    b.nodes.append(helper.make_node("DequantizeLinear", ["B", "B_s", "B_z"], ["bf"], axis=0))
    b.nodes.append(helper.make_node("Conv", ["xf", "wf", "bf"], ["cf"], kernel_shape=list(k),
                                    strides=[stride, stride], pads=list(pads),
                                    dilations=[dil, dil], group=groups))
    h_out = (h + pads[0] + pads[2] - dil * (k[0] - 1) - 1) // stride + 1
    w_out = (w + pads[1] + pads[3] - dil * (k[1] - 1) - 1) // stride + 1
    feeds = {"x": rand_q(xt, (1, c_in, h, w))}
    meta = [c_in, c_out, h, w, k[0], k[1], stride, stride, pads[0], pads[1], dil, dil, groups,
            h_out, w_out, xs, xz, TID[xt], ys, yz, TID[yt], int(relu)]
    cur = "cf"
    if relu:
        b.nodes.append(helper.make_node("Relu", [cur], ["cr"]))
        cur = "cr"
    if fuse:
        mt, ms, mz, rt, rs, rz, relu2 = fuse
        b.q(cur, mt, ms, mz, "m")
        b.dq("m", mt, ms, mz, "mf")
        b.q_input("r", rt, [1, c_out, h_out, w_out])
        b.dq("r", rt, rs, rz, "rf")
        b.nodes.append(helper.make_node("Add", ["mf", "rf"], ["af"]))
        cur = "af"
        if relu2:
            b.nodes.append(helper.make_node("Relu", [cur], ["ar"]))
            cur = "ar"
        feeds["r"] = rand_q(rt, (1, c_out, h_out, w_out))
        meta += [1, ms, mz, TID[mt], rs, rz, TID[rt], int(relu2)]
    else:
        meta += [0, 1, 0, 0, 1, 0, 0, 0]
    b.q(cur, yt, ys, yz, "y")
    arrays = {"meta": np.array(meta, np.float64), "w": wq, "ws": ws, "b": bias}
    return name, b.model(yt), feeds, arrays


def add_case(name, n, at, as_, az, bt, bs, bz, ct, cs, cz, relu):
    b = Builder()
    b.q_input("a", at, [1, n])
    b.q_input("b", bt, [1, n])
    b.dq("a", at, as_, az, "af")
    b.dq("b", bt, bs, bz, "bf")
    b.nodes.append(helper.make_node("Add", ["af", "bf"], ["sf"]))
    cur = "sf"
    if relu:
        b.nodes.append(helper.make_node("Relu", [cur], ["sr"]))
        cur = "sr"
    b.q(cur, ct, cs, cz, "y")
    feeds = {"a": rand_q(at, (1, n)), "b": rand_q(bt, (1, n))}
    meta = [n, as_, az, TID[at], bs, bz, TID[bt], cs, cz, TID[ct], int(relu)]
    return name, b.model(ct), feeds, {"meta": np.array(meta, np.float64)}


def maxpool_case(name, t, s, z, c, h, w, k, stride, pad):
    b = Builder()
    b.q_input("x", t, [1, c, h, w])
    b.dq("x", t, s, z, "xf")
    b.nodes.append(helper.make_node("MaxPool", ["xf"], ["pf"], kernel_shape=[k, k],
                                    strides=[stride, stride], pads=[pad] * 4))
    b.q("pf", t, s, z, "y")
    feeds = {"x": rand_q(t, (1, c, h, w))}
    meta = [c, h, w, k, stride, pad, TID[t], s, z]
    return name, b.model(t), feeds, {"meta": np.array(meta, np.float64)}


def gap_case(name, xt, xs, xz, yt, ys, yz, c, h, w):
    b = Builder()
    b.q_input("x", xt, [1, c, h, w])
    b.dq("x", xt, xs, xz, "xf")
    b.nodes.append(helper.make_node("GlobalAveragePool", ["xf"], ["gf"]))
    b.q("gf", yt, ys, yz, "y")
    feeds = {"x": rand_q(xt, (1, c, h, w))}
    meta = [c, h, w, xs, xz, TID[xt], ys, yz, TID[yt]]
    return name, b.model(yt), feeds, {"meta": np.array(meta, np.float64)}


def quantize_case(name, t, s, z, n):
    b = Builder()
    b.inputs.append(helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n]))
    b.q("x", t, s, z, "y")
    x = (rng.standard_normal((1, n)) * 150 * s).astype(np.float32)
    x[0, :8] = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 1e9, -1e9], np.float32) * np.float32(s)
    meta = [n, s, z, TID[t]]
    return name, b.model(t), {"x": x}, {"meta": np.array(meta, np.float64)}


def cases():
    yield conv_case("conv_stem_u8", 1, 16, 20, 23, (7, 7), 2, (3, 3, 3, 3), 1, 1,
                    "u8", 0.05, 131, "u8", 0.04, 0, True)
    yield conv_case("conv_3x3_u8_relu", 16, 24, 9, 11, (3, 3), 1, (1, 1, 1, 1), 1, 1,
                    "u8", 0.03, 0, "u8", 0.02, 0, True)
    yield conv_case("conv_3x3_s2_u8_norelu", 32, 40, 9, 10, (3, 3), 2, (1, 1, 1, 1), 1, 1,
                    "u8", 0.03, 7, "u8", 0.05, 128, False)
    yield conv_case("conv_s8_act", 12, 20, 8, 8, (3, 3), 1, (1, 0, 2, 1), 1, 1,
                    "s8", 0.02, -5, "s8", 0.03, 3, False)
    yield conv_case("conv_dil_group", 12, 18, 10, 9, (3, 2), 1, (2, 1, 2, 1), 2, 3,
                    "u8", 0.02, 100, "u8", 0.01, 20, True)
    yield conv_case("conv_depthwise", 16, 16, 9, 9, (3, 3), 1, (1, 1, 1, 1), 1, 16,
                    "u8", 0.03, 10, "u8", 0.02, 0, True)
    yield conv_case("conv_saturating", 16, 16, 6, 7, (3, 3), 1, (1, 1, 1, 1), 1, 1,
                    "u8", 0.05, 30, "u8", 0.0005, 128, False)
    yield conv_case("conv_residual", 16, 32, 8, 9, (3, 3), 1, (1, 1, 1, 1), 1, 1,
                    "u8", 0.03, 0, "u8", 0.04, 0, False,
                    fuse=("u8", 0.05, 120, "u8", 0.04, 0, True))
    yield add_case("add_u8_relu", 777, "u8", 0.04, 10, "u8", 0.03, 140, "u8", 0.05, 0, True)
    yield add_case("add_mixed", 500, "s8", 0.02, -3, "u8", 0.05, 128, "s8", 0.06, 5, False)
    yield maxpool_case("maxpool_u8", "u8", 0.05, 0, 8, 13, 17, 3, 2, 1)
    yield maxpool_case("maxpool_s8", "s8", 0.05, -10, 5, 9, 8, 2, 2, 0)
    yield gap_case("gap_u8", "u8", 0.04, 0, "u8", 0.01, 0, 24, 4, 7)
    yield gap_case("gap_s8", "s8", 0.04, 5, "u8", 0.02, 7, 20, 2, 4)
    yield quantize_case("quantize_u8", "u8", 0.05, 128, 600)
    yield quantize_case("quantize_s8", "s8", 0.01, -7, 600)


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    tmp = tempfile.mkdtemp()
    jobs, made = [], []
    for name, model, feeds, arrays in cases():
        mp = os.path.join(tmp, name + ".onnx")
        onnx.save(model, mp)
        fl = []
        for k, v in feeds.items():
            fp = os.path.join(tmp, f"{name}.{k}.bin")
            v.tofile(fp)
            fl.append({"name": k, "dtype": {np.uint8: "uint8", np.int8: "int8",
                                             np.float32: "float32"}[v.dtype.type],
                       "shape": list(v.shape), "file": fp})
        jobs.append({"model": mp, "feeds": fl, "out": os.path.join(tmp, name + ".y.bin")})
        made.append((name, model, feeds, arrays))
    jp = os.path.join(tmp, "jobs.json")
    with open(jp, "w") as f:
        json.dump(jobs, f)
    rp = os.path.join(tmp, "run.js")
    with open(rp, "w") as f:
        f.write(RUNNER)
    env = dict(os.environ, NODE_PATH=os.path.join(ROOT, "node_modules"))
    subprocess.run(["node", rp, jp], check=True, env=env)
    ver = subprocess.run(["node", "-p", 'require("onnxruntime-node/package.json").version'],
                         check=True, env=env, capture_output=True, text=True).stdout.strip()
    for (name, model, feeds, arrays), job in zip(made, jobs):
        d = os.path.join(OUT, name)
        os.makedirs(d)
        out_t = model.graph.output[0].type.tensor_type.elem_type
        dt = {TensorProto.UINT8: np.uint8, TensorProto.INT8: np.int8}[out_t]
        with open(job["out"] + ".shape") as f:
            shape = json.load(f)
        y = np.fromfile(job["out"], dtype=dt).reshape(shape)
        np.save(os.path.join(d, "y.npy"), y)
        for k, v in feeds.items():
            np.save(os.path.join(d, k + ".npy"), v)
        for k, v in arrays.items():
            np.save(os.path.join(d, k + ".npy"), v)
    with open(os.path.join(OUT, "README"), "w") as f:
        f.write("Made by tests/gen/make_s8_ort_fixture.py with onnxruntime-node %s "
                "(graph optimizations all, 1 thread).\n" % ver)
    shutil.rmtree(tmp)
    print("wrote", OUT, "with ORT", ver)


if __name__ == "__main__":
    sys.exit(main())
