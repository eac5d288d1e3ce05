/* pending.c -- suspend/resume bridge between MHD threads and workers. */
#include "pending.h"

void pending_init(struct pending *p, enum req_kind kind,
                  struct MHD_Connection *conn, const char *method,
                  void (*destroy)(struct pending *)) {
    p->kind = kind;
    pthread_mutex_init(&p->mu, NULL);
    p->conn = conn;
    p->refs = 2;
    p->suspended = 0;
    p->done = 0;
    p->status = 0;
    p->method = method;
    p->destroy = destroy;
}

void pending_suspend(struct pending *p) {
    pthread_mutex_lock(&p->mu);
    p->suspended = 1;
    MHD_suspend_connection(p->conn);
    pthread_mutex_unlock(&p->mu);
}

/* do_resume -- p->mu held. */
static void do_resume(struct pending *p) {
    if (p->suspended && p->conn != NULL) {
        p->suspended = 0;
        MHD_resume_connection(p->conn);
    }
}

void pending_resume(struct pending *p) {
    pthread_mutex_lock(&p->mu);
    do_resume(p);
    pthread_mutex_unlock(&p->mu);
}

int pending_wait(struct pending *p) {
    int done;
    pthread_mutex_lock(&p->mu);
    done = p->done;
    if (!done) {
        p->suspended = 1;
        MHD_suspend_connection(p->conn);
    }
    pthread_mutex_unlock(&p->mu);
    return done;
}

int pending_is_done(struct pending *p) {
    int done;
    pthread_mutex_lock(&p->mu);
    done = p->done;
    pthread_mutex_unlock(&p->mu);
    return done;
}

void pending_complete(struct pending *p, unsigned status) {
    pthread_mutex_lock(&p->mu);
    p->status = status;
    p->done = 1;
    do_resume(p);
    pthread_mutex_unlock(&p->mu);
}

void pending_closed(struct pending *p) {
    pthread_mutex_lock(&p->mu);
    p->conn = NULL;
    pthread_mutex_unlock(&p->mu);
    pending_unref(p);
}

void pending_unref(struct pending *p) {
    int refs;
    pthread_mutex_lock(&p->mu);
    refs = --p->refs;
    pthread_mutex_unlock(&p->mu);
    if (refs == 0) {
        pthread_mutex_destroy(&p->mu);
        p->destroy(p);
    }
}
