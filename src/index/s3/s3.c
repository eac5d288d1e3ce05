/* s3.c -- the S3 front: its daemon, requests, routing, buckets, replies
 * and S3's XML errors (s3.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "http.h"
#include "key.h"
#include "log.h"
#include "loop.h"
#include "put.h"
#include "s3.h"
#include "s3meta.h"
#include "store.h"

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"
/* After an error the rest of a body is read and dropped, so the client
 * hears the answer (libmicrohttpd answers only before the body or after
 * it); past this much the connection is closed instead (as put.c). */
#define S3_DISCARD_MAX (16 * 1024 * 1024)

/* S3's error codes we answer, with their statuses. */
static const struct {
    const char *code;
    unsigned status;
} s3_codes[] = {
    {"AccessDenied", 403},
    {"AuthorizationHeaderMalformed", 400},
    {"AuthorizationQueryParametersError", 400},
    {"BadDigest", 400},
    {"BucketAlreadyOwnedByYou", 409},
    {"BucketNotEmpty", 409},
    {"EntityTooLarge", 400},
    {"EntityTooSmall", 400},
    {"IncompleteBody", 400},
    {"InternalError", 500},
    {"InvalidAccessKeyId", 403},
    {"InvalidArgument", 400},
    {"InvalidBucketName", 400},
    {"InvalidDigest", 400},
    {"InvalidPart", 400},
    {"InvalidPartOrder", 400},
    {"InvalidRange", 416},
    {"InvalidRequest", 400},
    {"KeyTooLongError", 400},
    {"MalformedXML", 400},
    {"MethodNotAllowed", 405},
    {"MissingContentLength", 411},
    {"NoSuchBucket", 404},
    {"NoSuchKey", 404},
    {"NoSuchUpload", 404},
    {"NotImplemented", 501},
    {"OperationAborted", 409},
    {"PreconditionFailed", 412},
    {"RequestTimeTooSkewed", 403},
    {"ServiceUnavailable", 503},
    {"SignatureDoesNotMatch", 403},
    {"XAmzContentSHA256Mismatch", 400},
};

void s3_error(struct s3_req *s, const char *code, const char *fmt, ...) {
    va_list ap;
    if (s->ecode != NULL) return;
    s->ecode = code;
    s->estatus = 500;
    for (size_t i = 0; i < sizeof(s3_codes) / sizeof(s3_codes[0]); i++)
        if (strcmp(s3_codes[i].code, code) == 0) s->estatus = s3_codes[i].status;
    va_start(ap, fmt);
    vsnprintf(s->emsg, sizeof(s->emsg), fmt, ap);
    va_end(ap);
}

void s3_put_body(struct s3_req *s, const char *key, size_t keylen) {
    unsigned st = put_open(s->c, NULL, "PUT", s->r.url, key, keylen, s->dlen,
                           PUT_REPLACE | PUT_MD5 | PUT_HOLD_LAST, NULL, &s->put);
    if (st != 0) {
        s3_error_status(s, st);
        return;
    }
    s->body = S3_BODY_PUT;
}

