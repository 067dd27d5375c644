#!/bin/bash
# The whole training recipe (models/recipe/Makefile: data, features, two runs of
# which one on the negative stream with both overlays and the word-by-word windows,
# merge, export, quantize, the threshold and smoothing chosen on dev and written into
# both files, the test split scored) on gen_data.py --smoke's tiny data set, with this
# build's wakewordd for quantize and the detector: every stage runs and hands the next
# what it needs.
# Accuracy is not asserted: two epochs at width 4 on a few hundred windows learn
# little. Needs Debian's torch stack, espeak-ng, flite and the man pages the recipe
# reads (scripts/install-deps.sh --fixtures); reported skipped without them.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
skip() {
    echo "ok - recipe_smoke # SKIP $1"
    exit 0
}
"$PY" -c 'import torch, torchvision, onnx, numpy' 2>/dev/null ||
    skip "/usr/bin/python3 has no torch/torchvision/onnx/numpy"
for tool in espeak-ng flite man sox; do
    command -v "$tool" >/dev/null || skip "$tool is not installed"
done
# the packages whose man pages gen_data.py reads (training, test, each later draw) and
# its last draw, from its own tables
read -r last_draw text_pkgs < <("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import gen_data as g
print(max(g.DRAW_TEXT_PACKAGES), g.TRAIN_TEXT_PACKAGE, g.TEST_TEXT_PACKAGE,
      *[p for pkgs in g.DRAW_TEXT_PACKAGES.values() for p in pkgs])' "$ROOT/models/recipe")
if [ -z "$text_pkgs" ]; then
    t_fail gen_data_tables "gen_data.py's text package tables could not be read"
    t_done
    exit 1
fi
# minimal images may install packages without their pages
for pkg in $text_pkgs; do
    page=$(dpkg-query -L "$pkg" 2>/dev/null | grep -m1 -E '^/usr/share/man/man[0-9]/[^/]+\.gz$')
    [ -n "$page" ] && [ -f "$page" ] || skip "no man pages of $pkg on this machine"
done
[ -f "$ROOT/build/libwakeword.so" ] || skip "build/libwakeword.so is not built (the front end of features.py)"

O=$TMP/out
args=(CACHE="$TMP/cache" OUTDIR="$O" KEYWORD="hey computer" GEN_ARGS=--smoke
    FEAT_ARGS="--speech-windows 600" WIDTH=4 EPOCHS=2 TIME_BUDGET_MIN=2 MEMBER_RUNS="1 2sonwp"
    WAKEWORDD="$WW" PY="$PY" WINDOW_FRAMES=101)
if make -C "$ROOT/models/recipe" -j2 "${args[@]}" >"$TMP/make.log" 2>&1; then
    t_ok recipe_runs_end_to_end
else
    t_fail recipe_runs_end_to_end "$(tail -8 "$TMP/make.log")"
    t_done
    exit 1
fi
grep -E 'AddressSanitizer|runtime error:|LeakSanitizer' "$TMP/make.log" >/dev/null &&
    t_fail no_sanitizer_report "$(grep -m3 -E 'AddressSanitizer|runtime error:' "$TMP/make.log")"

missing=""
for f in hey_computer.onnx hey_computer.int8.onnx hey_computer.int8.report.json eval_dev_int8.json \
    eval_float.json eval_int8.json det.svg; do
    [ -s "$O/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && t_ok every_result_written || t_fail every_result_written "missing:$missing"

# the int8 file runs on the int8 kernels and carries the keyword
if t_run info_int8 0 "$WW" info "$O/hey_computer.int8.onnx"; then
    if grep -q '^kind *QDQ int8' <<<"$OUT" && grep -qE '^int8 +[1-9][0-9]* of' <<<"$OUT" &&
        grep -q 'keyword=hey_computer' <<<"$OUT"; then
        t_ok info_int8
    else
        t_fail info_int8 "$OUT"
    fi
fi

# what dev chose is what both files and the test split's figures say
if why=$("$PY" - "$O" "$TMP/cache/hey_computer/threshold.json" 2>&1 <<'PY'
import json, sys
import onnx
out, tj = sys.argv[1], sys.argv[2]
chosen = json.load(open(tj))  # {"threshold": "0.65", "smoothing_frames": "5"}
thr, k = float(chosen["threshold"]), int(chosen["smoothing_frames"])
for name in ("hey_computer.onnx", "hey_computer.int8.onnx"):
    meta = {p.key: p.value for p in onnx.load("%s/%s" % (out, name)).metadata_props}
    assert float(meta["threshold"]) == thr and int(meta["smoothing_frames"]) == k, (name, meta, chosen)
    assert meta["keyword"] == "hey_computer" and meta["labels"] == "background,hey_computer", meta
for tag in ("float", "int8"):
    e = json.load(open("%s/eval_%s.json" % (out, tag)))
    assert e["split"] == "test", e["split"]
    d = e["detector"]
    assert d["hop_frames"] == 9 and d["smoothing_frames"] == k, d  # the recipe's HOP_FRAMES
    c = e["chosen"]
    assert float(c["threshold"]) == thr, c
    assert 0 <= c["frr"] <= 1 and c["false_accepts"] >= 0 and e["positives"]["clips"] > 0, e
    assert e["negatives"]["hours"] > 0, e["negatives"]
# dev's pick keeps a margin: within half the false-accept limit when any threshold does
d = json.load(open("%s/eval_dev_int8.json" % out))
assert d["split"] == "dev" and d["chosen_within_fa_per_hour"] == 0.25, d["chosen_within_fa_per_hour"]
if any(r["fa_per_hour"] <= 0.25 for r in d["sweep"]):
    assert d["chosen"]["fa_per_hour"] <= 0.25, d["chosen"]
r = json.load(open("%s/hey_computer.int8.report.json" % out))
assert r["parity"] and r["quantized_nodes"], sorted(r)
PY
); then t_ok threshold_written_and_scored; else t_fail threshold_written_and_scored "$why"; fi

# "n" in a run's word: the background stream laid over its windows (features.py wrote it);
# "p": the word-by-word windows added to its epochs
if why=$("$PY" - "$TMP/cache/hey_computer" 2>&1 <<'PY'
import sys
import numpy as np
import torch
work = sys.argv[1]
S = np.load("%s/features/noise_stream.npy" % work)
assert S.ndim == 2 and S.shape[1] == 64 and len(S) > 10000 and np.isfinite(S.astype(np.float32)).all(), S.shape
a = torch.load("%s/train_m1/model.pt" % work, map_location="cpu")["args"]
assert a["noise_overlay"] == 0.4 and list(a["noise_overlay_snr"]) == [-4.0, 6.0], a
assert a["noise_stream"] == "%s/features/noise_stream.npy" % work and a["overlay"] == 0.3 and a["stream"], a
assert a["time_warp"] == 0.5 and a["time_warp_rate"] == 1.3, a
assert a["extra_feat"] == "%s/features/prosody.npz" % work, a
a = torch.load("%s/train/model.pt" % work, map_location="cpu")["args"]
assert a["noise_overlay"] == 0 and a["overlay"] == 0 and not a["stream"] and a["time_warp"] == 0, a
assert a["extra_feat"] is None, a
PY
); then t_ok noise_overlay_run; else t_fail noise_overlay_run "$why"; fi
t_expect_error noise_overlay_needs_stream "$TMP/none.npy: no such file" env WW_WINDOW_FRAMES=101 "$PY" \
    "$ROOT/models/recipe/train.py" --feat "$TMP/cache/hey_computer/features" --out "$TMP/nn" --width 4 \
    --noise-overlay 0.4 --noise-stream "$TMP/none.npy"

# train.py's time_warp: the identity at rate 1; otherwise the last frame kept, the frames
# in order, every step within 1/rate..rate, and the floor only before the first frame
if why=$(WW_WINDOW_FRAMES=101 "$PY" - "$ROOT/models/recipe" 2>&1 <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import torch
from train import time_warp
rng = np.random.default_rng(0)
x = torch.randn(8, 1, 64, 101)
assert torch.equal(time_warp(x.clone(), rng, 1.0, 1.0, -13.8), x)
ramp = torch.arange(101, dtype=torch.float32).expand(32, 1, 64, 101).clone()
y = time_warp(ramp, rng, 1.0, 1.3, -1.0)[:, 0, 0].numpy()
assert (y[:, -1] == 100).all(), y[:, -1]
for row in y:
    first = int(np.argmax(row >= 0))
    assert (row[:first] == -1).all() and (row[first:] >= 0).all(), row
    steps = np.diff(row[first:])
    assert first < 40 and steps.min() >= 1 / 1.3 - 1e-4 and steps.max() <= 1.3 + 1e-4, (first, steps)
PY
); then t_ok time_warp_keeps_end_and_order; else t_fail time_warp_keeps_end_and_order "$why"; fi

# features.py --rhythm: the parts on either side of the pause at their own tempo, the pause
# kept; a rendering with no pause, or none picked, as it is
if why=$(WW_WINDOW_FRAMES=101 "$PY" - "$ROOT/models/recipe" 2>&1 <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import features
sr = 16000
tone = lambda s, hz: 0.3 * np.sin(2 * np.pi * hz * np.arange(int(s * sr)) / sr).astype(np.float32)
u = np.concatenate([tone(0.3, 300), np.zeros(int(0.1 * sr), np.float32), tone(0.4, 500)])
v = features.retime((u, 1.25, 0.8))
assert abs(len(v) / sr - (0.24 + 0.1 + 0.5)) < 0.02, len(v) / sr
first, pause, second = features.gen_data.split_at_pause(v * 32768)
assert abs(len(pause) / sr - 0.1) < 0.006 and abs(len(first) / sr - 0.24) < 0.01, (len(first), len(pause))
assert np.array_equal(features.retime((tone(0.8, 300), 1.25, 0.8)), tone(0.8, 300))
pos = [u, tone(0.8, 300)]
assert all(a is b for a, b in zip(features.retimed(np.random.default_rng(0), pos, 0.0, 1.3), pos))
out = features.retimed(np.random.default_rng(0), pos, 1.0, 1.3)
assert len(out[0]) != len(u) and np.array_equal(out[1], pos[1]), [len(x) for x in out]
PY
); then t_ok rhythm_retimes_parts_keeps_pause; else t_fail rhythm_retimes_parts_keeps_pause "$why"; fi

t_expect_error rhythm_share_checked "--rhythm 1.5: a share, 0..1" env WW_WINDOW_FRAMES=101 "$PY" \
    "$ROOT/models/recipe/features.py" --data "$TMP/none" --out "$TMP/none" --rhythm 1.5
t_expect_error rhythm_rate_checked "--rhythm-rate 0.8: at least 1" env WW_WINDOW_FRAMES=101 "$PY" \
    "$ROOT/models/recipe/features.py" --data "$TMP/none" --out "$TMP/none" --rhythm 0.5 --rhythm-rate 0.8

# gen_data.py --random-voices: the training espeak-ng voices with variants drawn at random
# (sets *_voices_train beside the rest, which stay as they are), every variant heard (espeak-ng
# ignores one it cannot list), and features.py --voice-sets 1 makes windows of them
D=$TMP/cache/hey_computer/data
md5_before=$(cd "$D" && md5sum pos_train.npz conf_extra_train.npz)
# asking for more sentences than the training text gives: one line, and no speech set (the
# phrase and confusable sets it renders first are the ones the next run would render)
t_expect_error voice_speech_checked "--voice-speech 100000 asks for more sentences" "$PY" \
    "$ROOT/models/recipe/gen_data.py" --out "$D" --keyword "hey computer" --smoke --random-voices 4 \
    --voice-renders 3 --voice-speech 100000
[ ! -e "$D/speech_voices_train.npz" ] || t_fail voice_speech_checked "speech_voices_train.npz was written"
if "$PY" "$ROOT/models/recipe/gen_data.py" --out "$D" --keyword "hey computer" --smoke --random-voices 4 \
    --voice-renders 3 --voice-speech 2 >"$TMP/rv.log" 2>&1 &&
    why=$("$PY" - "$D" "$ROOT/models/recipe" 2>&1 <<'PY'
import hashlib, sys
import numpy as np
d = sys.argv[1]
sys.path.insert(0, sys.argv[2])
import gen_data as g
for kind, n in (("pos", 3), ("conf", 3), ("speech", 2)):
    z = np.load("%s/%s_voices_train.npz" % (d, kind))
    assert len(z["offsets"]) == n + 1 and (np.diff(z["offsets"]) > 8000).all(), (kind, z["offsets"])
    assert all("+rv00" in t and t.split("+")[0] != g.TEST_ESPEAK_VOICE for t in z["tags"]), z["tags"]
    if kind == "pos":
        assert all(t.split("|")[1] in g.phrase_texts("hey computer") for t in z["tags"]), z["tags"]
root = "%s/espeak_random" % d
said = {hashlib.md5(g.engine_audio("espeak", v, "hey", ["--path=" + root])).hexdigest()
        for v in ["en-us"] + ["en-us+rv%03d" % i for i in range(4)] + ["gmw/en+rv000"]}
assert len(said) == 6, "variants that speak alike: %d distinct of 6" % len(said)
PY
    ) && [ "$(cd "$D" && md5sum pos_train.npz conf_extra_train.npz)" = "$md5_before" ]; then
    t_ok random_voices_rendered
else
    t_fail random_voices_rendered "${why:-$(tail -3 "$TMP/rv.log")}"
fi
if WW_WINDOW_FRAMES=101 "$PY" "$ROOT/models/recipe/features.py" --data "$D" --out "$TMP/feat_rv" --voice-sets 1 \
    --speech-windows 600 >"$TMP/feat_rv.log" 2>&1 &&
    why=$("$PY" - "$TMP/cache/hey_computer/features/train.npz" "$TMP/feat_rv/train.npz" "$D" "$ROOT/models/recipe" \
        2>&1 <<'PY'
import sys
import numpy as np
sys.path.insert(0, sys.argv[4])
import mix
a, b = (np.load(p)["kinds"] for p in sys.argv[1:3])
count = lambda k, kind: int((k == kind).sum())
# 3 more phrase renderings (4 windows and a cut-off each), 2 windows per confusable kept
assert count(b, "pos") == count(a, "pos") + 12 and count(b, "cutoff") == count(a, "cutoff") + 3, (a, b)
conf = len(mix.load_filtered(sys.argv[3], "conf_voices_train")[0])
assert conf >= 1 and count(b, "confusable") == count(a, "confusable") + 2 * conf, (conf, count(b, "confusable"))
PY
    ); then
    t_ok voice_sets_make_windows
else
    t_fail voice_sets_make_windows "${why:-$(tail -3 "$TMP/feat_rv.log")}"
fi
# the recipe's data as it was (the stages below check what follows a change in it)
rm -rf "$D"/*_voices_train.npz "$D/espeak_random"

# probe.py: fresh renderings of one voice, per text and per edit of the comma text (one
# edit: either part said by another voice)
P=$ROOT/models/recipe/probe.py
if "$PY" "$P" --model "$O/hey_computer.int8.onnx" --voice rms --other-voice slt --keyword "hey computer" --n 2 \
    --wakewordd "$WW" --json "$TMP/probe.json" >"$TMP/probe.log" 2>&1 &&
    why=$("$PY" - "$TMP/probe.json" 2>&1 <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
texts = [r["name"] for r in j["rows"] if r["kind"] == "text"]
assert texts == ["hey computer", "hey, computer", "hey computer!", "hey computer?", "hey computer."], texts
edits = [r for r in j["rows"] if r["kind"] != "text"]
assert len(edits) == 11 and edits[0]["name"] == "as rendered", edits
assert [r["name"] for r in edits[-2:]] == ["first part by slt", "second part by slt"], edits
for r in j["rows"]:
    assert 1 <= r["clips"] <= 2 and 0 <= r["detected"] <= 1 and 0 <= r["median_max_score"] <= 1, r
PY
    ); then
    t_ok probe_texts_and_edits
else
    t_fail probe_texts_and_edits "${why:-$(tail -3 "$TMP/probe.log")}"
fi
t_expect_error probe_unknown_voice "probe.py: --voice nosuch: the engine cannot render it" "$PY" "$P" \
    --model "$O/hey_computer.int8.onnx" --voice nosuch --n 1 --wakewordd "$WW"

head -c 400 "$O/det.svg" | grep -q '<svg' && t_ok det_plot_is_svg || t_fail det_plot_is_svg "$(head -c 200 "$O/det.svg")"

# BABBLE_FT=1: every run trained further from its checkpoint under the stronger overlay
# (which replaces the run's own), BatchNorms frozen, and those merged
if make -C "$ROOT/models/recipe" "${args[@]}" BABBLE_FT=1 BABBLE_FT_EPOCHS=1 merge >"$TMP/bft.log" 2>&1 &&
    why=$("$PY" - "$TMP/cache/hey_computer" "$TMP/bft.log" 2>&1 <<'PY'
import os, sys
import torch
work, log = sys.argv[1], open(sys.argv[2]).read()
for i, (run, seed) in enumerate((("train", 1), ("train_m1", 2))):
    a = torch.load("%s/ftb_m%d/model.pt" % (work, i), map_location="cpu")["args"]
    assert a["init"] == "%s/%s/model.pt" % (work, run) and a["seed"] == seed, a
    assert a["overlay"] == 0.5 and list(a["overlay_snr"]) == [-3.0, 8.0], a
    assert a["freeze_bn"] and a["subsample"] == 0.5 and a["lr"] == 3e-4 and a["keep"] == "last", a
merge = [l for l in log.splitlines() if "merge.py" in l]
assert merge and "ftb_m0/model.pt" in merge[-1] and "ftb_m1/model.pt" in merge[-1], merge
assert os.path.getmtime("%s/ensemble/model.pt" % work) >= os.path.getmtime("%s/ftb_m1/model.pt" % work)
PY
    ); then
    t_ok babble_ft_trains_and_merges
else
    t_fail babble_ft_trains_and_merges "${why:-$(tail -5 "$TMP/bft.log")}"
fi
# make's own error: exit 2, one line
if ! err=$(make -s -n -C "$ROOT/models/recipe" CACHE="$TMP/j" PROSODY_FT=1 BABBLE_FT=1 merge 2>&1 >/dev/null) &&
    grep -q "PROSODY_FT=1 and BABBLE_FT=1: choose one" <<<"$err" && [ "$(grep -c . <<<"$err")" -eq 1 ]; then
    t_ok two_finetunes_refused
else
    t_fail two_finetunes_refused "$err"
fi

# a tiny data set and a full one never mix in one directory
G=$ROOT/models/recipe/gen_data.py
E=$ROOT/models/recipe/evaluate.py
D=$TMP/cache/hey_computer/data
t_expect_error bad_fa_share "choose-fa-share 1.5: want a share in (0, 1]" "$PY" "$E" --split dev --data "$D" \
    --work "$TMP/share" --model x="$O/hey_computer.int8.onnx" --choose-fa-share 1.5

# the later test draws: their own sets next to the others, which stay as they were,
# and their own evaluation audio
sum_before=$(cd "$D" && md5sum ./*.npz)
if "$PY" "$G" --smoke --out "$D" --keyword "hey computer" --test-draws "$last_draw" >"$TMP/draw2.log" 2>&1 &&
    "$PY" "$E" --split test2 --data "$D" --work "$TMP/eval_test2" --audio-only >>"$TMP/draw2.log" 2>&1; then
    t_ok second_test_draw_renders
else
    t_fail second_test_draw_renders "$(tail -5 "$TMP/draw2.log")"
fi
missing=""
for n in $(seq 2 "$last_draw"); do
    for kind in pos conf speech noise; do
        [ -s "$D/${kind}_test$n.npz" ] || missing="$missing ${kind}_test$n.npz"
    done
done
[ -s "$TMP/eval_test2/test_neg.wav" ] || missing="$missing eval_test2/test_neg.wav"
[ -z "$missing" ] && t_ok second_test_draw_files || t_fail second_test_draw_files "missing:$missing"
sum_after=$(cd "$D" && md5sum $(awk '{print $2}' <<<"$sum_before"))
[ "$sum_before" = "$sum_after" ] && t_ok second_test_draw_keeps_sets ||
    t_fail second_test_draw_keeps_sets "$(diff <(echo "$sum_before") <(echo "$sum_after"))"
if why=$("$PY" - "$D" "$last_draw" 2>&1 <<'PY'
import itertools, sys
import numpy as np
d, last = sys.argv[1], int(sys.argv[2])
for kind in ("pos", "speech"):
    for x, y in itertools.combinations(["test"] + ["test%d" % n for n in range(2, last + 1)], 2):
        a, b = np.load("%s/%s_%s.npz" % (d, kind, x)), np.load("%s/%s_%s.npz" % (d, kind, y))
        assert len(b["offsets"]) > 1, kind
        n = min(len(a["audio"]), len(b["audio"]))
        assert not np.array_equal(a["audio"][:n], b["audio"][:n]), "%s_%s repeats %s_%s" % (kind, y, kind, x)
PY
); then t_ok second_test_draw_is_new_audio; else t_fail second_test_draw_is_new_audio "$why"; fi

# gen_data.py --draw N renders that draw alone (what a finished model is scored on, on a
# machine without the training data): the same audio as the full data stage's draw N,
# and no other set
if "$PY" "$G" --smoke --out "$TMP/draw_only" --keyword "hey computer" --draw "$last_draw" \
        >"$TMP/draw_only.log" 2>&1 && why=$("$PY" - "$D" "$TMP/draw_only" "$last_draw" 2>&1 <<'PY'
import glob, os, sys
import numpy as np
full, alone, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
want = sorted("%s_test%d.npz" % (k, n) for k in ("conf", "noise", "pos", "speech"))
have = sorted(os.path.basename(f) for f in glob.glob(alone + "/*.npz"))
assert have == want, "sets %s, want %s" % (have, want)
for f in want:
    a, b = np.load(os.path.join(full, f)), np.load(os.path.join(alone, f))
    for key in ("audio", "offsets", "tags"):
        assert np.array_equal(a[key], b[key]), "%s: %s differs from the full data stage's" % (f, key)
PY
); then t_ok draw_alone_is_the_full_stages_draw; else t_fail draw_alone_is_the_full_stages_draw "$why$(tail -3 "$TMP/draw_only.log")"; fi
t_expect_error draw_with_test_draws "renders that draw alone" "$PY" "$G" --smoke --out "$TMP/draw_bad" \
    --draw "$last_draw" --test-draws 2

# the features hang on the training sets' contents, not on gen_data.py's time: a data
# stage that changes none of them (gen_data.py newer, nothing missing) leaves the
# features; one whose training set changed makes them again
if make -C "$ROOT/models/recipe" "${args[@]}" -W gen_data.py features >"$TMP/stamp1.log" 2>&1 &&
    grep -q "gen_data.py --out" "$TMP/stamp1.log" && ! grep -q "features.py --data" "$TMP/stamp1.log"; then
    t_ok features_kept_when_training_sets_unchanged
else
    t_fail features_kept_when_training_sets_unchanged "$(grep -E 'gen_data|features' "$TMP/stamp1.log" | cut -c1-200)"
fi
"$PY" - "$D/pos_train.npz" <<'PY'
import sys
import numpy as np
path = sys.argv[1]
z = dict(np.load(path))
o = z["offsets"]
np.savez(path[:-4] + ".tmp.npz", audio=z["audio"][:o[-2]], offsets=o[:-1], tags=z["tags"][:-1])
PY
mv "$D/pos_train.tmp.npz" "$D/pos_train.npz"
if make -C "$ROOT/models/recipe" "${args[@]}" -W gen_data.py features >"$TMP/stamp2.log" 2>&1 &&
    grep -q "features.py --data" "$TMP/stamp2.log"; then
    t_ok features_remade_when_a_training_set_changes
else
    t_fail features_remade_when_a_training_set_changes "$(tail -5 "$TMP/stamp2.log")"
fi

# ... and on their options: RHYTHM set makes them again with --rhythm, the same options
# keep them, and back to the default makes them again without it
mk_features() { make -C "$ROOT/models/recipe" "${args[@]}" "$@" features >"$TMP/opts.log" 2>&1; }
if mk_features RHYTHM=0.5 && grep -q -- "features.py --data .* --rhythm 0.5 --rhythm-rate 1.3" "$TMP/opts.log" &&
    mk_features RHYTHM=0.5 && ! grep -q "features.py --data" "$TMP/opts.log" &&
    mk_features && grep "features.py --data" "$TMP/opts.log" | grep -vq -- --rhythm; then
    t_ok features_follow_their_options
else
    t_fail features_follow_their_options "$(grep -E 'features|rror' "$TMP/opts.log" | cut -c1-200)"
fi

t_expect_error full_data_refuses_smoke "holds a --smoke data set" "$PY" "$G" \
    --out "$TMP/cache/hey_computer/data" --keyword "hey computer"
t_expect_error export_refuses_bad_hop "export.py: --hop-frames 0: must be 1..10000" "$PY" "$ROOT/models/recipe/export.py" \
    --ckpt "$TMP/none.pt" --out "$TMP/none.onnx" --hop-frames 0
[ ! -e "$TMP/none.onnx" ] && t_ok export_bad_hop_writes_nothing || t_fail export_bad_hop_writes_nothing
mkdir -p "$TMP/full" && : >"$TMP/full/pos_train.npz"
t_expect_error smoke_refuses_full_data "holds a full data set" "$PY" "$G" --smoke --out "$TMP/full"

# a smoke run of the shipped phrase writes into its cache, never over models/
plan=$(make -n -C "$ROOT/models/recipe" CACHE="$TMP/j" GEN_ARGS=--smoke export 2>&1)
grep -qE -- "--out $TMP/j/hey_jarvis(_w[0-9]+)?/out/hey_jarvis.onnx" <<<"$plan" && t_ok smoke_keeps_shipped_model ||
    t_fail smoke_keeps_shipped_model "$(grep export.py <<<"$plan")"
# by default the shipped network's settings: 1.51 s windows scored every 9 frames, two
# runs of width 24 (seeds 99 and 105, the second with the overlay)
grep -qE -- "--out $TMP/j/hey_jarvis_w151/out/hey_jarvis.onnx --keyword 'hey jarvis' --hop-frames 9" <<<"$plan" &&
    grep -qE -- "train.py .*--width 24 .*--out $TMP/j/hey_jarvis_w151/train --seed 99 --stream [^ ]+ *$" <<<"$plan" &&
    grep -qE -- "train.py .*--width 24 .*/train_m1 --seed 105 --stream [^ ]+ --overlay 0.3" <<<"$plan" &&
    ! grep -q train_m2 <<<"$plan" &&
    t_ok recipe_defaults_are_shipped_settings ||
    t_fail recipe_defaults_are_shipped_settings "$(grep -E 'export.py|train.py' <<<"$plan")"
# the threshold chosen on several splits pooled, another split judging it
plan=$(make -n -C "$ROOT/models/recipe" CACHE="$TMP/j" GEN_ARGS=--smoke WINDOW_FRAMES=101 CHOOSE_ON="dev test2" JUDGE=test3 \
    eval 2>&1)
W=$TMP/j/hey_jarvis
if grep -qF -- "choose_pooled.py --score $W/eval_dev:int8 --score $W/eval_test2:int8" <<<"$plan" &&
    grep -qF -- "--choose-fa-share 0.5 --frr-margin 0 --threshold-out $W/threshold.json" <<<"$plan" &&
    grep -qF -- "evaluate.py --split test2 --data" <<<"$plan" &&
    grep -qF -- "evaluate.py --split test3 --data" <<<"$plan"; then
    t_ok pooled_choice_in_recipe
else
    t_fail pooled_choice_in_recipe "$(grep -E 'choose_pooled|evaluate.py' <<<"$plan")"
fi

# the trained file works in the detector on real audio
t_run detect_runs 0 "$WW" detect -m "$O/hey_computer.int8.onnx" "$ROOT/tests/fixtures/clips/demo.wav" &&
    t_ok detect_runs

# another window length (WINDOW_FRAMES) goes through every stage into the files' metadata,
# the detector and the evaluation, in a cache directory of its own
O2=$TMP/out121
if make -C "$ROOT/models/recipe" -j2 "${args[@]}" OUTDIR="$O2" WINDOW_FRAMES=121 >"$TMP/make121.log" 2>&1; then
    t_ok window_121_runs_end_to_end
else
    t_fail window_121_runs_end_to_end "$(tail -8 "$TMP/make121.log")"
fi
[ -d "$TMP/cache/hey_computer_w121/features" ] && t_ok window_121_own_cache ||
    t_fail window_121_own_cache "$(ls "$TMP/cache")"
if why=$("$PY" - "$O2" 2>&1 <<'PY'
import json, sys
import onnx
out = sys.argv[1]
for name in ("hey_computer.onnx", "hey_computer.int8.onnx"):
    m = onnx.load("%s/%s" % (out, name))
    meta = {p.key: p.value for p in m.metadata_props}
    assert meta["window_frames"] == "121", meta
    dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == [1, 64, 121], dims
for tag in ("float", "int8"):
    e = json.load(open("%s/eval_%s.json" % (out, tag)))
    assert e["detector"]["window_frames"] == 121, e["detector"]
    assert abs(e["positives"]["clip_seconds"] - 2.2) < 1e-6, e["positives"]
PY
); then t_ok window_121_in_files_and_eval; else t_fail window_121_in_files_and_eval "$why"; fi
t_run detect_window_121 0 "$WW" detect -m "$O2/hey_computer.int8.onnx" "$ROOT/tests/fixtures/clips/demo.wav" &&
    t_ok detect_window_121
# the evaluation takes the window from the models; two windows are not scored as one
t_expect_error eval_refuses_mixed_windows "the models have windows of different lengths" \
    "$PY" "$ROOT/models/recipe/evaluate.py" --split dev --data "$TMP/cache/hey_computer/data" \
    --work "$TMP/mixed" --wakewordd "$WW" --model a="$O/hey_computer.int8.onnx" --model b="$O2/hey_computer.int8.onnx"
t_expect_error bad_window_frames "WINDOW_FRAMES): '20' is not a number of frames in 32..1000" \
    env WW_WINDOW_FRAMES=20 "$PY" "$ROOT/models/recipe/features.py" --data "$TMP/cache/hey_computer/data" --out "$TMP/f20"
t_done
