#!/usr/bin/python3
"""Hard negatives from the training split: a long stream of the training voices'
other speech with confusable phrases between the sentences (backgrounds and
levels as in features.py) is scored by a trained network at every detector
step (8 frames); the highest-scoring windows, at least 0.5 s apart, become
extra negative training windows (FEAT/hard.npz). Test-split audio is never
read here."""
import argparse
import os

import numpy as np
import torch

import mix
import wwfeat
from model import WakeNet

WIN = wwfeat.WINDOW_FRAMES


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=4000, help="at most this many windows")
    ap.add_argument("--min-score", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=2468)
    ap.add_argument("--max-hours", type=float, default=0, help="score at most this much audio (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(a.seed)

    def both(name, load=mix.load_set):
        u, _ = load(a.data, name)
        x = os.path.join(a.data, name.replace("_train", "_extra_train") + ".npz")
        return u + (load(a.data, name.replace("_train", "_extra_train"))[0] if os.path.exists(x) else [])

    speech = [mix.trim(u) for u in both("speech_train")]
    conf = [mix.trim(u) for u in both("conf_train", mix.load_filtered)]
    noises, _ = mix.load_set(a.data, "noise_train")
    bgs = mix.Backgrounds(noises, speech)

    ck = torch.load(a.ckpt, map_location="cpu")
    model = WakeNet.from_ckpt(ck)
    model = model.to(memory_format=torch.channels_last).eval()
    mel = wwfeat.Mel()

    # segments of a sentence, sometimes followed by a confusable phrase, each with a
    # background and level of its own; scored one stream per 20 segments
    order = rng.permutation(len(speech))
    ci = rng.permutation(len(conf))
    cands = []  # (score, segment batch, start frame)
    feats = []
    seconds = 0.0
    for b in range(0, len(order), 20):
        if a.max_hours and seconds >= a.max_hours * 3600:
            break
        parts = []
        for j in order[b:b + 20]:
            u = speech[j]
            seg = u
            if rng.random() < 0.6:
                c = conf[ci[rng.integers(len(ci))]]
                seg = np.concatenate([seg, np.zeros(int(rng.uniform(0.1, 1.0) * mix.SR), np.float32),
                                      c * (mix.rms(u) / mix.rms(c))])
            seg = np.concatenate([seg, np.zeros(int(rng.uniform(0.2, 1.0) * mix.SR), np.float32)])
            parts.append(mix.set_level(rng, bgs.mix(rng, seg, mix.rms(u)), -30, -3))
        x = np.concatenate(parts)
        seconds += len(x) / mix.SR
        f = mel.features(x)
        if len(f) < WIN:
            continue
        starts = np.arange(0, len(f) - WIN + 1, 8)
        ft = torch.from_numpy(np.ascontiguousarray(f.T))
        sc = np.empty(len(starts), np.float32)
        with torch.no_grad():
            for k in range(0, len(starts), 512):
                xs = torch.stack([ft[:, s:s + WIN] for s in starts[k:k + 512]]).unsqueeze(1)
                sc[k:k + 512] = torch.softmax(model(xs.contiguous(memory_format=torch.channels_last)), 1)[:, 1]
        # local maxima at least 50 frames apart, above min_score
        taken = []
        for i in np.argsort(-sc):
            if sc[i] < a.min_score:
                break
            if all(abs(int(starts[i]) - t) >= 50 for t in taken):
                taken.append(int(starts[i]))
                cands.append((float(sc[i]), len(feats), int(starts[i])))
        feats.append(f.astype(np.float16))
        print("%.0f s scored, %d candidates" % (seconds, len(cands)), flush=True)
    cands.sort(key=lambda c: -c[0])
    cands = cands[:a.n]
    X = np.stack([feats[fi][s:s + WIN].T for _, fi, s in cands]) if cands else np.zeros((0, 64, WIN), np.float16)
    tmp = a.out + ".tmp.npz"
    np.savez(tmp, X=X, y=np.zeros(len(X), np.int64), kinds=np.array(["hard"] * len(X)),
             scores=np.array([c[0] for c in cands], np.float32))
    os.replace(tmp, a.out)
    s = np.array([c[0] for c in cands])
    print("%s: %d hard negatives from %.2f h (scores: max %.4f, median %.4f, min %.4f)" %
          (a.out, len(X), seconds / 3600, s.max() if len(s) else 0, np.median(s) if len(s) else 0,
           s.min() if len(s) else 0))


if __name__ == "__main__":
    main()
