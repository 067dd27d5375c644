#!/usr/bin/python3
"""Checks the exported ONNX against the PyTorch network it came from, through
wakewordd's own engine (`wakewordd infer`) on real feature windows from the
test split (features by libwakeword). Prints the largest logit and softmax
differences; exits 1 if the softmax differs by more than --tol."""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

import wwfeat
from model import WakeNet


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--eval-work", required=True)
    ap.add_argument("--wakewordd", default=os.path.join(wwfeat.REPO, "build", "wakewordd"))
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    z = np.load(os.path.join(a.eval_work, "test_pos.npz"))
    clips = z["clips"][: a.n // 2]
    mel = wwfeat.Mel()
    wins = []
    for c in clips:
        f = mel.features(c)
        wins.append(f[-wwfeat.WINDOW_FRAMES:].T)
        wins.append(f[:wwfeat.WINDOW_FRAMES].T)
    x = np.stack(wins)[:, None].astype(np.float32)
    ck = torch.load(a.ckpt, map_location="cpu")
    m = WakeNet.from_ckpt(ck)
    m.eval()
    with torch.no_grad():
        ref = m(torch.from_numpy(x)).numpy()
    with tempfile.TemporaryDirectory() as d:
        np.save(os.path.join(d, "features.npy"), x)
        r = subprocess.run([a.wakewordd, "infer", a.onnx, "--input", "features=" + os.path.join(d, "features.npy"),
                            "--output-dir", d, "--npy"], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("wakewordd infer failed: " + r.stderr.strip())
        got = np.load(os.path.join(d, "logits.npy"))
    sm = lambda v: np.exp(v - v.max(1, keepdims=True)) / np.exp(v - v.max(1, keepdims=True)).sum(1, keepdims=True)  # noqa: E731
    dl = float(np.abs(got - ref).max())
    dp = float(np.abs(sm(got) - sm(ref)).max())
    print("windows %d: max |logit diff| %.3g, max |P diff| %.3g (wakewordd infer vs PyTorch)" % (len(x), dl, dp))
    sys.exit(0 if dp <= a.tol else 1)


if __name__ == "__main__":
    main()
