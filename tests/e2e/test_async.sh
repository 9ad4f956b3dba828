# shellcheck shell=bash disable=SC2016
# (SC2016: inner node/python programs expand their own variables.)
# Asynchronous connect (issue 11): a non-blocking connect() to the tailnet
# returns EINPROGRESS at once; the SOCKS5 reply, which tailscaled sends only
# after dialling the peer, is consumed by the poll/select gates, SO_ERROR and
# the read-side hooks, never seen by the app. No timing assertions: overlap is
# proven with a proxy that answers only once N connects are waiting at once
# (faultsocks --barrier N), which a shim that waits inside connect() never
# reaches.

PROBE=$PROGS/asyncprobe
FAULT=$PROGS/faultsocks

field() { sed -n "s/^$1=//p" <<<"$2" | head -1; }

# start_fault [FAULTSOCKS ARGS...]: sets FAULT_PORT.
start_fault() {
    local f
    f=$(mktemp "$BED_DIR/fault.XXXXXX")
    "$FAULT" "$@" >"$f" 2>>"$BED_LOGS/faultsocks.log" &
    wait_for_line "$f" '^port=[0-9]+$'
    FAULT_PORT=$(sed -n 's/^port=//p' "$f")
}

# shim PROXY_ADDR CMD...: CMD with the shim, pointed at PROXY_ADDR, with
# pipelining as tsrun sets it for tailscaled (the fake and faultsocks read
# the request exactly; microsocks tests set TSRUN_SOCKS5_PIPELINE=0).
# Node gets $SHIM_PRELOAD (libasan first under `make asan`), every other
# program $SHIM (libasan first deadlocks curl in setlocale: tests/e2e/lib.sh).
shim() {
    local proxy=$1 preload=$SHIM
    shift
    [[ $1 == node ]] && preload=$SHIM_PRELOAD
    env LD_PRELOAD="$preload" TSRUN_SOCKS5="$proxy" \
        TSRUN_SOCKS5_PIPELINE="${TSRUN_SOCKS5_PIPELINE:-1}" "$@"
}

NODE_PAR='
const net = require("net");
const [host, port, n] = [process.argv[1], +process.argv[2], +process.argv[3]];
let done = 0, ok = 0; const errs = {};
for (let i = 0; i < n; i++) {
  const s = net.connect(port, host);
  s.setTimeout(15000, () => s.destroy(new Error("timeout")));
  s.on("connect", () => s.write("ping"));
  s.on("data", d => { if (d.toString() === "ping") ok++; s.destroy(); fin(); });
  s.on("error", e => { errs[e.code || e.message] = (errs[e.code || e.message] || 0) + 1; fin(); });
}
function fin() { if (++done === n) console.log("ok=" + ok + " errors=" + JSON.stringify(errs)); }
'

PY_ASYNCIO='
import asyncio, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
async def one():
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 15)
        # No drain(): when the tunnel fails between the connect and a drain,
        # asyncio raises its own ConnectionResetError("Connection lost") from
        # drain() however the first read failed; the read says why.
        w.write(b"ping")
        got = await asyncio.wait_for(r.readexactly(4), 15)
        w.close()
        return "ok" if got == b"ping" else "bad:%r" % got
    except Exception as e:
        return type(e).__name__
async def main():
    res = await asyncio.gather(*[one() for _ in range(n)])
    print(" ".join(sorted(set("%s*%d" % (r, res.count(r)) for r in res))))
asyncio.run(main())
'

# ------------------------------------------------------------ overlap

test_node_connects_overlap() {
    start_fault --barrier 20 --delay-ms 50
    assert_eq 'ok=20 errors={}' "$(shim "127.0.0.1:$FAULT_PORT" node -e "$NODE_PAR" "$BED_PEER_V4" 7 20)"
}

test_asyncio_connects_overlap() {
    start_fault --barrier 50 --delay-ms 50
    assert_eq 'ok*50' "$(shim "127.0.0.1:$FAULT_PORT" python3 -c "$PY_ASYNCIO" "$BED_PEER_V4" 7 50)"
}

