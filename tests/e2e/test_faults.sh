# shellcheck shell=bash
# bed: --no-daemon
# Fault injection (issue 6): a misbehaving SOCKS5 server
# (tests/fakes/badsocks.py) behind TSRUN_SOCKS5. Every case must end in a
# bounded time with the documented errno (shim/tunnel.c: garbage, EOF or
# 05 FF -> ECONNREFUSED, a stall -> ETIMEDOUT at TSRUN_CONNECT_TIMEOUT_MS),
# no crash, no fd leak and the application's fd flags unchanged. Each case
# runs with the pipelined handshake (what tsrun sets for its tailscaled) and TSRUN_SOCKS5_PIPELINE=0,
# blocking and non-blocking. The probe: tests/progs/faultprobe.c.

BADSOCKS=$REPO/tests/fakes/badsocks.py
TMO_MS=800

# badsocks MODE...: start the server with these modes.
badsocks() {
    PORTS=$BED_DIR/badsocks.$BASHPID.ports
    rm -f "$PORTS"
    python3 "$BADSOCKS" "$PORTS" "$@" >>"$BED_LOGS/badsocks.log" 2>&1 &
    wait_for_file "$PORTS"
}

port_of() { awk -v m="$1" '$1 == m {print $2}' "$PORTS"; }

# probe PORT PIPELINE [faultprobe options]: one connect to the peer's HTTP
# port through the proxy at 127.0.0.1:PORT; prints faultprobe's line.
probe() {
    local port=$1 pipe=$2
    shift 2
    env LD_PRELOAD="$SHIM_PRELOAD" TSRUN_SOCKS5="127.0.0.1:$port" TSRUN_QUIET=1 \
        TSRUN_CONNECT_TIMEOUT_MS=$TMO_MS TSRUN_SOCKS5_PIPELINE="$pipe" \
        "$PROGS/faultprobe" "$@" "$BED_PEER_V4" 80
}

# expect MODE ERRNO MIN_MS MAX_MS [IO]: every variant of MODE ends in
# ERRNO within [MIN_MS, MAX_MS], fds and flags intact (and io=IO).
expect() {
    local mode=$1 want=$2 min=$3 max=$4 io=${5:-} port pipe opts line ms
    port=$(port_of "$mode")
    [[ -n $port ]] || _e2e_fail "badsocks has no port for $mode"
    for pipe in 1 0; do
        for opts in "" -n; do
            local extra=()
            [[ -n $opts ]] && extra+=("$opts")
            [[ $io == echo ]] && extra+=(-e)
            [[ $io == reset ]] && extra+=(-R)
            line=$(probe "$port" "$pipe" "${extra[@]}")
            echo "$mode pipeline=$pipe ${opts:-blocking}: $line"
            assert_contains "$line" "connect=$want " "$mode pipeline=$pipe $opts"
            ms=$(sed -E 's/.* ms=([0-9]+).*/\1/' <<<"$line")
            ((ms >= min && ms <= max)) ||
                _e2e_fail "$mode pipeline=$pipe $opts: took ${ms} ms, expected ${min}..${max}" "$line"
            local fds=${line#* fds=}
            fds=${fds%% *}
            assert_eq "${fds%/*}" "${fds#*/}" "$mode: fd count before/after ($line)"
            assert_contains "$line" "flags=same" "$mode: fd flags"
            case $io in
            echo) assert_contains "$line" "io=echo" ;;
            reset) [[ $line =~ io=(ECONNRESET|eof) ]] || _e2e_fail "$mode: no reset/EOF after success" "$line" ;;
            esac
        done
    done
}

test_faults_byte_by_byte_reply_succeeds() {
    badsocks bytewise
    # 10 reply bytes 30 ms apart: the handshake waits for the whole reply.
    expect bytewise OK 200 3000 echo
}

test_faults_stall_after_greeting_times_out() {
    badsocks stall stall_connect
    expect stall ETIMEDOUT $((TMO_MS - 50)) $((TMO_MS + 1500))
    expect stall_connect ETIMEDOUT $((TMO_MS - 50)) $((TMO_MS + 1500))
}

test_faults_close_mid_reply_refused() {
    badsocks close_mid close_at_once
    expect close_mid ECONNREFUSED 0 600
    expect close_at_once ECONNREFUSED 0 600
}

test_faults_wrong_version_method_atyp_refused() {
    badsocks wrong_version wrong_method wrong_atyp garbage
    expect wrong_version ECONNREFUSED 0 600
    expect wrong_method ECONNREFUSED 0 600
    expect wrong_atyp ECONNREFUSED 0 600
    expect garbage ECONNREFUSED 0 600
}

test_faults_oversized_domain_length_refused() {
    badsocks oversized
    # Announces a 255-byte name, sends 40 bytes, closes: no read past the
    # reply buffer, EOF mid-reply -> ECONNREFUSED.
    expect oversized ECONNREFUSED 0 600
}

test_faults_no_acceptable_method_refused() {
    badsocks no_method fail01
    expect no_method ECONNREFUSED 0 600
    expect fail01 ECONNREFUSED 0 600
}

test_faults_reset_after_success() {
    badsocks reset_after
    expect reset_after OK 0 600 reset
}

test_faults_proxy_down_refused() {
    local port line
    # A port nobody listens on (bound, then closed).
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    for opts in "" -n; do
        line=$(probe "$port" 1 $opts)
        echo "proxy down ${opts:-blocking}: $line"
        assert_contains "$line" "connect=ECONNREFUSED "
        assert_contains "$line" "flags=same"
    done
}

test_faults_non_tailnet_untouched_by_bad_proxy() {
    badsocks garbage
    local line
    # 127.0.0.1 is never tunnelled: the broken proxy is not even asked.
    line=$(env LD_PRELOAD="$SHIM_PRELOAD" TSRUN_SOCKS5="127.0.0.1:$(port_of garbage)" \
        "$PROGS/faultprobe" 127.0.0.1 "$(port_of garbage)")
    echo "$line"
    assert_contains "$line" "connect=OK "
}
