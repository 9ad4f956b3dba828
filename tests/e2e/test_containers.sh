# shellcheck shell=bash
# bed: --no-daemon
# Static and Go programs (issue 14) under REAL container runtimes, each with
# its own default seccomp profile: Docker (Debian's docker.io: dockerd,
# containerd, runc and moby's profile), Podman (runc and containers-common's
# /usr/share/containers/seccomp.json) and gVisor (Debian's runsc, `runsc do`).
# Each test starts its runtime for itself (dockerd's files under $BED_DIR,
# stopped at the end), runs tests/e2e/ctrworld.sh in one container with only
# a loopback network (Docker/Podman `--network none`, `runsc --network=none`):
# fake tailscaled, echo and DNS servers, tsrun and the clients all inside,
# the host's /usr and the repository bind-mounted read-only. A runtime that
# is not installed or cannot start here skips its test with one line saying
# why. The clients are sclib.sh's (sc_build). The test_containers_simulated_*
# tests run the same world in the bed under tests/progs/scdeny's copies of
# Docker's and gVisor's refusals, so those facts are checked on any machine.
#
# The fake tailscaled is not the bed's: inside the container the tailnet
# peer is the node itself (sandbox-1, 100.101.7.42), whose dials reach
# 127.0.0.1:PORT in the container (tests/fakes/README.md).

# shellcheck source=tests/e2e/sclib.sh
source "$REPO/tests/e2e/sclib.sh"

CTR_SELF_V4=100.101.7.42
CTR_SELF_V6=fd7a:115c:a1e0::6f01:72a

# ctr_prepare: the clients (built on the host), the probe, a minimal root
# file system whose /usr the container gets from the host, the scratch dir.
ctr_prepare() {
    sc_build
    [[ -x $PROGS/ctrprobe && -x $PROGS/faultprobe ]] ||
        _e2e_fail "build/tests/progs/{ctrprobe,faultprobe} missing: make all-tests"
    CTR_DIR=$BED_DIR/ctr
    local r=$CTR_DIR/rootfs
    [[ -d $r ]] && return 0
    mkdir -p "$r"/{usr,etc,tmp,proc,dev,sys,root,run}
    ln -s usr/bin "$r/bin"
    ln -s usr/lib "$r/lib"
    ln -s usr/lib64 "$r/lib64"
    ln -s usr/sbin "$r/sbin"
    chmod 1777 "$r/tmp"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
    echo 'root:x:0:' >"$r/etc/group"
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$CTR_DIR/resolv.conf"
}

# ctr_wanted WHAT: the real runtimes run under `make containers`
# (TSRUN_CONTAINERS=1), not in every `make test` of a machine that has them.
ctr_wanted() {
    [[ ${TSRUN_CONTAINERS:-} == 1 ]] ||
        e2e_skip "$1: the real runtimes run with make containers (TSRUN_CONTAINERS=1)"
}

# ctr_need_merged_usr WHAT: the containers get the host's /usr only, so
# /lib, /lib64, /bin and /sbin must be links into it (merged /usr).
ctr_need_merged_usr() {
    local l
    for l in bin lib lib64 sbin; do
        [[ $(readlink "/$l") == "usr/$l" ]] ||
            e2e_skip "$1: /$l is not a link to usr/$l (the containers get the host's /usr only)"
    done
}

# ctr_case OUT NAME: the lines of case NAME in ctrworld.sh's output OUT,
# the first being its exit status ("rc=N"), without the lines a sanitizer
# runtime adds on stderr (under make asan, tsrun's clone()d helpers make ASan
# warn about __asan_handle_no_return: google/sanitizers#189; see sc_lines).
ctr_case() {
    awk -v n="$2" '$1 == "==" { on = ($2 == n); if (on) print $3; next } on' <<<"$1" |
        grep -v -e '^err: ==[0-9]*==' -e '^err: False positive error reports may follow' \
            -e '^err: For details see https://github.com/google/sanitizers' || true
}

# ctr_assert_probe OUT FACT=VALUE...: ctrprobe's lines inside the container.
ctr_assert_probe() {
    local probe fact
    probe=$(ctr_case "$1" probe)
    shift
    for fact in "$@"; do
        assert_contains "$probe" "$fact" "the runtime's seccomp profile: $fact"
    done
}

