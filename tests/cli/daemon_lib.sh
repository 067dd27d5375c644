# Shared set-up of the daemon tests (source it after cd to the repository):
#   daemon_test_init NAME   T (a fresh /tmp/ww-NAME-XXXXXX), PIDS, fails, ok,
#                           nok, and an EXIT trap that resumes and kills every
#                           pid in PIDS (and DPID, BUS_PID, JOURNALD_PID when
#                           set), then removes T
#   write_filecap_asound F  an alsa-lib config defining "filecap:IFILE=PATH",
#                           a capture PCM reading raw audio from PATH (a file
#                           or a FIFO a test feeds), and a null PCM
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
