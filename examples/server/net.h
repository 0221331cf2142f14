/*
 * net.h -- the small pieces of socket plumbing zabd's event loop is made
 * of: a growable byte buffer with a consumed prefix, non-blocking
 * listen/connect/accept for TCP (IPv4 and IPv6 names), and reading or
 * writing as much as the kernel takes.
 *
 * Nothing here knows about ZooKeeper or libzab.  Functions return 0 or -1
 * with errno set (or a message in err where a caller needs one); nothing
 * aborts.
 */
#ifndef ZABD_NET_H
#define ZABD_NET_H

#include <stddef.h>
#include <stdint.h>

/* Bytes p[off..len) are live; p[0..off) were consumed. */
typedef struct net_buf {
    uint8_t *p;
    size_t off, len, cap;
} net_buf_t;

void net_buf_free(net_buf_t *b);
/* Live bytes. */
size_t net_buf_size(const net_buf_t *b);
/* Makes room for `n` more bytes at the end; -1 on out of memory. */
int net_buf_reserve(net_buf_t *b, size_t n);
int net_buf_append(net_buf_t *b, const void *data, size_t n);
/* Drops `n` live bytes from the front (compacting lazily). */
void net_buf_consume(net_buf_t *b, size_t n);

/* Big-endian helpers. */
void net_put_u32(uint8_t *p, uint32_t v);
uint32_t net_get_u32(const uint8_t *p);

/* A listening, non-blocking TCP socket on host:port (host "" or NULL means
 * every address).  Returns the fd or -1 with a message in err. */
int net_listen(const char *host, int port, char *err, size_t errlen);
/* A non-blocking connect to host:port; the connection completes when the
 * fd becomes writable (check with net_connect_result).  Returns the fd or
 * -1 with a message in err. */
int net_connect(const char *host, int port, char *err, size_t errlen);
/* 0 if the pending connect succeeded, else errno of the failure. */
int net_connect_result(int fd);
/* accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC and TCP_NODELAY; the peer's
 * address as text in addr and its port in *port (either may be NULL). */
int net_accept(int lfd, char *addr, size_t addrlen, int *port);

/* Reads what is available into b (up to `max` bytes in this call).
 * Returns bytes read (> 0), 0 when nothing is available now, -1 on error
 * or end of stream (errno 0 then). */
long net_read(int fd, net_buf_t *b, size_t max);
/* Writes as much of b as the kernel takes, consuming it.  Returns 0 (all
 * or part written), -1 on error. */
int net_write(int fd, net_buf_t *b);

#endif