# ctr_assert_musl_name OUT: the static musl client resolved the node's
# short name (musl's own resolver, through tsrun's stub) and connected.
ctr_assert_musl_name() {
    local c
    c=$(ctr_case "$1" musl-name)
    assert_contains "$c" "rc=0"
    assert_contains "$c" "addrs=$CTR_SELF_V4 $CTR_SELF_V6"
    assert_contains "ok remote=$CTR_SELF_V4|ok remote=$CTR_SELF_V6" \
        "$(grep '^ok remote=' <<<"$c")" "musl: connected by name"
}

# ctr_assert_tunnels OUT: tsrun --intercept=auto picks seccomp for the
# static and Go clients (one line says so) and they reach the peer by IP and
# by name; a refused port is "connection refused"; a non-tailnet connect
# and a non-tailnet name go on untouched; a dynamic C program gets the shim;
# the logging DNS server saw the other name and no tailnet name.
ctr_assert_tunnels() {
    local out=$1 c bin
    for bin in go-static-ip go-cgo-ip; do
        c=$(ctr_case "$out" $bin)
        assert_eq "rc=0
ok remote=$CTR_SELF_V4:7007
err: tsrun: warning: $REPO/$B/seccomp/gdial-${bin:3:-3} is a Go program (its connects are raw syscalls): tunnelling its connects with seccomp user notifications" \
            "$c" "$bin"
    done
    for c in go-static-name go-static-fqdn; do
        c=$(ctr_case "$out" $c)
        assert_contains "$c" "rc=0"
        assert_contains "ok remote=$CTR_SELF_V4:7007|ok remote=[$CTR_SELF_V6]:7007" \
            "$(grep '^ok remote=' <<<"$c")" "by name"
    done
    assert_contains "$(ctr_case "$out" go-many)" "ok=20/20" "20 concurrent dials"
    assert_contains "$(ctr_case "$out" go-static-refused)" "connect: connection refused"
    assert_contains "$(ctr_case "$out" doctor)" "OK    seccomp: user-notify listeners work"
    assert_contains "$(ctr_case "$out" go-other-name)" "addrs=10.9.8.7" "another name, forwarded"
    for c in musl-ip musl-local shim-ip; do
        c=$(ctr_case "$out" $c)
        assert_contains "$c" "connect=OK "
        assert_contains "$c" "io=echo"
    done
    assert_contains "$(ctr_case "$out" musl-ip)" "is statically linked: tunnelling its connects with seccomp"
    local q
    q=$(ctr_case "$out" queries)
    assert_contains "$q" "udp A example.internal" "the DNS server saw the other name"
    assert_eq "" "$(grep -Ei "ts\.net|[ .](sandbox-1|db)(\.|$)" <<<"$q" || true)" \
        "DNS queries for tailnet names"
}

# ctr_assert_docker OUT: what Docker 20.10's default profile permits (the
# listener, ADDFD, ptrace; not pidfd_getfd nor process_vm_readv) and that
# tsrun --intercept=auto tunnels there (ADDFD path, memory read through
# /proc/PID/mem). ptrace mode needs pidfd_getfd: refused, exit status 2.
ctr_assert_docker() {
    local out=$1 c
    ctr_assert_probe "$out" pidfd_open=OK pidfd_getfd=EPERM process_vm_readv=EPERM proc_mem=OK \
        ptrace=OK listener=OK addfd=OK listener_killable=OK ret_trace=OK
    ctr_assert_tunnels "$out"
    # musl's resolver on the ADDFD path: the query goes out on a socket
    # tsrun installs over musl's, and the name resolves (it timed out before).
    ctr_assert_musl_name "$out"
    c=$(ctr_case "$out" ptrace-ip)
    assert_contains "$c" "rc=2"
    assert_contains "$c" "pidfd_getfd"
    # doctor says what the profile refuses and what tsrun does instead.
    c=$(ctr_case "$out" doctor)
    assert_contains "$c" "OK    seccomp: pidfd_getfd is not available here (Operation not permitted)"
    assert_contains "$c" "OK    seccomp: process_vm_readv is not available here (Operation not permitted)"
    assert_contains "$c" "ptrace: not usable ("
    assert_contains "$c" "; pidfd_getfd is not available here (Operation not permitted)"
}

