/* State-dir choice, pid files, log tail, doctor's /proc parsers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "doctor.h"
#include "tsrun.h"

Test(daemon, state_dir)
{
    char out[256];
    cr_assert_eq(daemon_pick_state_dir("/opt", "/env", 1000, "/x", "/h", out, sizeof out), 0);
    cr_assert_str_eq(out, "/opt");
    cr_assert_eq(daemon_pick_state_dir(NULL, "/env", 0, "/x", "/h", out, sizeof out), 0);
    cr_assert_str_eq(out, "/env");
    cr_assert_eq(daemon_pick_state_dir(NULL, "", 0, "/x", "/h", out, sizeof out), 0);
    cr_assert_str_eq(out, "/var/lib/tsrun");
    cr_assert_eq(daemon_pick_state_dir(NULL, NULL, 1000, "/home/u/.st", "/home/u", out, sizeof out),
                 0);
    cr_assert_str_eq(out, "/home/u/.st/tsrun");
    cr_assert_eq(daemon_pick_state_dir(NULL, NULL, 1000, "relative", "/home/u", out, sizeof out),
                 0);
    cr_assert_str_eq(out, "/home/u/.local/state/tsrun", "XDG paths must be absolute");
    cr_assert_eq(daemon_pick_state_dir(NULL, NULL, 1000, NULL, NULL, out, sizeof out), -ENOENT);
}

Test(daemon, pid_files)
{
    char path[] = "/tmp/test-pid.XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "4242\n", 5), 5);
    close(fd);
    cr_assert_eq(daemon_read_pid(path), 4242);
    FILE *f = fopen(path, "w");
    fputs("garbage", f);
    fclose(f);
    cr_assert_eq(daemon_read_pid(path), -EINVAL);
    unlink(path);
    cr_assert_eq(daemon_read_pid(path), -ENOENT);
    /* Our own pid is not a tailscaled with that socket. */
    cr_assert_not(daemon_pid_is_tailscaled(getpid(), "/tmp/x.sock"));
    cr_assert_not(daemon_pid_is_tailscaled(999999999, "/tmp/x.sock"));
}

Test(daemon, init_paths, .init = NULL)
{
    struct daemon d;
    char dir[] = "/tmp/test-daemon.XXXXXX", cmd[128];
    cr_assert_not_null(mkdtemp(dir));
    memset(&d, 0, sizeof d);
    char sub[64];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    d.state_dir_opt = sub;
    d.ephemeral = true;
    cr_assert_eq(daemon_init(&d), 0);
    cr_assert_eq(access(sub, F_OK), 0, "created");
    cr_assert(strstr(d.sock, "/a/b/tailscaled.sock"));
    cr_assert_str_eq(d.state_path, "mem:");
    cr_assert_eq(d.mode, DAEMON_MODE_USERSPACE);
    memset(&d, 0, sizeof d);
    d.state_dir_opt = sub;
    d.socket_opt = "/run/other.sock";
    cr_assert_eq(daemon_init(&d), 0);
    cr_assert_eq(d.mode, DAEMON_MODE_EXTERNAL);
    cr_assert_str_eq(d.sock, "/run/other.sock");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static const char proc_status[] = "Name:\ttsrun\n"
                                  "Umask:\t0022\n"
                                  "CapInh:\t0000000000000000\n"
                                  "CapPrm:\t000001ffffffffff\n"
                                  "CapEff:\t0000000000001000\n"
                                  "NoNewPrivs:\t1\n"
                                  "Seccomp:\t2\n";

Test(doctor, proc_status_parsers)
{
    uint64_t cap = 0;
    cr_assert_eq(doctor_parse_capeff(proc_status, &cap), 0);
    cr_assert_eq(cap, 0x1000ULL, "CAP_NET_ADMIN only");
    cr_assert_eq(doctor_parse_nonewprivs(proc_status), 1);
    cr_assert_eq(doctor_parse_capeff("Name:\tx\n", &cap), -EINVAL);
    cr_assert_eq(doctor_parse_nonewprivs("CapEff:\t0\n"), -EINVAL);
}

Test(util, write_atomic_and_mkdir)
{
    char dir[] = "/tmp/test-util.XXXXXX", path[128], *text = NULL, cmd[128];
    size_t len = 0;
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/x/y", dir);
    cr_assert_eq(tsr_mkdir_p(path, 0700), 0);
    cr_assert_eq(tsr_mkdir_p(path, 0700), 0, "idempotent");
    snprintf(path, sizeof path, "%s/x/y/f", dir);
    cr_assert_eq(tsr_write_atomic(path, "abc", 3, 0600), 0);
    cr_assert_eq(tsr_read_file(path, &text, &len), 0);
    cr_assert_eq(len, 3);
    cr_assert_str_eq(text, "abc");
    free(text);
    cr_assert_eq(tsr_mkdir_p(path, 0700), -ENOTDIR);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(daemon, ready_file)
{
    char state[32], routes[64];
    bool exit_node = true;
    cr_assert_eq(daemon_parse_ready("Running\nexit_node 0\nroutes 10.20.0.0/16,10.30.0.0/24\n",
                                    state, sizeof state, &exit_node, routes, sizeof routes),
                 0);
    cr_assert_str_eq(state, "Running");
    cr_assert_not(exit_node);
    cr_assert_str_eq(routes, "10.20.0.0/16,10.30.0.0/24");
    cr_assert_eq(daemon_parse_ready("NeedsLogin\nexit_node 1\nroutes \n", state, sizeof state,
                                    &exit_node, routes, sizeof routes),
                 0);
    cr_assert_str_eq(state, "NeedsLogin");
    cr_assert(exit_node);
    cr_assert_str_eq(routes, "");
    /* Truncated or foreign files are not trusted. */
    cr_assert_eq(daemon_parse_ready("Running\nexit_node 0\nroutes 10.", state, sizeof state,
                                    &exit_node, routes, sizeof routes),
                 -EINVAL);
    cr_assert_eq(
        daemon_parse_ready("Running\n", state, sizeof state, &exit_node, routes, sizeof routes),
        -EINVAL);
    cr_assert_eq(daemon_parse_ready("", state, sizeof state, &exit_node, routes, sizeof routes),
                 -EINVAL);
}
