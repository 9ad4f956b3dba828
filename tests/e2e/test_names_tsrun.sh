# shellcheck shell=bash
# bed: --no-daemon
# Tailnet names through the launcher: tsrun writes the name map from its own
# tailscaled, the shim reads it (the docs/name-map.md contract, live), and a
# peer that joins later resolves once the launcher rewrites the map.

MUSL=$REPO/$B/musl

# names_setup: a fresh tsrun state dir for this test, stopped on exit.
names_setup() {
    export TSRUN_STATE_DIR=$BED_DIR/state/${FUNCNAME[1]}
    export TS_AUTHKEY=tskey-auth-e2e TS_HOSTNAME=sandbox-1
    export FAKE_TS_FIXTURE=$TSRUN_STATE_DIR/fixture.json
    unset TSRUN_SOCKET TSRUN_TAGS LD_PRELOAD
    mkdir -p "$TSRUN_STATE_DIR"
    cp "$BED_FIXTURE" "$FAKE_TS_FIXTURE"
    trap '"$TSRUN" down >/dev/null 2>&1 || true' EXIT
    "$TSRUN" up --background >/dev/null
}

# add_peer HOSTNAME IPV4: a new peer in the fixture, then SIGHUP the daemon.
add_peer() {
    python3 - "$FAKE_TS_FIXTURE" "$1" "$2" <<'PY'
import json, os, sys
p, host, ip = sys.argv[1:]
fx = json.load(open(p))
new = dict(fx["Peers"][0])
new.update({"ID": "nNEW" + host, "NodeID": 9901, "HostName": host,
            "PublicKey": "nodekey:" + "ab" * 32, "TailscaleIPs": [ip]})
new.pop("PrimaryRoutes", None)
fx["Peers"].append(new)
json.dump(fx, open(p + ".tmp", "w"))
os.rename(p + ".tmp", p)
PY
    kill -HUP "$(cat "$TSRUN_STATE_DIR/tailscaled.pid")"
}

