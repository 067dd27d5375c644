#!/bin/bash
# End to end through real ALSA: the daemon captures a recording from a
# file-backed capture PCM fed through a named pipe at 20x real time, detects
# the tone bursts with the test model, and must
#   - send READY=1 (and STATUS=) to the NOTIFY_SOCKET this test listens on,
#   - print the same detections `detect --json` finds in the same file,
#   - emit org.wakewordd.Detector1.Detected on a private dbus-daemon, received
#     by dbus-monitor, and answer property reads and method calls (busctl),
#   - write the detection to a journald started for the test (as root, in a
#     private mount namespace with an empty /run, so it touches nothing
#     outside; else that part says it skipped),
#   - on SIGHUP with a bad config, log the failure and keep running with the
#     old one (RELOADING=1 then READY=1); on SIGHUP with a good one, reload,
#   - on SIGTERM send STOPPING=1 and exit 0.
# Needs: $WAKEWORDD, /usr/bin/python3, dbus-daemon, dbus-monitor, busctl.
set -u
cd "$(dirname "$0")/../.." || exit 1
: "${WAKEWORDD:?set WAKEWORDD to the wakewordd binary}"
ROOT=$PWD
MODEL=$ROOT/tests/fixtures/daemon/tone_model.onnx
WAV=$ROOT/tests/fixtures/daemon/tone_bursts.wav
. "$(dirname "$0")/daemon_lib.sh"
daemon_private_run "$@"
daemon_test_init daemon
alive() { kill -0 "$DPID" 2>/dev/null; }

for tool in /usr/bin/python3 dbus-daemon dbus-monitor busctl; do
    command -v "$tool" >/dev/null || { nok "needs $tool"; exit 1; }
done

# --- the pieces around the daemon --------------------------------------------
write_filecap_asound "$T/asound.conf"
mkfifo "$T/audio.fifo"
/usr/bin/python3 tests/fault/notify_listen.py "$T/notify.sock" "$T/notify.log" &
PIDS+=($!)
BUS_ADDR=$(dbus-daemon --session --fork --print-address=1 --print-pid=1 \
    --address="unix:path=$T/bus" >"$T/bus.info" && head -1 "$T/bus.info")
BUS_PID=$(sed -n 2p "$T/bus.info")
[ -n "$BUS_ADDR" ] && ok "private dbus-daemon at $BUS_ADDR" || { nok "dbus-daemon did not start"; exit 1; }
dbus-monitor --address "$BUS_ADDR" "type='signal',interface='org.wakewordd.Detector1'" >"$T/monitor.log" 2>&1 &
PIDS+=($!)

JOURNAL=""
if [ -n "$PRIVATE_RUN" ] && [ -x /lib/systemd/systemd-journald ]; then
    /lib/systemd/systemd-journald >"$T/journald.log" 2>&1 &
    JOURNALD_PID=$!
    wait_for 10 test -S /run/systemd/journal/socket && JOURNAL="private" || JOURNAL=""
fi
wait_for 10 has LISTENING "$T/notify.log" || nok "notify listener did not start"

cat >"$T/good.conf" <<CONF
device = filecap:IFILE=$T/audio.fifo
model = $MODEL
bus = system
journal = yes
# a loaded machine (or ASan) may stall the detector for a while: a ring that
# holds the whole recording keeps the audio bit-exact anyway
ring_ms = 60000
CONF
cp "$T/good.conf" "$T/wakewordd.conf"

NOTIFY_SOCKET="$T/notify.sock" DBUS_SYSTEM_BUS_ADDRESS="$BUS_ADDR" ALSA_CONFIG_PATH="$T/asound.conf" \
    "$WAKEWORDD" run --config "$T/wakewordd.conf" --stdout >"$T/out.jsonl" 2>"$T/err.log" &
DPID=$!
PIDS+=($DPID)
/usr/bin/python3 tests/fault/feed_fifo.py "$T/audio.fifo" "$WAV" 20 &
PIDS+=($!)

# --- start-up and detections -------------------------------------------------
if wait_for 60 has "READY=1" "$T/notify.log"; then ok "READY=1 on NOTIFY_SOCKET"; else nok "no READY=1"; fi
has "STATUS=" "$T/notify.log" && ok "STATUS= sent" || nok "no STATUS="
if wait_for 60 at_least 2 '"keyword"' "$T/out.jsonl"; then
    ok "daemon detected both tone bursts (--stdout)"
