/* s3list.c -- ListObjectsV2 and ListObjects (v1): keys of a bucket in
 * byte order from the index's ordered key set, grouped by a delimiter
 * into CommonPrefixes, a page at a time. Size and LastModified are not
 * in the index: each key of the page is HEAD-checked on one replica,
 * up to LIST_PARALLEL at once on the request's loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "placement.h"
#include "relay.h"
#include "s3.h"
#include "store.h"

#define LIST_MAX 1000             /* S3's largest page */
#define LIST_PARALLEL 16          /* HEADs at once */

struct entry {
    char *key;                    /* the S3 key (after "/BUCKET/"), or a prefix */
    size_t len;
    int prefix;                   /* a CommonPrefixes entry */
    int missing;                  /* its volume had no copy: left out */
    int64_t size;
    char modified[64];            /* HTTP date from the volume */
    char etag[64];
    char url[VOL_URL_MAX];
    struct relay rl;
    struct list_state *l;
};

struct list_state {
    struct s3_req *s;
    int v2;
    int url_encode;
    long max;
    size_t plen;                  /* the native prefix's length */
    char prefix[MKV_KEY_MAX];     /* native: /BUCKET/PREFIX */
    size_t baselen;               /* "/BUCKET/" */
    char delim[64];
    size_t dlen;
    char after[MKV_KEY_MAX];      /* exclusive start (native), or none */
    size_t afterlen;
    int has_after;
    /* the walk */
    struct entry *e;
    int n;
    int truncated;
    char next[MKV_KEY_MAX];       /* native key to go on from */
    size_t nextlen;
    int restart;
    char restart_key[MKV_KEY_MAX];
    size_t restart_len;
    char lastcp[MKV_KEY_MAX];
    size_t lastcplen;
    int oom;
    /* the HEADs */
    int started, running, failed;
};

static void list_free(struct s3_req *s) {
    struct list_state *l = s->op_state;
    if (l == NULL) return;
    for (int i = 0; i < l->n; i++) free(l->e[i].key);
    free(l->e);
    free(l);
    s->op_state = NULL;
}

static void list_abort(struct s3_req *s) {
    struct list_state *l = s->op_state;
    if (l == NULL || l->running == 0) return;
    for (int i = 0; i < l->n; i++)
        if (l->e[i].rl.running) relay_cancel(&l->e[i].rl);
    l->running = 0;
    l->failed = 1;
    s3_wake(s);
}

static int add_entry(struct list_state *l, const char *k, size_t n, int prefix) {
    struct entry *e;
    if (l->n % 64 == 0) {
        struct entry *e2 = realloc(l->e, (size_t)(l->n + 64) * sizeof(*e2));
        if (e2 == NULL) return MKV_ERR;
        l->e = e2;
    }
    e = &l->e[l->n];
    memset(e, 0, sizeof(*e));
    e->key = malloc(n + 1);
    if (e->key == NULL) return MKV_ERR;
    memcpy(e->key, k, n);
    e->key[n] = '\0';
    e->len = n;
    e->prefix = prefix;
    e->l = l;
    l->n++;
    return MKV_OK;
}

/* walk_key -- store_list's callback over native keys under the prefix. */
static int walk_key(const char *key, size_t keylen, void *arg) {
    struct list_state *l = arg;
    const char *k = key + l->baselen, *d;
    size_t kl = keylen - l->baselen;

    if (l->has_after && keylen == l->afterlen && memcmp(key, l->after, keylen) == 0) return 0;
    if (l->dlen > 0 && kl >= l->plen - l->baselen &&
        (d = memmem(k + (l->plen - l->baselen), kl - (l->plen - l->baselen), l->delim,
                    l->dlen)) != NULL) {
        size_t cpl = (size_t)(d - k) + l->dlen;
        if (cpl == l->lastcplen && memcmp(k, l->lastcp, cpl) == 0) return 0;
        if (l->n == l->max) {
            l->truncated = 1;
            memcpy(l->next, key, l->baselen + cpl);
            l->nextlen = l->baselen + cpl;
            return 1;
        }
        if (add_entry(l, k, cpl, 1) != MKV_OK) {
            l->oom = 1;
            return 1;
        }
        memcpy(l->lastcp, k, cpl);
        l->lastcplen = cpl;
        /* Skip every key under this prefix: go on from the prefix with
         * its last byte raised (carrying past 0xff). */
        memcpy(l->restart_key, key, l->baselen + cpl);
        l->restart_len = l->baselen + cpl;
        while (l->restart_len > 0 && (unsigned char)l->restart_key[l->restart_len - 1] == 0xff)
            l->restart_len--;
        if (l->restart_len <= l->plen) return 0; /* cannot happen with a real key */
        l->restart_key[l->restart_len - 1]++;
        l->restart = 1;
        return 1;
    }
    if (l->n == l->max) {
        l->truncated = 1;
        memcpy(l->next, key, keylen);
        l->nextlen = keylen;
        return 1;
    }
    if (add_entry(l, k, kl, 0) != MKV_OK) {
        l->oom = 1;
        return 1;
    }
    return 0;
}

