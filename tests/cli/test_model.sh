#!/bin/bash
# The shipped model on committed clips from voices it never saw in training:
# the int8 model fires where the float one does, positives fire (pos_3 is
# flite rms, the hardest held-out voice; the model shipped until session 16
# missed it), negatives and noise stay silent, and each of the demo recording's
# phrases (clips.json) fires once (its third, rms's "hey, jarvis", since session
# 26's model); and the model card quotes the pooled figures of the held-out draws
# committed beside it (pool_evals.py).
. "$(dirname "$0")/lib.sh"
C=$ROOT/tests/fixtures/clips
# detect's JSON lines against clips.json's phrase_times_s of the demo: one
# detection per phrase, each after its phrase starts and within one window
# (the model's input, from `wakewordd info`'s front end) of its end; prints what
# differs
demo_detections_match() {
    /usr/bin/python3 - "$C/clips.json" "$1" "$2" <<'PY'
import json, re, sys
phrases = json.load(open(sys.argv[1]))["clips"]["demo.wav"]["phrase_times_s"]
times = [float(t) for t in re.findall(r'"time_s": ([0-9.]+)', sys.argv[2])]
front = dict(re.findall(r"(\w+)=(\S+)", re.search(r"^front end +(.*)$", sys.argv[3], re.M).group(1)))
window_s = int(front["window_frames"]) * int(front["hop_length"]) / int(front["sample_rate"])
bad = len(times) != len(phrases) or any(not (a < t <= b + window_s) for t, (a, b) in zip(times, phrases))
if bad:
    print("detections at %s s, phrases at %s s" % (times, phrases))
sys.exit(1 if bad else 0)
PY
}
for m in hey_jarvis.int8.onnx hey_jarvis.onnx; do
    M=$ROOT/models/$m
    [ -f "$M" ] || { t_fail "$m is shipped"; continue; }
    for p in pos_1 pos_2 pos_3; do
        t_run "$m: $p" 0 "$WW" detect --json -m "$M" "$C/$p.wav" &&
            [ "$(grep -c '"keyword": "hey_jarvis"' <<<"$OUT")" -eq 1 ] && t_ok "$m fires once on $p" ||
            t_fail "$m fires once on $p" "$OUT"
    done
    for n in neg_1 neg_2 neg_3; do
        t_run "$m: $n" 0 "$WW" detect --json -m "$M" "$C/$n.wav" && [ -z "$OUT" ] &&
            t_ok "$m stays silent on $n" || t_fail "$m stays silent on $n" "$OUT"
    done
    t_run "$m: demo" 0 "$WW" detect --json -m "$M" "$C/demo.wav" &&
        why=$(demo_detections_match "$OUT" "$("$WW" info "$M")") && t_ok "$m detects each of the demo's phrases once" ||
        t_fail "$m detects each of the demo's phrases once" "$why" "$OUT"
done
# int8 and float agree on the demo: same detections, same times
f=$("$WW" detect --json -m "$ROOT/models/hey_jarvis.onnx" "$C/demo.wav" 2>/dev/null | grep -o '"time_s": [0-9.]*')
q=$("$WW" detect --json -m "$ROOT/models/hey_jarvis.int8.onnx" "$C/demo.wav" 2>/dev/null | grep -o '"time_s": [0-9.]*')
[ -n "$f" ] && [ "$f" = "$q" ] && t_ok "int8 and float detect at the same times" ||
    t_fail "int8 and float detect at the same times" "float: $f" "int8: $q"
t_run "the int8 model runs on the int8 kernels" 0 "$WW" info "$ROOT/models/hey_jarvis.int8.onnx" &&
    grep -qE '^int8 +[0-9]+ of [0-9]+ steps on the int8 kernels' <<<"$OUT" && t_ok "int8 model on int8 kernels" ||
    t_fail "int8 model on int8 kernels" "$(grep int8 <<<"$OUT")"

# the model card's headline is what pool_evals.py says of the held-out draws committed
# beside the model (every draw scored after its operating point was fixed), int8 and
# float; and pool_evals.py refuses to pool what does not pool
P=$ROOT/models/recipe/pool_evals.py
for kind in int8 float; do
    t_run "pool_evals: $kind draws" 0 /usr/bin/python3 "$P" "$ROOT"/models/eval_test*_"$kind".json &&
        pooled=$(grep '^pooled' <<<"$OUT") && grep -qF -- "$pooled" "$ROOT/models/MODEL_CARD.md" &&
        t_ok "the card quotes pool_evals.py's pooled $kind figure" ||
        t_fail "the card quotes pool_evals.py's pooled $kind figure" "$OUT"
done
J=$ROOT/models/eval_test13_int8.json
t_expect_error "pool_evals: a split twice" "split test13 given twice" /usr/bin/python3 "$P" "$J" "$J"
/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d["split"] = "other"
d["chosen"]["threshold"] = 0.5; json.dump(d, open(sys.argv[2], "w"))' "$J" "$TMP/other_point.json"
t_expect_error "pool_evals: another operating point" "pool one operating point" /usr/bin/python3 "$P" "$J" \
    "$TMP/other_point.json"
/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d["split"] = "other"
d["target"]["max_fa_per_hour"] = 1.0; json.dump(d, open(sys.argv[2], "w"))' "$J" "$TMP/other_target.json"
t_expect_error "pool_evals: another target" "pool one target" /usr/bin/python3 "$P" "$J" "$TMP/other_target.json"
t_expect_error "pool_evals: not an evaluation" "not an evaluate.py result" /usr/bin/python3 "$P" \
    "$ROOT/models/hey_jarvis.int8.report.json"
t_expect_error "pool_evals: a missing file" "No such file" /usr/bin/python3 "$P" "$TMP/none.json"
/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d["positives"]["clips"] = 0
json.dump(d, open(sys.argv[2], "w"))' "$J" "$TMP/no_clips.json"
t_expect_error "pool_evals: no positive clips" "not counts a split can have" /usr/bin/python3 "$P" \
    "$TMP/no_clips.json"
t_done
