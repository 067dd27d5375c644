#!/bin/bash
# The capture error paths, through real ALSA with a fault-injecting layer
# (tests/fault/alsa_fault.c, LD_PRELOAD) over a file-backed PCM fed by a pipe:
# a device missing at start (two failed opens), an overrun (-EPIPE), a suspend
# (-ESTRPIPE), a device that vanishes (-ENODEV, then three failed opens) and
# comes back, an I/O error (-EIO). The daemon must log each once, keep going,
# and still detect the tone bursts afterwards. Then the watchdog: WATCHDOG=1
# flows while audio is processed and stops when the audio stalls (the feeder
# is frozen), and comes back when it resumes. Then short reads (every period
# in pieces: the detections stay at the file's sample-exact times), a device
# insisting on 48 kHz stereo S32_LE, and SIGTERM during a long stall inside
# snd_pcm_readi.
set -u
cd "$(dirname "$0")/../.." || exit 1
: "${WAKEWORDD:?set WAKEWORDD to the wakewordd binary}"
ROOT=$PWD
. "$(dirname "$0")/daemon_lib.sh"
daemon_test_init faults

cc -shared -fPIC -O1 -o "$T/alsa_fault.so" tests/fault/alsa_fault.c -ldl ||
    { nok "cannot build the fault-injection layer"; exit 1; }
write_filecap_asound "$T/asound.conf"
mkfifo "$T/audio.fifo"
cat >"$T/wakewordd.conf" <<CONF
device = filecap:IFILE=$T/audio.fifo
model = $ROOT/tests/fixtures/daemon/tone_model.onnx
bus = none
journal = no
retry_initial_ms = 20
retry_max_ms = 100
ring_ms = 60000
CONF
/usr/bin/python3 tests/fault/notify_listen.py "$T/notify.sock" "$T/notify.log" &
PIDS+=($!)
wait_for 10 has LISTENING "$T/notify.log" || nok "notify listener did not start"

# the sanitizer runtime need not come first when a preload is present
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
# on a private bus, to see the State reported through the faults
BUS_ADDR=$(dbus-daemon --session --fork --print-address=1 --print-pid=1 --address="unix:path=$T/bus" >"$T/bus.info" &&
    head -1 "$T/bus.info")
BUS_PID=$(sed -n 2p "$T/bus.info")
[ -n "$BUS_ADDR" ] || nok "dbus-daemon did not start"
dbus-monitor --address "$BUS_ADDR" "type='signal',interface='org.freedesktop.DBus.Properties'" >"$T/monitor.log" 2>&1 &
PIDS+=($!)
sleep 0.3 # the monitor subscribes before the daemon starts
# retries every 500 ms: each loss lasts long enough (0.5-1.5 s) for the State
# to be seen by the main loop even on a loaded machine
sed 's/^retry_initial_ms = .*/retry_initial_ms = 500/; s/^retry_max_ms = .*/retry_max_ms = 500/' \
    "$T/wakewordd.conf" >"$T/slow-retry.conf"
WW_FAULT_OPEN_FAILS=2 WW_FAULT_PLAN="25:xrun,50:suspend,75:gone,150:eio" WW_FAULT_GONE_OPENS=3 \
    LD_PRELOAD="$T/alsa_fault.so" NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=200000 \
    ALSA_CONFIG_PATH="$T/asound.conf" DBUS_SYSTEM_BUS_ADDRESS="$BUS_ADDR" \
    "$WAKEWORDD" run --config "$T/slow-retry.conf" --bus system --stdout >"$T/log" 2>&1 &
DPID=$!
PIDS+=($DPID)
/usr/bin/python3 tests/fault/feed_fifo.py "$T/audio.fifo" tests/fixtures/daemon/tone_bursts.wav 10 --loop &
FEEDER=$!
PIDS+=($FEEDER)