void s3_error_status(struct s3_req *s, unsigned status) {
    switch (status) {
    case 400: s3_error(s, "IncompleteBody", "The request body ended before its length"); break;
    case 403: s3_error(s, "AccessDenied", "Access Denied"); break;
    case 404: s3_error(s, "NoSuchKey", "The specified key does not exist."); break;
    case 409:
        s3_error(s, "OperationAborted",
                 "A conflicting operation on this key is in progress; try again.");
        break;
    case 413: s3_error(s, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"); break;
    case 502:
    case 504: s3_error(s, "InternalError", "A volume failed (%u); try again.", status); break;
    case 503: s3_error(s, "ServiceUnavailable", "Please reduce your request rate or try again."); break;
    default: s3_error(s, "InternalError", "We encountered an internal error (%u).", status);
    }
}

void s3_wait(struct s3_req *s) {
    s->waiting = 1;
    s->r.busy++;
}

void s3_wake(struct s3_req *s) {
    s->waiting = 0;
    req_resume(&s->r);
    req_release(&s->r); /* may free s when the client is gone */
}

const char *s3_header(const struct s3_req *s, const char *name) {
    for (int i = 0; i < s->nhdrs; i++)
        if (strcasecmp(s->hdrs[i].name, name) == 0) return s->hdrs[i].value;
    return NULL;
}

const char *s3_arg(const struct s3_req *s, const char *name) {
    for (int i = 0; i < s->nargs; i++)
        if (strcmp(s->args[i].name, name) == 0) return s->args[i].value ? s->args[i].value : "";
    return NULL;
}

int s3_arg_decoded(const struct s3_req *s, const char *name, char *out, size_t cap,
                   size_t *len) {
    const char *v = s3_arg(s, name);
    size_t n;
    if (v == NULL) return MKV_ERR;
    if (key_unescape(v, strlen(v), out, cap, &n) != KEY_OK) return MKV_ERR;
    if (len) *len = n;
    else if (n < cap) out[n] = '\0';
    else return MKV_ERR;
    return MKV_OK;
}

void s3_reply_header(struct s3_req *s, const char *name, const char *value) {
    struct s3_reply *rp = &s->reply;
    if (rp->nheaders == S3_REPLY_HEADERS) return;
    rp->hname[rp->nheaders] = strdup(name);
    rp->hvalue[rp->nheaders] = strdup(value);
    rp->nheaders++;
}

void s3_xml_begin(struct s3_req *s, const char *root) {
    buf_addf(&s->reply.body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s xmlns=\"%s\">",
             root, S3_XMLNS);
}

void s3_iso_time(time_t t, char out[32]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

void s3_http_time(time_t t, char out[32]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

time_t s3_parse_http_time(const char *v) {
    struct tm tm;
    const char *end;
    memset(&tm, 0, sizeof(tm));
    end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL || *end != '\0') return -1;
    return timegm(&tm);
}

size_t s3_native_key(const char *bucket, const char *key, size_t keylen, char *out) {
    size_t bl = strlen(bucket);
    if (2 + bl + keylen > MKV_KEY_MAX) return 0;
    out[0] = '/';
    memcpy(out + 1, bucket, bl);
    out[1 + bl] = '/';
    memcpy(out + 2 + bl, key, keylen);
    return 2 + bl + keylen;
}

int s3_bucket_exists(struct s3_req *s, const char *bucket) {
    char err[MKV_ERRLEN];
    time_t t;
    int rc = s3meta_bucket_get(bucket, &t, err);
    if (rc < 0) {
        log_msg("S3 %s: %s", s->path, err);
        s3_error(s, "InternalError", "We encountered an internal error.");
    } else if (rc == 0) {
        s3_error(s, "NoSuchBucket", "The specified bucket does not exist");
    }
    return rc;
}

/* bucket_name_ok -- S3's rules: 3..63 of a-z 0-9 . -, beginning and
 * ending with a letter or digit, no "..", not an IPv4 address. */
static int bucket_name_ok(const char *b, size_t n) {
    int dots = 0, digits = 1;
    if (n < 3 || n > 63) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-') return 0;
        if ((i == 0 || i == n - 1) && !alnum) return 0;
        if (c == '.' && i > 0 && b[i - 1] == '.') return 0;
        dots += c == '.';
        if (!(c >= '0' && c <= '9') && c != '.') digits = 0;
    }
    return !(digits && dots == 3);
}

/* --- buckets ------------------------------------------------------------ */

static void list_one_bucket(const char *name, time_t created, void *arg) {
    struct s3_req *s = arg;
    char t[32];
    s3_iso_time(created, t);
    buf_adds(&s->reply.body, "<Bucket><Name>");
    buf_add_xml(&s->reply.body, name, strlen(name));
    buf_addf(&s->reply.body, "</Name><CreationDate>%s</CreationDate></Bucket>", t);
}

static void owner_xml(struct s3_req *s) {
    buf_adds(&s->reply.body, "<Owner><ID>");
    buf_add_xml(&s->reply.body, s->auth.id, strlen(s->auth.id));
    buf_adds(&s->reply.body, "</ID><DisplayName>");
    buf_add_xml(&s->reply.body, s->auth.id, strlen(s->auth.id));
    buf_adds(&s->reply.body, "</DisplayName></Owner>");
}

static void list_buckets(struct s3_req *s) {
    char err[MKV_ERRLEN];
    s3_xml_begin(s, "ListAllMyBucketsResult");
    owner_xml(s);
    buf_adds(&s->reply.body, "<Buckets>");
    if (s3meta_bucket_list(list_one_bucket, s, err) != MKV_OK) {
        log_msg("S3 ListBuckets: %s", err);
        s3_error(s, "InternalError", "We encountered an internal error.");
        return;
    }
    buf_adds(&s->reply.body, "</Buckets></ListAllMyBucketsResult>");
    s->reply.status = 200;
}

static void create_bucket(struct s3_req *s) {
    char err[MKV_ERRLEN], loc[80];
    time_t t;
    int rc = s3meta_bucket_get(s->bucket, &t, err);
    if (rc == 1) {
        s3_error(s, "BucketAlreadyOwnedByYou",
                 "Your previous request to create the named bucket succeeded and you "
                 "already own it.");
        return;
    }
    if (rc < 0 || s3meta_bucket_put(s->bucket, time(NULL), err) != MKV_OK) {
        log_msg("S3 CreateBucket %s: %s", s->bucket, err);
        s3_error(s, "InternalError", "We encountered an internal error.");
        return;
    }
    snprintf(loc, sizeof(loc), "/%s", s->bucket);
    s3_reply_header(s, "Location", loc);
    s->reply.status = 200;
}

/* any_key -- store_list's callback: there is one. */
static int any_key(const char *key, size_t keylen, void *arg) {
    (void)key;
    (void)keylen;
    *(int *)arg = 1;
    return 1;
}

static void delete_bucket(struct s3_req *s) {
    char err[MKV_ERRLEN], prefix[80];
    int found = 0;
    if (s3_bucket_exists(s, s->bucket) != 1) return;
    if (!store_listable(2000, err)) {
        log_limited(LOG_INDEX, "S3 DeleteBucket %s: %s", s->bucket, err);
        s3_error(s, "ServiceUnavailable", "The index is still being loaded; try again.");
        return;
    }
    snprintf(prefix, sizeof(prefix), "/%s/", s->bucket);
    if (store_list(0, prefix, strlen(prefix), NULL, 0, 0, any_key, &found, err) != MKV_OK ||
        store_list(1, prefix, strlen(prefix), NULL, 0, 0, any_key, &found, err) != MKV_OK) {
        log_msg("S3 DeleteBucket %s: %s", s->bucket, err);
        s3_error(s, "InternalError", "We encountered an internal error.");
        return;
    }
    if (found) {
        s3_error(s, "BucketNotEmpty", "The bucket you tried to delete is not empty");
        return;
    }
    if (s3meta_bucket_delete(s->bucket, err) != MKV_OK) {
        log_msg("S3 DeleteBucket %s: %s", s->bucket, err);
        s3_error(s, "InternalError", "We encountered an internal error.");
        return;
    }
    s->reply.status = 204;
}

/* --- routing ------------------------------------------------------------ */

/* Query arguments that select an operation we do not have. */
static const char *const s3_unsupported[] = {
    "accelerate", "acl", "analytics", "attributes", "cors", "encryption",
    "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "logging",
    "metrics", "notification", "object-lock", "ownershipControls", "policy",
    "policyStatus", "publicAccessBlock", "replication", "requestPayment",
    "restore", "retention", "select", "tagging", "torrent", "versionId",
    "versioning", "versions", "website",
};

static void route(struct s3_req *s) {
    const char *m = s->r.method, *p = s->path + 1, *slash;
    size_t blen;
    int get = strcmp(m, "GET") == 0, head = strcmp(m, "HEAD") == 0,
        put = strcmp(m, "PUT") == 0, del = strcmp(m, "DELETE") == 0,
        post = strcmp(m, "POST") == 0;

    for (size_t i = 0; i < sizeof(s3_unsupported) / sizeof(s3_unsupported[0]); i++) {
        if (s3_arg(s, s3_unsupported[i])) {
            s3_error(s, "NotImplemented", "?%s is not implemented by cmkv",
                     s3_unsupported[i]);
            return;
        }
    }
    if (*p == '\0') { /* the service */
        if (get) s->op = S3_LIST_BUCKETS;
        else s3_error(s, "MethodNotAllowed", "The specified method is not allowed against this resource.");
        return;
    }
    slash = strchr(p, '/');
    blen = slash ? (size_t)(slash - p) : strlen(p);
    if (!bucket_name_ok(p, blen)) {
        s3_error(s, "InvalidBucketName", "The specified bucket is not valid.");
        return;
    }
    memcpy(s->bucket, p, blen);
    s->bucket[blen] = '\0';
    if (slash == NULL || slash[1] == '\0') { /* the bucket */
        if (get && s3_arg(s, "location")) s->op = S3_BUCKET_LOCATION;
        else if (get && s3_arg(s, "uploads")) s->op = S3_LIST_UPLOADS;
        else if (get) s->op = S3_LIST_OBJECTS;
        else if (put) s->op = S3_CREATE_BUCKET;
        else if (head) s->op = S3_HEAD_BUCKET;
        else if (del) s->op = S3_DELETE_BUCKET;
        else if (post && s3_arg(s, "delete")) s->op = S3_DELETE_OBJECTS;
        else s3_error(s, "MethodNotAllowed", "The specified method is not allowed against this resource.");
        if (s->op == S3_LIST_UPLOADS)
            s3_error(s, "NotImplemented", "ListMultipartUploads is not implemented by cmkv");
        return;
    }
    if (key_unescape(slash + 1, strlen(slash + 1), s->key, MKV_KEY_MAX, &s->keylen) != KEY_OK) {
        s3_error(s, "InvalidArgument", "The key is not a valid percent-encoded string.");
        return;
    }
    s->nkeylen = s3_native_key(s->bucket, s->key, s->keylen, s->nkey);
    if (s->nkeylen == 0) {
        s3_error(s, "KeyTooLongError", "Your key is too long (at most %d bytes with the bucket)",
                 MKV_KEY_MAX - 2);
        return;
    }
    if (put && s3_arg(s, "uploadId") && s3_arg(s, "partNumber")) {
        if (s3_header(s, "x-amz-copy-source"))
            s3_error(s, "NotImplemented", "UploadPartCopy is not implemented by cmkv");
        s->op = S3_UPLOAD_PART;
    } else if (put && s3_header(s, "x-amz-copy-source")) {
        s->op = S3_COPY_OBJECT;
    } else if (put) {
        s->op = S3_PUT_OBJECT;
    } else if (get && s3_arg(s, "uploadId")) {
        s->op = S3_LIST_PARTS;
    } else if (get) {
        s->op = S3_GET_OBJECT;
    } else if (head) {
        s->op = S3_HEAD_OBJECT;
    } else if (del && s3_arg(s, "uploadId")) {
        s->op = S3_ABORT_UPLOAD;
    } else if (del) {
        s->op = S3_DELETE_OBJECT;
    } else if (post && s3_arg(s, "uploads")) {
        s->op = S3_CREATE_UPLOAD;
    } else if (post && s3_arg(s, "uploadId")) {
        s->op = S3_COMPLETE_UPLOAD;
    } else {
        s3_error(s, "MethodNotAllowed", "The specified method is not allowed against this resource.");
    }
}

/* --- requests ----------------------------------------------------------- */

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind,
                                      const char *name, const char *value) {
    struct s3_req *s = cls;
    (void)kind;
    if (s->nhdrs < S3_HEADERS_MAX) {
        s->hdrs[s->nhdrs].name = name;
        s->hdrs[s->nhdrs].value = value ? value : "";
        s->nhdrs++;
    }
    return MHD_YES;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *name,
                                   const char *value) {
    struct s3_req *s = cls;
    (void)kind;
    if (s->nargs < S3_ARGS_MAX) {
        s->args[s->nargs].name = name;
        s->args[s->nargs].value = value;
        s->nargs++;
    }
    return MHD_YES;
}

