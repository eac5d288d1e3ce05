/* sigv4.c -- AWS Signature Version 4 computations (sigv4.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "key.h"
#include "sigv4.h"

static const char hexd[] = "0123456789abcdef";

void sigv4_hex(const unsigned char *d, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexd[d[i] >> 4];
        out[2 * i + 1] = hexd[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* decode_encode -- append raw[0..n), percent-decoded, re-encoded. */
static int decode_encode(struct buf *b, const char *raw, size_t n, int keep_slash) {
    char stack[2048], *tmp = n <= sizeof(stack) ? stack : malloc(n);
    size_t len;
    int rc = MKV_OK;
    if (tmp == NULL) return MKV_ERR;
    /* key_unescape refuses %00 and bad escapes; a NUL can never be part
     * of a key, bucket or query value we accept. */
    if (n > 0 && key_unescape(raw, n, tmp, n, &len) != KEY_OK) rc = MKV_ERR;
    else if (n > 0) buf_add_pct(b, tmp, len, keep_slash);
    if (tmp != stack) free(tmp);
    return rc;
}

struct qpair {
    char *name, *value;           /* encoded, NUL-terminated */
};

static int qpair_cmp(const void *a, const void *b) {
    const struct qpair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* canonical_query -- the sorted, encoded query into b. */
static int canonical_query(struct buf *b, const char *q, int presigned, char *err) {
    struct qpair *pairs = NULL;
    size_t np = 0, cap = 0;
    int rc = MKV_OK;
    const char *p = q;

    while (p && *p) {
        const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *nend = eq ? eq : end;
        struct buf nb = {0}, vb = {0};
        if (end == p) { /* an empty piece, as in "a&&b" */
            p = amp ? amp + 1 : end;
            continue;
        }
        if (decode_encode(&nb, p, (size_t)(nend - p), 0) != MKV_OK ||
            (eq && decode_encode(&vb, eq + 1, (size_t)(end - eq - 1), 0) != MKV_OK)) {
            buf_free(&nb);
            buf_free(&vb);
            mkv_seterr(err, "a malformed escape in the query string");
            rc = MKV_ERR;
            break;
        }
        buf_add(&nb, "", 0);
        buf_add(&vb, "", 0);
        if (nb.failed || vb.failed) {
            buf_free(&nb);
            buf_free(&vb);
            mkv_seterr(err, "out of memory");
            rc = MKV_ERR;
            break;
        }
        if (presigned && strcmp(nb.p, "X-Amz-Signature") == 0) {
            buf_free(&nb);
            buf_free(&vb);
        } else {
            if (np == cap) {
                struct qpair *q2 = realloc(pairs, (cap = cap ? 2 * cap : 16) * sizeof(*q2));
                if (q2 == NULL) {
                    buf_free(&nb);
                    buf_free(&vb);
                    mkv_seterr(err, "out of memory");
                    rc = MKV_ERR;
                    break;
                }
                pairs = q2;
            }
            pairs[np].name = nb.p;
            pairs[np].value = vb.p;
            np++;
        }
        p = amp ? amp + 1 : end;
    }
    if (rc == MKV_OK) {
        if (np > 0) qsort(pairs, np, sizeof(*pairs), qpair_cmp);
        for (size_t i = 0; i < np; i++) {
            if (i) buf_add(b, "&", 1);
            buf_adds(b, pairs[i].name);
            buf_add(b, "=", 1);
            buf_adds(b, pairs[i].value);
        }
    }
    for (size_t i = 0; i < np; i++) {
        free(pairs[i].name);
        free(pairs[i].value);
    }
    free(pairs);
    return rc;
}

/* add_trimmed -- value without leading and trailing blanks, inner runs
 * of blanks as one space. */
static void add_trimmed(struct buf *b, const char *v) {
    const char *e;
    int space = 0;
    while (*v == ' ' || *v == '\t') v++;
    e = v + strlen(v);
    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) e--;
    for (; v < e; v++) {
        if (*v == ' ' || *v == '\t') {
            space = 1;
            continue;
        }
        if (space) buf_add(b, " ", 1);
        space = 0;
        buf_add(b, v, 1);
    }
}

