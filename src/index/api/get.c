/* get.c -- GET/HEAD of a key: a 302 to one of its replicas, from the
 * index alone; with --probe the replicas are first HEAD-checked in turn,
 * on the request's loop, so a dead one is skipped. Query strings go to
 * listing (list.c) and the operator's endpoints (health.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "get.h"
#include "http.h"
#include "key.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "placement.h"
#include "req.h"
#include "store.h"
#include "volclient.h"

struct probe_req {
    struct req r;                 /* first: what MHD's con_cls points at */
    struct loop_xfer x;           /* the HEAD under way */
    struct record rec;
    int order[RECORD_MAX_VOLUMES]; /* replicas in the order to try */
    int tried;                    /* replicas probed so far */
    int chosen;                   /* replica that answered, or -1 */
    int missing;                  /* replicas that answered 404 */
    size_t keylen;
    char key[MKV_KEY_MAX];
    enum vol_result first;        /* the first failure, for the status */
    char path[PLACEMENT_PATH_MAX];
    char target[VOL_URL_MAX];
};

/* pick_order -- the replicas in a random order, so reads spread. */
static void pick_order(int n, int *order) {
    static __thread unsigned seed;
    if (seed == 0) seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = rand_r(&seed) % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* send_302 -- a redirect to location, with rec's headers when given. */
static enum MHD_Result send_302(struct MHD_Connection *c, const char *method,
                                const char *url, const char *location,
                                const struct record *rec) {
    char vols[RECORD_MAX], etag[36];
    struct MHD_Response *r;
    size_t n = 0;
    int ok;

    r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (r == NULL) return MHD_NO;
    ok = MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location) == MHD_YES;
    if (ok && rec != NULL) {
        for (int i = 0; i < rec->nvolumes; i++)
            n += (size_t)snprintf(vols + n, sizeof(vols) - n, "%s%s", i ? "," : "",
                                  record_volume(rec, i));
        ok = MHD_add_response_header(r, "Key-Volumes", vols) == MHD_YES;
    }
    if (ok && rec != NULL && rec->hash[0]) {
        snprintf(etag, sizeof(etag), "\"%s\"", rec->hash);
        ok = MHD_add_response_header(r, "Content-Md5", rec->hash) == MHD_YES &&
             MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag) == MHD_YES;
    }
    if (!ok) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    return http_queue(c, method, url, 302, r, 0);
}

/* redirect -- the 302 to replica v of rec. */
static enum MHD_Result redirect(struct MHD_Connection *c, const char *method,
                                const char *url, const struct record *rec,
                                int v, const char *path) {
    char location[VOL_URL_MAX];
    vol_url(location, record_volume(rec, v), path);
    return send_302(c, method, url, location, rec);
}

/* absent -- the key is not there (or unlinked): 404, or the fallback. */
static enum MHD_Result absent(struct MHD_Connection *c, const char *method,
                              const char *url) {
    char location[8 + PLACEMENT_VOLUME_MAX + 4 * MKV_KEY_MAX];

    if (http_cfg->fallback == NULL) return http_respond(c, method, url, 404);
    snprintf(location, sizeof(location), "http://%s%s", http_cfg->fallback, url);
    return send_302(c, method, url, location, NULL);
}

static void probe_destroy(struct req *r) { free(r); }

/* probe_abort -- shutdown: stop the HEAD under way. */
static int probe_abort(struct req *rq) {
    struct probe_req *r = (struct probe_req *)rq;
    if (r->x.running) {
        loop_xfer_cancel(&r->x);
        r->r.busy--; /* req_abort_undone holds r meanwhile */
    }
    return 1;
}

static void probe_done(struct loop_xfer *x, CURLcode rc, long code);

/* gone -- no replica has the value: was the key deleted meanwhile (a
 * DELETE racing this GET)? Then the answer is 404, not a volume error. */
static int gone(struct probe_req *r) {
    char err[MKV_ERRLEN];
    struct record rec;
    int found = store_get(r->key, r->keylen, &rec, err);

    return found == 0 || (found == 1 && (rec.deleted || rec.writing));
}

/* probe_next -- HEAD the next replica, or answer when none is left. */
static void probe_next(struct probe_req *r) {
    while (r->tried < r->rec.nvolumes) {
        const char *vol = record_volume(&r->rec, r->order[r->tried]);
        CURL *h = loop_xfer_handle(&r->x);
        vol_url(r->target, vol, r->path);
        if (h != NULL) {
            vol_setup_simple(h, r->target, "HEAD");
            r->x.done = probe_done;
            r->x.stall_ms = 0; /* bounded by --voltimeout */
            if (loop_xfer_start(&r->x) == MKV_OK) {
                r->r.busy++;
                return;
            }
        }
        log_limited(LOG_NOFD, "GET %s: cannot start a probe of %s", r->r.url, vol);
        if (r->first == VOL_OK) r->first = VOL_FAILED;
        r->tried++;
    }
    req_finish(&r->r, r->chosen >= 0 ? 302 : r->missing == r->rec.nvolumes && gone(r)
                                                ? 404 : vol_http_status(r->first));
}

