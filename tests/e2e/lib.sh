# shellcheck shell=bash
# End-to-end test library: sourced inside tests/bed/bed by tests/e2e/run.
#
#   e2e_main            run every test_* function (definition order), each in
#                       its own subshell + process group with a timeout
#   assert_*            print expected vs actual and fail the current test
#   bed_require_ns      refuse to run outside the bed's client namespace
#   wait_for_port / wait_for_file / wait_for_line   bounded polling
#   e2e_skip REASON     pass the current test as "# SKIP REASON"
#
# Env: E2E_FILTER=regex selects tests; E2E_TEST_TIMEOUT (default 60 s);
# E2E_VERBOSE=1 prints passing tests' output too.
#
# Tests run under `set -Eeuo pipefail`: never `producer | grep -q`, which exits
# at the first match and can leave the producer to die of SIGPIPE, failing
# the pipeline at random; write `producer | grep ... >/dev/null`.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${B:-build}
SHIM=$REPO/$B/libtsshim.so
TSRUN=$REPO/$B/tsrun
PROGS=$REPO/$B/tests/progs
# SHIM_PRELOAD: the LD_PRELOAD value that loads the shim with its sanitizer
# runtime first. With a plain build it is $SHIM. With `make asan` the shim
# links libasan: $SHIM alone (runtime loaded as a dependency, allowed by
# verify_asan_link_order=0) suits most programs but crashes node at start;
# libasan first suits node but deadlocks curl/git in glibc's setlocale lock
# (llvm/llvm-project#49223). Foreign programs' own leaks are not ours.
# SHIM_SANITIZER=address marks such a build, for tests that must step aside.
SHIM_PRELOAD=$SHIM
SHIM_SANITIZER=
if [[ -f $SHIM ]]; then
    _e2e_rt=$(ldd "$SHIM" 2>/dev/null | awk '$1 ~ /^libasan\.so/ {print $3; exit}')
    if [[ -n $_e2e_rt ]]; then
        SHIM_PRELOAD=$_e2e_rt:$SHIM
        SHIM_SANITIZER=address
        export ASAN_OPTIONS=${ASAN_OPTIONS:-verify_asan_link_order=0:detect_leaks=0}
    fi
    unset _e2e_rt
fi
export REPO B SHIM SHIM_PRELOAD SHIM_SANITIZER TSRUN PROGS

# ---------------------------------------------------------------- assertions

_e2e_fail() {
    local msg=$1
    shift
    {
        echo "FAIL: $msg"
        local line
        for line in "$@"; do printf '    %s\n' "$line"; done
        echo "    at ${BASH_SOURCE[2]##*/}:${BASH_LINENO[1]} (${FUNCNAME[2]})"
    } >&2
    exit 1
}

# assert_eq EXPECTED ACTUAL [MESSAGE]
assert_eq() {
    [[ $1 == "$2" ]] || _e2e_fail "${3:-values differ}" "expected: $(printf %q "$1")" "actual:   $(printf %q "$2")"
}

assert_ne() {
    [[ $1 != "$2" ]] || _e2e_fail "${3:-values are equal}" "both: $(printf %q "$1")"
}

# assert_contains HAYSTACK NEEDLE [MESSAGE]
assert_contains() {
    [[ $1 == *"$2"* ]] || _e2e_fail "${3:-missing substring}" "wanted: $(printf %q "$2")" "in:     $(printf %q "${1:0:2000}")"
}

assert_not_contains() {
    [[ $1 != *"$2"* ]] || _e2e_fail "${3:-unexpected substring}" "unwanted: $(printf %q "$2")" "in:       $(printf %q "${1:0:2000}")"
}

# assert_status EXPECTED CMD [ARGS...]: run CMD, compare its exit status.
assert_status() {
    local want=$1 got=0
    shift
    "$@" || got=$?
    ((got == want)) || _e2e_fail "exit status of: $*" "expected: $want" "actual:   $got"
}

# assert_file_eq FILE EXPECTED_CONTENT
assert_file_eq() {
    [[ -f $1 ]] || _e2e_fail "no such file: $1"
    local got
    got=$(<"$1")
    [[ $got == "$2" ]] || _e2e_fail "content of $1" "expected: $(printf %q "$2")" "actual:   $(printf %q "$got")"
}

# ---------------------------------------------------------------- waiting
# Bounded polling: a 20 ms interval between checks, never a sleep as sync.

_e2e_tick() { read -rt 0.02 -u "$_E2E_TICK" || true; }

_e2e_poll() {
    local t=$1 i
    shift
    for ((i = 0; i < t * 50; i++)); do
        "$@" && return 0
        _e2e_tick
    done
    return 1
}

_e2e_port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_for_port HOST PORT [TIMEOUT_S]
wait_for_port() {
    _e2e_poll "${3:-10}" _e2e_port_open "$1" "$2" || _e2e_fail "timed out waiting for $1:$2"
}

# wait_for_file FILE [TIMEOUT_S]
wait_for_file() {
    _e2e_poll "${2:-10}" test -e "$1" || _e2e_fail "timed out waiting for file $1"
}

# wait_for_line FILE REGEX [TIMEOUT_S]   (extended regex)
wait_for_line() {
    _e2e_poll "${3:-10}" grep -Eq -- "$2" "$1" 2>/dev/null ||
        _e2e_fail "timed out waiting for /$2/ in $1" "$(tail -n 5 "$1" 2>/dev/null)"
}

