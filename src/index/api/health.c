/* health.c -- the operator's endpoints: GET /?health (does the index
 * take writes, is every volume answering and has it room?) and GET
 * /?metrics (Prometheus text from metrics.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "health.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "req.h"
#include "store.h"
#include "volclient.h"
#include "volspace.h"

struct health_req;

struct check {
    struct loop_xfer x;           /* GET of one volume's space file */
    struct health_req *r;
    int i;
    struct vol_small space;
};

struct health_req {
    struct req r;                 /* first: what MHD's con_cls points at */
    int up[PLACEMENT_MAX_VOLUMES];
    int known[PLACEMENT_MAX_VOLUMES]; /* free[i] was read */
    uint64_t free[PLACEMENT_MAX_VOLUMES];
    struct check k[PLACEMENT_MAX_VOLUMES];
    char url[PLACEMENT_MAX_VOLUMES][VOL_URL_MAX];
};

static void health_destroy(struct req *r) { free(r); }

/* json_string -- s as a JSON string into out (room for len bytes, which
 * must be at least 2 * strlen(s) + 3); returns the bytes written. */
static size_t json_string(char *out, size_t len, const char *s) {
    size_t o = 0;
    out[o++] = '"';
    for (; *s && o + 3 < len; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') out[o++] = '\\';
        out[o++] = ch < 0x20 ? ' ' : (char)ch;
    }
    out[o++] = '"';
    out[o] = '\0';
    return o;
}

/* all_checked -- the last check ended: every volume up and not full is
 * 200 (the index's own state is added when the answer is written). */
static void all_checked(struct health_req *r) {
    int all = 1;
    for (int i = 0; i < http_cfg->nvolumes; i++) all &= r->up[i] && !volspace_full(i, NULL);
    req_finish(&r->r, all ? 200 : 503);
}

/* check_done -- a volume that answers is up (a 404 or 403 for its space
 * file, from a volume without one, included); one that sent its space
 * file says how much room it has. */
static void check_done(struct loop_xfer *x, CURLcode rc, long code) {
    struct check *k = MKV_CONTAINER(x, struct check, x);
    struct health_req *r = k->r;
    char err[MKV_ERRLEN];
    uint64_t total;
    long st;

    r->up[k->i] = vol_result_of(rc, x->nofd, code, &st, err) == VOL_OK && st < 500;
    if (!r->up[k->i]) metrics_volume_error(http_cfg->volumes[k->i]);
    if (r->up[k->i] && st == 200 && k->space.dropped == 0 &&
        volspace_parse(k->space.data, k->space.len, &r->free[k->i], &total) == MKV_OK) {
        r->known[k->i] = 1;
        volspace_seen(k->i, r->free[k->i]);
    }
    if (r->r.busy == 1) all_checked(r);
    req_release(&r->r);
}

/* health_abort -- shutdown: stop the HEADs still under way. */
static int health_abort(struct req *rq) {
    struct health_req *r = (struct health_req *)rq;
    for (int i = 0; i < http_cfg->nvolumes; i++) {
        if (!r->k[i].x.running) continue;
        loop_xfer_cancel(&r->k[i].x);
        r->r.busy--; /* req_abort_undone holds r meanwhile */
    }
    return 1;
}

/* health_begin -- GET every volume's space file at once, each bounded
 * by the volume timeout; a volume whose check cannot start reads as
 * down. */
static void health_begin(struct health_req *r) {
    for (int i = 0; i < http_cfg->nvolumes; i++) {
        struct check *k = &r->k[i];
        CURL *h = loop_xfer_handle(&k->x);
        k->r = r;
        k->i = i;
        if (h == NULL) continue;
        vol_url(r->url[i], http_cfg->volumes[i], VOLSPACE_PATH);
        vol_setup_get_small(h, r->url[i], &k->space);
        k->x.done = check_done;
        if (loop_xfer_start(&k->x) == MKV_OK) r->r.busy++;
    }
    if (r->r.busy == 0) all_checked(r);
}

enum MHD_Result health_handle(struct call *k) {
    struct MHD_Connection *c = k->c;
    const char *method = k->method, *url = k->url;
    void **con_cls = k->con_cls;
    struct health_req *r = *con_cls;
    char state[2 * MKV_ERRLEN];
    size_t cap, n = 0;
    unsigned status;
    int writable;
    char *body;

    if (r == NULL || r->r.kind != REQ_HEALTH) {
        r = calloc(1, sizeof(*r)); /* up[] reads "down" until checked */
        if (r == NULL || req_init(&r->r, REQ_HEALTH, c, "GET", url, health_abort,
                                  health_destroy) != MKV_OK) {
            free(r);
            return http_respond(c, method, url, 503);
        }
        *con_cls = r;
        health_begin(r);
    }
    if (!r->r.done) {
        req_suspend(&r->r);
        return MHD_YES;
    }
    /* The index's state is read now, not when the checks began. */
    writable = store_state(state, sizeof(state));
    status = writable ? r->r.status : 503;
    cap = 8 * MKV_ERRLEN + 160 + (size_t)http_cfg->nvolumes * (PLACEMENT_VOLUME_MAX + 80);
    body = malloc(cap);
    if (body == NULL) return http_respond(c, method, url, 503);
    n += (size_t)snprintf(body + n, cap - n, "{\"healthy\": %s, \"index\": ",
                          status == 200 ? "true" : "false");
    n += json_string(body + n, cap - n, state);
    /* Listing stops on its own (the key list is stale or failed): said
     * here, without making the index unhealthy. */
    n += (size_t)snprintf(body + n, cap - n, ", \"listing\": ");
    if (store_listable(0, state)) n += json_string(body + n, cap - n, "ok");
    else n += json_string(body + n, cap - n, state);
    n += (size_t)snprintf(body + n, cap - n, ", \"volumes\": [");
    for (int i = 0; i < http_cfg->nvolumes; i++) {
        n += (size_t)snprintf(body + n, cap - n, "%s{\"volume\": \"%s\", \"up\": %s",
                              i ? ", " : "", http_cfg->volumes[i],
                              r->up[i] ? "true" : "false");
        if (r->known[i])
            n += (size_t)snprintf(body + n, cap - n, ", \"free\": %llu",
                                  (unsigned long long)r->free[i]);
        if (volspace_full(i, NULL))
            n += (size_t)snprintf(body + n, cap - n, ", \"full\": true");
        n += (size_t)snprintf(body + n, cap - n, "}");
    }
    n += (size_t)snprintf(body + n, cap - n, "]}\n");
    if (status != 200)
        log_limited(LOG_HEALTH, "health: %s",
                    !writable ? state : "a volume is down or full");
    return http_answer(c, method, url, status, body, n, "application/json");
}

void health_completed(void *con_cls, enum MHD_RequestTerminationCode toe) {
    (void)toe;
    req_closed(con_cls);
}

enum MHD_Result health_metrics(struct call *k) {
    struct MHD_Connection *c = k->c;
    const char *method = k->method, *url = k->url;
    char state[2 * MKV_ERRLEN];
    size_t len;
    int writable = store_state(state, sizeof(state));
    char *body = metrics_render(store_count(), writable, cleanup_pending(), &len);
    if (body == NULL) return http_respond(c, method, url, 503);
    return http_answer(c, method, url, 200, body, len,
                       "text/plain; version=0.0.4; charset=utf-8");
}
