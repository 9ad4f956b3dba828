# shellcheck shell=bash
# The shared event-loop clients (tests/clients/, issue 11): they count
# successes and name failures by error code, without the shim against a
# loopback server and with it through the fake tailscaled. Timing figures
# they print are for the bench; nothing here asserts on them.

CLIENTS=$REPO/tests/clients

# start_hello: tests/clients/hello_server.py on 127.0.0.1, port in HELLO_PORT.
start_hello() {
    python3 "$CLIENTS/hello_server.py" --host 127.0.0.1 >"$BED_DIR/hello.port" &
    wait_for_line "$BED_DIR/hello.port" '^port=[0-9]+$'
    HELLO_PORT=$(sed -n 's/^port=//p' "$BED_DIR/hello.port")
}

# line_ok OUT N: the result line says N successes and no errors.
line_ok() {
    assert_contains "$1" " ok=$2 errors=none"
    assert_contains "$1" "total_ms="
    assert_contains "$1" "max_lag_ms="
}

test_node_client_loopback_http_and_echo() {
    start_hello
    line_ok "$(node "$CLIENTS/loop_lag.js" --n 100 "http://127.0.0.1:$HELLO_PORT/")" 100
    line_ok "$(node "$CLIENTS/loop_lag.js" --n 20 "127.0.0.1:$HELLO_PORT")" 20
}

test_asyncio_client_loopback_http_and_echo() {
    start_hello
    line_ok "$(python3 "$CLIENTS/asyncio_lag.py" --n 50 "http://127.0.0.1:$HELLO_PORT/")" 50
    line_ok "$(python3 "$CLIENTS/asyncio_lag.py" --n 20 "127.0.0.1:$HELLO_PORT")" 20
}

test_clients_name_refused_and_exit_1() {
    local out rc
    for c in "node $CLIENTS/loop_lag.js" "python3 $CLIENTS/asyncio_lag.py"; do
        for t in http://127.0.0.1:9/ 127.0.0.1:9; do
            rc=0
            out=$($c --n 5 "$t") || rc=$?
            assert_eq 1 "$rc" "$c $t"
            assert_contains "$out" " ok=0 errors=ECONNREFUSED:5"
        done
    done
}

test_clients_timeout_counts_what_is_left() {
    # A listener that never accepts: connects complete (backlog), the
    # request is never answered, so every connection is still open at the end.
    local out rc=0
    python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(64)
print("port=%d" % s.getsockname()[1], flush=True); time.sleep(60)' >"$BED_DIR/mute.port" &
    wait_for_line "$BED_DIR/mute.port" '^port=[0-9]+$'
    local port
    port=$(sed -n 's/^port=//p' "$BED_DIR/mute.port")
    out=$(node "$CLIENTS/loop_lag.js" --n 3 --timeout-ms 300 "http://127.0.0.1:$port/") || rc=$?
    assert_eq 1 "$rc"
    assert_contains "$out" " ok=0 errors=TIMEOUT:3"
    rc=0
    out=$(python3 "$CLIENTS/asyncio_lag.py" --n 3 --timeout-ms 300 "127.0.0.1:$port") || rc=$?
    assert_eq 1 "$rc"
    assert_contains "$out" " ok=0 errors=TIMEOUT:3"
}

test_clients_warmup_bursts_are_not_counted() {
    # --warmup W --warmup-bursts K: W single connections, then K unmeasured
    # bursts of N, then the measured N. An echo server that logs every accept
    # sees W + K*N + N; the result line counts N.
    python3 -c 'import socket,sys,threading
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(64)
log=open(sys.argv[1],"a",buffering=1)
print("port=%d" % s.getsockname()[1], flush=True)
def serve(c):
    f=c.makefile("rb"); line=f.readline(); c.sendall(line); c.close()
while True:
    c,_=s.accept(); log.write("accept\n"); threading.Thread(target=serve,args=(c,),daemon=True).start()' \
        "$BED_DIR/accepts" >"$BED_DIR/count.port" &
    wait_for_line "$BED_DIR/count.port" '^port=[0-9]+$'
    local port c
    port=$(sed -n 's/^port=//p' "$BED_DIR/count.port")
    for c in "node $CLIENTS/loop_lag.js" "python3 $CLIENTS/asyncio_lag.py"; do
        : >"$BED_DIR/accepts"
        line_ok "$($c --n 4 --warmup 1 --warmup-bursts 2 "127.0.0.1:$port")" 4
        assert_eq 13 "$(wc -l <"$BED_DIR/accepts")" "$c: accepts"
    done
}

test_clients_through_the_shim_and_the_fake() {
    local via=(env LD_PRELOAD="$SHIM_PRELOAD" TSRUN_SOCKS5="$BED_SOCKS5")
    line_ok "$("${via[@]}" node "$CLIENTS/loop_lag.js" --n 20 "http://$BED_PEER_V4/")" 20
    line_ok "$("${via[@]}" node "$CLIENTS/loop_lag.js" --n 20 "$BED_PEER_V4:$BED_ECHO_PORT")" 20
    line_ok "$("${via[@]}" python3 "$CLIENTS/asyncio_lag.py" --n 20 "http://$BED_PEER_V4/")" 20
    line_ok "$("${via[@]}" python3 "$CLIENTS/asyncio_lag.py" --n 20 "$BED_PEER_V4:$BED_ECHO_PORT")" 20
}
