/* erase.c -- remove a key: its replicas at once, then its record (erase.h). */
#include <stdlib.h>
#include <string.h>

#include "bio.h"
#include "cleanup.h"
#include "erase.h"
#include "http.h"
#include "locks.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "placement.h"
#include "store.h"
#include "volclient.h"

struct rm {
    struct loop_xfer x;           /* DELETE of one copy */
    struct erase *e;
    unsigned status;              /* 204 once removed, else the client's */
    int unknown;                  /* the DELETE may or may not have been done */
    char url[VOL_URL_MAX];
};

struct erase {
    struct record rec;            /* the record as found */
    void (*done)(void *arg, unsigned status);
    void *arg;
    int pending;                  /* DELETEs under way, + 1 while starting */
    int settling;                 /* waiting for bio_sync */
    int cancelled;                /* erase_cancel while settling */
    int handed_off;               /* the key went to cleanup.c, lock and all */
    unsigned status;              /* the answer, once all tried */
    const char *method;
    char *url;
    size_t keylen;
    char key[MKV_KEY_MAX];
    struct rm rm[RECORD_MAX_VOLUMES];
};

static void erase_free(struct erase *e) {
    free(e->url);
    free(e);
}

/* settled -- bio_sync's answer: the record is durable (or not). */
static void settled(void *arg, int ok) {
    struct erase *e = arg;
    if (!e->handed_off) locks_release(e->key, e->keylen);
    if (!e->cancelled) e->done(e->arg, ok == MKV_OK ? e->status : 500);
    erase_free(e);
}

/* keep_unremoved -- drop the record once every replica is removed. If
 * some are not, and for one of them nobody knows (a timeout, a broken
 * transfer), hand the key to the background clean-up with those: the
 * record turns WRITING (GET answers 404, as the client asked) and the
 * copies are removed once their volumes answer. If every failure is
 * known (refused, an error answer), the record keeps exactly the
 * replicas not removed, and the key stays readable. Returns the answer:
 * 204, the first replica's failure, or 500 if the index fails. */
static unsigned keep_unremoved(struct erase *e) {
    char err[MKV_ERRLEN];
    struct record left = e->rec;
    unsigned status = 204;
    int unknown = 0;

    record_clear_volumes(&left);
    for (int i = 0; i < e->rec.nvolumes; i++) {
        if (e->rm[i].status == 204) continue;
        if (status == 204) status = e->rm[i].status;
        unknown |= e->rm[i].unknown;
        record_add_volume(&left, record_volume(&e->rec, i));
    }
    if (left.nvolumes == 0) {
        if (store_delete(e->key, e->keylen, err) < 0) {
            log_limited(LOG_INDEX, "%s %s: %s", e->method, e->url, err);
            status = 500;
        }
    } else if (unknown && cleanup_start(e->key, e->keylen, &left) == MKV_OK) {
        e->handed_off = 1;
        log_msg("%s %s: %d replica%s not confirmed removed; removing in the background",
                e->method, e->url, left.nvolumes, left.nvolumes == 1 ? "" : "s");
    } else if (left.nvolumes < e->rec.nvolumes &&
               store_put(e->key, e->keylen, &left, err) != MKV_OK) {
        log_limited(LOG_INDEX, "%s %s: %s", e->method, e->url, err);
    }
    return status;
}

/* all_tried -- every replica answered: settle the record, answer once
 * it is durable. */
static void all_tried(struct erase *e) {
    e->status = keep_unremoved(e);
    e->settling = 1;
    if (bio_sync(settled, e) != MKV_OK) settled(e, MKV_ERR);
}

