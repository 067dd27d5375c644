#!/bin/sh
# Installs the daemon's system files where Debian expects them; called by
# `make install` as: scripts/install-etc.sh "$DESTDIR" "$PREFIX".
#   unit          /lib/systemd/system/wakewordd.service  (PREFIX=/usr)
#                 /etc/systemd/system/wakewordd.service  (other prefixes)
#   config        /etc/wakewordd.conf (kept if it exists)
#   D-Bus         /usr/share/dbus-1/system.d/org.wakewordd.conf (policy),
#                 /usr/share/dbus-1/system-services/org.wakewordd.service,
#                 /usr/share/dbus-1/interfaces/org.wakewordd.Detector1.xml
#   journal       /usr/lib/systemd/catalog/wakewordd.catalog
#   user          /usr/lib/sysusers.d/wakewordd.conf
#   man page      PREFIX/share/man/man8/wakewordd.8
#   models        PREFIX/share/wakewordd/models/ (those present in models/)
# The unit, D-Bus activation file and config get PREFIX's paths. Nothing is
# started or enabled: that is the administrator's (or the package's) call.
set -eu
DESTDIR=${1:-}
PREFIX=${2:-/usr/local}
cd "$(dirname "$0")/.."

if [ "$PREFIX" = /usr ]; then UNITDIR=/lib/systemd/system; else UNITDIR=/etc/systemd/system; fi
d() { install -d "$DESTDIR$1"; }
subst() { # src dest mode
    sed -e "s|/usr/bin/wakewordd|$PREFIX/bin/wakewordd|g" \
        -e "s|/usr/share/wakewordd/|$PREFIX/share/wakewordd/|g" "$1" >"$DESTDIR$2.tmp"
    chmod "$3" "$DESTDIR$2.tmp"
    mv "$DESTDIR$2.tmp" "$DESTDIR$2"
}

d "$UNITDIR"
subst etc/wakewordd.service "$UNITDIR/wakewordd.service" 644
d /etc
if [ -e "$DESTDIR/etc/wakewordd.conf" ]; then
    subst etc/wakewordd.conf /etc/wakewordd.conf.new 644
    echo "install-etc.sh: kept $DESTDIR/etc/wakewordd.conf; the new one is wakewordd.conf.new" >&2
else
    subst etc/wakewordd.conf /etc/wakewordd.conf 644
fi
d /usr/share/dbus-1/system.d
install -m 644 etc/org.wakewordd.conf "$DESTDIR/usr/share/dbus-1/system.d/org.wakewordd.conf"
d /usr/share/dbus-1/system-services
install -m 644 etc/org.wakewordd.service "$DESTDIR/usr/share/dbus-1/system-services/org.wakewordd.service"
d /usr/share/dbus-1/interfaces
install -m 644 etc/org.wakewordd.Detector1.xml "$DESTDIR/usr/share/dbus-1/interfaces/org.wakewordd.Detector1.xml"
d /usr/lib/systemd/catalog
install -m 644 etc/wakewordd.catalog "$DESTDIR/usr/lib/systemd/catalog/wakewordd.catalog"
d /usr/lib/sysusers.d
install -m 644 etc/wakewordd.sysusers "$DESTDIR/usr/lib/sysusers.d/wakewordd.conf"
d "$PREFIX/share/man/man8"
install -m 644 etc/wakewordd.8 "$DESTDIR$PREFIX/share/man/man8/wakewordd.8"
d "$PREFIX/share/wakewordd/models"
for m in models/*.onnx; do
    [ -f "$m" ] && install -m 644 "$m" "$DESTDIR$PREFIX/share/wakewordd/models/"
done
if [ -z "$DESTDIR" ]; then
    echo "install-etc.sh: installed. Next: systemd-sysusers; journalctl --update-catalog;" \
        "systemctl daemon-reload; systemctl reload dbus; systemctl enable --now wakewordd" >&2
fi
exit 0
