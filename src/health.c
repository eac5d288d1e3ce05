/* health.c -- the operator's endpoints: GET /?health (is every volume
 * answering?) and GET /?metrics (Prometheus text from metrics.c). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "metrics.h"
#include "pending.h"
#include "store.h"
#include "volclient.h"
#include "workers.h"

struct health_req {
    struct pending p;             /* first: what MHD's con_cls points at */
    int up[PLACEMENT_MAX_VOLUMES];
};

struct check {
    const char *volume;
    int *up;
};

static void *check_volume(void *arg) {
    struct check *k = arg;
    char url[VOL_URL_MAX], err[MKV_ERRLEN];
    long st;
    vol_url(url, k->volume, "/");
    *k->up = vol_head(url, &st, err) == VOL_OK && st < 500;
    if (!*k->up) metrics_volume_error(k->volume);
    vol_thread_done();
    return NULL;
}

/* health_job -- worker: HEAD every volume at once, each bounded by the
 * volume timeout. */
static void health_job(void *arg) {
    struct health_req *r = arg;
    struct check k[PLACEMENT_MAX_VOLUMES];
    pthread_t tids[PLACEMENT_MAX_VOLUMES];
    int started[PLACEMENT_MAX_VOLUMES], all = 1;

    for (int i = 0; i < http_cfg->nvolumes; i++) {
        k[i].volume = http_cfg->volumes[i];
        k[i].up = &r->up[i];
        r->up[i] = 0;
        started[i] = pthread_create(&tids[i], NULL, check_volume, &k[i]) == 0;
    }
    for (int i = 0; i < http_cfg->nvolumes; i++) {
        if (started[i]) pthread_join(tids[i], NULL);
        all &= r->up[i];
    }
    pending_complete(&r->p, all ? 200 : 503);
    pending_unref(&r->p);
}

static void health_destroy(struct pending *p) { free(p); }

enum MHD_Result health_handle(struct MHD_Connection *c, const char *method,
                              const char *url, void **con_cls) {
    struct health_req *r = *con_cls;
    size_t cap, n = 0;
    char *body;

    if (r == NULL || r->p.kind != REQ_HEALTH) {
        r = calloc(1, sizeof(*r)); /* up[] reads "down" until checked */
        if (r == NULL) return http_respond(c, method, url, 503);
        pending_init(&r->p, REQ_HEALTH, c, method, health_destroy);
        *con_cls = r;
        if (workers_submit(health_job, r) != MKV_OK) {
            pending_unref(&r->p); /* the job's reference; MHD drops the other */
            return http_respond(c, method, url, 503);
        }
        if (!pending_wait(&r->p)) return MHD_YES; /* suspended until checked */
    }
    cap = 64 + (size_t)http_cfg->nvolumes * (PLACEMENT_VOLUME_MAX + 40);
    body = malloc(cap);
    if (body == NULL) return http_respond(c, method, url, 503);
    n += (size_t)snprintf(body + n, cap - n, "{\"healthy\": %s, \"volumes\": [",
                          r->p.status == 200 ? "true" : "false");
    for (int i = 0; i < http_cfg->nvolumes; i++)
        n += (size_t)snprintf(body + n, cap - n, "%s{\"volume\": \"%s\", \"up\": %s}",
                              i ? ", " : "", http_cfg->volumes[i],
                              r->up[i] ? "true" : "false");
    n += (size_t)snprintf(body + n, cap - n, "]}\n");
    if (r->p.status != 200) log_msg("health: a volume is not answering");
    return http_answer(c, method, url, r->p.status, body, n, "application/json");
}

void health_completed(void *con_cls, enum MHD_RequestTerminationCode toe) {
    (void)toe;
    pending_closed(con_cls);
}

enum MHD_Result metrics_answer(struct MHD_Connection *c, const char *method,
                               const char *url) {
    size_t len;
    char *body = metrics_render(store_count(), &len);
    if (body == NULL) return http_respond(c, method, url, 503);
    return http_answer(c, method, url, 200, body, len,
                       "text/plain; version=0.0.4; charset=utf-8");
}
