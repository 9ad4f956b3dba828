# shellcheck shell=bash
# Static and Go programs (issue 14): tsrun --intercept=seccomp|auto runs them
# under a seccomp user-notify filter and answers their connect/getpeername
# itself. Clients are built here from Debian's golang-go (tests/progs/gdial.go,
# CGO_ENABLED=0 and =1) and musl-tools (tests/progs/faultprobe.c, -static),
# once per build dir ($B/seccomp/, Go cache in $B/gocache; no network).
# tsrun uses the bed's fake tailscaled (--socket/--socks5: external mode).

# SC_DIR, sc_build, sc_tsrun, the leak net and the checks test_ptrace.sh
# shares.
# shellcheck source=tests/e2e/sclib.sh
source "$REPO/tests/e2e/sclib.sh"

test_seccomp_clients_are_static_and_go() {
    sc_build
    assert_contains "$(file "$SC_DIR/gdial-static")" "statically linked"
    assert_contains "$(file "$SC_DIR/gdial-cgo")" "dynamically linked"
    assert_contains "$(file "$SC_DIR/faultprobe-static")" "statically linked"
    # Without tsrun the bed has no route to the tailnet.
    local out
    out=$("$SC_DIR/gdial-static" dial "$BED_PEER_V4:$BED_ECHO_PORT") || true
    assert_contains "$out" "network is unreachable"
}

test_seccomp_go_dial_by_ip() {
    sc_build
    local bin out
    for bin in gdial-static gdial-cgo; do
        out=$(sc_tsrun --intercept=seccomp "$SC_DIR/$bin" dial "$BED_PEER_V4:$BED_ECHO_PORT")
        echo "$bin v4: $out"
        assert_eq "ok remote=$BED_PEER_V4:$BED_ECHO_PORT" "$out" "$bin RemoteAddr"
        out=$(sc_tsrun --intercept=seccomp "$SC_DIR/$bin" dial "[$BED_PEER_V6]:$BED_ECHO_PORT")
        echo "$bin v6: $out"
        assert_eq "ok remote=[$BED_PEER_V6]:$BED_ECHO_PORT" "$out" "$bin RemoteAddr v6"
    done
}

test_seccomp_auto_picks_seccomp_for_go() {
    sc_build
    local bin out
    for bin in gdial-static gdial-cgo; do
        out=$(sc_tsrun "$SC_DIR/$bin" dial "$BED_PEER_V4:$BED_ECHO_PORT")
        assert_eq "ok remote=$BED_PEER_V4:$BED_ECHO_PORT" "$out" "$bin under auto"
        assert_contains "$(cat "$BED_DIR/sc.err")" "seccomp"
        assert_eq 1 "$(sc_lines "$(cat "$BED_DIR/sc.err")")" "one line says which intercept and why"
    done
    assert_contains "$(cat "$BED_DIR/sc.err")" "a Go program"
    # A dynamic C program keeps the shim, silently.
    out=$(sc_tsrun sh -c 'echo "$LD_PRELOAD"')
    assert_contains "$out" "libtsshim.so"
    assert_eq "" "$(cat "$BED_DIR/sc.err")"
}

test_seccomp_go_http() {
    sc_build
    local bin out
    for bin in gdial-static gdial-cgo; do
        out=$(sc_tsrun "$SC_DIR/$bin" http "http://$BED_PEER_V4:$BED_HTTP_PORT/")
        assert_eq "status=200 body=hello from db" "$out" "$bin net/http"
    done
}

test_seccomp_go_refused() {
    sc_build
    local out
    out=$(sc_tsrun "$SC_DIR/gdial-static" dial "$BED_PEER_V4:$BED_REFUSED_PORT") || true
    echo "$out"
    assert_contains "$out" "connect: connection refused"
    # An offline peer (from the status) answers at once, like the shim.
    out=$(sc_tsrun "$SC_DIR/gdial-static" dial "$BED_OFFLINE_V4:$BED_ECHO_PORT") || true
    echo "$out"
    assert_contains "$out" "connect: no route to host"
}

