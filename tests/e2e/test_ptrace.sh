# shellcheck shell=bash
# Static and Go programs where no seccomp listener can be had (issue 14): tsrun
# --intercept=ptrace, and auto's fallback chain seccomp -> ptrace -> proxy
# variables. The clients, sc_tsrun and the checks both intercepts pass are
# tests/e2e/sclib.sh's (shared with test_seccomp.sh; same build dir).
# Where the kernel must refuse an intercept, tests/progs/scdeny installs a
# seccomp filter that makes ptrace() fail with EPERM and/or seccomp()'s
# listener flag with EBUSY, then execs tsrun.

# shellcheck source=tests/e2e/sclib.sh
source "$REPO/tests/e2e/sclib.sh"

# pt_denied FLAGS... -- TSRUN_ARGS...: tsrun under scdeny FLAGS, stderr to
# $BED_DIR/sc.err.
pt_denied() {
    local flags=()
    while [[ $1 != -- ]]; do
        flags+=("$1")
        shift
    done
    shift
    env TSRUN_STATE_DIR="$BED_DIR/sc-state" TSRUN_SOCKET="$BED_TS_SOCKET" \
        "$PROGS/scdeny" "${flags[@]}" -- "$TSRUN" --socks5 "$BED_SOCKS5" "$@" 2>"$BED_DIR/sc.err"
}

# pt_state_is PID REGEX: the process's state (/proc/PID/stat, "" when gone)
# matches REGEX entirely.
pt_state_is() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || st=
    [[ $st =~ ^($2)$ ]]
}

test_ptrace_go_dial_by_ip() {
    sc_build
    local bin out
    for bin in gdial-static gdial-cgo; do
        out=$(sc_tsrun --intercept=ptrace "$SC_DIR/$bin" dial "$BED_PEER_V4:$BED_ECHO_PORT")
        echo "$bin v4: $out"
        assert_eq "ok remote=$BED_PEER_V4:$BED_ECHO_PORT" "$out" "$bin RemoteAddr"
        out=$(sc_tsrun --intercept=ptrace "$SC_DIR/$bin" dial "[$BED_PEER_V6]:$BED_ECHO_PORT")
        echo "$bin v6: $out"
        assert_eq "ok remote=[$BED_PEER_V6]:$BED_ECHO_PORT" "$out" "$bin RemoteAddr v6"
        out=$(sc_tsrun --intercept=ptrace "$SC_DIR/$bin" http "http://$BED_PEER_V4:$BED_HTTP_PORT/")
        assert_eq "status=200 body=hello from db" "$out" "$bin net/http"
    done
    # Forced, it says nothing.
    assert_eq "" "$(cat "$BED_DIR/sc.err")"
}

test_ptrace_go_refused_and_offline() {
    sc_build
    local out
    out=$(sc_tsrun --intercept=ptrace "$SC_DIR/gdial-static" dial "$BED_PEER_V4:$BED_REFUSED_PORT") || true
    echo "$out"
    assert_contains "$out" "connect: connection refused"
    out=$(sc_tsrun --intercept=ptrace "$SC_DIR/gdial-static" dial "$BED_OFFLINE_V4:$BED_ECHO_PORT") || true
    echo "$out"
    assert_contains "$out" "connect: no route to host"
}

