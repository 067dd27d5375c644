#!/usr/bin/python3
"""A quick look at what a model misses in one voice: fresh renderings of the phrase by
that voice, clean, scored through the daemon's own detector (`wakewordd detect`), the
share detected at the model's threshold printed per text ("hey jarvis", "hey, jarvis",
...) and, for the text with a comma, per edit of its two parts (split at the pause
the comma makes): the first or second part played faster or slower (sox tempo), made
quieter, the pause lengthened or cut out; with --other-voice, either part said by
another voice instead.

It guides the data, it does not judge a model: the renderings come from a seed of
their own, with the test split's engine settings and sox effects (gen_data.py), but
no background and a fixed place in the clip. Session 20 found with it that the
held-out flite voice rms is missed almost only when it says "hey, jarvis", and that
its drawn-out "jarvis" after a quick "hey" is what the networks do not take
(models/MODEL_HISTORY.md).

  probe.py --model ../hey_jarvis.int8.onnx --voice rms [--other-voice slt] [--n 60] [--json out.json]"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from multiprocessing import Pool

import numpy as np

import evaluate
import gen_data

SR = gen_data.SR
CLIP_S, END_S = 3.0, 2.2  # each rendering ends 2.2 s into a 3 s clip of silence


def engine_job(voice, text, rng):
    """A gen_data render job for voice (a flite voice, or espeak-ng voice+variant) with
    the test split's settings."""
    if voice in gen_data.FLITE_VOICES + gen_data.EXTRA_FLITE_VOICES:
        return ("flite", voice, text, gen_data.flite_args(rng), gen_data.sox_effects(rng))
    return ("espeak", voice, text, gen_data.espeak_args(rng), gen_data.sox_effects(rng))


def render_one(args):
    voice, text, seed = args
    return gen_data.trim_silence(gen_data.render(engine_job(voice, text, random.Random(seed)))).astype(np.float32)


def edits(first, pause, second):
    """The comma rendering and its edits, by name."""
    db = lambda u, d: u * 10 ** (d / 20)
    gap = lambda s: np.zeros(int(s * SR), np.float32)
    return {
        "as rendered": (first, pause, second),
        "first part 1.25x faster": (gen_data.tempo(first, 1.25), pause, second),
        "first part 1.25x slower": (gen_data.tempo(first, 0.8), pause, second),
        "second part 1.25x faster": (first, pause, gen_data.tempo(second, 1.25)),
        "second part 1.25x slower": (first, pause, gen_data.tempo(second, 0.8)),
        "first part 10 dB quieter": (db(first, -10), pause, second),
        "pause +0.15 s": (first, np.concatenate([pause, gap(0.15)]), second),
        "pause cut out": (first, pause[:0], second),
        "second part alone": (second,),
    }


def clip_wav(parts, path):
    u = np.concatenate(parts)
    x = np.zeros(int(CLIP_S * SR), np.float32)
    end = int(END_S * SR)
    u = u[-end:]
    x[end - len(u):end] = u
    x = x / (np.abs(x).max() + 1e-9) * 0.3 * 32767
    with open(path, "wb") as f:
        f.write(gen_data.wav_bytes(x))


