/* s3.h -- the S3 endpoint (--s3-port): a second libmicrohttpd daemon on
 * every event loop, on its own listening socket, serving S3's REST API in
 * path style (http://host:port/BUCKET/KEY). Object KEY of BUCKET is the
 * native key /BUCKET/KEY, so both APIs see the same values.
 *
 * A request lives on the loop that accepted it, as a struct s3_req (a
 * req, req.h), from the first call of the access handler to the moment
 * libmicrohttpd is done with it and no work of its own is under way:
 *   first call   s3.c parses the target, checks the signature (s3auth.c)
 *                and routes; an operation with a body opens its sink
 *                (a put for PutObject and UploadPart, a buffer for XML)
 *   body calls   s3auth.c undoes aws-chunked framing and hashes the
 *                payload; the bytes go to the sink
 *   last call    the payload is checked; the operation runs (s3obj.c,
 *                s3list.c, s3multi.c), maybe waiting on volume transfers
 *                on this loop, then s3.c sends its reply or the error.
 * The modules share this header; nothing here is used by the native
 * front. */
#ifndef MKV_S3_H
#define MKV_S3_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <microhttpd.h>
#include <openssl/evp.h>

#include "buf.h"
#include "checksum.h"
#include "creds.h"
#include "mkv.h"
#include "req.h"
#include "sigv4.h"

#define S3_ARGS_MAX 32            /* query pairs we look at */
#define S3_HEADERS_MAX 64         /* request headers the signature may cover */
#define S3_XML_MAX (2 * 1024 * 1024) /* largest XML request body */
#define S3_PUT_MAX (5LL << 30)    /* S3's largest single PUT: 5 GiB */
#define S3_PART_MIN (5 * 1024 * 1024) /* smallest part but the last */
#define S3_REPLY_HEADERS 8

enum s3_op {
    S3_NONE = 0,
    S3_LIST_BUCKETS, S3_CREATE_BUCKET, S3_HEAD_BUCKET, S3_DELETE_BUCKET,
    S3_BUCKET_LOCATION, S3_LIST_OBJECTS, S3_DELETE_OBJECTS, S3_LIST_UPLOADS,
    S3_PUT_OBJECT, S3_COPY_OBJECT, S3_GET_OBJECT, S3_HEAD_OBJECT, S3_DELETE_OBJECT,
    S3_CREATE_UPLOAD, S3_UPLOAD_PART, S3_COMPLETE_UPLOAD, S3_ABORT_UPLOAD, S3_LIST_PARTS
};

/* Where the request's body goes. */
enum s3_body { S3_BODY_NONE = 0, S3_BODY_DISCARD, S3_BODY_PUT, S3_BODY_XML };

/* How the payload is signed (x-amz-content-sha256). */
enum s3_payload { S3_PAY_UNSIGNED = 0, S3_PAY_SHA256, S3_PAY_STREAMING, S3_PAY_TRAILER };

/* The aws-chunked decoder. STREAMING-AWS4-HMAC-SHA256-PAYLOAD:
 *     HEX(size);chunk-signature=SIG\r\n DATA \r\n ... 0;chunk-signature=SIG\r\n\r\n
 * each SIG chaining on the one before, the first on the seed (the
 * Authorization header's signature). STREAMING-UNSIGNED-PAYLOAD-TRAILER:
 *     HEX(size)\r\n DATA \r\n ... 0\r\n NAME:VALUE\r\n ... \r\n
 * with the checksum that x-amz-trailer names among the trailers. */
enum s3_chunk_state { S3C_HEAD = 0, S3C_DATA, S3C_CRLF, S3C_TRAILER, S3C_DONE };
struct s3_chunked {
    enum s3_chunk_state state;
    char line[192];               /* the chunk header being read */
    size_t linelen;
    uint64_t left;                /* data bytes left in this chunk */
    int last;                     /* this is the 0-sized final chunk */
    char sig[SIGV4_HEXLEN + 1];   /* the chunk's claimed signature */
    char prev[SIGV4_HEXLEN + 1];  /* the signature it chains on */
    EVP_MD_CTX *h;                /* SHA-256 of this chunk's data */
    struct checksum sum;          /* the trailer's checksum, as data goes by */
    char trailer[48];             /* its header name (lower-case) */
    char claimed[48];             /* the value the trailer gave */
};

