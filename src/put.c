/* put.c -- PUT: stream the body to every replica at once, then record it.
 *
 * Order of durability: the record is first written marked DELETED (a
 * pending write, invisible to GET), then every replica is written, and
 * only when all of them answered is the record made live. A crash at any
 * point therefore never leaves a live record without its data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "http.h"
#include "locks.h"
#include "log.h"
#include "metrics.h"
#include "pending.h"
#include "placement.h"
#include "store.h"
#include "stream.h"
#include "volclient.h"
#include "workers.h"

/* Upload ring per PUT: memory is flat at this much whatever the size. */
#define PUT_RING (1024 * 1024)

/* After a PUT has failed mid-body (a volume failed, or --max-size), the
 * rest of the body is read and dropped so the client hears the status
 * (libmicrohttpd answers only before the body or after it); past this
 * much the connection is closed instead. */
#define PUT_DISCARD_MAX (16 * 1024 * 1024)

struct replica {
    struct put_req *r;
    int i;
    enum vol_result vr;
    long status;
    char err[MKV_ERRLEN];
};

struct put_req {
    struct pending p;             /* first: what MHD's con_cls points at */
    struct stream st;
    EVP_MD_CTX *md5;              /* NULL with --md5sum=false */
    int finished;                 /* event thread called stream_finish */
    unsigned refused;             /* status decided mid-body (413), or 0 */
    int64_t discarded;            /* body bytes dropped after a failure */
    int64_t size;                 /* Content-Length, or -1 for chunked */
    int64_t received;             /* body bytes taken so far */
    const char *url;              /* the request's path, for the log */
    struct record rec;            /* volumes; hash once the body is in */
    int nreplicas;
    size_t keylen;
    char key[MKV_KEY_MAX];
    char volumes[RECORD_MAX_VOLUMES][PLACEMENT_VOLUME_MAX + 8];
    char targets[RECORD_MAX_VOLUMES][VOL_URL_MAX];
    struct replica rep[RECORD_MAX_VOLUMES];
};

static void put_destroy(struct pending *p) {
    struct put_req *r = (struct put_req *)p;
    stream_destroy(&r->st);
    EVP_MD_CTX_free(r->md5);
    free(r);
}

/* put_abort -- shutdown: stop the transfers; the job undoes them. */
static void put_abort(struct pending *p) { stream_abort(&((struct put_req *)p)->st); }

/* The ring is full: suspend the client until the volumes catch up. */
static void put_park(void *arg) { pending_suspend(arg); }
static void put_wake(void *arg) { pending_resume(arg); }

/* replica_run -- one replica's transfer; any failure stops them all. */
static void *replica_run(void *arg) {
    struct replica *x = arg;
    x->vr = vol_put(x->r->targets[x->i], &x->r->st, x->i, x->r->size,
                    &x->status, x->err);
    if (x->vr != VOL_OK || (x->status != 201 && x->status != 204))
        stream_abort(&x->r->st);
    return NULL;
}

static void *replica_thread(void *arg) {
    replica_run(arg);
    vol_thread_done();
    return NULL;
}

