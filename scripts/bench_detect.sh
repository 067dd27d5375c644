#!/bin/bash
# Benchmark (not a test) of the detector and the daemon, run by `make bench`:
#   1. `wakewordd detect` over >= 1 hour of audio: real-time factor (processing
#      seconds / audio seconds, one core) and peak RSS;
#   2. `wakewordd run` capturing through a file-backed ALSA PCM: peak RSS
#      (VmHWM) of the daemon with the same model.
#   scripts/bench_detect.sh [BUILD_DIR] [MODEL.onnx...]
# Models, by default: models/hey_jarvis.int8.onnx and models/hey_jarvis.onnx
# when present; otherwise an untrained full-width ResNet18 of the wakeword
# shape (tests/gen/export_resnet.py, with metadata) and its int8 QDQ version
# from `wakewordd quantize`, made once into /work/cache/bench-detect/ (the
# figures depend on the architecture, not on the weights).
# BENCH_HOURS=N (default 1) sets the audio length.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${1:-build}
shift || true
WW=$PWD/$BUILD/wakewordd
CACHE=${BENCH_CACHE:-/work/cache/bench-detect}
HOURS=${BENCH_HOURS:-1}
mkdir -p "$CACHE"
MODELS=("$@")
if [ ${#MODELS[@]} -eq 0 ]; then
    for m in models/hey_jarvis.int8.onnx models/hey_jarvis.onnx; do [ -f "$m" ] && MODELS+=("$PWD/$m"); done
fi
if [ ${#MODELS[@]} -eq 0 ]; then
    if [ ! -f "$CACHE/resnet18.onnx" ]; then
        nice -n 10 /usr/bin/python3 tests/gen/export_resnet.py model "$CACHE/resnet18.onnx" --metadata >/dev/null ||
            { echo "bench_detect: cannot export the ResNet18 (needs python3-torch)"; exit 1; }
    fi
    if [ ! -f "$CACHE/resnet18.int8.onnx" ]; then
        nice -n 10 "$WW" quantize -q "$CACHE/resnet18.onnx" --calib tests/fixtures/mel/speech.wav \
            --calib tests/fixtures/mel/pink_noise.wav --latency-runs 0 -o "$CACHE/resnet18.int8.onnx" ||
            echo "bench_detect: quantize failed; float only"
    fi
    for m in "$CACHE/resnet18.int8.onnx" "$CACHE/resnet18.onnx"; do [ -f "$m" ] && MODELS+=("$m"); done
    echo "(untrained ResNet18 of the wakeword shape: the trained model is not in models/ yet)"
fi

# the audio: speech, noise, silence and tone bursts, repeated to HOURS hours,
# as one 16 kHz WAV made once (libsndfile reads it as the daemon's input would)
AUDIO=$CACHE/audio_${HOURS}h.wav
if [ ! -f "$AUDIO" ]; then
    parts=(tests/fixtures/mel/speech.wav tests/fixtures/mel/pink_noise.wav tests/fixtures/mel/silence.wav
        tests/fixtures/daemon/tone_bursts.wav tests/fixtures/mel/white_noise.wav)
    sox "${parts[@]}" "$CACHE/block.wav" || exit 1
    block=$(soxi -D "$CACHE/block.wav")
    reps=$(/usr/bin/python3 -c "import math; print(math.ceil($HOURS * 3600 / $block))")
    sox "$CACHE/block.wav" "$AUDIO" repeat $((reps - 1)) || exit 1
fi
echo "audio: $AUDIO ($(soxi -d "$AUDIO"))"

for m in "${MODELS[@]}"; do
    echo
    echo "model: $m"
    /usr/bin/time -f "%M" -o "$CACHE/rss" "$WW" detect --model "$m" "$AUDIO" >/dev/null 2>"$CACHE/detect.err"
    summary=$(grep "real-time factor" "$CACHE/detect.err")
    echo "  detect: ${summary#wakewordd detect: }"
    echo "  detect: peak RSS $(($(tail -1 "$CACHE/rss") / 1024)) MB"

    # the daemon through ALSA: a plain raw file as the capture device (read as
    # fast as asked), 30 s of audio, then VmHWM before SIGTERM
    T=$(mktemp -d /tmp/ww-bench-XXXXXX)
    printf 'pcm.null { type null }\npcm.f { @args [ I ] @args.I { type string } type file slave.pcm { type null } file "/dev/null" infile $I format "raw" }\n' >"$T/asound.conf"
    sox "$AUDIO" -t raw -e signed -b 16 -r 16000 -c 1 "$T/a.raw" trim 0 30
    ALSA_CONFIG_PATH=$T/asound.conf "$WW" run --device "f:I=$T/a.raw" --model "$m" --bus none --no-journal \
        >/dev/null 2>"$T/err" &
    pid=$!
    sleep 5
    hwm=$(awk '/VmHWM/ { print $2 }' /proc/$pid/status 2>/dev/null)
    kill -TERM $pid 2>/dev/null
    wait $pid
    echo "  run:    peak RSS (VmHWM) $((${hwm:-0} / 1024)) MB"
    rm -rf "$T"
done
