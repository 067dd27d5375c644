#!/bin/bash
# The D-Bus policy in etc/org.wakewordd.conf, enforced by a real dbus-daemon
# configured like Debian's system bus (the default policy of
# /usr/share/dbus-1/system.conf, then our file): root owns org.wakewordd and
# calls its methods; an unprivileged user (nobody) reads properties and
# introspects but is denied SetThreshold/Pause/Resume. The daemon runs on a
# capture device that does not exist, so this also checks that it keeps
# serving D-Bus while the device is lost (State "device-lost").
# Then, as the unit runs it, the daemon as the system user wakewordd (which
# the policy lets own the name) on a file-backed capture with tone bursts:
# nobody receives the Detected signal; a member of group wakewordd (which the
# policy lets call the methods) calls them. The user and group exist only in
# this test's private mount namespace (/etc/passwd and /etc/group copies
# bind-mounted), so nothing is added to the system.
# Needs root (to run a client as nobody); otherwise says it skipped.
set -u
cd "$(dirname "$0")/../.." || exit 1
: "${WAKEWORDD:?set WAKEWORDD to the wakewordd binary}"
ROOT=$PWD
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
    echo "ok - D-Bus policy test SKIPPED: needs root and setpriv to run a client as another user"
    exit 0
fi
if [ -z "${WW_POLICY_TEST_NS:-}" ] && command -v unshare >/dev/null &&
    unshare -m --propagation private true 2>/dev/null; then
    WW_POLICY_TEST_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/daemon_lib.sh"
daemon_test_init policy
chmod 755 "$T" # the bus socket and FIFO are reached by nobody and the test user

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
# the system user wakewordd and group wakewordd (with a throwaway member) for
# the second part, in this namespace only; dbus-daemon resolves the policy's
# user= and group= names when it reads its configuration
WW_UID="" CALLER_UID=""
if [ -n "${WW_POLICY_TEST_NS:-}" ]; then
    if getent passwd wakewordd >/dev/null || getent group wakewordd >/dev/null; then
        WW_UID=$(id -u wakewordd 2>/dev/null)
        WW_GID=$(getent group wakewordd | cut -d: -f3)
        echo "# using the system's own wakewordd user/group ($WW_UID/$WW_GID)"
    else
        WW_UID=64990 WW_GID=64990
        cp /etc/passwd "$T/passwd" && cp /etc/group "$T/group" &&
            echo "wakewordd:x:$WW_UID:$WW_GID:wake word detector:/nonexistent:/usr/sbin/nologin" >>"$T/passwd" &&
            echo "wwtestcaller:x:64991:64991::/nonexistent:/usr/sbin/nologin" >>"$T/passwd" &&
            echo "wakewordd:x:$WW_GID:wwtestcaller" >>"$T/group" && echo "wwtestcaller:x:64991:" >>"$T/group" &&
            mount --bind "$T/passwd" /etc/passwd && mount --bind "$T/group" /etc/group &&
            CALLER_UID=64991 || { nok "cannot set up the test user and group"; WW_UID=""; }
    fi
fi
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

# --- the daemon as user wakewordd, detecting; nobody listens; group wakewordd calls
write_filecap_asound "$T/asound.conf"
mkfifo -m 666 "$T/audio.fifo"
cp "$ROOT/tests/fixtures/daemon/tone_model.onnx" "$T/tone_model.onnx"
chmod 644 "$T/asound.conf" "$T/tone_model.onnx"
if [ -n "$WW_UID" ]; then
    as_daemon=(setpriv --reuid="$WW_UID" --regid="$WW_GID" --clear-groups)
    who="user wakewordd"
else
    as_daemon=()
    who="root (no private namespace for a wakewordd user)"
fi
DBUS_SYSTEM_BUS_ADDRESS="$BUS_ADDR" ALSA_CONFIG_PATH="$T/asound.conf" "${as_daemon[@]}" \
    "$WAKEWORDD" run --device "filecap:IFILE=$T/audio.fifo" --no-journal --model "$T/tone_model.onnx" \
    --stdout >"$T/out2" 2>"$T/err2" &
DPID=$!
owned() { as_root get-property "${OBJ[@]}" Detections | grep -q '^t '; }
if wait_for 30 owned; then
    ok "the daemon as $who owns org.wakewordd"
else
    nok "daemon as $who not on the bus: $(tail -3 "$T/err2")"
fi
setpriv --reuid=65534 --regid=65534 --clear-groups \
    gdbus monitor --address "$BUS_ADDR" --dest org.wakewordd >"$T/nobody.log" 2>&1 &
MON=$!
wait_for 10 has "is owned by" "$T/nobody.log" || nok "nobody's monitor did not start: $(cat "$T/nobody.log")"
/usr/bin/python3 tests/fault/feed_fifo.py "$T/audio.fifo" tests/fixtures/daemon/tone_bursts.wav 20 &
FEEDER=$!
if wait_for 60 has "org.wakewordd.Detector1.Detected ('tone'" "$T/nobody.log"; then
    ok "nobody receives the Detected signal ($(grep -m1 -o "Detected ('tone'[^)]*)" "$T/nobody.log"))"
else
    nok "nobody got no Detected signal: $(head -c 400 "$T/nobody.log"); daemon: $(grep -c keyword "$T/out2") detections"
fi
kill "$MON" "$FEEDER" 2>/dev/null
wait "$MON" "$FEEDER" 2>/dev/null
if [ -n "$CALLER_UID" ]; then
    as_member() { setpriv --reuid="$CALLER_UID" --regid="$CALLER_UID" --groups="$WW_GID" busctl --address="$BUS_ADDR" "$@" 2>&1; }
    out=$(as_member call "${OBJ[@]}" Pause)
    [ -z "$out" ] && [ "$(as_root get-property "${OBJ[@]}" State)" = 's "paused"' ] &&
        ok "a member of group wakewordd calls Pause" || nok "group member Pause: $out"
    out=$(as_member call "${OBJ[@]}" Resume)
    [ -z "$out" ] && ok "a member of group wakewordd calls Resume" || nok "group member Resume: $out"
    out=$(as_member call "${OBJ[@]}" SetThreshold sd tone 0.65)
    [ -z "$out" ] && as_root get-property "${OBJ[@]}" Models | grep -q '" 0.65' &&
        ok "a member of group wakewordd calls SetThreshold" || nok "group member SetThreshold: $out"
    out=$(setpriv --reuid="$CALLER_UID" --regid="$CALLER_UID" --clear-groups busctl --address="$BUS_ADDR" call "${OBJ[@]}" Pause 2>&1)
    grep -qi "access denied\|AccessDenied\|rejected" <<<"$out" &&
        ok "the same user without group wakewordd is denied Pause" || nok "non-member Pause: $out"
elif [ -n "${WW_UID:-}" ]; then
    ok "group wakewordd part SKIPPED: the system has its own wakewordd user/group"
else
    ok "group wakewordd part SKIPPED: no private mount namespace"
fi
kill -TERM "$DPID"
wait "$DPID" && ok "daemon as $who: SIGTERM, exit 0" || nok "daemon as $who: exit status $?"
DPID=""
[ $fails -eq 0 ]
