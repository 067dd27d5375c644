#!/usr/bin/python3
"""Calibration windows for `wakewordd quantize`: N feature windows drawn at random
from the training features (a fixed share of them positive), written as a
float32 .npy [N,1,64,WINDOW_FRAMES], the model's input layout. Test-split audio is never
used here."""
import argparse
import os

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feat", required=True, help="features/train.npz")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--positives", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    z = np.load(a.feat)
    y = z["y"]
    rng = np.random.default_rng(a.seed)
    pos = rng.choice(np.nonzero(y == 1)[0], a.positives, replace=False)
    neg = rng.choice(np.nonzero(y == 0)[0], a.n - a.positives, replace=False)
    idx = rng.permutation(np.concatenate([pos, neg]))
    X = z["X"][idx].astype(np.float32)[:, None]
    tmp = a.out + ".tmp.npy"
    np.save(tmp, X)
    os.replace(tmp, a.out)
    print("%s: %s, %d positive" % (a.out, X.shape, a.positives))


if __name__ == "__main__":
    main()
