/*
 * tls.h -- TLS on zabd's sockets, with OpenSSL: one context per side (the
 * secure client port, the quorum) built from the zoo.cfg keys of
 * ZooKeeper's X509Util, and one handle per connection that reads into and
 * writes from the same net_buf_t as the plaintext path (net.h), on the
 * same non-blocking socket in the same epoll loop.
 *
 * A connection needs no handshake call of its own: tls_read and tls_write
 * drive the handshake until it is done, then move application bytes.
 * Either may find that OpenSSL needs the other direction of the socket
 * (a read that must first write, a write that must first read);
 * tls_events turns what the caller wants into what to wait for, so a
 * connection never spins on an event it cannot use.  No decrypted byte is
 * ever left inside OpenSSL when tls_read returns (it drains the record it
 * opened), and no raw byte is read ahead of the record being decrypted,
 * so everything not yet returned is still in the kernel, where epoll sees
 * it.
 *
 * Handshake failures are logged through the context's log function with
 * the peer's address and OpenSSL's reason, and counted.  Nothing here
 * aborts or raises a signal (zabd ignores SIGPIPE; so must a test).
 */
#ifndef ZABD_TLS_H
#define ZABD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "net.h"

typedef struct tls_ctx tls_ctx_t;
typedef struct tls_conn tls_conn_t;

/* One log line, without a newline. */
typedef void (*tls_log_fn)(void *ud, const char *line);

/* The context of one side from its settings (after cfg_load: stores used
 * are PEM or PKCS12, versions resolved).  `prefix` ("ssl." or
 * "ssl.quorum.") names the keys in messages; `what` names the side in
 * log lines ("client port", "quorum port").  Reads the key store (and its
 * password file), checks the key against the first certificate, reads
 * the trust store, maps the cipher suites from Java's names to OpenSSL's.
 * Returns 0, or -1 with one line in err naming the key and the file (and
 * *out NULL).  `log` receives warnings now (a cipher suite OpenSSL does
 * not know, an expired certificate) and handshake failures later. */
int tls_ctx_new(const cfg_tls_t *cfg, const char *prefix, const char *what,
                tls_log_fn log, void *ud, tls_ctx_t **out, char *err,
                size_t errlen);
void tls_ctx_free(tls_ctx_t *ctx);
/* How many handshakes failed on this context so far. */
uint64_t tls_ctx_failures(const tls_ctx_t *ctx);

/* A TLS connection on the connected (or connecting) non-blocking socket
 * fd, which stays the caller's to close (after tls_conn_free).  `accept`:
 * this end is the TLS server (asks for a certificate as clientAuth says);
 * else the client, which always checks the other end's certificate and,
 * with hostnameVerification, that it names `host` (a name or an address;
 * NULL: no name check).  `peer` names the other end in log lines
 * ("10.0.0.2:2888").  NULL when out of memory. */
tls_conn_t *tls_conn_new(tls_ctx_t *ctx, int fd, bool accept,
                         const char *peer, const char *host);
/* Sends close_notify if the connection is healthy (once, without
 * waiting), then frees the handle.  NULL is fine. */
void tls_conn_free(tls_conn_t *t);

/* As net_read: decrypted bytes into b, at least up to `max` when
 * available (more only to drain the record being read, at most 16 KB).
 * Returns the count (> 0), 0 when nothing is available now (or the
 * handshake is still going), -1 on an error or the end of the stream
 * (errno 0 then, EPROTO for a TLS failure).  An error found after bytes
 * were returned is reported by the next call. */
long tls_read(tls_conn_t *t, net_buf_t *b, size_t max);
/* As net_write: encrypts and sends as much of b as the socket takes,
 * consuming it (first driving the handshake).  0, or -1 on an error. */
int tls_write(tls_conn_t *t, net_buf_t *b);
/* The epoll events to register when the caller wants `want` (EPOLLIN to
 * read, EPOLLOUT to write; other bits pass through): a direction blocked
 * on the other one waits for that one instead; a failed connection asks
 * for EPOLLOUT so that the next call reports the error at once. */
uint32_t tls_events(const tls_conn_t *t, uint32_t want);

/* Is the handshake done? */
bool tls_conn_established(const tls_conn_t *t);
/* After the handshake, on the accepting side: does the other end's
 * certificate name `host` (DNS name or IP address in its subject
 * alternative names, else its common name)?  True without
 * hostnameVerification, and without a certificate when clientAuth is not
 * need (nothing to check: the configuration chose so). */
bool tls_conn_peer_matches(const tls_conn_t *t, const char *host);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384, certificate /CN=zk2" for log lines. */
void tls_conn_describe(const tls_conn_t *t, char *buf, size_t len);

#endif
