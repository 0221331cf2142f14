/*
 * check_net.c -- zabd's socket plumbing (examples/server/net.h): the byte
 * buffer (reserve, append, consume, lazy compaction of the consumed
 * prefix, release of a drained big buffer, refusal of impossible sizes),
 * the big-endian helpers, and non-blocking TCP over loopback: listen,
 * connect (success and refusal), accept (address text, non-blocking,
 * close-on-exec, TCP_NODELAY), reading with a cap, writing as much as the
 * kernel takes, end of stream, and writing to a closed peer without
 * SIGPIPE.
 *
 * net_listen takes a port number, not 0: a free port is found by binding a
 * socket to 127.0.0.1:0 and closing it, and the listen is retried a few
 * times in case another process took that port meanwhile.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

/* ---- helpers -------------------------------------------------------------- */

static int free_port(int family)
{
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        sl = sizeof *a;
    }
    int port = -1;
    if (bind(fd, (struct sockaddr *)&ss, sl) == 0 &&
        getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        port = family == AF_INET
                   ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                   : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    close(fd);
    return port;
}

/* A listening socket on host at a free port (*port), or -1. */
static int listen_free(const char *host, int family, int *port)
{
    char err[256];
    for (int attempt = 0; attempt < 10; attempt++) {
        int p = free_port(family);
        if (p <= 0)
            return -1;
        err[0] = '\0';
        int fd = net_listen(host, p, err, sizeof err);
        if (fd >= 0) {
            ck_assert_str_eq(err, "");
            *port = p;
            return fd;
        }
        ck_assert(strstr(err, "cannot") != NULL);
    }
    return -1;
}

static short wait_fd(int fd, short events, int ms)
{
    struct pollfd p = { fd, events, 0 };
    int n;
    do
        n = poll(&p, 1, ms);
    while (n < 0 && errno == EINTR);
    return n > 0 ? p.revents : 0;
}

static int accept_wait(int lfd, char *addr, size_t addrlen)
{
    for (int i = 0; i < 100; i++) {
        int fd = net_accept(lfd, addr, addrlen, NULL);
        if (fd >= 0)
            return fd;
        ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
        wait_fd(lfd, POLLIN, 100);
    }
    return -1;
}

static void assert_nonblocking_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    ck_assert_int_ge(fl, 0);
    ck_assert(fl & O_NONBLOCK);
    int fdfl = fcntl(fd, F_GETFD);
    ck_assert_int_ge(fdfl, 0);
    ck_assert(fdfl & FD_CLOEXEC);
}

static void assert_nodelay(int fd)
{
    int v = 0;
    socklen_t l = sizeof v;
    ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &l), 0);
    ck_assert_int_ne(v, 0);
}

/* A connected pair over loopback (client side, accepted side). */
static void pair(int *cfd, int *sfd, int *lfd_out)
{
    int port;
    int lfd = listen_free("127.0.0.1", AF_INET, &port);
    ck_assert_int_ge(lfd, 0);
    char err[256] = "";
    int c = net_connect("127.0.0.1", port, err, sizeof err);
    ck_assert_msg(c >= 0, "%s", err);
    ck_assert(wait_fd(c, POLLOUT, 5000) & POLLOUT);
    ck_assert_int_eq(net_connect_result(c), 0);
    char addr[64];
    int s = accept_wait(lfd, addr, sizeof addr);
    ck_assert_int_ge(s, 0);
    ck_assert_str_eq(addr, "127.0.0.1");
    *cfd = c;
    *sfd = s;
    if (lfd_out)
        *lfd_out = lfd;
    else
        close(lfd);
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 2654435761u + seed) >> 11);
}

/* ---- buffers ---------------------------------------------------------------- */

