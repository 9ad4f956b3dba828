#include "libc.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <unistd.h>

typedef int (*ioctl_fn)(int, unsigned long, void *);
typedef int (*recvmmsg_fn)(int, struct mmsghdr *, unsigned int, int, struct timespec *);

/* IMPORTANT: symbols are bound on first use, never in a constructor: a
 * constructor runs in every process the shim is preloaded into, and must not
 * do work that can fail. dlsym() is thread-safe, and two threads racing here
 * store the same pointer, so a relaxed "check, then publish" is enough. */
static __attribute__((noinline, cold)) void *bind_slow(_Atomic(void *) *slot,
                                                      const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    atomic_store_explicit(slot, fn, memory_order_release);
    return fn;
}

static inline void *bind_symbol(_Atomic(void *) *slot, const char *name)
{
    void *fn = atomic_load_explicit(slot, memory_order_acquire);
    return __builtin_expect(fn != NULL, 1) ? fn : bind_slow(slot, name);
}

/* Declares the slot of one libc function (bound on first use, below).
 * `name` is pasted into identifiers, so it cannot be parenthesised. */
// NOLINTBEGIN(bugprone-macro-parentheses)
#define LIBC_SYMBOL(name) static _Atomic(void *) slot_##name;
// NOLINTEND(bugprone-macro-parentheses)

LIBC_SYMBOL(connect)
LIBC_SYMBOL(getpeername)
LIBC_SYMBOL(sendto)
LIBC_SYMBOL(sendmsg)
LIBC_SYMBOL(sendmmsg)
LIBC_SYMBOL(execve)
LIBC_SYMBOL(execvpe)
LIBC_SYMBOL(getsockopt)
LIBC_SYMBOL(read)
LIBC_SYMBOL(readv)
LIBC_SYMBOL(write)
LIBC_SYMBOL(writev)
LIBC_SYMBOL(recvfrom)
LIBC_SYMBOL(recvmsg)
LIBC_SYMBOL(poll)
LIBC_SYMBOL(ppoll)
LIBC_SYMBOL(select)
LIBC_SYMBOL(pselect)
LIBC_SYMBOL(__read_chk)
LIBC_SYMBOL(__recv_chk)
LIBC_SYMBOL(__recvfrom_chk)
LIBC_SYMBOL(__poll_chk)
LIBC_SYMBOL(__ppoll_chk)
LIBC_SYMBOL(getaddrinfo)
LIBC_SYMBOL(getnameinfo)
LIBC_SYMBOL(gethostbyname)
LIBC_SYMBOL(gethostbyname2)
LIBC_SYMBOL(gethostbyname_r)
LIBC_SYMBOL(gethostbyname2_r)
LIBC_SYMBOL(gethostbyaddr)
LIBC_SYMBOL(gethostbyaddr_r)

/* Defines libc_NAME(PARAMS): once bound, one load and an indirect tail call,
 * with no stack frame (the hooks' fast path ends here). Binding, and the
 * error when it fails, live in a cold function of their own: a missing
 * symbol cannot happen in a dynamically linked process that has libc
 * loaded; the call fails with ENOSYS rather than crash if it ever does. */
