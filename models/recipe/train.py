#!/usr/bin/python3
"""Stage 3: trains WakeNet on FEAT/train.npz (10% held out for validation, drawn
from the training voices only; the test voices are never seen here).
AdamW + one-cycle schedule, cross-entropy, light SpecAugment (one time and one
mel mask) on the features. Saves the weights with the best validation loss."""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from model import WakeNet


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feat", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=99)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    z = np.load(os.path.join(a.feat, "train.npz"))
    X = torch.from_numpy(z["X"].astype(np.float32)).unsqueeze(1)
    y = torch.from_numpy(z["y"])
    n = len(y)
    perm = rng.permutation(n)
    nval = n // 10
    val_idx, tr_idx = perm[:nval], perm[nval:]
    mean = float(X[tr_idx].mean())
    std = float(X[tr_idx].std())
    model = WakeNet(a.width, 2, mean, 1.0 / std)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-2)
    steps = a.epochs * (len(tr_idx) // a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps, pct_start=0.2)
    floor = float(X.min())
    best = (1e9, None)
    log = []
    os.makedirs(a.out, exist_ok=True)
    for ep in range(a.epochs):
        model.train()
        t0 = time.time()
        order = torch.from_numpy(rng.permutation(tr_idx))
        tot, cnt = 0.0, 0
        for b in range(len(tr_idx) // a.batch):
            idx = order[b * a.batch:(b + 1) * a.batch]
            xb, yb = X[idx].clone(), y[idx]
            # SpecAugment: one mel band mask and one time mask per example, set to the floor
            for i in range(len(xb)):
                if rng.random() < 0.5:
                    f0, fw = rng.integers(0, 64), rng.integers(1, 8)
                    xb[i, :, f0:f0 + fw, :] = floor
                if rng.random() < 0.5:
                    t0_, tw = rng.integers(0, 101), rng.integers(1, 10)
                    xb[i, :, :, t0_:t0_ + tw] = floor
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * len(yb)
            cnt += len(yb)
        model.eval()
        with torch.no_grad():
            vl, vc, tp, fp, pos = 0.0, 0, 0, 0, 0
            for b in range(0, nval, 512):
                idx = torch.from_numpy(val_idx[b:b + 512])
                lo = model(X[idx])
                vl += float(F.cross_entropy(lo, y[idx], reduction="sum"))
                pred = lo.argmax(1)
                vc += int((pred == y[idx]).sum())
                tp += int(((pred == 1) & (y[idx] == 1)).sum())
                fp += int(((pred == 1) & (y[idx] == 0)).sum())
                pos += int((y[idx] == 1).sum())
        rec = {"epoch": ep + 1, "train_loss": tot / cnt, "val_loss": vl / nval, "val_acc": vc / nval,
               "val_recall": tp / max(pos, 1), "val_false_pos": fp, "seconds": time.time() - t0}
        log.append(rec)
        print(json.dumps(rec), flush=True)
        with open(os.path.join(a.out, "log.txt"), "a" if ep else "w") as lf:
            lf.write(json.dumps(rec) + "\n")
        if rec["val_loss"] < best[0]:
            best = (rec["val_loss"], {k: v.clone() for k, v in model.state_dict().items()})
            # the best so far, so an interrupted run still leaves a usable network
            torch.save({"width": a.width, "state": best[1], "log": log, "args": vars(a)},
                       os.path.join(a.out, "best_so_far.pt"))
    torch.save({"width": a.width, "state": best[1], "log": log, "args": vars(a)},
               os.path.join(a.out, "model.pt.tmp"))
    os.replace(os.path.join(a.out, "model.pt.tmp"), os.path.join(a.out, "model.pt"))


if __name__ == "__main__":
    main()
