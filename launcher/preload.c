/* Global mode: the shim in /etc/ld.so.preload, configured by the root-owned
 * /etc/tsrun/tsrun.conf. The list edit and the config text are pure
 * functions in preload_text.c; the I/O is here, in preload_main(). */
#include "preload.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inject.h"
#include "status.h"
#include "port.h"
#include "tsrun.h"

/* ------------------------------------------------------------ I/O */

/* IMPORTANT: a library in /etc/ld.so.preload runs inside every setuid
 * program. If anyone but root could replace it (or a directory above it),
 * installing it would hand them root. And if other users cannot read it, ld.so
 * prints an error in every one of their processes. Refuse both. */
static int check_shim(const char *shim, char *why, size_t whylen)
{
    struct stat sb;
    char path[PATH_MAX];
    if (stat(shim, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        snprintf(why, whylen, "%s: not a regular file", shim);
        return -ENOENT;
    }
    if (sb.st_uid != 0 || (sb.st_mode & (S_IWGRP | S_IWOTH))) {
        snprintf(why, whylen, "%s: must be owned by root and not group/world-writable", shim);
        return -EPERM;
    }
    if (!(sb.st_mode & S_IROTH)) {
        snprintf(why, whylen, "%s: must be world-readable (chmod 0644)", shim);
        return -EACCES;
    }
    snprintf(path, sizeof path, "%s", shim);
    for (char *slash = strrchr(path, '/'); slash; slash = strrchr(path, '/')) {
        *slash = '\0';
        const char *dir = path[0] ? path : "/";
        if (stat(dir, &sb) < 0)
            return -errno;
        if (sb.st_uid != 0 || ((sb.st_mode & (S_IWGRP | S_IWOTH)) && !(sb.st_mode & S_ISVTX))) {
            snprintf(why, whylen,
                     "directory %s: must be owned by root and not group/world-writable", dir);
            return -EPERM;
        }
        if (!(sb.st_mode & S_IXOTH)) {
            snprintf(why, whylen, "directory %s: other users cannot reach the shim (chmod o+x)",
                     dir);
            return -EACCES;
        }
        if (!path[0])
            break;
    }
    return 0;
}

static int read_opt_file(const char *path, char **text)
{
    *text = NULL;
    int rc = tsr_read_file(path, text, NULL);
    return rc == -ENOENT ? 0 : rc;
}

/* The port the running tailscaled was told: ":0" means it picked one. */
static bool port_is_random(const struct daemon *d)
{
    char *cmd = NULL;
    size_t len = 0;
    char path[64];
    bool random = false;
    pid_t pid = daemon_read_pid(d->pid_path);
    if (pid <= 0)
        return false;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    if (tsr_read_file(path, &cmd, &len) < 0)
        return false;
    for (size_t i = 0; i < len; i += strlen(cmd + i) + 1) {
        const char *a = cmd + i;
        if (!strncmp(a, "--socks5-server=", 16) && strlen(a) > 2 &&
            !strcmp(a + strlen(a) - 2, ":0"))
            random = true;
    }
    free(cmd);
    return random;
}

/* Can a non-root user read path (every directory searchable, file o+r)? */
static bool others_can_read(const char *path)
{
    char p[PATH_MAX];
    struct stat sb;
    if (stat(path, &sb) == 0 && !(sb.st_mode & S_IROTH))
        return false;
    snprintf(p, sizeof p, "%s", path);
    for (char *slash = strrchr(p, '/'); slash && slash != p; slash = strrchr(p, '/')) {
        *slash = '\0';
        if (stat(p, &sb) == 0 && !(sb.st_mode & S_IXOTH))
            return false;
    }
    return true;
}

static int install(const struct cli_preload *o, struct daemon *d, const char *list,
                   const char *confdir, const char *conf)
{
    char shim[PATH_MAX], real[PATH_MAX], why[PATH_MAX + 128], socks5[96];
    char *routes = NULL, *old = NULL, *text = NULL, *conftext = NULL;
    int rc;

    /* The shim: absolute, existing, safe to put into every process. */
    if (o->shim) {
        snprintf(shim, sizeof shim, "%s", o->shim);
    } else if (inject_find_shim(shim, sizeof shim) < 0) {
        tsr_error("shim libtsshim.so not found (%s); build it with `make`, or give --shim PATH",
                  shim);
        return TSR_EXIT_INTERNAL;
    }
    if (!realpath(shim, real)) {
        tsr_error("shim %s: %s", shim, strerror(errno));
        return TSR_EXIT_INTERNAL;
    }
    if (check_shim(real, why, sizeof why) < 0) {
        tsr_error("refusing to preload the shim into every process: %s", why);
        return TSR_EXIT_INTERNAL;
    }
    if (!preload_path_listable(real)) {
        tsr_error(
            "shim path %s contains a character /etc/ld.so.preload cannot hold (space, ':', '#')",
            real);
        return TSR_EXIT_INTERNAL;
    }

    /* What the running tsrun knows (never starts anything). */
    bool up = access(d->sock, F_OK) == 0 && daemon_fetch_status(d, 3000) == 0;
    bool tun = up && d->st.tun;
    if (!up && access(DAEMON_SYSTEM_SOCKET, F_OK) == 0) {
        /* A system tailscaled in TUN mode (what `tsrun COMMAND` would use). */
        struct daemon *sys = malloc(sizeof *sys);
        if (sys) {
            memcpy(sys, d, sizeof *sys);
            sys->have_st = false;
            snprintf(sys->sock, sizeof sys->sock, "%s", DAEMON_SYSTEM_SOCKET);
            if (daemon_fetch_status(sys, 3000) == 0) {
                tun = sys->st.tun && !strcmp(sys->st.backend_state, "Running");
                status_free(&sys->st);
            }
            free(sys);
        }
    }
    if (tun) {
        tsr_note("tailscaled runs in TUN mode: every program already reaches the "
                 "tailnet; nothing to install");
        rc = 0;
        goto out;
    }

    const char *src = "--socks5";
    if (o->socks5) {
        snprintf(socks5, sizeof socks5, "%s", o->socks5);
    } else if (d->socks5[0]) {
        snprintf(socks5, sizeof socks5, "%s", d->socks5);
    } else if (d->socks5_port > 0) {
        snprintf(socks5, sizeof socks5, "127.0.0.1:%d", d->socks5_port);
        src = "--socks5-port";
    } else {
        char *s = NULL;
        socks5[0] = '\0';
        if (d->mode == DAEMON_MODE_USERSPACE && tsr_read_file(d->socks5_path, &s, NULL) == 0) {
            s[strcspn(s, " \r\n")] = '\0';
            snprintf(socks5, sizeof socks5, "%s", s);
            src = "state";
        }
        free(s);
        int rec = d->mode == DAEMON_MODE_USERSPACE ? port_read(d->port_path) : -ENOENT;
        if (!socks5[0] && rec > 0) {
            snprintf(socks5, sizeof socks5, "127.0.0.1:%d", rec);
            src = "recorded";
        }
        if (!socks5[0]) {
            snprintf(socks5, sizeof socks5, "%s", PRELOAD_DEFAULT_SOCKS5);
            src = "default";
        }
    }
    if (!preload_socks5_valid(socks5)) {
        tsr_error("SOCKS5 address %s: expected IP:PORT or [IPv6]:PORT", socks5);
        rc = TSR_EXIT_USAGE;
        goto out;
    }
    if (!strcmp(src, "state") && port_is_random(d))
        tsr_warn("SOCKS5 %s was picked at random by the running tailscaled and changes when it "
                 "restarts; restart it with a fixed port (tsrun down; tsrun --socks5-port 1055 up "
                 "--background) and run install-preload again",
                 socks5);
    if (!strcmp(src, "default"))
        tsr_note("no running tsrun found: using SOCKS5 %s, the port `tsrun up "
                 "--background` listens on unless it is taken",
                 socks5);

    const char *names = o->names ? o->names : d->names_path;
    if (!o->names) {
        /* The state dir is 0700; the map (0644) must be readable by every
         * user's processes. o+x lets them open it by name without listing
         * the directory; the secrets in it are 0600 files. */
        struct stat sb;
        if (stat(d->state_dir, &sb) == 0 && !(sb.st_mode & S_IXOTH) &&
            chmod(d->state_dir, (sb.st_mode & 07777) | S_IXGRP | S_IXOTH) == 0)
            tsr_note("%s made searchable (o+x) so every user's programs can read "
                     "the name map",
                     d->state_dir);
    }
    if (names[0] != '/') {
        tsr_error("--names %s: must be an absolute path", names);
        rc = TSR_EXIT_USAGE;
        goto out;
    }
    if (!others_can_read(names))
        tsr_warn("%s is not readable by other users: their programs will not resolve tailnet names",
                 names);

    if (o->routes) {
        routes = strdup(o->routes);
    } else if (up && d->st.exit_node_in_use) {
        routes = strdup("all");
    } else if (up && d->accept_routes) {
        routes = status_routes(&d->st);
    }

    struct preload_conf pc = {.socks5 = socks5, .names = names, .routes = routes};
    if (preload_conf_text(&pc, &conftext) < 0) {
        tsr_error("cannot write %s: bad value (socks5 %s, names %s)", conf, socks5, names);
        rc = TSR_EXIT_USAGE;
        goto out;
    }

    /* The config first, so the shim finds it as soon as ld.so loads it. */
    rc = tsr_mkdir_p(confdir, 0755);
    if (rc == 0)
        rc = chmod(confdir, 0755) < 0 ? -errno : 0;
    if (rc == 0) {
        char *cur = NULL;
        read_opt_file(conf, &cur);
        bool same = cur && !strcmp(cur, conftext);
        free(cur);
        rc = same ? 0 : tsr_write_atomic(conf, conftext, strlen(conftext), 0644);
        if (rc == 0)
            tsr_note("%s: %s (socks5 %s, names %s%s%s)", conf, same ? "unchanged" : "written",
                     socks5, names, routes && *routes ? ", routes " : "",
                     routes && *routes ? routes : "");
    }
    if (rc < 0) {
        tsr_error("%s: %s", conf, strerror(-rc));
        rc = TSR_EXIT_INTERNAL;
        goto out;
    }

    rc = read_opt_file(list, &old);
    if (rc == 0)
        rc = preload_list_add(old, real, &text);
    if (rc == 1)
        rc = tsr_write_atomic(list, text, strlen(text), 0644);
    if (rc < 0) {
        tsr_error("%s: %s", list, strerror(-rc));
        rc = TSR_EXIT_INTERNAL;
        goto out;
    }
    tsr_note("%s: %s %s", list, old && !strcmp(old, text) ? "already lists" : "added", real);
    rc = 0;
out:
    free(routes);
    free(old);
    free(text);
    free(conftext);
    return rc;
}

static int uninstall(const char *list, const char *confdir, const char *conf)
{
    char shim[PATH_MAX];
    char *old = NULL, *text = NULL;
    bool remove_file = false;
    int rc = read_opt_file(list, &old);
    if (inject_find_shim(shim, sizeof shim) < 0)
        shim[0] = '\0';
    if (rc == 0 && old)
        rc = preload_list_remove(old, shim, &text, &remove_file);
    if (rc >= 0 && old) {
        if (remove_file)
            rc = unlink(list) < 0 ? -errno : 1;
        else if (rc == 1)
            rc = tsr_write_atomic(list, text, strlen(text), 0644);
        if (rc >= 0)
            tsr_note("%s: %s", list,
                     remove_file         ? "removed (tsrun created it)"
                     : strcmp(old, text) ? "shim entry removed"
                                         : "no shim entry");
    }
    free(old);
    free(text);
    if (rc < 0) {
        tsr_error("%s: %s", list, strerror(-rc));
        return TSR_EXIT_INTERNAL;
    }
    if (unlink(conf) == 0)
        tsr_note("%s: removed", conf);
    else if (errno != ENOENT) {
        tsr_error("%s: %s", conf, strerror(errno));
        return TSR_EXIT_INTERNAL;
    }
    rmdir(confdir); /* only when empty */
    return 0;
}

int preload_main(const struct cli *c, preload_setup_fn setup)
{
    struct cli_preload o = c->preload;
    bool inst = c->cmd == CLI_INSTALL_PRELOAD;
    const char *name = inst ? "install-preload" : "uninstall-preload";
    char list[PATH_MAX], confdir[PATH_MAX], conf[PATH_MAX];
    int rc;
    if (!o.root) {
        const char *env = getenv("TSRUN_SYSROOT");
        o.root = env && *env ? env : "";
    }
    if (!o.socks5 && c->socks5)
        o.socks5 = c->socks5;
    if (o.root[0] && o.root[0] != '/') {
        tsr_error("--root %s: must be an absolute path", o.root);
        return TSR_EXIT_USAGE;
    }
    if (geteuid() != 0) {
        tsr_error("%s must run as root: it edits %s%s and %s%s (try: sudo tsrun %s)", name, o.root,
                  PRELOAD_LIST, o.root, PRELOAD_CONF, name);
        return TSR_EXIT_FAIL;
    }
    const char *r = strcmp(o.root, "/") ? o.root : "";
    if (tsr_fmt(list, sizeof list, "%s%s", r, PRELOAD_LIST) < 0 ||
        tsr_fmt(confdir, sizeof confdir, "%s%s", r, PRELOAD_CONF_DIR) < 0 ||
        tsr_fmt(conf, sizeof conf, "%s%s", r, PRELOAD_CONF) < 0) {
        tsr_error("--root: path too long");
        return TSR_EXIT_USAGE;
    }
    if (!inst)
        return uninstall(list, confdir, conf);
    struct daemon d;
    rc = setup(c, &d);
    if (rc == 0)
        rc = install(&o, &d, list, confdir, conf);
    if (d.have_st)
        status_free(&d.st);
    return rc;
}
