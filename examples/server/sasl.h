/*
 * sasl.h -- SASL authentication of zabd's clients: the DIGEST-MD5
 * mechanism of RFC 2831 on the server side, with the users of a JAAS
 * file's Server section, as Apache ZooKeeper 3.8 does it.
 *
 * In ZooKeeper, ServerCnxnFactory.configureSaslLogin reads the JAAS
 * section named by zookeeper.sasl.serverconfig (default "Server");
 * SaslServerCallbackHandler turns each option user_NAME="PASSWORD" into a
 * user; ZooKeeperSaslServer runs the JDK's DigestMD5Server with protocol
 * "zookeeper" and server name "zk-sasl-md5" (the realm, and the host of
 * the digest-uri every client sends: "zookeeper/zk-sasl-md5").
 * ZooKeeperServer.processSasl feeds it each OpCode.sasl token; once it is
 * complete the connection gains the identity ("sasl", user), and ("super",
 * "") if the user is named by zookeeper.superUser or
 * zookeeper.superUser.*.  Any failure is answered AUTHFAILED and the
 * connection is closed.
 *
 * The exchange (RFC 2831 2.1):
 *   client: empty token (a non-empty first token is ignored, as the JDK
 *           does)
 *   server: realm="zk-sasl-md5",nonce="<40 base64 chars of 30 random
 *           bytes>",charset=utf-8,algorithm=md5-sess
 *   client: username="bob",realm="zk-sasl-md5",nonce="...",cnonce="...",
 *           nc=00000001,qop=auth,digest-uri="zookeeper/zk-sasl-md5",
 *           response=<32 hex>[,charset=utf-8][,authzid="..."]
 *   server: rspauth=<32 hex>        (authenticated)
 * Only qop=auth (no integrity or privacy layer), which is what
 * ZooKeeper's clients use.  The identity is the user name: like
 * ZooKeeper, which replaces the authorization id by the authenticated
 * name, a client's authzid is checked (it is part of the hash) but
 * grants nothing.
 *
 * Character sets, as the JDK with charset=utf-8 (its default): the user
 * name is read as UTF-8 and compared byte for byte with the JAAS names;
 * user name, realm and password are hashed in ISO 8859-1 when every
 * character fits, else in UTF-8 (RFC 2831 2.1.2.1).
 *
 * MD5 and the random nonce come from OpenSSL's libcrypto.  Every parser is
 * bounds-checked; hostile input ends the exchange with a reason, never
 * more.  No global state.
 */
#ifndef ZABD_SASL_H
#define ZABD_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "jaas.h"

#define SASL_SERVICE "zookeeper"       /* ZooKeeperSaslServer's protocol */
#define SASL_SERVER_NAME "zk-sasl-md5" /* its server name, and realm */
#define SASL_TOKEN_MAX 4096            /* DigestMD5Base.MAX_RESPONSE_LENGTH */
#define SASL_NAME_MAX 256              /* bytes in a user name */
#define SASL_NONCE_LEN 40              /* base64 of 30 random bytes */
#define SASL_DIGEST_MODULE "org.apache.zookeeper.server.auth.DigestLoginModule"

/* Results of sasl_digest_step. */
#define SASL_OK 0       /* authenticated: send the token, add the id */
#define SASL_CONTINUE 1 /* send the token, expect another */
#define SASL_EFAIL (-1) /* authentication failed: *why says why */

/* ---- the users -------------------------------------------------------- */

typedef struct sasl_user {
    char *name;     /* UTF-8, 1..SASL_NAME_MAX bytes, no control chars */
    char *password; /* UTF-8 */
} sasl_user_t;

/* The server's SASL configuration.  Owns its strings (sasl_server_free
 * wipes the passwords). */
typedef struct sasl_server {
    sasl_user_t *users;
    size_t nusers;
    char **supers; /* zookeeper.superUser[.X] */
    size_t nsupers;
} sasl_server_t;

/* Reads the configuration's JAAS file (c->jaas_path) into *out.  Without
 * one, *out is NULL (SASL is off) and 0 is returned, with a warning for
 * each SASL setting that then has no effect.  Refused, -1 with a one-line
 * message in err naming the file (and line): a file that cannot be read
 * or parsed, no section named c->sasl_section, a section with a login
 * module other than DigestLoginModule (Kerberos included), no user, an
 * empty, over-long or non-UTF-8 user name, a non-UTF-8 password.
 * Warnings and notes go to warn(ud, line) (may be NULL). */
