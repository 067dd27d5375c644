#!/usr/bin/python3
"""Stage 3: trains WakeNet on FEAT/train.npz (10% held out for validation, drawn
from the training voices only; the test voices are never seen here).
AdamW + one-cycle schedule, cross-entropy (optionally weighting the confusable
phrases more, --hard-weight). Augmented on the features, per
window: one time and one mel mask (SpecAugment), a vocal-tract-length
perturbation (the mel axis warped as if every frequency were scaled by
0.88-1.12) and a random spectral colouring (tilt and ripples, up to +-6 dB).
model.pt holds (--keep avg, the default) the mean of the weights at the ends of
every 5th epoch in the last 35 % of the schedule (epochs 20, 25, 30 of 30), with
BatchNorm statistics recomputed for it; or the weights at the end (last) or of
the lowest validation loss (best). With --stream, the fixed speech windows of the
training part are replaced by as many crops of a long stream of speech features,
drawn afresh every epoch (the validation part keeps its fixed windows).
With --overlay P, a random crop of that stream is laid over a share P of the
training windows of either class, --overlay-snr dB below each window's mean
power (a second talker; the label stays). With --noise-overlay P, a crop of
features.py's background stream (sox noise and multi-talker babble) is laid the
same way over a share P of the windows, --noise-overlay-snr dB below them: drawn
afresh every epoch, where each fixed window has the one background it was made with.
With --time-warp P, a share P of the windows get a piecewise time warp (time_warp).
best_so_far.pt and last.pt are saved after every epoch, so a run
cut short still leaves a usable network. With --time-budget-min the one-cycle
schedule runs on the fraction of the time budget used rather than of the steps
(or of the steps, whichever is further along), so the run anneals and ends on
time whatever the load on the machine."""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import wwfeat
from model import WakeNet, subtract_band_means


def mel_bin_hz():
    """Centre frequencies (Hz) of the front end's mel bands (HTK scale, f_min..f_max)."""
    c = wwfeat.default_config()
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
    pts = np.linspace(mel(c.f_min), mel(c.f_max), c.n_mels + 2)[1:-1]
    return 700.0 * (10 ** (pts / 2595.0) - 1.0)


class Vtlp:
    """Warps the mel axis of a batch as if each example's frequencies were scaled
    by alpha: band m takes the (interpolated) value found at f_m / alpha."""

    def __init__(self):
        self.hz = mel_bin_hz()
        self.n = len(self.hz)

    def __call__(self, xb, alphas):
        idx = np.interp(self.hz[None, :] / alphas[:, None], self.hz, np.arange(self.n))  # [B, n]
        return interp_along(xb, 2, idx)


def interp_along(xb, dim, pos):
    """xb [B, 1, mels, frames] read at fractional positions pos [B, L] (within 0..size-1)
    along dim 2 (mels) or 3 (frames), linearly interpolated."""
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, xb.shape[dim] - 1)
    shape = [len(pos), 1, 1, 1]
    shape[dim] = pos.shape[1]
    w = torch.from_numpy((pos - i0).astype(np.float32)).reshape(shape)
    size = list(xb.shape)
    size[dim] = -1
    g0 = torch.from_numpy(i0).reshape(shape).expand(size)
    g1 = torch.from_numpy(i1).reshape(shape).expand(size)
    return xb.gather(dim, g0) * (1 - w) + xb.gather(dim, g1) * w


TIME_WARP_STRETCHES = 3


