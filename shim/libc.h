/* The real libc entry points, bound lazily with dlsym(RTLD_NEXT, ...).
 *
 * Every call that leaves the shim for libc goes through one of these, so a
 * reader always knows which call is the application's and which is ours. */
#ifndef TSSHIM_LIBC_H
#define TSSHIM_LIBC_H

#include <netdb.h>
#include <sys/socket.h>

int libc_connect(int fd, const struct sockaddr *addr, socklen_t len);
int libc_getpeername(int fd, struct sockaddr *addr, socklen_t *len);
ssize_t libc_sendto(int fd, const void *buf, size_t n, int flags,
                    const struct sockaddr *addr, socklen_t len);
ssize_t libc_sendmsg(int fd, const struct msghdr *msg, int flags);
int libc_sendmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags);

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
