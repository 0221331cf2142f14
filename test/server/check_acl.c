/*
 * check_acl.c -- the ACL module (acl.c): digest generation against known
 * values, the digest and ip validity rules of DigestAuthenticationProvider
 * and IPAuthenticationProvider, ip matching with masks, checkACL per
 * permission and scheme (world, digest, ip, sasl, super), fixupACL (dedupe, auth
 * expansion, InvalidACL cases) and the well-known lists of ZooDefs.Ids.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

START_TEST(test_digest_known)
{
    char out[128];
    int n = acl_digest("super:superpw", 13, out, sizeof out);
    ck_assert_int_eq(n, (int)strlen("super:g9oN2HttPfn8MMWJZ2r45Np/LIA="));
    ck_assert_str_eq(out, "super:g9oN2HttPfn8MMWJZ2r45Np/LIA=");
    ck_assert_int_gt(acl_digest("bob:secret", 10, out, sizeof out), 0);
    ck_assert_str_eq(out, "bob:fyVmFCwVbTJYrznoSu1koqYEYF0=");
    /* Too small a buffer, NULL input. */
    ck_assert_int_eq(acl_digest("bob:secret", 10, out, 10), -1);
    ck_assert_int_eq(acl_digest(NULL, 0, out, sizeof out), -1);
    ck_assert(acl_digest_valid("bob:fyVmFCwVbTJYrznoSu1koqYEYF0="));
}
END_TEST

START_TEST(test_digest_valid)
{
    ck_assert(acl_digest_valid("a:b"));
    ck_assert(acl_digest_valid(":b"));
    ck_assert(acl_digest_valid("a:b:")); /* Java split drops trailing "" */
    ck_assert(!acl_digest_valid("a:"));
    ck_assert(!acl_digest_valid("a"));
    ck_assert(!acl_digest_valid(""));
    ck_assert(!acl_digest_valid(":"));
    ck_assert(!acl_digest_valid("a:b:c"));
    ck_assert(!acl_digest_valid(NULL));
}
END_TEST

START_TEST(test_ip)
{
    ck_assert(acl_ip_valid("10.0.0.1"));
    ck_assert(acl_ip_valid("10.0.0.0/8"));
    ck_assert(acl_ip_valid("10.0.0.0/0"));
    ck_assert(acl_ip_valid("10.0.0.0/32"));
    ck_assert(!acl_ip_valid("10.0.0.0/33"));
    ck_assert(!acl_ip_valid("10.0.0.0/-1"));
    ck_assert(!acl_ip_valid("10.0.0.0/x"));
    ck_assert(!acl_ip_valid("10.0.0"));
    ck_assert(!acl_ip_valid("10.0.0.256"));
    ck_assert(!acl_ip_valid("10.0.0.1.2"));
    ck_assert(!acl_ip_valid("host"));
    ck_assert(acl_ip_valid("::1"));
    ck_assert(acl_ip_valid("fe80::/10"));
    ck_assert(!acl_ip_valid("fe80::/129"));

    ck_assert(acl_ip_matches("10.0.0.0/8", "10.1.2.3"));
    ck_assert(!acl_ip_matches("10.0.0.0/8", "11.1.2.3"));
    ck_assert(acl_ip_matches("192.168.1.7", "192.168.1.7"));
    ck_assert(!acl_ip_matches("192.168.1.7", "192.168.1.8"));
    ck_assert(acl_ip_matches("192.168.1.0/25", "192.168.1.127"));
    ck_assert(!acl_ip_matches("192.168.1.0/25", "192.168.1.128"));
    ck_assert(acl_ip_matches("0.0.0.0/0", "1.2.3.4"));
    ck_assert(!acl_ip_matches("10.0.0.0/8", "::1"));
    ck_assert(acl_ip_matches("fe80::/10", "fe80::1"));
    ck_assert(!acl_ip_matches("bogus", "1.2.3.4"));
}
END_TEST

