/* Environment building is pure (tests feed it arrays); only inject_exec and
 * inject_find_shim touch the process. */
#include "inject.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "settings.h"
#include "tsrun.h"

int inject_preload_chain(const char *existing, const char *shim, char *out, size_t outlen)
{
    if (!existing || !*existing)
        return tsr_fmt(out, outlen, "%s", shim);
    size_t sl = strlen(shim);
    for (const char *p = existing; *p;) {
        size_t n = strcspn(p, " :");
        if (n == sl && strncmp(p, shim, sl) == 0)
            return tsr_fmt(out, outlen, "%s", existing);
        p += n;
        p += strspn(p, " :");
    }
    return tsr_fmt(out, outlen, "%s:%s", shim, existing);
}

int inject_pick_shim(const char *env_shim, const char *exe_dir, bool (*exists)(const char *),
                     char *out, size_t outlen)
{
    if (env_shim && *env_shim) {
        if (tsr_fmt(out, outlen, "%s", env_shim) < 0)
            return -ENAMETOOLONG;
        return exists(out) ? 0 : -ENOENT;
    }
    if (tsr_fmt(out, outlen, "%s/" INJECT_SHIM_NAME, exe_dir) < 0)
        return -ENAMETOOLONG;
    if (exists(out))
        return 0;
    if (tsr_fmt(out, outlen, "%s/../lib/tsrun/" INJECT_SHIM_NAME, exe_dir) < 0)
        return -ENAMETOOLONG;
    return exists(out) ? 0 : -ENOENT;
}

static bool readable(const char *p)
{
    return access(p, R_OK) == 0;
}

int inject_find_shim(char *out, size_t outlen)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return -errno;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    const char *env = getenv("TSRUN_SHIM");
    int rc = inject_pick_shim(env, exe, readable, out, outlen);
    if (rc == 0) {
        char abs[PATH_MAX]; /* absolute, without "bin/../lib" */
        if (realpath(out, abs) && strlen(abs) < outlen)
            strcpy(out, abs);
    } else if (!(env && *env)) {
        snprintf(out, outlen, "looked for %s/%s and %s/../lib/tsrun/%s", exe, INJECT_SHIM_NAME, exe,
                 INJECT_SHIM_NAME);
    }
    return rc;
}

int inject_find_musl_shim(const char *shim, char *out, size_t outlen)
{
    const char *env = getenv("TSRUN_SHIM_MUSL");
    if (env && *env) {
        if (tsr_fmt(out, outlen, "%s", env) < 0)
            return -ENAMETOOLONG;
        return readable(out) ? 0 : -ENOENT;
    }
    const char *slash = strrchr(shim, '/');
    int dirlen = slash ? (int)(slash - shim) : 1;
    if (tsr_fmt(out, outlen, "%.*s/musl/" INJECT_SHIM_NAME, dirlen, slash ? shim : ".") < 0)
        return -ENAMETOOLONG;
    return readable(out) ? 0 : -ENOENT;
}

static bool has_key(const char *entry, const char *key)
{
    size_t n = strlen(key);
    return strncmp(entry, key, n) == 0 && entry[n] == '=';
}

struct envb {
    char **v;
    size_t n, cap;
    int err;
};

static void env_add(struct envb *e, const char *key, const char *val)
{
    if (e->err)
        return;
    if (e->n + 2 > e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 64;
        char **nv = realloc(e->v, ncap * sizeof *nv);
        if (!nv) {
            e->err = -ENOMEM;
            return;
        }
        e->v = nv;
        e->cap = ncap;
        e->v[e->n] = NULL; /* terminated even if the strdup below fails */
    }
    char *s;
    if (val) {
        s = malloc(strlen(key) + strlen(val) + 2);
        if (s)
            sprintf(s, "%s=%s", key, val);
    } else {
        s = strdup(key);
    }
    if (!s) {
        e->err = -ENOMEM;
        return;
    }
    e->v[e->n++] = s;
    e->v[e->n] = NULL;
}

bool inject_is_secret(const char *entry)
{
    return has_key(entry, "TS_AUTHKEY") || has_key(entry, "TS_AUTH_KEY");
}

static const char *const proxy_vars[] = {"ALL_PROXY",   "all_proxy",  "HTTPS_PROXY", "HTTP_PROXY",
                                         "https_proxy", "http_proxy", "NO_PROXY",    "no_proxy"};
#define N_SOCKS_VARS 2 /* proxy_vars[0..1] always name the SOCKS5 URL */
#define N_URL_VARS 6   /* ... [2..5] the HTTP proxy's when there is one */

int inject_check_settings(char *const *envp, char *err, size_t errlen)
{
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *eq = strchr(envp[i], '=');
        char key[64];
        if (strncmp(envp[i], "TSRUN_", 6) != 0 || eq == NULL ||
            (size_t)(eq - envp[i]) >= sizeof key)
            continue;
        memcpy(key, envp[i], (size_t)(eq - envp[i]));
        key[eq - envp[i]] = '\0';
        int k = settings_key_of(key);
        if (k >= 0 && settings_check(k, eq + 1) < 0) {
            snprintf(err, errlen, "%s=%.60s: expected %s", key, eq + 1, settings_expected(k));
            return -EINVAL;
        }
    }
    return 0;
}

