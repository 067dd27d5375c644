#!/bin/bash
# wakewordd detect: the daemon's detector over files. Output formats, '-' for
# raw stdin, several files (time restarts per file), several models, threshold
# override, the summary on stderr, and the error paths (usage errors exit 2,
# runtime errors exit 1 with one line naming the file); and `run`'s usage and
# start-up errors.
source "$(dirname "$0")/lib.sh"
MODEL=$ROOT/tests/fixtures/daemon/tone_model.onnx
WAV=$ROOT/tests/fixtures/daemon/tone_bursts.wav
SPEECH=$ROOT/tests/fixtures/mel/speech.wav

# ck NAME STATUS OUT|ERR REGEX CMD...: CMD exits with STATUS and REGEX is found
# in its stdout (OUT) or stderr (ERR).
ck() {
    local name=$1 st=$2 where=$3 re=$4
    shift 4
    t_run "$name" "$st" "$@" || return 1
    local text=$OUT
    [ "$where" = ERR ] && text=$ERR
    if grep -qE -- "$re" <<<"$text"; then t_ok "$name"; else t_fail "$name" "no /$re/ in $where: ${text:0:300}"; fi
}
# same: CMD exits with STATUS and its stdout equals WANT
ck_out() {
    local name=$1 st=$2 want=$3
    shift 3
    t_run "$name" "$st" "$@" || return 1
    if [ "$OUT" = "$want" ]; then t_ok "$name"; else t_fail "$name" "stdout: ${OUT:0:300}" "wanted: $want"; fi
}

ck "detect --help prints usage on stdout" 0 OUT "usage: wakewordd detect" "$WW" detect --help
ck "detect without files is a usage error" 2 ERR "no input FILE" "$WW" detect --model "$MODEL"
ck "unknown option is a usage error" 2 ERR "unknown option '--frobnicate'" "$WW" detect --frobnicate "$WAV"
ck "--threshold 2 is a usage error naming the value" 2 ERR "threshold: '2'" "$WW" detect --model "$MODEL" --threshold 2 "$WAV"
ck "'-' twice is a usage error" 2 ERR "more than once" "$WW" detect --model "$MODEL" - -

# FILE<TAB>keyword<TAB>time_s<TAB>score; the times and scores the generator's reference predicts
ck_out "two detections at 2.712 s and 6.232 s" 0 "$(printf '%s\ttone\t2.712\t0.7125\n%s\ttone\t6.232\t0.7909' "$WAV" "$WAV")" \
    "$WW" detect --model "$MODEL" "$WAV"
ck "summary on stderr: detections, audio seconds, processing seconds, real-time factor" 0 ERR \
    "2 detections in 8.0 s of audio, processed in [0-9.]+ s \(real-time factor [0-9.]+" "$WW" detect --model "$MODEL" "$WAV"
if t_run "detect --json" 0 "$WW" detect --json --model "$MODEL" "$WAV" "$SPEECH" "$WAV"; then
    if /usr/bin/python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin.read().splitlines()]
assert len(lines) == 4, lines
for l in lines:
    assert set(l) >= {"file", "keyword", "score", "time_s", "model"}, l
    assert l["file"] == sys.argv[1] and l["keyword"] == "tone", l
# time_s counts from the start of each file
assert [l["time_s"] for l in lines] == [2.712, 6.232, 2.712, 6.232], lines
' "$WAV" <<<"$OUT"; then
        t_ok "--json: file, keyword, score, time_s, model; time restarts per file; speech gives none"
    else
        t_fail "--json output" "$OUT"
    fi
fi
/usr/bin/python3 -c "import wave,sys; w=wave.open(sys.argv[1]); open(sys.argv[2],'wb').write(w.readframes(w.getnframes()))" \
    "$WAV" "$TMP/tone.raw"
ck_out "'-' reads raw s16le from stdin with the same detections" 0 "$(printf -- '-\ttone\t2.712\t0.7125\n-\ttone\t6.232\t0.7909')" \
    "$WW" detect --model "$MODEL" - <"$TMP/tone.raw"
ck_out "no detections: exit 0, nothing on stdout" 0 "" "$WW" detect --model "$MODEL" "$SPEECH"
ck "--threshold 0.3 fires earlier (2.632 s)" 0 OUT "^$WAV	tone	2.632	" "$WW" detect --model "$MODEL" --threshold 0.3 "$WAV"
if t_run "two models" 0 "$WW" detect --model "$MODEL" --model "$MODEL" "$WAV"; then
    [ "$(grep -c tone <<<"$OUT")" -eq 4 ] && t_ok "two --model options: both run" || t_fail "two models" "$OUT"
fi

