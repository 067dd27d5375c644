#!/bin/bash
# The recipe's evaluation stage (models/recipe/evaluate.py, set_threshold.py) end
# to end on a tiny split made of the committed clips, scored by this build's
# detector: the threshold and the smoothing are chosen on "dev", written into a
# copy of the shipped int8 model, and scoring that copy at them through the
# daemon's own smoothing gives the sweep the choice was made on (evaluate.py
# smooths unsmoothed scores itself while choosing). Bad options: one-line errors.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
R=$ROOT/models/recipe
C=$ROOT/tests/fixtures/clips
M=$ROOT/models/hey_jarvis.int8.onnx
D=$TMP/data
mkdir -p "$D"
# the clips as a split's sets: three phrases (pos_3, flite rms, scores lowest of them,
# so the misses move across the sweep), a confusable, other speech, noise
"$PY" - "$C" "$D" <<'EOF' || t_fail "tiny split written"
import sys, wave
import numpy as np
c, d = sys.argv[1], sys.argv[2]
def rd(name):
    with wave.open("%s/%s.wav" % (c, name)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), np.int16)
def save(name, arrays, tags):
    offs = np.concatenate([[0], np.cumsum([len(a) for a in arrays])])
    np.savez("%s/%s.npz" % (d, name), audio=np.concatenate(arrays), offsets=offs, tags=np.array(tags))
save("pos_dev", [rd("pos_1"), rd("pos_2"), rd("pos_3")],
     ["en-gb-x-gbcwmd+Alex|hey jarvis.", "en-gb+Alex|hey jarvis.", "flite-rms|hey, jarvis"])
save("conf_dev", [rd("neg_1")], ["en-us+robosoft7|hey jarvey"])
save("speech_dev", [rd("neg_2"), rd("demo")[:3 * 16000], rd("neg_2")], ["en-us", "en-us", "en-us"])
save("noise_dev", [rd("neg_3")] * 3, ["whitenoise", "pinknoise", "brownnoise"])
EOF

ev() { "$PY" "$R/evaluate.py" --split dev --data "$D" --wakewordd "$WW" "$@"; }
t_run "choose threshold and smoothing on dev" 0 ev --work "$TMP/w1" --model int8="$M" --choose-on int8 \
    --choose-smoothing 1,2,3 --json-dir "$TMP/j1" --threshold-out "$TMP/thr.json"
grep -q '^smoothing 3: ' <<<"$OUT" && t_ok "every smoothing swept" || t_fail "every smoothing swept" "$OUT"
# --reuse-scores: the same network's unsmoothed scores are read back, not scored
# again, and give the same JSON, also for a copy at another threshold and smoothing
# (the detector scores at the command line's); one whose hop differs is scored again
cp "$M" "$TMP/other_thr.onnx"
echo '{"threshold": "0.5", "smoothing_frames": "2"}' >"$TMP/other_thr.json"
"$PY" "$R/set_threshold.py" --threshold-json "$TMP/other_thr.json" "$TMP/other_thr.onnx" >/dev/null
t_run "reuse the kept scores" 0 ev --work "$TMP/w1" --model int8="$TMP/other_thr.onnx" --choose-on int8 \
    --choose-smoothing 1,2,3 --json-dir "$TMP/j1r" --reuse-scores
grep -q "not scored again" <<<"$OUT" &&
    diff <(grep -v '"model":' "$TMP/j1/eval_int8.json") <(grep -v '"model":' "$TMP/j1r/eval_int8.json") >/dev/null &&
    t_ok "kept scores give the same evaluation" || t_fail "kept scores give the same evaluation" "$OUT"
"$PY" -c "import sys; sys.path.insert(0, sys.argv[1]); import set_threshold as s
s.write_metadata(sys.argv[2], sys.argv[3], {'hop_frames': '10'})" "$R" "$M" "$TMP/other_hop.onnx"
t_run "a changed model is scored again" 0 ev --work "$TMP/w1" --model int8="$TMP/other_hop.onnx" \
    --choose-smoothing 1,2,3 --json-dir "$TMP/j1o" --reuse-scores