START_TEST(test_buf_append_consume)
{
    net_buf_t b = { 0 };
    ck_assert_uint_eq(net_buf_size(&b), 0);
    /* Appending nothing to an empty buffer allocates nothing. */
    ck_assert_int_eq(net_buf_append(&b, NULL, 0), 0);
    ck_assert_ptr_null(b.p);
    ck_assert_int_eq(net_buf_append(&b, "hello", 5), 0);
    ck_assert_uint_eq(net_buf_size(&b), 5);
    ck_assert_uint_eq(b.cap, 4096);
    ck_assert_int_eq(net_buf_append(&b, " world", 6), 0);
    ck_assert(memcmp(b.p + b.off, "hello world", 11) == 0);
    net_buf_consume(&b, 2);
    ck_assert_uint_eq(net_buf_size(&b), 9);
    ck_assert_uint_eq(b.off, 2);
    ck_assert(memcmp(b.p + b.off, "llo world", 9) == 0);
    net_buf_consume(&b, 0);
    ck_assert_uint_eq(net_buf_size(&b), 9);
    /* Draining resets to the start; a small buffer is kept. */
    net_buf_consume(&b, 9);
    ck_assert_uint_eq(net_buf_size(&b), 0);
    ck_assert_uint_eq(b.off, 0);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_ptr_nonnull(b.p);
    ck_assert_uint_eq(b.cap, 4096);
    ck_assert_int_eq(net_buf_append(&b, "x", 1), 0);
    ck_assert_uint_eq(b.off, 0);
    ck_assert_uint_eq(b.p[0], 'x');
    net_buf_free(&b);
    ck_assert_ptr_null(b.p);
    ck_assert_uint_eq(b.cap + b.len + b.off, 0);
    net_buf_free(&b); /* twice */
}
END_TEST

START_TEST(test_buf_reserve)
{
    net_buf_t b = { 0 };
    ck_assert_int_eq(net_buf_reserve(&b, 0), 0);
    ck_assert_int_eq(net_buf_reserve(&b, 100), 0);
    ck_assert_uint_eq(b.cap, 4096);
    ck_assert_uint_eq(b.len, 0);
    /* Reserving what is already free changes nothing. */
    uint8_t *p = b.p;
    ck_assert_int_eq(net_buf_reserve(&b, 4096), 0);
    ck_assert_ptr_eq(b.p, p);
    ck_assert_uint_eq(b.cap, 4096);
    /* Growth doubles until it fits; content kept. */
    ck_assert_int_eq(net_buf_append(&b, "abc", 3), 0);
    ck_assert_int_eq(net_buf_reserve(&b, 5000), 0);
    ck_assert_uint_eq(b.cap, 8192);
    ck_assert_uint_ge(b.cap - b.len, 5000);
    ck_assert(memcmp(b.p, "abc", 3) == 0);
    ck_assert_int_eq(net_buf_reserve(&b, 100000), 0);
    ck_assert_uint_eq(b.cap, 131072);
    ck_assert(memcmp(b.p, "abc", 3) == 0);
    /* The reserved room is writable (ASan / valgrind check it). */
    memset(b.p + b.len, 0xa5, b.cap - b.len);
    /* Impossible sizes are refused and leave the buffer intact. */
    ck_assert_int_eq(net_buf_reserve(&b, SIZE_MAX), -1);
    ck_assert_int_eq(net_buf_reserve(&b, SIZE_MAX / 2 + 1), -1);
    ck_assert_int_eq(net_buf_append(&b, "zz", SIZE_MAX), -1);
    ck_assert_uint_eq(net_buf_size(&b), 3);
    ck_assert(memcmp(b.p + b.off, "abc", 3) == 0);
    net_buf_free(&b);
}
END_TEST

START_TEST(test_buf_compaction)
{
    net_buf_t b = { 0 };
    uint8_t data[4096];
    pattern(data, sizeof data, 1);
    ck_assert_int_eq(net_buf_append(&b, data, sizeof data), 0);
    ck_assert_uint_eq(b.cap, 4096);
    net_buf_consume(&b, 4000);
    ck_assert_uint_eq(b.off, 4000);
    ck_assert_uint_eq(net_buf_size(&b), 96);
    /* No room at the end: the consumed prefix is reclaimed instead of
     * growing. */
    uint8_t *p = b.p;
    ck_assert_int_eq(net_buf_reserve(&b, 1000), 0);
    ck_assert_ptr_eq(b.p, p);
    ck_assert_uint_eq(b.cap, 4096);
    ck_assert_uint_eq(b.off, 0);
    ck_assert_uint_eq(b.len, 96);
    ck_assert(memcmp(b.p, data + 4000, 96) == 0);
    /* Compaction, then growth when that is not enough; content kept. */
    ck_assert_int_eq(net_buf_append(&b, data, 4000), 0); /* full again */
    ck_assert_uint_eq(b.len, 4096);
    net_buf_consume(&b, 100);
    ck_assert_int_eq(net_buf_append(&b, data, 1000), 0);
    ck_assert_uint_eq(b.off, 0);
    ck_assert_uint_eq(b.cap, 8192);
    ck_assert_uint_eq(net_buf_size(&b), 4996);
    /* The 96 old bytes and 4 new ones were consumed. */
    ck_assert(memcmp(b.p, data + 4, 3996) == 0);
    ck_assert(memcmp(b.p + 3996, data, 1000) == 0);
    /* Room at the end: no compaction (lazy). */
    net_buf_consume(&b, 10);
    ck_assert_int_eq(net_buf_append(&b, "q", 1), 0);
    ck_assert_uint_eq(b.off, 10);
    net_buf_free(&b);
}
END_TEST