static void s3_destroy(struct req *rq) {
    struct s3_req *s = (struct s3_req *)rq;
    if (s->op_free) s->op_free(s);
    else free(s->op_state);
    EVP_MD_CTX_free(s->sha);
    EVP_MD_CTX_free(s->ch.h);
    checksum_free(&s->ch.sum);
    buf_free(&s->xml);
    buf_free(&s->reply.body);
    for (int i = 0; i < s->reply.nheaders; i++) {
        free(s->reply.hname[i]);
        free(s->reply.hvalue[i]);
    }
    if (s->reply.custom) MHD_destroy_response(s->reply.custom);
    free(s);
}

/* s3_abort -- shutdown: the answer is 503; stop what the operation runs. */
static int s3_abort(struct req *rq) {
    struct s3_req *s = (struct s3_req *)rq;
    s3_error(s, "ServiceUnavailable", "The server is shutting down.");
    if (s->put) put_fail(s->put, 503);
    if (s->op_abort) s->op_abort(s);
    return 1;
}

static const char *static_method(const char *m) {
    static const char *const known[] = {"GET", "HEAD", "PUT", "POST", "DELETE"};
    for (size_t i = 0; i < 5; i++)
        if (strcmp(m, known[i]) == 0) return known[i];
    return "OTHER";
}

