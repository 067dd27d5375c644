#!/usr/bin/python3
"""The runs of a merged network (merge.py, exported by export.py) taken back out
of its float ONNX file, one checkpoint each, so that a shipped model can get more
runs without training the old ones again (the training cache does not outlive the
machine it was made on).

The exported graph has each BatchNorm folded into the convolution before it, so a
member comes back with identity BatchNorms (scale 1, running mean 0, running
variance 1 - eps) and the folded bias as the BatchNorm's bias: the same function.
Only the fc bias cannot be split (the file holds the mean of the members'); every
member gets it, which leaves the mean of any merge of them exact. Member i's fc
weights are the file's times K (merge.py divided them by K).

  unmerge.py --onnx ../hey_jarvis.onnx --out-dir DIR   -> DIR/m0.pt ... DIR/m<K-1>.pt

Check the result with merge.py and check_export.py against the same ONNX file."""
import argparse
import os
import re

import onnx
import torch
from onnx import numpy_helper

from model import WakeNet

BN_EPS = 1e-5  # torch.nn.BatchNorm2d's default, which the members were trained with


def module_name(conv_output):
    """'/net/layer2/layer2.0/downsample/downsample.0/Conv_output_0' -> 'net.layer2.0.downsample.0'"""
    parts = []
    for s in conv_output.split("/")[1:-1]:
        if parts and s.startswith(parts[-1] + "."):
            parts[-1] = s
        else:
            parts.append(s)
    return ".".join(parts)


def bn_name(conv):
    """the BatchNorm after a convolution in torchvision's ResNet"""
    if conv.endswith("downsample.0"):
        return conv[:-1] + "1"
    return re.sub(r"conv(\d)$", r"bn\1", conv)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args()
    m = onnx.load(a.onnx)
    init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
    meta = {p.key: p.value for p in m.metadata_props}
    found = re.search(r"\((\d+) runs of width (\d+) side by side, grouped", meta.get("network", ""))
    if not found:
        raise SystemExit("%s: metadata 'network' does not describe a grouped merge of runs: %r"
                         % (a.onnx, meta.get("network")))
    k, w = int(found.group(1)), int(found.group(2))
    norm = "cmn" if any(n.op_type == "ReduceMean" for n in m.graph.node) else "global"
    members = [WakeNet(w, norm=norm).state_dict() for _ in range(k)]
    for st in members:
        st["mean"] = init["mean"].clone().reshape(())
        st["inv_std"] = init["inv_std"].clone().reshape(())
    seen = set()
    for n in m.graph.node:
        if n.op_type == "Conv":
            conv = module_name(n.output[0])
            bn = bn_name(conv)
            wt, b = init[n.input[1]], init[n.input[2]]
            o = wt.shape[0] // k
            for i, st in enumerate(members):
                if st[conv + ".weight"].shape != wt[i * o:(i + 1) * o].shape:
                    raise SystemExit("%s: %s has shape %s, a member of width %d wants %s per run" %
                                     (a.onnx, conv, tuple(wt.shape), w, tuple(st[conv + ".weight"].shape)))
                st[conv + ".weight"] = wt[i * o:(i + 1) * o].clone()
                st[bn + ".weight"] = torch.ones(o)
                st[bn + ".bias"] = b[i * o:(i + 1) * o].clone()
                st[bn + ".running_mean"] = torch.zeros(o)
                st[bn + ".running_var"] = torch.full((o,), 1.0 - BN_EPS)
            seen.add(conv)
        elif n.op_type == "Gemm":
            wt, b = init[n.input[1]], init[n.input[2]]
            c = wt.shape[1] // k
            for i, st in enumerate(members):
                st["net.fc.weight"] = wt[:, i * c:(i + 1) * c] * k
                st["net.fc.bias"] = b.clone()
    want = {name[:-len(".weight")] for name in members[0] if name.endswith(".weight") and
            members[0][name].dim() == 4}
    if seen != want:
        raise SystemExit("%s: convolutions not found in the graph: %s" % (a.onnx, sorted(want - seen)))
    os.makedirs(a.out_dir, exist_ok=True)
    for i, st in enumerate(members):
        out = os.path.join(a.out_dir, "m%d.pt" % i)
        torch.save({"width": w, "norm": norm, "state": st, "unmerged_from": os.path.abspath(a.onnx),
                    "member": i}, out + ".tmp")
        os.replace(out + ".tmp", out)
    print("%s: %d runs of width %d (%s) -> %s/m0.pt ... m%d.pt" % (a.onnx, k, w, norm, a.out_dir, k - 1))


if __name__ == "__main__":
    main()
