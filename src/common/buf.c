/* buf.c -- the growable byte buffer (buf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* room -- make space for n more bytes and a NUL; 0 when out of memory. */
static int room(struct buf *b, size_t n) {
    size_t cap;
    char *q;
    if (b->failed) return 0;
    if (b->len + n + 1 <= b->cap) return 1;
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    q = realloc(b->p, cap);
    if (q == NULL) {
        b->failed = 1;
        return 0;
    }
    b->p = q;
    b->cap = cap;
    return 1;
}

void buf_add(struct buf *b, const char *s, size_t n) {
    if (!room(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

void buf_addf(struct buf *b, const char *fmt, ...) {
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1; /* a format the C library cannot print */
        return;
    }
    if (!room(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_add_xml(struct buf *b, const char *s, size_t n) {
    size_t i, from = 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *e = NULL;
        switch (c) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&apos;"; break;
        default:
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') e = "\xef\xbf\xbd";
        }
        if (e == NULL) continue;
        buf_add(b, s + from, i - from);
        buf_adds(b, e);
        from = i + 1;
    }
    buf_add(b, s + from, n - from);
}

char *buf_take(struct buf *b, size_t *len) {
    char *p = b->failed ? NULL : b->p;
    if (b->failed) free(b->p);
    *len = b->failed ? 0 : b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
    return p;
}

void buf_add_pct(struct buf *b, const char *in, size_t n, int keep_slash) {
    static const char up[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && keep_slash)) {
            buf_add(b, in + i, 1);
        } else {
            char e[3] = {'%', up[c >> 4], up[c & 15]};
            buf_add(b, e, 3);
        }
    }
}

void buf_clear(struct buf *b) {
    b->len = 0;
    if (b->p) b->p[0] = '\0';
}

void buf_free(struct buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}
