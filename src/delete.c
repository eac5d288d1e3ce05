/* delete.c -- DELETE: remove the value from its volume, then the record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "locks.h"
#include "log.h"
#include "pending.h"
#include "placement.h"
#include "store.h"
#include "volclient.h"
#include "workers.h"

struct delete_req {
    struct pending p;             /* first: what MHD's con_cls points at */
    const char *url;              /* the request's path, for the log */
    size_t keylen;
    char key[MKV_KEY_MAX];
    char target[8 + RECORD_VOLUME_MAX + PLACEMENT_PATH_MAX];
};

static void delete_destroy(struct pending *p) { free(p); }

/* delete_job -- worker: the volume first, so a failure keeps the key. */
static void delete_job(void *arg) {
    struct delete_req *r = arg;
    char err[MKV_ERRLEN];
    enum vol_result vr;
    unsigned status;
    long vs;

    vr = vol_delete(r->target, &vs, err);
    if (vr == VOL_OK && (vs == 204 || vs == 200 || vs == 404)) {
        if (store_delete(r->key, r->keylen, err) < 0) {
            log_msg("DELETE %s: %s", r->url, err);
            status = 500;
        } else {
            status = 204;
        }
    } else {
        if (vr == VOL_OK)
            log_msg("DELETE %s: volume answered %ld for %s", r->url, vs, r->target);
        else
            log_msg("DELETE %s: %s: %s", r->url, r->target, err);
        status = vr == VOL_DOWN ? 503 : vr == VOL_TIMEOUT ? 504 : 502;
    }
    locks_release(r->key, r->keylen);
    pending_complete(&r->p, status);
    pending_unref(&r->p);
}

static enum MHD_Result delete_begin(struct MHD_Connection *c, const char *url,
                                    void **con_cls) {
    const char *m = MHD_HTTP_METHOD_DELETE;
    char key[MKV_KEY_MAX], path[PLACEMENT_PATH_MAX], err[MKV_ERRLEN];
    struct delete_req *r;
    struct record rec;
    enum MHD_Result ret;
    size_t keylen;
    int held;

    if (!http_key(c, m, url, key, &keylen, &ret)) return ret;
    held = locks_acquire(key, keylen);
    if (held <= 0) return http_respond(c, m, url, held == 0 ? 409 : 503);
    switch (store_get(key, keylen, &rec, err)) {
    case 1: break;
    case 0:
        locks_release(key, keylen);
        return http_respond(c, m, url, 404);
    default:
        locks_release(key, keylen);
        log_msg("DELETE %s: %s", url, err);
        return http_respond(c, m, url, 500);
    }
    if (placement_path(key, keylen, path, err) < 0 ||
        (r = malloc(sizeof(*r))) == NULL) {
        locks_release(key, keylen);
        return http_respond(c, m, url, 500);
    }
    pending_init(&r->p, REQ_DELETE, c, m, delete_destroy);
    r->url = url;
    r->keylen = keylen;
    memcpy(r->key, key, keylen);
    snprintf(r->target, sizeof(r->target), "http://%s%s", rec.volumes[0], path);
    *con_cls = r;
    if (workers_submit(delete_job, r) != MKV_OK) {
        locks_release(key, keylen);
        pending_unref(&r->p); /* the job's reference; MHD drops the other */
        return http_respond(c, m, url, 503);
    }
    return MHD_YES;
}

enum MHD_Result delete_handle(struct MHD_Connection *c, const char *url,
                              const char *upload_data,
                              size_t *upload_data_size, void **con_cls) {
    struct delete_req *r = *con_cls;

    (void)upload_data;
    if (r == NULL) return delete_begin(c, url, con_cls);
    if (*upload_data_size > 0) { /* a DELETE needs no body: ignore it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!pending_wait(&r->p)) return MHD_YES; /* suspended until done */
    return http_respond(c, r->p.method, url, r->p.status);
}

void delete_completed(void *con_cls, enum MHD_RequestTerminationCode toe) {
    (void)toe;
    pending_closed(con_cls);
}
