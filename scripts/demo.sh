#!/bin/bash
# `make demo`: the daemon's real pipeline on bundled audio, no microphone
# needed. A recording is fed through a named pipe into a file-backed ALSA
# capture PCM (so `wakewordd run` reads it with snd_pcm_readi like a sound
# card, at 4x real time), the daemon serves a private D-Bus where dbus-monitor
# shows its Detected signals, and prints its JSON lines. `wakewordd detect`
# runs over the same file first, for comparison.
#   scripts/demo.sh BUILD_DIR [MODEL.onnx RECORDING.wav]
# Defaults: the shipped wake word model (models/hey_jarvis.int8.onnx or
# models/hey_jarvis.onnx) with its demo recording (tests/fixtures/clips/demo.wav,
# 16 s of speech from voices the model never saw in training); until
# those exist, the test model that fires on 1 kHz tone bursts and its
# recording (tests/fixtures/daemon/), which exercises the same pipeline.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${1:-build}
case "$BUILD" in /*) WW=$BUILD/wakewordd ;; *) WW=$PWD/$BUILD/wakewordd ;; esac
[ -x "$WW" ] || { echo "demo: $WW is missing; run make first" >&2; exit 1; }
MODEL=${2:-}
WAV=${3:-}
if [ -z "$MODEL" ]; then
    for m in models/hey_jarvis.int8.onnx models/hey_jarvis.onnx; do
        [ -f "$m" ] && MODEL=$PWD/$m && break
    done
    WAV=$PWD/tests/fixtures/clips/demo.wav
    [ -f "$WAV" ] || WAV=""
    if [ -z "$MODEL" ] || [ -z "$WAV" ]; then
        echo "demo: the trained wake word model or its demo recording is not in models/ yet;"
        echo "demo: showing the pipeline with the test model (fires on 1 kHz tone bursts)."
        MODEL=$PWD/tests/fixtures/daemon/tone_model.onnx
        WAV=$PWD/tests/fixtures/daemon/tone_bursts.wav
    fi
fi
T=$(mktemp -d /tmp/wakewordd-demo-XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    [ -n "${BUS_PID:-}" ] && kill "$BUS_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo
echo "== model: $MODEL"
echo "== recording: $WAV"
echo
echo "== 1. wakewordd detect (the detector over the file, as fast as the CPU allows)"
"$WW" detect --json --model "$MODEL" "$WAV" 2>&1 || exit 1

echo
echo "== 2. wakewordd run (ALSA capture from a file-backed PCM fed at 4x real time)"
cat >"$T/asound.conf" <<CONF
pcm.null { type null }
pcm.demo { @args [ IFILE ] @args.IFILE { type string } type file
  slave.pcm { type null } file "/dev/null" infile \$IFILE format "raw" }
CONF
mkfifo "$T/audio.fifo"
# a 16 kHz mono 16-bit copy of the recording for the pipe
sox "$WAV" -r 16000 -c 1 -b 16 "$T/audio.wav" 2>/dev/null || cp "$WAV" "$T/audio.wav"
BUS_ARGS=(--bus none)
if command -v dbus-daemon >/dev/null && dbus-daemon --session --fork --print-address=1 --print-pid=1 \
    --address="unix:path=$T/bus" >"$T/bus.info" 2>/dev/null; then
    BUS_ADDR=$(head -1 "$T/bus.info")
    BUS_PID=$(sed -n 2p "$T/bus.info")
    BUS_ARGS=(--bus system)
    dbus-monitor --address "$BUS_ADDR" "type='signal',interface='org.wakewordd.Detector1'" \
        > >(grep --line-buffered -A3 "member=Detected" | sed -u 's/^/   [dbus-monitor] /') 2>/dev/null &
    PIDS+=($!)
    echo "   (a private D-Bus at $BUS_ADDR; dbus-monitor prints the Detected signals)"
fi
exec 3>&1
DBUS_SYSTEM_BUS_ADDRESS=${BUS_ADDR:-} ALSA_CONFIG_PATH="$T/asound.conf" \
    "$WW" run --device "demo:IFILE=$T/audio.fifo" --model "$MODEL" --stdout "${BUS_ARGS[@]}" --no-journal \
    > >(sed -u 's/^/   [stdout] /') 2> >(sed -u 's/^/   [log] /' >&3) &
DPID=$!
PIDS+=($DPID)
/usr/bin/python3 tests/fault/feed_fifo.py "$T/audio.fifo" "$T/audio.wav" 4 &
PIDS+=($!)
secs=$(/usr/bin/python3 -c "import wave,sys; w=wave.open(sys.argv[1]); print(w.getnframes()/w.getframerate())" "$T/audio.wav")
sleep "$(/usr/bin/python3 -c "print($secs / 4 + 1.5)")"
if [ -n "${BUS_ADDR:-}" ]; then
    echo "   [busctl] Detections: $(busctl --address="$BUS_ADDR" get-property org.wakewordd \
        /org/wakewordd/Detector1 org.wakewordd.Detector1 Detections 2>/dev/null)"
fi
kill -TERM "$DPID"
wait "$DPID"
echo "   (exit status $?)"
sleep 0.2
echo
echo "== done (the daemon stopped on SIGTERM)"
