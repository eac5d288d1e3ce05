/* delete.c -- DELETE (remove every replica, then the record) and UNLINK
 * (soft delete: mark the record, leave the files). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "locks.h"
#include "log.h"
#include "metrics.h"
#include "pending.h"
#include "placement.h"
#include "store.h"
#include "volclient.h"
#include "workers.h"

struct delete_req {
    struct pending p;             /* first: what MHD's con_cls points at */
    const char *url;              /* the request's path, for the log */
    struct record rec;            /* the record as found */
    size_t keylen;
    char key[MKV_KEY_MAX];
    char path[PLACEMENT_PATH_MAX];
};

static void delete_destroy(struct pending *p) { free(p); }

/* delete_job -- worker: the replicas in order, then the record. If a
 * volume fails, the record keeps exactly the replicas not yet removed,
 * so it never names a copy that is gone. */
static void delete_job(void *arg) {
    struct delete_req *r = arg;
    char err[MKV_ERRLEN], target[VOL_URL_MAX];
    enum vol_result vr = VOL_OK;
    unsigned status = 204;
    long vs = 0;
    int i;

    for (i = 0; i < r->rec.nvolumes; i++) {
        vol_url(target, r->rec.volumes[i], r->path);
        vr = vol_delete(target, &vs, err);
        if (vr == VOL_OK && (vs == 204 || vs == 200 || vs == 404)) continue;
        metrics_volume_error(r->rec.volumes[i]);
        if (vr == VOL_OK)
            log_msg("DELETE %s: volume answered %ld for %s", r->url, vs, target);
        else
            log_msg("DELETE %s: %s: %s", r->url, target, err);
        status = vol_http_status(vr);
        break;
    }
    if (status == 204) {
        if (store_delete(r->key, r->keylen, err) < 0) {
            log_msg("DELETE %s: %s", r->url, err);
            status = 500;
        }
    } else if (i > 0) {
        struct record left = r->rec;
        left.nvolumes = r->rec.nvolumes - i;
        memmove(left.volumes, r->rec.volumes + i, (size_t)left.nvolumes * sizeof(char *));
        if (store_put(r->key, r->keylen, &left, err) != MKV_OK)
            log_msg("DELETE %s: %s", r->url, err);
    }
    locks_release(r->key, r->keylen);
    pending_complete(&r->p, status);
    pending_unref(&r->p);
}

static enum MHD_Result delete_begin(struct MHD_Connection *c, const char *url,
                                    void **con_cls) {
    const char *m = MHD_HTTP_METHOD_DELETE;
    char key[MKV_KEY_MAX], err[MKV_ERRLEN];
    struct delete_req *r;
    enum MHD_Result ret;
    size_t keylen;
    int held, found;

    if (!http_key(c, m, url, key, &keylen, &ret)) return ret;
    r = malloc(sizeof(*r));
    if (r == NULL) return http_respond(c, m, url, 503);
    held = locks_acquire(key, keylen);
    if (held <= 0) {
        free(r);
        return http_respond(c, m, url, held == 0 ? 409 : 503);
    }
    found = store_get(key, keylen, &r->rec, err);
    if (found != 1 || (http_cfg->protect && !r->rec.deleted)) {
        locks_release(key, keylen);
        free(r);
        if (found < 0) log_msg("DELETE %s: %s", url, err);
        return http_respond(c, m, url, found < 0 ? 500 : found == 0 ? 404 : 403);
    }
    pending_init(&r->p, REQ_DELETE, c, m, delete_destroy);
    r->url = url;
    r->keylen = keylen;
    memcpy(r->key, key, keylen);
    placement_path(key, keylen, r->path);
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

enum MHD_Result unlink_handle(struct MHD_Connection *c, const char *url) {
    const char *m = "UNLINK";
    char key[MKV_KEY_MAX], err[MKV_ERRLEN];
    struct record rec;
    enum MHD_Result ret;
    size_t keylen;
    unsigned status = 204;
    int held;

    if (!http_key(c, m, url, key, &keylen, &ret)) return ret;
    held = locks_acquire(key, keylen);
    if (held <= 0) return http_respond(c, m, url, held == 0 ? 409 : 503);
    switch (store_get(key, keylen, &rec, err)) {
    case 1:
        if (rec.deleted) {
            status = 404;
            break;
        }
        rec.deleted = 1;
        if (store_put(key, keylen, &rec, err) == MKV_OK) break;
        /* fall through */
    default:
        log_msg("UNLINK %s: %s", url, err);
        status = 500;
        break;
    case 0:
        status = 404;
        break;
    }
    locks_release(key, keylen);
    return http_respond(c, m, url, status);
}
