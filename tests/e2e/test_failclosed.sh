# shellcheck shell=bash disable=SC2016
# Fail closed (issue 12): whatever goes wrong, a connection or datagram to a
# tunnelled range never reaches the kernel's routes. To see an escape rather
# than the bed's ENETUNREACH, leak_up gives the bed's client namespace a
# default route (IPv4 and IPv6) through a veth pair whose far end, tsleak1,
# has a sniffer (sniff.py) counting frames addressed to the tailnet: any
# count above zero is a packet the shim let through.
#
# Also the shim as a guest (its lines only where a person reads them), the
# sandbox's own addresses with TSRUN_ROUTES=all, and tsrun refusing the
# values the shim would fall back from.

ADDRLEN=$PROGS/addrlen
PROBE=$PROGS/probe

# shellcheck source=tests/e2e/leaknet.sh
source "$REPO/tests/e2e/leaknet.sh"

# ---------------------------------------------------------------- kind 1

# The leak net works: without the shim the same datagram does escape.
test_leak_net_sees_an_unshimmed_datagram() {
    leak_up
    assert_eq "result=ok" "$("$ADDRLEN" sendto udp "$BED_PEER_V4" 7 16)"
    local n
    n=$(leaked)
    assert_eq "1 $BED_PEER_V4" "$n"
}