/* begin -- the first call: parse, authenticate, route, open the body. */
static void begin(struct s3_req *s) {
    int64_t size = put_body_size(s->c);
    int takes_body;

    MHD_get_connection_values(s->c, MHD_HEADER_KIND, collect_header, s);
    MHD_get_connection_values(s->c, MHD_GET_ARGUMENT_KIND, collect_arg, s);
    s->dlen = size > 0 ? size : size == 0 ? 0 : -1;
    if (s->path[0] != '/') {
        s3_error(s, "InvalidRequest", "The request target must be a path.");
        return;
    }
    if (size == -2) {
        s3_error(s, "InvalidRequest", "Malformed Content-Length or Transfer-Encoding.");
        return;
    }
    s3auth_check(s);
    if (s->ecode) return;
    s3multi_sweep(); /* at most once a minute, on whichever loop comes */
    route(s);
    if (s->ecode) return;
    takes_body = s->op == S3_PUT_OBJECT || s->op == S3_UPLOAD_PART;
    if (s->op == S3_DELETE_OBJECTS || s->op == S3_COMPLETE_UPLOAD || s->op == S3_CREATE_BUCKET)
        s->body = S3_BODY_XML;
    else if (!takes_body)
        s->body = S3_BODY_DISCARD;
    if (s->op != S3_LIST_BUCKETS && s->op != S3_CREATE_BUCKET &&
        s3_bucket_exists(s, s->bucket) != 1)
        return;
    if (s->op == S3_PUT_OBJECT) s3obj_put_begin(s);
    else if (s->op == S3_UPLOAD_PART) s3multi_part_begin(s);
}

