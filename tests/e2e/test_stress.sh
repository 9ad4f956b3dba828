# shellcheck shell=bash
# Concurrency (issue 6): tests/progs/stress.c -- threads doing tunnelled and
# loopback connects and tailnet getaddrinfo while the name map is replaced
# (write + rename) in a loop, with a fork() in the middle. Runs with the
# build under test (plain, ASan or, via `make tsan`, TSan) and, for a plain
# build, under valgrind memcheck.

# sanitized FILE: the binary carries a sanitizer runtime (or links one).
sanitized() {
    grep -qaE '__(asan|tsan)_init' "$1" || ldd "$1" 2>/dev/null | grep -E 'lib[at]san' >/dev/null
}

# stress_run [stress options]: the stress program with the shim preloaded
# on a private copy of the bed's name map.
stress_run() {
    local names=$BED_DIR/stress-names.$BASHPID
    cp "$BED_NAMES" "$names"
    env LD_PRELOAD="$SHIM_PRELOAD" TSRUN_SOCKS5="$BED_SOCKS5" TSRUN_NAMES="$names" TSRUN_QUIET=1 \
        ${STRESS_WRAP:-} "$PROGS/stress" "$@" "$names" "$BED_PEER_FQDN" "$BED_PEER_V4" "$BED_ECHO_PORT"
}

# timeout: 240
test_stress_threads_names_rewrite_fork() {
    local out
    local rc=0
    out=$(TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} stress_run -t 8 -n 25 2>&1) || rc=$?
    echo "$out" # a sanitizer's report, when it stops the program
    assert_eq 0 "$rc" "stress exit status"
    assert_contains "$out" "0 failures (fork child ok)"
    assert_not_contains "$out" "WARNING: ThreadSanitizer"
    assert_not_contains "$out" "ERROR: AddressSanitizer"
    assert_not_contains "$out" "runtime error:"
}

# timeout: 240
test_stress_under_valgrind_memcheck() {
    if sanitized "$SHIM" || sanitized "$PROGS/stress"; then
        echo "sanitizer build: valgrind does not apply"
        return 0
    fi
    local out
    out=$(STRESS_WRAP="valgrind -q --error-exitcode=1 --trace-children=no" stress_run -t 4 -n 5 2>&1)
    echo "$out"
    assert_contains "$out" "0 failures (fork child ok)"
}

# 8 threads read one pending socket while its SOCKS5 reply arrives (issue 11);
# under `make tsan` the shim and the probe are TSan builds.
# timeout: 120
test_stress_threads_read_one_pending_socket() {
    local out i
    for i in $(seq 20); do
        out=$(env LD_PRELOAD="$SHIM_PRELOAD" TSRUN_SOCKS5="$BED_SOCKS5" TSRUN_SOCKS5_PIPELINE=1 \
            TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1} \
            "$PROGS/asyncprobe" threads "$BED_PEER_V4" "$BED_ECHO_PORT" 2>&1)
        assert_contains "$out" "threads_total=4" "run $i: $out"
        assert_not_contains "$out" "thread_saw" "run $i"
        assert_not_contains "$out" "WARNING: ThreadSanitizer" "run $i"
        assert_not_contains "$out" "ERROR: AddressSanitizer" "run $i"
        out=$(env LD_PRELOAD="$SHIM_PRELOAD" TSRUN_SOCKS5="$BED_SOCKS5" TSRUN_SOCKS5_PIPELINE=1 \
            TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1} \
            "$PROGS/asyncprobe" fork "$BED_PEER_V4" "$BED_ECHO_PORT" 2>&1)
        assert_contains "$out" "parent_read=[pong]" "run $i: $out"
        assert_not_contains "$out" "WARNING: ThreadSanitizer" "run $i"
    done
}
