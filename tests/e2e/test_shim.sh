# shellcheck shell=bash disable=SC2016
# (SC2016: inner shells and python expand.)
# The shim (issue 3): unmodified programs reach tailnet addresses through a
# SOCKS5 proxy on their own socket -- through the fake tailscaled and
# microsocks (and dante where cheap) -- and every failure path reports the
# errno the issue documents. Runs in the bed's client namespace, where the
# tailnet is not routable: without the shim every client fails.

PROBE=$PROGS/probe
FAULT=$PROGS/faultsocks
HELLO="hello from db"

# via NAME CMD...: CMD with the shim preloaded, pointed at proxy NAME
# (ts = fake tailscaled, ms = microsocks, dante). TSRUN_* already in the
# environment win over the defaults set here.
via() {
    local name=$1
    shift
    case $name in
    ts) env LD_PRELOAD="$SHIM" TSRUN_SOCKS5="${TSRUN_SOCKS5:-$BED_SOCKS5}" "$@" ;;
    ms) env LD_PRELOAD="$SHIM" TSRUN_SOCKS5="$BED_MICROSOCKS" "$@" ;; # default: no pipelining
    dante) env LD_PRELOAD="$SHIM" TSRUN_SOCKS5="$BED_DANTE" "$@" ;;
    *) _e2e_fail "unknown proxy $name" ;;
    esac
}
PROXIES=(ts ms)

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p; s/^$1=\([^ ]*\).*/\1/p" <<<"$2" | head -1; }
result() { sed -E 's/^(result=ok|errno=[A-Z0-9]+) .*/\1/' <<<"$1"; }

# assert_fast OUT MS: the probe's elapsed_ms is below MS.
assert_fast() {
    local e
    e=$(field elapsed_ms "$1")
    ((e < $2)) || _e2e_fail "took ${e} ms, want < $2 ms" "$1"
}

# start_fault [FAULTSOCKS ARGS...]: a misbehaving SOCKS5 server; sets FAULT_PORT.
start_fault() {
    local f
    f=$(mktemp "$BED_DIR/fault.XXXXXX")
    "$FAULT" "$@" >"$f" 2>>"$BED_LOGS/faultsocks.log" &
    wait_for_line "$f" '^port=[0-9]+$'
    FAULT_PORT=$(sed -n 's/^port=//p' "$f")
}

# start_ts NAME [VAR=VALUE...]: a second fake tailscaled (logged in, SOCKS5
# on port 0); sets TS_SOCKS. As in test_bed.sh.
start_ts() {
    local name=$1 state=$BED_DIR/$1.state log=$BED_LOGS/$1.log
    shift
    echo '{"LoggedIn": true, "MachineAuthorized": true, "Prefs": {"WantRunning": true,
        "LoggedOut": false, "RouteAll": true}}' >"$state"
    env "$@" tailscaled --tun=userspace-networking --socks5-server=127.0.0.1:0 \
        --socket="$BED_DIR/$name.sock" --state="$state" 2>"$log" &
    wait_for_line "$log" 'SOCKS5 listening on 127\.0\.0\.1:[0-9]+$'
    TS_SOCKS=$(sed -n 's/.*SOCKS5 listening on //p' "$log" | head -1)
}

# ---------------------------------------------------------------- clients

test_curl_v4_and_v6_literals() {
    local p out rc=0
    for p in "${PROXIES[@]}" dante; do
        assert_eq "$HELLO" "$(via "$p" curl -sS --max-time 10 "http://$BED_PEER_V4/")" "curl v4 via $p"
        assert_eq "$HELLO" "$(via "$p" curl -sS --max-time 10 "http://[$BED_PEER_V6]/")" "curl v6 via $p"
    done
    out=$(curl -sS -v --max-time 5 "http://$BED_PEER_V4/" 2>&1) || rc=$?
    assert_eq 7 "$rc" "curl without the shim"
    assert_contains "$out" "Network is unreachable"
    rc=0
    out=$(curl -sS -v --max-time 5 "http://[$BED_PEER_V6]/" 2>&1) || rc=$?
    assert_eq 7 "$rc" "curl v6 without the shim"
    assert_contains "$out" "Network is unreachable"
}

test_git_ls_remote_and_clone() {
    local p url=http://$BED_PEER_V4:$BED_GIT_PORT/git/owner/repo.git out rc=0
    for p in "${PROXIES[@]}"; do
        out=$(via "$p" git ls-remote "$url")
        assert_contains "$out" "$BED_GIT_HEAD	refs/heads/main" "ls-remote via $p"
        via "$p" git clone -q "$url" "$BED_DIR/clone-$p"
        assert_eq "$BED_GIT_HEAD" "$(git -C "$BED_DIR/clone-$p" rev-parse HEAD)"
        assert_file_eq "$BED_DIR/clone-$p/README" "hello from the bed"
        assert_file_eq "$BED_DIR/clone-$p/SECOND" "second"
    done
    out=$(git ls-remote "$url" 2>&1) || rc=$?
    assert_eq 128 "$rc" "git without the shim"
    assert_contains "$out" "Failed to connect to $BED_PEER_V4 port $BED_GIT_PORT"
}

