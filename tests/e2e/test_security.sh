# shellcheck shell=bash
# bed: --no-daemon
# Security (issue 6): in an AT_SECURE (setuid) process the shim ignores the
# environment. glibc drops LD_PRELOAD for setuid programs, so the shim is
# preloaded the way an administrator would: /etc/ld.so.preload, here inside
# a private mount namespace over an overlay of /etc (the host's /etc is
# never written). A copy of faultprobe, setuid root, runs as nobody with
# TSRUN_SOCKS5 pointing at a proxy that answers every CONNECT with 0x01:
#   - not setuid: the shim follows the environment -> ECONNREFUSED (the proxy);
#   - setuid: the environment is ignored and, with no root-owned
#     /etc/tsrun/tsrun.conf, the shim stays inert -> the kernel's ENETUNREACH
#     (the bed has no route to the tailnet), and the proxy sees nobody.

BADSOCKS=$REPO/tests/fakes/badsocks.py

# secure_run DIR CMD...: CMD in a private mount namespace whose
# /etc/ld.so.preload loads the shim, and whose /etc/tsrun/tsrun.conf is
# $SUID_CONF (root-owned, 0644) or absent.
secure_run() {
    local d=$1
    shift
    mkdir -p "$d/up" "$d/wk"
    # shellcheck disable=SC2016 # expanded by the inner sh
    unshare -m sh -c 'mount --make-rprivate / &&
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/up,workdir=$1/wk" /etc &&
        rm -f /etc/tsrun/tsrun.conf &&
        if [ -n "$3" ]; then mkdir -p /etc/tsrun && printf "%s\n" "$3" >/etc/tsrun/tsrun.conf &&
            chmod 644 /etc/tsrun/tsrun.conf; fi &&
        printf "%s\n" "$2" | tr ":" "\n" >/etc/ld.so.preload && shift 3 && exec "$@"' \
        _ "$d" "$SHIM_PRELOAD" "${SUID_CONF:-}" "$@"
}

# suid_setup: SUID_DIR with probe-plain and probe-suid (setuid root), and
# the fail01 proxy's PORT.
suid_setup() {
    SUID_DIR=$(mktemp -d /tmp/tsrun-suid.XXXXXX)
    trap 'rm -rf "$SUID_DIR"' EXIT
    chmod 755 "$SUID_DIR"
    install -m 0755 "$PROGS/faultprobe" "$SUID_DIR/probe-plain"
    install -m 4755 -o root "$PROGS/faultprobe" "$SUID_DIR/probe-suid"
    local ports=$BED_DIR/suid.$BASHPID.ports
    python3 "$BADSOCKS" "$ports" fail01 >>"$BED_LOGS/badsocks.log" 2>&1 &
    wait_for_file "$ports"
    PORT=$(awk '{print $2}' "$ports")
}


test_security_setuid_ignores_environment() {
    if ((EUID != 0)); then
        echo "rootless bed: setuid cannot be tested here"
        return 0
    fi
    local d port out_plain out_suid
    suid_setup
    d=$SUID_DIR port=$PORT

    out_plain=$(secure_run "$d" env TSRUN_SOCKS5="127.0.0.1:$port" TSRUN_QUIET=1 \
        setpriv --reuid=nobody --regid=nogroup --clear-groups "$d/probe-plain" "$BED_PEER_V4" 80 2>&1)
    echo "not setuid: $out_plain"
    assert_contains "$out_plain" "connect=ECONNREFUSED " "the shim (from /etc/ld.so.preload) follows TSRUN_SOCKS5"

    out_suid=$(secure_run "$d" env TSRUN_SOCKS5="127.0.0.1:$port" TSRUN_DEBUG=1 TSRUN_ROUTES=all \
        setpriv --reuid=nobody --regid=nogroup --clear-groups "$d/probe-suid" "$BED_PEER_V4" 80 2>&1)
    echo "setuid: $out_suid"
    assert_contains "$out_suid" "connect=ENETUNREACH " "setuid: TSRUN_SOCKS5 from the environment was used"
    assert_not_contains "$out_suid" "tsshim[" "setuid: TSRUN_DEBUG from the environment was used"
}

test_security_setuid_follows_root_owned_file() {
    ((EUID == 0)) || return 0
    local out
    suid_setup
    # The control: the shim is loaded and active in the setuid process when
    # the root-owned file configures it (and the environment still loses).
    out=$(SUID_CONF="socks5 = 127.0.0.1:$PORT" secure_run "$SUID_DIR" env TSRUN_SOCKS5=127.0.0.1:1 \
        setpriv --reuid=nobody --regid=nogroup --clear-groups "$SUID_DIR/probe-suid" "$BED_PEER_V4" 80 2>&1)
    echo "setuid + /etc/tsrun/tsrun.conf: $out"
    assert_contains "$out" "connect=ECONNREFUSED " "setuid: the root-owned file's proxy was not used"
}

test_security_setuid_loopback_untouched() {
    ((EUID == 0)) || return 0
    local d out
    suid_setup
    d=$SUID_DIR
    python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",7999)); s.listen(); time.sleep(30)' &
    wait_for_port 127.0.0.1 7999
    out=$(secure_run "$d" env TSRUN_SOCKS5=127.0.0.1:1 setpriv --reuid=nobody --regid=nogroup --clear-groups "$d/probe-suid" 127.0.0.1 7999 2>&1) || true
    echo "$out"
    assert_contains "$out" "connect=OK "
}
