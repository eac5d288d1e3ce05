/* s3multi.c -- S3 multipart uploads.
 *
 * An upload is a record in INDEX.s3 (s3meta.h: its bucket, key, start and
 * the parts stored). Each part is an ordinary value under the reserved
 * native key /.s3/UPLOADID/NNNNN, written through put.c as it arrives
 * (so on the volumes, with replicas, like any value) and recorded in the
 * upload once stored. CompleteMultipartUpload streams the parts, in
 * order, from the volumes through the index into one put of the object
 * (copy.c): the result is one value, one file per replica, readable
 * through both APIs and by the native redirect. Its ETag is S3's
 * multipart form, md5(the parts' binary md5s) "-" count, kept in
 * INDEX.s3 beside the value's own md5. Then the parts are removed.
 * An upload neither completed nor aborted within --s3-upload-expiry is
 * aborted by a sweep, which also removes parts whose upload is gone. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "copy.h"
#include "erase.h"
#include "http.h"
#include "key.h"
#include "log.h"
#include "placement.h"
#include "put.h"
#include "s3.h"
#include "s3meta.h"
#include "s3xml.h"
#include "store.h"

#define ERASE_PARALLEL 8
#define SWEEP_KEYS 1000           /* most part keys one sweep removes */

/* part_key -- the native key of part n of upload id, into out. */
static size_t part_key(const char *id, int n, char *out) {
    return (size_t)snprintf(out, MKV_KEY_MAX, "%s%s/%05d", KEY_RESERVED, id, n);
}

/* upload_of -- s's uploadId, checked against its bucket and key: 1 with
 * u filled (free it), else an error set. */
static int upload_of(struct s3_req *s, char id[S3META_UPLOADID_LEN + 1], struct s3meta_upload *u) {
    char err[MKV_ERRLEN];
    size_t n;
    int rc;
    /* (id ends where n says: strspn needs the NUL first.) */
    if (s3_arg_decoded(s, "uploadId", id, S3META_UPLOADID_LEN + 1, &n) != MKV_OK ||
        n != S3META_UPLOADID_LEN || (id[n] = '\0', strspn(id, "0123456789abcdef") != n)) {
        s3_error(s, "NoSuchUpload", "The specified upload does not exist.");
        return 0;
    }
    rc = s3meta_upload_get(id, u, err);
    if (rc < 0) {
        log_msg("S3 %s: %s", s->r.url, err);
        s3_error(s, "InternalError", "We encountered an internal error.");
        return 0;
    }
    if (rc == 0 || strcmp(u->bucket, s->bucket) != 0 || u->keylen != s->keylen ||
        memcmp(u->key, s->key, s->keylen) != 0) {
        if (rc == 1) s3meta_upload_free(u);
        s3_error(s, "NoSuchUpload", "The specified upload does not exist. The upload ID may be "
                                    "invalid, or the upload may have been aborted or completed.");
        return 0;
    }
    return 1;
}

/* --- removing parts ---------------------------------------------------- */

/* A batch of native keys to erase, ERASE_PARALLEL at once; then then(). */
struct eraser {
    char **keys;                  /* NUL-terminated copies */
    size_t *lens;
    int n, started, running, stepping;
    struct erase *e[ERASE_PARALLEL];
    void (*then)(void *arg);
    void *arg;
};

struct slot {
    struct eraser *er;
    int i;
};

static void eraser_free(struct eraser *er) {
    for (int i = 0; i < er->n; i++) free(er->keys[i]);
    free(er->keys);
    free(er->lens);
    free(er);
}

static void eraser_step(struct eraser *er);

static void one_erased(void *arg, unsigned status) {
    struct slot *sl = arg;
    struct eraser *er = sl->er;
    if (status != 204 && status != 404)
        log_msg("S3 multipart: removing %.*s: %u (the sweep tries again)", (int)er->lens[sl->i],
                er->keys[sl->i], status);
    free(sl);
    er->running--;
    eraser_step(er);
}

