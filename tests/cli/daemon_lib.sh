# Shared set-up of the daemon tests (source it after cd to the repository):
#   daemon_test_init NAME   T (a fresh /tmp/ww-NAME-XXXXXX), PIDS, fails, ok,
#                           nok, and an EXIT trap that resumes and kills every
#                           pid in PIDS (and DPID, BUS_PID, JOURNALD_PID when
#                           set), then removes T
#   write_filecap_asound F  an alsa-lib config defining "filecap:IFILE=PATH",
#                           a capture PCM reading raw audio from PATH (a file
#                           or a FIFO a test feeds), and a null PCM
#   bus_start               a private dbus-daemon at $T/bus: BUS_ADDR, BUS_PID
#   bus_prop NAME           a property of the daemon's D-Bus object
#   dbus_flood N            N SetThreshold("tone", 0.5) calls (each one logged
#                           by the daemon), 5 s timeout each; prints
#                           "answered K of N, slowest S s"
#   hold_pipe FIFO OUT      in the background, opens FIFO for reading, shrinks
#                           it to 4 KiB and reads nothing until SIGUSR1, then
#                           everything into OUT; appends its pid to PIDS and
#                           returns once the pipe is set up
#   daemon_stop SECONDS     SIGTERM to $DPID: ok when it exits 0 in time
# and, for tests that watch a running daemon from outside:
#   watch_setup             a notify listener ($T/notify.log), a private bus
#                           watched by dbus-monitor ($T/monitor.log), and the
#                           file-backed PCM reading $T/audio.fifo
#   watch_start JOURNAL SPEED OUT ERR
#                           the daemon (tone model, journal = JOURNAL, --stdout,
#                           WATCHDOG_USEC=200000) with stdout to OUT and stderr
#                           to ERR, the tone bursts looped into it at SPEED x
#                           real time; sets DPID
#   signals, pings          Detected signals and WATCHDOG=1 received so far
#   grew FUNC N             FUNC prints N or more
#   dropped_messages        the DroppedMessages property, as a number
#   check_flood WHAT        1500 logged D-Bus calls all answered, then Detected
#                           signals and WATCHDOG=1 still coming, and
#                           DroppedMessages > 0 (WHAT: the situation, for the
#                           messages)
#   check_notice FILE ERE WHAT
#                           after check_flood, FILE (an output read back) has
#                           the flood's first lines, then one drop notice (the
#                           line matching ERE) with DroppedMessages in it
#   show_stderr FILE        on failure, FILE without the flood and detections
#   daemon_private_run "$@" as root, re-runs the calling test in a private mount
#                           namespace whose /run (and /var/log/journal) are an
#                           empty tmpfs, so a journald the test starts touches
#                           nothing outside it and two tests never share one;
#                           PRIVATE_RUN=1 there. Call it first, with the
#                           script's arguments. Without root it does nothing.
# plus the polling helpers of poll.sh.
. "$(dirname "${BASH_SOURCE[0]}")/poll.sh"

daemon_private_run() {
    if [ "$(id -u)" -eq 0 ] && [ -z "${WW_PRIVATE_RUN:-}" ] && command -v unshare >/dev/null &&
        unshare -m --propagation private true 2>/dev/null; then
        WW_PRIVATE_RUN=1 exec unshare -m --propagation private bash "$0" "$@"
    fi
    PRIVATE_RUN=""
    if [ -n "${WW_PRIVATE_RUN:-}" ]; then
        mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal /run/log/journal &&
            { [ ! -d /var/log/journal ] || mount -t tmpfs tmpfs /var/log/journal; } &&
            PRIVATE_RUN=1 || { echo "not ok - cannot set up the private /run"; exit 1; }
    fi
}

daemon_test_init() {
    T=$(mktemp -d "/tmp/ww-$1-XXXXXX")
    PIDS=()
    fails=0
    trap daemon_test_cleanup EXIT
    trap 'exit 1' INT TERM
}
ok() { echo "ok - $1"; }
nok() {
    echo "not ok - $1"
    fails=$((fails + 1))
}
daemon_test_cleanup() {
    local p
    [ -n "${DPID:-}" ] && PIDS+=("$DPID")
    # a frozen journald or bus would keep a daemon stuck in a write from exiting
    for p in ${JOURNALD_PID:-} ${BUS_PID:-}; do kill -CONT "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    [ -n "${BUS_PID:-}" ] && kill "$BUS_PID" 2>/dev/null
    [ -n "${JOURNALD_PID:-}" ] && kill "$JOURNALD_PID" 2>/dev/null
    rm -rf "$T"
}
write_filecap_asound() {
    cat >"$1" <<'CONF'
pcm.null { type null }
pcm.filecap { @args [ IFILE ] @args.IFILE { type string } type file
  slave.pcm { type null } file "/dev/null" infile $IFILE format "raw" }
CONF
}
bus_start() {
    BUS_ADDR="unix:path=$T/bus"
    dbus-daemon --session --fork --print-pid=1 --address="$BUS_ADDR" >"$T/bus.pid" 2>"$T/bus.err" &&
        BUS_PID=$(head -1 "$T/bus.pid")
}
bus_prop() {
    busctl --address="$BUS_ADDR" get-property org.wakewordd /org/wakewordd/Detector1 \
        org.wakewordd.Detector1 "$1" 2>&1
}
dbus_flood() {
    /usr/bin/python3 - "$BUS_ADDR" "$1" <<'PY'
import sys, time, dbus
bus = dbus.bus.BusConnection(sys.argv[1])
det = dbus.Interface(bus.get_object("org.wakewordd", "/org/wakewordd/Detector1"),
                     "org.wakewordd.Detector1")
n, answered, slowest = int(sys.argv[2]), 0, 0.0
for i in range(n):
    t = time.monotonic()
    try:
        det.SetThreshold("tone", 0.5, timeout=5)
    except dbus.DBusException as e:
        print("call %d: %s" % (i + 1, e.get_dbus_name()))
        break
    slowest = max(slowest, time.monotonic() - t)
    answered += 1
print("answered %d of %d, slowest %.3f s" % (answered, n, slowest))
PY
}
hold_pipe() {
    /usr/bin/python3 - "$1" "$2" >"$2.holder" 2>&1 <<'PY' &
import fcntl, os, signal, sys, time
F_SETPIPE_SZ = 1031
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)  # no writer yet: do not wait
fcntl.fcntl(fd, F_SETPIPE_SZ, 4096)
go = []
signal.signal(signal.SIGUSR1, lambda *a: go.append(1))
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("HOLDING", flush=True)
while not go:
    time.sleep(0.05)
