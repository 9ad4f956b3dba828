# shellcheck shell=bash
# What test_seccomp.sh and test_ptrace.sh share (sourced by both): the
# static and Go clients, tsrun against the bed's daemon, the leak net, and
# the checks both intercepts must pass, each taking the intercept's name.
# Clients are built here from Debian's golang-go (tests/progs/gdial.go,
# CGO_ENABLED=0 and =1) and musl-tools (tests/progs/faultprobe.c, namedial.c,
# addrlen.c, dnsmsg.c, -static), once per build dir ($B/seccomp/, Go cache in
# $B/gocache; no network). tsrun uses the bed's fake tailscaled
# (--socket/--socks5: external mode).

SC_DIR=$REPO/$B/seccomp

# sc_build: the clients, rebuilt only when their source is newer.
sc_build() {
    mkdir -p "$SC_DIR"
    local src=$REPO/tests/progs/gdial.go cgo out
    if ! command -v go >/dev/null; then
        _e2e_fail "no go toolchain: apt-get install golang-go (tests/packages.txt)"
    fi
    for cgo in 0 1; do
        out=$SC_DIR/gdial-$([[ $cgo == 0 ]] && echo static || echo cgo)
        if [[ ! -x $out || $src -nt $out ]]; then
            local tmp=$out.$BASHPID
            (cd "$SC_DIR" && env GOCACHE="$REPO/$B/gocache" GOPATH="$REPO/$B/gopath" \
                GO111MODULE=off GOFLAGS= CGO_ENABLED=$cgo go build -o "$tmp" "$src") ||
                _e2e_fail "go build ($cgo) failed"
            mv "$tmp" "$out"
        fi
    done
    local prog
    for prog in faultprobe namedial addrlen resolve dnsmsg; do
        out=$SC_DIR/$prog-static
        if [[ ! -x $out || $REPO/tests/progs/$prog.c -nt $out ]]; then
            musl-gcc -static -std=c11 -O2 -D_GNU_SOURCE -o "$out.$BASHPID" \
                "$REPO/tests/progs/$prog.c" || _e2e_fail "musl-gcc -static $prog.c failed"
            mv "$out.$BASHPID" "$out"
        fi
    done
}

# sc_tsrun ARGS...: tsrun against the bed's daemon, stderr to $BED_DIR/sc.err.
sc_tsrun() {
    env TSRUN_STATE_DIR="$BED_DIR/sc-state" TSRUN_SOCKET="$BED_TS_SOCKET" \
        "$TSRUN" --socks5 "$BED_SOCKS5" "$@" 2>"$BED_DIR/sc.err"
}

# The leak net (tests/e2e/leaknet.sh).
sc_leak_net() {
    # shellcheck source=tests/e2e/leaknet.sh
    source "$REPO/tests/e2e/leaknet.sh"
    # shellcheck disable=SC2119 # no extra ranges
    leak_up
}

# sc_dns_server DIR: tests/fakes/dns.py on 127.0.0.1:53 (answers
# example.internal=10.9.8.7, logs what it is asked to DIR/queries), and
# DIR/hosts; sc_tsrun and SC_DIR exported for an inner `unshare -m` bash
# that bind-mounts DIR's files over /etc's.
sc_dns_server() {
    mkdir -p "$1"
    printf '127.0.0.1 localhost\n::1 localhost\n' >"$1/hosts"
    python3 "$REPO/tests/fakes/dns.py" --log "$1/queries" --ready "$1/ready" \
        --answer example.internal=10.9.8.7 &
    wait_for_file "$1/ready"
    export -f sc_tsrun
    export SC_DIR
}

# sc_assert_no_tailnet_queries DIR: the real server was asked no tailnet name.
sc_assert_no_tailnet_queries() {
    local leaked
    leaked=$(grep -Ei "ts\.net|[ .](db|old|sandbox-1|nope)(\.|$)" "$1/queries" || true)
    assert_eq "" "$leaked" "DNS queries for tailnet names"
}

