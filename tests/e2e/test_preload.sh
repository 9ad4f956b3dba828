# shellcheck shell=bash
# bed: --no-daemon
# Global mode for real: `tsrun install-preload` puts the shim into
# /etc/ld.so.preload and writes /etc/tsrun/tsrun.conf, then ordinary programs
# run with no TSRUN_* variable at all.
#
# The host's /etc is never written: every global-mode command runs in a
# private mount namespace (unshare -m, inside the bed's client netns) whose
# /etc is an overlay (lower: the real /etc, upper: a dir of this test). That
# is stronger than bind-mounting two files: /etc/ld.so.preload does not exist
# on the host (nothing to bind over), and install-preload's temp file + rename
# in /etc runs exactly as on a real system. The upper dir persists between
# namespaces, so a later `pl_global` sees what install-preload wrote.
# Every global-mode command is a child of the unshare'd bash: /etc/ld.so.preload
# applies to every process exec'd after it appears, never to the test itself.

PL_PORT=1077
PL_HTTP=18080
PL_PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin

pl_setup() {
    export TSRUN_STATE_DIR=$BED_DIR/state/${FUNCNAME[1]}
    export TS_AUTHKEY=tskey-auth-e2e TS_HOSTNAME=sandbox-1
    unset TSRUN_SOCKET TSRUN_TAGS LD_PRELOAD TSRUN_SHIM TSRUN_SOCKS5_PORT
    W=$BED_DIR/pl/${FUNCNAME[1]}
    PL_ENV=(env -i PATH="$PL_PATH" HOME="$W/home" LANG=C.UTF-8)
    mkdir -p "$TSRUN_STATE_DIR" "$W/upper" "$W/work" "$W/home" "$W/www"
    trap '"$TSRUN" down >/dev/null 2>&1 || true' EXIT
}

# pl_global CMD [ARGS...]: CMD in a private mount ns whose /etc is the overlay.
pl_global() {
    unshare -m --propagation private bash -c '
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/work" /etc || exit 99
        shift; exec "$@"' _ "$W" "$@"
}

# pl_clean CMD [ARGS...]: CMD with an empty environment (no TSRUN_*, no
# LD_PRELOAD); pl_global "${PL_ENV[@]}" CMD is the same in global mode.
pl_clean() {
    "${PL_ENV[@]}" "$@"
}

# The battery: ordinary programs, each "== name (exit N)" + stdout + stderr.
pl_write_battery() {
    git init -q -b main "$W/repo"
    echo one >"$W/repo/a.txt"
    git -C "$W/repo" -c user.name=t -c user.email=t@t add a.txt
    git -C "$W/repo" -c user.name=t -c user.email=t@t commit -q -m one
    echo two >>"$W/repo/a.txt"
    printf 'loopback ok\n' >"$W/www/hello.txt"
    cat >"$W/battery.sh" <<EOF
run() { local name=\$1 out rc=0; shift; out=\$("\$@" 2>&1) || rc=\$?; printf '== %s (exit %d)\n%s\n' "\$name" "\$rc" "\$out"; }
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "\$@"; }
run ls ls /
run sh sh -c 'echo hi'
run python3 python3 -c 'print(1)'
run git-version git --version
run git-status git -C "$W/repo" -c safe.directory='*' status
run curl-loopback curl -s --max-time 5 http://127.0.0.1:$PL_HTTP/hello.txt
run curl-refused curl -s --max-time 5 http://127.0.0.1:1/
run getent getent hosts localhost
run ssh ssh -V
run setuid-su nobody /usr/bin/su --help
run setuid-passwd /usr/bin/passwd --help
run nonroot-ls nobody ls /
run apt-cache apt-cache policy bash
EOF
}

pl_start_http() {
    (cd "$W/www" && exec python3 -m http.server -b 127.0.0.1 "$PL_HTTP" >/dev/null 2>&1) &
    wait_for_port 127.0.0.1 "$PL_HTTP"
}

pl_up() {
    "$TSRUN" --socks5-port "$PL_PORT" up --background 2>/dev/null
}