static void eraser_step(struct eraser *er) {
    if (er->stepping) return;
    er->stepping = 1;
    while (er->running < ERASE_PARALLEL && er->started < er->n) {
        struct slot *sl = malloc(sizeof(*sl));
        struct erase *e;
        int i = er->started++;
        if (sl == NULL) continue;
        sl->er = er;
        sl->i = i;
        er->running++;
        if (erase_start(&e, er->keys[i], er->lens[i], 0, "DELETE", er->keys[i], one_erased,
                        sl) != MKV_OK) {
            free(sl);
            er->running--;
        }
    }
    er->stepping = 0;
    if (er->running > 0 || er->started < er->n) return;
    if (er->then) er->then(er->arg);
    eraser_free(er);
}

static int collect_key(const char *key, size_t keylen, void *arg) {
    struct eraser *er = arg;
    if (er->n == SWEEP_KEYS) return 1;
    if (er->n % 64 == 0) {
        char **k2 = realloc(er->keys, (size_t)(er->n + 64) * sizeof(*k2));
        size_t *l2 = k2 ? realloc(er->lens, (size_t)(er->n + 64) * sizeof(*l2)) : NULL;
        if (k2) er->keys = k2;
        if (l2 == NULL) return 1;
        er->lens = l2;
    }
    er->keys[er->n] = malloc(keylen + 1); /* NUL-terminated: also its url for logs */
    if (er->keys[er->n] == NULL) return 1;
    memcpy(er->keys[er->n], key, keylen);
    er->keys[er->n][keylen] = '\0';
    er->lens[er->n] = keylen;
    er->n++;
    return 0;
}

/* erase_parts -- remove every part of upload id (live or pending), then
 * then(arg). The erases run on this loop on their own. */
static void erase_parts(const char *id, void (*then)(void *arg), void *arg) {
    char prefix[64], err[MKV_ERRLEN];
    struct eraser *er = calloc(1, sizeof(*er));
    if (er == NULL) {
        if (then) then(arg);
        return;
    }
    er->then = then;
    er->arg = arg;
    snprintf(prefix, sizeof(prefix), "%s%s/", KEY_RESERVED, id);
    if (store_list(0, prefix, strlen(prefix), NULL, 0, 0, collect_key, er, err) != MKV_OK ||
        store_list(1, prefix, strlen(prefix), NULL, 0, 0, collect_key, er, err) != MKV_OK)
        log_msg("S3 multipart: parts of %s are left for a later sweep: %s", id, err);
    eraser_step(er);
}

/* --- Create, UploadPart, ListParts, Abort ------------------------------ */

void s3multi_create_run(struct s3_req *s) {
    struct s3meta_upload u;
    unsigned char r[16];
    char id[S3META_UPLOADID_LEN + 1], err[MKV_ERRLEN];
    struct buf *b = &s->reply.body;

    if (RAND_bytes(r, sizeof(r)) != 1) {
        s3_error(s, "InternalError", "No randomness for an upload id.");
        return;
    }
    for (int i = 0; i < 16; i++) snprintf(id + 2 * i, 3, "%02x", r[i]);
    memset(&u, 0, sizeof(u));
    u.created = time(NULL);
    snprintf(u.bucket, sizeof(u.bucket), "%s", s->bucket);
    memcpy(u.key, s->key, s->keylen);
    u.keylen = s->keylen;
    if (s3meta_upload_put(id, &u, err) != MKV_OK) {
        log_msg("S3 %s: %s", s->r.url, err);
        s3_error(s, "InternalError", "We encountered an internal error.");
        return;
    }
    s3_xml_begin(s, "InitiateMultipartUploadResult");
    buf_addf(b, "<Bucket>%s</Bucket><Key>", s->bucket);
    buf_add_xml(b, s->key, s->keylen);
    buf_addf(b, "</Key><UploadId>%s</UploadId></InitiateMultipartUploadResult>", id);
    s->reply.status = 200;
}

