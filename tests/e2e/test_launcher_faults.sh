# shellcheck shell=bash
# bed: --no-daemon
# Launcher faults (issue 6): tailscaled missing, crashing at start, hanging
# at start, a state/socket dir that cannot be written, a full disk, and a
# LocalAPI answering 500, garbage, non-JSON, JSON without BackendState,
# closing at once or never answering. Each: a clear message on stderr, a
# non-zero exit in bounded time, and no process of this test left behind.

lf_setup() {
    LF_DIR=$BED_DIR/lf/${FUNCNAME[1]}
    mkdir -p "$LF_DIR/state"
    export TSRUN_STATE_DIR=$LF_DIR/state TS_AUTHKEY=tskey-auth-e2e TS_HOSTNAME=sandbox-1
    unset TSRUN_SOCKET TSRUN_TAGS LD_PRELOAD
    trap '"$TSRUN" down >/dev/null 2>&1 || true' EXIT
}

# lf_run SECONDS CMD...: runs CMD, sets LF_OUT (stderr+stdout), LF_RC, LF_SECS.
lf_run() {
    local limit=$1 t0
    shift
    t0=$(date +%s%N)
    LF_RC=0
    LF_OUT=$(timeout -k 2 "$limit" "$@" 2>&1) || LF_RC=$?
    LF_SECS=$((($(date +%s%N) - t0) / 1000000000))
    printf 'rc=%s secs=%s\n%s\n' "$LF_RC" "$LF_SECS" "$LF_OUT"
    ((LF_RC != 124 && LF_RC != 137)) || _e2e_fail "not done within ${limit}s: $*"
    ((LF_RC != 0)) || _e2e_fail "exit status 0 for a fault: $*"
}

