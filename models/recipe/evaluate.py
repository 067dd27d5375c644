#!/usr/bin/python3
"""Stage 5: streaming evaluation on the test split, run exactly as the daemon's
detector runs, and the DET curve.

Test audio (seeded, test voices only):
  positives: each test rendering of the phrase placed in 2.0 s of audio (its end
    0.9-1.6 s in), with a background (sox noise / babble) at 0-25 dB SNR three
    times out of four, at a random level; each clip is its own stream.
  negatives: one long stream (>= 1 h) of other speech (man pages read by the test
    voices), confusable phrases, noise and silence, with backgrounds.
Detector (mirrors the daemon): log-mel frames stream in; every hop_frames (8)
frames once at least window_frames (101) exist -- i.e. when the frame count n
satisfies n >= 101 and (n - 101) % 8 == 0 -- the model scores frames [n-101, n);
softmax; P(keyword); the mean of the last k scores (a zero-initialised history
of k slots, reset per stream); a detection when the mean >= threshold, after
which no detection for refractory_s seconds (scores keep flowing meanwhile).
A positive clip counts as detected if it fires anywhere in it.
Writes OUT.json (the numbers) and OUT.svg (FRR vs false accepts per hour)."""
import argparse
import ctypes
import json
import os
import wave

import numpy as np
import torch

import mix
import wwfeat
from model import WakeNet

SR = mix.SR
HOP = 160
WIN = wwfeat.WINDOW_FRAMES


def write_wav(path, x):
    x = np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(x.tobytes())


def build_test_audio(data, rng):
    pos, ptags = mix.load_set(data, "pos_test")
    conf, ctags = mix.load_filtered(data, "conf_test")
    speech, _ = mix.load_set(data, "speech_test")
    noises, _ = mix.load_set(data, "noise_test")
    speech = [mix.trim(u) for u in speech]
    bgs = mix.Backgrounds(noises, speech)
    clips, info = [], []
    for u, t in zip(pos, ptags):
        u = mix.trim(u)
        n = 2 * SR
        lo = min(max(0.9, len(u) / SR + 0.05), 2.0)
        end = int(rng.uniform(lo, max(lo, 1.6)) * SR)
        x = np.zeros(n, np.float32)
        s = end - len(u)
        x[max(s, 0):end] = u[max(-s, 0):]
        r = rng.random()
        cond = "clean" if r < 0.25 else None
        if cond is None:
            bg = bgs.babble(rng, n) if r < 0.55 else bgs.noise(rng, n)
            snr = rng.uniform(0, 25)
            x = x + bg * mix.rms(u) * 10 ** (-snr / 20)
            cond = ("babble" if r < 0.55 else "noise") + "@%.0fdB" % snr
        clips.append(mix.set_level(rng, x))
        info.append({"tag": t, "condition": cond, "phrase_end_s": end / SR})
    # the negative stream: speech paragraphs, and between them sometimes a confusable
    # phrase, a stretch of noise or of silence
    parts = []
    ci = 0
    conf_order = rng.permutation(len(conf))
    for i, u in enumerate(speech):
        seg = u
        r = rng.random()
        if r < 0.5 and ci < len(conf):
            c = mix.trim(conf[conf_order[ci]])
            ci += 1
            gap = np.zeros(int(rng.uniform(0.3, 1.5) * SR), np.float32)
            seg = np.concatenate([seg, gap, c * (mix.rms(u) / mix.rms(c))])
        elif r < 0.65:
            seg = np.concatenate([seg, bgs.noise(rng, int(rng.uniform(2, 10) * SR)) * 0.3 * mix.rms(u)])
        elif r < 0.75:
            seg = np.concatenate([seg, np.zeros(int(rng.uniform(1, 5) * SR), np.float32)])
        seg = np.concatenate([seg, np.zeros(int(rng.uniform(0.2, 1.0) * SR), np.float32)])
        seg = bgs.mix(rng, seg, mix.rms(u))
        parts.append(mix.set_level(rng, seg, -30, -3))
    # confusables not yet used go at the end, each with its own background
    for j in conf_order[ci:]:
        c = mix.trim(conf[j])
        seg = np.concatenate([np.zeros(int(0.5 * SR), np.float32), c, np.zeros(int(0.5 * SR), np.float32)])
        parts.append(mix.set_level(rng, bgs.mix(rng, seg, mix.rms(c)), -30, -3))
    neg = np.concatenate(parts)
    return clips, info, neg, len(conf)