int sasl_server_load(const cfg_t *c, sasl_server_t **out, char *err,
                     size_t errlen, void (*warn)(void *ud, const char *line),
                     void *ud);

/* The same from a parsed JAAS file (`file` names it in messages); the
 * super users and superPassword of the configuration are applied by
 * sasl_server_load. */
int sasl_server_from_jaas(const jaas_t *j, const char *file,
                          const char *section, sasl_server_t **out, char *err,
                          size_t errlen,
                          void (*warn)(void *ud, const char *line), void *ud);

void sasl_server_free(sasl_server_t *s);

/* The password of user name[0..len), or NULL. */
const char *sasl_server_password(const sasl_server_t *s, const char *name,
                                 size_t len);

/* Is `name` a super user (zookeeper.superUser, ZooKeeperServer
 * .isSaslSuperUser)? */
bool sasl_server_is_super(const sasl_server_t *s, const char *name);

/* ---- the digest-response ---------------------------------------------- */

typedef struct sasl_val {
    const char *s; /* NUL-terminated, unquoted and unescaped; no NUL inside */
    size_t len;
    bool set;
} sasl_val_t;

typedef struct sasl_digest_response {
    sasl_val_t username, realm, nonce, cnonce, nc, qop, digest_uri, response,
        maxbuf, charset, cipher, authzid;
    char buf[SASL_TOKEN_MAX + 16]; /* where the values live */
} sasl_digest_response_t;

/* Cuts a digest-response (RFC 2831 2.1.2: 1#( directive "=" ( token |
 * quoted-string ) ), separated by commas and linear white space) into
 * its directives.  Directive names are case-insensitive; unknown ones
 * are skipped; a known one given twice is an error.  Values are
 * unquoted (a backslash quotes the next byte).  0, or -1 with *why
 * (static text): longer than SASL_TOKEN_MAX, a directive without name or
 * '=', an unterminated quoted string, junk after one, a NUL byte. */
int sasl_digest_parse(const uint8_t *in, size_t len, sasl_digest_response_t *r,
                      const char **why);

/* The response-value of RFC 2831 2.1.2.1 for qop=auth and nc=00000001,
 * as 32 lower-case hex digits and a NUL: method "AUTHENTICATE" for the
 * client's response, "" for the server's rspauth.  Uses r's username,
 * realm ("" if absent), cnonce, digest-uri and authzid (if set), the
 * server's nonce and the password.  0, or -1 (a name or password that is
 * not UTF-8, libcrypto failure). */
int sasl_digest_response_value(const sasl_digest_response_t *r,
                               const char *nonce, const char *password,
                               const char *method, char out[33]);

/* ---- one exchange ------------------------------------------------------ */

enum {
    SASL_STEP_CHALLENGE = 0,
    SASL_STEP_RESPONSE,
    SASL_STEP_DONE,
    SASL_STEP_FAILED
};

typedef struct sasl_digest {
    int step;
    const char *service;     /* borrowed: SASL_SERVICE in zabd */
    const char *server_name; /* borrowed: SASL_SERVER_NAME in zabd */
    char nonce[SASL_NONCE_LEN + 1];
    char user[SASL_NAME_MAX + 1]; /* the user name the client gave (set
                                     once its response parsed; for logs),
                                     authenticated at SASL_STEP_DONE */
} sasl_digest_t;

/* A new exchange (the strings must outlive it). */
void sasl_digest_init(sasl_digest_t *d, const char *service,
                      const char *server_name);

/* SaslServer.evaluateResponse: takes the client's token in[0..len) and
 * writes the server's token to out (cap bytes; SASL_TOKEN_MAX is
 * enough), its length to *outlen.  The first call answers the challenge,
 * with `nonce` (printable ASCII, no '"' or '\\', 1..SASL_NONCE_LEN bytes;
 * tests pass RFC 2831's) or, if NULL, 30 random bytes in base64.  The
 * second checks the client's response against srv's users and answers
 * rspauth: SASL_OK, d->user authenticated.  SASL_CONTINUE after the
 * first call; SASL_EFAIL with a static reason in *why for every failure,
 * after which (as after SASL_OK) any further call fails. */
int sasl_digest_step(sasl_digest_t *d, const sasl_server_t *srv,
                     const uint8_t *in, size_t len, const char *nonce,
                     uint8_t *out, size_t cap, size_t *outlen,
                     const char **why);

#endif