else
    nok "daemon detections: $(cat "$T/out.jsonl")"
fi
"$WAKEWORDD" detect --json --model "$MODEL" "$WAV" >"$T/detect.jsonl" 2>"$T/detect.err"
fields() { sed -E 's/.*"keyword": ("[^"]*"), "score": ([0-9.]+), "time_s": ([0-9.]+).*/\1 \2 \3/' "$1"; }
if [ "$(count '"keyword"' "$T/detect.jsonl")" -eq 2 ] &&
    [ "$(fields "$T/detect.jsonl")" = "$(fields "$T/out.jsonl" | head -2)" ]; then
    ok "detect on the file equals the daemon's detections (keyword, score, time_s)"
else
    nok "detect vs daemon: $(fields "$T/detect.jsonl" | tr '\n' ';') vs $(fields "$T/out.jsonl" | tr '\n' ';')"
fi
grep -q '"timestamp_usec": [0-9]' "$T/out.jsonl" && ok "--stdout lines carry a wall-clock timestamp" ||
    nok "no timestamp_usec in --stdout"

# --- D-Bus -------------------------------------------------------------------
if wait_for 30 at_least 2 'member=Detected' "$T/monitor.log" &&
    grep -A1 'member=Detected' "$T/monitor.log" | grep -q 'string "tone"'; then
    ok "Detected(s,d,t) signal received by dbus-monitor"
else
    nok "no Detected signal: $(head -c 600 "$T/monitor.log")"
fi
prop() { busctl --address="$BUS_ADDR" get-property org.wakewordd /org/wakewordd/Detector1 org.wakewordd.Detector1 "$1"; }
call() { busctl --address="$BUS_ADDR" call org.wakewordd /org/wakewordd/Detector1 org.wakewordd.Detector1 "$@"; }
[ "$(prop Detections)" = "t 2" ] && ok "property Detections = 2" || nok "Detections: $(prop Detections)"
[ "$(prop State)" = 's "listening"' ] && ok "property State = listening" || nok "State: $(prop State)"
prop Device | grep -q "filecap:IFILE=" && ok "property Device" || nok "Device: $(prop Device)"
[ "$(prop Overruns)" = "t 0" ] && [ "$(prop Xruns)" = "t 0" ] && ok "properties Overruns = 0, Xruns = 0" ||
    nok "Overruns/Xruns: $(prop Overruns) $(prop Xruns)"
prop Models | grep -q "tone_model.onnx\" 0.5" && ok "property Models (keyword, file, threshold)" ||
    nok "Models: $(prop Models)"
if call SetThreshold sd tone 0.9 && prop Models | grep -q "tone_model.onnx\" 0.9"; then
    ok "SetThreshold changes the model's threshold"
else
    nok "SetThreshold: $(prop Models)"
fi
call SetThreshold sd nosuchword 0.5 >"$T/call.err" 2>&1 && nok "SetThreshold on an unknown keyword succeeded" ||
    { grep -q "nosuchword" "$T/call.err" && ok "SetThreshold on an unknown keyword is refused, naming it"; } ||
    nok "SetThreshold error: $(cat "$T/call.err")"
call SetThreshold sd tone 1.5 >/dev/null 2>&1 && nok "SetThreshold 1.5 accepted" || ok "SetThreshold 1.5 refused"
if call Pause && [ "$(prop State)" = 's "paused"' ] && call Resume && [ "$(prop State)" = 's "listening"' ]; then
    ok "Pause and Resume change State"
else
    nok "Pause/Resume: $(prop State)"
fi
busctl --address="$BUS_ADDR" introspect --xml-interface org.wakewordd /org/wakewordd/Detector1 >"$T/live.xml" 2>&1
# the installed introspection file must describe what the daemon really exports
if /usr/bin/python3 - "$ROOT/etc/org.wakewordd.Detector1.xml" "$T/live.xml" <<'PY'; then
import sys
import xml.etree.ElementTree as ET

def members(path):
    root = ET.parse(path).getroot()
    out = set()
    for iface in root.iter("interface"):
        if iface.get("name") != "org.wakewordd.Detector1":
            continue
        for m in iface:
            if m.tag == "property":
                out.add(("property", m.get("name"), m.get("type"), m.get("access")))
            elif m.tag in ("method", "signal"):
                args = tuple((a.get("type"), a.get("direction", "in" if m.tag == "method" else "out"))
                             for a in m.iter("arg"))
                out.add((m.tag, m.get("name"), args))
    return out