# Servers that drop pipelined bytes (microsocks; TSRUN_SOCKS5_PIPELINE=0):
# connect() does not wait for the method reply (the CONNECT goes out when it
# arrives), and a non-blocking write before the CONNECT reply gets EAGAIN
# instead of waiting for the dial; both still end at the shim's deadline.
test_no_waits_without_pipelining() {
    local out
    start_fault --mute
    out=$(TSRUN_SOCKS5_PIPELINE=0 TSRUN_CONNECT_TIMEOUT_MS=1000 shim "127.0.0.1:$FAULT_PORT" \
        "$PROBE" gate "$BED_PEER_V4" 7)
    assert_eq EINPROGRESS "$(field connect "$out")" "$out"
    assert_eq ETIMEDOUT "$(field so_error "$out")" "$out"
    start_fault --hold
    out=$(TSRUN_SOCKS5_PIPELINE=0 TSRUN_CONNECT_TIMEOUT_MS=1000 shim "127.0.0.1:$FAULT_PORT" \
        "$PROBE" readfirst "$BED_PEER_V4" 7)
    assert_eq EINPROGRESS "$(field connect "$out")" "$out"
    assert_eq EAGAIN "$(field send0 "$out")" "$out"
    assert_eq ETIMEDOUT "$(field read0 "$out")" "$out"
    # And with answers, the requests of 20 and 50 connects meet at once.
    start_fault --drop-pipelined --barrier 20 --delay-ms 50
    assert_eq 'ok=20 errors={}' "$(TSRUN_SOCKS5_PIPELINE=0 shim "127.0.0.1:$FAULT_PORT" \
        node -e "$NODE_PAR" "$BED_PEER_V4" 7 20)"
    start_fault --drop-pipelined --barrier 50 --delay-ms 50
    assert_eq 'ok*50' "$(TSRUN_SOCKS5_PIPELINE=0 shim "127.0.0.1:$FAULT_PORT" \
        python3 -c "$PY_ASYNCIO" "$BED_PEER_V4" 7 50)"
}

test_curl_parallel_overlaps() {
    local urls=() i out
    # Each tunnel answers with an HTTP response right behind the reply.
    start_fault --barrier 5 --delay-ms 50 \
        --data "$(printf 'HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n' | od -An -tx1 | tr -d ' \n')"
    for i in 1 2 3 4 5; do urls+=("http://$BED_PEER_V4:$((8000 + i))/"); done
    out=$(shim "127.0.0.1:$FAULT_PORT" curl -sS --max-time 15 --parallel --parallel-immediate \
        "${urls[@]}" 2>"$BED_DIR/curl.err") || _e2e_fail "curl --parallel through a barrier proxy" \
        "$out" "$(cat "$BED_DIR/curl.err")"
    assert_eq 5 "$(grep -c '^ok$' <<<"$out")" "$out"
}

# Java NIO: non-blocking SocketChannels on one Selector; finishConnect()
# polls and reads SO_ERROR, so a refused port fails at connect time.
test_java_nio_connects() {
    local nio=$REPO/tests/clients/NioConnect.java
    start_fault --barrier 10 --delay-ms 50
    assert_eq 'ok=10 errors=none' "$(shim "127.0.0.1:$FAULT_PORT" java "$nio" "$BED_PEER_V4" 7 10)"
    assert_eq 'ok=20 errors=none' "$(shim "$BED_SOCKS5" java "$nio" "$BED_PEER_V6" "$BED_ECHO_PORT" 20)"
    assert_eq 'ok=0 errors=ConnectException(Connection refused):3' \
        "$(shim "$BED_SOCKS5" java "$nio" "$BED_PEER_V4" "$BED_REFUSED_PORT" 3)"
    assert_eq 'ok=20 errors=none' "$(TSRUN_SOCKS5_PIPELINE=0 shim "$BED_MICROSOCKS" \
        java "$nio" "$BED_PEER_V4" "$BED_ECHO_PORT" 20)"
    assert_eq 'ok=0 errors=ConnectException(Connection refused):2' \
        "$(shim "$BED_DANTE" java "$nio" "$BED_PEER_V4" "$BED_REFUSED_PORT" 2)"
}

