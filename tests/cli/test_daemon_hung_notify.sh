#!/bin/bash
# A service manager that does not read its notification socket must not stop
# detection. libsystemd's sd_notify sends on a blocking socket, so it waits for
# as long as the socket's queue is full (net.unix.max_dgram_qlen datagrams): a
# hung service manager, or a supervisor that reads READY=1 and nothing after.
# The notify listener (standing in for systemd) is frozen with SIGSTOP and its
# queue filled to the brim by this script; then:
#   - D-Bus calls are answered, and Detected signals and --stdout lines keep
#     coming, although every WATCHDOG=1 (one each 100 ms) finds the queue full;
#   - the listener resumes: the WATCHDOG=1 sent meanwhile arrive (the daemon's
#     64 KiB queue held them: DroppedMessages stays 0; what would not fit is
#     dropped, counted and said once, as daemon/outq.h does for every output);
#   - frozen and filled once more, SIGTERM: exit 0 within two seconds.
# The audio comes through real ALSA (file-backed PCM fed by a pipe, tone bursts
# looped at 30x real time); no journal (journal = no: stderr gets the log).
set -u
cd "$(dirname "$0")/../.." || exit 1
: "${WAKEWORDD:?set WAKEWORDD to the wakewordd binary}"
ROOT=$PWD
. "$(dirname "$0")/daemon_lib.sh"
daemon_test_init hungnotify

for tool in /usr/bin/python3 dbus-daemon dbus-monitor busctl; do
    command -v "$tool" >/dev/null || { nok "needs $tool"; exit 1; }
done

watch_setup || exit 1
LISTENER=${PIDS[0]} # watch_setup starts the notify listener first
watch_start no 30 "$T/out.jsonl" "$T/err.log"
json_lines() { count '"keyword"' "$T/out.jsonl"; }
# Sends datagrams to the frozen listener's socket until the queue takes no
# more; prints how many it took.
fill_queue() {
    /usr/bin/python3 - "$T/notify.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setblocking(False)
n = 0
try:
    while n < 100000:
        s.sendto(b"FILL", sys.argv[1])
        n += 1
except BlockingIOError:
    pass
print(n)
PY
}

wait_for 30 grew signals 2 && wait_for 10 grew pings 3 ||
    nok "the daemon did not start detecting ($(signals) signals, $(pings) pings)"

# --- the service manager stops reading ------------------------------------------
kill -STOP "$LISTENER"
t0=${EPOCHREALTIME//[.,]/}
echo "# the frozen listener's queue took $(fill_queue) datagrams more"
s=$(signals) j=$(json_lines) p=$(pings)
wait_for 20 grew signals $((s + 3)) &&
    ok "notifications blocked: Detected signals keep coming ($s -> $(signals))" ||
    nok "notifications blocked: Detected signals stopped at $(signals)"
wait_for 10 grew json_lines $((j + 3)) &&
    ok "notifications blocked: --stdout lines keep coming ($j -> $(json_lines))" ||
    nok "notifications blocked: --stdout lines stopped at $(json_lines)"
st=$(bus_prop State)
[ "$st" = 's "listening"' ] && ok "notifications blocked: D-Bus answers (State $st)" ||
    nok "notifications blocked: State: $st"

sleep 3 # some 30 more pings find the queue full

# --- read again ---------------------------------------------------------------------
frozen_ms=$(((${EPOCHREALTIME//[.,]/} - t0) / 1000))
kill -CONT "$LISTENER"
# one ping per 100 ms while frozen; half of them is plenty of margin for a
# loaded machine, and none would arrive had the loop been stuck in sd_notify
want=$((p + frozen_ms / 200))
wait_for 10 grew pings "$want" &&
    ok "listener resumed: the WATCHDOG=1 of the $frozen_ms ms frozen arrive ($p -> $(pings))" ||
    nok "listener resumed: $(pings) WATCHDOG=1, wanted $want or more"
d=$(dropped_messages)
[ "$d" = 0 ] && ok "DroppedMessages 0: the queue held every notification" ||
    nok "DroppedMessages: $d"

# --- blocked again at the end -------------------------------------------------------
kill -STOP "$LISTENER"
fill_queue >/dev/null
daemon_stop 2
show_stderr "$T/err.log"
[ $fails -eq 0 ]
