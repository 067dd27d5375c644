#!/bin/bash
# D-Bus and the journal coming and going under a running daemon (issue #8):
#   1. no bus and no journald at start: the daemon starts anyway, detects (its
#      --stdout lines), says once on stderr that the bus is unreachable;
#   2. a dbus-daemon (and, as root, a journald) appears: the daemon connects,
#      owns org.wakewordd, answers properties, emits Detected; the journal gets
#      its entries;
#   3. both are killed (SIGKILL: the sockets stay behind, dead): detection goes
#      on, the loss is logged once on stderr, detections still reach stderr;
#   4. a new dbus-daemon at the same address, where another connection holds
#      org.wakewordd at first: the daemon does not claim it, and once it is
#      free reconnects (name owned again, properties answer with the running
#      count, Detected received, methods work);
#   5. the bus is killed again and a frozen (SIGSTOP) one takes its place
#      before the daemon reconnects: the connection is accepted by the kernel,
#      but its authentication and Hello are never answered. SIGTERM: the
#      daemon exits 0 within 5 s all the same (sd_bus_flush at close waited
#      for the answers until sd-bus's authentication timeout, 90 s);
#   6. a daemon started while that bus is still frozen: it does not wait more
#      than a few seconds for the name (it waited for sd-bus's timeouts, then
#      gave up), starts, detects, and once the bus is thawed owns the name.
# And at start-up, a name another connection holds stays fatal (part 4).
# The audio comes through real ALSA (file-backed PCM fed by a pipe, tone
# bursts looped). As root the whole test runs in a private mount namespace
# with an empty /run, so "no journald" is true and the journald started here
# touches nothing outside; without root the journal parts say they skipped.
set -u
cd "$(dirname "$0")/../.." || exit 1
: "${WAKEWORDD:?set WAKEWORDD to the wakewordd binary}"
ROOT=$PWD
. "$(dirname "$0")/daemon_lib.sh"
daemon_private_run "$@"
daemon_test_init bus

for tool in /usr/bin/python3 dbus-daemon dbus-monitor busctl; do
    command -v "$tool" >/dev/null || { nok "needs $tool"; exit 1; }
done

JOURNAL=""
[ -n "$PRIVATE_RUN" ] && [ -x /lib/systemd/systemd-journald ] && JOURNAL=private

write_filecap_asound "$T/asound.conf"
mkfifo "$T/audio.fifo"
cat >"$T/wakewordd.conf" <<CONF
device = filecap:IFILE=$T/audio.fifo
model = $ROOT/tests/fixtures/daemon/tone_model.onnx
bus = system
journal = yes
ring_ms = 60000
CONF
BUS_ADDR="unix:path=$T/bus"
start_bus() {
    dbus-daemon --session --fork --print-pid=1 --address="$BUS_ADDR" >"$T/bus.pid" 2>"$T/bus.err" &&
        BUS_PID=$(head -1 "$T/bus.pid")
}
prop() { busctl --address="$BUS_ADDR" get-property org.wakewordd /org/wakewordd/Detector1 org.wakewordd.Detector1 "$1" 2>&1; }
detections() { count '"keyword": "tone"' "$T/out.jsonl"; }
more_detections() { [ "$(detections)" -ge $(($1 + 2)) ]; }
owned() { [ "$(prop State)" = 's "listening"' ]; }

# --- 1. nothing there ----------------------------------------------------------
DBUS_SYSTEM_BUS_ADDRESS="$BUS_ADDR" ALSA_CONFIG_PATH="$T/asound.conf" \
    "$WAKEWORDD" run --config "$T/wakewordd.conf" --stdout >"$T/out.jsonl" 2>"$T/err.log" &
DPID=$!
PIDS+=($DPID)
/usr/bin/python3 tests/fault/feed_fifo.py "$T/audio.fifo" tests/fixtures/daemon/tone_bursts.wav 10 --loop &
PIDS+=($!)
if wait_for 60 more_detections 0; then
    ok "no bus, no journal at start: the daemon runs and detects ($(detections) detections on --stdout)"
