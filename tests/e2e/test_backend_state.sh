# User story: tailscaled is up but not Running (logged out, stopped); a
# tailnet connect fails at once with ECONNREFUSED and one hint, instead of
# stalling 5 s per dial. Also: TSRUN_* variables override the root-owned
# /etc/tsrun/tsrun.conf key by key instead of replacing it.
# bed: --no-daemon

export TSRUN_STATE_DIR=$BED_DIR/state TS_HOSTNAME=sandbox-1

# curl_tailnet: exit status and stderr of a preloaded curl to the peer, with
# only the state tsrun left behind (global-preload style environment).
curl_tailnet() {
    LD_PRELOAD=$SHIM TSRUN_SOCKS5=$(<"$TSRUN_STATE_DIR/socks5") \
        TSRUN_NAMES=$TSRUN_STATE_DIR/names \
        curl -sS --max-time 20 "http://$BED_PEER_V4/" 2>&1
}

# map_has FILE LINE: the (binary) name map, printed by namesdump, has LINE.
map_has() {
    "$REPO/$B/tests/progs/namesdump" "$1" 2>/dev/null | grep -xF -- "$2" >/dev/null
}

test_map_records_the_backend_state() {
    TS_AUTHKEY=tskey-auth-e2e "$TSRUN" up --background >/dev/null 2>&1
    assert_contains "$("$REPO/$B/tests/progs/namesdump" "$TSRUN_STATE_DIR/names")" $'\nbackend Running\n'
    assert_eq "hello from db" "$(curl_tailnet)"
    "$TSRUN" down >/dev/null 2>&1
}

test_stopped_backend_fails_fast_with_one_hint() {
    TS_AUTHKEY=tskey-auth-e2e "$TSRUN" up --background >/dev/null 2>&1
    tailscale --socket="$TSRUN_STATE_DIR/tailscaled.sock" down
    # The supervisor rewrites the map on the state change.
    _e2e_poll 10 map_has "$TSRUN_STATE_DIR/names" 'backend Stopped' ||
        _e2e_fail "the map never said: backend Stopped"
    local out rc=0 start=$SECONDS
    out=$(LD_PRELOAD=$SHIM TSRUN_SOCKS5=$(<"$TSRUN_STATE_DIR/socks5") \
        TSRUN_NAMES=$TSRUN_STATE_DIR/names python3 -c '
import errno, socket, sys
for _ in range(2):
    s = socket.socket()
    try:
        s.connect((sys.argv[1], 80))
        print("connected")
    except OSError as e:
        print(errno.errorcode[e.errno])
' "$BED_PEER_V4" 2>"$BED_DIR/stderr") || rc=$?
    assert_eq 0 "$rc"
    assert_eq $'ECONNREFUSED\nECONNREFUSED' "$out"
    assert_eq 1 "$(grep -c 'not Running (state Stopped)' "$BED_DIR/stderr")" "exactly one hint"
    ((SECONDS - start < 4)) || _e2e_fail "took $((SECONDS - start)) s: the 5 s dial stall was not avoided"
    "$TSRUN" down >/dev/null 2>&1
}

# in_etc_overlay DIR CMD...: CMD in a private mount ns whose /etc has DIR's
# tsrun/tsrun.conf on top of the real /etc (the host's /etc is untouched).
in_etc_overlay() {
    local d=$1
    shift
    unshare -m --propagation private bash -c '
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/work" /etc || exit 99
        shift; exec "$@"' _ "$d" "$@"
}

test_environment_overrides_the_file_key_by_key() {
    local d=$BED_DIR/etc
    mkdir -p "$d/upper/tsrun" "$d/work"
    TS_AUTHKEY=tskey-auth-e2e "$TSRUN" up --background >/dev/null 2>&1
    printf 'socks5 = %s\nnames = %s\n' "$(<"$TSRUN_STATE_DIR/socks5")" \
        "$TSRUN_STATE_DIR/names" >"$d/upper/tsrun/tsrun.conf"
    chmod 0644 "$d/upper/tsrun/tsrun.conf"
    local out
    # TSRUN_DEBUG alone must not discard the file's socks5 and names.
    out=$(in_etc_overlay "$d" env LD_PRELOAD="$SHIM" TSRUN_DEBUG=1 \
        curl -sS --max-time 10 http://db/ 2>&1)
    assert_contains "$out" "hello from db"
    # curl's socket is non-blocking: the request goes out in connect(), the
    # reply comes later (asynchronous connect).
    assert_contains "$out" "tunnel via $(<"$TSRUN_STATE_DIR/socks5"): request sent, reply pending"
    assert_contains "$out" "tunnel up: SOCKS5 reply"
    # A variable still wins over the file for its own key.
    out=$(in_etc_overlay "$d" env LD_PRELOAD="$SHIM" TSRUN_DEBUG=1 \
        TSRUN_SOCKS5=127.0.0.1:9 curl -sS --max-time 10 "http://$BED_PEER_V4/" 2>&1) || true
    assert_contains "$out" "tunnel via 127.0.0.1:9: Connection refused"
    "$TSRUN" down >/dev/null 2>&1
}