static void rm_done(struct loop_xfer *x, CURLcode rc, long code) {
    struct rm *m = MKV_CONTAINER(x, struct rm, x);
    struct erase *e = m->e;
    const char *vol = record_volume(&e->rec, m - e->rm);
    char err[MKV_ERRLEN];
    long vs;
    enum vol_result vr = vol_result_of(rc, x->nofd, code, &vs, err);

    if (vol_gone(vr, vs)) {
        m->status = 204;
    } else {
        m->status = vol_http_status(vr);
        /* Refused, no descriptor, an error answer: the copy is there.
         * A timeout or a broken transfer: nobody knows. */
        m->unknown = vr == VOL_TIMEOUT || vr == VOL_FAILED;
        if (vr == VOL_NOFD) {
            log_limited(LOG_NOFD, "%s %s: out of file descriptors", e->method, e->url);
        } else {
            int kind = log_kind_volume(http_volume_index(vol));
            metrics_volume_error(vol);
            if (vr == VOL_OK)
                log_limited(kind, "%s %s: volume %s answered %ld", e->method, e->url, vol, vs);
            else
                log_limited(kind, "%s %s: volume %s: %s", e->method, e->url, vol, err);
        }
    }
    if (--e->pending == 0) all_tried(e);
}

int erase_start(struct erase **out, const char *key, size_t keylen, int flags,
                const char *method, const char *url,
                void (*done)(void *arg, unsigned status), void *arg) {
    char path[PLACEMENT_PATH_MAX], err[MKV_ERRLEN];
    struct record rec;
    struct erase *e;
    int held;
    enum store_found found;

    *out = NULL;
    e = calloc(1, sizeof(*e));
    if (e == NULL || (e->url = strdup(url)) == NULL) {
        free(e);
        return MKV_ERR;
    }
    *out = e;
    e->done = done;
    e->arg = arg;
    e->method = method;
    e->keylen = keylen;
    memcpy(e->key, key, keylen);
    held = locks_acquire(key, keylen);
    if (held <= 0) {
        erase_free(e);
        done(arg, held == 0 ? 409 : 503);
        return MKV_OK;
    }
    found = store_get(key, keylen, &rec, err);
    if (found < 0)
        log_limited(found == STORE_BAD ? LOG_RECORD : LOG_INDEX, "%s %s: %s", method, url, err);
    if (found != STORE_FOUND || ((flags & ERASE_PROTECT) && !rec.deleted && !rec.writing)) {
        locks_release(key, keylen);
        erase_free(e);
        done(arg, found == STORE_BAD ? 500 : found == STORE_DOWN ? 503
                  : found == STORE_ABSENT ? 404 : 403);
        return MKV_OK;
    }
    e->rec = rec;
    placement_path(key, keylen, rec.flat, path);
    e->pending = 1; /* until every DELETE is started */
    for (int i = 0; i < rec.nvolumes; i++) {
        struct rm *m = &e->rm[i];
        CURL *h = loop_xfer_handle(&m->x);
        m->e = e;
        m->status = 502;
        vol_url(m->url, record_volume(&e->rec, i), path);
        if (h == NULL) continue;
        vol_setup_simple(h, m->url, "DELETE");
        m->x.done = rm_done;
        if (loop_xfer_start(&m->x) == MKV_OK) e->pending++;
        else log_limited(LOG_NOFD, "%s %s: cannot start the DELETE on %s", method, url,
                         record_volume(&e->rec, i));
    }
    if (--e->pending == 0) all_tried(e);
    return MKV_OK;
}

int erase_settling(const struct erase *e) { return e->settling; }

void erase_cancel(struct erase *e) {
    if (e->settling) { /* bio.c holds it: settled frees it, silently */
        e->cancelled = 1;
        return;
    }
    for (int i = 0; i < e->rec.nvolumes; i++) {
        if (!e->rm[i].x.running) continue;
        loop_xfer_cancel(&e->rm[i].x);
        e->rm[i].status = 503;
        e->rm[i].unknown = 1; /* it may have reached the volume */
    }
    keep_unremoved(e);
    if (!e->handed_off) locks_release(e->key, e->keylen);
    erase_free(e);
}
