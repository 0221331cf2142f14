/*
 * check_jaas.c -- the JAAS login configuration reader (jaas.c): the file
 * Kazoo's harness and ZooKeeper's documentation write, the tokens of the
 * JDK's ConfigFile (words, quoted strings and their escapes, comments,
 * control flags), every error with its line, hostile input (NUL bytes,
 * unterminated strings and comments, truncations of a valid file), and
 * jaas_load on real files.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jaas.h"

static char err[512];

static int parse(const char *text, jaas_t *j)
{
    memset(err, 'x', sizeof err);
    return jaas_parse(text, strlen(text), "j.conf", j, err, sizeof err);
}

#define OK(text, j)                                                            \
    do {                                                                       \
        int rc_ = parse(text, j);                                              \
        ck_assert_msg(rc_ == 0, "unexpected error: %s", err);                  \
        ck_assert_str_eq(err, "");                                             \
    } while (0)

#define BAD(text, want)                                                        \
    do {                                                                       \
        jaas_t j_;                                                             \
        ck_assert_int_eq(parse(text, &j_), -1);                                \
        ck_assert_msg(strstr(err, want) != NULL, "got '%s', want '%s'", err,   \
                      want);                                                   \
        ck_assert_uint_eq(j_.nsections, 0);                                    \
        ck_assert_ptr_null(j_.sections);                                       \
    } while (0)

static const char kazoo_digest[] =
    "\nServer {\n"
    "    org.apache.zookeeper.server.auth.DigestLoginModule required\n"
    "    user_super=\"super_secret\"\n    user_jaasuser=\"jaas_password\";\n};";

START_TEST(test_kazoo_file)
{
    jaas_t j;
    OK(kazoo_digest, &j);
    ck_assert_uint_eq(j.nsections, 1);
    const jaas_section_t *s = jaas_section(&j, "Server");
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->line, 2);
    ck_assert_uint_eq(s->nentries, 1);
    const jaas_entry_t *e = &s->entries[0];
    ck_assert_str_eq(e->module,
                     "org.apache.zookeeper.server.auth.DigestLoginModule");
    ck_assert_str_eq(e->flag, "required");
    ck_assert_int_eq(e->line, 3);
    ck_assert_uint_eq(e->nopts, 2);
    ck_assert_str_eq(e->opts[0].key, "user_super");
    ck_assert_str_eq(e->opts[0].value, "super_secret");
    ck_assert_int_eq(e->opts[0].line, 4);
    ck_assert_str_eq(e->opts[1].key, "user_jaasuser");
    ck_assert_str_eq(e->opts[1].value, "jaas_password");
    ck_assert_int_eq(e->opts[1].line, 5);
    ck_assert_ptr_null(jaas_section(&j, "server")); /* case-sensitive */
    ck_assert_ptr_null(jaas_section(&j, "Client"));
    ck_assert_ptr_null(jaas_section(&j, NULL));
    jaas_free(&j);
    ck_assert_uint_eq(j.nsections, 0);
    jaas_free(&j); /* twice is harmless */
    jaas_free(NULL);
}
END_TEST

/* ZooKeeper's Administrator's Guide style: several sections, comments,
 * several entries, flags in any case, an empty section, unquoted words. */
START_TEST(test_several_sections)
{
    jaas_t j;
    OK("// the server\nServer {\n"
       "  org.apache.zookeeper.server.auth.DigestLoginModule REQUIRED\n"
       "  user_bob=\"bob pw\" /* a comment\n spanning lines */\n"
       "  user_$x-y.z*=word_value-1.2;\n  other.Module Optional debug=true;\n"
       "};\n"
       "Client{org.apache.zookeeper.server.auth.DigestLoginModule sufficient"
       " username=\"bob\" password=\"bob pw\";};\n\"Quoted Name\" { };\n"
       "Empty{};   // trailing comment without a newline",
       &j);
    ck_assert_uint_eq(j.nsections, 4);
    const jaas_section_t *s = jaas_section(&j, "Server");
    ck_assert_uint_eq(s->nentries, 2);
    ck_assert_str_eq(s->entries[0].flag, "REQUIRED");
    ck_assert_str_eq(s->entries[0].opts[0].value, "bob pw");
    ck_assert_str_eq(s->entries[0].opts[1].key, "user_$x-y.z*");
    ck_assert_str_eq(s->entries[0].opts[1].value, "word_value-1.2");
    ck_assert_int_eq(s->entries[0].opts[1].line, 6);
    ck_assert_str_eq(s->entries[1].module, "other.Module");
    ck_assert_int_eq(s->entries[1].line, 7);
    ck_assert_str_eq(jaas_section(&j, "Client")->entries[0].opts[1].value,
                     "bob pw");
    ck_assert_int_eq(jaas_section(&j, "Client")->line, 9);
    ck_assert_uint_eq(jaas_section(&j, "Quoted Name")->nentries, 0);
    ck_assert_uint_eq(jaas_section(&j, "Empty")->nentries, 0);
    jaas_free(&j);
    /* An empty file, and one of blanks and comments only. */
    OK("", &j);
    ck_assert_uint_eq(j.nsections, 0);
    OK("  \n\t// nothing\n/* at all */\r\n", &j);
    ck_assert_uint_eq(j.nsections, 0);
}
END_TEST