static void add_key_xml(struct list_state *l, struct buf *b, const char *k, size_t n) {
    if (l->url_encode) buf_add_pct(b, k, n, 1);
    else buf_add_xml(b, k, n);
}

static void finish(struct list_state *l) {
    struct s3_req *s = l->s;
    struct buf *b = &s->reply.body;
    static const char hexd[] = "0123456789abcdef";
    int count = 0;

    if (l->failed) {
        s3_error(s, "ServiceUnavailable", "A volume did not answer; try again.");
        return;
    }
    for (int i = 0; i < l->n; i++) count += !l->e[i].missing;
    s3_xml_begin(s, "ListBucketResult");
    buf_adds(b, "<Name>");
    buf_adds(b, s->bucket);
    buf_adds(b, "</Name><Prefix>");
    add_key_xml(l, b, l->prefix + l->baselen, l->plen - l->baselen);
    buf_adds(b, "</Prefix>");
    if (l->v2) {
        const char *tok = s3_arg(s, "continuation-token");
        buf_addf(b, "<KeyCount>%d</KeyCount>", count);
        if (tok) {
            buf_adds(b, "<ContinuationToken>");
            buf_add_xml(b, tok, strlen(tok));
            buf_adds(b, "</ContinuationToken>");
        }
        if (l->truncated) {
            buf_adds(b, "<NextContinuationToken>");
            for (size_t i = 0; i < l->nextlen; i++) {
                char h[2] = {hexd[(unsigned char)l->next[i] >> 4], hexd[(unsigned char)l->next[i] & 15]};
                buf_add(b, h, 2);
            }
            buf_adds(b, "</NextContinuationToken>");
        }
        if (s3_arg(s, "start-after")) {
            char sa[MKV_KEY_MAX];
            size_t sal;
            if (s3_arg_decoded(s, "start-after", sa, sizeof(sa), &sal) == MKV_OK) {
                buf_adds(b, "<StartAfter>");
                add_key_xml(l, b, sa, sal);
                buf_adds(b, "</StartAfter>");
            }
        }
    } else {
        char mk[MKV_KEY_MAX];
        size_t mkl = 0;
        buf_adds(b, "<Marker>");
        if (s3_arg_decoded(s, "marker", mk, sizeof(mk), &mkl) == MKV_OK) add_key_xml(l, b, mk, mkl);
        buf_adds(b, "</Marker>");
        if (l->truncated && l->n > 0) {
            const struct entry *last = &l->e[l->n - 1];
            buf_adds(b, "<NextMarker>");
            add_key_xml(l, b, last->key, last->len);
            buf_adds(b, "</NextMarker>");
        }
    }
    buf_addf(b, "<MaxKeys>%ld</MaxKeys>", l->max);
    if (l->dlen) {
        buf_adds(b, "<Delimiter>");
        add_key_xml(l, b, l->delim, l->dlen);
        buf_adds(b, "</Delimiter>");
    }
    if (l->url_encode) buf_adds(b, "<EncodingType>url</EncodingType>");
    buf_addf(b, "<IsTruncated>%s</IsTruncated>", l->truncated ? "true" : "false");
    for (int i = 0; i < l->n; i++) {
        const struct entry *e = &l->e[i];
        char t[32];
        time_t mt;
        if (e->prefix || e->missing) continue;
        mt = s3_parse_http_time(e->modified);
        s3_iso_time(mt < 0 ? 0 : mt, t);
        buf_adds(b, "<Contents><Key>");
        add_key_xml(l, b, e->key, e->len);
        buf_addf(b, "</Key><LastModified>%s</LastModified><ETag>", t);
        buf_add_xml(b, e->etag, strlen(e->etag));
        buf_addf(b, "</ETag><Size>%lld</Size><StorageClass>STANDARD</StorageClass></Contents>",
                 (long long)e->size);
    }
    for (int i = 0; i < l->n; i++) {
        const struct entry *e = &l->e[i];
        if (!e->prefix) continue;
        buf_adds(b, "<CommonPrefixes><Prefix>");
        add_key_xml(l, b, e->key, e->len);
        buf_adds(b, "</Prefix></CommonPrefixes>");
    }
    buf_adds(b, "</ListBucketResult>");
    s->reply.status = 200;
}

