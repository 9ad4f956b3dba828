# shellcheck shell=bash
# Tailnet names resolve to their real tailnet addresses, in every resolver
# API and program, with no DNS leak (issue 4).
#
# Runs in the bed's client namespace. The shim gets the bed's name map
# ($BED_NAMES, written from the fixture); the connect side tunnels to the
# fake tailscaled's SOCKS5 port.

MUSL=$REPO/$B/musl
DNS_PY=$REPO/tests/fakes/dns.py
V6=$BED_PEER_V6

# shim CMD...: run CMD with the shim preloaded and configured.
shim() {
    env LD_PRELOAD="$SHIM" TSRUN_SOCKS5="$BED_SOCKS5" TSRUN_NAMES="${NAMES:-$BED_NAMES}" "$@"
}

# musl_shim CMD...: the same with the musl build of the shim.
musl_shim() {
    env LD_PRELOAD="$MUSL/libtsshim.so" TSRUN_SOCKS5="$BED_SOCKS5" \
        TSRUN_NAMES="${NAMES:-$BED_NAMES}" "$@"
}

# py_gai NAME FAMILY(4|6|u): the address list Python's getaddrinfo returns.
py_gai() {
    shim python3 -c '
import socket, sys
fam = {"4": socket.AF_INET, "6": socket.AF_INET6, "u": socket.AF_UNSPEC}[sys.argv[2]]
try:
    res = socket.getaddrinfo(sys.argv[1], 80, fam, socket.SOCK_STREAM)
except socket.gaierror as e:
    print("gaierror", {socket.EAI_NONAME: "EAI_NONAME"}.get(e.errno, e.errno))
    sys.exit(0)
print(" ".join(a[4][0] for a in res))' "$1" "$2"
}

# node_lookup NAME: dns.lookup(NAME, {all: true}) as "ADDR/FAMILY ...".
node_lookup() {
    # SHIM_PRELOAD: node crashes unless a sanitizer runtime comes first (lib.sh).
    SHIM=$SHIM_PRELOAD shim node -e '
require("dns").lookup(process.argv[1], {all: true}, (err, addrs) => {
    if (err) { console.log(err.code); return; }
    console.log(addrs.map((a) => a.address + "/" + a.family).join(" "));
});' "$1"
}

# ------------------------------------------------------------ resolver APIs

test_python_getaddrinfo_families() {
    assert_eq "$BED_PEER_V4" "$(py_gai "$BED_PEER_SHORT" 4)" "AF_INET, short name"
    assert_eq "$V6" "$(py_gai "$BED_PEER_SHORT" 6)" "AF_INET6, short name"
    assert_eq "$BED_PEER_V4 $V6" "$(py_gai "$BED_PEER_SHORT" u)" "AF_UNSPEC, short name"
    assert_eq "$BED_PEER_V4 $V6" "$(py_gai "$BED_PEER_FQDN" u)" "AF_UNSPEC, FQDN"
    assert_eq "$BED_PEER_V4 $V6" "$(py_gai "${BED_PEER_FQDN^^}." u)" "upper case, trailing dot"
    assert_eq "$BED_OFFLINE_V4" "$(py_gai "$BED_OFFLINE_FQDN" u)" "offline peer still resolves"
    assert_eq "$BED_SELF_V4 $BED_SELF_V6" "$(py_gai "$BED_SELF_FQDN" u)" "self"
}

test_getent_ahosts_short_name() {
    local out
    out=$(shim getent ahosts "$BED_PEER_SHORT")
    assert_eq "$BED_PEER_V4     STREAM $BED_PEER_FQDN
$BED_PEER_V4     DGRAM  
$BED_PEER_V4     RAW    
$V6 STREAM 
$V6 DGRAM  
$V6 RAW    " "$out"
}

test_getent_hosts_forward_and_reverse() {
    assert_eq "$BED_PEER_V4     $BED_PEER_FQDN $BED_PEER_SHORT" "$(shim getent hosts "$BED_PEER_V4")"
    assert_eq "$V6 $BED_PEER_FQDN $BED_PEER_SHORT" "$(shim getent hosts "$V6")"
    assert_eq "$V6 $BED_PEER_FQDN $BED_PEER_SHORT" "$(shim getent hosts "$BED_PEER_SHORT")"
    # A Tailscale address the map does not know: not found, no PTR query.
    assert_status 2 shim getent hosts "$BED_UNKNOWN_V4"
}