test_ssh_remote_command() {
    local p out rc=0
    for p in "${PROXIES[@]}"; do
        assert_eq "shim-ssh-$p" "$(via "$p" ssh -F "$BED_SSH_CONFIG" "$BED_PEER_V4" echo "shim-ssh-$p")" "ssh via $p"
    done
    assert_eq "shim-ssh-v6" "$(via ts ssh -F "$BED_SSH_CONFIG" "$BED_PEER_V6" echo shim-ssh-v6)"
    out=$(ssh -F "$BED_SSH_CONFIG" -o ConnectTimeout=5 "$BED_PEER_V4" echo no 2>&1) || rc=$?
    assert_eq 255 "$rc" "ssh without the shim"
    assert_contains "$out" "Network is unreachable"
}

PY_CLIENT='
import socket, sys, urllib.request
host, v6 = sys.argv[1], sys.argv[2]
print(urllib.request.urlopen("http://%s/" % host, timeout=5).read().decode().strip())
print(urllib.request.urlopen("http://[%s]/" % v6, timeout=5).read().decode().strip())
for h, fam in ((host, socket.AF_INET), (v6, socket.AF_INET6)):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(5)  # non-blocking underneath: connect() must still work
    s.connect((h, 7))
    s.sendall(b"py-echo")
    got = b""
    while len(got) < 7:
        got += s.recv(7 - len(got))
    print(got.decode(), s.getpeername()[0], s.gettimeout())
    s.close()
'

test_python_urllib_and_settimeout_socket() {
    local p out want rc=0
    want="$HELLO
$HELLO
py-echo $BED_PEER_V4 5.0
py-echo $BED_PEER_V6 5.0"
    for p in "${PROXIES[@]}"; do
        out=$(via "$p" python3 -c "$PY_CLIENT" "$BED_PEER_V4" "$BED_PEER_V6")
        assert_eq "$want" "$out" "python via $p"
    done
    out=$(python3 -c "$PY_CLIENT" "$BED_PEER_V4" "$BED_PEER_V6" 2>&1) || rc=$?
    assert_eq 1 "$rc" "python without the shim"
    assert_contains "$out" "Network is unreachable"
}

NODE_CLIENT='
const http = require("http");
const get = (url) => new Promise((ok, bad) => {
    http.get(url, {timeout: 5000}, (res) => {
        let b = ""; res.on("data", (d) => b += d); res.on("end", () => ok(b.trim()));
    }).on("error", bad);
});
(async () => {
    console.log(await get("http://" + process.argv[1] + "/"));
    console.log(await get("http://[" + process.argv[2] + "]/"));
})().catch((e) => { console.log("error " + e.code); process.exit(1); });
'

test_node_http_get() {
    local p out rc=0
    for p in "${PROXIES[@]}"; do
        # SHIM_PRELOAD: node crashes unless a sanitizer runtime comes first (lib.sh).
        assert_eq "$HELLO
$HELLO" "$(SHIM=$SHIM_PRELOAD via "$p" node -e "$NODE_CLIENT" "$BED_PEER_V4" "$BED_PEER_V6")" "node via $p"
    done
    out=$(node -e "$NODE_CLIENT" "$BED_PEER_V4" "$BED_PEER_V6") || rc=$?
    assert_eq 1 "$rc" "node without the shim"
    assert_eq "error ENETUNREACH" "$out"
}

# nc_echo PROXY|none HOST: one line through nc to the echo port, read back.
nc_echo() {
    local line=""
    if [[ $1 == none ]]; then coproc NC { nc -v "$2" "$BED_ECHO_PORT" 2>&1 || true; }
    else coproc NC { via "$1" nc "$2" "$BED_ECHO_PORT" 2>&1 || true; }
    fi
    printf 'nc-echo-%s\n' "$1" >&"${NC[1]}"
    read -r -t 5 line <&"${NC[0]}" || true
    kill "$NC_PID" 2>/dev/null || true
    echo "$line"
}

test_nc_echo() {
    local p
    for p in "${PROXIES[@]}" dante; do
        assert_eq "nc-echo-$p" "$(nc_echo "$p" "$BED_PEER_V4")" "nc via $p"
        assert_eq "nc-echo-$p" "$(nc_echo "$p" "$BED_PEER_V6")" "nc v6 via $p"
    done
    assert_contains "$(nc_echo none "$BED_PEER_V4")" "Network is unreachable"
}

