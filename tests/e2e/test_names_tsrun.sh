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
