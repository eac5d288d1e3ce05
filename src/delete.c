/* delete.c -- DELETE (remove every replica at once, then the record) and
 * UNLINK (soft delete: mark the record, leave the files). Both answer
 * once the record is settled and, with --sync, durable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bio.h"
#include "cleanup.h"
#include "http.h"
#include "locks.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "placement.h"
#include "req.h"
#include "store.h"
#include "volclient.h"

struct delete_req;

struct replica_rm {
    struct loop_xfer x;           /* DELETE of one copy */
    struct delete_req *r;
    unsigned status;              /* 204 once removed, else the client's */
    int unknown;                  /* the DELETE may or may not have been done */
    char url[VOL_URL_MAX];
};

struct delete_req {
    struct req r;                 /* first: what MHD's con_cls points at */
    struct record rec;            /* the record as found */
    unsigned status;              /* the answer, once the record is settled */
    int handed_off;               /* the key went to cleanup.c, lock and all */
    size_t keylen;
    char key[MKV_KEY_MAX];
    struct replica_rm rm[RECORD_MAX_VOLUMES];
};

static void delete_destroy(struct req *r) { free(r); }

/* settled -- bio_sync's answer: the record is durable (or not). */
static void settled(void *arg, int ok) {
    struct delete_req *r = arg;
    if (!r->handed_off) locks_release(r->key, r->keylen);
    req_finish(&r->r, ok == MKV_OK ? r->status : 500);
    req_release(&r->r);
}

/* settle -- the record is written: answer status once it is durable. */
static void settle(struct delete_req *r, unsigned status) {
    r->status = status;
    r->r.busy++;
    if (bio_sync(settled, r) != MKV_OK) settled(r, MKV_ERR);
}

/* keep_unremoved -- drop the record once every replica is removed. If
 * some are not, and for one of them nobody knows (a timeout, a broken
 * transfer), hand the key to the background clean-up with those: the
 * record turns WRITING (GET answers 404, as the client asked) and the
 * copies are removed once their volumes answer. If every failure is
 * known (refused, an error answer), the record keeps exactly the
 * replicas not removed, and the key stays readable. Returns the answer:
 * 204, the first replica's failure, or 500 if the index fails. */
static unsigned keep_unremoved(struct delete_req *r) {
    char err[MKV_ERRLEN];
    struct record left = r->rec;
    unsigned status = 204;
    int unknown = 0;

    left.nvolumes = 0;
    for (int i = 0; i < r->rec.nvolumes; i++) {
        if (r->rm[i].status == 204) continue;
        if (status == 204) status = r->rm[i].status;
        unknown |= r->rm[i].unknown;
        left.volumes[left.nvolumes++] = r->rec.volumes[i];
    }
    if (left.nvolumes == 0) {
        if (store_delete(r->key, r->keylen, err) < 0) {
            log_limited(LOG_INDEX, "DELETE %s: %s", r->r.url, err);
            status = 500;
        }
    } else if (unknown && cleanup_start(r->key, r->keylen, &left) == MKV_OK) {
        r->handed_off = 1;
        log_msg("DELETE %s: %d replica%s not confirmed removed; removing in the background",
                r->r.url, left.nvolumes, left.nvolumes == 1 ? "" : "s");
    } else if (left.nvolumes < r->rec.nvolumes &&
               store_put(r->key, r->keylen, &left, err) != MKV_OK) {
        log_limited(LOG_INDEX, "DELETE %s: %s", r->r.url, err);
    }
    return status;
}

/* all_tried -- every replica answered: settle the record. */
static void all_tried(struct delete_req *r) { settle(r, keep_unremoved(r)); }

static void rm_done(struct loop_xfer *x, CURLcode rc, long code) {
    struct replica_rm *m = MKV_CONTAINER(x, struct replica_rm, x);
    struct delete_req *r = m->r;
    const char *vol = r->rec.volumes[m - r->rm];
    char err[MKV_ERRLEN];
    long vs;
    enum vol_result vr = vol_result_of(rc, x->nofd, code, &vs, err);

    if (vr == VOL_OK && (vs == 204 || vs == 200 || vs == 404)) {
        m->status = 204;
    } else {
        m->status = vol_http_status(vr);
        /* Refused, no descriptor, an error answer: the copy is there.
         * A timeout or a broken transfer: nobody knows. */
        m->unknown = vr == VOL_TIMEOUT || vr == VOL_FAILED;
        if (vr == VOL_NOFD) {
            log_limited(LOG_NOFD, "DELETE %s: out of file descriptors", r->r.url);
        } else {
            int kind = log_kind_volume(http_volume_index(vol));
            metrics_volume_error(vol);
            if (vr == VOL_OK)
                log_limited(kind, "DELETE %s: volume %s answered %ld", r->r.url, vol, vs);
            else
                log_limited(kind, "DELETE %s: volume %s: %s", r->r.url, vol, err);
        }
    }
    if (r->r.busy == 1 && !r->r.done) all_tried(r);
    req_release(&r->r);
}

/* delete_abort -- shutdown: stop the DELETEs under way. The record keeps
 * the replicas not confirmed removed (the outcome of those cut off is
 * unknown), the answer is 503. Once the record is being settled there is
 * nothing to stop. */
