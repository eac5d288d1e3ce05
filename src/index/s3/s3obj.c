/* s3obj.c -- S3 object operations: PutObject (through put.c), GetObject
 * and HeadObject (streamed from a volume through the index, since S3
 * clients do not follow redirects), DeleteObject, DeleteObjects and
 * CopyObject. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "copy.h"
#include "erase.h"
#include "http.h"
#include "key.h"
#include "log.h"
#include "placement.h"
#include "put.h"
#include "relay.h"
#include "ring.h"
#include "s3.h"
#include "s3meta.h"
#include "s3xml.h"
#include "store.h"

#define GET_RING (256 * 1024)     /* a GetObject's buffer: memory per stream */

void s3obj_etag(const char *nkey, size_t nkeylen, const char *md5, char out[64]) {
    char mp[S3META_ETAG_MAX + 1];
    if (md5 == NULL || md5[0] == '\0') {
        out[0] = '\0';
        return;
    }
    if (s3meta_etag_get(nkey, nkeylen, md5, mp)) snprintf(out, 64, "\"%s\"", mp);
    else snprintf(out, 64, "\"%s\"", md5);
}

/* --- PutObject ------------------------------------------------------------ */

void s3obj_put_begin(struct s3_req *s) {
    if (s->dlen < 0) {
        s3_error(s, "MissingContentLength", "You must provide the Content-Length HTTP header.");
        return;
    }
    if (s->dlen > S3_PUT_MAX || (http_cfg->max_size > 0 && s->dlen > http_cfg->max_size)) {
        s3_error(s, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
        return;
    }
    s3_put_body(s, s->nkey, s->nkeylen);
}

void s3obj_put_run(struct s3_req *s) {
    unsigned st = put_status(s->put);
    char etag[64];
    if (st != 201) {
        s3_error_status(s, st);
        return;
    }
    snprintf(etag, sizeof(etag), "\"%s\"", put_md5(s->put));
    s3_reply_header(s, "ETag", etag);
    s->reply.status = 200;
}

/* --- GetObject, HeadObject ---------------------------------------------- */

/* A GetObject's stream: shared by the request and its response (the
 * response may outlive the request by a moment), so counted. */
struct get_state {
    int refs;
    struct s3_req *s;             /* NULL once the request let go */
    struct relay rl;
    struct ring ring;
    int relaying;                 /* rl runs, holding s->r.busy */
    int reader_waiting;           /* the reader suspended the client */
    int ended;                    /* the volume transfer is over */
    int failed;                   /* ... short of the whole body */
    int64_t length, sent;
    char etag[64];
};

static void get_unref(struct get_state *g) {
    if (--g->refs > 0) return;
    ring_free(&g->ring);
    free(g);
}

static void get_free(struct s3_req *s) {
    struct get_state *g = s->op_state;
    s->op_state = NULL;
    g->s = NULL;
    get_unref(g);
}

static void get_abort(struct s3_req *s) {
    struct get_state *g = s->op_state;
    if (g == NULL || !g->relaying) return;
    relay_cancel(&g->rl);
    g->relaying = 0;
    g->ended = g->failed = 1;
    if (s->waiting) {
        s->waiting = 0;
        req_resume(&s->r);
    }
    req_release(&s->r);
}

static ssize_t get_reader(void *cls, uint64_t pos, char *out, size_t max) {
    struct get_state *g = cls;
    size_t n = ring_read(&g->ring, 0, out, max);
    (void)pos;
    if (n > 0) {
        g->sent += (int64_t)n;
        if (g->relaying && ring_room(&g->ring) >= g->ring.cap / 2) relay_resume(&g->rl);
        return (ssize_t)n;
    }
    if (g->ended || g->s == NULL)
        return g->failed || g->sent < g->length ? MHD_CONTENT_READER_END_WITH_ERROR
                                                : MHD_CONTENT_READER_END_OF_STREAM;
    g->reader_waiting = 1;
    req_suspend(&g->s->r);
    return 0;
}

static void get_response_freed(void *cls) { get_unref(cls); }

/* wake_reader -- data or the end came: a suspended reader goes on. */
static void wake_reader(struct get_state *g) {
    if (!g->reader_waiting || g->s == NULL) return;
    g->reader_waiting = 0;
    req_resume(&g->s->r);
}

static void get_headers(void *arg, const struct relay_info *in) {
    struct get_state *g = arg;
    struct s3_req *s = g->s;
    int head = strcmp(s->r.method, "HEAD") == 0;
    struct MHD_Response *resp;
    char len[32];

    if (in->status == 416) {
        s3_error(s, "InvalidRange", "The requested range is not satisfiable");
        return;
    }
    if (in->status == 404) {
        s3_error(s, "NoSuchKey", "The specified key does not exist (its volume has no copy).");
        return;
    }
    if ((in->status != 200 && in->status != 206) || in->length < 0) {
        s3_error(s, "InternalError", "The volume answered %ld.", in->status);
        return;
    }
    g->length = in->length;
    if (head) {
        /* libmicrohttpd sends a HEAD's headers only; the reader is never
         * called, so the length is told without a body. */
        resp = MHD_create_response_from_callback((uint64_t)in->length, 4096, get_reader, g,
                                                 get_response_freed);
    } else {
        resp = MHD_create_response_from_callback((uint64_t)in->length, 64 * 1024, get_reader,
                                                 g, get_response_freed);
    }
    if (resp == NULL) {
        s3_error(s, "InternalError", "Out of memory.");
        return;
    }
    g->refs++;
    if (g->etag[0]) MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, g->etag);
    if (in->modified[0]) MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, in->modified);
    if (in->range[0]) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, in->range);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "binary/octet-stream");
    snprintf(len, sizeof(len), "%lld", (long long)in->length);
    (void)len;
    s->reply.custom = resp;
    s->reply.custom_len = (uint64_t)in->length;
    s->reply.status = (unsigned)in->status;
    /* The answer can go: wake the handler; the body follows as it comes. */
    s->waiting = 0;
    req_resume(&s->r);
}

