/* route.c -- the native API's route table (route.h): a request's method
 * (and, for GET, its query) picks its handler on the first call; later
 * calls go to the handler that kept the request (by its req kind). */
#include <string.h>

#include "delete.h"
#include "get.h"
#include "health.h"
#include "http.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "put.h"
#include "query.h"
#include "req.h"
#include "route.h"

/* Markers for *con_cls between calls, for requests no handler keeps yet:
 * "headers seen, answer on the next call" and "answered on the first". */
static enum req_kind route_later = REQ_GET;
static enum req_kind route_answered = REQ_REFUSED;

/* The methods. A route that answers `later` is called once the whole
 * request is read (queuing an answer before libmicrohttpd has read it
 * makes it close the connection); `writes` routes refuse a query string
 * (it is not part of the key, so a GET of the same target could not name
 * what was written). */
struct route {
    const char *method;
    int later, writes;
    enum MHD_Result (*handle)(struct call *k);
};

static enum MHD_Result route_get(struct call *k);

static const struct route routes[] = {
    {MHD_HTTP_METHOD_GET, 1, 0, route_get},
    {MHD_HTTP_METHOD_HEAD, 1, 0, route_get},
    {MHD_HTTP_METHOD_PUT, 0, 1, put_handle},
    {MHD_HTTP_METHOD_DELETE, 0, 1, delete_handle},
    {"UNLINK", 1, 1, delete_handle},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* The query operations of GET (and HEAD). */
struct query_route {
    enum query_op op;
    enum MHD_Result (*handle)(struct call *k);
};

static const struct query_route query_routes[] = {
    {QUERY_LIST, list_answer},
    {QUERY_UNLINKED, list_answer},
    {QUERY_HEALTH, health_handle},
    {QUERY_METRICS, health_metrics},
    {QUERY_NONE, get_handle},
};
#define NQUERY_ROUTES (sizeof(query_routes) / sizeof(query_routes[0]))

/* collect_query -- libmicrohttpd's iterator over the query's pairs. */
static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind,
                                     const char *name, const char *value) {
    (void)kind;
    query_add(cls, name, value);
    return MHD_YES;
}

/* route_get -- GET or HEAD, once read: by its query. */
static enum MHD_Result route_get(struct call *k) {
    struct query q;

    query_init(&q);
    MHD_get_connection_values(k->c, MHD_GET_ARGUMENT_KIND, collect_query, &q);
    if (query_done(&q) != MKV_OK) {
        log_limited(LOG_REFUSED, "%s %s: refused: %s", k->method, k->url, q.err);
        return http_respond(k->c, k->method, k->url, 400);
    }
    *k->con_cls = NULL; /* nothing kept yet */
    k->q = &q;
    for (size_t i = 0; i < NQUERY_ROUTES; i++)
        if (query_routes[i].op == q.op) return query_routes[i].handle(k);
    return http_respond(k->c, k->method, k->url, 400);
}

/* first_call -- a request's first call: its route by method. */
static enum MHD_Result first_call(struct call *k) {
    for (size_t i = 0; i < NROUTES; i++) {
        const struct route *r = &routes[i];
        if (strcmp(k->method, r->method) != 0) continue;
        if (r->writes &&
            MHD_get_connection_values(k->c, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0) {
            log_msg("%s %s: refused: a query string on a write", k->method, k->url);
            *k->con_cls = &route_answered;
            return http_respond(k->c, k->method, k->url, 400);
        }
        if (r->later) {
            *k->con_cls = &route_later;
            return MHD_YES;
        }
        return r->handle(k);
    }
    return http_respond(k->c, k->method, k->url, 405);
}

/* later_call -- the request was read (GET, HEAD, UNLINK): its route. */
static enum MHD_Result later_call(struct call *k) {
    if (*k->upload_size != 0) { /* a body we do not want: skip it */
        *k->upload_size = 0;
        return MHD_YES;
    }
    for (size_t i = 0; i < NROUTES; i++)
        if (strcmp(k->method, routes[i].method) == 0) {
            *k->con_cls = NULL;
            return routes[i].handle(k);
        }
    return MHD_NO;
}

/* What calls after the first go to, by the kind of request kept. */
struct kind_route {
    enum MHD_Result (*handle)(struct call *k);
    void (*completed)(void *con_cls, enum MHD_RequestTerminationCode toe);
};

static const struct kind_route kind_routes[] = {
    [REQ_REFUSED] = {NULL, NULL},
    [REQ_GET] = {later_call, NULL},
    [REQ_PROBE] = {get_handle, get_completed},
    [REQ_HEALTH] = {health_handle, health_completed},
    [REQ_PUT] = {put_handle, put_completed},
    [REQ_DELETE] = {delete_handle, delete_completed},
    [REQ_S3] = {NULL, NULL}, /* never on this daemon */
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    struct call k = {c, method, url, upload_data, upload_data_size, con_cls, NULL};
    enum req_kind kind;

    (void)cls;
    if (http_nul_in_path(*con_cls) || *con_cls == NULL) http_begin(c, version);
    if (*con_cls == NULL && loop_stopping()) {
        /* A kept-alive client starting a request while we shut down. */
        *con_cls = &route_answered;
        return http_respond(c, method, url, 503);
    }
    if (http_nul_in_path(*con_cls)) {
        *con_cls = NULL;
        log_limited(LOG_REFUSED, "%s: refused: a NUL byte inside the path", method);
        return http_respond(c, method, url, 400);
    }
    if (*con_cls == NULL) return first_call(&k);
    kind = *(enum req_kind *)*con_cls;
    if (kind == REQ_DELETE) k.method = ((struct req *)*con_cls)->method;
    if ((size_t)kind < sizeof(kind_routes) / sizeof(kind_routes[0]) && kind_routes[kind].handle)
        return kind_routes[kind].handle(&k);
    return MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    enum req_kind kind;

    (void)cls;
    http_end(c); /* if it ended without an answer */
    if (*con_cls == NULL) return;
    kind = *(enum req_kind *)*con_cls;
    if ((size_t)kind < sizeof(kind_routes) / sizeof(kind_routes[0]) &&
        kind_routes[kind].completed)
        kind_routes[kind].completed(*con_cls, toe);
    *con_cls = NULL;
}

struct MHD_Daemon *route_daemon(int listen_fd, unsigned limit, unsigned timeout_s) {
    return http_start_daemon(listen_fd, limit, timeout_s, on_request, on_completed);
}