int sigv4_canonical(struct buf *b, const char *method, const char *raw_path,
                    const char *raw_query, int presigned,
                    const char *signed_headers, const struct sigv4_header *hdrs,
                    int nh, const char *payload_hash, char *err) {
    const char *s = signed_headers;

    buf_adds(b, method);
    buf_add(b, "\n", 1);
    if (decode_encode(b, raw_path, strlen(raw_path), 1) != MKV_OK) {
        mkv_seterr(err, "a malformed escape in the path");
        return MKV_ERR;
    }
    buf_add(b, "\n", 1);
    if (canonical_query(b, raw_query, presigned, err) != MKV_OK) return MKV_ERR;
    buf_add(b, "\n", 1);
    while (*s) {
        const char *semi = strchr(s, ';'), *end = semi ? semi : s + strlen(s);
        size_t n = (size_t)(end - s);
        int found = 0;
        if (n == 0) {
            mkv_seterr(err, "an empty name in SignedHeaders");
            return MKV_ERR;
        }
        buf_add(b, s, n);
        buf_add(b, ":", 1);
        for (int i = 0; i < nh; i++) {
            if (strlen(hdrs[i].name) != n || strncasecmp(hdrs[i].name, s, n) != 0) continue;
            if (found++) buf_add(b, ",", 1);
            add_trimmed(b, hdrs[i].value);
        }
        if (!found) {
            mkv_seterr(err, "signed header '%.*s' is not in the request", (int)n, s);
            return MKV_ERR;
        }
        buf_add(b, "\n", 1);
        s = semi ? semi + 1 : end;
    }
    buf_add(b, "\n", 1);
    buf_adds(b, signed_headers);
    buf_add(b, "\n", 1);
    buf_adds(b, payload_hash);
    if (b->failed) {
        mkv_seterr(err, "out of memory");
        return MKV_ERR;
    }
    return MKV_OK;
}

void sigv4_sha256_hex(const void *p, size_t n, char hex[SIGV4_HEXLEN + 1]) {
    unsigned char d[32];
    unsigned int dn = 32;
    EVP_Digest(p, n, d, &dn, EVP_sha256(), NULL);
    sigv4_hex(d, 32, hex);
}

static void hmac(const unsigned char *key, size_t klen, const char *msg, size_t n,
                 unsigned char out[32]) {
    unsigned int on = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, n, out, &on);
}

void sigv4_key(const char *secret, const char *date, const char *region,
               const char *service, unsigned char key[32]) {
    char k0[4 + 256];
    size_t sl = strlen(secret);
    if (sl > 256) sl = 256; /* creds.c refuses longer secrets */
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, sl);
    hmac((unsigned char *)k0, 4 + sl, date, strlen(date), key);
    hmac(key, 32, region, strlen(region), key);
    hmac(key, 32, service, strlen(service), key);
    hmac(key, 32, "aws4_request", 12, key);
    OPENSSL_cleanse(k0, sizeof(k0));
}

/* sign_string -- hex HMAC of the string s under key. */
static void sign_string(const unsigned char key[32], struct buf *s, char sig[SIGV4_HEXLEN + 1]) {
    unsigned char d[32];
    if (s->failed) {
        sig[0] = '\0'; /* never equal to a client's */
        return;
    }
    hmac(key, 32, s->p, s->len, d);
    sigv4_hex(d, 32, sig);
}

void sigv4_sign(const unsigned char key[32], const char *amzdate, const char *scope,
                const char *canonical, size_t clen, char sig[SIGV4_HEXLEN + 1]) {
    char h[SIGV4_HEXLEN + 1];
    struct buf s = {0};
    sigv4_sha256_hex(canonical, clen, h);
    buf_addf(&s, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amzdate, scope, h);
    sign_string(key, &s, sig);
    buf_free(&s);
}

void sigv4_chunk_sign(const unsigned char key[32], const char *amzdate,
                      const char *scope, const char *prev, const char *data_hex,
                      char sig[SIGV4_HEXLEN + 1]) {
    struct buf s = {0};
    buf_addf(&s, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", amzdate, scope, prev,
             SIGV4_EMPTY_SHA256, data_hex);
    sign_string(key, &s, sig);
    buf_free(&s);
}

int sigv4_equal(const char *a, const char *b) {
    size_t n = strlen(a);
    if (n != strlen(b) || n == 0) return 0;
    return CRYPTO_memcmp(a, b, n) == 0;
}
