#!/bin/bash
# Cross-compiles the int8 kernels and their unit test for AArch64 and runs it
# under qemu-user twice: on qemu's default CPU ("max", which has the dot
# product extension: the neondot kernels run, and neon is checked too) and as a
# Cortex-A53 (no dot product: the dispatch must pick plain neon; running the
# sdot code there would be SIGILL). Prints "ok - ..." / "not ok - ..." lines.
#   scripts/test-arm.sh [OUTDIR] [--san]
# --san builds with UBSan (the sanitizer that works under qemu-user).
# Needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user-static
# (scripts/install-deps.sh --cross); without them it says SKIPPED and succeeds.
set -u
cd "$(dirname "$0")/.." || exit 1
OUT=build/arm
SAN=""
for a in "$@"; do
    case "$a" in
    --san) SAN="-fsanitize=undefined -fno-sanitize-recover=all" ;;
    *) OUT=$a ;;
    esac
done
CC=aarch64-linux-gnu-gcc
QEMU=qemu-aarch64-static
SYSROOT=/usr/aarch64-linux-gnu
if ! command -v "$CC" >/dev/null || ! command -v "$QEMU" >/dev/null || [ ! -d "$SYSROOT/lib" ]; then
    echo "ok - arm kernels SKIPPED: no aarch64-linux-gnu-gcc/qemu (scripts/install-deps.sh --cross)"
    exit 0
fi
mkdir -p "$OUT" || exit 1

# Only what the kernel test needs: the cross compiler has none of the Debian
# libraries (fftw, alsa, ...) the rest of the program links.
SRCS="core/error.c core/npy.c core/outfile.c nn/cpu.c nn/kernels/requant.c nn/kernels/conv2d_s8.c
      nn/kernels/conv2d_s8_scalar.c nn/kernels/conv2d_s8_neon.c nn/kernels/ops_s8.c
      nn/kernels/ops_s8_scalar.c nn/kernels/ops_s8_generic.c tests/unit/wwtest.c tests/unit/test_kernels_s8.c"
CFLAGS="-std=c11 -D_GNU_SOURCE -O2 -g -ffp-contract=off -Wall -Wextra -Werror -Wshadow
        -Wstrict-prototypes -Wno-missing-field-initializers -I. $SAN"
fail=0
log="$OUT/build.log"
: >"$log"
objs=""
for f in $SRCS; do
    o="$OUT/$(echo "${f%.c}" | tr / _).o"
    # nn/cpu.c and core/error.c belong to others: their warnings do not fail this
    extra=""
    case "$f" in nn/kernels/* | tests/*) ;; *) extra=-Wno-error ;; esac
    $CC $CFLAGS $extra -march=armv8-a -c "$f" -o "$o" >>"$log" 2>&1 || fail=1
    objs="$objs $o"
done
o="$OUT/nn_kernels_conv2d_s8_neondot.o"
$CC $CFLAGS -march=armv8.2-a+dotprod -c nn/kernels/conv2d_s8_neondot.c -o "$o" >>"$log" 2>&1 || fail=1
objs="$objs $o"
bin="$OUT/test_kernels_s8"
[ $fail -eq 0 ] && { $CC $SAN -o "$bin" $objs -lm >>"$log" 2>&1 || fail=1; }
if [ $fail -ne 0 ]; then
    echo "not ok - arm kernels: cross-compilation failed"
    sed 's/^/#   /' "$log" | head -30
    exit 1
fi
echo "ok - arm kernels: cross-compiled for aarch64 (armv8-a, neondot file armv8.2-a+dotprod)${SAN:+ with UBSan}"

run() { # label, expected ISA, qemu args...
    local label=$1 want=$2
    shift 2
    local rlog="$OUT/run-$want.log"
    WW_EXPECT_ISA=$want UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        timeout 600 "$QEMU" "$@" -L "$SYSROOT" "$bin" >"$rlog" 2>&1
    local rc=$? p f
    p=$(grep -c '^ok - ' "$rlog")
    f=$(grep -c '^not ok - ' "$rlog")
    if [ $rc -eq 0 ] && [ "$f" -eq 0 ] && [ "$p" -gt 0 ] && ! grep -q 'runtime error:' "$rlog"; then
        echo "ok - arm kernels on qemu $label: $p cases pass, dispatch picked $want"
    else
        echo "not ok - arm kernels on qemu $label (exit $rc, $f failed)"
        grep -E '^(not ok|#)|runtime error' "$rlog" | head -20 | sed 's/^/#   /'
        fail=1
    fi
}
run "cpu max (dot product)" neondot
run "cortex-a53 (no dot product)" neon -cpu cortex-a53
exit $fail