START_TEST(test_strings)
{
    jaas_t j;
    OK("S { M required a=\"q\\\"uote\" b=\"back\\\\slash\" c=\"\\t\\n\\r\\b"
       "\\f\\a\\v\" d=\"\\101\\60\\7\\400\" e=\"\\z\" f=\"\" "
       "\"g h\"=\"caf\xc3\xa9\" i=\"/not/a/comment\"; };",
       &j);
    const jaas_entry_t *e = &j.sections[0].entries[0];
    ck_assert_uint_eq(e->nopts, 8);
    ck_assert_str_eq(e->opts[0].value, "q\"uote");
    ck_assert_str_eq(e->opts[1].value, "back\\slash");
    ck_assert_str_eq(e->opts[2].value, "\t\n\r\b\f\a\v");
    /* \101 = 'A', \60 = '0', \7 = BEL, \400 = ' ' then '0' (4 > 3: two
     * digits at most), as StreamTokenizer. */
    ck_assert_str_eq(e->opts[3].value, "A0\a 0");
    ck_assert_str_eq(e->opts[4].value, "z");
    ck_assert_str_eq(e->opts[5].value, "");
    ck_assert_str_eq(e->opts[6].key, "g h");
    ck_assert_str_eq(e->opts[6].value, "caf\xc3\xa9");
    ck_assert_str_eq(e->opts[7].value, "/not/a/comment");
    jaas_free(&j);
    /* A repeated key is kept twice (Java's map keeps the last). */
    OK("S { M required a=\"1\" a=\"2\"; };", &j);
    ck_assert_uint_eq(j.sections[0].entries[0].nopts, 2);
    jaas_free(&j);
    /* A lone '/' starts a comment, as in Java. */
    OK("S { M required a=b / c=d\n; };", &j);
    ck_assert_uint_eq(j.sections[0].entries[0].nopts, 1);
    jaas_free(&j);
    /* Line ends: LF, CR LF and CR each count one line. */
    OK("\r\n\r\rS\n{\rM required\r\n a=b; };", &j);
    ck_assert_int_eq(j.sections[0].line, 4);
    ck_assert_int_eq(j.sections[0].entries[0].line, 6);
    jaas_free(&j);
}
END_TEST

START_TEST(test_errors)
{
    BAD("Server {\n M required a=\"x;\n};", "j.conf:2: string not closed");
    BAD("Server {\n M required a=\"x\\", "j.conf:2: string not closed");
    BAD("Server {\n M required\n a=\"x\\\n\"; };",
        "j.conf:3: string not closed");
    BAD("Server {\n M required a=b; };\n/* open", "j.conf:3: comment not "
                                                  "closed by */");
    BAD("Server {\n M mandatory a=b; };",
        "j.conf:2: invalid control flag 'mandatory'");
    BAD("Server {\n M ; };", "j.conf:2: expected a control flag");
    BAD("Server {\n M required a; };",
        "j.conf:2: expected '=' after option 'a', found ';'");
    BAD("Server {\n M required a=; };",
        "j.conf:2: expected the value of option 'a', found ';'");
    BAD("Server {\n M required a=1; };",
        "j.conf:2: '1' starts like a number: quote it");
    BAD("Server {\n M required a=-5x; };",
        "j.conf:2: '-5x' starts like a number");
    BAD("Server {\n M required a=.5; };", "'.5' starts like a number");
    BAD("Server {\n M required a=-; };", "j.conf:2: unexpected character '-'");
    BAD("Server {\n M required a=b\n", "j.conf:3: expected an option "
                                       "(KEY=VALUE) or ';', found the end "
                                       "of the file");
    BAD("Server {\n M required a=b;\n", "expected a login module class "
                                        "name or '}', found the end");
    BAD("Server {\n M required a=b;\n}", "j.conf:3: expected ';' after '}'");
    BAD("Server \n M required a=b; };", "j.conf:2: expected '{' after the "
                                        "section name, found 'M'");
    BAD("{ M required a=b; };", "j.conf:1: expected a section name, found '{'");
    BAD("# comment\nServer { };", "j.conf:1: unexpected character '#'");
    BAD("Server { M required a='b'; };", "unexpected character '''");
    BAD("Server { M required a=b, c=d; };", "unexpected character ','");
    BAD("A { };\nB { };\nA { };", "j.conf:3: section 'A' is defined twice "
                                  "(first on line 1)");
    BAD("S { M required a=\"${user.home}\"; };",
        "j.conf:1: option 'a': ${...} property expansion is not supported");
    BAD("S { M required a=\"\\0\"; };", "NUL character in a string");
    BAD("S { M required a=\"x\\\"; };", "string not closed");
    /* A message quotes at most 40 bytes of a token. */
    BAD("S { M required aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaa; };",
        "after option 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...', found");
}
END_TEST

