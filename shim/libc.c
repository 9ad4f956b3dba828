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

/* Declares the slot and a typed accessor real_NAME() for one libc function.
 * `name` is pasted into identifiers, so it cannot be parenthesised. */
// NOLINTBEGIN(bugprone-macro-parentheses)
#define LIBC_SYMBOL(name)                                                   \
    static _Atomic(void *) slot_##name;                                     \
    static __typeof__(&name) real_##name(void)                              \
    {                                                                       \
        return (__typeof__(&name))bind_symbol(&slot_##name, #name);         \
    }
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

/* A missing symbol cannot happen in a dynamically linked process that has
 * libc loaded; fail the call rather than crash if it ever does. */
#define CALL_OR(fail, name, ...)                                            \
    do {                                                                    \
        __typeof__(&name) fn = real_##name();                               \
        if (__builtin_expect(fn == NULL, 0)) {                              \
            errno = ENOSYS;                                                 \
            return fail;                                                    \
        }                                                                   \
        return fn(__VA_ARGS__);                                             \
    } while (0)

int libc_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    CALL_OR(-1, connect, fd, addr, len);
}

int libc_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    CALL_OR(-1, getpeername, fd, addr, len);
}

ssize_t libc_sendto(int fd, const void *buf, size_t n, int flags,
                    const struct sockaddr *addr, socklen_t len)
{
    CALL_OR(-1, sendto, fd, buf, n, flags, addr, len);
}

ssize_t libc_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    CALL_OR(-1, sendmsg, fd, msg, flags);
}

int libc_sendmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags)
{
    CALL_OR(-1, sendmmsg, fd, vec, n, flags);
}

int libc_execve(const char *path, char *const argv[], char *const envp[])
{
    CALL_OR(-1, execve, path, argv, envp);
}

int libc_execvpe(const char *file, char *const argv[], char *const envp[])
{
    CALL_OR(-1, execvpe, file, argv, envp);
}

int libc_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    CALL_OR(-1, getsockopt, fd, level, name, val, len);
}

ssize_t libc_read(int fd, void *buf, size_t n)
{
    CALL_OR(-1, read, fd, buf, n);
}

ssize_t libc_readv(int fd, const struct iovec *iov, int iovcnt)
{
    CALL_OR(-1, readv, fd, iov, iovcnt);
}

ssize_t libc_write(int fd, const void *buf, size_t n)
{
    CALL_OR(-1, write, fd, buf, n);
}

ssize_t libc_writev(int fd, const struct iovec *iov, int iovcnt)
{
    CALL_OR(-1, writev, fd, iov, iovcnt);
}

ssize_t libc_recvfrom(int fd, void *buf, size_t n, int flags,
                      struct sockaddr *addr, socklen_t *len)
{
    CALL_OR(-1, recvfrom, fd, buf, n, flags, addr, len);
}

ssize_t libc_recvmsg(int fd, struct msghdr *msg, int flags)
{
    CALL_OR(-1, recvmsg, fd, msg, flags);
}

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

int libc_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    CALL_OR(-1, poll, fds, n, timeout_ms);
}

int libc_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
               const sigset_t *mask)
{
    CALL_OR(-1, ppoll, fds, n, timeout, mask);
}

int libc_select(int n, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *timeout)
{
    CALL_OR(-1, select, n, rd, wr, ex, timeout);
}

int libc_pselect(int n, fd_set *rd, fd_set *wr, fd_set *ex,
                 const struct timespec *timeout, const sigset_t *mask)
{
    CALL_OR(-1, pselect, n, rd, wr, ex, timeout, mask);
}

ssize_t libc___read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    CALL_OR(-1, __read_chk, fd, buf, n, buflen);
}

ssize_t libc___recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    CALL_OR(-1, __recv_chk, fd, buf, n, buflen, flags);
}

ssize_t libc___recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                            struct sockaddr *addr, socklen_t *len)
{
    CALL_OR(-1, __recvfrom_chk, fd, buf, n, buflen, flags, addr, len);
}

int libc___poll_chk(struct pollfd *fds, nfds_t n, int timeout_ms, size_t fdslen)
{
    CALL_OR(-1, __poll_chk, fds, n, timeout_ms, fdslen);
}

int libc___ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
                     const sigset_t *mask, size_t fdslen)
{
    CALL_OR(-1, __ppoll_chk, fds, n, timeout, mask, fdslen);
}

int libc_getaddrinfo(const char *node, const char *service,
                     const struct addrinfo *hints, struct addrinfo **res)
{
    CALL_OR(EAI_SYSTEM, getaddrinfo, node, service, hints, res);
}

int libc_getnameinfo(const struct sockaddr *addr, socklen_t len, char *host,
                     socklen_t hostlen, char *serv, socklen_t servlen,
                     int flags)
{
    CALL_OR(EAI_SYSTEM, getnameinfo, addr, len, host, hostlen, serv, servlen,
            flags);
}

struct hostent *libc_gethostbyname(const char *name)
{
    CALL_OR(NULL, gethostbyname, name);
}

struct hostent *libc_gethostbyname2(const char *name, int af)
{
    CALL_OR(NULL, gethostbyname2, name, af);
}

int libc_gethostbyname_r(const char *name, struct hostent *ret, char *buf,
                         size_t buflen, struct hostent **result, int *h_errnop)
{
    CALL_OR(ENOSYS, gethostbyname_r, name, ret, buf, buflen, result, h_errnop);
}

int libc_gethostbyname2_r(const char *name, int af, struct hostent *ret,
                          char *buf, size_t buflen, struct hostent **result,
                          int *h_errnop)
{
    CALL_OR(ENOSYS, gethostbyname2_r, name, af, ret, buf, buflen, result,
            h_errnop);
}

struct hostent *libc_gethostbyaddr(const void *addr, socklen_t len, int type)
{
    CALL_OR(NULL, gethostbyaddr, addr, len, type);
}

int libc_gethostbyaddr_r(const void *addr, socklen_t len, int type,
                         struct hostent *ret, char *buf, size_t buflen,
                         struct hostent **result, int *h_errnop)
{
    CALL_OR(ENOSYS, gethostbyaddr_r, addr, len, type, ret, buf, buflen, result,
            h_errnop);
}