static int delete_abort(struct req *rq) {
    struct delete_req *r = (struct delete_req *)rq;
    int cancelled = 0;
    for (int i = 0; i < r->rec.nvolumes; i++) {
        if (!r->rm[i].x.running) continue;
        loop_xfer_cancel(&r->rm[i].x);
        r->r.busy--; /* req_abort_undone holds r meanwhile */
        r->rm[i].status = 503;
        r->rm[i].unknown = 1; /* it may have reached the volume */
        cancelled = 1;
    }
    if (!cancelled) return 0;
    keep_unremoved(r);
    if (!r->handed_off) locks_release(r->key, r->keylen);
    return 1;
}

/* begin_removal -- a DELETE per replica, all at once. */
static void begin_removal(struct delete_req *r) {
    char path[PLACEMENT_PATH_MAX];

    placement_path(r->key, r->keylen, path);
    r->r.busy++; /* until every DELETE is started */
    for (int i = 0; i < r->rec.nvolumes; i++) {
        struct replica_rm *m = &r->rm[i];
        CURL *h = loop_xfer_handle(&m->x);
        m->r = r;
        m->status = 502;
        vol_url(m->url, r->rec.volumes[i], path);
        if (h == NULL) continue;
        vol_setup_simple(h, m->url, "DELETE");
        m->x.done = rm_done;
        if (loop_xfer_start(&m->x) == MKV_OK) r->r.busy++;
        else log_limited(LOG_NOFD, "DELETE %s: cannot start the DELETE on %s", r->r.url,
                         r->rec.volumes[i]);
    }
    if (r->r.busy == 1) all_tried(r);
    req_release(&r->r);
}

/* delete_begin -- check the request, then start: a DELETE on its first
 * call, an UNLINK once it is read. Sets *con_cls unless it answered. */
static enum MHD_Result delete_begin(struct MHD_Connection *c, const char *m,
                                    const char *url, void **con_cls) {
    char key[MKV_KEY_MAX], err[MKV_ERRLEN];
    struct delete_req *r;
    struct record rec;
    enum MHD_Result ret;
    size_t keylen;
    int held, wrote, unlink = m[0] == 'U';
    enum store_found found;

    if (!http_key(c, m, url, key, &keylen, &ret)) return ret;
    /* The index takes no write while read-only, a DELETE's included:
     * removing a record makes no room in its file. */
    switch (store_admit(unlink ? STORE_SMALL_GROWTH + keylen : STORE_SMALL_GROWTH, err)) {
    case STORE_ADMITTED: break;
    case STORE_NO_ROOM:
        log_limited(LOG_INDEX, "%s %s: refused: %s", m, url, err);
        return http_reason(c, m, url, 507, err);
    case STORE_BROKEN:
        log_limited(LOG_INDEX, "%s %s: refused: %s", m, url, err);
        return http_reason(c, m, url, 503, err);
    }
    held = locks_acquire(key, keylen);
    if (held <= 0) return http_respond(c, m, url, held == 0 ? 409 : 503);
    found = store_get(key, keylen, &rec, err);
    if (found < 0) {
        log_limited(found == STORE_BAD ? LOG_RECORD : LOG_INDEX, "%s %s: %s", m, url, err);
        locks_release(key, keylen);
        return http_respond(c, m, url, found == STORE_BAD ? 500 : 503);
    }
    if (found == STORE_ABSENT || (unlink && (rec.deleted || rec.writing)) ||
        (!unlink && http_cfg->protect && !rec.deleted && !rec.writing)) {
        locks_release(key, keylen);
        return http_respond(c, m, url, found == STORE_ABSENT || unlink ? 404 : 403);
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL || req_init(&r->r, REQ_DELETE, c, unlink ? "UNLINK" : "DELETE", url,
                              unlink ? NULL : delete_abort, delete_destroy) != MKV_OK) {
        free(r);
        locks_release(key, keylen);
        return http_respond(c, m, url, 503);
    }
    *con_cls = r; /* from here MHD's completion callback lets go of r */
    record_copy(&r->rec, &rec);
    r->keylen = keylen;
    memcpy(r->key, key, keylen);
    if (!unlink) {
        begin_removal(r);
        return MHD_YES;
    }
    rec.deleted = 1;
    if ((wrote = store_put(key, keylen, &rec, err)) != MKV_OK) {
        log_limited(LOG_INDEX, "UNLINK %s: %s", url, err);
        settle(r, wrote == STORE_ERR_SPACE ? 507 : 500);
    } else {
        settle(r, 204);
    }
    return MHD_YES;
}

enum MHD_Result delete_handle(struct MHD_Connection *c, const char *method,
                              const char *url, size_t *upload_data_size,
                              void **con_cls) {
    struct delete_req *r = *con_cls;

    if (r == NULL) {
        enum MHD_Result ret = delete_begin(c, method, url, con_cls);
        r = *con_cls;
        if (r == NULL || method[0] != 'U') return ret;
    } else if (*upload_data_size > 0) { /* no body is needed: ignore it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!r->r.done) {
        req_suspend(&r->r);
        return MHD_YES;
    }
    return http_respond(c, r->r.method, url, r->r.status);
}

void delete_completed(void *con_cls, enum MHD_RequestTerminationCode toe) {
    (void)toe;
    req_closed(con_cls);
}