struct s3_auth {
    char id[CREDS_ID_MAX + 1];
    unsigned char key[32];        /* the signing key, for chunk signatures */
    char amzdate[17];             /* YYYYMMDDTHHMMSSZ */
    char scope[160];              /* DATE/REGION/s3/aws4_request */
    enum s3_payload payload;
    char sha256[SIGV4_HEXLEN + 1]; /* the payload hash claimed (S3_PAY_SHA256) */
    int presigned;
};

struct s3_arg {
    const char *name;             /* as sent (raw), libmicrohttpd's */
    const char *value;            /* raw, or NULL without '=' */
};

struct s3_reply {
    unsigned status;
    struct buf body;              /* XML, or empty */
    int nheaders;
    char *hname[S3_REPLY_HEADERS], *hvalue[S3_REPLY_HEADERS]; /* malloc'd */
    struct MHD_Response *custom;  /* a streamed answer (GetObject), or NULL */
    uint64_t custom_len;          /* its length, for the log */
};

struct s3_req {
    struct req r;                 /* first; its conn is the client */
    struct MHD_Connection *c;     /* the client (until closed) */
    enum s3_op op;
    int body_ended;               /* the last call came */
    int waiting;                  /* an operation waits for transfers */
    int answered;

    /* The request. */
    const char *path;             /* raw, r.url */
    struct s3_arg args[S3_ARGS_MAX];
    int nargs;
    struct sigv4_header hdrs[S3_HEADERS_MAX];
    int nhdrs;
    char bucket[64];
    size_t keylen;
    char key[MKV_KEY_MAX];        /* the S3 key, decoded */
    size_t nkeylen;
    char nkey[MKV_KEY_MAX];       /* the native key, /BUCKET/KEY */

    /* The first error; answered at the end instead of the operation. */
    const char *ecode;
    unsigned estatus;
    char emsg[256];

    /* The body. */
    struct s3_auth auth;
    struct s3_chunked ch;
    EVP_MD_CTX *sha;              /* S3_PAY_SHA256: the payload's hash */
    enum s3_body body;
    int64_t dlen;                 /* payload length expected, -1 unknown */
    int64_t got;                  /* payload bytes seen */
    int64_t discarded;
    struct buf xml;
    struct put_req *put;          /* S3_BODY_PUT's sink */

    /* The operation's own state and hooks (NULL when none). */
    void *op_state;
    void (*op_abort)(struct s3_req *s); /* shutdown: stop its transfers */
    void (*op_free)(struct s3_req *s);  /* free op_state; NULL: op_state is
                                           one malloc'd block, freed whole */

    struct s3_reply reply;
};

/* s3_daemon -- for loop.c: the S3 front's libmicrohttpd daemon on fd. */
struct MHD_Daemon *s3_daemon(int fd, unsigned limit, unsigned timeout_s);

/* s3_init -- before the loops start: open the S3 metadata file (path)
 * and load the credentials (creds_path). MKV_ERR with err set. */
int s3_init(const char *meta_path, const char *creds_path, char *err);

/* s3_cleanup -- after the loops stopped. */
void s3_cleanup(void);

/* s3_error -- the request fails with S3 error code (its status is S3's
 * for that code) and a message; the first error wins. */
