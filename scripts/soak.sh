#!/bin/bash
# Soak run (a benchmark script, not a test; issue #8). Three phases:
#   detect    `wakewordd detect -` over SOAK_HOURS (24) of generated audio,
#             streamed through a pipe faster than real time, RSS sampled
#             throughout; verdict: no growth after the warm-up.
#   valgrind  the same over VALGRIND_MINUTES (10) of audio under valgrind
#             memcheck --leak-check=full --error-exitcode; verdict: no errors,
#             no leaks.
#   daemon    `wakewordd run` through the file-backed ALSA path (a named pipe
#             fed at DAEMON_SPEED x real time, 20) for DAEMON_SECONDS (600) of
#             wall time with a SIGHUP every HUP_EVERY (10) seconds, on a
#             private D-Bus; RSS and open fds sampled before each SIGHUP;
#             verdict as for detect, plus the fd count at the end equal to the
#             start; the Overruns/Xruns properties are printed.
# The audio: the committed test clips (tests/fixtures/clips: positives,
# negatives, the demo recording) at random gains, between stretches of white,
# pink and brown noise and silence, drawn with a fixed seed; generated as it
# is read, so 24 h need no disk.
#
#   scripts/soak.sh [BUILD]     (BUILD: build dir, default build)
#   env: SOAK_PHASES="detect valgrind daemon", SOAK_HOURS, VALGRIND_MINUTES,
#        DAEMON_SECONDS, DAEMON_SPEED, HUP_EVERY, SAMPLE_SECONDS (5),
#        SOAK_MODEL (models/hey_jarvis.int8.onnx), RSS_SLACK_KB (512)
# Runs under nice -n 10. Exit status 0 when every phase run passed.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
BUILD=${1:-build}
WW=$ROOT/$BUILD/wakewordd
[ -x "$WW" ] || { echo "soak: $WW is missing (make BUILD=$BUILD)" >&2; exit 1; }
PHASES=${SOAK_PHASES:-detect valgrind daemon}
SOAK_HOURS=${SOAK_HOURS:-24}
VALGRIND_MINUTES=${VALGRIND_MINUTES:-10}
DAEMON_SECONDS=${DAEMON_SECONDS:-600}
DAEMON_SPEED=${DAEMON_SPEED:-20}
HUP_EVERY=${HUP_EVERY:-10}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-5}
MODEL=${SOAK_MODEL:-$ROOT/models/hey_jarvis.int8.onnx}
SLACK=${RSS_SLACK_KB:-512}
T=$(mktemp -d /tmp/ww-soak-XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    [ -n "${BUS_PID:-}" ] && kill "$BUS_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
verdicts=()
status=0

# --- the audio generator -----------------------------------------------------------
cat >"$T/gen.py" <<'PY'
"""gen.py SECONDS [--wav FILE] [--seed N]: raw s16le 16 kHz mono on stdout
(or a WAV file): the test clips at random gains between noise and silence.
Prints to stderr how many keyword clips it put in."""
import sys
import wave

import numpy as np

seconds = float(sys.argv[1])
args = sys.argv[2:]
seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 8
wav_out = args[args.index("--wav") + 1] if "--wav" in args else None
rate = 16000
rng = np.random.default_rng(seed)
clips = {}
for name in ["pos_1", "pos_2", "pos_3", "neg_1", "neg_2", "neg_3", "demo"]:
    with wave.open("tests/fixtures/clips/%s.wav" % name) as w:
        assert w.getframerate() == rate and w.getnchannels() == 1 and w.getsampwidth() == 2
        clips[name] = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768


def colored(kind, n):
    x = rng.standard_normal(n).astype(np.float32)
    if kind == "white":
        return x
    f = np.fft.rfft(x)
    k = np.arange(len(f), dtype=np.float32)
    k[0] = 1
    f /= np.sqrt(k) if kind == "pink" else k
    y = np.fft.irfft(f, n).astype(np.float32)
    return y / (np.std(y) + 1e-9)


noise = {k: colored(k, rate * 30) for k in ("white", "pink", "brown")}
total = int(seconds * rate)
out = wave.open(wav_out, "wb") if wav_out else sys.stdout.buffer
if wav_out:
    out.setnchannels(1)
    out.setsampwidth(2)
    out.setframerate(rate)
written = 0
keyword_clips = 0
names = list(clips)
while written < total:
    r = rng.random()
    if r < 0.45:
        name = names[rng.integers(len(names))]
        seg = clips[name] * np.float32(10 ** (rng.uniform(-12, 0) / 20))
        keyword_clips += name.startswith("pos") or name == "demo"
    elif r < 0.85:
        kind = ("white", "pink", "brown")[rng.integers(3)]
        n = int(rng.uniform(0.5, 10) * rate)
        start = int(rng.integers(0, len(noise[kind]) - n))
        seg = noise[kind][start:start + n] * np.float32(10 ** (rng.uniform(-50, -20) / 20))
    else:
        seg = np.zeros(int(rng.uniform(0.2, 5) * rate), dtype=np.float32)
    seg = seg[:total - written]
    pcm = (np.clip(seg, -1, 32767 / 32768) * 32768).astype("<i2").tobytes()
    if wav_out:
        out.writeframes(pcm)
    else:
        try:
            out.write(pcm)
        except BrokenPipeError:
            break
    written += len(seg)
if wav_out:
    out.close()
else:
    sys.stdout.flush()
print("gen.py: %d samples = %.1f s = %.4f h of audio, %d keyword clips (pos_1..3, demo)"
      % (written, written / rate, written / rate / 3600, keyword_clips), file=sys.stderr)
PY

# sample PID LABEL: one line "label wall_s audio_h rss_kb hwm_kb fds" from /proc
proc_sample() {
    local pid=$1 rss hwm fds
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || return 1
    hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
    [ -n "$rss" ] && echo "$rss $hwm $fds"
}

# rss_verdict FILE LABEL: samples "wall audio_h rss hwm fds". Warm-up: the first
# quarter of the samples. RSS growth: median of the last quarter minus median
# of the second quarter (single samples jitter with the allocator); peak RSS
# growth: VmHWM at the end minus VmHWM at the end of the warm-up. Both must
# stay within RSS_SLACK_KB.
rss_verdict() {
    local file=$1 label=$2
    awk -v slack="$SLACK" -v label="$label" '
        function median(lo, hi,   n, i, j, t, v) {
            n = 0
            for (i = lo; i <= hi; i++) v[++n] = r[i]
            for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
            return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        { w[NR] = $1; a[NR] = $2; r[NR] = $3; h[NR] = $4 }
        END {
            if (NR < 8) { printf "%s: FAIL: only %d samples (need 8)\n", label, NR; exit 1 }
            q = int(NR / 4)
            early = median(q + 1, 2 * q); late = median(NR - q + 1, NR)
            lo = 1e12; hi = 0
            for (i = q + 1; i <= NR; i++) { if (r[i] < lo) lo = r[i]; if (r[i] > hi) hi = r[i] }
            dr = late - early; dh = h[NR] - h[q]
            printf "%s: %d samples over %.2f h of audio; RSS %d kB at start; after warm-up (%.2f h): RSS median %d kB early, %d kB late (%+d), range %d-%d kB; peak RSS %d -> %d kB (%+d)\n", \
                label, NR, a[NR], r[1], a[q], early, late, dr, lo, hi, h[q], h[NR], dh
            if (dr > slack || dh > slack) { printf "%s: FAIL: grows by more than %d kB after warm-up\n", label, slack; exit 1 }
            printf "%s: PASS: no growth after warm-up (RSS %+d kB, peak %+d kB; slack %d kB)\n", label, dr, dh, slack
        }' "$file"
}

# --- detect over SOAK_HOURS ------------------------------------------------------
phase_detect() {
    echo "== detect: $SOAK_HOURS h of generated audio through 'wakewordd detect -' (nice -n 10)"
    echo "   command: /usr/bin/python3 gen.py $((SOAK_HOURS * 3600)) | nice -n 10 $BUILD/wakewordd detect --json -m $MODEL -"
    mkfifo "$T/detect.fifo"
    nice -n 10 /usr/bin/python3 "$T/gen.py" $((SOAK_HOURS * 3600)) >"$T/detect.fifo" 2>"$T/gen.err" &
    local gen=$!
    PIDS+=($gen)
    local t0=$SECONDS
    nice -n 10 "$WW" detect --json -m "$MODEL" - <"$T/detect.fifo" >"$T/detect.jsonl" 2>"$T/detect.err" &
    local pid=$!
    PIDS+=($pid)
    local rchar0="" s rchar
    : >"$T/detect.samples"
    echo "   wall_s audio_h rss_kb hwm_kb fds"
    while kill -0 "$pid" 2>/dev/null; do
        s=$(proc_sample "$pid") || break
        rchar=$(awk '/^rchar/ { print $2 }' "/proc/$pid/io" 2>/dev/null)
        [ -z "$rchar0" ] && rchar0=$rchar
        local h
        h=$(awk -v b="$((rchar - rchar0))" 'BEGIN { printf "%.3f", b / 32000 / 3600 }')
        echo "$((SECONDS - t0)) $h $s" | tee -a "$T/detect.samples" | sed 's/^/   /'
        sleep "$SAMPLE_SECONDS"
    done
    wait "$pid"
    local rc=$?
    wait "$gen"
    echo "   detect exit status $rc after $((SECONDS - t0)) s; $(tail -1 "$T/detect.err")"
    echo "   $(cat "$T/gen.err")"
    echo "   detections: $(grep -c '"keyword"' "$T/detect.jsonl")"
    local v gen_s det_s
    gen_s=$(sed -nE 's/.* = ([0-9.]+) s = .*/\1/p' "$T/gen.err")
    det_s=$(sed -nE 's/.* in ([0-9.]+) s of audio.*/\1/p' "$T/detect.err")
    if [ $rc -eq 0 ] && v=$(rss_verdict "$T/detect.samples" "detect"); then :; else status=1; fi
    [ $rc -ne 0 ] && v="detect: FAIL: exit status $rc"
    if [ -z "$gen_s" ] || [ "$gen_s" != "$det_s" ]; then
        v="$v
detect: FAIL: generated ${gen_s:-?} s of audio, detect processed ${det_s:-?} s"
        status=1
    fi
    echo "$v" | sed 's/^/   /'
    verdicts+=("$(echo "$v" | tail -1)")
}

# --- valgrind over VALGRIND_MINUTES ---------------------------------------------------
phase_valgrind() {
    command -v valgrind >/dev/null || { verdicts+=("valgrind: SKIPPED (not installed)"); return; }
    echo "== valgrind: $VALGRIND_MINUTES min of generated audio through 'wakewordd detect -' under memcheck"
    local cmd=(valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible
        --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=42
        "$WW" detect --json -m "$MODEL" -)
    echo "   command: /usr/bin/python3 gen.py $((VALGRIND_MINUTES * 60)) --seed 9 | nice -n 10 ${cmd[*]}"
    local t0=$SECONDS
    /usr/bin/python3 "$T/gen.py" $((VALGRIND_MINUTES * 60)) --seed 9 2>"$T/vgen.err" |
        nice -n 10 "${cmd[@]}" >"$T/vg.jsonl" 2>"$T/vg.err"
    local rc=${PIPESTATUS[1]}
    echo "   exit status $rc after $((SECONDS - t0)) s; detections: $(grep -c '"keyword"' "$T/vg.jsonl")"
    echo "   $(cat "$T/vgen.err")"
    grep -E "wakewordd detect|real-time|in use at exit|total heap usage|definitely lost|indirectly lost|possibly lost|still reachable|ERROR SUMMARY" \
        "$T/vg.err" | sed 's/^==[0-9]*== */   /'
    local gen_s det_s
    gen_s=$(sed -nE 's/.* = ([0-9.]+) s = .*/\1/p' "$T/vgen.err")
    det_s=$(sed -nE 's/.* in ([0-9.]+) s of audio.*/\1/p' "$T/vg.err")
    if [ -z "$gen_s" ] || [ "$gen_s" != "$det_s" ]; then
        verdicts+=("valgrind: FAIL: generated ${gen_s:-?} s of audio, detect processed ${det_s:-?} s")
        status=1
    fi
    if [ "$rc" -eq 0 ] && grep -q "ERROR SUMMARY: 0 errors" "$T/vg.err"; then
        verdicts+=("valgrind: PASS: 0 errors, no leaks (definite/indirect/possible) over $VALGRIND_MINUTES min of audio")
    else
        verdicts+=("valgrind: FAIL: exit status $rc, $(grep 'ERROR SUMMARY' "$T/vg.err" | sed 's/^==[0-9]*== //')")
        status=1
    fi
}

# --- the daemon through ALSA with SIGHUPs ----------------------------------------------------
phase_daemon() {
    echo "== daemon: wakewordd run via the file-backed ALSA PCM at ${DAEMON_SPEED}x real time for $DAEMON_SECONDS s, SIGHUP every $HUP_EVERY s"
    /usr/bin/python3 "$T/gen.py" 600 --seed 10 --wav "$T/daemon.wav" 2>"$T/dgen.err" ||
        { verdicts+=("daemon: FAIL: no audio"); status=1; return; }
    cat >"$T/asound.conf" <<CONF
pcm.null { type null }
pcm.filecap { @args [ IFILE ] @args.IFILE { type string } type file
  slave.pcm { type null } file "/dev/null" infile \$IFILE format "raw" }
CONF
    mkfifo "$T/audio.fifo"
    cat >"$T/wakewordd.conf" <<CONF
device = filecap:IFILE=$T/audio.fifo
model = $MODEL
bus = system
journal = no
# faster than real time, a reload's model load takes longer in audio time: a
# large ring keeps the audio through it
ring_ms = 60000
CONF
    BUS_ADDR=$(dbus-daemon --session --fork --print-address=1 --print-pid=1 --address="unix:path=$T/bus" >"$T/bus.info" &&
        head -1 "$T/bus.info")
    BUS_PID=$(sed -n 2p "$T/bus.info")
    DBUS_SYSTEM_BUS_ADDRESS="$BUS_ADDR" ALSA_CONFIG_PATH="$T/asound.conf" \
        nice -n 10 "$WW" run --config "$T/wakewordd.conf" --stdout >"$T/daemon.jsonl" 2>"$T/daemon.err" &
    local pid=$!
    PIDS+=($pid)
    /usr/bin/python3 tests/fault/feed_fifo.py "$T/audio.fifo" "$T/daemon.wav" "$DAEMON_SPEED" --loop &
    local feeder=$!
    PIDS+=($feeder)
    echo "   command: ALSA_CONFIG_PATH=asound.conf nice -n 10 $BUILD/wakewordd run --config wakewordd.conf --stdout; tests/fault/feed_fifo.py audio.fifo (10 min of generated audio) $DAEMON_SPEED --loop; kill -HUP every $HUP_EVERY s"
    local t0=$SECONDS next_hup hups=0 s fds0="" fds1
    for _ in $(seq 1 100); do grep -q "capturing from" "$T/daemon.err" && break; sleep 0.1; done
    sleep 1
    fds0=$(ls "/proc/$pid/fd" | wc -l)
    next_hup=$((SECONDS + HUP_EVERY))
    : >"$T/daemon.samples"
    # sampled just before each SIGHUP, when the last reload is long done (during
    # a reload the old and the new models are both resident: that shows in the
    # peak RSS, VmHWM, which must not grow either)
    echo "   wall_s audio_h rss_kb hwm_kb fds   (each just before a SIGHUP)"
    while [ $((SECONDS - t0)) -lt "$DAEMON_SECONDS" ] && kill -0 "$pid" 2>/dev/null; do
        while [ "$SECONDS" -lt "$next_hup" ]; do sleep 0.2; done
        s=$(proc_sample "$pid") || break
        local h
        h=$(awk -v w="$((SECONDS - t0))" -v x="$DAEMON_SPEED" 'BEGIN { printf "%.3f", w * x / 3600 }')
        echo "$((SECONDS - t0)) $h $s" | tee -a "$T/daemon.samples" | sed 's/^/   /'
        kill -HUP "$pid"
        hups=$((hups + 1))
        next_hup=$((next_hup + HUP_EVERY))
    done
    sleep 2 # the last reload settles
    fds1=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
    local props
    props=$(for p in Detections Overruns Xruns State; do
        echo -n "$p=$(busctl --address="$BUS_ADDR" get-property org.wakewordd /org/wakewordd/Detector1 org.wakewordd.Detector1 $p 2>&1) "
    done)
    kill -TERM "$pid"
    wait "$pid"
    local rc=$?
    kill "$feeder" 2>/dev/null
    echo "   exit status $rc; $hups SIGHUPs, $(grep -c 'configuration reloaded' "$T/daemon.err") reloads logged, $(grep -c '"keyword"' "$T/daemon.jsonl") detections; $props"
    echo "   open fds: $fds0 at start, $fds1 at the end"
    grep -vE "configuration reloaded|wake word .* detected" "$T/daemon.err" | head -5 | sed 's/^/   stderr: /'
    local v
    if [ $rc -eq 0 ] && [ "$fds0" = "$fds1" ] && v=$(rss_verdict "$T/daemon.samples" "daemon"); then :; else status=1; fi
    [ $rc -ne 0 ] && v="daemon: FAIL: exit status $rc"
    [ "$fds0" != "$fds1" ] && v="daemon: FAIL: open fds $fds0 -> $fds1"
    echo "$v" | sed 's/^/   /'
    verdicts+=("$(echo "$v" | tail -1)")
    kill "$BUS_PID" 2>/dev/null
    BUS_PID=""
}

echo "soak: $(date -u '+%F %T') UTC, $BUILD/wakewordd, model $MODEL, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for p in $PHASES; do
    case $p in
    detect) phase_detect ;;
    valgrind) phase_valgrind ;;
    daemon) phase_daemon ;;
    *) echo "soak: unknown phase '$p'" >&2; exit 1 ;;
    esac
done
echo "== verdicts"
printf '   %s\n' "${verdicts[@]}"
exit $status
