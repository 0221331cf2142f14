/*
 * acl.h -- ZooKeeper access control lists for zabd: the ACL and Id records,
 * the permission bits of ZooDefs.Perms, the well-known lists of ZooDefs.Ids,
 * the permission check of ZooKeeperServer.checkACL, the ACL fix-up of
 * PrepRequestProcessor.fixupACL, and the "digest", "ip" and "sasl" schemes
 * of DigestAuthenticationProvider, IPAuthenticationProvider and
 * SASLAuthenticationProvider.
 *
 * The sasl scheme is always there, as in a ZooKeeper whose configuration
 * has authProvider.N=...SASLAuthenticationProvider: every replica checks
 * ACLs when it applies a write, so what a scheme means must not depend on
 * one server's settings.  For the same reason ZooKeeper's
 * zookeeper.letAnySaslUserDoX is not supported.
 *
 * Ownership: an acl_list_t owns its entries and their strings (free with
 * acl_list_free).  An acl_auth_t only borrows the identities it points at.
 * No function keeps a pointer to its arguments.  No global mutable state.
 */
#ifndef ZABD_ACL_H
#define ZABD_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ZooDefs.Perms. */
#define ACL_READ 1
#define ACL_WRITE 2
#define ACL_CREATE 4
#define ACL_DELETE 8
#define ACL_ADMIN 16
#define ACL_ALL 31

/* Bounds on what a client can make us store. */
#define ACL_MAX_STR 1024   /* bytes in a scheme or an id */
#define ACL_DIGEST_LEN 28  /* base64 of a SHA-1 */

/* Results of the functions that can fail. */
#define ACL_OK 0
#define ACL_ENOMEM (-1)
#define ACL_ETOOBIG (-2)    /* a string or a list exceeds its bound */
#define ACL_EINVALID (-114) /* KeeperException.InvalidACL */

/* An Id: (scheme, id), e.g. ("digest", "bob:HASH"), ("ip", "10.0.0.0/8"),
 * ("world", "anyone"), ("auth", ""), ("super", ""). */
typedef struct acl_id {
    char *scheme;
    char *id;
} acl_id_t;

typedef struct acl_entry {
    int32_t perms;
    acl_id_t id;
} acl_entry_t;

typedef struct acl_list {
    size_t n;
    acl_entry_t *v;
} acl_list_t;

/* The identities a connection has authenticated as (its authInfo): an
 * "ip" id with its address, a "digest" id per successful addauth, and a
 * "super" id when the digest matched the super digest.  Borrowed. */
typedef struct acl_auth {
    const acl_id_t *ids;
    size_t n;
} acl_auth_t;

/* An empty list (n 0, v NULL).  acl_list_free frees and empties. */
void acl_list_init(acl_list_t *l);
void acl_list_free(acl_list_t *l);
/* Append a copy of (perms, scheme, id).  ACL_OK, ACL_ENOMEM, or ACL_ETOOBIG
 * when a string is longer than ACL_MAX_STR or the list already holds
 * max_entries (0: no bound).  On failure the list is unchanged. */
int acl_list_add(acl_list_t *l, int32_t perms, const char *scheme,
                 const char *id, size_t max_entries);
/* Replace *dst (which must be initialised) by a deep copy of *src. */
int acl_list_copy(acl_list_t *dst, const acl_list_t *src);
/* Same entries in the same order. */
bool acl_list_equal(const acl_list_t *a, const acl_list_t *b);

/* ZooDefs.Ids: OPEN_ACL_UNSAFE (world:anyone ALL), READ_ACL_UNSAFE
 * (world:anyone READ), CREATOR_ALL_ACL (auth: ALL).  *l must be
 * initialised; it is replaced. */
int acl_list_open_unsafe(acl_list_t *l);
int acl_list_read_unsafe(acl_list_t *l);
int acl_list_creator_all(acl_list_t *l);

/* ZooKeeperServer.checkACL: true when an identity of *who is "super", or
 * the list is empty, or an entry granting a bit of perm matches an
 * identity (world:anyone matches everyone; digest by equality; ip by
 * address and mask; sasl by acl_sasl_matches).  who may be NULL (no
 * identities). */
bool acl_check(const acl_list_t *acl, int32_t perm, const acl_auth_t *who);

/* PrepRequestProcessor.fixupACL: drop duplicates; reject an empty list, an
 * unknown scheme, world:x for x != anyone, an invalid digest, ip or sasl
 * id, and "auth" when the caller has no authenticated (digest or sasl)
 * identity; expand
 * "auth" into one entry per authenticated identity of *who with the
 * entry's perms.  *out (initialised) is replaced on ACL_OK.  Returns
 * ACL_OK, ACL_EINVALID, ACL_ENOMEM or ACL_ETOOBIG (more than max_entries
 * after expansion, 0: no bound). */
int acl_fixup(const acl_list_t *in, const acl_auth_t *who, acl_list_t *out,
              size_t max_entries);

/* DigestAuthenticationProvider.isValid: the id splits on ':' into exactly
 * two parts, the second non-empty (Java's split drops a trailing empty). */
bool acl_digest_valid(const char *id);
/* DigestAuthenticationProvider.generateDigest: for "user:password" (len
 * bytes, need not be NUL-terminated) writes the NUL-terminated
 * "user:" base64(SHA-1("user:password")) into out.  Returns its length,
 * or -1 if cap is too small, len exceeds ACL_MAX_STR or libcrypto fails. */
int acl_digest(const char *user_password, size_t len, char *out, size_t cap);

/* SASLAuthenticationProvider.isValid: what new KerberosName(id) accepts --
 * any name without '@', or service[/host]@realm with no '/' or '@' in the
 * parts. */
bool acl_sasl_valid(const char *id);
/* SASLAuthenticationProvider.matches: the authenticated SASL name `id`
 * matches ACL id `acl_expr` when they are equal, or when id is "super"
 * (a SASL user called super matches every sasl ACL, as in ZooKeeper). */
bool acl_sasl_matches(const char *id, const char *acl_expr);

/* IPAuthenticationProvider: "a.b.c.d" or "a.b.c.d/bits" (bits 0..32), and
 * as an extension of 3.8, IPv6 addresses ("addr" or "addr/bits", 0..128). */
bool acl_ip_valid(const char *id);
/* Does address addr (no mask) fall inside acl_expr ("addr[/bits]")? */
bool acl_ip_matches(const char *acl_expr, const char *addr);

#endif
