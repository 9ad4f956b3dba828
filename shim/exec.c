/* execve() and the exec*() calls that glibc routes to its internal execve:
 * a socket whose SOCKS5 reply is outstanding is settled before the new image
 * takes it over, because the new image has no record of the reply. Only
 * while something is pending; otherwise straight to libc. posix_spawn() and
 * SCM_RIGHTS are not covered (README: limits). */
#include <stdarg.h>
#include <unistd.h>

#include "async.h"
#include "export.h"
#include "libc.h"
#include "pending.h"

extern char **environ;

TSSHIM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    if (pending_any())
        async_before_exec();
    return libc_execve(path, argv, envp);
}

TSSHIM_EXPORT int execv(const char *path, char *const argv[])
{
    if (pending_any())
        async_before_exec();
    return libc_execve(path, argv, environ);
}

TSSHIM_EXPORT int execvp(const char *file, char *const argv[])
{
    if (pending_any())
        async_before_exec();
    return libc_execvpe(file, argv, environ);
}

TSSHIM_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    if (pending_any())
        async_before_exec();
    return libc_execvpe(file, argv, envp);
}
