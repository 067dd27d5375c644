#!/bin/sh
# Installs the Debian 12 packages wakewordd needs to build and test, and only the
# missing ones, so running it on a ready machine costs a few dpkg queries.
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --fixtures also the Python stack that regenerates test fixtures
#   scripts/install-deps.sh --cross    also the aarch64 cross compiler and qemu
set -eu

BUILD_PKGS="make gcc clang pkg-config libasound2-dev libfftw3-dev libsndfile1-dev libsoxr-dev \
libprotobuf-c-dev protobuf-c-compiler libsystemd-dev libonnx-dev libonnx-testdata \
alsa-utils dbus systemd python3-dbus python3-numpy python3-onnx sox"
FIXTURE_PKGS="python3-torch python3-torchaudio python3-torchvision python3-onnx python3-numpy \
libopenblas0-pthread espeak-ng flite man-db manpages manpages-dev git-man iproute2 \
openssh-client procps e2fsprogs passwd apt dpkg gzip login ncurses-bin grep findutils tar less mount \
wget curl kmod adduser perl xz-utils bzip2 openssl valgrind binutils-common dpkg-dev groff-base \
lsof unzip zip libpam-modules gettext debianutils bsdextrautils psmisc hostname \
cmake-data universal-ctags libxt-dev linux-perf llvm-14 tmux gpg"
CROSS_PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static"

want="$BUILD_PKGS"
for arg in "$@"; do
    case "$arg" in
    --fixtures) want="$want $FIXTURE_PKGS" ;;
    --cross) want="$want $CROSS_PKGS" ;;
    *) echo "install-deps.sh: unknown option '$arg'" >&2; exit 2 ;;
    esac
done

# The ONNX Runtime parity tests need node and npm (scripts/install-ort.sh); a
# machine with its own Node.js (e.g. nodesource's, which bundles npm) keeps it.
command -v npm >/dev/null 2>&1 || want="$want nodejs npm"

missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps.sh: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps.sh: need root or sudo to install:$missing" >&2; exit 1; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
