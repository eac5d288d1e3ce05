/* list.c -- GET /PREFIX?list and ?unlinked: keys in byte order as JSON,
 * {"next": "...", "keys": [...]}, streamed from the store's key list a
 * batch at a time, so an answer of any size takes constant memory. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "list.h"
#include "key.h"
#include "log.h"
#include "store.h"

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
static void put_json_string(struct buf *o, const char *key, size_t n) {
    const unsigned char *s = (const unsigned char *)key;
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;

    buf_add(o, "\"", 1);
    while (i < n) {
        size_t l = utf8_len(s + i, n - i);
        if (l == 0) {
            buf_add(o, "\\ufffd", 6);
            i++;
        } else if (s[i] == '"' || s[i] == '\\') {
            char e[2] = {'\\', (char)s[i]};
            buf_add(o, e, 2);
            i++;
        } else if (s[i] < 0x20 || s[i] == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[s[i] >> 4], hex[s[i] & 15]};
            buf_add(o, e, 6);
            i++;
        } else {
            buf_add(o, key + i, l);
            i += l;
        }
    }
    buf_add(o, "\"", 1);
}

/* put_url_string -- key as a JSON string of its exact bytes, percent-
 * encoded (buf_add_pct, '/' kept). Decoded by `start`, so it round-trips
 * whatever the key holds. */
static void put_url_string(struct buf *o, const char *key, size_t n) {
    buf_add(o, "\"", 1);
    buf_add_pct(o, key, n, 1);
    buf_add(o, "\"", 1);
}

/* is_utf8 -- every byte of s[0..n) is part of valid UTF-8. */
static int is_utf8(const char *s, size_t n) {
    size_t i = 0, l;
    while (i < n && (l = utf8_len((const unsigned char *)s + i, n - i)) > 0) i += l;
    return i == n;
}

/* A listing on its way out: where it is, and the bytes not yet taken. */
struct listing {
    int unlinked, url;            /* ?unlinked; encoding=url */
    int started;                  /* a key was written */
    int ended;                    /* the walk is over */
    char prefix[MKV_KEY_MAX];
    size_t plen;
    char from[MKV_KEY_MAX];       /* the walk goes on after (or at) this */
    size_t fromlen;
    int has_from, after;
    char end[MKV_KEY_MAX];        /* "next": the walk stops before it */
    size_t endlen;
    int has_end;
    long left;                    /* keys still to find, in the first pass */
    struct buf out;
    size_t taken;                 /* of out, given to libmicrohttpd */
    char url_for_log[96];
};

#define LIST_CHUNK 32768          /* bytes rendered per step */

static void put_key(struct listing *l, struct buf *o, const char *key, size_t n) {
    if (l->url) put_url_string(o, key, n);
    else put_json_string(o, key, n);
}

/* find_end -- store_list's callback of the first pass: the key after
 * `limit` keys is "next". */
static int find_end(const char *key, size_t keylen, void *arg) {
    struct listing *l = arg;
    if (key_reserved(key, keylen)) return 0; /* the S3 endpoint's own */
    if (l->left-- > 0) return 0;
    memcpy(l->end, key, keylen);
    l->endlen = keylen;
    l->has_end = 1;
    return 1;
}

/* add_key -- store_list's callback while streaming: render one key,
 * stopping at "next" or once a chunk's worth is rendered. */
static int add_key(const char *key, size_t keylen, void *arg) {
    struct listing *l = arg;
    if (l->has_end && keylen == l->endlen && memcmp(key, l->end, keylen) == 0) {
        l->ended = 1;
        return 1;
    }
    if (key_reserved(key, keylen)) return 0;
    if (l->started) buf_add(&l->out, ", ", 2);
    l->started = 1;
    put_key(l, &l->out, key, keylen);
    memcpy(l->from, key, keylen);
    l->fromlen = keylen;
    l->has_from = l->after = 1;
    return l->out.len >= LIST_CHUNK;
}

/* step -- render the next chunk of keys into l->out (and the closing
 * bracket once the walk ends). MKV_ERR when the key list fails. */
