#!/usr/bin/env bash
# tests/e2e/ctrworld.sh: the whole tsrun world inside one container
# (test_containers.sh runs it under Docker, Podman and gVisor, each with its
# default seccomp profile and a network namespace that has only lo).
#
# Env: REPO (the repository, readable), B (build dir under it), W (a
# writable scratch dir, created). Needs python3 and socat, and
# $B/seccomp/* (sclib.sh's sc_build) and $B/tests/progs/{ctrprobe,faultprobe}.
#
# Starts the fake tailscaled (Running, SOCKS5 on 127.0.0.1:1055; a dial to
# self's tailnet address, sandbox-1 = 100.101.7.42, reaches 127.0.0.1:PORT
# here: tests/fakes/README.md), a TCP echo server on 127.0.0.1:7007 and
# tests/fakes/dns.py on 127.0.0.1:53 (example.internal=10.9.8.7; the
# container's resolv.conf must name 127.0.0.1). Then prints, for each case,
#   == NAME rc=N
#   <its stdout lines>
#   err: <its stderr lines>
# and finally "== queries" with every name dns.py was asked and
# "== tailscaled-log" with the end of the fake's log. Stops its servers.
set -u
: "${REPO:?}" "${B:?}" "${W:?}"
BD=$REPO/$B
SC=$BD/seccomp
mkdir -p "$W/ts" "$W/st"
cat >"$W/ts/state" <<'EOF'
{"LoggedIn": true, "MachineAuthorized": true,
 "Prefs": {"WantRunning": true, "LoggedOut": false, "RouteAll": true, "Hostname": "sandbox-1"}}
EOF
# Nothing of a bed outside (runsc do passes the environment on): the
# fake's dials stay in this network namespace.
unset BED_PEER_NETNS FAKE_TS_DIAL_DELAY FAKE_TS_DIAL_DELAY_MS FAKE_TS_DIAL_TIMEOUT_MS \
    FAKE_TS_LEGACY_ERRORS FAKE_TS_TUN TSRUN_SOCKET TSRUN_SOCKS5_PORT LD_PRELOAD
export FAKE_TS_FIXTURE=$REPO/tests/fakes/tailnet.json
python3 "$REPO/tests/fakes/tailscaled.py" --tun=userspace-networking \
    --socks5-server=127.0.0.1:1055 --state="$W/ts/state" --socket="$W/ts.sock" \
    --no-logs-no-support >/dev/null 2>"$W/ts.log" &
servers=($!)
socat TCP-LISTEN:7007,bind=127.0.0.1,reuseaddr,fork EXEC:cat >/dev/null 2>"$W/echo.log" &
servers+=($!)
python3 "$REPO/tests/fakes/dns.py" --log "$W/queries" --ready "$W/dns.ready" \
    --answer example.internal=10.9.8.7 >/dev/null 2>"$W/dns.log" &
servers+=($!)
# Bounded wait (10 s) for all three; `read -t` ticks, no sleep.
exec {tick}<> <(:)
for ((i = 0; i < 500; i++)); do
    grep -q "SOCKS5 listening" "$W/ts.log" 2>/dev/null && [[ -e $W/dns.ready ]] &&
        (exec 3<>/dev/tcp/127.0.0.1/7007) 2>/dev/null && break
    read -rt 0.02 -u "$tick" || true
done

# run NAME CMD...: one case.
run() {
    local name=$1 rc=0
    shift
    "$@" >"$W/out" 2>"$W/err" || rc=$?
    echo "== $name rc=$rc"
    cat "$W/out"
    sed 's/^/err: /' "$W/err"
}
# shellcheck disable=SC2317 # called through run
ts() {
    env TSRUN_STATE_DIR="$W/st" "$BD/tsrun" --socket "$W/ts.sock" --socks5 127.0.0.1:1055 "$@"
}

run probe "$BD/tests/progs/ctrprobe"
run go-static-ip ts "$SC/gdial-static" dial 100.101.7.42:7007
run go-cgo-ip ts "$SC/gdial-cgo" dial 100.101.7.42:7007
run go-static-name ts "$SC/gdial-static" dial sandbox-1:7007
run go-static-fqdn ts "$SC/gdial-static" dial sandbox-1.tail1a2b3.ts.net:7007
run go-many ts "$SC/gdial-static" many 20 100.101.7.42:7007
run go-static-refused ts "$SC/gdial-static" dial 100.101.7.42:7008
run go-other-name ts "$SC/gdial-static" lookup example.internal
run musl-ip ts "$SC/faultprobe-static" -e 100.101.7.42 7007
run musl-local ts "$SC/faultprobe-static" -e 127.0.0.1 7007
run musl-name ts --intercept=seccomp "$SC/namedial-static" sandbox-1 7007
run shim-ip ts "$BD/tests/progs/faultprobe" -e 100.101.7.42 7007
run ptrace-ip ts --intercept=ptrace "$SC/gdial-static" dial 100.101.7.42:7007
run doctor ts doctor "$SC/gdial-static"
echo "== queries"
cat "$W/queries" 2>/dev/null
echo "== tailscaled-log"
tail -n 5 "$W/ts.log"
# A sandbox may outlive its first process (runsc do): stop the servers.
kill "${servers[@]}" 2>/dev/null
wait
exit 0
