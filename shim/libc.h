/* The real libc entry points, bound lazily with dlsym(RTLD_NEXT, ...).
 *
 * Every call that leaves the shim for libc goes through one of these, so a
 * reader always knows which call is the application's and which is ours. */
#ifndef TSSHIM_LIBC_H
#define TSSHIM_LIBC_H

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* glibc's _FORTIFY_SOURCE entry points, with the shapes glibc exports (no
 * public header declares them; the shim defines them too). */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                       struct sockaddr *addr, socklen_t *len);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout_ms, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
                const sigset_t *mask, size_t fdslen);

int libc_connect(int fd, const struct sockaddr *addr, socklen_t len);
int libc_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
ssize_t libc_sendto(int fd, const void *buf, size_t n, int flags,
                    const struct sockaddr *addr, socklen_t len);
ssize_t libc_sendmsg(int fd, const struct msghdr *msg, int flags);
int libc_sendmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags);

int libc_execve(const char *path, char *const argv[], char *const envp[]);
int libc_execvpe(const char *file, char *const argv[], char *const envp[]);
int libc_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
ssize_t libc_read(int fd, void *buf, size_t n);
ssize_t libc_write(int fd, const void *buf, size_t n);
ssize_t libc_writev(int fd, const struct iovec *iov, int iovcnt);
ssize_t libc_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t libc_recvfrom(int fd, void *buf, size_t n, int flags,
                      struct sockaddr *addr, socklen_t *len);
ssize_t libc_recvmsg(int fd, struct msghdr *msg, int flags);
int libc_recvmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags,
                  struct timespec *timeout);
int libc_ioctl(int fd, unsigned long request, void *arg);
int libc_poll(struct pollfd *fds, nfds_t n, int timeout_ms);
int libc_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
               const sigset_t *mask);
int libc_select(int n, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *timeout);
int libc_pselect(int n, fd_set *rd, fd_set *wr, fd_set *ex,
                 const struct timespec *timeout, const sigset_t *mask);
/* glibc's fortified entry points (_FORTIFY_SOURCE); ENOSYS elsewhere. */
ssize_t libc___read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t libc___recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t libc___recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                            struct sockaddr *addr, socklen_t *len);
int libc___poll_chk(struct pollfd *fds, nfds_t n, int timeout_ms, size_t fdslen);
int libc___ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
                     const sigset_t *mask, size_t fdslen);

int libc_getaddrinfo(const char *node, const char *service,
                     const struct addrinfo *hints, struct addrinfo **res);
int libc_getnameinfo(const struct sockaddr *addr, socklen_t len, char *host,
                     socklen_t hostlen, char *serv, socklen_t servlen,
                     int flags);
struct hostent *libc_gethostbyname(const char *name);
struct hostent *libc_gethostbyname2(const char *name, int af);
int libc_gethostbyname_r(const char *name, struct hostent *ret, char *buf,
                         size_t buflen, struct hostent **result, int *h_errnop);
int libc_gethostbyname2_r(const char *name, int af, struct hostent *ret,
                          char *buf, size_t buflen, struct hostent **result,
                          int *h_errnop);
struct hostent *libc_gethostbyaddr(const void *addr, socklen_t len, int type);
int libc_gethostbyaddr_r(const void *addr, socklen_t len, int type,
                         struct hostent *ret, char *buf, size_t buflen,
                         struct hostent **result, int *h_errnop);

#endif
