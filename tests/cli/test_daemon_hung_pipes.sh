#!/bin/bash
# stdout and stderr that nobody reads must not stop detection. The daemon's
# --stdout and its stderr are pipes of 4 KiB each, held open by processes that
# read nothing until told to:
#   - once more JSON lines were printed than the stdout pipe holds (27 or so),
#     Detected signals and WATCHDOG=1 keep coming,
#   - 1500 log messages (SetThreshold over D-Bus, each one logged on stderr)
#     fill stderr's pipe and queue: every call is answered all the same, and
#     DroppedMessages counts what did not fit;
#   - once the pipes are read: stdout holds every detection as a whole JSON
#     line, in order; stderr holds the queued lines, then in the place of the
#     dropped ones a line saying how many (the count DroppedMessages gives),
#     then the lines after;
#   - SIGTERM: exit 0 within two seconds.
# The audio comes through real ALSA (file-backed PCM fed by a pipe, tone bursts
# looped at 30x real time); no journal (journal = no: stderr gets everything).
set -u
cd "$(dirname "$0")/../.." || exit 1
: "${WAKEWORDD:?set WAKEWORDD to the wakewordd binary}"
ROOT=$PWD
. "$(dirname "$0")/daemon_lib.sh"
daemon_test_init hungpipes

for tool in /usr/bin/python3 dbus-daemon dbus-monitor busctl; do
    command -v "$tool" >/dev/null || { nok "needs $tool"; exit 1; }
done

watch_setup || exit 1
mkfifo "$T/out.fifo" "$T/err.fifo"
hold_pipe "$T/out.fifo" "$T/out.jsonl" || nok "stdout pipe holder did not start"
OUT_HOLDER=${PIDS[-1]}
hold_pipe "$T/err.fifo" "$T/err.log" || nok "stderr pipe holder did not start"
ERR_HOLDER=${PIDS[-1]}
watch_start no 30 "$T/out.fifo" "$T/err.fifo"
logged_detections() { count "detected (score" "$T/err.log"; }
json_lines() { count '"keyword"' "$T/out.jsonl"; }

# --- stdout not read ------------------------------------------------------------
# a JSON line is over 150 bytes here: 45 of them do not fit in 4 KiB
if wait_for 60 grew signals 45; then
    ok "stdout not read: Detected signals go on past what its pipe holds ($(signals))"
else
    nok "Detected signals stopped at $(signals)"
fi
p0=$(pings)
wait_for 10 grew pings $((p0 + 5)) && ok "WATCHDOG=1 keeps being sent ($p0 -> $(pings))" ||
    nok "WATCHDOG=1 stopped at $(pings)"

# --- stderr not read either -----------------------------------------------------
check_flood "stdout and stderr not read"

# --- read at last -----------------------------------------------------------------
kill -USR1 "$OUT_HOLDER" "$ERR_HOLDER"
notice_re='^wakewordd: [0-9]+ messages dropped: stderr was not read fast enough$'
wait_for 30 grep -qE "$notice_re" "$T/err.log" || nok "no drop notice on stderr"
check_notice "$T/err.log" "$notice_re" "stderr read again"
e=$(logged_detections)
wait_for 20 grew logged_detections $((e + 1)) && ok "stderr: detections logged after the drop line" ||
    nok "no detection on stderr after the drop line"
s2=$(signals)
wait_for 10 grew json_lines "$s2"
if /usr/bin/python3 - "$T/out.jsonl" "$s2" <<'PY'; then
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
tail = lines.pop()  # after the last newline: must be nothing
times = [json.loads(l)["time_s"] for l in lines]
ok = not tail and len(times) >= int(sys.argv[2]) and all(a < b for a, b in zip(times, times[1:]))
print("#   %d JSON lines, %d bytes, time_s %s .. %s" % (len(times), sum(map(len, lines)), times[0], times[-1]))
sys.exit(0 if ok else 1)
PY
    ok "stdout read again: every detection a whole JSON line, in order, none lost"
else
    nok "stdout lines broken, missing or out of order"
fi

daemon_stop 2
show_stderr "$T/err.log"
[ $fails -eq 0 ]