static void probe_done(struct loop_xfer *x, CURLcode rc, long code) {
    struct probe_req *r = MKV_CONTAINER(x, struct probe_req, x);
    int v = r->order[r->tried++];
    char err[MKV_ERRLEN];
    long vs;
    enum vol_result vr = vol_result_of(rc, x->nofd, code, &vs, err);

    if (vr == VOL_OK && vs == 200) {
        r->chosen = v;
        req_finish(&r->r, 302);
    } else if (vr == VOL_NOFD) {
        log_limited(LOG_NOFD, "GET %s: out of file descriptors; answering 503", r->r.url);
        r->first = VOL_NOFD;
        req_finish(&r->r, 503);
    } else {
        if (vr != VOL_OK) metrics_volume_error(record_volume(&r->rec, v));
        else if (vs == 404) r->missing++;
        log_limited(log_kind_volume(http_volume_index(record_volume(&r->rec, v))),
                    "GET %s: probe of %s: %s", r->r.url, record_volume(&r->rec, v),
                    vr == VOL_OK ? "value missing" : err);
        if (r->first == VOL_OK) r->first = vr;
        if (!r->r.done && r->r.conn != NULL) probe_next(r);
    }
    req_release(&r->r);
}

/* lookup -- a plain GET/HEAD of a key. */
static enum MHD_Result lookup(struct MHD_Connection *c, const char *method,
                              const char *url, void **con_cls) {
    char key[MKV_KEY_MAX], path[PLACEMENT_PATH_MAX], err[MKV_ERRLEN];
    struct probe_req *r;
    struct record rec;
    enum MHD_Result ret;
    size_t keylen;
    int order[RECORD_MAX_VOLUMES];
    enum store_found found;

    if (http_key(c, method, url, key, &keylen, &ret) != MKV_OK) return ret;
    found = store_get(key, keylen, &rec, err);
    if (found == STORE_BAD) { /* the record on disk is not one we can use */
        log_limited(LOG_RECORD, "%s %s: %s", method, url, err);
        return http_respond(c, method, url, 500);
    }
    if (found == STORE_DOWN) { /* being recovered: try again soon */
        log_limited(LOG_INDEX, "%s %s: %s", method, url, err);
        return http_respond(c, method, url, 503);
    }
    if (found == STORE_ABSENT || rec.deleted || rec.writing || key_reserved(key, keylen))
        return absent(c, method, url);
    placement_path(key, keylen, rec.flat, path);
    pick_order(rec.nvolumes, order);
    if (!http_cfg->probe) return redirect(c, method, url, &rec, order[0], path);

    r = calloc(1, sizeof(*r));
    if (r == NULL || req_init(&r->r, REQ_PROBE, c, method[0] == 'H' ? "HEAD" : "GET",
                              url, probe_abort, probe_destroy) != MKV_OK) {
        free(r);
        return http_respond(c, method, url, 503);
    }
    r->rec = rec;
    memcpy(r->order, order, sizeof(order));
    memcpy(r->path, path, sizeof(path));
    memcpy(r->key, key, keylen);
    r->keylen = keylen;
    r->chosen = -1;
    r->first = VOL_OK;
    *con_cls = r; /* from here MHD's completion callback lets go of r */
    probe_next(r);
    if (!r->r.done) {
        req_suspend(&r->r);
        return MHD_YES;
    }
    if (r->r.status != 302) return http_respond(c, method, url, r->r.status);
    return redirect(c, method, url, &r->rec, r->chosen, r->path);
}

enum MHD_Result get_handle(struct call *k) {
    struct probe_req *r = *k->con_cls;

    if (r != NULL && r->r.kind == REQ_PROBE) { /* called again: probed? */
        if (!r->r.done) {
            req_suspend(&r->r);
            return MHD_YES;
        }
        if (r->r.status != 302) return http_respond(k->c, k->method, k->url, r->r.status);
        return redirect(k->c, k->method, k->url, &r->rec, r->chosen, r->path);
    }
    *k->con_cls = NULL; /* nothing to free */
    return lookup(k->c, k->method, k->url, k->con_cls);
}

void get_completed(void *con_cls, enum MHD_RequestTerminationCode toe) {
    struct probe_req *r = con_cls;
    (void)toe;
    if (r->r.kind == REQ_PROBE) req_closed(&r->r);
}