# ---------------------------------------------------------------- the app's own fd

test_fd_flags_and_family_preserved() {
    local p out
    for p in "${PROXIES[@]}"; do
        out=$(via "$p" "$PROBE" connect --nonblock --cloexec --read 4 "$BED_PEER_V4" "$BED_ECHO_PORT" ping)
        assert_eq "result=ok" "$(result "$out")" "$out"
        assert_eq "0x802" "$(field flags_before "$out")" "O_RDWR|O_NONBLOCK before"
        assert_eq "0x802" "$(field flags_after "$out")" "flags after"
        assert_eq 1 "$(field cloexec "$out")"
        assert_eq 4 "$(field family "$out")"
        assert_eq ping "$(field recv "$out")"
        assert_contains "$out" "inprogress=1" "a non-blocking tunnel connect is asynchronous (EINPROGRESS)"
        out=$(via "$p" "$PROBE" connect --read 4 "$BED_PEER_V6" "$BED_ECHO_PORT" ping)
        assert_eq "result=ok" "$(result "$out")" "$out"
        assert_eq "0x2" "$(field flags_after "$out")" "blocking stays blocking"
        assert_eq 0 "$(field cloexec "$out")"
        assert_eq 6 "$(field family "$out")"
        assert_eq ping "$(field recv "$out")"
    done
}

test_getpeername_is_the_tailnet_destination() {
    local out
    out=$(via ts "$PROBE" connect --read 2 "$BED_PEER_V4" "$BED_ECHO_PORT" hi)
    assert_eq "$BED_PEER_V4:$BED_ECHO_PORT" "$(field peer "$out")"
    assert_eq 16 "$(field peerlen "$out")"
    assert_contains "$(field sock "$out")" "127.0.0.1:" "getsockname still answers"
    out=$(via ts "$PROBE" connect --read 2 "$BED_PEER_V6" "$BED_HTTP_PORT" hi)
    assert_eq "[$BED_PEER_V6]:$BED_HTTP_PORT" "$(field peer "$out")"
    assert_eq 28 "$(field peerlen "$out")"
    assert_contains "$(field sock "$out")" "[::ffff:127.0.0.1]:"
    # Python and node see it too.
    assert_eq "('$BED_PEER_V4', 80)" "$(via ts python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=5); print(s.getpeername())' "$BED_PEER_V4")"
}

test_v6_socket_to_v4_destination_is_v4_mapped() {
    local p out
    for p in "${PROXIES[@]}"; do
        out=$(via "$p" "$PROBE" connect --family 6 --read 6 "$BED_PEER_V4" "$BED_ECHO_PORT" mapped)
        assert_eq "result=ok" "$(result "$out")" "$out"
        assert_eq 6 "$(field family "$out")"
        assert_eq "[::ffff:$BED_PEER_V4]:$BED_ECHO_PORT" "$(field peer "$out")"
        assert_eq mapped "$(field recv "$out")"
    done
}

test_v6only_socket() {
    local out
    # An IPV6_V6ONLY socket reaches the IPv4-only proxy (issue 12, kind 9):
    # before, ECONNREFUSED because the bed's proxy listens on 127.0.0.1 only.
    for p in "${PROXIES[@]}"; do
        out=$(via "$p" "$PROBE" connect --family 6 --v6only --read 6 "$BED_PEER_V6" "$BED_ECHO_PORT" v6only)
        assert_eq "result=ok" "$(result "$out")" "via $p: $out"
        assert_eq v6only "$(field recv "$out")"
        assert_eq "[$BED_PEER_V6]:$BED_ECHO_PORT" "$(field peer "$out")"
        out=$(via "$p" "$PROBE" connect --family 6 --v6only --nonblock --read 6 "$BED_PEER_V6" "$BED_ECHO_PORT" v6only)
        assert_eq v6only "$(field recv "$out")" "non-blocking via $p: $out"
    done
    # A v4-mapped tailnet address on a v6-only socket: the kernel's answer.
    out=$(via ts "$PROBE" connect --family 6 --v6only "$BED_PEER_V4" "$BED_ECHO_PORT")
    assert_eq "errno=ENETUNREACH" "$(result "$out")" "$out"
}

test_failed_socket_can_be_reused() {
    python3 -c 'import socket
s = socket.create_server(("127.0.0.1", 8091))
while True: s.accept()[0].close()' &
    wait_for_port 127.0.0.1 8091
    local out
    out=$(PROBE_REUSE_PORT=8091 via ts "$PROBE" connect --reuse "$BED_PEER_V4" "$BED_REFUSED_PORT")
    assert_eq "errno=ECONNREFUSED" "$(result "$out")" "$out"
    assert_eq ok "$(field reuse "$out")" "the socket must be disconnected after a failure"
}

