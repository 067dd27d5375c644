#!/bin/bash
# The int8 kernels on AArch64 under qemu (scripts/test-arm.sh): bit-exact
# against the scalar reference with and without the dot-product extension.
# In the sanitizer build the cross build uses UBSan. Skips (and says so) when
# the cross tools are not installed.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
case "$BUILD" in
*asan*) exec "$ROOT/scripts/test-arm.sh" "$BUILD/arm" --san ;;
*) exec "$ROOT/scripts/test-arm.sh" "$BUILD/arm" ;;
esac