/* Bytes no JAAS file has: NUL anywhere, control and high bytes. */
START_TEST(test_hostile_bytes)
{
    jaas_t j;
    const char text[] = "S { M required a=\"b\"; };";
    char buf[64];
    memcpy(buf, text, sizeof text);
    buf[3] = '\0';
    ck_assert_int_eq(
        jaas_parse(buf, sizeof text - 1, "j.conf", &j, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "NUL byte"));
    memcpy(buf, text, sizeof text);
    buf[18] = '\0'; /* inside the quoted value */
    ck_assert_int_eq(
        jaas_parse(buf, sizeof text - 1, "j.conf", &j, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "NUL character"));
    BAD("S { M required a=b \x7f; };", "unexpected byte 0x7f");
    /* High bytes are word characters (UTF-8 names work unquoted). */
    OK("S { M required user_j\xc3\xbcrgen=\"x\"; };", &j);
    ck_assert_str_eq(j.sections[0].entries[0].opts[0].key,
                     "user_j\xc3\xbcrgen");
    jaas_free(&j);
    /* Not NUL-terminated input is read only up to its length. */
    memcpy(buf, "S { M required a=b; };XXXX", 26);
    OK("", &j);
    ck_assert_int_eq(jaas_parse(buf, 22, "j.conf", &j, err, sizeof err), 0);
    jaas_free(&j);
    /* No error buffer. */
    ck_assert_int_eq(jaas_parse("{", 1, "j.conf", &j, NULL, 0), -1);
    ck_assert_int_eq(jaas_parse(NULL, 0, NULL, &j, err, sizeof err), 0);
    ck_assert_int_eq(jaas_parse(NULL, 3, NULL, &j, err, sizeof err), -1);
    /* A tiny error buffer stays terminated. */
    char tiny[8];
    ck_assert_int_eq(jaas_parse("{", 1, "j.conf", &j, tiny, sizeof tiny), -1);
    ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);
}
END_TEST

/* Every prefix of a valid file parses or fails cleanly (ASan and
 * valgrind watch the reads). */
START_TEST(test_truncations)
{
    static const char text[] =
        "Server {\n"
        "  org.apache.zookeeper.server.auth.DigestLoginModule required\n"
        "  user_a=\"p\\\\w\\\"d\" /* c */ user_b=word; // x\n"
        "};\nClient { M optional k=v; };\n";
    size_t n = sizeof text - 1;
    for (size_t len = 0; len <= n; len++) {
        char *copy = malloc(len ? len : 1);
        memcpy(copy, text, len);
        jaas_t j;
        int rc = jaas_parse(copy, len, "j.conf", &j, err, sizeof err);
        ck_assert(rc == 0 || rc == -1);
        if (rc == 0) {
            jaas_free(&j);
        } else {
            ck_assert_ptr_nonnull(strstr(err, "j.conf:"));
        }
        free(copy);
    }
}
END_TEST

START_TEST(test_load)
{
    char dir[] = "/tmp/check_jaas.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/jaas.conf", dir);
    jaas_t j;
    ck_assert_int_eq(jaas_load(path, &j, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "jaas.conf: cannot open: No such file"));
    FILE *f = fopen(path, "w");
    fputs(kazoo_digest, f);
    fclose(f);
    ck_assert_int_eq(jaas_load(path, &j, err, sizeof err), 0);
    ck_assert_str_eq(jaas_section(&j, "Server")->entries[0].opts[1].value,
                     "jaas_password");
    jaas_free(&j);
    /* Errors name the file as given. */
    f = fopen(path, "w");
    fputs("Server {\n oops\n", f);
    fclose(f);
    ck_assert_int_eq(jaas_load(path, &j, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, ":3: expected a control flag"));
    /* A directory cannot be read. */
    ck_assert_int_eq(jaas_load(dir, &j, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, dir));
    /* Larger than JAAS_FILE_MAX: refused, whatever it holds. */
    f = fopen(path, "w");
    for (size_t i = 0; i <= JAAS_FILE_MAX / 64; i++) {
        fputs("// a comment line, some sixty bytes long ..................."
              ".....\n",
              f);
    }
    fclose(f);
    ck_assert_int_eq(jaas_load(path, &j, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "larger than"));
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *jaas_suite(void)
{
    Suite *s = suite_create("jaas");
    TCase *tc = tcase_create("jaas");
    tcase_add_test(tc, test_kazoo_file);
    tcase_add_test(tc, test_several_sections);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_hostile_bytes);
    tcase_add_test(tc, test_truncations);
    tcase_add_test(tc, test_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(jaas_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
