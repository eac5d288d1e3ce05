/* buf.h -- the growable byte buffer, for whatever is built in memory: S3's
 * XML documents and signing strings, the metrics text, a volume's body
 * read whole, mkv-volume's nginx config. A zeroed struct buf is empty.
 * Failure is sticky: after an allocation (or a vsnprintf) fails, every
 * later add is a no-op and failed stays set, so a builder checks once at
 * the end. */
#ifndef MKV_BUF_H
#define MKV_BUF_H

#include <stddef.h>

struct buf {
    char *p;                      /* NUL-terminated once anything is added */
    size_t len, cap;
    int failed;                   /* an allocation failed */
};

/* buf_add -- append n bytes of s. */
void buf_add(struct buf *b, const char *s, size_t n);

/* buf_adds -- append the NUL-terminated s. */
void buf_adds(struct buf *b, const char *s);

/* buf_addf -- append printf-style. */
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* buf_add_xml -- append s[0..n) escaped for XML text or an attribute
 * (& < > " ' as entities; control bytes other than tab, CR and LF, which
 * XML 1.0 cannot carry, as U+FFFD). */
void buf_add_xml(struct buf *b, const char *s, size_t n);

/* buf_take -- the bytes, now the caller's (free); NULL when failed or
 * empty-and-unallocated. b is reset. */
char *buf_take(struct buf *b, size_t *len);

/* buf_add_pct -- append in[0..n) percent-encoded, the way S3 (and the
 * native listing's encoding=url) write it: every byte but A-Z a-z 0-9
 * - _ . ~ (and '/', with keep_slash) as %XX, upper-case hex. */
void buf_add_pct(struct buf *b, const char *in, size_t n, int keep_slash);

/* buf_clear -- empty b, keeping its memory for what comes next. */
void buf_clear(struct buf *b);

/* buf_free -- release; b is reset. */
void buf_free(struct buf *b);

#endif