def window_starts(n_frames):
    """Frame counts at which the detector runs, as start indices of the window."""
    return np.arange(WIN, n_frames + 1, 8) - WIN


def score_windows(model, feats, starts, batch=256):
    out = np.empty(len(starts), np.float32)
    ft = torch.from_numpy(np.ascontiguousarray(feats.T))  # [64, T]
    with torch.no_grad():
        for b in range(0, len(starts), batch):
            xs = torch.stack([ft[:, s:s + WIN] for s in starts[b:b + batch]]).unsqueeze(1)
            out[b:b + batch] = torch.softmax(model(xs), 1)[:, 1].numpy()
    return out


def smooth(scores, k):
    """Mean of the last k scores, the history starting as k zeros."""
    c = np.concatenate([np.zeros(k, np.float64), np.cumsum(scores, dtype=np.float64)])
    return (c[k:] - c[:-k])[: len(scores)] / k if len(scores) else c[:0]


def detections(avg, times, thr, refractory):
    fires = []
    last = -1e9
    for a_, t in zip(avg, times):
        if a_ >= thr and t - last >= refractory:
            fires.append(t)
            last = t
    return fires


def det_svg(path, rows, chosen, title):
    W, H, L, R, T, B = 640, 440, 70, 20, 40, 60
    xs_min, xs_max = 0.05, max(100.0, max(r["fa_per_hour"] for r in rows) * 1.2)
    ymax = max(20.0, min(100.0, max(r["frr"] for r in rows) * 100 * 1.1))

    def X(fa):
        v = max(fa, xs_min)
        return L + (np.log10(v) - np.log10(xs_min)) / (np.log10(xs_max) - np.log10(xs_min)) * (W - L - R)

    def Y(frr):
        return T + (1 - frr * 100 / ymax) * (H - T - B)

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>']
    # target region: FRR <= 5 % at <= 0.5 FA/h
    o.append(f'<rect x="{L}" y="{Y(0.05):.1f}" width="{X(0.5) - L:.1f}" height="{Y(0) - Y(0.05):.1f}" '
             f'fill="#d8f0d8" stroke="#6a6" stroke-dasharray="4,3"/>')
    o.append(f'<text x="{L + 4}" y="{Y(0.05) - 4:.1f}" fill="#383" font-size="11">target: FRR &#8804; 5% at &#8804; 0.5 FA/h</text>')
    dec = [d for d in (0.1, 1, 10, 100, 1000) if xs_min <= d <= xs_max]
    for d in dec:
        o.append(f'<line x1="{X(d):.1f}" y1="{T}" x2="{X(d):.1f}" y2="{H - B}" stroke="#ddd"/>')
        o.append(f'<text x="{X(d):.1f}" y="{H - B + 16}" text-anchor="middle">{d:g}</text>')
    o.append(f'<text x="{X(xs_min):.1f}" y="{H - B + 16}" text-anchor="middle">0</text>')
    step = 5 if ymax <= 30 else 10
    for p in range(0, int(ymax) + 1, step):
        o.append(f'<line x1="{L}" y1="{Y(p / 100):.1f}" x2="{W - R}" y2="{Y(p / 100):.1f}" stroke="#eee"/>')
        o.append(f'<text x="{L - 6}" y="{Y(p / 100) + 4:.1f}" text-anchor="end">{p}%</text>')
    o.append(f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="#333"/>')
    o.append(f'<text x="{(W + L) / 2}" y="{H - 20}" text-anchor="middle">false accepts per hour (log scale; 0 at the left edge)</text>')
    o.append(f'<text x="18" y="{(H - B + T) / 2}" text-anchor="middle" transform="rotate(-90 18 {(H - B + T) / 2})">false-reject rate</text>')
    pts = sorted(((X(r["fa_per_hour"]), Y(r["frr"])) for r in rows))
    o.append('<polyline fill="none" stroke="#1f5fbf" stroke-width="2" points="' +
             " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
    for r in rows:
        o.append(f'<circle cx="{X(r["fa_per_hour"]):.1f}" cy="{Y(r["frr"]):.1f}" r="2.5" fill="#1f5fbf">'
                 f'<title>threshold {r["threshold"]:g}: FRR {r["frr"] * 100:.1f}%, {r["fa_per_hour"]:.2f} FA/h</title></circle>')
    if chosen:
        cx, cy = X(chosen["fa_per_hour"]), Y(chosen["frr"])
        o.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="none" stroke="#c33" stroke-width="2"/>')
        o.append(f'<text x="{cx + 10:.1f}" y="{cy - 8:.1f}" fill="#c33">default threshold {chosen["threshold"]:g}: '
                 f'FRR {chosen["frr"] * 100:.1f}%, {chosen["fa_per_hour"]:.2f} FA/h</text>')
    o.append("</svg>")
    open(path, "w").write("\n".join(o) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--work", required=True, help="cache dir for the test audio and scores")
    ap.add_argument("--json", required=True)
    ap.add_argument("--svg", required=True)
    ap.add_argument("--threshold-out", default=None, help="writes {\"threshold\": chosen} here")
    ap.add_argument("--smoothing-frames", type=int, default=3)
    ap.add_argument("--refractory-s", type=float, default=1.5)
    ap.add_argument("--max-fa-per-hour", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--audio-only", action="store_true", help="only build the test audio")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.work, exist_ok=True)
    rng = np.random.default_rng(a.seed)

    clips_path = os.path.join(a.work, "test_pos.npz")
    neg_path = os.path.join(a.work, "test_neg.wav")
    if not (os.path.exists(clips_path) and os.path.exists(neg_path)):
        clips, info, neg, n_conf = build_test_audio(a.data, rng)
        np.savez(clips_path + ".tmp.npz", clips=np.stack(clips), info=np.array([json.dumps(i) for i in info]),
                 n_conf=n_conf)
        os.replace(clips_path + ".tmp.npz", clips_path)
        write_wav(neg_path + ".tmp", neg)
        os.replace(neg_path + ".tmp", neg_path)
    if a.audio_only:
        return
    z = np.load(clips_path)
    clips = z["clips"].astype(np.float32)
    info = [json.loads(s) for s in z["info"]]
    n_conf = int(z["n_conf"])
    with wave.open(neg_path) as w:
        neg = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768.0
    # the same quantisation the positives get when read back from a WAV fixture
    clips = np.round(clips * 32767) / 32768.0

    ck = torch.load(a.ckpt, map_location="cpu")
    model = WakeNet(ck["width"])
    model.load_state_dict(ck["state"])
    model.eval()
    mel = wwfeat.Mel()

    k = a.smoothing_frames
    pos_avg = []
    for c in clips:
        f = mel.features(c)
        st = window_starts(len(f))
        s = score_windows(model, f, st)
        pos_avg.append(smooth(s, k))
    feat_path = os.path.join(a.work, "test_neg_features.npy")
    if os.path.exists(feat_path) and os.path.getmtime(feat_path) >= os.path.getmtime(neg_path):
        neg_f = np.load(feat_path)
    else:
        chunk = 60 * SR  # streamed in chunks as a daemon would; the result does not depend on it
        wwfeat.lib().ww_mel_reset(mel.h)
        mel._frames = []
        for b in range(0, len(neg), chunk):
            x = np.ascontiguousarray(neg[b:b + chunk])
            wwfeat.lib().ww_mel_push(mel.h, x.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), x.size, mel._sink,
                                     None)
        neg_f = np.stack(mel._frames)
        np.save(feat_path + ".tmp.npy", neg_f)
        os.replace(feat_path + ".tmp.npy", feat_path)
    st = window_starts(len(neg_f))
    neg_scores = score_windows(model, neg_f, st)
    neg_avg = smooth(neg_scores, k)
    neg_times = (st + WIN - 1) * HOP / SR + 512 / SR  # the end of the newest frame, seconds
    hours = len(neg) / SR / 3600.0

    thr = sorted(set(np.round(np.concatenate([np.arange(0.05, 0.951, 0.05), [0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9998, 0.9999, 0.99995, 0.99999]]), 6)))
    rows = []
    pos_max = np.array([p.max() if len(p) else 0.0 for p in pos_avg])
    for t in thr:
        fires = detections(neg_avg, neg_times, t, a.refractory_s)
        miss = int((pos_max < t).sum())
        rows.append({"threshold": float(t), "frr": miss / len(clips), "misses": miss,
                     "false_accepts": len(fires), "fa_per_hour": len(fires) / hours,
                     "fa_times_s": [round(x, 2) for x in fires[:20]]})
    ok = [r for r in rows if r["fa_per_hour"] <= a.max_fa_per_hour]
    if ok:
        best_frr = min(r["frr"] for r in ok)
        chosen = min((r for r in ok if r["frr"] == best_frr), key=lambda r: r["threshold"])
        # a margin: the highest threshold whose FRR is still within 1 point of the best
        chosen = max((r for r in ok if r["frr"] <= best_frr + 0.01), key=lambda r: r["threshold"])
    else:
        # the target cannot be met: the highest threshold that still misses at most
        # 10% of the phrases (fewest false accepts at a usable FRR)
        usable = [r for r in rows if r["frr"] <= 0.10] or rows[:1]
        chosen = max(usable, key=lambda r: r["threshold"])
    by_cond = {}
    for i, inf in enumerate(info):
        c = inf["condition"].split("@")[0]
        src = "flite-rms" if inf["tag"].startswith("flite") else (
            "espeak held-out voice" if inf["tag"].startswith("en-gb-x-gbcwmd") else "espeak held-out variant")
        for key in ("condition:" + c, "source:" + src):
            d = by_cond.setdefault(key, [0, 0])
            d[0] += 1
            d[1] += int(pos_max[i] < chosen["threshold"])
    res = {
        "model": os.path.abspath(a.ckpt), "width": ck["width"],
        "detector": {"hop_frames": 8, "window_frames": WIN, "smoothing_frames": k,
                     "refractory_s": a.refractory_s},
        "positives": {"clips": len(clips), "clip_seconds": 2.0},
        "negatives": {"hours": hours, "confusable_phrases": n_conf, "scored_windows": int(len(st))},
        "target": {"max_frr": 0.05, "max_fa_per_hour": a.max_fa_per_hour,
                   "met": bool(chosen["frr"] <= 0.05 and chosen["fa_per_hour"] <= a.max_fa_per_hour)},
        "chosen": {k_: v for k_, v in chosen.items() if k_ != "fa_times_s"},
        "chosen_misses_by": {k_: {"clips": v[0], "misses": v[1], "frr": v[1] / v[0]} for k_, v in sorted(by_cond.items())},
        "sweep": rows,
    }
    json.dump(res, open(a.json, "w"), indent=1)
    det_svg(a.svg, rows, chosen, f"hey jarvis, float model: DET on the test split ({len(clips)} positive clips, "
                                 f"{hours:.2f} h of negatives)")
    if a.threshold_out:
        json.dump({"threshold": chosen["threshold"]}, open(a.threshold_out, "w"))
    print("chosen threshold %g: FRR %.2f%% (%d/%d), %d false accepts in %.2f h = %.2f FA/h" %
          (chosen["threshold"], chosen["frr"] * 100, chosen["misses"], len(clips), chosen["false_accepts"],
           hours, chosen["fa_per_hour"]))
    for r in rows:
        print("thr %.5f  FRR %5.1f%%  FA %4d  FA/h %7.2f" % (r["threshold"], r["frr"] * 100, r["false_accepts"],
                                                           r["fa_per_hour"]))


if __name__ == "__main__":
    main()