# ctr_assert_gvisor OUT: where the listener flag is EINVAL and there is no
# pidfd_open (gVisor 20221219), --intercept=auto says so in one hint; ptrace
# works there but no tunnel can be built, so the Go program runs under ptrace
# with its tailnet connect refused at once (ENETUNREACH), never sent by the
# kernel's routes (test_ptrace.sh checks that with the leak net); a dynamic
# C program keeps the shim and reaches the peer; --intercept=ptrace itself is
# refused (exit status 2).
ctr_assert_gvisor() {
    local out=$1 c
    ctr_assert_probe "$out" pidfd_open=ENOSYS proc_mem=OK ptrace=OK listener=EINVAL \
        listener_killable=EINVAL ret_trace=OK
    c=$(ctr_case "$out" go-static-ip)
    assert_eq "rc=1" "$(head -n 1 <<<"$c")" "auto: the program ran, its connect failed"
    assert_contains "$c" "err=dial tcp $CTR_SELF_V4:7007: connect: network is unreachable"
    assert_eq 1 "$(grep -c '^err: tsrun' <<<"$c")" "one line from tsrun: $c"
    assert_contains "$c" "hint: $REPO/$B/seccomp/gdial-static is a Go program"
    assert_contains "$c" "EINVAL"
    assert_contains "$c" "refused (ENETUNREACH) under ptrace"
    c=$(ctr_case "$out" shim-ip)
    assert_contains "$c" "connect=OK "
    assert_contains "$c" "io=echo"
    c=$(ctr_case "$out" ptrace-ip)
    assert_contains "$c" "rc=2"
    assert_contains "$c" "ptrace works but pidfd_getfd does not"
    c=$(ctr_case "$out" doctor)
    assert_contains "$c" "seccomp: no listener"
    assert_contains "$c" "EINVAL"
    assert_not_contains "$c" "NoNewPrivs: -" "an errno shown as the flag's value"
    assert_contains "$c" "; pidfd_open is not available here (Function not implemented)"
    assert_contains "$c" "static and Go programs run under ptrace with their tailnet connects refused"
}

# ctr_simulated SCDENY_FLAGS...: ctrworld.sh in the bed (only lo), under
# tests/progs/scdeny's refusals instead of a runtime's profile, with a
# private /etc/resolv.conf naming its DNS server: the same facts on any
# machine, no runtime needed.
ctr_simulated() {
    ctr_prepare
    # shellcheck disable=SC2016 # expanded by the inner bash
    unshare -m -- bash -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' _ \
        "$CTR_DIR/resolv.conf" "$PROGS/scdeny" "$@" -- \
        env REPO="$REPO" B="$B" W="$CTR_DIR/sim" bash "$REPO/tests/e2e/ctrworld.sh"
}

# Docker's refusals simulated (scdeny --getfd --vm).
test_containers_simulated_docker_profile() {
    local out
    out=$(ctr_simulated --getfd --vm)
    echo "$out"
    ctr_assert_docker "$out"
}

# gVisor's refusals simulated (scdeny --no-pidfd --listener-einval).
test_containers_simulated_gvisor() {
    local out
    out=$(ctr_simulated --no-pidfd --listener-einval)
    echo "$out"
    ctr_assert_gvisor "$out"
}

# --------------------------------------------------------------- Docker

# ctr_docker_down: stops dockerd within 15 s, else kills it. dockerd is the
# first process of its own PID namespace (CTR_PRIVATE_RUN), so its end ends
# containerd, the shims and the containers with it; CTR_LEFT says whether it
# had to be killed.
ctr_docker_down() {
    [[ -n ${CTR_DOCKERD:-} ]] || return 0
    local i init
    init=$(pgrep -P "$CTR_DOCKERD" || true) # dockerd, as the host numbers it
    [[ -n $init ]] && kill -TERM "$init" 2>/dev/null
    for ((i = 0; i < 750; i++)); do
        kill -0 "$CTR_DOCKERD" 2>/dev/null || break
        _e2e_tick
    done
    CTR_LEFT=
    if kill -0 "$CTR_DOCKERD" 2>/dev/null; then
        CTR_LEFT=" dockerd"
        [[ -n $init ]] && kill -KILL "$init" 2>/dev/null
    fi
    wait "$CTR_DOCKERD" 2>/dev/null || true
    CTR_DOCKERD=
}

