/* workers.c -- an on-demand pool of threads for volume transfers. */
#include <pthread.h>
#include <stdlib.h>

#include "log.h"
#include "volclient.h"
#include "workers.h"

/* Enough for the deepest worker (a PUT's buffers and libcurl's). */
#define WORKERS_STACK (512 * 1024)

struct job {
    struct job *next;
    void (*fn)(void *);
    void *arg;
};

static pthread_mutex_t workers_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t workers_cv = PTHREAD_COND_INITIALIZER;
static struct job *queue_head, *queue_tail;
static pthread_t *workers_tids;
static pthread_attr_t workers_attr; /* small stacks: there may be many */
static int workers_max, workers_n, workers_idle, workers_queued, workers_stopping;

static void *worker_main(void *unused) {
    (void)unused;
    pthread_mutex_lock(&workers_mu);
    for (;;) {
        struct job *j;
        while (queue_head == NULL && !workers_stopping) {
            workers_idle++;
            pthread_cond_wait(&workers_cv, &workers_mu);
            workers_idle--;
        }
        if (queue_head == NULL) break; /* stopping and drained */
        j = queue_head;
        workers_queued--;
        queue_head = j->next;
        if (queue_head == NULL) queue_tail = NULL;
        pthread_mutex_unlock(&workers_mu);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&workers_mu);
    }
    pthread_mutex_unlock(&workers_mu);
    vol_thread_done();
    return NULL;
}

int workers_start(int max, char *err) {
    workers_tids = calloc((size_t)max, sizeof(*workers_tids));
    if (workers_tids == NULL) {
        mkv_seterr(err, "out of memory");
        return MKV_ERR;
    }
    workers_max = max;
    pthread_attr_init(&workers_attr);
    pthread_attr_setstacksize(&workers_attr, WORKERS_STACK);
    return MKV_OK;
}

int workers_submit(void (*fn)(void *), void *arg) {
    struct job *j = malloc(sizeof(*j));
    int rc = MKV_OK;

    if (j == NULL) return MKV_ERR;
    j->next = NULL;
    j->fn = fn;
    j->arg = arg;
    pthread_mutex_lock(&workers_mu);
    /* Every queued job should have an idle thread on its way to it. */
    if (workers_queued >= workers_idle && workers_n < workers_max) {
        if (pthread_create(&workers_tids[workers_n], &workers_attr, worker_main, NULL) == 0)
            workers_n++;
        else if (workers_n == 0)
            rc = MKV_ERR;
        else
            log_msg("cannot start a worker thread; job queued");
    }
    if (rc == MKV_OK) {
        if (queue_tail) queue_tail->next = j;
        else queue_head = j;
        queue_tail = j;
        workers_queued++;
        pthread_cond_signal(&workers_cv);
    }
    pthread_mutex_unlock(&workers_mu);
    if (rc != MKV_OK) free(j);
    return rc;
}

void workers_stop(void) {
    int n;
    pthread_mutex_lock(&workers_mu);
    workers_stopping = 1;
    pthread_cond_broadcast(&workers_cv);
    n = workers_n;
    pthread_mutex_unlock(&workers_mu);
    for (int i = 0; i < n; i++) pthread_join(workers_tids[i], NULL);
    free(workers_tids);
    workers_tids = NULL;
}
