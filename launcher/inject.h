/* The environment a tunnelled COMMAND gets, and the exec itself. */
#ifndef TSRUN_INJECT_H
#define TSRUN_INJECT_H

#include <stdbool.h>
#include <stddef.h>

#define INJECT_SHIM_NAME "libtsshim.so"

struct inject_opts {
    const char *shim;   /* absolute path; NULL: no LD_PRELOAD change */
    const char *socks5; /* "127.0.0.1:PORT" */
    const char *names;  /* map path or NULL */
    const char *routes; /* TSRUN_ROUTES value or NULL/"" */
    bool proxy_env;     /* also the proxy variables below */
    /* With proxy_env: ALL_PROXY=socks5h://socks5 (curl and friends);
     * HTTP(S)_PROXY=http://http_proxy when tailscaled serves one (Go's
     * net/http before 1.22 cannot parse socks5h:// and ignores ALL_PROXY),
     * else socks5h://socks5; all in lower case too; NO_PROXY gets the
     * loopback names in front of the caller's own list. */
    const char *http_proxy; /* "127.0.0.1:PORT" or NULL */
    bool pipeline;      /* TSRUN_SOCKS5_PIPELINE=1 unless envp sets it: only for
                           the tailscaled tsrun started (it reads the greeting
                           and the request with io.ReadFull) */
};

#define INJECT_NO_PROXY "localhost,127.0.0.1,::1"

/* Pure: checks every TSRUN_* variable in envp that the shim reads, with the
 * shim's own parsers (common/settings.h), so tsrun refuses exactly what the
 * shim would fall back from. 0, or -EINVAL with one line in err naming the
 * first bad variable and what it expects. */
int inject_check_settings(char *const *envp, char *err, size_t errlen);

/* Pure: shim first, then the existing LD_PRELOAD items (space or colon
 * separated, kept as written). If shim is already one of the items the
 * value is returned unchanged. 0 or -ENAMETOOLONG. */
int inject_preload_chain(const char *existing, const char *shim, char *out, size_t outlen);

/* Pure: the shim path to use. env_shim (TSRUN_SHIM) wins; else
 * "<exe_dir>/libtsshim.so" (build tree) if exists(), else
 * "<exe_dir>/../lib/tsrun/libtsshim.so" (install layout). -ENOENT with the
 * last candidate in out when none exists. */
int inject_pick_shim(const char *env_shim, const char *exe_dir, bool (*exists)(const char *),
                     char *out, size_t outlen);

/* inject_pick_shim() with TSRUN_SHIM, /proc/self/exe and access(R_OK).
 * On failure out holds a description of where it looked. */
int inject_find_shim(char *out, size_t outlen);

/* The musl build of the shim for musl programs: TSRUN_SHIM_MUSL, else
 * "musl/libtsshim.so" next to shim. 0 or -ENOENT. */
int inject_find_musl_shim(const char *shim, char *out, size_t outlen);

/* Pure: a new malloc'd environment = envp with the TSRUN_* / LD_PRELOAD /
 * proxy variables of o replaced or added. Free with inject_free_env(). */
int inject_build_env(char *const *envp, const struct inject_opts *o, char ***out);
void inject_free_env(char **env);

/* Pure: "KEY=VALUE" is an auth key (TS_AUTHKEY, TS_AUTH_KEY): tsrun hands
 * it to `tailscale up` through a pipe and scrubs it from every environment
 * it builds (the command's and the daemons'). */
bool inject_is_secret(const char *entry);

/* Pure: a malloc'd copy of envp without LD_PRELOAD, TSRUN_* and the auth
 * key (for tailscaled/tailscale, which must never get the shim). */
char **inject_clean_env(char *const *envp);

/* Pure: s quoted for POSIX sh ('...' with '\'' for quotes). malloc'd. */
char *inject_shell_quote(const char *s);

/* Finds cmd like execvp would (cmd with '/' is taken as is). 0, -ENOENT
 * or -EACCES. */
int inject_resolve(const char *cmd, char *out, size_t outlen);

/* execve()s argv with env; only returns on failure, with the shell's exit
 * code (127 not found, 126 not executable) after one error line. */
int inject_exec(char *const argv[], char **env);

#endif
