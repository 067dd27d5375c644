# Shared helpers for tests/cli/test_*.sh. Source it; it sets $WW (the binary),
# $TMP (a private directory removed at exit) and $ROOT (the repository).
#   t_ok NAME / t_fail NAME WHY   report one case
#   t_run NAME EXPECTED_STATUS CMD...   run CMD, check its status; output in $OUT/$ERR
#   t_isa_names / t_isas_run MODEL  the kernel ISAs wakewordd knows / runs here
#   t_done                         exit non-zero if any case failed
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WW=${WAKEWORDD:-$ROOT/build/wakewordd}
TMP=$(mktemp -d /tmp/wwcli-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
T_FAILED=0
OUT=""
ERR=""

t_ok() { echo "ok - $1"; }
t_fail() {
    echo "not ok - $1"
    shift
    [ $# -gt 0 ] && printf '#   %s\n' "$@"
    T_FAILED=$((T_FAILED + 1))
}

# t_run NAME STATUS CMD...: passes when CMD exits with STATUS and, under the
# sanitizers, printed no sanitizer report.
t_run() {
    local name=$1 want=$2
    shift 2
    OUT=$("$@" 2>"$TMP/.stderr")
    local got=$?
    ERR=$(cat "$TMP/.stderr")
    if [ "$got" -ne "$want" ]; then
        t_fail "$name" "exit status $got, expected $want" "stderr: ${ERR:0:400}"
        return 1
    fi
    if grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' <<<"$ERR"; then
        t_fail "$name" "sanitizer report: ${ERR:0:400}"
        return 1
    fi
    return 0
}

# t_expect_error NAME NEEDLE CMD...: exit 1, one line on stderr containing NEEDLE.
t_expect_error() {
    local name=$1 needle=$2
    shift 2
    t_run "$name" 1 "$@" || return 1
    local lines
    lines=$(printf '%s\n' "$ERR" | grep -c .)
    if [ "$lines" -ne 1 ]; then
        t_fail "$name" "expected one line on stderr, got $lines: ${ERR:0:400}"
    elif ! grep -qF -- "$needle" <<<"$ERR"; then
        t_fail "$name" "stderr lacks '$needle': $ERR"
    else
        t_ok "$name"
    fi
}

# The ISA names as wakewordd lists them when --isa is unknown (nn/cpu.c's table),
# so a new ISA joins the tests without editing them.
t_isa_names() {
    "$WW" bench --isa '?' /dev/null 2>&1 | sed -n "s/.*unknown ISA '?' (\(.*\))\$/\1/p" | tr -d ,
}
# Those of them this CPU and build run, tried on MODEL.
t_isas_run() {
    local isa
    for isa in $(t_isa_names); do
        "$WW" bench --runs 1 --warmup 0 --isa "$isa" "$1" >/dev/null 2>&1 && echo "$isa"
    done
}

t_done() { [ "$T_FAILED" -eq 0 ]; }