/* put_job -- worker: write every replica, then commit or undo. */
static void put_job(void *arg) {
    struct put_req *r = arg;
    pthread_t tids[RECORD_MAX_VOLUMES];
    int started[RECORD_MAX_VOLUMES] = {0};
    char err[MKV_ERRLEN];
    unsigned status = 201;
    long vs;
    int i;

    /* Replica 0 runs here; the others each on a thread of their own, so
     * a PUT never waits on another job for a worker. */
    for (i = 0; i < r->nreplicas; i++) {
        r->rep[i].r = r;
        r->rep[i].i = i;
        r->rep[i].vr = VOL_FAILED;
        r->rep[i].status = 0;
        snprintf(r->rep[i].err, MKV_ERRLEN, "no thread for the transfer");
    }
    for (i = 1; i < r->nreplicas; i++) {
        started[i] = pthread_create(&tids[i], NULL, replica_thread, &r->rep[i]) == 0;
        if (!started[i]) stream_abort(&r->st);
    }
    replica_run(&r->rep[0]);
    for (i = 1; i < r->nreplicas; i++)
        if (started[i]) pthread_join(tids[i], NULL);

    /* The answer: the first real volume failure; else, if transfers
     * were aborted, the client left (or was refused) and hears nothing. */
    for (i = 0; i < r->nreplicas; i++) {
        struct replica *x = &r->rep[i];
        if (x->vr == VOL_OK && (x->status == 201 || x->status == 204)) continue;
        if (x->vr == VOL_ABORTED) {
            if (status == 201) status = 400;
            continue;
        }
        metrics_volume_error(r->volumes[i]);
        if (x->vr == VOL_OK)
            log_msg("PUT %s: volume %s answered %ld", r->url, r->volumes[i], x->status);
        else
            log_msg("PUT %s: volume %s: %s", r->url, r->volumes[i], x->err);
        if (status == 201 || status == 400) status = vol_http_status(x->vr);
    }

    /* With a Content-Length, libcurl ends the upload after that many bytes
     * without reading the end of the stream: wait for the event thread to
     * finish it, so the md5 it seals then is complete. */
    if (status == 201 && stream_wait_finished(&r->st) != MKV_OK) status = 400;
    /* Shutdown may have answered the client 503 already: then undo. */
    if (status == 201 && pending_is_done(&r->p)) status = 503;
    if (status == 201) {
        r->rec.deleted = 0;
        if (store_put(r->key, r->keylen, &r->rec, err) != MKV_OK) {
            log_msg("PUT %s: %s", r->url, err);
            status = 500;
        }
    }
    if (status != 201) {
        /* Undo: no copy and no record may outlive a failed write. */
        for (i = 0; i < r->nreplicas; i++) {
            struct replica *x = &r->rep[i];
            if (x->vr != VOL_OK || (x->status != 201 && x->status != 204)) continue;
            if (vol_delete(r->targets[i], &vs, err) != VOL_OK ||
                (vs != 204 && vs != 404 && vs != 200))
                log_msg("PUT %s: cannot remove the copy on %s: %s", r->url,
                        r->volumes[i], err);
        }
        if (store_delete(r->key, r->keylen, err) < 0)
            log_msg("PUT %s: %s", r->url, err);
    }
    locks_release(r->key, r->keylen);
    pending_complete(&r->p, status);
    if (status != 201) stream_abort(&r->st); /* release a parked producer */
    pending_unref(&r->p);
}

/* Every Content-Length header must say the same (RFC 9112 6.3). */
struct lengths {
    const char *first;
    int disagree;
};

static enum MHD_Result check_length(void *cls, enum MHD_ValueKind kind,
                                    const char *name, const char *value) {
    struct lengths *l = cls;
    (void)kind;
    if (strcasecmp(name, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0) return MHD_YES;
    if (l->first == NULL) l->first = value;
    else if (strcmp(l->first, value) != 0) l->disagree = 1;
    return MHD_YES;
}

/* body_size -- the body's length from the headers: >0, -1 for chunked,
 * 0 for none (411), -2 when malformed (400): a Content-Length that is
 * not a number or two that disagree, or a Transfer-Encoding other than
 * chunked. */
static int64_t body_size(struct MHD_Connection *c) {
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING);
    struct lengths l = {NULL, 0};
    char *end;
    long long v;

    if (te != NULL) return strcasecmp(te, "chunked") == 0 ? -1 : -2;
    MHD_get_connection_values(c, MHD_HEADER_KIND, check_length, &l);
    if (l.disagree) return -2;
    if (l.first == NULL) return 0;
    if (*l.first < '0' || *l.first > '9') return -2;
    errno = 0;
    v = strtoll(l.first, &end, 10);
    if (errno || *end != '\0') return -2;
    return v;
}