test_fake_tailscaled_node_asyncio_many() {
    assert_eq 'ok=100 errors={}' "$(shim "$BED_SOCKS5" node -e "$NODE_PAR" "$BED_PEER_V4" "$BED_ECHO_PORT" 100)"
    assert_eq 'ok*50' "$(shim "$BED_SOCKS5" python3 -c "$PY_ASYNCIO" "$BED_PEER_V6" "$BED_ECHO_PORT" 50)"
}

# ------------------------------------------------------------ errors

test_errors_on_every_runtime() {
    local out rc
    # Refused port on a reachable peer: poll-driven curl gets a connect
    # failure (exit 7, not 56); epoll loops get the errno on the first read.
    rc=0
    out=$(shim "$BED_SOCKS5" curl -sS --max-time 10 "http://$BED_PEER_V4:$BED_REFUSED_PORT/" 2>&1) || rc=$?
    assert_eq 7 "$rc" "$out"
    assert_eq 'ok=0 errors={"ECONNREFUSED":3}' \
        "$(shim "$BED_SOCKS5" node -e "$NODE_PAR" "$BED_PEER_V4" "$BED_REFUSED_PORT" 3)"
    assert_eq 'ConnectionRefusedError*3' \
        "$(shim "$BED_SOCKS5" python3 -c "$PY_ASYNCIO" "$BED_PEER_V4" "$BED_REFUSED_PORT" 3)"
    out=$(shim "$BED_SOCKS5" python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(5)
try: s.connect((sys.argv[1], int(sys.argv[2]))); print("connected")
except OSError as e: print(type(e).__name__, e.errno)' "$BED_PEER_V4" "$BED_REFUSED_PORT")
    assert_eq "ConnectionRefusedError 111" "$out"
    # Offline peer (the name map says so): refused at once, no EINPROGRESS.
    out=$(env TSRUN_NAMES="$BED_NAMES" LD_PRELOAD="$SHIM_PRELOAD" TSRUN_SOCKS5="$BED_SOCKS5" \
        "$PROBE" gate "$BED_OFFLINE_V4" 80)
    assert_eq EHOSTUNREACH "$(field connect "$out")" "$out"
    # Proxy down: refused by the local step, at once.
    out=$(shim 127.0.0.1:9 env TSRUN_QUIET=1 "$PROBE" gate "$BED_PEER_V4" 7)
    assert_eq ECONNREFUSED "$(field connect "$out")" "$out"
    # Garbage reply (after a 200 ms "dial", so that the second connect()
    # still finds it pending): ECONNREFUSED through the gate and a read.
    start_fault --reply 47415242414745 --delay-ms 200
    out=$(shim "127.0.0.1:$FAULT_PORT" "$PROBE" gate "$BED_PEER_V4" 7)
    assert_eq "poll=1 out=1 err=1" "$(grep '^poll=' <<<"$out")" "$out"
    assert_eq ECONNREFUSED "$(field so_error "$out")" "$out"
    assert_eq 0 "$(field so_error2 "$out")" "the error is reported once: $out"
    out=$(shim "127.0.0.1:$FAULT_PORT" "$PROBE" readfirst "$BED_PEER_V4" 7)
    assert_eq ECONNREFUSED "$(field read1 "$out")" "$out"
    assert_ne ECONNREFUSED "$(field read2 "$out")" "reported once: $out"
}

test_stall_respects_app_timeouts() {
    local out rc=0 t0 t1
    # A proxy that accepts and never answers: curl's own -m decides.
    start_fault --hold
    out=$(shim "127.0.0.1:$FAULT_PORT" curl -sS --max-time 2 "http://$BED_PEER_V4/" 2>&1) || rc=$?
    assert_eq 28 "$rc" "$out"
    assert_contains "$out" "Connection timed out after" "curl's own timer fired, not the shim's"
    out=$(shim "127.0.0.1:$FAULT_PORT" python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(1)
try: s.connect((sys.argv[1], 80)); print("connected")
except OSError as e: print(type(e).__name__, e.args)' "$BED_PEER_V4")
    assert_eq "TimeoutError ('timed out',)" "$out" "Python settimeout() decides"
    # The shim's own deadline still bounds a pending handshake: ETIMEDOUT.
    out=$(TSRUN_CONNECT_TIMEOUT_MS=300 shim "127.0.0.1:$FAULT_PORT" "$PROBE" gate "$BED_PEER_V4" 80)
    assert_eq ETIMEDOUT "$(field so_error "$out")" "$out"
    out=$(TSRUN_CONNECT_TIMEOUT_MS=300 shim "127.0.0.1:$FAULT_PORT" "$PROBE" readfirst "$BED_PEER_V4" 80)
    assert_eq ETIMEDOUT "$(field read1 "$out")" "$out"
}

# ------------------------------------------------------------ corner cases

test_gate_semantics() {
    local out mode
    # A 300 ms "dial" (an echo server behind it) keeps the reply away while
    # the probe connects a second time.
    start_fault --delay-ms 300
    for mode in gate select; do
        out=$(shim "127.0.0.1:$FAULT_PORT" "$PROBE" "$mode" "$BED_PEER_V4" 7)
        assert_eq EINPROGRESS "$(field connect "$out")" "$out"
        assert_eq EALREADY "$(field again "$out")" "a second connect while pending: $out"
        assert_eq 0 "$(field so_error "$out")" "$out"
        assert_eq EISCONN "$(field again2 "$out")" "a connect after success: $out"
        assert_eq "$BED_PEER_V4" "$(field peer "$out")" "$out"
        assert_eq "[ping]" "$(field echo "$out")" "$out"
        out=$(shim "$BED_SOCKS5" "$PROBE" "$mode" "$BED_PEER_V4" "$BED_ECHO_PORT")
        assert_eq EINPROGRESS "$(field connect "$out")" "$out"
        assert_eq 0 "$(field so_error "$out")" "$out"
        assert_eq EISCONN "$(field again2 "$out")" "a connect after success: $out"
        assert_eq "$BED_PEER_V4" "$(field peer "$out")" "$out"
        assert_eq "[ping]" "$(field echo "$out")" "$out"
    done
    out=$(shim "$BED_SOCKS5" "$PROBE" gate "$BED_PEER_V6" "$BED_ECHO_PORT")
    assert_eq "$BED_PEER_V6" "$(field peer "$out")" "$out"
    assert_eq "[ping]" "$(field echo "$out")" "$out"
}

test_reply_split_at_every_byte() {
    local out mode got
    # The reply trickles in byte by byte (5 ms apart), with the app's first
    # bytes ("hi") in the same segment as its last byte; the echo of "ping"
    # follows.
    start_fault --trickle-ms 5 --data 6869
    for mode in gate readfirst peek fionread block waitall; do
        out=$(shim "127.0.0.1:$FAULT_PORT" "$PROBE" "$mode" "$BED_PEER_V4" 7)
        assert_not_contains "$out" $'\x05' "no SOCKS byte reaches the app ($mode)"
        case $mode in
        gate) got=$(field echo "$out") ;;
        readfirst) assert_eq EAGAIN "$(field read0 "$out")" "$out"
            got=$(field read1 "$out") ;;
        peek) got=$(field peek "$out") ;;
        fionread) assert_eq 0 "$(field queued_before "$out")" "$out"
            got="[hi" ;;
        waitall) assert_eq "[hipi]" "$(field read "$out")" "MSG_WAITALL: $out"
            got="[hi" ;;
        *) got=$(field read "$out") ;;
        esac
        [[ $got == "[hi"* ]] || _e2e_fail "$mode: the app's first bytes are 'hi'" "$out"
    done
}