# CTR_PRIVATE_RUN CMD...: CMD as the first process of a new PID namespace,
# with a mount namespace of its own and a tmpfs on /run. The runtimes'
# fixed paths (/run/docker/plugins, containerd's shim sockets in
# /run/containerd/s, runc's state in /run/runc) and their mounts stay out of
# the host's, and when CMD ends, or is killed with the test (a test that
# times out is killed with SIGKILL, which no trap sees), the kernel ends
# every process the runtime started: containerd and its shims, conmon and
# runsc's sandbox detach from their parent but not from the namespace.
# shellcheck disable=SC2016 # expanded by sh
CTR_PRIVATE_RUN=(unshare -m -p -f --kill-child --mount-proc --propagation private --
    sh -c 'mount -t tmpfs tmpfs /run && exec "$@"' _)

# ctr_docker_up: dockerd (and the containerd it starts) in the bed's network
# namespace and CTR_PRIVATE_RUN, no bridge, no iptables, vfs storage, its
# key in our directory (not /etc/docker/key.json); skips when it cannot run.
ctr_docker_up() {
    ctr_wanted docker
    ((EUID == 0)) || e2e_skip "docker: dockerd needs root"
    ctr_need_merged_usr docker
    local dockerd docker d=$CTR_DIR/docker i
    dockerd=$(command -v dockerd) && docker=$(command -v docker) ||
        e2e_skip "docker: dockerd/docker not installed (make containers installs docker.io)"
    mkdir -p "$d"
    DOCKER=("$docker" -H "unix://$d/sock")
    printf '{"deprecated-key-path": "%s/key.json"}\n' "$d" >"$d/daemon.json"
    "${CTR_PRIVATE_RUN[@]}" "$dockerd" --config-file "$d/daemon.json" --data-root "$d/root" \
        --exec-root "$d/exec" --pidfile "$d/pid" -H "unix://$d/sock" --storage-driver vfs \
        --iptables=false --ip6tables=false --bridge=none --ip-forward=false --ip-masq=false \
        --userland-proxy=false >"$d/log" 2>&1 &
    CTR_DOCKERD=$!
    trap ctr_docker_down EXIT
    for ((i = 0; i < 1500; i++)); do
        "${DOCKER[@]}" version >/dev/null 2>&1 && return 0
        kill -0 "$CTR_DOCKERD" 2>/dev/null || break
        _e2e_tick
    done
    local why
    why=$(grep -E 'level=(fatal|error)|failed to start' "$d/log" | tail -n 1)
    ctr_docker_down
    e2e_skip "docker: dockerd did not start here (${why:-no API within 30 s})"
}

# Docker 20.10's default profile refuses pidfd_getfd and process_vm_readv
# (both need CAP_SYS_PTRACE there) but allows ptrace, seccomp listeners and
# ADDFD; unshare needs CAP_SYS_ADMIN.
# timeout: 90
test_containers_docker_default_profile() {
    ctr_prepare
    ctr_docker_up
    tar -C "$CTR_DIR/rootfs" -c . | "${DOCKER[@]}" import - tsrun-ctr:1 >/dev/null
    local out
    out=$("${DOCKER[@]}" run --rm --network none --dns 127.0.0.1 --dns-option timeout:1 \
        -v /usr:/usr:ro -v "$REPO:$REPO:ro" -e REPO="$REPO" -e B="$B" -e W=/tmp/w \
        tsrun-ctr:1 bash "$REPO/tests/e2e/ctrworld.sh")
    echo "$out"
    ctr_assert_probe "$out" unshare_net=EPERM
    ctr_assert_docker "$out"
    ctr_docker_down
    assert_eq "" "$CTR_LEFT" "dockerd stopped when asked"
}

# --------------------------------------------------------------- Podman

