#!/bin/bash
# The D-Bus policy in etc/org.wakewordd.conf, enforced by a real dbus-daemon
# configured like Debian's system bus (the default policy of
# /usr/share/dbus-1/system.conf, then our file): root owns org.wakewordd and
# calls its methods; an unprivileged user (nobody) reads properties and
# introspects but is denied SetThreshold/Pause/Resume. The daemon runs on a
# capture device that does not exist, so this also checks that it keeps
# serving D-Bus while the device is lost (State "device-lost").
# Needs root (to run a client as nobody); otherwise says it skipped.
set -u
cd "$(dirname "$0")/../.." || exit 1
: "${WAKEWORDD:?set WAKEWORDD to the wakewordd binary}"
ROOT=$PWD
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
    echo "ok - D-Bus policy test SKIPPED: needs root and setpriv to run a client as another user"
    exit 0
fi
T=$(mktemp -d /tmp/ww-policy-XXXXXX)
chmod 755 "$T"
fails=0
ok() { echo "ok - $1"; }
nok() {
    echo "not ok - $1"
    fails=$((fails + 1))
}
cleanup() {
    [ -n "${DPID:-}" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
    [ -n "${BUS_PID:-}" ] && kill "$BUS_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$(dirname "$0")/poll.sh"

cat >"$T/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$T/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>$ROOT/etc/org.wakewordd.conf</include>
</busconfig>
CONF
dbus-daemon --config-file="$T/bus.conf" --fork --print-address=1 --print-pid=1 >"$T/bus.info" 2>"$T/bus.err" ||
    { nok "dbus-daemon with the policy did not start: $(cat "$T/bus.err")"; exit 1; }
BUS_ADDR=$(head -1 "$T/bus.info")
BUS_PID=$(sed -n 2p "$T/bus.info")
ok "a system-like dbus-daemon accepts etc/org.wakewordd.conf"

DBUS_SYSTEM_BUS_ADDRESS="$BUS_ADDR" "$WAKEWORDD" run --device nosuchpcm_wakewordd_test --no-journal \
    --model "$ROOT/tests/fixtures/daemon/tone_model.onnx" 2>"$T/err" &
DPID=$!
as_root() { busctl --address="$BUS_ADDR" "$@" 2>&1; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups busctl --address="$BUS_ADDR" "$@" 2>&1; }
OBJ=(org.wakewordd /org/wakewordd/Detector1 org.wakewordd.Detector1)
state_is_lost() { [ "$(as_root get-property "${OBJ[@]}" State)" = 's "device-lost"' ]; }
if wait_for 30 state_is_lost; then
    ok "root owns org.wakewordd; the daemon serves D-Bus while its device is lost"
else
    nok "no daemon on the bus: $(as_root get-property "${OBJ[@]}" State) $(tail -3 "$T/err")"
fi
grep -q "device unavailable: cannot open 'nosuchpcm_wakewordd_test'" "$T/err" &&
    ok "the missing device is logged once" || nok "device log: $(cat "$T/err")"

out=$(as_nobody get-property "${OBJ[@]}" Detections)
[ "$out" = "t 0" ] && ok "nobody reads properties" || nok "nobody get-property: $out"
out=$(as_nobody introspect org.wakewordd /org/wakewordd/Detector1)
grep -q "SetThreshold" <<<"$out" && ok "nobody introspects" || nok "nobody introspect: ${out:0:200}"
for m in "Pause" "Resume" "SetThreshold sd tone 0.7"; do
    # shellcheck disable=SC2086
    out=$(as_nobody call "${OBJ[@]}" $m)
    grep -qi "access denied\|AccessDenied\|rejected" <<<"$out" && ok "nobody is denied $m" || nok "nobody $m: $out"
done
[ "$(as_root get-property "${OBJ[@]}" State)" = 's "device-lost"' ] && ok "State unchanged by the denied calls" ||
    nok "State changed"
out=$(as_root call "${OBJ[@]}" Pause)
[ -z "$out" ] && [ "$(as_root get-property "${OBJ[@]}" State)" = 's "paused"' ] && ok "root calls Pause" ||
    nok "root Pause: $out"
out=$(as_root call "${OBJ[@]}" SetThreshold sd tone 0.7)
[ -z "$out" ] && as_root get-property "${OBJ[@]}" Models | grep -q '" 0.7' && ok "root calls SetThreshold" ||
    nok "root SetThreshold: $out"
kill -TERM "$DPID"
wait "$DPID" && ok "SIGTERM while the device is lost: exit 0" || nok "exit status $?"
DPID=""
# with the name free again, an unprivileged daemon may still not take it
out=$(DBUS_SYSTEM_BUS_ADDRESS="$BUS_ADDR" timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$WAKEWORDD" run --bus system --no-journal --device nosuchpcm_wakewordd_test \
    --model "$ROOT/tests/fixtures/daemon/tone_model.onnx" 2>&1 </dev/null)
rc=$?
[ $rc -eq 1 ] && grep -q "cannot own org.wakewordd on the system bus" <<<"$out" &&
    ok "nobody may not own org.wakewordd (exit 1, saying so)" || nok "daemon as nobody: status $rc: ${out:0:300}"
[ $fails -eq 0 ]