test_ptrace_static_musl() {
    sc_build
    local out opts
    for opts in "" -n; do
        out=$(sc_tsrun --intercept=ptrace "$SC_DIR/faultprobe-static" $opts -e "$BED_PEER_V4" "$BED_ECHO_PORT")
        echo "musl static ${opts:-blocking}: $out"
        assert_contains "$out" "connect=OK "
        assert_contains "$out" "io=echo"
        assert_contains "$out" "flags=same"
        local fds=${out#* fds=}
        fds=${fds%% *}
        assert_eq "${fds%/*}" "${fds#*/}" "fd count before/after"
    done
    out=$(sc_tsrun --intercept=ptrace "$SC_DIR/faultprobe-static" "$BED_PEER_V4" "$BED_REFUSED_PORT")
    assert_contains "$out" "connect=ECONNREFUSED "
}

# Connects outside the tailnet continue in the kernel; UDP to the tailnet is
# refused, never sent.
test_ptrace_other_connects_continue_udp_unreachable() {
    sc_build
    local out
    out=$(sc_tsrun --intercept=ptrace "$SC_DIR/faultprobe-static" -n 127.0.0.1 "${BED_SOCKS5#*:}")
    assert_contains "$out" "connect=OK "
    out=$(sc_tsrun --intercept=ptrace "$SC_DIR/faultprobe-static" 127.0.0.1 1)
    assert_contains "$out" "connect=ECONNREFUSED "
    out=$(sc_tsrun --intercept=ptrace curl -s --unix-socket "$BED_TS_SOCKET" \
        -o /dev/null -w '%{http_code}' http://local-tailscaled.sock/localapi/v0/status)
    assert_eq 200 "$out"
    out=$(sc_tsrun --intercept=ptrace python3 -c 'import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
try:
    s.connect((sys.argv[1],7)); print("connected")
except OSError as e: print("errno=%d" % e.errno)
try:
    s.sendto(b"x",(sys.argv[1],7)); print("sent")
except OSError as e: print("sendto errno=%d" % e.errno)' "$BED_PEER_V4")
    echo "$out"
    assert_contains "$out" "errno=101"        # ENETUNREACH
    assert_contains "$out" "sendto errno=101" # ENETUNREACH
}

# Children (fork + exec, twice) and threads (Go's dials run on many).
test_ptrace_covers_children_and_threads() {
    sc_build
    local out
    out=$(sc_tsrun --intercept=ptrace sh -c \
        "sh -c '$SC_DIR/gdial-static dial $BED_PEER_V4:$BED_ECHO_PORT' & wait")
    assert_eq "ok remote=$BED_PEER_V4:$BED_ECHO_PORT" "$out"
    out=$(sc_tsrun --intercept=ptrace sh -c \
        "$SC_DIR/faultprobe-static -e $BED_PEER_V4 $BED_ECHO_PORT | cut -d' ' -f1")
    assert_eq "connect=OK" "$out"
    out=$(sc_tsrun --intercept=ptrace "$SC_DIR/gdial-static" many 8 "$BED_PEER_V4:$BED_ECHO_PORT")
    assert_eq "ok=8/8" "$out"
}

# 50 concurrent dials overlap: faultsocks --barrier 50 answers none until all
# 50 requests have arrived, each then after 100 ms (the tailnet dial).
test_ptrace_many_concurrent_dials_overlap() {
    sc_build
    local f=$BED_DIR/fault.out out
    "$PROGS/faultsocks" --barrier 50 --delay-ms 100 >"$f" 2>"$BED_DIR/fault.err" &
    local fpid=$!
    wait_for_line "$f" '^port=[0-9]+$'
    local port
    port=$(sed -n 's/^port=//p' "$f")
    out=$(env TSRUN_STATE_DIR="$BED_DIR/sc-state" TSRUN_SOCKET="$BED_TS_SOCKET" \
        "$TSRUN" --socks5 "127.0.0.1:$port" --intercept=ptrace \
        "$SC_DIR/gdial-static" many 50 "$BED_PEER_V4:$BED_ECHO_PORT" 2>"$BED_DIR/sc.err")
    echo "$out"
    kill $fpid 2>/dev/null || true
    assert_eq "ok=50/50" "$out"
    assert_eq 50 "$(grep -c '^request ' "$BED_DIR/fault.err")" "SOCKS5 requests"
}

# A 1 ms signal storm during 100 tunnelled connects: one SOCKS5 connection
# per connect (counted by a relay in front of the fake tailscaled), and the
# supervisor's fds come back to where they were.
test_ptrace_signal_storm_one_tunnel_per_connect() {
    sc_build
    sc_check_signal_storm ptrace 10956
}

test_ptrace_exit_status_and_signals() {
    sc_build
    sc_check_exit_status ptrace
}

# A stopped command stays stopped (group-stop) until SIGCONT, then goes on.
test_ptrace_stop_and_continue() {
    sc_build
    env TSRUN_STATE_DIR="$BED_DIR/sc-state" TSRUN_SOCKET="$BED_TS_SOCKET" \
        "$TSRUN" --socks5 "$BED_SOCKS5" --intercept=ptrace \
        sh -c 'echo $$; kill -STOP $$; echo resumed' >"$BED_DIR/stop.out" &
    local pid=$! child
    wait_for_line "$BED_DIR/stop.out" '^[0-9]+$'
    child=$(head -1 "$BED_DIR/stop.out")
    _e2e_poll 10 pt_state_is "$child" '[tT]' || _e2e_fail "the command never stopped"
    assert_not_contains "$(cat "$BED_DIR/stop.out")" "resumed"
    kill -CONT "$child"
    local st=0
    wait $pid || st=$?
    assert_eq 0 "$st"
    assert_contains "$(cat "$BED_DIR/stop.out")" "resumed"
}

# pt_doorbell TSRUN_PID COMMAND_PID [OLD_PID]: prints tsrun's child that is
# neither the command nor OLD_PID (the doorbell that wakes its tracer when a
# dial's result is ready, launcher/ptracer.c); fails when there is none.
pt_doorbell() {
    local f s p
    for f in /proc/[0-9]*/stat; do
        { read -r s <"$f"; } 2>/dev/null || continue # gone meanwhile
        p=${f#/proc/}
        p=${p%/stat}
        s=${s##*) }
        read -r _ s _ <<<"$s" # state, then the parent's pid
        if [[ $s == "$1" && $p != "$2" && $p != "${3:-}" ]]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# The doorbell killed from outside: tsrun starts another one, and a tunnelled
# connect made after that still gets its answer (without one, no dial's
# result could ever wake the tracer).
test_ptrace_doorbell_killed_results_still_arrive() {
    sc_build
    local fifo=$BED_DIR/bell.fifo out=$BED_DIR/bell.out
    mkfifo "$fifo"
    # shellcheck disable=SC2016 # expanded by the command's sh
    env TSRUN_STATE_DIR="$BED_DIR/sc-state" TSRUN_SOCKET="$BED_TS_SOCKET" \
        "$TSRUN" --socks5 "$BED_SOCKS5" --intercept=ptrace \
        sh -c 'echo $$; read -r x <"$1"; exec "$2" dial "$3"' _ "$fifo" \
        "$SC_DIR/gdial-static" "$BED_PEER_V4:$BED_ECHO_PORT" >"$out" 2>"$BED_DIR/sc.err" &
    local pid=$! child bell
    wait_for_line "$out" '^[0-9]+$'
    child=$(head -1 "$out")
    _e2e_poll 10 pt_doorbell "$pid" "$child" >/dev/null || _e2e_fail "tsrun has no doorbell"
    bell=$(pt_doorbell "$pid" "$child")
    kill -KILL "$bell"
    _e2e_poll 10 pt_doorbell "$pid" "$child" "$bell" >/dev/null ||
        _e2e_fail "no new doorbell after $bell was killed"
    echo go >"$fifo"
    local st=0
    wait $pid || st=$?
    assert_eq 0 "$st"
    assert_eq "ok remote=$BED_PEER_V4:$BED_ECHO_PORT" "$(tail -1 "$out")"
    assert_eq "" "$(cat "$BED_DIR/sc.err")"
}

# --- the fallback chain (--intercept=auto, a static/Go program) ---

# tsrun inside tsrun --intercept=seccomp: the inner one meets EBUSY and
# chooses ptrace, with one hint.
test_ptrace_chosen_when_nested_listener_busy() {
    sc_build
    local out err
    out=$(sc_tsrun --intercept=seccomp -- env TSRUN_STATE_DIR="$BED_DIR/sc-state2" \
        "$TSRUN" --socket "$BED_TS_SOCKET" --socks5 "$BED_SOCKS5" \
        "$SC_DIR/gdial-static" dial "$BED_PEER_V4:$BED_ECHO_PORT")
    err=$(cat "$BED_DIR/sc.err")
    echo "$err"
    assert_eq "ok remote=$BED_PEER_V4:$BED_ECHO_PORT" "$out"
    assert_contains "$err" "EBUSY"
    assert_contains "$err" "tunnelling its connects with ptrace instead"
    assert_eq 1 "$(grep -c 'hint' <<<"$err")" "one hint"
    assert_eq 1 "$(sc_lines "$err")" "one line in all"
}

# The listener refused by the kernel (EBUSY): ptrace alone does the work.
test_ptrace_chosen_when_listener_refused() {
    sc_build
    local out err bin
    for bin in gdial-static gdial-cgo; do
        out=$(pt_denied --listener -- "$SC_DIR/$bin" dial "$BED_PEER_V4:$BED_ECHO_PORT")
        err=$(cat "$BED_DIR/sc.err")
        echo "$err"
        assert_eq "ok remote=$BED_PEER_V4:$BED_ECHO_PORT" "$out" "$bin"
        assert_contains "$err" "tunnelling its connects with ptrace instead"
        assert_eq 1 "$(grep -c 'hint' <<<"$err")" "one hint"
    assert_eq 1 "$(sc_lines "$err")" "one line in all"
    done
    out=$(pt_denied --listener -- "$SC_DIR/gdial-static" many 20 "$BED_PEER_V4:$BED_ECHO_PORT")
    assert_eq "ok=20/20" "$out"
}

# ptrace refused (EPERM) but the listener works: auto keeps seccomp, silently
# apart from its one line; --intercept=ptrace fails loudly with what to do.
test_ptrace_refused_seccomp_still_chosen_forced_fails() {
    sc_build
    local out err
    out=$(pt_denied --ptrace -- "$SC_DIR/gdial-static" dial "$BED_PEER_V4:$BED_ECHO_PORT")
    assert_eq "ok remote=$BED_PEER_V4:$BED_ECHO_PORT" "$out"
    assert_eq 1 "$(sc_lines "$(cat "$BED_DIR/sc.err")")" "one line"
    assert_contains "$(cat "$BED_DIR/sc.err")" "seccomp user notifications"
    assert_status 2 pt_denied --ptrace -- --intercept=ptrace "$SC_DIR/gdial-static" dial \
        "$BED_PEER_V4:$BED_ECHO_PORT"
    err=$(cat "$BED_DIR/sc.err")
    echo "$err"
    assert_contains "$err" "--intercept=ptrace: cannot trace"
    assert_contains "$err" "EPERM"
    assert_contains "$err" "--intercept=env"
}

# Neither: proxy variables, one hint, and never a direct connection.
test_ptrace_neither_falls_back_to_env() {
    sc_build
    local out err
    out=$(pt_denied --ptrace --listener -- "$SC_DIR/gdial-static" dial \
        "$BED_PEER_V4:$BED_ECHO_PORT") || true
    err=$(cat "$BED_DIR/sc.err")
    echo "$out"
    echo "$err"
    assert_contains "$out" "network is unreachable"
    assert_contains "$err" "EBUSY"
    assert_contains "$err" "EPERM"
    assert_contains "$err" "ALL_PROXY"
    assert_eq 1 "$(grep -c 'hint' <<<"$err")" "one hint"
    assert_eq 1 "$(sc_lines "$err")" "one line in all"
    # The static program gets the proxy variable.
    local bin=$BED_DIR/static-getenv
    printf '%s\n' '#include <stdio.h>' '#include <stdlib.h>' \
        'int main(void){const char*v=getenv("ALL_PROXY");puts(v?v:"(unset)");return 0;}' >"$bin.c"
    musl-gcc -static -o "$bin" "$bin.c"
    out=$(pt_denied --ptrace --listener -- "$bin")
    assert_eq "socks5h://$BED_SOCKS5" "$out"
}

# No listener and no pidfd_getfd, but ptrace (Debian's gVisor: scdeny
# --no-pidfd --listener-einval): no tunnel can be built, so auto runs the Go
# program under ptrace with its tailnet connects refused at once, where the
# proxy-variable fallback let them leave by the default route (the leak net
# counted 9 SYNs) and hang; one hint says so. Its other connects work.
test_ptrace_without_getfd_fails_closed() {
    sc_build
    sc_leak_net
    local out
    out=$(pt_denied --no-pidfd --listener-einval -- "$SC_DIR/gdial-static" \
        dial "$BED_PEER_V4:$BED_ECHO_PORT") || true
    assert_eq "err=dial tcp $BED_PEER_V4:$BED_ECHO_PORT: connect: network is unreachable" "$out"
    assert_contains "$(cat "$BED_DIR/sc.err")" "refused (ENETUNREACH) under ptrace"
    out=$(pt_denied --no-pidfd --listener-einval -- "$SC_DIR/faultprobe-static" -e \
        "$BED_PEER_V4" "$BED_ECHO_PORT") || true
    assert_contains "$out" "ENETUNREACH"
    assert_no_leak "(no pidfd_getfd)"
    # A connect elsewhere is the kernel's as usual.
    socat TCP-LISTEN:18081,bind=127.0.0.1,reuseaddr,fork EXEC:cat &
    local srv=$!
    wait_for_port 127.0.0.1 18081
    out=$(pt_denied --no-pidfd --listener-einval -- "$SC_DIR/gdial-static" \
        dial 127.0.0.1:18081) || true
    kill "$srv"
    assert_eq "ok remote=127.0.0.1:18081" "$out"
}

test_ptrace_doctor_reports() {
    sc_build
    local out
    out=$(sc_tsrun doctor "$SC_DIR/gdial-static") || true
    assert_contains "$out" "OK    ptrace: permitted"
    out=$(pt_denied --ptrace -- doctor) || true
    echo "$out"
    assert_contains "$out" "ptrace: not usable (ptrace or pidfd_getfd is not permitted here"
    assert_contains "$out" "EPERM"
    out=$(pt_denied --listener -- doctor "$SC_DIR/gdial-static") || true
    echo "$out"
    assert_contains "$out" "tsrun runs it under ptrace"
}

# As a non-root user: the tree is traced by its own user, runs with
# no-new-privs, tunnels work, and a setuid program is reported once.
test_ptrace_non_root_setuid_is_reported() {
    sc_build
    sc_check_non_root_setuid ptrace
}

# Go's pure resolver under ptrace: its DNS connects reach tsrun's stub, which
# answers tailnet names and forwards the rest (tests/fakes/dns.py logs what
# the real server sees: the other name, no tailnet name).
test_ptrace_go_resolver_names_without_leak() {
    sc_build
    local d=$BED_DIR/ptdns out
    mkdir -p "$d"
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$d/resolv.conf"
    printf '127.0.0.1 localhost\n::1 localhost\n' >"$d/hosts"
    printf 'hosts: files dns\n' >"$d/nsswitch.conf"
    python3 "$REPO/tests/fakes/dns.py" --log "$d/queries" --ready "$d/ready" \
        --answer example.internal=10.9.8.7 &
    wait_for_file "$d/ready"
    export -f sc_tsrun
    export SC_DIR
    # shellcheck disable=SC2016 # expanded by the inner bash
    out=$(unshare -m -- bash -c '
        for f in resolv.conf hosts nsswitch.conf; do mount --bind "$1/$f" "/etc/$f"; done
        sc_tsrun --intercept=ptrace "$SC_DIR/gdial-static" lookup "$BED_PEER_FQDN" || true
        sc_tsrun --intercept=ptrace "$SC_DIR/gdial-static" lookup example.internal || true
        sc_tsrun --intercept=ptrace "$SC_DIR/gdial-static" dial "$BED_PEER_SHORT:$BED_ECHO_PORT" || true' _ "$d")
    echo "$out"
    assert_eq "addrs=$BED_PEER_V4 $BED_PEER_V6" "$(sed -n 1p <<<"$out")" "FQDN"
    assert_eq "addrs=10.9.8.7" "$(sed -n 2p <<<"$out")" "forwarded"
    assert_contains "$(sed -n 3p <<<"$out")" "ok remote="
    local seen leaked
    seen=$(cat "$d/queries")
    echo "$seen"
    assert_contains "$seen" "example.internal" "the server saw the other name"
    leaked=$(grep -Ei "ts\.net|[ .](db|old|sandbox-1|nope)(\.|$)" "$d/queries" || true)
    assert_eq "" "$leaked" "DNS queries for tailnet names"
}

# When the command exits, what it left running in the background goes too
# (EXITKILL: nothing runs on untraced, with its trapped calls unanswered).
test_ptrace_background_is_killed_with_the_command() {
    sc_build
    local bg
    bg=$(sc_tsrun --intercept=ptrace sh -c 'sleep 30 >/dev/null 2>&1 & echo $!')
    [[ $bg =~ ^[0-9]+$ ]] || _e2e_fail "no background pid: $bg"
    _e2e_poll 5 pt_state_is "$bg" 'Z|' || _e2e_fail "sleep $bg still running after the command exited"
}

# musl's static resolver under ptrace: its tailnet queries (sendto) reach the
# stub on a duplicate of its socket and recvfrom reports the nameserver, as
# in seccomp mode; nothing leaks to the real server.
test_ptrace_musl_resolver_names_without_leak() {
    sc_check_musl_resolver ptrace
}

# DNS over TCP from Go's resolver reaches the stub under ptrace too.
test_ptrace_go_resolver_over_tcp() {
    sc_check_go_resolver_over_tcp --intercept=ptrace
}

# A blocking recvfrom for the stub's answer: the thread stays stopped while
# a tracer thread waits (within SO_RCVTIMEO).
test_ptrace_blocking_recvfrom_for_stub_answers() {
    sc_check_blocking_recvfrom ptrace
}

# sendmsg/sendmmsg to the tailnet fail closed under ptrace as under seccomp.
test_ptrace_sendmsg_to_tailnet_fails_closed() {
    sc_check_sendmsg_fails_closed ptrace
}

# DNS queries sent with sendmsg/sendmmsg: tailnet names to the stub, none
# leaked (sclib.sh).
test_ptrace_dns_sendmsg_sendmmsg_without_leak() {
    sc_check_dns_sendmsg ptrace
}

# A nameserver in a tunnelled range (a subnet route; MagicDNS's quad-100):
# through the stub, other names over TCP through the proxy (sclib.sh).
test_ptrace_tunnelled_nameserver() {
    sc_check_tunnelled_nameserver ptrace
}

# The user's TSRUN_ROUTES, as the shim honours it (sclib.sh).
test_ptrace_user_routes() {
    sc_check_user_routes ptrace
}