# Live (non-zombie) processes whose command line mentions this test's dir.
lf_leftovers() {
    local p st
    for p in /proc/[0-9]*; do
        st=$(awk '{print $3}' "$p/stat" 2>/dev/null) || continue
        [[ $st == Z ]] && continue
        tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$LF_DIR" && echo "${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline")"
    done
    return 0
}

assert_no_leftovers() {
    local i left
    # Give a dying child a moment to be reaped.
    for ((i = 0; i < 50; i++)); do
        left=$(lf_leftovers)
        [[ -z $left ]] && return 0
        _e2e_tick
    done
    _e2e_fail "processes left behind" "$left"
}

test_tailscaled_missing() {
    lf_setup
    TSRUN_TAILSCALED=$LF_DIR/no-such-tailscaled lf_run 20 "$TSRUN" true
    assert_eq 120 "$LF_RC"
    assert_contains "$LF_OUT" "$LF_DIR/no-such-tailscaled not found"
    assert_no_leftovers
}

test_tailscaled_not_executable() {
    lf_setup
    printf 'not a program\n' >"$LF_DIR/tailscaled"
    chmod 644 "$LF_DIR/tailscaled"
    TSRUN_TAILSCALED=$LF_DIR/tailscaled lf_run 30 "$TSRUN" true
    assert_eq 120 "$LF_RC"
    assert_contains "$LF_OUT" "$LF_DIR/tailscaled is not executable (chmod +x)"
    assert_not_contains "$LF_OUT" "not found"
    assert_no_leftovers
}

test_tailscaled_crashes_at_start() {
    lf_setup
    printf '#!/bin/sh\necho "panic: runtime error: invalid memory address" >&2\nkill -SEGV $$\n' >"$LF_DIR/tailscaled"
    chmod +x "$LF_DIR/tailscaled"
    TSRUN_TAILSCALED=$LF_DIR/tailscaled lf_run 30 "$TSRUN" true
    assert_eq 121 "$LF_RC"
    assert_contains "$LF_OUT" "exited during startup"
    assert_contains "$LF_OUT" "panic: runtime error" "the daemon's log tail"
    assert_no_leftovers
}

test_tailscaled_exits_silently() {
    lf_setup
    printf '#!/bin/sh\nexit 3\n' >"$LF_DIR/tailscaled"
    chmod +x "$LF_DIR/tailscaled"
    TSRUN_TAILSCALED=$LF_DIR/tailscaled lf_run 30 "$TSRUN" true
    assert_eq 121 "$LF_RC"
    assert_contains "$LF_OUT" "exited during startup"
    assert_contains "$LF_OUT" "$TSRUN_STATE_DIR/tailscaled.log is empty" "an empty log, said so"
    assert_no_leftovers
}

# timeout: 90
test_tailscaled_hangs_at_start() {
    lf_setup
    # Never opens its socket, and starts a child of its own: both must go.
    printf '#!/bin/bash\necho "starting (%s)" >&2\n(exec -a "child %s" sleep 300) &\nexec -a "daemon %s" sleep 301\n' \
        "$LF_DIR" "$LF_DIR" "$LF_DIR" >"$LF_DIR/tailscaled"
    chmod +x "$LF_DIR/tailscaled"
    TSRUN_TAILSCALED=$LF_DIR/tailscaled lf_run 60 "$TSRUN" --timeout 5 true
    assert_eq 121 "$LF_RC"
    assert_contains "$LF_OUT" "did not open its socket and SOCKS5 port within 5 s"
    ((LF_SECS <= 12)) || _e2e_fail "--timeout 5 does not bound the start: ${LF_SECS}s"
    # --timeout 1 still leaves a real daemon the minimum (5 s) to start.
    TSRUN_TAILSCALED=$LF_DIR/tailscaled lf_run 60 "$TSRUN" --timeout 1 true
    assert_contains "$LF_OUT" "within 5 s"
    assert_no_leftovers
}

test_state_dir_not_writable() {
    lf_setup
    # Root ignores modes: a read-only bind mount in a private mount namespace.
    # shellcheck disable=SC2016 # expanded by the inner sh
    lf_run 30 unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" true' \
        _ "$TSRUN_STATE_DIR" "$TSRUN"
    assert_contains "$LF_OUT" "$TSRUN_STATE_DIR"
    assert_contains "$LF_OUT" "Read-only file system"
    assert_no_leftovers
}

# timeout: 90
test_state_dir_disk_full() {
    lf_setup
    # A 64 KiB tmpfs (0700: a world-writable state dir is refused), filled up before tsrun starts.
    # shellcheck disable=SC2016 # expanded by the inner sh
    lf_run 60 unshare -m sh -c 'mount -t tmpfs -o size=64k,mode=0700 tsrun-full "$1" &&
        (dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null || true) && exec "$2" true' \
        _ "$TSRUN_STATE_DIR" "$TSRUN"
    assert_eq 125 "$LF_RC"
    assert_contains "$LF_OUT" "tsrun: cannot write $TSRUN_STATE_DIR/"
    assert_contains "$LF_OUT" "No space left on device"
    assert_no_leftovers
}

# fake_localapi MODE: a LocalAPI on a unix socket that misbehaves as MODE;
# sets LF_SOCK.
fake_localapi() {
    LF_SOCK=$LF_DIR/api.sock
    cat >"$LF_DIR/api.py" <<'PY'
import os, socket, sys, threading, time
mode, path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(16)
ANSWERS = {
    "http500": b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 6\r\nContent-Type: text/plain\r\n\r\nboom!\n",
    "garbage": bytes(range(256)) * 2,
    "notjson": b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: application/json\r\n\r\n{not json!!\n",
    "nobackend": b'HTTP/1.1 200 OK\r\nContent-Length: 15\r\nContent-Type: application/json\r\n\r\n{"Version":"1"}',
    "short": b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n{\"BackendState\":",
}
def handle(c):
    try:
        c.settimeout(5)
        c.recv(65536)
        if mode == "stall":
            time.sleep(600)
        c.sendall(ANSWERS.get(mode, b""))
    except OSError:
        pass
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
PY
    rm -f "$LF_SOCK"
    python3 "$LF_DIR/api.py" "$1" "$LF_SOCK" &
    wait_for_file "$LF_SOCK"
}

# localapi_case MODE WHAT: `tsrun --socket` and `tsrun --socket status` both
# fail cleanly against it and say WHAT went wrong (WHAT may hold @SOCK@).
localapi_case() {
    lf_setup
    fake_localapi "$1"
    local what=${2//@SOCK@/$LF_SOCK}
    lf_run 30 "$TSRUN" --socket "$LF_SOCK" true
    assert_eq 121 "$LF_RC"
    assert_contains "$LF_OUT" "tsrun: "
    assert_contains "$LF_OUT" "$LF_SOCK"
    assert_contains "$LF_OUT" "$what"
    assert_not_contains "$LF_OUT" "cannot reach"
    lf_run 30 "$TSRUN" --socket "$LF_SOCK" status
    assert_eq 121 "$LF_RC" "status: something answers, badly"
    assert_contains "$LF_OUT" "$LF_SOCK"
    assert_contains "$LF_OUT" "$what"
    assert_not_contains "$LF_OUT" "not running"
    lf_run 30 "$TSRUN" --socket "$LF_SOCK" status --json
    assert_contains "$LF_OUT" '"error": "'
    assert_no_leftovers_but_api
}

# The fake LocalAPI is ours and expected; anything else is a leftover.
assert_no_leftovers_but_api() {
    local left
    left=$(lf_leftovers | grep -vF "$LF_DIR/api.py" || true)
    [[ -z $left ]] || _e2e_fail "processes left behind" "$left"
}

test_localapi_http_500() { localapi_case http500 "LocalAPI answered HTTP 500 from @SOCK@: boom!"; }
test_localapi_garbage() { localapi_case garbage "LocalAPI at @SOCK@ sent a reply that is not HTTP"; }
test_localapi_not_json() { localapi_case notjson "LocalAPI sent a status that is not valid JSON ("; }
test_localapi_no_backend_state() { localapi_case nobackend "sent an unusable status (no BackendState"; }
test_localapi_truncated_body() { localapi_case short "LocalAPI at @SOCK@ cut its reply short"; }
test_localapi_closes_at_once() { localapi_case close "LocalAPI at @SOCK@ closed the connection without an answer"; }
# timeout: 90
test_localapi_never_answers() { localapi_case stall "LocalAPI at @SOCK@ did not answer within 3 s"; }

# Nothing listens: that, and only that, is "not running" (exit 1).
test_localapi_nothing_listens() {
    lf_setup
    lf_run 30 "$TSRUN" --socket "$LF_DIR/none.sock" status
    assert_eq 1 "$LF_RC"
    assert_contains "$LF_OUT" "not running (no tailscaled answers at $LF_DIR/none.sock)"
}