test_reads_see_only_app_bytes() {
    local out mode
    for mode in readfirst block waitall peek dup; do
        out=$(shim "$BED_SOCKS5" "$PROBE" "$mode" "$BED_PEER_V4" "$BED_ECHO_PORT")
        assert_eq EINPROGRESS "$(field connect "$out")" "$out"
        case $mode in
        readfirst) assert_eq "[ping]" "$(field read1 "$out")" "$out" ;;
        peek) assert_eq "[ping]" "$(field peek "$out")" "$out"
            assert_eq "[ping]" "$(field read "$out")" "$out" ;;
        *) assert_eq "[ping]" "$(field read "$out")" "$out" ;;
        esac
    done
    out=$(shim "$BED_SOCKS5" "$PROBE" fionread "$BED_PEER_V4" "$BED_ECHO_PORT")
    assert_eq 4 "$(field queued_after "$out")" "FIONREAD counts the app's bytes only: $out"
}

test_fork_threads_exec_with_a_pending_fd() {
    local out
    out=$(shim "$BED_SOCKS5" "$PROBE" fork "$BED_PEER_V4" "$BED_ECHO_PORT")
    assert_eq "[ping]" "$(field child_read "$out")" "$out"
    assert_eq "[pong]" "$(field parent_read "$out")" "the parent knows the child consumed the reply: $out"
    out=$(shim "$BED_SOCKS5" "$PROBE" threads "$BED_PEER_V4" "$BED_ECHO_PORT")
    assert_eq 4 "$(field threads_total "$out")" "$out"
    assert_not_contains "$out" "thread_saw" "$out"
    out=$(shim "$BED_SOCKS5" "$PROBE" exec "$BED_PEER_V4" "$BED_ECHO_PORT")
    assert_eq "[ping]" "$(field exec_read "$out")" "$out"
}