static size_t get_room(void *arg) {
    struct get_state *g = arg;
    return ring_room(&g->ring);
}

static void get_data(void *arg, const char *p, size_t n) {
    struct get_state *g = arg;
    ring_write(&g->ring, p, n);
    wake_reader(g);
}

static void get_done(void *arg, enum vol_result vr, long status, const char *err) {
    struct get_state *g = arg;
    struct s3_req *s = g->s;
    g->relaying = 0;
    g->ended = 1;
    if (vr != VOL_OK || (status != 200 && status != 206)) {
        g->failed = 1;
        if (vr != VOL_OK) log_msg("S3 %s %s: volume: %s", s->r.method, s->r.url, err);
        if (s->reply.custom == NULL && s->reply.status == 0 && s->ecode == NULL)
            s3_error_status(s, vol_http_status(vr));
    }
    wake_reader(g);
    if (s->waiting) { /* never got to the headers */
        s->waiting = 0;
        req_resume(&s->r);
    }
    req_release(&s->r);
}

/* etag_list_has -- does an If-Match / If-None-Match list name etag? */
static int etag_list_has(const char *list, const char *etag) {
    size_t el = strlen(etag);
    const char *p = list;
    if (strcmp(list, "*") == 0) return 1;
    while ((p = strstr(p, etag + 1)) != NULL) { /* etag without its quotes */
        if (p > list && strncmp(p, etag + 1, el - 2) == 0) return 1;
        p++;
    }
    return 0;
}