# ---------------------------------------------------------------- what is not tunnelled

test_non_tailnet_connect_untouched_byte_for_byte() {
    local d=$BED_DIR/www a b err=$BED_DIR/untouched.err
    mkdir -p "$d"
    head -c 300000 /dev/urandom >"$d/blob"
    (cd "$d" && exec python3 -m http.server --bind 127.0.0.1 8092 >/dev/null 2>&1) &
    wait_for_port 127.0.0.1 8092
    curl -sS -o "$BED_DIR/plain" "http://127.0.0.1:8092/blob"
    TSRUN_DEBUG=1 via ts curl -sS -o "$BED_DIR/shimmed" "http://127.0.0.1:8092/blob" 2>"$err"
    cmp "$d/blob" "$BED_DIR/plain"
    cmp "$BED_DIR/plain" "$BED_DIR/shimmed"
    assert_eq "" "$(grep -v 'names:' "$err" || true)" "no debug line for a loopback connect"
    # The same program's output, with and without the shim, is identical.
    a=$(python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:8092/blob").read().hex())')
    b=$(TSRUN_DEBUG=1 via ts python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:8092/blob").read().hex())' 2>"$err")
    [[ $a == "$b" ]] || _e2e_fail "python output differs with the shim"
    assert_eq "" "$(cat "$err")"
    # Non-tailnet, non-loopback still fails exactly like without the shim.
    assert_eq "$("$PROBE" connect 192.0.2.1 80 | cut -d' ' -f1)" \
        "$(via ts "$PROBE" connect 192.0.2.1 80 | cut -d' ' -f1)"
}

test_udp_to_tailnet_is_refused() {
    local mode out err=$BED_DIR/udp.err
    for mode in "" --sendto --sendmsg --sendmmsg; do
        # shellcheck disable=SC2086 # empty mode = plain connect
        out=$(TSRUN_DEBUG=1 via ts "$PROBE" connect --udp $mode "$BED_PEER_V4" "$BED_ECHO_PORT" x 2>"$err")
        assert_eq "errno=ENETUNREACH" "$(result "$out")" "udp ${mode:-connect}: $out"
        assert_contains "$(cat "$err")" "refused"
        assert_contains "$(cat "$err")" "(ENETUNREACH)"
        # shellcheck disable=SC2086
        out=$(via ts "$PROBE" connect --udp $mode "$BED_PEER_V6" "$BED_ECHO_PORT" x)
        assert_eq "errno=ENETUNREACH" "$(result "$out")" "udp v6 ${mode:-connect}: $out"
    done
    # Loopback UDP is untouched.
    out=$(via ts "$PROBE" connect --udp --sendto 127.0.0.1 9 x)
    assert_eq "result=ok" "$(result "$out")" "$out"
}

test_tcp_fastopen_takes_the_tunnel() {
    local p mode out
    for p in "${PROXIES[@]}"; do
        for mode in --sendto-fastopen --sendmsg-fastopen; do
            out=$(via "$p" "$PROBE" connect "$mode" --read 7 "$BED_PEER_V4" "$BED_ECHO_PORT" "tfo-$p")
            assert_eq "result=ok" "$(result "$out")" "$mode via $p: $out"
            assert_eq "tfo-$p" "$(field recv "$out")" "$mode via $p"
            assert_eq "$BED_PEER_V4:$BED_ECHO_PORT" "$(field peer "$out")"
        done
    done
}

test_routes_subnet_through_the_fake() {
    local out rc=0
    assert_eq "$HELLO" "$(TSRUN_ROUTES=10.20.0.0/16 via ts curl -sS --max-time 10 "http://$BED_SUBNET_V4/")"
    out=$(via ts curl -sS -v --max-time 5 "http://$BED_SUBNET_V4/" 2>&1) || rc=$?
    assert_eq 7 "$rc" "10.20.0.7 without TSRUN_ROUTES is not tunnelled"
    assert_contains "$out" "Network is unreachable"
}

# ---------------------------------------------------------------- config

test_malformed_env_one_line_and_program_runs() {
    local kv out err=$BED_DIR/malformed.err
    # Fail closed (issue 12): the shim stays on with a safe fallback for the
    # key; a bad proxy address refuses tailnet connects (ECONNREFUSED).
    for kv in TSRUN_SOCKS5=bogus TSRUN_ROUTES=10.0.0.0/33 TSRUN_CONNECT_TIMEOUT_MS=0 \
        TSRUN_DEBUG=maybe TSRUN_SOCKS5_PIPELINE=2; do
        out=$(env "$kv" LD_PRELOAD="$SHIM" "$PROBE" connect --repeat 2 "$BED_PEER_V4" 7 2>"$err")
        assert_eq 1 "$(wc -l <"$err")" "$kv: one stderr line: $(cat "$err")"
        assert_contains "$(cat "$err")" "${kv%%=*}"
        assert_not_contains "$(cat "$err")" "disabled"
        if [[ $kv == TSRUN_SOCKS5=* ]]; then
            assert_eq "errno=ECONNREFUSED
errno=ECONNREFUSED" "$(result "$out")" "$kv"
        else
            assert_eq "result=ok
result=ok" "$(result "$out")" "$kv"
        fi
    done
    out=$(env TSRUN_SOCKS5=bogus LD_PRELOAD="$SHIM" curl -sS "http://127.0.0.1:1/" 2>&1 || true)
    assert_contains "$out" "Failed to connect" "curl still runs"
}

# ---------------------------------------------------------------- failure paths

test_proxy_down_econnrefused_one_hint() {
    local out err=$BED_DIR/down.err
    out=$(TSRUN_SOCKS5=127.0.0.1:1 via ts "$PROBE" connect --repeat 2 "$BED_PEER_V4" 80 2>"$err")
    assert_eq "errno=ECONNREFUSED
errno=ECONNREFUSED" "$(result "$out")"
    assert_eq 1 "$(grep -c 'no SOCKS5 proxy answers at 127.0.0.1:1: is tailscaled running' "$err")" \
        "exactly one hint: $(cat "$err")"
    assert_contains "$(cat "$err")" "tsrun up"
    assert_eq 1 "$(wc -l <"$err")"
    out=$(TSRUN_QUIET=1 TSRUN_SOCKS5=127.0.0.1:1 via ts "$PROBE" connect --repeat 2 "$BED_PEER_V4" 80 2>"$err")
    assert_eq "errno=ECONNREFUSED
errno=ECONNREFUSED" "$(result "$out")"
    assert_eq "" "$(cat "$err")" "TSRUN_QUIET=1 silences the hint"
    # curl reports it as a refused connection.
    local rc=0
    out=$(TSRUN_SOCKS5=127.0.0.1:1 via ts curl -sS -v "http://$BED_PEER_V4/" 2>&1) || rc=$?
    assert_eq 7 "$rc"
    assert_contains "$out" "Connection refused"
}

test_peer_port_refused_fast() {
    local p out
    for p in "${PROXIES[@]}" dante; do
        out=$(via "$p" "$PROBE" connect "$BED_PEER_V4" "$BED_REFUSED_PORT")
        assert_eq "errno=ECONNREFUSED" "$(result "$out")" "via $p: $out"
        assert_fast "$out" 1000
    done
}

test_offline_peer_ehostunreach_from_name_map() {
    local out err=$BED_DIR/offline.err
    out=$(TSRUN_DEBUG=1 TSRUN_NAMES=$BED_NAMES via ts "$PROBE" connect "$BED_OFFLINE_V4" 80 2>"$err")
    assert_eq "errno=EHOSTUNREACH" "$(result "$out")" "$out"
    assert_fast "$out" 1000
    assert_contains "$(cat "$err")" "peer is offline in the name map"
}

# timeout: 30
test_stalled_dial_etimedout() {
    local out
    # tailscaled's own 5 s dial cap answers 0x01 late: ETIMEDOUT.
    out=$(via ts "$PROBE" connect "$BED_OFFLINE_V4" 80)
    assert_eq "errno=ETIMEDOUT" "$(result "$out")" "$out"
    # Our own deadline below the stall: ETIMEDOUT at once after it.
    out=$(TSRUN_CONNECT_TIMEOUT_MS=600 via ts "$PROBE" connect "$BED_UNKNOWN_V4" 80)
    assert_eq "errno=ETIMEDOUT" "$(result "$out")" "$out"
    assert_fast "$out" 3000
    # A daemon with a short dial cap answers 0x01 quickly: by the table, a
    # quick 0x01 is a refusal.
    start_ts shortdial FAKE_TS_DIAL_TIMEOUT_MS=300
    out=$(TSRUN_SOCKS5=$TS_SOCKS via ts "$PROBE" connect "$BED_OFFLINE_V4" 80)
    assert_eq "errno=ECONNREFUSED" "$(result "$out")" "$out"
}

test_proxy_reply_errno_table() {
    local spec reply want out
    for spec in 05020001000000000000:EACCES 05030001000000000000:ENETUNREACH \
        05040001000000000000:EHOSTUNREACH 05050001000000000000:ECONNREFUSED \
        05060001000000000000:ETIMEDOUT 05070001000000000000:EOPNOTSUPP \
        05080001000000000000:EAFNOSUPPORT 05010001000000000000:ECONNREFUSED \
        05010001:ECONNREFUSED 05090001000000000000:ECONNREFUSED \
        485454502f312e3120343030:ECONNREFUSED 05:ECONNREFUSED :ECONNREFUSED; do
        reply=${spec%%:*} want=${spec##*:}
        start_fault --reply "$reply"
        out=$(TSRUN_SOCKS5=127.0.0.1:$FAULT_PORT via ts "$PROBE" connect "$BED_PEER_V4" 80)
        assert_eq "errno=$want" "$(result "$out")" "reply $reply: $out"
        assert_eq none "$(field peer "$out")" "reply $reply leaves the socket unconnected"
    done
    start_fault --method 05ff
    out=$(TSRUN_SOCKS5=127.0.0.1:$FAULT_PORT via ts "$PROBE" connect "$BED_PEER_V4" 80)
    assert_eq "errno=ECONNREFUSED" "$(result "$out")" "05 FF: $out"
    start_fault --method 0502
    out=$(TSRUN_SOCKS5=127.0.0.1:$FAULT_PORT via ts "$PROBE" connect "$BED_PEER_V4" 80)
    assert_eq "errno=ECONNREFUSED" "$(result "$out")" "method 02: $out"
    # Success with an IPv6 / domain bound address, then the app's bytes.
    for reply in 0500000400000000000000000000000000000000 05000003026462 ; do
        start_fault --reply "${reply}0050"
        out=$(TSRUN_SOCKS5=127.0.0.1:$FAULT_PORT via ts "$PROBE" connect --read 5 "$BED_PEER_V4" 80 bound)
        assert_eq "result=ok" "$(result "$out")" "reply $reply: $out"
        assert_eq bound "$(field recv "$out")" "no app byte eaten after reply $reply"
    done
    # A proxy that never answers: our own timeout.
    start_fault --hold
    out=$(TSRUN_CONNECT_TIMEOUT_MS=400 TSRUN_SOCKS5=127.0.0.1:$FAULT_PORT via ts "$PROBE" connect "$BED_PEER_V4" 80)
    assert_eq "errno=ETIMEDOUT" "$(result "$out")" "$out"
}

test_request_bytes_on_the_wire() {
    start_fault
    TSRUN_SOCKS5=127.0.0.1:$FAULT_PORT via ts "$PROBE" connect "$BED_PEER_V4" 8080 >/dev/null
    TSRUN_SOCKS5=127.0.0.1:$FAULT_PORT via ts "$PROBE" connect "$BED_PEER_V6" 22 >/dev/null
    TSRUN_SOCKS5=127.0.0.1:$FAULT_PORT via ts "$PROBE" connect --family 6 "$BED_PEER_V4" 1 >/dev/null
    local log
    log=$(grep '^request' "$BED_LOGS/faultsocks.log")
    assert_contains "$log" "request 050100016458"'0c05'"1f90"
    assert_contains "$log" "request 05010004fd7a115ca1e0000000000000d4010c05""0016"
    assert_contains "$log" "request 0501000164580c05""0001" "v4-mapped goes out as ATYP 1"
}

test_pipelined_connect_against_microsocks_hints() {
    local out err=$BED_DIR/pipe.err
    # Silent past tailscaled's 5 s dial cap after the method reply: the hint.
    out=$(TSRUN_CONNECT_TIMEOUT_MS=5600 TSRUN_SOCKS5_PIPELINE=1 via ms "$PROBE" connect "$BED_PEER_V4" 80 2>"$err")
    assert_eq "errno=ETIMEDOUT" "$(result "$out")" "$out"
    assert_contains "$(cat "$err")" "set TSRUN_SOCKS5_PIPELINE=0"
    # tailscaled still dialling when our own (shorter) timeout ends: no hint.
    out=$(TSRUN_CONNECT_TIMEOUT_MS=800 via ts "$PROBE" connect "$BED_UNKNOWN_V4" 80 2>"$err")
    assert_eq "errno=ETIMEDOUT" "$(result "$out")" "$out"
    assert_not_contains "$(cat "$err")" "PIPELINE"
    # The same against a server that drops pipelined bytes, with PIPELINE=0: works.
    start_fault --drop-pipelined
    out=$(TSRUN_SOCKS5=127.0.0.1:$FAULT_PORT TSRUN_SOCKS5_PIPELINE=0 via ts "$PROBE" connect --read 4 "$BED_PEER_V4" 80 pipe)
    assert_eq "result=ok" "$(result "$out")" "$out"
    assert_eq pipe "$(field recv "$out")"
}

test_eintr_mid_handshake() {
    local flags out
    # The proxy takes 300 ms to answer; SIGALRM fires every 2 ms meanwhile.
    start_fault --delay-ms 300
    for flags in "" --restart "--nonblock" "--nonblock --restart"; do
        # shellcheck disable=SC2086
        out=$(TSRUN_SOCKS5=127.0.0.1:$FAULT_PORT via ts "$PROGS/eintr" $flags "$BED_PEER_V4" 80)
        # Documented behaviour: the shim retries on EINTR, so the connect
        # completes whether or not the handler has SA_RESTART.
        assert_eq "result=ok" "$(result "$out")" "eintr ${flags:-plain}: $out"
        assert_eq ok "$(field echo "$out")" "$out"
        (($(field signals "$out") > 10)) || _e2e_fail "too few signals during the handshake" "$out"
    done
}

# timeout: 60
test_threads_64x50_no_fd_leak() {
    local out
    out=$(via ts "$PROGS/threads" 64 50 "$BED_PEER_V4" "$BED_ECHO_PORT") ||
        _e2e_fail "threads via the fake tailscaled" "$out"
    assert_contains "$out" "tunnelled_ok=3200 loopback_ok=640 failures=0"
    echo "$out"
    out=$(via ms "$PROGS/threads" 16 20 "$BED_PEER_V6" "$BED_ECHO_PORT") ||
        _e2e_fail "threads via microsocks" "$out"
    echo "$out"
}

test_second_connect_is_eisconn_and_leaves_the_tunnel_alone() {
    local p out
    for p in "${PROXIES[@]}"; do
        out=$(via "$p" python3 -c '
import errno, socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=5)
for how in ("connect", "fastopen"):
    try:
        if how == "connect":
            s.connect((sys.argv[1], 7))
        else:
            s.sendto(b"x", socket.MSG_FASTOPEN, (sys.argv[1], 7))
        print(how, "ok")
    except OSError as e:
        print(how, errno.errorcode[e.errno])
s.sendall(b"still-here")
got = b""
while len(got) < 10:
    got += s.recv(10 - len(got))
print(got.decode(), s.getpeername()[0])' "$BED_PEER_V4")
        # What the kernel answers for an already connected socket.
        assert_eq "connect EISCONN
fastopen EISCONN
still-here $BED_PEER_V4" "$out" "via $p"
    done
}

test_bytes_after_the_reply_belong_to_the_app() {
    local banner out reply
    # A server that talks first (an SSH banner) arrives in the same segment
    # as the CONNECT reply: the shim must read only the reply.
    banner=$(printf 'SSH-2.0-bed\r\n' | od -An -tx1 | tr -d ' \n')
    for reply in 0500000100000000 0500000400000000000000000000000000000000 05000003026462; do
        start_fault --reply "${reply}0016$banner"
        out=$(TSRUN_SOCKS5=127.0.0.1:$FAULT_PORT via ts "$PROBE" connect --read 17 "$BED_PEER_V4" 22 ping)
        assert_eq "result=ok" "$(result "$out")" "$out"
        assert_eq 'SSH-2.0-bed\r\nping' "$(field recv "$out")" "reply $reply"
    done
}

test_bulk_bytes_through_the_tunnel() {
    local p f
    for p in "${PROXIES[@]}"; do
        f=$BED_DIR/bulk-$p
        via "$p" curl -sS --max-time 20 -o "$f" "http://$BED_PEER_V4/bytes/1000003"
        assert_eq 1000003 "$(stat -c %s "$f")" "size via $p"
        python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
sys.exit(d != bytes(i % 251 for i in range(len(d))))' "$f" || _e2e_fail "byte pattern via $p"
    done
}

test_ipv6_proxy_address() {
    local out err=$BED_DIR/v6proxy.err
    start_fault --v6
    # An IPv6 socket reaches [::1]; an IPv4 socket cannot: a clear error.
    out=$(TSRUN_SOCKS5="[::1]:$FAULT_PORT" via ts "$PROBE" connect --read 4 "$BED_PEER_V6" 7 six6)
    assert_eq "result=ok" "$(result "$out")" "$out"
    assert_eq six6 "$(field recv "$out")"
    assert_eq "[$BED_PEER_V6]:7" "$(field peer "$out")"
    out=$(TSRUN_SOCKS5="[::1]:$FAULT_PORT" via ts "$PROBE" connect "$BED_PEER_V4" 7 2>"$err")
    assert_eq "errno=EAFNOSUPPORT" "$(result "$out")" "$out"
    assert_contains "$(cat "$err")" "TSRUN_SOCKS5"
    # ... unless it is an AF_INET6 socket to a v4-mapped destination.
    out=$(TSRUN_SOCKS5="[::1]:$FAULT_PORT" via ts "$PROBE" connect --family 6 --read 4 "$BED_PEER_V4" 7 map6)
    assert_eq "result=ok" "$(result "$out")" "$out"
    assert_eq map6 "$(field recv "$out")"
}

test_sendmmsg_sends_up_to_the_first_tailnet_message() {
    local out
    out=$(via ts python3 -c '
import ctypes, ctypes.util, socket, struct, errno, sys
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
class iovec(ctypes.Structure): _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
class msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32), ("iov", ctypes.POINTER(iovec)),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]
class mmsghdr(ctypes.Structure): _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]
def sin(ip, port):
    b = struct.pack("!HH4s8x", socket.AF_INET, port, socket.inet_aton(ip))
    return ctypes.create_string_buffer(struct.pack("=H", socket.AF_INET) + b[2:], 16)
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(("127.0.0.1", 0))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload = ctypes.create_string_buffer(b"dgram", 5)
io = iovec(ctypes.addressof(payload), 5)
names = [sin("127.0.0.1", r.getsockname()[1]), sin(sys.argv[1], 7), sin("127.0.0.1", r.getsockname()[1])]
vec = (mmsghdr * 3)()
for i, n in enumerate(names):
    vec[i].hdr = msghdr(ctypes.addressof(n), 16, ctypes.pointer(io), 1, None, 0, 0)
print("first", libc.sendmmsg(s.fileno(), vec, 3, 0))
print("received", r.recv(10).decode())
rc = libc.sendmmsg(s.fileno(), ctypes.byref(vec, ctypes.sizeof(mmsghdr)), 2, 0)
print("then", rc, errno.errorcode[ctypes.get_errno()])' "$BED_PEER_V4")
    assert_eq "first 1
received dgram
then -1 ENETUNREACH" "$out"
}

test_tcp_fastopen_connect_sockopt() {
    local p out
    for p in "${PROXIES[@]}"; do
        out=$(via "$p" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.IPPROTO_TCP, 30, 1)  # TCP_FASTOPEN_CONNECT: the SYN waits for the first send
s.settimeout(5)
s.connect((sys.argv[1], 7))
s.sendall(b"tfo-connect")
got = b""
while len(got) < 11:
    got += s.recv(11 - len(got))
print(got.decode(), s.getpeername()[0])' "$BED_PEER_V4")
        assert_eq "tfo-connect $BED_PEER_V4" "$out" "via $p"
    done
}

test_debug_line_format() {
    local err=$BED_DIR/debug.err
    TSRUN_DEBUG=1 via ts "$PROBE" connect --read 2 "$BED_PEER_V4" 7 ok >/dev/null 2>"$err"
    grep -Eq '^tsshim\[[0-9]+\]: connect fd=[0-9]+ 100\.88\.12\.5:7 -> tunnel via 127\.0\.0\.1:1055: ok \([0-9]+ ms\)$' "$err" ||
        _e2e_fail "debug line format" "$(cat "$err")"
    TSRUN_DEBUG=1 via ts "$PROBE" connect "$BED_PEER_V6" "$BED_REFUSED_PORT" >/dev/null 2>"$err"
    grep -Eq '^tsshim\[[0-9]+\]: connect fd=[0-9]+ \[fd7a:115c:a1e0::d401:c05\]:81 -> tunnel via 127\.0\.0\.1:1055: Connection refused \([0-9]+ ms\)$' "$err" ||
        _e2e_fail "debug line format (failure)" "$(cat "$err")"
    # Never on stdout, silent without TSRUN_DEBUG.
    assert_not_contains "$(TSRUN_DEBUG=1 via ts "$PROBE" connect --read 2 "$BED_PEER_V4" 7 ok 2>/dev/null)" tsshim
    via ts "$PROBE" connect --read 2 "$BED_PEER_V4" 7 ok >/dev/null 2>"$err"
    assert_eq "" "$(cat "$err")"
}

test_blocking_connect_honours_the_apps_sndtimeo() {
    # SO_SNDTIMEO bounds a blocking kernel connect; it bounds the tunnel too,
    # although the shim's own timeout and tailscaled's dial cap are longer.
    local out
    out=$(via ts python3 -c '
import errno, socket, struct, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 0, 400000))
t = time.monotonic()
try:
    s.connect((sys.argv[1], 80))
    print("connected")
except OSError as e:
    print(errno.errorcode[e.errno], "fast" if time.monotonic() - t < 2.5 else "slow")
' "$BED_UNKNOWN_V4")
    assert_eq "ETIMEDOUT fast" "$out"
}
