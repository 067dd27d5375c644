#!/usr/bin/python3
"""Stage 2: training windows (wwfeat.WINDOW_SAMPLES: 1.032 s = 16512 samples for the
default 101 frames) mixed from the cached audio, and their log-mel features from
wakewordd's own front end.

Uses the *_train sets and their *_extra_train renderings (with --flite-sets 1 also *_flite_train).
Labels: 1 = the phrase, its end placed 20-300 ms before the window's end (at
most a fifth of it cut at the start, as the streaming detector sees it);
0 = other speech, confusable phrases, the phrase cut off before its end
(35-70 % of it; with --late-cutoffs 1 also 78-88 %), noise, silence. Every
window gets a background (sox noise or babble) at 0-25 dB SNR three times out
of four, and a random level. Writes FEAT/train.npz with
X [N,64,WINDOW_FRAMES] float16 (mels x time, as the model reads them) and y; and, when the
data has the set speech_stream_train, FEAT/speech_stream.npy: that speech as one
long stream of log-mel frames, which train.py crops afresh every epoch.
With the sets *_prosody_train, also FEAT/prosody.npz (X, y): windows of the
word-by-word renderings, for train.py --extra-feat. Always FEAT/noise_stream.npy: the
backgrounds alone (sox noise and babble, as the windows get them), for train.py
--noise-overlay. --stream-only 1 writes just the negative stream, --noise-stream-only 1
just the background stream. With --rhythm P, a share P of the phrase renderings are
retimed part by part before they are mixed (retimed; session 21, models/MODEL_HISTORY.md).
"""
import argparse
import os
from multiprocessing import Pool

import numpy as np

import gen_data
import mix
import wwfeat

W = wwfeat.WINDOW_SAMPLES
SR = mix.SR


def place(rng, out_len, utt, end_pos):
    """utt placed so that it ends at sample end_pos (may hang off either edge)."""
    out = np.zeros(out_len, np.float32)
    s = end_pos - len(utt)
    a, b = max(s, 0), min(end_pos, out_len)
    if b > a:
        out[a:b] = utt[a - s:b - s]
    return out


def retime(job):
    """job = (utterance, first-part factor, second-part factor): the utterance with the two
    parts on either side of its longest pause played that many times faster (sox tempo),
    or as it is when it has no pause or a part shorter than 50 ms."""
    u, f1, f2 = job
    parts = gen_data.split_at_pause(u * 32768)
    if parts is None or min(len(parts[0]), len(parts[2])) < SR // 20:
        return u
    first, pause, second = parts
    return np.concatenate([gen_data.tempo(first, f1), pause, gen_data.tempo(second, f2)]) / 32768


def retimed(rng, pos, p, rate):
    """A share p of the renderings retimed (retime), each part at its own factor drawn
    log-uniform in 1/rate..rate: a quick "hey" before a drawn-out "jarvis" and the other
    way round, rhythms the engines' rate settings, which scale the whole phrase, never make."""
    pick = rng.random(len(pos)) < p
    fac = np.exp(rng.uniform(-np.log(rate), np.log(rate), (len(pos), 2)))
    jobs = [(u, *fac[i]) for i, u in enumerate(pos) if pick[i]]
    with Pool(2) as pool:
        done = iter(pool.map(retime, jobs, chunksize=16))
    return [next(done) if pick[i] else u for i, u in enumerate(pos)]