# wait_for_exit PID [TIMEOUT_S]: wait for a child and return its status.
wait_for_exit() {
    _e2e_poll "${2:-10}" eval "! kill -0 $1 2>/dev/null" || _e2e_fail "process $1 still running"
    local rc=0
    wait "$1" || rc=$?
    return "$rc"
}

# ---------------------------------------------------------------- the bed

# bed_require_ns: exit 2 unless inside the bed's client namespace, so a test
# can never reach a real network.
bed_require_ns() {
    if [[ ${BED_INSIDE:-} != 1 ]]; then
        echo "bed_require_ns: not inside tests/bed/bed (BED_INSIDE is not 1); refusing to run" >&2
        exit 2
    fi
    local others
    others=$(ip -o link show | awk -F': ' '{print $2}' | grep -v '^lo$' || true)
    if [[ -n $others ]]; then
        echo "bed_require_ns: this netns has interfaces other than lo: $others; refusing to run" >&2
        exit 2
    fi
    if ip route get 100.88.12.5 >/dev/null 2>&1; then
        echo "bed_require_ns: 100.88.12.5 is routable from here; refusing to run" >&2
        exit 2
    fi
}

# bed_logs_tail [N]: the last N lines of every server log.
bed_logs_tail() {
    local f
    for f in "${BED_LOGS:-/nonexistent}"/*; do
        [[ -s $f ]] || continue
        echo "--- ${f##*/} (tail)"
        tail -n "${1:-15}" "$f"
    done
}

# ---------------------------------------------------------------- runner

# With set -eE: name the command that made a test fail.
_e2e_on_err() {
    local rc=$?
    echo "FAIL: command exited $rc: $BASH_COMMAND (${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]})" >&2
}

_e2e_tests() {
    # Definition order: extdebug makes declare -F print the line number.
    local fn
    shopt -s extdebug
    for fn in $(declare -F | awk '$3 ~ /^test_/ {print $3}'); do
        declare -F "$fn"
    done | sort -k2,2n | awk '{print $1, $2}'
    shopt -u extdebug
}

# e2e_skip REASON: end the current test as passed, shown as
# "ok - FILE: TEST # SKIP REASON" (for what this machine cannot run).
e2e_skip() {
    echo "SKIP: $*"
    exit 0
}

# _e2e_timeout LINE: N from a "# timeout: N" line right above the test's
# definition line, else E2E_TEST_TIMEOUT (default 60).
_e2e_timeout() {
    local above=""
    if [[ -n ${E2E_FILE:-} && -f $E2E_FILE && $1 -gt 1 ]]; then
        above=$(sed -n "$(($1 - 1))p" "$E2E_FILE")
    fi
    if [[ $above =~ ^#\ timeout:\ *([0-9]+) ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo "${E2E_TEST_TIMEOUT:-60}"
    fi
}

e2e_main() {
    bed_require_ns
    local file=${E2E_FILE:-${BASH_SOURCE[1]:-e2e}}
    file=${file##*/}
    local fn line out rc pass=0 fail=0 t
    out=$(mktemp "${BED_DIR:-/tmp}/e2e-out.XXXXXX")
    while read -r fn line; do
        if [[ -n ${E2E_FILTER:-} ]] && ! [[ $fn =~ $E2E_FILTER ]]; then
            continue
        fi
        t=$(_e2e_timeout "$line")
        # Each test runs in its own session/process group (setsid), so a
        # timeout or the cleanup after it kills everything it started; with
        # SIGINT/SIGQUIT at their defaults (bash ignores them for "&" jobs).
        if [[ -n ${E2E_FILE:-} ]]; then
            # shellcheck disable=SC2016 # expanded by the inner bash
            setsid env --default-signal=INT,QUIT bash -c 'source "$REPO/tests/e2e/lib.sh" && source "$E2E_FILE" &&
                set -Eeuo pipefail && trap _e2e_on_err ERR && "$1"' _ "$fn" </dev/null >"$out" 2>&1 &
        else
            (set -Eeuo pipefail; trap _e2e_on_err ERR; "$fn") </dev/null >"$out" 2>&1 &
        fi
        local tp=$! i timed_out=0
        for ((i = 0; i < t * 50; i++)); do
            kill -0 "$tp" 2>/dev/null || break
            _e2e_tick
        done
        if kill -0 "$tp" 2>/dev/null; then
            timed_out=1
            kill -TERM -- "-$tp" 2>/dev/null
            for ((i = 0; i < 100; i++)); do
                kill -0 "$tp" 2>/dev/null || break
                _e2e_tick
            done
            kill -KILL -- "-$tp" 2>/dev/null
        fi
        rc=0
        wait "$tp" || rc=$?
        kill -KILL -- "-$tp" 2>/dev/null # whatever the test left behind
        if ((rc == 0 && !timed_out)); then
            pass=$((pass + 1))
            local skipped
            skipped=$(sed -n 's/^SKIP: //p' "$out" | head -n 1)
            echo "ok - $file: $fn${skipped:+ # SKIP $skipped}"
            [[ ${E2E_VERBOSE:-0} == 1 ]] && sed 's/^/    /' "$out"
        else
            fail=$((fail + 1))
            echo "not ok - $file: $fn"
            if ((timed_out)); then echo "    (timed out after ${t}s)"; else echo "    (exit status $rc)"; fi
            sed 's/^/    /' "$out"
            bed_logs_tail 10 | sed 's/^/    /'
        fi
    done < <(_e2e_tests)
    rm -f "$out"
    echo "# $file: $pass passed, $fail failed"
    ((fail == 0))
}

exec {_E2E_TICK}<> <(:)