test_install_preload_edits_and_undoes() {
    pl_setup
    local root=$W/root out
    mkdir -p "$root/etc"
    printf '# site\n/usr/lib/x86_64-linux-gnu/libfoo.so:/opt/old/lib/tsrun/libtsshim.so\n' >"$root/etc/ld.so.preload"
    out=$("$TSRUN" install-preload --root "$root" --socks5 127.0.0.1:4321 --names /run/tsrun/names 2>&1)
    assert_contains "$out" "added $SHIM"
    assert_file_eq "$root/etc/ld.so.preload" "# site
/usr/lib/x86_64-linux-gnu/libfoo.so
$SHIM"
    assert_eq "644 0" "$(stat -c '%a %u' "$root/etc/ld.so.preload")"
    assert_eq "644 0" "$(stat -c '%a %u' "$root/etc/tsrun/tsrun.conf")"
    assert_eq "755" "$(stat -c '%a' "$root/etc/tsrun")"
    out=$(grep -v '^#' "$root/etc/tsrun/tsrun.conf")
    assert_eq "socks5 = 127.0.0.1:4321
names = /run/tsrun/names" "$out"
    # Idempotent: same bytes, no temp files left behind.
    local before
    before=$(cat "$root/etc/ld.so.preload" "$root/etc/tsrun/tsrun.conf")
    out=$("$TSRUN" install-preload --root "$root" --socks5 127.0.0.1:4321 --names /run/tsrun/names 2>&1)
    assert_contains "$out" "already lists"
    assert_eq "$before" "$(cat "$root/etc/ld.so.preload" "$root/etc/tsrun/tsrun.conf")"
    assert_eq "ld.so.preload tsrun" "$(ls "$root/etc" | tr '\n' ' ' | sed 's/ $//')"
    # Uninstall keeps the other entry (the file was not created by tsrun).
    TSRUN_SYSROOT=$root "$TSRUN" uninstall-preload 2>/dev/null
    assert_file_eq "$root/etc/ld.so.preload" "# site
/usr/lib/x86_64-linux-gnu/libfoo.so"
    [[ ! -e $root/etc/tsrun ]] || _e2e_fail "/etc/tsrun left behind"
    # Created by tsrun -> removed by tsrun.
    rm "$root/etc/ld.so.preload"
    "$TSRUN" install-preload --root "$root" 2>/dev/null
    assert_contains "$(cat "$root/etc/ld.so.preload")" "$SHIM"
    "$TSRUN" uninstall-preload --root "$root" 2>/dev/null
    [[ ! -e $root/etc/ld.so.preload ]] || _e2e_fail "tsrun-created ld.so.preload left behind"
    # Root only, with a clear error; a shim anyone could replace is refused.
    chmod 755 "$W" "$root"
    out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$TSRUN" install-preload --root "$root" 2>&1) &&
        _e2e_fail "non-root install-preload succeeded"
    assert_contains "$out" "must run as root"
    cp "$SHIM" "$W/libtsshim.so"
    chmod 0666 "$W/libtsshim.so"
    out=$("$TSRUN" install-preload --root "$root" --shim "$W/libtsshim.so" 2>&1) &&
        _e2e_fail "world-writable shim accepted"
    assert_contains "$out" "not group/world-writable"
}

