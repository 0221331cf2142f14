/*
 * jaas.c -- the JAAS login configuration reader (see jaas.h).
 *
 * Two layers: a tokenizer that behaves like the java.io.StreamTokenizer
 * the JDK's ConfigFile sets up (quote char '"', word chars extended by
 * '$', '_', '-', '*', "//" and slash-star comments, numbers parsed and
 * therefore not words), and a recursive-descent parser following
 * ConfigFile.Spi.parseLoginEntry.  Every byte read is checked against
 * the end of the input; every token is at most as long as the input.
 */
#include "jaas.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__GNUC__) || defined(__clang__)
#define JAAS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define JAAS_PRINTF(f, a)
#endif

#define SHOW_MAX 40

enum tok_kind { TK_EOF, TK_WORD, TK_STRING, TK_PUNCT };

typedef struct lexer {
    const char *p, *end;
    const char *name;
    int line;
    char *err;
    size_t errlen;
    /* the current token */
    int kind;
    char punct;
    char *text; /* WORD/STRING value, NUL-terminated; room for the input */
    size_t tlen;
    int tline;
} lexer_t;

JAAS_PRINTF(3, 4)
static int fail(lexer_t *lx, int line, const char *fmt, ...)
{
    if (lx->err == NULL || lx->errlen == 0) {
        return -1;
    }
    int n = snprintf(lx->err, lx->errlen, "%s:%d: ", lx->name, line);
    if (n >= 0 && (size_t)n < lx->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(lx->err + n, lx->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* s[0..n) for a message: at most SHOW_MAX bytes, control bytes as '?'. */
static const char *shown(const char *s, size_t n, char buf[SHOW_MAX + 4])
{
    size_t m = n <= SHOW_MAX ? n : SHOW_MAX;
    for (size_t i = 0; i < m; i++) {
        unsigned char ch = (unsigned char)s[i];
        buf[i] = ch < ' ' || ch == 0x7f ? '?' : (char)ch;
    }
    memcpy(buf + m, n > SHOW_MAX ? "..." : "", n > SHOW_MAX ? 4 : 1);
    return buf;
}

/* What the current token is, for "expected X, found Y". */
static const char *describe(const lexer_t *lx, char buf[SHOW_MAX + 16])
{
    char sb[SHOW_MAX + 4];
    switch (lx->kind) {
    case TK_EOF:
        return "the end of the file";
    case TK_PUNCT:
        snprintf(buf, SHOW_MAX + 16, "'%c'", lx->punct);
        return buf;
    case TK_WORD:
        snprintf(buf, SHOW_MAX + 16, "'%s'", shown(lx->text, lx->tlen, sb));
        return buf;
    default:
        snprintf(buf, SHOW_MAX + 16, "\"%s\"", shown(lx->text, lx->tlen, sb));
        return buf;
    }
}

/* ---- tokenizer --------------------------------------------------------- */

static bool is_word_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '$' || c == '*' || c >= 0x80;
}

static bool is_word_char(unsigned char c)
{
    return is_word_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static bool is_number_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == '.';
}

/* Consumes one line end at p if there is one ('\n', "\r\n" or '\r'). */
static bool eat_eol(lexer_t *lx)
{
    if (lx->p < lx->end && *lx->p == '\n') {
        lx->p++;
        lx->line++;
        return true;
    }
    if (lx->p < lx->end && *lx->p == '\r') {
        lx->p++;
        if (lx->p < lx->end && *lx->p == '\n') {
            lx->p++;
        }
        lx->line++;
        return true;
    }
    return false;
}

/* Skips blanks (every byte up to ' ', as StreamTokenizer's default
 * whitespace) and comments.  -1 on an unterminated block comment. */
static int skip_space(lexer_t *lx)
{
    while (lx->p < lx->end) {
        unsigned char c = (unsigned char)*lx->p;
        if (c == '\0') {
            return fail(lx, lx->line, "NUL byte: not a JAAS configuration");
        }
        if (eat_eol(lx)) {
            continue;
        }
        if (c <= ' ') {
            lx->p++;
            continue;
        }
        if (c != '/') {
            return 0;
        }
        if (lx->end - lx->p >= 2 && lx->p[1] == '*') {
            int start = lx->line;
            lx->p += 2;
            for (;;) {
                if (lx->p >= lx->end) {
                    return fail(lx, start, "comment not closed by */");
                }
                if (lx->end - lx->p >= 2 && lx->p[0] == '*' &&
                    lx->p[1] == '/') {
                    lx->p += 2;
                    break;
                }
                if (!eat_eol(lx)) {
                    lx->p++;
                }
            }
            continue;
        }
        /* "//", and (as StreamTokenizer's default comment char) a lone
         * '/': a comment to the end of the line. */
        while (lx->p < lx->end && *lx->p != '\n' && *lx->p != '\r') {
            lx->p++;
        }
    }
    return 0;
}

/* A quoted string: lx->p is just past the opening quote. */
static int lex_string(lexer_t *lx)
{
    size_t n = 0;
    for (;;) {
        if (lx->p >= lx->end || *lx->p == '\n' || *lx->p == '\r') {
            return fail(lx, lx->tline,
                        "string not closed by '\"' on its "
                        "line");
        }
        unsigned char c = (unsigned char)*lx->p++;
        if (c == '"') {
            break;
        }
        if (c == '\\') {
            if (lx->p >= lx->end || *lx->p == '\n' || *lx->p == '\r') {
                return fail(lx, lx->tline,
                            "string not closed by '\"' on its line");
            }
            c = (unsigned char)*lx->p++;
            switch (c) {
            case 'a':
                c = 7;
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'v':
                c = '\v';
                break;
            default:
                if (c >= '0' && c <= '7') {
                    /* Octal: up to three digits when the first is 0-3. */
                    unsigned v = c - '0';
                    int more = c <= '3' ? 2 : 1;
                    while (more-- > 0 && lx->p < lx->end && *lx->p >= '0' &&
                           *lx->p <= '7') {
                        v = v * 8 + (unsigned)(*lx->p++ - '0');
                    }
                    c = (unsigned char)v;
                }
                break;
            }
        }
        if (c == '\0') {
            return fail(lx, lx->tline, "NUL character in a string");
        }
        lx->text[n++] = (char)c;
    }
    lx->text[n] = '\0';
    lx->tlen = n;
    lx->kind = TK_STRING;
    return 0;
}

/* Reads the next token into lx.  0, or -1 with the message in err. */
static int next(lexer_t *lx)
{
    if (skip_space(lx) != 0) {
        return -1;
    }
    lx->tline = lx->line;
    lx->tlen = 0;
    lx->text[0] = '\0';
    if (lx->p >= lx->end) {
        lx->kind = TK_EOF;
        return 0;
    }
    unsigned char c = (unsigned char)*lx->p;
    if (c == '{' || c == '}' || c == ';' || c == '=') {
        lx->p++;
        lx->kind = TK_PUNCT;
        lx->punct = (char)c;
        return 0;
    }
    if (c == '"') {
        lx->p++;
        return lex_string(lx);
    }
    if (is_number_char(c) || (c == '-' && lx->end - lx->p >= 2 &&
                              is_number_char((unsigned char)lx->p[1]))) {
        const char *s = lx->p++;
        while (lx->p < lx->end && is_word_char((unsigned char)*lx->p)) {
            lx->p++;
        }
        char sb[SHOW_MAX + 4];
        return fail(lx, lx->tline,
                    "'%s' starts like a number: quote it (\"...\")",
                    shown(s, (size_t)(lx->p - s), sb));
    }
    if (is_word_start(c)) {
        size_t n = 0;
        while (lx->p < lx->end && is_word_char((unsigned char)*lx->p)) {
            lx->text[n++] = *lx->p++;
        }
        lx->text[n] = '\0';
        lx->tlen = n;
        lx->kind = TK_WORD;
        return 0;
    }
    if (c >= ' ' && c < 0x7f) {
        return fail(lx, lx->tline, "unexpected character '%c'", c);
    }
    return fail(lx, lx->tline, "unexpected byte 0x%02x", c);
}

/* ---- parser ------------------------------------------------------------ */

static bool is_text(const lexer_t *lx)
{
    return lx->kind == TK_WORD || lx->kind == TK_STRING;
}

static bool is_punct(const lexer_t *lx, char c)
{
    return lx->kind == TK_PUNCT && lx->punct == c;
}

static int expect(lexer_t *lx, char c, const char *after)
{
    if (!is_punct(lx, c)) {
        char db[SHOW_MAX + 16];
        return fail(lx, lx->tline, "expected '%c' %s, found %s", c, after,
                    describe(lx, db));
    }
    return next(lx);
}

static char *take_text(lexer_t *lx)
{
    char *s = malloc(lx->tlen + 1);
    if (s != NULL) {
        memcpy(s, lx->text, lx->tlen + 1);
    } else {
        fail(lx, lx->tline, "out of memory");
    }
    return s;
}

/* Grows *v (of *n elements of size sz) by one zeroed element. */
static void *grow(void **v, size_t *n, size_t sz)
{
    char *p = realloc(*v, (*n + 1) * sz);
    if (p == NULL) {
        return NULL;
    }
    *v = p;
    memset(p + *n * sz, 0, sz);
    return p + (*n)++ * sz;
}

/* Frees a string that may hold a password, wiping it first. */
static void free_secret(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static void free_entry(jaas_entry_t *e)
{
    for (size_t i = 0; i < e->nopts; i++) {
        free(e->opts[i].key);
        free_secret(e->opts[i].value);
    }
    free(e->opts);
    free(e->module);
    free(e->flag);
}

static void free_section(jaas_section_t *s)
{
    for (size_t i = 0; i < s->nentries; i++) {
        free_entry(&s->entries[i]);
    }
    free(s->entries);
    free(s->name);
}

static bool valid_flag(const char *f)
{
    return strcasecmp(f, "required") == 0 || strcasecmp(f, "requisite") == 0 ||
           strcasecmp(f, "sufficient") == 0 || strcasecmp(f, "optional") == 0;
}

/* "KEY = VALUE" (the current token is KEY). */
static int parse_option(lexer_t *lx, jaas_entry_t *e)
{
    jaas_option_t *o = grow((void **)&e->opts, &e->nopts, sizeof *o);
    if (o == NULL) {
        return fail(lx, lx->tline, "out of memory");
    }
    o->line = lx->tline;
    if ((o->key = take_text(lx)) == NULL || next(lx) != 0) {
        return -1;
    }
    char kb[SHOW_MAX + 4], db[SHOW_MAX + 16];
    if (!is_punct(lx, '=')) {
        return fail(lx, lx->tline, "expected '=' after option '%s', found %s",
                    shown(o->key, strlen(o->key), kb), describe(lx, db));
    }
    if (next(lx) != 0) {
        return -1;
    }
    if (!is_text(lx)) {
        return fail(lx, lx->tline,
                    "expected the value of option '%s', found %s",
                    shown(o->key, strlen(o->key), kb), describe(lx, db));
    }
    if (strstr(lx->text, "${") != NULL) {
        /* Java would expand ${property} from its system properties. */
        return fail(lx, lx->tline,
                    "option '%s': ${...} property expansion "
                    "is not supported by zabd",
                    shown(o->key, strlen(o->key), kb));
    }
    if ((o->value = take_text(lx)) == NULL) {
        return -1;
    }
    return next(lx);
}

/* "MODULE FLAG options ;" (the current token is MODULE). */
static int parse_entry(lexer_t *lx, jaas_section_t *s)
{
    char db[SHOW_MAX + 16], fb[SHOW_MAX + 4];
    jaas_entry_t *e = grow((void **)&s->entries, &s->nentries, sizeof *e);
    if (e == NULL) {
        return fail(lx, lx->tline, "out of memory");
    }
    e->line = lx->tline;
    if ((e->module = take_text(lx)) == NULL || next(lx) != 0) {
        return -1;
    }
    if (!is_text(lx)) {
        return fail(lx, lx->tline,
                    "expected a control flag (required, "
                    "requisite, sufficient or optional), found %s",
                    describe(lx, db));
    }
    if (!valid_flag(lx->text)) {
        return fail(lx, lx->tline,
                    "invalid control flag '%s' (want "
                    "required, requisite, sufficient or optional)",
                    shown(lx->text, lx->tlen, fb));
    }
    if ((e->flag = take_text(lx)) == NULL || next(lx) != 0) {
        return -1;
    }
    while (!is_punct(lx, ';')) {
        if (!is_text(lx)) {
            return fail(lx, lx->tline,
                        "expected an option (KEY=VALUE) or ';', found %s",
                        describe(lx, db));
        }
        if (parse_option(lx, e) != 0) {
            return -1;
        }
    }
    return next(lx);
}

/* "NAME { entries } ;" (the current token is NAME). */
static int parse_section(lexer_t *lx, jaas_t *j)
{
    char db[SHOW_MAX + 16], nb[SHOW_MAX + 4];
    if (!is_text(lx)) {
        return fail(lx, lx->tline, "expected a section name, found %s",
                    describe(lx, db));
    }
    const jaas_section_t *dup = jaas_section(j, lx->text);
    if (dup != NULL) {
        return fail(lx, lx->tline,
                    "section '%s' is defined twice (first on line %d)",
                    shown(lx->text, lx->tlen, nb), dup->line);
    }
    jaas_section_t *s = grow((void **)&j->sections, &j->nsections, sizeof *s);
    if (s == NULL) {
        return fail(lx, lx->tline, "out of memory");
    }
    s->line = lx->tline;
    if ((s->name = take_text(lx)) == NULL || next(lx) != 0) {
        return -1;
    }
    if (expect(lx, '{', "after the section name") != 0) {
        return -1;
    }
    while (!is_punct(lx, '}')) {
        if (!is_text(lx)) {
            return fail(lx, lx->tline,
                        "expected a login module class name or '}', found %s",
                        describe(lx, db));
        }
        if (parse_entry(lx, s) != 0) {
            return -1;
        }
    }
    if (next(lx) != 0) {
        return -1;
    }
    return expect(lx, ';', "after '}'");
}

int jaas_parse(const char *text, size_t len, const char *name, jaas_t *out,
               char *err, size_t errlen)
{
    lexer_t lx;
    memset(&lx, 0, sizeof lx);
    lx.p = text;
    lx.end = text + len;
    lx.name = name != NULL ? name : "(jaas)";
    lx.line = 1;
    lx.err = err;
    lx.errlen = errlen;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    out->sections = NULL;
    out->nsections = 0;
    if (text == NULL && len > 0) {
        return fail(&lx, 0, "no text");
    }
    if (len > JAAS_FILE_MAX) {
        return fail(&lx, 1, "larger than %u bytes: not a JAAS configuration",
                    JAAS_FILE_MAX);
    }
    lx.text = malloc(len + 1); /* no token is longer than the input */
    if (lx.text == NULL) {
        return fail(&lx, 1, "out of memory");
    }
    int rc = next(&lx);
    while (rc == 0 && lx.kind != TK_EOF) {
        rc = parse_section(&lx, out);
    }
    OPENSSL_cleanse(lx.text, len + 1);
    free(lx.text);
    if (rc != 0) {
        jaas_free(out);
    }
    return rc;
}

int jaas_load(const char *path, jaas_t *out, char *err, size_t errlen)
{
    out->sections = NULL;
    out->nsections = 0;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return -1;
    }
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    int rc = -1;
    if (buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        used += fread(buf + used, 1, cap - used, f);
        if (used < cap || used > JAAS_FILE_MAX) {
            break;
        }
        char *bigger = realloc(buf, cap * 2);
        if (bigger == NULL) {
            snprintf(err, errlen, "%s: out of memory", path);
            goto out;
        }
        buf = bigger;
        cap *= 2;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        goto out;
    }
    rc = jaas_parse(buf, used, path, out, err, errlen);
out:
    if (buf != NULL) {
        OPENSSL_cleanse(buf, cap); /* the file holds passwords */
    }
    free(buf);
    fclose(f);
    return rc;
}

const jaas_section_t *jaas_section(const jaas_t *j, const char *name)
{
    for (size_t i = 0; j != NULL && name != NULL && i < j->nsections; i++) {
        if (j->sections[i].name != NULL &&
            strcmp(j->sections[i].name, name) == 0) {
            return &j->sections[i];
        }
    }
    return NULL;
}

void jaas_free(jaas_t *j)
{
    if (j == NULL) {
        return;
    }
    for (size_t i = 0; i < j->nsections; i++) {
        free_section(&j->sections[i]);
    }
    free(j->sections);
    j->sections = NULL;
    j->nsections = 0;
}
