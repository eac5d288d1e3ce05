/* put.c -- PUT: stream the body to the key's volume, then record it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "locks.h"
#include "log.h"
#include "pending.h"
#include "placement.h"
#include "store.h"
#include "stream.h"
#include "volclient.h"
#include "workers.h"

/* Upload ring per PUT: memory is flat at this much whatever the size. */
#define PUT_RING (1024 * 1024)

struct put_req {
    struct pending p;             /* first: what MHD's con_cls points at */
    struct stream st;
    int finished;                 /* event thread called stream_finish */
    int64_t size;                 /* Content-Length, or -1 for chunked */
    const char *url;              /* the request's path, for the log */
    const char *volume;           /* where placement put the key */
    size_t keylen;
    char key[MKV_KEY_MAX];
    char target[8 + RECORD_VOLUME_MAX + PLACEMENT_PATH_MAX];
};

static void put_destroy(struct pending *p) {
    struct put_req *r = (struct put_req *)p;
    stream_destroy(&r->st);
    free(r);
}

/* The ring is full: suspend the client until the volume catches up. */
static void put_park(void *arg) { pending_suspend(arg); }
static void put_wake(void *arg) { pending_resume(arg); }

/* status_of -- the client's status for a failed volume transfer. */
static unsigned status_of(enum vol_result vr) {
    switch (vr) {
    case VOL_DOWN: return 503;
    case VOL_TIMEOUT: return 504;
    default: return 502;
    }
}

/* put_job -- worker: the volume transfer, then the index record. */
static void put_job(void *arg) {
    struct put_req *r = arg;
    char err[MKV_ERRLEN];
    struct record rec;
    enum vol_result vr;
    unsigned status;
    long vs;
    int rc;

    vr = vol_put(r->target, &r->st, 0, r->size, &vs, err);
    if (vr == VOL_OK && (vs == 201 || vs == 204)) {
        memset(&rec, 0, sizeof(rec));
        rec.nvolumes = 1;
        rec.volumes[0] = r->volume;
        rc = store_insert(r->key, r->keylen, &rec, err);
        if (rc == 0) {
            status = 201;
        } else {
            /* The key is locked, so it cannot have appeared meanwhile
             * unless the index is broken; either way it must not point
             * at bytes we did not commit: remove them. */
            log_msg("PUT %s: %s", r->url, rc > 0 ? "key appeared in index" : err);
            if (vol_delete(r->target, &vs, err) != VOL_OK)
                log_msg("PUT %s: cleanup of %s failed: %s", r->url, r->target, err);
            status = rc > 0 ? 409 : 500;
        }
    } else if (vr == VOL_ABORTED) {
        status = 400; /* the client went away; nobody reads this */
    } else {
        if (vr == VOL_OK)
            log_msg("PUT %s: volume %s answered %ld", r->url, r->volume, vs);
        else
            log_msg("PUT %s: volume %s: %s", r->url, r->volume, err);
        status = vr == VOL_OK ? 502 : status_of(vr);
    }
    locks_release(r->key, r->keylen);
    pending_complete(&r->p, status);
    if (status != 201) stream_abort(&r->st); /* release a parked producer */
    pending_unref(&r->p);
}

/* body_size -- the body's length from the headers: >0, -1 for chunked,
 * 0 for none (411), -2 for a malformed Content-Length (400). */
static int64_t body_size(struct MHD_Connection *c) {
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end;
    long long v;

    if (te != NULL && strcasecmp(te, "chunked") == 0) return -1;
    if (cl == NULL) return 0;
    if (*cl < '0' || *cl > '9') return -2;
    errno = 0;
    v = strtoll(cl, &end, 10);
    if (errno || *end != '\0') return -2;
    return v;
}

/* put_begin -- first call: check the request and start the transfer. */
static enum MHD_Result put_begin(struct MHD_Connection *c, const char *url,
                                 void **con_cls) {
    const char *m = MHD_HTTP_METHOD_PUT;
    char key[MKV_KEY_MAX], path[PLACEMENT_PATH_MAX], err[MKV_ERRLEN];
    struct record rec;
    struct put_req *r;
    enum MHD_Result ret;
    size_t keylen;
    int64_t size;
    int v, held;

    if (!http_key(c, m, url, key, &keylen, &ret)) return ret;
    size = body_size(c);
    if (size == 0) return http_respond(c, m, url, 411);
    if (size == -2) {
        log_msg("PUT %s: refused: malformed Content-Length", url);
        return http_respond(c, m, url, 400);
    }
    if (placement_path(key, keylen, path, err) < 0) {
        log_msg("PUT %s: refused: %s", url, err);
        return http_respond(c, m, url, 414);
    }
    held = locks_acquire(key, keylen);
    if (held <= 0) return http_respond(c, m, url, held == 0 ? 409 : 503);
    switch (store_get(key, keylen, &rec, err)) {
    case 0: break;
    case 1:
        locks_release(key, keylen);
        return http_respond(c, m, url, 409);
    default:
        locks_release(key, keylen);
        log_msg("PUT %s: %s", url, err);
        return http_respond(c, m, url, 500);
    }

    r = malloc(sizeof(*r));
    if (r == NULL ||
        stream_init(&r->st, size > 0 && size < PUT_RING ? (size_t)size : PUT_RING,
                    1, put_park, put_wake, r) != MKV_OK) {
        free(r);
        locks_release(key, keylen);
        return http_respond(c, m, url, 503);
    }
    pending_init(&r->p, REQ_PUT, c, m, put_destroy);
    r->finished = 0;
    r->size = size;
    r->url = url;
    v = placement_volume(http_volumes, http_nvolumes, key, keylen);
    r->volume = http_volumes[v];
    r->keylen = keylen;
    memcpy(r->key, key, keylen);
    snprintf(r->target, sizeof(r->target), "http://%s%s", r->volume, path);
    if (workers_submit(put_job, r) != MKV_OK) {
        locks_release(key, keylen);
        *con_cls = r;
        pending_unref(&r->p); /* the job's reference; MHD drops the other */
        return http_respond(c, m, url, 503);
    }
    *con_cls = r;
    return MHD_YES;
}

enum MHD_Result put_handle(struct MHD_Connection *c, const char *url,
                           const char *upload_data, size_t *upload_data_size,
                           void **con_cls) {
    struct put_req *r = *con_cls;

    if (r == NULL) return put_begin(c, url, con_cls);
    if (pending_is_done(&r->p) && r->p.status != 201) {
        /* The volume failed: answer now rather than read the rest. */
        *upload_data_size = 0;
        return http_respond(c, r->p.method, url, r->p.status);
    }
    if (*upload_data_size > 0) {
        *upload_data_size -= stream_offer(&r->st, upload_data, *upload_data_size);
        return MHD_YES;
    }
    if (!r->finished) {
        r->finished = 1;
        stream_finish(&r->st);
    }
    if (!pending_wait(&r->p)) return MHD_YES; /* suspended until done */
    return http_respond(c, r->p.method, url, r->p.status);
}

void put_completed(void *con_cls, enum MHD_RequestTerminationCode toe) {
    struct put_req *r = con_cls;
    (void)toe;
    /* A client gone mid-body: the volume must not get a short value. */
    if (!r->finished) stream_abort(&r->st);
    pending_closed(&r->p);
}