START_TEST(test_check_perms)
{
    acl_list_t l;
    acl_list_init(&l);
    ck_assert_int_eq(acl_list_add(&l, ACL_READ | ACL_WRITE, "digest",
                                  "bob:fyVmFCwVbTJYrznoSu1koqYEYF0=", 0),
                     ACL_OK);
    ck_assert_int_eq(acl_list_add(&l, ACL_CREATE, "ip", "10.0.0.0/8", 0),
                     ACL_OK);
    acl_id_t bob = {"digest", "bob:fyVmFCwVbTJYrznoSu1koqYEYF0="};
    acl_id_t eve = {"digest", "eve:xyz"};
    acl_id_t ip_in = {"ip", "10.9.9.9"};
    acl_id_t ip_out = {"ip", "127.0.0.1"};
    acl_id_t sup = {"super", ""};
    acl_auth_t w_bob = {&bob, 1}, w_eve = {&eve, 1}, w_in = {&ip_in, 1},
               w_out = {&ip_out, 1}, w_sup = {&sup, 1};
    ck_assert(acl_check(&l, ACL_READ, &w_bob));
    ck_assert(acl_check(&l, ACL_WRITE, &w_bob));
    ck_assert(!acl_check(&l, ACL_CREATE, &w_bob));
    ck_assert(!acl_check(&l, ACL_DELETE, &w_bob));
    ck_assert(!acl_check(&l, ACL_ADMIN, &w_bob));
    ck_assert(!acl_check(&l, ACL_READ, &w_eve));
    ck_assert(acl_check(&l, ACL_CREATE, &w_in));
    ck_assert(!acl_check(&l, ACL_READ, &w_in));
    ck_assert(!acl_check(&l, ACL_CREATE, &w_out));
    ck_assert(!acl_check(&l, ACL_READ, NULL));
    for (int p = 1; p <= ACL_ADMIN; p <<= 1) {
        ck_assert(acl_check(&l, p, &w_sup));
    }
    acl_list_t empty;
    acl_list_init(&empty);
    ck_assert(acl_check(&empty, ACL_ADMIN, NULL)); /* empty ACL: all */

    acl_list_t open;
    acl_list_init(&open);
    ck_assert_int_eq(acl_list_open_unsafe(&open), ACL_OK);
    ck_assert_int_eq(open.n, 1);
    ck_assert_int_eq(open.v[0].perms, ACL_ALL);
    ck_assert_str_eq(open.v[0].id.scheme, "world");
    ck_assert_str_eq(open.v[0].id.id, "anyone");
    ck_assert(acl_check(&open, ACL_ADMIN, NULL));
    ck_assert_int_eq(acl_list_read_unsafe(&open), ACL_OK);
    ck_assert(acl_check(&open, ACL_READ, NULL));
    ck_assert(!acl_check(&open, ACL_WRITE, &w_bob));
    ck_assert_int_eq(acl_list_creator_all(&open), ACL_OK);
    ck_assert_str_eq(open.v[0].id.scheme, "auth");
    /* Equality and copy. */
    acl_list_t c;
    acl_list_init(&c);
    ck_assert_int_eq(acl_list_copy(&c, &l), ACL_OK);
    ck_assert(acl_list_equal(&c, &l));
    ck_assert(!acl_list_equal(&c, &open));
    acl_list_free(&c);
    acl_list_free(&open);
    acl_list_free(&l);
}
END_TEST

START_TEST(test_fixup)
{
    acl_id_t ids[2] = {{"ip", "1.2.3.4"}, {"digest", "bob:h"}};
    acl_auth_t who = {ids, 2}, ip_only = {ids, 1};
    acl_list_t in, out;
    acl_list_init(&in);
    acl_list_init(&out);
    /* Empty list. */
    ck_assert_int_eq(acl_fixup(&in, &who, &out, 0), ACL_EINVALID);
    /* auth expands to the digest identity only (ip is not authenticated). */
    ck_assert_int_eq(acl_list_creator_all(&in), ACL_OK);
    ck_assert_int_eq(acl_fixup(&in, &who, &out, 0), ACL_OK);
    ck_assert_int_eq(out.n, 1);
    ck_assert_str_eq(out.v[0].id.scheme, "digest");
    ck_assert_str_eq(out.v[0].id.id, "bob:h");
    ck_assert_int_eq(out.v[0].perms, ACL_ALL);
    ck_assert_int_eq(acl_fixup(&in, &ip_only, &out, 0), ACL_EINVALID);
    ck_assert_int_eq(acl_fixup(&in, NULL, &out, 0), ACL_EINVALID);
    acl_list_free(&in);
    /* Duplicates dropped, order kept. */
    acl_list_add(&in, ACL_READ, "world", "anyone", 0);
    acl_list_add(&in, ACL_ALL, "ip", "10.0.0.0/8", 0);
    acl_list_add(&in, ACL_READ, "world", "anyone", 0);
    ck_assert_int_eq(acl_fixup(&in, NULL, &out, 0), ACL_OK);
    ck_assert_int_eq(out.n, 2);
    ck_assert_str_eq(out.v[1].id.scheme, "ip");
    /* Bound. */
    ck_assert_int_eq(acl_fixup(&in, NULL, &out, 1), ACL_ETOOBIG);
    acl_list_free(&in);
    /* Invalid schemes and ids. */
    const char *bad[][2] = {{"world", "someone"}, {"digest", "nocolon"},
                            {"ip", "999.0.0.1"},  {"super", ""},
                            {"x509", "CN=a"},     {"", ""}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        acl_list_add(&in, ACL_ALL, bad[i][0], bad[i][1], 0);
        ck_assert_int_eq(acl_fixup(&in, &who, &out, 0), ACL_EINVALID);
        acl_list_free(&in);
    }
    acl_list_free(&out);
}
END_TEST

