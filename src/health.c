/* health.c -- the operator's endpoints: GET /?health (is every volume
 * answering?) and GET /?metrics (Prometheus text from metrics.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "req.h"
#include "store.h"
#include "volclient.h"

struct health_req;

struct check {
    struct loop_xfer x;           /* HEAD / of one volume */
    struct health_req *r;
    int i;
};

struct health_req {
    struct req r;                 /* first: what MHD's con_cls points at */
    int up[PLACEMENT_MAX_VOLUMES];
    struct check k[PLACEMENT_MAX_VOLUMES];
    char url[PLACEMENT_MAX_VOLUMES][VOL_URL_MAX];
};

static void health_destroy(struct req *r) { free(r); }

/* all_checked -- the last HEAD ended: decide the answer. */
static void all_checked(struct health_req *r) {
    int all = 1;
    for (int i = 0; i < http_cfg->nvolumes; i++) all &= r->up[i];
    req_finish(&r->r, all ? 200 : 503);
}

static void check_done(struct loop_xfer *x, CURLcode rc, long code) {
    struct check *k = MKV_CONTAINER(x, struct check, x);
    struct health_req *r = k->r;
    char err[MKV_ERRLEN];
    long st;

    r->up[k->i] = vol_result_of(rc, x->nofd, code, &st, err) == VOL_OK && st < 500;
    if (!r->up[k->i]) metrics_volume_error(http_cfg->volumes[k->i]);
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

/* health_begin -- HEAD every volume at once, each bounded by the volume
 * timeout; a volume whose HEAD cannot start reads as down. */
static void health_begin(struct health_req *r) {
    for (int i = 0; i < http_cfg->nvolumes; i++) {
        struct check *k = &r->k[i];
        CURL *h = loop_xfer_handle(&k->x);
        k->r = r;
        k->i = i;
        if (h == NULL) continue;
        vol_url(r->url[i], http_cfg->volumes[i], "/");
        vol_setup_simple(h, r->url[i], "HEAD");
        k->x.done = check_done;
        if (loop_xfer_start(&k->x) == MKV_OK) r->r.busy++;
    }
    if (r->r.busy == 0) all_checked(r);
}

enum MHD_Result health_handle(struct MHD_Connection *c, const char *method,
                              const char *url, void **con_cls) {
    struct health_req *r = *con_cls;
    size_t cap, n = 0;
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
    cap = 64 + (size_t)http_cfg->nvolumes * (PLACEMENT_VOLUME_MAX + 40);
    body = malloc(cap);
    if (body == NULL) return http_respond(c, method, url, 503);
    n += (size_t)snprintf(body + n, cap - n, "{\"healthy\": %s, \"volumes\": [",
                          r->r.status == 200 ? "true" : "false");
    for (int i = 0; i < http_cfg->nvolumes; i++)
        n += (size_t)snprintf(body + n, cap - n, "%s{\"volume\": \"%s\", \"up\": %s}",
                              i ? ", " : "", http_cfg->volumes[i],
                              r->up[i] ? "true" : "false");
    n += (size_t)snprintf(body + n, cap - n, "]}\n");
    if (r->r.status != 200) log_msg("health: a volume is not answering");
    return http_answer(c, method, url, r->r.status, body, n, "application/json");
}

void health_completed(void *con_cls, enum MHD_RequestTerminationCode toe) {
    (void)toe;
    req_closed(con_cls);
}

enum MHD_Result metrics_answer(struct MHD_Connection *c, const char *method,
                               const char *url) {
    size_t len;
    char *body = metrics_render(store_count(), cleanup_pending(), &len);
    if (body == NULL) return http_respond(c, method, url, 503);
    return http_answer(c, method, url, 200, body, len,
                       "text/plain; version=0.0.4; charset=utf-8");
}