# timeout: 150
test_global_mode_with_tailscaled_running() {
    # make asan: a sanitizer build of the shim needs its runtime first in
    # /etc/ld.so.preload, which install-preload rightly does not write.
    if [[ -n ${SHIM_SANITIZER:-} ]]; then
        echo "sanitizer build of the shim: global mode does not apply"
        return 0
    fi
    pl_setup
    pl_write_battery
    pl_start_http
    local base glob out
    base=$(pl_clean bash "$W/battery.sh")
    # The battery ran what it claims (so "identical" means something).
    local want
    for want in "== sh (exit 0)"$'\n'hi "== python3 (exit 0)"$'\n'1 "git version" "Changes not staged" \
        "loopback ok" "== curl-refused (exit 7)" "OpenSSH_" "== setuid-su (exit 0)" \
        "== setuid-passwd (exit 0)" "== nonroot-ls (exit 0)" "bash:"$'\n'"  Installed:"; do
        assert_contains "$base" "$want"
    done
    pl_up
    out=$(pl_global "$TSRUN" install-preload 2>&1)
    assert_contains "$out" "added $SHIM"
    assert_contains "$(cat "$W/upper/tsrun/tsrun.conf")" "socks5 = 127.0.0.1:$PL_PORT"
    assert_contains "$(cat "$W/upper/tsrun/tsrun.conf")" "names = $TSRUN_STATE_DIR/names"
    # The shim really is in every process, root or not, with no variable set.
    assert_eq "$SHIM" "$(pl_global "${PL_ENV[@]}" sh -c 'grep -o "/.*libtsshim.so" /proc/self/maps | sort -u')"
    assert_eq "$SHIM" "$(pl_global "${PL_ENV[@]}" setpriv --reuid=65534 --regid=65534 --clear-groups \
        sh -c 'grep -o "/.*libtsshim.so" /proc/self/maps | sort -u')"
    glob=$(pl_global "${PL_ENV[@]}" bash "$W/battery.sh")
    assert_eq "$base" "$glob" "ordinary programs changed under the global preload"
    # Tailnet clients, no TSRUN_* anywhere: the config file is all they have.
    assert_eq "hello from db" "$(pl_global "${PL_ENV[@]}" curl -s --max-time 10 "http://$BED_PEER_V4/")"
    assert_eq "hello from db" "$(pl_global "${PL_ENV[@]}" curl -s --max-time 10 "http://$BED_PEER_SHORT/")"
    assert_eq "hello from db" "$(pl_global "${PL_ENV[@]}" curl -s --max-time 10 "http://$BED_PEER_FQDN/")"
    out=$(pl_global "${PL_ENV[@]}" git ls-remote "http://$BED_PEER_V4:$BED_GIT_PORT/git/owner/repo.git")
    assert_contains "$out" "$BED_GIT_HEAD"
    # A non-root user's programs read the same config.
    assert_eq "hello from db" "$(pl_global "${PL_ENV[@]}" setpriv --reuid=65534 --regid=65534 --clear-groups \
        curl -s --max-time 10 "http://$BED_PEER_V4/")"
    # tsrun itself keeps working under the global preload.
    assert_eq "hello from db" "$(pl_global "${PL_ENV[@]}" env TSRUN_STATE_DIR="$TSRUN_STATE_DIR" \
        "$TSRUN" curl -s --max-time 10 "http://$BED_PEER_V4/")"
    # doctor sees it, checks the config against the running SOCKS5 port, recommends it.
    out=$(pl_global "$TSRUN" doctor) || true
    assert_contains "$out" "OK    global preload: installed (/etc/tsrun/tsrun.conf, socks5 127.0.0.1:$PL_PORT)"
    assert_contains "$out" "recommendation: global preload is installed"
    pl_global sh -c 'sed -i "s/^socks5 = .*/socks5 = 127.0.0.1:9/" /etc/tsrun/tsrun.conf'
    out=$(pl_global "$TSRUN" doctor) || true
    assert_contains "$out" "WARN  global preload: /etc/tsrun/tsrun.conf says socks5 127.0.0.1:9 but tailscaled listens on 127.0.0.1:$PL_PORT"
    pl_global "$TSRUN" install-preload 2>/dev/null
    pl_global "$TSRUN" uninstall-preload 2>/dev/null
    out=$(pl_global "$TSRUN" doctor) || true
    assert_not_contains "$out" "global preload:"
    [[ ! -e $W/upper/ld.so.preload ]] || _e2e_fail "ld.so.preload left after uninstall"
    assert_eq "$base" "$(pl_global "${PL_ENV[@]}" bash "$W/battery.sh")"
}