def time_warp(xb, rng, p, rate, floor):
    """A monotone piecewise-linear warp of the time axis of a share p of the windows,
    their last frame fixed: going back from the end, TIME_WARP_STRETCHES stretches of
    random length, each played at a rate of its own (log-uniform in 1/rate..rate input
    frames per output frame), so the parts of a phrase change length unequally -- the
    held-out flite voice's "hey, jarvis" is a quick "hey" and a drawn-out "jarvis"
    (session 20), where a uniform tempo change keeps the training voices' proportions.
    The end stays where it was, so a phrase cut off at the window's end stays cut off;
    frames that come from before the window's start are set to the floor. Two runs with
    it on half the windows missed more on the pooled splits than the same two without
    (session 20: the held-out voice's clean comma phrase gained, the same voice in noise
    lost)."""
    B, T = len(xb), xb.shape[-1]
    sel = np.flatnonzero(rng.random(B) < p)
    if not len(sel):
        return xb
    n = len(sel)
    knots = np.sort(rng.uniform(0, T, (n, TIME_WARP_STRETCHES - 1)), axis=1)
    rates = np.exp(rng.uniform(-np.log(rate), np.log(rate), (n, TIME_WARP_STRETCHES)))
    back = np.arange(T)  # output frames before the last one
    step = np.take_along_axis(rates, (back[None, :, None] >= knots[:, None, :]).sum(-1), axis=1)
    src = (T - 1) - np.concatenate([np.zeros((n, 1)), np.cumsum(step[:, :-1], axis=1)], axis=1)
    src = src[:, ::-1]  # by output frame, first to last
    out = interp_along(xb[sel], 3, np.maximum(src, 0))
    before = torch.from_numpy(np.ascontiguousarray(src < 0))[:, None, None, :]
    xb[sel] = torch.where(before, torch.tensor(floor, dtype=out.dtype), out)
    return xb


class RandomEq:
    """A random smooth gain across the mel bands (a tilt and three cosine ripples, at
    most +-db dB) as another voice, microphone or room colours the spectrum. Applied
    to the mel power under the log floor, so digital silence stays at the floor."""

    def __init__(self, n_mels, log_floor):
        self.u = np.linspace(-1.0, 1.0, n_mels)
        self.floor = log_floor

    def __call__(self, xb, rng, p, db):
        B = len(xb)
        g = rng.uniform(-1, 1, (B, 1)) * self.u
        for k in (1, 2, 3):
            g = g + rng.uniform(-0.5, 0.5, (B, 1)) * np.cos(np.pi * k * (self.u + 1) / 2 + rng.uniform(0, 2 * np.pi, (B, 1)))
        g = np.clip(g, -1, 1) * db * (rng.random((B, 1)) < p)
        gain = torch.from_numpy((10 ** (g / 10)).astype(np.float32))[:, None, :, None]
        power = (xb.exp() - self.floor).clamp_min(0)
        return torch.log(power * gain + self.floor)


def load_stream(path, how):
    """A features.py stream [frames, mels] float16 as a tensor, or a one-line exit
    saying how it is made."""
    if not os.path.exists(path):
        raise SystemExit("%s: no such file (%s)" % (path, how))
    return torch.from_numpy(np.load(path))