else
    nok "no detections without a bus: $(tail -3 "$T/err.log")"
fi
[ "$(count "cannot connect to the system bus" "$T/err.log")" -eq 1 ] &&
    has "detection goes on, reconnecting to D-Bus" "$T/err.log" &&
    ok "the unreachable bus is logged once on stderr (retries are silent)" ||
    nok "bus message $(count "cannot connect" "$T/err.log") times: $(grep -i d-bus "$T/err.log" | head -3)"
has "wake word 'tone' detected" "$T/err.log" && ok "without a journal, detections are logged on stderr" ||
    nok "no detection on stderr"

# --- 2. the bus (and journald) appear -------------------------------------------
if [ -n "$JOURNAL" ]; then
    /lib/systemd/systemd-journald >"$T/journald.log" 2>&1 &
    JOURNALD_PID=$!
    wait_for 10 test -S /run/systemd/journal/socket || nok "private journald did not start"
fi
start_bus || nok "dbus-daemon did not start: $(cat "$T/bus.err")"
dbus-monitor --address "$BUS_ADDR" "type='signal',interface='org.wakewordd.Detector1'" >"$T/monitor1.log" 2>&1 &
PIDS+=($!)
if wait_for 30 owned; then
    ok "bus appeared: the daemon connected and owns org.wakewordd (State listening)"
else
    nok "not on the new bus: $(prop State); $(grep -i d-bus "$T/err.log" | tail -2)"
fi
has "D-Bus: connected to the system bus again" "$T/err.log" && ok "the reconnection is logged" ||
    nok "no reconnection message"
n=$(detections)
if wait_for 30 at_least 1 "member=Detected" "$T/monitor1.log"; then
    ok "Detected signal received after connecting late"
else
    nok "no Detected signal on the late bus"
fi
d=$(prop Detections | sed 's/^t //')
[ "$d" -ge "$n" ] 2>/dev/null && ok "property Detections counts the detections made without a bus ($d >= $n)" ||
    nok "Detections: $d, --stdout had $n"
if [ -n "$JOURNAL" ]; then
    in_journal() { journalctl -o json --no-pager _PID="$DPID" MESSAGE_ID=08ef960d2052460ca397d7ba5557eac9 2>/dev/null | grep -q '"WAKEWORD":"tone"'; }
    wait_for 30 in_journal && ok "journald appeared: detections reach the journal" ||
        nok "no detection in the private journal"
else
    ok "journal part SKIPPED: needs root for a private /run and journald"
fi

# --- 3. both killed ----------------------------------------------------------------
kill -KILL "$BUS_PID"
[ -n "$JOURNAL" ] && kill -KILL "$JOURNALD_PID" && wait "$JOURNALD_PID" 2>/dev/null
BUS_PID="" JOURNALD_PID=""
wait_for 30 has "D-Bus: connection lost" "$T/err.log" && ok "the lost bus is noticed and logged" ||
    nok "no 'connection lost': $(tail -3 "$T/err.log")"
n=$(detections)
e=$(count "wake word 'tone' detected" "$T/err.log")
if wait_for 60 more_detections "$n"; then
    ok "bus and journal gone: detection goes on ($n -> $(detections))"
else
    nok "no detections after the bus died: $(tail -3 "$T/err.log")"
fi
[ "$(count "wake word 'tone' detected" "$T/err.log")" -gt "$e" ] && ok "detections still logged on stderr" ||
    nok "stderr silent after the loss"
kill -0 "$DPID" 2>/dev/null && ok "daemon alive without bus and journal" || nok "daemon died"
sleep 2 # several reconnection attempts fail meanwhile (the dead socket refuses)
[ "$(count "D-Bus: connection lost" "$T/err.log")" -eq 1 ] && ok "the loss is logged once, not per retry" ||
    nok "loss logged $(count "D-Bus: connection lost" "$T/err.log") times"

