#!/usr/bin/python3
"""Makes the wake word clips in tests/fixtures/clips/ from the recipe's development
split (voices never seen in training; until session 11 it was the test split, and
the clips were made from it then), and records what the models do on them.

    /usr/bin/python3 tests/gen/make_clips.py [--detections-only] [CACHE_WORK_DIR]
                                            (default /work/cache/recipe/hey_jarvis)

Needs the recipe's data and eval stages (make -C models/recipe eval) and
build/wakewordd. Writes
16 kHz mono 16-bit WAVs:
  pos_{1,2,3}.wav   "hey jarvis" in 2 s: the first dev clip of each source (the
                    held-out espeak-ng voice, a held-out espeak-ng variant, flite's
                    rms) whose background is clean or >= 10 dB SNR
  neg_{1,2,3}.wav   2 s: a confusable phrase, other speech, noise
  demo.wav          ~15 s of other speech with the phrase said three times
and clips.json: the phrase times in demo.wav and, for every clip, the detections
of the shipped float and int8 models (models/hey_jarvis{,.int8}.onnx) with their
own metadata defaults, and their highest smoothed score, from the daemon's own
detector (`wakewordd detect --scores`). --detections-only keeps the WAVs and
only recomputes those (after a new model)."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "models", "recipe"))
import evaluate  # noqa: E402
import mix  # noqa: E402

ARGS = [a for a in sys.argv[1:] if a != "--detections-only"]
DETECTIONS_ONLY = "--detections-only" in sys.argv[1:]
WORK = ARGS[0] if ARGS else "/work/cache/recipe/hey_jarvis"
WAKEWORDD = os.environ.get("WAKEWORDD", os.path.join(REPO, "build", "wakewordd"))
OUT = os.path.join(REPO, "tests", "fixtures", "clips")
SR = 16000
rng = np.random.default_rng(20261124)


def q(x):
    return np.round(np.clip(x, -1, 1) * 32767) / 32768.0


def make_clips():
    os.makedirs(OUT, exist_ok=True)
    z = np.load(os.path.join(WORK, "eval_dev", "test_pos.npz"))
    clips = z["clips"]
    info = [json.loads(s) for s in z["info"]]
    ok = lambda c: c == "clean" or float(c.split("@")[1].rstrip("dB")) >= 10  # noqa: E731
    picks = []
    for src in ("en-gb-x-gbcwmd", "espeak-variant", "flite-rms"):
        for i, inf in enumerate(info):
            t = inf["tag"]
            s = ("flite-rms" if t.startswith("flite") else
                 "en-gb-x-gbcwmd" if t.startswith("en-gb-x-gbcwmd") else "espeak-variant")
            if s == src and ok(inf["condition"]):
                picks.append(i)
                break
    out = {}
    for n, i in enumerate(picks, 1):
        name = f"pos_{n}.wav"
        evaluate.write_wav(os.path.join(OUT, name), clips[i])
        out[name] = {"source": info[i]["tag"], "condition": info[i]["condition"], "keyword": True}

    data = os.path.join(WORK, "data")
    conf, ctags = mix.load_filtered(data, "conf_dev")
    speech, _ = mix.load_set(data, "speech_dev")
    noises, _ = mix.load_set(data, "noise_dev")
    pos, ptags = mix.load_set(data, "pos_dev")
    ci = next(i for i, t in enumerate(ctags) if t.endswith("|hey travis") or t.endswith("hey jarvey"))
    c = mix.trim(conf[ci])
    neg1 = mix.crop(rng, c, 2 * SR)
    neg2 = mix.crop(rng, mix.trim(speech[3]), 2 * SR)
    neg3 = mix.crop(rng, noises[1], 2 * SR)
    for n, (x, what) in enumerate(((neg1, "confusable: " + ctags[ci]), (neg2, "other speech"),
                                   (neg3, "pink noise")), 1):
        name = f"neg_{n}.wav"
        evaluate.write_wav(os.path.join(OUT, name), mix.set_level(rng, x, -12, -6))
        out[name] = {"source": what, "keyword": False}

    # demo: speech, phrase, speech, phrase, speech, phrase, a little noise under it all
    phr = [mix.trim(pos[i]) for i in (picks[0], picks[1], picks[2])]
    talk = [mix.trim(speech[i])[: int(3.0 * SR)] for i in (10, 11, 12)]
    parts, times, t = [], [], 0
    for sp, ph in zip(talk, phr):
        g = np.zeros(int(0.5 * SR), np.float32)
        sp = sp * (0.1 / mix.rms(sp))
        ph = ph * (0.1 / mix.rms(ph))
        for seg in (sp, g):
            parts.append(seg)
            t += len(seg)
        times.append([round(t / SR, 2), round((t + len(ph)) / SR, 2)])
        parts += [ph, np.zeros(int(0.8 * SR), np.float32)]
        t += len(ph) + int(0.8 * SR)
    demo = np.concatenate(parts)
    demo = demo + mix.Backgrounds(noises, speech).noise(rng, len(demo)) * 0.1 * 10 ** (-20 / 20)
    demo = mix.set_level(rng, demo, -6, -3)
    evaluate.write_wav(os.path.join(OUT, "demo.wav"), demo)
    out["demo.wav"] = {"source": "test-split speech with the phrase from " + ", ".join(info[i]["tag"] for i in picks),
                       "keyword": True, "phrase_times_s": times}

    return out


def detections(out):
    """Each shipped model over every clip through `wakewordd detect --scores`."""
    thr = None
    for kind, fname in (("float", "hey_jarvis.onnx"), ("int8", "hey_jarvis.int8.onnx")):
        model = os.path.join(REPO, "models", fname)
        files = [os.path.join(OUT, n) for n in out]
        with tempfile.TemporaryDirectory() as td:
            tsv = os.path.join(td, "scores.tsv")
            r = subprocess.run([WAKEWORDD, "detect", "--json", "--model", model, "--scores", tsv, *files],
                               capture_output=True, text=True, check=True)
            rows = [l.split("\t") for l in open(tsv).read().splitlines()[1:]]
        dets = [json.loads(l) for l in r.stdout.splitlines()]
        for n in out:
            f = os.path.join(OUT, n)
            out[n][kind + "_detections_s"] = [round(d["time_s"], 3) for d in dets if d["file"] == f]
            out[n][kind + "_max_smoothed_score"] = round(max(float(r_[2]) for r_ in rows if r_[0] == f), 4)
        info = subprocess.run([WAKEWORDD, "info", model], capture_output=True, text=True, check=True).stdout
        t = [l.split("=", 1)[1] for l in info.splitlines() if l.startswith("metadata") and "threshold=" in l]
        if thr is not None and t[0] != thr:
            sys.exit("the float and int8 models have different thresholds: %s, %s" % (thr, t[0]))
        thr = t[0]
    return float(thr)


def main():
    if DETECTIONS_ONLY:
        out = json.load(open(os.path.join(OUT, "clips.json")))["clips"]
        for rec in out.values():
            for k in [k for k in rec if k.endswith("_detections_s") or k.endswith("_max_smoothed_score")]:
                del rec[k]
    else:
        out = make_clips()
    thr = detections(out)
    meta = {"threshold": thr, "hop_frames": 8, "smoothing_frames": 3, "refractory_s": 1.5, "clips": out}
    json.dump(meta, open(os.path.join(OUT, "clips.json"), "w"), indent=1)
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
