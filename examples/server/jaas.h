/*
 * jaas.h -- a reader for Java's JAAS login configuration files, the file
 * ZooKeeper learns from the system property
 * java.security.auth.login.config:
 *
 *     Server {
 *         org.apache.zookeeper.server.auth.DigestLoginModule required
 *         user_bob="bob-secret"
 *         user_admin="admin-secret";
 *     };
 *
 * The syntax is that of the JDK's sun.security.provider.ConfigFile (a
 * java.io.StreamTokenizer): sections NAME { entries } ; each entry is a
 * login module class, a control flag (required, requisite, sufficient,
 * optional, in any case) and KEY=VALUE options, ended by ';'.  Words are
 * letters, digits, '_', '$', '-', '*' and '.' (not starting with a digit,
 * '.' or '-'); anything else is quoted with '"', where the escapes \n, \t,
 * \\, \" and octal \ooo work as in Java.  Comments are // and slash-star;
 * a lone '/' starts a comment to the end of the line, as in Java.
 *
 * Stricter than Java, with a message naming the file and line: a quoted
 * string may not run past the end of its line, nor a comment past the
 * end of the file; NUL characters are refused; ${property} expansion is
 * refused (zabd has no Java system properties to expand).
 *
 * Ownership: a jaas_t owns every string it holds (jaas_free).  No global
 * state.  Input is untrusted: every read is bounds-checked.
 */
#ifndef ZABD_JAAS_H
#define ZABD_JAAS_H

#include <stddef.h>

#define JAAS_FILE_MAX (1u << 20) /* a larger file is refused */

typedef struct jaas_option {
    char *key;
    char *value;
    int line;
} jaas_option_t;

/* One login module line: "module flag options... ;" */
typedef struct jaas_entry {
    char *module;
    char *flag; /* as written */
    int line;
    jaas_option_t *opts; /* in file order; a repeated key appears twice
                            (Java keeps the last) */
    size_t nopts;
} jaas_entry_t;

typedef struct jaas_section {
    char *name;
    int line;
    jaas_entry_t *entries;
    size_t nentries;
} jaas_section_t;

typedef struct jaas {
    jaas_section_t *sections;
    size_t nsections;
} jaas_t;

/* Parses text[0..len) (need not be NUL-terminated); `name` names it in
 * messages.  0, or -1 with "NAME:LINE: what is wrong" in err (always
 * NUL-terminated when errlen > 0).  On -1 *out is empty. */
int jaas_parse(const char *text, size_t len, const char *name, jaas_t *out,
               char *err, size_t errlen);

/* Reads and parses the file at path ("PATH: cannot open: ..." etc.). */
int jaas_load(const char *path, jaas_t *out, char *err, size_t errlen);

/* The section called `name` (case-sensitive, as Java), or NULL. */
const jaas_section_t *jaas_section(const jaas_t *j, const char *name);

/* Frees everything and empties *j (which may be already empty). */
void jaas_free(jaas_t *j);

#endif