/* put_begin -- first call: check the request and start the transfer. */
static enum MHD_Result put_begin(struct MHD_Connection *c, const char *url,
                                 void **con_cls) {
    const char *m = MHD_HTTP_METHOD_PUT;
    char key[MKV_KEY_MAX], path[PLACEMENT_PATH_MAX], err[MKV_ERRLEN];
    struct record old;
    struct put_req *r;
    enum MHD_Result ret;
    size_t keylen;
    int64_t size;
    int held, i;

    if (!http_key(c, m, url, key, &keylen, &ret)) return ret;
    size = body_size(c);
    if (size == 0) return http_respond(c, m, url, 411);
    if (size == -2) {
        log_msg("PUT %s: refused: malformed or conflicting Content-Length "
                "or Transfer-Encoding", url);
        return http_respond(c, m, url, 400);
    }
    if (http_cfg->max_size > 0 && size > http_cfg->max_size) {
        log_msg("PUT %s: refused: %lld bytes is over --max-size", url, (long long)size);
        return http_respond(c, m, url, 413);
    }
    held = locks_acquire(key, keylen);
    if (held <= 0) return http_respond(c, m, url, held == 0 ? 409 : 503);
    switch (store_get(key, keylen, &old, err)) {
    case 0: break;
    case 1:
        if (old.deleted) break; /* unlinked: may be written again */
        locks_release(key, keylen);
        return http_respond(c, m, url, 409);
    default:
        locks_release(key, keylen);
        log_msg("PUT %s: %s", url, err);
        return http_respond(c, m, url, 500);
    }

    r = calloc(1, sizeof(*r));
    if (r == NULL ||
        stream_init(&r->st, size > 0 && size < PUT_RING ? (size_t)size : PUT_RING,
                    http_cfg->replicas, put_park, put_wake, r) != MKV_OK) {
        free(r);
        locks_release(key, keylen);
        return http_respond(c, m, url, 503);
    }
    pending_init(&r->p, REQ_PUT, c, m, put_destroy);
    r->p.abort = put_abort;
    *con_cls = r; /* from here MHD's completion callback frees r */
    r->size = size;
    r->url = url;
    r->keylen = keylen;
    memcpy(r->key, key, keylen);
    r->nreplicas = http_cfg->replicas;
    placement_replicas(http_cfg->volumes, http_cfg->nvolumes, r->nreplicas,
                       http_cfg->subvolumes, key, keylen, r->volumes);
    placement_path(key, keylen, path);
    r->rec.nvolumes = r->nreplicas;
    for (i = 0; i < r->nreplicas; i++) {
        r->rec.volumes[i] = r->volumes[i];
        vol_url(r->targets[i], r->volumes[i], path);
    }
    if (http_cfg->md5sum) {
        r->md5 = EVP_MD_CTX_new();
        if (r->md5 == NULL || !EVP_DigestInit_ex(r->md5, EVP_md5(), NULL)) goto fail;
    }
    /* The pending record, before any volume is touched. */
    r->rec.deleted = 1;
    if (store_put(key, keylen, &r->rec, err) != MKV_OK) {
        log_msg("PUT %s: %s", url, err);
        goto fail;
    }
    if (workers_submit(put_job, r) != MKV_OK) {
        store_delete(key, keylen, err);
        goto fail;
    }
    return MHD_YES;
fail:
    locks_release(key, keylen);
    pending_unref(&r->p); /* the job's reference; MHD drops the other */
    return http_respond(c, m, url, 503);
}

/* put_body -- take a piece of the body: hash what the ring accepted. */
static void put_body(struct put_req *r, const char *data, size_t *size) {
    size_t took = stream_offer(&r->st, data, *size);
    if (r->md5) EVP_DigestUpdate(r->md5, data, took);
    r->received += (int64_t)took;
    http_bytes_in(r->p.conn, took);
    *size -= took;
}

/* put_finish -- the whole body is in: seal the hash, tell the readers. */
static void put_finish(struct put_req *r) {
    unsigned char d[16];
    unsigned int n = 16;

    r->finished = 1;
    if (r->md5 && EVP_DigestFinal_ex(r->md5, d, &n)) {
        for (int i = 0; i < 16; i++) snprintf(r->rec.hash + 2 * i, 3, "%02x", d[i]);
    }
    stream_finish(&r->st);
}

enum MHD_Result put_handle(struct MHD_Connection *c, const char *url,
                           const char *upload_data, size_t *upload_data_size,
                           void **con_cls) {
    struct put_req *r = *con_cls;

    if (r == NULL) return put_begin(c, url, con_cls);
    if (*upload_data_size > 0) {
        if (!r->refused && http_cfg->max_size > 0 &&
            r->received + (int64_t)*upload_data_size > http_cfg->max_size) {
            log_msg("PUT %s: refused: body over --max-size", url);
            r->refused = 413;
            stream_abort(&r->st); /* the job undoes what it wrote */
        }
        if (r->refused || (pending_is_done(&r->p) && r->p.status != 201)) {
            /* The PUT has failed: drop the rest, answer at the end. */
            r->discarded += (int64_t)*upload_data_size;
            *upload_data_size = 0;
            if (r->discarded > PUT_DISCARD_MAX) {
                log_msg("PUT %s: closing: too much body after a failure", url);
                return MHD_NO;
            }
            return MHD_YES;
        }
        put_body(r, upload_data, upload_data_size);
        return MHD_YES;
    }
    if (!r->finished) put_finish(r);
    if (!pending_wait(&r->p)) return MHD_YES; /* suspended until done */
    return http_respond(c, r->p.method, url, r->refused ? r->refused : r->p.status);
}

void put_completed(void *con_cls, enum MHD_RequestTerminationCode toe) {
    struct put_req *r = con_cls;
    (void)toe;
    /* A client gone mid-body: no volume may keep a short value. */
    if (!r->finished) stream_abort(&r->st);
    pending_closed(&r->p);
}
