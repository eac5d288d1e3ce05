/* req.c -- requests waiting on their loop (req.h). */
#include <stdlib.h>
#include <string.h>

#include "mkv.h"
#include "req.h"

static __thread struct req *req_live; /* this loop's */

int req_init(struct req *r, enum req_kind kind, struct MHD_Connection *conn,
             const char *method, const char *url, int (*abort)(struct req *),
             void (*destroy)(struct req *)) {
    r->url = strdup(url);
    if (r->url == NULL) return MKV_ERR;
    r->kind = kind;
    r->conn = conn;
    r->method = method;
    r->suspended = 0;
    r->done = 0;
    r->status = 0;
    r->busy = 0;
    r->abort = abort;
    r->destroy = destroy;
    r->prev = NULL;
    r->next = req_live;
    if (req_live) req_live->prev = r;
    req_live = r;
    return MKV_OK;
}

void req_suspend(struct req *r) {
    if (r->suspended || r->conn == NULL) return;
    r->suspended = 1;
    MHD_suspend_connection(r->conn);
}

void req_resume(struct req *r) {
    if (!r->suspended || r->conn == NULL) return;
    r->suspended = 0;
    MHD_resume_connection(r->conn);
}

void req_finish(struct req *r, unsigned status) {
    if (!r->done) r->status = status;
    r->done = 1;
    req_resume(r);
}

/* maybe_free -- the last owner let go. */
static void maybe_free(struct req *r) {
    if (r->conn != NULL || r->busy > 0) return;
    if (r->prev) r->prev->next = r->next;
    else req_live = r->next;
    if (r->next) r->next->prev = r->prev;
    free(r->url);
    r->destroy(r);
}

void req_closed(struct req *r) {
    r->conn = NULL;
    r->suspended = 0; /* MHD no longer knows the connection */
    maybe_free(r);
}

void req_release(struct req *r) {
    r->busy--;
    maybe_free(r);
}

int req_count_undone(void) {
    int n = 0;
    for (struct req *r = req_live; r; r = r->next) n += !r->done && r->conn != NULL;
    return n;
}

int req_count_open(void) {
    int n = 0;
    for (struct req *r = req_live; r; r = r->next) n += r->conn != NULL;
    return n;
}

int req_count_suspended(void) {
    int n = 0;
    for (struct req *r = req_live; r; r = r->next) n += r->suspended;
    return n;
}

int req_count_live(void) {
    int n = 0;
    for (struct req *r = req_live; r; r = r->next) n++;
    return n;
}

int req_abort_undone(void) {
    int n = 0;
    struct req *r, *next;

    /* abort may free r (and only r), so step first. Holding a busy count
     * keeps r alive across the two calls. */
    for (r = req_live; r; r = next) {
        if (r->done || r->conn == NULL) {
            next = r->next;
            continue;
        }
        r->busy++;
        if (r->abort == NULL || r->abort(r)) {
            req_finish(r, 503);
            n++;
        }
        next = r->next;
        req_release(r);
    }
    return n;
}