def overlay(xb, S, rng, p, snr_db, floor):
    """Lays a random crop of the stream S [frames, mels] over a share p of the windows
    of a batch, adding mel powers (the cross terms of two independent sources average
    out), the crop scaled to snr_db (lo, hi) below the window's mean power. The label
    stays: a wake word with someone talking over it is still the wake word."""
    B, T = len(xb), xb.shape[-1]
    sel = np.flatnonzero(rng.random(B) < p)
    if not len(sel):
        return xb
    f0 = torch.from_numpy(rng.integers(0, len(S) - T + 1, len(sel)))
    over = (S[f0[:, None] + torch.arange(T)].float().transpose(1, 2).exp() - floor).clamp_min(0)
    base = (xb[sel, 0].exp() - floor).clamp_min(0)
    snr = torch.from_numpy(rng.uniform(snr_db[0], snr_db[1], len(sel)).astype(np.float32))
    gain = base.mean((1, 2)) / (over.mean((1, 2)) + 1e-12) * 10 ** (-snr / 10)
    xb[sel, 0] = torch.log(base + over * gain[:, None, None] + floor)
    return xb


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
    ap.add_argument("--keep", choices=("avg", "last", "best"), default="avg",
                    help="model.pt holds the mean of the weights at the ends of the epochs from --avg-from "
                         "on (avg), those at the end of the schedule (last) or those of the epoch with the "
                         "lowest validation loss (best); the validation windows come from the training "
                         "voices, so they do not measure the unseen voices that matter")
    ap.add_argument("--avg-from", type=float, default=0.65,
                    help="--keep avg: average the epochs that end after this fraction of the schedule")
    ap.add_argument("--avg-every", type=int, default=5, help="--keep avg: of those, every Nth epoch")
    ap.add_argument("--init", default=None, help="start from this checkpoint (fine-tuning)")
    ap.add_argument("--extra-feat", default=None, help="more training windows (.npz with X, y)")
    ap.add_argument("--freeze-bn", action="store_true",
                    help="keep every BatchNorm in inference form (its running statistics neither used from the "
                         "batch nor updated): fine-tuning a run taken out of an exported file (unmerge.py), "
                         "whose BatchNorms are folded into the convolutions, then starts from the same function")
    ap.add_argument("--subsample", type=float, default=1.0,
                    help="share of the training windows drawn afresh each epoch (the extra ones always)")
    ap.add_argument("--vtlp", type=float, default=0.12, help="warp factor range 1 +- this (0: off)")
    ap.add_argument("--hard-weight", type=float, default=1.0,
                    help="loss weight of the confusable phrases and the phrase cut just before its end "
                         "(features.py --late-cutoffs), others 1 (2 was tried: worse, see models/MODEL_HISTORY.md)")
    ap.add_argument("--eq-db", type=float, default=6.0,
                    help="random spectral colouring of up to +- this many dB (0: off)")
    ap.add_argument("--eq-prob", type=float, default=0.5, help="share of the windows coloured")
    ap.add_argument("--norm", choices=("global", "cmn"), default="global",
                    help="input normalisation inside the network: the training set's mean and scale (global), "
                         "or each mel band's mean over the window subtracted first (cmn; model.py)")
    ap.add_argument("--save-every", type=int, default=0, help="also keep the weights every N epochs (ep_N.pt)")
    ap.add_argument("--stream", default=None,
                    help="a negative stream (features.py's speech_stream.npy): as many windows as the training "
                         "part has fixed speech windows, cropped from it afresh every epoch, take their place")
    ap.add_argument("--overlay", type=float, default=0.0,
                    help="share of the windows (of either class) over which a crop of the negative stream is "
                         "laid, at --overlay-snr below the window's mean power: a second talker (0: off)")
    ap.add_argument("--overlay-snr", type=float, nargs=2, default=(0.0, 20.0), metavar=("LO", "HI"),
                    help="--overlay: its level below the window's, uniform in LO..HI dB")
    ap.add_argument("--noise-overlay", type=float, default=0.0,
                    help="share of the windows (of either class) over which a crop of the background stream "
                         "(--noise-stream) is laid, at --noise-overlay-snr below the window's mean power (0: off)")
    ap.add_argument("--noise-overlay-snr", type=float, nargs=2, default=(-4.0, 6.0), metavar=("LO", "HI"),
                    help="--noise-overlay: its level below the window's, uniform in LO..HI dB (the window's mean "
                         "includes its quiet part, so the phrase itself stands about 4 dB higher)")
    ap.add_argument("--noise-stream", default=None,
                    help="--noise-overlay: the background stream (default FEAT/noise_stream.npy, features.py)")
    ap.add_argument("--time-warp", type=float, default=0.0,
                    help="share of the windows (either class) whose time axis is warped piecewise, the end "
                         "fixed (time_warp; 0: none)")
    ap.add_argument("--time-warp-rate", type=float, default=1.3,
                    help="--time-warp: each stretch plays at a rate log-uniform in 1/R..R")
    ap.add_argument("--time-budget-min", type=float, default=0,
                    help="train for this long (the learning-rate schedule follows the time used), at most "
                         "--epochs; 0: exactly --epochs")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    z = np.load(os.path.join(a.feat, "train.npz"))
    X = torch.from_numpy(z["X"]).unsqueeze(1)  # float16; each batch becomes float32
    y = torch.from_numpy(z["y"])
    hard = np.isin(z["kinds"], ["confusable", "late_cutoff"])
    n = len(y)
    perm = rng.permutation(n)
    nval = n // 10
    val_idx, tr_idx = perm[:nval], perm[nval:]
    extra_idx = np.zeros(0, np.int64)
    if a.extra_feat:
        # more training windows (mine.py's hard negatives); never in the validation set
        zx = np.load(a.extra_feat)
        Xh = torch.from_numpy(zx["X"].astype(np.float16)).unsqueeze(1)
        X = torch.cat([X, Xh])
        y = torch.cat([y, torch.from_numpy(zx["y"])])
        hard = np.concatenate([hard, np.zeros(len(Xh), bool)])
        extra_idx = np.arange(n, n + len(Xh))
        print("%d extra training windows from %s" % (len(Xh), a.extra_feat), flush=True)
    base = len(y)  # indices from here on are crops of the negative stream
    stream_idx = np.zeros(0, np.int64)
    stream_path = a.stream or (os.path.join(a.feat, "speech_stream.npy") if a.overlay > 0 else None)
    if stream_path:
        S = load_stream(stream_path, "features.py writes it when the data has the set speech_stream_train, "
                                     "gen_data.py --stream-speech-s > 0")
    if a.stream:
        speech = z["kinds"][tr_idx] == "speech"
        tr_idx = tr_idx[~speech]
        stream_idx = np.arange(base, base + int(speech.sum()))
        print("%d windows per epoch cropped from %s (%d frames) instead of the fixed speech windows"
              % (len(stream_idx), a.stream, len(S)), flush=True)
    if a.noise_overlay > 0:
        N = load_stream(a.noise_stream or os.path.join(a.feat, "noise_stream.npy"),
                        "features.py writes it; for features made before it, features.py --noise-stream-only 1")
    y_all = torch.cat([y, torch.zeros(len(stream_idx), dtype=y.dtype)])
    hard = np.concatenate([hard, np.zeros(len(stream_idx), bool)])
    starts = np.zeros(len(stream_idx), np.int64)
    win_t = torch.arange(X.shape[3])

    def fetch(idx):
        """float32 [B, 1, mels, frames] of training windows and stream crops (starts)."""
        idx = np.asarray(idx)
        st = idx >= base
        if not st.any():
            return X[torch.from_numpy(idx)].float()
        xb = torch.empty((len(idx),) + tuple(X.shape[1:]))
        xb[torch.from_numpy(~st)] = X[torch.from_numpy(idx[~st])].float()
        f0 = torch.from_numpy(starts[idx[st] - base])
        xb[torch.from_numpy(st)] = S[f0[:, None] + win_t].float().transpose(1, 2).unsqueeze(1)
        return xb

    n_epoch = int(len(tr_idx) * a.subsample) + len(extra_idx) + len(stream_idx)  # windows per epoch
    sample = X[rng.choice(tr_idx, min(len(tr_idx), 8000), replace=False)].float()
    if a.norm == "cmn":
        sample = subtract_band_means(sample)
    mean = float(sample.mean())
    std = float(sample.std())
    floor = float(X.min())
    # channels-last: mkldnn's convolutions run about 4x faster this way here
    model = WakeNet(a.width, 2, mean, 1.0 / std, norm=a.norm).to(memory_format=torch.channels_last)
    if a.init:
        # fine-tuning: the weights and the input normalisation of an earlier run
        ck0 = torch.load(a.init, map_location="cpu")
        if ck0["width"] != a.width or ck0.get("norm", "global") != a.norm:
            raise SystemExit("%s: width %d, norm %s, not %d, %s" % (a.init, ck0["width"], ck0.get("norm", "global"),
                                                                a.width, a.norm))
        model.load_state_dict(ck0["state"])
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-2)
    steps = a.epochs * (n_epoch // a.batch)
    budget = a.time_budget_min * 60

    def one_cycle(frac):
        """OneCycleLR's shape (cosine up from lr/25 over the first 20 %, cosine down to lr/1e4)
        as a function of the fraction of the run done."""
        frac = min(max(frac, 0.0), 1.0)
        if frac < 0.2:
            lo, hi, x = a.lr / 25, a.lr, frac / 0.2
        else:
            lo, hi, x = a.lr, a.lr / 25 / 1e4, (frac - 0.2) / 0.8
        return hi + (lo - hi) * (1 + np.cos(np.pi * x)) / 2

    def checkpoint(state):
        """What every saved .pt holds: enough for WakeNet.from_ckpt, and how it was trained."""
        return {"width": a.width, "norm": a.norm, "state": state, "log": log, "args": vars(a)}

    step = 0
    n_avg, avg_state = 0, {}
    best = (1e9, None)
    log = []
    os.makedirs(a.out, exist_ok=True)
    vtlp = Vtlp()
    log_floor = wwfeat.default_config().log_floor
    eq = RandomEq(X.shape[2], log_floor)
    t_start = time.time()
    out_of_time = False
    for ep in range(a.epochs):
        if out_of_time:
            break
        model.train()
        if a.freeze_bn:
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.eval()
        t0 = time.time()
        # every extra window, and all (or a random --subsample share) of the others
        ep_idx = tr_idx if a.subsample >= 1 else rng.choice(tr_idx, int(len(tr_idx) * a.subsample), replace=False)
        if len(stream_idx):
            starts[:] = rng.integers(0, len(S) - X.shape[3] + 1, len(stream_idx))
        order = rng.permutation(np.concatenate([ep_idx, extra_idx, stream_idx]))
        tot, cnt = 0.0, 0
        for b in range(n_epoch // a.batch):
            idx = order[b * a.batch:(b + 1) * a.batch]
            xb, yb = fetch(idx), y_all[torch.from_numpy(idx)]
            if a.overlay > 0:
                xb = overlay(xb, S, rng, a.overlay, a.overlay_snr, log_floor)
            if a.noise_overlay > 0:
                xb = overlay(xb, N, rng, a.noise_overlay, a.noise_overlay_snr, log_floor)
            if a.time_warp > 0:
                xb = time_warp(xb, rng, a.time_warp, a.time_warp_rate, floor)
            # SpecAugment: one mel band mask and one time mask per example, set to the floor
            for i in range(len(xb)):
                if rng.random() < 0.5:
                    f0, fw = rng.integers(0, 64), rng.integers(1, 8)
                    xb[i, :, f0:f0 + fw, :] = floor
                if rng.random() < 0.5:
                    t0_, tw = rng.integers(0, xb.shape[-1]), rng.integers(1, 10)
                    xb[i, :, :, t0_:t0_ + tw] = floor
            if a.vtlp > 0:
                # half the examples warped, the others unchanged
                alphas = np.where(rng.random(len(xb)) < 0.5, rng.uniform(1 - a.vtlp, 1 + a.vtlp, len(xb)), 1.0)
                xb = vtlp(xb, alphas)
            if a.eq_db > 0:
                xb = eq(xb, rng, a.eq_prob, a.eq_db)
            # the schedule follows the time used when there is a budget (other jobs on the
            # machine make epochs take unpredictably long), else the step count
            frac = max((time.time() - t_start) / budget, step / steps) if budget else step / steps
            if budget and frac >= 1 and step < steps:
                out_of_time = True
                print("time budget used: stopping in epoch %d after %d steps" % (ep + 1, step), flush=True)
                break
            for g in opt.param_groups:
                g["lr"] = one_cycle(frac)
            step += 1
            opt.zero_grad()
            wb = torch.from_numpy(np.where(hard[idx], a.hard_weight, 1.0).astype(np.float32))
            ce = F.cross_entropy(model(xb.contiguous(memory_format=torch.channels_last)), yb, reduction="none")
            loss = (ce * wb).sum() / wb.sum()
            loss.backward()
            opt.step()
            tot += float(loss) * len(yb)
            cnt += len(yb)
        model.eval()
        with torch.no_grad():
            vl, vc, tp, fp, pos = 0.0, 0, 0, 0, 0
            for b in range(0, nval, 512):
                idx = torch.from_numpy(val_idx[b:b + 512])
                lo = model(X[idx].float().contiguous(memory_format=torch.channels_last))
                vl += float(F.cross_entropy(lo, y[idx], reduction="sum"))
                pred = lo.argmax(1)
                vc += int((pred == y[idx]).sum())
                tp += int(((pred == 1) & (y[idx] == 1)).sum())
                fp += int(((pred == 1) & (y[idx] == 0)).sum())
                pos += int((y[idx] == 1).sum())
        rec = {"epoch": ep + 1, "steps": step, "lr": one_cycle(frac), "train_loss": tot / max(cnt, 1), "val_loss": vl / nval, "val_acc": vc / nval,
               "val_recall": tp / max(pos, 1), "val_false_pos": fp, "seconds": time.time() - t0}
        log.append(rec)
        print(json.dumps(rec), flush=True)
        with open(os.path.join(a.out, "log.txt"), "a" if ep else "w") as lf:
            lf.write(json.dumps(rec) + "\n")
        if rec["val_loss"] < best[0]:
            best = (rec["val_loss"], {k: v.clone() for k, v in model.state_dict().items()})
            # the best so far, so an interrupted run still leaves a usable network
            torch.save(checkpoint(best[1]),
                       os.path.join(a.out, "best_so_far.pt"))
        torch.save(checkpoint(model.state_dict()),
                   os.path.join(a.out, "last.pt"))
        if frac >= a.avg_from and (ep + 1) % a.avg_every == 0:
            # a running mean of the weights (SWA-style tail averaging): one run's end
            # point varies a lot on unseen voices; the mean over the annealing tail less so
            n_avg += 1
            with torch.no_grad():
                for k, v in model.state_dict().items():
                    if v.is_floating_point() and "running_" not in k:
                        avg_state[k] = v.clone() if n_avg == 1 else avg_state[k] + (v - avg_state[k]) / n_avg
        if a.save_every and (ep + 1) % a.save_every == 0:
            torch.save(checkpoint(model.state_dict()),
                       os.path.join(a.out, "ep_%d.pt" % (ep + 1)))
    if a.keep == "avg" and n_avg == 0:
        # a run cut short by its time budget may end before any epoch to average
        print("--keep avg: no epoch to average (every %d from %g of the schedule); keeping the last weights"
              % (a.avg_every, a.avg_from), flush=True)
    elif a.keep == "avg" and a.freeze_bn:
        model.load_state_dict(avg_state, strict=False)
        print("model.pt: the mean of the weights of %d epochs (BatchNorm statistics frozen)" % n_avg, flush=True)
    elif a.keep == "avg":
        # the averaged weights need their own BatchNorm statistics: a pass over training
        # windows in train mode with a cumulative (momentum-free) mean
        model.load_state_dict(avg_state, strict=False)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
        model.train()
        pool = np.concatenate([tr_idx, stream_idx])
        bn_idx = np.sort(rng.choice(pool, min(len(pool), 12800), replace=False))
        with torch.no_grad():
            for b in range(0, len(bn_idx), 256):
                model(fetch(bn_idx[b:b + 256]).contiguous(memory_format=torch.channels_last))
        print("model.pt: the mean of the weights of %d epochs (every %d from %g of the schedule); "
              "BatchNorm statistics from %d windows" % (n_avg, a.avg_every, a.avg_from, len(bn_idx)), flush=True)
    final = best[1] if a.keep == "best" else model.state_dict()
    torch.save(checkpoint(final),
               os.path.join(a.out, "model.pt.tmp"))
    os.replace(os.path.join(a.out, "model.pt.tmp"), os.path.join(a.out, "model.pt"))


if __name__ == "__main__":
    main()