START_TEST(test_buf_big_release)
{
    size_t n = (size_t)2 << 20;
    uint8_t *data = malloc(n);
    ck_assert_ptr_nonnull(data);
    pattern(data, n, 7);
    net_buf_t b = { 0 };
    ck_assert_int_eq(net_buf_append(&b, data, n), 0);
    ck_assert_uint_eq(b.cap, n);
    /* Partly drained: kept. */
    net_buf_consume(&b, n - 1);
    ck_assert_ptr_nonnull(b.p);
    ck_assert_uint_eq(net_buf_size(&b), 1);
    ck_assert_uint_eq(b.p[b.off], data[n - 1]);
    /* Drained: a buffer above 1 MiB is given back. */
    net_buf_consume(&b, 1);
    ck_assert_ptr_null(b.p);
    ck_assert_uint_eq(b.cap, 0);
    ck_assert_uint_eq(net_buf_size(&b), 0);
    /* And it works again from scratch. */
    ck_assert_int_eq(net_buf_append(&b, "again", 5), 0);
    ck_assert_uint_eq(b.cap, 4096);
    net_buf_free(&b);

    /* Exactly 1 MiB of capacity is kept. */
    ck_assert_int_eq(net_buf_append(&b, data, (size_t)1 << 20), 0);
    ck_assert_uint_eq(b.cap, (size_t)1 << 20);
    net_buf_consume(&b, (size_t)1 << 20);
    ck_assert_ptr_nonnull(b.p);
    ck_assert_uint_eq(b.cap, (size_t)1 << 20);
    net_buf_free(&b);
    free(data);
}
END_TEST

START_TEST(test_u32)
{
    uint8_t b[9];
    net_put_u32(b, 0x01020304u);
    ck_assert_uint_eq(b[0], 1);
    ck_assert_uint_eq(b[1], 2);
    ck_assert_uint_eq(b[2], 3);
    ck_assert_uint_eq(b[3], 4);
    static const uint32_t vals[] = { 0, 1, 0x7f, 0x80, 0xff, 0x100,
                                     0x7fffffffu, 0x80000000u, 0xfffffffeu,
                                     0xffffffffu, 0xdeadbeefu };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        /* At an odd (unaligned) address too. */
        net_put_u32(b + 1, vals[i]);
        ck_assert_uint_eq(net_get_u32(b + 1), vals[i]);
        net_put_u32(b + 4, vals[i]);
        ck_assert_uint_eq(net_get_u32(b + 4), vals[i]);
    }
    static const uint8_t raw[4] = { 0xfe, 0xdc, 0xba, 0x98 };
    ck_assert_uint_eq(net_get_u32(raw), 0xfedcba98u);
}
END_TEST

/* ---- sockets ------------------------------------------------------------------ */

START_TEST(test_loopback)
{
    int cfd, sfd, lfd;
    pair(&cfd, &sfd, &lfd);
    assert_nonblocking_cloexec(cfd);
    assert_nonblocking_cloexec(sfd);
    assert_nonblocking_cloexec(lfd);
    assert_nodelay(cfd);
    assert_nodelay(sfd);
    /* Nothing more to accept. */
    errno = 0;
    ck_assert_int_eq(net_accept(lfd, NULL, 0, NULL), -1);
    ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);

    /* Nothing to read yet. */
    net_buf_t in = { 0 }, out = { 0 };
    ck_assert_int_eq(net_read(sfd, &in, 1024), 0);
    ck_assert_uint_eq(net_buf_size(&in), 0);

    /* A small message each way. */
    ck_assert_int_eq(net_buf_append(&out, "ping", 4), 0);
    ck_assert_int_eq(net_write(cfd, &out), 0);
    ck_assert_uint_eq(net_buf_size(&out), 0);
    ck_assert(wait_fd(sfd, POLLIN, 5000) & POLLIN);
    /* Reads are capped at max. */
    ck_assert_int_eq(net_read(sfd, &in, 3), 3);
    ck_assert_int_eq(net_read(sfd, &in, 3), 1);
    ck_assert_uint_eq(net_buf_size(&in), 4);
    ck_assert(memcmp(in.p + in.off, "ping", 4) == 0);
    net_buf_consume(&in, 4);
    ck_assert_int_eq(net_buf_append(&out, "pong", 4), 0);
    ck_assert_int_eq(net_write(sfd, &out), 0);
    ck_assert(wait_fd(cfd, POLLIN, 5000) & POLLIN);
    ck_assert_int_eq(net_read(cfd, &in, 1024), 4);
    ck_assert(memcmp(in.p + in.off, "pong", 4) == 0);
    net_buf_consume(&in, 4);

    /* Writing an empty buffer is a no-op. */
    ck_assert_int_eq(net_write(cfd, &out), 0);

    net_buf_free(&in);
    net_buf_free(&out);
    close(cfd);
    close(sfd);
    close(lfd);
}
END_TEST