test_node_dns_lookup() {
    assert_eq "$BED_PEER_V4/4 $V6/6" "$(node_lookup "$BED_PEER_SHORT")"
    assert_eq "$BED_PEER_V4/4 $V6/6" "$(node_lookup "$BED_PEER_FQDN")"
    assert_eq "ENOTFOUND" "$(node_lookup "nope.$BED_SUFFIX")"
}

test_canonname_is_the_fqdn() {
    local out
    out=$(shim "$PROGS/resolve" --canon -4 --socktype stream "$BED_PEER_SHORT" http)
    assert_eq "inet stream 6 $BED_PEER_V4 80 canon=$BED_PEER_FQDN
status 0" "$out"
    out=$(shim python3 -c 'import socket,sys
r = socket.getaddrinfo(sys.argv[1], 22, socket.AF_INET6, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)
print(r[0][3], r[0][4][0], r[0][4][1])' "$BED_PEER_SHORT")
    assert_eq "$BED_PEER_FQDN $V6 22" "$out"
}

test_resolve_flags_and_services() {
    local out
    out=$(shim "$PROGS/resolve" --socktype dgram "$BED_PEER_FQDN" domain)
    assert_eq "inet dgram 17 $BED_PEER_V4 53
inet6 dgram 17 $V6 53
status 0" "$out" "service name, SOCK_DGRAM, v4 then v6"
    # AI_ADDRCONFIG must not hide tailnet addresses: this namespace has only lo.
    out=$(shim "$PROGS/resolve" --addrconfig --socktype stream "$BED_PEER_SHORT" 443)
    assert_eq "inet stream 6 $BED_PEER_V4 443
inet6 stream 6 $V6 443
status 0" "$out" "AI_ADDRCONFIG"
    out=$(shim "$PROGS/resolve" --passive --socktype stream --protocol 6 "$BED_PEER_SHORT" 8080)
    assert_eq "inet stream 6 $BED_PEER_V4 8080
inet6 stream 6 $V6 8080
status 0" "$out" "AI_PASSIVE with a host, explicit protocol"
    out=$(shim "$PROGS/resolve" -6 --v4mapped --socktype stream old 80)
    assert_eq "inet6 stream 6 ::ffff:$BED_OFFLINE_V4 80
status 0" "$out" "AI_V4MAPPED for a v4-only node"
    out=$(shim "$PROGS/resolve" -6 --socktype stream old 80) || true
    assert_eq "status EAI_NODATA" "$out" "AF_INET6 for a v4-only node"
    # AI_NUMERICHOST: a name is never looked up.
    out=$(shim "$PROGS/resolve" --numeric "$BED_PEER_SHORT" 80) || true
    assert_eq "status EAI_NONAME" "$out"
    out=$(shim "$PROGS/resolve" --socktype stream "$BED_PEER_SHORT" no-such-service) || true
    assert_eq "status EAI_SERVICE" "$out"
}

test_missing_tailnet_name_is_eai_noname() {
    local name out
    for name in "nope.$BED_SUFFIX" "NOPE.${BED_SUFFIX^^}." "x.other.ts.net" "$BED_SUFFIX"; do
        out=$(shim "$PROGS/resolve" "$name" 80) || true
        assert_eq "status EAI_NONAME" "$out" "$name"
    done
    assert_eq "gaierror EAI_NONAME" "$(py_gai "nope.$BED_SUFFIX" u)"
    assert_status 2 shim getent ahosts "nope.$BED_SUFFIX"
    out=$(shim "$PROGS/hostent" "nope.$BED_SUFFIX") || true
    assert_eq "status rc=0 h_errno=HOST_NOT_FOUND" "$out"
}

test_gethostbyname_family() {
    local out
    out=$(shim "$PROGS/hostent" "$BED_PEER_SHORT")
    assert_eq "name $BED_PEER_FQDN
alias $BED_PEER_SHORT
addr $BED_PEER_V4
status rc=0 h_errno=0" "$out" "gethostbyname"
    out=$(shim "$PROGS/hostent" -6 "$BED_PEER_FQDN")
    assert_contains "$out" "addr $V6"
    out=$(shim "$PROGS/hostent" --r 1024 -6 "$BED_PEER_SHORT")
    assert_contains "$out" "addr $V6" "gethostbyname2_r"
    out=$(shim "$PROGS/hostent" --r 1024 "$BED_PEER_SHORT")
    assert_contains "$out" "addr $BED_PEER_V4" "gethostbyname_r"
    assert_status 3 shim "$PROGS/hostent" --r 32 "$BED_PEER_SHORT"
    out=$(shim "$PROGS/hostent" -6 old) || true
    assert_eq "status rc=0 h_errno=NO_DATA" "$out"
    assert_eq "bad 0" "$(shim "$PROGS/hostent" --threads 8 "$BED_PEER_SHORT")" "per-thread storage"
}

test_reverse_lookups() {
    local out
    out=$(shim "$PROGS/reverse" "$BED_PEER_V4" 80)
    assert_eq "host $BED_PEER_FQDN
serv http
status 0" "$out" "getnameinfo v4"
    out=$(shim "$PROGS/reverse" --nofqdn "$V6" 22)
    assert_eq "host $BED_PEER_SHORT
serv ssh
status 0" "$out" "getnameinfo v6, NI_NOFQDN"
    out=$(shim "$PROGS/reverse" --numerichost "$BED_PEER_V4" 80)
    assert_contains "$out" "host $BED_PEER_V4"
    out=$(shim "$PROGS/reverse" "$BED_UNKNOWN_V4" 80)
    assert_contains "$out" "host $BED_UNKNOWN_V4" "unknown Tailscale address: numeric"
    out=$(shim "$PROGS/reverse" --namereqd "$BED_UNKNOWN_V4") || true
    assert_eq "status EAI_NONAME" "$out"
    out=$(shim "$PROGS/hostent" --addr --r 1024 "$BED_OFFLINE_V4")
    assert_contains "$out" "name $BED_OFFLINE_FQDN" "gethostbyaddr_r"
    out=$(shim python3 -c 'import socket,sys; print(socket.gethostbyaddr(sys.argv[1])[0])' "$BED_PEER_V4")
    assert_eq "$BED_PEER_FQDN" "$out" "python gethostbyaddr"
}

test_non_tailnet_names_untouched() {
    local plain shimmed
    plain=$("$PROGS/resolve" localhost 80)
    shimmed=$(shim "$PROGS/resolve" localhost 80)
    assert_eq "$plain" "$shimmed" "localhost"
    plain=$("$PROGS/resolve" --canon 127.0.0.1 http)
    shimmed=$(shim "$PROGS/resolve" --canon 127.0.0.1 http)
    assert_eq "$plain" "$shimmed" "numeric host"
    plain=$("$PROGS/reverse" 127.0.0.1 80)
    shimmed=$(shim "$PROGS/reverse" 127.0.0.1 80)
    assert_eq "$plain" "$shimmed" "getnameinfo on loopback"
}

test_threads_see_one_answer() {
    local out
    out=$(shim "$PROGS/resolve" --threads 8 --repeat 300 --canon "$BED_PEER_SHORT" 80)
    assert_contains "$out" "status 0"
    assert_not_contains "$out" "mismatch"
}

test_fork_and_exec_see_the_same_names() {
    local out
    out=$(shim python3 -c '
import os, socket, sys, threading
def spin(stop):
    while not stop.is_set():
        socket.getaddrinfo("db", 80, socket.AF_INET, socket.SOCK_STREAM)
socket.getaddrinfo("db", 80)  # finish lazy imports (idna) before threads fork
stop = threading.Event()
ts = [threading.Thread(target=spin, args=(stop,)) for _ in range(4)]
for t in ts: t.start()
bad = 0
for i in range(40):
    pid = os.fork()
    if pid == 0:
        a = socket.getaddrinfo("db", 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
        os._exit(0 if a == "100.88.12.5" else 1)
    _, st = os.waitpid(pid, 0)
    bad += st != 0
stop.set()
for t in ts: t.join()
print("bad", bad)
' 2>/dev/null)
    assert_eq "bad 0" "$out"
    # exec: a child started by a shimmed shell resolves the same way.
    out=$(shim bash -c 'exec python3 -c "import socket; print(socket.gethostbyname(\"db\"))"')
    assert_eq "$BED_PEER_V4" "$out"
}

# ------------------------------------------------------------ the name map

test_map_replaced_while_a_process_keeps_resolving() {
    local map=$BED_DIR/names-live out=$BED_DIR/live.out t_swap
    cp "$BED_NAMES" "$map"
    NAMES=$map shim python3 -u -c '
import socket, time
def one(name):
    try:
        return socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror:
        return "NONAME"
while True:
    print("%.3f db=%s web=%s" % (time.time(), one("db"), one("web.tail1a2b3.ts.net")))
    time.sleep(0.01)
' >"$out" &
    wait_for_line "$out" "db=$BED_PEER_V4 web=NONAME\$"
    # The launcher's way: write a temporary file, then rename over the map.
    sed -e "s/ $BED_PEER_V4 / 100.88.12.99 /" \
        -e "s/^end 3\$/node web.$BED_SUFFIX peer online 100.88.12.7\nend 4/" \
        "$map" >"$map.tmp"
    t_swap=$EPOCHREALTIME
    mv "$map.tmp" "$map"
    wait_for_line "$out" "db=100\.88\.12\.99 web=100\.88\.12\.7\$" 5
    kill %1
    # Old, then new; never an error or a half state in between.
    local lines first_new
    lines=$(sed -E 's/^[0-9.]+ //' "$out" | uniq)
    assert_eq "db=$BED_PEER_V4 web=NONAME
db=100.88.12.99 web=100.88.12.7" "$lines"
    first_new=$(grep -m1 'db=100.88.12.99' "$out" | cut -d' ' -f1)
    python3 -c "import sys; lag = $first_new - $t_swap; print('lag %.3f s' % lag); sys.exit(0 if lag < 1.0 else 1)" ||
        _e2e_fail "the new map took longer than 1 s to be seen"
}

test_missing_or_garbage_map_is_no_names() {
    local out
    printf 'garbage\n\x00\x01\n' >"$BED_DIR/names-garbage"
    printf 'tsrun-names 1\nnode db.%s peer online %s\n' "$BED_SUFFIX" "$BED_PEER_V4" >"$BED_DIR/names-truncated"
    : >"$BED_DIR/names-empty"
    for f in names-garbage names-truncated names-empty names-absent; do
        out=$(NAMES=$BED_DIR/$f TSRUN_DEBUG=1 shim "$PROGS/resolve" --repeat 3 "$BED_PEER_FQDN" 80 2>&1) || true
        assert_contains "$out" "status EAI_NONAME" "$f: tailnet names stay off DNS"
        assert_eq 1 "$(grep -c 'no tailnet names from it' <<<"$out")" "$f: exactly one debug line"
    done
}

# ------------------------------------------------------------ programs

# Issue 12, kind 4: a SIGALRM handler connects to a tailnet address every
# 500 us while the main thread loops getaddrinfo(tailnet name). With a lock
# on the name map, the first interrupt inside a lookup deadlocks (3 of 3
# runs before the fix); the e2e timeout bounds the run.
# timeout: 120
test_signal_handler_connects_while_main_resolves() {
    local out
    out=$(shim "$REPO/$B/tests/progs/sigconnect" --lookups 3000 --handlers 300 \
        --interval-us 500 "$BED_PEER_FQDN" "$BED_PEER_V4" 80)
    [[ $out =~ ^lookups\ 3000\ found\ 3000\ handlers\ ([0-9]+)$ ]] ||
        _e2e_fail "unexpected: $out"
    (( BASH_REMATCH[1] > 0 )) || _e2e_fail "no handler ran: $out"
}

test_curl_short_name() {
    assert_eq "hello from db" "$(shim curl -sS --max-time 10 "http://$BED_PEER_SHORT/")"
}

test_curl_fqdn() {
    assert_eq "hello from db" "$(shim curl -sS --max-time 10 "http://$BED_PEER_FQDN/")"
}

test_git_clone_fqdn() {
    local dir=$BED_DIR/clone
    shim git clone -q "http://$BED_PEER_FQDN:$BED_GIT_PORT/git/owner/repo.git" "$dir"
    assert_eq "$BED_GIT_HEAD" "$(git -C "$dir" rev-parse HEAD)"
}

test_ssh_short_name() {
    assert_status 0 shim ssh -F "$BED_SSH_CONFIG" "$BED_PEER_SHORT" true
}

test_offline_peer_fails_fast_with_ehostunreach() {
    local out
    out=$(shim python3 -c '
import errno, socket, sys, time
s = socket.socket()
t = time.monotonic()
try:
    s.connect((sys.argv[1], 80))
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno), "fast" if time.monotonic() - t < 1.0 else "slow")
' "$BED_OFFLINE_FQDN")
    assert_eq "EHOSTUNREACH fast" "$out"
}

# ------------------------------------------------------------ musl, valgrind

test_musl_getaddrinfo_freeaddrinfo() {
    local out
    [[ -f $MUSL/libtsshim.so ]] || _e2e_fail "no musl shim: $MUSL/libtsshim.so (make musl)"
    [[ $(readelf -l "$MUSL/progs/resolve") == *"/lib/ld-musl-x86_64.so.1"* ]] ||
        _e2e_fail "$MUSL/progs/resolve is not a dynamic musl program"
    out=$(musl_shim "$MUSL/progs/resolve" --canon "$BED_PEER_SHORT" 80)
    assert_eq "inet stream 6 $BED_PEER_V4 80 canon=$BED_PEER_FQDN
inet dgram 17 $BED_PEER_V4 80 canon=$BED_PEER_FQDN
inet6 stream 6 $V6 80 canon=$BED_PEER_FQDN
inet6 dgram 17 $V6 80 canon=$BED_PEER_FQDN
status 0" "$out" "musl: one block, v4 then v6, canonname"
    out=$(musl_shim "$MUSL/progs/resolve" -6 --v4mapped --socktype stream old ssh)
    assert_eq "inet6 stream 6 ::ffff:$BED_OFFLINE_V4 22
status 0" "$out"
    out=$(musl_shim "$MUSL/progs/resolve" "nope.$BED_SUFFIX" 80) || true
    assert_eq "status EAI_NONAME" "$out"
    # musl's freeaddrinfo frees what we built, whole or node by node: the
    # resident set does not grow over 100000 lookups (a leaked ~600-byte
    # block per lookup would be ~60 MB), and a double free would abort.
    local mode growth
    for mode in "" --split; do
        out=$(musl_shim "$MUSL/progs/resolve" $mode --canon --leakcheck 100000 "$BED_PEER_SHORT" 80)
        growth=$(sed -n 's/^rss_growth_kb //p' <<<"$out")
        ((growth < 2048)) || _e2e_fail "musl ${mode:-whole}: RSS grew by $growth KiB" "$out"
    done
    assert_eq "bad 0" "$(musl_shim "$MUSL/progs/hostent" --threads 8 "$BED_PEER_SHORT")"
    out=$(musl_shim "$MUSL/progs/reverse" "$BED_PEER_V4" 80)
    assert_contains "$out" "host $BED_PEER_FQDN"
}

test_valgrind_glibc_freeaddrinfo() {
    local args rc out
    if ldd "$SHIM" | grep 'lib[at]san' >/dev/null; then
        echo "sanitizer build of the shim: valgrind does not apply (ASan checks frees itself)"
        return 0
    fi
    for args in "--canon $BED_PEER_SHORT 80" "-6 --canon --split DB. ssh" \
        "--socktype dgram --canon $BED_PEER_FQDN 53" "-6 --v4mapped --all old 80" \
        "nope.$BED_SUFFIX 80"; do
        rc=0
        # shellcheck disable=SC2086 # word splitting wanted
        out=$(valgrind --trace-children=yes --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=definite,indirect -q \
            env LD_PRELOAD="$SHIM" TSRUN_NAMES="$BED_NAMES" "$PROGS/resolve" --repeat 20 $args 2>&1) || rc=$?
        ((rc == 0 || rc == 2)) || _e2e_fail "valgrind: resolve $args (exit $rc)" "$out"
    done
    rc=0
    out=$(valgrind --trace-children=yes --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect -q \
        env LD_PRELOAD="$SHIM" TSRUN_NAMES="$BED_NAMES" "$PROGS/hostent" --r 1024 db 2>&1) || rc=$?
    ((rc == 0)) || _e2e_fail "valgrind: hostent (exit $rc)" "$out"
}

# ------------------------------------------------------------ the DNS leak

# The battery every tailnet lookup goes through; runs inside a private mount
# namespace whose resolv.conf names only the logging DNS server.
_leak_battery() {
    local n
    for n in "$BED_PEER_SHORT" "$BED_PEER_FQDN" "$BED_OFFLINE_FQDN" "nope.$BED_SUFFIX"; do
        shim curl -sS --max-time 5 -o /dev/null "http://$n/" 2>/dev/null || true
        py_gai "$n" u >/dev/null
        py_gai "$n" 6 >/dev/null
        shim getent ahosts "$n" >/dev/null || true
        shim getent hosts "$n" >/dev/null || true
        node_lookup "$n" >/dev/null
        shim "$PROGS/resolve" --canon "$n" 80 >/dev/null || true
        shim "$PROGS/hostent" "$n" >/dev/null || true
        shim "$PROGS/hostent" -6 --r 1024 "$n" >/dev/null || true
        if [[ -x $MUSL/progs/resolve && -f $MUSL/libtsshim.so ]]; then
            musl_shim "$MUSL/progs/resolve" --canon "$n" 80 >/dev/null || true
        fi
    done
    for n in "${BED_PEER_SHORT^^}." "x.other.ts.net" "$BED_SUFFIX"; do
        py_gai "$n" u >/dev/null
    done
    for n in "$BED_PEER_V4" "$V6" "$BED_UNKNOWN_V4" "$BED_OFFLINE_V4"; do
        shim getent hosts "$n" >/dev/null || true
        shim "$PROGS/reverse" "$n" 80 >/dev/null || true
        shim python3 -c 'import socket,sys
try: socket.gethostbyaddr(sys.argv[1])
except OSError: pass' "$n"
    done
    shim git ls-remote "http://$BED_PEER_FQDN:$BED_GIT_PORT/git/owner/repo.git" >/dev/null 2>&1 || true
    shim ssh -F "$BED_SSH_CONFIG" -o ConnectTimeout=5 "$BED_PEER_SHORT" true >/dev/null 2>&1 || true
    # A non-tailnet name still resolves, through the logging server.
    py_gai example.internal 4
    node_lookup example.internal
}

test_no_dns_leak() {
    local d=$BED_DIR/leak log battery control
    mkdir -p "$d"
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$d/resolv.conf"
    printf '127.0.0.1 localhost\n::1 localhost\n' >"$d/hosts"
    printf 'hosts: files dns\n' >"$d/nsswitch.conf"
    log=$d/queries
    python3 "$DNS_PY" --log "$log" --ready "$d/ready" --answer example.internal=10.9.8.7 &
    wait_for_file "$d/ready"
    export -f shim musl_shim py_gai node_lookup _leak_battery
    export MUSL V6 PROGS SHIM SHIM_PRELOAD
    # shellcheck disable=SC2016 # expanded by the inner bash
    battery=$(unshare -m -- bash -c '
        set -euo pipefail
        for f in resolv.conf hosts nsswitch.conf; do mount --bind "$1/$f" "/etc/$f"; done
        _leak_battery' _ "$d" 2>&1)
    assert_contains "$battery" "10.9.8.7
10.9.8.7/4" "example.internal resolves through the logging server"
    local seen
    seen=$(<"$log")
    assert_contains "$seen" "A example.internal" "the server saw the non-tailnet name"
    # Zero queries for any tailnet name, short name, or Tailscale PTR.
    local leaked
    leaked=$(grep -Ei 'ts\.net|[ .](db|old|sandbox-1|nope)(\.|$)|\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.100\.in-addr\.arpa|a\.7\.d\.f\.ip6\.arpa' "$log" || true)
    assert_eq "" "$leaked" "DNS queries for tailnet names"
    # The witness works: without the shim the same lookup does reach it.
    # shellcheck disable=SC2016 # expanded by the inner bash
    unshare -m -- bash -c 'for f in resolv.conf hosts nsswitch.conf; do mount --bind "$1/$f" "/etc/$f"; done
        getent ahosts "$2" >/dev/null || true' _ "$d" "leak-control.$BED_SUFFIX"
    control=$(<"$log")
    assert_contains "$control" "leak-control.$BED_SUFFIX" "control: an unshimmed lookup is seen"
}