# --- 4. a new bus at the same address ------------------------------------------------
# first someone else holds org.wakewordd there: the daemon must not take the
# bus's "exists" answer for ownership; the bus is started on another path and
# its socket moved into place once the squatter owns the name (no race)
BUS2="unix:path=$T/bus2"
dbus-daemon --session --fork --print-pid=1 --address="$BUS2" >"$T/bus.pid" 2>"$T/bus.err" &&
    BUS_PID=$(head -1 "$T/bus.pid") || nok "second dbus-daemon did not start: $(cat "$T/bus.err")"
/usr/bin/python3 -c '
import sys, time, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
print("request_name:", bus.request_name("org.wakewordd"), flush=True)
time.sleep(600)' "$BUS2" >"$T/squatter.log" 2>&1 &
SQUATTER=$!
PIDS+=($SQUATTER)
wait_for 10 has "request_name: 1" "$T/squatter.log" || nok "squatter: $(cat "$T/squatter.log")"
# a daemon starting there now: refused, not merely unanswered, so it gives up
out=$(DBUS_SYSTEM_BUS_ADDRESS="$BUS2" timeout 30 "$WAKEWORDD" run --bus system --no-journal \
    --device nosuchpcm_wakewordd_test --model "$ROOT/tests/fixtures/daemon/tone_model.onnx" 2>&1 </dev/null)
rc=$?
[ $rc -eq 1 ] && grep -q "cannot start: D-Bus: cannot own org.wakewordd on the system bus" <<<"$out" &&
    ok "start-up with org.wakewordd held by another connection: exit 1, saying so" ||
    nok "start-up with the name taken: status $rc: ${out:0:300}"
mv -f "$T/bus2" "$T/bus"
dbus-monitor --address "$BUS_ADDR" "type='signal',interface='org.wakewordd.Detector1'" >"$T/monitor2.log" 2>&1 &
PIDS+=($!)
sleep 6 # longer than the longest reconnection backoff (5 s)
[ "$(count "D-Bus: connected to the system bus again" "$T/err.log")" -eq 1 ] &&
    ok "name held by another connection: the daemon does not claim it (keeps retrying)" ||
    nok "the daemon claims a name another connection holds: $(grep -i "d-bus" "$T/err.log" | tail -2)"
kill -0 "$DPID" 2>/dev/null && ok "daemon alive while the name is taken" || nok "daemon died"
kill "$SQUATTER"
if wait_for 30 owned; then
    ok "new dbus-daemon at the same address: org.wakewordd owned again, properties answer"
else
    nok "no reconnection: $(prop State); $(grep -i d-bus "$T/err.log" | tail -2)"
fi
[ "$(count "D-Bus: connected to the system bus again" "$T/err.log")" -eq 2 ] &&
    ok "the second reconnection is logged" || nok "reconnect messages: $(count "connected to the system bus again" "$T/err.log")"
wait_for 30 at_least 1 "member=Detected" "$T/monitor2.log" && ok "Detected signal on the new bus" ||
    nok "no Detected signal after the reconnection"
n=$(detections)
d=$(prop Detections | sed 's/^t //')
[ "$d" -ge "$n" ] 2>/dev/null && [ "$n" -gt 0 ] && ok "Detections property continues the count ($d >= $n)" ||
    nok "Detections: $d, --stdout had $n"
busctl --address="$BUS_ADDR" call org.wakewordd /org/wakewordd/Detector1 org.wakewordd.Detector1 Pause &&
    [ "$(prop State)" = 's "paused"' ] &&
    busctl --address="$BUS_ADDR" call org.wakewordd /org/wakewordd/Detector1 org.wakewordd.Detector1 Resume &&
    ok "methods work after the reconnection" || nok "Pause/Resume after the reconnection: $(prop State)"