# A fresh pipe for the next section. The previous section's feeder goes first:
# left running, it reopens the path when its reader (the stopped daemon) goes
# away, and open(2) then lands on the new pipe (a second writer interleaving
# its audio with the new feeder's) or, between the rm and the mkfifo, creates
# a regular file there (mkfifo fails, and the daemon reads a file that never
# blocks: no detections, the capture spinning on EOF).
fresh_fifo() {
    kill -CONT "$FEEDER" 2>/dev/null
    kill "$FEEDER" 2>/dev/null
    wait "$FEEDER" 2>/dev/null
    rm -f "$T/audio.fifo" && mkfifo "$T/audio.fifo" ||
        nok "cannot make a fresh $T/audio.fifo: $(ls -l "$T/audio.fifo" 2>&1)"
}

# recoveries: from the missing device at start, from -ENODEV, from -EIO
detected_after_recovery() {
    awk '/device recovered/ { r++ } r >= 3 && /"keyword": "tone"/ { found = 1 } END { exit !found }' "$T/log"
}
wait_for 60 has "injecting Input/output error" "$T/log" && wait_for 60 detected_after_recovery
has "device unavailable: cannot open .*No such device; retrying" "$T/log" &&
    ok "device missing at start (snd_pcm_open fails) logged" || nok "no report of the missing device"
[ "$(count "device unavailable" "$T/log")" -eq 1 ] && ok "missing device at start reported once for two failed opens" ||
    nok "missing device reported $(count "device unavailable" "$T/log") times"
# READY=1 comes once audio flows, i.e. after the device appeared
awk '/device recovered/ { exit 0 } /"keyword"/ { exit 1 }' "$T/log" && has "READY=1" "$T/notify.log" &&
    ok "device appeared after start: READY=1, audio flows" || nok "start with a missing device"
has "capture overrun (xrun), 1 so far; recovered" "$T/log" && ok "xrun logged and recovered" || nok "no xrun report"
has "device suspended; resuming" "$T/log" && ok "suspend logged and recovered" || nok "no suspend report"
has "device lost: .*No such device; reopening" "$T/log" && ok "device loss (-ENODEV) logged" || nok "no device-lost report"
[ "$(count "open '.*': injecting No such device" "$T/log")" -eq 5 ] &&
    ok "the vanished device was retried (2 failed opens at start, 3 after -ENODEV)" ||
    nok "failed opens: $(count "open '.*': injecting No such device" "$T/log")"
has "device lost: .*Input/output error; reopening" "$T/log" && ok "I/O error (-EIO) logged as a device loss" ||
    nok "no report of -EIO"
[ "$(count 'device lost' "$T/log")" -eq 2 ] && ok "each device loss reported once, not per retry" ||
    nok "device loss reported $(count 'device lost' "$T/log") times (2 expected: -ENODEV, -EIO)"
[ "$(count 'device recovered' "$T/log")" -eq 3 ] && ok "each recovery logged (start, -ENODEV, -EIO)" ||
    nok "recoveries: $(count 'device recovered' "$T/log")"
# a detection after the last recovery: the audio path works again
if detected_after_recovery; then
    ok "tone detected after the device came back"
else
    nok "no detection after recovery: $(tail -5 "$T/log")"
fi
kill -0 "$DPID" 2>/dev/null && ok "daemon kept running through the faults" || nok "daemon died"
# the State property as announced (PropertiesChanged) through the faults
states=$(grep -A6 'member=PropertiesChanged' "$T/monitor.log" | grep -oE 'string "(starting|listening|device-lost|paused)"' |
    sed 's/string //; s/"//g' | uniq | tr '\n' ' ')
[ "$(grep -o "device-lost listening" <<<"$states" | wc -l)" -ge 3 ] &&
    ok "D-Bus stayed up and reported State device-lost then listening for each loss: $states" ||
    nok "State changes on D-Bus: $states"
prop() { busctl --address="$BUS_ADDR" get-property org.wakewordd /org/wakewordd/Detector1 org.wakewordd.Detector1 "$1" 2>&1; }
[ "$(prop Xruns)" = "t 1" ] && [ "$(prop State)" = 's "listening"' ] &&
    ok "after the faults: State listening, Xruns 1 over D-Bus" || nok "after the faults: $(prop State), Xruns $(prop Xruns)"