# Issue instance 1 and its siblings: every length, every call, both socket
# families, the three address forms. The kernel's own answer is measured in
# a loopback-only namespace; where it accepts the length (ENETUNREACH there)
# the shim must tunnel (TCP: one byte echoed) or refuse (UDP: ENETUNREACH),
# elsewhere it must give the kernel's errno. Nothing may leave.
# timeout: 240
test_addrlen_every_length_handled_as_the_kernel() {
    local rows=() mode proto fam host len
    for mode in "connect tcp" "connect udp" "sendto udp" "sendmsg udp" "sendmmsg udp" "fastopen tcp"; do
        for fam in 4 6; do
            for host in "$BED_PEER_V4" "$BED_PEER_V6" "::ffff:$BED_PEER_V4"; do
                for len in 0 1 15 16 23 24 27 28 29 128 129 200; do
                    rows+=("$mode $host $len $fam")
                done
            done
        done
    done
    local kernel
    kernel=$(printf '%s\n' "${rows[@]}" | unshare -n bash -c 'ip link set lo up
        while read -r m p h l f; do echo "$("$1" "$m" "$p" "$h" 7 "$l" "$f")"; done' _ "$ADDRLEN")
    mapfile -t kernel <<<"$kernel"
    assert_eq "${#rows[@]}" "${#kernel[@]}" "one kernel answer per row"
    leak_up
    local i want got bad=()
    for i in "${!rows[@]}"; do
        read -r mode proto host len fam <<<"${rows[$i]}"
        want=${kernel[$i]}
        if [[ $want == errno=ENETUNREACH ]]; then
            if [[ $proto == tcp ]]; then want="result=ok recv=x"; fi
        fi
        got=$(env LD_PRELOAD="$SHIM_PRELOAD" TSRUN_SOCKS5="$BED_SOCKS5" TSRUN_QUIET=1 \
            "$ADDRLEN" "$mode" "$proto" "$host" "$BED_ECHO_PORT" "$len" "$fam")
        [[ $got == "$want" ]] || bad+=("${rows[$i]}: want $want, got $got")
    done
    ((${#bad[@]} == 0)) || _e2e_fail "${#bad[@]} of ${#rows[@]} differ" "${bad[@]:0:20}"
    assert_no_leak
}

# ---------------------------------------------------------------- kind 3

# Issue instance 3 and siblings: a bad value never switches the shim off.
# TCP to the tailnet is tunnelled (or, with no usable proxy address,
# refused with ECONNREFUSED); UDP is refused; one line names the key.
test_bad_value_never_sends_direct() {
    leak_up
    local kv out err=$BED_DIR/bad.err want
    for kv in TSRUN_DEBUG=maybe TSRUN_CONNECT_TIMEOUT_MS=0 TSRUN_CONNECT_TIMEOUT_MS=5s \
        TSRUN_ROUTES=garbage TSRUN_ROUTES=10.0.0.0/33 TSRUN_QUIET=2 TSRUN_SOCKS5_PIPELINE=2 \
        TSRUN_LOG=relative.log TSRUN_SOCKS5=nonsense TSRUN_SOCKS5=127.0.0.1:0; do
        want="result=ok recv=x"
        [[ $kv == TSRUN_SOCKS5=* ]] && want="errno=ECONNREFUSED"
        out=$(env TSRUN_SOCKS5="$BED_SOCKS5" "$kv" LD_PRELOAD="$SHIM_PRELOAD" \
            "$ADDRLEN" connect tcp "$BED_PEER_V4" "$BED_ECHO_PORT" 16 2>"$err")
        assert_eq "$want" "$out" "$kv (TCP v4)"
        assert_eq 1 "$(wc -l <"$err")" "$kv: one line: $(cat "$err")"
        assert_contains "$(cat "$err")" "${kv%%=*}="
        out=$(env TSRUN_SOCKS5="$BED_SOCKS5" "$kv" LD_PRELOAD="$SHIM_PRELOAD" \
            "$ADDRLEN" connect tcp "$BED_PEER_V6" "$BED_ECHO_PORT" 28 2>/dev/null)
        assert_eq "$want" "$out" "$kv (TCP v6)"
        out=$(env TSRUN_SOCKS5="$BED_SOCKS5" "$kv" LD_PRELOAD="$SHIM_PRELOAD" \
            "$ADDRLEN" sendto udp "$BED_PEER_V4" "$BED_ECHO_PORT" 16 2>/dev/null)
        assert_eq "errno=ENETUNREACH" "$out" "$kv (UDP)"
    done
    assert_no_leak
}

# The spellings the launcher used to accept and the shim refused now work
# in both: TSRUN_DEBUG=true gives debug lines, no complaint.
test_bool_words_accepted() {
    local err=$BED_DIR/words.err out
    out=$(env TSRUN_DEBUG=true TSRUN_QUIET=yes TSRUN_SOCKS5_PIPELINE=off TSRUN_SOCKS5="$BED_SOCKS5" \
        LD_PRELOAD="$SHIM_PRELOAD" "$ADDRLEN" connect tcp "$BED_PEER_V4" "$BED_ECHO_PORT" 16 2>"$err")
    assert_eq "result=ok recv=x" "$out"
    assert_contains "$(cat "$err")" "tunnel via"
    assert_not_contains "$(cat "$err")" "expected"
}

# tsrun checks the same values with the same parser and refuses them before
# it starts anything (exit 2, one line).
test_tsrun_refuses_what_the_shim_falls_back_from() {
    local kv err rc
    for kv in TSRUN_CONNECT_TIMEOUT_MS=0 TSRUN_DEBUG=maybe TSRUN_SOCKS5=nonsense TSRUN_ROUTES=garbage; do
        rc=0
        err=$(env "$kv" TSRUN_STATE_DIR="$BED_DIR/nostate" "$TSRUN" true 2>&1) || rc=$?
        assert_eq 2 "$rc" "$kv: $err"
        assert_contains "$err" "$kv"
        [[ ! -e $BED_DIR/nostate/tailscaled.pid ]] || _e2e_fail "$kv: a daemon was started"
    done
}

# ---------------------------------------------------------------- kind 5

# Issue instance 5: a daemon closes stdio, reopens fd 2 on its data file
# (read-write, as a database does) and a tailnet connect fails: the data
# file is untouched. The same line does reach a pipe, a write-only file and
# TSRUN_LOG.
test_hint_never_written_into_the_programs_data_file() {
    local data=$BED_DIR/data.db log=$BED_DIR/shim.log out
    printf 'DATA' >"$data"
    # fds 0-2 closed, then the data file opened three times: it lands on 2.
    out=$(env TSRUN_SOCKS5=127.0.0.1:1 LD_PRELOAD="$SHIM_PRELOAD" bash -c '
        exec 3>&1 0<&- 1>&- 2>&-
        exec 0<>"$1" 1<>"$1" 2<>"$1"
        "$2" connect tcp "$3" 80 16 >&3' _ "$data" "$ADDRLEN" "$BED_PEER_V4")
    assert_eq "errno=ECONNREFUSED" "$out"
    assert_eq "DATA" "$(cat "$data")" "the shim wrote into the program's data file"
    # A write-only file on fd 2 (`2>file`) is a log a person reads.
    env TSRUN_SOCKS5=127.0.0.1:1 LD_PRELOAD="$SHIM_PRELOAD" "$ADDRLEN" connect tcp "$BED_PEER_V4" 80 16 \
        >/dev/null 2>"$log"
    assert_contains "$(cat "$log")" "no SOCKS5 proxy answers"
    # TSRUN_LOG: the line goes there, not into the data file; no fd kept.
    rm -f "$log"
    out=$(env TSRUN_SOCKS5=127.0.0.1:1 TSRUN_LOG="$log" LD_PRELOAD="$SHIM_PRELOAD" bash -c '
        exec 3>&1 0<&- 1>&- 2>&-
        exec 0<>"$1" 1<>"$1" 2<>"$1"
        "$2" connect tcp "$3" 80 16 >&3' _ "$data" "$ADDRLEN" "$BED_PEER_V4")
    assert_eq "errno=ECONNREFUSED" "$out"
    assert_eq "DATA" "$(cat "$data")"
    assert_contains "$(cat "$log")" "no SOCKS5 proxy answers"
}

# ---------------------------------------------------------------- kind 6

# Issue instance 6: with TSRUN_ROUTES=all (exit node) a service bound to one
# of the sandbox's own non-loopback addresses is reached directly, as on a
# TUN-mode node; other destinations still go to the proxy, never direct.
test_exit_node_own_addresses_are_local() {
    ip addr add 192.0.2.77/32 dev lo
    ip -6 addr add 2001:db8:77::1/128 dev lo nodad
    local f=$BED_DIR/local.port port out
    python3 -c '
import socket, sys
s4 = socket.socket(); s4.bind(("192.0.2.77", 0)); s4.listen(8)
s6 = socket.socket(socket.AF_INET6); s6.bind(("2001:db8:77::1", s4.getsockname()[1])); s6.listen(8)
print(s4.getsockname()[1], flush=True)
import select
while True:
    r, _, _ = select.select([s4, s6], [], [])
    for s in r:
        c, _ = s.accept(); c.sendall(c.recv(1)); c.close()
' >"$f" &
    wait_for_line "$f" '^[0-9]+$'
    port=$(cat "$f")
    leak_up 198.51.100.0/24 192.0.2.77/32 2001:db8:77::/64
    out=$(env TSRUN_ROUTES=all TSRUN_SOCKS5="$BED_SOCKS5" LD_PRELOAD="$SHIM_PRELOAD" \
        "$ADDRLEN" connect tcp 192.0.2.77 "$port" 16)
    assert_eq "result=ok recv=x" "$out" "own IPv4 address, direct"
    out=$(env TSRUN_ROUTES=all TSRUN_SOCKS5="$BED_SOCKS5" LD_PRELOAD="$SHIM_PRELOAD" \
        "$ADDRLEN" connect tcp 2001:db8:77::1 "$port" 28)
    assert_eq "result=ok recv=x" "$out" "own IPv6 address, direct"
    # Not ours: to the proxy (whatever it answers), never out of tsleak0.
    env TSRUN_ROUTES=all TSRUN_SOCKS5="$BED_SOCKS5" TSRUN_CONNECT_TIMEOUT_MS=2000 LD_PRELOAD="$SHIM_PRELOAD" \
        "$ADDRLEN" connect tcp 198.51.100.80 80 16 >/dev/null
    env TSRUN_ROUTES=all LD_PRELOAD="$SHIM_PRELOAD" TSRUN_QUIET=1 \
        "$ADDRLEN" sendto udp 198.51.100.80 7 16 >/dev/null
    assert_no_leak
}

# ---------------------------------------------------------------- kind 7

# Issue instance 7: default settings work against microsocks, which drops
# bytes pipelined after the greeting.
test_default_settings_work_with_microsocks() {
    local out
    out=$(env -u TSRUN_SOCKS5_PIPELINE TSRUN_SOCKS5="$BED_MICROSOCKS" LD_PRELOAD="$SHIM_PRELOAD" \
        TSRUN_CONNECT_TIMEOUT_MS=3000 "$ADDRLEN" connect tcp "$BED_PEER_V4" "$BED_ECHO_PORT" 16)
    assert_eq "result=ok recv=x" "$out"
}