def model_threshold(path):
    props = evaluate.model_props(path, "probe.py")
    if "threshold" not in props:
        sys.exit("probe.py: %s: no threshold in its metadata (give --threshold)" % path)
    return float(props["threshold"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="ONNX model (float or int8) with the detector's metadata")
    ap.add_argument("--voice", default=gen_data.TEST_FLITE_VOICE,
                    help="a flite voice (%s) or an espeak-ng voice+variant (en-us+f3)" % ", ".join(gen_data.FLITE_VOICES))
    ap.add_argument("--other-voice", default=None,
                    help="also the comma text with one of its parts said by this voice (same seeds): whether "
                         "a miss lies in one part or in the two together")
    ap.add_argument("--keyword", default="hey jarvis")
    ap.add_argument("--n", type=int, default=60, help="renderings per text")
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--threshold", type=float, default=None, help="default: the model's own")
    ap.add_argument("--wakewordd", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../build/wakewordd"))
    ap.add_argument("--json", default=None, help="also write the table here")
    a = ap.parse_args()
    if a.n < 1:
        sys.exit("probe.py: --n %d: must be at least 1" % a.n)
    if not os.access(a.wakewordd, os.X_OK):
        sys.exit("probe.py: %s: not an executable (build it with make, or give --wakewordd)" % a.wakewordd)
    thr = a.threshold if a.threshold is not None else model_threshold(a.model)
    texts = gen_data.phrase_texts(a.keyword.strip().lower())
    comma = next((t for t in texts if "," in t), None)
    for opt, voice in (("--voice", a.voice), ("--other-voice", a.other_voice)):
        try:
            if voice is not None:
                gen_data.engine_audio(*engine_job(voice, texts[0], random.Random(0))[:4])
        except subprocess.CalledProcessError as e:
            sys.exit("probe.py: %s %s: the engine cannot render it (%s)"
                     % (opt, voice, " ".join(e.stderr.decode(errors="replace").split())[:200]))

    seeds = lambda k: [a.seed * 100003 + 7919 * k + i for i in range(a.n)]
    with Pool(2) as pool:
        rendered = {t: pool.map(render_one, [(a.voice, t, sd) for sd in seeds(k)]) for k, t in enumerate(texts)}
        other = (pool.map(render_one, [(a.other_voice, comma, sd) for sd in seeds(texts.index(comma))])
                 if comma and a.other_voice else [])
    groups = {("text", t): [(u,) for u in rendered[t]] for t in texts}
    if comma:
        kind = "edit of '%s'" % comma
        for i, u in enumerate(rendered[comma]):
            parts = gen_data.split_at_pause(u)
            if parts is None:
                continue
            for name, p in edits(*parts).items():
                groups.setdefault((kind, name), []).append(p)
            theirs = gen_data.split_at_pause(other[i]) if other else None
            if theirs is not None:
                # each rendering at its own peak, as the two voices would be heard
                mine = [x / (np.abs(u).max() + 1e-9) for x in parts]
                theirs = [x / (np.abs(other[i]).max() + 1e-9) for x in theirs]
                groups.setdefault((kind, "first part by " + a.other_voice), []).append((theirs[0], mine[1], mine[2]))
                groups.setdefault((kind, "second part by " + a.other_voice), []).append((mine[0], mine[1], theirs[2]))

    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for g, clips in groups.items():
            for i, parts in enumerate(clips):
                path = os.path.join(tmp, "%d_%d.wav" % (len(files), i))
                clip_wav(parts, path)
                files.setdefault(g, []).append(path)
        tsv = os.path.join(tmp, "scores.tsv")
        allf = [f for fl in files.values() for f in fl]
        p = subprocess.run([a.wakewordd, "detect", "--model", a.model, "--threshold", "1", "--scores", tsv, *allf],
                           capture_output=True, text=True)
        if p.returncode:
            sys.exit("probe.py: wakewordd detect failed: " + p.stderr.strip())
        best = {fn: float(sc.max()) for fn, (_, sc) in evaluate.read_scores(tsv).items() if len(sc)}
    rows = []
    print("%s, voice %s, threshold %g, %d renderings per text" % (a.model, a.voice, thr, a.n))
    print("%-26s %-28s %5s %9s %12s" % ("what", "", "clips", "detected", "median max"))
    for (kind, name), fl in files.items():
        s = np.array([best.get(f, 0.0) for f in fl])
        rows.append({"kind": kind, "name": name, "clips": len(s), "detected": float((s >= thr).mean()),
                     "median_max_score": float(np.median(s))})
        print("%-26s %-28s %5d %8.0f %% %12.4f" % (kind, name, len(s), 100 * rows[-1]["detected"], np.median(s)))
    if a.json:
        with open(a.json + ".tmp", "w") as f:
            json.dump({"model": a.model, "voice": a.voice, "threshold": thr, "n": a.n, "seed": a.seed, "rows": rows},
                      f, indent=1)
        os.replace(a.json + ".tmp", a.json)


if __name__ == "__main__":
    main()