/* run -- the last call: the body is in and checked; do the operation. */
static void run(struct s3_req *s) {
    switch (s->op) {
    case S3_LIST_BUCKETS: list_buckets(s); break;
    case S3_CREATE_BUCKET: create_bucket(s); break;
    case S3_HEAD_BUCKET: s->reply.status = 200; break;
    case S3_DELETE_BUCKET: delete_bucket(s); break;
    case S3_BUCKET_LOCATION:
        s3_xml_begin(s, "LocationConstraint");
        buf_adds(&s->reply.body, "</LocationConstraint>");
        s->reply.status = 200;
        break;
    case S3_LIST_OBJECTS: s3list_objects_run(s); break;
    case S3_DELETE_OBJECTS: s3obj_delete_many_run(s); break;
    case S3_PUT_OBJECT: break; /* once its put is over, below */
    case S3_COPY_OBJECT: s3obj_copy_run(s); break;
    case S3_GET_OBJECT:
    case S3_HEAD_OBJECT: s3obj_get_run(s); break;
    case S3_DELETE_OBJECT: s3obj_delete_run(s); break;
    case S3_CREATE_UPLOAD: s3multi_create_run(s); break;
    case S3_UPLOAD_PART: break;
    case S3_COMPLETE_UPLOAD: s3multi_complete_run(s); break;
    case S3_ABORT_UPLOAD: s3multi_abort_run(s); break;
    case S3_LIST_PARTS: s3multi_list_parts_run(s); break;
    default: s3_error(s, "NotImplemented", "Not implemented by cmkv");
    }
}

