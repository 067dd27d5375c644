#!/usr/bin/python3
"""Stage 4: exports the trained network to ONNX (opset 17): input `features`
[N,1,64,WINDOW_FRAMES] with a dynamic batch, output `logits` [N,2], and metadata_props
holding the front-end settings (the keys ww_mel_config_set accepts) and the
detector defaults, so the daemon configures itself from the model."""
import argparse
import json
import os

import onnx
import torch

import wwfeat
from model import WakeNet


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--keyword", default="hey jarvis")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--smoothing-frames", type=int, default=3)
    ap.add_argument("--hop-frames", type=int, default=wwfeat.DEFAULT_HOP_FRAMES,
                    help="the detector scores a window every this many frames (10 ms each)")
    ap.add_argument("--refractory-s", type=float, default=1.5)
    ap.add_argument("--extra", default=None, help="JSON file of more metadata (e.g. the chosen threshold)")
    a = ap.parse_args()
    wwfeat.check_hop_frames(a.hop_frames, "export.py")
    ck = torch.load(a.ckpt, map_location="cpu")
    model = WakeNet.from_ckpt(ck)
    model.eval()
    slug = a.keyword.strip().lower().replace(" ", "_")
    x = torch.zeros(1, 1, wwfeat.N_MELS, wwfeat.WINDOW_FRAMES)
    tmp = a.out + ".tmp"
    torch.onnx.export(model, x, tmp, opset_version=17, input_names=["features"], output_names=["logits"],
                      dynamic_axes={"features": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True)
    m = onnx.load(tmp)
    meta = wwfeat.metadata(wwfeat.default_config())
    meta.update({
        "window_frames": str(wwfeat.WINDOW_FRAMES),
        "labels": "background," + slug,
        "keyword": slug,
        "threshold": "%g" % a.threshold,
        "hop_frames": str(a.hop_frames),
        "smoothing_frames": str(a.smoothing_frames),
        "refractory_s": "%g" % a.refractory_s,
    })
    meta["network"] = "resnet18 topology, base width %d" % ck["width"]
    if ck.get("members"):
        how = "grouped convolutions" if ck.get("groups", 1) > 1 else "block-diagonal weights"
        meta["network"] += " (%d runs of width %d side by side, %s: the mean of their " \
                           "logits; models/recipe/merge.py)" % (len(ck["members"]), ck["member_width"], how)
    if a.extra:
        meta.update({k: str(v) for k, v in json.load(open(a.extra)).items()})
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    m.producer_name = "wakewordd models/recipe"
    onnx.checker.check_model(m)
    onnx.save(m, tmp)
    os.replace(tmp, a.out)
    print("%s: %d bytes, ops %s" % (a.out, os.path.getsize(a.out), sorted({n.op_type for n in m.graph.node})))
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