# watchdog: pings while audio flows, none while it is stalled
wait_for 20 at_least 3 "WATCHDOG=1" "$T/notify.log" && ok "WATCHDOG=1 while audio is processed" ||
    nok "no WATCHDOG=1"
kill -STOP "$FEEDER"
# audio already in the pipe and the ring is still processed (and pinged for):
# wait until a second passes without a ping (a loaded machine may lag), then
# the pings must stay away
quiet=0
for _ in $(seq 1 30); do
    n0=$(count "WATCHDOG=1" "$T/notify.log")
    sleep 1
    [ "$(count "WATCHDOG=1" "$T/notify.log")" -eq "$n0" ] && quiet=1 && break
done
n0=$(count "WATCHDOG=1" "$T/notify.log")
sleep 1.5
n1=$(count "WATCHDOG=1" "$T/notify.log")
[ $quiet -eq 1 ] && [ "$n1" -eq "$n0" ] && ok "no WATCHDOG=1 while the audio is stalled" ||
    nok "pings during a stall (quiet: $quiet, $((n1 - n0)) in 1.5 s)"
kill -CONT "$FEEDER"
wait_for 20 at_least $((n1 + 2)) "WATCHDOG=1" "$T/notify.log" && ok "WATCHDOG=1 again once audio flows" ||
    nok "no pings after the stall"

kill -TERM "$DPID"
for _ in $(seq 1 200); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$DPID" 2>/dev/null; then
    nok "still running 10 s after SIGTERM"
else
    wait "$DPID"
    rc=$?
    [ $rc -eq 0 ] && ok "SIGTERM after faults: exit status 0" || nok "exit status $rc"
fi

# short reads: every period arrives in pieces (a third, then the rest); the
# samples must go through intact, so the detections are at the file's times
fresh_fifo
WW_FAULT_PLAN="1-100000000:short" LD_PRELOAD="$T/alsa_fault.so" ALSA_CONFIG_PATH="$T/asound.conf" \
    "$WAKEWORDD" run --config "$T/wakewordd.conf" --stdout >"$T/log3" 2>&1 &
DPID=$!
PIDS+=($DPID)
/usr/bin/python3 tests/fault/feed_fifo.py "$T/audio.fifo" tests/fixtures/daemon/tone_bursts.wav 10 &
FEEDER=$!
PIDS+=($FEEDER)
if wait_for 60 at_least 2 '"keyword"' "$T/log3"; then
    times=$(sed -nE 's/.*"time_s": ([0-9.]+).*/\1/p' "$T/log3" | head -2 | tr '\n' ' ')
    [ "$times" = "2.712 6.232 " ] && has "short reads from here on" "$T/log3" &&
        ok "short reads: both bursts detected at the file's times ($times)" ||
        nok "short reads: detections at $times"
else
    nok "short reads: no detections: $(tail -3 "$T/log3")"
fi
kill -TERM "$DPID"
wait "$DPID" && ok "short reads: SIGTERM, exit 0" || nok "short reads: exit status"
grep -qE "device lost|overrun" "$T/log3" && nok "short reads taken for a fault: $(grep -E 'lost|overrun' "$T/log3")" ||
    ok "short reads are not taken for faults"

# a read that hangs (a stuck driver): SIGTERM must still end the daemon,
# leaving the capture thread in its read
fresh_fifo
WW_FAULT_PLAN="30:stall=60000" LD_PRELOAD="$T/alsa_fault.so" ALSA_CONFIG_PATH="$T/asound.conf" \
    NOTIFY_SOCKET="$T/notify.sock" "$WAKEWORDD" run --config "$T/wakewordd.conf" --stdout >"$T/log4" 2>&1 &