static int step(struct listing *l) {
    char err[MKV_ERRLEN];
    size_t before = l->out.len;
    if (store_list(l->unlinked, l->prefix, l->plen, l->has_from ? l->from : NULL,
                   l->fromlen, l->after, add_key, l, err) != MKV_OK) {
        log_msg("GET %s: listing cut short: %s", l->url_for_log, err);
        return MKV_ERR;
    }
    /* The walk ran out without filling a chunk: it is over. */
    if (!l->ended && l->out.len - before < LIST_CHUNK) l->ended = 1;
    if (l->ended) buf_add(&l->out, "]}\n", 3);
    return l->out.failed ? MKV_ERR : MKV_OK;
}

static ssize_t read_listing(void *cls, uint64_t pos, char *to, size_t max) {
    struct listing *l = cls;
    size_t n;
    (void)pos;
    if (l->taken == l->out.len) {
        int ended = l->ended;
        buf_clear(&l->out); /* one buffer for the whole answer */
        l->taken = 0;
        if (ended) return MHD_CONTENT_READER_END_OF_STREAM;
        if (step(l) != MKV_OK) return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    n = l->out.len - l->taken;
    if (n > max) n = max;
    memcpy(to, l->out.p + l->taken, n);
    l->taken += n;
    return (ssize_t)n;
}

static void free_listing(void *cls) {
    struct listing *l = cls;
    buf_free(&l->out);
    free(l);
}

enum MHD_Result list_answer(struct call *k) {
    struct MHD_Connection *c = k->c;
    const char *method = k->method, *url = k->url;
    const struct query *q = k->q;
    struct MHD_Response *r;
    struct listing *l;
    char why[MKV_ERRLEN], err[MKV_ERRLEN], prefix[MKV_KEY_MAX];
    size_t plen;
    enum MHD_Result ret;

    if (http_key(c, method, url, prefix, &plen, &ret) != MKV_OK) return ret;
    if (!store_listable(0, why)) {
        struct MHD_Response *busy =
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        log_limited(LOG_INDEX, "%s %s: %s", method, url, why);
        if (busy == NULL) return MHD_NO;
        MHD_add_response_header(busy, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return http_queue(c, method, url, 503, busy, 0);
    }
    if ((l = calloc(1, sizeof(*l))) == NULL) {
        log_msg("%s %s: out of memory for the listing", method, url);
        return http_respond(c, method, url, 503);
    }
    l->unlinked = q->op == QUERY_UNLINKED;
    l->url = q->url_encoding;
    memcpy(l->prefix, prefix, plen);
    l->plen = plen;
    if (q->has_start) {
        memcpy(l->from, q->start, q->startlen);
        l->fromlen = q->startlen;
        l->has_from = 1;
    }
    snprintf(l->url_for_log, sizeof(l->url_for_log), "%s", url);
    /* With a limit, "next" comes first in the answer: find it first. */
    if (q->limit > 0) {
        l->left = q->limit;
        if (store_list(l->unlinked, prefix, plen, l->has_from ? l->from : NULL, l->fromlen,
                       0, find_end, l, err) != MKV_OK) {
            log_msg("%s %s: %s", method, url, err);
            free_listing(l);
            return http_respond(c, method, url, 503);
        }
    }
    buf_add(&l->out, "{\"next\": ", 9);
    if (l->has_end) put_key(l, &l->out, l->end, l->endlen);
    else buf_add(&l->out, "\"\"", 2);
    if (l->has_end && !l->url && !is_utf8(l->end, l->endlen)) {
        /* "next" lost bytes: give its exact form as well. */
        buf_add(&l->out, ", \"next_url\": ", 14);
        put_url_string(&l->out, l->end, l->endlen);
    }
    buf_add(&l->out, ", \"keys\": [", 11);
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, read_listing, l,
                                          free_listing);
    if (r == NULL) {
        free_listing(l);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    return http_queue(c, method, url, 200, r, 0);
}
