# Polling helpers for tests that wait on processes (source it):
#   wait_for SECONDS CMD...   polls CMD every 50 ms until it succeeds, or fails after SECONDS
#   count PATTERN FILE        lines of FILE containing PATTERN (0 if none or no file)
#   has PATTERN FILE          FILE contains PATTERN
#   at_least N PATTERN FILE   FILE has at least N lines containing PATTERN
# Tests poll for conditions instead of sleeping fixed times, so a loaded
# machine slows them down rather than failing them.
wait_for() {
    local limit=$(($1 * 20)) i=0
    shift
    while ! "$@" 2>/dev/null; do
        i=$((i + 1))
        [ $i -ge $limit ] && return 1
        sleep 0.05
    done
}
count() { grep -c -- "$1" "$2" 2>/dev/null || true; }
has() { grep -q -- "$1" "$2"; }
at_least() { [ "$(count "$2" "$3")" -ge "$1" ]; }
