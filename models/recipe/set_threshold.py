#!/usr/bin/python3
"""Writes the chosen detection threshold, and the smoothing when one was chosen
with it (JSON {"threshold": "0.9", "smoothing_frames": "2"} from evaluate.py),
into the metadata_props of each ONNX file given, in order, in place (through a
temporary file). Nothing else in the files changes."""
import argparse
import json
import os

import onnx


def write_metadata(src, dst, keys):
    """Copies the model src to dst (both may be the same path) with the metadata_props
    in keys set, through a temporary file; nothing else changes."""
    m = onnx.load(src)
    for key, value in keys.items():
        props = [p for p in m.metadata_props if p.key == key]
        if props:
            props[0].value = value
        else:
            p = m.metadata_props.add()
            p.key, p.value = key, value
    onnx.save(m, dst + ".tmp")
    os.replace(dst + ".tmp", dst)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threshold-json", required=True)
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    chosen = json.load(open(a.threshold_json))
    thr = str(chosen["threshold"])
    if not 0 < float(thr) <= 1:
        raise SystemExit("%s: threshold %s is not in (0, 1]" % (a.threshold_json, thr))
    keys = {"threshold": thr}
    if "smoothing_frames" in chosen:
        keys["smoothing_frames"] = str(chosen["smoothing_frames"])
        if not 1 <= int(keys["smoothing_frames"]) <= 64:
            raise SystemExit("%s: smoothing_frames %s is not in 1..64" % (a.threshold_json, keys["smoothing_frames"]))
    for path in a.models:
        write_metadata(path, path, keys)
        print("%s: %s" % (path, ", ".join("%s %s" % kv for kv in keys.items())))


if __name__ == "__main__":
    main()