# --- 5. SIGTERM with the daemon's Hello unanswered ------------------------------------
# the frozen bus is started on another path and moved into place, so the
# daemon cannot reach it before it is frozen; the daemon's connection, queued
# on the listener, shows in /proc/net/unix as a second socket with its path
kill -KILL "$BUS_PID"
BUS_PID=""
wait_for 30 at_least 2 "D-Bus: connection lost" "$T/err.log" ||
    nok "the second loss was not noticed: $(grep -i d-bus "$T/err.log" | tail -2)"
BUS3="$T/bus3"
dbus-daemon --session --fork --print-pid=1 --address="unix:path=$BUS3" >"$T/bus.pid" 2>"$T/bus.err" &&
    BUS_PID=$(head -1 "$T/bus.pid") || nok "third dbus-daemon did not start: $(cat "$T/bus.err")"
kill -STOP "$BUS_PID"
mv -f "$BUS3" "$T/bus"
bus3_sockets() { awk -v p="$BUS3" '$8 == p' /proc/net/unix; }
queued() { [ "$(bus3_sockets | wc -l)" -ge 2 ]; }
wait_for 30 queued && ok "the daemon connects to the frozen bus (its connection is never accepted)" ||
    nok "no connection to the frozen bus: $(bus3_sockets)"
daemon_stop 5

# --- 6. start-up with the bus frozen ---------------------------------------------------
# the feeder of part 1 waits for the new daemon to open the pipe; the outputs
# are appended to, so the counts go on from parts 1 to 5
n=$(detections)
c=$(count "D-Bus: connected to the system bus again" "$T/err.log")
t0=${EPOCHREALTIME//[.,]/}
DBUS_SYSTEM_BUS_ADDRESS="$BUS_ADDR" ALSA_CONFIG_PATH="$T/asound.conf" \
    "$WAKEWORDD" run --config "$T/wakewordd.conf" --stdout >>"$T/out.jsonl" 2>>"$T/err.log" &
DPID=$!
# the bound is 5 s, closing the unanswered connection up to 1 s more
if wait_for 20 at_least 2 "started: device" "$T/err.log"; then
    ms=$(((${EPOCHREALTIME//[.,]/} - t0) / 1000))
    [ $ms -lt 15000 ] && ok "frozen bus at start-up: started after $ms ms (bound 5 s)" ||
        nok "frozen bus at start-up: started only after $ms ms"
else
    nok "frozen bus at start-up: not started within 20 s: $(tail -3 "$T/err.log")"
fi
has "no answer from the system bus within 5 s (asking for org.wakewordd); detection goes on" "$T/err.log" &&
    ok "the unanswered bus is logged" || nok "no 'no answer' message: $(grep -i d-bus "$T/err.log" | tail -2)"
wait_for 60 more_detections "$n" && ok "frozen bus at start-up: the daemon detects ($n -> $(detections))" ||
    nok "no detections with the bus frozen at start-up: $(tail -3 "$T/err.log")"
[[ $(ps -o stat= -p "$BUS_PID") == T* ]] && ok "the bus was frozen all along" ||
    nok "bus state: $(ps -o stat= -p "$BUS_PID")"
kill -CONT "$BUS_PID"
if wait_for 30 owned; then
    ok "bus thawed: org.wakewordd owned, properties answer"
else
    nok "no name after the thaw: $(prop State); $(grep -i d-bus "$T/err.log" | tail -2)"
fi
[ "$(count "D-Bus: connected to the system bus again" "$T/err.log")" -eq $((c + 1)) ] &&
    ok "the connection after the thaw is logged" ||
    nok "reconnect messages: $(count "connected to the system bus again" "$T/err.log") (before: $c)"
kill -0 "$DPID" 2>/dev/null && daemon_stop 5 || nok "daemon died"
if [ $fails -ne 0 ]; then
    echo "# daemon stderr:"
    grep -v "wake word 'tone' detected" "$T/err.log" | sed 's/^/#   /' | head -30
fi
[ $fails -eq 0 ]