test_third_party_servers() {
    local out
    # microsocks drops bytes pipelined after the greeting: without
    # pipelining the greeting is answered before the request goes out.
    out=$(TSRUN_SOCKS5_PIPELINE=0 shim "$BED_MICROSOCKS" "$PROBE" gate "$BED_PEER_V4" "$BED_ECHO_PORT")
    assert_eq "[ping]" "$(field echo "$out")" "microsocks: $out"
    # Refused: reported once, by the second connect() or by SO_ERROR,
    # whichever comes after the reply.
    out=$(TSRUN_SOCKS5_PIPELINE=0 shim "$BED_MICROSOCKS" "$PROBE" gate "$BED_PEER_V4" "$BED_REFUSED_PORT")
    assert_eq ECONNREFUSED "$(field again "$out" | grep -vx EALREADY || true)$(field so_error "$out" | grep -vx 0 || true)" \
        "microsocks, refused: $out"
    # An epoll-style app writes before the reply: with TSRUN_SOCKS5_PIPELINE=0
    # the non-blocking write gets EAGAIN (it neither waits for the dial nor
    # reaches microsocks before its reply, where it would be dropped); the
    # app's retry after EPOLLOUT goes through once the tunnel is up.
    for _ in 1 2 3 4 5; do
        out=$(TSRUN_SOCKS5_PIPELINE=0 shim "$BED_MICROSOCKS" "$PROBE" readfirst "$BED_PEER_V4" "$BED_ECHO_PORT")
        assert_eq EAGAIN "$(field send0 "$out")" "microsocks, early write: $out"
        assert_eq "[ping]" "$(field read1 "$out")$(field read0 "$out" | grep -vx EAGAIN || true)" \
            "microsocks, early write: $out"
    done
    assert_eq 'ok=10 errors={}' "$(TSRUN_SOCKS5_PIPELINE=0 shim "$BED_MICROSOCKS" node -e "$NODE_PAR" "$BED_PEER_V4" "$BED_ECHO_PORT" 10)"
    out=$(shim "$BED_DANTE" "$PROBE" gate "$BED_PEER_V4" "$BED_ECHO_PORT")
    assert_eq "[ping]" "$(field echo "$out")" "dante: $out"
    assert_eq 'ok*10' "$(shim "$BED_DANTE" python3 -c "$PY_ASYNCIO" "$BED_PEER_V4" "$BED_ECHO_PORT" 10)"
}