void s3obj_get_run(struct s3_req *s) {
    char err[MKV_ERRLEN], path[PLACEMENT_PATH_MAX], url[VOL_URL_MAX];
    const char *range = s3_header(s, "Range"), *im, *inm;
    int head = strcmp(s->r.method, "HEAD") == 0, found;
    struct sigv4_header;
    struct get_state *g;
    struct record rec;
    struct relay_sink sink;

    found = store_get(s->nkey, s->nkeylen, &rec, err);
    if (found < 0) {
        log_msg("S3 %s %s: %s", s->r.method, s->r.url, err);
        s3_error(s, "InternalError", "We encountered an internal error.");
        return;
    }
    if (found == 0 || rec.deleted || rec.writing) {
        s3_error(s, "NoSuchKey", "The specified key does not exist.");
        return;
    }
    g = calloc(1, sizeof(*g));
    if (g == NULL || ring_init(&g->ring, GET_RING, 1) != MKV_OK) {
        free(g);
        s3_error(s, "InternalError", "Out of memory.");
        return;
    }
    g->refs = 1;
    g->s = s;
    g->length = -1;
    s3obj_etag(s->nkey, s->nkeylen, rec.hash, g->etag);
    s->op_state = g;
    s->op_free = get_free;
    s->op_abort = get_abort;
    im = s3_header(s, "If-Match");
    inm = s3_header(s, "If-None-Match");
    if (g->etag[0] && im && !etag_list_has(im, g->etag)) {
        s3_error(s, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
        return;
    }
    if (g->etag[0] && inm && etag_list_has(inm, g->etag)) {
        s3_reply_header(s, "ETag", g->etag);
        s->reply.status = 304;
        return;
    }
    placement_path(s->nkey, s->nkeylen, rec.flat, path);
    vol_url(url, record_volume(&rec, rand() % rec.nvolumes), path);
    sink.headers = get_headers;
    sink.room = get_room;
    sink.data = get_data;
    sink.done = get_done;
    sink.arg = g;
    if (range && strncmp(range, "bytes=", 6) != 0) range = NULL; /* S3 ignores others */
    if (relay_start(&g->rl, url, head, head ? NULL : range, &sink) != MKV_OK) {
        s3_error(s, "ServiceUnavailable", "Cannot reach the volume now; try again.");
        return;
    }
    g->relaying = 1;
    s->waiting = 1;
    s->r.busy++; /* the relay's, released by get_done (or get_abort) */
}

/* --- DeleteObject --------------------------------------------------------- */

struct del_state {
    struct erase *e;
};

static void del_abort(struct s3_req *s) {
    struct del_state *d = s->op_state;
    if (d == NULL || d->e == NULL) return;
    erase_cancel(d->e);
    d->e = NULL;
    s3_wake(s);
}

static void deleted(void *arg, unsigned status) {
    struct s3_req *s = arg;
    struct del_state *d = s->op_state;
    d->e = NULL;
    if (status == 204 || status == 404) {
        s3meta_etag_delete(s->nkey, s->nkeylen);
        s->reply.status = 204;
    } else {
        s3_error_status(s, status);
    }
    s3_wake(s);
}

void s3obj_delete_run(struct s3_req *s) {
    struct del_state *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        s3_error(s, "InternalError", "Out of memory.");
        return;
    }
    s->op_state = d;
    s->op_abort = del_abort;
    s3_wait(s);
    if (erase_start(&d->e, s->nkey, s->nkeylen, 0, "DELETE", s->r.url, deleted, s) != MKV_OK) {
        s3_error(s, "InternalError", "Out of memory.");
        s3_wake(s);
    }
}

/* --- CopyObject ------------------------------------------------------------ */

struct copy_state {
    struct copy *cp;
};

static void copy_abort(struct s3_req *s) {
    struct copy_state *c = s->op_state;
    if (c == NULL || c->cp == NULL) return;
    copy_cancel(c->cp);
    c->cp = NULL;
    s3_wake(s);
}

static void copied(void *arg, unsigned status, const char *md5) {
    struct s3_req *s = arg;
    struct copy_state *c = s->op_state;
    char t[32];
    c->cp = NULL;
    if (status == 201) {
        s3meta_etag_delete(s->nkey, s->nkeylen);
        s3_iso_time(time(NULL), t);
        s3_xml_begin(s, "CopyObjectResult");
        buf_addf(&s->reply.body, "<LastModified>%s</LastModified><ETag>&quot;%s&quot;</ETag>"
                                 "</CopyObjectResult>", t, md5);
        s->reply.status = 200;
    } else if (status == 404) {
        s3_error(s, "NoSuchKey", "The source object's value is gone from its volume.");
    } else {
        s3_error_status(s, status);
    }
    s3_wake(s);
}

