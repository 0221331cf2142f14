/*
 * cfg.h -- zabd's configuration: a ZooKeeper zoo.cfg (java.util.Properties
 * syntax, the keys of QuorumPeerConfig) and the myid file in dataDir, so
 * that an existing ZooKeeper deployment's configuration works unchanged.
 *
 * Keys zabd acts on:
 *   tickTime, initLimit, syncLimit, dataDir, dataLogDir, clientPort,
 *   clientPortAddress, server.N=host:quorumPort:electionPort[:participant|
 *   :observer][;[clientAddress:]clientPort], peerType, maxClientCnxns,
 *   4lw.commands.whitelist, jute.maxbuffer, globalOutstandingLimit,
 *   minSessionTimeout, maxSessionTimeout, snapCount,
 *   autopurge.snapRetainCount, forceSync, zookeeper.extendedTypesEnabled
 *   (also spelt extendedTypesEnabled, the form that works in a real
 *   zoo.cfg), myid (zabd extension: the id, overriding dataDir/myid),
 *   sessionSecret (zabd extension), DigestAuthenticationProvider
 *   .superDigest, java.security.auth.login.config, sasl.serverconfig,
 *   superUser[.X], SASLAuthenticationProvider.superPassword (the SASL
 *   ones as ZooKeeper's system properties, with or without zookeeper.);
 *   authProvider.N naming SASLAuthenticationProvider is accepted silently;
 *   readonlymode.enabled, reconfigEnabled; TLS: secureClientPort,
 *   secureClientPortAddress, sslQuorum and the ssl.* / ssl.quorum.* keys
 *   of ZooKeeper's X509Util (see cfg_tls_t).
 * Keys ZooKeeper knows that zabd does not use (admin.*, metricsProvider.*,
 * standaloneEnabled, autopurge.purgeInterval,
 * preAllocSize, ...) are accepted with a note (a warning when the value
 * asks for a protection zabd lacks, e.g. ssl.crl=true); any other key is
 * accepted with a warning, as QuorumPeerConfig stores unknown keys as
 * system properties.  group.N / weight.N (hierarchical quorums) are
 * refused.  Bad values are refused with a message naming the file, line
 * and key.  zabd.cfg(5) is the user's reference.
 *
 * No global state; nothing aborts; the caller owns the cfg_t.
 */
#ifndef ZABD_CFG_H
#define ZABD_CFG_H

#include <stddef.h>
#include <stdint.h>

#define CFG_MAX_SERVERS 255
#define CFG_MAX_SUPER_USERS 16

/* A SASL super user: zookeeper.superUser or zookeeper.superUser.X (the
 * key without its zookeeper. prefix, and the user name). */
typedef struct cfg_super_user {
    char key[128];
    char name[256];
    int line;
} cfg_super_user_t;

typedef struct cfg_server {
    uint32_t id;        /* N of server.N (1..255 for zabd) */
    char host[256];     /* quorum host as written (name or address);
                           "[::1]" is stored as "::1" */
    uint16_t quorum_port;
    uint16_t election_port;
    int observer;       /* 1 for ":observer" */
    char client_host[256]; /* from ";[addr:]port", "" if absent (brackets
                              removed as for host) */
    uint16_t client_port;  /* 0 if absent */
} cfg_server_t;

/* Key and trust store formats (ssl.keyStore.type and friends).  After
 * cfg_load, a store that is used is PEM or PKCS12: the Java-only formats
 * are refused, and a type left out is taken from the file name as
 * ZooKeeper's KeyStoreFileType does. */
enum cfg_store_type {
    CFG_STORE_AUTO = 0, /* not given: from the file name */
    CFG_STORE_PEM,
    CFG_STORE_PKCS12,
    CFG_STORE_JKS,
    CFG_STORE_BCFKS
};

/* ssl.clientAuth: whether the accepting side asks for a certificate. */
enum cfg_client_auth { CFG_AUTH_NEED = 0, CFG_AUTH_WANT, CFG_AUTH_NONE };

/* The TLS settings of one side, under ZooKeeper's names (X509Util): the
 * client port's keys start with "ssl.", the quorum's with "ssl.quorum."
 * (either also with the zookeeper. prefix).  Files are only named here;
 * tls.c reads them at start-up. */