/* SASLAuthenticationProvider: isValid (new KerberosName(id)), matches
 * (equal, or the SASL user "super"), isAuthenticated (auth ACLs). */
START_TEST(test_sasl)
{
    ck_assert(acl_sasl_valid("bob"));
    ck_assert(acl_sasl_valid(""));
    ck_assert(acl_sasl_valid("a/b/c"));          /* no '@': any name */
    ck_assert(acl_sasl_valid("zookeeper/host@EXAMPLE.COM"));
    ck_assert(acl_sasl_valid("bob@EXAMPLE.COM"));
    ck_assert(acl_sasl_valid("@"));
    ck_assert(acl_sasl_valid("/@"));
    ck_assert(!acl_sasl_valid("a@b@c"));
    ck_assert(!acl_sasl_valid("a/b/c@R"));
    ck_assert(!acl_sasl_valid("a@R/x"));
    ck_assert(!acl_sasl_valid(NULL));
    ck_assert(acl_sasl_matches("bob", "bob"));
    ck_assert(!acl_sasl_matches("bob", "Bob"));
    ck_assert(acl_sasl_matches("super", "bob"));
    ck_assert(!acl_sasl_matches("bob", "super"));

    acl_list_t l;
    acl_list_init(&l);
    ck_assert_int_eq(acl_list_add(&l, ACL_READ, "sasl", "jaasuser", 0),
                     ACL_OK);
    acl_id_t ids[4] = {{"ip", "127.0.0.1"}, {"sasl", "jaasuser"},
                       {"sasl", "super"}, {"digest", "jaasuser:x"}};
    acl_auth_t user = {ids, 2}, sup = {ids + 2, 1}, other = {ids + 3, 1};
    ck_assert(acl_check(&l, ACL_READ, &user));
    ck_assert(!acl_check(&l, ACL_WRITE, &user));
    ck_assert(acl_check(&l, ACL_READ, &sup));
    ck_assert(!acl_check(&l, ACL_READ, &other)); /* another scheme */
    ck_assert(!acl_check(&l, ACL_READ, NULL));
    acl_list_free(&l);

    /* fixupACL: sasl ids are checked; "auth" expands to sasl ids too. */
    acl_list_t in, out;
    acl_list_init(&in);
    acl_list_init(&out);
    acl_list_add(&in, ACL_ALL, "sasl", "a@b@c", 0);
    ck_assert_int_eq(acl_fixup(&in, &user, &out, 0), ACL_EINVALID);
    acl_list_free(&in);
    acl_list_add(&in, ACL_ALL, "sasl", "svc/host@R", 0);
    ck_assert_int_eq(acl_fixup(&in, NULL, &out, 0), ACL_OK);
    ck_assert_int_eq(out.n, 1);
    acl_list_free(&in);
    ck_assert_int_eq(acl_list_creator_all(&in), ACL_OK);
    acl_auth_t all = {ids, 4};
    ck_assert_int_eq(acl_fixup(&in, &all, &out, 0), ACL_OK);
    ck_assert_int_eq(out.n, 3);
    ck_assert_str_eq(out.v[0].id.scheme, "sasl");
    ck_assert_str_eq(out.v[0].id.id, "jaasuser");
    ck_assert_str_eq(out.v[2].id.scheme, "digest");
    ck_assert_int_eq(acl_fixup(&in, &user, &out, 0), ACL_OK);
    ck_assert_int_eq(out.n, 1);
    acl_list_free(&in);
    acl_list_free(&out);
}
END_TEST

START_TEST(test_bounds)
{
    acl_list_t l;
    acl_list_init(&l);
    char *big = malloc(ACL_MAX_STR + 2);
    memset(big, 'a', ACL_MAX_STR + 1);
    big[ACL_MAX_STR + 1] = '\0';
    ck_assert_int_eq(acl_list_add(&l, 1, "digest", big, 0), ACL_ETOOBIG);
    ck_assert_int_eq(acl_list_add(&l, 1, "world", "anyone", 1), ACL_OK);
    ck_assert_int_eq(acl_list_add(&l, 1, "world", "anyone", 1), ACL_ETOOBIG);
    ck_assert_int_eq(acl_list_add(&l, 1, NULL, "x", 0), ACL_EINVALID);
    ck_assert_int_eq(l.n, 1);
    free(big);
    acl_list_free(&l);
    acl_list_free(NULL);
}
END_TEST

static Suite *acl_suite(void)
{
    Suite *s = suite_create("acl");
    TCase *tc = tcase_create("acl");
    tcase_add_test(tc, test_digest_known);
    tcase_add_test(tc, test_digest_valid);
    tcase_add_test(tc, test_ip);
    tcase_add_test(tc, test_check_perms);
    tcase_add_test(tc, test_fixup);
    tcase_add_test(tc, test_sasl);
    tcase_add_test(tc, test_bounds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(acl_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