! grep -q "not scored again" <<<"$OUT" && t_ok "changed model rescored" || t_fail "changed model rescored" "$OUT"
# and so is the same model under another detector build (here: other bytes)
cp "$WW" "$TMP/wakewordd_other" && printf x >>"$TMP/wakewordd_other"
t_run "another detector scores again" 0 ev --work "$TMP/w1" --model int8="$M" --choose-smoothing 1,2,3 \
    --json-dir "$TMP/j1w" --reuse-scores --wakewordd "$TMP/wakewordd_other"
! grep -q "not scored again" <<<"$OUT" && t_ok "other detector rescored" || t_fail "other detector rescored" "$OUT"
t_expect_error "--reuse-scores needs unsmoothed scores" "--reuse-scores needs --choose-smoothing" \
    ev --work "$TMP/w1" --model int8="$M" --reuse-scores
cp "$M" "$TMP/copy.onnx"
t_run "set_threshold writes both" 0 "$PY" "$R/set_threshold.py" --threshold-json "$TMP/thr.json" "$TMP/copy.onnx"
t_run "score the copy at the chosen threshold" 0 ev --work "$TMP/w1" --model int8="$TMP/copy.onnx" \
    --threshold "$TMP/thr.json" --json-dir "$TMP/j2"
"$PY" - "$TMP/thr.json" "$TMP/j1/eval_int8.json" "$TMP/j2/eval_int8.json" <<'EOF' && t_ok "the daemon's smoothing reproduces the choice" || t_fail "the daemon's smoothing reproduces the choice"
import json, sys
thr, dev, again = (json.load(open(p)) for p in sys.argv[1:])
k = int(thr["smoothing_frames"])
assert [r["smoothing_frames"] for r in dev["smoothing_chosen_on_this_split"]] == [1, 2, 3], "sweep of k"
assert dev["detector"]["smoothing_frames"] == k == again["detector"]["smoothing_frames"], "k"
assert again["chosen"]["threshold"] == float(thr["threshold"]) == dev["chosen"]["threshold"], "threshold"
# the choice's sweep and top scores (smoothed by evaluate.py) and the copy's (smoothed
# by the detector) agree
rows = lambda j: {r["threshold"]: (r["misses"], r["false_accepts"]) for r in j["sweep"]}
a, b = rows(dev), rows(again)
bad = [(t, a[t], b[t]) for t in a if a[t] != b[t]]
assert not bad, "sweeps differ: %s" % bad[:3]
assert len({m for m, _ in a.values()}) > 1, "the misses never move: the sweep says nothing"
ta, tb = dev["top_negative_scores"], again["top_negative_scores"]
assert len(ta) == len(tb) and all(abs(x["score"] - y["score"]) <= 1e-6 + 1e-4 * y["score"]
                                  for x, y in zip(ta, tb)), "top scores differ: %s %s" % (ta[:2], tb[:2])
EOF

# choose_pooled.py: on this split alone, at evaluate.py's share, it makes evaluate.py's
# pick; the split pooled with itself (every count doubled) picks the same, with the
# doubled counts
P=$R/choose_pooled.py
t_run "pooled choice on one split" 0 "$PY" "$P" --score "$TMP/w1:int8" --choose-smoothing 1,2,3 \
    --choose-fa-share 0.5 --threshold-out "$TMP/pool1.json"
t_run "pooled choice on the split twice" 0 "$PY" "$P" --score "$TMP/w1:int8" --score "$TMP/w1:int8" \
    --choose-smoothing 1,2,3 --choose-fa-share 0.5 --threshold-out "$TMP/pool2.json" --json "$TMP/pool2_full.json"
"$PY" - "$TMP/thr.json" "$TMP/j1/eval_int8.json" "$TMP/pool1.json" "$TMP/pool2.json" "$TMP/pool2_full.json" <<'EOF' &&
import json, sys
thr, dev, p1, p2, full = (json.load(open(p)) for p in sys.argv[1:])
assert p1 == thr and p2 == thr, (thr, p1, p2)
pick = [p for p in full["picks_by_smoothing"] if str(p["smoothing_frames"]) == thr["smoothing_frames"]][0]
c = dev["chosen"]
assert (pick["misses"], pick["false_accepts"], pick["clips"]) == (2 * c["misses"], 2 * c["false_accepts"],
                                                                   2 * dev["positives"]["clips"]), (pick, c)