/* part_number -- partNumber as 1..10000, or 0 (an error set). */
static int part_number(struct s3_req *s) {
    const char *v = s3_arg(s, "partNumber");
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;
    if (v == NULL || *v < '0' || *v > '9' || *end != '\0' || n < 1 || n > S3META_PARTS_MAX) {
        s3_error(s, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
        return 0;
    }
    return (int)n;
}

struct part_state {
    char id[S3META_UPLOADID_LEN + 1];
    int number;
};

void s3multi_part_begin(struct s3_req *s) {
    struct s3meta_upload u;
    struct part_state *p;
    char key[MKV_KEY_MAX];
    size_t kl;
    int n;

    if ((n = part_number(s)) == 0) return;
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        s3_error(s, "InternalError", "Out of memory.");
        return;
    }
    s->op_state = p;
    p->number = n;
    if (!upload_of(s, p->id, &u)) return;
    s3meta_upload_free(&u);
    if (s->dlen < 0) {
        s3_error(s, "MissingContentLength", "You must provide the Content-Length HTTP header.");
        return;
    }
    if (s->dlen > S3_PUT_MAX || (http_cfg->max_size > 0 && s->dlen > http_cfg->max_size)) {
        s3_error(s, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
        return;
    }
    kl = part_key(p->id, n, key);
    s3_put_body(s, key, kl);
}

void s3multi_part_run(struct s3_req *s) {
    struct part_state *p = s->op_state;
    struct s3meta_part part;
    char err[MKV_ERRLEN], etag[40];
    unsigned st = put_status(s->put);
    int rc;

    if (st != 201) {
        s3_error_status(s, st);
        return;
    }
    part.number = p->number;
    part.size = put_received(s->put);
    memcpy(part.md5, put_md5(s->put), 33);
    rc = s3meta_part_set(p->id, &part, err);
    if (rc < 0) {
        log_msg("S3 %s: %s", s->r.url, err);
        s3_error(s, "InternalError", "We encountered an internal error.");
        return;
    }
    if (rc == 0) { /* aborted meanwhile: the sweep removes the part */
        s3_error(s, "NoSuchUpload", "The upload was aborted or completed meanwhile.");
        return;
    }
    snprintf(etag, sizeof(etag), "\"%s\"", part.md5);
    s3_reply_header(s, "ETag", etag);
    s->reply.status = 200;
}

void s3multi_list_parts_run(struct s3_req *s) {
    char id[S3META_UPLOADID_LEN + 1], t[32];
    struct s3meta_upload u;
    struct buf *b = &s->reply.body;
    const char *mp = s3_arg(s, "max-parts"), *pm = s3_arg(s, "part-number-marker");
    long max = mp ? strtol(mp, NULL, 10) : 1000, marker = pm ? strtol(pm, NULL, 10) : 0;
    int shown = 0, truncated = 0, last = 0;

    if (max <= 0 || max > 1000) max = 1000;
    if (!upload_of(s, id, &u)) return;
    s3_iso_time(u.created, t);
    s3_xml_begin(s, "ListPartsResult");
    buf_addf(b, "<Bucket>%s</Bucket><Key>", s->bucket);
    buf_add_xml(b, s->key, s->keylen);
    buf_addf(b, "</Key><UploadId>%s</UploadId><PartNumberMarker>%ld</PartNumberMarker>", id,
             marker);
    for (int i = 0; i < u.nparts; i++) {
        const struct s3meta_part *p = &u.parts[i];
        if (p->number <= marker) continue;
        if (shown == max) {
            truncated = 1;
            break;
        }
        buf_addf(b, "<Part><PartNumber>%d</PartNumber><LastModified>%s</LastModified>"
                    "<ETag>&quot;%s&quot;</ETag><Size>%lld</Size></Part>",
                 p->number, t, p->md5, (long long)p->size);
        last = p->number;
        shown++;
    }
    buf_addf(b, "<NextPartNumberMarker>%d</NextPartNumberMarker><MaxParts>%ld</MaxParts>"
                "<IsTruncated>%s</IsTruncated><StorageClass>STANDARD</StorageClass>"
                "</ListPartsResult>",
             last, max, truncated ? "true" : "false");
    s3meta_upload_free(&u);
    s->reply.status = 200;
}

static void parts_gone(void *arg) {
    struct s3_req *s = arg;
    s3_wake(s);
}

void s3multi_abort_run(struct s3_req *s) {
    char id[S3META_UPLOADID_LEN + 1], err[MKV_ERRLEN];
    struct s3meta_upload u;

    if (!upload_of(s, id, &u)) return;
    s3meta_upload_free(&u);
    if (s3meta_upload_delete(id, err) != MKV_OK) {
        log_msg("S3 %s: %s", s->r.url, err);
        s3_error(s, "InternalError", "We encountered an internal error.");
        return;
    }
    s->reply.status = 204;
    s3_wait(s);
    erase_parts(id, parts_gone, s);
}

/* --- Complete ------------------------------------------------------------- */

struct complete_state {
    char id[S3META_UPLOADID_LEN + 1];
    struct copy *cp;
    int n;                        /* parts named in the request */
    int bad;
    int numbers[S3META_PARTS_MAX];
    char etags[S3META_PARTS_MAX][33];
    char etag[S3META_ETAG_MAX + 1]; /* the multipart ETag */
    int cur;                      /* the Part being read */
    char cur_etag[33];
};

static void complete_abort(struct s3_req *s) {
    struct complete_state *c = s->op_state;
    if (c == NULL || c->cp == NULL) return;
    copy_cancel(c->cp);
    c->cp = NULL;
    s3_wake(s);
}

static int complete_xml(void *arg, char path[][S3XML_NAME], int depth, const char *text,
                        size_t len) {
    struct complete_state *c = arg;
    if (strcmp(path[0], "CompleteMultipartUpload") != 0) {
        c->bad = 1;
        return MKV_ERR;
    }
    if (depth == 3 && strcmp(path[1], "Part") == 0) {
        if (strcmp(path[2], "PartNumber") == 0) {
            char *end;
            long n = strtol(text, &end, 10);
            c->cur = *text >= '0' && *text <= '9' && *end == '\0' && n >= 1 &&
                             n <= S3META_PARTS_MAX ? (int)n : -1;
        } else if (strcmp(path[2], "ETag") == 0) {
            const char *e = text;
            size_t l = len;
            if (l >= 2 && e[0] == '"' && e[l - 1] == '"') e++, l -= 2;
            if (l >= sizeof(c->cur_etag)) l = 0; /* no part has such an ETag */
            memcpy(c->cur_etag, e, l);
            c->cur_etag[l] = '\0';
        }
    }
    if (depth == 2 && strcmp(path[1], "Part") == 0) {
        if (c->cur <= 0 || c->n == S3META_PARTS_MAX) {
            c->bad = 1;
            return MKV_ERR;
        }
        c->numbers[c->n] = c->cur;
        memcpy(c->etags[c->n], c->cur_etag, sizeof(c->cur_etag));
        c->n++;
        c->cur = 0;
        c->cur_etag[0] = '\0';
    }
    return MKV_OK;
}

static void completed_parts_gone(void *arg) {
    struct s3_req *s = arg;
    s3_wake(s);
}

static void completed(void *arg, unsigned status, const char *md5) {
    struct s3_req *s = arg;
    struct complete_state *c = s->op_state;
    struct buf *b = &s->reply.body;
    char err[MKV_ERRLEN];

    c->cp = NULL;
    if (status != 201) {
        if (status == 404) s3_error(s, "InvalidPart", "A part's value is gone from its volume.");
        else s3_error_status(s, status);
        s3_wake(s);
        return;
    }
    if (s3meta_etag_put(s->nkey, s->nkeylen, md5, c->etag, err) != MKV_OK)
        log_msg("S3 %s: %s", s->r.url, err);
    if (s3meta_upload_delete(c->id, err) != MKV_OK) log_msg("S3 %s: %s", s->r.url, err);
    s3_xml_begin(s, "CompleteMultipartUploadResult");
    buf_adds(b, "<Location>");
    buf_add_pct(b, s->nkey, s->nkeylen, 1);
    buf_addf(b, "</Location><Bucket>%s</Bucket><Key>", s->bucket);
    buf_add_xml(b, s->key, s->keylen);
    buf_addf(b, "</Key><ETag>&quot;%s&quot;</ETag></CompleteMultipartUploadResult>", c->etag);
    s->reply.status = 200;
    erase_parts(c->id, completed_parts_gone, s); /* s3_wake once they are gone */
}

void s3multi_complete_run(struct s3_req *s) {
    struct complete_state *c = calloc(1, sizeof(*c));
    struct s3meta_upload u;
    struct copy_src *src = NULL;
    EVP_MD_CTX *md = NULL;
    int64_t total = 0;
    unsigned st;

    if (c == NULL) {
        s3_error(s, "InternalError", "Out of memory.");
        return;
    }
    s->op_state = c;
    s->op_abort = complete_abort;
    if (!upload_of(s, c->id, &u)) return;
    if (s3xml_parse(s->xml.p ? s->xml.p : "", s->xml.len, complete_xml, c) != MKV_OK || c->bad ||
        c->n == 0) {
        s3_error(s, "MalformedXML", "The XML you provided was not well-formed or did not "
                                    "validate against our published schema");
        goto out;
    }
    src = calloc((size_t)c->n, sizeof(*src));
    md = EVP_MD_CTX_new();
    if (src == NULL || md == NULL || !EVP_DigestInit_ex(md, EVP_md5(), NULL)) {
        s3_error(s, "InternalError", "Out of memory.");
        goto out;
    }
    for (int i = 0, j = 0; i < c->n; i++) {
        char key[MKV_KEY_MAX], err[MKV_ERRLEN], path[PLACEMENT_PATH_MAX];
        unsigned char bin[16];
        struct record rec;
        size_t kl;
        if (i > 0 && c->numbers[i] <= c->numbers[i - 1]) {
            s3_error(s, "InvalidPartOrder", "The list of parts was not in ascending order. "
                                            "Parts must be ordered by part number.");
            goto out;
        }
        while (j < u.nparts && u.parts[j].number < c->numbers[i]) j++;
        if (j == u.nparts || u.parts[j].number != c->numbers[i] ||
            strcmp(u.parts[j].md5, c->etags[i]) != 0) {
            s3_error(s, "InvalidPart", "One or more of the specified parts could not be found. "
                                       "The part may not have been uploaded, or the specified "
                                       "entity tag may not match the part's entity tag.");
            goto out;
        }
        if (i < c->n - 1 && u.parts[j].size < S3_PART_MIN) {
            s3_error(s, "EntityTooSmall", "Your proposed upload is smaller than the minimum "
                                          "allowed object size: each part but the last must "
                                          "be at least 5 MiB.");
            goto out;
        }
        kl = part_key(c->id, c->numbers[i], key);
        if (store_get(key, kl, &rec, err) != 1 || rec.deleted || rec.writing) {
            s3_error(s, "InvalidPart", "Part %d is not stored.", c->numbers[i]);
            goto out;
        }
        placement_path(key, kl, rec.flat, path);
        vol_url(src[i].url, record_volume(&rec, rand() % rec.nvolumes), path);
        src[i].size = u.parts[j].size;
        total += u.parts[j].size;
        for (int k = 0; k < 16; k++) sscanf(u.parts[j].md5 + 2 * k, "%2hhx", &bin[k]);
        EVP_DigestUpdate(md, bin, 16);
    }
    if (total > 5 * S3_PUT_MAX * 1000 ||
        (http_cfg->max_size > 0 && total > http_cfg->max_size)) {
        s3_error(s, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
        goto out;
    }
    {
        unsigned char d[16];
        unsigned int dn = 16;
        EVP_DigestFinal_ex(md, d, &dn);
        for (int k = 0; k < 16; k++) snprintf(c->etag + 2 * k, 3, "%02x", d[k]);
        snprintf(c->etag + 32, sizeof(c->etag) - 32, "-%d", c->n);
    }
    s3_wait(s);
    st = copy_start(&c->cp, s->nkey, s->nkeylen, s->r.url, src, c->n, total, completed, s);
    if (st != 0) {
        c->cp = NULL;
        s3_error_status(s, st);
        s3_wake(s);
    }
out:
    EVP_MD_CTX_free(md);
    free(src);
    s3meta_upload_free(&u);
}

/* --- expiry ------------------------------------------------------------- */

static _Atomic long long sweep_next; /* Unix seconds */

static int collect_orphan(const char *key, size_t keylen, void *arg) {
    char (*ids)[S3META_UPLOADID_LEN + 1] = arg;
    size_t pl = sizeof(KEY_RESERVED) - 1;
    if (keylen < pl + S3META_UPLOADID_LEN + 1) return 0;
    if (memcmp(ids[0], key + pl, S3META_UPLOADID_LEN) == 0) return 0; /* seen */
    memcpy(ids[0], key + pl, S3META_UPLOADID_LEN);
    ids[0][S3META_UPLOADID_LEN] = '\0';
    return 1; /* one id at a time */
}

void s3multi_sweep(void) {
    long long now = (long long)time(NULL), next = atomic_load(&sweep_next);
    long every = http_cfg->s3_upload_expiry_s < 120 ? (http_cfg->s3_upload_expiry_s + 1) / 2 : 60;
    char ids[16][S3META_UPLOADID_LEN + 1], err[MKV_ERRLEN];
    char last[1][S3META_UPLOADID_LEN + 1];
    int n;

    if (now < next || !atomic_compare_exchange_strong(&sweep_next, &next, now + every)) return;
    n = s3meta_upload_expired((time_t)(now - http_cfg->s3_upload_expiry_s), ids, 16);
    for (int i = 0; i < n; i++) {
        log_msg("S3 multipart: upload %s expired; its parts are removed", ids[i]);
        if (s3meta_upload_delete(ids[i], err) != MKV_OK) log_msg("S3 multipart: %s", err);
        erase_parts(ids[i], NULL, NULL);
    }
    /* Parts whose upload is gone (aborted while a part was being written,
     * or an index crash between the steps): a few uploads a sweep. */
    if (!store_listable(0, NULL)) return;
    memset(last, 0, sizeof(last));
    for (int k = 0; k < 16; k++) {
        char before[S3META_UPLOADID_LEN + 1], start[64];
        struct s3meta_upload u;
        int rc;
        /* Past every part of the last id: "/.s3/ID/..." < "/.s3/ID0". */
        snprintf(start, sizeof(start), "%s%s0", KEY_RESERVED, last[0]);
        memcpy(before, last[0], sizeof(before));
        if (store_list(0, KEY_RESERVED, sizeof(KEY_RESERVED) - 1, last[0][0] ? start : NULL,
                       last[0][0] ? strlen(start) : 0, 0, collect_orphan, last,
                       err) != MKV_OK) {
            log_msg("S3 multipart: sweep: %s", err);
            break;
        }
        if (memcmp(before, last[0], sizeof(before)) == 0) break; /* no more */
        rc = s3meta_upload_get(last[0], &u, err);
        if (rc == 1) {
            s3meta_upload_free(&u);
            continue;
        }
        if (rc == 0) {
            log_msg("S3 multipart: removing the parts of upload %s, which is gone", last[0]);
            erase_parts(last[0], NULL, NULL);
        }
    }
}
