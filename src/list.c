/* list.c -- GET /PREFIX?list and ?unlinked: keys in byte order as JSON,
 * {"next": "...", "keys": [...]}, from the store's ordered key sets. */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "key.h"
#include "log.h"
#include "store.h"

struct out {
    char *p;
    size_t len, cap;
    int failed;                   /* out of memory */
};

static void put(struct out *o, const char *s, size_t n) {
    if (o->failed) return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        char *q;
        while (o->len + n + 1 > cap) cap *= 2;
        q = realloc(o->p, cap);
        if (q == NULL) {
            o->failed = 1;
            return;
        }
        o->p = q;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* utf8_len -- length of a valid UTF-8 sequence at s (n bytes left), or
 * 0 when the bytes are not one. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    size_t len, i;
    unsigned cp;
    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) { len = 2; cp = s[0] & 0x1f; }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) { len = 3; cp = s[0] & 0x0f; }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) { len = 4; cp = s[0] & 0x07; }
    else return 0;
    if (n < len) return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* put_json_string -- key as a JSON string. Valid UTF-8 passes through;
 * a byte that is not is written as U+FFFD (documented in the README). */
static void put_json_string(struct out *o, const char *key, size_t n) {
    const unsigned char *s = (const unsigned char *)key;
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;

    put(o, "\"", 1);
    while (i < n) {
        size_t l = utf8_len(s + i, n - i);
        if (l == 0) {
            put(o, "\\ufffd", 6);
            i++;
        } else if (s[i] == '"' || s[i] == '\\') {
            char e[2] = {'\\', (char)s[i]};
            put(o, e, 2);
            i++;
        } else if (s[i] < 0x20 || s[i] == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[s[i] >> 4], hex[s[i] & 15]};
            put(o, e, 6);
            i++;
        } else {
            put(o, key + i, l);
            i += l;
        }
    }
    put(o, "\"", 1);
}

struct listing {
    struct out keys;
    long limit, count;
    const char *next;             /* the first key not returned */
    size_t nextlen;
    char nextbuf[MKV_KEY_MAX];
};

static int add_key(const char *key, size_t keylen, void *arg) {
    struct listing *l = arg;
    if (key_reserved(key, keylen)) return 0; /* the S3 endpoint's own */
    if (l->limit > 0 && l->count == l->limit) {
        memcpy(l->nextbuf, key, keylen);
        l->next = l->nextbuf;
        l->nextlen = keylen;
        return 1;
    }
    if (l->count++) put(&l->keys, ", ", 2);
    put_json_string(&l->keys, key, keylen);
    return 0;
}

enum MHD_Result list_answer(struct MHD_Connection *c, const char *method,
                            const char *url, const char *prefix, size_t plen,
                            const struct query *q) {
    struct listing l;
    struct out body = {NULL, 0, 0, 0};
    enum MHD_Result ret;

    if (!store_listable(0)) {
        struct MHD_Response *busy =
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        log_limited(LOG_INDEX, "%s %s: the index is still being loaded for listing", method, url);
        if (busy == NULL) return MHD_NO;
        MHD_add_response_header(busy, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        http_account(c, method, url, 503, 0);
        ret = MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, busy);
        MHD_destroy_response(busy);
        return ret;
    }
    memset(&l, 0, sizeof(l));
    l.limit = q->limit;
    store_list(q->op == QUERY_UNLINKED, prefix, plen,
               q->has_start ? q->start : NULL, q->startlen, add_key, &l);
    put(&body, "{\"next\": ", 9);
    put_json_string(&body, l.next ? l.next : "", l.next ? l.nextlen : 0);
    put(&body, ", \"keys\": [", 11);
    put(&body, l.keys.p ? l.keys.p : "", l.keys.len);
    put(&body, "]}\n", 3);
    free(l.keys.p);
    if (body.failed || l.keys.failed) {
        free(body.p);
        log_msg("%s %s: out of memory for the listing", method, url);
        return http_respond(c, method, url, 503);
    }
    return http_answer(c, method, url, 200, body.p, body.len, "application/json");
}