assert abs(pick["hours"] - 2 * dev["negatives"]["hours"]) < 1e-9, pick["hours"]
EOF
    t_ok "pooled choice reproduces evaluate.py's" || t_fail "pooled choice reproduces evaluate.py's"
# --at reports a point from the unsmoothed scores as the detector counts it: at the
# chosen point and where the misses differ, the copy's own scoring (j2, smoothed by
# the daemon) gives the same misses and false accepts
t2=$("$PY" -c 'import json, sys; j = json.load(open(sys.argv[1]))
print(next(r["threshold"] for r in j["sweep"] if r["misses"] != j["chosen"]["misses"]))' "$TMP/j2/eval_int8.json")
k=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["smoothing_frames"])' "$TMP/thr.json")
t_run "report at the chosen point" 0 "$PY" "$P" --score "$TMP/w1:int8" --at "$TMP/thr.json" --json "$TMP/at1.json"
t_run "report at another point" 0 "$PY" "$P" --score "$TMP/w1:int8" --score "$TMP/w1:int8" --at "$t2,$k" \
    --json "$TMP/at2.json"
"$PY" - "$TMP/j2/eval_int8.json" "$TMP/at1.json" "$TMP/at2.json" <<'EOF' &&
import json, sys
j2, a1, a2 = (json.load(open(p)) for p in sys.argv[1:])
rows = {r["threshold"]: (r["misses"], r["false_accepts"]) for r in j2["sweep"]}
s1, = a1["splits"]
assert (s1["misses"], s1["false_accepts"]) == rows[a1["threshold"]], (s1, rows[a1["threshold"]])
assert [(s["misses"], s["false_accepts"]) for s in a2["splits"]] == [rows[a2["threshold"]]] * 2, a2["splits"]
p = a2["pooled"]
assert (p["misses"], p["false_accepts"]) == tuple(2 * x for x in rows[a2["threshold"]]), p
assert rows[a1["threshold"]][0] != rows[a2["threshold"]][0], "the two points do not differ"
EOF
    t_ok "--at counts as the detector does" || t_fail "--at counts as the detector does"
t_expect_error "pooled: a bad --at" "--at 0.9: want THR,K" "$PY" "$P" --score "$TMP/w1:int8" --at 0.9
t_expect_error "pooled: --at out of range" "want a threshold in (0, 1)" "$PY" "$P" --score "$TMP/w1:int8" --at 0.9,0
t_expect_error "pooled: no --threshold-out" "--threshold-out is required" "$PY" "$P" --score "$TMP/w1:int8"
t_expect_error "pooled: a bad --score" "want WORK:NAME" "$PY" "$P" --score nocolon --threshold-out "$TMP/x.json"
t_expect_error "pooled: an unscored model" "scores_float.tsv is missing" "$PY" "$P" --score "$TMP/w1:float" \
    --threshold-out "$TMP/x.json"
t_expect_error "pooled: a bad share" "want a share in (0, 1]" "$PY" "$P" --score "$TMP/w1:int8" \
    --choose-fa-share 0 --threshold-out "$TMP/x.json"
t_expect_error "pooled: a bad margin" "--frr-margin 1: want a share in [0, 1)" "$PY" "$P" --score "$TMP/w1:int8" \
    --frr-margin 1 --threshold-out "$TMP/x.json"
[ ! -e "$TMP/x.json" ] && t_ok "pooled: a refused choice writes nothing" ||
    t_fail "pooled: a refused choice writes nothing" "x.json written"
# choose_pooled.py takes the scores evaluate.py marked complete for the copy beside them:
# not those of an unfinished run (no record), nor those of another copy
mkdir -p "$TMP/w1u" "$TMP/w1k"
for f in scores_int8.tsv k1_int8.onnx test_neg.wav test_pos.npz; do
    ln -s "$TMP/w1/$f" "$TMP/w1u/$f"
    ln -s "$TMP/w1/$f" "$TMP/w1k/$f"