doc, live = members(sys.argv[1]), members(sys.argv[2])
if doc != live or not doc:
    print("#   only in etc/:", sorted(doc - live))
    print("#   only live:", sorted(live - doc))
    sys.exit(1)
PY
    ok "etc/org.wakewordd.Detector1.xml matches the live introspection"
else
    nok "introspection XML differs from the daemon"
fi

# --- journal -----------------------------------------------------------------
if [ -z "$JOURNAL" ]; then
    ok "journal part SKIPPED: $( [ "$(id -u)" -ne 0 ] && echo "not root, no private /run for a journald" || echo "journald could not be started")"
else
    jq_entry() { journalctl -o json --no-pager _PID="$DPID" MESSAGE_ID=08ef960d2052460ca397d7ba5557eac9 2>/dev/null; }
    if wait_for 30 sh -c "journalctl -o json --no-pager _PID=$DPID MESSAGE_ID=08ef960d2052460ca397d7ba5557eac9 | grep -q WAKEWORD_SCORE"; then
        e=$(jq_entry | head -1)
        if echo "$e" | grep -q '"WAKEWORD":"tone"' && echo "$e" | grep -q '"WAKEWORD_MODEL":"[^"]*tone_model.onnx"' &&
            echo "$e" | grep -q '"WAKEWORD_TIME_S":"2.712"'; then
            ok "journal entry with MESSAGE_ID, WAKEWORD, WAKEWORD_SCORE, WAKEWORD_MODEL, WAKEWORD_TIME_S ($JOURNAL journald)"
        else
            nok "journal entry fields: $e"
        fi
    else
        nok "no detection in the journal ($JOURNAL journald)"
    fi
fi

# --- reload ------------------------------------------------------------------
echo "frobnicate = 1" >"$T/wakewordd.conf"
before_ready=$(count "READY=1" "$T/notify.log")
kill -HUP "$DPID"
if wait_for 30 has "reload failed" "$T/err.log" && wait_for 10 at_least $((before_ready + 1)) "READY=1" "$T/notify.log"; then
    ok "SIGHUP with a bad config: reload failed, READY=1 again"
else
    nok "bad reload: $(tail -3 "$T/err.log")"
fi
grep -q "wakewordd.conf:1: unknown key 'frobnicate'" "$T/err.log" && ok "the failure names file, line and key" ||
    nok "reload message: $(grep reload "$T/err.log")"
grep -q "RELOADING=1|MONOTONIC_USEC=[0-9]" "$T/notify.log" && ok "RELOADING=1 with MONOTONIC_USEC" || nok "no RELOADING=1"
if alive && [ "$(prop State)" = 's "listening"' ] && prop Models | grep -q "tone_model.onnx\" 0.9"; then
    ok "still running with the old configuration"
else
    nok "after bad reload: $(prop State) $(prop Models)"
fi
sed 's/^journal = yes/threshold = 0.6/' "$T/good.conf" >"$T/wakewordd.conf"
kill -HUP "$DPID"
if wait_for 30 has "configuration reloaded" "$T/err.log" && wait_for 10 sh -c "busctl --address='$BUS_ADDR' get-property org.wakewordd /org/wakewordd/Detector1 org.wakewordd.Detector1 Models | grep -q 'onnx\" 0.6'"; then
    ok "SIGHUP with a good config reloads it (threshold 0.6)"
else
    nok "good reload: $(tail -3 "$T/err.log")"
fi

# --- stop ----------------------------------------------------------------------
kill -TERM "$DPID"
for _ in $(seq 1 200); do alive || break; sleep 0.05; done
if alive; then
    nok "still running 10 s after SIGTERM"
else
    wait "$DPID"
    rc=$?
    [ $rc -eq 0 ] && ok "SIGTERM: exit status 0" || nok "SIGTERM: exit status $rc: $(tail -5 "$T/err.log")"
fi
wait_for 10 has "STOPPING=1" "$T/notify.log" && ok "STOPPING=1 sent" || nok "no STOPPING=1"
has "stopped after" "$T/err.log" && ok "stop logged" || nok "no stop message"
if [ $fails -ne 0 ]; then
    echo "# daemon stderr:"
    sed 's/^/#   /' "$T/err.log" | head -40
    echo "# notify:"
    sed 's/^/#   /' "$T/notify.log" | head -20
fi
[ $fails -eq 0 ]
