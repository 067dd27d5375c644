#!/usr/bin/env python3
"""The results of several evaluate.py runs (eval_NAME.json) pooled at the one operating
point they were all scored at: misses summed over the positive clips, false accepts
over the hours of negatives, with 95 % intervals. Six false accepts in one 12.5 h draw
(0.48/h) say only that the rate lies within 0.18-1.04/h, so the model card's headline is
the shipped model's held-out draws pooled this way:

  pool_evals.py models/eval_test12_int8.json models/eval_test13_int8.json ...
"""
import argparse
import json
import math
import sys


def fail(msg):
    sys.exit("pool_evals.py: " + msg)


def load(path):
    try:
        with open(path) as f:
            d = json.load(f)
    except OSError as e:
        fail("%s: %s" % (path, e.strerror))
    except ValueError as e:
        fail("%s: not JSON (%s)" % (path, e))
    try:
        c, det = d["chosen"], d["detector"]
        point = (c["threshold"], det["smoothing_frames"], det["hop_frames"])
        r = {"path": path, "split": d["split"], "point": point,
             "target": (float(d["target"]["max_frr"]), float(d["target"]["max_fa_per_hour"])),
             "misses": int(c["misses"]), "clips": int(d["positives"]["clips"]),
             "fa": int(c["false_accepts"]), "hours": float(d["negatives"]["hours"])}
    except (KeyError, TypeError, ValueError):
        fail("%s: not an evaluate.py result (wants chosen, detector, target, positives, negatives)" % path)
    if r["clips"] <= 0 or r["hours"] <= 0 or not 0 <= r["misses"] <= r["clips"] or r["fa"] < 0:
        fail("%s: %d misses of %d clips, %d false accepts in %g h: not counts a split can have"
             % (path, r["misses"], r["clips"], r["fa"], r["hours"]))
    return r


def wilson(k, n, z=1.96):
    """95 % interval of a proportion k/n (Wilson's score interval)."""
    p = k / n
    mid, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (mid - half) / (1 + z * z / n), (mid + half) / (1 + z * z / n)


def poisson_cdf(k, lam):
    return sum(math.exp(i * math.log(lam) - lam - math.lgamma(i + 1)) for i in range(k + 1)) if lam > 0 else 1.0


def poisson_interval(k, alpha=0.05):
    """Exact (Garwood) 95 % interval of a Poisson mean from one count k, by bisection."""
    def solve(f):  # f rises with lam from < 0 to > 0
        lo, hi = 0.0, 10.0 * k + 20
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
        return lo
    lower = 0.0 if k == 0 else solve(lambda lam: (1 - poisson_cdf(k - 1, lam)) - alpha / 2)
    upper = solve(lambda lam: alpha / 2 - poisson_cdf(k, lam))
    return lower, upper


def line(name, misses, clips, fa, hours):
    lo, hi = wilson(misses, clips)
    flo, fhi = poisson_interval(fa)
    return ("%s: FRR %.2f %% (%d/%d; 95 %% %.1f-%.1f %%), %d false accepts in %.2f h = %.2f FA/h (95 %% %.2f-%.2f)"
            % (name, 100 * misses / clips, misses, clips, 100 * lo, 100 * hi, fa, hours, fa / hours,
               flo / hours, fhi / hours))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", nargs="+", help="evaluate.py's eval_NAME.json, one per split")
    a = ap.parse_args()
    runs = [load(p) for p in a.json]
    for r in runs[1:]:
        if r["point"] != runs[0]["point"]:
            fail("%s was scored at threshold %s, smoothing %s, hop %s; %s at %s, %s, %s: pool one operating point"
                 % ((r["path"],) + r["point"] + (runs[0]["path"],) + runs[0]["point"]))
        if r["target"] != runs[0]["target"]:
            fail("%s was judged against FRR <= %g at <= %g FA/h, %s against %g at %g: pool one target"
                 % ((r["path"],) + r["target"] + (runs[0]["path"],) + runs[0]["target"]))
    max_frr, max_fa = runs[0]["target"]  # evaluate.py's, as it judged each split
    splits = [r["split"] for r in runs]
    if len(set(splits)) < len(splits):
        fail("split %s given twice: each draw counts once" % next(s for s in splits if splits.count(s) > 1))
    for r in runs:
        print(line(r["split"], r["misses"], r["clips"], r["fa"], r["hours"]))
    m, n = sum(r["misses"] for r in runs), sum(r["clips"] for r in runs)
    fa, h = sum(r["fa"] for r in runs), sum(r["hours"] for r in runs)
    met = m / n <= max_frr and fa / h <= max_fa
    print(line("pooled (%s)" % " ".join(splits), m, n, fa, h) +
          "; at threshold %s, smoothing %s, hop %s: target (FRR <= %g %%, <= %g FA/h) %s"
          % (runs[0]["point"] + (100 * max_frr, max_fa, "met" if met else "NOT met")))


if __name__ == "__main__":
    main()