done
rm "$TMP/w1k/k1_int8.onnx" && cp "$TMP/other_hop.onnx" "$TMP/w1k/k1_int8.onnx"
cp "$TMP/w1/scores_int8.tsv.json" "$TMP/w1k/"
# (the copy written again later, as --reuse-scores writes it, is still the same bytes)
touch -d '+1 minute' "$TMP/w1/k1_int8.onnx"
t_run "pooled: a copy written again after its scores" 0 "$PY" "$P" --score "$TMP/w1:int8" --at 0.9,2 &&
    t_ok "pooled: a copy written again after its scores"
t_expect_error "pooled: unfinished scores" "is not marked complete" "$PY" "$P" --score "$TMP/w1u:int8" --at 0.9,2
t_expect_error "pooled: another copy's scores" "the scores of another copy" "$PY" "$P" --score "$TMP/w1k:int8" \
    --at 0.9,2

t_run "a bad --choose-smoothing is refused" 1 ev --work "$TMP/w2" --model int8="$M" --choose-smoothing 0,2
grep -q -- '--choose-smoothing 0,2' <<<"$ERR" && [ "$(wc -l <<<"$ERR")" -eq 1 ] &&
    t_ok "bad --choose-smoothing: one line" || t_fail "bad --choose-smoothing: one line" "$ERR"
t_expect_error "bad --hop-frames: one line" "--hop-frames 0: must be 1..10000" ev --work "$TMP/w4" --hop-frames 0
[ ! -e "$TMP/w4" ] && t_ok "bad --hop-frames writes nothing" || t_fail "bad --hop-frames writes nothing"
# the simulated detector (--ckpt) runs a window every --hop-frames frames, as the daemon runs hop_frames
"$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import evaluate as e, numpy as np
s = e.window_starts(e.WIN + 40, 9)
assert s[0] == 0 and (np.diff(s) == 9).all() and s[-1] + e.WIN <= e.WIN + 40 < s[-1] + e.WIN + 9, s' "$R" &&
    t_ok "simulated detector follows --hop-frames" || t_fail "simulated detector follows --hop-frames"
t_run "a missing split is refused" 1 "$PY" "$R/evaluate.py" --split test --data "$D" --work "$TMP/w3" --model int8="$M"
grep -q 'pos_test.npz' <<<"$ERR" && [ "$(wc -l <<<"$ERR")" -eq 1 ] &&
    t_ok "missing split: one line naming the set" || t_fail "missing split: one line naming the set" "$ERR"
t_run "a bad threshold file is refused" 1 ev --work "$TMP/w1" --model int8="$M" --threshold "$TMP/none.json"
grep -q 'none.json' <<<"$ERR" && t_ok "bad --threshold: names the file" || t_fail "bad --threshold: names the file" "$ERR"
# a threshold file chosen with another smoothing than the model's: refused, nothing written
k=$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import evaluate as e
print(e.model_detector(sys.argv[2])["smoothing_frames"])' "$R" "$M")
echo "{\"threshold\": \"0.9\", \"smoothing_frames\": \"$((k + 1))\"}" >"$TMP/otherk.json"
t_expect_error "a threshold of another smoothing is refused" "chosen with smoothing_frames $((k + 1)), but" \
    ev --work "$TMP/w5" --model int8="$M" --threshold "$TMP/otherk.json"
[ ! -e "$TMP/w5" ] && t_ok "a refused smoothing writes nothing" || t_fail "a refused smoothing writes nothing"
t_expect_error "the simulated detector at another smoothing is refused" "runs with $k: give --smoothing-frames" \
    ev --work "$TMP/w6" --ckpt "$TMP/unread.pt" --smoothing-frames "$k" --threshold "$TMP/otherk.json"
echo '{"threshold": "0.9", "smoothing_frames": "0"}' >"$TMP/bad.json"
cp "$M" "$TMP/copy2.onnx"
t_run "set_threshold refuses smoothing 0" 1 "$PY" "$R/set_threshold.py" --threshold-json "$TMP/bad.json" "$TMP/copy2.onnx"
cmp -s "$M" "$TMP/copy2.onnx" && t_ok "a refused threshold leaves the model as it was" ||
    t_fail "a refused threshold leaves the model as it was"
t_done