static void head_next(struct list_state *l);

static size_t no_room(void *arg) {
    (void)arg;
    return (size_t)-1;
}

static void no_data(void *arg, const char *p, size_t n) {
    (void)arg;
    (void)p;
    (void)n;
}

static void head_done(void *arg, enum vol_result vr, long status, const char *err) {
    struct entry *e = arg;
    struct list_state *l = e->l;
    l->running--;
    if (vr == VOL_OK && status == 200 && e->rl.info.length >= 0) {
        e->size = e->rl.info.length;
        snprintf(e->modified, sizeof(e->modified), "%s", e->rl.info.modified);
    } else if (vr == VOL_OK && status == 404) {
        e->missing = 1;
        log_msg("S3 list %s: %s has no copy on its volume", l->s->r.url, e->key);
    } else {
        l->failed = 1;
        log_msg("S3 list %s: HEAD %s: %s", l->s->r.url, e->url,
                vr == VOL_OK ? "an error answer" : err);
    }
    head_next(l);
}

/* head_next -- keep LIST_PARALLEL HEADs running; when all are over,
 * answer. */
static void head_next(struct list_state *l) {
    while (!l->failed && l->running < LIST_PARALLEL && l->started < l->n) {
        struct entry *e = &l->e[l->started++];
        struct relay_sink sink = {NULL, no_room, no_data, head_done, e};
        char err[MKV_ERRLEN], path[PLACEMENT_PATH_MAX], nkey[MKV_KEY_MAX];
        struct record rec;
        size_t nl;
        if (e->prefix) continue;
        nl = s3_native_key(l->s->bucket, e->key, e->len, nkey);
        if (store_get(nkey, nl, &rec, err) != 1 || rec.deleted || rec.writing) { /* gone meanwhile */
            e->missing = 1;
            continue;
        }
        s3obj_etag(nkey, nl, rec.hash, e->etag);
        placement_path(nkey, nl, rec.flat, path);
        vol_url(e->url, record_volume(&rec, rand() % rec.nvolumes), path);
        if (relay_start(&e->rl, e->url, 1, NULL, &sink) != MKV_OK) {
            l->failed = 1;
            break;
        }
        l->running++;
    }
    if (l->running > 0) return;
    if (l->started < l->n && !l->failed) return; /* cannot happen */
    finish(l);
    if (l->s->waiting) s3_wake(l->s);
}

