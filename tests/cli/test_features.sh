#!/bin/bash
# `wakewordd` top-level CLI behaviour and `wakewordd features`, end to end.
. "$(dirname "$0")/lib.sh"
FIX=$ROOT/tests/fixtures/mel

# --- top level
t_run "help exits 0" 0 "$WW" --help && grep -q "features" <<<"$OUT" && t_ok "help lists subcommands"
t_run "version" 0 "$WW" --version && grep -qE '^wakewordd [0-9]+\.[0-9]+' <<<"$OUT" && t_ok "version prints a version"
t_run "no arguments" 2 "$WW" && grep -q usage <<<"$ERR" && t_ok "no arguments prints usage on stderr"
t_run "unknown subcommand" 2 "$WW" frobnicate && grep -q "unknown subcommand 'frobnicate'" <<<"$ERR" &&
    grep -q usage <<<"$ERR" && t_ok "unknown subcommand prints usage, exit 2"

# --- features: happy paths
t_run "features --help" 0 "$WW" features --help && grep -q -- "--n-mels" <<<"$OUT" && t_ok "features --help lists options"
if t_run "features default" 0 "$WW" features "$FIX/speech.wav" "$TMP/a.npy"; then
    # 271 frames x 64 mels, float32: header 128 bytes + 271*64*4
    size=$(stat -c %s "$TMP/a.npy")
    [ "$size" -eq $((128 + 271 * 64 * 4)) ] && t_ok "features writes [271,64] float32" ||
        t_fail "features writes [271,64] float32" "size $size"
    head -c 128 "$TMP/a.npy" | grep -q "'shape': (271, 64)" && t_ok "npy header has the shape" ||
        t_fail "npy header has the shape"
fi
t_run "features with options" 0 "$WW" features --n-mels 40 --n-fft 400 --win-length 320 \
    --hop-length 128 --f-min 60 --f-max 7600 --mel-scale slaney --mel-norm slaney \
    --log-floor 1e-3 "$FIX/speech.wav" "$TMP/b.npy" &&
    head -c 128 "$TMP/b.npy" | grep -q "'shape': (339, 40)" && t_ok "options change the output shape"

# other formats and rates: a 44.1 kHz stereo FLAC of the same speech gives the same frame count
if command -v sox >/dev/null; then
    sox "$FIX/speech.wav" -r 44100 -c 2 "$TMP/speech44.flac" 2>/dev/null
    t_run "flac 44.1k stereo" 0 "$WW" features "$TMP/speech44.flac" "$TMP/c.npy" &&
        head -c 128 "$TMP/c.npy" | grep -q "'shape': (271, 64)" && t_ok "resampled stereo FLAC gives 271 frames"
else
    t_ok "flac 44.1k stereo SKIPPED: sox not installed"
fi

# --- features: bad input, one line each, exit 1 (2 for usage), no output left behind
t_expect_error "missing input file" "$TMP/nope.wav" "$WW" features "$TMP/nope.wav" "$TMP/o.npy"
echo "hello, not audio" >"$TMP/text.wav"
t_expect_error "not audio" "text.wav: cannot read audio" "$WW" features "$TMP/text.wav" "$TMP/o.npy"
: >"$TMP/empty.wav"
t_expect_error "empty file" "empty.wav" "$WW" features "$TMP/empty.wav" "$TMP/o.npy"
head -c 1044 "$FIX/silence.wav" >"$TMP/short.wav"
t_expect_error "too short for a frame" "too short" "$WW" features "$TMP/short.wav" "$TMP/o.npy"
# absurd sample rate: patch the WAV header's rate field to 1 Hz
cp "$FIX/silence.wav" "$TMP/rate.wav"
printf '\x01\x00\x00\x00' | dd of="$TMP/rate.wav" bs=1 seek=24 conv=notrunc status=none
t_expect_error "absurd sample rate" "out of range" "$WW" features "$TMP/rate.wav" "$TMP/o.npy"
# NaN and Inf samples in a float WAV
/usr/bin/python3 - "$TMP" <<'PY' 2>/dev/null || t_fail "make NaN wav" "python3 failed"
import struct, sys, math
def wav(path, samples):
    data = b"".join(struct.pack("<f", s) for s in samples)
    hdr = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 3, 1, 16000, 64000, 4, 32) + b"data" + struct.pack("<I", len(data))
    open(path, "wb").write(hdr + data)
s = [0.0] * 2000
s[700] = float("nan"); wav(sys.argv[1] + "/nan.wav", s)
s[700] = 0.0; s[1999] = float("-inf"); wav(sys.argv[1] + "/inf.wav", s)
PY
t_expect_error "NaN samples" "sample 700 is NaN" "$WW" features "$TMP/nan.wav" "$TMP/o.npy"
t_expect_error "Inf samples" "NaN or infinite" "$WW" features "$TMP/inf.wav" "$TMP/o.npy"
t_expect_error "unwritable output" "/nonexistent-dir/o.npy" "$WW" features "$FIX/speech.wav" /nonexistent-dir/o.npy
t_expect_error "output is a directory" "$TMP" "$WW" features "$FIX/speech.wav" "$TMP/"
[ ! -e "$TMP/o.npy" ] && [ -z "$(ls -A "$TMP" | grep tmp-)" ] && t_ok "no output or temp file left behind" ||
    t_fail "no output or temp file left behind" "$(ls -A "$TMP")"

for bad in "--n-mels 0" "--n-mels abc" "--n-fft 8" "--win-length 1000" "--hop-length 0" \
    "--f-max 9000" "--f-min -1" "--mel-scale bark" "--mel-norm l2" "--log-floor 0" \
    "--sample-rate 10" "--f-min 5000 --f-max 4000"; do
    # shellcheck disable=SC2086
    t_run "option out of range: $bad" 2 "$WW" features $bad "$FIX/speech.wav" "$TMP/o.npy" &&
        head -1 <<<"$ERR" | grep -q "wakewordd features:" && grep -q usage <<<"$ERR" &&
        t_ok "option out of range: $bad"
done
t_run "unknown option" 2 "$WW" features --frobnicate "$FIX/speech.wav" "$TMP/o.npy" &&
    grep -q "unknown option '--frobnicate'" <<<"$ERR" && t_ok "unknown option names it"
t_run "missing option value" 2 "$WW" features "$FIX/speech.wav" "$TMP/o.npy" --n-mels &&
    grep -q "needs a value" <<<"$ERR" && t_ok "missing option value"
t_run "wrong argument count" 2 "$WW" features "$FIX/speech.wav" && t_ok "wrong argument count"
[ ! -e "$TMP/o.npy" ] && t_ok "bad options write nothing" || t_fail "bad options write nothing"

# subcommands not built yet say so and exit 2
for c in run detect infer info quantize validate bench; do
    "$WW" $c --help >/dev/null 2>"$TMP/nb"; rc=$?
    if grep -q "not built yet" "$TMP/nb"; then
        [ $rc -eq 2 ] && t_ok "$c: not built yet, exit 2" || t_fail "$c: not built yet, exit 2" "exit $rc"
    else
        [ $rc -eq 0 ] && t_ok "$c --help" || t_fail "$c --help" "exit $rc"
    fi
done
t_done
