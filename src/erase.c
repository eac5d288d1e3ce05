/* erase.c -- remove a key: its replicas at once, then its record (erase.h). */
#include <stdlib.h>
#include <string.h>

#include "bio.h"
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
    char url[VOL_URL_MAX];
};

struct erase {
    struct record rec;            /* the record as found */
    void (*done)(void *arg, unsigned status);
    void *arg;
    int pending;                  /* DELETEs under way, + 1 while starting */
    int settling;                 /* waiting for bio_sync */
    int cancelled;                /* erase_cancel while settling */
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
    locks_release(e->key, e->keylen);
    if (!e->cancelled) e->done(e->arg, ok == MKV_OK ? e->status : 500);
    erase_free(e);
}

/* all_tried -- every replica answered: drop the record, or keep in it
 * exactly the replicas not removed. */
static void all_tried(struct erase *e) {
    char err[MKV_ERRLEN];
    struct record left = e->rec;
    unsigned status = 204;

    left.nvolumes = 0;
    for (int i = 0; i < e->rec.nvolumes; i++) {
        if (e->rm[i].status == 204) continue;
        if (status == 204) status = e->rm[i].status;
        left.volumes[left.nvolumes++] = e->rec.volumes[i];
    }
    if (left.nvolumes == 0) {
        if (store_delete(e->key, e->keylen, err) < 0) {
            log_msg("%s %s: %s", e->method, e->url, err);
            status = 500;
        }
    } else if (left.nvolumes < e->rec.nvolumes &&
               store_put(e->key, e->keylen, &left, err) != MKV_OK) {
        log_msg("%s %s: %s", e->method, e->url, err);
    }
    e->status = status;
    e->settling = 1;
    if (bio_sync(settled, e) != MKV_OK) settled(e, MKV_ERR);
}

static void rm_done(struct loop_xfer *x, CURLcode rc, long code) {
    struct rm *m = MKV_CONTAINER(x, struct rm, x);
    struct erase *e = m->e;
    const char *vol = e->rec.volumes[m - e->rm];
    char err[MKV_ERRLEN];
    long vs;
    enum vol_result vr = vol_result_of(rc, x->nofd, code, &vs, err);

    if (vr == VOL_OK && (vs == 204 || vs == 200 || vs == 404)) {
        m->status = 204;
    } else {
        m->status = vol_http_status(vr);
        if (vr == VOL_NOFD) {
            log_msg("%s %s: out of file descriptors", e->method, e->url);
        } else {
            metrics_volume_error(vol);
            if (vr == VOL_OK)
                log_msg("%s %s: volume %s answered %ld", e->method, e->url, vol, vs);
            else
                log_msg("%s %s: volume %s: %s", e->method, e->url, vol, err);
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
    int held, found;

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
    if (found < 0) log_msg("%s %s: %s", method, url, err);
    if (found != 1 || ((flags & ERASE_PROTECT) && !rec.deleted)) {
        locks_release(key, keylen);
        erase_free(e);
        done(arg, found < 0 ? 500 : found == 0 ? 404 : 403);
        return MKV_OK;
    }
    e->rec = rec;
    for (int i = 0; i < rec.nvolumes; i++) /* into e's copy of the buffer */
        e->rec.volumes[i] = e->rec.buf + (rec.volumes[i] - rec.buf);
    placement_path(key, keylen, path);
    e->pending = 1; /* until every DELETE is started */
    for (int i = 0; i < rec.nvolumes; i++) {
        struct rm *m = &e->rm[i];
        CURL *h = loop_xfer_handle(&m->x);
        m->e = e;
        m->status = 502;
        vol_url(m->url, e->rec.volumes[i], path);
        if (h == NULL) continue;
        vol_setup_simple(h, m->url, "DELETE");
        m->x.done = rm_done;
        if (loop_xfer_start(&m->x) == MKV_OK) e->pending++;
        else log_msg("%s %s: cannot start the DELETE on %s", method, url, e->rec.volumes[i]);
    }
    if (--e->pending == 0) all_tried(e);
    return MKV_OK;
}

void erase_cancel(struct erase *e) {
    if (e->settling) { /* bio.c holds it: settled frees it, silently */
        e->cancelled = 1;
        return;
    }
    for (int i = 0; i < e->rec.nvolumes; i++)
        if (e->rm[i].x.running) loop_xfer_cancel(&e->rm[i].x);
    locks_release(e->key, e->keylen);
    erase_free(e);
}