void s3list_objects_run(struct s3_req *s) {
    struct list_state *l = calloc(1, sizeof(*l));
    const char *lt = s3_arg(s, "list-type"), *mk = s3_arg(s, "max-keys"),
               *enc = s3_arg(s, "encoding-type");
    char tmp[MKV_KEY_MAX], err[MKV_ERRLEN];
    size_t tl = 0, bl = strlen(s->bucket);

    if (l == NULL) {
        s3_error(s, "InternalError", "Out of memory.");
        return;
    }
    s->op_state = l;
    s->op_free = list_free;
    s->op_abort = list_abort;
    l->s = s;
    l->v2 = lt && strcmp(lt, "2") == 0;
    if (lt && !l->v2) {
        s3_error(s, "InvalidArgument", "list-type must be 2");
        return;
    }
    l->url_encode = enc && strcmp(enc, "url") == 0;
    if (enc && !l->url_encode) {
        s3_error(s, "InvalidArgument", "Invalid Encoding Method specified in Request");
        return;
    }
    l->max = LIST_MAX;
    if (mk) {
        char *end;
        long v = strtol(mk, &end, 10);
        if (*mk < '0' || *mk > '9' || *end != '\0' || v < 0) {
            s3_error(s, "InvalidArgument", "Provided max-keys not an integer or within integer range");
            return;
        }
        l->max = v < LIST_MAX ? v : LIST_MAX;
    }
    l->baselen = bl + 2;
    l->prefix[0] = '/';
    memcpy(l->prefix + 1, s->bucket, bl);
    l->prefix[bl + 1] = '/';
    l->plen = l->baselen;
    if (s3_arg(s, "prefix")) {
        if (s3_arg_decoded(s, "prefix", tmp, sizeof(tmp), &tl) != MKV_OK ||
            l->baselen + tl > MKV_KEY_MAX) {
            s3_error(s, "InvalidArgument", "The prefix is malformed or too long.");
            return;
        }
        memcpy(l->prefix + l->baselen, tmp, tl);
        l->plen += tl;
    }
    if (s3_arg(s, "delimiter")) {
        if (s3_arg_decoded(s, "delimiter", l->delim, sizeof(l->delim), &l->dlen) != MKV_OK) {
            s3_error(s, "InvalidArgument", "The delimiter is malformed or too long.");
            return;
        }
    }
    /* Where to begin: a continuation token (ours: the hex of the native
     * key to go on from, inclusive), start-after or marker (exclusive). */
    l->nextlen = 0;
    if (l->v2 && s3_arg(s, "continuation-token")) {
        const char *t = s3_arg(s, "continuation-token");
        size_t n = strlen(t);
        if (n == 0 || n % 2 || n / 2 > MKV_KEY_MAX || n / 2 < l->baselen) goto badtoken;
        for (size_t i = 0; i < n / 2; i++) {
            unsigned hi, lo;
            if (sscanf(t + 2 * i, "%1x%1x", &hi, &lo) != 2) goto badtoken;
            l->restart_key[i] = (char)(hi << 4 | lo);
        }
        l->restart_len = n / 2;
        if (memcmp(l->restart_key, l->prefix, l->baselen) != 0) goto badtoken;
    } else {
        const char *which = l->v2 ? "start-after" : "marker";
        if (s3_arg(s, which)) {
            if (s3_arg_decoded(s, which, tmp, sizeof(tmp), &tl) != MKV_OK ||
                l->baselen + tl > MKV_KEY_MAX) {
                s3_error(s, "InvalidArgument", "The %s is malformed or too long.", which);
                return;
            }
            memcpy(l->after, l->prefix, l->baselen);
            memcpy(l->after + l->baselen, tmp, tl);
            l->afterlen = l->baselen + tl;
            l->has_after = tl > 0;
            memcpy(l->restart_key, l->after, l->afterlen);
            l->restart_len = l->afterlen;
        }
    }
    if (!store_listable(2000, err)) {
        log_limited(LOG_INDEX, "S3 ListObjects: %s", err);
        s3_error(s, "ServiceUnavailable", "The index is still being loaded; try again.");
        return;
    }
    if (l->max > 0) {
        int first = 1;
        while (first || l->restart) {
            int had = l->restart_len > 0;
            first = 0;
            l->restart = 0;
            if (store_list(0, l->prefix, l->plen, had ? l->restart_key : NULL,
                           l->restart_len, 0, walk_key, l, err) != MKV_OK) {
                log_msg("S3 ListObjects: %s", err);
                s3_error(s, "InternalError", "We encountered an internal error.");
                return;
            }
            if (l->oom) {
                s3_error(s, "InternalError", "Out of memory.");
                return;
            }
        }
    }
    s3_wait(s);
    head_next(l);
    return;
badtoken:
    s3_error(s, "InvalidArgument", "The continuation token provided is incorrect");
}