DPID=$!
PIDS+=($DPID)
/usr/bin/python3 tests/fault/feed_fifo.py "$T/audio.fifo" tests/fixtures/daemon/tone_bursts.wav 10 --loop &
FEEDER=$!
PIDS+=($FEEDER)
if wait_for 60 has "injecting a stall of 60000 ms" "$T/log4"; then
    stop0=$(count "STOPPING=1" "$T/notify.log")
    t0=$SECONDS
    kill -TERM "$DPID"
    for _ in $(seq 1 200); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$DPID" 2>/dev/null; then
        nok "stalled read: still running 10 s after SIGTERM"
    else
        wait "$DPID"
        rc=$?
        [ $rc -eq 0 ] && ok "SIGTERM during a 60 s stall in snd_pcm_readi: exit 0 after $((SECONDS - t0)) s" ||
            nok "stalled read: exit status $rc"
        [ "$(count "STOPPING=1" "$T/notify.log")" -gt "$stop0" ] && ok "stalled read: STOPPING=1 sent" ||
            nok "stalled read: no STOPPING=1"
    fi
else
    nok "the stall was not injected: $(tail -3 "$T/log4")"
fi

# a device that insists on 48 kHz stereo S32_LE: the capture converts (channel
# average, libsoxr to 16 kHz) and the detections are the file's
fresh_fifo
sox tests/fixtures/daemon/tone_bursts.wav -r 48000 -c 2 -e signed -b 32 -t wavpcm "$T/hw.wav"
# 20 ms at 48 kHz x 2 x 4 bytes = 7680 > PIPE_BUF: 10 ms periods (3840 bytes) so they arrive whole
sed -i 's/^ring_ms = .*/&\nperiod_ms = 10/' "$T/wakewordd.conf"
WW_FAULT_FORMAT=S32_LE WW_FAULT_RATE=48000 WW_FAULT_CHANNELS=2 LD_PRELOAD="$T/alsa_fault.so" \
    ALSA_CONFIG_PATH="$T/asound.conf" "$WAKEWORDD" run --config "$T/wakewordd.conf" --stdout >"$T/log2" 2>&1 &
DPID=$!
PIDS+=($DPID)
/usr/bin/python3 tests/fault/feed_fifo.py "$T/audio.fifo" "$T/hw.wav" 10 --period-bytes 3840 &
FEEDER=$!
PIDS+=($FEEDER)
if wait_for 60 at_least 2 '"keyword"' "$T/log2"; then
    has "48000 Hz, 2 channels, S32_LE" "$T/log2" && ok "device format 48 kHz stereo S32_LE negotiated" ||
        nok "negotiated: $(grep capturing "$T/log2")"
    times=$(sed -nE 's/.*"time_s": ([0-9.]+).*/\1/p' "$T/log2" | head -2 | tr '\n' ' ')
    # the resampler's delay may shift a detection by a hop (80 ms)
    if /usr/bin/python3 -c "import sys; t=[float(x) for x in sys.argv[1:]]; sys.exit(not (abs(t[0]-2.712)<=0.081 and abs(t[1]-6.232)<=0.081))" $times; then
        ok "converted capture detects both bursts at the file's times ($times)"
    else
        nok "converted capture detections at $times"
    fi
else
    nok "no detections from the converted capture: $(tail -3 "$T/log2")"
fi
kill -TERM "$DPID"
wait "$DPID" && ok "converted capture: SIGTERM, exit 0" || nok "converted capture exit status"

if [ $fails -ne 0 ]; then
    # each section's daemon log (faults, short reads, stall, 48 kHz), and what
    # the pipe and its feeders were at the end
    for f in log log3 log4 log2; do
        [ -f "$T/$f" ] || continue
        echo "# daemon log $f:"
        grep -v '"keyword"' "$T/$f" | sed 's/^/#   /' | head -60
    done
    echo "# $(ls -l "$T/audio.fifo" 2>&1)"
    for p in "${PIDS[@]}"; do
        ps -o pid=,stat=,wchan:20=,args= -p "$p" 2>/dev/null | sed 's/^/# running: /'
    done
fi
[ $fails -eq 0 ]