# sc_check_musl_resolver MODE [TAG]: musl's static resolver sends each query
# with sendto() on an unconnected UDP socket and keeps a reply only when
# recvfrom() reports a nameserver it asked as the source (musl
# src/network/res_msend.c). Under --intercept=MODE a tailnet query goes to
# tsrun's stub instead and recvfrom reports the nameserver; other names go
# to the nameserver unchanged. The logging server must see the other name
# and no tailnet name. 80 lookups from two threads of one process (a new
# socket each) must all get the same answer. TAG names the bed's directory.
sc_check_musl_resolver() {
    sc_build
    local mode=$1 d=$BED_DIR/scdns-musl-${2:-$1} out
    sc_dns_server "$d"
    printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' >"$d/resolv.conf"
    # shellcheck disable=SC2016 # expanded by the inner bash
    out=$(unshare -m -- bash -c '
        for f in resolv.conf hosts; do mount --bind "$1/$f" "/etc/$f"; done
        sc_tsrun --intercept="$2" "$SC_DIR/namedial-static" "$BED_PEER_SHORT" "$BED_ECHO_PORT"
        sc_tsrun --intercept="$2" "$SC_DIR/namedial-static" "$BED_PEER_FQDN" "$BED_ECHO_PORT"
        sc_tsrun --intercept="$2" "$SC_DIR/namedial-static" "nope.$BED_SUFFIX" "$BED_ECHO_PORT"
        sc_tsrun --intercept="$2" "$SC_DIR/namedial-static" example.internal 1
        sc_tsrun --intercept="$2" "$SC_DIR/resolve-static" -4 --repeat 40 --threads 2 \
            "$BED_PEER_SHORT" 1 | tr "\n" " "
        true' _ "$d" "$mode")
    echo "$out"
    local -a l
    mapfile -t l <<<"$out"
    local one="$BED_PEER_V4 1 canon=$BED_PEER_SHORT"
    assert_eq "inet stream 6 $one inet dgram 17 $one status 0 " "${l[7]}" \
        "80 lookups in one process, every answer the same"
    local i
    for i in 0 2; do
        assert_contains "${l[i]}" "addrs=" "name resolved (line $i)"
        assert_contains "${l[i]}" "$BED_PEER_V4" "its IPv4 address (line $i)"
        assert_contains "${l[i]}" "$BED_PEER_V6" "its IPv6 address (line $i)"
        assert_contains "ok remote=$BED_PEER_V4|ok remote=$BED_PEER_V6" "${l[i + 1]}" \
            "connected by name (line $((i + 1)))"
    done
    assert_eq "status=EAI_NONAME" "${l[4]}" "a missing tailnet name"
    assert_eq "addrs=10.9.8.7" "${l[5]}" "the other name, forwarded"
    local seen
    seen=$(cat "$d/queries")
    echo "$seen"
    assert_contains "$seen" "udp A example.internal" "the server saw the other name"
    # An IPv6 nameserver too: musl then asks both from one IPv6 socket, the
    # IPv4 one as ::ffff:127.0.0.1 (nothing listens on [::1]:53).
    printf 'nameserver 127.0.0.1\nnameserver ::1\noptions timeout:2 attempts:1\n' \
        >"$d/resolv.conf"
    # shellcheck disable=SC2016 # expanded by the inner bash
    out=$(unshare -m -- bash -c '
        for f in resolv.conf hosts; do mount --bind "$1/$f" "/etc/$f"; done
        sc_tsrun --intercept="$2" "$SC_DIR/namedial-static" "$BED_PEER_SHORT" "$BED_ECHO_PORT"
        sc_tsrun --intercept="$2" "$SC_DIR/namedial-static" example.internal 1
        true' _ "$d" "$mode")
    echo "$out"
    mapfile -t l <<<"$out"
    assert_contains "${l[0]}" "$BED_PEER_V4" "IPv6 socket: the short name"
    assert_contains "ok remote=$BED_PEER_V4|ok remote=$BED_PEER_V6" "${l[1]}" "IPv6 socket: dialled"
    assert_eq "addrs=10.9.8.7" "${l[2]}" "IPv6 socket: the other name, forwarded"
    sc_assert_no_tailnet_queries "$d"
}

# sc_check_sendmsg_fails_closed MODE: sendmsg/sendmmsg carry their address
# inside struct msghdr, which the filter cannot read: tsrun reads it. UDP to
# the tailnet is ENETUNREACH and TCP fast open EOPNOTSUPP, as with sendto;
# nothing leaves through the (leak net's) default route. Static musl (whose
# sendmmsg() is a loop of sendmsg(): rawmmsg makes the system call) and
# Python without the shim.
sc_check_sendmsg_fails_closed() {
    sc_build
    sc_leak_net
    local out host len mode
    for host in "$BED_PEER_V4" "$BED_PEER_V6" "::ffff:$BED_PEER_V4"; do
        len=16
        [[ $host == *:* ]] && len=28
        for mode in sendmsg sendmmsg rawmmsg; do
            out=$(sc_tsrun --intercept="$1" "$SC_DIR/addrlen-static" $mode udp "$host" 7 $len)
            assert_eq "errno=ENETUNREACH" "$out" "$mode udp $host"
        done
    done
    # shellcheck disable=SC2016 # python code
    out=$(sc_tsrun --intercept="$1" -- env -u LD_PRELOAD python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setblocking(False)
try:
    s.sendmsg([b"x"], [], socket.MSG_FASTOPEN, (sys.argv[1], 7)); print("sent")
except OSError as e:
    print("errno=%d" % e.errno)' "$BED_PEER_V4")
    assert_eq "errno=95" "$out" "sendmsg MSG_FASTOPEN to the tailnet: EOPNOTSUPP"
    # A msg_namelen beyond a sockaddr_storage: the kernel clamps it to one
    # and sends (sendto would refuse it).
    for mode in sendmsg sendmmsg rawmmsg; do
        out=$(sc_tsrun --intercept="$1" "$SC_DIR/addrlen-static" $mode udp "$BED_PEER_V4" 7 200)
        assert_eq "errno=ENETUNREACH" "$out" "$mode udp, msg_namelen 200"
    done
    assert_no_leak "($1)"
    # Elsewhere sendmsg/sendmmsg go on in the kernel.
    for mode in sendmsg sendmmsg rawmmsg; do
        out=$(sc_tsrun --intercept="$1" "$SC_DIR/addrlen-static" $mode udp 127.0.0.1 9 16)
        assert_eq "result=ok" "$out" "$mode udp to loopback"
    done
}

# sc_check_dns_sendmsg MODE: DNS queries sent with sendmsg()/sendmmsg() to
# a nameserver's port 53 on an unconnected UDP socket (tests/progs/dnsmsg.c):
# under --intercept=MODE a tailnet query goes to tsrun's stub and recvfrom
# reports the nameserver as the answer's source; other names reach the
# nameserver. sendmmsg sends a leading tailnet entry alone (the caller sends
# the rest in its next call) and fails a call whose tailnet entry comes after
# another (ENETUNREACH, nothing sent). Bad pointers get EFAULT, as from the
# kernel. An answer read with recvmsg (not trapped) shows the stub's address.
# The logging server must see exactly the other names asked and no tailnet
# name. TAG (second argument) names the bed's directory.
sc_check_dns_sendmsg() {
    sc_build
    local mode=$1 d=$BED_DIR/scdns-msg-${2:-$1} out peer other=example.internal
    sc_dns_server "$d"
    local ns4="src=127.0.0.1:53" ns6="src=[::ffff:127.0.0.1]:53"
    peer="rcode=0 a=$BED_PEER_V4"
    _dnsmsg() { sc_tsrun --intercept="$mode" "$SC_DIR/dnsmsg-static" "$@"; }
    out=$(_dnsmsg sendmsg 127.0.0.1 "$BED_PEER_FQDN")
    assert_eq "sent=all
reply id=1 $ns4 $peer" "$out" "sendmsg, FQDN"
    out=$(_dnsmsg sendmsg 127.0.0.1 "$BED_PEER_SHORT")
    assert_eq "sent=all
reply id=1 $ns4 $peer" "$out" "sendmsg, short name"
    out=$(_dnsmsg sendmsg 127.0.0.1 "nope.$BED_SUFFIX")
    assert_eq "sent=all
reply id=1 $ns4 rcode=3 a=-" "$out" "sendmsg, a missing tailnet name"
    out=$(_dnsmsg sendmsg ::ffff:127.0.0.1 "$BED_PEER_FQDN")
    assert_eq "sent=all
reply id=1 $ns6 $peer" "$out" "sendmsg, IPv6 socket"
    out=$(_dnsmsg cmsg 127.0.0.1 "$BED_PEER_FQDN")
    assert_eq "sent=all
reply id=1 $ns4 $peer" "$out" "sendmsg with a control message"
    # recvmsg is not trapped: its msg_name is the stub's address (a limit).
    out=$(_dnsmsg recvmsg 127.0.0.1 "$BED_PEER_FQDN")
    assert_contains "$out" "reply id=1 src=127.0.0.1:" "recvmsg: the stub's address"
    assert_not_contains "$out" "$ns4 " "recvmsg: not the nameserver (port 53, not 53xxx)"
    assert_contains "$out" " $peer" "recvmsg: the answer itself"
    out=$(_dnsmsg sendmsg 127.0.0.1 $other)
    assert_eq "sent=all
reply id=1 $ns4 rcode=0 a=10.9.8.7" "$out" "sendmsg, the other name"
    out=$(_dnsmsg sendmmsg 127.0.0.1 "$BED_PEER_FQDN" "$BED_PEER_SHORT")
    assert_eq "sent=1 len=all
sent=1 len=all
reply id=1 $ns4 $peer
reply id=2 $ns4 $peer" "$out" "sendmmsg [tailnet, tailnet]"
    out=$(_dnsmsg sendmmsg 127.0.0.1 "$BED_PEER_FQDN" $other)
    assert_eq "sent=1 len=all
sent=1 len=all
reply id=1 $ns4 $peer
reply id=2 $ns4 rcode=0 a=10.9.8.7" "$out" "sendmmsg [tailnet, other]"
    out=$(_dnsmsg sendmmsg 127.0.0.1 $other "$BED_PEER_FQDN")
    assert_eq "errno=ENETUNREACH" "$out" "sendmmsg [other, tailnet]"
    out=$(_dnsmsg sendmmsg 127.0.0.1 $other $other)
    assert_eq "sent=2 len=all len=all
reply id=1 $ns4 rcode=0 a=10.9.8.7
reply id=2 $ns4 rcode=0 a=10.9.8.7" "$out" "sendmmsg [other, other]"
    local bad
    for bad in badiov badbase badctl; do
        out=$(_dnsmsg $bad 127.0.0.1 "$BED_PEER_FQDN")
        assert_eq "errno=EFAULT" "$out" "sendmsg $bad"
    done
    local seen
    seen=$(cat "$d/queries")
    echo "$seen"
    # sendmsg 1, sendmmsg [tailnet, other] 1, [other, other] 2; the failed
    # [other, tailnet] none.
    assert_eq 4 "$(grep -c "^udp A $other\$" <<<"$seen")" "the other name's queries"
    sc_assert_no_tailnet_queries "$d"
}

# sc_check_tunnelled_nameserver MODE: the only nameserver is in a tunnelled
# range (here behind the peer's subnet route, --accept-routes; MagicDNS's
# 100.100.100.100 and an exit node's routes are the same case). Its queries
# go to tsrun's stub, which answers tailnet names and asks the nameserver
# the others over TCP through the proxy: nothing goes by the kernel's routes
# (the leak net counts frames to the subnet too), and the nameserver sees
# the other name over TCP and no tailnet name. Before, Go's UDP connect and
# musl's sendto there got ENETUNREACH: no name resolved at all.
sc_check_tunnelled_nameserver() {
    sc_build
    source "$REPO/tests/e2e/leaknet.sh"
    leak_up "$BED_SUBNET_ROUTE"
    local d=$BED_DIR/scdns-subnet-$1 out
    mkdir -p "$d"
    printf '127.0.0.1 localhost\n::1 localhost\n' >"$d/hosts"
    printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$BED_SUBNET_V4" >"$d/resolv.conf"
    nsenter --net="$BED_PEER_NETNS" -- python3 "$REPO/tests/fakes/dns.py" --listen "$BED_SUBNET_V4" \
        --log "$d/queries" --ready "$d/ready" --answer example.internal=10.9.8.7 &
    wait_for_file "$d/ready"
    export -f sc_tsrun
    export SC_DIR
    # shellcheck disable=SC2016 # expanded by the inner bash
    out=$(unshare -m -- bash -c '
        for f in resolv.conf hosts; do mount --bind "$1/$f" "/etc/$f"; done
        sc_tsrun --accept-routes --intercept="$2" "$SC_DIR/gdial-static" lookup "$BED_PEER_SHORT" || true
        sc_tsrun --accept-routes --intercept="$2" "$SC_DIR/gdial-static" lookup example.internal || true
        sc_tsrun --accept-routes --intercept="$2" "$SC_DIR/namedial-static" "$BED_PEER_SHORT" "$BED_ECHO_PORT" || true
        sc_tsrun --accept-routes --intercept="$2" "$SC_DIR/resolve-static" -4 --socktype stream \
            example.internal - | head -n 1' _ "$d" "$1")
    echo "$out"
    local -a l
    mapfile -t l <<<"$out"
    assert_eq "addrs=$BED_PEER_V4 $BED_PEER_V6" "${l[0]}" "Go: the tailnet name, from the stub"
    assert_eq "addrs=10.9.8.7" "${l[1]}" "Go: the other name, through the proxy"
    assert_contains "${l[2]}" "$BED_PEER_V4" "musl: the tailnet name"
    assert_contains "ok remote=$BED_PEER_V4|ok remote=$BED_PEER_V6" "${l[3]}" "musl: dialled by name"
    assert_eq "inet stream 6 10.9.8.7 0 canon=example.internal" "${l[4]}" \
        "musl: the other name, through the proxy"
    local seen
    seen=$(cat "$d/queries")
    echo "$seen"
    assert_contains "$seen" "tcp A example.internal" "asked over TCP through the tunnel"
    assert_not_contains "$seen" "udp " "no datagram reached it"
    sc_assert_no_tailnet_queries "$d"
    assert_no_leak "(a tunnelled nameserver, $1)"
}

# sc_check_user_routes MODE: the user's TSRUN_ROUTES (no exit node, no
# --accept-routes) is tunnelled for a static program as the shim tunnels it:
# the peer's web page behind the subnet route through the tunnel. Before,
# the supervisor used only tsrun's own routes, and the connect went to the
# kernel (here: no route, ENETUNREACH).
sc_check_user_routes() {
    sc_build
    local out
    out=$(TSRUN_ROUTES=$BED_SUBNET_ROUTE sc_tsrun --intercept="$1" "$SC_DIR/gdial-static" \
        http "http://$BED_SUBNET_V4/") || true
    assert_eq "status=200 body=hello from db" "$out" "TSRUN_ROUTES under --intercept=$1"
    out=$(TSRUN_ROUTES=not-a-cidr sc_tsrun --intercept="$1" "$SC_DIR/gdial-static" \
        dial "$BED_SUBNET_V4:80" 2>&1) && _e2e_fail "a bad TSRUN_ROUTES ran: $out"
    assert_contains "$(cat "$BED_DIR/sc.err")" "TSRUN_ROUTES" "a bad value is refused, named"
}

# sc_check_go_resolver_over_tcp [TSRUN_ARGS...]: DNS over TCP (Go falls
# back to it on a truncated answer; "options use-vc", which Go 1.19 reads
# from resolv.conf, makes it ask over TCP from the start): a TCP connect to
# the nameserver's port 53 reaches tsrun's stub, which answers tailnet names
# and forwards the rest over TCP. The logging server must see the other name
# over TCP and no tailnet name.
sc_check_go_resolver_over_tcp() {
    sc_build
    local d=$BED_DIR/scdns-tcp out
    sc_dns_server "$d"
    printf 'nameserver 127.0.0.1\noptions use-vc timeout:2 attempts:1\n' >"$d/resolv.conf"
    printf 'hosts: files dns\n' >"$d/nsswitch.conf"
    # shellcheck disable=SC2016 # expanded by the inner bash
    out=$(unshare -m -- bash -c '
        d=$1
        shift
        for f in resolv.conf hosts nsswitch.conf; do mount --bind "$d/$f" "/etc/$f"; done
        for bin in gdial-static gdial-cgo; do
            sc_tsrun "$@" "$SC_DIR/$bin" lookup "$BED_PEER_SHORT" || true
            sc_tsrun "$@" "$SC_DIR/$bin" lookup "$BED_PEER_FQDN" || true
            sc_tsrun "$@" "$SC_DIR/$bin" lookup "nope.$BED_SUFFIX" || true
            sc_tsrun "$@" "$SC_DIR/$bin" lookup example.internal || true
        done
        sc_tsrun "$@" "$SC_DIR/gdial-static" dial "$BED_PEER_FQDN:$BED_ECHO_PORT" || true' \
        _ "$d" "$@")
    echo "$out"
    local want="addrs=$BED_PEER_V4 $BED_PEER_V6"
    local -a l
    mapfile -t l <<<"$out"
    local base
    for base in 0 4; do
        assert_eq "$want" "${l[base]}" "short name over TCP (line $base)"
        assert_eq "$want" "${l[base + 1]}" "FQDN over TCP"
        assert_contains "${l[base + 2]}" "no such host"
        assert_eq "addrs=10.9.8.7" "${l[base + 3]}" "forwarded over TCP"
    done
    assert_contains "ok remote=$BED_PEER_V4:$BED_ECHO_PORT|ok remote=[$BED_PEER_V6]:$BED_ECHO_PORT" \
        "${l[8]}"
    assert_contains "${l[8]}" "ok remote="
    local seen
    seen=$(cat "$d/queries")
    echo "$seen"
    assert_contains "$seen" "tcp A example.internal" "the server saw the other name over TCP"
    assert_not_contains "$seen" "udp " "every query went over TCP"
    sc_assert_no_tailnet_queries "$d"
}

# sc_check_blocking_recvfrom MODE: a blocking recvfrom on a socket whose
# tailnet query went to the stub: with nothing queued it waits in a
# supervisor thread (within the socket's SO_RCVTIMEO), and an answer that
# arrives later still reports the nameserver as its source. A signal with a
# handler ends the wait (EINTR, the handler runs); before, with no
# SO_RCVTIMEO, the thread waited for ever. Python without
# the shim, so the filter sees it.
sc_check_blocking_recvfrom() {
    sc_build
    local out
    # shellcheck disable=SC2016 # python code
    out=$(sc_tsrun --intercept="$1" -- env -u LD_PRELOAD python3 -c '
import signal, socket, struct, sys, threading
signal.alarm(5)
def q(name, qid):
    b = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for l in name.split("."):
        b += bytes([len(l)]) + l.encode()
    return b + b"\0" + struct.pack("!HH", 1, 1)
def show(tag, data, src):
    print(tag, "%s:%d" % src, struct.unpack("!H", data[:2])[0], socket.inet_ntoa(data[-4:]))
ns = ("127.0.0.1", 53)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(q(sys.argv[1], 1), ns)
show("first", *s.recvfrom(512))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 200000))
try:
    s.recvfrom(512)
    print("nothing queued: got something")
except OSError as e:
    print("nothing queued: errno", e.errno)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 0))
threading.Timer(0.2, lambda: s.sendto(q(sys.argv[1], 3), ns)).start()
show("later", *s.recvfrom(512))
class Alarm(Exception):
    pass
def on_alarm(*_):
    raise Alarm()
signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.3)
try:
    s.recvfrom(512)
    print("signal: a datagram came first")
except Alarm:
    print("signal: its handler ran")' "$BED_PEER_FQDN")
    echo "$out"
    assert_eq "first 127.0.0.1:53 1 $BED_PEER_V4
nothing queued: errno 11
later 127.0.0.1:53 3 $BED_PEER_V4
signal: its handler ran" "$out"
}

# sc_lines TEXT: TEXT's lines other than a sanitizer runtime's own (under
# `make asan`, tsrun's clone()d helpers make ASan warn about
# __asan_handle_no_return on stderr: google/sanitizers#189).
sc_lines() {
    grep -cv -e '^==[0-9]*==' -e '^False positive error reports may follow' \
        -e '^For details see https://github.com/google/sanitizers' <<<"$1" || true
}

# sc_check_signal_storm MODE PORT: 100 tunnelled connects under a 1 ms signal
# storm (gdial storm) through a counting relay on 127.0.0.1:PORT: exactly one
# SOCKS5 connection per connect, and the supervisor's fd count unchanged.
sc_check_signal_storm() {
    local mode=$1 port=$2 log=$BED_DIR/relay.log out lines
    socat -d -d TCP-LISTEN:"$port",bind=127.0.0.1,reuseaddr,fork "TCP:$BED_SOCKS5" 2>"$log" &
    local relay=$!
    # Its own log says when it listens (a probe connect would count).
    wait_for_line "$log" "listening on"
    # sh's parent is tsrun, the supervisor: its fd count before and after.
    # shellcheck disable=SC2016 # expanded by sh
    out=$(env TSRUN_STATE_DIR="$BED_DIR/sc-state" TSRUN_SOCKET="$BED_TS_SOCKET" \
        "$TSRUN" --socks5 "127.0.0.1:$port" --intercept="$mode" sh -c \
        'ls /proc/$PPID/fd | wc -l; "$0" storm 100 "$1"; ls /proc/$PPID/fd | wc -l' \
        "$SC_DIR/gdial-static" "$BED_PEER_V4:$BED_ECHO_PORT" 2>/dev/null)
    echo "$out"
    mapfile -t lines <<<"$out"
    assert_eq "ok=100/100" "${lines[1]}"
    assert_eq "${lines[0]}" "${lines[2]}" "supervisor fds before/after"
    assert_eq 100 "$(grep -c 'accepting connection' "$log")" "SOCKS5 connections"
    kill $relay 2>/dev/null || true
}

# sc_check_exit_status MODE: COMMAND's exit status and fatal signal become
# tsrun's; a signal the command sends itself reaches its handler; a signal
# sent to tsrun reaches the command.
sc_check_exit_status() {
    local mode=$1 st=0 pid
    assert_status 7 sc_tsrun --intercept="$mode" sh -c 'exit 7'
    assert_status 127 sc_tsrun --intercept="$mode" /nonexistent/prog
    sc_tsrun --intercept="$mode" sh -c 'kill -TERM $$' || st=$?
    assert_eq $((128 + 15)) "$st" "died of SIGTERM"
    assert_status 5 sc_tsrun --intercept="$mode" sh -c 'trap "exit 5" USR2; kill -USR2 $$; sleep 5'
    env TSRUN_STATE_DIR="$BED_DIR/sc-state" TSRUN_SOCKET="$BED_TS_SOCKET" \
        "$TSRUN" --socks5 "$BED_SOCKS5" --intercept="$mode" \
        sh -c 'trap "echo got-usr1; exit 3" USR1; echo ready; while :; do sleep 0.05; done' \
        >"$BED_DIR/sig.out" &
    pid=$!
    wait_for_line "$BED_DIR/sig.out" ready
    kill -USR1 $pid
    st=0
    wait $pid || st=$?
    assert_eq 3 "$st"
    assert_contains "$(cat "$BED_DIR/sig.out")" "got-usr1"
}

# sc_check_non_root_setuid MODE: as user nobody the tree runs with
# no-new-privs: a tunnel still works, and a setuid program is reported once
# (it runs without its privileges), not silently disarmed.
sc_check_non_root_setuid() {
    local mode=$1 out err
    command -v setpriv >/dev/null || _e2e_fail "setpriv (util-linux) missing"
    # tsrun refuses a state directory owned by someone else: nobody's own.
    mkdir -p "$BED_DIR/nobody" && chown 65534:65534 "$BED_DIR/nobody" &&
        chmod 700 "$BED_DIR/nobody" && chmod 755 "$BED_DIR"
    cp /usr/bin/id "$BED_DIR/suid-id" && chmod 4755 "$BED_DIR/suid-id"
    out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env TSRUN_STATE_DIR="$BED_DIR/nobody" \
        TSRUN_SOCKET="$BED_TS_SOCKET" "$TSRUN" --socks5 "$BED_SOCKS5" --intercept="$mode" sh -c \
        "$SC_DIR/gdial-static dial $BED_PEER_V4:$BED_ECHO_PORT; $BED_DIR/suid-id -u; $BED_DIR/suid-id -u" \
        2>"$BED_DIR/nobody.err")
    err=$(cat "$BED_DIR/nobody.err")
    echo "$out"
    echo "$err"
    assert_eq "ok remote=$BED_PEER_V4:$BED_ECHO_PORT
65534
65534" "$out"
    assert_contains "$err" "suid-id is setuid: under --intercept=$mode"
    assert_eq 1 "$(grep -c setuid <<<"$err")" "reported once"
}