# Podman 4.3 with runc, vfs storage under $BED_DIR, no default ulimits
# (raising RLIMIT_NPROC/NOFILE needs CAP_SYS_RESOURCE, which this VM's root
# lacks), the containers-common profile: pidfd_getfd, process_vm_readv and
# ptrace allowed.
# timeout: 90
test_containers_podman_default_profile() {
    ctr_prepare
    ctr_wanted podman
    ((EUID == 0)) || e2e_skip "podman: rootless podman needs subuids; run as root"
    ctr_need_merged_usr podman
    command -v podman >/dev/null ||
        e2e_skip "podman: not installed (make containers installs it)"
    [[ -f /usr/share/containers/seccomp.json ]] ||
        e2e_skip "podman: no /usr/share/containers/seccomp.json (containers-common)"
    local d=$CTR_DIR/podman out
    mkdir -p "$d"
    printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\n' \
        >"$d/containers.conf"
    # --rootfs runs in the directory itself: a copy of our own.
    cp -a "$CTR_DIR/rootfs" "$d/rootfs"
    local -a podman=("${CTR_PRIVATE_RUN[@]}" env CONTAINERS_CONF="$d/containers.conf" podman
        --root "$d/root" --runroot "$d/run" --storage-driver vfs)
    if ! "${podman[@]}" run --rm --network none -v /usr:/usr:ro --rootfs "$d/rootfs" \
        /usr/bin/true >"$d/try.log" 2>&1; then
        e2e_skip "podman: cannot run a container here ($(tail -n 1 "$d/try.log"))"
    fi
    out=$("${podman[@]}" run --rm --network none -v "$CTR_DIR/resolv.conf:/etc/resolv.conf:ro" \
        -v /usr:/usr:ro -v "$REPO:$REPO:ro" -e REPO="$REPO" -e B="$B" -e W=/tmp/w \
        --rootfs "$d/rootfs" bash "$REPO/tests/e2e/ctrworld.sh")
    echo "$out"
    ctr_assert_probe "$out" pidfd_open=OK pidfd_getfd=OK process_vm_readv=OK proc_mem=OK \
        ptrace=OK listener=OK addfd=OK listener_killable=OK unshare_net=EPERM ret_trace=OK
    ctr_assert_tunnels "$out"
    # With pidfd_getfd the stub answers musl's resolver too.
    ctr_assert_musl_name "$out"
    local c
    c=$(ctr_case "$out" ptrace-ip)
    assert_eq "rc=0
ok remote=$CTR_SELF_V4:7007" "$c" "--intercept=ptrace"
    # Nothing of podman's left running (conmon, runc, the container).
    assert_eq "" "$(pgrep -f -- "--runroot $d/run" || true)" "podman processes left"
}

# --------------------------------------------------------------- gVisor

# gVisor (Debian 12's runsc, release 20221219) with `runsc do`: the host's
# file system seen through the sandbox, its own network stack with only
# loopback. It refuses the listener flag (EINVAL) and has neither pidfd_open
# nor process_vm_readv (ENOSYS): ctr_assert_gvisor.
# timeout: 90
test_containers_gvisor_falls_back() {
    ctr_prepare
    ctr_wanted gvisor
    ((EUID == 0)) || e2e_skip "gvisor: runsc do needs root here"
    command -v runsc >/dev/null ||
        e2e_skip "gvisor: runsc is not installed (make containers installs it)"
    local d=$CTR_DIR/runsc out
    mkdir -p "$d"
    local -a runsc=(unshare -p -f --kill-child --mount-proc -- runsc --root "$d/state" --network=none)
    if ! timeout 60 "${runsc[@]}" "do" /bin/true >"$d/try.log" 2>&1; then
        e2e_skip "gvisor: runsc do cannot start a sandbox here ($(tail -n 1 "$d/try.log"))"
    fi
    out=$(timeout 60 "${runsc[@]}" "do" env REPO="$REPO" B="$B" W="$d/w" \
        bash "$REPO/tests/e2e/ctrworld.sh")
    echo "$out"
    ctr_assert_probe "$out" process_vm_readv=ENOSYS
    ctr_assert_gvisor "$out"
}