/* More than the kernel takes at once: net_write returns 0 with bytes left,
 * and everything arrives, in order, once the reader drains. */
START_TEST(test_loopback_bulk)
{
    int cfd, sfd;
    pair(&cfd, &sfd, NULL);
    size_t total = (size_t)32 << 20;
    uint8_t *data = malloc(total);
    ck_assert_ptr_nonnull(data);
    pattern(data, total, 3);
    net_buf_t out = { 0 }, in = { 0 };
    ck_assert_int_eq(net_buf_append(&out, data, total), 0);
    ck_assert_int_eq(net_write(cfd, &out), 0);
    ck_assert_uint_gt(net_buf_size(&out), 0); /* the kernel took a part */
    ck_assert_uint_lt(net_buf_size(&out), total);
    size_t got = 0, checked = 0;
    int rounds = 0;
    while (got < total) {
        ck_assert_int_lt(++rounds, 1000000);
        if (net_buf_size(&out) > 0)
            ck_assert_int_eq(net_write(cfd, &out), 0);
        long r = net_read(sfd, &in, 256u << 10);
        ck_assert_int_ge(r, 0);
        ck_assert_uint_le((size_t)r, 256u << 10);
        if (r == 0) {
            struct pollfd p[2] = { { sfd, POLLIN, 0 }, { cfd, POLLOUT, 0 } };
            poll(p, net_buf_size(&out) > 0 ? 2 : 1, 1000);
            continue;
        }
        got += (size_t)r;
        /* Check and drop what arrived (keeps `in` small). */
        size_t live = net_buf_size(&in);
        ck_assert(memcmp(in.p + in.off, data + checked, live) == 0);
        checked += live;
        net_buf_consume(&in, live);
    }
    ck_assert_uint_eq(got, total);
    ck_assert_uint_eq(checked, total);
    ck_assert_uint_eq(net_buf_size(&out), 0);
    /* The drained 32 MiB output buffer was given back. */
    ck_assert_ptr_null(out.p);
    net_buf_free(&in);
    net_buf_free(&out);
    free(data);
    close(cfd);
    close(sfd);
}
END_TEST

START_TEST(test_end_of_stream)
{
    int cfd, sfd;
    pair(&cfd, &sfd, NULL);
    net_buf_t in = { 0 }, out = { 0 };
    ck_assert_int_eq(net_buf_append(&out, "last words", 10), 0);
    ck_assert_int_eq(net_write(cfd, &out), 0);
    close(cfd);
    /* The data first, then -1 with errno 0 (end of stream). */
    size_t got = 0;
    long r;
    for (int i = 0; i < 100; i++) {
        errno = EINVAL;
        r = net_read(sfd, &in, 1024);
        if (r < 0)
            break;
        got += (size_t)r;
        if (r == 0)
            wait_fd(sfd, POLLIN, 100);
    }
    ck_assert_int_eq(r, -1);
    ck_assert_int_eq(errno, 0);
    ck_assert_uint_eq(got, 10);
    ck_assert(memcmp(in.p + in.off, "last words", 10) == 0);

    /* Writing to the closed peer fails (EPIPE or ECONNRESET) without
     * raising SIGPIPE, which would end this process. */
    int rc = 0;
    for (int i = 0; i < 200 && rc == 0; i++) {
        ck_assert_int_eq(net_buf_append(&out, "are you there?", 14), 0);
        rc = net_write(sfd, &out);
        if (rc == 0)
            wait_fd(sfd, POLLIN, 10);
    }
    ck_assert_int_eq(rc, -1);
    ck_assert(errno == EPIPE || errno == ECONNRESET);
    net_buf_free(&in);
    net_buf_free(&out);
    close(sfd);
}
END_TEST