# timeout: 150
test_global_mode_with_tailscaled_stopped() {
    # make asan: a sanitizer build of the shim needs its runtime first in
    # /etc/ld.so.preload, which install-preload rightly does not write.
    if [[ -n ${SHIM_SANITIZER:-} ]]; then
        echo "sanitizer build of the shim: global mode does not apply"
        return 0
    fi
    pl_setup
    pl_write_battery
    pl_start_http
    local base glob out err rc t0 t1
    base=$(pl_clean bash "$W/battery.sh")
    pl_up
    pl_global "$TSRUN" install-preload 2>/dev/null
    assert_eq "hello from db" "$(pl_global "${PL_ENV[@]}" curl -s --max-time 10 "http://$BED_PEER_V4/")"
    "$TSRUN" down >/dev/null 2>&1
    ! _e2e_port_open 127.0.0.1 "$PL_PORT" || _e2e_fail "SOCKS5 port still open after tsrun down"
    glob=$(pl_global "${PL_ENV[@]}" bash "$W/battery.sh")
    assert_eq "$base" "$glob" "ordinary programs changed with tailscaled stopped"
    # A tailnet connect: ECONNREFUSED at once (curl 7), one hint line, nothing else.
    rc=0
    t0=$(date +%s%N)
    out=$(pl_global "${PL_ENV[@]}" curl -s --max-time 10 "http://$BED_PEER_V4/" 2>"$W/err") || rc=$?
    t1=$(date +%s%N)
    err=$(cat "$W/err")
    assert_eq 7 "$rc" "curl exit status"
    assert_eq "" "$out"
    assert_eq 1 "$(wc -l <"$W/err")" "stderr: $err"
    assert_contains "$err" "no SOCKS5 proxy answers at 127.0.0.1:$PL_PORT"
    (((t1 - t0) / 1000000 < 2000)) || _e2e_fail "took $(((t1 - t0) / 1000000)) ms"
    # Same by name (the map outlives the daemon), and with curl's own error text.
    rc=0
    err=$(pl_global "${PL_ENV[@]}" curl -sS --max-time 10 "http://$BED_PEER_SHORT/" 2>&1 >/dev/null) || rc=$?
    assert_eq 7 "$rc"
    assert_eq 2 "$(wc -l <<<"$err")" "hint + curl's message: $err"
    assert_contains "$err" "curl: (7) Failed to connect to $BED_PEER_SHORT port 80"
}

# timeout: 180
test_make_install_uninstall_and_dist() {
    pl_setup
    local files
    # Outside the 0700 bed dir: install-preload wants a shim every user can reach.
    d=$(mktemp -d /tmp/tsrun-destdir.XXXXXX)
    trap '"$TSRUN" down >/dev/null 2>&1 || true; rm -rf "$d"' EXIT
    make --no-print-directory -s -C "$REPO" B="$B" install DESTDIR="$d" PREFIX=/usr >/dev/null
    files=$(cd "$d" && find . -type f | sort | tr '\n' ' ')
    # The musl build of the shim ships beside the glibc one when it was built
    # (make test builds it); tsrun preloads it into musl programs.
    local musl=""
    [[ -f $REPO/$B/musl/libtsshim.so ]] && musl="./usr/lib/tsrun/musl/libtsshim.so "
    assert_eq "./usr/bin/tsrun ./usr/lib/tsrun/libtsshim.so ${musl}./usr/share/man/man1/tsrun.1 " "$files"
    assert_eq "755" "$(stat -c '%a' "$d/usr/bin/tsrun")"
    assert_eq "644" "$(stat -c '%a' "$d/usr/lib/tsrun/libtsshim.so")"
    # The installed tsrun finds the installed shim and lists that one.
    chmod 755 "$d"
    mkdir -p "$W/root/etc"
    "$d/usr/bin/tsrun" install-preload --root "$W/root" 2>"$W/err" || _e2e_fail "install-preload" "$(cat "$W/err")"
    assert_file_eq "$W/root/etc/ld.so.preload" "# created by tsrun install-preload; tsrun uninstall-preload removes it
$d/usr/lib/tsrun/libtsshim.so"
    make --no-print-directory -s -C "$REPO" B="$B" uninstall DESTDIR="$d" PREFIX=/usr >/dev/null
    assert_eq "" "$(cd "$d" && find . -type f)"
    # make dist: sources only.
    local tgz list
    tgz=$(make --no-print-directory -s -C "$REPO" B="$W/distb" dist | tail -n1)
    [[ $tgz == /* ]] || tgz=$REPO/$tgz
    list=$(tar tzf "$tgz")
    local f
    for f in Makefile shim/config.c shim/connect.c launcher/main.c launcher/preload.c docs/tsrun.1 \
        tests/unit/test_launcher_preload.c tests/e2e/test_preload.sh; do
        grep -qx "tsrun-0.1.0/$f" <<<"$list" || _e2e_fail "dist lacks $f"
    done
    if grep -E '\.(o|d|so|a)$|/build/|^tsrun-0\.1\.0/tsrun$' <<<"$list"; then
        _e2e_fail "dist contains build outputs"
    fi
}
