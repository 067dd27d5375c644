#!/usr/bin/python3
"""Exports a tiny network that normalises its input inside the graph, as the
next wake word model does: each mel band minus its mean over time,
`x - x.mean(dim=3, keepdim=True)` (torch.onnx writes ReduceMean, axes [3] or
[-1], keepdims 1, then a broadcasting Sub), then a conv stack, at opset 17.
Saves what PyTorch computes for it, so the engine is held to PyTorch.

  export_mean_norm.py fixtures OUTDIR   # the small committed parity fixtures
  export_mean_norm.py model OUT.onnx [--width 16] [--mels 64] [--frames 101]
                      [--batch 16] [--seed 0]

`fixtures` writes OUTDIR/<name>/{model.onnx,input.npy,output.npy} (a few KB
each; input batch 2 while the export used batch 1, over a symbolic batch
axis). `model` writes a larger ResNet-like conv stack (residual blocks, a
1-channel stem, [N, 1, 64, 101] inputs) plus OUT.input.npy / OUT.output.npy,
for checking `wakewordd quantize` and the int8 compile on such a model
(made in /tmp at test time, never committed).

The inputs carry a different offset per mel band, as log-mel features do, so
the normalisation changes what the convs see.

Needs Debian's python3-torch and python3-onnx (/usr/bin/python3).
"""
import argparse
import os

import numpy as np
import onnx
import torch
import torch.nn as nn


class MeanNormConv(nn.Module):
    """The fixture: mean normalisation, two convs, global average pool, linear."""

    def __init__(self, dim, width=8):
        super().__init__()
        self.dim = dim
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, 2)

    def forward(self, x):
        x = x - x.mean(dim=self.dim, keepdim=True)
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = None if stride == 1 and cin == cout else nn.Conv2d(cin, cout, 1, stride=stride)

    def forward(self, x):
        y = self.c2(torch.relu(self.c1(x)))
        return torch.relu(y + (x if self.skip is None else self.skip(x)))


class MeanNormResNet(nn.Module):
    """A ResNet-like stack behind the same normalisation, for the quantizer."""

    def __init__(self, width):
        super().__init__()
        self.stem = nn.Conv2d(1, width, 3, padding=1)
        self.blocks = nn.Sequential(Block(width, width, 1), Block(width, 2 * width, 2),
                                    Block(2 * width, 4 * width, 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, 2)

    def forward(self, x):
        x = x - x.mean(dim=3, keepdim=True)
        x = self.blocks(torch.relu(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def features(batch, mels, frames, seed):
    """log-mel-like values: a per-band offset (-8 .. 2) plus noise"""
    g = torch.Generator().manual_seed(seed)
    offset = torch.linspace(-8, 2, mels).view(1, 1, mels, 1)
    return offset + torch.randn(batch, 1, mels, frames, generator=g)


def export(net, path, mels, frames):
    x = features(1, mels, frames, seed=0)
    torch.onnx.export(net, x, path, opset_version=17, input_names=["features"],
                      output_names=["logits"],
                      dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}})
    model = onnx.load(path)
    onnx.checker.check_model(model)
    ops = [n.op_type for n in model.graph.node]
    assert ops[:2] == ["ReduceMean", "Sub"], ops


def save_reference(net, x, input_path, output_path):
    with torch.no_grad():
        y = net(x)
    np.save(input_path, x.numpy().astype(np.float32))
    np.save(output_path, y.numpy().astype(np.float32))


FIXTURES = [  # name, mean over dim, mels, frames
    ("meannorm_conv_op17", 3, 16, 25),
    ("meannorm_conv_negdim_op17", -1, 16, 25),
]


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fixtures")
    f.add_argument("outdir")
    m = sub.add_parser("model")
    m.add_argument("out")
    m.add_argument("--width", type=int, default=16)
    m.add_argument("--mels", type=int, default=64)
    m.add_argument("--frames", type=int, default=101)
    m.add_argument("--batch", type=int, default=16)
    m.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.cmd == "fixtures":
        for i, (name, dim, mels, frames) in enumerate(FIXTURES):
            d = os.path.join(a.outdir, name)
            os.makedirs(d, exist_ok=True)
            torch.manual_seed(20 + i)
            net = MeanNormConv(dim).eval()
            export(net, os.path.join(d, "model.onnx"), mels, frames)
            save_reference(net, features(2, mels, frames, seed=30 + i),
                           os.path.join(d, "input.npy"), os.path.join(d, "output.npy"))
            print(d, os.path.getsize(os.path.join(d, "model.onnx")), "bytes")
    else:
        torch.manual_seed(a.seed)
        net = MeanNormResNet(a.width).eval()
        export(net, a.out, a.mels, a.frames)
        base = a.out[:-5] if a.out.endswith(".onnx") else a.out
        save_reference(net, features(a.batch, a.mels, a.frames, seed=a.seed + 1),
                       base + ".input.npy", base + ".output.npy")
        print(a.out, os.path.getsize(a.out), "bytes")


if __name__ == "__main__":
    main()