test_tsrun_resolves_and_connects_by_name() {
    names_setup
    local out
    out=$("$TSRUN" python3 -c 'import socket
print(" ".join(a[4][0] for a in socket.getaddrinfo("db", 80, 0, socket.SOCK_STREAM)))')
    assert_eq "$BED_PEER_V4 $BED_PEER_V6" "$out"
    assert_eq "hello from db" "$("$TSRUN" curl -sS --max-time 10 "http://$BED_PEER_SHORT/")"
    assert_eq "$BED_PEER_V4     $BED_PEER_FQDN $BED_PEER_SHORT" "$("$TSRUN" getent hosts "$BED_PEER_V4")"
    out=$("$TSRUN" "$REPO/$B/tests/progs/resolve" "nope.$BED_SUFFIX" 80) || true
    assert_eq "status EAI_NONAME" "$out"
}

test_peer_that_joins_later_resolves_in_a_running_process() {
    names_setup
    local out=$BED_DIR/join.out
    "$TSRUN" python3 -u -c '
import socket, time
while True:
    try:
        a = socket.getaddrinfo("cache.tail1a2b3.ts.net", 80, socket.AF_INET)[0][4][0]
    except socket.gaierror:
        a = "NONAME"
    print(a)
    time.sleep(0.02)
' >"$out" &
    wait_for_line "$out" '^NONAME$'
    add_peer cache 100.88.12.77
    wait_for_line "$out" '^100\.88\.12\.77$' 10
    kill %1
    assert_eq "NONAME
100.88.12.77" "$(uniq "$out")"
}

test_musl_program_through_tsrun() {
    names_setup
    [[ -f $MUSL/libtsshim.so ]] || _e2e_fail "no musl shim: $MUSL/libtsshim.so (make musl)"
    local out
    out=$("$TSRUN" "$MUSL/progs/resolve" --canon --socktype stream "$BED_PEER_SHORT" 80)
    assert_eq "inet stream 6 $BED_PEER_V4 80 canon=$BED_PEER_FQDN
inet6 stream 6 $BED_PEER_V6 80 canon=$BED_PEER_FQDN
status 0" "$out"
}

# Issue 12, kind 8: a tailnet of 10,000 peers (4,097 used to take every
# name away). tsrun writes the version-2 map; every name resolves, first and
# last peer included, and the bed's own peer still answers.
# timeout: 240
# big_fixture N: N generated peers big-00000.. (100.100.x.y) in the fixture.
big_fixture() {
    python3 - "$FAKE_TS_FIXTURE" "$1" <<'PY'
import json, os, sys
p, n = sys.argv[1], int(sys.argv[2])
fx = json.load(open(p))
base = dict(fx["Peers"][0])
base.pop("PrimaryRoutes", None)
for i in range(n):
    n = dict(base)
    n.update({"ID": "nBIG%d" % i, "NodeID": 20000 + i, "HostName": "big-%05d" % i,
              "PublicKey": "nodekey:%064x" % (i + 1),
              "TailscaleIPs": ["100.%d.%d.%d" % (100 + i // 65536, i // 256 % 256, i % 256)]})
    fx["Peers"].append(n)
json.dump(fx, open(p + ".tmp", "w"))
os.rename(p + ".tmp", p)
PY
}

test_ten_thousand_peers() {
    names_setup
    "$TSRUN" down >/dev/null 2>&1 || true
    big_fixture 10000
    "$TSRUN" up --background >/dev/null
    assert_eq "tsrun-names 2" "$(head -n1 "$TSRUN_STATE_DIR/names")"
    local out
    out=$("$TSRUN" python3 -c 'import socket
for n in ("big-00000", "big-09999.tail1a2b3.ts.net", "big-04097", "db"):
    print(n, socket.getaddrinfo(n, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])')
    assert_eq "big-00000 100.100.0.0
big-09999.tail1a2b3.ts.net 100.100.39.15
big-04097 100.100.16.1
db $BED_PEER_V4" "$out"
    assert_eq "hello from db" "$("$TSRUN" curl -sS --max-time 10 "http://$BED_PEER_SHORT/")"
}

# A cold `tsrun CMD` (no `tsrun up` before it) on a 10,000-peer tailnet:
# tailscaled starts, logs in, and the status (~9 MB of JSON, read as it
# arrives) becomes a map with every peer in it.
test_ten_thousand_peers_cold() {
    names_setup
    "$TSRUN" down >/dev/null 2>&1 || true
    big_fixture 10000
    rm -rf "${TSRUN_STATE_DIR:?}"/names "$TSRUN_STATE_DIR"/ready
    local out
    out=$(TSRUN_NO_SUPERVISOR=1 "$TSRUN" python3 -c 'import socket
for n in ("big-00000", "big-09999", "db"):
    print(n, socket.getaddrinfo(n, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])')
    assert_eq "big-00000 100.100.0.0
big-09999 100.100.39.15
db $BED_PEER_V4" "$out"
    # Every peer made it: 10,000 generated + the fixture's own + self.
    local nodes want
    want=$(python3 -c 'import json,sys; fx=json.load(open(sys.argv[1]))
print(1 + sum(1 for p in fx["Peers"] if p.get("TailscaleIPs")))' "$FAKE_TS_FIXTURE")
    nodes=$("$PROGS/namesdump" "$TSRUN_STATE_DIR/names" | grep -c '^node ' || true)
    assert_eq "$want" "$nodes"
}

# Issue 14 in a long run: a seccomp- or ptrace-mode program asks tsrun's
# supervisor, which answers from the name map as it is now, not as the
# status said when the command started. One static Go process (gdial repl,
# fed lines through a fifo, Go's own resolver pointed at tests/fakes/dns.py
# by a private /etc/resolv.conf) sees a peer that was offline at start come
# online, and a peer that joins later resolve, each on its next step after
# the launcher rewrote the map, and is refused at once once tailscaled is
# Stopped.
_names_map_sum() { cksum <"$TSRUN_STATE_DIR/names"; }
_names_map_changed() { [[ $(_names_map_sum) != "$1" ]]; }
_names_map_has() { grep -aq -- "$1" "$TSRUN_STATE_DIR/names"; }
_names_map_stopped() {
    "$REPO/$B/tests/progs/namesdump" "$TSRUN_STATE_DIR/names" | grep -x 'backend Stopped' >/dev/null
}
_names_lines() { [[ $(wc -l <"$1") -ge $2 ]]; }

# _names_set_online HOST 0|1: the fake's netmap delta; returns once the
# launcher's supervisor rewrote the map.
_names_set_online() {
    local before
    before=$(_names_map_sum)
    curl -sS --unix-socket "$TSRUN_STATE_DIR/tailscaled.sock" -X POST \
        "http://local-tailscaled.sock/localapi/v0/fake/set-online?host=$1&online=$2" >/dev/null
    _e2e_poll 20 _names_map_changed "$before" || _e2e_fail "the map did not change ($1 online=$2)"
}

# _names_step N CMD: CMD to the program; prints its answer (line N).
_names_step() {
    echo "$2" >&3
    _e2e_poll 20 _names_lines "$LIVE_OUT" "$1" ||
        _e2e_fail "no answer to '$2'" "$(cat "$LIVE_OUT" "$LIVE_DIR/err")"
    sed -n "$1p" "$LIVE_OUT"
}

names_check_live_map() {
    names_setup
    # shellcheck source=tests/e2e/sclib.sh
    source "$REPO/tests/e2e/sclib.sh"
    sc_build
    LIVE_DIR=$BED_DIR/live-$1 LIVE_OUT=$BED_DIR/live-$1/out
    sc_dns_server "$LIVE_DIR"
    printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' >"$LIVE_DIR/resolv.conf"
    wait_for_line "$TSRUN_STATE_DIR/supervisor.log" "watching" 20
    _names_set_online "$BED_PEER_SHORT" 0 # offline when the command starts
    mkfifo "$LIVE_DIR/in"
    # shellcheck disable=SC2016 # expanded by the inner bash
    unshare -m -- bash -c '
        for f in resolv.conf hosts; do mount --bind "$1/$f" "/etc/$f"; done
        exec "$2" --intercept="$3" "$4" repl' _ "$LIVE_DIR" "$TSRUN" "$1" "$SC_DIR/gdial-static" \
        <"$LIVE_DIR/in" >"$LIVE_OUT" 2>"$LIVE_DIR/err" &
    local pid=$! out
    exec 3>"$LIVE_DIR/in"
    out=$(_names_step 1 "dial $BED_PEER_V4:$BED_ECHO_PORT")
    assert_contains "$out" "no route to host" "offline peer: EHOSTUNREACH at once"
    _names_set_online "$BED_PEER_SHORT" 1
    out=$(_names_step 2 "dial $BED_PEER_V4:$BED_ECHO_PORT")
    assert_eq "ok remote=$BED_PEER_V4:$BED_ECHO_PORT" "$out" "the peer came online"
    out=$(_names_step 3 "lookup cache.$BED_SUFFIX")
    assert_contains "$out" "no such host" "not in the tailnet yet"
    add_peer cache 100.88.12.77
    _e2e_poll 20 _names_map_has cache || _e2e_fail "the map never got the new peer"
    assert_eq "addrs=100.88.12.77" "$(_names_step 4 "lookup cache")" "a peer that joined (short)"
    assert_eq "addrs=100.88.12.77" "$(_names_step 5 "lookup cache.$BED_SUFFIX")" "(FQDN)"
    # tailscaled stops: the map says so, and a connect is refused at once
    # (as the shim does) instead of stalling in tailscaled's 5 s dial.
    tailscale --socket="$TSRUN_STATE_DIR/tailscaled.sock" down
    _e2e_poll 20 _names_map_stopped || _e2e_fail "the map never said: backend Stopped"
    out=$(_names_step 6 "dial $BED_PEER_V4:$BED_ECHO_PORT")
    assert_contains "$out" "connection refused" "not Running: ECONNREFUSED"
    exec 3>&-
    wait_for_exit "$pid" 20 || _e2e_fail "tsrun --intercept=$1 failed" "$(cat "$LIVE_DIR/err")"
    sc_assert_no_tailnet_queries "$LIVE_DIR"
    assert_eq "" "$(grep -i cache "$LIVE_DIR/queries" || true)" "the new peer's name stayed off DNS"
}

test_seccomp_program_follows_the_live_name_map() { names_check_live_map seccomp; }
test_ptrace_program_follows_the_live_name_map() { names_check_live_map ptrace; }