void s3obj_copy_run(struct s3_req *s) {
    const char *src = s3_header(s, "x-amz-copy-source"), *slash, *dir;
    char raw[3 * MKV_KEY_MAX], dec[MKV_KEY_MAX + 1], bucket[64], skey[MKV_KEY_MAX],
        err[MKV_ERRLEN], path[PLACEMENT_PATH_MAX];
    size_t n, dl, skl;
    struct copy_state *c;
    struct copy_src one;
    struct record rec;
    unsigned st;
    int found;

    n = strcspn(src, "?");
    if (src[n] == '?') {
        s3_error(s, "NotImplemented", "Copying a version (?versionId) is not implemented by cmkv");
        return;
    }
    for (int i = 0; i < s->nhdrs; i++) {
        if (strncasecmp(s->hdrs[i].name, "x-amz-copy-source-if-", 21) == 0) {
            s3_error(s, "NotImplemented", "Conditional copies are not implemented by cmkv");
            return;
        }
    }
    if (n >= sizeof(raw) || key_unescape(src, n, dec, MKV_KEY_MAX, &dl) != KEY_OK) {
        s3_error(s, "InvalidArgument", "Copy Source must mention the source bucket and key: "
                                       "sourcebucket/sourcekey");
        return;
    }
    dec[dl] = '\0';
    dir = dec[0] == '/' ? dec + 1 : dec;
    slash = memchr(dir, '/', dl - (size_t)(dir - dec));
    if (slash == NULL || slash == dir || (size_t)(slash - dir) >= sizeof(bucket) ||
        slash[1] == '\0') {
        s3_error(s, "InvalidArgument", "Copy Source must mention the source bucket and key: "
                                       "sourcebucket/sourcekey");
        return;
    }
    memcpy(bucket, dir, (size_t)(slash - dir));
    bucket[slash - dir] = '\0';
    if (s3_bucket_exists(s, bucket) != 1) return;
    skl = s3_native_key(bucket, slash + 1, dl - (size_t)(slash + 1 - dec), skey);
    if (skl == 0) {
        s3_error(s, "KeyTooLongError", "The source key is too long.");
        return;
    }
    dir = s3_header(s, "x-amz-metadata-directive");
    if (skl == s->nkeylen && memcmp(skey, s->nkey, skl) == 0 &&
        (dir == NULL || strcasecmp(dir, "REPLACE") != 0)) {
        s3_error(s, "InvalidRequest", "This copy request is illegal because it is trying to copy "
                                      "an object to itself without changing the object's "
                                      "metadata, storage class, website redirect location or "
                                      "encryption attributes.");
        return;
    }
    found = store_get(skey, skl, &rec, err);
    if (found < 0) {
        log_msg("S3 copy %s: %s", s->r.url, err);
        s3_error(s, "InternalError", "We encountered an internal error.");
        return;
    }
    if (found == 0 || rec.deleted || rec.writing) {
        s3_error(s, "NoSuchKey", "The specified key does not exist.");
        return;
    }
    placement_path(skey, skl, rec.flat, path);
    vol_url(one.url, record_volume(&rec, rand() % rec.nvolumes), path);
    one.size = -1;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        s3_error(s, "InternalError", "Out of memory.");
        return;
    }
    s->op_state = c;
    s->op_abort = copy_abort;
    s3_wait(s);
    st = copy_start(&c->cp, s->nkey, s->nkeylen, s->r.url, &one, 1, -1, copied, s);
    if (st != 0) {
        c->cp = NULL;
        s3_error_status(s, st);
        s3_wake(s);
    }
}

/* --- DeleteObjects ---------------------------------------------------------- */

#define DELETE_MAX 1000           /* S3's most keys a request */
#define DELETE_PARALLEL 8

struct del_one {
    struct erase *e;
    struct s3_req *s;
    char *key;                    /* the S3 key */
    size_t len;
    unsigned status;              /* 0 while under way */
};

struct delmany_state {
    struct del_one *k;
    int n, started, running;
    int quiet;
    int bad;                      /* the XML was not a Delete */
    int stepping;                 /* inside delmany_next (an erase may end at once) */
};

static void delmany_free(struct s3_req *s) {
    struct delmany_state *d = s->op_state;
    if (d == NULL) return;
    for (int i = 0; i < d->n; i++) free(d->k[i].key);
    free(d->k);
    free(d);
    s->op_state = NULL;
}

static void delmany_abort(struct s3_req *s) {
    struct delmany_state *d = s->op_state;
    if (d == NULL || d->running == 0) return;
    for (int i = 0; i < d->n; i++) {
        if (d->k[i].e) erase_cancel(d->k[i].e);
        d->k[i].e = NULL;
    }
    d->running = 0;
    s3_wake(s);
}

