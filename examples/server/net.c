/*
 * net.c -- buffers and non-blocking TCP sockets for zabd (see net.h).
 */
#define _GNU_SOURCE /* accept4 */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

void net_buf_free(net_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

size_t net_buf_size(const net_buf_t *b)
{
    return b->len - b->off;
}

int net_buf_reserve(net_buf_t *b, size_t n)
{
    if (b->cap - b->len >= n)
        return 0;
    /* Reclaim the consumed prefix before growing. */
    if (b->off > 0) {
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len >= n)
            return 0;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int net_buf_append(net_buf_t *b, const void *data, size_t n)
{
    if (net_buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

void net_buf_consume(net_buf_t *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len) {
        b->off = b->len = 0;
        /* Give back big buffers once drained: one huge snapshot must not
         * pin its memory for the life of the connection. */
        if (b->cap > (1u << 20)) {
            free(b->p);
            b->p = NULL;
            b->cap = 0;
        }
    }
}

void net_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

uint32_t net_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int resolve(const char *host, int port, int passive,
                   struct addrinfo **res, char *err, size_t errlen)
{
    struct addrinfo hints;
    char portstr[16];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    snprintf(portstr, sizeof portstr, "%d", port);
    const char *h = (host && *host) ? host : NULL;
    int rc = getaddrinfo(h, portstr, &hints, res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s:%d: %s", h ? h : "*", port,
                 gai_strerror(rc));
        return -1;
    }
    return 0;
}

int net_listen(const char *host, int port, char *err, size_t errlen)
{
    struct addrinfo *res, *ai;
    int fd = -1, saved = 0;
    if (resolve(host, port, 1, &res, err, errlen) != 0)
        return -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, 512) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "cannot listen on %s:%d: %s",
                 (host && *host) ? host : "*", port, strerror(saved));
    return fd;
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int net_connect(const char *host, int port, char *err, size_t errlen)
{
    struct addrinfo *res, *ai;
    int fd = -1, saved = 0;
    if (resolve(host, port, 0, &res, err, errlen) != 0)
        return -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        set_nodelay(fd);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
            errno == EINPROGRESS)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "cannot connect to %s:%d: %s",
                 host ? host : "*", port, strerror(saved));
    return fd;
}

int net_connect_result(int fd)
{
    int e = 0;
    socklen_t len = sizeof e;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
        return errno;
    return e;
}

int net_accept(int lfd, char *addr, size_t addrlen, int *port)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return -1;
    set_nodelay(fd);
    if (port)
        *port = ss.ss_family == AF_INET
                    ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                    : ss.ss_family == AF_INET6
                          ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                          : 0;
    if (addr && addrlen) {
        addr[0] = '\0';
        if (ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr,
                      (socklen_t)addrlen);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            /* A v4-mapped address is shown (and matched by ip ACLs) as
             * plain IPv4, as Java does. */
            if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
                inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], addr,
                          (socklen_t)addrlen);
            else
                inet_ntop(AF_INET6, &s6->sin6_addr, addr,
                          (socklen_t)addrlen);
        }
    }
    return fd;
}

long net_read(int fd, net_buf_t *b, size_t max)
{
    if (net_buf_reserve(b, max) != 0) {
        errno = ENOMEM;
        return -1;
    }
    ssize_t n = read(fd, b->p + b->len, max);
    if (n > 0) {
        b->len += (size_t)n;
        return (long)n;
    }
    if (n == 0) {
        errno = 0;
        return -1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return 0;
    return -1;
}

int net_write(int fd, net_buf_t *b)
{
    while (net_buf_size(b) > 0) {
        ssize_t n = send(fd, b->p + b->off, net_buf_size(b), MSG_NOSIGNAL);
        if (n > 0) {
            net_buf_consume(b, (size_t)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        return -1;
    }
    return 0;
}