void s3_error(struct s3_req *s, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* s3_error_status -- the error for a status from put.c or erase.c. */
void s3_error_status(struct s3_req *s, unsigned status);

/* s3_put_body -- the request's body is to be stored as key (put.c:
 * replacing, its md5 kept, the last byte held until the signature and
 * digests are checked): opens the put and makes it the body's sink, or
 * answers the error put_open gave. */
void s3_put_body(struct s3_req *s, const char *key, size_t keylen);

/* s3_wait -- the operation goes on after this call (s->r.busy held by
 * it); s3_wake -- it is over: the reply (or error) is set. */
void s3_wait(struct s3_req *s);
void s3_wake(struct s3_req *s);

/* s3_header -- the value of request header name (case-insensitive;
 * the first of several), or NULL. */
const char *s3_header(const struct s3_req *s, const char *name);

/* s3_arg -- the raw value of query argument name ("" when it had no
 * '='), or NULL when absent; s3_arg_decoded -- the same percent-decoded
 * into out (cap bytes), MKV_ERR when absent or malformed. */
const char *s3_arg(const struct s3_req *s, const char *name);
int s3_arg_decoded(const struct s3_req *s, const char *name, char *out, size_t cap,
                   size_t *len);

/* s3_reply_header -- add a header to the reply. */
void s3_reply_header(struct s3_req *s, const char *name, const char *value);

/* s3_xml_begin -- start the reply's XML document with <root xmlns=...>. */
void s3_xml_begin(struct s3_req *s, const char *root);

/* s3_iso_time -- t as 2006-02-03T16:45:09.000Z into out (32 bytes);
 * s3_http_time -- as an HTTP date. s3_parse_http_time -- the reverse
 * (-1 when malformed). */
void s3_iso_time(time_t t, char out[32]);
void s3_http_time(time_t t, char out[32]);
time_t s3_parse_http_time(const char *s);

/* s3_native_key -- "/" bucket "/" key into out (MKV_KEY_MAX): its
 * length, or 0 when too long. */
size_t s3_native_key(const char *bucket, const char *key, size_t keylen, char *out);

/* s3_bucket_exists -- 1 when bucket exists, 0 when not (NoSuchBucket
 * set), MKV_ERR (InternalError set). */
int s3_bucket_exists(struct s3_req *s, const char *bucket);

/* s3auth_check -- authenticate s (SigV4 in the Authorization header or
 * a presigned URL); sets an error when it fails. */
void s3auth_check(struct s3_req *s);

/* s3auth_body -- take body bytes: undo aws-chunked, hash, hand the
 * payload to s3_sink. Returns the bytes of data consumed (less when the
 * sink is full: the caller offers the rest again later). */
size_t s3auth_body(struct s3_req *s, const char *data, size_t n);

/* s3auth_body_end -- the body is over: MKV_OK when it is whole and its
 * hashes and signatures match, else MKV_ERR with the error set. */
int s3auth_body_end(struct s3_req *s);

/* s3_sink -- payload bytes for the operation's sink; returns how many it
 * took (less when a put's ring is full). */
size_t s3_sink(struct s3_req *s, const char *p, size_t n);

/* The operations. Each *_begin runs at the first call when the
 * operation takes a body (sets s->body and its sink); each *_run runs at
 * the last call with the body checked, and either sets s->reply or an
 * error, or calls s3_wait and later s3_wake. */
void s3obj_put_begin(struct s3_req *s);
void s3obj_put_run(struct s3_req *s);
void s3obj_get_run(struct s3_req *s);
void s3obj_delete_run(struct s3_req *s);
void s3obj_copy_run(struct s3_req *s);
void s3obj_delete_many_run(struct s3_req *s);
void s3list_objects_run(struct s3_req *s);
void s3multi_create_run(struct s3_req *s);
void s3multi_part_begin(struct s3_req *s);
void s3multi_part_run(struct s3_req *s);
void s3multi_complete_run(struct s3_req *s);
void s3multi_abort_run(struct s3_req *s);
void s3multi_list_parts_run(struct s3_req *s);

/* s3obj_etag -- the S3 ETag (quoted) of native key whose record md5 is
 * md5: the multipart form when s3meta has one for it. */
void s3obj_etag(const char *nkey, size_t nkeylen, const char *md5, char out[64]);

/* s3multi_sweep -- on a loop, at most once a minute: abort the uploads
 * older than the expiry, and remove parts whose upload is gone. */
void s3multi_sweep(void);

#endif
