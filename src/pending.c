/* pending.c -- suspend/resume bridge between MHD threads and workers. */
#include <unistd.h>

#include "log.h"
#include "mkv.h"
#include "pending.h"

/* Every live pending request, for the drain at shutdown; and how many
 * connections we suspended that MHD has not handed back yet. */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pending *registry;
static int registry_suspended;

static void note_suspend(struct pending *p) {
    pthread_mutex_lock(&registry_mu);
    if (!p->in_mhd_suspend) {
        p->in_mhd_suspend = 1;
        registry_suspended++;
    }
    pthread_mutex_unlock(&registry_mu);
}

void pending_entered(struct pending *p) {
    pthread_mutex_lock(&registry_mu);
    if (p->in_mhd_suspend) {
        p->in_mhd_suspend = 0;
        registry_suspended--;
    }
    pthread_mutex_unlock(&registry_mu);
}

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
    p->abort = NULL;
    p->in_mhd_suspend = 0;
    pthread_mutex_lock(&registry_mu);
    p->prev = NULL;
    p->next = registry;
    if (registry) registry->prev = p;
    registry = p;
    pthread_mutex_unlock(&registry_mu);
}

void pending_suspend(struct pending *p) {
    note_suspend(p);
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
    note_suspend(p); /* before mu: the lock order is registry, then p */
    pthread_mutex_lock(&p->mu);
    done = p->done;
    if (!done) {
        p->suspended = 1;
        MHD_suspend_connection(p->conn);
    }
    pthread_mutex_unlock(&p->mu);
    if (done) pending_entered(p);
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
    if (!p->done) p->status = status; /* the first answer stands */
    p->done = 1;
    do_resume(p);
    pthread_mutex_unlock(&p->mu);
}

void pending_closed(struct pending *p) {
    pending_entered(p); /* a closed connection is not suspended */
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
        pthread_mutex_lock(&registry_mu);
        if (p->prev) p->prev->next = p->next;
        else registry = p->next;
        if (p->next) p->next->prev = p->prev;
        pthread_mutex_unlock(&registry_mu);
        pthread_mutex_destroy(&p->mu);
        p->destroy(p);
    }
}

/* do_count_undone -- requests whose answer is not decided yet; registry_mu held. */
static int do_count_undone(void) {
    int n = 0;
    for (struct pending *p = registry; p; p = p->next) {
        pthread_mutex_lock(&p->mu);
        n += !p->done && p->conn != NULL;
        pthread_mutex_unlock(&p->mu);
    }
    return n;
}

/* abort_undone -- answer every request not yet done with 503 and stop its
 * job early; returns how many. Each is taken under the registry's lock
 * and held by a reference, so it cannot be freed meanwhile. */
static int abort_undone(void) {
    int n = 0;
    for (;;) {
        struct pending *victim = NULL;
        pthread_mutex_lock(&registry_mu);
        for (struct pending *p = registry; p && !victim; p = p->next) {
            pthread_mutex_lock(&p->mu);
            if (!p->done && p->conn != NULL) {
                victim = p;
                p->refs++;
            }
            pthread_mutex_unlock(&p->mu);
        }
        pthread_mutex_unlock(&registry_mu);
        if (victim == NULL) return n;
        pending_complete(victim, 503);
        if (victim->abort) victim->abort(victim);
        pending_unref(victim);
        n++;
    }
}

int pending_drain(long grace_ms) {
    double deadline = mkv_now_ms() + (double)grace_ms;
    int undone, aborted = 0, suspended;

    for (;;) {
        pthread_mutex_lock(&registry_mu);
        undone = do_count_undone();
        pthread_mutex_unlock(&registry_mu);
        if (undone == 0 || mkv_now_ms() >= deadline) break;
        usleep(20 * 1000);
    }
    if (undone > 0) {
        aborted = abort_undone();
        log_msg("shutdown: %d request%s aborted after %ld ms", aborted,
                aborted == 1 ? "" : "s", grace_ms);
    }
    /* MHD refuses to stop while a connection is still suspended. */
    deadline = mkv_now_ms() + 10000;
    do {
        /* Kept-alive connections may still start requests: answer those
         * 503 too, or one could stay suspended past the deadline. */
        aborted += abort_undone();
        pthread_mutex_lock(&registry_mu);
        suspended = registry_suspended;
        pthread_mutex_unlock(&registry_mu);
        if (suspended > 0) usleep(10 * 1000);
    } while (suspended > 0 && mkv_now_ms() < deadline);
    if (suspended > 0)
        log_msg("shutdown: %d connection%s still suspended", suspended,
                suspended == 1 ? "" : "s");
    return aborted;
}