typedef struct cfg_tls {
    char keystore[4096];        /* keyStore.location: key + chain; "" none */
    char keystore_password[1024];      /* keyStore.password (may be "") */
    char keystore_password_path[4096]; /* keyStore.passwordPath: a file
                                          whose content wins over it */
    int keystore_type;          /* enum cfg_store_type */
    char truststore[4096];      /* trustStore.location: CA certificates */
    char truststore_password[1024];    /* for a PKCS12 trust store */
    char truststore_password_path[4096];
    int truststore_type;
    int client_auth;            /* enum cfg_client_auth; default need */
    char protocol[32];          /* protocol, "" if not given */
    char enabled_protocols[256];/* enabledProtocols, "" if not given */
    char ciphersuites[4096];    /* Java (IANA) names; "" = ZooKeeper's
                                   default list */
    int hostname_verification;  /* default 1 */
    /* After cfg_load: the TLS versions allowed, 12 (TLS 1.2) or 13, from
     * protocol and enabledProtocols; 12..13 when neither is given. */
    int version_min, version_max;
} cfg_tls_t;

typedef struct cfg {
    /* ZooKeeper keys, defaults as QuorumPeerConfig / ZooKeeperServer. */
    int tick_time;          /* ms; default 2000 (0 or negative refused) */
    int init_limit;         /* ticks; default 10 */
    int sync_limit;         /* ticks; default 5 */
    char data_dir[4096];    /* required */
    char data_log_dir[4096];/* default: data_dir */
    int client_port;        /* required unless this server's server.N line
                               has ";[addr:]port" or secureClientPort is
                               set; after cfg_load, the port to listen on
                               either way (both given: they must agree),
                               0 for a TLS-only server */
    char client_address[256]; /* default "0.0.0.0"; after cfg_load, the
                                 address of this server's line if it has
                                 one; "[::1]" stored as "::1" */
    int max_client_cnxns;   /* per client IP; default 60, 0 = no limit */
    int min_session_timeout;/* ms; default 2 * tick_time (also for -1) */
    int max_session_timeout;/* ms; default 20 * tick_time (also for -1) */
    /* The next three take Integer.decode syntax (0x hex, 0 octal), as
     * ZooKeeper reads them as system properties. */
    int jute_maxbuffer;     /* bytes; default 0xfffff (1048575) */
    int global_outstanding_limit; /* default 1000 */
    int snap_count;         /* txns between snapshots; default 100000, >= 2 */
    int snap_retain_count;  /* autopurge.snapRetainCount; default 3; lower
                               values are raised to 3 with a warning */
    int force_sync;         /* forceSync=yes|no; default 1 */
    int extended_types;     /* zookeeper.extendedTypesEnabled; default 0 */
    /* 4lw.commands.whitelist: a comma-separated list ("*" = all); default
     * "srvr" as ZooKeeper 3.8.  Stored normalised: no spaces, no empty or
     * repeated entries, "*" alone if it appears anywhere; may be "".
     * Unknown words are kept, with a warning. */
    char fourlw_whitelist[512];
    char session_secret[256]; /* default "zabd" */
    /* syncDiffMax (zabd): a learner further behind than this many
     * transactions is synchronised by SNAP instead of DIFF; default
     * 100000 (libzab's ZAB_OPT_DIFF_MAX). */
    int sync_diff_max;
    /* znode.container.checkIntervalMs: how often the leader looks for
     * empty containers and expired TTL nodes; default 10000 (ZooKeeper:
     * 60000). */
    int container_check_ms;
    /* DigestAuthenticationProvider.superDigest: "super:BASE64SHA1" ("" =
     * no super user). */
    char super_digest[256];
    /* readonlymode.enabled: a member cut off from its quorum serves reads
     * to clients that asked for read-only sessions; default 0. */
    int read_only_mode;
    /* reconfigEnabled: the reconfig operation is allowed (zabd: observers
     * only); default 0. */
    int reconfig_enabled;
    /* SASL authentication of clients (sasl.c reads the file):
     * java.security.auth.login.config, the JAAS file ("" = SASL off; a
     * JVM system property for ZooKeeper); sasl.serverconfig (ZooKeeper's
     * zookeeper.sasl.serverconfig), its section for the server, default
     * "Server"; zookeeper.superUser[.X], SASL users that are super users;
     * SASLAuthenticationProvider.superPassword, the password of the JAAS
     * user "super" ("" = the file's). */
    char jaas_path[4096];
    char sasl_section[256];
    cfg_super_user_t super_users[CFG_MAX_SUPER_USERS];
    size_t nsuper_users;
    char sasl_super_password[256];

    /* TLS (zabd.cfg(5), "TLS").  secureClientPort opens a second client
     * port speaking TLS with tls_client's settings; sslQuorum makes every
     * peer connection TLS with tls_quorum's.  After cfg_load, a side that
     * is used has a key store, and a trust store where certificates are
     * checked. */
    int secure_client_port;          /* 0 = none */
    char secure_client_address[256]; /* default "0.0.0.0" */
    int ssl_quorum;                  /* sslQuorum; default 0 */
    cfg_tls_t tls_client;            /* ssl.* */
    cfg_tls_t tls_quorum;            /* ssl.quorum.* */

    /* Ensemble. */
    size_t nservers;
    cfg_server_t servers[CFG_MAX_SERVERS];
    int observer_self;      /* peerType=observer; after cfg_load, what this
                               server's line says (a peerType that
                               disagrees is refused) */

    /* This server. */
    uint32_t myid;          /* from dataDir/myid, or the myid key */
    int standalone;         /* no server.N lines (myid then defaults to 1) */
} cfg_t;

