#!/usr/bin/python3
"""Writes the chosen detection threshold (JSON {"threshold": "0.9"} from
evaluate.py) into the metadata_props of each ONNX file given, in order, in
place (through a temporary file). Nothing else in the files changes."""
import argparse
import json
import os

import onnx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threshold-json", required=True)
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    thr = str(json.load(open(a.threshold_json))["threshold"])
    if not 0 < float(thr) <= 1:
        raise SystemExit("%s: threshold %s is not in (0, 1]" % (a.threshold_json, thr))
    for path in a.models:
        m = onnx.load(path)
        props = [p for p in m.metadata_props if p.key == "threshold"]
        if props:
            props[0].value = thr
        else:
            p = m.metadata_props.add()
            p.key, p.value = "threshold", thr
        onnx.save(m, path + ".tmp")
        os.replace(path + ".tmp", path)
        print("%s: threshold %s" % (path, thr))


if __name__ == "__main__":
    main()