static int delete_xml(void *arg, char path[][S3XML_NAME], int depth, const char *text,
                      size_t len) {
    struct delmany_state *d = arg;
    if (strcmp(path[0], "Delete") != 0) {
        d->bad = 1;
        return MKV_ERR;
    }
    if (depth == 2 && strcmp(path[1], "Quiet") == 0) d->quiet = strcmp(text, "true") == 0;
    if (depth == 3 && strcmp(path[1], "Object") == 0 && strcmp(path[2], "Key") == 0) {
        struct del_one *k;
        if (d->n == DELETE_MAX) {
            d->bad = 1;
            return MKV_ERR;
        }
        if (d->n % 64 == 0) {
            struct del_one *k2 = realloc(d->k, (size_t)(d->n + 64) * sizeof(*k2));
            if (k2 == NULL) return MKV_ERR;
            d->k = k2;
        }
        k = &d->k[d->n];
        memset(k, 0, sizeof(*k));
        k->key = malloc(len + 1);
        if (k->key == NULL) return MKV_ERR;
        memcpy(k->key, text, len + 1);
        k->len = len;
        d->n++;
    }
    if (depth == 3 && strcmp(path[1], "Object") == 0 && strcmp(path[2], "VersionId") == 0 &&
        len > 0 && strcmp(text, "null") != 0) {
        d->bad = 1;
        return MKV_ERR;
    }
    return MKV_OK;
}

static void delmany_reply(struct s3_req *s) {
    struct delmany_state *d = s->op_state;
    struct buf *b = &s->reply.body;
    s3_xml_begin(s, "DeleteResult");
    for (int i = 0; i < d->n; i++) {
        const struct del_one *k = &d->k[i];
        int ok = k->status == 204 || k->status == 404;
        if (ok && d->quiet) continue;
        buf_adds(b, ok ? "<Deleted><Key>" : "<Error><Key>");
        buf_add_xml(b, k->key, k->len);
        if (ok) {
            buf_adds(b, "</Key></Deleted>");
        } else {
            const char *code = k->status == 409 ? "OperationAborted"
                               : k->status == 1 ? "KeyTooLongError"
                               : k->status == 503 ? "ServiceUnavailable" : "InternalError";
            buf_addf(b, "</Key><Code>%s</Code><Message>The key could not be deleted (%u)."
                        "</Message></Error>", code, k->status);
        }
    }
    buf_adds(b, "</DeleteResult>");
    s->reply.status = 200;
}

static void delmany_next(struct s3_req *s);

static void one_deleted(void *arg, unsigned status) {
    struct del_one *k = arg;
    struct s3_req *s = k->s;
    struct delmany_state *d = s->op_state;
    k->e = NULL;
    k->status = status;
    d->running--;
    if (status == 204 || status == 404) {
        char nkey[MKV_KEY_MAX];
        size_t nl = s3_native_key(s->bucket, k->key, k->len, nkey);
        s3meta_etag_delete(nkey, nl);
    }
    delmany_next(s);
}

/* delmany_next -- keep DELETE_PARALLEL erases going; reply at the end. */
static void delmany_next(struct s3_req *s) {
    struct delmany_state *d = s->op_state;
    if (d->stepping) return; /* the loop below goes on */
    d->stepping = 1;
    while (d->running < DELETE_PARALLEL && d->started < d->n) {
        struct del_one *k = &d->k[d->started++];
        char nkey[MKV_KEY_MAX];
        size_t nl = s3_native_key(s->bucket, k->key, k->len, nkey);
        k->s = s;
        if (nl == 0 || k->len == 0) {
            k->status = 1; /* too long (or empty): an error entry */
            continue;
        }
        d->running++;
        if (erase_start(&k->e, nkey, nl, 0, "DELETE", s->r.url, one_deleted, k) != MKV_OK) {
            d->running--;
            k->status = 503;
        }
    }
    d->stepping = 0;
    if (d->running > 0 || d->started < d->n) return;
    delmany_reply(s);
    s3_wake(s);
}

void s3obj_delete_many_run(struct s3_req *s) {
    struct delmany_state *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        s3_error(s, "InternalError", "Out of memory.");
        return;
    }
    s->op_state = d;
    s->op_free = delmany_free;
    s->op_abort = delmany_abort;
    if (s3xml_parse(s->xml.p ? s->xml.p : "", s->xml.len, delete_xml, d) != MKV_OK || d->bad) {
        s3_error(s, "MalformedXML", "The XML you provided was not well-formed or did not "
                                    "validate against our published schema");
        return;
    }
    s3_wait(s);
    delmany_next(s);
}