int inject_build_env(char *const *envp, const struct inject_opts *o, char ***out)
{
    struct envb e = {0};
    const char *old_preload = NULL;
    char preload[8192];
    bool set_preload = o->shim && *o->shim, pipeline = o->pipeline;
    const char *old_no_proxy = NULL;
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *s = envp[i];
        if (has_key(s, "TSRUN_SOCKS5_PIPELINE"))
            pipeline = false; /* the user's own choice stays */
        if (has_key(s, "NO_PROXY") || (!old_no_proxy && has_key(s, "no_proxy")))
            old_no_proxy = strchr(s, '=') + 1;
        if (has_key(s, "LD_PRELOAD")) {
            old_preload = s + strlen("LD_PRELOAD=");
            if (set_preload)
                continue;
        }
        if (inject_is_secret(s))
            continue;
        if ((o->socks5 && has_key(s, "TSRUN_SOCKS5")) || (o->names && has_key(s, "TSRUN_NAMES")) ||
            (o->routes && *o->routes && has_key(s, "TSRUN_ROUTES")))
            continue;
        bool skip = false;
        for (size_t k = 0; o->proxy_env && k < sizeof proxy_vars / sizeof *proxy_vars; k++)
            skip |= has_key(s, proxy_vars[k]);
        if (!skip)
            env_add(&e, s, NULL);
    }
    if (set_preload) {
        if (inject_preload_chain(old_preload, o->shim, preload, sizeof preload) < 0) {
            e.err = e.err ? e.err : -ENAMETOOLONG;
        } else {
            env_add(&e, "LD_PRELOAD", preload);
        }
    }
    if (o->socks5)
        env_add(&e, "TSRUN_SOCKS5", o->socks5);
    if (o->names)
        env_add(&e, "TSRUN_NAMES", o->names);
    if (o->routes && *o->routes)
        env_add(&e, "TSRUN_ROUTES", o->routes);
    if (pipeline)
        env_add(&e, "TSRUN_SOCKS5_PIPELINE", "1");
    if (o->proxy_env && o->socks5) {
        char socks[128], http[128], *no = NULL;
        snprintf(socks, sizeof socks, "socks5h://%s", o->socks5);
        if (o->http_proxy && *o->http_proxy)
            snprintf(http, sizeof http, "http://%s", o->http_proxy);
        else
            snprintf(http, sizeof http, "%s", socks);
        for (size_t k = 0; k < N_URL_VARS; k++)
            env_add(&e, proxy_vars[k], k < N_SOCKS_VARS ? socks : http);
        if (old_no_proxy && *old_no_proxy &&
            asprintf(&no, "%s,%s", INJECT_NO_PROXY, old_no_proxy) < 0)
            no = NULL;
        env_add(&e, "NO_PROXY", no ? no : INJECT_NO_PROXY);
        env_add(&e, "no_proxy", no ? no : INJECT_NO_PROXY);
        free(no);
    }
    if (!e.err && !e.v)
        env_add(&e, "TSRUN=1", NULL); /* never hand out a NULL array */
    if (e.err) {
        inject_free_env(e.v);
        return e.err;
    }
    *out = e.v;
    return 0;
}

void inject_free_env(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

char **inject_clean_env(char *const *envp)
{
    struct envb e = {0};
    for (size_t i = 0; envp && envp[i]; i++) {
        if (has_key(envp[i], "LD_PRELOAD") || strncmp(envp[i], "TSRUN_", 6) == 0 ||
            inject_is_secret(envp[i]))
            continue;
        env_add(&e, envp[i], NULL);
    }
    if (!e.err && !e.v)
        env_add(&e, "TSRUN=0", NULL);
    if (e.err) {
        inject_free_env(e.v);
        return NULL;
    }
    return e.v;
}

char *inject_shell_quote(const char *s)
{
    size_t n = 3;
    for (const char *p = s; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *out = malloc(n), *q = out;
    if (!out)
        return NULL;
    *q++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            memcpy(q, "'\\''", 4);
            q += 4;
        } else {
            *q++ = *p;
        }
    }
    *q++ = '\'';
    *q = '\0';
    return out;
}

static int check_exec(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) < 0)
        return -errno;
    if (S_ISDIR(sb.st_mode) || access(path, X_OK) < 0)
        return -EACCES;
    return 0;
}

int inject_resolve(const char *cmd, char *out, size_t outlen)
{
    if (!*cmd)
        return -ENOENT;
    if (strchr(cmd, '/')) {
        if (tsr_fmt(out, outlen, "%s", cmd) < 0)
            return -ENAMETOOLONG;
        return check_exec(out);
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    int best = -ENOENT;
    for (const char *p = path;;) {
        size_t n = strcspn(p, ":");
        char dir[PATH_MAX];
        if (n == 0) {
            strcpy(dir, ".");
        } else if (n < sizeof dir) {
            memcpy(dir, p, n);
            dir[n] = '\0';
        } else {
            dir[0] = '\0';
        }
        if (dir[0] && tsr_fmt(out, outlen, "%s/%s", dir, cmd) == 0) {
            int rc = check_exec(out);
            if (rc == 0)
                return 0;
            if (rc == -EACCES)
                best = -EACCES;
        }
        if (!p[n])
            break;
        p += n + 1;
    }
    return best;
}

int inject_exec(char *const argv[], char **env)
{
    execvpe(argv[0], argv, env);
    int e = errno;
    tsr_error("%s: %s", argv[0], strerror(e));
    return (e == ENOENT || e == ENOTDIR) ? TSR_EXIT_NOT_FOUND : TSR_EXIT_CANNOT_EXEC;
}
