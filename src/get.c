/* get.c -- GET/HEAD of a key: a 302 to one of its replicas, from the
 * index alone; with --probe a worker first HEAD-checks the replicas so a
 * dead one is skipped. Query strings go to listing (list.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "log.h"
#include "metrics.h"
#include "pending.h"
#include "placement.h"
#include "store.h"
#include "volclient.h"
#include "workers.h"

struct probe_req {
    struct pending p;             /* first: what MHD's con_cls points at */
    const char *url;
    struct record rec;
    int order[RECORD_MAX_VOLUMES]; /* replicas in the order to try */
    int chosen;                   /* replica that answered, or -1 */
    char path[PLACEMENT_PATH_MAX];
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
    enum MHD_Result ret;
    size_t n = 0;
    int ok;

    r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (r == NULL) return MHD_NO;
    ok = MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location) == MHD_YES;
    if (ok && rec != NULL) {
        for (int i = 0; i < rec->nvolumes; i++)
            n += (size_t)snprintf(vols + n, sizeof(vols) - n, "%s%s", i ? "," : "",
                                  rec->volumes[i]);
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
    http_account(c, method, url, 302, 0);
    ret = MHD_queue_response(c, MHD_HTTP_FOUND, r);
    MHD_destroy_response(r);
    return ret;
}

/* redirect -- the 302 to replica v of rec. */
static enum MHD_Result redirect(struct MHD_Connection *c, const char *method,
                                const char *url, const struct record *rec,
                                int v, const char *path) {
    char location[VOL_URL_MAX];
    vol_url(location, rec->volumes[v], path);
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

static void probe_destroy(struct pending *p) { free(p); }

/* probe_job -- worker: HEAD the replicas in turn; the first with the
 * value wins. */
static void probe_job(void *arg) {
    struct probe_req *r = arg;
    char target[VOL_URL_MAX], err[MKV_ERRLEN];
    enum vol_result first = VOL_OK;
    unsigned status = 502;
    long vs;

    r->chosen = -1;
    for (int i = 0; i < r->rec.nvolumes && r->chosen < 0; i++) {
        int v = r->order[i];
        enum vol_result vr;
        vol_url(target, r->rec.volumes[v], r->path);
        vr = vol_head(target, &vs, err);
        if (vr == VOL_OK && vs == 200) {
            r->chosen = v;
            status = 302;
        } else {
            if (vr != VOL_OK) metrics_volume_error(r->rec.volumes[v]);
            log_msg("GET %s: probe of %s: %s", r->url, r->rec.volumes[v],
                    vr == VOL_OK ? "value missing" : err);
            if (first == VOL_OK) first = vr;
        }
    }
    if (r->chosen < 0)
        status = vol_http_status(first);
    pending_complete(&r->p, status);
    pending_unref(&r->p);
}

/* lookup -- a plain GET/HEAD of a key. */
static enum MHD_Result lookup(struct MHD_Connection *c, const char *method,
                              const char *url, void **con_cls) {
    char key[MKV_KEY_MAX], path[PLACEMENT_PATH_MAX], err[MKV_ERRLEN];
    struct probe_req *r;
    struct record rec;
    enum MHD_Result ret;
    size_t keylen;
    int order[RECORD_MAX_VOLUMES], found;

    if (!http_key(c, method, url, key, &keylen, &ret)) return ret;
    found = store_get(key, keylen, &rec, err);
    if (found < 0) {
        log_msg("%s %s: %s", method, url, err);
        return http_respond(c, method, url, 500);
    }
    if (found == 0 || rec.deleted) return absent(c, method, url);
    placement_path(key, keylen, path);
    pick_order(rec.nvolumes, order);
    if (!http_cfg->probe) return redirect(c, method, url, &rec, order[0], path);

    r = malloc(sizeof(*r));
    if (r == NULL) return http_respond(c, method, url, 503);
    pending_init(&r->p, REQ_PROBE, c, method, probe_destroy);
    r->url = url;
    r->rec = rec;
    /* rec's volume pointers point into rec.buf: move them to r's copy. */
    for (int i = 0; i < rec.nvolumes; i++)
        r->rec.volumes[i] = r->rec.buf + (rec.volumes[i] - rec.buf);
    memcpy(r->order, order, sizeof(order));
    memcpy(r->path, path, sizeof(path));
    r->chosen = -1; /* until the job says otherwise (a drain may not wait) */
    *con_cls = r;
    if (workers_submit(probe_job, r) != MKV_OK) {
        pending_unref(&r->p); /* the job's reference; MHD drops the other */
        return http_respond(c, method, url, 503);
    }
    if (!pending_wait(&r->p)) return MHD_YES; /* suspended until probed */
    return get_handle(c, method, url, con_cls);
}

/* collect_query -- libmicrohttpd's iterator over the query's pairs. */
static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind,
                                     const char *name, const char *value) {
    (void)kind;
    query_add(cls, name, value);
    return MHD_YES;
}

enum MHD_Result get_handle(struct MHD_Connection *c, const char *method,
                           const char *url, void **con_cls) {
    struct probe_req *r = *con_cls;
    struct query q;

    if (r != NULL && r->p.kind == REQ_PROBE) { /* resumed after the probe */
        /* The status is final once seen done (under mu); the job sets
         * chosen before it reports 302, so only then is chosen read. */
        if (r->p.status != 302) return http_respond(c, method, url, r->p.status);
        return redirect(c, method, url, &r->rec, r->chosen, r->path);
    }
    query_init(&q);
    if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, &q) > 0) {
        if (query_done(&q) != MKV_OK) {
            log_msg("%s %s: refused: %s", method, url, q.err);
            return http_respond(c, method, url, 400);
        }
        if (q.op == QUERY_HEALTH) return health_handle(c, method, url, con_cls);
        if (q.op == QUERY_METRICS) return metrics_answer(c, method, url);
        if (q.op == QUERY_LIST || q.op == QUERY_UNLINKED) {
            char prefix[MKV_KEY_MAX];
            size_t plen;
            enum MHD_Result ret;
            if (!http_key(c, method, url, prefix, &plen, &ret)) return ret;
            return list_answer(c, method, url, prefix, plen, &q);
        }
    }
    *con_cls = NULL; /* the marker: nothing to free */
    return lookup(c, method, url, con_cls);
}

void get_completed(void *con_cls, enum MHD_RequestTerminationCode toe) {
    struct probe_req *r = con_cls;
    (void)toe;
    if (r->p.kind == REQ_PROBE) pending_closed(&r->p);
}