START_TEST(test_connect_refused)
{
    char err[256] = "";
    int port = free_port(AF_INET); /* nobody listens there */
    ck_assert_int_gt(port, 0);
    int fd = net_connect("127.0.0.1", port, err, sizeof err);
    if (fd < 0) {
        /* Refused at once: a message naming the target. */
        ck_assert(strstr(err, "cannot connect to 127.0.0.1:") != NULL);
        return;
    }
    ck_assert(wait_fd(fd, POLLOUT, 5000) != 0);
    ck_assert_int_eq(net_connect_result(fd), ECONNREFUSED);
    close(fd);
}
END_TEST

START_TEST(test_listen_in_use)
{
    int port;
    int lfd = listen_free("127.0.0.1", AF_INET, &port);
    ck_assert_int_ge(lfd, 0);
    char err[256] = "", want[64];
    ck_assert_int_eq(net_listen("127.0.0.1", port, err, sizeof err), -1);
    snprintf(want, sizeof want, "cannot listen on 127.0.0.1:%d: ", port);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
    ck_assert(strstr(err, strerror(EADDRINUSE)) != NULL);
    close(lfd);
    /* Free again: it can be listened on (SO_REUSEADDR). */
    lfd = net_listen("127.0.0.1", port, err, sizeof err);
    ck_assert_int_ge(lfd, 0);
    close(lfd);
}
END_TEST

/* Every address (host NULL or ""), reached over 127.0.0.1. */
START_TEST(test_listen_any)
{
    int fd = -1, port = 0;
    char err[256];
    for (int attempt = 0; attempt < 10 && fd < 0; attempt++) {
        port = free_port(AF_INET);
        fd = net_listen(attempt % 2 ? "" : NULL, port, err, sizeof err);
    }
    ck_assert_int_ge(fd, 0);
    /* An IPv6 wildcard that refuses IPv4 (net.ipv6.bindv6only=1) cannot
     * be reached over 127.0.0.1. */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
    if (ss.ss_family == AF_INET6) {
        int v6only = 0;
        socklen_t ol = sizeof v6only;
        ck_assert_int_eq(getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
                                    &ol),
                         0);
        if (v6only) {
            close(fd);
            return;
        }
    }
    int c = net_connect("127.0.0.1", port, err, sizeof err);
    ck_assert_int_ge(c, 0);
    ck_assert(wait_fd(c, POLLOUT, 5000) & POLLOUT);
    ck_assert_int_eq(net_connect_result(c), 0);
    char addr[64];
    int s = accept_wait(fd, addr, sizeof addr);
    ck_assert_int_ge(s, 0);
    /* An IPv4 client of an IPv6 socket shows as plain IPv4. */
    ck_assert_str_eq(addr, "127.0.0.1");
    close(s);
    close(c);
    close(fd);
}
END_TEST

START_TEST(test_ipv6)
{
    int port;
    int lfd = listen_free("::1", AF_INET6, &port);
    if (lfd < 0)
        return; /* no IPv6 loopback here */
    char err[256] = "";
    int c = net_connect("::1", port, err, sizeof err);
    ck_assert_msg(c >= 0, "%s", err);
    ck_assert(wait_fd(c, POLLOUT, 5000) & POLLOUT);
    ck_assert_int_eq(net_connect_result(c), 0);
    char addr[64];
    int s = accept_wait(lfd, addr, sizeof addr);
    ck_assert_int_ge(s, 0);
    ck_assert_str_eq(addr, "::1");
    /* A too-small address buffer gives "" rather than overflowing. */
    close(s);
    close(c);
    c = net_connect("::1", port, err, sizeof err);
    ck_assert_int_ge(c, 0);
    ck_assert(wait_fd(c, POLLOUT, 5000) & POLLOUT);
    char tiny[3] = "zz";
    s = accept_wait(lfd, tiny, sizeof tiny);
    ck_assert_int_ge(s, 0);
    ck_assert_str_eq(tiny, "");
    close(s);
    close(c);
    close(lfd);
}
END_TEST

static Suite *net_suite(void)
{
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("net");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_buf_append_consume);
    tcase_add_test(tc, test_buf_reserve);
    tcase_add_test(tc, test_buf_compaction);
    tcase_add_test(tc, test_buf_big_release);
    tcase_add_test(tc, test_u32);
    tcase_add_test(tc, test_loopback);
    tcase_add_test(tc, test_loopback_bulk);
    tcase_add_test(tc, test_end_of_stream);
    tcase_add_test(tc, test_connect_refused);
    tcase_add_test(tc, test_listen_in_use);
    tcase_add_test(tc, test_listen_any);
    tcase_add_test(tc, test_ipv6);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(net_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