/* Sets every default (no servers, empty dirs). */
void cfg_default(cfg_t *c);

/* Parses `path` into *c (after cfg_default), then reads dataDir/myid (if
 * the ensemble has server lines and the file no myid key) and checks the
 * whole: myid names one server line, ports in 1..65535,
 * minSessionTimeout <= maxSessionTimeout, peerType (if given) agrees with
 * the server line, ids unique, ...  Returns 0 (err then ""), or -1 with a
 * one-line message in err: "FILE:LINE: key: what is wrong (value 'v')",
 * or "FILE: ..." for what concerns the whole file; err is always
 * NUL-terminated within errlen (err may be NULL if errlen is 0).  After
 * -1, *c is partly filled and must not be used.
 * Each warning and note is passed as one line to warn(ud, line) if warn
 * is not NULL: "FILE:LINE: warning: unknown key 'foo' ignored",
 * "FILE:LINE: note: admin.enableServer is a ZooKeeper setting zabd does
 * not use", "FILE: warning: 2 participants: ...". */
int cfg_load(const char *path, cfg_t *c, char *err, size_t errlen,
             void (*warn)(void *ud, const char *line), void *ud);

/* Parses from a string (for tests); `name` is used in messages.  Reads
 * the myid file like cfg_load unless the text has a myid key. */
int cfg_parse(const char *text, const char *name, cfg_t *c, char *err,
              size_t errlen, void (*warn)(void *ud, const char *line),
              void *ud);

/* The server line of this server (NULL in standalone mode). */
const cfg_server_t *cfg_self(const cfg_t *c);
/* One server line outside a file (a reconfig request's joining servers,
 * the lines of /zookeeper/config): key "server.N", value as in zoo.cfg.
 * 0, or -1 with a message in err. */
int cfg_parse_server(const char *key, const char *value, cfg_server_t *out,
                     char *err, size_t errlen);
/* The line as ZooKeeper writes it in /zookeeper/config
 * (QuorumServer.toString): "server.N=host:q:e:participant;addr:port",
 * "0.0.0.0" for a client port without address.  Returns the length it
 * wanted, like snprintf. */
size_t cfg_server_format(const cfg_server_t *v, char *buf, size_t size);

/* Is the four-letter word `cmd` (4 lower-case letters) allowed by the
 * whitelist?  Yes if the list is "*" or holds the word; "srvr" is always
 * allowed, as in ZooKeeper (zkServer.sh status relies on it). */
int cfg_fourlw_allowed(const cfg_t *c, const char *cmd);

#endif
