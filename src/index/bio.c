/* bio.c -- the background I/O thread and its group commit (bio.h). */
#include <pthread.h>
#include <stdlib.h>

#include "bio.h"
#include "log.h"
#include "loop.h"
#include "store.h"

struct bio_job {
    struct loop_post post;        /* how the answer goes back */
    struct bio_job *next;
    struct loop *loop;            /* where fn runs */
    void (*fn)(void *arg, int ok);
    void *arg;
    int ok;
};

static pthread_t bio_tid;
static int bio_running, bio_on;
static pthread_mutex_t bio_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bio_cv = PTHREAD_COND_INITIALIZER;
static struct bio_job *bio_queue;  /* under bio_mu, newest first */
static int bio_stopping;           /* under bio_mu */

/* deliver -- on the job's loop. */
static void deliver(void *arg) {
    struct bio_job *j = arg;
    j->fn(j->arg, j->ok);
    free(j);
}

static void *bio_main(void *unused) {
    char err[MKV_ERRLEN];
    (void)unused;
    pthread_mutex_lock(&bio_mu);
    for (;;) {
        struct bio_job *batch;
        int ok;
        while (bio_queue == NULL && !bio_stopping) pthread_cond_wait(&bio_cv, &bio_mu);
        if (bio_queue == NULL) break;
        batch = bio_queue; /* all who wait share this fsync */
        bio_queue = NULL;
        pthread_mutex_unlock(&bio_mu);
        ok = store_fsync(err);
        if (ok != MKV_OK) log_msg("%s", err);
        while (batch) {
            struct bio_job *next = batch->next;
            batch->ok = ok;
            batch->post.fn = deliver;
            batch->post.arg = batch;
            loop_post(batch->loop, &batch->post);
            batch = next;
        }
        pthread_mutex_lock(&bio_mu);
    }
    pthread_mutex_unlock(&bio_mu);
    return NULL;
}

int bio_start(int sync, char *err) {
    bio_on = sync;
    if (!sync) return MKV_OK;
    bio_stopping = 0;
    if (pthread_create(&bio_tid, NULL, bio_main, NULL) != 0) {
        mkv_seterr(err, "cannot start the background I/O thread");
        return MKV_ERR;
    }
    bio_running = 1;
    return MKV_OK;
}

void bio_stop(void) {
    if (!bio_running) return;
    pthread_mutex_lock(&bio_mu);
    bio_stopping = 1;
    pthread_cond_signal(&bio_cv);
    pthread_mutex_unlock(&bio_mu);
    pthread_join(bio_tid, NULL);
    bio_running = 0;
}

int bio_sync(void (*fn)(void *arg, int ok), void *arg) {
    struct bio_job *j;

    if (!bio_on) {
        fn(arg, MKV_OK);
        return MKV_OK;
    }
    j = malloc(sizeof(*j));
    if (j == NULL) return MKV_ERR;
    j->loop = loop_current();
    j->fn = fn;
    j->arg = arg;
    j->ok = MKV_ERR;
    pthread_mutex_lock(&bio_mu);
    j->next = bio_queue;
    bio_queue = j;
    pthread_cond_signal(&bio_cv);
    pthread_mutex_unlock(&bio_mu);
    return MKV_OK;
}
