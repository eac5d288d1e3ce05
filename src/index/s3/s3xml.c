/* s3xml.c -- the strict little XML reader (s3xml.h). */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "s3xml.h"

static int is_name(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.' || c == ':';
}

/* put_utf8 -- code point cp as UTF-8. */
static int put_utf8(struct buf *b, unsigned long cp) {
    char o[4];
    if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return MKV_ERR;
    if (cp < 0x80) { o[0] = (char)cp; buf_add(b, o, 1); }
    else if (cp < 0x800) { o[0] = (char)(0xc0 | cp >> 6); o[1] = (char)(0x80 | (cp & 63)); buf_add(b, o, 2); }
    else if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12); o[1] = (char)(0x80 | (cp >> 6 & 63)); o[2] = (char)(0x80 | (cp & 63));
        buf_add(b, o, 3);
    } else {
        o[0] = (char)(0xf0 | cp >> 18); o[1] = (char)(0x80 | (cp >> 12 & 63));
        o[2] = (char)(0x80 | (cp >> 6 & 63)); o[3] = (char)(0x80 | (cp & 63));
        buf_add(b, o, 4);
    }
    return MKV_OK;
}

/* entity -- decode the reference at x[*i] ('&') into b. */
static int entity(const char *x, size_t n, size_t *i, struct buf *b) {
    static const struct { const char *name; char c; } named[] = {
        {"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    const char *p = x + *i + 1;
    size_t left = n - *i - 1;
    for (size_t k = 0; k < 5; k++) {
        size_t l = strlen(named[k].name);
        if (left >= l && memcmp(p, named[k].name, l) == 0) {
            buf_add(b, &named[k].c, 1);
            *i += 1 + l;
            return MKV_OK;
        }
    }
    if (left >= 3 && p[0] == '#') {
        int hex = p[1] == 'x';
        size_t j = hex ? 2 : 1;
        unsigned long cp = 0;
        for (; j < left && p[j] != ';' && j < 10; j++) {
            char c = p[j];
            int d = c >= '0' && c <= '9' ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0) return MKV_ERR;
            cp = cp * (hex ? 16 : 10) + (unsigned long)d;
        }
        if (j >= left || p[j] != ';' || j == (size_t)(hex ? 2 : 1)) return MKV_ERR;
        *i += 1 + j + 1;
        return put_utf8(b, cp);
    }
    return MKV_ERR;
}

int s3xml_parse(const char *x, size_t n,
                int (*fn)(void *arg, char path[][S3XML_NAME], int depth, const char *text,
                          size_t len),
                void *arg) {
    char path[S3XML_DEPTH][S3XML_NAME];
    struct buf text[S3XML_DEPTH];
    int depth = 0, rc = MKV_ERR, seen_root = 0;
    size_t i = 0;

    memset(text, 0, sizeof(text));
    while (i < n) {
        if (x[i] == '<') {
            if (n - i >= 5 && memcmp(x + i, "<?xml", 5) == 0 && i == 0) {
                const char *e = memmem(x + i, n - i, "?>", 2);
                if (e == NULL) goto out;
                i = (size_t)(e - x) + 2;
            } else if (n - i >= 4 && memcmp(x + i, "<!--", 4) == 0) {
                const char *e = memmem(x + i, n - i, "-->", 3);
                if (e == NULL) goto out;
                i = (size_t)(e - x) + 3;
            } else if (n - i >= 2 && x[i + 1] == '/') { /* an end tag */
                size_t j = i + 2, l;
                const char *name, *colon;
                while (j < n && is_name(x[j])) j++;
                name = x + i + 2;
                l = (size_t)(x + j - name);
                colon = memchr(name, ':', l);
                if (colon) {
                    l -= (size_t)(colon + 1 - name);
                    name = colon + 1;
                }
                while (j < n && (x[j] == ' ' || x[j] == '\t' || x[j] == '\r' || x[j] == '\n')) j++;
                if (j >= n || x[j] != '>' || depth == 0 || l != strlen(path[depth - 1]) ||
                    memcmp(name, path[depth - 1], l) != 0)
                    goto out;
                buf_add(&text[depth - 1], "", 0);
                if (text[depth - 1].failed ||
                    fn(arg, path, depth, text[depth - 1].p ? text[depth - 1].p : "",
                       text[depth - 1].len) != MKV_OK)
                    goto out;
                buf_free(&text[depth - 1]);
                depth--;
                i = j + 1;
            } else { /* a start tag */
                size_t j = i + 1, l;
                const char *name, *colon;
                int empty = 0;
                while (j < n && is_name(x[j])) j++;
                name = x + i + 1;
                l = (size_t)(x + j - name);
                if (l == 0) goto out;
                colon = memchr(name, ':', l);
                if (colon) {
                    l -= (size_t)(colon + 1 - name);
                    name = colon + 1;
                }
                if (l == 0 || l >= S3XML_NAME || depth == S3XML_DEPTH || (depth == 0 && seen_root))
                    goto out;
                /* attributes: name="value" or name='value' */
                for (;;) {
                    while (j < n && (x[j] == ' ' || x[j] == '\t' || x[j] == '\r' || x[j] == '\n')) j++;
                    if (j >= n) goto out;
                    if (x[j] == '>') break;
                    if (x[j] == '/' && j + 1 < n && x[j + 1] == '>') {
                        empty = 1;
                        j++;
                        break;
                    }
                    if (!is_name(x[j])) goto out;
                    while (j < n && is_name(x[j])) j++;
                    if (j >= n || x[j] != '=' || j + 1 >= n || (x[j + 1] != '"' && x[j + 1] != '\''))
                        goto out;
                    {
                        const char *q = memchr(x + j + 2, x[j + 1], n - j - 2);
                        if (q == NULL) goto out;
                        j = (size_t)(q - x) + 1;
                    }
                }
                memcpy(path[depth], name, l);
                path[depth][l] = '\0';
                depth++;
                seen_root = 1;
                i = j + 1;
                if (empty) {
                    if (fn(arg, path, depth, "", 0) != MKV_OK) goto out;
                    depth--;
                }
            }
        } else if (x[i] == '&') {
            if (depth == 0 || entity(x, n, &i, &text[depth - 1]) != MKV_OK) goto out;
        } else {
            size_t j = i;
            while (j < n && x[j] != '<' && x[j] != '&') j++;
            if (depth == 0) { /* only blanks outside the root */
                for (size_t k = i; k < j; k++)
                    if (x[k] != ' ' && x[k] != '\t' && x[k] != '\r' && x[k] != '\n') goto out;
            } else {
                buf_add(&text[depth - 1], x + i, j - i);
            }
            i = j;
        }
    }
    if (depth == 0 && seen_root) rc = MKV_OK;
out:
    for (int k = 0; k < S3XML_DEPTH; k++) buf_free(&text[k]);
    return rc;
}