test_seccomp_static_musl() {
    sc_build
    local out opts
    for opts in "" -n; do
        out=$(sc_tsrun "$SC_DIR/faultprobe-static" $opts -e "$BED_PEER_V4" "$BED_ECHO_PORT")
        echo "musl static ${opts:-blocking}: $out"
        assert_contains "$out" "connect=OK "
        assert_contains "$out" "io=echo"
        assert_contains "$out" "flags=same"
        local fds=${out#* fds=}
        fds=${fds%% *}
        assert_eq "${fds%/*}" "${fds#*/}" "fd count before/after"
    done
    out=$(sc_tsrun "$SC_DIR/faultprobe-static" "$BED_PEER_V4" "$BED_REFUSED_PORT")
    assert_contains "$out" "connect=ECONNREFUSED "
}

# Connects outside the tailnet continue in the kernel, untouched.
test_seccomp_other_connects_continue() {
    sc_build
    local out
    out=$(sc_tsrun "$SC_DIR/faultprobe-static" -n 127.0.0.1 "${BED_SOCKS5#*:}")
    assert_contains "$out" "connect=OK "
    out=$(sc_tsrun "$SC_DIR/faultprobe-static" 127.0.0.1 1)
    assert_contains "$out" "connect=ECONNREFUSED "
    # A unix socket (curl to the LocalAPI) and loopback HTTP from a Go program.
    out=$(sc_tsrun --intercept=seccomp curl -s --unix-socket "$BED_TS_SOCKET" \
        -o /dev/null -w '%{http_code}' http://local-tailscaled.sock/localapi/v0/status)
    assert_eq 200 "$out"
}

test_seccomp_udp_to_tailnet_is_unreachable() {
    sc_build
    # Go's connected UDP socket to a tailnet address: never direct.
    local out
    out=$(sc_tsrun --intercept=seccomp sh -c \
        "exec python3 -c 'import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)
try:
    s.connect((sys.argv[1],7)); print(\"connected\")
except OSError as e: print(\"errno=%d\" % e.errno)
try:
    s2=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s2.sendto(b\"x\",(sys.argv[1],7)); print(\"sent\")
except OSError as e: print(\"sendto errno=%d\" % e.errno)' $BED_PEER_V4")
    echo "$out"
    assert_contains "$out" "errno=101"        # ENETUNREACH
    assert_contains "$out" "sendto errno=101" # ENETUNREACH
}

test_seccomp_many_concurrent_dials() {
    sc_build
    local out
    out=$(sc_tsrun "$SC_DIR/gdial-static" many 50 "$BED_PEER_V4:$BED_ECHO_PORT")
    echo "$out"
    assert_eq "ok=50/50" "$out"
}

# The children of the command are covered too (filters are inherited).
test_seccomp_covers_children() {
    sc_build
    local out
    out=$(sc_tsrun --intercept=seccomp sh -c \
        "sh -c '$SC_DIR/gdial-static dial $BED_PEER_V4:$BED_ECHO_PORT' & wait")
    assert_eq "ok remote=$BED_PEER_V4:$BED_ECHO_PORT" "$out"
}

# A 1 ms signal storm during 100 tunnelled connects: one SOCKS5 connection
# per connect (counted by a relay in front of the fake tailscaled).
test_seccomp_signal_storm_one_tunnel_per_connect() {
    sc_build
    sc_check_signal_storm seccomp 10955
}

test_seccomp_exit_status_and_signals() {
    sc_build
    sc_check_exit_status seccomp
}

# tsrun inside tsrun (seccomp): the inner one cannot get a listener (EBUSY),
# says so once and falls back; the outer supervisor still tunnels.
test_seccomp_nested_falls_back_with_one_hint() {
    sc_build
    local out err
    out=$(sc_tsrun --intercept=seccomp -- env TSRUN_STATE_DIR="$BED_DIR/sc-state2" \
        "$TSRUN" --socket "$BED_TS_SOCKET" --socks5 "$BED_SOCKS5" \
        "$SC_DIR/gdial-static" dial "$BED_PEER_V4:$BED_ECHO_PORT")
    err=$(cat "$BED_DIR/sc.err")
    echo "$err"
    assert_eq "ok remote=$BED_PEER_V4:$BED_ECHO_PORT" "$out"
    assert_contains "$err" "EBUSY"
    assert_eq 1 "$(grep -c 'hint' <<<"$err")" "one hint"
    # --intercept=seccomp asked explicitly: no fallback, an error.
    assert_status 125 sc_tsrun --intercept=seccomp -- \
        "$TSRUN" --socket "$BED_TS_SOCKET" --socks5 "$BED_SOCKS5" --intercept=seccomp true
}

# doctor says what this machine permits, and what a Go program gets here.
test_seccomp_doctor_reports() {
    sc_build
    local out
    out=$(sc_tsrun doctor "$SC_DIR/gdial-static") || true
    assert_contains "$out" "OK    seccomp: user-notify listeners work"
    assert_contains "$out" "a Go program: the shim cannot work; tsrun runs it under seccomp"
    # Inside a seccomp tree the listener is taken: doctor says so.
    out=$(sc_tsrun --intercept=seccomp -- "$TSRUN" --socket "$BED_TS_SOCKET" \
        --socks5 "$BED_SOCKS5" doctor) || true
    assert_contains "$out" "seccomp: no listener"
    assert_contains "$out" "EBUSY"
}

# As a non-root user the tree runs with no-new-privs: tunnels still work, and a
# setuid program is reported (once), not silently disarmed.
test_seccomp_non_root_setuid_is_reported() {
    sc_build
    sc_check_non_root_setuid seccomp
}

# The ADDFD path (Docker's default profile refuses pidfd_getfd): a new socket
# installed over the app's fd keeps its number and O_NONBLOCK/O_CLOEXEC.
test_seccomp_addfd_path() {
    sc_build
    local out opts
    export TSRUN_SECCOMP_ADDFD=1
    out=$(sc_tsrun "$SC_DIR/gdial-static" dial "$BED_PEER_V4:$BED_ECHO_PORT")
    assert_eq "ok remote=$BED_PEER_V4:$BED_ECHO_PORT" "$out"
    for opts in "" -n; do
        out=$(sc_tsrun "$SC_DIR/faultprobe-static" $opts -e "$BED_PEER_V4" "$BED_ECHO_PORT")
        echo "addfd ${opts:-blocking}: $out"
        assert_contains "$out" "connect=OK "
        assert_contains "$out" "io=echo"
        assert_contains "$out" "flags=same"
    done
    out=$(sc_tsrun "$SC_DIR/gdial-static" many 20 "$BED_PEER_V4:$BED_ECHO_PORT")
    assert_eq "ok=20/20" "$out"
    out=$(sc_tsrun "$SC_DIR/gdial-static" dial "$BED_PEER_V4:$BED_REFUSED_PORT") || true
    assert_contains "$out" "connect: connection refused"
}

# Go's pure resolver asks the nameservers of /etc/resolv.conf itself: under
# seccomp mode its UDP connects to port 53 reach tsrun's stub, which answers
# tailnet names and forwards the rest. The logging server (tests/fakes/dns.py)
# must see the other name and no tailnet name.
test_seccomp_go_resolver_names_without_leak() {
    sc_build
    local d=$BED_DIR/scdns out
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
        for bin in gdial-static gdial-cgo; do
            sc_tsrun "$SC_DIR/$bin" lookup "$BED_PEER_SHORT" || true
            sc_tsrun "$SC_DIR/$bin" lookup "$BED_PEER_FQDN" || true
            sc_tsrun "$SC_DIR/$bin" lookup "nope.$BED_SUFFIX" || true
            sc_tsrun "$SC_DIR/$bin" lookup example.internal || true
            sc_tsrun "$SC_DIR/$bin" dial "$BED_PEER_SHORT:$BED_ECHO_PORT" || true
        done' _ "$d")
    echo "$out"
    local want="addrs=$BED_PEER_V4 $BED_PEER_V6"
    assert_eq "$want" "$(sed -n 1p <<<"$out")" "short name (static)"
    assert_eq "$want" "$(sed -n 2p <<<"$out")" "FQDN (static)"
    assert_contains "$(sed -n 3p <<<"$out")" "no such host"
    assert_eq "addrs=10.9.8.7" "$(sed -n 4p <<<"$out")" "forwarded"
    # Go dials either address of the name (both reach the peer).
    assert_contains "ok remote=$BED_PEER_V4:$BED_ECHO_PORT|ok remote=[$BED_PEER_V6]:$BED_ECHO_PORT" \
        "$(sed -n 5p <<<"$out")"
    assert_contains "$(sed -n 5p <<<"$out")" "ok remote="
    assert_eq "$want" "$(sed -n 6p <<<"$out")" "short name (cgo)"
    assert_contains "ok remote=$BED_PEER_V4:$BED_ECHO_PORT|ok remote=[$BED_PEER_V6]:$BED_ECHO_PORT" \
        "$(sed -n 10p <<<"$out")"
    assert_contains "$(sed -n 10p <<<"$out")" "ok remote="
    local seen leaked
    seen=$(cat "$d/queries")
    echo "$seen"
    assert_contains "$seen" "example.internal" "the server saw the other name"
    # An IPv6 nameserver too: musl then asks both from one IPv6 socket, the
    # IPv4 one as ::ffff:127.0.0.1 (nothing listens on [::1]:53).
    printf 'nameserver 127.0.0.1\nnameserver ::1\noptions timeout:2 attempts:1\n' \
        >"$d/resolv.conf"
    # shellcheck disable=SC2016 # expanded by the inner bash
    out=$(unshare -m -- bash -c '
        for f in resolv.conf hosts; do mount --bind "$1/$f" "/etc/$f"; done
        sc_tsrun --intercept=seccomp "$SC_DIR/namedial-static" "$BED_PEER_SHORT" "$BED_ECHO_PORT"
        sc_tsrun --intercept=seccomp "$SC_DIR/namedial-static" example.internal 1
        true' _ "$d")
    echo "$out"
    mapfile -t l <<<"$out"
    assert_contains "${l[0]}" "$BED_PEER_V4" "IPv6 socket: the short name"
    assert_contains "ok remote=$BED_PEER_V4|ok remote=$BED_PEER_V6" "${l[1]}" "IPv6 socket: dialled"
    assert_eq "addrs=10.9.8.7" "${l[2]}" "IPv6 socket: the other name, forwarded"
    leaked=$(grep -Ei "ts\.net|[ .](db|old|sandbox-1|nope)(\.|$)" "$d/queries" || true)
    assert_eq "" "$leaked" "DNS queries for tailnet names"
}

# musl's static resolver: tailnet names from the stub, nothing leaked
# (sclib.sh).
test_seccomp_musl_resolver_names_without_leak() {
    sc_check_musl_resolver seccomp
}

# sendmsg/sendmmsg to the tailnet fail closed (sclib.sh).
test_seccomp_sendmsg_to_tailnet_fails_closed() {
    sc_check_sendmsg_fails_closed seccomp
}

# DNS over TCP from Go's resolver (auto picks seccomp) reaches the stub
# (sclib.sh).
test_seccomp_go_resolver_over_tcp() {
    # shellcheck disable=SC2119 # tsrun's own choice (auto)
    sc_check_go_resolver_over_tcp
}

# Where pidfd_getfd is refused (Docker's default profile; forced here with
# TSRUN_SECCOMP_ADDFD=1): Go's DNS sockets, UDP and TCP, are replaced by
# sockets connected to the stub (SECCOMP_IOCTL_NOTIF_ADDFD). musl's are in
# the next test.
test_seccomp_names_on_the_addfd_path() {
    sc_build
    local d=$BED_DIR/scdns-addfd out
    mkdir -p "$d"
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$d/resolv.conf"
    printf 'nameserver 127.0.0.1\noptions use-vc timeout:1 attempts:1\n' >"$d/resolv-tcp.conf"
    printf '127.0.0.1 localhost\n::1 localhost\n' >"$d/hosts"
    python3 "$REPO/tests/fakes/dns.py" --log "$d/queries" --ready "$d/ready" \
        --answer example.internal=10.9.8.7 &
    wait_for_file "$d/ready"
    export -f sc_tsrun
    export SC_DIR TSRUN_SECCOMP_ADDFD=1
    # shellcheck disable=SC2016 # expanded by the inner bash
    out=$(unshare -m -- bash -c '
        mount --bind "$1/hosts" /etc/hosts
        mount --bind "$1/resolv.conf" /etc/resolv.conf
        sc_tsrun "$SC_DIR/gdial-static" lookup "$BED_PEER_SHORT" || true
        sc_tsrun "$SC_DIR/gdial-static" lookup example.internal || true
        mount --bind "$1/resolv-tcp.conf" /etc/resolv.conf
        sc_tsrun "$SC_DIR/gdial-static" lookup "$BED_PEER_FQDN" || true
        sc_tsrun "$SC_DIR/gdial-static" lookup example.internal || true' _ "$d")
    echo "$out"
    local want="addrs=$BED_PEER_V4 $BED_PEER_V6"
    local -a l
    mapfile -t l <<<"$out"
    assert_eq "$want" "${l[0]}" "Go, UDP, ADDFD"
    assert_eq "addrs=10.9.8.7" "${l[1]}" "Go, UDP, ADDFD: forwarded"
    assert_eq "$want" "${l[2]}" "Go, TCP, ADDFD"
    assert_eq "addrs=10.9.8.7" "${l[3]}" "Go, TCP, ADDFD: forwarded"
    local seen leaked
    seen=$(cat "$d/queries")
    echo "$seen"
    assert_contains "$seen" "udp A example.internal"
    assert_contains "$seen" "tcp A example.internal"
    leaked=$(grep -Ei "ts\.net|[ .](db|old|sandbox-1|nope)(\.|$)" "$d/queries" || true)
    assert_eq "" "$leaked" "DNS queries for tailnet names"
}

# musl's static resolver where pidfd_getfd is refused: its tailnet query
# goes out on a UDP socket tsrun installs over the app's fd (ADDFD) and
# keeps, so that its recvfrom reports the nameserver as with pidfd_getfd
# (sclib.sh). Before, those names failed with ENETUNREACH.
test_seccomp_musl_resolver_on_the_addfd_path() {
    TSRUN_SECCOMP_ADDFD=1 sc_check_musl_resolver seccomp addfd
}

# A blocking recvfrom for the stub's answer waits in a supervisor thread
# (sclib.sh).
test_seccomp_blocking_recvfrom_for_stub_answers() {
    sc_check_blocking_recvfrom seccomp
}

# The same on tsrun's own socket where pidfd_getfd is refused (ADDFD): the
# app's SO_RCVTIMEO, set after its first query, is on that socket.
test_seccomp_blocking_recvfrom_on_the_addfd_path() {
    TSRUN_SECCOMP_ADDFD=1 sc_check_blocking_recvfrom seccomp
}

# DNS queries sent with sendmsg/sendmmsg: tailnet names to the stub, none
# leaked (sclib.sh).
test_seccomp_dns_sendmsg_sendmmsg_without_leak() {
    sc_check_dns_sendmsg seccomp
}

# The same where pidfd_getfd is refused (TSRUN_SECCOMP_ADDFD=1), on the
# socket tsrun installs over the app's fd, as for sendto.
test_seccomp_dns_sendmsg_on_the_addfd_path() {
    TSRUN_SECCOMP_ADDFD=1 sc_check_dns_sendmsg seccomp addfd
}

# A nameserver in a tunnelled range (a subnet route; MagicDNS's quad-100):
# through the stub, other names over TCP through the proxy (sclib.sh).
test_seccomp_tunnelled_nameserver() {
    sc_check_tunnelled_nameserver seccomp
}

# The user's TSRUN_ROUTES, as the shim honours it (sclib.sh).
test_seccomp_user_routes() {
    sc_check_user_routes seccomp
}
