#!/usr/bin/python3
"""Exports torchvision's ResNet18 as the wakeword model shape (1-channel stem,
2 classes, input [N, 1, 64, 101] with a symbolic batch axis) and saves what
PyTorch computes for it, so the engine is held to PyTorch (max abs 1e-4).

BatchNorm running statistics and affine parameters are randomised before
eval() so folding them is not a no-op. Usage:

  export_resnet.py fixtures OUTDIR   # the small committed parity fixtures
  export_resnet.py model OUT.onnx [--width 64] [--stem 7] [--opset 13]
                   [--keep-bn] [--metadata] [--seed 0]

`fixtures` writes OUTDIR/<name>/{model.onnx,input.npy,output.npy} for narrow
widths (each model well under 1 MB): opset 13 and 17, a 3x3 stem, and one with
BatchNormalization kept as nodes (exercising the engine's own folding); input
batch 2 while the export used batch 1. `model` writes one model (the full
width-64 network for benchmarks and the daemon, into /work/cache, never
committed) plus OUT.input.npy / OUT.output.npy; --metadata adds the front-end
settings as metadata_props.

Needs Debian's python3-torch, python3-torchvision, python3-onnx (/usr/bin/python3).
"""
import argparse
import os

import numpy as np
import onnx
import torch
import torchvision
from torchvision.models.resnet import BasicBlock

N_MELS, FRAMES = 64, 101

METADATA = dict(sample_rate=16000, n_fft=512, win_length=400, hop_length=160, n_mels=N_MELS,
                f_min=0, f_max=8000, mel_scale="htk", mel_norm="none", log_floor="1e-06",
                window_frames=FRAMES, labels="other,wakeword", keyword="wakeword",
                threshold=0.5, hop_frames=8, smoothing_frames=3, refractory_s=1.5)


class ViewHead(torch.nn.Module):
    """ResNet18 whose head flattens with x.view(x.size(0), -1): the exporter
    writes Shape/Gather/Unsqueeze/Concat/Reshape, which the engine must fold
    for whatever batch it is prepared with."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        x = n.layer4(n.layer3(n.layer2(n.layer1(x))))
        x = n.avgpool(x)
        return n.fc(x.view(x.size(0), -1))


def build(width, stem, seed):
    torch.manual_seed(seed)
    net = torchvision.models.resnet18(num_classes=2)
    # same topology at any base width: rebuild the stages from `width`
    net.inplanes = width
    if stem == 7:
        net.conv1 = torch.nn.Conv2d(1, width, 7, stride=2, padding=3, bias=False)
    else:
        net.conv1 = torch.nn.Conv2d(1, width, 3, stride=1, padding=1, bias=False)
    net.bn1 = torch.nn.BatchNorm2d(width)
    net.layer1 = net._make_layer(BasicBlock, width, 2)
    net.layer2 = net._make_layer(BasicBlock, width * 2, 2, stride=2)
    net.layer3 = net._make_layer(BasicBlock, width * 4, 2, stride=2)
    net.layer4 = net._make_layer(BasicBlock, width * 8, 2, stride=2)
    net.fc = torch.nn.Linear(width * 8, 2)
    g = torch.Generator().manual_seed(seed + 1)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(0.2 * torch.randn(c, generator=g))
            m.running_var.copy_(0.5 + torch.rand(c, generator=g))
            m.weight.data.copy_(0.5 + torch.rand(c, generator=g))
            m.bias.data.copy_(0.2 * torch.randn(c, generator=g))
    return net.eval()


def export(net, path, opset, keep_bn, metadata):
    x = torch.randn(1, 1, N_MELS, FRAMES)
    kw = {}
    if keep_bn:
        kw = dict(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    torch.onnx.export(net, x, path, opset_version=opset, input_names=["features"],
                      output_names=["logits"],
                      dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}}, **kw)
    if metadata:
        model = onnx.load(path)
        for key, v in METADATA.items():
            e = model.metadata_props.add()
            e.key, e.value = key, str(v)
        onnx.save(model, path)
    onnx.checker.check_model(onnx.load(path))


def reference(net, batch, seed):
    g = torch.Generator().manual_seed(seed + 2)
    x = torch.randn(batch, 1, N_MELS, FRAMES, generator=g)
    with torch.no_grad():
        y = net(x)
    return x.numpy().astype(np.float32), y.numpy().astype(np.float32)


FIXTURES = [  # name, width, stem, opset, keep_bn, view head
    ("resnet18_w8_stem7_op13", 8, 7, 13, False, False),
    ("resnet18_w8_stem7_op17", 8, 7, 17, False, False),
    ("resnet18_w8_stem3_op13", 8, 3, 13, False, False),
    ("resnet18_w8_stem7_op13_bn", 8, 7, 13, True, False),
    ("resnet18_w8_viewhead_op17", 8, 7, 17, False, True),
]


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fixtures")
    f.add_argument("outdir")
    f.add_argument("--only", help="make just this fixture")
    m = sub.add_parser("model")
    m.add_argument("out")
    m.add_argument("--width", type=int, default=64)
    m.add_argument("--stem", type=int, choices=[3, 7], default=7)
    m.add_argument("--opset", type=int, default=13)
    m.add_argument("--keep-bn", action="store_true")
    m.add_argument("--metadata", action="store_true")
    m.add_argument("--batch", type=int, default=1)
    m.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.cmd == "fixtures":
        for i, (name, width, stem, opset, keep_bn, view) in enumerate(FIXTURES):
            if a.only and name != a.only:
                continue
            d = os.path.join(a.outdir, name)
            os.makedirs(d, exist_ok=True)
            net = build(width, stem, seed=10 + i)
            if view:
                net = ViewHead(net).eval()
            export(net, os.path.join(d, "model.onnx"), opset, keep_bn, metadata=(i == 0))
            x, y = reference(net, 2, seed=10 + i)
            np.save(os.path.join(d, "input.npy"), x)
            np.save(os.path.join(d, "output.npy"), y)
            print(d, os.path.getsize(os.path.join(d, "model.onnx")), "bytes")
    else:
        net = build(a.width, a.stem, a.seed)
        export(net, a.out, a.opset, a.keep_bn, a.metadata)
        x, y = reference(net, a.batch, a.seed)
        base = a.out[:-5] if a.out.endswith(".onnx") else a.out
        np.save(base + ".input.npy", x)
        np.save(base + ".output.npy", y)
        print(a.out, os.path.getsize(a.out), "bytes")


if __name__ == "__main__":
    main()