def phrase_windows(rng, pos, conf, add, pos_per_utt, late_cutoffs):
    """Windows of the phrase (pos_per_utt each, placed as the detector sees it), of the
    phrase cut off, and of the confusables, each handed to add(x, level, label, kind)."""
    for u in pos:
        lvl = mix.rms(u)
        for _ in range(pos_per_utt):
            cut_max = int(0.2 * len(u))
            lo, hi = int(0.02 * SR), int(0.30 * SR)
            hi = max(lo + 1, min(hi, W - len(u) + cut_max))
            end = W - rng.integers(lo, hi)
            add(place(rng, W, u, end), lvl, 1, "pos")
        # the phrase cut off: the window ends 35-70% of the way through it
        end = W - rng.integers(0, int(0.3 * SR))
        cut = int(len(u) * rng.uniform(0.35, 0.7))
        add(place(rng, W, u[:cut], end), lvl, 0, "cutoff")
        # ... and just before its last sound (78-88 %: "hey jarvi" of "hey jarvis" is ~91 %),
        # so the network needs the whole phrase and "hey jarvey" or "jarvin" do not pass
        if late_cutoffs:
            end = W - rng.integers(0, int(0.15 * SR))
            cut = int(len(u) * rng.uniform(0.78, 0.88))
            add(place(rng, W, u[:cut], end), lvl, 0, "late_cutoff")

    for u in conf:
        lvl = mix.rms(u)
        for _ in range(2):
            end = W - rng.integers(int(0.0 * SR), int(0.5 * SR))
            add(place(rng, W, u, end), lvl, 0, "confusable")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--pos-per-utt", type=int, default=4)
    ap.add_argument("--speech-windows", type=int, default=24000)
    ap.add_argument("--late-cutoffs", type=int, default=0, help="1: one more negative per rendering, the phrase "
                    "cut just before its end (tried against 'hey jarvey': it did not help, see models/MODEL_HISTORY.md)")
    ap.add_argument("--flite-sets", type=int, default=0, help="1: also the *_flite_train renderings (gen_data.py "
                    "--flite-renders; tried against the held-out flite voice: no better, see models/MODEL_HISTORY.md)")
    ap.add_argument("--voice-sets", type=int, default=0, help="1: also the *_voices_train renderings (gen_data.py "
                    "--random-voices: the training espeak-ng voices with variants drawn at random)")
    ap.add_argument("--rhythm", type=float, default=0, help="share of the phrase renderings retimed part by part "
                    "before they are mixed (retimed; 0: none)")
    ap.add_argument("--rhythm-rate", type=float, default=1.3, help="--rhythm: each part at most this many times "
                    "faster or slower")
    ap.add_argument("--stream-only", type=int, default=0, help="1: write only the negative stream")
    ap.add_argument("--noise-stream-only", type=int, default=0, help="1: write only the background stream")
    a = ap.parse_args()
    if not 0 <= a.rhythm <= 1:
        raise SystemExit("features.py: --rhythm %g: a share, 0..1" % a.rhythm)
    if a.rhythm_rate < 1:
        raise SystemExit("features.py: --rhythm-rate %g: at least 1 (each part at most that many times faster "
                         "or slower)" % a.rhythm_rate)
    rng = np.random.default_rng(a.seed)

    def both(name, load=mix.load_set):
        """The set and its training-only renderings (gen_data.py *_extra_train, *_flite_train, *_voices_train)."""
        u, _ = load(a.data, name)
        for more in ("_extra_train",) + (("_flite_train",) if a.flite_sets else ()) + \
                (("_voices_train",) if a.voice_sets else ()):
            if os.path.exists(os.path.join(a.data, name.replace("_train", more) + ".npz")):
                u += load(a.data, name.replace("_train", more))[0]
        return u

    # the backgrounds first: the stream-only modes need nothing else
    speech = [mix.trim(u) for u in both("speech_train")]
    noises, _ = mix.load_set(a.data, "noise_train")
    bgs = mix.Backgrounds(noises, speech)
    mel = wwfeat.Mel()
    noise_stream = os.path.join(a.out, "noise_stream.npy")
    if a.stream_only or a.noise_stream_only:
        os.makedirs(a.out, exist_ok=True)
        if a.stream_only:
            write_stream(rng, mel, a.data, bgs, os.path.join(a.out, "speech_stream.npy"))
        if a.noise_stream_only:
            write_noise_stream(a.seed + 2, mel, bgs, noise_stream)
        return
    pos = [mix.trim(u) for u in both("pos_train")]
    if a.rhythm > 0:
        pos = retimed(np.random.default_rng(a.seed + 3), pos, a.rhythm, a.rhythm_rate)
    conf = [mix.trim(u) for u in both("conf_train", mix.load_filtered)]

    wins, labels, kinds = [], [], []
    add = window_adder(rng, bgs, wins, labels, kinds)
    phrase_windows(rng, pos, conf, add, a.pos_per_utt, a.late_cutoffs)

    stream = np.concatenate([np.concatenate([u, np.zeros(rng.integers(0, SR // 2), np.float32)])
                             for u in speech])
    slvl = mix.rms(stream)
    for _ in range(a.speech_windows):
        add(mix.crop(rng, stream, W), slvl, 0, "speech")

    for i in range(1500):
        r = rng.random()
        if r < 0.15:
            x = np.zeros(W, np.float32)
            wins.append(x)
            labels.append(0)
            kinds.append("silence")
            continue
        x = bgs.noise(rng, W) if r < 0.7 else bgs.babble(rng, W)
        wins.append(mix.set_level(rng, x, -70, -3))
        labels.append(0)
        kinds.append("noise")

    X = window_features(mel, wins)
    y = np.array(labels, np.int64)
    os.makedirs(a.out, exist_ok=True)
    if os.path.exists(os.path.join(a.data, "speech_stream_train.npz")):
        write_stream(rng, mel, a.data, bgs, os.path.join(a.out, "speech_stream.npy"))
    tmp = os.path.join(a.out, "train.tmp.npz")
    np.savez(tmp, X=X, y=y, kinds=np.array(kinds))
    os.replace(tmp, os.path.join(a.out, "train.npz"))
    write_noise_stream(a.seed + 2, mel, bgs, noise_stream)
    if os.path.exists(os.path.join(a.data, "pos_prosody_train.npz")):
        write_prosody(a.seed + 1, a.data, bgs, mel, os.path.join(a.out, "prosody"), a.pos_per_utt)
    u, c = np.unique(kinds, return_counts=True)
    print("windows: %d (%d positive); %s" % (len(y), y.sum(), dict(zip(u.tolist(), c.tolist()))))


def window_features(mel, wins):
    """Log-mel features [N, 64, WINDOW_FRAMES] float16 (mels x time, as the model reads them)."""
    X = np.empty((len(wins), wwfeat.N_MELS, wwfeat.WINDOW_FRAMES), np.float16)
    for i, w in enumerate(wins):
        f = mel.features(w)
        assert f.shape == (wwfeat.WINDOW_FRAMES, wwfeat.N_MELS), f.shape
        X[i] = f.T
    return X


def window_adder(rng, bgs, wins, labels, kinds):
    """add(x, fg_level, label, kind): x over a drawn background (none p_clean of the
    time), at a drawn level, appended with its label and kind."""
    def add(x, fg_level, label, kind, p_clean=0.25):
        wins.append(mix.set_level(rng, bgs.mix(rng, x, fg_level, p_clean)))
        labels.append(label)
        kinds.append(kind)
    return add


def write_prosody(seed, data, bgs, mel, path, pos_per_utt):
    """FEAT/prosody.npz: windows of the word-by-word renderings (gen_data.py
    *_prosody_train), made as the phrase and confusable windows are, with a generator of
    their own so train.npz stays as it was; train.py --extra-feat adds them."""
    rng = np.random.default_rng(seed)
    pos = [mix.trim(u) for u in mix.load_set(data, "pos_prosody_train")[0]]
    conf = [mix.trim(u) for u in mix.load_filtered(data, "conf_prosody_train")[0]]
    wins, labels, kinds = [], [], []
    phrase_windows(rng, pos, conf, window_adder(rng, bgs, wins, labels, kinds), pos_per_utt, 0)
    y = np.array(labels, np.int64)
    np.savez(path + ".tmp.npz", X=window_features(mel, wins), y=y)
    os.replace(path + ".tmp.npz", path + ".npz")
    print("prosody windows: %d (%d positive)" % (len(y), y.sum()), flush=True)


def write_stream(rng, mel, data, bgs, path, seg_s=20):
    """The negative stream: the speech_stream_train renderings one after another (pauses
    of 0-0.5 s), in segments of about seg_s seconds that each get their own background
    (as the windows do: none a quarter of the time, else babble or noise at 0-25 dB SNR)
    and level; log-mel frames [T, n_mels] float16 as one stream of the front end."""
    utts = [mix.trim(u) for u in mix.load_set(data, "speech_stream_train")[0]]
    segs, cur, n = [], [], 0
    for u in utts:
        cur += [u, np.zeros(rng.integers(0, SR // 2), np.float32)]
        n += len(u) + len(cur[-1])
        if n >= seg_s * SR:
            segs.append(np.concatenate(cur))
            cur, n = [], 0
    if cur:
        segs.append(np.concatenate(cur))
    audio = np.concatenate([mix.set_level(rng, bgs.mix(rng, x, mix.rms(x))) for x in segs])
    S = mel.stream_features(audio, np.float16)
    np.save(path + ".tmp.npy", S)
    os.replace(path + ".tmp.npy", path)
    print("negative stream: %.0f s of speech, %d frames" % (len(audio) / SR, len(S)), flush=True)


def write_noise_stream(seed, mel, bgs, path, seconds=1800, seg_s=10):
    """The background stream: segments of seg_s seconds, each sox noise or babble in the
    proportions the windows get them (mix.Backgrounds.mix), at one level; log-mel frames
    [T, n_mels] float16. train.py scales each crop to the window it covers, so only the
    spectra matter. A generator of its own, so train.npz stays as it was."""
    rng = np.random.default_rng(seed)
    n = seg_s * SR
    segs = [bgs.babble(rng, n) if rng.random() < 0.4 else bgs.noise(rng, n) for _ in range(seconds // seg_s)]
    S = mel.stream_features(np.concatenate(segs) * np.float32(0.05), np.float16)
    np.save(path + ".tmp.npy", S)
    os.replace(path + ".tmp.npy", path)
    print("background stream: %d s, %d frames" % (seconds, len(S)), flush=True)


if __name__ == "__main__":
    main()
