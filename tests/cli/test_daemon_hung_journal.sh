#!/bin/bash
# A hung journald must not stop detection. The daemon logs to a private
# journald (as root, in a private mount namespace), which is then frozen with
# SIGSTOP: its socket takes a few datagrams more, then a blocking send waits
# for good (net.unix.max_dgram_qlen). While it is frozen:
#   - 1500 log messages (SetThreshold over D-Bus, each one logged) are all
#     answered: the processing loop never waits for the journal,
#   - Detected signals, --stdout lines and WATCHDOG=1 keep coming,
#   - the messages that did not fit in the queue are counted (DroppedMessages);
# then journald resumes (SIGCONT): the queued entries reach it, and after them,
# in the place of the dropped ones, one warning saying how many were dropped
# (the count DroppedMessages gives); detections are journalled again. Frozen
# once more, SIGTERM: the daemon exits 0 within two seconds all the same.
# Without root (no private /run for a journald) it says it skipped.
set -u
cd "$(dirname "$0")/../.." || exit 1
: "${WAKEWORDD:?set WAKEWORDD to the wakewordd binary}"
ROOT=$PWD
. "$(dirname "$0")/daemon_lib.sh"
daemon_private_run "$@"
daemon_test_init hungjournal

if [ -z "$PRIVATE_RUN" ] || [ ! -x /lib/systemd/systemd-journald ]; then
    ok "SKIPPED: needs root (a private /run) and systemd-journald"
    exit 0
fi
for tool in /usr/bin/python3 dbus-daemon dbus-monitor busctl journalctl; do
    command -v "$tool" >/dev/null || { nok "needs $tool"; exit 1; }
done

/lib/systemd/systemd-journald >"$T/journald.log" 2>&1 &
JOURNALD_PID=$!
wait_for 10 test -S /run/systemd/journal/socket || { nok "journald did not start"; exit 1; }
watch_setup || exit 1
watch_start yes 10 "$T/out.jsonl" "$T/err.log"
lines() { count '"keyword": "tone"' "$T/out.jsonl"; }
journal() { journalctl --no-pager -o cat _PID="$DPID" "$@" 2>/dev/null; }
journalled() { journal MESSAGE_ID=08ef960d2052460ca397d7ba5557eac9 | grep -c "detected"; }

if wait_for 60 grew journalled 1; then
    ok "detections reach the private journald"
else
    nok "no detection in the journal: $(tail -3 "$T/err.log")"
fi

# --- journald frozen ----------------------------------------------------------
kill -STOP "$JOURNALD_PID"
l0=$(lines)
check_flood "journald frozen"
wait_for 20 grew lines $((l0 + 2)) && ok "journald frozen: --stdout lines keep coming ($l0 -> $(lines))" ||
    nok "--stdout lines stopped at $(lines)"
[[ $(ps -o stat= -p "$JOURNALD_PID") == T* ]] && ok "journald was frozen all along" ||
    nok "journald state: $(ps -o stat= -p "$JOURNALD_PID")"

# --- journald back ------------------------------------------------------------
kill -CONT "$JOURNALD_PID"
notice_re='^[0-9]+ messages dropped: the journal did not keep up$'
wait_for 30 sh -c "journalctl --no-pager -o cat _PID=$DPID | grep -qE '$notice_re'" ||
    nok "no drop notice in the journal"
journal >"$T/journal.txt"
check_notice "$T/journal.txt" "$notice_re" "journald back"
j=$(journalled)
wait_for 30 grew journalled $((j + 1)) && ok "detections are journalled again" ||
    nok "no detection journalled after journald came back"

# --- SIGTERM with journald frozen ---------------------------------------------
kill -STOP "$JOURNALD_PID"
flood=$(dbus_flood 50)
[[ $flood == "answered 50 of 50,"* ]] || nok "second flood: $flood"
daemon_stop 2
has "stopped after" "$T/err.log" && ok "the stop message reached stderr" || nok "no stop message on stderr"
wait_for 5 has "STOPPING=1" "$T/notify.log" && ok "STOPPING=1 sent" || nok "no STOPPING=1"
kill -CONT "$JOURNALD_PID"
show_stderr "$T/err.log"
[ $fails -eq 0 ]
