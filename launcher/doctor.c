/* Preflight: the checks the seed spikes ran by hand, each with its fix. */
#include "doctor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elfinfo.h"
#include "inject.h"
#include "localapi.h"
#include "ptracer.h"
#include "seccomp.h"
#include "trap.h"
#include "preload.h"
#include "proc.h"
#include "tsrun.h"

#define CAP_NET_ADMIN_BIT 12

struct doc {
    int fails, warns;
};

static void line(struct doc *dc, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void line(struct doc *dc, const char *level, const char *fmt, ...)
{
    va_list ap;
    if (!strcmp(level, "FAIL"))
        dc->fails++;
    if (!strcmp(level, "WARN"))
        dc->warns++;
    printf("%-4s  ", level);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

int doctor_parse_capeff(const char *status_text, uint64_t *out)
{
    return proc_status_hex(status_text, "CapEff", out);
}

int doctor_parse_nonewprivs(const char *status_text)
{
    const char *v = proc_status_field(status_text, "NoNewPrivs");
    if (!v)
        return -EINVAL;
    return atoi(v);
}

/* What this process's own seccomp profile lets the supervisor do, asked of
 * itself (the kernel always grants a process ptrace access to itself, so
 * only a filter or a missing call refuses): 0 or -errno, and in *which the
 * call that failed. Docker's default profile refuses pidfd_getfd and
 * process_vm_readv without CAP_SYS_PTRACE (EPERM); gVisor 20221219 has no
 * pidfd_open (ENOSYS). */
static int probe_getfd(const char **which)
{
    *which = "pidfd_open";
    int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (pfd < 0)
        return -errno;
    *which = "pidfd_getfd";
    int d = (int)syscall(SYS_pidfd_getfd, pfd, pfd, 0), e = errno;
    close(pfd);
    if (d < 0)
        return -e;
    close(d);
    return 0;
}

/* First line of `bin version`, or "" . */
static void tool_version(const char *bin, char *out, size_t outlen)
{
    int p[2];
    out[0] = '\0';
    if (pipe2(p, O_CLOEXEC) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0)
            dup2(nul, 2);
        unsetenv("LD_PRELOAD");
        execl(bin, bin, "version", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    long long deadline = tsr_now_ms() + 5000;
    while (pid > 0 && n + 1 < outlen && tsr_now_ms() < deadline) {
        struct pollfd pfd = {p[0], POLLIN, 0};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        ssize_t r = read(p[0], out + n, outlen - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
    close(p[0]);
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

/* Greeting 05 01 00 -> expect 05 00. */
static int socks5_probe(const char *addr)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof host)
        return -EINVAL;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -EINVAL;
    int rc = 0, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unsigned char hello[3] = {5, 1, 0}, reply[2];
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || write(fd, hello, 3) != 3) {
        rc = -errno;
        goto out;
    }
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, 2000) <= 0) {
        rc = -ETIMEDOUT;
        goto out;
    }
    if (recv(fd, reply, 2, MSG_WAITALL) != 2 || reply[0] != 5 || reply[1] != 0)
        rc = -EPROTO;
out:
    close(fd);
    return rc;
}

int doctor_run(struct daemon *d, int argc, char **argv)
{
    struct doc dc = {0, 0};
    struct utsname u;
    char *st = NULL, buf[512];
    if (uname(&u) == 0)
        line(&dc, !strcmp(u.sysname, "Linux") ? "OK" : "FAIL", "os: %s %s %s%s", u.sysname,
             u.release, u.machine, !strcmp(u.sysname, "Linux") ? "" : " (tsrun needs Linux)");
#ifdef __GLIBC__
    line(&dc, "OK", "libc: glibc %s", gnu_get_libc_version());
#else
    line(&dc, "OK", "libc: not glibc (musl?)");
#endif
    char musl_shim[4096];
    bool musl_ldso = access("/lib/ld-musl-x86_64.so.1", F_OK) == 0 ||
                     access("/lib/ld-musl-aarch64.so.1", F_OK) == 0;

    char *comm = NULL;
    if (tsr_read_file("/proc/1/comm", &comm, NULL) == 0) {
        comm[strcspn(comm, "\n")] = '\0';
        line(&dc, "OK", "pid 1: %s%s", comm,
             strcmp(comm, "systemd") != 0 && strcmp(comm, "init") != 0
                 ? " (container-style init: background daemons may die on suspend; use `tsrun up`)"
                 : "");
        free(comm);
    } else {
        line(&dc, "WARN", "pid 1: unreadable (/proc not mounted?)");
    }

    int tfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (tfd >= 0) {
        close(tfd);
        line(&dc, "OK", "/dev/net/tun: present and openable (TUN mode is possible)");
    } else {
        line(&dc, "WARN", "/dev/net/tun: %s (userspace networking: use tsrun)", strerror(errno));
    }

    uint64_t cap = 0;
    bool netadmin = false;
    if (tsr_read_file("/proc/self/status", &st, NULL) == 0 && doctor_parse_capeff(st, &cap) == 0) {
        netadmin = (cap >> CAP_NET_ADMIN_BIT) & 1;
        line(&dc, netadmin ? "OK" : "WARN", "CapEff: %016llx, CAP_NET_ADMIN %s",
             (unsigned long long)cap, netadmin ? "yes" : "no (no TUN mode: use tsrun)");
        int nnp = doctor_parse_nonewprivs(st);
        if (nnp < 0)
            line(&dc, "OK", "NoNewPrivs: not reported by this kernel (/proc/self/status)");
        else
            line(&dc, nnp > 0 ? "WARN" : "OK", "NoNewPrivs: %d%s", nnp,
                 nnp > 0 ? " (setuid programs cannot gain privileges here)" : "");
    } else {
        line(&dc, "WARN", "CapEff: /proc/self/status unreadable");
    }
    free(st);

    bool bins = daemon_find_binaries(d) == 0;
    if (bins) {
        tool_version(d->tailscale, buf, sizeof buf);
        line(&dc, "OK", "tailscale: %s (%s)", d->tailscale, *buf ? buf : "version unknown");
        line(&dc, "OK", "tailscaled: %s", d->tailscaled);
    } else {
        line(&dc, d->mode == DAEMON_MODE_USERSPACE ? "FAIL" : "WARN",
             "tailscale/tailscaled: not found; install: curl -fsSL "
             "https://tailscale.com/install.sh | sh "
             "(or the static tarball from https://pkgs.tailscale.com/stable/)");
    }

    char shim[4096];
    bool have_shim = inject_find_shim(shim, sizeof shim) == 0;
    if (have_shim)
        line(&dc, "OK", "shim: %s", shim);
    else
        line(&dc, "FAIL", "shim: not found, %s (run `make`, or set TSRUN_SHIM)", shim);
    bool have_musl_shim =
        have_shim && inject_find_musl_shim(shim, musl_shim, sizeof musl_shim) == 0;
    if (musl_ldso)
        line(&dc, have_musl_shim ? "OK" : "WARN", "musl programs: %s",
             have_musl_shim ? musl_shim
                            : "the musl loader is installed but no musl build of the shim (make "
                              "musl, or TSRUN_SHIM_MUSL)");

    int prc = localapi_ping(d->sock);
    bool running = false;
    if (prc < 0 && d->mode == DAEMON_MODE_USERSPACE && daemon_find_tun(d)) {
        line(&dc, "OK",
             "tailscaled at %s runs in TUN mode: the tailnet is routable, tsrun "
             "injects nothing",
             d->sock);
        prc = 0;
    }
    if (prc == 0 && daemon_fetch_status(d, 3000) == 0) {
        running = !strcmp(d->st.backend_state, "Running");
        line(&dc, "OK", "socket: %s answers (tailscaled %s, %s)", d->sock, d->st.version,
             d->st.tun ? "TUN mode" : "userspace networking");
        line(&dc, running ? "OK" : "WARN", "backend: %s%s", d->st.backend_state,
             running ? "" : " (run `TS_AUTHKEY=... tsrun up --background`)");
    } else {
        line(&dc, "WARN", "socket: %s: %s (tsrun starts tailscaled on first use)", d->sock,
             prc < 0 ? strerror(-prc) : "no valid status reply");
    }

    char *s5 = NULL;
    const char *addr = d->socks5[0] ? d->socks5 : NULL;
    if (!addr && tsr_read_file(d->socks5_path, &s5, NULL) == 0) {
        s5[strcspn(s5, "\r\n")] = '\0';
        addr = s5;
    }
    if (addr) {
        int r = socks5_probe(addr);
        line(
            &dc, r == 0 ? "OK" : "FAIL", "socks5: %s %s", addr,
            r == 0
                ? "answers 05 00 (no auth)"
                : "does not answer a SOCKS5 greeting (restart: tsrun down; tsrun up --background)");
    } else if (running) {
        line(&dc, "WARN",
             "socks5: address unknown (give --socks5 ADDR for an external tailscaled)");
    }
    char addr_buf[96] = "";
    if (addr)
        snprintf(addr_buf, sizeof addr_buf, "%s", addr);
    addr = addr_buf[0] ? addr_buf : NULL;
    free(s5);

    /* What static and Go programs get here (--intercept=auto). */
    const char *gf_call;
    int sc = seccomp_probe(), gf = probe_getfd(&gf_call), vm = trap_mem_probe();
    char gf_why[160] = "";
    if (gf < 0)
        snprintf(gf_why, sizeof gf_why, "%s is not available here (%s)", gf_call, strerror(-gf));
    if (sc == 0) {
        line(&dc, "OK",
             "seccomp: user-notify listeners work: static and Go programs are tunnelled "
             "with --intercept=seccomp");
        if (gf < 0)
            line(&dc, "OK",
                 "seccomp: %s: tunnels and DNS sockets are installed over the program's own "
                 "(SECCOMP_IOCTL_NOTIF_ADDFD)",
                 gf_why);
        if (vm < 0)
            line(&dc, "OK",
                 "seccomp: process_vm_readv is not available here (%s): programs' memory is read "
                 "through /proc/PID/mem",
                 strerror(-vm));
    } else {
        line(&dc, "WARN", "seccomp: no listener (%s)", seccomp_strerror(sc));
    }
    int pt = ptracer_probe();
    if (pt == 0)
        line(&dc, "OK", "ptrace: permitted: %s",
             sc == 0 ? "--intercept=ptrace works too"
                     : "static and Go programs are "
                       "tunnelled with ptrace instead");
    else
        line(&dc, sc == 0 ? "OK" : "WARN", "ptrace: not usable (%s)%s%s%s", ptracer_strerror(pt),
             gf < 0 ? "; " : "", gf < 0 ? gf_why : "",
             sc == 0                  ? ""
             : pt == PTRACER_NO_GETFD ? ": static and Go programs run under ptrace with their "
                                        "tailnet connects refused (ENETUNREACH), and proxy "
                                        "variables"
                                      : ": static and Go programs get proxy variables only, "
                                        "and their raw connects are not seen by tsrun");

    bool cmd_static = false, cmd_priv = false;
    if (argc > 0) {
        char path[4096];
        struct elf_info ei;
        int r = inject_resolve(argv[0], path, sizeof path);
        if (r < 0) {
            line(&dc, "FAIL", "command: %s: %s", argv[0], strerror(-r));
        } else if (elf_inspect_path(path, &ei) < 0) {
            line(&dc, "WARN", "command: %s: unreadable", path);
        } else {
            cmd_static = elf_bypasses_preload(&ei);
            cmd_priv = ei.setuid || ei.setgid || ei.file_caps;
            if (!ei.is_elf)
                line(&dc, "OK", "command: %s is not ELF (a script: its interpreter gets the shim)",
                     path);
            else if (!cmd_static && elf_is_musl(&ei))
                line(&dc, have_musl_shim ? "OK" : "WARN", "command: %s uses musl (%s): %s", path,
                     ei.interp,
                     have_musl_shim ? "the musl shim is used"
                                    : "needs a musl build of the shim (make musl)");
            else if (cmd_static)
                line(&dc, sc == 0 || pt == 0 ? "OK" : "WARN",
                     "command: %s is %s: the shim cannot work; %s", path,
                     ei.is_go ? "a Go program" : "statically linked",
                     sc == 0   ? "tsrun runs it under seccomp (--intercept=auto)"
                     : pt == 0 ? "tsrun runs it under ptrace (--intercept=auto)"
                     : pt == PTRACER_NO_GETFD
                         ? "tsrun runs it under ptrace with its tailnet connects refused, and "
                           "exports proxy variables for it (--intercept=auto)"
                         : "tsrun exports ALL_PROXY/HTTPS_PROXY=socks5h://... for it");
            else
                line(&dc, "OK", "command: %s is dynamically linked: the shim works", path);
            if (cmd_priv)
                line(&dc, "WARN",
                     "command: %s is setuid/setgid/setcap: LD_PRELOAD is ignored there", path);
        }
    }

    /* Global mode: /etc/ld.so.preload + /etc/tsrun/tsrun.conf. */
    bool global = false;
    char *list = NULL, *conf = NULL, *rest = NULL;
    if (tsr_read_file(PRELOAD_LIST, &list, NULL) == 0) {
        bool rf, ours = preload_list_remove(list, shim, &rest, &rf) == 1;
        global = have_shim && preload_list_has(list, shim);
        if (ours && !global)
            line(&dc, "WARN",
                 "global preload: %s lists a libtsshim.so that is not %s (stale? run "
                 "`tsrun install-preload` again)",
                 PRELOAD_LIST, have_shim ? shim : "found");
    }
    if (global) {
        const char *cs = PRELOAD_DEFAULT_SOCKS5; /* the shim's default without the key */
        bool have_conf = tsr_read_file(PRELOAD_CONF, &conf, NULL) == 0;
        for (char *p = conf; p && *p; p += strcspn(p, "\n"), p += *p == '\n') {
            p += strspn(p, " \t");
            if (!strncmp(p, "socks5", 6) && p[6 + strspn(p + 6, " \t")] == '=') {
                cs = p + 6 + strspn(p + 6, " \t") + 1;
                cs += strspn(cs, " \t");
            }
        }
        size_t csn = strcspn(cs, " \t\r\n#");
        struct stat csb;
        if (!have_conf)
            line(&dc, "WARN",
                 "global preload: %s lists the shim but %s is missing (the shim uses "
                 "127.0.0.1:1055 and no name map; run `tsrun install-preload`)",
                 PRELOAD_LIST, PRELOAD_CONF);
        else if (stat(PRELOAD_CONF, &csb) == 0 && (csb.st_uid != 0 || (csb.st_mode & 022)))
            line(&dc, "WARN",
                 "global preload: %s is not root-owned or is group/world-writable: the "
                 "shim ignores it (chown root; chmod 0644)",
                 PRELOAD_CONF);
        else if (addr && (strlen(addr) != csn || strncmp(addr, cs, csn) != 0))
            line(&dc, "WARN",
                 "global preload: %s says socks5 %.*s but tailscaled listens on %s "
                 "(run `tsrun install-preload` again, or start it with --socks5-port)",
                 PRELOAD_CONF, (int)csn, cs, addr);
        else
            line(&dc, "OK", "global preload: installed (%s, socks5 %.*s)", PRELOAD_CONF, (int)csn,
                 cs);
    }
    free(list);
    free(conf);
    free(rest);

    const char *rec;
    if (d->mode == DAEMON_MODE_TUN || (running && d->st.tun))
        rec = "tailscaled runs in TUN mode: programs reach the tailnet directly; tsrun runs them "
              "unchanged";
    else if (global)
        rec = "global preload is installed: every dynamically linked program reaches the tailnet "
              "with no wrapper; keep tailscaled up (`tsrun up --background` in a start hook)";
    else if (netadmin && tfd >= 0)
        rec = "TUN mode is possible here and needs no shim: `tsrun up --tun=kernel` (or "
              "TS_USERSPACE=false); otherwise `tsrun COMMAND`";
    else if (cmd_static || cmd_priv)
        rec = "this COMMAND cannot take the shim: use its proxy settings (socks5h://) or TUN mode";
    else
        rec = "`tsrun COMMAND` per command, or `eval \"$(tsrun env)\"` for a whole shell; for a "
              "sandbox image where every process should reach the tailnet: `tsrun install-preload` "
              "(root; see docs/recipes.md)";
    line(&dc, "OK", "recommendation: %s", rec);
    printf("%d FAIL, %d WARN\n", dc.fails, dc.warns);
    return dc.fails ? TSR_EXIT_FAIL : 0;
}