# --scores: every smoothed score of the detector, one line per model run, at the
# run's time; the detections are the lines where the score crosses the threshold
if t_run "detect --scores" 0 "$WW" detect --model "$MODEL" --scores "$TMP/scores.tsv" "$WAV" "$SPEECH"; then
    if /usr/bin/python3 - "$TMP/scores.tsv" "$WAV" "$SPEECH" "$OUT" <<'PY'; then
import sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0] == "file\ttime_s\tscore", lines[0]
rows = [l.split("\t") for l in lines[1:]]
for f in (sys.argv[2], sys.argv[3]):
    t = [float(r[1]) for r in rows if r[0] == f]
    # a run when 101 + 8j frames exist: frame n ends at (n - 1) * 0.01 + 0.032 s
    want = [round(1.032 + 0.08 * j, 4) for j in range(len(t))]
    assert t == want and len(t) > 10, (f, t[:5], len(t))
dets = [l.split("\t") for l in sys.argv[4].splitlines()]
assert [(d[2], d[3]) for d in dets] == [("2.712", "0.7125"), ("6.232", "0.7909")], dets
for d in dets:
    r = [r for r in rows if r[0] == d[0] and float(r[1]) == float(d[2])]
    assert len(r) == 1 and abs(float(r[0][2]) - float(d[3])) < 6e-5, (d, r)
wav = [float(r[2]) for r in rows if r[0] == sys.argv[2]]
# the first crossings of 0.7 are the detections; the speech file never gets close
assert max(float(r[2]) for r in rows if r[0] == sys.argv[3]) < 0.5
assert sum(1 for a, b in zip(wav, wav[1:]) if a < 0.7 <= b) == 2
PY
        t_ok "--scores: header, one line per run at 1.032 + 0.08 j s, detections are its crossings"
    else
        t_fail "--scores output" "$(head -5 "$TMP/scores.tsv")"
    fi
fi
ck "--scores with two models is a usage error" 2 ERR "--scores needs exactly one --model" \
    "$WW" detect --model "$MODEL" --model "$MODEL" --scores "$TMP/two.tsv" "$WAV"
[ ! -e "$TMP/two.tsv" ] && t_ok "--scores usage error writes no file" || t_fail "--scores usage error" "wrote $TMP/two.tsv"
ck "--scores and a missing audio file: exit 1 naming it" 1 ERR "nonexistent.wav" \
    "$WW" detect --model "$MODEL" --scores "$TMP/partial.tsv" "$WAV" /nonexistent.wav
[ ! -e "$TMP/partial.tsv" ] && t_ok "--scores leaves no partial file on error" || t_fail "--scores partial" "$(ls -a "$TMP")"
ck "--scores into a missing directory: exit 1 naming it" 1 ERR "/nonexistent/dir/s.tsv" \
    "$WW" detect --model "$MODEL" --scores /nonexistent/dir/s.tsv "$WAV"

ck "missing audio file: exit 1 naming it" 1 ERR "^wakewordd detect: .*/nonexistent.wav" "$WW" detect --model "$MODEL" /nonexistent.wav
ck "missing model: exit 1 naming it" 1 ERR "^wakewordd detect: .*/nonexistent.onnx" "$WW" detect --model /nonexistent.onnx "$WAV"
printf 'not a model' >"$TMP/junk.onnx"
ck "junk model: exit 1 naming it" 1 ERR "junk.onnx" "$WW" detect --model "$TMP/junk.onnx" "$WAV"
printf 'RIFF....WAVEjunk' >"$TMP/junk.wav"
ck "junk audio: exit 1 naming it" 1 ERR "junk.wav" "$WW" detect --model "$MODEL" "$TMP/junk.wav"
RELU=/usr/share/libonnx-testdata/data/node/test_relu/model.onnx
if [ -f "$RELU" ]; then
    ck "a model that is not a wake word model is refused, saying why" 1 ERR "test_relu/model.onnx: .*must be \[1,1,64,frames\]" \
        "$WW" detect --model "$RELU" "$WAV"
fi

ck "run --help" 0 OUT "usage: wakewordd run" "$WW" run --help
ck "run --bus session is a usage error" 2 ERR "bus: 'session'" "$WW" run --bus session
ck "run with an argument is a usage error" 2 ERR "unexpected argument 'foo'" "$WW" run foo
ck "run --config with a missing file: exit 1 naming it" 1 ERR "/nonexistent.conf" "$WW" run --config /nonexistent.conf
printf 'device = x\nthreshold = high\n' >"$TMP/bad.conf"
ck "run with a bad config: exit 1 naming file:line" 1 ERR "bad.conf:2: threshold" "$WW" run --config "$TMP/bad.conf"
ck "run with a missing model: exit 1 naming it" 1 ERR "/nonexistent.onnx" \
    "$WW" run --bus none --no-journal --model /nonexistent.onnx
t_done
