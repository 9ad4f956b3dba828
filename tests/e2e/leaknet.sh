# shellcheck shell=bash
# The leak net (sourced by tests that must see an escape rather than the
# bed's ENETUNREACH): leak_up gives the bed's client namespace a default
# route (IPv4 and IPv6) through a veth pair whose far end, tsleak1, has a
# sniffer (sniff.py) counting frames addressed to the tailnet; any count
# above zero is a packet that left through the kernel's routes.

# leak_up [EXTRA_CIDR...]: the veth pair, default routes and the sniffer
# (coproc SNIFF). Removed when the test's shell exits.
leak_up() {
    ip link del tsleak0 2>/dev/null || true
    ip link add tsleak0 type veth peer name tsleak1
    echo 1 >/proc/sys/net/ipv6/conf/tsleak1/disable_ipv6
    ip link set tsleak1 up
    ip link set tsleak0 up
    ip addr add 192.0.2.1/24 dev tsleak0
    ip -6 addr add 2001:db8::1/64 dev tsleak0 nodad
    ip route add default via 192.0.2.2 dev tsleak0
    ip neigh replace 192.0.2.2 lladdr 02:00:00:00:00:02 dev tsleak0 nud permanent
    ip -6 route add default via 2001:db8::2 dev tsleak0
    ip -6 neigh replace 2001:db8::2 lladdr 02:00:00:00:00:02 dev tsleak0 nud permanent
    trap 'ip link del tsleak0 2>/dev/null || true' EXIT
    coproc SNIFF { exec python3 "$REPO/tests/e2e/sniff.py" tsleak1 "$@"; }
    local line
    read -r -t 10 -u "${SNIFF[0]}" line || _e2e_fail "sniffer did not start"
    assert_eq ready "$line"
}

# leaked: "N LAST_DST" -- frames to the tailnet seen so far. A frame is
# queued on the sniffer's socket before the sending syscall returns (veth
# delivers in the sender's softirq), so a drain after the program exits
# sees it.
leaked() {
    local line
    echo drain >&"${SNIFF[1]}"
    read -r -t 10 -u "${SNIFF[0]}" line || _e2e_fail "sniffer did not answer"
    echo "${line#leaked }"
}

assert_no_leak() {
    local n
    n=$(leaked)
    assert_eq 0 "${n%% *}" "frames to the tailnet left through the default route (last: ${n#* }) ${1:-}"
}
