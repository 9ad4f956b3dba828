# shellcheck shell=bash
# musl (issue 6): the musl build of the shim ($B/musl/libtsshim.so, made by
# `make test`) tunnels connect() for a musl-linked dynamic client
# (/lib/ld-musl-x86_64.so.1): tests/progs/faultprobe.c built with musl-gcc.
# (getaddrinfo/freeaddrinfo with musl clients: test_names.sh.)

MUSL_SHIM=$REPO/$B/musl/libtsshim.so

musl_probe() {
    local bin=$BED_DIR/faultprobe-musl
    if [[ ! -x $bin ]]; then
        musl-gcc -std=c11 -O2 -o "$bin.$BASHPID" "$REPO/tests/progs/faultprobe.c"
        mv "$bin.$BASHPID" "$bin"
    fi
    env LD_PRELOAD="$MUSL_SHIM" TSRUN_SOCKS5="$BED_SOCKS5" TSRUN_QUIET=1 \
        TSRUN_CONNECT_TIMEOUT_MS=${TMO_MS:-7000} "$bin" "$@"
}

test_musl_client_is_musl_dynamic() {
    [[ -f $MUSL_SHIM ]] || _e2e_fail "no musl shim at $MUSL_SHIM (make test builds it)"
    musl_probe 127.0.0.1 1 >/dev/null
    local interp
    interp=$(readelf -l "$BED_DIR/faultprobe-musl" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
    assert_eq "/lib/ld-musl-x86_64.so.1" "$interp"
}

test_musl_connect_through_tunnel() {
    local line opts
    for opts in "" -n; do
        line=$(musl_probe $opts -e "$BED_PEER_V4" "$BED_ECHO_PORT")
        echo "v4 ${opts:-blocking}: $line"
        assert_contains "$line" "connect=OK "
        assert_contains "$line" "io=echo"
        assert_contains "$line" "flags=same"
        line=$(musl_probe $opts -e "$BED_PEER_V6" "$BED_ECHO_PORT")
        echo "v6 ${opts:-blocking}: $line"
        assert_contains "$line" "connect=OK "
        assert_contains "$line" "io=echo"
    done
}

test_musl_refused_and_unreachable() {
    local line
    line=$(musl_probe "$BED_PEER_V4" "$BED_REFUSED_PORT")
    echo "refused port: $line"
    assert_contains "$line" "connect=ECONNREFUSED "
    # Without the shim, the bed has no route to the tailnet.
    line=$(env -u LD_PRELOAD "$BED_DIR/faultprobe-musl" "$BED_PEER_V4" "$BED_ECHO_PORT")
    echo "no shim: $line"
    assert_contains "$line" "connect=ENETUNREACH "
}

test_musl_stalled_proxy_times_out() {
    local ports=$BED_DIR/musl.$BASHPID.ports line
    python3 "$REPO/tests/fakes/badsocks.py" "$ports" stall >>"$BED_LOGS/badsocks.log" 2>&1 &
    wait_for_file "$ports"
    musl_probe 127.0.0.1 1 >/dev/null
    line=$(env LD_PRELOAD="$MUSL_SHIM" TSRUN_SOCKS5="127.0.0.1:$(awk '{print $2}' "$ports")" \
        TSRUN_CONNECT_TIMEOUT_MS=500 TSRUN_QUIET=1 "$BED_DIR/faultprobe-musl" "$BED_PEER_V4" 80)
    echo "stall: $line"
    assert_contains "$line" "connect=ETIMEDOUT "
    local fds=${line#* fds=}
    fds=${fds%% *}
    assert_eq "${fds%/*}" "${fds#*/}" "fd count before/after"
}
