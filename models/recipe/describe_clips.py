#!/usr/bin/python3
"""Refreshes the measured fields of tests/fixtures/clips/clips.json for the
shipped models: the threshold and detector settings from the int8 file's
metadata, and per clip each model's detection times and highest smoothed score,
all from `wakewordd detect` (the daemon's detector). The clips' descriptions
(source, condition, whether the phrase is in them) are left as they are.
Run after a new model is committed:
  /usr/bin/python3 models/recipe/describe_clips.py"""
import argparse
import json
import os
import subprocess
import tempfile

import onnx

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def detect(ww, model, path):
    """(detection times, highest smoothed score) of one model on one file."""
    with tempfile.NamedTemporaryFile(suffix=".tsv") as tsv:
        r = subprocess.run([ww, "detect", "--json", "-m", model, "--scores", tsv.name, path],
                           capture_output=True, text=True)
        if r.returncode:
            raise SystemExit("wakewordd detect %s: %s" % (path, r.stderr.strip()))
        times = [json.loads(l)["time_s"] for l in r.stdout.splitlines() if l.strip()]
        with open(tsv.name) as f:
            next(f)
            top = max((float(l.split("\t")[2]) for l in f), default=0.0)
    return times, round(top, 4)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", default=os.path.join(REPO, "tests", "fixtures", "clips"))
    ap.add_argument("--wakewordd", default=os.path.join(REPO, "build", "wakewordd"))
    ap.add_argument("--float", dest="float_model", default=os.path.join(REPO, "models", "hey_jarvis.onnx"))
    ap.add_argument("--int8", default=os.path.join(REPO, "models", "hey_jarvis.int8.onnx"))
    a = ap.parse_args()
    jp = os.path.join(a.clips, "clips.json")
    try:
        with open(jp) as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit("%s: cannot read the clip list: %s (tests/gen/make_clips.py writes it)" % (jp, e))
    for path in (a.wakewordd, a.float_model, a.int8):
        if not os.path.exists(path):
            raise SystemExit("%s: not found" % path)
    meta = {p.key: p.value for p in onnx.load(a.int8).metadata_props}
    fmeta = {p.key: p.value for p in onnx.load(a.float_model).metadata_props}
    for key in ("threshold", "hop_frames", "smoothing_frames", "refractory_s"):
        if fmeta.get(key) != meta.get(key):
            raise SystemExit("%s: %s %s, but %s has %s: the clips describe one detector" %
                             (a.float_model, key, fmeta.get(key), a.int8, meta.get(key)))
    d["threshold"] = float(meta["threshold"])
    d["hop_frames"] = int(meta["hop_frames"])
    d["smoothing_frames"] = int(meta["smoothing_frames"])
    d["refractory_s"] = float(meta["refractory_s"])
    for name, c in d["clips"].items():
        for tag, model in (("float", a.float_model), ("int8", a.int8)):
            c["%s_detections_s" % tag], c["%s_max_smoothed_score" % tag] = detect(a.wakewordd, model,
                                                                                os.path.join(a.clips, name))
        print("%-10s float %s  int8 %s" % (name, c["float_detections_s"], c["int8_detections_s"]))
    with open(jp + ".tmp", "w") as f:
        json.dump(d, f, indent=1)
        f.write("\n")
    os.replace(jp + ".tmp", jp)


if __name__ == "__main__":
    main()