size_t s3_sink(struct s3_req *s, const char *p, size_t n) {
    switch (s->body) {
    case S3_BODY_PUT: {
        size_t left = n;
        if (s->put == NULL) return n;
        put_feed(s->put, p, &left);
        return n - left;
    }
    case S3_BODY_XML:
        if (s->xml.len + n > S3_XML_MAX) {
            s3_error(s, "MalformedXML", "The XML you provided is too large.");
            s->body = S3_BODY_DISCARD;
            return n;
        }
        buf_add(&s->xml, p, n);
        return n;
    default:
        return n;
    }
}

/* request_id -- 16 random hex digits for x-amz-request-id. */
static void request_id(char out[17]) {
    unsigned char r[8];
    static const char hex[] = "0123456789ABCDEF";
    if (RAND_bytes(r, sizeof(r)) != 1) memset(r, 0, sizeof(r));
    for (int i = 0; i < 8; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[16] = '\0';
}

/* respond -- send the reply, or the error document. */
static enum MHD_Result respond(struct s3_req *s) {
    struct MHD_Response *resp;
    char rid[17];
    int head = strcmp(s->r.method, "HEAD") == 0;
    unsigned status;
    uint64_t len;

    if (s->r.done && s->r.status == 503 && s->ecode == NULL)
        s3_error(s, "ServiceUnavailable", "The server is shutting down.");
    request_id(rid);
    if (s->ecode) {
        struct buf b = {0};
        char *body;
        size_t blen;
        if (s->estatus >= 500 || log_verbose)
            log_msg("S3 %s %s: %s: %s", s->r.method, s->r.url, s->ecode, s->emsg);
        if (!head) {
            buf_addf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                         "<Message>", s->ecode);
            buf_add_xml(&b, s->emsg, strlen(s->emsg));
            buf_adds(&b, "</Message><Resource>");
            buf_add_xml(&b, s->path, strlen(s->path));
            buf_addf(&b, "</Resource><RequestId>%s</RequestId></Error>", rid);
        }
        body = buf_take(&b, &blen);
        resp = MHD_create_response_from_buffer(blen, body ? body : "",
                                               body ? MHD_RESPMEM_MUST_FREE
                                                    : MHD_RESPMEM_PERSISTENT);
        if (resp == NULL) {
            free(body);
            return MHD_NO;
        }
        if (!head) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/xml");
        status = s->estatus;
        len = blen;
    } else if (s->reply.custom) {
        resp = s->reply.custom;
        s->reply.custom = NULL;
        status = s->reply.status;
        len = head ? 0 : s->reply.custom_len;
    } else {
        size_t blen;
        char *body = buf_take(&s->reply.body, &blen);
        if (body == NULL && s->reply.body.failed) {
            s3_error(s, "InternalError", "Out of memory.");
            return respond(s);
        }
        resp = MHD_create_response_from_buffer(blen, body ? body : "",
                                               body ? MHD_RESPMEM_MUST_FREE
                                                    : MHD_RESPMEM_PERSISTENT);
        if (resp == NULL) {
            free(body);
            return MHD_NO;
        }
        if (blen > 0) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/xml");
        status = s->reply.status ? s->reply.status : 200;
        len = blen;
    }
    if (!s->ecode)
        for (int i = 0; i < s->reply.nheaders; i++)
            MHD_add_response_header(resp, s->reply.hname[i], s->reply.hvalue[i]);
    MHD_add_response_header(resp, "x-amz-request-id", rid);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, "cmkv");
    s->answered = 1;
    req_finish(&s->r, status);
    return http_queue(s->c, s->r.method, s->r.url, status, resp, len);
}