os.set_blocking(fd, True)
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        out.write(b)
PY
    PIDS+=($!)
    wait_for 10 has HOLDING "$2.holder"
}
daemon_stop() {
    local i rc us t0=${EPOCHREALTIME//[.,]/}
    kill -TERM "$DPID"
    for ((i = 0; i < $1 * 100; i++)); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.01; done
    if kill -0 "$DPID" 2>/dev/null; then
        nok "still running $1 s after SIGTERM"
        return 1
    fi
    wait "$DPID"
    rc=$?
    us=$((${EPOCHREALTIME//[.,]/} - t0))
    [ $rc -eq 0 ] && ok "SIGTERM: exit status 0 after $((us / 1000)) ms (limit $1 s)" ||
        nok "SIGTERM: exit status $rc"
}
watch_setup() {
    write_filecap_asound "$T/asound.conf"
    mkfifo "$T/audio.fifo"
    /usr/bin/python3 tests/fault/notify_listen.py "$T/notify.sock" "$T/notify.log" &
    PIDS+=($!)
    bus_start || { nok "dbus-daemon did not start: $(cat "$T/bus.err")"; return 1; }
    dbus-monitor --address "$BUS_ADDR" "type='signal',interface='org.wakewordd.Detector1'" \
        >"$T/monitor.log" 2>&1 &
    PIDS+=($!)
    wait_for 10 has LISTENING "$T/notify.log" || { nok "notify listener did not start"; return 1; }
}
watch_start() {
    cat >"$T/wakewordd.conf" <<CONF
device = filecap:IFILE=$T/audio.fifo
model = $ROOT/tests/fixtures/daemon/tone_model.onnx
bus = system
journal = $1
ring_ms = 60000
CONF
    NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=200000 DBUS_SYSTEM_BUS_ADDRESS="$BUS_ADDR" \
        ALSA_CONFIG_PATH="$T/asound.conf" \
        "$WAKEWORDD" run --config "$T/wakewordd.conf" --stdout >"$3" 2>"$4" &
    DPID=$!
    /usr/bin/python3 tests/fault/feed_fifo.py "$T/audio.fifo" tests/fixtures/daemon/tone_bursts.wav \
        "$2" --loop &
    PIDS+=($!)
}
signals() { count "member=Detected" "$T/monitor.log"; }
pings() { count "WATCHDOG=1" "$T/notify.log"; }
grew() { [ "$($1)" -ge "$2" ]; }
dropped_messages() { bus_prop DroppedMessages | sed 's/^t //'; }
check_flood() {
    local flood s p d
    flood=$(dbus_flood 1500)
    echo "# $1: $flood"
    [[ $flood == "answered 1500 of 1500,"* ]] && ok "$1: 1500 logged D-Bus calls all answered" ||
        nok "$1: the daemon stopped answering: $flood"
    s=$(signals) p=$(pings)
    wait_for 20 grew signals $((s + 2)) && ok "$1: Detected signals keep coming ($s -> $(signals))" ||
        nok "$1: Detected signals stopped at $(signals)"
    wait_for 10 grew pings $((p + 5)) && ok "$1: WATCHDOG=1 keeps being sent ($p -> $(pings))" ||
        nok "$1: WATCHDOG=1 stopped at $(pings)"
    d=$(dropped_messages)
    [ "$d" -gt 0 ] 2>/dev/null && ok "$1: DroppedMessages counts what did not fit ($d)" ||
        nok "$1: DroppedMessages: $d"
}
check_notice() {
    local kept last at n d
    kept=$(count "threshold of 'tone' set to 0.5" "$1")
    last=$(grep -n "threshold of 'tone' set to 0.5" "$1" | tail -1 | cut -d: -f1)
    at=$(grep -nE "$2" "$1" | head -1 | cut -d: -f1)
    n=$(grep -E "$2" "$1" | grep -oE '[0-9]+' | head -1)
    d=$(dropped_messages)
    [ "$(grep -cE "$2" "$1")" -eq 1 ] && [ "$n" = "$d" ] &&
        ok "$3: one notice of $n dropped messages (= DroppedMessages)" ||
        nok "$3: drop notices: '$(grep -E "$2" "$1")', DroppedMessages $d"
    # the queue kept the first ones; the notice stands for the tail
    [ "$kept" -gt 500 ] && [ "$kept" -lt 1500 ] && [ -n "$at" ] && [ "$at" -gt "$last" ] &&
        ok "$3: the queued lines ($kept of the 1500), then the notice in place of the rest" ||
        nok "$3: $kept lines kept, the last at line $last, the notice at line $at"
}
show_stderr() {
    [ "$fails" -eq 0 ] && return
    echo "# daemon stderr:"
    grep -v "set to 0.5 over D-Bus\|detected (score" "$1" | sed 's/^/#   /' | head -30
}