// NOLINTBEGIN(bugprone-macro-parentheses)
#define LIBC_WRAPPER(ret, name, fail, params, args)                          \
    static __attribute__((noinline, cold)) ret unbound_##name params          \
    {                                                                        \
        __typeof__(&name) fn = (__typeof__(&name))bind_slow(&slot_##name, #name); \
        if (fn == NULL) {                                                    \
            errno = ENOSYS;                                                  \
            return fail;                                                     \
        }                                                                    \
        return fn args;                                                      \
    }                                                                        \
    ret libc_##name params                                                   \
    {                                                                        \
        __typeof__(&name) fn = (__typeof__(&name))atomic_load_explicit(      \
            &slot_##name, memory_order_acquire);                             \
        if (__builtin_expect(fn != NULL, 1))                                 \
            return fn args;                                                  \
        return unbound_##name args;                                          \
    }
// NOLINTEND(bugprone-macro-parentheses)

LIBC_WRAPPER(int, connect, -1, (int fd, const struct sockaddr *addr, socklen_t len), (fd, addr, len))

LIBC_WRAPPER(int, getpeername, -1, (int fd, struct sockaddr *addr, socklen_t *len), (fd, addr, len))

LIBC_WRAPPER(ssize_t, sendto, -1, (int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len), (fd, buf, n, flags, addr, len))

LIBC_WRAPPER(ssize_t, sendmsg, -1, (int fd, const struct msghdr *msg, int flags), (fd, msg, flags))

LIBC_WRAPPER(int, sendmmsg, -1, (int fd, struct mmsghdr *vec, unsigned int n, int flags), (fd, vec, n, flags))

LIBC_WRAPPER(int, execve, -1, (const char *path, char *const argv[], char *const envp[]), (path, argv, envp))

LIBC_WRAPPER(int, execvpe, -1, (const char *file, char *const argv[], char *const envp[]), (file, argv, envp))

LIBC_WRAPPER(int, getsockopt, -1, (int fd, int level, int name, void *val, socklen_t *len), (fd, level, name, val, len))

LIBC_WRAPPER(ssize_t, read, -1, (int fd, void *buf, size_t n), (fd, buf, n))

LIBC_WRAPPER(ssize_t, readv, -1, (int fd, const struct iovec *iov, int iovcnt), (fd, iov, iovcnt))

LIBC_WRAPPER(ssize_t, write, -1, (int fd, const void *buf, size_t n), (fd, buf, n))

LIBC_WRAPPER(ssize_t, writev, -1, (int fd, const struct iovec *iov, int iovcnt), (fd, iov, iovcnt))

LIBC_WRAPPER(ssize_t, recvfrom, -1, (int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *len), (fd, buf, n, flags, addr, len))

LIBC_WRAPPER(ssize_t, recvmsg, -1, (int fd, struct msghdr *msg, int flags), (fd, msg, flags))

/* recvmmsg's flags are int in glibc and unsigned in musl, ioctl's request
 * unsigned long and int: bind them untyped and call with the widest shape. */
static _Atomic(void *) slot_recvmmsg, slot_ioctl;

int libc_recvmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags,
                  struct timespec *timeout)
{
    recvmmsg_fn fn = (recvmmsg_fn)bind_symbol(&slot_recvmmsg, "recvmmsg");
    if (fn == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return fn(fd, vec, n, flags, timeout);
}

int libc_ioctl(int fd, unsigned long request, void *arg)
{
    ioctl_fn fn = (ioctl_fn)bind_symbol(&slot_ioctl, "ioctl");
    if (fn == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return fn(fd, request, arg);
}

LIBC_WRAPPER(int, poll, -1, (struct pollfd *fds, nfds_t n, int timeout_ms), (fds, n, timeout_ms))

LIBC_WRAPPER(int, ppoll, -1, (struct pollfd *fds, nfds_t n, const struct timespec *timeout, const sigset_t *mask), (fds, n, timeout, mask))

LIBC_WRAPPER(int, select, -1, (int n, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *timeout), (n, rd, wr, ex, timeout))

LIBC_WRAPPER(int, pselect, -1, (int n, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *timeout, const sigset_t *mask), (n, rd, wr, ex, timeout, mask))

LIBC_WRAPPER(ssize_t, __read_chk, -1, (int fd, void *buf, size_t n, size_t buflen), (fd, buf, n, buflen))

LIBC_WRAPPER(ssize_t, __recv_chk, -1, (int fd, void *buf, size_t n, size_t buflen, int flags), (fd, buf, n, buflen, flags))

LIBC_WRAPPER(ssize_t, __recvfrom_chk, -1, (int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr, socklen_t *len), (fd, buf, n, buflen, flags, addr, len))

LIBC_WRAPPER(int, __poll_chk, -1, (struct pollfd *fds, nfds_t n, int timeout_ms, size_t fdslen), (fds, n, timeout_ms, fdslen))

LIBC_WRAPPER(int, __ppoll_chk, -1, (struct pollfd *fds, nfds_t n, const struct timespec *timeout, const sigset_t *mask, size_t fdslen), (fds, n, timeout, mask, fdslen))

LIBC_WRAPPER(int, getaddrinfo, EAI_SYSTEM, (const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res), (node, service, hints, res))

LIBC_WRAPPER(int, getnameinfo, EAI_SYSTEM, (const struct sockaddr *addr, socklen_t len, char *host, socklen_t hostlen, char *serv, socklen_t servlen, int flags), (addr, len, host, hostlen, serv, servlen, flags))

LIBC_WRAPPER(struct hostent *, gethostbyname, NULL, (const char *name), (name))

LIBC_WRAPPER(struct hostent *, gethostbyname2, NULL, (const char *name, int af), (name, af))

LIBC_WRAPPER(int, gethostbyname_r, ENOSYS, (const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result, int *h_errnop), (name, ret, buf, buflen, result, h_errnop))

LIBC_WRAPPER(int, gethostbyname2_r, ENOSYS, (const char *name, int af, struct hostent *ret, char *buf, size_t buflen, struct hostent **result, int *h_errnop), (name, af, ret, buf, buflen, result, h_errnop))

LIBC_WRAPPER(struct hostent *, gethostbyaddr, NULL, (const void *addr, socklen_t len, int type), (addr, len, type))

LIBC_WRAPPER(int, gethostbyaddr_r, ENOSYS, (const void *addr, socklen_t len, int type, struct hostent *ret, char *buf, size_t buflen, struct hostent **result, int *h_errnop), (addr, len, type, ret, buf, buflen, result, h_errnop))
