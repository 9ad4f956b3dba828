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
    wait_for_line "$TSRUN_STATE_DIR/names" "^node cache\\.$BED_SUFFIX peer online 100\\.88\\.12\\.77\$" 5
    wait_for_line "$out" '^100\.88\.12\.77$' 5
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