/* early -- an error on the first call of a request with a body: answer
 * after the body when it is small, else at once (libmicrohttpd then
 * closes the connection). */
static int early(struct s3_req *s) {
    const char *expect = s3_header(s, "Expect");
    if (s->ecode == NULL) return 0;
    s->body = S3_BODY_DISCARD;
    if (s->dlen == 0) return 0;
    if (expect && strcasecmp(expect, "100-continue") == 0) return 1;
    return s->dlen < 0 || s->dlen > S3_DISCARD_MAX;
}

static enum MHD_Result s3_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls) {
    struct s3_req *s = *con_cls;
    (void)cls;

    if (s == NULL || http_nul_in_path(s)) {
        int nul = s != NULL;
        http_begin(c, version);
        *con_cls = NULL;
        s = calloc(1, sizeof(*s));
        if (s == NULL || req_init(&s->r, REQ_S3, c, static_method(method), url, s3_abort,
                                  s3_destroy) != MKV_OK) {
            free(s);
            return http_respond(c, method, url, 503);
        }
        *con_cls = s;
        s->c = c;
        s->path = s->r.url;
        if (nul) s3_error(s, "InvalidRequest", "A NUL byte in the path.");
        else if (loop_stopping()) s3_error(s, "ServiceUnavailable", "The server is shutting down.");
        else begin(s);
        if (early(s)) return respond(s);
        return MHD_YES;
    }
    if (s->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t took;
        if (s->ecode != NULL || s->body == S3_BODY_DISCARD || s->body == S3_BODY_NONE) {
            s->discarded += (int64_t)*upload_data_size;
            *upload_data_size = 0;
            if (s->ecode && s->discarded > S3_DISCARD_MAX) return respond(s);
            return MHD_YES;
        }
        took = s3auth_body(s, upload_data, *upload_data_size);
        *upload_data_size -= took;
        if (s->ecode && s->put) put_fail(s->put, 400);
        return MHD_YES;
    }
    if (!s->body_ended) {
        s->body_ended = 1;
        if (s->ecode == NULL) s3auth_body_end(s);
        if (s->put) { /* the put's own outcome decides */
            if (s->ecode) put_fail(s->put, 400);
            put_end(s->put);
        }
        if (s->ecode == NULL) run(s);
    }
    if (s->put && put_wait(s->put)) return MHD_YES;
    if (s->put && s->op == S3_PUT_OBJECT && !s->waiting && !s->ecode && s->reply.status == 0)
        s3obj_put_run(s);
    if (s->put && s->op == S3_UPLOAD_PART && !s->waiting && !s->ecode && s->reply.status == 0)
        s3multi_part_run(s);
    if (s->waiting && !(s->r.done && s->r.status == 503)) {
        req_suspend(&s->r);
        return MHD_YES;
    }
    return respond(s);
}

static void s3_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    struct s3_req *s = *con_cls;
    (void)cls;
    (void)toe;
    http_end(c);
    *con_cls = NULL;
    if (s == NULL || http_nul_in_path(s)) return;
    if (s->put) {
        put_close(s->put);
        s->put = NULL;
    }
    /* The client is gone: a read it was waiting for (or receiving) stops;
     * a write goes on to its end, as a native one does. */
    if ((s->op == S3_GET_OBJECT || s->op == S3_HEAD_OBJECT || s->op == S3_LIST_OBJECTS) &&
        s->op_abort)
        s->op_abort(s);
    req_closed(&s->r);
}

struct MHD_Daemon *s3_daemon(int fd, unsigned limit, unsigned timeout_s) {
    return http_start_daemon(fd, limit, timeout_s, s3_access, s3_completed);
}

int s3_init(const char *meta_path, const char *creds_path, char *err) {
    if (creds_load(creds_path, err) != MKV_OK) return MKV_ERR;
    return s3meta_open(meta_path, err);
}

void s3_cleanup(void) {
    s3meta_close();
    creds_free();
}
