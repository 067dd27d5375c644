#!/usr/bin/python3
"""Makes the wake word clips in tests/fixtures/clips/ from the recipe's development
split (voices never seen in training; until session 11 it was the test split, and
the clips were made from it then), and records what the models do on them.

    /usr/bin/python3 tests/gen/make_clips.py [CACHE_WORK_DIR]
                                            (default /work/cache/recipe/hey_jarvis)

Needs the recipe's data and eval stages (make -C models/recipe eval) and
build/wakewordd. Writes
16 kHz mono 16-bit WAVs:
  pos_{1,2,3}.wav   "hey jarvis" in 2 s: the first dev clip of each source (the
                    held-out espeak-ng voice, a held-out espeak-ng variant, flite's
                    rms) whose background is clean or >= 10 dB SNR
  neg_{1,2,3}.wav   2 s: a confusable phrase, other speech, noise
  demo.wav          ~15 s of other speech with the phrase said three times
and clips.json: the phrase times in demo.wav and each clip's source, then
models/recipe/describe_clips.py adds the shipped models' detections and highest
smoothed scores from the daemon's own detector (run it alone after a new model)."""
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "models", "recipe"))
import evaluate  # noqa: E402
import mix  # noqa: E402

WORK = sys.argv[1] if len(sys.argv) > 1 else "/work/cache/recipe/hey_jarvis"
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


def main():
    # the clips and what is in them; the measured fields (threshold and detector
    # settings from the int8 file's metadata, each model's detections and highest
    # smoothed score) are describe_clips.py's, the one that refreshes them after a
    # new model too
    meta = {"threshold": None, "hop_frames": None, "smoothing_frames": None, "refractory_s": None,
            "clips": make_clips()}
    json.dump(meta, open(os.path.join(OUT, "clips.json"), "w"), indent=1)
    subprocess.run([sys.executable, os.path.join(REPO, "models", "recipe", "describe_clips.py"),
                    "--wakewordd", WAKEWORDD], check=True)


if __name__ == "__main__":
    main()
