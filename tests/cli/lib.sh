# Shared helpers for tests/cli/test_*.sh. Source it; it sets $WW (the binary),
# $TMP (a private directory removed at exit) and $ROOT (the repository).
#   t_ok NAME / t_fail NAME WHY   report one case
#   t_run NAME EXPECTED_STATUS CMD...   run CMD, check its status; output in $OUT/$ERR
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

t_done() { [ "$T_FAILED" -eq 0 ]; }
